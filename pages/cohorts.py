"""Cohorts: status at a glance, create a cohort, and manage schedule, roster and facilitators."""

import datetime as dt

import streamlit as st

import ui
from program import cohorts
from program.models import Cohort, MemberStatus, SessionStatus
from program.views import cohorts as cohort_views

viewer = ui.page("Cohorts", ui.STAFF)
store = ui.store()

st.title("Cohorts")
page = cohort_views.cohorts_view(store, viewer)
overview = page.overview

# After a cohort is created: empty the form and show the new cohort below.
created = st.session_state.pop("cohort_created", None)
if created is not None:
    for key in ("new_cohort_name", "new_cohort_roster"):
        st.session_state.pop(key, None)
    st.session_state["cohort"] = next((o for o in overview if o.cohort.id == created), None)

# --------------------------------------------------------------------------- at a glance
if overview:
    # With one program only, its name in every row would crowd out the curriculum's.
    one_program = len({o.program for o in overview}) == 1
    st.dataframe(
        [
            {
                "Cohort": o.cohort.name,
                "Status": o.cohort.status,
                "Sessions held": f"{o.sessions_held} of {o.sessions_total}",
                "Next session": (
                    f"{o.next_session.number} · {o.next_session.scheduled_date:%a %d %b}"
                    if o.next_session
                    else "—"
                ),
                "Enrolled": o.enrolled,
                **({} if one_program else {"Program": o.program}),
                "Curriculum": o.curriculum,
            }
            for o in overview
        ],
        hide_index=True,
        width="stretch",
    )
    if one_program:
        st.caption(f"All in {ui.plain(overview[0].program)}.")
else:
    st.info("No cohorts to show yet. Create the first one below.")

# --------------------------------------------------------------------------- create
# Only the programs the viewer may create cohorts in: a facilitator's own, a lead's, or all.
with st.expander("Create a cohort", expanded=not overview, icon=":material/group_add:"):
    if not page.programs and page.asks_roster:
        st.info(
            "You do not belong to a program yet, so you cannot create a cohort. Ask an admin to"
            " add you to a program."
        )
    elif not page.can_create:
        st.info(
            "A cohort needs a program and a curriculum. An admin creates programs; anyone on staff"
            " can load a curriculum in the Curriculum library."
        )
    else:
        with st.form("create_cohort", enter_to_submit=False):
            program = st.selectbox("Program", page.programs, format_func=lambda p: p.name)
            version = st.selectbox(
                "Curriculum version (the cohort keeps this exact version)",
                page.versions,
                # Versions differ by when they were loaded; the content hash is for the CLI.
                format_func=lambda v: (
                    f"{v.title}, version {v.version}, loaded {v.loaded_at:%d %b %Y}"
                ),
            )
            name = st.text_input(
                "Cohort name", placeholder="e.g. Tuesday evening, Northside", key="new_cohort_name"
            )
            left, right = st.columns(2)
            start = left.date_input("Starting from", value=dt.date.today(), format="DD/MM/YYYY")
            weekday = right.selectbox(
                "Meets every",
                range(7),
                index=dt.date.today().weekday(),
                format_func=lambda d: cohorts.WEEKDAYS[d],
            )
            orientation = st.checkbox("Hold the orientation session first", value=True)
            default = [u for u in page.facilitators if u.id == viewer.id]
            chosen = st.multiselect(
                "Facilitators",
                page.facilitators,
                default=default,
                format_func=lambda u: u.display_name,
            )
            roster_text = ""
            if page.asks_roster:
                roster_text = st.text_area(
                    "Roster: one display name or pseudonym per line (no other personal details)",
                    height=160,
                    key="new_cohort_roster",
                )
            if st.form_submit_button("Create cohort", type="primary"):
                made: list[Cohort] = []
                if ui.attempt(
                    lambda: made.append(
                        cohorts.create_cohort(
                            store,
                            viewer,
                            program.id,
                            version.id,
                            name,
                            start,
                            weekday,
                            orientation,
                            [u.id for u in chosen],
                            roster_text,
                        )
                    ),
                    f"Cohort {name.strip()!r} created.",
                ):
                    st.session_state["cohort_created"] = made[0].id
                    st.rerun()

if not overview:
    st.stop()

# --------------------------------------------------------------------------- manage one
st.subheader("Manage a cohort")
chosen_overview = st.selectbox(
    "Cohort", overview, format_func=lambda o: f"{o.cohort.name} ({o.program})", key="cohort"
)
managed = cohort_views.manage(store, viewer, chosen_overview.cohort.id)
cohort, titles = managed.cohort, managed.titles
tabs = ["Schedule", "Facilitators"] + (["Roster"] if managed.roster is not None else [])
schedule_tab, facilitator_tab, *roster_tab = st.tabs(tabs)


def undo_cancel(session_id: int) -> None:
    ui.attempt(lambda: cohorts.restore_session(store, viewer, session_id), "Session restored.")


with schedule_tab:
    undo = st.session_state.pop("undo_cancel", None)  # offered once, right after cancelling
    if undo is not None:
        note, button = st.columns([4, 1], vertical_alignment="center")
        note.info("Session cancelled.", icon=":material/event_busy:")
        button.button("Undo", on_click=undo_cancel, args=(undo,), icon=":material/undo:")
    for session in managed.sessions:
        with st.container(border=True):
            head, when, actions = st.columns([3, 2, 2], vertical_alignment="center")
            head.markdown(
                f"**Session {session.number}** · {ui.plain(titles.get(session.number, ''))}  \n"
                f"{session.status.value.title()}"
            )
            if session.status == SessionStatus.PLANNED:
                new_date = when.date_input(
                    "Date",
                    value=session.scheduled_date,
                    key=f"date_{session.id}",
                    format="DD/MM/YYYY",
                    label_visibility="collapsed",
                )
                move, cancel = actions.columns(2)
                if new_date != session.scheduled_date and move.button(
                    "Move", key=f"move_{session.id}", type="primary"
                ):
                    ui.attempt(
                        lambda: cohorts.reschedule(store, viewer, session.id, new_date),
                        f"Session {session.number} moved to {new_date:%d %b %Y}.",
                    ) and st.rerun()
                # Asks once; the message after it has an Undo, and Restore stays on the session.
                with cancel.popover("Cancel", key=f"cancel_box_{session.id}"):
                    st.write(
                        f"Cancel session {session.number} on {session.scheduled_date:%A %d %B}?"
                        " You can restore it later."
                    )
                    if st.button(
                        "Yes, cancel it", key=f"cancel_{session.id}", type="primary"
                    ) and ui.attempt(
                        lambda: cohorts.cancel_session(store, viewer, session.id),
                        f"Session {session.number} cancelled.",
                    ):
                        st.session_state["undo_cancel"] = session.id
                        st.rerun()
            else:
                when.write(f"{session.scheduled_date:%a %d %b %Y}")
                if session.status == SessionStatus.CANCELLED and actions.button(
                    "Restore", key=f"restore_{session.id}"
                ):
                    ui.attempt(
                        lambda: cohorts.restore_session(store, viewer, session.id),
                        f"Session {session.number} restored.",
                    ) and st.rerun()

with facilitator_tab, st.form(f"facilitators_{cohort.id}"):
    picked = st.multiselect(
        "Facilitators of this cohort",
        managed.facilitators,
        default=[u for u in managed.facilitators if u.id in managed.current],
        format_func=lambda u: u.display_name,
    )
    if st.form_submit_button("Save facilitators"):
        ui.attempt(
            lambda: cohorts.assign_facilitators(store, viewer, cohort.id, [u.id for u in picked]),
            "Facilitators saved.",
        ) and st.rerun()

if roster_tab:
    with roster_tab[0]:
        st.caption("Display names or pseudonyms only. Only this cohort's facilitators see them.")
        with st.form(f"add_member_{cohort.id}", clear_on_submit=True):
            new_name = st.text_input("Add someone", placeholder="Display name or pseudonym")
            if st.form_submit_button("Add to roster"):
                ui.attempt(
                    lambda: cohorts.add_member(store, viewer, cohort.id, new_name),
                    f"{new_name.strip()} added.",
                ) and st.rerun()
        for member in managed.roster or ():
            name_col, rename_col, status_col = st.columns([3, 3, 2], vertical_alignment="bottom")
            withdrawn = " (withdrawn)" if member.status == MemberStatus.WITHDRAWN else ""
            name_col.markdown(ui.plain(member.display_name) + withdrawn)
            renamed = rename_col.text_input(
                "Rename",
                value=member.display_name,
                key=f"rename_{member.id}",
                label_visibility="collapsed",
            )
            if renamed != member.display_name:
                ui.attempt(
                    lambda: cohorts.rename_member(store, viewer, member.id, renamed),
                    "Name changed.",
                ) and st.rerun()
            if member.status == MemberStatus.ACTIVE:
                if status_col.button("Withdraw", key=f"withdraw_{member.id}"):
                    ui.attempt(
                        lambda: cohorts.withdraw_member(store, viewer, member.id),
                        f"{member.display_name} withdrawn.",
                    ) and st.rerun()
            elif status_col.button("Reinstate", key=f"reinstate_{member.id}"):
                ui.attempt(
                    lambda: cohorts.reinstate_member(store, viewer, member.id),
                    f"{member.display_name} reinstated.",
                ) and st.rerun()
