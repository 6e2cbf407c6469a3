"""GET /health: 200 while the process and its database answer, 503 otherwise, and nothing more."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

import ui
from program.errors import DatabaseLocked
from program.store import Store
from tests.factories import pulse_page

http = pulse_page.http


def test_a_working_database_is_healthy(http: TestClient) -> None:
    response = http.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response.headers["cache-control"] == "no-store"


def test_a_closed_database_is_unavailable(http: TestClient, store: Store) -> None:
    store.close()
    response = http.get("/health")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable"}


def test_a_database_that_cannot_be_opened_is_unavailable(
    http: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def locked() -> Store:
        raise DatabaseLocked("Another process has the database open.")

    monkeypatch.setattr(ui, "store", locked)
    response = http.get("/health")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable"}
    assert "database" not in response.text.lower()


def test_the_store_says_whether_it_answers(store: Store) -> None:
    assert store.is_answering()
    store.close()
    assert not store.is_answering()
