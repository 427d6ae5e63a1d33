"""The CLI contract from DESIGN.md, through the real engines (loaded once per session)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from assistant.cli import main
from tests.conftest import JFK, JFK_TEXT


def run(*args: str, input: str | None = None) -> Any:
    result = CliRunner().invoke(main, list(args), input=input, catch_exceptions=False)
    return result


def words(text: str) -> list[str]:
    return [w.strip(",.").lower() for w in text.split()]


def test_when_transcribing_jfk_then_json_has_the_contract_and_the_sentence(services: Any) -> None:
    result = run("transcribe", "--json", str(JFK))
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data) >= {"text", "duration", "language", "model", "segments"}
    assert words(data["text"]) == words(JFK_TEXT)
    assert data["language"] == "en"
    assert data["model"] == "whisper-base"
    assert 10.5 < data["duration"] < 11.5
    for seg in data["segments"]:
        assert set(seg) >= {"id", "start", "end", "text", "speaker"}
        assert 0 <= seg["start"] < seg["end"] <= data["duration"] + 0.5


def test_when_redacting_the_readme_example_then_name_nhs_and_postcode_are_reported(services: Any) -> None:
    text = "Margaret Ellis, NHS number 943 476 5919, lives at CO4 3SQ"
    result = run("redact", "--json", "-", input=text)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    spans = {e["type"]: text[e["start"] : e["end"]] for e in data["entities"]}
    assert spans.get("PERSON") == "Margaret Ellis"
    assert spans.get("NHS_NUMBER") == "943 476 5919"
    assert spans.get("POSTCODE") == "CO4 3SQ"
    assert "Margaret" not in data["text"] and "5919" not in data["text"] and "CO4" not in data["text"]
    assert set(data) == {"text", "entities"}  # the re-identification map never leaves the store


def test_when_the_input_has_windows_line_ends_then_offsets_still_point_into_it(services: Any, tmp_path: Path) -> None:
    text = "OT: Who is this?\r\nClient: Margaret Ellis, NHS number 943 476 5919.\r\n"
    path = tmp_path / "crlf.txt"
    path.write_bytes(text.encode())
    for source, given in ((str(path), None), ("-", text)):
        result = run("redact", "--json", source, input=given)
        assert result.exit_code == 0, result.output
        spans = {e["type"]: text[e["start"] : e["end"]] for e in json.loads(result.stdout)["entities"]}
        assert spans.get("PERSON") == "Margaret Ellis" and spans.get("NHS_NUMBER") == "943 476 5919", source


def test_when_ui_is_asked_for_json_then_it_prints_the_url_before_the_app_starts(
    services: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[list[str]] = []
    monkeypatch.setattr("os.execvp", lambda _file, argv: started.append(argv))
    result = run("ui", "--json", "--port", "8600")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout.splitlines()[-1]) == {"url": "http://127.0.0.1:8600"}
    (argv,) = started
    assert (
        argv[argv.index("--server.port") + 1] == "8600"
        and argv[argv.index("--browser.gatherUsageStats") + 1] == "false"
    )


SHORT_TRANSCRIPT = """\
OT: Hello, I'm Sam, the occupational therapist from the Reconnect service.
Client: My GP referred me after my stroke in March.
Client: I live with my daughter in a bungalow in Colchester.
Client: I'd love to swim again, maybe twice a week with my daughter.
Client: Getting in and out of the pool is the problem, I can't manage the steps.
Carer: She gets very tired in the afternoons and her confidence has gone.
"""


def test_when_drafting_a_short_transcript_then_sections_and_goals_carry_verified_quotes(
    services: Any, tmp_path: Path
) -> None:
    path = tmp_path / "visit.txt"
    path.write_text(SHORT_TRANSCRIPT)
    result = run("draft", "--json", str(path))
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    lines = [line.split(":", 1)[1].strip() for line in SHORT_TRANSCRIPT.splitlines()]
    drafted = [s for s in data["sections"] if s["status"] == "drafted" and s["id"] != "goals"]
    assert drafted, "no section was drafted"
    for section in drafted:
        assert section["evidence"], section["id"]
        for ev in section["evidence"]:
            assert ev["verified"] and ev["quote"] in lines[ev["segment"]]
    assert [g["activity"] for g in data["goals"]] == ["Swimming"]
    goal = data["goals"][0]
    assert goal["measure"] == "twice a week" and goal["support"] == "with my daughter"
    assert "[to agree]" in goal["timeframe"]
    assert goal["evidence"][0]["segment"] == 3
    assert {s["id"]: s["text"] for s in data["sections"]}["personal_care"] == "Not discussed"


def test_when_ingesting_the_oruk_example_then_a_question_about_it_returns_its_id(
    services: Any, shared_data: Path
) -> None:
    result = run("kb", "ingest", "--json", str(shared_data / "oruk" / "service_list.json"))
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["rejected"] == 0 and report["imported"] + report["updated"] == 1
    answer = json.loads(run("ask", "--json", "counselling for anxiety or depression").stdout)
    assert answer["results"][0]["id"] == "ac148810-d857-441c-9679-408f346de14b"


def test_when_asking_a_batch_then_one_json_document_per_line(services: Any, tmp_path: Path, shared_data: Path) -> None:
    run("kb", "ingest", "--json", str(shared_data / "oruk" / "service_list.json"))
    batch = tmp_path / "questions.txt"
    batch.write_text("counselling for anxiety\n\ngoalball in Maldon on Sunday\n")
    result = run("ask", "--json", "--batch", str(batch))
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(lines) == 2
    assert lines[0]["results"] and lines[1]["results"] == []
    assert "Nothing suitable" in lines[1]["answer"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["transcribe", "/no/such/file.wav"], "no such file"),
        (["redact", "/no/such/file.txt"], "no such file"),
        (["draft", "--template", "nope", "-"], "no template 'nope'"),
        (["kb", "ingest", "/no/such/feed.json"], "no such file"),
        (["ask", ""], "give a question"),
    ],
)
def test_when_input_is_bad_then_one_line_and_nonzero_exit(args: list[str], message: str, services: Any) -> None:
    result = CliRunner().invoke(main, args, input="OT: hello there how are you today\n")
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert result.stderr.startswith("error: ") and message in result.stderr
    assert result.stderr.count("\n") == 1


@pytest.mark.parametrize("k", ["0", "-3"])
def test_when_asked_for_no_results_or_fewer_then_refused_as_usage(k: str) -> None:
    result = CliRunner().invoke(main, ["ask", "--k", k, "swimming"])
    assert result.exit_code == 2 and f"{k} is not in the range x>=1" in result.stderr


def test_when_audio_is_not_audio_then_clear_error(services: Any, tmp_path: Path) -> None:
    fake = tmp_path / "notes.wav"
    fake.write_text("this is a text file pretending to be audio")
    result = CliRunner().invoke(main, ["transcribe", str(fake)])
    assert result.exit_code == 1
    assert "can be read" in result.stderr and "notes.wav" in result.stderr


def test_when_a_feed_is_malformed_then_clear_error(services: Any, tmp_path: Path) -> None:
    feed = tmp_path / "broken.json"
    feed.write_text('{"contents": [ {"id": ')
    result = CliRunner().invoke(main, ["kb", "ingest", str(feed)])
    assert result.exit_code == 1 and "not valid JSON" in result.stderr


def test_when_an_import_is_interrupted_then_it_says_what_was_written_and_how_to_finish(
    services: Any, shared_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = shared_data / "oruk" / "service_list.json"
    second = shared_data / "openactive" / "sessionseries_example_1.json"
    real_upsert = services.index.upsert
    calls: list[int] = []

    def upsert_then_ctrl_c(activities: Any, *args: Any, **kwargs: Any) -> None:
        calls.append(len(activities))
        if len(calls) == 2:
            raise KeyboardInterrupt
        real_upsert(activities, *args, **kwargs)

    monkeypatch.setattr(services.index, "upsert", upsert_then_ctrl_c)
    result = CliRunner().invoke(main, ["kb", "ingest", str(first), str(second)])
    assert result.exit_code == 130
    assert "interrupted while writing sessionseries_example_1.json (1 of 2 files written before it)" in result.stderr
    assert "nothing was saved" not in result.stderr and "Run the same import again" in result.stderr
    assert "ac148810-d857-441c-9679-408f346de14b" in services.index.ids()  # the first file stayed written
