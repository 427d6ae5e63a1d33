"""What every page shares: the services (built once per process), the signed-in user, audit helpers."""

from __future__ import annotations

from typing import Any

import streamlit as st

from assistant.services import Services, get_services

COORDINATOR_TEMPLATES = ("care_plan_entry", "supporting_letter")


@st.cache_resource(show_spinner="Starting the assistant…")
def services() -> Services:
    svc = get_services()
    svc.ensure_sample_directory()
    svc.purge_expired_audio()
    svc.keep_purging_audio()  # and every 10 minutes while the app runs
    return svc


def user() -> dict[str, str]:
    return st.session_state["user"]  # type: ignore[no-any-return]


def audit_once(action: str, subject: str, detail: dict[str, Any] | None = None) -> None:
    """Record a view once per session and subject, not on every rerun."""
    seen: set[str] = st.session_state.setdefault("audited", set())
    key = f"{action}:{subject}"
    if key not in seen:
        services().store.audit(user()["username"], action, subject, detail)
        seen.add(key)


def known_identifiers(details: dict[str, Any]) -> list[str]:
    """The case details that must always be redacted for this assessment."""
    values: list[str] = []
    for key in ("name", "preferred_name", "date_of_birth", "nhs_number", "address", "postcode", "phone"):
        value = details.get(key)
        if isinstance(value, str) and value.strip():
            values.append(value.strip())
    carers = details.get("carers") or []
    if isinstance(carers, list):
        values += [str(c).strip() for c in carers if str(c).strip()]
    return values


def evidence_popover(section: dict[str, Any]) -> None:
    """The quotes a section came from, one click away (for the OT editing it and the supervisor reviewing it)."""
    evidence = section.get("evidence", [])
    if evidence:
        with st.popover(f"Evidence ({len(evidence)})"):
            for ev in evidence:
                mark = "" if ev.get("verified", True) else " ⚠️ not found in the transcript"
                st.caption(f"segment {ev['segment']}: “{ev['quote']}”{mark}")


def reviewer_comments(did: str) -> None:
    """What reviewers asked for on a note, overall or per section, for whoever drafted it."""
    for decision in services().store.decisions(did):
        if decision["comment"] and decision["decision"] in ("request_changes", "comment"):
            where = f" on “{decision['section_id']}”" if decision["section_id"] else ""
            st.warning(f"{decision['reviewer']}{where}: {decision['comment']}")
