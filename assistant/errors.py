"""A small error hierarchy whose messages say how to fix the problem.

The CLI and the app catch `ReconnectError` at the edge and show `str(error)`:
one line, never a traceback.
"""

from __future__ import annotations


class ReconnectError(Exception):
    """Base class: the message is meant for the person at the keyboard."""


class BadInput(ReconnectError):
    """The user's input (audio, file, question, feed) cannot be used as given."""


class AudioError(BadInput):
    """The audio is empty, corrupt, silent, too long or in another language."""


class FeedError(BadInput):
    """A directory feed cannot be read at all (single bad records are rejects, not errors)."""


class ModelError(ReconnectError):
    """A model (local or remote) failed, timed out or returned something unusable."""


class NeedsKey(ModelError):
    """A remote model is configured but its key is missing."""


class EgressBlocked(ReconnectError):
    """A payload bound for a remote model still holds a direct identifier."""


class TemplateError(ReconnectError):
    """A prompt or note template is missing, malformed, or missing a variable."""


class ConflictError(ReconnectError):
    """Someone else saved this draft since you opened it."""


class NotAllowed(ReconnectError):
    """The signed-in role may not do this."""


class StoreError(ReconnectError):
    """The local store cannot be opened or migrated."""


class Interrupted(ReconnectError):
    """The person stopped a long job part-way; the message says what was kept."""
