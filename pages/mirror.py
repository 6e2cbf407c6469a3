"""Group mirror."""

import streamlit as st

import ui
from program.models import Role

viewer = ui.page("Group mirror", frozenset({Role.FACILITATOR}))

st.title("Group mirror")
