"""The participant pulse: no account, a room code or a card, at most ten questions."""

import streamlit as st

import ui

ui.participant_page("Today's pulse")

st.title("Today's pulse")
