"""No invented text: drop what Whisper makes up on silence, flag what it is unsure of.

Whisper was trained on subtitled video, so on silence or noise it can produce
"Thank you for watching" or "Subtitles by the Amara.org community", and it can
fall into loops that repeat one phrase. :func:`guard_segments` drops the known
phrases, collapses loops, and flags segments whose own figures (average log
probability, no-speech probability, compression ratio, the probability of any
word holding a digit) say the OT should check them against the audio.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from assistant.nhs_number import nhs_checksum_ok
from assistant.records import Segment
from assistant.spoken_numbers import DIGITS

__all__ = [
    "SAID_AS_NHS",
    "GuardReport",
    "doubtful_numbers",
    "guard_segments",
    "is_known_hallucination",
    "low_confidence_reason",
    "repetition_loop",
    "syllables",
    "too_fast",
    "well_formed_numbers",
]

# Whole-segment phrases that are Whisper's, not the speaker's, wherever they appear.
ALWAYS_INVENTED = [
    r"thanks? (you )?(so much |very much )?for watching.*",
    r"(please )?(like (and|&) )?subscribe.*",
    r"don'?t forget to (like|subscribe).*",
    r"subtitles?( created| provided)? by.*",
    r"(transcri|caption|translat)\w*( created| provided)? by.*",
    r".*amara\.?org.*",
    r".*www\.\S+.*",
    r"see you (in the )?next (video|time).*",
    r"\W*[\[(]?\s*(music|applause|laughter|silence|blank[_ ]audio|no speech|inaudible)\s*[\])]?\W*",
]
# Short phrases a person does say, but which Whisper also produces on silence:
# dropped only when the segment's own figures say there was probably no speech.
INVENTED_ON_SILENCE = [r"thank you( very much| so much)?", r"thanks", r"you", r"bye( bye)?", r"okay", r"so", r"oh"]
_ALWAYS = re.compile("|".join(f"(?:{p})" for p in ALWAYS_INVENTED))
_ON_SILENCE = re.compile("|".join(f"(?:{p})" for p in INVENTED_ON_SILENCE))

# one digit eight or more times in a row ("0-0-0-0-0-0-0-0"): a decoding loop inside a number, since
# no UK phone or NHS number has that run; the text is kept (the count can't be known) but flagged
_DIGIT_LOOP = re.compile(r"(\d)(?:\W{0,2}\1){7,}")
# twelve or more, longer than any UK number, is cut to one, and flagged (tiny.en wrote "9-9-9-…" 52 times)
_DIGIT_RUNAWAY = re.compile(r"(\d)(?:\W{0,2}\1){11,}")
# one to three letters spelled over and over, eight letters or more in all ("B.O.P.P.P.P.P.P.P.P",
# "P.O.P.O.P.O.P.O"): no one spells that, it is a decoding loop (seen on near-silence at the end of a
# turn, and after a phone number heard again)
_LETTER_LOOP = re.compile(r"\b((?:[A-Za-z][\s.,-]{1,2}){1,3}?)\1{3,}(?:[A-Za-z]\b[.,-]?)?")
LOOPED_LETTERS = 8

# A spoken number as Whisper writes it: "943 476 5919", "158-813-998-0", "698, 797, 3091", and the
# broken forms "6 I-8, 7 I-7" (a digit heard as a letter) that a number-shaped prompt mends.
_SPOKEN_NUMBER = re.compile(r"\d(?:(?:[\s,.-]{0,2}|[\s,.-]{0,2}\b[A-Z]\b[\s,.-]{0,2})\d)+")
_DIGIT_WORD = re.compile(r"\b(?:" + "|".join(DIGITS) + r")\b", re.I)
# "NHS number" or "number" (not "number of") and what follows to the end of the sentence (Whisper
# writes a number said in groups with commas, not stops)
_NUMBER_SAID = re.compile(r"\b(?:(NHS)\s+(?:number|no\b)|number\b(?!\s+of\b))(?:(?!\bnumber\b)[^.?!])*", re.I)
_REPEATED_WORD = re.compile(r"(?<=[\s,.-])([A-Za-z]+)(?:[\s,.-]{1,2}\1\b)+", re.I)  # "Sanran, Sanran"
ID_DIGITS = 5  # digits at least in an NHS or phone number worth doubting: a house, bus or room number has fewer
_AMOUNT = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?")  # "10,000,000": an amount, not an identifier
LOGPROB_FLOOR = -1.0  # Whisper's own threshold for a failed decode
NO_SPEECH_CEILING = 0.6  # flagged above this when the words are not sure either (log-probability < LOOP_LOGPROB)
NO_SPEECH_ALONE = 0.8  # and above this whatever the words
COMPRESSION_CEILING = 2.4  # above this the text repeats itself
DIGIT_WORD_FLOOR = 0.5  # a number word Whisper gave less than even odds
SILENCE_NO_SPEECH = 0.4
SILENCE_LOGPROB = -0.7
LOOP_LOGPROB = -0.5
LOOP_COMPRESSION = 2.0
SAID_AS_NHS = "said as an NHS number"  # opens the reason for a number said as one but heard as a phone number
# Syllables a second that no one speaks at: the fastest segment in the eight synthetic visits ran at
# 7.9 ("Have you been offered pulmonary rehabilitation?" in 2.0 s; the median 4.1), and fast talkers reach
# about 8. Whisper's sampled fallback decodes can squeeze a made-up sentence into a second of audio: "imperial
# center-level LLC and chains together in the 18th century" (about 23 syllables in 1.2 s, log-probability
# -4.4) after a phone number. Over the bar a segment is flagged; over it and under LOGPROB_FLOOR, dropped.
FASTEST_SYLLABLES_PER_S = 12.0
MIN_SYLLABLES_TIMED = 8  # fewer are too few for word timings to give a rate


def _plain(text: str) -> str:
    """Lower case, single spaces, no outer punctuation: how phrases are compared."""
    text = re.sub(r"\s+", " ", text.lower()).strip()
    return text.strip(" .,!?;:-\"'…♪")


def is_known_hallucination(segment: Segment) -> bool:
    """True when the whole segment is a phrase Whisper is known to invent on silence."""
    text = _plain(segment.text)
    if not text or _ALWAYS.fullmatch(text):
        return True
    if _ON_SILENCE.fullmatch(text):
        no_speech = segment.no_speech_prob or 0.0
        logprob = segment.avg_logprob if segment.avg_logprob is not None else 0.0
        return no_speech >= SILENCE_NO_SPEECH or logprob < SILENCE_LOGPROB
    return False


def repetition_loop(text: str, min_repeats: int = 4, min_words: int = 8) -> str | None:
    """The text with a decoding loop collapsed to one pass, or None when there is no loop.

    A loop is a run of 1-16 words said ``min_repeats`` or more times in a row and
    covering at least ``min_words`` words ("no, no, no, no" is speech; the same
    sentence five times over is not).
    """
    words = text.split()
    keys = [_plain(w) for w in words]
    for size in range(1, 17):
        for begin in range(len(words) - size * min_repeats + 1):
            gram = keys[begin : begin + size]
            repeats = 1
            while keys[begin + repeats * size : begin + (repeats + 1) * size] == gram:
                repeats += 1
            if repeats >= min_repeats and repeats * size >= min_words:
                kept = words[: begin + size] + words[begin + repeats * size :]
                return repetition_loop(" ".join(kept), min_repeats, min_words) or " ".join(kept)
    return None


def _letter_loops(text: str) -> list[re.Match[str]]:
    return [m for m in _LETTER_LOOP.finditer(text) if sum(ch.isalpha() for ch in m.group(0)) >= LOOPED_LETTERS]


def _cut_letter_loops(text: str, by: str | None = None) -> str:
    """``text`` with each letter loop replaced by ``by``, or by one pass of it ("P.O")."""
    for m in reversed(_letter_loops(text)):
        text = text[: m.start()] + (m.group(1).rstrip(" .,-") if by is None else by) + text[m.end() :]
    return text


def _digit_words_as_digits(text: str) -> str:
    """'nine four three, 476' -> '9 4 3, 476'."""
    return _DIGIT_WORD.sub(lambda m: str(DIGITS.index(m.group(0).lower())), text)


def _spoken_numbers(text: str) -> list[tuple[str, str]]:
    """(number as written, its digits) for each number in ``text``; digit words count as digits
    ("one free seven, eight eight four" is read as 1, then 7884; "free" is left to _th_fronted_numbers)."""
    text = _digit_words_as_digits(text)
    return [(m.group(0).strip(" ,.-"), re.sub(r"\D", "", m.group(0))) for m in _SPOKEN_NUMBER.finditer(text)]


def doubtful_numbers(text: str) -> list[tuple[str, str]]:
    """(number as written, why it looks misheard) for each number in ``text`` that does.

    People say NHS and phone numbers in groups, and Whisper can drop, double or change a
    digit, hear one as a letter, or loop. What a number should look like is known: an NHS
    number is 10 digits whose last is a modulus-11 check digit; a UK phone number starts
    with 0 and has 10 or 11 digits. A run of 8 to 14 digits not starting with 0 is taken
    for an NHS number (amounts written with thousands separators are not; 15 or more digits
    may be a card number, which redaction deals with).
    """
    out = []
    for written, digits in _spoken_numbers(text):
        loop = _DIGIT_LOOP.search(written)
        if loop:
            times = sum(ch.isdigit() for ch in loop.group(0))
            out.append((written, f"the digit {loop.group(1)} repeated {times} times in a row"))
        elif re.search(r"[A-Z]", written) and len(digits) >= ID_DIGITS:
            out.append((written, "a letter among its digits"))
        elif digits.startswith("0") and (7 <= len(digits) <= 9 or 12 <= len(digits) <= 14):
            out.append((written, f"{len(digits)} digits, which no UK phone number has"))
        elif _AMOUNT.fullmatch(written) or digits.startswith("0") or not 8 <= len(digits) <= 14:
            continue
        elif len(digits) != 10:
            out.append((written, f"{len(digits)} digits: an NHS number has 10, said in groups of 3, 3 and 4"))
        elif not nhs_checksum_ok(digits):
            out.append((written, "shaped like an NHS number but fails its check digit"))
    out += _broken_numbers(text) + _th_fronted_numbers(text) + _nhs_heard_as_phone(text)
    return out + [(w, why) for w, why in _word_said_among_digits(text) if not any(w in o or o in w for o, _ in out)]


def _word_said_among_digits(text: str) -> list[tuple[str, str]]:
    """A number with one word said over and over among its digits, with no "number" before it to make it a
    number said: tiny.en read "So that is four eight five, seven seven seven, three four five six" back as
    "So that is 485, Sanran, Sanran, Sanran, Sanran, 3-4-5-6". Five digits or more in all (an NHS or phone
    number, not "2 dogs, dogs, 3")."""
    text = _digit_words_as_digits(text)
    out = []
    for repeated in _REPEATED_WORD.finditer(text):
        before = re.search(r"\d[\d\s,.-]*$", text[: repeated.start()])
        after = re.match(r"[\s,.-]{1,2}\d[\d\s,.-]*", text[repeated.end() :])
        if not before or not after:
            continue
        written = (before.group(0) + repeated.group(0) + after.group(0)).strip(" ,.-")
        count = sum(ch.isdigit() for ch in written)
        if count >= ID_DIGITS:
            out.append((written, f'"{repeated.group(1)}" said again and again among its digits: a digit misheard? '
                                 "check the number"))
    return out


def _nhs_heard_as_phone(text: str) -> list[tuple[str, str]]:
    """The number said just after "NHS number" (at most three words between) when it is shaped like a phone
    number (10 or 11 digits from 0) and is not a valid NHS number: "Her NHS number is 041-0232137" for 401 023
    2137 said, "His NHS number is 0485-777-3456" for 485 777 3456. A Scottish CHI number can start with 0, and
    passes the same check digit, so a valid one is not doubted."""
    out = []
    for said in _NUMBER_SAID.finditer(_digit_words_as_digits(text)):
        numbers = _spoken_numbers(said.group(0)) if said.group(1) else []
        if not numbers:
            continue
        written, digits = numbers[0]
        between = said.group(0)[: said.group(0).index(written)].split()[2:]  # after "NHS number"
        if len(between) > 3:
            continue
        if digits.startswith("0") and len(digits) in (10, 11) and not nhs_checksum_ok(digits):
            out.append((written, f"{SAID_AS_NHS}, but {len(digits)} digits from 0, as a phone number has, and no "
                                 "valid NHS number"))
    return out


def _broken_numbers(text: str) -> list[tuple[str, str]]:
    """A number said ("my NHS number is …", "the number is …") whose digits are broken up by words or
    cut short: "H&H number is 485, salmon salmon salmon, 3456" (seven said as a word Whisper knows
    better). Flagged when no 8 digits come in a row and there are at least 5 digits in all, or any
    after "NHS number" (a house, bus or room number has fewer). 8 or more are checked as a number."""
    text = _digit_words_as_digits(text)
    out = []
    for said in _NUMBER_SAID.finditer(text):
        heard = re.search(r"\d(?:.*\d)?", said.group(0))  # from its first digit to its last
        # a letter heard for a digit ("6 I-8") holds its place: that number is doubted as it is
        longest = max((len(re.sub(r"[^0-9A-Z]", "", w)) for w, _ in _spoken_numbers(said.group(0))), default=0)
        count = sum(ch.isdigit() for ch in heard.group(0)) if heard else 0
        if heard and longest < 8 and (count >= ID_DIGITS or said.group(1)):
            out.append((heard.group(0), f"a number said, but {count} digits heard in it, at most {longest} in a "
                        "row (an NHS number has 10, a UK phone number 10 or 11)"))
    return out


def _th_fronted_numbers(text: str) -> list[tuple[str, str]]:
    """A number with "free" among its digits: "three" said the Essex or London way and written as heard
    ("free free five, free eight eight, six one seven six"). Each "free" next to a digit stands in for one
    while numbers of 5 digits or more are found (as "٣", a digit to the regex, so it can be told apart),
    then is put back."""
    text = _digit_words_as_digits(text)
    while True:
        marked = re.sub(r"(?<=\d)([\s,.-]{1,2})free\b", "\\g<1>\u0663", text, flags=re.I)
        marked = re.sub(r"\bfree(?=[\s,.-]{1,2}\d)", "\u0663", marked, flags=re.I)
        if marked == text:
            break
        text = marked
    return [
        (written.replace("\u0663", "free"), '"free" among its digits: "three"? check the number')
        for written, digits in _spoken_numbers(text)
        if "\u0663" in written and len(digits) >= ID_DIGITS  # an NHS or phone number, not "free, 2 a week"
    ]


def well_formed_numbers(text: str) -> list[str]:
    """The numbers in ``text`` that check out: a valid NHS number or a UK phone number's shape."""
    return [
        written
        for written, digits in _spoken_numbers(text)
        if nhs_checksum_ok(digits) or (digits.startswith("0") and len(digits) in (10, 11))
    ]


def low_confidence_reason(segment: Segment) -> str | None:
    """Why the OT should check this segment against the audio, or None."""
    reasons: list[str] = []
    if segment.avg_logprob is not None and segment.avg_logprob < LOGPROB_FLOOR:
        reasons.append(f"low average log-probability {segment.avg_logprob:.2f}")
    # Whisper reads "no speech" off its first step, which the text of the window before shifts: with
    # that context, clear speech (log-probability above -0.35) came out at 0.63-0.66 in 73 segments of
    # a 60-minute recording, so between the two bars the words must be unsure as well
    no_speech = segment.no_speech_prob or 0.0
    unsure_words = segment.avg_logprob is not None and segment.avg_logprob < LOOP_LOGPROB
    if no_speech > NO_SPEECH_ALONE or (no_speech > NO_SPEECH_CEILING and unsure_words):
        reasons.append(f"may be no speech ({no_speech:.0%})")
    if segment.compression_ratio is not None and segment.compression_ratio > COMPRESSION_CEILING:
        reasons.append(f"repetitive text (compression {segment.compression_ratio:.1f})")
    for number, why in doubtful_numbers(segment.text):
        reasons.append(f"{number}: {why}; check the number")
    unsure = [w.text.strip() for w in segment.words or [] if re.search(r"\d", w.text)
              and w.probability is not None and w.probability < DIGIT_WORD_FLOOR]
    if unsure:
        reasons.append("unsure of the number(s) " + ", ".join(unsure))
    return "; ".join(reasons) or None


def syllables(text: str) -> int:
    """About how many syllables ``text`` takes to say: a vowel group a syllable (a final silent "e" not
    counted), one for each digit and for each letter of a capitalised abbreviation. A low count rather than
    a high one ("seven" is two, "W" three), so a rate over :data:`FASTEST_SYLLABLES_PER_S` is surely too fast."""
    count = 0
    for token in re.findall(r"[A-Za-z']+|\d", text):
        if token.isdigit() or (token.isupper() and len(token) > 1):
            count += len(token)
            continue
        word = token.lower().strip("'")
        groups = len(re.findall(r"[aeiouy]+", word))
        if groups > 1 and word.endswith("e") and not word.endswith(("le", "ee", "ye")):
            groups -= 1
        count += max(1, groups)
    return count


def too_fast(segment: Segment, text: str | None = None) -> float | None:
    """The segment's speaking rate in syllables a second when no one speaks that fast, else None."""
    count = syllables(segment.text if text is None else text)
    if count < MIN_SYLLABLES_TIMED:
        return None
    seconds = segment.end - segment.start
    rate = count / seconds if seconds > 0 else float("inf")
    return rate if rate > FASTEST_SYLLABLES_PER_S else None


def _weak(segment: Segment) -> bool:
    """Figures that go with a decoding loop rather than with clear speech."""
    return (
        (segment.avg_logprob is not None and segment.avg_logprob < LOOP_LOGPROB)
        or (segment.compression_ratio is not None and segment.compression_ratio > LOOP_COMPRESSION)
        or (segment.no_speech_prob is not None and segment.no_speech_prob > SILENCE_NO_SPEECH)
    )


def _per_second(rate: float) -> str:
    return "over 100" if rate > 100 else f"{rate:.0f}"


@dataclass
class GuardReport:
    kept: list[Segment]
    dropped: list[tuple[Segment, str]] = field(default_factory=list)
    collapsed: int = 0

    def warnings(self) -> list[str]:
        notes: list[str] = []
        if self.dropped:
            shown = "; ".join(f"'{s.text}' at {s.start:.0f}s ({why})" for s, why in self.dropped[:3])
            more = f" and {len(self.dropped) - 3} more" if len(self.dropped) > 3 else ""
            notes.append(f"{len(self.dropped)} segment(s) left out as text Whisper invents: {shown}{more}")
        if self.collapsed:
            notes.append(f"{self.collapsed} repeated phrase loop(s) cut to one pass; check those segments")
        flagged = sum(s.low_confidence for s in self.kept)
        if flagged:
            notes.append(f"{flagged} segment(s) flagged as low confidence: check them against the audio")
        return notes


def guard_segments(segments: Sequence[Segment]) -> GuardReport:
    """Drop invented segments and repeats, collapse loops, flag low confidence; ids are renumbered."""
    report = GuardReport(kept=[])
    run_text, run_length = "", 0
    for segment in segments:
        if is_known_hallucination(segment):
            report.dropped.append((segment, "a phrase Whisper invents on silence"))
            continue
        text = _plain(segment.text)
        run_length = run_length + 1 if text == run_text else 1
        run_text = text
        # The same sentence again and again with weak figures is a loop; a short "yes" twice, or an
        # OT repeating a question clearly, is speech: kept, but flagged for the OT to check.
        repeated = run_length >= 3 or (run_length == 2 and len(text.split()) >= 5)
        if repeated and _weak(segment):
            report.dropped.append((segment, "a repeat of the segment before"))
            continue
        updates: dict[str, object] = {"id": len(report.kept)}
        letters = _letter_loops(segment.text)
        if letters and not re.search(r"[A-Za-z]{2,}", _cut_letter_loops(segment.text, " ")):
            report.dropped.append((segment, "letters spelled over and over, a decoding loop"))
            continue
        collapsed = repetition_loop(segment.text)
        if letters:
            collapsed = _cut_letter_loops(collapsed or segment.text)
        if _DIGIT_RUNAWAY.search(segment.text):
            collapsed = _DIGIT_RUNAWAY.sub(lambda m: m.group(1), collapsed or segment.text)
        rate = too_fast(segment, collapsed)
        if rate is not None and segment.avg_logprob is not None and segment.avg_logprob < LOGPROB_FLOOR:
            report.dropped.append((segment, f"{_per_second(rate)} syllables a second, faster than anyone speaks, "
                                            "and Whisper unsure of it"))
            continue
        if collapsed is not None:
            report.collapsed += 1
            updates["text"] = collapsed
            updates["words"] = None  # the word timings no longer match the text
        reason = low_confidence_reason(segment)
        if collapsed is not None:
            reason = "; ".join(filter(None, ["a repeated phrase was cut", reason]))
        if repeated:
            reason = "; ".join(filter(None, ["the same words as the segment before", reason]))
        if rate is not None:
            reason = "; ".join(filter(None, [f"words faster than anyone speaks ({_per_second(rate)} syllables a "
                                             "second): the times or the words are wrong", reason]))
        if reason:
            updates["low_confidence"] = True
            updates["review_reason"] = "; ".join(filter(None, [segment.review_reason, reason]))
        report.kept.append(segment.model_copy(update=updates))
    return report
