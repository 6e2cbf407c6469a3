"""Run a session: the guide with timers, the fidelity checklist, attendance and notes.

Every mark is saved the moment it is made (program/session_runner.py, "marks as they are made"):
each widget's change callback writes it, and the page shows that it is saved. A widget follows
the store: when someone else changed a mark since this page last saw it, the new value shows.
"""

import datetime as dt
from collections.abc import Callable, Sequence

import streamlit as st

import ui
from program import auth, cards, cohorts, i18n, participant, printing, pulse, session_runner
from program.errors import NotesChanged, ProgramError
from program.models import (
    AttendanceMark,
    Instrument,
    Item,
    Mark,
    MemberStatus,
    Role,
    SessionRecord,
    SessionStatus,
)
from program.views import session as session_view

viewer = ui.page("Run a session", frozenset({Role.FACILITATOR}))
store = ui.store()

st.title("Run a session")
flash = st.session_state.pop("session_flash", None)
if flash:
    # A save refused in a widget's callback is said here, on the run that follows it.
    kind, said = flash
    if kind == "error":
        ui.show_error(said)
    else:
        st.success(ui.plain(said))
mine = session_runner.my_cohorts(store, viewer)
if not mine:
    ui.refuse("You are not running a cohort yet. Create one on the Cohorts page.")

# A link from a cohort's card on Home names the cohort and session to open. It is read once and
# then dropped from the address, so the pickers stay the facilitator's to change.
linked_cohort = st.query_params.pop("cohort", None)
linked_session = st.query_params.pop("session", None)
linked = next((c for c in mine if str(c.id) == linked_cohort), None)
today = dt.date.today()
if linked is None and "run_cohort" not in st.session_state:
    # Opened from the sidebar: today's session, by the same rule as Home's cards.
    found = session_runner.todays_session(store, viewer, today)
    if found is not None:
        linked, linked_session = found[0], str(found[1].id)
if linked is not None:
    st.session_state["run_cohort"] = linked

pick_cohort, pick_session = st.columns(2)
cohort = pick_cohort.selectbox(
    "Cohort",
    mine,
    format_func=lambda c: c.name,  # selectbox options are plain text
    key="run_cohort",
)
choice = session_view.session_choice(store, viewer, cohort.id, today)
default, by_id = choice.default, choice.sessions
if linked is not None:
    default = choice.linked(linked_session)
    # Forget the picker's last choice, so it starts again from the linked session.
    st.session_state.pop(f"run_session_{cohort.id}", None)
# Options are session ids, which never change: a session record changes when it is marked held,
# and the picker would then lose the chosen session and fall back to the default one.
chosen_id = pick_session.selectbox(
    "Session",
    list(by_id),
    index=list(by_id).index(default.id) if default is not None and default.id in by_id else 0,
    # No status in the label: a label that changes (planned → held) is not redrawn by the
    # picker until a reload; the status is in the caption under the heading.
    format_func=choice.label,
    # One picker per cohort: with a shared key the browser could keep showing the previous
    # cohort's session while the page used another.
    key=f"run_session_{cohort.id}",
)
record = by_id[chosen_id]
sheet = session_runner.open_sheet(store, viewer, record.id)
sid = record.id


def synced(key: str, stored: object) -> str:
    """A widget key whose value follows the store. `seen_<key>` is the stored value this page
    last showed or saved: when the store holds something else (someone else marked it since),
    the widget shows that; a change made here is saved by the widget's callback, which moves
    `seen_<key>` along, so it is never overwritten by what it replaced."""
    seen = f"seen_{key}"
    # Streamlit forgets a widget's value when another page is shown; `seen_<key>` stays.
    if key not in st.session_state or st.session_state.get(seen) != stored:
        st.session_state[key] = stored
        st.session_state[seen] = stored
    return key


def saving(key: str, save: Callable[[], object]) -> None:
    """Run one save for the widget `key`: on success remember its value as seen and say when it
    was saved; on refusal put the widget back and say why."""
    try:
        save()
    except ProgramError as exc:
        st.session_state[key] = st.session_state.get(f"seen_{key}")
        st.session_state["session_flash"] = ("error", exc.with_traceback(None))
    else:
        st.session_state[f"seen_{key}"] = st.session_state[key]
        st.session_state[f"saved_{sid}"] = dt.datetime.now()


def save_tick(index: int) -> None:
    key = f"fid_{sid}_{index}"
    saving(key, lambda: session_runner.tick(store, viewer, sid, index, bool(st.session_state[key])))


def save_mark(member_id: int, changed: str) -> None:
    """Save one member's mark; ticking Late before choosing marks them present."""
    status_key, late_key = f"att_{sid}_{member_id}", f"late_{sid}_{member_id}"
    status = st.session_state.get(status_key)
    late = bool(st.session_state.get(late_key))
    if status is None and late:
        status = st.session_state[status_key] = Mark.PRESENT.value
    if status is None:
        return
    mark = AttendanceMark(status=Mark(status), late=late)
    saving(
        late_key if changed == "late" else status_key,
        lambda: session_runner.mark_attendance(store, viewer, sid, {member_id: mark}),
    )
    st.session_state[f"seen_{status_key}"] = status
    st.session_state[f"seen_{late_key}"] = late


def save_notes() -> None:
    key = f"notes_{sid}"
    try:
        session_runner.save_notes(
            store, viewer, sid, st.session_state[key], st.session_state[f"seen_{key}"]
        )
    except NotesChanged as exc:
        # Keep what this facilitator wrote in the box and show the other version beside it; the
        # next change is saved over the other version, which they have now seen.
        st.session_state[f"seen_{key}"] = exc.theirs
        st.session_state[f"theirs_{sid}"] = exc.theirs
    except ProgramError as exc:
        st.session_state["session_flash"] = ("error", exc.with_traceback(None))
    else:
        st.session_state[f"seen_{key}"] = st.session_state[key].strip()
        st.session_state.pop(f"theirs_{sid}", None)
        st.session_state[f"saved_{sid}"] = dt.datetime.now()


guide = sheet.guide
status = (
    "held"
    if record.status == SessionStatus.HELD
    else f"planned for {record.scheduled_date:%A %d %B}"
)
st.subheader(f"Session {guide.number}: {ui.guide(guide.title)}")
st.caption(f"{ui.plain(cohort.name)} · {status} · {guide.minutes} minutes of agenda")

# Keyed, so a save (which reruns the page) leaves the facilitator on the tab they were using.
guide_tab, attendance_tab, pulse_tab, notes_tab = st.tabs(
    ["Guide and checklist", "Attendance", "Pulse", "Notes"], key="session_tab"
)


def saved_note() -> str:
    saved_at = st.session_state.get(f"saved_{sid}")
    return f" · :material/cloud_done: saved at {saved_at:%H:%M:%S}" if saved_at else ""


# The checklist, attendance and notes are fragments: a mark reruns only its own part of the page,
# which keeps each save quick on a long guide; attendance also follows a co-facilitator's marks.
@st.fragment
def checklist() -> None:
    delivered = session_runner.current_delivered(store, viewer, sid)
    st.caption(
        "Tick each part of the agenda as you deliver it: this is the fidelity checklist."
        f" **{len(delivered)} of {len(guide.agenda)} delivered**{saved_note()}"
    )
    clock = 0
    for index, activity in enumerate(guide.agenda):
        start, clock = clock, clock + activity.minutes
        with st.container(border=True):
            tick, timer = st.columns([3, 2], vertical_alignment="center")
            tick.checkbox(
                f"**{ui.guide(activity.title)}** · {activity.minutes} min"
                f" ({start // 60}:{start % 60:02d}–{clock // 60}:{clock % 60:02d})",
                key=synced(f"fid_{sid}_{index}", index in delivered),
                on_change=save_tick,
                args=(index,),
            )
            with timer:
                ui.agenda_timer(activity.minutes, f"{sid}-{index}")
            with st.expander("Facilitator notes and prompts"):
                st.markdown(ui.guide(activity.notes))
                if activity.prompts:
                    st.markdown(
                        "**Prompts**\n\n" + "\n".join(f"- {ui.guide(p)}" for p in activity.prompts)
                    )


with guide_tab:
    secret = auth.session_secret(ui.settings())
    version_id = cohort.curriculum_version_id
    with st.container(horizontal=True):
        # Both open in a new tab: a print-ready page (its print dialog opens by itself) or a PDF.
        st.link_button(
            "Print the guide",
            printing.guide_link(secret, version_id, record.number, cohort.id),
            icon=":material/print:",
            help="Safety and crisis steps first, on A4, without the app around it.",
        )
        st.link_button(
            "Guide as PDF",
            printing.guide_link(secret, version_id, record.number, cohort.id, pdf=True),
            icon=":material/picture_as_pdf:",
        )
    # Curriculum text keeps its formatting but shows no image or link (ui.guide).
    st.markdown(f"*{ui.guide(guide.theme)}*")
    st.markdown("**Intentions**\n\n" + "\n".join(f"- {ui.guide(i)}" for i in guide.intentions))
    checklist()
    st.markdown("**Home practice**")
    st.markdown(ui.guide(guide.home_practice))
    st.warning(ui.guide(guide.safety_notes), icon=":material/health_and_safety:")


UNREACHABLE = (
    "Phones cannot reach this address. Set PROGRAM_BASE_URL to this computer's address on your"
    " network (see the README: Trying the pulse with real phones)."
)


def languages_said(items: Sequence[tuple[Instrument, Item]]) -> str:
    """Which languages people can answer this pulse in, and what stays in its own language."""
    offers = participant.offers(items, i18n.languages(pseudo=ui.settings().pseudo_languages))
    names = ", ".join(o.language.name for o in offers)
    lines = [
        f"People can answer in: {names}. Each phone opens in its own language, and anyone can"
        " switch at the top of the page."
    ]
    for offer in offers:
        if offer.untranslated:
            lines.append(
                f"In {offer.language.name}, {ui.plain(', '.join(offer.untranslated))} is asked in its own"
                " language: it has no checked translation."
            )
    return "  \n".join(lines)


def met_today_offer(session: SessionRecord) -> None:
    """Where a session planned for a later day would be refused: offer to move it to today,
    saying what else moves, and do it on confirmation."""
    st.info(
        f"This session is planned for **{session.scheduled_date:%A %d %B}**. If the group met"
        " today instead, move it to today; then it can be marked held and its pulse opened.",
        icon=":material/event_available:",
    )
    with st.expander("We met today instead", icon=":material/today:", key=f"met_today_{sid}"):
        try:
            move = cohorts.plan_met_today(store, viewer, session.id, today)
        except ProgramError as exc:
            ui.show_error(exc)
            return
        if move.cancelled:
            listed = ", ".join(
                f"session {s.number} ({s.scheduled_date:%a %d %b})" for s in move.cancelled
            )
            st.write(
                f"The group did not meet for {listed} before today, so it will be marked"
                " cancelled. You can restore it on the Cohorts page."
            )
        shift = False
        if move.shifted:
            days = -move.days
            shift = st.checkbox(
                f"Also move the {len(move.shifted)} later sessions {days} days earlier, keeping"
                " the weekly rhythm",
                key=f"shift_later_{sid}",
                help="Leave this off to keep their dates as they are.",
            )
            first, new = move.shifted[0]
            st.caption(
                f"Session {first.number} would then be on {new:%A %d %B}"
                if shift
                else f"Session {first.number} stays on {first.scheduled_date:%A %d %B}."
            )
        if st.button("Move this session to today", type="primary", key=f"met_today_go_{sid}"):
            ui.attempt(
                lambda: cohorts.met_today(store, viewer, session.id, today, shift),
                f"Session {session.number} is now today, {today:%A %d %B}.",
            ) and st.rerun()


def join_base() -> str:
    """The address join links and QR codes start with: PROGRAM_BASE_URL when it is set, otherwise
    the one this browser is using (as it reports it, or as its connection's Origin says)."""
    return (
        pulse.base_address(ui.settings().base_url, st.context.url, st.context.headers.get("Origin"))
        or f"http://localhost:{st.get_option('server.port')}"
    )


@st.fragment(run_every=dt.timedelta(seconds=20))
def pulse_panel(session_id: int) -> None:
    """The pulse controls. Refreshes by itself so "enough responses" and auto-close stay current."""
    now = dt.datetime.now()
    status = pulse.pulse_status(store, viewer, session_id, now)
    min_group_size = status.min_group_size
    if not status.has_questions:
        st.info("The curriculum asks no pulse questions at this session.")
        return
    window = status.window
    base = join_base()
    closed = window is not None and not status.is_open
    if not closed and pulse.phones_cannot_reach(base):
        st.warning(f"{UNREACHABLE}\n\nJoin links start with `{base}`.", icon=":material/wifi_off:")
    if window is None and session_runner.too_early_to_hold(record, now.date()):
        st.info(
            f"The pulse opens on the day the group meets; this session is planned for"
            f" {record.scheduled_date:%A %d %B}. If the group met today, use **We met today"
            " instead** below.",
            icon=":material/event:",
        )
        return
    if window is None:
        before = st.empty()  # the explanation and the button, cleared once the pulse opens
        with before.container():
            st.write(
                "Open the pulse near the end of the session, after attendance: it takes one"
                " answer per person marked present when it opens. People answer on their phones"
                " with the room code or QR code, or on a single-use card; results appear after it"
                f" closes, and only if at least {min_group_size} people answered."
            )
            clicked = st.button("Open the pulse", type="primary", icon=":material/qr_code_2:")
        if not clicked or not ui.attempt(
            lambda: pulse.open_pulse(store, ui.settings(), viewer, session_id, now),
            "The pulse is open.",
        ):
            return
        # Only this panel changes when the pulse opens: draw it open in this same run rather
        # than rerunning the whole runner.
        before.empty()
        status = pulse.pulse_status(store, viewer, session_id, now)
        window = status.window
        if window is None:
            return
    if not status.is_open:
        st.success(
            f"The pulse closed on {window.closed_at or window.closes_at:%A %d %B at %H:%M}."
            " Results, if enough people answered, are on the Cohort results page."
        )
        return
    if status.cards_only:
        st.info(
            f"**Cards only.** People answer with the printed cards ({status.cards} made), each"
            " card once. The room code and its QR code are switched off.",
            icon=":material/style:",
        )
    else:
        code = window.room_code or ""
        link = pulse.join_link(base, code)
        qr_col, code_col = st.columns([2, 3], vertical_alignment="center")
        qr_col.image(pulse.qr_png(link), caption="Scan to answer", width=300)
        with code_col:
            # Large enough to read from the back of a room. The code is made of our own alphabet
            # (letters, digits, one hyphen), so it is safe inside markup.
            st.markdown("Room code")
            st.markdown(
                f'<div class="room-code">{pulse.format_code(code)}</div>', unsafe_allow_html=True
            )
            # base_address keeps only a scheme, host and port from what a browser reported.
            st.markdown(f"or go to **{pulse.short_address(base)}** and type the code.")
    items = sheet.bundle.pulse_items(record.number)
    st.caption(languages_said(items))
    offered = i18n.languages(pseudo=ui.settings().pseudo_languages)
    room_language = st.selectbox(
        "Language of the projector page and the cards",
        list(offered),
        format_func=lambda code: offered[code].name,
        key=f"room_language_{session_id}",
        help="The words on the room's screen and on printed cards. A phone answering with the"
        " room code opens in its own language; a card opens in the card's.",
    )
    # Opens in a new tab: the runner, with "Close the pulse", stays where it was.
    st.link_button(
        "Show on the projector",
        f"/pulse/show?session={session_id}&lang={room_language}"
        f"&key={pulse.projector_key(auth.session_secret(ui.settings()), window)}",
        icon=":material/present_to_all:",
        help="A full-screen page with only the room code, the QR code and the address, for the"
        " room's screen. It follows the pulse by itself: cards only, closed.",
    )
    st.caption(
        f"Closes by itself {window.closes_at:%A %d %B at %H:%M}. Open to {window.cap}"
        f" {'person' if window.cap == 1 else 'people'}, one answer each: those marked present"
        " when it opened (everyone on the roster if attendance had not been taken)."
    )
    if status.full:
        st.success("Everyone present has answered.", icon=":material/check_circle:")
    elif status.enough:
        st.success(f"Enough responses to report: **yes** (at least {min_group_size}).")
    else:
        st.warning(f"Enough responses to report: **not yet** (needs {min_group_size}).")
    if status.cards:
        use_code = st.toggle(
            "Let people use the room code too",
            value=not status.cards_only,
            key=f"room_code_{session_id}",
            help="Off: only the printed cards work, one answer each. On: phones can also join"
            " with the room code, one answer per phone.",
        )
        if use_code == status.cards_only:
            ui.attempt(
                lambda: pulse.set_room_code(store, viewer, session_id, use_code, now),
                "The room code works again." if use_code else "Cards only now.",
            ) and st.rerun()
    # Keyed and tracked, so it stays open when making cards adds the room-code switch above it.
    with st.expander(
        "Single-use cards (and paper answers)", key=f"cards_box_{session_id}", on_change="rerun"
    ):
        st.caption(
            "Each card has its own code and QR code and counts once. Making cards switches the"
            " room code off, so the cards are the only way in. Shuffle them and hand them out"
            " face down, so no card can be matched to a person. The app keeps no card"
            " codes: print the sheet today (it is forgotten after"
            f" {printing.SHEET_HOURS} hours, or when the app restarts)."
        )
        count = st.number_input(
            "How many cards",
            1,
            pulse.MAX_CARDS,
            pulse.default_card_count(store, viewer, session_id),
            key=f"cards_{session_id}",
        )
        if st.button("Make cards", key=f"make_cards_{session_id}"):
            try:
                codes = pulse.make_cards(store, viewer, session_id, int(count), now)
            except ProgramError as exc:
                ui.show_error(exc)
            else:
                # A sheet in English leaves each phone its own language; any other carries it.
                lang = offered[room_language]
                card_lang = None if lang.code == i18n.SOURCE_LANGUAGE else lang.code
                html = cards.card_sheet(
                    f"Session {record.number}: {sheet.guide.title}",
                    [(c, pulse.join_link(base, c, card_lang)) for c in codes],
                    items,
                    min_group_size,
                    lang,
                    list(offered.values()),
                    toolbar=printing.PRINT_TIP,
                )
                # Kept in memory only, for printing from the links below (printing.SHEETS).
                st.session_state[f"card_sheet_{session_id}"] = (
                    printing.SHEETS.put(html, dt.datetime.now()),
                    len(codes),
                )
                st.rerun(scope="fragment")  # the room code is off now: show it at once
        made = st.session_state.get(f"card_sheet_{session_id}")
        if made:
            token, count = made
            st.caption(
                f"{count} cards on {cards.sheet_pages(count)} A4 pages: eight cards a page with"
                " cut marks, then one paper form (print more of it if several people need paper)."
            )
            with st.container(horizontal=True):
                st.link_button(
                    "Print the cards", printing.cards_link(token), icon=":material/print:"
                )
                st.link_button(
                    "Cards as PDF",
                    printing.cards_link(token, pdf=True),
                    icon=":material/picture_as_pdf:",
                )
        paper_form(session_id)
    st.divider()
    confirm = st.checkbox(
        "Everyone who wants to answer has answered", key=f"confirm_close_{session_id}"
    )
    if st.button("Close the pulse", disabled=not confirm, icon=":material/lock:"):
        ui.attempt(
            lambda: pulse.close_pulse(store, viewer, session_id, dt.datetime.now()),
            "The pulse is closed.",
        ) and st.rerun()


def paper_form(session_id: int) -> None:
    """Type in the paper cards from the collection box, one at a time."""
    st.markdown("**Enter a paper card**")
    with st.form(f"paper_{session_id}", clear_on_submit=True):
        card = st.text_input("Card code", max_chars=16)
        raw = {}
        for number, (instrument, item) in enumerate(sheet.bundle.pulse_items(record.number), 1):
            raw[pulse.answer_key(instrument, item)] = st.radio(
                f"{number}. {ui.plain(item.text)}",
                instrument.scale.points,
                index=None,
                horizontal=True,
            )
        if st.form_submit_button("Add this card's answers"):
            ui.attempt(
                lambda: pulse.enter_paper_card(
                    store, viewer, session_id, card, raw, dt.datetime.now()
                ),
                "Card entered. Each card counts once: a card that was used already keeps its"
                " first answer.",
            )


def mark_all_present() -> None:
    try:
        session_runner.mark_everyone_present(store, viewer, sid)
    except ProgramError as exc:
        st.session_state["session_flash"] = ("error", exc.with_traceback(None))
    else:
        st.session_state[f"saved_{sid}"] = dt.datetime.now()


@st.fragment(run_every=dt.timedelta(seconds=15))
def attendance() -> None:
    if not sheet.members:
        st.info("The roster is empty. Add people on the Cohorts page.")
        return
    marks = session_runner.current_marks(store, viewer, sid)
    present = sum(m.status == Mark.PRESENT for m in marks.values())
    unmarked = sum(1 for m in sheet.members if m.id not in marks)
    with st.container(horizontal=True, vertical_alignment="center"):
        st.button(
            "Everyone is here",
            on_click=mark_all_present,
            icon=":material/done_all:",
            help="Marks everyone not marked yet as present; the marks made already stay.",
        )
        st.markdown(f"**{present} present**, {unmarked} not yet marked{saved_note()}")
    for member in sheet.members:
        mark = marks.get(member.id)
        name, choice, late = st.columns([3, 4, 1], vertical_alignment="center")
        name.markdown(
            ui.plain(member.display_name)
            + (" *(withdrawn)*" if member.status == MemberStatus.WITHDRAWN else "")
        )
        choice.radio(
            f"Attendance of {ui.plain(member.display_name)}",
            [m.value for m in Mark],
            key=synced(f"att_{sid}_{member.id}", mark.status.value if mark else None),
            on_change=save_mark,
            args=(member.id, "status"),
            horizontal=True,
            label_visibility="collapsed",
            format_func=str.capitalize,
        )
        late.checkbox(
            "Late",
            key=synced(f"late_{sid}_{member.id}", bool(mark and mark.late)),
            on_change=save_mark,
            args=(member.id, "late"),
        )


with attendance_tab:
    attendance()

with pulse_tab:
    pulse_panel(sid)


def notes() -> None:
    # Not a fragment: a fragment's rerun sent as the page is left for another (the box loses
    # focus on the click) blanked the next page.
    theirs = st.session_state.get(f"theirs_{sid}")
    if theirs is not None:
        st.warning(
            "Someone else saved these notes while you were writing. Their version is below; yours"
            " is still in the box. Combine them in the box: your next change is saved over theirs.",
            icon=":material/merge:",
        )
        st.code(theirs, language=None, wrap_lines=True)
    st.text_area(
        "Notes for the facilitators (no names of participants, please)",
        key=synced(f"notes_{sid}", record.notes) if theirs is None else f"notes_{sid}",
        on_change=save_notes,
        height=160,
        max_chars=session_runner.MAX_NOTES,
        help="Saved when you click or tab away from the box.",
    )
    saved_at = st.session_state.get(f"saved_{sid}")
    if saved_at:
        st.caption(f":material/cloud_done: Saved at {saved_at:%H:%M:%S}")


with notes_tab:
    notes()

st.divider()
st.caption(
    ":material/cloud_done: Every mark is saved as you make it; you can leave this page at any time."
)
if record.status == SessionStatus.PLANNED:
    if session_runner.too_early_to_hold(record, today):
        met_today_offer(record)
    elif st.button("Mark this session held", type="primary", icon=":material/task_alt:"):
        ui.attempt(
            lambda: session_runner.mark_held(store, viewer, sid, today),
            "Session marked held.",
        ) and st.rerun()
