"""Reconnect Assistant: a local-first assistant for occupational therapists."""

from assistant import privacy as _privacy  # noqa: F401  (must run before any engine import)

__version__ = "0.1.0"
__all__ = ["__version__"]
