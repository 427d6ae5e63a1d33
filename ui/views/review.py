"""The supervisor's review queue: filters, the note, a diff between versions, comments, decisions."""

from __future__ import annotations

import streamlit as st

from assistant import review
from assistant.directory import LOCAL_TIME
from assistant.errors import ReconnectError
from ui.common import audit_once, evidence_popover, keep_pick, services, user

KINDS = {"care_plan_entry": "Care-plan entry", "supporting_letter": "Supporting letter"}
ACTIONS = {
    "request_changes": "Request changes",
    "approve": "Approve",
    "sign_off": "Sign off",
}


def page() -> None:
    svc = services()
    me = user()
    st.header("Review queue")
    if flash := st.session_state.pop("review_flash", None):
        st.success(flash)
    left, middle, right = st.columns(3)
    statuses = left.multiselect(
        "Status",
        list(review.STATUS_LABELS),
        default=["submitted", "approved"],
        format_func=review.STATUS_LABELS.get,
        key="queue_status",
    )
    ots = sorted({d["ot"] for d in svc.store.list_drafts()})
    ot = middle.selectbox("OT", ["Everyone", *ots], key="queue_ot")
    older = right.number_input("Waiting at least (days)", min_value=0.0, value=0.0, step=1.0, key="queue_age")
    items = review.queue(svc.store, tuple(statuses), None if ot == "Everyone" else ot, older_than_days=older or None)
    audit_once("view", "review_queue")
    if not items:
        st.info("Nothing is waiting for review.")
        return
    # each under its own author: a coordinator's letter is theirs, not the OT's whose assessment it comes from
    labels = {
        i["id"]: f"{i['reference']} — {KINDS.get(i['template'], 'Assessment note')} — {review.owner(svc.store, i)} — "
        f"{review.STATUS_LABELS[i['status']]} — version {i['version']} — {i['age_days']:.1f} days"
        for i in items
    }
    # the radio keeps its choice by label, and a decision changes the label (or takes the note off the list): keep
    # the note that was picked, or pick none, rather than fall back to the first note and show its buttons
    keep_pick("queue_pick", labels)
    did = st.radio("Notes", list(labels), format_func=labels.get, key="queue_pick")
    if did is None:
        st.info("Choose a note to review from the list.")
        return
    draft = svc.store.draft(did)
    audit_once("view", f"draft:{did}")
    st.subheader(labels[did])
    sections = draft["content"]["sections"]
    owner = review.owner(svc.store, draft)
    allowed = [a for a in review.allowed_steps(me, draft, owner) if a in ACTIONS]
    if draft["status"] == "signed_off":
        signed_at = draft["signed_off_at"].astimezone(LOCAL_TIME)  # UK time, as the service works
        st.success(f"Signed off by {draft['signed_off_by']} at {signed_at:%d %b %Y %H:%M}; locked.")
    if error := st.session_state.pop(f"review-error-{did}", None):
        st.error(error)
    if allowed:
        st.text_area("Comment to the OT", key=f"comment-{did}", height=80)
        columns = st.columns(len(allowed) + 2)
        for column, action in zip(columns, allowed, strict=False):
            kind = "secondary" if action == "request_changes" else "primary"
            # the version on screen is bound now: the click's rerun reads the note again before it is handled
            column.button(
                ACTIONS[action],
                key=f"{action}-{did}",
                type=kind,
                on_click=decide,
                args=(did, action, draft["version"], [s["id"] for s in sections]),
            )
    st.divider()
    for section in sections:
        if section.get("status", "drafted") != "drafted":
            continue
        st.markdown(f"**{section['title']}**\n\n{section['text']}")
        evidence_popover(section)
        with st.popover("Comment on this section"):
            st.text_area("Comment", key=f"section-comment-{did}-{section['id']}", label_visibility="collapsed")
    missing = [s["title"] for s in sections if s.get("status", "drafted") != "drafted"]
    if missing:
        st.caption("Not discussed: " + "; ".join(missing))
    goals = draft["content"].get("goals", [])
    if goals and review.goals_section(draft["content"]) is None:  # a Goals section above is the goals, as edited
        st.markdown("**SMART goals**\n\n" + "\n".join(f"- {g['text']}" for g in goals))

    versions = [v["version"] for v in svc.store.version_stamps(did)]
    if len(versions) > 1:
        with st.expander("Changes between versions"):
            a, b = st.columns(2)
            old = a.selectbox("From", versions[:-1], index=len(versions) - 2, key=f"diff-old-{did}")
            new = b.selectbox("To", versions[1:], index=len(versions) - 2, key=f"diff-new-{did}")
            changes = review.diff(svc.store, did, old, new)
            if not changes:
                st.caption("No differences.")
            for change in changes:
                st.markdown(f"**{change['title']}**")
                st.code(change["diff"], language="diff")
    history = svc.store.decisions(did)
    if history:
        with st.expander("History"):
            for d in history:
                where = f" ({d['section_id']})" if d["section_id"] else ""
                when = d["created_at"].astimezone(LOCAL_TIME)
                st.caption(f"{when:%d %b %H:%M} {d['reviewer']} {d['decision']}{where}: {d['comment']}")


def decide(did: str, action: str, version: int, section_ids: list[str]) -> None:
    """A review button's callback: the step is taken on the version the supervisor was reading, or refused."""
    svc = services()
    comment = st.session_state.get(f"comment-{did}", "")
    section_comments = {sid: st.session_state.get(f"section-comment-{did}-{sid}", "") for sid in section_ids}
    try:
        draft = review.take_step(svc.store, did, user(), action, comment, section_comments, read_version=version)
    except ReconnectError as exc:
        st.session_state[f"review-error-{did}"] = str(exc)
    else:
        reference = svc.store.assessment(draft["assessment_id"])["reference"]
        st.session_state["review_flash"] = f"{ACTIONS[action]}: done for {reference}."
        # the comments went with this decision: the next version starts with empty boxes
        st.session_state[f"comment-{did}"] = ""
        for sid in section_ids:
            st.session_state[f"section-comment-{did}-{sid}"] = ""
