"""The app's entry point: `streamlit run app.py`. Streamlit pages plus the sign-in routes.

home.py is the main page; pages/ holds the others, each guarded by ui.page on its first line.
"""

import streamlit as st

from routes import ROUTES

app = st.App("home.py", routes=ROUTES)
