"""Autosave while typing: Streamlit's text areas only report their value when the box loses focus.

`typing_watcher` renders a zero-height component (autosave_text/index.html) that watches the page's
text areas with the given labels and, once typing pauses for `delay_ms`, returns every watched box's
current text as ``{"stamp": str, "texts": {section id: text}}``. The stamp changes with each report, so
a caller handles each report once. Before the first report (and under AppTest, which cannot run
components) it returns None.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from streamlit.components.v1 import declare_component

_component = declare_component("autosave_text", path=str(Path(__file__).parent / "autosave_text"))

DELAY_MS = 1500


def typing_watcher(
    labels: dict[str, str], texts: dict[str, str], key: str, delay_ms: int = DELAY_MS
) -> dict[str, Any] | None:
    """labels: text area label -> section id; texts: section id -> the text the server holds (what is
    not typing). Returns the latest report, or None."""
    value = _component(labels=labels, texts=texts, delay_ms=delay_ms, key=key, default=None)
    if isinstance(value, dict) and isinstance(value.get("texts"), dict) and isinstance(value.get("stamp"), str):
        return value
    return None
