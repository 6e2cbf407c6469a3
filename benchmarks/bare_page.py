"""The floor the staff pages are measured against: a Streamlit page that does almost nothing.

benchmarks/staff_pages.py serves it with the same Streamlit and the same browser as the app, so
"ratio_vs_bare" says how much our page adds to what Streamlit itself costs."""

import streamlit as st

st.title("Bare page")
st.write("Nothing else.")
st.checkbox("A box to tick", key="tick")
