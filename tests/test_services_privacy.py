"""The privacy boundary in the services: what a model is sent, over a real HTTP client to a local fake.

The redactor (Presidio + spaCy), MiniLM, Chroma and SQLite are the real ones, loaded once per
session; only the model is a fake (tests/fake_openai.py, on 127.0.0.1).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from assistant.drafting import transcript_lines
from assistant.errors import EgressBlocked
from assistant.records import Segment, Transcript
from assistant.redaction import Pseudonyms, guard_egress
from assistant.services import Services
from assistant.settings import Settings
from tests.fake_openai import FakeOpenAI

ROOT = Path(__file__).resolve().parent.parent


def transcript(*turns: tuple[Any, str]) -> Transcript:
    segments = [
        Segment(id=i, start=i * 5.0, end=i * 5.0 + 4, text=text, speaker=speaker, speaker_inferred=False)
        for i, (speaker, text) in enumerate(turns)
    ]
    return Transcript(
        segments=segments, text=" ".join(s.text for s in segments), duration=60, language="en", model="test"
    )


def with_model(services: Any, fake: FakeOpenAI, **engines: Any) -> Services:
    """The session's engines behind a model on this machine."""
    settings = Settings(
        home=services.settings.home,
        provider="openai-compatible",
        base_url=fake.base_url,
        request_timeout=10.0,
        max_retries=0,
    )
    local = Services(settings)
    local._engines.update(redactor=services.redactor, store=services.store, **engines)
    return local


def sent(fake: FakeOpenAI) -> str:
    return "\n".join(m["content"] for body in fake.requests for m in body["messages"])


# ── numbers and names split across segments ─────────────────────────────────

SPLIT = {
    "nhs": (
        [("OT", "Have you got your NHS number handy?"), ("client", "Yes, it's 943 476"), ("client", "5919.")],
        ["943", "476", "5919"],
    ),
    "phone": (
        [("OT", "And your phone?"), ("client", "07700"), ("client", "900123, that's the mobile.")],
        ["07700", "900123"],
    ),
    "spoken phone": (
        [
            ("OT", "What's the best number to get you on?"),
            ("client", "It's oh seven seven oh oh,"),
            ("client", "nine oh oh one two three."),
        ],
        ["seven seven", "nine oh oh", "one two three"],
    ),
    "postcode": ([("OT", "And the postcode?"), ("client", "CO3"), ("client", "3NB.")], ["CO3", "3NB"]),
}
KNOWN = ("Margaret Okafor", "14 Mill Lane, Colchester CO3 3NB", "943 476 5919", "07700 900123")


@pytest.mark.parametrize("known", [(), KNOWN], ids=["nothing-known", "known"])
@pytest.mark.parametrize("case", sorted(SPLIT))
def test_when_a_number_is_split_across_segments_then_every_piece_is_redacted(
    services: Any, case: str, known: tuple[str, ...]
) -> None:
    turns, pieces = SPLIT[case]
    original = transcript(*turns)
    redacted, _ = services.redact_transcript(original, known)
    payload = transcript_lines(redacted)
    for piece in pieces:
        assert piece not in payload, payload
    assert [(s.id, s.start, s.end, s.speaker) for s in redacted.segments] == [
        (s.id, s.start, s.end, s.speaker) for s in original.segments
    ]
    tags = set(re.findall(r"\[[A-Z_]+_\d+\]", payload))
    assert len(tags) == 1 and payload.count(tags.pop()) == 2  # one value, its placeholder in both pieces
    assert redacted.segments[0].text == original.segments[0].text  # the OT's question is untouched
    guard_egress(services.redactor, payload, known)  # what is sent passes the guard
    with pytest.raises(EgressBlocked):
        guard_egress(services.redactor, transcript_lines(original), known)  # and the original does not


def test_when_a_name_comes_up_again_in_a_later_turn_then_it_is_redacted_there_too(services: Any) -> None:
    original = transcript(
        ("client", "My son Daniel Okafor helps me with the shopping."),
        ("OT", "That's good."),
        ("client", "Daniel comes on Sundays."),
        ("OT", "And who else?"),
        ("client", "and Will, my husband, he's got COPD."),
        ("OT", "Does he drive?"),
        ("client", "Will does the driving, yes."),
    )
    redacted, mapping = services.redact_transcript(original, ("Margaret Okafor",))
    payload = transcript_lines(redacted)
    assert "Daniel" not in payload and "Will" not in payload and "Okafor" not in payload, payload
    assert "COPD" in payload and "Sundays" in payload
    people = {v: k for k, v in mapping.items()}
    assert redacted.segments[2].text == f"{people['Daniel Okafor']} comes on Sundays."
    assert redacted.segments[6].text == f"{people['Will']} does the driving, yes."


def test_when_a_transcript_is_redacted_then_the_copy_keeps_no_original_words(services: Any) -> None:
    from assistant.records import Word

    original = transcript(("client", "My NHS number is 943 476 5919."))
    segment = original.segments[0].model_copy(
        update={
            "words": [Word(start=0.0, end=1.0, text=" 5919", probability=0.2)],
            "review_reason": "unsure of the number(s) 5919",
        }
    )
    original = original.model_copy(update={"segments": [segment]})
    redacted, _ = services.redact_transcript(original)
    assert "5919" not in json.dumps(redacted.model_dump(mode="json"))


# ── drafting with the assessment's own pseudonym map ────────────────────────


def test_when_a_model_drafts_for_an_assessment_then_its_stored_pseudonyms_are_used_and_kept(services: Any) -> None:
    store = services.store
    aid = store.create_assessment("RC-MAP-1", "ot", {"name": "Peter Jones"})
    first = Transcript.from_text("OT: Hello Margaret Ellis.\nClient: Hello.")  # an earlier transcript, since replaced
    _, earlier = services.redact_transcript(first, [], store.redaction_map(aid))
    store.save_redaction_map(aid, earlier)
    latest = Transcript.from_text("OT: Hello Peter Jones.\nClient: My wife Ann helps me.")
    with FakeOpenAI(answer={"sections": [], "goals": []}) as fake:
        with_model(services, fake).draft(latest, known=["Peter Jones"], assessment_id=aid)
    stored = store.redaction_map(aid)
    assert stored["[PERSON_1]"] == "Margaret Ellis"  # the earlier person keeps their placeholder
    text = sent(fake)
    assert "Peter" not in text and "Ann " not in text
    lines = [line for line in text.splitlines() if line.startswith(("[0]", "[1]"))]
    restored = Pseudonyms(stored).reidentify("\n".join(lines))
    assert restored == "[0] OT: Hello Peter Jones.\n[1] Client: My wife Ann helps me."


# ── signposting questions ───────────────────────────────────────────────────


@dataclass
class Citing(FakeOpenAI):
    """Answers a signposting prompt by citing its first activity."""

    def _respond(self, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any], float]:
        prompt = body["messages"][-1]["content"]
        first = re.search(r"^\[([^\]\s]+)\] ", prompt, re.MULTILINE)
        if first:
            self.answer = {"answer": f"She could try [{first.group(1)}].", "cited": [first.group(1)]}
        return super()._respond(path, body)


@pytest.fixture(scope="module")
def index(embedder: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from assistant.directory import import_path
    from assistant.signposting import ActivityIndex, load_towns, register

    register()
    built = ActivityIndex(tmp_path_factory.mktemp("index"), embedder, towns=load_towns(ROOT / "knowledge/towns.yaml"))
    built.upsert(import_path(ROOT / "knowledge/sample-directory.json").activities)
    yield built


def test_when_a_signposting_question_names_the_client_then_the_model_sees_a_placeholder(
    services: Any, index: Any
) -> None:
    question = "something for Margaret Okafor, she likes swimming near Colchester"
    with Citing() as fake:
        answer, asked = with_model(services, fake, index=index).ask(question, k=3)
    text = sent(fake)
    assert fake.requests, "the model was not asked"
    assert "Margaret" not in text and "Okafor" not in text, text
    assert "[PERSON_1]" in text and "swimming" in text and "Colchester" in text
    assert answer.results  # redacting the name does not lose the activity or the town
    assert answer.answer.startswith("She could try [")  # the model's answer is used
    assert asked.towns == ["colchester"]


def test_when_a_question_gives_a_postcode_then_it_is_read_here_and_sent_redacted(services: Any, index: Any) -> None:
    with Citing() as fake:
        answer, asked = with_model(services, fake, index=index).ask("swimming near CO3 3NB for Mr Okafor", k=3)
    text = sent(fake)
    assert "CO3" not in text and "3NB" not in text and "Okafor" not in text, text
    assert asked.towns == ["colchester"]  # the postcode district placed the question before redaction
    assert answer.results and answer.answer.startswith("She could try [")


def test_when_a_question_comes_from_an_assessment_then_its_case_details_are_redacted_too(
    services: Any, index: Any
) -> None:
    """A goal line the OT typed, asked about from the assessment: a name no recogniser knows is a case detail."""
    question = "walking group for dot okafor near colchester"  # typed in lower case: no recogniser sees a name
    with Citing() as fake:
        with_model(services, fake, index=index).ask(question, k=3, known=["Dot Okafor"])
    text = sent(fake)
    assert fake.requests and "dot" not in text.lower().split() and "okafor" not in text.lower(), text


# ── a whole transcript: people found anywhere, guesses left alone ───────────


def golden(case_id: str) -> tuple[Transcript, list[str]]:
    """A golden case's transcript and the known identifiers the app would pass."""
    import yaml

    (path,) = (ROOT / "evals" / "data" / "ot").glob(f"{case_id}*.yaml")
    case = yaml.safe_load(path.read_text(encoding="utf-8"))
    details = case["case_details"]
    fields = ("name", "preferred_name", "date_of_birth", "nhs_number", "address", "postcode", "phone")
    known = [str(details[k]).strip() for k in fields if details.get(k)]
    known += [str(c) for c in details.get("carers") or []]
    text = "\n".join(f"{s['speaker']}: {s['text']}" for s in case["transcript"])
    return Transcript.from_text(text), known


def test_when_a_name_is_only_recognised_later_then_earlier_mentions_are_redacted_too(services: Any) -> None:
    original = transcript(
        ("client", "Hoovering I've handed to Clive."),  # spaCy misses this "Clive"...
        ("OT", "And the car?"),
        ("client", "My husband Clive has it in the week."),  # ...and finds this one
    )
    redacted, mapping = services.redact_transcript(original, ("Sandra Kemp",))
    tag = next(tag for tag, name in mapping.items() if name == "Clive")
    assert [s.text for s in redacted.segments] == [
        f"Hoovering I've handed to {tag}.",
        "And the car?",
        f"My husband {tag} has it in the week.",
    ]


@pytest.mark.parametrize(
    ("case_id", "kept"),
    [
        ("ot02", "walking football group at Melbourne Park"),  # not "Melbourne [PERSON]" after "Parkinson's"
        ("ot04", "Bus, I've got my bus pass."),  # "I've" was a guess in one segment, not a person everywhere
        ("ot05", "Bowls. I want to be back on the green"),  # the goal activity, after "bowls club"
        ("ot12", "She's got Parkinson's."),  # "She" is not a prefix of "Sheila"
    ],
)
def test_when_a_golden_transcript_is_redacted_then_words_that_are_not_names_stay(
    services: Any, case_id: str, kept: str
) -> None:
    original, known = golden(case_id)
    redacted, _ = services.redact_transcript(original, known)
    assert kept in transcript_lines(redacted)


@pytest.mark.parametrize("case_id", ["ot02", "ot04", "ot05"])
@pytest.mark.parametrize("stored", [False, True], ids=["no-assessment", "assessment"])
def test_when_a_golden_case_is_drafted_then_the_first_attempt_reaches_the_model(
    services: Any, case_id: str, stored: bool
) -> None:
    """The guard holds the case's known identifiers; spaCy's guesses redacted elsewhere do not block the call."""
    original, known = golden(case_id)
    aid = services.store.create_assessment(f"RC-{case_id}-{stored}", "ot", {"name": known[0]}) if stored else None
    with FakeOpenAI(answer={"sections": [], "goals": []}) as fake:
        with_model(services, fake).draft(original, known=known, assessment_id=aid)
    assert fake.requests, "the guard refused the draft"
    text = sent(fake)
    for name in known[0].split():
        assert not re.search(rf"\b{re.escape(name)}\b", text), name


def test_when_the_ot_greets_the_client_then_the_placeholder_still_names_the_client(services: Any) -> None:
    original, known = golden("ot11")  # the OT opens with "Alright Darren, I'm ..."
    redacted, mapping = services.redact_transcript(original, known)
    assert mapping["[PERSON_1]"] == "Darren Mitchell"  # not "Alright Darren": a re-identified export names him right
    assert redacted.segments[0].text.startswith("Alright [PERSON_1],")


# ── found names carried word by word, and held by the guard ─────────────────


def test_when_a_found_name_ends_in_a_thing_word_then_its_first_name_is_redacted_everywhere(services: Any) -> None:
    original = transcript(
        ("client", "My daughter Grace Church comes on Sunday."),
        ("OT", "Lovely, so Grace helps?"),
        ("client", "Grace does the shopping. With Grace it's easier."),
    )
    redacted, mapping = services.redact_transcript(original, ("Margaret Okafor",))
    payload = transcript_lines(redacted)
    assert not re.search(r"\bGrace\b", payload), payload
    assert "Sunday" in payload and "shopping" in payload
    tag = next(tag for tag, name in mapping.items() if "Grace" in name)
    assert redacted.segments[1].text == f"Lovely, so {tag} helps?"


def test_when_the_ot_asks_for_a_spelling_then_the_spelled_answer_is_redacted(services: Any) -> None:
    original = transcript(
        ("OT", "And your son's surname?"),
        ("client", "Brady."),
        ("OT", "How do you spell that?"),
        ("client", "B R A D Y."),
        ("OT", "And your GP is Doctor Cox, how do you spell that?"),
        ("client", "C O X."),
        ("OT", "How do you spell that?"),
        ("client", "C O P D. I I I get muddled."),
    )
    redacted, _ = services.redact_transcript(original, ("Margaret Okafor",))
    payload = transcript_lines(redacted)
    for gone in ("Brady", "B R A D Y", "Cox", "C O X"):
        assert gone not in payload, payload
    assert redacted.segments[7].text == "C O P D. I I I get muddled."


def test_when_a_found_name_is_left_in_the_payload_then_the_draft_is_refused(services: Any) -> None:
    original = transcript(
        ("client", "My daughter Grace Church comes on Sunday."),
        ("OT", "Lovely, so Grace helps?"),
    )
    with FakeOpenAI(answer={"sections": [], "goals": []}) as fake:
        local = with_model(services, fake)
        redacted, mapping = local.redact_transcript(original, ["Margaret Okafor"])
        missed = redacted.segments[1].model_copy(update={"text": "Lovely, so Grace helps?"})  # a redaction miss
        leaky = redacted.model_copy(update={"segments": [redacted.segments[0], missed]})
        local.redact_transcript = lambda *_: (leaky, mapping)  # type: ignore[method-assign]
        with pytest.raises(EgressBlocked, match="PERSON"):
            local.draft(original, known=["Margaret Okafor"])
        assert not fake.requests, "a found name reached the model"
        del local.redact_transcript
        local.draft(original, known=["Margaret Okafor"])  # redacted properly, the same draft goes
        assert fake.requests and not re.search(r"\bGrace\b", sent(fake))


@pytest.mark.parametrize(
    "said",
    [
        "Yes, I've got a Return to Work plan with Occupational Health.",
        "Medical Reception said to ring back on Monday.",
        "Taking my grandson to Goals Soccer Centre on Saturdays.",
    ],
)
def test_when_a_word_of_the_prompt_was_taken_for_a_name_then_the_draft_still_goes(services: Any, said: str) -> None:
    """The guard reads only what was said: the template's words ("Occupational", "Goals") are not a leak."""
    original = transcript(("OT", "How are things at the moment?"), ("client", said), ("OT", "That helps."))
    with FakeOpenAI(answer={"sections": [], "goals": []}) as fake:
        with_model(services, fake).draft(original, known=["Margaret Thompson"])
    assert fake.requests, "the guard refused the draft"


def test_when_the_ot_asks_for_a_spelling_then_the_question_word_and_the_next_word_stay(services: Any) -> None:
    original = transcript(
        ("OT", "And your surname? How do you spell that?"),
        ("client", "O, K, A, F, O, R."),
        ("OT", "Which tablet is it? How do you spell that?"),
        ("client", "M E T F O R M I N, I think."),
    )
    redacted, _ = services.redact_transcript(original, ("Margaret Ellis",))
    assert redacted.segments[0].text == "And your surname? How do you spell that?"
    assert "O, K, A, F, O, R" not in redacted.segments[1].text
    assert redacted.segments[3].text.endswith(", I think.")


def test_when_a_carer_is_called_will_then_will_you_still_asks_and_will_still_names_him(services: Any) -> None:
    original = transcript(
        ("client", "My husband Will. Will does the cooking."),
        ("OT", "Will you be OK getting in the bath?"),
        ("client", "I will, if Will helps. Will, you know the board?"),
        ("OT", "Will I need to show him?"),
    )
    redacted, mapping = services.redact_transcript(original, ("Margaret Ellis",))
    assert list(mapping.values()) == ["Will"]
    assert redacted.segments[1].text == "Will you be OK getting in the bath?"
    assert redacted.segments[3].text == "Will I need to show him?"
    assert "Will" not in redacted.segments[0].text
    assert redacted.segments[2].text.startswith("I will, if [PERSON_1] helps. [PERSON_1], you know")


def test_when_a_carer_is_called_june_then_she_is_redacted_in_every_turn_and_the_month_stays(services: Any) -> None:
    original = transcript(
        ("client", "My wife June drives me to the hospital."),
        ("OT", "That's kind of her. Does June help at home too?"),
        ("client", "June's a saint. We go to Clacton in June, she books it."),
        ("OT", "May I ask how you manage the stairs?"),
    )
    redacted, mapping = services.redact_transcript(original, ("Margaret Ellis",))
    assert list(mapping.values()) == ["June"]
    assert [s.text for s in redacted.segments] == [
        "My wife [PERSON_1] drives me to the hospital.",
        "That's kind of her. Does [PERSON_1] help at home too?",
        "[PERSON_1]'s a saint. We go to Clacton in June, she books it.",
        "May I ask how you manage the stairs?",
    ]
    guard_egress(services.redactor, transcript_lines(redacted), ("Margaret Ellis",), carried=["June"])


def test_when_the_ot_asks_for_the_date_of_birth_then_the_spoken_answer_is_redacted_and_the_draft_goes(
    services: Any,
) -> None:
    original = transcript(
        ("OT", "Can I just check your date of birth?"),
        ("client", "Third of the eleventh,"),
        ("client", "fifty four."),
        ("OT", "Thank you. And how have the stairs been since the fall?"),
    )
    with FakeOpenAI(answer={"sections": [], "goals": []}) as fake:
        with_model(services, fake).draft(original, known=["Margaret Ellis"])
        payload = sent(fake)
    assert fake.requests, "the guard refused the draft"
    assert "eleventh" not in payload and "fifty four" not in payload, payload
    assert "how have the stairs been" in payload


def test_when_only_the_first_name_list_finds_a_person_then_every_turn_names_them_with_one_placeholder(
    services: Any,
) -> None:
    """spaCy misses 'Nadia' and 'Dawn'; the first-name recognizer finds them, and the transcript's two
    passes carry them to every turn, the first included ('Dawn is very good to me' alone names no one)."""
    original = transcript(
        ("client", "Dawn is very good to me."),
        ("OT", "That's lovely."),
        ("client", "Dawn rings me every morning, and Nadia from next door helps with the shopping."),
        ("OT", "Does Nadia drive?"),
    )
    redacted, mapping = services.redact_transcript(original, ("Margaret Ellis",))
    people = {name: tag for tag, name in mapping.items()}
    assert set(people) == {"Dawn", "Nadia"}
    assert [s.text for s in redacted.segments] == [
        f"{people['Dawn']} is very good to me.",
        "That's lovely.",
        f"{people['Dawn']} rings me every morning, and {people['Nadia']} from next door helps with the shopping.",
        f"Does {people['Nadia']} drive?",
    ]
    guard_egress(services.redactor, transcript_lines(redacted), ("Margaret Ellis",), carried=["Dawn", "Nadia"])
    with pytest.raises(EgressBlocked, match="PERSON"):
        guard_egress(services.redactor, transcript_lines(original), ("Margaret Ellis",), carried=["Dawn", "Nadia"])
