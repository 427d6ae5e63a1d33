"""The CLI contract from DESIGN.md, through the real engines (loaded once per session)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from assistant.cli import main
from assistant.settings import Settings
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
    happened: list[Any] = []
    monkeypatch.setattr("os.execvp", lambda _file, argv: (started.append(argv), happened.append("exec")))
    monkeypatch.setattr("os.dup2", lambda fd, fd2: happened.append((fd, fd2)))
    result = run("ui", "--json", "--port", "8600")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"url": "http://127.0.0.1:8600"} and result.stdout.count("\n") == 1
    # the app replaces this process: its banner would follow the JSON on stdout, so stdout becomes stderr first
    assert happened == [(2, 1), "exec"]
    assert run("ui", "--port", "8601").exit_code == 0 and happened[2:] == ["exec"]  # without --json, left alone
    (argv, _) = started
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


def transcript_json(tmp_path: Path, *segments: dict[str, Any]) -> Path:
    path = tmp_path / "transcript.json"
    path.write_text(json.dumps({"segments": list(segments)}))
    return path


def segment(n: int, speaker: str, text: str) -> dict[str, Any]:
    return {"id": n, "start": float(n), "end": n + 1.0, "text": text, "speaker": speaker}


@pytest.mark.parametrize(
    ("segments", "message"),
    [
        (
            [segment(0, "OT", "How are you?"), segment(1, "client", "Fine."), segment(2, "Nurse", "She is well.")],
            "segment 3: speaker 'Nurse' is not one of OT, client, other, unknown",
        ),
        ([{"id": 0, "start": 0.0, "text": "Hello", "speaker": "OT"}], "segment 1: 'end' is missing"),
        ([{**segment(0, "OT", "Hello"), "start": "soon"}], "segment 1: start 'soon'"),
        ([{**segment(0, "OT", "Hello"), "mood": "calm"}], "segment 1: 'mood' is not a field of a transcript"),
        (["just a string"], "segment 1 is not an object"),
    ],
)
def test_when_transcript_json_is_invalid_then_one_line_names_the_segment_and_the_problem(
    services: Any, tmp_path: Path, segments: list[Any], message: str
) -> None:
    result = run("draft", "--json", str(transcript_json(tmp_path, *segments)))
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith("error: ") and message in result.stderr, result.stderr
    assert result.stderr.count("\n") == 1 and "ValidationError" not in result.stderr and result.stdout == ""


def test_when_transcript_json_labels_speakers_in_any_case_then_they_are_read(services: Any, tmp_path: Path) -> None:
    path = transcript_json(
        tmp_path,
        segment(0, "OT", "What would you like to get back to?"),
        segment(1, "Client", "I'd love to swim again, maybe twice a week with my daughter."),
        segment(2, "CARER", "She gets very tired in the afternoons."),
    )
    result = run("draft", "--json", str(path))
    assert result.exit_code == 0, result.output
    assert [g["activity"] for g in json.loads(result.stdout)["goals"]] == ["Swimming"]
    from assistant.records import Segment

    assert [Segment(**segment(0, label, "x")).speaker for label in ("ot", "Client", " other ", "Patient")] == [
        "OT",
        "client",
        "other",
        "client",
    ]


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
    batch.write_text("counselling for anxiety\n\ngoalball in Maldon on Sunday\n   \n")
    result = run("ask", "--json", "--batch", str(batch))
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(lines) == 4  # line N of the output answers line N of the file, blank lines too
    assert [d["question"] for d in lines] == ["counselling for anxiety", "", "goalball in Maldon on Sunday", "   "]
    assert lines[0]["results"] and lines[2]["results"] == []
    assert "Nothing suitable" in lines[2]["answer"]
    for blank in (lines[1], lines[3]):
        assert blank["results"] == [] and "no question" in blank["answer"]
    single = json.loads(run("ask", "--json", "counselling for anxiety").stdout)
    assert single["question"] == "counselling for anxiety" and single["results"]


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
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1  # one line, not Click's three
    assert "ask --help" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nosuch"], "No such command 'nosuch'"),
        (["--bogus"], "No such option '--bogus'"),
        (["users", "add", "--role", "ot"], "Missing argument 'USERNAME'"),
        (["users", "add", "", "--role", "ot", "--password", "long enough password"], "cannot be blank"),
        (["users", "add", "   ", "--role", "ot", "--password", "long enough password"], "cannot be blank"),
        (["users", "add", " sam", "--role", "ot", "--password", "long enough password"], "spaces at its start"),
    ],
)
def test_when_a_command_is_misused_then_one_line_and_clicks_exit_code(args: list[str], message: str) -> None:
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error: ") and message in result.stderr and result.stderr.count("\n") == 1


def test_when_a_bare_group_is_run_then_its_help_is_still_shown() -> None:
    result = CliRunner().invoke(main, ["kb"])
    assert "ingest" in result.output and "stats" in result.output


def test_when_a_blank_username_reaches_the_accounts_then_it_is_refused(services: Any) -> None:
    from assistant.accounts import add_user
    from assistant.errors import BadInput

    for name in ("", "   ", "\t"):
        with pytest.raises(BadInput, match="cannot be blank"):
            add_user(services.store, name, "long enough password", "ot")
    assert services.store.user("") is None and services.store.user("   ") is None


def test_when_a_question_and_a_batch_are_both_given_then_refused(tmp_path: Path) -> None:
    batch = tmp_path / "questions.txt"
    batch.write_text("walking football in Chelmsford\n")
    result = CliRunner().invoke(main, ["ask", "tai chi", "--batch", str(batch)])
    assert result.exit_code == 2 and "not both" in result.stderr and result.stderr.count("\n") == 1
    assert result.stdout == ""


def test_when_a_file_is_a_folder_or_not_utf8_then_one_friendly_line(services: Any, tmp_path: Path) -> None:
    latin1 = tmp_path / "questions.txt"
    latin1.write_bytes("caf\xe9 singing in Colchester\n".encode("latin-1"))
    cases = [
        (["ask", "--batch", str(latin1)], "not UTF-8"),
        (["ask", "--batch", str(tmp_path)], "is a folder"),
        (["redact", "--json", str(tmp_path)], "is a folder"),
        (["draft", "--json", str(tmp_path)], "is a folder"),
        (["ask", "--batch", str(tmp_path / "none.txt")], "no such file"),
    ]
    for args, message in cases:
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 1, (args, result.output)
        assert result.stderr.startswith("error: ") and message in result.stderr, (args, result.stderr)
        assert result.stderr.count("\n") == 1 and "unexpected" not in result.stderr, args


def test_when_the_directory_is_empty_then_ask_says_so_and_how_to_fill_it(
    services: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import assistant.services as services_module

    empty = services_module.Services(Settings(home=tmp_path / "fresh", whisper_threads=2))
    monkeypatch.setattr(services_module, "_services", empty)
    result = CliRunner().invoke(main, ["ask", "--json", "swimming in Colchester"])
    assert result.exit_code == 1 and result.stdout == ""
    assert "directory is empty" in result.stderr and "reconnect kb init" in result.stderr
    assert "reconnect kb ingest" in result.stderr and result.stderr.count("\n") == 1
    from assistant.signposting import Signposter

    answer, _ = Signposter(empty.index).ask("swimming in Colchester")  # the app's answer says so too
    assert answer.results == [] and "directory is empty" in answer.answer and "Nothing suitable" not in answer.answer


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


def test_when_two_feeds_share_a_record_id_then_results_name_their_feed_and_times_have_no_none(
    services: Any, tmp_path: Path
) -> None:
    header = "id,name,activity,venue,town,days,start_time,end_time,cost\n"
    (tmp_path / "hall.csv").write_text(header + "1,Boccia at the Hall,Boccia,Hall,Halstead,Tuesday,10:00,,2\n")
    (tmp_path / "church.csv").write_text(
        header + "1,Boccia at the Church,Boccia,Church,Halstead,Tuesday,14:00,15:00,2\n"
    )
    result = run("kb", "ingest", "--json", str(tmp_path / "hall.csv"), str(tmp_path / "church.csv"))
    assert result.exit_code == 0 and json.loads(result.stdout)["imported"] == 2, result.output
    answer = json.loads(run("ask", "--json", "boccia in Halstead on Tuesday").stdout)
    by_name = {r["name"]: r for r in answer["results"]}
    hall, church = by_name["Boccia at the Hall"], by_name["Boccia at the Church"]
    assert hall["id"] == church["id"] == "1"  # the contract's id: the source record's own
    assert (hall["source"], church["source"]) == ("csv:hall.csv", "csv:church.csv")
    assert hall["directory_id"] != church["directory_id"]
    assert hall["times"] == "10:00" and church["times"] == "14:00-15:00"


def test_when_a_price_limit_is_asked_then_no_result_costs_more(services: Any, tmp_path: Path) -> None:
    header = "id,name,activity,venue,town,days,start_time,end_time,cost,carer_cost\n"
    rows = [
        "cheap,Walking Netball Cheap,Walking Netball,Hall,Saffron Walden,Monday,10:00,11:00,2.50,5",
        "three,Walking Netball Three,Walking Netball,Hall,Saffron Walden,Monday,12:00,13:00,3,",
        "dear,Walking Netball Dear,Walking Netball,Hall,Saffron Walden,Monday,14:00,15:00,4.50,",
        "free,Walking Netball Free,Walking Netball,Hall,Saffron Walden,Monday,16:00,17:00,free,",
        "unpriced,Walking Netball Unpriced,Walking Netball,Hall,Saffron Walden,Monday,18:00,19:00,,",
    ]
    (tmp_path / "netball.csv").write_text(header + "\n".join(rows) + "\n")
    assert run("kb", "ingest", "--json", str(tmp_path / "netball.csv")).exit_code == 0

    def names(question: str) -> tuple[set[str], str]:
        answer = json.loads(run("ask", "--json", "--k", "10", question).stdout)
        # only this feed's records: the session's index holds other tests' records too
        ours = [r for r in answer["results"] if r["source"].endswith("netball.csv")]
        return {r["name"].removeprefix("Walking Netball ") for r in ours}, answer["answer"]

    assert names("walking netball in Saffron Walden")[0] == {"Cheap", "Three", "Dear", "Free", "Unpriced"}
    for question, expected in [
        ("walking netball in Saffron Walden under £3", {"Cheap", "Free"}),  # a carer's price is not hers
        ("walking netball in Saffron Walden for less than 3 pounds", {"Cheap", "Free"}),
        ("walking netball in Saffron Walden cheaper than £3", {"Cheap", "Free"}),
        ("walking netball in Saffron Walden, no more than £3", {"Cheap", "Three", "Free"}),
        ("walking netball in Saffron Walden up to £5", {"Cheap", "Three", "Dear", "Free"}),
    ]:
        found, said = names(question)
        assert found == expected, (question, said)  # a record with no price is not known to be under it
        assert "meet what you asked" in said or "meets what you asked" in said
    assert names("walking netball in Saffron Walden under £2")[0] == {"Free"}
    assert names("walking netball in Saffron Walden, 50p or less")[0] == {"Free"}
    found, said = names("walking netball in Saffron Walden, not too expensive")
    assert "couldn't read 'not too expensive'" in said and "only the part I could read" in said


def test_when_a_feed_has_skipped_records_then_the_summary_does_not_call_them_all_not_activities(
    services: Any, shared_data: Path
) -> None:
    ended = shared_data / "openactive" / "sessionseries_example_1.json"
    result = run("kb", "ingest", str(ended))
    assert result.exit_code == 0, result.output
    assert "skipped 1" in result.stdout and "(not activities)" not in result.stdout


def test_when_an_oruk_csv_is_missing_then_the_error_names_the_path_given(services: Any, tmp_path: Path) -> None:
    plain = tmp_path / "plain.csv"
    plain.write_text("id,name\n1,Boccia\n")
    result = CliRunner().invoke(main, ["kb", "ingest", str(plain), "--format", "oruk"])
    assert result.exit_code == 1 and result.stderr.count("\n") == 1
    assert str(plain) in result.stderr and "no services.csv" in result.stderr


def test_when_stats_are_asked_without_json_then_they_read_as_a_summary(services: Any, shared_data: Path) -> None:
    run("kb", "ingest", str(shared_data / "oruk" / "service_list.json"))
    plain = run("kb", "stats")
    assert plain.exit_code == 0, plain.output
    assert not plain.stdout.lstrip().startswith("{")
    data = json.loads(run("kb", "stats", "--json").stdout)
    assert plain.stdout.startswith(f"{data['activities']} activities")
    assert "towns: " in plain.stdout and "imports (" in plain.stdout and "service_list.json" in plain.stdout


def test_when_help_is_asked_then_commands_options_templates_and_suites_are_named() -> None:
    from assistant.templates import all_templates

    top = CliRunner().invoke(main, ["--help"]).output
    ask_line = next(line for line in top.splitlines() if line.strip().startswith("ask "))
    assert not ask_line.rstrip().endswith("e.g."), ask_line
    assert "--batch" in CliRunner().invoke(main, ["ask", "--help"]).output
    ask_help = " ".join(CliRunner().invoke(main, ["ask", "--help"]).output.split())
    assert "one JSON document per line" in ask_help
    draft_help = " ".join(CliRunner().invoke(main, ["draft", "--help"]).output.split())
    for template in {t.id for t in all_templates().values()}:
        assert template in draft_help, template
    eval_help = " ".join(CliRunner().invoke(main, ["eval", "run", "--help"]).output.split())
    assert "evals/signposting.yaml" in eval_help and "evals/golden.yaml" in eval_help
    ingest_help = " ".join(CliRunner().invoke(main, ["kb", "ingest", "--help"]).output.split())
    assert "Open Referral UK" in ingest_help and "OpenActive" in ingest_help
    for command in (["ask"], ["draft"], ["redact"], ["transcribe"], ["kb", "ingest"], ["kb", "stats"], ["eval", "run"]):
        text = " ".join(CliRunner().invoke(main, [*command, "--help"]).output.split())
        assert "--json Print one JSON document" in text or "--json Print the" in text, command


def test_when_redaction_meets_a_spacy_label_presidio_does_not_map_then_no_warning(
    services: Any, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    import assistant.evaluation  # noqa: F401  (the eval runner quiets the known noise)

    with caplog.at_level(logging.WARNING):
        services.redact("She swims three times a week, first thing on Tuesdays, and speaks English.")
        logging.getLogger("presidio-analyzer").warning("something else presidio says")
    said = [r.getMessage() for r in caplog.records if r.name == "presidio-analyzer"]
    assert not [m for m in said if "is not mapped to a Presidio entity" in m], said
    assert "something else presidio says" in said  # only the known noise is quieted


def test_when_a_feed_has_skipped_records_then_the_json_gives_each_reason(services: Any, shared_data: Path) -> None:
    ended = shared_data / "openactive" / "sessionseries_example_1.json"
    place = shared_data / "openactive" / "place_example_1.json"
    result = run("kb", "ingest", "--json", str(ended), str(place))
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["skipped"] == 2
    reasons = {x["file"]: x["reason"] for x in report["skipped_reasons"]}
    assert reasons["sessionseries_example_1.json"].startswith("ended")
    assert reasons["place_example_1.json"] == "a Place, not an activity"
    assert "skipped 2 (1 ended, 1 not an activity)" in run("kb", "ingest", str(ended), str(place)).stdout
