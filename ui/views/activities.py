"""Signposting: ask for local activities in plain words; follow-up questions keep the context."""

from __future__ import annotations

import streamlit as st

from ui.common import services


def page() -> None:
    st.header("Find local activities")
    history = st.session_state.setdefault("chat", [])
    for role, text in history:
        st.chat_message(role).write(text)
    question = st.chat_input("e.g. accessible swimming with a hoist near Colchester on Tuesday mornings")
    if question:
        st.chat_message("user").write(question)
        answer, context = services().ask(question, context=st.session_state.get("chat_context"))
        st.session_state["chat_context"] = context
        with st.chat_message("assistant"):
            st.write(answer.answer)
            for match in answer.results:
                st.markdown(f"- **{match.name}** ({match.town}) — {match.why}")
        history += [("user", question), ("assistant", answer.answer)]
