"""What every page shares: the services (built once per process), the signed-in user, audit helpers."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import streamlit as st

from assistant.directory import LOCAL_TIME
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
    """What reviewers asked for on a note, overall or per section, for whoever drafted it.

    Only the latest request for changes, and only while the note is back with its author for it: once they
    resubmit, it was dealt with. Earlier comments stay one click away, under a closed history.
    """
    svc = services()
    draft = svc.store.draft(did)
    titles = {s["id"]: s["title"] for s in draft["content"]["sections"]}
    said = [d for d in svc.store.decisions(did) if d["decision"] in ("request_changes", "comment")]
    start = len(said)  # where the comments that still apply start: none apply unless changes were requested
    if draft["status"] == "changes_requested":
        # the last request, with the section comments that came with it (or were added since)
        start = max((i for i, d in enumerate(said) if d["decision"] == "request_changes"), default=start)
    for d in said[start:]:
        if d["comment"]:
            st.warning(f"{_comment_heading(d, titles)}: {d['comment']}")
    earlier = [d for d in said[:start] if d["comment"]]
    if earlier:
        with st.popover(f"Earlier review comments ({len(earlier)})"):  # not an expander: this may sit in one
            for d in earlier:
                st.caption(f"{_comment_heading(d, titles)}: {d['comment']}")


def _comment_heading(decision: dict[str, Any], titles: dict[str, str]) -> str:
    """Who commented, where, on which version and when: 'lee on “Referral” (version 2, 03 Mar 2026 14:05)'."""
    section = decision["section_id"]
    where = f" on “{titles.get(section, section)}”" if section else ""
    when = decision["created_at"].astimezone(LOCAL_TIME)  # UK time, as the service works
    return f"{decision['reviewer']}{where} (version {decision['version']}, {when:%d %b %Y %H:%M})"


def keep_pick(key: str, options: Collection[str]) -> None:
    """Keep a list's pick on the same item when its label changes (a decision changes a note's status), or
    clear it when the item left the list, before the widget ``key`` is drawn: Streamlit keeps a choice by its
    label and would otherwise fall back to the first item, showing another note's buttons."""
    picked = st.session_state.get(key)
    if picked is not None:
        st.session_state[key] = picked if picked in options else None
