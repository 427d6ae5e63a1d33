"""Recognizers for what Presidio misses or confuses in UK speech-recognition output.

Two kinds live here:

* Presidio ``PatternRecognizer`` subclasses (NHS number with its check digit, strict
  postcode, UK phone) that run inside the analyzer next to spaCy;
* plain detectors (``detect_uk(text)``) that read the whole text once, outside
  Presidio, for the spoken forms speech recognition produces: digit runs said as
  words ("oh seven seven double oh ..."), spelled postcodes ("C M two, nine Q F"),
  spoken e-mail addresses ("grace dot hill at hotmail dot co dot uk"), street
  addresses, dates of birth with their context words, and named GP surgeries,
  care homes, schools and employers.

Every detector returns :class:`Detection` records whose ``value`` is a normalised
form (digits, a postcode without spaces, an ISO date) so the redactor can match
them against the case's known identifiers however they were said.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib.resources import files
from typing import Any

from presidio_analyzer import EntityRecognizer, Pattern, PatternRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts

from assistant import spoken_numbers
from assistant.nhs_number import nhs_checksum_ok

__all__ = [
    "MODAL_NAMES",
    "NAME_MONTHS",
    "QUESTION_AFTER_MODAL",
    "Detection",
    "FirstNameRecognizer",
    "NhsNumberRecognizer",
    "detect_uk",
    "find_dates",
    "first_names",
    "is_medicine",
    "nhs_checksum_ok",
    "said_as_month",
    "spoken_sequences",
    "surnames",
    "uk_recognizers",
]

# Outward-code areas that exist: a spelled-out "postcode" from any other letters is not one.
POSTCODE_AREAS = frozenset(
    [
        "AB",
        "AL",
        "B",
        "BA",
        "BB",
        "BD",
        "BH",
        "BL",
        "BN",
        "BR",
        "BS",
        "BT",
        "CA",
        "CB",
        "CF",
        "CH",
        "CM",
        "CO",
        "CR",
        "CT",
        "CV",
        "CW",
        "DA",
        "DD",
        "DE",
        "DG",
        "DH",
        "DL",
        "DN",
        "DT",
        "DY",
        "E",
        "EC",
        "EH",
        "EN",
        "EX",
        "FK",
        "FY",
        "G",
        "GL",
        "GU",
        "GY",
        "HA",
        "HD",
        "HG",
        "HP",
        "HR",
        "HS",
        "HU",
        "HX",
        "IG",
        "IM",
        "IP",
        "IV",
        "JE",
        "KA",
        "KT",
        "KW",
        "KY",
        "L",
        "LA",
        "LD",
        "LE",
        "LL",
        "LN",
        "LS",
        "LU",
        "M",
        "ME",
        "MK",
        "ML",
        "N",
        "NE",
        "NG",
        "NN",
        "NP",
        "NR",
        "NW",
        "OL",
        "OX",
        "PA",
        "PE",
        "PH",
        "PL",
        "PO",
        "PR",
        "RG",
        "RH",
        "RM",
        "S",
        "SA",
        "SE",
        "SG",
        "SK",
        "SL",
        "SM",
        "SN",
        "SO",
        "SP",
        "SR",
        "SS",
        "ST",
        "SW",
        "SY",
        "TA",
        "TD",
        "TF",
        "TN",
        "TQ",
        "TR",
        "TS",
        "TW",
        "UB",
        "W",
        "WA",
        "WC",
        "WD",
        "WF",
        "WN",
        "WR",
        "WS",
        "WV",
        "YO",
        "ZE",
    ]
)
POSTCODE_SHAPE = re.compile(r"^([A-Z]{1,2})([0-9][A-Z0-9]?)([0-9][A-Z]{2})$")
UK_POSTCODE = r"\b(?:[A-Z]{1,2}[0-9][A-Z0-9]?)\s?[0-9][A-Z]{2}\b"
UK_PHONE = r"(?<![\d+])(?:(?:\+|00)\s?44\s?(?:\(0\)\s?)?|\(?0)\d(?:[ \-.)]{0,2}\d){8,9}(?!\d)"
NHS_NUMBER = r"(?<!\d)\d{3}[\s-]?\d{3}[\s-]?\d{4}(?!\d)"
EMAIL = r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b"


@dataclass(frozen=True)
class Detection:
    """One candidate identifier: our type, character span, confidence, normalised value."""

    type: str
    start: int
    end: int
    score: float
    value: str


def postcode_ok(compact: str) -> bool:
    """A postcode written without spaces, in upper case, with a real area."""
    match = POSTCODE_SHAPE.match(compact)
    return bool(match) and match.group(1) in POSTCODE_AREAS  # type: ignore[union-attr]


def phone_digits_ok(digits: str) -> bool:
    """UK numbers: 0 + 9 or 10 digits, or 44 + 9 or 10 digits."""
    if digits.startswith("44"):
        return len(digits) in (11, 12) and digits[2] != "0"
    return digits.startswith("0") and len(digits) in (10, 11) and digits[1] != "0"


# ── Presidio pattern recognizers ────────────────────────────────────────────


class NhsNumberRecognizer(PatternRecognizer):
    """NHS numbers in any spacing, confirmed by the modulus-11 check digit."""

    def __init__(self) -> None:
        super().__init__(
            supported_entity="UK_NHS",
            name="NhsNumberRecognizer",
            patterns=[Pattern("nhs", NHS_NUMBER, 0.5)],
            context=["nhs", "number", "health"],
        )

    def validate_result(self, pattern_text: str) -> bool | None:
        return nhs_checksum_ok(pattern_text)


class UkPhoneRecognizer(PatternRecognizer):
    """UK landlines and mobiles: 07700 900123, +44 7700 900123, (01245) 123 456."""

    def __init__(self) -> None:
        super().__init__(
            supported_entity="PHONE_NUMBER",
            name="UkPhoneRecognizer",
            patterns=[Pattern("uk phone", UK_PHONE, 0.7)],
            context=["phone", "mobile", "number", "call", "ring", "landline"],
        )

    def validate_result(self, pattern_text: str) -> bool | None:
        return phone_digits_ok(re.sub(r"\D", "", pattern_text))


def uk_recognizers() -> list[PatternRecognizer]:
    return [
        NhsNumberRecognizer(),
        PatternRecognizer(
            supported_entity="UK_POSTCODE",
            name="UkPostcodeStrictRecognizer",
            patterns=[Pattern("postcode", UK_POSTCODE, 0.6)],
            context=["postcode", "post code", "lives", "address"],
            global_regex_flags=0,
        ),
        UkPhoneRecognizer(),
    ]


# ── spoken digit runs and spelled postcodes ─────────────────────────────────

UNITS = {"zero": "0", "oh": "0", "nought": "0", "nil": "0"} | {
    w: str(n) for n, w in enumerate(spoken_numbers.DIGITS) if n
}
TEENS = {w: str(n) for n, w in enumerate(spoken_numbers.TEENS, 10)}
TENS = {w: str(n) for n, w in enumerate(spoken_numbers.TENS, 2)}  # the first digit: "twenty" -> "2"
REPEAT = {"double": 2, "triple": 3, "treble": 3}

_TOKEN = re.compile(r"\+44|[A-Za-z]+|\d+")
_GAP = re.compile(r"^[\s,.\-()]*$")


@dataclass(frozen=True)
class Piece:
    """One spoken or written unit of a sequence: digits or capital letters, with its span."""

    text: str
    start: int
    end: int

    @property
    def digits(self) -> bool:
        return self.text.isdigit()


def _spelled_letter(tokens: list[re.Match[str]], i: int) -> bool:
    """'A' is a spelled letter ("nine A B", "A B one two"), not the article, when letters or numbers surround it."""

    def spelled(j: int) -> bool:
        if not 0 <= j < len(tokens):
            return False
        word = tokens[j].group()
        return bool(re.fullmatch(r"[B-HJ-Z]|\d+", word)) or word.lower() in UNITS or word.lower() in TEENS

    return spelled(i + 1) and (spelled(i - 1) or re.fullmatch(r"[B-HJ-Z]", tokens[i + 1].group()) is not None)


def _pieces(tokens: list[re.Match[str]]) -> Iterator[Piece | None]:
    """Turn tokens into pieces; None breaks a sequence."""
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        word = tok.group()
        low = word.lower()
        nxt = tokens[i + 1].group().lower() if i + 1 < len(tokens) else ""
        if word == "+44" or word.isdigit():
            yield Piece(word.lstrip("+"), tok.start(), tok.end())
        elif low in UNITS and not (word == "O" and nxt in UNITS | TEENS):
            yield Piece(UNITS[low], tok.start(), tok.end())
        elif low in TEENS:
            yield Piece(TEENS[low], tok.start(), tok.end())
        elif low in TENS:
            if nxt in UNITS and UNITS[nxt] != "0":
                yield Piece(TENS[low] + UNITS[nxt], tok.start(), tokens[i + 1].end())
                i += 1
            else:
                yield Piece(TENS[low] + "0", tok.start(), tok.end())
        elif low in REPEAT and (nxt in UNITS or (nxt.isdigit() and len(nxt) == 1)):
            digit = UNITS.get(nxt, nxt)
            yield Piece(digit * REPEAT[low], tok.start(), tokens[i + 1].end())
            i += 1
        elif low == "hundred":
            yield Piece("00", tok.start(), tok.end())
        elif low == "thousand":
            yield Piece("000", tok.start(), tok.end())
        elif re.fullmatch(r"[A-Z]{1,2}\d{0,2}[A-Z]?|\d[A-Z]{2}", word) and (
            word not in {"I", "A"} or (word == "A" and _spelled_letter(tokens, i))
        ):
            yield Piece(word, tok.start(), tok.end())
        else:
            yield None
        i += 1


def spoken_sequences(text: str) -> list[list[Piece]]:
    """Runs of digit words, digits and capital letters separated only by spaces and light punctuation."""
    tokens = list(_TOKEN.finditer(text))
    runs: list[list[Piece]] = []
    current: list[Piece] = []
    for piece in _pieces(tokens):
        if piece is None or (current and not _GAP.match(text[current[-1].end : piece.start])):
            if len(current) > 1 or (current and len(current[0].text) >= 5):
                runs.append(current)
            current = []
        if piece is not None:
            current.append(piece)
    if len(current) > 1 or (current and len(current[0].text) >= 5):
        runs.append(current)
    return runs


def _nhs_context(window: list[Piece], text: str) -> bool:
    """A ten-digit number starting 0 is also a UK phone number: NHS only when NHS is said before it."""
    return bool(re.search(r"(?i:nhs|health)", text[max(0, window[0].start - 80) : window[0].start]))


def _number_detections(run: list[Piece], text: str) -> list[Detection]:
    found: list[Detection] = []
    i = 0
    while i < len(run):
        best: Detection | None = None
        for j in range(i, min(len(run), i + 24)):
            window = run[i : j + 1]
            joined = "".join(p.text for p in window)
            if window[0].text == "44" and len(window) > 1 and window[1].text.startswith("0"):
                joined = "44" + joined[3:]  # "+44 (0)1245 ...": the trunk zero is not dialled
            if not all(p.digits for p in window) or len(joined) > 12:
                break
            start, end = window[0].start, window[-1].end
            if len(joined) == 10 and nhs_checksum_ok(joined) and (joined[0] != "0" or _nhs_context(window, text)):
                best = Detection("NHS_NUMBER", start, end, 0.9, joined)
            elif phone_digits_ok(joined):
                best = Detection("PHONE", start, end, 0.85, "0" + joined[2:] if joined.startswith("44") else joined)
            elif len(joined) >= 8 and (best is None or best.type == "ID_NUMBER"):
                best = Detection("ID_NUMBER", start, end, 0.5, joined)
        if best is None and run[i].digits and len(run[i].text) >= 13:
            # a card, account or reference number: too long for a phone, an identifier all the same
            best = Detection("ID_NUMBER", run[i].start, run[i].end, 0.5, run[i].text)
        if best is not None:
            found.append(best)
            i = next(k for k, p in enumerate(run) if p.end == best.end) + 1
        else:
            i += 1
    return found


def _postcode_detections(run: list[Piece]) -> list[Detection]:
    found: list[Detection] = []
    i = 0
    while i < len(run):
        hit: Detection | None = None
        for j in range(min(len(run), i + 8) - 1, i, -1):
            window = run[i : j + 1]
            joined = "".join(p.text for p in window)
            if len(joined) <= 7 and postcode_ok(joined):
                hit = Detection("POSTCODE", window[0].start, window[-1].end, 0.85, joined)
                i = j + 1
                break
        if hit:
            found.append(hit)
        else:
            i += 1
    return found


NINO_SHAPE = re.compile(r"^[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]\d{6}[A-D]$")


def _nino_detections(run: list[Piece]) -> list[Detection]:
    for i in range(len(run)):
        for j in range(i + 1, min(len(run), i + 12)):
            joined = "".join(p.text for p in run[i : j + 1])
            if NINO_SHAPE.match(joined):
                return [Detection("NINO", run[i].start, run[j].end, 0.85, joined)]
    return []


_IPV4 = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}")


def detect_spoken_numbers(text: str) -> list[Detection]:
    """Phone numbers, NHS numbers, postcodes and NI numbers said or spelled out, digits or words."""
    found: list[Detection] = []
    for run in spoken_sequences(text):
        for d in _number_detections(run, text):
            if _IPV4.fullmatch(text[d.start : d.end]):
                continue  # an IP address, not a phone or NHS number
            plus = re.search(r"(?:\bplus|\+)\s*$", text[: d.start], re.IGNORECASE)
            found.append(Detection(d.type, plus.start(), d.end, d.score, d.value) if plus else d)
        found += _postcode_detections(run)
        found += _nino_detections(run)
    return found


# ── e-mail, written and spoken ──────────────────────────────────────────────

_WORD = r"[A-Za-z0-9][\w'-]*"
_NUMBER_WORD = "|".join([*UNITS, *TEENS, *TENS])
_SPOKEN_EMAIL = re.compile(
    rf"\b{_WORD}(?:(?:[._]|\s*\b(?:dot|underscore|dash|hyphen)\b\s*){_WORD}"
    rf"|\s+(?:{_NUMBER_WORD})\b){{0,5}}"
    rf"\s+(?:at|@)\s+{_WORD}(?:\s*(?:\.|\bdot\b)\s*{_WORD}){{0,3}}\s*(?:\.|\bdot\b)\s*"
    r"(?:com|co\.uk|uk|org|net|gov|nhs|ac|ie|info|me|io)\b",
    re.IGNORECASE,
)


def detect_emails(text: str) -> list[Detection]:
    found = [Detection("EMAIL", m.start(), m.end(), 0.95, m.group().lower()) for m in re.finditer(EMAIL, text)]
    for m in _SPOKEN_EMAIL.finditer(text):
        value = re.sub(r"\s*\bdot\b\s*", ".", m.group().lower())
        value = re.sub(r"\s+at\s+", "@", value)
        found.append(Detection("EMAIL", m.start(), m.end(), 0.85, value.replace(" ", "")))
    return found


# ── street addresses ────────────────────────────────────────────────────────

STREET_SUFFIXES = (
    "Road|Rd|Street|St|Lane|Ln|Avenue|Ave|Close|Cl|Drive|Dr|Way|Crescent|Cres|Court|Ct|Place|Pl|"
    "Gardens|Grove|Terrace|Hill|Row|Walk|Square|Mews|Green|View|Rise|Parade|Vale|Chase|Meadows?|"
    "Fields|Boulevard|Blvd|Parkway|Park|Gate|Wharf|Wynd|End|Hollow|Heights|Croft|Orchard|Path|Ridge|Loop|Pass"
)
_NUMBER_WORDS = "|".join([*UNITS, *TEENS, *TENS, "hundred"])
_HOUSE_NUMBER = rf"(?:\d{{1,5}}[A-Za-z]?|(?:(?:{_NUMBER_WORDS})[\s-]?){{1,3}})"
_NAME_WORD = r"[A-Z][\w'’-]*"
_UNIT = r"(?:,?\s+(?:Apt\.?|Apartment|Suite|Flat|Unit)\s*#?\s*\w+)?"
_STREET_ADDRESS = re.compile(
    rf"(?:\b(?:Flat|Apartment|Unit)\s+\w+,?\s+)?\b{_HOUSE_NUMBER},?\s+(?:{_NAME_WORD}\s+){{1,3}}"
    rf"(?i:{STREET_SUFFIXES})\b\.?{_UNIT}"
)
# "9 Kingsway", "nine Eastgate": a house number and a one-word street name ending in -way or -gate.
_ONE_WORD_STREET = re.compile(rf"\b(?i:{_HOUSE_NUMBER})[ \t]+[A-Z][a-z]+(?:way|gate)\b")
# The words that make a house name: "Rose Cottage", "Ivy House", "Hill Farm", "Kingsway House" (after "Flat 2")
BUILDING_WORDS = r"House|Court|Lodge|Cottages?|Farm|Mill|Manor|Hall|Mansions|Tower|Flats|Home|Bungalow|Villa"
# "I live at Rose Cottage", "she's moved to Hill Farm": a home named where a street would be
_HOUSE_BY_CONTEXT = re.compile(
    rf"\b(?i:lives?|living|lived|moved|moving|address\s+is)\s+(?i:in|at|to)\s+"
    rf"((?:{_NAME_WORD}[ \t]+){{1,3}}(?:{BUILDING_WORDS}))\b"
)
_STREET_BY_CONTEXT = re.compile(
    rf"\b(?i:lives?|living|lived|moved|moving|address\s+is|house\s+on)\s+(?i:on|in|at|to|down)?\s*"
    rf"(?i:the\s+)?((?:{_NAME_WORD}\s+){{1,3}}(?i:{STREET_SUFFIXES}))\b"
)


def detect_addresses(text: str) -> list[Detection]:
    found = [Detection("ADDRESS", m.start(), m.end(), 0.8, m.group()) for m in _STREET_ADDRESS.finditer(text)]
    found += [Detection("ADDRESS", m.start(), m.end(), 0.7, m.group()) for m in _ONE_WORD_STREET.finditer(text)]
    found += [Detection("ADDRESS", m.start(1), m.end(1), 0.6, m.group(1)) for m in _STREET_BY_CONTEXT.finditer(text)]
    found += [Detection("ADDRESS", m.start(1), m.end(1), 0.6, m.group(1)) for m in _HOUSE_BY_CONTEXT.finditer(text)]
    return [d for d in found if not d.value.lower().startswith(("the ",))]


# ── written postal addresses, in any country's layout ──────────────────────
#
# A street line is "12 Mill Lane", "Friedhofstrasse 33", "Rue de Virton 38",
# "6185 Pfarrgasse 91" or "P.O. Box 149"; what follows it on the same block (flat or
# suite, town, region code, country, post or zip code) belongs to the address. Each
# part becomes its own detection (a UK postcode stays a POSTCODE); the redactor joins
# neighbouring address parts into one placeholder. A town the service works in
# (``UK_PLACES``) is kept even there: signposting needs it.

_LETTER = r"[^\W\d_]"
_AWORD = rf"{_LETTER}[\w'’.-]*"  # a word of letters in any script and case
_STREET_TYPES = (
    "rue avenue av av. boulevard bd chemin allée impasse quai route via viale vicolo piazza piazzale corso largo "
    "strada rua avenida calle carrer camino paseo plaza praça travessa ul ul. ulica ulice aleja al. trg náměstí "
    "odos leoforos gate gata gatan vej vei veien vegen út utca tér laan straat weg plein gracht kade cesta sokak "
    "caddesi square road street lane drive avenue close way place court crescent"
)
_STREET_TYPE_WORDS = frozenset(_STREET_TYPES.split())
STREET_TYPE_WORDS = _STREET_TYPE_WORDS  # "road", "lane", "close": redaction's test of a carried name reads these
_STREET_ENDINGS = (
    "strasse", "straße", "str.", "gasse", "weg", "platz", "allee", "damm", "ufer", "steig", "pfad",
    "katu", "tie", "kuja", "polku", "kaari", "rinne", "gata", "gatan", "vägen", "väg", "vej", "vegur", "vegen",
    "gården", "haven", "stien", "bakken",
    "veien", "stræti", "gränd", "laan", "straat", "plein", "gracht", "kade", "dreef", "singel", "utca", "ulica",
    "ulice", "cesta", "sokak", "caddesi", "road", "street", "lane", "avenue", "drive", "gardens", "grove",
)  # fmt: skip
_PARTICLE_WORDS = "de la le du des di da del dos das do van von der den z u v na y e et am"
_PARTICLES = frozenset(_PARTICLE_WORDS.split())
_HOUSE = r"\d{1,5}[A-Za-z]?"
_UNIT_WORD = r"(?:Apt\.?|Apartment|Suite|Ste\.?|Flat|Unit|Box|PSC|CMR)"
_NUMBERED_STREET = re.compile(rf"{_HOUSE}(?:[ \t]+[A-Z][\w'’-]*){{1,3}}")
_UNIT_PART = re.compile(
    rf"(?i:{_UNIT_WORD})[ \t]*#?[ \t]*(?:\d+[A-Za-z]?|(?i:{_NUMBER_WORDS})(?:[ \t-](?i:{_NUMBER_WORDS})){{0,2}})\b"
)
_PO_BOX = re.compile(r"\b(?i:P\.?\s?O\.?\s?Box|PSC|CMR|Unit)\s+\d{3,5}(?:,?\s*(?i:Box)\s+\d{3,5})?\b")
_MILITARY = re.compile(r"\b(?i:APO|FPO|DPO)\s+(?i:AA|AE|AP)\s+\d{5}\b|\bUSNS?\s+[A-Z][a-z]+\b")
# "6185 Pfarrgasse 91", "0138 Brisas 6802", "1593 Pagari 18": number, words, number on one line.
_NUMBER_WORDS_NUMBER = re.compile(rf"(?<![\w.,/:-]){_HOUSE}(?:[ \t]+{_AWORD}){{1,3}}[ \t]+\d{{1,5}}(?![\w/:-])")
# "Friedhofstrasse 33", "Rue de Virton 38", "Trenerys gate 232", "Via Roma 131".
_WORDS_NUMBER = re.compile(rf"(?<![\w'’-])(?:{_AWORD}[ \t]+){{0,4}}{_AWORD}[ \t]+{_HOUSE}(?![\w/:-])")
_ZIP = re.compile(r"\d{4,6}(?:-\d{4})?(?![\w-])|\d{3}[ \t]\d{2}(?![\w-])|\d{4}[ \t]?[A-Z]{2}(?![\w-])")
_SEPARATOR = re.compile(r"[ \t]*,?[ \t]*(?:\n[\s>?*|-]*)?,?[ \t]*")
_PLACE_WORDS = re.compile(rf"{_AWORD}(?:[ \t]+{_AWORD}){{0,3}}(?:[ \t]*\([^)\n]{{1,20}}\))?")
_ADDRESS_CUE = re.compile(
    r"(?i:\baddress(?:es)?\b(?:\s+is\s*:?|\s+to\s+the\s+same\s*:|\s*:|\?\s*(?:it\s+is|it's))\s*|"
    r"\b(?:lives?|living|stays?)\s+at\s+|\bmeet\s+me\s+at\s+|\btaxi\s+to\s+|\bsent\s+to\?\s*User:\s*)"
)
_CORNER = re.compile(r"\b(?i:corner\s+of)\s+(?i:the\s+)?")


_SENTENCE_END = re.compile(r"(?<!\bApt)(?<!\bapt)(?<!\bSte)(?<!\bSt)(?<!\bRd)(?<!\bul)(?<!\bAv)[.?!](?=\s|$)|\n\s*\n")


def _is_street_word(word: str) -> bool:
    low = word.lower()
    return low in _STREET_TYPE_WORDS or (len(low) > 4 and low.endswith(_STREET_ENDINGS))


def _capitalised(words: list[str]) -> bool:
    """Every word starts with a capital, apart from particles ("Rue de Virton", "Jiřího z Poděbrad")."""
    return all(w[0].isupper() or w.lower() in _PARTICLES or _is_street_word(w) for w in words) and (
        words[0][0].isupper() or _is_street_word(words[0])
    )


_CITATION = re.compile(r"\bet\s+al\b", re.IGNORECASE)


def _street_lines(text: str) -> list[tuple[int, int]]:
    lines: list[tuple[int, int]] = []
    for m in _NUMBER_WORDS_NUMBER.finditer(text):
        words = m.group().split()[1:-1]
        if _capitalised(words) and not all(w.lower() in _PARTICLES for w in words):
            lines.append(m.span())
    lines += [m.span() for m in _STREET_ADDRESS.finditer(text)]
    for m in _WORDS_NUMBER.finditer(text):
        if _CITATION.search(m.group()):
            continue  # "Smith et al. 2009" cites a paper; "al." is otherwise a street word (aleja)
        words = m.group().split()[:-1]
        # the street word decides; trim leading words that are not part of the name
        for i in range(len(words)):
            rest = words[i:]
            if any(_is_street_word(w) for w in rest) and _capitalised(rest):
                lines.append((_start_of(text, m.start(), words, i), m.end()))
                break
    for m in (*_PO_BOX.finditer(text), *_MILITARY.finditer(text)):
        lines.append(m.span())
    return lines


def _start_of(text: str, start: int, words: list[str], index: int) -> int:
    """Offset of ``words[index]`` in the match that starts at ``start``."""
    cursor = start
    for word in words[:index]:
        cursor = text.index(word, cursor) + len(word)
    return text.index(words[index], cursor)


def _address_parts(text: str, end: int, parts: list[Detection]) -> int:
    """Follow a street line through unit, town, region, country and zip; returns where the block ends."""
    for _ in range(8):
        sep = _SEPARATOR.match(text, end)
        assert sep is not None
        at = sep.end()
        if at >= len(text) or not sep.group():
            break
        if m := (
            _UNIT_PART.match(text, at) or _PO_BOX.match(text, at) or _MILITARY.match(text, at)
            or (_NUMBERED_STREET.match(text, at) if parts and parts[-1].value.startswith(("Flat", "Apt")) else None)
        ):  # fmt: skip
            parts.append(Detection("ADDRESS", m.start(), m.end(), 0.75, m.group()))
        elif (m := _ZIP.match(text, at)) or (m := re.compile(UK_POSTCODE).match(text, at)):
            compact = m.group().replace(" ", "").upper()
            kind = "POSTCODE" if postcode_ok(compact) or m.group().isdigit() else "ADDRESS"
            parts.append(Detection(kind, m.start(), m.end(), 0.7, compact))
        elif m := re.compile(r"[A-Z]{2}(?![\w])").match(text, at):  # a region code: "ON", "NO", "AT"
            parts.append(Detection("ADDRESS", m.start(), m.end(), 0.6, m.group()))
        elif (m := _PLACE_WORDS.match(text, at)) and _capitalised(m.group().split("(")[0].split()):
            words = m.group().split("(")[0].split()
            if not any(w.strip(",.") in UK_PLACES for w in words):
                parts.append(Detection("ADDRESS", m.start(), m.end(), 0.6, m.group()))
        else:
            break
        end = m.end()
    return end


def detect_postal_addresses(text: str) -> list[Detection]:
    """Street lines in any country's layout with the rest of their postal block; units and P.O. boxes."""
    found: list[Detection] = []
    for start, end in _street_lines(text):
        if before := re.search(r"(?<![\w.,:/-])\d{1,6}[ \t]+$", text[max(0, start - 8) : start]):
            start -= len(before.group())  # "13813 3784 Archwood Avenue": a building or box number before it
        found.append(Detection("ADDRESS", start, end, 0.75, text[start:end]))
        _address_parts(text, end, found)
    for m in _UNIT_PART.finditer(text):
        found.append(Detection("ADDRESS", m.start(), m.end(), 0.7, m.group()))
        _address_parts(text, m.end(), found)
    for cue in (*_ADDRESS_CUE.finditer(text), *_CORNER.finditer(text)):
        tail = text[cue.end() : cue.end() + 160]
        stop = _SENTENCE_END.search(tail)
        value = tail[: stop.start() if stop else len(tail)].rstrip(" ,\n")
        if (value[:1].isdigit() or cue.re is _CORNER) and len(value.split()) <= 16:
            for piece in re.finditer(r"[^\s,][^,\n]*", value):  # a service town in it stays
                if piece.group().strip(" .") not in UK_PLACES:
                    start = cue.end() + piece.start()
                    found.append(Detection("ADDRESS", start, start + len(piece.group().rstrip()), 0.65, piece.group()))
    return found


# ── dates, and dates of birth by their context ──────────────────────────────

MONTHS = {
    m: i
    for i, names in enumerate(
        [("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"), ("may",),
         ("june", "jun"), ("july", "jul"), ("august", "aug"), ("september", "sep", "sept"),
         ("october", "oct"), ("november", "nov"), ("december", "dec")],
        start=1,
    )
    for m in names
}  # fmt: skip
FULL_MONTHS = frozenset(
    ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november",
     "december"]
)  # fmt: skip
ORDINALS = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7,
    "eighth": 8, "ninth": 9, "tenth": 10, "eleventh": 11, "twelfth": 12, "thirteenth": 13,
    "fourteenth": 14, "fifteenth": 15, "sixteenth": 16, "seventeenth": 17, "eighteenth": 18,
    "nineteenth": 19, "twentieth": 20, "thirtieth": 30,
}  # fmt: skip
_MONTH = r"(?P<month>" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\.?"
_ORDINAL_WORD = r"(?:(?:twenty|thirty)[\s-]?)?(?:" + "|".join(ORDINALS) + ")"
_DAY = rf"(?P<day>\d{{1,2}}(?:st|nd|rd|th)?|{_ORDINAL_WORD})"
_YEAR_WORDS = (
    rf"(?:nineteen|two\s+thousand(?:\s+and)?|twenty)(?:\s+(?:hundred|oh\s+(?:{'|'.join(UNITS)})|"
    rf"(?:{'|'.join(TENS)})(?:[\s-](?:{'|'.join(UNITS)}))?|{'|'.join(TEENS)}|{'|'.join(UNITS)}))?"
)
_TWO_DIGIT_WORDS = rf"(?:(?:{'|'.join(TENS)})(?:[\s-](?:{'|'.join(UNITS)}))?)"
_YEAR = rf"(?P<year>\d{{4}}|'?\d{{2}}\b|{_YEAR_WORDS}|{_TWO_DIGIT_WORDS})"
HOLIDAYS = {"new year's day": (1, 1), "christmas day": (25, 12), "christmas eve": (24, 12), "boxing day": (26, 12)}
_CARDINAL_DAY = rf"(?:(?:twenty|thirty)[\s-](?:{'|'.join(UNITS)})|{'|'.join(TEENS)}|twenty|thirty|{'|'.join(UNITS)})"
_MONTH_NUMBER = r"(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve)"
# "the third of the eleventh", "the 3rd of the 11th": a month said as its ordinal, "the" before it
_ORDINAL_MONTH = (
    r"(?P<month>first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|eleventh|twelfth"
    r"|(?:0?[1-9]|1[0-2])(?:st|nd|rd|th))"
)
# "the first of the second world war", "the third of the eleventh hole": an ordinal, not a month
_NOT_AN_ORDINAL_MONTH = (
    r"(?![ \t-]+(?:hole|floor|time|times|month|week|day|year|round|place|row|generation|century|world|child|grandchild|"
    r"house|door|lot|one|ones)\b)"
)
_DATE_PATTERNS = [
    re.compile(r"\b(?P<day>\d{1,2})[/.\-](?P<month>\d{1,2})[/.\-](?P<year>\d{4}|\d{2})\b"),
    re.compile(rf"\b(?:the\s+)?{_DAY}\s+(?:of\s+)?{_MONTH}(?:,?\s+{_YEAR})?", re.IGNORECASE),
    re.compile(rf"\b{_MONTH}\s+(?:the\s+)?{_DAY}(?:,?\s+{_YEAR})?", re.IGNORECASE),
    re.compile(
        rf"\b(?:the\s+)?{_DAY}\s+of\s+the\s+{_ORDINAL_MONTH}\b{_NOT_AN_ORDINAL_MONTH}(?:,?\s+{_YEAR})?", re.IGNORECASE
    ),
    re.compile(rf"\bborn\s+in\s+(?:{_MONTH}\s+)?{_YEAR}", re.IGNORECASE),
    re.compile(rf"\b(?P<holiday>{'|'.join(HOLIDAYS)})(?:,?\s+{_YEAR})?", re.IGNORECASE),
    # "03 11 1954", "3 11 54": a date read out from a form, the figures apart
    re.compile(r"\b(?P<day>\d{1,2})[ \t]+(?P<month>\d{1,2})[ \t]+(?P<year>\d{4}|\d{2})\b(?![ \t]*\d)"),
    # "three eleven nineteen fifty four", "three eleven fifty four"
    re.compile(
        rf"\b(?P<day>{_CARDINAL_DAY})\s+(?P<month>{_MONTH_NUMBER})\s+(?P<year>{_YEAR_WORDS}|{_TWO_DIGIT_WORDS})\b",
        re.IGNORECASE,
    ),
    re.compile(
        rf"\b(?P<year>(?:19|20)\d{{2}}|nineteen\s+(?:{_TWO_DIGIT_WORDS}|{'|'.join(TEENS)}|hundred))\b", re.IGNORECASE
    ),
]
_DOB_CONTEXT = re.compile(r"\b(?:born|birth|birthday|d\.?\s?o\.?\s?b\b|dob)", re.IGNORECASE)
# said after the date: "..., when I was born", "..., that's my date of birth", "... is her birthday"
_DOB_AFTER = re.compile(
    r"[\s,.;:-]*(?:(?:when|that)?\s*(?:I|she|he|they) (?:was|were) born"
    r"|(?:(?:that|it|which)(?:'s|’s| is| was)|is|was)\s+(?:my|his|her|their|your)\s+"
    r"(?:date of birth|birth ?date|birthday|d\.?\s?o\.?\s?b\b))",
    re.IGNORECASE,
)


def _spoken_number(words: str) -> int | None:
    total, current = 0, 0
    for word in re.split(r"[\s-]+", words.lower()):
        if word in ("and", ""):
            continue
        if word in UNITS:
            current += int(UNITS[word])
        elif word in TEENS:
            current += int(TEENS[word])
        elif word in TENS:
            current += int(TENS[word]) * 10
        elif word in ORDINALS:
            current += ORDINALS[word]
        elif word == "hundred":
            current = (current or 1) * 100
        elif word == "thousand":
            total, current = total + (current or 1) * 1000, 0
        else:
            return None
    return total + current


def _year(text: str | None) -> int | None:
    if not text:
        return None
    text = text.strip("'").lower()
    words = text.split()
    if words[0] in ("nineteen", "twenty") and len(words) > 1 and words[1] != "hundred":
        rest = _spoken_number(" ".join(words[1:]))
        return None if rest is None else int(TEENS.get(words[0], "20")) * 100 + rest
    value = int(text) if text.isdigit() else _spoken_number(text)
    if value is not None and value < 100:
        return 1900 + value if value > 25 else 2000 + value
    return value


def _day(text: str) -> int | None:
    digits = re.match(r"\d+", text)
    return int(digits.group()) if digits else _spoken_number(text)


@dataclass(frozen=True)
class DateMention:
    start: int
    end: int
    day: int | None
    month: int | None
    year: int | None

    @property
    def iso(self) -> str:
        return f"{self.year or '????'}-{self.month or 0:02d}-{self.day or 0:02d}"


def find_dates(text: str) -> list[DateMention]:
    """Every calendar date, written or spoken, with its parts where they can be read."""
    dates: list[DateMention] = []
    for pattern in _DATE_PATTERNS:
        for m in pattern.finditer(text):
            groups = m.groupdict()
            raw_month = groups.get("month")
            month = (
                None if raw_month is None
                else _day(raw_month) if raw_month[:1].isdigit()  # "11", "11th"
                else MONTHS.get(raw_month.lower().rstrip("."), _spoken_number(raw_month))
            )  # fmt: skip
            day = _day(groups["day"]) if groups.get("day") else None
            if groups.get("holiday"):
                day, month = HOLIDAYS[re.sub(r"['’]", "'", groups["holiday"].lower())]
            year = _year(groups.get("year"))
            if (month is not None and not 1 <= month <= 12) or (day is not None and not 1 <= day <= 31):
                continue
            if raw_month and raw_month.lower() == "may" and day is None:
                continue
            start, end = m.start(), m.end()
            if re.match(r"(?i:the)\s", m.group()):
                start += len(re.match(r"(?i:the)\s+", m.group()).group())  # type: ignore[union-attr]
            if m.group().endswith(".") and raw_month and raw_month.lower() in FULL_MONTHS:
                end -= 1  # "the ninth of November." ends a sentence; "Nov." keeps its dot
            dates.append(DateMention(start, end, day, month, year))
    return dates


def detect_dates_of_birth(text: str, before: str = "") -> list[Detection]:
    """Dates said near 'born', 'date of birth', 'DOB' or 'birthday' before them, or named as one just after.

    ``before`` is the line said just before this text (the other speaker's): its last words count
    as context for a date near the start, as they would were the two lines one text, so the answer
    to "Can I check your date of birth?" is a birth date.
    """
    found = []
    for date in find_dates(text):
        context = text[max(0, date.start - 100) : date.end]
        if date.start < 100 and before:
            context = before[-(100 - date.start) :] + "\n" + context
        if _DOB_CONTEXT.search(context) or _DOB_AFTER.match(text, date.end):
            found.append(Detection("DATE_OF_BIRTH", date.start, date.end, 0.85, date.iso))
    return found


# ── named GP surgeries, care homes, schools and employers ───────────────────

PLACE_SUFFIXES = (
    r"Surgery|Medical\s+Centre|Medical\s+Practice|Health\s+Centre|Group\s+Practice|Practice|"
    r"Care\s+Home|Nursing\s+Home|Residential\s+Home|Care\s+Centre|Retirement\s+Village|"
    r"Primary\s+School|Junior\s+School|Infant\s+School|High\s+School|Secondary\s+School|Academy|School|College|Institute|University"
)
_NAMED_PLACE = re.compile(rf"\b(?:(?:St\.?|Saint)\s+)?(?:{_NAME_WORD}\s+){{1,4}}(?i:{PLACE_SUFFIXES})\b")
_EMPLOYER = re.compile(
    rf"\b(?i:works|worked|working|work|job|employed|driver|nurse|teacher|cleaner|volunteer|manager|assistant)"
    rf"\s+(?i:at|for|by)\s+(?:the\s+)?({_NAME_WORD}(?:\s+{_NAME_WORD}){{0,2}})"
)
_NOT_A_NAME = frozenset(
    {
        "The",
        "A",
        "My",
        "Our",
        "Her",
        "His",
        "Their",
        "Your",
        "This",
        "That",
        "I",
        "Which",
        "What",
        "Any",
        "Local",
        "Every",
    }
)


def detect_named_places(text: str) -> list[Detection]:
    found: list[Detection] = []
    for m in _NAMED_PLACE.finditer(text):
        words = m.group().split()
        start = m.start() + (len(words[0]) + 1 if words[0] in _NOT_A_NAME else 0)
        value = text[start : m.end()]
        if start < m.end() and len(value.split()) >= 2 and not value.startswith("Women"):
            found.append(Detection("ORGANISATION", start, m.end(), 0.7, text[start : m.end()]))
    for m in _EMPLOYER.finditer(text):
        value = m.group(1).rstrip()
        if value.split()[0] not in _NOT_A_NAME:
            found.append(Detection("ORGANISATION", m.start(1), m.start(1) + len(value), 0.6, value))
    return found


# "O'Brien", "Smith-Jones"; not "Nadia's" or "June'll", whose ending is not the name's
_NAME = r"[A-Z][a-z]+(?:['’](?!(?:s|d|ll|re|ve|m)\b)[A-Z]?[a-z]+|-[A-Z]?[a-z]+)?"
_TITLED = re.compile(rf"\b(?:Mr|Mrs|Ms|Miss|Mx|Dr|Doctor|Mister|Nurse|Sister)\.?\s+({_NAME})")
_RELATION = re.compile(
    rf"\b(?i:son|daughter|husband|wife|partner|mate|friend|sister|brother|mum|mother|dad|father|carer|"
    rf"neighbour|lad|nephew|niece|grandson|granddaughter|key\s+worker|support\s+worker)"
    rf"(?:\s+(?:is|was|called))?,?\s+({_NAME}(?:\s+{_NAME})?)"
)
_ADDRESSED = re.compile(
    rf"\b(?:Hi|Hello|Morning|Afternoon|Evening|Thanks|Bye|Call\s+me|I'm|I\s+am|is\s+it|must\s+be|"
    rf"this\s+is|Is|with)\s*,?\s+({_NAME}(?:\s+{_NAME})?)(?=[\s,.?!]|$)"
)
# Of those cues, the ones that only ever name a person ("Hi June"), not a time ("is it June already?").
_GREETING_CUE = re.compile(r"(?:Hi|Hello|Morning|Afternoon|Evening|Thanks|Bye|Call\s+me|I'm|I\s+am)\b")
# Capitalised words that follow those cues but are not names.
NOT_NAMES = frozenset(
    [
        # a question after a cue: "And your surname? How do you spell that?"
        "How",
        "What",
        "Why",
        "Where",
        "Which",
        "When",
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
        "OT",
        "NHS",
        "GP",
        "Mum",
        "Dad",
        "Email",
        "The",
        "It",
        "There",
        "That",
        "This",
        "Yes",
        "No",
        "Okay",
        "Sorry",
        "Great",
        "Lovely",
        "Fine",
        "Good",
        "Thanks",
        "Thank",
        "Please",
        "Here",
        "Still",
        "Just",
        "Not",
    ]
)
# Months that are first names too ("my wife June", "April rings me", "Mrs May"). NOT_NAMES keeps
# them out of the general name rules; a rule below takes one as a name only where a month cannot be.
NAME_MONTHS = frozenset({"April", "May", "June"})
_MONTH_BEFORE = re.compile(
    r"\b(?i:in|of|since|until|till|through|during|early|late|mid|last|next|this|every|each)[ \t-]+$"
)
_MONTH_AFTER = re.compile(rf"[ \t]+(?:(?i:the)[ \t]+)?(?:\d|(?i:{'|'.join([*UNITS, *TEENS, *TENS, *ORDINALS])})\b)")
_MODAL_AFTER = re.compile(r"[ \t]+(?i:I|we|you|he|she|they|it|that|this|there)\b")  # "May I ask?"


def said_as_month(text: str, start: int, end: int) -> bool:
    """'in June', 'last May', 'June the third', '3 June 1949', 'May I ask': the word is not a name here."""
    if _MONTH_BEFORE.search(text[max(0, start - 20) : start]) or _MONTH_AFTER.match(text, end):
        return True
    if text[start:end] == "May" and _MODAL_AFTER.match(text, end):
        return True
    low = max(0, start - 60)
    return any(low + d.start <= start and end <= low + d.end for d in find_dates(text[low : end + 60]))


# Places, services and words spaCy's small model tags as PERSON that the note needs.
UK_PLACES = frozenset(
    [
        "Basildon",
        "Billericay",
        "Braintree",
        "Brentwood",
        "Burnham",
        "Canvey",
        "Chelmsford",
        "Clacton",
        "Clacton-on-Sea",
        "Colchester",
        "Dunmow",
        "Epping",
        "Frinton",
        "Halstead",
        "Harlow",
        "Harwich",
        "Loughton",
        "Maldon",
        "Rayleigh",
        "Rochford",
        "Saffron",
        "Walden",
        "Southend",
        "Southend-on-Sea",
        "Tiptree",
        "Waltham",
        "Wickford",
        "Witham",
        "Writtle",
        "Ipswich",
        "Norwich",
        "Cambridge",
        "London",
        "Derby",
        "Leeds",
        "York",
        "Hull",
        "Bath",
        "Wells",
        "Reading",
        "Luton",
        "Sheffield",
        "Manchester",
        "Liverpool",
        "Bristol",
        "Leicester",
        "Nottingham",
        "Birmingham",
        "Coventry",
        "Oxford",
        "Essex",
        "Suffolk",
        "Kent",
        "Hylands",
        "Lexden",
        "Highwoods",
        "Garons",
    ]
)


_UNAME = r"[^\W\d_][\w'’-]*\.?"  # a word in any script; initials ("J.") included
_NAME_CUE = re.compile(
    r"\b(?i:(?:my|his|her|their|your|maiden|full|first|last|middle|sur)\s*name\s+(?:is|was)|"
    r"(?:first\s+|last\s+|sur)?name\s*[:?]|called|calls\s+me|dear|(?:directed|written|produced|signed)\s+by:?|"
    r"producer|director|author|attn:?|founders?:|kid|child|grandfather|grandmother|grandma|grandad|uncle|aunt|"
    r"cousin|colleague|boss|beneficiary:?|(?:add|remove|update)\s+(?:my\s+\w+\s+)?)[ \t]*"
)
_NAME_AFTER_CUE = re.compile(rf"{_UNAME}(?:[ \t]+{_UNAME}){{0,3}}")
_NAME_PARTICLES = frozenset({"van", "von", "de", "der", "den", "da", "di", "du", "le", "la", "bin", "al", "ter"})


def _name_run(value: str, months: bool = False) -> str:
    """The leading run of capitalised words, initials and particles, ending on a capitalised word.

    ``months``: a month that is also a first name ("June", "May") may open the run.
    """
    words: list[str] = []
    for word in value.split():
        if not (word[0].isupper() or word.lower() in _NAME_PARTICLES) or (
            word.rstrip(".") in NOT_NAMES and not (months and not words and word.rstrip(".") in NAME_MONTHS)
        ):
            break
        words.append(word)
        if word.endswith(".") and len(word) > 2:  # "Will. Come in": a full stop ends the name (not "J.")
            break
    while words and not words[-1][0].isupper():
        words.pop()
    return " ".join(words).rstrip(".") if words and len(words[-1].rstrip(".")) > 1 else " ".join(words[:-1])


_PRONOUN_WORDS = (
    "I He She They We You It Who Everyone Everybody Someone Nobody One My His Her Their Our Your Its This That "
    "These Those There Here What Which Whoever Mum Dad Mother Father Nan Grandad Grandma"
)
_PRONOUNS = frozenset(_PRONOUN_WORDS.split())
PRONOUNS = _PRONOUNS
_SUBJECT_VERB = re.compile(
    rf"((?:{_UNAME}[ \t]+){{0,3}}{_UNAME})[ \t]+(?:lives|lived|said|says|shouted|asked|replied|told|spent|began|"
    r"had\s+given|is\s+from|will\s+be\s+talking|was\s+born)\b"
)
# What a person does and a month does not: "June picks me up", "May rings on Sundays".
_PERSON_VERBS = (
    r"picks|picked|drives|drove|takes|took|brings|brought|helps|helped|visits|visited|rings|rang|phones|phoned|"
    r"texts|texted|calls|called|cooks|cooked|cleans|cleaned|does|did|lives|lived|says|said|tells|told|asks|asked|"
    r"shouted|replied|knows|knew|thinks|thought|wants|wanted|likes|liked|loves|loved|reckons|reckoned|worries|"
    r"worried|manages|managed|washes|washed|dresses|dressed|buys|bought|shops|shopped|collects|collected|sorts|"
    r"sorted|checks|checked|pops|popped|looks\s+after|looked\s+after|sees\s+to|saw\s+to|"
    r"(?:gets|got)\s+(?:me|my|him|her|us|the)|(?:comes|came|goes|went|stays|stayed)\s+(?:round|over|with)|"
    # a visit: "Grace comes on Fridays", "June came in every Tuesday", "Rose is coming round", "Rose is coming on
    # Tuesday" (not "May is coming soon")
    r"(?:comes|came|(?:is|was|['’]s)\s+coming)\s+(?:round|over|to\s+(?:see|visit|stay)\b|(?:in\s+)?(?:on|every)\s+"
    r"(?:a\s+)?(?i:mon|tues|wednes|thurs|fri|satur|sun)(?i:days?))"
)
_MONTH_SUBJECT = re.compile(rf"\b({'|'.join(sorted(NAME_MONTHS))})[ \t]+(?:{_PERSON_VERBS})\b")
_COMPANY = re.compile(r"\b(?i:inc|ltd|llc|plc|corp|group|company|co|limited|gmbh|services|solutions)\.?$")


def detect_names_as_subjects(text: str) -> list[Detection]:
    """'Trivo lives on ...', 'Enrico shouted at ...': a capitalised name right before such a verb."""
    found: list[Detection] = []
    for m in _SUBJECT_VERB.finditer(text):
        words = m.group(1).split()
        while words and not (words[0][0].isupper() and words[0] not in _PRONOUNS and words[0] not in NOT_NAMES):
            words.pop(0)
        value = _name_run(" ".join(words)) if words else ""
        if value and value == " ".join(words).rstrip(".") and value.split()[0] not in UK_PLACES:
            start = m.start(1) + m.group(1).rindex(value) if value in m.group(1) else m.start(1)
            if re.search(r"\b(?i:the|a|an|this|that|my|our|your|his|her|their)\s+$", text[max(0, start - 8) : start]):
                continue  # "The Pool Pod lives at ...": a thing, not a person
            found.append(Detection("PERSON", start, start + len(value), 0.6, value))
    for m in _MONTH_SUBJECT.finditer(text):  # "June picks me up"; not "in June called ..."
        if not said_as_month(text, m.start(1), m.end(1)):
            found.append(Detection("PERSON", m.start(1), m.end(1), 0.6, m.group(1)))
    return found


def detect_names_above_addresses(text: str, addresses: list[Detection]) -> list[Detection]:
    """In a written contact block, a line of two to four capitalised words just above the address is a name."""
    found: list[Detection] = []
    for address in addresses:
        line_start = text.rfind("\n", 0, address.start) + 1
        if text[line_start : address.start].strip(" \t>?*|-"):
            continue  # the address does not start its line
        cursor = line_start - 1
        for _ in range(3):
            if cursor <= 0:
                break
            begin = text.rfind("\n", 0, cursor) + 1
            line = text[begin:cursor]
            stripped = line.strip(" \t>?*|-")
            words = stripped.split()
            if (
                2 <= len(words) <= 4 and _name_run(stripped) == stripped.rstrip(".")
                and not _COMPANY.search(stripped) and not any(w in UK_PLACES or w in _PRONOUNS for w in words)
            ):  # fmt: skip
                start = begin + line.index(stripped)
                found.append(Detection("PERSON", start, start + len(stripped), 0.55, stripped))
            cursor = begin - 1
    return found


def detect_names_by_cue(text: str) -> list[Detection]:
    """Names after a title, a relation ("my daughter Carol"), a greeting ("Hi Will,") or "my name is"."""
    found: list[Detection] = []
    for cue in _NAME_CUE.finditer(text):
        m = _NAME_AFTER_CUE.match(text, cue.end())
        if m and (value := _name_run(m.group(), months=True)) and value.split()[0] not in UK_PLACES:
            first = value.split()[0]
            if first not in NAME_MONTHS or not said_as_month(text, m.start(), m.start() + len(first)):
                found.append(Detection("PERSON", m.start(), m.start() + len(value), 0.7, value))
    for pattern, score in ((_TITLED, 0.8), (_RELATION, 0.75), (_ADDRESSED, 0.6)):
        for m in pattern.finditer(text):
            words = m.group(1).split()
            # "my wife June", "Mrs May", "Hi April": a month named by a title, a relation or a greeting
            month = (
                words[0] in NAME_MONTHS
                and (pattern is not _ADDRESSED or bool(_GREETING_CUE.match(m.group())))
                and not said_as_month(text, m.start(1), m.start(1) + len(words[0]))
            )
            while len(words) > int(month) and (words[-1] in NOT_NAMES or words[-1] in UK_PLACES):
                words.pop()
            if (
                words and (words[0] not in NOT_NAMES or month)
                and (pattern is not _ADDRESSED or words[0] not in UK_PLACES)
            ):  # fmt: skip
                value = " ".join(words)
                found.append(Detection("PERSON", m.start(1), m.start(1) + len(value), score, value))
    return found


# ── first names from a gazetteer ────────────────────────────────────────────
#
# spaCy's small model misses single first names in speech ("Helen comes on Tuesdays", "Nadia from
# next door helps"): it tags nothing there, or ORG or GPE. The US Census 1990 first-name lists, as
# shipped in the PyPI package ``names`` (MIT; the Census data itself is US government work, public
# domain), name about 5,200 of them; a word on them is taken as a person's name where the text says it
# is one. The rule, and why:
#
# * it is capitalised as a name is ("Helen"): speech recognition and writers capitalise names and
#   leave ordinary words in lower case, so "by the grace of God", "a rose bush" and "I hope so" never
#   start here; a text with no capitals at all names no one by this rule;
# * it is not a word the other name rules keep (``NOT_NAMES``: months and days, "Yes", "Mum"; a
#   service town in ``UK_PLACES``; a pronoun; and whatever the redactor's ``name_like`` refuses: the
#   common words and thing words that are never carried, so a name this finds can always be carried
#   to the assessment's other turns). April, May and June stay with the month rules
#   (``said_as_month``, a person verb after them): spaCy tags every month PROPN, so the tag says nothing;
# * it is not a title ("Miss", "Princess", "Major") and has no article before it ("the Princess Royal",
#   "the Grace of God", "a Will"): an article makes it a common noun or part of a title;
# * it is not part of a longer entity spaCy found ("Victoria Station", "Christian Aid", "Helen Barker"):
#   that phrase is a place or a thing, or a longer name spaCy redacts whole;
# * "Will" (and any first name that is a modal verb) does not open a question: "Will you help?";
# * then either a person verb follows ("Rose rings me", "Grace comes on Fridays": what a person does,
#   as for a month that is a name), or spaCy's tagger reads it as a proper noun (PROPN) in its sentence,
#   except where the capital is no evidence: at the start of a sentence, a first name that is also an
#   ordinary verb, adjective or adverb ("Hope so.", "Will do.", "Mark my words.", "Pat it dry.",
#   "Frank speaking") is a name only with the person verb after it. The small tagger reads such words
#   PROPN there about as often as not, whatever they mean. "Ordinary word" is read from WordNet's verb,
#   adjective and adverb index in the model's own lemmatizer tables, not from a list kept by hand; its
#   noun index lists people too ("helen", "david"), so nouns are not asked: a first name that is only a
#   noun (Faith, Holly, Ivy, Daisy, Penny) is left to the tagger.
#
# Its findings score below spaCy's PERSON (0.85) and below every name rule in ``detect_uk``, so where
# they overlap a longer name found another way the longer one is kept.

NAME_FILES = ("dist.female.first", "dist.male.first")
# First names that are also modal verbs, and what follows one that asks: "Will you…", "May I…", "Can we…"
MODAL_NAMES = frozenset({"will", "may", "can", "should", "shall"})
_ASKING = r"\s+(?i:i|you|we|he|she|they|it|that|this|there|your|my|the)\b"
QUESTION_AFTER_MODAL = rf"(?!{_ASKING})"  # "Will I", "Will you": a lookahead for regexes that match the name
_ASKS = re.compile(_ASKING)
_PERSON_VERB_AFTER = re.compile(rf"[ \t]+(?:{_PERSON_VERBS})\b")
_ARTICLE_BEFORE = re.compile(r"\b(?i:the|a|an)[ \t]+$")
_TITLES = (
    "Miss Mister Master Madam Sir Dame Lady Lord Prince Princess King Queen Duke Duchess Earl Baron Count Countess "
    "Major Captain General Colonel Sergeant Sister Brother Nurse Doctor Father Mother Reverend Pastor Bishop Saint "
    "Judge Officer Constable Professor"
)
_TITLE_WORDS = frozenset(_TITLES.split())
_SENTENCE_BREAK = re.compile(r"[.!?…]+[\"'”’)\]]*(?=\s)|\n")
# What may come between the start of a sentence and its first word: quotes, dashes, a speaker's label.
_SENTENCE_OPENING = re.compile(r"[\s\"'“‘(\[*–—-]*(?:(?:\[\d+\][ \t]*)?[A-Z][\w'’ .-]{0,40}:[ \t]+[\"'“‘(]*)?")
# spaCy entity labels of a named thing: a first name inside a longer one of these is part of its name.
_NAMED_LABELS = frozenset({"PERSON", "ORG", "FAC", "GPE", "LOC", "NORP", "PRODUCT", "EVENT", "WORK_OF_ART", "LAW"})
_SENTENCE_REACH = 300  # characters either side of a name read as its sentence, at most


@functools.cache
def first_names() -> frozenset[str]:
    """The gazetteer's first names as they are written in text ("Helen"), read once from the package's files."""
    found: set[str] = set()
    for name in NAME_FILES:
        lines = files("names").joinpath(name).read_text(encoding="utf-8").splitlines()
        found.update(line.split()[0].capitalize() for line in lines if line.strip())
    return frozenset(found)


# Words that make a first name and the word after it a place or an organisation, not a person: "Victoria
# Station", "Christian Aid", "Florence Nightingale Ward" (each of these words is also a Census surname).
_PLACE_NOUNS = (
    "station aid park house court hall church bank ward wing school college academy trust centre center hospital "
    "surgery library society club group team service services council practice clinic unit home lodge farm mill "
    "manor tower green square close way street road lane avenue gardens drive foundation fund charity "
    "community hub pool gym leisure cottage cottages villa bungalow mansions flats terrace crescent mews place row "
    "walk view rise hospice shop store cafe pub inn"
)
_NOT_A_SURNAME = frozenset(_PLACE_NOUNS.split())


@functools.cache
def surnames() -> frozenset[str]:
    """The Census surname list, as written in text ("Ellis"), read once."""
    lines = files("names").joinpath("dist.all.last").read_text(encoding="utf-8").splitlines()
    return frozenset(line.split()[0].capitalize() for line in lines if line.strip())


def _full_name(doc: Any, token: Any) -> tuple[int, int] | None:
    """A first name and a surname after it inside a longer entity spaCy did not call a person ("Call Margaret
    Ellis", "Tell Dennis Hart": the capital of the verb before them made it an organisation): their span,
    unless a word of theirs or the one after them makes the phrase a place or an organisation."""
    if token.i + 1 >= len(doc):
        return None
    surname = doc[token.i + 1]
    first_part = surname.text.split("-")[0]
    if not (
        surname.text[:1].isupper()
        and first_part in surnames()
        and surname.text.lower() not in _NOT_A_SURNAME
        and first_part.lower() not in STREET_TYPE_WORDS
        and surname.text not in UK_PLACES
        and surname.text not in NOT_NAMES
    ):
        return None
    last = token.i + 1
    while (  # a double-barrelled surname, which spaCy splits at its hyphen: "Ellis-Smith"
        last + 2 < len(doc)
        and doc[last + 1].text == "-"
        and not doc[last].whitespace_
        and not doc[last + 1].whitespace_
        and doc[last + 2].text.istitle()
    ):
        last += 2
    if last + 1 < len(doc) and doc[last + 1].text.lower() in _NOT_A_SURNAME:
        return None  # "Margaret Ellis House"
    return token.idx, doc[last].idx + len(doc[last].text)


# Medicines, which spaCy's small model often calls people ("Tramadol.", "Baclofen for the spasms"): the note
# needs them, and they identify no one. The drug names (generic and brand, from DrugBank, MeSH and MedlinePlus)
# of the PyPI package ``drug-named-entity-recognition`` (MIT, Fast Data Science), read from its dictionary file
# without importing its finder (which reads and writes a cache in the home directory). A drug name that is also
# a first name or surname in the Census lists ("Kendrick", "Camila", "Allegra") is left out: it may be a person.
MEDICINES_FILE = "drug_ner_dictionary.pkl.bz2"


@functools.cache
def medicines() -> frozenset[str]:
    """One-word drug names, lower case ("tramadol", "co-codamol"), read once; none that is also a Census name."""
    import bz2
    import importlib.util
    import pickle
    from pathlib import Path

    spec = importlib.util.find_spec("drug_named_entity_recognition")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("drug-named-entity-recognition is not installed: run make install")
    with bz2.open(Path(spec.submodule_search_locations[0]) / MEDICINES_FILE, "rb") as f:
        variants = pickle.load(f)["drug_variant_to_canonical"]  # the installed package's own data, not input
    people = {n.lower() for n in first_names() | surnames()}
    return frozenset(v for v in variants if re.fullmatch(r"[a-z][a-z-]{3,}", v) and v not in people)


def is_medicine(span: str) -> bool:
    """Whether every word of ``span`` is a medicine's name ("Tramadol", "Co-codamol", "Sertraline")."""
    words = [w.strip(".,;:!?'’()").lower() for w in span.split()]
    return bool(words) and all(w in medicines() for w in words)


def _sentence(text: str, start: int, end: int) -> tuple[int, int]:
    """The span of the sentence (or line) around ``text[start:end]``, at most a few hundred characters."""
    low = max(0, start - _SENTENCE_REACH)
    begin = max((m.end() for m in _SENTENCE_BREAK.finditer(text, low, start)), default=low)
    high = min(len(text), end + _SENTENCE_REACH)
    stop = _SENTENCE_BREAK.search(text, end, high)
    return begin, stop.end() if stop else high


class FirstNameRecognizer(EntityRecognizer):
    """Single first names spaCy's NER misses, from the Census gazetteer, read with spaCy's tagger.

    ``nlp`` is the analyzer's spaCy pipeline: its tagger (``tok2vec``, ``tagger``, ``attribute_ruler``;
    they may be disabled in the pipeline, as the redactor disables them) tags only the sentences that hold
    a candidate, and its lemmatizer's tables say which first names are also ordinary words. ``name_like``
    is the redactor's test of a word it would carry as a name.
    """

    NAME = "FirstNameRecognizer"
    SCORE = 0.5

    def __init__(self, nlp: Any, name_like: Callable[[str], bool] | None = None) -> None:
        missing = [n for n in ("tok2vec", "tagger", "attribute_ruler", "lemmatizer") if n not in nlp.component_names]
        if missing:
            raise ValueError(f"FirstNameRecognizer needs the spaCy pipeline's {', '.join(missing)} (disabled will do)")
        self._nlp = nlp
        self._tagger = [nlp.get_pipe(n) for n in ("tok2vec", "tagger", "attribute_ruler")]
        index = nlp.get_pipe("lemmatizer").lookups.get_table("lemma_index")
        words = {w for pos in ("verb", "adj", "adv") for w in index.get(pos, [])}
        self.word_names = frozenset(n for n in first_names() if n.lower() in words)
        self._name_like = name_like or (lambda word: True)
        super().__init__(supported_entities=["PERSON"], name=self.NAME)

    def load(self) -> None:
        """The gazetteer is read on first use (:func:`first_names`)."""

    def candidate(self, word: str) -> bool:
        """A gazetteer first name, capitalised, that no other name rule keeps as a word."""
        return (
            word.istitle()
            and word in first_names()
            and word not in NOT_NAMES
            and word not in UK_PLACES
            and word not in _PRONOUNS
            and word not in _TITLE_WORDS
            and self._name_like(word)
        )

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        if nlp_artifacts is None or "PERSON" not in entities:
            return []
        doc = nlp_artifacts.tokens
        named = [
            (e.start_char, e.end_char)
            for e in doc.ents
            if e.label_ in _NAMED_LABELS and (len(e) > 1 or e.label_ == "PERSON")
        ]
        found: list[tuple[int, int]] = []
        to_tag: list[tuple[int, int, int, int]] = []  # name start, end; sentence start, end
        for token in doc:
            start, end = token.idx, token.idx + len(token.text)
            if not self.candidate(token.text):
                continue
            if any(a <= start < b for a, b in named):
                if (pair := _full_name(doc, token)) is not None:
                    found.append(pair)  # "Call Margaret Ellis", which spaCy calls an organisation
                continue
            if _ARTICLE_BEFORE.search(text, max(0, start - 5), start):
                continue  # "the Princess Royal", "the Grace of God"
            if token.text.lower() in MODAL_NAMES and _ASKS.match(text, end):
                continue  # "Will you help?"
            # with the surname after it, if one follows: "Tell Dennis Hart." (spaCy found no one there)
            whole = _full_name(doc, token) or (start, end)
            if _PERSON_VERB_AFTER.match(text, end):
                found.append(whole)
                continue
            begin, stop = _sentence(text, start, end)
            if token.text in self.word_names and _SENTENCE_OPENING.fullmatch(text, begin, start):
                continue  # "Hope so.": at a sentence's start the capital says nothing
            to_tag.append((*whole, begin, stop))
        sentences = sorted({(begin, stop) for _, _, begin, stop in to_tag})
        tagged = dict(zip(sentences, self._tag([text[a:b] for a, b in sentences]), strict=True))
        for start, end, begin, stop in to_tag:
            tokens = tagged[(begin, stop)]
            if any(t.idx == start - begin and t.pos_ == "PROPN" for t in tokens):
                found.append((start, end))
        return [
            RecognizerResult(
                "PERSON",
                start,
                end,
                self.SCORE,
                recognition_metadata={
                    RecognizerResult.RECOGNIZER_NAME_KEY: self.NAME,
                    RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id,
                },
            )
            for start, end in sorted(found)
        ]

    def _tag(self, sentences: list[str]) -> list[Any]:
        docs = [self._nlp.make_doc(s) for s in sentences]
        for component in self._tagger:
            docs = list(component.pipe(docs, batch_size=64))
        return docs


_PHONE_CUE = re.compile(
    r"\b(?i:phone|mobile|tel|telephone|fax|desk|cell|landline|(?:call|ring|text)\s+(?:me|him|her|us)\s+(?:on|at))"
    r"(?i:\s+number)?(?i:\s+is)?\s*[:\-]?\s*(\+?\(?\d[\d \t().\-]{4,18}\d(?:\s?x\d{1,5})?)(?![\w-])"
)


_ZIP_CUE = re.compile(r"\b(?i:zip(?:\s*code)?|post\s*code|postal\s+code)\s*(?i:is)?\s*[:\-]?\s*(\d{4,6}(?:-\d{4})?)\b")


def detect_phones_by_cue(text: str) -> list[Detection]:
    """Any country's number after "phone", "mobile", "fax", "call me on" (7 to 15 digits); zip codes after "zip"."""
    found = []
    for m in _ZIP_CUE.finditer(text):
        found.append(Detection("POSTCODE", m.start(1), m.end(1), 0.7, m.group(1)))
    for m in _PHONE_CUE.finditer(text):
        digits = re.sub(r"\D", "", m.group(1))
        if 7 <= len(digits) <= 15:
            found.append(Detection("PHONE", m.start(1), m.end(1), 0.7, digits))
    return found


def detect_uk(text: str, before: str = "") -> list[Detection]:
    """Everything the plain detectors find; overlaps are resolved by the redactor.

    ``before``: the other speaker's line just before, read only as a birth date's context.
    """
    postal = detect_postal_addresses(text)
    return [
        *detect_spoken_numbers(text),
        *detect_emails(text),
        *detect_addresses(text),
        *postal,
        *detect_names_above_addresses(text, postal),
        *detect_names_as_subjects(text),
        *detect_dates_of_birth(text, before),
        *detect_named_places(text),
        *detect_names_by_cue(text),
        *detect_phones_by_cue(text),
    ]
