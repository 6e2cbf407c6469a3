"""Audit log."""

import streamlit as st

import ui
from program.models import Role

viewer = ui.page("Audit log", frozenset({Role.ADMIN}))

st.title("Audit log")
