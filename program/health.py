"""Whether this app process can serve: the answer behind GET /health.

A load balancer asks it to know which replica to send browsers to, and a monitor to know when to
wake someone. Streamlit's own /_stcore/health only says the web server is up; this also asks the
database, since an app that cannot read its store can show nothing but errors.
"""

from __future__ import annotations

from dataclasses import dataclass

from program.store import Store


@dataclass(frozen=True)
class Health:
    database: bool  # the store answers a query on its migrated schema

    @property
    def ok(self) -> bool:
        return self.database


def check(store: Store) -> Health:
    return Health(database=store.is_answering())
