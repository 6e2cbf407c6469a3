"""Cohort results."""

import streamlit as st

import ui
from program.models import Role

viewer = ui.page("Cohort results", frozenset({Role.FACILITATOR}))

st.title("Cohort results")
