"""Home: the sign-in screen for guests; for staff, what needs their attention today."""

import datetime as dt

import streamlit as st

import ui
from program import access, session_runner
from program.models import Role

viewer = ui.page("Home")

store = ui.store()
st.title(f"Welcome, {ui.plain(viewer.display_name)}")
cohorts = access.visible_cohorts(store, viewer)


def when(day: dt.date) -> str:
    """'today', 'tomorrow', or the date in words: what a facilitator wants to know first."""
    today = dt.date.today()
    if day == today:
        return "today"
    if day == today + dt.timedelta(days=1):
        return "tomorrow"
    late = " (not yet marked held)" if day < today else ""
    return f"on {day:%A %d %B %Y}{late}"


if viewer.role == Role.FACILITATOR:
    st.subheader("Your cohorts")
    if not cohorts:
        st.info("You are not running a cohort yet. Create one on the Cohorts page.")
    for cohort in cohorts:
        sessions = store.sessions(cohort.id)
        # The same rule as the sidebar's "Run a session" (session_runner.todays_session).
        nxt = session_runner.next_to_run(sessions, dt.date.today())
        held = sum(s.status == "held" for s in sessions)
        with st.container(border=True):
            st.markdown(
                f"**{ui.plain(cohort.name)}** · {cohort.status} · {held} of {len(sessions)}"
                " sessions held"
            )
            if nxt is not None:
                st.write(f"Next: session {nxt.number} {when(nxt.scheduled_date)}")
                st.page_link(
                    "pages/session.py",
                    label=f"Run session {nxt.number}",
                    icon=":material/play_circle:",
                    query_params={"cohort": str(cohort.id), "session": str(nxt.id)},
                )
else:
    programs = access.visible_programs(store, viewer)
    running = sum(c.status == "running" for c in cohorts)
    finished = sum(c.status == "finished" for c in cohorts)
    scheduled = sum(c.status == "scheduled" for c in cohorts)
    a, b, c, d = st.columns(4)
    a.metric("Programs", len(programs))
    b.metric("Cohorts running", running)
    c.metric("Cohorts finished", finished)
    d.metric("Cohorts scheduled", scheduled)
    st.page_link(
        "pages/program_dashboard.py", label="Open the program dashboard", icon=":material/insights:"
    )
    if viewer.role == Role.ADMIN:
        st.page_link(
            "pages/admin.py",
            label="Manage staff, programs and privacy",
            icon=":material/admin_panel_settings:",
        )
