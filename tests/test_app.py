"""The app headless through Streamlit's AppTest, on the real services."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from assistant.accounts import add_user

APP = str(Path(__file__).resolve().parents[1] / "ui" / "app.py")


@pytest.fixture
def app(services: Any) -> AppTest:
    if services.store.user("sam") is None:
        add_user(services.store, "sam", "correct horse battery", "ot", "Sam Taylor")
    return AppTest.from_file(APP, default_timeout=120)


def sign_in(at: AppTest, username: str, password: str) -> AppTest:
    at.run()
    at.text_input[0].input(username)
    at.text_input[1].input(password)
    at.button[0].click()
    return at.run()


def test_when_the_app_opens_then_the_sign_in_page_shows(app: AppTest) -> None:
    app.run()
    assert not app.exception
    assert app.title[0].value == "Reconnect Assistant"
    assert [t.label for t in app.text_input] == ["Username", "Password"]


def test_when_the_password_is_wrong_then_no_sign_in(app: AppTest) -> None:
    sign_in(app, "sam", "wrong password!")
    assert app.error and "do not match" in app.error[0].value
    assert "user" not in app.session_state


def test_when_an_ot_signs_in_then_the_assessment_workspace_shows(app: AppTest) -> None:
    sign_in(app, "sam", "correct horse battery")
    assert not app.exception
    assert app.session_state["user"]["role"] == "ot"
    assert any(h.value == "Assessments" for h in app.header)
