"""Curriculum library."""

import streamlit as st

import ui

viewer = ui.page("Curriculum library", ui.STAFF)

st.title("Curriculum library")
