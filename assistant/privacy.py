"""Switch off every phone-home before any engine is imported.

Health and care services ask whether the tool reports anything to anyone. It does
not: onnxruntime, Chroma, Streamlit, LangSmith tracing (which would post every
prompt, transcript included, to a tracing service) and the e-mail recognizer's
public-suffix fetch are all turned off here, and `assistant/__init__.py` imports this module
first so the variables are set before those libraries load.
"""

from __future__ import annotations

import os

TELEMETRY_OFF: dict[str, str] = {
    "ORT_DISABLE_TELEMETRY": "1",
    "ANONYMIZED_TELEMETRY": "False",
    "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
    "HF_HUB_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS": "",
    "TOKENIZERS_PARALLELISM": "false",
    # LangChain / LangSmith tracing: LangSmith reads LANGSMITH_* before LANGCHAIN_*, and
    # *_TRACING_V2 before *_TRACING, so all four are set: a shell value must not win.
    "LANGSMITH_TRACING": "false",
    "LANGSMITH_TRACING_V2": "false",
    "LANGCHAIN_TRACING_V2": "false",
    "LANGCHAIN_TRACING": "false",
}


def switch_off_telemetry() -> None:
    """Set the variables unconditionally: a stray shell value must not turn telemetry on."""
    os.environ.update(TELEMETRY_OFF)


def is_loopback(url: str | None) -> bool:
    """True for a server on this machine (Ollama, llama.cpp, vLLM, a speech server on localhost)."""
    import ipaddress
    from urllib.parse import urlparse

    host = urlparse(url).hostname if url else None
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


switch_off_telemetry()
