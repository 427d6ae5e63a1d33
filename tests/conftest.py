"""Shared fixtures: no network, a temporary data directory, real engines loaded once per session."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import assistant  # noqa: F401  (telemetry off first)
from assistant.settings import Settings

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
JFK = SHARED / "audio" / "jfk.flac"
JFK_TEXT = "And so my fellow Americans, ask not what your country can do for you, ask what you can do for your country."

_real_connect = socket.socket.connect


def _loopback_only(self: socket.socket, address: Any) -> Any:
    host = address[0] if isinstance(address, tuple) else None
    if host is not None and self.family in (socket.AF_INET, socket.AF_INET6):
        try:
            loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            raise OSError(f"tests may not use the network (tried {host})")
    return _real_connect(self, address)


@pytest.fixture(autouse=True, scope="session")
def no_network() -> Iterator[None]:
    """Any connection off this machine fails the test that makes it."""
    socket.socket.connect = _loopback_only  # type: ignore[method-assign]
    yield
    socket.socket.connect = _real_connect  # type: ignore[method-assign]


@pytest.fixture
def proxy_off_machine(monkeypatch: pytest.MonkeyPatch) -> str:
    """Every proxy variable names a proxy off this machine (which no_network refuses), and none is bypassed."""
    proxy = "http://proxy.example.org:3128"
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.setenv(name, proxy)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    return proxy


@pytest.fixture(autouse=True)
def reconnect_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test gets its own data directory; nothing touches the user's home."""
    home = tmp_path / "home"
    monkeypatch.setenv("RECONNECT_HOME", str(home))
    monkeypatch.delenv("RECONNECT_PROVIDER", raising=False)
    from assistant.settings import get_settings

    get_settings.cache_clear()
    return home


@pytest.fixture(scope="module")
def isolated_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A data directory for module-scoped fixtures (the per-test one does not reach them)."""
    from assistant.settings import get_settings

    home = tmp_path_factory.mktemp("module-home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RECONNECT_HOME", str(home))
        patch.delenv("RECONNECT_PROVIDER", raising=False)
        get_settings.cache_clear()
        yield home
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def session_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("session-home")


@pytest.fixture(scope="session")
def settings(session_home: Path) -> Settings:
    return Settings(home=session_home, whisper_threads=2)


@pytest.fixture(scope="session")
def services(settings: Settings) -> Any:
    """The real services (Whisper base, Presidio + spaCy, MiniLM, Chroma, SQLite), built once."""
    import assistant.services as services_module

    svc = services_module.Services(settings)
    services_module._services = svc  # the CLI in these tests uses the same engines
    return svc


@pytest.fixture(scope="session")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Whisper tiny.en on this machine, loaded once (the transcription tests and the speech server's)."""
    from assistant.transcription import WhisperTranscriber

    home = tmp_path_factory.mktemp("home")
    return WhisperTranscriber(Settings(home=home, whisper_threads=2, whisper_model="tiny.en"))


@pytest.fixture(scope="session")
def embedder() -> Any:
    from assistant.embedding import shared_embedder

    return shared_embedder()


@pytest.fixture(scope="session")
def gold_rules() -> Any:
    """The signposting question set's gold rules (evals/data/signposting/derive_gold.py), as a module."""
    import importlib.util
    import sys

    path = Path(__file__).resolve().parents[1] / "evals/data/signposting/derive_gold.py"
    spec = importlib.util.spec_from_file_location("derive_gold", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["derive_gold"] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED.exists():
        pytest.fail(f"{SHARED} is missing: the tests need ../shared beside the checkout")
    return SHARED


# people of every role for the app's tests (tests/test_app.py, tests/test_app_roles.py)
PASSWORD = "correct horse battery"
PEOPLE = {
    "sam": ("ot", "Sam Taylor"),
    "lee": ("supervisor", "Lee Morgan"),
    "cam": ("coordinator", "Cam Patel"),
    "eve": ("evaluator", "Eve Hughes"),
    "ada": ("admin", "Ada Brown"),
}


@pytest.fixture
def people(services: Any) -> Any:
    """The services, with a user of every role (password :data:`PASSWORD`)."""
    from assistant.accounts import add_user

    for username, (role, name) in PEOPLE.items():
        if services.store.user(username) is None:
            add_user(services.store, username, PASSWORD, role, name)
    return services
