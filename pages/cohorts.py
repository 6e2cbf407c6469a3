"""Cohorts."""

import streamlit as st

import ui

viewer = ui.page("Cohorts", ui.STAFF)

st.title("Cohorts")
