"""Home: the sign-in screen for guests; for staff, what needs their attention today."""

import datetime as dt

import streamlit as st

import ui
from program.models import Role
from program.views.home import home, when

viewer = ui.page("Home")

st.title(f"Welcome, {ui.plain(viewer.display_name)}")
today = dt.date.today()
view = home(ui.store(), viewer, today)


if viewer.role == Role.FACILITATOR:
    st.subheader("Your cohorts")
    if not view.cards:
        st.info("You are not running a cohort yet. Create one on the Cohorts page.")
    for card in view.cards:
        cohort, nxt = card.cohort, card.next
        with st.container(border=True):
            st.markdown(
                f"**{ui.plain(cohort.name)}** · {cohort.status} · {card.held} of {card.total}"
                " sessions held"
            )
            if nxt is not None:
                st.write(f"Next: session {nxt.number} {when(nxt.scheduled_date, today)}")
                st.page_link(
                    "pages/session.py",
                    label=f"Run session {nxt.number}",
                    icon=":material/play_circle:",
                    query_params={"cohort": str(cohort.id), "session": str(nxt.id)},
                )
else:
    a, b, c, d = st.columns(4)
    a.metric("Programs", view.programs)
    b.metric("Cohorts running", view.running)
    c.metric("Cohorts finished", view.finished)
    d.metric("Cohorts scheduled", view.scheduled)
    st.page_link(
        "pages/program_dashboard.py", label="Open the program dashboard", icon=":material/insights:"
    )
    if viewer.role == Role.ADMIN:
        st.page_link(
            "pages/admin.py",
            label="Manage staff, programs and privacy",
            icon=":material/admin_panel_settings:",
        )
