"""Audit log: every staff action that changes or exports data, filtered, with a CSV export."""

import datetime as dt

import streamlit as st

import ui
from program import audit
from program.models import Role

viewer = ui.page("Audit log", frozenset({Role.ADMIN}))
store = ui.store()
SHOWN = 1000  # newest events drawn in the table; the CSV has every matching event

st.title("Audit log")
st.caption(
    "Who did what, when, and to which object: every staff action that changes or exports data."
)

with ui.shown_errors():
    choices = audit.audit_choices(store, viewer)
    # The date range needs room for two dates side by side.
    who, what, kind, when = st.columns([2, 2, 2, 3])
    actor = who.selectbox(
        "Who",
        [None, *choices.actors],
        format_func=lambda v: "Everyone" if v is None else v,
        key="audit_actor",
    )
    action = what.selectbox(
        "Action",
        [None, *choices.actions],
        format_func=lambda v: "Every action" if v is None else v,
        key="audit_action",
    )
    object_type = kind.selectbox(
        "Object type",
        [None, *choices.object_types],
        format_func=lambda v: "Every type" if v is None else v.replace("_", " "),
        key="audit_object_type",
    )
    dates = when.date_input(
        "Dates",
        value=[],
        max_value=dt.date.today(),
        format="YYYY-MM-DD",
        key="audit_dates",
        help="Pick the first and the last day; leave empty for all time.",
    )
    picked = list(dates) if isinstance(dates, tuple | list) else [dates] if dates else []
    chosen = audit.AuditFilter(
        actor=actor,
        action=action,
        object_type=object_type,
        since=picked[0] if picked else None,
        until=picked[1] if len(picked) > 1 else None,
    )
    events, total = audit.audit_events(store, viewer, chosen, limit=SHOWN)
    st.caption(
        f"{total} matching event{'s' if total != 1 else ''}"
        + (f"; the newest {SHOWN} are shown, the CSV has all of them." if total > SHOWN else ".")
    )
    st.dataframe(
        [
            {
                "When": e.occurred_at,
                "Who": e.actor,
                "Action": e.action,
                "Object": e.object_type.replace("_", " "),
                "Object id": e.object_id,
                "Detail": e.detail,
            }
            for e in events
        ],
        hide_index=True,
        column_config={
            "When": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm:ss"),
            "Detail": st.column_config.TextColumn(width="large"),
        },
    )
    st.download_button(
        "Download these events as CSV",
        data=lambda: audit.export_audit_csv(store, viewer, chosen),
        file_name=f"audit-log-{dt.date.today():%Y-%m-%d}.csv",
        mime="text/csv",
        icon=":material/download:",
        on_click="ignore",
        disabled=total == 0,
        key="download_audit",
        help="Downloading is itself recorded in the audit log.",
    )
