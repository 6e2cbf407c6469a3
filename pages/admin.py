"""Admin: staff accounts, programs, privacy settings, backups and deleting a cohort's data."""

import datetime as dt
from collections.abc import Callable, Sequence

import streamlit as st

import ui
from program import access, backup, deletion, programs, staff
from program.errors import InvalidInput
from program.models import Program, Role, StaffUser

viewer = ui.page("Admin", frozenset({Role.ADMIN}))
store = ui.store()

ROLE_LABELS = {
    Role.ADMIN: "Admin",
    Role.LEAD: "Program lead",
    Role.FACILITATOR: "Facilitator",
}
TABLE_LABELS = {
    "sessions": "Sessions",
    "roster_members": "Roster members",
    "cohort_facilitators": "Facilitator assignments",
    "attendance": "Attendance marks",
    "fidelity": "Fidelity checklist entries",
    "pulse_windows": "Pulse windows",
    "cohorts": "Cohort record",
}
FLASH = "admin_flash"
GENERATION = "admin_form_generation"


def key(name: str) -> str:
    """A widget key that changes after each successful action, so its form starts empty again."""
    return f"{name}-{st.session_state.get(GENERATION, 0)}"


def done(message: str) -> None:
    """After a change: clear the forms, redraw the page with fresh data, then confirm."""
    st.session_state[FLASH] = message
    st.session_state[GENERATION] = st.session_state.get(GENERATION, 0) + 1
    st.rerun()


st.title("Admin")
if message := st.session_state.pop(FLASH, None):
    ui.toast(message)  # shown literally: it names accounts, programs and cohorts

staff_tab, programs_tab, privacy_tab, backup_tab, delete_tab = st.tabs(
    ["Staff", "Programs", "Privacy", "Backup", "Delete cohort data"],
    key="tab",
    bind="query-params",
)


# --------------------------------------------------------------------------- staff


def staff_section() -> None:
    accounts = staff.staff_accounts(store, viewer)
    st.dataframe(
        [
            {
                "Username": a.user.username,
                "Name": a.user.display_name,
                "Role": ROLE_LABELS[a.user.role],
                "Email (single sign-on)": a.user.email or "",
                "Signs in with": a.sign_in,
                "Status": "Active" if a.user.active else "Deactivated",
                "Open sign-ins": a.open_signins,
            }
            for a in accounts
        ],
        hide_index=True,
    )
    add, change = st.columns(2, gap="large")
    with add:
        st.subheader("Add a staff member")
    with add, st.form(key("create_staff")):
        username = st.text_input(
            "Username",
            key=key("new_username"),
            help="2–32 characters: lowercase letters, digits, '.', '_' or '-'.",
        )
        display_name = st.text_input("Display name", key=key("new_display_name"))
        role = st.selectbox(
            "Role",
            list(Role),
            index=list(Role).index(Role.FACILITATOR),
            format_func=ROLE_LABELS.__getitem__,
            key=key("new_role"),
        )
        password = st.text_input(
            "Initial password",
            type="password",
            key=key("new_password"),
            help="At least 10 characters. Leave it empty for an account that signs in with single"
            " sign-on only; it then needs an email.",
        )
        email = st.text_input(
            "Email for single sign-on (optional)",
            key=key("new_email"),
            help="Links the account to the identity provider's account with this email.",
        )
        if st.form_submit_button("Create account", type="primary"):
            with ui.shown_errors():
                user = staff.create_staff(
                    store,
                    viewer,
                    username,
                    display_name,
                    role or Role.FACILITATOR,
                    password or None,
                    email,
                )
                done(f"Created {ROLE_LABELS[user.role].lower()} account {user.username}.")

    with change:
        st.subheader("Change an account")
        by_id = {a.user.id: a.user for a in accounts}
        user_id = st.selectbox(
            "Staff member",
            list(by_id),
            format_func=lambda i: (
                f"{by_id[i].display_name} ({by_id[i].username}) ·"
                f" {ROLE_LABELS[by_id[i].role]}{'' if by_id[i].active else ' · deactivated'}"
            ),
            key="manage_user",
        )
        if user_id is None:
            return
        user = by_id[user_id]
        with st.form(key(f"role_{user.id}")):
            new_role = st.selectbox(
                "New role",
                list(Role),
                index=list(Role).index(user.role),
                format_func=ROLE_LABELS.__getitem__,
                key=key(f"role_{user.id}_value"),
                help="A program lead who gets another role stops leading their programs.",
            )
            if st.form_submit_button("Change role"):
                with ui.shown_errors():
                    changed = staff.change_role(store, viewer, user.id, new_role or user.role)
                    done(f"{changed.username} is now a {ROLE_LABELS[changed.role].lower()}.")
        with st.form(key(f"password_{user.id}")):
            first = st.text_input(
                "New password",
                type="password",
                key=key(f"password_{user.id}_1"),
                help="At least 10 characters. Tell the person in person or by phone. Saving signs"
                " them out everywhere (you too, if it is your own account).",
            )
            second = st.text_input(
                "New password again", type="password", key=key(f"password_{user.id}_2")
            )
            if st.form_submit_button("Set new password"):
                if first != second:
                    ui.show_error(InvalidInput("The two passwords differ. Nothing was changed."))
                else:
                    with ui.shown_errors():
                        staff.reset_password(store, viewer, user.id, first)
                        done(
                            f"New password set for {user.username}; they were signed out everywhere."
                        )
        with st.form(key(f"email_{user.id}")):
            new_email = st.text_input(
                "Email for single sign-on",
                value=user.email or "",
                key=key(f"email_{user.id}_value"),
                help="Leave empty to unlink the account from single sign-on.",
            )
            if st.form_submit_button("Save email"):
                with ui.shown_errors():
                    changed = staff.set_staff_email(store, viewer, user.id, new_email)
                    done(
                        f"Email of {changed.username} set to {changed.email}."
                        if changed.email
                        else f"{changed.username} no longer signs in with single sign-on."
                    )
        if user.active:
            st.caption("Deactivating signs them out at once; their history stays.")
            if st.button(
                f"Deactivate {ui.plain(user.username)}",
                key=key(f"deactivate_{user.id}"),
                disabled=user.id == viewer.id,
                help="You cannot deactivate your own account." if user.id == viewer.id else None,
                icon=":material/person_off:",
            ):
                with ui.shown_errors():
                    staff.deactivate_staff(store, viewer, user.id)
                    done(f"Deactivated {user.username}.")
        elif st.button(
            f"Reactivate {ui.plain(user.username)}",
            key=key(f"reactivate_{user.id}"),
            icon=":material/person_check:",
        ):
            with ui.shown_errors():
                staff.reactivate_staff(store, viewer, user.id)
                done(f"Reactivated {user.username}.")


# --------------------------------------------------------------------------- programs


def programs_section() -> None:
    overview = programs.programs_overview(store, viewer)
    if overview:
        st.dataframe(
            [
                {
                    "Program": o.program.name,
                    "Description": o.program.description,
                    "Minimum group size": o.program.min_group_size,
                    "Leads": ", ".join(u.display_name for u in o.leads),
                    "Facilitators": ", ".join(
                        u.display_name
                        for u in programs.program_facilitators(store, viewer, o.program.id)
                    ),
                    "Cohorts": o.cohorts,
                }
                for o in overview
            ],
            hide_index=True,
        )
    else:
        st.info("No programs yet. Create the first one below.")
    create, change = st.columns(2, gap="large")
    with create:
        st.subheader("Create a program")
    with create, st.form(key("create_program")):
        name = st.text_input("Program name", key=key("program_name"), max_chars=120)
        description = st.text_area(
            "Description", key=key("program_description"), max_chars=programs.MAX_DESCRIPTION
        )
        min_group_size = st.number_input(
            "Minimum group size (k)",
            min_value=programs.MIN_GROUP_SIZES[0],
            max_value=programs.MIN_GROUP_SIZES[-1],
            value=programs.DEFAULT_MIN_GROUP_SIZE,
            step=1,
            key=key("program_min_group_size"),
            help="A result is shown only when at least this many people answered."
            " It locks when the program's first pulse response arrives.",
        )
        if st.form_submit_button("Create program", type="primary"):
            with ui.shown_errors():
                program = programs.create_program(
                    store, viewer, name, description, int(min_group_size)
                )
                done(f"Created the program {program.name}.")
    if not overview:
        return
    with change:
        st.subheader("Change a program")
        by_id = {o.program.id: o for o in overview}
        program_id = st.selectbox(
            "Program",
            list(by_id),
            format_func=lambda i: by_id[i].program.name,
            key="manage_program",
        )
        if program_id is None:
            return
        chosen = by_id[program_id]
        program = chosen.program
        with st.form(key(f"description_{program.id}")):
            new_description = st.text_area(
                "Program description",
                value=program.description,
                max_chars=programs.MAX_DESCRIPTION,
                key=key(f"description_{program.id}_value"),
            )
            if st.form_submit_button("Save description"):
                with ui.shown_errors():
                    programs.set_program_description(store, viewer, program.id, new_description)
                    done(f"Saved the description of {program.name}.")
        staff_choice_form(
            f"assign_{program.id}",
            "Assign a program lead",
            "Program lead",
            programs.lead_candidates(store, viewer, program.id),
            "Assign lead",
            act=lambda u: programs.assign_program_lead(store, viewer, program.id, u.id),
            said=lambda u: f"{u.display_name} now leads {program.name}.",
            when_none=(
                "Every active program lead already leads this program. Add a lead on the"
                " Staff tab, or give someone the program lead role."
            ),
        )
        if chosen.leads:
            staff_choice_form(
                f"unassign_{program.id}",
                "Remove a program lead",
                "Current lead",
                chosen.leads,
                "Remove lead",
                act=lambda u: programs.unassign_program_lead(store, viewer, program.id, u.id),
                said=lambda u: f"{u.display_name} no longer leads {program.name}.",
            )
        program_facilitators_forms(program)


def staff_choice_form(
    form: str,
    heading: str,
    label: str,
    people: Sequence[StaffUser],
    button: str,
    act: Callable[[StaffUser], object],
    said: Callable[[StaffUser], str],
    about: str | None = None,
    when_none: str | None = None,
) -> None:
    """A form that picks one of `people` and does `act` to them, then confirms with `said`;
    `about` explains the form, `when_none` says why the list is empty when it is."""
    with st.form(key(form)):
        st.markdown(f"**{heading}**")
        if about:
            st.caption(about)
        if not people and when_none:
            st.caption(when_none)
        person = st.selectbox(
            label,
            people,
            format_func=lambda u: f"{u.display_name} ({u.username})",
            key=key(f"{form}_value"),
        )
        if st.form_submit_button(button, disabled=not people) and person:
            with ui.shown_errors():
                act(person)
                done(said(person))


def program_facilitators_forms(program: Program) -> None:
    """Who belongs to the program: facilitators create cohorts only in their programs."""
    members = programs.program_facilitators(store, viewer, program.id)
    outsiders = programs.facilitator_candidates(store, viewer, program.id)
    staff_choice_form(
        f"add_facilitator_{program.id}",
        "Add a facilitator to this program",
        "Facilitator",
        outsiders,
        "Add facilitator",
        act=lambda u: programs.add_program_facilitator(store, viewer, program.id, u.id),
        said=lambda u: f"{u.display_name} now belongs to {program.name}.",
        about=(
            "Facilitators create cohorts only in the programs they belong to. A lead or admin who"
            " puts a facilitator on one of the program's cohorts adds them too."
        ),
        when_none=(
            "Every active facilitator already belongs to this program. Add a facilitator on"
            " the Staff tab."
        ),
    )
    if members:
        staff_choice_form(
            f"remove_facilitator_{program.id}",
            "Remove a facilitator from this program",
            "Facilitator of this program",
            members,
            "Remove facilitator",
            act=lambda u: programs.remove_program_facilitator(store, viewer, program.id, u.id),
            said=lambda u: f"{u.display_name} no longer belongs to {program.name}.",
            about=(
                "They keep running the cohorts they already run, but cannot create new ones in"
                " this program."
            ),
        )


# --------------------------------------------------------------------------- privacy


def privacy_section() -> None:
    st.markdown(
        f"Each program has a **minimum group size** (k, {programs.MIN_GROUP_SIZES[0]}–"
        f"{programs.MIN_GROUP_SIZES[-1]}, default {programs.DEFAULT_MIN_GROUP_SIZE}): a result"
        " about one cohort's session is shown only when at least that many people answered, and"
        " pooled figures use only such results. It can change until the program's first pulse"
        " response arrives; then it is locked, so results already seen never change meaning."
    )
    overview = programs.programs_overview(store, viewer)
    if not overview:
        st.info("No programs yet. Create one on the Programs tab.")
        return
    st.dataframe(
        [
            {
                "Program": o.program.name,
                "Minimum group size": o.program.min_group_size,
                "State": "Locked" if o.min_group_size_locked else "Can change",
            }
            for o in overview
        ],
        hide_index=True,
    )
    names = {o.program.id: o.program.name for o in overview}
    program_id = st.selectbox(
        "Program", list(names), format_func=names.__getitem__, key="privacy_program"
    )
    if program_id is None:
        return
    status = programs.privacy_status(store, viewer, program_id)
    if status.locked:
        st.warning(status.explanation, icon=":material/lock:")
    else:
        st.info(status.explanation, icon=":material/lock_open:")
    with st.form(key(f"min_group_size_{status.program.id}")):
        min_group_size = st.number_input(
            "Minimum group size (k)",
            min_value=programs.MIN_GROUP_SIZES[0],
            max_value=programs.MIN_GROUP_SIZES[-1],
            value=status.program.min_group_size,
            step=1,
            disabled=status.locked,
            key=key(f"min_group_size_{status.program.id}_value"),
        )
        if st.form_submit_button("Save minimum group size", disabled=status.locked):
            with ui.shown_errors():
                program = programs.set_min_group_size(
                    store, viewer, status.program.id, int(min_group_size)
                )
                done(f"The minimum group size of {program.name} is now {program.min_group_size}.")


# --------------------------------------------------------------------------- backup


def backup_section() -> None:
    st.subheader("Download a backup")
    st.markdown(
        "A zip file with every table of the database as Parquet, made with DuckDB's"
        " `EXPORT DATABASE`. It includes password hashes and roster names: keep it as safe as"
        " the database itself. Each download is recorded in the audit log. Answers to a pulse"
        " that is still open are not in it: they join the database, shuffled, when the pulse"
        " closes."
    )
    st.download_button(
        "Download backup (.zip)",
        data=lambda: backup.export_backup(store, viewer),
        file_name=f"program-backup-{dt.datetime.now():%Y-%m-%d-%H%M}.zip",
        mime="application/zip",
        icon=":material/download:",
        on_click="ignore",
        key="download_backup",
    )
    with st.expander("What the database holds now"):
        st.caption(
            "Open pulses keep their answers outside these tables until they close, so these"
            " counts never move while people are answering."
        )
        counts = backup.table_row_counts(store, viewer)
        st.dataframe(
            [{"Table": t, "Rows": n} for t, n in counts.items()],
            hide_index=True,
        )

    st.subheader("Restore from a backup")
    st.warning(
        "Restoring **replaces all data** with the backup's: accounts, programs, cohorts,"
        " responses and the audit log. Everyone is signed out, you too; sign in again with an"
        " account from the backup. A file that is not a backup of this app changes nothing.",
        icon=":material/warning:",
    )
    with st.form(key("restore")):
        upload = st.file_uploader(
            "Backup file (.zip)", type=["zip"], key=key("restore_file"), max_upload_size=1024
        )
        typed = st.text_input(
            f"Type {backup.RESTORE_WORD} to confirm", key=key("restore_confirm"), autocomplete="off"
        )
        if st.form_submit_button("Restore from this backup", type="primary"):
            if upload is None:
                ui.show_error(InvalidInput("Choose a backup file first."))
            else:
                with ui.shown_errors():
                    summary = backup.restore_backup(
                        store, viewer, upload.getvalue(), typed, upload.name
                    )
                    st.success(
                        f"Restored {summary.total} rows in {len(summary.rows)} tables from"
                        f" {ui.plain(upload.name)}. Everyone has been signed out: reload the page"
                        " and sign in again.",
                        icon=":material/check_circle:",
                    )


# --------------------------------------------------------------------------- delete cohort data


def delete_section() -> None:
    st.markdown(
        "Removes everything recorded about one cohort: its sessions, roster, facilitator"
        " assignments, attendance, fidelity checklists, pulse windows, card codes and anonymous"
        " responses. It cannot be undone except by restoring an earlier backup. The audit log"
        " keeps a record of the deletion with the cohort's name."
    )
    cohorts = access.visible_cohorts(store, viewer)
    if not cohorts:
        st.info("There are no cohorts.")
        return
    names = programs.program_names(store, viewer)
    by_id = {c.id: c for c in cohorts}
    cohort_id = st.selectbox(
        "Cohort",
        list(by_id),
        format_func=lambda i: (
            f"{by_id[i].name} · {names.get(by_id[i].program_id, '?')} ·"
            f" {by_id[i].status}, starts {by_id[i].start_date:%d %b %Y}"
        ),
        key="delete_cohort",
    )
    if cohort_id is None:
        return
    cohort = by_id[cohort_id]
    data = deletion.cohort_data(store, viewer, cohort.id)
    # Known tables in a reader's order, then any a later migration added.
    order = [*TABLE_LABELS, *sorted(set(data.rows) - set(TABLE_LABELS))]
    removed = [
        {
            "What is removed": TABLE_LABELS.get(t, t.replace("_", " ").capitalize()),
            "Rows": data.rows[t],
        }
        for t in order
        if data.rows.get(t)
    ]
    st.dataframe(removed, hide_index=True, height=35 * (len(removed) + 1) + 3)
    if data.holds_answers:
        st.caption(
            "Also removed: the cohort's anonymous pulse answers, their result summaries and card"
            " codes. They are not counted here, as a count could tell how many people answered"
            " a pulse that is still open."
        )
    st.markdown("To confirm, type the cohort's name exactly as shown here:")
    st.text(cohort.name)
    with st.form(key(f"delete_{cohort.id}")):
        typed = st.text_input(
            "Cohort name", key=key(f"delete_{cohort.id}_name"), autocomplete="off"
        )
        if st.form_submit_button("Delete this cohort's data", type="primary"):
            with ui.shown_errors():
                deletion.delete_cohort_data(store, viewer, cohort.id, typed)
                done(f"Deleted all data of the cohort {cohort.name}.")


for tab, section in (
    (staff_tab, staff_section),
    (programs_tab, programs_section),
    (privacy_tab, privacy_section),
    (backup_tab, backup_section),
    (delete_tab, delete_section),
):
    # Only the open tab runs: the others would query the database for nothing.
    if tab.open:
        with tab, ui.shown_errors():
            section()
