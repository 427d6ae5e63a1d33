"""The Streamlit app (the only place Streamlit is imported)."""
