"""The administrator: the audit trail with its chain check, and accounts."""

from __future__ import annotations

import streamlit as st

from assistant.accounts import ROLES, add_user
from assistant.errors import ReconnectError
from ui.common import audit_once, services, user


def page() -> None:
    svc = services()
    st.header("Audit trail")
    audit_once("view", "audit_trail")
    if st.button("Verify the chain", key="verify"):
        svc.store.audit(user()["username"], "audit_verify", "audit_trail")
    ok, count, problem = svc.store.verify_audit()
    if ok:
        st.success(f"{count} events; the chain is intact.")
    else:
        st.error(f"The chain is broken after {count} events: {problem}")
    st.dataframe(
        svc.store.audit_events(limit=500),
        column_order=["seq", "at", "actor", "action", "subject", "detail", "hash"],
        hide_index=True,
        use_container_width=True,
    )
    st.subheader("People")
    with st.form("add_user", clear_on_submit=True):
        username = st.text_input("Username")
        display_name = st.text_input("Name")
        role = st.selectbox("Role", ROLES)
        password = st.text_input("Password (at least 10 characters)", type="password")
        if st.form_submit_button("Add"):
            try:
                add_user(svc.store, username.strip(), password, role, display_name.strip())
            except ReconnectError as exc:
                st.error(str(exc))
            else:
                st.success(f"Added {username} ({role}).")
