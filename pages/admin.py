"""Admin."""

import streamlit as st

import ui
from program.models import Role

viewer = ui.page("Admin", frozenset({Role.ADMIN}))

st.title("Admin")
