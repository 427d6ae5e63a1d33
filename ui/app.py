"""Reconnect Assistant in the browser. Thin: sign-in, idle time-out, and the pages each role may see.

Run with `make run` (or `reconnect ui`). Streamlit is imported only under ui/; the work is
done by assistant.services, assistant.review and assistant.export.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import streamlit as st

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import assistant  # noqa: F401  (telemetry off first)
from assistant.accounts import authenticate, can
from assistant.settings import get_settings
from ui.common import services
from ui.views import activities, assessments, audit, coordinator, evaluation, review

st.set_page_config(page_title="Reconnect Assistant", page_icon="🤝", layout="wide")

# (permission, page function, title, icon, url path): a role sees only the pages it may use
PAGES = [
    ("assess", assessments.page, "Assessments", ":material/edit_note:", "assessments"),
    ("review", review.page, "Review queue", ":material/fact_check:", "review"),
    ("coordinate", coordinator.page, "Care plans and letters", ":material/description:", "coordinate"),
    ("evaluate", evaluation.page, "Evaluation", ":material/bar_chart:", "evaluation"),
    ("ask", activities.page, "Find activities", ":material/pool:", "activities"),
    ("audit", audit.page, "Audit trail", ":material/lock:", "audit"),
]
# where each role lands after signing in
HOME = {
    "ot": "assessments",
    "supervisor": "review",
    "coordinator": "coordinate",
    "evaluator": "evaluation",
    "admin": "audit",
}


def signed_in() -> dict[str, str] | None:
    user = st.session_state.get("user")
    if user is None:
        return None
    idle = time.time() - st.session_state.get("last_seen", 0)
    if idle > get_settings().session_idle_minutes * 60:
        services().store.audit(user["username"], "signed_out_idle", user["username"])
        st.session_state.clear()
        st.warning("You were signed out after a period of inactivity. Please sign in again.")
        return None
    st.session_state["last_seen"] = time.time()
    return user  # type: ignore[no-any-return]


def sign_in_page() -> None:
    st.title("Reconnect Assistant")
    st.caption("Assessment notes, SMART goals and local activities, on this machine.")
    with st.form("sign_in"):
        username = st.text_input("Username")
        password = st.text_input("Password", type="password")
        submitted = st.form_submit_button("Sign in", type="primary")
    if submitted:
        user = authenticate(services().store, username.strip(), password)
        if user is None:
            st.error("That username and password do not match.")
        else:
            st.session_state.clear()
            st.session_state["user"] = user
            st.session_state["last_seen"] = time.time()
            st.rerun()


def sign_out() -> None:
    user = st.session_state.get("user")
    if user:
        services().store.audit(user["username"], "sign_out", user["username"])
    st.session_state.clear()


def main() -> None:
    user = signed_in()
    if user is None:
        sign_in_page()
        return
    with st.sidebar:
        st.write(f"Signed in as **{user['display_name']}** ({user['role']})")
        st.button("Sign out", key="sign_out", on_click=sign_out)
    home = HOME.get(user["role"])
    pages = [
        st.Page(fn, title=title, icon=icon, url_path=path, default=path == home)
        for permission, fn, title, icon, path in PAGES
        if can(user["role"], permission)
    ]
    if not pages:
        st.info("Your role has no pages. Ask an administrator.")
        return
    st.navigation(pages).run()


main()
