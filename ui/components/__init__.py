"""Small Streamlit components served from this folder (plain HTML/JS, no build step, no network)."""
