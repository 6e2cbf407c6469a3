"""Curriculum library: readable session guides, the stored versions, and uploading a new version."""

import streamlit as st

import ui
from program import auth, guides, library, printing
from program.curriculum import INSTRUMENTS_FOLDER
from program.errors import ProgramError
from program.models import Actor, CurriculumBundle, CurriculumVersion
from program.views import curricula as library_view

viewer = ui.page("Curriculum library", ui.STAFF)
store = ui.store()
UPLOAD_OUTCOME = "curricula_upload_outcome"
# The scripts a facilitator reads aloud are blockquotes, which Streamlit draws in faded grey; keep
# them at full contrast. ui's print stylesheet hides the sidebar and header; a printed guide needs
# no tabs or pickers either.
GUIDE_CSS = """<style>
[data-testid="stMarkdownContainer"] blockquote { opacity: 1 !important; }
@media print {
  .st-key-guide-controls, .stTabs [role="tablist"] { display: none !important; }
  .stMarkdown table, [data-testid="stAlert"] { break-inside: avoid; }
}
</style>"""


# Problem messages quote what the author wrote; names and titles are what people typed.
plain = ui.plain


def version_label(v: CurriculumVersion) -> str:
    return f"{v.title} {v.version} · {v.loaded_at:%d %b %Y} · {v.content_hash[:7]}"


def upload_section() -> None:
    st.markdown(
        "Add a curriculum file (YAML) to the library. It is checked first: if anything is wrong,"
        " every problem is listed with its line and **nothing is stored**. Instruments come from"
        " the library's instruments folder. Uploading content that is already stored does not"
        " make a new version, and cohorts keep the exact version they started with."
    )
    file = st.file_uploader("Curriculum file", type=["yaml", "yml"], max_upload_size=1)
    if file is None:
        return
    if st.button("Check and add to the library", type="primary", icon=":material/upload:"):
        actor = Actor.of(viewer)
        folder = ui.settings().curricula / INSTRUMENTS_FOLDER
        try:
            version, created = library.upload_curriculum_file(
                store, actor, file.name, file.getvalue(), folder
            )
        except ProgramError as exc:
            # The error itself is kept (not its traceback, which would hold the failed call).
            outcome: tuple[str, list[ProgramError | str]] = ("refused", [exc.with_traceback(None)])
        else:
            outcome = ("new" if created else "existing", [version_label(version)])
        # Kept for this file, so the answer stays visible while the guide tabs are used.
        st.session_state[UPLOAD_OUTCOME] = (file.file_id, outcome)
    kept = st.session_state.get(UPLOAD_OUTCOME)
    if not kept or kept[0] != file.file_id:
        return
    kind, lines = kept[1]
    if kind == "refused":
        ui.show_error(lines[0])
    elif kind == "new":
        st.success(f"Stored as a new version: {plain(lines[0])}.", icon=":material/check_circle:")
    else:
        st.info(
            f"Already in the library, so nothing new was stored: {plain(lines[0])}.",
            icon=":material/info:",
        )


def versions_section(entries: tuple[library.LibraryEntry, ...]) -> None:
    rows = [
        {
            # st.table reads Markdown in its cells, so everything typed is shown literally.
            "Title": plain(e.version.title),
            "Curriculum": plain(e.version.curriculum_id),
            "Version": plain(e.version.version),
            "Content hash": e.version.content_hash[:12],
            "Loaded": f"{e.version.loaded_at:%d %b %Y, %H:%M}",
            "Source file": plain(e.version.source_name),
            "Used by cohorts": ", ".join(plain(c) for c in e.cohorts) or "none yet",
        }
        for e in entries
    ]
    st.table(rows, hide_index=True)
    st.caption(
        "Newest first. The content hash is shortened to 12 characters; the full one is below."
    )
    with st.expander("Full content hashes and source files"):
        for e in entries:
            v = e.version
            left, right = st.columns([4, 1], vertical_alignment="center")
            left.markdown(f"**{plain(v.title)}**, version {plain(v.version)}")
            left.code(v.content_hash, language=None)
            name, text = library_view.source(store, viewer, v.id)
            right.download_button(
                "Source YAML",
                data=text,
                file_name=name,
                mime="application/x-yaml",
                icon=":material/download:",
                key=f"source-{v.id}",
                help=f"The file {plain(name)} exactly as it was loaded.",
            )


def about_curriculum(bundle: CurriculumBundle) -> None:
    c = bundle.curriculum
    weekly = len(c.weekly_numbers)
    orientation = " plus an orientation" if 0 in [s.number for s in c.sessions] else ""
    st.caption(
        f"{weekly} weekly sessions{orientation} · up to {c.session_minutes} minutes each ·"
        f" completion: {guides.completion_rule(bundle).lower()}"
    )
    with st.expander("About this curriculum: summary, audience, completion and pulse plan"):
        # Curriculum text keeps its formatting but shows no image or link (ui.guide).
        st.markdown(f"**Summary**\n\n{ui.guide(c.summary)}")
        st.markdown(f"**Audience**\n\n{ui.guide(c.audience)}")
        st.markdown(f"**Completion:** {guides.completion_rule(bundle)}")
        plan = guides.pulse_plan(bundle)
        if plan:
            st.markdown(
                "**Pulse plan**\n\n"
                + "\n".join(
                    f"- {ui.guide(p.instrument.title)}"
                    f" ({guides.questions(len(p.instrument.items))}):"
                    f" {guides.sessions_list(p.sessions)}"
                    for p in plan
                )
            )
        else:
            st.markdown("**Pulse plan:** no pulse is scheduled.")


def session_guide(bundle: CurriculumBundle, number: int) -> None:
    c = bundle.curriculum
    session = c.session(number)
    st.header(ui.guide(guides.session_label(session)), anchor=False)
    st.caption(
        f"{plain(c.title)}, version {plain(c.version)} · {session.minutes} of"
        f" {c.session_minutes} minutes planned · {len(session.agenda)} activities"
    )
    st.markdown(f"**Theme:** {ui.guide(session.theme)}")
    st.markdown("**Intentions**\n\n" + "\n".join(f"- {ui.guide(i)}" for i in session.intentions))

    st.subheader("Agenda", anchor=False)
    st.markdown(guides.agenda_table(session))

    st.subheader("Activities", anchor=False)
    for t in guides.timed_agenda(session):
        a = t.activity
        with st.container(border=True):
            st.markdown(f"##### {t.span} · {ui.guide(a.title)}")
            st.caption(f"{a.kind.value.title()} · {a.minutes} minutes")
            st.markdown(ui.guide(a.notes))
            if a.prompts:
                st.markdown("**Prompts**\n\n" + "\n".join(f"- {ui.guide(p)}" for p in a.prompts))

    st.subheader("Home practice", anchor=False)
    st.markdown(ui.guide(session.home_practice))

    st.subheader("Safety notes", anchor=False)
    st.warning(ui.guide(session.safety_notes), icon=":material/health_and_safety:")

    st.subheader("Pulse at this session", anchor=False)
    st.info(guides.pulse_lines(bundle, number), icon=":material/ballot:")


def guide_section(entries: tuple[library.LibraryEntry, ...]) -> None:
    by_id = {e.version.id: e for e in entries}
    # Choosing, downloading and the overview are left out of a printout (see GUIDE_CSS).
    with st.container(key="guide-controls"):
        pick_version, pick_session = st.columns([3, 2])
        version_id = pick_version.selectbox(
            "Curriculum version",
            list(by_id),
            format_func=lambda i: version_label(by_id[i].version),
            help="The newest version comes first. Each cohort runs the version it started with.",
        )
        entry = by_id[version_id]
        bundle = library_view.curriculum(store, viewer, version_id)
        sessions = {s.number: s for s in bundle.curriculum.sessions}
        number = pick_session.selectbox(
            "Session",
            list(sessions),
            format_func=lambda n: guides.session_label(sessions[n]),
            key=f"guide-session-{version_id}",
        )
        used = ", ".join(plain(c) for c in entry.cohorts) if entry.cohorts else "no cohort yet"
        st.caption(f"Used by: {used}")
        about_curriculum(bundle)
        with st.container(horizontal=True, vertical_alignment="center"):
            # Both open in a new tab: a print-ready page (its print dialog opens by itself), or
            # the same as a PDF.
            secret = auth.session_secret(ui.settings())
            st.link_button(
                "Print this session",
                printing.guide_link(secret, version_id, number),
                icon=":material/print:",
                help="Safety and crisis steps first, on A4, without the app around it.",
            )
            st.link_button(
                "This session as PDF",
                printing.guide_link(secret, version_id, number, pdf=True),
                icon=":material/picture_as_pdf:",
            )
            st.download_button(
                "Whole curriculum as Markdown",
                data=guides.curriculum_markdown(bundle),
                file_name=guides.markdown_filename(bundle),
                mime="text/markdown",
                icon=":material/download:",
                key=f"curriculum-md-{version_id}",
                help="The curriculum's text, for authors to read or edit.",
            )
        st.divider()
    session_guide(bundle, number)


st.html(GUIDE_CSS)
st.title("Curriculum library")
guide_tab, versions_tab, upload_tab = st.tabs(
    [
        ":material/menu_book: Session guides",
        ":material/history: Versions",
        ":material/upload: Upload",
    ]
)
# The upload is handled first, so a version stored now already appears in the other tabs.
with upload_tab:
    upload_section()

entries = library_view.versions(store, viewer)
if not entries:
    for tab in (guide_tab, versions_tab):
        tab.info(
            "No curriculum is stored yet. Add one in the Upload tab, or run"
            " `python -m program load-curriculum curricula/collective-healing.yaml`.",
            icon=":material/info:",
        )
else:
    with versions_tab:
        versions_section(entries)
    with guide_tab:
        guide_section(entries)
