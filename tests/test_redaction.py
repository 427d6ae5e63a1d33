"""Redaction with the real Presidio + spaCy engine (loaded once per session through ``services``)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from pydantic import BaseModel

from assistant.cli import main
from assistant.errors import EgressBlocked
from assistant.redaction import PresidioRedactor, Pseudonyms, guard_egress, redact_together
from assistant.services import Services
from assistant.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
PROMPTS = sorted((ROOT / "prompts").glob("*.yaml")) + sorted((ROOT / "prompts" / "candidates").glob("*.yaml"))


@pytest.fixture(scope="module")
def redactor(services: Any) -> PresidioRedactor:
    engine: PresidioRedactor = services.redactor
    return engine


def found(redactor: PresidioRedactor, text: str, known: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    return [(f.type, text[f.start : f.end]) for f in redactor.find(text, known)]


def types_of(redactor: PresidioRedactor, text: str, value: str) -> set[str]:
    """The types of findings that cover ``value`` in ``text``."""
    start = text.index(value)
    end = start + len(value)
    return {f.type for f in redactor.find(text) if f.start < end and f.end > start}


# ── the egress guard ────────────────────────────────────────────────────────


def test_when_a_payload_still_holds_an_nhs_number_then_the_guard_blocks_it(redactor: PresidioRedactor) -> None:
    with pytest.raises(EgressBlocked) as blocked:
        guard_egress(redactor, "Summarise: [PERSON_1] has NHS number 943 476 5919 and likes swimming.")
    assert "NHS_NUMBER" in str(blocked.value)
    assert "943" not in str(blocked.value)  # the message names types, never values


def test_when_the_payload_is_redacted_then_the_guard_lets_it_through(redactor: PresidioRedactor) -> None:
    text = "Margaret Ellis, NHS number 943 476 5919, swims at Riverside Leisure Centre on Tuesdays."
    redacted = redactor.redact(text, known=("Margaret Ellis",)).text
    guard_egress(redactor, redacted, known=("Margaret Ellis",))  # no exception


def test_when_the_prompt_guard_test_is_collected_then_it_has_prompts_to_check() -> None:
    """The next test is parametrised over the prompt files; none found would make it pass by not running."""
    assert len(PROMPTS) >= 2
    assert any(p.parent.name == "candidates" for p in PROMPTS)


@pytest.mark.parametrize("path", PROMPTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_when_a_template_prompt_is_sent_then_its_own_words_pass_the_guard(
    redactor: PresidioRedactor, path: Path
) -> None:
    """Our own prompt text must never trip the guard, or every remote draft would be blocked.

    (A citation, "Bovend'Eerdt et al. 2009", once read as a street address.)
    """
    from assistant.templates import load_template_file

    template = load_template_file(path)
    values = {name: "[PERSON_1] said she would like to swim again." for name in template.prompt.variables()}
    system, user = template.prompt.render(**values)
    guard_egress(redactor, system + "\n" + user)  # no exception


def test_when_a_payload_cites_a_paper_then_it_is_not_an_address(redactor: PresidioRedactor) -> None:
    guard_egress(redactor, "Write goals as in Bovend'Eerdt et al. 2009 and Locke and Latham 2002.")


def test_when_the_chat_model_is_given_an_nhs_number_then_the_call_is_blocked_and_audited(
    services: Any, tmp_path: Path
) -> None:
    fake = Services(Settings(home=tmp_path, provider="fake"))
    fake._engines["redactor"] = services.redactor  # the session's engine, not a second load

    class Reply(BaseModel):
        text: str

    chat = fake.chat_model(known=("Margaret Ellis",))
    chat.enqueue({"text": "ok"})
    with pytest.raises(EgressBlocked):
        chat.structured("Write a note.", "Mrs Ellis, NHS 943 476 5919, wants to swim.", Reply)
    assert chat.history == []  # nothing reached the model
    events = [e for e in fake.store.audit_events() if e["action"] == "egress_blocked"]
    assert len(events) == 1
    assert "5919" not in json.dumps(events[0], default=str)
    # a redacted payload goes through the same guard
    assert chat.structured("Write a note.", "[PERSON_1] wants to swim on Tuesdays.", Reply).text == "ok"


# ── pseudonyms and known identifiers ────────────────────────────────────────


def test_when_one_person_is_mentioned_many_ways_then_they_get_one_placeholder(redactor: PresidioRedactor) -> None:
    text = (
        "Margaret Ellis moved into the home in June. Margaret likes singing. "
        "Mrs Ellis takes donepezil. Margret's daughter Julie visits on Sundays."
    )
    result = redactor.redact(text, known=("Margaret Ellis", "Julie Ward"))
    assert "Margaret" not in result.text and "Margret" not in result.text and "Ellis" not in result.text
    assert "Julie" not in result.text
    people = {text[f.start : f.end]: f.placeholder for f in result.entities if f.type == "PERSON"}
    assert people["Margaret Ellis"] == people["Margaret"] == people["Mrs Ellis"] == people["Margret"]
    assert people["Julie"] != people["Margaret"]
    assert result.text.count(people["Margaret"]) == 4
    assert "donepezil" in result.text and "singing" in result.text and "Sundays" in result.text


def test_when_names_are_also_words_then_only_the_names_go(redactor: PresidioRedactor) -> None:
    text = "Hope's at the shops. I hope the pool is quiet. My husband Will will drive. Sharon moved to Derby."
    result = redactor.redact(text, known=("Dennis Pryce", "Hope Pryce"))
    assert "Hope" not in result.text and "Will will" not in result.text
    assert "I hope the pool" in result.text and " will drive" in result.text
    assert "Derby" in result.text  # a place, not the person


def test_when_a_known_identifier_appears_in_any_form_then_it_is_always_redacted(redactor: PresidioRedactor) -> None:
    known = ("Graham Derby", "Flat 3, 41 Southernhay, Basildon, SS14 1EL", "22/09/1961", "455 386 8407")
    text = (
        "Hello, is that Mister Derby? Yeah, Graham. You're at Flat 3, 41 Southernhay? "
        "My birthday is the twenty second of September. NHS four five five three eight six eight four oh seven. "
        "Yes, I still go to the market in Basildon."
    )
    result = redactor.redact(text, known=known)
    for value in ("Derby", "Graham", "Southernhay", "twenty second of September", "four five five"):
        assert value not in result.text, value
    assert "market in Basildon" in result.text  # the town on its own stays for signposting


def test_when_an_approved_note_is_reidentified_then_the_originals_come_back(
    redactor: PresidioRedactor, services: Any
) -> None:
    pseudonyms = Pseudonyms()
    redacted = redactor.redact(
        "Grace Hill's mobile is 07700 900246. Grace would like chair yoga in Braintree.",
        known=("Grace Hill",),
        pseudonyms=pseudonyms,
    )
    assert "Grace" not in redacted.text and "07700" not in redacted.text
    person = next(f.placeholder for f in redacted.entities if f.type == "PERSON")
    phone = next(f.placeholder for f in redacted.entities if f.type == "PHONE")
    note = f"{person} will try chair yoga in Braintree; the OT will text {phone} with the times."
    assessment = services.store.create_assessment("REF-RE-ID", "ot", {"name": "Grace Hill"})
    services.store.save_redaction_map(assessment, redacted.mapping)  # the map lives in the local store only
    restored = Pseudonyms(services.store.redaction_map(assessment)).reidentify(note)
    assert restored == "Grace Hill will try chair yoga in Braintree; the OT will text 07700 900246 with the times."
    assert "mapping" not in redacted.model_dump()  # the map stays local


# ── detection: written and spoken UK forms ──────────────────────────────────


@pytest.mark.parametrize(
    "number",
    ["07700 900123", "+44 7700 900123", "+44 (0)1245 123456", "(01245) 123 456", "01632 960718", "07700-900-123"],
)
def test_when_a_uk_phone_number_is_written_any_way_then_it_is_a_phone(redactor: PresidioRedactor, number: str) -> None:
    text = f"You can ring me on {number} after ten."
    assert ("PHONE", number) in found(redactor, text)
    assert types_of(redactor, text, number) == {"PHONE"}  # not DATE_TIME, not split


@pytest.mark.parametrize(
    ("said", "kind"),
    [
        ("oh seven seven double oh nine hundred two four six", "PHONE"),
        ("zero seven seven zero zero, nine zero zero, five five one", "PHONE"),
        ("plus four four seven seven double oh nine hundred five two eight", "PHONE"),
        ("four eight three, two oh oh, one oh seven eight", "NHS_NUMBER"),
        ("C M two, nine Q F", "POSTCODE"),
        ("C O fifteen, one N D", "POSTCODE"),
        ("S S six, nine A B", "POSTCODE"),
        ("grace dot hill at hotmail dot co dot uk", "EMAIL"),
        ("kofi underscore m at proton dot me", "EMAIL"),
        ("J G one two three four five six C", "NINO"),
        ("A B one two three four five six C", "NINO"),
    ],
)
def test_when_numbers_postcodes_and_emails_are_spoken_then_they_are_found(
    redactor: PresidioRedactor, said: str, kind: str
) -> None:
    text = f"Client: Yes, it's {said}. Thanks."
    assert (kind, said) in found(redactor, text)


@pytest.mark.parametrize(
    ("text", "date"),
    [
        ("My date of birth is 12/03/1957.", "12/03/1957"),
        ("I was born on the ninth of November nineteen fifty.", "ninth of November nineteen fifty"),
        ("DOB 3 June 1949, she said.", "3 June 1949"),
        ("Her birthday? New Year's Day, nineteen forty.", "New Year's Day, nineteen forty"),
        ("The fourth of May 1948, that's my date of birth.", "fourth of May 1948"),
        ("Put down the 2nd of July 1950. It's his birthday.", "2nd of July 1950"),
        ("Twelfth of March fifty one, when she was born.", "Twelfth of March fifty one"),
        ("My date of birth is three eleven fifty four.", "three eleven fifty four"),
    ],
)
def test_when_a_date_of_birth_is_written_or_spoken_then_it_is_found(
    redactor: PresidioRedactor, text: str, date: str
) -> None:
    assert types_of(redactor, text, date) == {"DATE_OF_BIRTH"}
    assert date not in redactor.redact(text).text


def test_when_a_birth_date_is_read_off_a_form_with_spaces_then_the_day_and_month_go_too(
    redactor: PresidioRedactor,
) -> None:
    said = "Date of birth off the form: 03 11 1954."
    assert redactor.redact(said).text == "Date of birth off the form: [DATE_OF_BIRTH_1]."
    assert redactor.redact("DOB 3 11 54, yes.").text == "DOB [DATE_OF_BIRTH_1], yes."


def test_when_a_date_is_not_a_birth_date_then_it_stays(redactor: PresidioRedactor) -> None:
    text = "The stroke was in March and the next class is on the ninth of November."
    assert redactor.redact(text).text == text
    text = "The ninth of November is my appointment, and that's my birthday card on the shelf."
    assert redactor.redact(text).text == text


@pytest.mark.parametrize(
    ("text", "redacted"),
    [
        ("Date of birth? Third of the eleventh, fifty four.", "Date of birth? [DATE_OF_BIRTH_1]."),
        ("My date of birth is the 3rd of the 11th 54.", "My date of birth is the [DATE_OF_BIRTH_1]."),
        ("I was born on the twelfth of the second nineteen forty-eight.", "I was born on the [DATE_OF_BIRTH_1]."),
        ("DOB third of the eleventh fifty four, yes.", "DOB [DATE_OF_BIRTH_1], yes."),
        ("My birthday is the first of the fourth.", "My birthday is the [DATE_OF_BIRTH_1]."),
    ],
)
def test_when_a_birth_date_gives_the_month_as_an_ordinal_then_all_of_it_is_redacted(
    redactor: PresidioRedactor, text: str, redacted: str
) -> None:
    assert redactor.redact(text).text == redacted


@pytest.mark.parametrize(
    "text",
    [
        "The next visit is the third of the eleventh at ten.",  # a date, no birth: dates stay
        "I am fifty four.",
        "For my birthday we played golf and I lost a ball at the eleventh hole.",
        "My date of birth? I'm fifty four now.",
        "Born and bred here. The first of the second lot of tablets made me dizzy.",
    ],
)
def test_when_ordinals_and_ages_are_not_a_birth_date_then_they_stay(redactor: PresidioRedactor, text: str) -> None:
    assert redactor.redact(text).text == text


def test_when_a_known_birth_date_is_said_with_an_ordinal_month_then_it_is_redacted(redactor: PresidioRedactor) -> None:
    text = "Third of the eleventh, fifty four. And the physio is on the ninth of the eleventh."
    result = redactor.redact(text, known=("Mary Dunn", "03/11/1954"))
    assert result.text == "[DATE_OF_BIRTH_1]. And the physio is on the ninth of the eleventh."


def test_when_the_other_speaker_asked_for_the_birth_date_then_the_answer_is_redacted(
    redactor: PresidioRedactor,
) -> None:
    before = "Lovely. Can I just check your date of birth?"
    assert redact_together(redactor, ["Third of the eleventh, fifty four."], before=before) == ["[DATE_OF_BIRTH_1]."]
    assert redact_together(redactor, ["Ninth of November,", "nineteen fifty."], before=before) == [
        "[DATE_OF_BIRTH_1]",
        "[DATE_OF_BIRTH_1].",
    ]
    # without the question the same words are an ordinary date, and a date stays
    assert redact_together(redactor, ["Third of the eleventh, fifty four."]) == ["Third of the eleventh, fifty four."]


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("My wife June drives me to the shops.", "June"),
        ("June picks me up on Tuesdays.", "June"),
        ("Yes, June does the shopping for me.", "June"),
        ("My daughter April rings every day.", "April"),
        ("April comes round on Sundays.", "April"),
        ("My sister May lives nearby.", "May"),
        ("May rings me every evening.", "May"),
        ("Hi June, come in.", "June"),
        ("My name is June Pryce.", "June Pryce"),
    ],
)
def test_when_a_month_is_someones_first_name_then_it_is_redacted(
    redactor: PresidioRedactor, text: str, name: str
) -> None:
    assert types_of(redactor, text, name) == {"PERSON"}
    assert name not in redactor.redact(text).text


@pytest.mark.parametrize(
    "text",
    [
        "The stroke was in May.",
        "May I ask how you're managing the stairs?",
        "You may find the stairs hard at first.",
        "June is a nice month.",
        "On the third of June I have the dentist.",
        "Is it June already? My son's wedding is June the third.",
        "We've booked a week away for mid-April.",
    ],
)
def test_when_a_month_is_a_month_then_it_stays(redactor: PresidioRedactor, text: str) -> None:
    assert redactor.redact(text).text == text


def test_when_a_month_named_person_is_found_then_the_month_in_the_same_text_stays(redactor: PresidioRedactor) -> None:
    text = "My wife June drives me. We go to Clacton in June, and June books the caravan."
    assert redactor.redact(text).text == (
        "My wife [PERSON_1] drives me. We go to Clacton in June, and [PERSON_1] books the caravan."
    )


def test_when_types_compete_then_the_most_specific_wins(redactor: PresidioRedactor) -> None:
    assert types_of(redactor, "Number 943 476 5919 on the letter.", "943 476 5919") == {"NHS_NUMBER"}
    assert types_of(redactor, "Her mobile is 07700 900461.", "07700 900461") == {"PHONE"}
    assert types_of(redactor, "Mum's NHS number is 612 632 1499.", "612 632 1499") == {"NHS_NUMBER"}


def test_when_an_address_is_written_or_spoken_then_the_street_goes_and_the_town_stays(
    redactor: PresidioRedactor,
) -> None:
    text = "And the address is still twenty two Baddow Road, Chelmsford? Or 7 Lexden Grove, Colchester, CO3 4AB."
    result = redactor.redact(text)
    for value in ("twenty two Baddow Road", "7 Lexden Grove", "CO3 4AB"):
        assert value not in result.text, value
    assert "Chelmsford" in result.text and "Colchester" in result.text


def test_when_a_letter_has_a_written_address_block_then_name_street_and_postcode_go(
    redactor: PresidioRedactor,
) -> None:
    text = "Referral for:\nGrace Hill\nFlat 2, Kingsway House\n31 Coggeshall Road\nBraintree\nCM7 9BY\n\nShe has MS."
    result = redactor.redact(text)
    for value in ("Grace Hill", "Flat 2", "Kingsway House", "31 Coggeshall Road", "CM7 9BY"):
        assert value not in result.text, value
    assert "Braintree" in result.text and "She has MS." in result.text
    assert result.text.startswith("Referral for:\n[PERSON_1]\n[ADDRESS_1]\n")  # one name, one address


def test_when_a_known_address_is_said_with_number_words_then_it_is_still_redacted(
    redactor: PresidioRedactor,
) -> None:
    known = ("Faith Okoro", "Flat 2, Kingsway House, 9 Kingsway, Harwich, CO12 3JS")
    text = "Is it flat two, Kingsway House, nine Kingsway? Yes, in Harwich."
    result = redactor.redact(text, known=known)
    assert result.text == "Is it [ADDRESS_1]? Yes, in Harwich."


def test_when_text_is_about_places_conditions_medicines_and_activities_then_nothing_is_redacted(
    redactor: PresidioRedactor,
) -> None:
    text = (
        "She used to swim at Riverside Leisure Centre in Chelmsford every Tuesday and Thursday. "
        "Since the stroke and with her COPD and Parkinson's she takes amlodipine, salbutamol and co-careldopa. "
        "There's walking football at Brentwood Centre on Saturday mornings, tai chi in Hylands Park, "
        "a Singing for the Brain group in Witham and the Pool Pod at Harlow Leisurezone."
    )
    result = redactor.redact(text)
    assert result.entities == [], [text[f.start : f.end] for f in result.entities]
    assert result.text == text


# ── the CLI and the eval entry point ────────────────────────────────────────


def test_when_redact_is_run_with_known_then_the_json_follows_the_contract(services: Any, tmp_path: Path) -> None:
    text = "Hi Rose. Is Derek joining us? We grow roses. Rose's number is 01632 960123."
    path = tmp_path / "visit.txt"
    path.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(main, ["redact", "--json", str(path), "--known", "Rose Whitfield"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data) == {"text", "entities"}
    for entity in data["entities"]:
        assert set(entity) == {"type", "start", "end", "score", "placeholder"}
        assert entity["placeholder"] in data["text"]
    spans = [text[e["start"] : e["end"]] for e in data["entities"]]
    assert spans.count("Rose") == 2 and "Derek" in spans and "01632 960123" in spans
    assert "grow roses" in data["text"] and "Rose" not in data["text"]


def test_when_the_redact_input_is_missing_then_one_line_says_so(services: Any, tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["redact", "--json", str(tmp_path / "nope.txt")])
    assert result.exit_code == 1
    assert "no such file" in result.output and "Traceback" not in result.output


def test_when_the_pii_suite_runs_through_the_api_then_it_reports_checks(tmp_path: Path) -> None:
    from assistant.evaluation import pii

    data = yaml.safe_load((ROOT / "evals" / "data" / "pii" / "uk_ot_transcripts.yaml").read_text(encoding="utf-8"))
    subset = tmp_path / "two.yaml"
    subset.write_text(yaml.safe_dump({"transcripts": data["transcripts"][:2]}), encoding="utf-8")
    suite = tmp_path / "pii.yaml"
    suite.write_text(
        yaml.safe_dump(
            {
                "kind": "pii",
                "datasets": [{"name": "uk-two", "path": "two.yaml", "format": "transcripts"}],
                "thresholds": {"uk_direct_recall": 0.97, "uk_non_personal_redacted_max": 0.03},
            }
        ),
        encoding="utf-8",
    )
    report = pii.run(suite)
    assert set(report.checks) == {"uk-two: direct recall >= 0.97", "uk-two: non-personal redacted <= 0.03"}
    assert report.checks == {"uk-two: direct recall >= 0.97": True, "uk-two: non-personal redacted <= 0.03": True}
    assert report.passed is True
    dumped = json.loads(json.dumps(report.model_dump()))
    assert dumped["passed"] == report.passed
    mine = report.datasets[0].systems[0]
    assert mine.system == "ours+known" and mine.direct_recall is not None and mine.direct_recall >= 0.97
    assert "uk-two" in pii.render(report)

    # a threshold no dataset of the suite can be held to fails the run, whatever the other checks say
    strict = yaml.safe_load(suite.read_text(encoding="utf-8"))
    strict["thresholds"]["synth_recall_gain"] = 0.0
    suite.write_text(yaml.safe_dump(strict), encoding="utf-8")
    failed = pii.run(suite)
    assert [name for name, ok in failed.checks.items() if not ok] == [
        next(name for name in failed.checks if name.startswith("synth_recall_gain: applies to no dataset"))
    ]
    assert failed.passed is False


# ── people across segments, spelled names, relatives sharing a surname ──────


def test_when_a_name_was_found_in_an_earlier_segment_then_later_mentions_are_redacted(
    redactor: PresidioRedactor,
) -> None:
    pseudonyms = Pseudonyms()
    texts = [
        "My son Daniel helps me with the shopping.",
        "Yes.",
        "Daniel comes on Sundays.",
        "and Will, my husband, he's got COPD.",
        "Will does the driving.",
    ]
    out = [redactor.redact(t, known=("Margaret Okafor",), pseudonyms=pseudonyms).text for t in texts]
    daniel = next(tag for tag, name in pseudonyms.mapping.items() if name == "Daniel")
    will = next(tag for tag, name in pseudonyms.mapping.items() if name == "Will")
    assert out[2] == f"{daniel} comes on Sundays."
    assert out[4] == f"{will} does the driving."
    assert out[1] == "Yes." and "COPD" in out[3]


@pytest.mark.parametrize(
    ("text", "known"),
    [
        ("It's Okafor, O K A F O R.", ("Margaret Okafor",)),
        ("Sorry, what was your surname again? Okafor. O-K-A-F-O-R.", ("Margaret Okafor",)),
        ("Sorry, what was your surname again? Okafor. O-K-A-F-O-R.", ()),
        ("Margaret, that's M-A-R-G-A-R-E-T.", ("Margaret Okafor",)),
    ],
)
def test_when_a_name_is_spelled_out_then_the_letters_go_too(
    redactor: PresidioRedactor, text: str, known: tuple[str, ...]
) -> None:
    result = redactor.redact(text, known=known)
    assert not re.search(r"\b[A-Z](?:[ -][A-Z]){2,}\b", result.text), result.text
    assert "Okafor" not in result.text and "Margaret" not in result.text
    assert set(re.findall(r"\[[A-Z_]+_\d+\]", result.text)) == {"[PERSON_1]"}  # the spelling is the same person
    if known:
        with pytest.raises(EgressBlocked, match="PERSON"):
            guard_egress(redactor, "Her surname is O K A F O R, she said.", known)


def test_when_a_relative_shares_the_clients_surname_then_they_get_their_own_placeholder(
    redactor: PresidioRedactor,
) -> None:
    pseudonyms = Pseudonyms()
    texts = ["I'm Margaret Okafor.", "My son Daniel Okafor helps me with the shopping.", "Daniel comes on Sundays."]
    out = [redactor.redact(t, known=("Margaret Okafor",), pseudonyms=pseudonyms).text for t in texts]
    assert pseudonyms.mapping == {"[PERSON_1]": "Margaret Okafor", "[PERSON_2]": "Daniel Okafor"}
    assert out == ["I'm [PERSON_1].", "My son [PERSON_2] helps me with the shopping.", "[PERSON_2] comes on Sundays."]
    # the surname on its own is still the client's
    assert "Okafor" not in redactor.redact("Is that Mrs Okafor?", ("Margaret Okafor",), pseudonyms).text
    assert pseudonyms.reidentify("[PERSON_2] helps [PERSON_1].") == "Daniel Okafor helps Margaret Okafor."


@pytest.mark.parametrize(
    "lines",
    [
        ["[0] OT: Have you got your NHS number handy?", "[1] Client: Yes, it's 943 476", "[2] Client: 5919."],
        ["[0] OT: And your phone?", "[1] Client: 07700", "[2] Client: 900123, that's the mobile."],
        ["[0] OT: And the postcode?", "[1] Client: CO3", "[2] Client: 3NB."],
    ],
)
def test_when_a_number_is_split_across_one_speakers_lines_then_the_guard_still_blocks_it(
    redactor: PresidioRedactor, lines: list[str]
) -> None:
    with pytest.raises(EgressBlocked):
        guard_egress(redactor, "Write the note.\n\nTranscript:\n" + "\n".join(lines))


# ── what is not a name stays ────────────────────────────────────────────────


@pytest.mark.parametrize(
    "text",
    [
        "I I I don't know really.",  # Whisper's stutter
        "I, I, I think so.",
        "She watches the B B C every night.",
        "My C O P D is worse in winter.",
        "I get P I P now, the D W P sorted it.",
        "A T M is round the corner, I use the A T M.",
        "Plan A, B, C didn't work.",
        "The N H S, that's N H S, sent a letter.",
        "She said the B B C had it on. I I I missed it.",
    ],
)
def test_when_letters_are_not_a_name_being_spelled_then_they_stay(redactor: PresidioRedactor, text: str) -> None:
    assert redactor.redact(text, known=("Margaret Okafor",)).text == text


def test_when_people_are_carried_forward_then_only_whole_names_are_matched(redactor: PresidioRedactor) -> None:
    """Earlier segments' guesses ("Parkinson's", "I've", "Bowls Club") are not carried; names match as whole words."""
    pseudonyms = Pseudonyms(
        {"[PERSON_1]": "Sheila", "[PERSON_2]": "Parkinson's", "[PERSON_3]": "I've", "[PERSON_4]": "Bowls Club"}
    )
    text = "She goes to Melbourne Park on Tuesdays. I've seen the bowls club there."
    assert redactor.redact(text, known=("Harold Pegrum",), pseudonyms=pseudonyms).text == text
    # a carried name is still redacted where it is said, possessive included
    assert redactor.redact("Sheila's lift was late.", pseudonyms=pseudonyms).text == "[PERSON_1]'s lift was late."


def test_when_names_are_chosen_to_carry_then_only_people_are_kept() -> None:
    from assistant.redaction import carried_names

    found = ["I've", "Parkinson's", "Bowls Club", "Passenger Assist", "Alright", "Sheila", "Dr Shah", "Jean Pegrum"]
    assert carried_names(found, known=("Harold Pegrum",)) == ["Sheila", "Dr Shah", "Jean Pegrum"]


def test_when_a_greeting_comes_before_the_clients_name_then_it_is_still_the_client(
    redactor: PresidioRedactor,
) -> None:
    pseudonyms = Pseudonyms()
    out = redactor.redact("Alright Darren.", known=("Darren Mitchell",), pseudonyms=pseudonyms).text
    assert out == "Alright [PERSON_1]."
    assert pseudonyms.mapping == {"[PERSON_1]": "Darren Mitchell"}


def test_when_a_known_birth_date_is_said_with_a_halting_year_then_its_day_and_month_are_still_redacted(
    redactor: Any,
) -> None:
    known = ["19/05/1945"]
    text = "Nineteenth of May. Nineteen forty, forty five. Forty five."
    redacted = redactor.redact(text, known=known).text
    assert "May" not in redacted and "Nineteenth" not in redacted, redacted
    guard_egress(redactor, redacted, known)  # and what is left passes the guard


# ── carried names judged word by word, held by the guard; short and answered spellings ──


def test_when_a_found_name_holds_a_thing_word_then_its_name_words_are_still_carried() -> None:
    from assistant.redaction import carried_names

    found = ["Grace Church", "Emma Hall", "Lois Lane", "Jin Park", "Mrs Hall", "Rose Garden", "So Grace", "Passenger"]
    assert carried_names(found) == ["Grace", "Emma", "Lois", "Jin", "Rose"]


def test_when_part_of_a_found_name_comes_up_in_another_segment_then_it_is_redacted(
    redactor: PresidioRedactor,
) -> None:
    pseudonyms = Pseudonyms({"[PERSON_1]": "Grace Church"})
    out = redactor.redact("Lovely, so Grace helps? She goes to church.", ("Margaret Okafor",), pseudonyms).text
    assert out == "Lovely, so [PERSON_1] helps? She goes to church."


def test_when_a_carried_name_is_left_in_a_payload_then_the_guard_blocks_it(redactor: PresidioRedactor) -> None:
    known = ("Margaret Okafor",)
    with pytest.raises(EgressBlocked, match="PERSON"):
        guard_egress(redactor, "[0] OT: Lovely, so Grace helps?", known, carried=["Grace"])
    # whole words with their case: no prefixes or near misses ("He" is not "Heather")
    fine = "[0] OT: He is fine, she's graceful and gracious. [PERSON_1] helps."
    guard_egress(redactor, fine, known, carried=["Grace", "Heather"])
    # only what was said is read: a prompt word taken for a name by mistake is no leak
    guard_egress(redactor, "Sections: Occupational history.\n[0] Client: I see [PERSON_1].", known, ["Occupational"])


@pytest.mark.parametrize(
    ("text", "gone"),
    [
        ("Lee, L E E. Tracy Lee.", ("L E E", "Lee")),
        ("Doctor Cox. C O X.", ("C O X", "Cox")),
        ("It's Lee, that's L-E-E.", ("L-E-E", "Lee")),
    ],
)
def test_when_a_three_letter_name_is_spelled_after_it_is_said_then_the_letters_go_too(
    redactor: PresidioRedactor, text: str, gone: tuple[str, ...]
) -> None:
    out = redactor.redact(text, known=("Margaret Okafor",)).text
    for value in gone:
        assert not re.search(rf"\b{re.escape(value)}\b", out), out


def test_when_the_line_before_asks_for_a_spelling_then_the_answer_is_redacted(redactor: PresidioRedactor) -> None:
    from assistant.redaction import redact_together

    asked = "How do you spell that?"
    assert redact_together(redactor, ["B R A D Y."], ("Margaret Okafor",), Pseudonyms(), asked) == ["[PERSON_1]."]
    out = redact_together(redactor, ["C O X."], (), Pseudonyms(), "Doctor Cox, how do you spell that?")
    assert out == ["[PERSON_1]."]
    for kept in ("C O P D.", "I I I don't know.", "N H S.", "B B C."):
        assert redact_together(redactor, [kept], (), Pseudonyms(), asked) == [kept]


# ── single first names spaCy misses: the Census gazetteer, read with the tagger ──


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Helen comes on Tuesdays.", "Helen"),
        ("Faye and I go to the bingo.", "Faye"),
        ("Faye takes me to bingo.", "Faye"),
        ("Nadia from next door helps with the shopping.", "Nadia"),
        ("I see Nadia on Tuesdays.", "Nadia"),
        # names that are words too, at the start of a sentence: a person verb after them says person
        ("Grace comes on Fridays.", "Grace"),
        ("Rose rings me every evening.", "Rose"),
    ],
)
def test_when_a_single_first_name_is_said_then_it_is_redacted(redactor: PresidioRedactor, text: str, name: str) -> None:
    assert types_of(redactor, text, name) == {"PERSON"}
    assert name not in redactor.redact(text).text


@pytest.mark.parametrize(
    "text",
    [
        "Will you help?",
        "I hope so.",
        "Hope so.",
        "Will do.",
        "Mark my words, it'll rain.",
        "by the grace of God",
        "We have a rose bush.",
        "the mark on the wall",
        "Summer is nice.",
        "Faith is important to me.",
        "The Princess Royal opened it.",
        "We met at Victoria Station.",  # a place: "Victoria" is part of the station's name, and stays
    ],
)
def test_when_a_first_name_is_an_ordinary_word_or_part_of_a_place_then_it_stays(
    redactor: PresidioRedactor, text: str
) -> None:
    assert redactor.redact(text).text == text


def test_when_a_first_name_is_said_again_then_it_keeps_one_placeholder(redactor: PresidioRedactor) -> None:
    text = "Nadia from next door helps. I see Nadia on Tuesdays, and Helen comes on Fridays. Helen is my niece."
    assert redactor.redact(text).text == (
        "[PERSON_1] from next door helps. I see [PERSON_1] on Tuesdays, and [PERSON_2] comes on Fridays. "
        "[PERSON_2] is my niece."
    )
    # a longer name spaCy finds around a first name stays one person
    assert redactor.redact("Nadia Okonjo comes on Tuesdays.").text == "[PERSON_1] comes on Tuesdays."


def test_when_a_first_name_found_in_one_turn_comes_up_in_another_then_it_is_redacted_there(
    redactor: PresidioRedactor,
) -> None:
    """'Dawn is very good to me' alone names no one ('Dawn' is a word too); after 'Dawn rings me' it does."""
    pseudonyms = Pseudonyms()
    first = redactor.redact("Dawn rings me every morning.", pseudonyms=pseudonyms).text
    later = redactor.redact("Dawn is very good to me.", pseudonyms=pseudonyms).text
    assert pseudonyms.mapping == {"[PERSON_1]": "Dawn"}
    assert (first, later) == ("[PERSON_1] rings me every morning.", "[PERSON_1] is very good to me.")


def test_when_a_name_that_is_a_modal_verb_was_found_then_a_question_it_opens_still_stays(
    redactor: PresidioRedactor,
) -> None:
    text = "My husband Will helps me. Will you help me too?"
    assert redactor.redact(text).text == "My husband [PERSON_1] helps me. Will you help me too?"


def test_when_the_gazetteer_is_read_then_it_holds_first_names_as_written() -> None:
    from assistant.recognizers import first_names

    names = first_names()
    assert {"Helen", "Faye", "Nadia", "Grace"} <= names
    assert len(names) > 5000 and all(n.istitle() for n in names)


@pytest.mark.parametrize(
    ("text", "redacted"),
    [
        ("Is Nadia's husband around?", "Is [PERSON_1]'s husband around?"),
        ("My wife June's car is outside.", "My wife [PERSON_1]'s car is outside."),
        ("My neighbour is Siobhan O'Brien.", "My neighbour is [PERSON_1]."),
        ("Margaret Ellis's daughter rang.", "[PERSON_1]'s daughter rang."),
        ("Her son is Daniel Okafor's age.", "Her son is [PERSON_1]'s age."),
    ],
)
def test_when_a_name_is_possessive_then_the_s_stays_and_an_apostrophe_inside_a_name_goes(
    redactor: PresidioRedactor, text: str, redacted: str
) -> None:
    assert redactor.redact(text).text == redacted


@pytest.mark.parametrize(
    "text",
    [
        "Baclofen for the spasms.",
        "Pregabalin, and Sertraline.",
        "Apixaban since the stroke.",
        "Tramadol.",
        "Lansoprazole in the morning.",
        "OT: How do you spell that?\nClient: M E T F O R M I N, I think.",
    ],
)
def test_when_a_medicine_is_named_or_spelled_then_it_is_not_taken_for_a_person(
    redactor: PresidioRedactor, text: str
) -> None:
    assert redactor.redact(text).text == text


def test_when_a_drug_name_is_also_a_persons_name_then_the_person_is_still_redacted(redactor: PresidioRedactor) -> None:
    assert redactor.redact("My carer Kendrick brings the Tramadol.").text == "My carer [PERSON_1] brings the Tramadol."
    assert redactor.redact("Dr Patel changed my Ropinirole.").text == "[PERSON_1] changed my Ropinirole."


@pytest.mark.parametrize(
    ("text", "redacted"),
    [
        # spaCy calls "Call Margaret Ellis" an organisation: the capital of the verb runs into the name
        ("Call Margaret Ellis on Monday.", "Call [PERSON_1] on Monday."),
        ("Tell Dennis Hart the time.", "Tell [PERSON_1] the time."),
        ("Tell Dennis Hart.", "Tell [PERSON_1]."),
        ("Call Margaret Ellis-Smith on Monday.", "Call [PERSON_1] on Monday."),
        # and runs a verb into a name it did find
        ("I rang Margaret Ellis yesterday.", "I rang [PERSON_1] yesterday."),
        ("Helen Barker rang.", "[PERSON_1] rang."),
        # a byte-order mark or a no-break space is a space
        ("\ufeffMargaret Ellis, NHS 943 476 5919", "\ufeff[PERSON_1], NHS [NHS_NUMBER_1]"),
        ("Margaret\xa0Ellis came.", "[PERSON_1] came."),
        # a first name and a surname that name a place or a charity stay
        ("We met at Victoria Station.", "We met at Victoria Station."),
        ("The Christian Aid shop has a ramp.", "The Christian Aid shop has a ramp."),
    ],
)
def test_when_spacy_misreads_the_edges_of_a_full_name_then_the_whole_name_and_only_it_is_redacted(
    redactor: PresidioRedactor, text: str, redacted: str
) -> None:
    assert redactor.redact(text).text == redacted


@pytest.mark.parametrize(
    ("text", "known", "redacted"),
    [
        ("Call 07700 900123 today.", "900123", "Call [PHONE_1] today."),
        ("NHS number 943 476 5919.", "5919", "NHS number [NHS_NUMBER_1]."),
        ("Call Margaret Ellis on 07700 900123.", "Ellis", "Call [PERSON_1] on [PHONE_1]."),
        ("Ref AB-1234 on file.", "AB-1234", "Ref [ID_NUMBER_1] on file."),
    ],
)
def test_when_a_known_detail_is_part_of_something_larger_then_all_of_it_is_redacted(
    redactor: PresidioRedactor, text: str, known: str, redacted: str
) -> None:
    assert redactor.redact(text, known=[known]).text == redacted


@pytest.mark.parametrize(
    "text",
    [
        "It's AB 1234.",
        "It's A B 1 2 3 4.",
        "That's A-B-1-2-3-4.",
        "It's A B one two three four.",
        "Ref AB/1234.",
    ],
)
def test_when_a_known_reference_is_said_spaced_out_or_in_words_then_it_is_redacted(
    redactor: PresidioRedactor, text: str
) -> None:
    out = redactor.redact(text, known=["AB-1234"]).text
    assert "[ID_NUMBER_1]" in out and not re.search(r"\b(?:AB|A B|1|one|1234)\b", out), out
    assert redactor.redact("AB12345 is another one.", known=["AB-1234"]).text == "AB12345 is another one."
    # a known number said a digit at a time in words, a zero as "oh"
    assert redactor.redact("ID nine oh oh one two three.", known=["900123"]).text == "ID [ID_NUMBER_1]."


@pytest.mark.parametrize("text", ["Postcode CM1 2AB.", "Postcode C M 1 2 A B."])
def test_when_a_postcode_follows_the_word_then_the_word_is_not_taken_for_a_name(
    redactor: PresidioRedactor, text: str
) -> None:
    assert redactor.redact(text).text == "Postcode [POSTCODE_1]."


@pytest.mark.parametrize(
    ("text", "redacted"),
    [
        ("We met at Rose Cottage.", "We met at [ADDRESS_1]."),
        ("I live at Rose Cottage, near the church.", "I live at [ADDRESS_1], near the church."),
        ("She's moved to Hill Farm now.", "She's moved to [ADDRESS_1] now."),
        ("Rose is coming on Tuesday.", "[PERSON_1] is coming on Tuesday."),
        ("Rose is coming round later.", "[PERSON_1] is coming round later."),
        ("May is coming soon.", "May is coming soon."),
    ],
)
def test_when_a_name_is_a_house_or_someone_is_coming_then_each_is_redacted_as_what_it_is(
    redactor: PresidioRedactor, text: str, redacted: str
) -> None:
    assert redactor.redact(text).text == redacted
