"""Program dashboard."""

import streamlit as st

import ui
from program.models import Role

viewer = ui.page("Program dashboard", frozenset({Role.LEAD, Role.ADMIN}))

st.title("Program dashboard")
