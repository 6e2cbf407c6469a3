"""Run a session."""

import streamlit as st

import ui
from program.models import Role

viewer = ui.page("Run a session", frozenset({Role.FACILITATOR}))

st.title("Run a session")
