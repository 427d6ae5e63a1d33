"""Users and roles. Passwords are hashed with Argon2 in the store; never stored or logged in clear."""

from __future__ import annotations

import secrets
from typing import Any, Literal

from assistant.errors import BadInput, NotAllowed
from assistant.store import Store

Role = Literal["ot", "coordinator", "supervisor", "evaluator", "admin"]
ROLES: tuple[Role, ...] = ("ot", "coordinator", "supervisor", "evaluator", "admin")

# What each role may do. The app and the services check these; nothing else grants access.
PERMISSIONS: dict[str, frozenset[str]] = {
    "ot": frozenset({"assess", "view_original", "ask"}),
    # a coordinator writes letters (a bus pass, a blue badge) that must carry the person's name: they may put the
    # details back into an export of an approved note, audited; they never see the original transcript
    "coordinator": frozenset({"coordinate", "reidentify", "ask"}),
    "supervisor": frozenset({"review", "view_original", "ask"}),
    "evaluator": frozenset({"evaluate"}),
    "admin": frozenset({"admin", "audit", "evaluate", "ask"}),
}


def _hasher() -> Any:
    from argon2 import PasswordHasher

    return PasswordHasher()


def can(role: str, permission: str) -> bool:
    return permission in PERMISSIONS.get(role, frozenset())


def require(role: str, permission: str) -> None:
    if not can(role, permission):
        raise NotAllowed(f"the {role} role may not {permission.replace('_', ' ')}")


def add_user(store: Store, username: str, password: str, role: str, display_name: str = "") -> None:
    if not username.strip():
        raise BadInput("a username cannot be blank")
    if username != username.strip():
        raise BadInput(f"the username {username!r} has spaces at its start or end")
    if role not in ROLES:
        raise BadInput(f"unknown role '{role}'; choose one of: {', '.join(ROLES)}")
    if len(password) < 10:
        raise BadInput("passwords need at least 10 characters")
    if store.user(username) is not None:
        raise BadInput(f"user '{username}' already exists")
    store.add_user(username, display_name or username, role, _hasher().hash(password))
    store.audit("system", "user_added", username, {"role": role})


def authenticate(store: Store, username: str, password: str) -> dict[str, str] | None:
    """The user's record if the password matches, else None. Rehashes when parameters change."""
    from argon2.exceptions import InvalidHashError, VerificationError

    user = store.user(username)
    if user is None or not user["active"]:
        _hasher().hash(password)  # same work either way: no user enumeration by timing
        return None
    hasher = _hasher()
    try:
        hasher.verify(user["password_hash"], password)
    except (VerificationError, InvalidHashError):
        store.audit(username, "sign_in_failed", username)
        return None
    if hasher.check_needs_rehash(user["password_hash"]):
        store.set_password_hash(username, hasher.hash(password))
    store.audit(username, "sign_in", username)
    return {"username": username, "role": user["role"], "display_name": user["display_name"]}


def ensure_admin(store: Store) -> str | None:
    """On first run create 'admin' with a random password and return it (shown once)."""
    if store.count_users() > 0:
        return None
    password = secrets.token_urlsafe(12)
    add_user(store, "admin", password, "admin", "Administrator")
    return password
