"""The staff pages, who may use each, and the sidebar that links to them.

Streamlit's own page list is hidden (client.showSidebarNavigation = false): it would show every
page to everyone. The sidebar lists only the pages of the signed-in person's role.
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from program.markup import plain
from program.models import Role, StaffUser
from ui.sso import signed_in_with_sso, sso_sign_out

STAFF = frozenset(Role)


@dataclass(frozen=True)
class PageLink:
    path: str
    label: str
    icon: str
    roles: frozenset[Role]


PAGES = (
    PageLink("home.py", "Home", ":material/home:", STAFF),
    PageLink("pages/cohorts.py", "Cohorts", ":material/groups:", STAFF),
    PageLink(
        "pages/session.py", "Run a session", ":material/play_circle:", frozenset({Role.FACILITATOR})
    ),
    PageLink(
        "pages/cohort_dashboard.py",
        "Cohort results",
        ":material/monitoring:",
        frozenset({Role.FACILITATOR}),
    ),
    PageLink(
        "pages/mirror.py", "Group mirror", ":material/co_present:", frozenset({Role.FACILITATOR})
    ),
    PageLink(
        "pages/program_dashboard.py",
        "Program dashboard",
        ":material/insights:",
        frozenset({Role.LEAD, Role.ADMIN}),
    ),
    PageLink("pages/curricula.py", "Curriculum library", ":material/menu_book:", STAFF),
    PageLink("pages/admin.py", "Admin", ":material/admin_panel_settings:", frozenset({Role.ADMIN})),
    PageLink("pages/audit.py", "Audit log", ":material/history:", frozenset({Role.ADMIN})),
)


def sidebar(viewer: StaffUser) -> None:
    """Who is signed in, the links their role may use, and a way to sign out."""
    with st.sidebar:
        st.markdown(f"**{plain(viewer.display_name)}**  \n{viewer.role.value.title()}")
        for link in PAGES:
            if viewer.role in link.roles:
                st.page_link(link.path, label=link.label, icon=link.icon)
        st.divider()
        if signed_in_with_sso():
            if st.button("Sign out", key="sso_sign_out", type="tertiary"):
                sso_sign_out(viewer)
            return
        # A plain form: signing out must clear the HttpOnly cookie, which only a route can do.
        st.html(
            '<form method="post" action="/auth/signout">'
            '<button class="plain-button" type="submit">Sign out</button></form>'
        )
