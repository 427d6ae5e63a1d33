"""Templates are versioned data with a validating loader."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.errors import TemplateError
from assistant.templates import all_templates, load_template, load_template_file, template_paths


def test_when_loading_then_every_template_in_prompts_is_valid() -> None:
    ids = {t.id for t in all_templates().values()}
    assert {"ot_initial_assessment", "care_plan_entry", "supporting_letter", "soap_note"} <= ids
    assert len(template_paths()) >= 4


def test_when_the_ot_template_loads_then_it_has_the_sections_ots_expect() -> None:
    template = load_template("ot_initial_assessment")
    ids = [s.id for s in template.sections]
    for needed in (
        "client_details",
        "referral",
        "history",
        "occupational_profile",
        "what_matters",
        "personal_care",
        "mobility_transfers",
        "meals_domestic",
        "community_access",
        "communication",
        "cognition_mood",
        "environment",
        "risk",
        "analysis",
        "goals",
        "plan",
        "baselines",
    ):
        assert needed in ids
    assert {s.id: s.drafted_by for s in template.sections}["analysis"] == "ot"


def test_when_a_prompt_variable_is_missing_then_it_is_an_error_not_an_empty_string() -> None:
    template = load_template("ot_initial_assessment")
    with pytest.raises(TemplateError, match="sections"):
        template.prompt.render(transcript="[0] OT: hello")


def test_when_a_version_is_named_then_that_version_loads() -> None:
    assert load_template("soap_note@1").version == "1"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            "id: x\nversion: '1'\ntitle: X\nsections: []\nprompt: {system: s, user: '{transcript}'}\n",
            "must use",
        ),
        (
            "id: x\nversion: '1'\ntitle: X\n"
            "sections: [{id: a, title: A, description: d}, {id: a, title: B, description: d}]\n"
            "prompt: {system: s, user: '{transcript} {sections}'}\n",
            "unique",
        ),
        (
            "id: x\nversion: '1'\ntitle: X\nsurprise: 1\nsections: []\n"
            "prompt: {system: s, user: '{transcript} {sections}'}\n",
            "surprise",
        ),
        ("id: [unclosed\n", "cannot read"),
    ],
)
def test_when_a_template_is_malformed_then_the_error_names_the_file_and_problem(
    tmp_path: Path, body: str, message: str
) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text(body)
    with pytest.raises(TemplateError, match=message) as caught:
        load_template_file(path)
    assert "broken.yaml" in str(caught.value)
