"""Signposting: find local activities that meet every constraint the OT states.

The question is read for its constraints (town and nearby towns, days, time of
day, accessibility, cost, carers, age, gender, level) and its activity words,
which are expanded with the OpenActive Activity List. Hard constraints filter
twice: in Chroma's ``where`` clause (list-valued metadata) and again in Python
on the typed record (:func:`unmet`), so nothing that breaks a stated constraint
is ever returned. The rest is ranked by reciprocal rank fusion of MiniLM and
BM25. When nothing passes, the answer says so, names the constraint that could
not be met and suggests the nearest relaxation (another day, a nearby town).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel

from assistant.activities import activity_list
from assistant.directory import DAY_CODES, DAY_NAMES, clock_minutes, legacy_id, today_local
from assistant.embedding import Embedder
from assistant.records import Activity, Answer, Match, Schedule

log = logging.getLogger("reconnect.signposting")

COLLECTION = "activities"
RRF_K = 60
# Without a named activity, a candidate must be at least this similar to the question
# (cosine) and within RELATIVE_FLOOR of the best one; measured on the sample directory.
SIMILARITY_FLOOR = 0.25
RELATIVE_FLOOR = 0.12
# How many words of the description MiniLM embeds: 20 keeps the eval figures of 40 and embeds twice as fast.
EMBED_WORDS = 20
PERIODS = ("morning", "afternoon", "evening")
DAY_WORDS = {name.lower(): code for code, name in DAY_NAMES.items()} | {
    "tues": "TU",
    "weds": "WE",
    "thurs": "TH",
    "thur": "TH",
    "mon": "MO",
    "tue": "TU",
    "wed": "WE",
    "thu": "TH",
    "fri": "FR",
}
# "sat" and "sun" are also everyday words ("she sat", "in the sun"): read as days only when written
# "Sat"/"Sun" or after "on"/"every"/"and"/"or"/a comma.
WEEKEND_ABBREVIATIONS = re.compile(r"(?:\b(?:on|every|and|or)\s+|,\s*)(sat|sun)s?\b\.?|(?-i:\b(Sat|Sun))s?\b\.?", re.I)
# Negation is read only where it is directly about the day, need or price; a "not", "no" or "without"
# elsewhere in the sentence ("not too busy on Tuesday", "with no stairs on Monday", "can't get in
# without a hoist") says nothing about it.
_DAY = r"(?:mon|tues?|weds?|thu(?:rs?)?|fri|sat|sun)(?:day)?s?\.?|wednesdays?|weekends?|weekdays?"
_PERIOD = r"(?:morning|afternoon|evening)s?"
# Days and times of day are read clause by clause (see :func:`_excluded`). A clause ends at , ; ! ? a full
# stop, "but", and "and"/"or" when a new subject or negation follows ("not Monday and she's fine on Tuesday");
# a plain "Monday or Tuesday" stays in one clause.
CLAUSE_BREAK = re.compile(
    r"[,;!?]|\.(?=\s|$)|\bbut\b"
    r"|\b(?:and|or)\b(?=\s+(?:she|he|they|i|we|it|not|no|never|nothing|[a-z]+n't)\b)"
)
# "can't do Monday, Tuesday or Friday": a comma inside a list of days (or times of day) that ends in
# "or"/"and"/"nor" and a last one does not end the clause, so the negation reaches the whole list
LIST_GOES_ON = re.compile(
    rf"\s*(?:on\s+)?(?:(?:{_DAY}|{_PERIOD})\s*,\s*)*(?:{_DAY}|{_PERIOD})\s*,?\s*(?:or|and|nor)\s+(?:on\s+)?(?:{_DAY}|{_PERIOD})\b"
)
# "any day but Monday": this "but" means "except" and does not end the clause
BUT_MEANS_EXCEPT = re.compile(r"\b(?:any ?day|anything|any ?time|every ?day|all week)\s+$")
# words that exclude what follows them in the clause: "not (on) Mondays", "isn't on a Sunday", "can't do
# mornings", "never on a Monday", "no Mondays", "nothing on a Friday", "except Monday", "any day but Monday",
# "she's busy on Tuesdays", "unable to do Mondays"
NEGATION_CUE = re.compile(
    r"\b(?:not|no|nothing|none|never|neither|nor|except|excluding|apart from|other than|but|avoid(?:ing)?|"
    r"unable|unavailable|busy|cannot|[a-z]+n't)\b"
)
# a negation that is about something else, which a later day merely follows: "without a carer on Tuesday",
# "with no stairs on Monday" (but "there's no bus on Mondays" is about the day), "not too busy", "isn't too
# expensive", "no later than 10am" (a clock time), "never misses her Wednesday class", "doesn't mind Mondays"
NEGATION_ELSEWHERE = re.compile(
    r"\bwithout\b"
    rf"|(?<!has )(?<!have )(?<!got )(?<!there's )(?<!there is )\bno\s+(?!(?:{_DAY}|{_PERIOD})\b)[a-z]+"
    r"|\b(?:not|never|[a-z]+n't)\s+(?:(?:too|very|so|that|overly|as)\s+[a-z]+|busy)\b"
    r"|\b(?:no|not|nothing|none)\s+(?:later|earlier|before|after)\b"
    r"|\b(?:not|never|[a-z]+n't)\s+(?:mind|minds|need|needs|miss|misses|missed)\b"
    # "not free until the afternoon": from the afternoon on, not "not in the afternoon"
    r"|\b(?:not|[a-z]+n't)\s+(?:[a-z]+\s+){0,2}(?:until|till)\b"
)
# just after the day or time: "Mondays are no good", "mornings are out", "Fridays don't work", "Monday is a
# problem", "Tuesdays she can't do", "Mondays she's busy"
_GOOD = r"(?:good|ok|okay|possible|an option|great|ideal|any good)"
EXCLUDED_AFTER = re.compile(
    r"^[\s.,]*(?:(?:is|are|'s|would be|will be)\s+(?:(?:a bit|too|really|very|quite|always|usually)\s+)?"
    rf"(?:out|no good|no use|not {_GOOD}|a no[- ]go|impossible|difficult|bad|tricky|awkward|hard|a problem|a struggle"
    r"|busy|taken|booked up)"
    rf"|(?:isn't|aren't|wouldn't be|won't be|is not|are not)\s+{_GOOD}"
    r"|(?:don't|doesn't|won't|wouldn't|do not|does not|will not)\s+(?:work|suit|do)"
    r"|(?:i|she|he|we|they)\s+(?:can't|cannot|can not|couldn't)\s+(?:do|make|manage|go|get)"
    r"|(?:i'm|she's|he's|we're|they're|i am|she is|he is|we are|they are)\s+"
    r"(?:busy|working|at work|away|tied up|not free|not available|unavailable))\b"
)
# just before a need: "doesn't need a hoist", "no need for a hoist", "she has no wheelchair", "can manage without
# a hoist", "no hoist needed" ("without a hoist" alone means the hoist is needed)
NEGATED_NEED_BEFORE = re.compile(
    r"\b(?:(?:doesn't|don't|does not|do not|won't|will not|wouldn't|would not|didn't|did not|not|never|no longer)\s+"
    r"(?:need|needs|use|uses|require|requires|want|wants|have|has)(?:\s+to\s+(?:use|have))?|needn't|"
    r"no need (?:for|of)|(?:hasn't|haven't) got|(?:can|could) (?:manage|cope|get by|do) without|"
    r"(?:manages|copes|gets by) without|(?:fine|ok|okay|alright|happy) without|no|not)"
    r"\s+(?:(?:a|an|the|any|her|his|their)\s+)?$",
    re.I,
)
# just after a need: "a hoist isn't needed", "hoist not required"
NEGATED_NEED_AFTER = re.compile(
    r"^(?:\s+(?:access|toilets?|rooms?|facilities))?\s+(?:(?:is|are)\s+)?(?:not|isn't|aren't|no longer)\s+"
    r"(?:needed|required|necessary|an issue|a problem)\b",
    re.I,
)
# "free" about the person's time, not the price: "free on Wednesdays", "free in the mornings", "free after 2pm"
FREE_WHEN = re.compile(
    rf"\bfree\s+(?:(?:on|every|most|all|any)\s+(?:{_DAY}|mornings?|afternoons?|evenings?)"
    r"|in the (?:mornings?|afternoons?|evenings?)|(?:after|before|from|until|till)\s+\d)",
    re.I,
)
# just before "free": "not free", "isn't free", "doesn't have to be free", "not necessarily free"
NEGATED_COST = re.compile(
    r"\b(?:not|isn't|aren't|doesn't|don't|needn't|no)\s+(?:(?:have|need)\s+to\s+)?(?:be\s+)?"
    r"(?:necessarily\s+|always\s+)?(?:for\s+)?$",
    re.I,
)
# an amount of money: "£3", "£3.50", "3 pounds", "3 quid", "50p"
_MONEY = r"(?:£\s?(\d{1,4}(?:\.\d{1,2})?)|(\d{1,4}(?:\.\d{1,2})?)\s?(?:pounds?|quid)\b|(\d{1,3})p\b(?!\.\s?m))"
# a most the person can pay, read as a hard limit on the record's prices: "under £3" (strictly less), "no more
# than £4", "up to £5", "£3 or less" (at most)
PRICE_LIMIT = re.compile(
    rf"\b(under|below|less than|cheaper than|no more than|not more than|at most|up to|(?:a )?maximum(?: of)?|max\.?"
    rf"|(?:a|her|his|their|my) budget of)\s+{_MONEY}"
    rf"|{_MONEY}\s+(or less|or under|or below|or cheaper|max(?:imum)?\b|at most|at the most|tops)",
    re.I,
)
# "N pounds" after these is a weight: "she's lost up to 10 pounds", "weighs under 9 pounds"
WEIGHT_BEFORE = re.compile(r"\b(?:lost|lose|losing|gained|gain|put on|weighs?|weighed|weight)\b[^.,;]*$", re.I)
# price words the reader cannot turn into a limit: named in the answer as not read
UNREAD_PRICE = re.compile(
    r"(?:\b(?:over|above|more than|at least|around|about|roughly|for|costs?|costing|at)\s+)?£\s?\d+(?:\.\d{1,2})?"
    r"|\b\d+(?:\.\d{1,2})?\s?quid\b"  # "3 pounds" alone may be a weight ("she has lost 10 pounds")
    r"|\b(?:cheap(?:er|est|ly)?|affordable|inexpensive|low[- ]cost|(?:on a )?budget|pricey"
    r"|(?:not|isn't|aren't|never) (?:too |very |that |so )?(?:expensive|dear|pricey))\b",
    re.I,
)
POSTCODE = re.compile(r"\b([A-Z]{1,2}\d[A-Z\d]?)(?:\s*(\d[A-Z]{2}))?\b", re.I)
CLOCK = re.compile(
    r"\b((?:no|not|nothing|none) (?:later|earlier) than|(?:not|nothing|none|no) (?:before|after)|"
    r"later than|earlier than|before|by|until|till|after|from|at|around|about)\s+"
    r"(\d{1,2})(?:[:.](\d{2}))?\s*(a\.?m\.?|p\.?m\.?|o'?clock)?(?!\w)",
    re.I,
)
# phrases about the day, time or age that the reader cannot turn into a constraint
UNREAD_DAY = re.compile(
    r"\b(tomorrow|today|tonight's|next week|this week|bank holidays?|school holidays?|"
    r"(?:on )?the \d{1,2}(?:st|nd|rd|th)\b|\d{1,2}(?:st|nd|rd|th)? (?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)"
    r"[a-z]*)\b",
    re.I,
)
UNREAD_TIME = re.compile(r"\b(early|late|first thing|half past \w+|quarter (?:past|to) \w+)\b", re.I)
UNREAD_AGE = re.compile(
    r"\b(elderly|older (?:people|adults?|person)|seniors?|pensioners?|retired|teenagers?|teens|young people|"
    r"young adults?|kids|children|child|juniors?)\b",
    re.I,
)
# words after "in"/"near" that are not places
NOT_PLACES = frozenset({"the", "a", "an", "her", "his", "their", "my", "our", "your", "i", "essex", "uk", "england"})
# capitalised words after "in"/"around" that are times, people or languages, never places ("around Christmas",
# "in Summer", "near Mum"); months and days are added where they are used
NOT_PLACE_WORDS = frozenset(
    {"christmas", "xmas", "easter", "new", "boxing", "halloween", "whitsun", "whitsuntide", "advent", "lent"}
    | {"ramadan", "eid", "diwali", "hanukkah", "passover", "vaisakhi", "bank", "half", "half-term", "term"}
    | {"spring", "summer", "autumn", "winter", "am", "pm", "mum", "dad", "mother", "father", "nan", "nana", "gran"}
    | {"granny", "grandma", "grandad", "grandpa", "he", "she", "they", "we", "it", "this", "that", "there", "ot"}
    | {"english", "welsh", "bsl", "british", "makaton", "nhs", "gp", "covid", "lockdown", "ms", "mnd", "copd"}
)
NEED_WORDS: dict[str, tuple[str, ...]] = {
    "hoist": ("pool hoist", "hoist"),
    "pool_pod": ("pool pod",),
    "changing_places": ("changing places",),
    "hearing_loop": ("hearing loop", "induction loop", "loop system"),
    "step_free": ("step-free", "step free", "no steps", "manage steps", "level access", "ramp"),
    "parking": ("accessible parking", "blue badge", "disabled parking", "parking"),
    "wheelchair": ("wheelchair",),
    "accessible_changing": ("accessible changing", "changing room"),
}
NEED_NAMES = {
    "hoist": "a pool hoist",
    "pool_pod": "a Pool Pod",
    "changing_places": "a Changing Places toilet",
    "hearing_loop": "a hearing loop",
    "step_free": "step-free access",
    "parking": "accessible parking",
    "wheelchair": "wheelchair access",
    "accessible_changing": "accessible changing rooms",
}
# "around" is about a place unless a time follows ("around Christmas", "around 10am", "around lunchtime")
NEAR = re.compile(
    r"\b(near|nearby|around(?!\s+(?:\d|christmas|easter|new year|half[- ]term|the (?:holidays|weekend|\d)|"
    r"lunch|midday|noon|tea ?time|(?:mon|tues|wednes|thurs|fri|satur|sun)day|"
    r"(?:jan|febr)uary|march|april|may|june|july|august|september|october|november|december))|"
    r"close to|not far from|within reach of|or near|surrounding)\b",
    re.I,
)
FOLLOW_UP = re.compile(r"^\s*(what about|how about|and\b|or\b|what if|any on|anything on|same but|also)", re.I)


def time_of_day(hhmm: str | None) -> str | None:
    """Morning starts before 12:00, afternoon 12:00-16:59, evening 17:00 or later."""
    if not hhmm:
        return None
    hour = int(hhmm[:2])
    return "morning" if hour < 12 else "afternoon" if hour < 17 else "evening"


def activity_document(a: Activity) -> str:
    """The text both BM25 and MiniLM see for one activity."""
    days = ", ".join(DAY_NAMES[d] for s in a.schedules for d in s.days if d in DAY_NAMES)
    return " ".join(
        x
        for x in (
            a.name + ".",
            ", ".join(a.activity_types),
            a.description,
            a.location.town,
            a.location.name,
            days,
            a.accessibility_notes[:200],
        )
        if x
    )


def embedding_text(a: Activity) -> str:
    """The shorter text MiniLM embeds: what the activity is and where (BM25 sees the full document)."""
    words = a.description.split()
    return " ".join(
        x
        for x in (
            a.name + ".",
            ", ".join(a.activity_types),
            " ".join(words[:EMBED_WORDS]),
            a.location.town,
            a.location.name,
        )
        if x
    )


def _slots(a: Activity) -> list[str]:
    return sorted({f"{d}-{t}" for s in a.schedules if (t := time_of_day(s.start_time)) for d in s.days})


def record_town(a: Activity, towns: Towns | None) -> str:
    """The record's town as questions name it (:meth:`Towns.normalise`); lower-cased as written without towns."""
    if towns is None:
        return (a.location.town or "unknown").lower()
    return towns.normalise(a.location.town, a.location.postcode)


def activity_metadata(a: Activity, towns: Towns | None = None) -> dict[str, Any]:
    """List-valued metadata so Chroma's ``$contains`` can filter (it silently fails on strings)."""
    days = sorted({d for s in a.schedules for d in s.days})
    times = sorted({t for s in a.schedules if (t := time_of_day(s.start_time))})
    return {
        "town": record_town(a, towns),
        "days": days or ["none"],
        "times": times or ["none"],
        "slots": _slots(a) or ["none"],
        "access": a.accessibility or ["none"],
        "types": [t.lower() for t in a.activity_types] or ["none"],
        "free": bool(a.free),
        "carer_free": bool(a.free) or bool(a.carer_free),
        "min_age": a.min_age if a.min_age is not None else 0,
        "max_age": a.max_age if a.max_age is not None else 200,
        "gender": a.gender,
        "level": a.level or "all",
        "record": a.model_dump_json(),
    }


@dataclass
class Question:
    text: str
    towns: list[str] = field(default_factory=list)
    near: bool = False
    days: list[str] = field(default_factory=list)
    not_days: list[str] = field(default_factory=list)  # "not on Mondays": days holds the other six
    times: list[str] = field(default_factory=list)
    not_times: list[str] = field(default_factory=list)  # "can't do mornings": times holds the other two
    clock: tuple[str, str] | None = None  # ("before" | "after" | "at", "HH:MM"), checked on start times
    needs: list[str] = field(default_factory=list)
    needs_any: list[str] = field(default_factory=list)
    free: bool = False
    max_price: tuple[str, float] | None = None  # ("under" | "at most", pounds): the most any option may cost
    carer_free: bool = False
    age: int | None = None
    gender: str | None = None
    person_gender: str | None = None
    level: str | None = None
    activities: list[str] = field(default_factory=list)
    activity_family: list[str] = field(default_factory=list)
    activity_terms: list[str] = field(default_factory=list)
    unplaced: list[str] = field(default_factory=list)  # places named but not known ("West Mersea")
    unread: list[str] = field(default_factory=list)  # day, time, age or price phrases not understood ("tomorrow")

    def constraints(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k not in {"text", "activity_terms", "activity_family"} and v}


class Towns:
    """Known towns with coordinates and their ``nearby`` lists (knowledge/towns.yaml)."""

    def __init__(
        self,
        coords: dict[str, tuple[float, float]],
        nearby: dict[str, list[str]] | None = None,
        districts: dict[str, list[str]] | None = None,
    ) -> None:
        self.coords = {k.lower(): v for k, v in coords.items()}
        self.names = {k.lower(): k for k in coords}
        self.districts = {d.upper(): town.lower() for town, ds in (districts or {}).items() for d in ds}
        self._nearby = {k.lower(): [n.lower() for n in v] for k, v in (nearby or {}).items()}
        self.aliases: dict[str, str] = {}
        for name in self.coords:
            self.aliases[name] = name
            short = re.split(r"-on-|-in-| on | in ", name)[0]
            if short != name and len(short) >= 4:
                self.aliases.setdefault(short, name)
            self.aliases.setdefault(name.replace("-", " "), name)
        names = sorted(self.aliases, key=len, reverse=True)
        self.pattern = re.compile(r"\b(" + "|".join(re.escape(n) for n in names) + r")\b", re.I) if names else None

    def find(self, text: str) -> list[str]:
        if not self.pattern:
            return []
        return list(dict.fromkeys(self.aliases[m.group(1).lower()] for m in self.pattern.finditer(text)))

    def by_postcode(self, text: str) -> str | None:
        """The town a postcode or postcode district ("CO1 1AA", "CO1") is in, if known."""
        match = POSTCODE.search(text or "")
        return self.districts.get(match.group(1).upper()) if match else None

    def normalise(self, town: str, postcode: str = "") -> str:
        """A record's town as the key questions use: "Clacton" and "Colchester, Essex" become
        "clacton-on-sea" and "colchester"; an unknown town falls back to its postcode district."""
        found = self.find(town) if town else []
        if found:
            return found[0]
        return self.by_postcode(postcode) or (town or "unknown").lower()

    def nearby(self, town: str) -> list[str]:
        """The town and the towns an OT would suggest instead."""
        return [town, *self._nearby.get(town, [])]

    def title(self, town: str) -> str:
        return self.names.get(town, town.title())


def _negated_cost(text: str, start: int) -> bool:
    """Whether "free" at ``start`` is negated directly ("not free", "doesn't have to be free")."""
    return bool(NEGATED_COST.search(text[max(0, start - 40) : start]))


def _negated_need(text: str, start: int, end: int) -> bool:
    """Whether the need at ``start:end`` is said not to be needed ("doesn't need a hoist", "no hoist needed")."""
    return bool(NEGATED_NEED_BEFORE.search(text[max(0, start - 40) : start]) or NEGATED_NEED_AFTER.search(text[end:]))


def _clock_minutes(hour: str, minute: str | None, meridiem: str | None) -> int | None:
    h = int(hour)
    if (meridiem or "").lower()[:1] not in ("a", "p") and minute is None and 1 <= h <= 7:
        h += 12  # "after 6" with no am/pm means the evening
    return clock_minutes(h, int(minute or 0), meridiem)


def _clauses(lowered: str) -> list[tuple[int, int]]:
    """The spans of the question's clauses (see CLAUSE_BREAK); "any day but Monday" stays one clause."""
    spans, start = [], 0
    for m in CLAUSE_BREAK.finditer(lowered):
        if m.group() == "but" and BUT_MEANS_EXCEPT.search(lowered[start : m.start()]):
            continue
        if m.group() == "." and re.search(r"\b(?:mon|tues?|weds?|thu(?:rs?)?|fri|sat|sun)$", lowered[: m.start()]):
            continue  # "Sat. or Sun." is an abbreviation, not a full stop
        if m.group() == "," and LIST_GOES_ON.match(lowered, m.end()):
            continue
        spans.append((start, m.start()))
        start = m.end()
    return [*spans, (start, len(lowered))]


def _excluded(lowered: str, start: int, end: int, clauses: list[tuple[int, int]]) -> bool:
    """Whether the day or time of day at ``start:end`` is excluded rather than wanted.

    Only its own clause counts. The nearest negation before it in the clause governs it ("not on either Monday
    or Tuesday", "she can't get there on Wednesdays", "Netball that isn't on a Sunday"), unless that negation is
    about something else the day merely follows ("with no stairs on Monday", "without a carer on Tuesday", "not
    too busy on Tuesday", "never misses her Wednesday class"). A negation after it counts only when it is about
    it ("Mondays are no good"), never one about something else ("on Monday that isn't too expensive").
    """
    c_start, c_end = next((s, e) for s, e in clauses if s <= start <= e)
    before = lowered[c_start:start].replace("\u2019", "'")
    elsewhere = [m.span() for m in NEGATION_ELSEWHERE.finditer(before)]
    cues = [m.end() for m in NEGATION_CUE.finditer(before) if not any(s <= m.start() < e for s, e in elsewhere)]
    nearest = max([(e, True) for e in cues] + [(e, False) for _, e in elsewhere], default=(0, False))
    return nearest[1] or bool(EXCLUDED_AFTER.search(lowered[end:c_end].replace("\u2019", "'")))


def _parse_days(text: str, lowered: str, q: Question) -> None:
    """Wanted and excluded days. A day excluded anywhere is never wanted ("weekdays but not Friday": Monday to
    Thursday); a day both named as wanted and excluded ("not Monday morning, Monday afternoon") is not guessed
    at but reported as unread."""
    clauses = _clauses(lowered)
    # (start, end, code, named): named is False for the days a "weekday"/"weekend" stands for
    hits = [
        (m.start(), m.end(), code, True)
        for word, code in DAY_WORDS.items()
        for m in re.finditer(rf"\b{word}s?\b\.?", lowered)
    ]
    hits += [
        (
            m.start(1) if m.group(1) else m.start(2),
            m.end(),
            "SA" if (m.group(1) or m.group(2)).lower() == "sat" else "SU",
            True,
        )
        for m in WEEKEND_ABBREVIATIONS.finditer(text)
    ]
    for pattern, codes in (
        (r"\bweekdays?\b|\bduring the week\b", list(DAY_CODES[:5])),
        (r"\bweekends?\b", ["SA", "SU"]),
    ):
        hits += [(m.start(), m.end(), code, False) for m in re.finditer(pattern, lowered) for code in codes]
    wanted: dict[str, bool] = {}  # code: named
    negated: list[str] = []
    for start, end, code, named in sorted(hits, key=lambda hit: hit[0]):
        if _excluded(lowered, start, end, clauses):
            negated.append(code)
        else:
            wanted[code] = wanted.get(code, False) or named
    clash = [d for d in dict.fromkeys(negated) if wanted.get(d)]
    if clash:
        q.unread.append(" and ".join(f"{DAY_NAMES[d]} (both wanted and not)" for d in clash))
    q.not_days = [d for d in dict.fromkeys(negated) if d not in clash]
    q.days = [d for d in wanted if d not in negated]
    if q.not_days and not q.days:
        q.days = [d for d in DAY_CODES if d not in q.not_days]


def _parse_times(lowered: str, q: Question) -> None:
    """Times of day, wanted or excluded ("can't do mornings", "no mornings") as days are, and clock times."""
    clauses = _clauses(lowered)
    for t in PERIODS:
        for m in re.finditer(rf"\b{t}s?\b", lowered):
            (q.not_times if _excluded(lowered, m.start(), m.end(), clauses) else q.times).append(t)
    if re.search(r"\b(tonight|after work|after school)\b", lowered) and "evening" not in q.times:
        q.times.append("evening" if "school" not in lowered else "afternoon")
    if re.search(r"\b(lunchtimes?|midday|noon)\b", lowered) and "afternoon" not in q.times:
        q.times.append("afternoon")
    q.not_times = list(dict.fromkeys(q.not_times))
    q.times = [t for t in dict.fromkeys(q.times) if t not in q.not_times]
    if q.not_times and not q.times:
        q.times = [t for t in PERIODS if t not in q.not_times]
    for m in CLOCK.finditer(lowered):
        word, meridiem = m.group(1), m.group(4)
        if m.group(3) is None and not meridiem and word in ("at", "around", "about", "from"):
            continue  # "at 2" may be a count or an address; only a clock time with am/pm or :MM is read
        minutes = _clock_minutes(m.group(2), m.group(3), meridiem if meridiem and "o" not in meridiem else None)
        if minutes is None:
            q.unread.append(m.group(0).strip())
            continue
        op = CLOCK_OPS[word.removesuffix(" than").split()[-1]]
        if word.split()[0] in ("no", "not", "nothing", "none"):  # "no later than 10am": before; "not before": after
            op = "after" if op == "before" else "before"
        q.clock = (op, f"{minutes // 60:02d}:{minutes % 60:02d}")
        periods = [t for t in PERIODS if _period_fits(t, op, minutes)]
        if not q.times:
            q.times = periods
        break


CLOCK_OPS = {
    **dict.fromkeys(("before", "by", "until", "till", "earlier"), "before"),
    **dict.fromkeys(("after", "from", "later"), "after"),
    **dict.fromkeys(("at", "around", "about"), "at"),
}


def _period_fits(period: str, op: str, minutes: int) -> bool:
    """Whether a session starting in ``period`` can start before / after / at the clock time."""
    low, high = {"morning": (0, 12 * 60), "afternoon": (12 * 60, 17 * 60), "evening": (17 * 60, 24 * 60)}[period]
    if op == "before":
        return low < minutes
    if op == "after":
        return high > minutes
    return low <= minutes + CLOCK_SLACK and minutes - CLOCK_SLACK < high


# "at 7pm" admits sessions starting within this many minutes of 7pm
CLOCK_SLACK = 30


def clock_ok(start: str | None, clock: tuple[str, str] | None) -> bool:
    if clock is None:
        return True
    if not start:
        return False
    op, hhmm = clock
    at, wanted = int(start[:2]) * 60 + int(start[3:5]), int(hhmm[:2]) * 60 + int(hhmm[3:5])
    if op == "before":
        return at < wanted
    if op == "after":
        return at >= wanted
    return abs(at - wanted) <= CLOCK_SLACK


def _parse_places(text: str, q: Question, towns: Towns) -> None:
    """Towns, postcodes ("near CO1 1AA": its district's town) and places that could not be placed."""
    q.towns = towns.find(text)
    for m in POSTCODE.finditer(text):
        if not re.search(r"\d", m.group(1)) or not re.search(r"[a-z]", m.group(1), re.I):
            continue
        if not (m.group(2) or re.match(r"^[A-Z]{1,2}\d", m.group(0))):  # a bare "co1" in lower case is not read
            continue
        town = towns.districts.get(m.group(1).upper())
        if town:
            q.towns = list(dict.fromkeys([*q.towns, town]))
            q.near = True
        else:
            q.unplaced.append(m.group(0))
    known = {w.lower() for w in (*DAY_NAMES.values(), *DAY_WORDS)} | {"sat", "sun"} | MONTHS
    for m in re.finditer(r"\b(?:in|near|around|close to|nearby|outside)\s+([A-Z][\w'-]*(?:\s+[A-Z][\w'-]*)*)", text):
        words = m.group(1).split()
        while words and words[-1].lower().rstrip("s") in known | {w.rstrip("s") for w in known}:
            words.pop()  # "in West Mersea Tuesdays" → "West Mersea"
        phrase = " ".join(words)
        if (
            not words
            or re.sub(r"['’]s$", "", words[0].lower()) in NOT_PLACES | NOT_PLACE_WORDS | known
            or towns.find(phrase)
        ):
            continue
        if POSTCODE.fullmatch(phrase) or activity_list().find(phrase):
            continue
        q.unplaced.append(phrase)


MONTHS = frozenset(
    {"january", "february", "march", "april", "may", "june", "july"}
    | {"august", "september", "october", "november", "december"}
)


def parse_question(text: str, towns: Towns) -> Question:
    lowered = text.lower()
    q = Question(text=text)
    _parse_places(text, q, towns)
    q.near = q.near or (bool(q.towns) and bool(NEAR.search(lowered)))
    # days and times of day
    _parse_days(text, lowered, q)
    _parse_times(lowered, q)
    # the activity words; what is left is read for access needs
    mentions = activity_list().mentions(text)
    firm = [c for c, is_firm in mentions if is_firm]
    q.activities = [c.label for c in firm]
    q.activity_family = sorted({label for c in firm for label in activity_list().family(c)})
    q.activity_terms = [label for c, _ in mentions for label in activity_list().expand(c)]
    rest = lowered
    for c in firm:
        for label in (c.label, *c.alt_labels):
            rest = re.sub(rf"\b{re.escape(label.lower())}\b", lambda m: " " * len(m.group()), rest)
    _parse_needs(rest, q)
    # cost
    carer = re.compile(
        r"\b(carers?|parents?|companions?|helpers?|support workers?)\b[^.?!;]{0,40}?\bfree\b"
        r"|\bfree\b[^.?!;]{0,15}\bfor (?:the |a |her |his )?carers?\b"
    )
    carer_match = carer.search(lowered)
    q.carer_free = carer_match is not None and not (
        _negated_cost(lowered, carer_match.start()) or re.search(r"n't\b|\bnot\b|\bnever\b", carer_match.group())
    )
    rest_cost = carer.sub(lambda m: " " * len(m.group()), lowered)
    rest_cost = re.sub(r"(?:-|\bstep |\bhands |\bbarrier )free\b", lambda m: " " * len(m.group()), rest_cost)
    rest_cost = re.sub(FREE_WHEN, lambda m: " " * len(m.group()), rest_cost)  # "she is free on Wednesdays"
    q.free = any(
        not _negated_cost(rest_cost, m.start())
        for m in re.finditer(r"\b(free|no cost|costs nothing|without paying|free of charge)\b", rest_cost)
    )
    unpriced = _parse_price(text, q)  # the question less its price limit: "under 3 pounds" is not an age
    _parse_age(unpriced.lower(), q)
    # gender: a session restricted to one, or the person's own
    if re.search(r"\b(women|ladies|female|girls)[- ]only\b|\bfor women only\b", lowered):
        q.gender = "female"
    elif re.search(r"\b(men|male|gentlemen|boys)[- ]only\b|\bfor men only\b", lowered):
        q.gender = "male"
    elif re.search(r"\b(woman|women|lady|ladies|female|girl)\b", lowered):
        q.person_gender = "female"
    elif re.search(r"\b(man|men|male|gentleman|gentlemen|boy)\b", lowered):
        q.person_gender = "male"
    # level
    if re.search(r"\b(intermediate|experienced|improvers?|advanced)\b", lowered):
        q.level = "intermediate"
    elif re.search(r"\b(beginners?|new to|never (?:done|tried|played)|starting out|first[- ]timer?)\b", lowered):
        q.level = "beginner"
    # day, time and age phrases that were not read
    for pattern in (UNREAD_DAY, UNREAD_TIME):
        q.unread += [m.group(0) for m in pattern.finditer(text)]
    if q.age is None:
        q.unread += [m.group(0) for m in UNREAD_AGE.finditer(text)]
    q.unread += [m.group(0) for m in UNREAD_PRICE.finditer(unpriced)]
    q.unread = list(dict.fromkeys(q.unread))
    q.unplaced = list(dict.fromkeys(q.unplaced))
    return q


def _parse_price(text: str, q: Question) -> str:
    """The most the person can pay ("under £3", "less than 3 pounds", "no more than £4", "up to £5", "£3 or
    less"): the lowest limit stated. Returns the text with the limits blanked out."""
    limits: list[tuple[float, str]] = []
    weights: list[tuple[int, int]] = []
    for m in PRICE_LIMIT.finditer(text):
        word = (m.group(1) or "").lower()
        pounds, amount, pence = m.group(2, 3, 4) if m.group(1) else m.group(5, 6, 7)
        if amount and WEIGHT_BEFORE.search(text[max(0, m.start() - 30) : m.start()]):
            weights.append(m.span())  # "she's lost up to 10 pounds": a weight, not a price
            continue
        value = float(pounds or amount) if (pounds or amount) else int(pence) / 100
        limits.append((value, "under" if word in ("under", "below", "less than", "cheaper than") else "at most"))
    if limits:
        value, op = min(limits, key=lambda limit: (limit[0], limit[1] != "under"))
        q.max_price = (op, value)
    return PRICE_LIMIT.sub(lambda m: m.group() if m.span() in weights else " " * len(m.group()), text)


def price_ok(a: Activity, limit: tuple[str, float] | None) -> bool:
    """Whether every price but a carer's is within the limit; a record with no known price is not (as an
    activity not known to be free is not free)."""
    if limit is None:
        return True
    price = top_price(a)
    if price is None:
        return False
    op, most = limit
    return price < most - 1e-9 if op == "under" else price <= most + 1e-9


def top_price(a: Activity) -> float | None:
    """The most anyone but a carer pays (0 for a free activity); None when the record gives no price."""
    if a.free:
        return 0.0
    amounts = [c.amount for c in a.costs if c.amount is not None and "carer" not in c.option.lower()]
    return max(amounts) if amounts else None


def money(pounds: float) -> str:
    return f"£{pounds:.2f}".removesuffix(".00")


def _parse_age(lowered: str, q: Question) -> None:
    """ "a 62-year-old", "aged 62", "over 60" (61), "over 60s", "over-60s", "60+", "60 and over" (60), "under 18"."""
    age = re.search(r"\b(\d{1,3})[- ]?(?:years?|yrs?)[- ]?old\b|\baged (\d{1,3})\b|\b(\d{1,3}) ?yo\b", lowered)
    plus = re.search(
        r"\b(?:over|above)[- ](\d{2})'?s\b|\b(\d{2})\s?(?:\+|plus\b)|\b(\d{2})\s(?:and|or) (?:over|older|above)\b"
        r"|\bin (?:his|her|their) (\d)0s\b",
        lowered,
    )
    over = re.search(r"\b(?:over|older than|above)[- ](\d{2})\b(?!'?s)", lowered)
    under = re.search(r"\b(?:under|younger than|below)[- ](\d{1,2})\b", lowered)
    if age:
        q.age = int(next(g for g in age.groups() if g))
    elif plus:
        q.age = int(plus.group(4)) * 10 if plus.group(4) else int(next(g for g in plus.groups() if g))
    elif over:
        q.age = int(over.group(1)) + 1
    elif under:
        q.age = int(under.group(1)) - 1


def _parse_needs(text: str, q: Question) -> None:
    """Access needs; two needs joined by "or" ("a hoist or a Pool Pod") mean either will do."""
    found: list[tuple[int, int, str]] = []
    taken: list[tuple[int, int]] = []
    phrases = sorted(((p, tag) for tag, ps in NEED_WORDS.items() for p in ps), key=lambda x: -len(x[0]))
    for phrase, tag in phrases:
        for m in re.finditer(rf"\b{re.escape(phrase)}\b", text):
            if any(s < m.end() and m.start() < e for s, e in taken):
                continue
            taken.append((m.start(), m.end()))
            if not _negated_need(text, m.start(), m.end()):  # "doesn't need a hoist", "she has no wheelchair"
                found.append((m.start(), m.end(), tag))
    found.sort()
    groups: list[list[str]] = []
    for i, (_start, _end, tag) in enumerate(found):
        if i and re.fullmatch(r"\s*(?:,\s*)?or\s+(?:an?\s+|the\s+)?(?:\w+\s+)?", text[found[i - 1][1] : _start]):
            groups[-1].append(tag)
        else:
            groups.append([tag])
    for group in groups:
        tags = list(dict.fromkeys(group))
        if len(tags) == 1:
            if tags[0] not in q.needs:
                q.needs.append(tags[0])
        else:
            q.needs_any = list(dict.fromkeys([*q.needs_any, *tags]))


def town_set(q: Question, towns: Towns, widen: bool = False) -> list[str]:
    return sorted({n for t in q.towns for n in (towns.nearby(t) if (q.near or widen) else [t])})


def _any(clauses: list[dict[str, Any]]) -> dict[str, Any]:
    return clauses[0] if len(clauses) == 1 else {"$or": clauses}


def where_clause(q: Question, towns: Towns, relax: Sequence[str] = ()) -> dict[str, Any] | None:
    """The hard constraints as a Chroma filter; ``relax`` names constraints to leave out."""
    clauses: list[dict[str, Any]] = []
    if q.activity_family and "activity" not in relax:
        clauses.append(_any([{"types": {"$contains": t}} for t in q.activity_family]))
    if q.towns and "town" not in relax:
        clauses.append({"town": {"$in": town_set(q, towns, widen="near" in relax)}})
    # excluded days and times never pass: ``days``/``times`` hold the others, and are checked against them here too
    days = [d for d in q.days if d not in q.not_days] if "day" not in relax else []
    times = [t for t in q.times if t not in q.not_times] if "time" not in relax else []
    if days and times:
        clauses.append(_any([{"slots": {"$contains": f"{d}-{t}"}} for d in days for t in times]))
    elif days:
        clauses.append(_any([{"days": {"$contains": d}} for d in days]))
    elif times:
        clauses.append(_any([{"times": {"$contains": t}} for t in times]))
    if "access" not in relax:
        clauses += [{"access": {"$contains": need}} for need in q.needs]
        if q.needs_any:
            clauses.append(_any([{"access": {"$contains": need}} for need in q.needs_any]))
    if q.free and "cost" not in relax:
        clauses.append({"free": True})
    if q.carer_free and "carer" not in relax:
        clauses.append({"carer_free": True})
    if q.age is not None and "age" not in relax:
        clauses += [{"min_age": {"$lte": q.age}}, {"max_age": {"$gte": q.age}}]
    if q.gender and "gender" not in relax:
        clauses.append({"gender": q.gender})
    if q.person_gender and "gender" not in relax:
        clauses.append({"gender": {"$in": ["any", q.person_gender]}})
    if q.level and "level" not in relax:
        clauses.append({"level": {"$in": ["all", q.level]}})
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


def unmet(a: Activity, q: Question, towns: Towns, relax: Sequence[str] = ()) -> list[str]:
    """The question's hard constraints this activity breaks (checked on the record itself)."""
    out: list[str] = []
    if (
        q.activity_family
        and "activity" not in relax
        and not {t.lower() for t in a.activity_types} & set(q.activity_family)
    ):
        out.append("activity")
    if q.towns and "town" not in relax and record_town(a, towns) not in town_set(q, towns, "near" in relax):
        out.append("town")
    days = set(q.days) - set(q.not_days) if "day" not in relax else set()
    times = set(q.times) - set(q.not_times) if "time" not in relax else set()
    clock = q.clock if "time" not in relax else None
    if days or times or clock:
        slots = [(d, time_of_day(s.start_time), s.start_time) for s in a.schedules for d in s.days]
        if days and not any(d in days for d, _, _ in slots):
            out.append("day")
        elif (times or clock) and not any(
            (not days or d in days) and (not times or t in times) and clock_ok(start, clock) for d, t, start in slots
        ):
            out.append("time")
    if "access" not in relax and (
        not set(q.needs) <= set(a.accessibility) or (q.needs_any and not set(q.needs_any) & set(a.accessibility))
    ):
        out.append("access")
    if q.free and "cost" not in relax and not a.free:
        out.append("cost")
    if q.max_price is not None and "price" not in relax and not price_ok(a, q.max_price):
        out.append("price")
    if q.carer_free and "carer" not in relax and not (a.free or a.carer_free):
        out.append("carer")
    if q.age is not None and "age" not in relax:
        low, high = a.min_age if a.min_age is not None else 0, a.max_age if a.max_age is not None else 200
        if not low <= q.age <= high:
            out.append("age")
    if "gender" not in relax and (
        (q.gender and a.gender != q.gender) or (q.person_gender and a.gender not in ("any", q.person_gender))
    ):
        out.append("gender")
    if q.level and "level" not in relax and a.level not in ("", "all", q.level):
        out.append("level")
    return out


class MiniLMFunction:
    """Chroma embedding function over our MiniLM embedder; registered so every process rebuilds it."""

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder

    def __call__(self, input: list[str]) -> list[np.ndarray]:
        return list(self.embedder.embed(list(input)))

    @staticmethod
    def name() -> str:
        return "reconnect-minilm-onnx"

    def embed_query(self, input: list[str]) -> list[np.ndarray]:
        return self(input)

    def get_config(self) -> dict[str, Any]:
        return {}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> MiniLMFunction:
        from assistant.embedding import shared_embedder

        return MiniLMFunction(shared_embedder())

    def is_legacy(self) -> bool:
        return False

    def default_space(self) -> str:
        return "cosine"

    def supported_spaces(self) -> list[str]:
        return ["cosine"]


def _tokens(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


STOPWORDS = frozenset(
    re.findall(
        r"\w+",
        "a an and at for in is of on or the to with any there some something somewhere someone my her his their "
        "she he they can could would please near around session sessions class classes",
    )
)


LIST_FIELDS = ("days", "times", "slots", "access", "types")
SCALAR_FIELDS = ("town", "free", "carer_free", "min_age", "max_age", "gender", "level")


class FilterMirror:
    """The index in memory (vectors, filter fields, documents, records), so a question costs milliseconds.

    Chroma stays the store of record; its local ``where`` filtering costs 60-120 ms at 10k
    activities and ``get`` by ids about 40 ms (measured here), this about 1 ms. It evaluates the
    same clause :func:`where_clause` builds for Chroma, so each constraint has one definition.
    """

    def __init__(
        self,
        ids: list[str],
        vectors: np.ndarray,
        metadatas: list[dict[str, Any]],
        documents: list[str],
    ) -> None:
        self.ids = ids
        self.vectors = vectors
        self.documents = documents
        self.records = [str(m.get("record", "")) for m in metadatas]
        n = len(ids)
        self.codes: dict[str, dict[Any, int]] = {}
        self.scalars: dict[str, np.ndarray] = {}
        for name in SCALAR_FIELDS:
            if name in ("min_age", "max_age"):
                default = 0 if name == "min_age" else 200
                self.scalars[name] = np.array([int(m.get(name, default)) for m in metadatas], dtype=np.int64)
            else:
                codes = self.codes.setdefault(name, {})
                self.scalars[name] = np.array(
                    [codes.setdefault(m.get(name), len(codes)) for m in metadatas], dtype=np.int64
                )
        self.postings: dict[str, dict[Any, np.ndarray]] = {name: {} for name in LIST_FIELDS}
        for row, m in enumerate(metadatas):
            for name in LIST_FIELDS:
                for value in m.get(name) or []:
                    column = self.postings[name].setdefault(value, np.zeros(n, dtype=bool))
                    column[row] = True
        self._none = np.zeros(n, dtype=bool)

    @classmethod
    def load(cls, collection: Any, page: int = 10000) -> FilterMirror:
        """Read the whole collection, a page at a time (one large ``get`` exceeds SQLite's variable limit)."""
        ids: list[str] = []
        metadatas: list[dict[str, Any]] = []
        documents: list[str] = []
        blocks: list[np.ndarray] = []
        offset = 0
        while True:
            got = collection.get(include=["embeddings", "metadatas", "documents"], limit=page, offset=offset)
            if not got["ids"]:
                break
            ids += list(got["ids"])
            metadatas += [dict(m or {}) for m in got["metadatas"] or []]
            documents += [d or "" for d in got["documents"] or []]
            blocks.append(np.asarray(got["embeddings"], dtype=np.float32).reshape(len(got["ids"]), -1))
            offset += len(got["ids"])
        vectors = np.vstack(blocks) if blocks else np.zeros((0, 384), dtype=np.float32)
        return cls(ids, vectors, metadatas, documents)

    def _code(self, name: str, value: Any) -> int:
        return self.codes.get(name, {}).get(value, -1)

    def mask(self, where: dict[str, Any] | None) -> np.ndarray:
        if where is None:
            return ~self._none
        if "$and" in where:
            out = ~self._none
            for clause in where["$and"]:
                out = out & self.mask(clause)
            return out
        if "$or" in where:
            out = self._none.copy()
            for clause in where["$or"]:
                out = out | self.mask(clause)
            return out
        ((name, condition),) = where.items()
        if not isinstance(condition, dict):
            condition = {"$eq": condition}
        ((op, value),) = condition.items()
        if op == "$contains":
            return self.postings[name].get(value, self._none)
        column = self.scalars[name]
        coded = name in self.codes
        if op == "$in":
            wanted = [self._code(name, v) for v in value] if coded else list(value)
            return np.isin(column, wanted)
        if op == "$eq":
            return np.asarray(column == (self._code(name, value) if coded else value), dtype=bool)
        if op == "$lte":
            return np.asarray(column <= value, dtype=bool)
        if op == "$gte":
            return np.asarray(column >= value, dtype=bool)
        raise ValueError(f"the in-memory filter does not support {op}")

    def nearest(self, vector: np.ndarray, where: dict[str, Any] | None, n: int) -> list[tuple[int, float]]:
        """The rows of the ``n`` most similar activities (cosine) among those the clause admits."""
        allowed = self.mask(where)
        count = int(allowed.sum())
        if count == 0:
            return []
        scores = self.vectors @ vector
        scores[~allowed] = -np.inf
        n = min(n, count)
        top = np.argpartition(-scores, n - 1)[:n] if n < scores.size else np.arange(scores.size)
        top = top[np.argsort(-scores[top])]
        return [(int(t), float(scores[t])) for t in top if allowed[t]]


class ActivityIndex:
    """Chroma for the vectors and the filters, BM25 over the filtered candidates, fused by RRF."""

    def __init__(
        self, path: Path | None, embedder: Embedder, towns: Towns | None = None, url: str | None = None
    ) -> None:
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
        if url:
            from urllib.parse import urlparse

            parsed = urlparse(url)
            self._client = chromadb.HttpClient(
                host=parsed.hostname or "localhost", port=parsed.port or 8000, settings=chroma_settings
            )
        else:
            assert path is not None
            path.mkdir(parents=True, exist_ok=True)
            self._client = chromadb.PersistentClient(path=str(path), settings=chroma_settings)
        self.embedder = embedder
        self._function = MiniLMFunction(embedder)
        self._collection = self._client.get_or_create_collection(
            COLLECTION,
            embedding_function=self._function,  # type: ignore[arg-type]
            configuration={"hnsw": {"space": "cosine"}},
        )
        self.towns = towns or Towns({})
        self._vectors: dict[str, np.ndarray] = {}
        # a local index keeps a filter mirror in memory; a Chroma server filters itself
        self._stamp = None if url else path / "generation" if path is not None else None
        self._mirror: FilterMirror | None = None
        self._mirror_stamp: int = -1

    # ── writing ─────────────────────────────────────────────────────────────
    def upsert(
        self, activities: Sequence[Activity], batch: int = 512, vectors: Sequence[np.ndarray] | None = None
    ) -> None:
        """Embed in batches and upsert by id (the source record's id), so re-imports update.

        ``vectors`` (one per activity) are embeddings computed elsewhere, e.g. by a hosted model.
        """
        if vectors is not None and len(vectors) != len(activities):
            raise ValueError(f"{len(vectors)} vectors for {len(activities)} activities")
        self._replace_legacy(activities)
        if vectors is not None:
            for start in range(0, len(activities), batch):
                chunk = activities[start : start + batch]
                self._collection.upsert(
                    ids=[a.id for a in chunk],
                    documents=[activity_document(a) for a in chunk],
                    embeddings=list(vectors[start : start + batch]),
                    metadatas=[activity_metadata(a, self.towns) for a in chunk],
                )
            self._touch()
            return
        unique = list({a.id: a for a in activities}.values())
        for start in range(0, len(unique), batch):
            chunk = unique[start : start + batch]
            documents = [activity_document(a) for a in chunk]
            texts = [embedding_text(a) for a in chunk]
            model = self.embedder.name
            digests = [hashlib.sha1(f"{model}\n{t}".encode()).hexdigest()[:16] for t in texts]
            # a record whose embedded text (and embedding model) has not changed keeps its vector:
            # re-imports of a feed are cheap
            known = self._collection.get(ids=[a.id for a in chunk], include=["embeddings", "metadatas"])
            reuse = {
                i: np.asarray(v, dtype=np.float32)
                for i, v, m in zip(
                    known["ids"],
                    known["embeddings"] if known["embeddings"] is not None else [],
                    known["metadatas"] or [],
                    strict=False,
                )
                if m is not None and m.get("embedded")
            }
            stored = {i: m.get("embedded") for i, m in zip(known["ids"], known["metadatas"] or [], strict=False) if m}
            todo = [n for n, a in enumerate(chunk) if not (a.id in reuse and stored.get(a.id) == digests[n])]
            todo.sort(key=lambda n: len(texts[n]))  # similar lengths pad less
            fresh = set(todo)
            chunk_vectors: list[np.ndarray] = [
                reuse[a.id] if n not in fresh else np.empty(0) for n, a in enumerate(chunk)
            ]
            for n, vector in zip(todo, self.embedder.embed([texts[n] for n in todo]), strict=True):
                chunk_vectors[n] = vector
            metadatas = [
                activity_metadata(a, self.towns) | {"embedded": d} for a, d in zip(chunk, digests, strict=True)
            ]
            self._collection.upsert(
                ids=[a.id for a in chunk],
                documents=documents,
                embeddings=chunk_vectors,
                metadatas=metadatas,  # type: ignore[arg-type]
            )
        self._touch()

    def _touch(self) -> None:
        """Mark the index as changed, for the mirror here and in any other process on the same folder."""
        self._mirror = None
        if self._stamp is not None:
            self._stamp.write_text(str(time.time_ns()), encoding="utf-8")

    def mirror(self) -> FilterMirror | None:
        if self._stamp is None:
            return None
        stamp = self._stamp.stat().st_mtime_ns if self._stamp.exists() else 0
        if self._mirror is None or stamp != self._mirror_stamp:
            self._mirror = FilterMirror.load(self._collection)
            self._mirror_stamp = stamp
        return self._mirror

    def _replace_legacy(self, activities: Sequence[Activity]) -> int:
        """Remove the copies an index built before ids carried their feed or file holds of these records
        (``openactive:{id}``, a plain-CSV row's bare id), so a re-import replaces them instead of adding a
        second copy. Only a stored record from the same kind of source with the same publisher id is removed:
        a bare CSV id that is also an ORUK service's id leaves the service alone."""
        wanted = {old: a for a in activities if (old := legacy_id(a))}
        if not wanted:
            return 0
        gone = []
        olds = list(wanted)
        for start in range(0, len(olds), 512):
            got = self._collection.get(ids=olds[start : start + 512], include=["metadatas"])
            for i, meta in zip(got["ids"], got["metadatas"] or [], strict=False):
                if not meta or not meta.get("record"):
                    continue
                stored, new = Activity.model_validate_json(str(meta["record"])), wanted[i]
                if (
                    stored.source.split(":", 1)[0] == new.source.split(":", 1)[0]
                    and (stored.source_id or stored.id) == new.source_id
                    and (not stored.source.startswith("csv:") or stored.source == new.source)
                ):
                    gone.append(i)
        if gone:
            log.info("replacing %d record(s) stored under their old ids", len(gone))
            self._collection.delete(ids=gone)
            self._touch()
        return len(gone)

    def delete(self, ids: Iterable[str]) -> int:
        ids = list(ids)
        if not ids:
            return 0
        existing = self._collection.get(ids=ids, include=[])["ids"]
        if existing:
            self._collection.delete(ids=existing)
            self._touch()
        return len(existing)

    def count(self) -> int:
        return int(self._collection.count())

    def ids(self) -> set[str]:
        return set(self._collection.get(include=[])["ids"])

    def activities(self) -> list[Activity]:
        got = self._collection.get(include=["metadatas"])
        return [Activity.model_validate_json(str(m["record"])) for m in got["metadatas"] or []]

    def stats(self) -> dict[str, Any]:
        acts = self.activities()
        towns: dict[str, int] = {}
        types: dict[str, int] = {}
        sources: dict[str, int] = {}
        for a in acts:
            towns[a.location.town or "unknown"] = towns.get(a.location.town or "unknown", 0) + 1
            sources[a.source or "unknown"] = sources.get(a.source or "unknown", 0) + 1
            for t in a.activity_types:
                types[t] = types.get(t, 0) + 1
        return {
            "activities": len(acts),
            "towns": dict(sorted(towns.items(), key=lambda kv: -kv[1])),
            "activity_types": dict(sorted(types.items(), key=lambda kv: -kv[1])),
            "from": dict(sorted(sources.items(), key=lambda kv: -kv[1])),
        }

    # ── reading ─────────────────────────────────────────────────────────────
    def query_vector(self, text: str) -> np.ndarray:
        """The question's embedding; kept for the relaxation searches that follow an empty answer."""
        if text not in self._vectors:
            if len(self._vectors) > 64:
                self._vectors.clear()
            self._vectors[text] = self.embedder.embed([text])[0]
        return self._vectors[text]

    def dense(self, text: str, k: int) -> list[tuple[Activity, float]]:
        """MiniLM alone, no filters: the baseline the constraints are measured against."""
        got = self._collection.query(
            query_embeddings=[self.query_vector(text)],
            n_results=k,  # Chroma returns fewer when the collection holds fewer
            include=["metadatas", "distances"],
        )
        metas = (got["metadatas"] or [[]])[0]
        dists = (got["distances"] or [[]])[0]
        return [
            (Activity.model_validate_json(str(m["record"])), 1 - float(d)) for m, d in zip(metas, dists, strict=True)
        ]

    def search(self, q: Question, k: int, relax: Sequence[str] = (), pool: int = 100) -> list[tuple[Activity, float]]:
        """Activities meeting every hard constraint (less ``relax``), best first, with their fused scores.

        The index filters by town, day, time of day, needs and activity; a price limit ("under £3") and an exact
        clock time ("before 10am") are checked on the typed record only. When the nearest ``pool`` candidates
        held fewer than ``k`` that meet those, and some were left out for them, the pool grows fourfold and
        the search runs again, until it holds every activity the index filter lets through."""
        where = where_clause(q, self.towns, relax)
        vector = self.query_vector(" ".join([q.text, *q.activity_terms[:8]]))
        size = max(pool, k * 10)
        while True:
            found, candidates, over_limits = self._search_pool(q, k, relax, where, vector, size)
            if len(found) >= k or candidates < size or not over_limits:
                return found
            log.info("%d of %d candidates were over a price or clock-time limit: searching %d", over_limits,
                     candidates, size * 4)
            size *= 4

    def _search_pool(
        self, q: Question, k: int, relax: Sequence[str], where: dict[str, Any] | None, vector: np.ndarray, size: int
    ) -> tuple[list[tuple[Activity, float]], int, int]:
        """The best ``k`` of the ``size`` nearest candidates the index filter lets through, how many candidates
        there were, and how many were left out only for a price or clock-time limit."""
        mirror = self.mirror()
        if mirror is not None:
            nearest = mirror.nearest(vector, where, size)
            ids = [mirror.ids[r] for r, _ in nearest]
            similarity = {mirror.ids[r]: score for r, score in nearest}
            records = [mirror.records[r] for r, _ in nearest]
            docs = [mirror.documents[r] for r, _ in nearest]
        else:
            got = self._collection.query(
                query_embeddings=[vector],
                n_results=size,
                where=where,
                include=["metadatas", "distances", "documents"],
            )
            ids = got["ids"][0]
            records = [str(m["record"]) for m in (got["metadatas"] or [[]])[0]]
            docs = (got["documents"] or [[]])[0]
            similarity = {i: 1 - float(d) for i, d in zip(ids, (got["distances"] or [[]])[0], strict=True)}
        if not ids:
            return [], 0, 0
        record_of = dict(zip(ids, records, strict=True))
        # BM25 over the candidates that passed, on the question's content words and activity labels
        from rank_bm25 import BM25Okapi

        doc_of = dict(zip(ids, docs, strict=True))
        terms = [t for t in _tokens(" ".join([q.text, *q.activity_terms])) if t not in STOPWORDS]
        lexical: dict[str, float] = {}
        if terms and len(ids) > 1:
            scores = BM25Okapi([_tokens(doc_of[i] or "") for i in ids]).get_scores(terms)
            lexical = {i: float(s) for i, s in zip(ids, scores, strict=True)}
        dense_rank = {i: r for r, i in enumerate(ids)}
        lexical_rank = {i: r for r, i in enumerate(sorted(ids, key=lambda i: -lexical.get(i, 0.0)))}
        fused = {
            i: 1 / (RRF_K + dense_rank[i]) + (1 / (RRF_K + lexical_rank[i]) if lexical.get(i, 0.0) > 0 else 0.0)
            for i in ids
        }
        ranked = sorted(ids, key=lambda i: -fused[i])
        if not q.activity_family or "activity" in relax:
            best = max(similarity[i] for i in ids)
            ranked = [i for i in ranked if similarity[i] >= SIMILARITY_FLOOR and similarity[i] >= best - RELATIVE_FLOOR]
        # the typed record is checked again, constraint by constraint, before anything is returned
        out: list[tuple[Activity, float]] = []
        over_limits = 0
        for i in ranked:
            activity = Activity.model_validate_json(record_of[i])
            if has_ended(activity):
                log.info("%s has ended; left out", i)
                continue
            broken = unmet(activity, q, self.towns, relax)
            if broken:
                # the index filters by time of day; an exact clock time ("before 10am") and a price limit
                # ("under £3") are only checked here
                expected = all(b == "price" or (b == "time" and q.clock is not None) for b in broken)
                over_limits += expected
                log.log(
                    logging.INFO if expected else logging.WARNING,
                    "%s passed the index filter but breaks %s; left out",
                    i,
                    broken,
                )
                continue
            out.append((activity, round(fused[i] * RRF_K / 2, 4)))
            if len(out) == k:
                break
        return out, len(ids), over_limits


def has_ended(a: Activity, today: date | None = None) -> bool:
    """A record whose sessions are all one-off dates now past (imported before they happened)."""
    dates = [s.on for s in a.schedules]
    if not dates or None in dates:
        return False
    return max(d for d in dates if d is not None) < (today or today_local())


# ── answers ────────────────────────────────────────────────────────────────


def _when(s: Schedule) -> str:
    """A schedule's days with its frequency: "Tuesday", "first Monday of the month", "every other week on Friday",
    "once, Wednesday 2 July 2025"."""
    days = ", ".join(DAY_NAMES[d] for d in sorted(s.days, key=DAY_CODES.index) if d in DAY_NAMES)
    freq = s.frequency
    if freq in ("", "weekly"):
        return days
    if freq == "once":
        if s.on is not None:
            return "once, " + s.on.strftime("%A %-d %B %Y")
        return f"once, {days}" if days else "once"
    if any(name in freq for name in DAY_NAMES.values()):
        return freq
    return f"{freq} on {days}" if days else freq


def _days_times(a: Activity) -> str:
    parts = []
    for s in a.schedules:
        days = _when(s)
        times = f"{s.start_time}-{s.end_time}" if s.start_time and s.end_time else s.start_time or ""
        if days or times:
            parts.append(" ".join(x for x in (days, times) if x))
        elif s.description:  # no days or times published: what the publisher says instead (or that it is out of date)
            parts.append(s.description.rstrip("."))
    return "; ".join(parts)


def _cost(a: Activity) -> str:
    if a.free:
        return "free"
    priced = [f"{c.option or 'cost'} £{c.amount:.2f}" for c in a.costs if c.amount is not None and c.amount > 0]
    return "; ".join(priced) or ""


def why(a: Activity, q: Question) -> str:
    """Why the activity fits: when, where, the access asked for, cost and carers."""
    parts = []
    when = _days_times(a)
    if when:
        parts.append(when)
    if a.location.town:
        parts.append(f"{a.location.name + ', ' if a.location.name else ''}{a.location.town}")
    asked = [n for n in (*q.needs, *q.needs_any) if n in a.accessibility]
    if asked:
        parts.append("has " + ", ".join(NEED_NAMES.get(n, n) for n in asked))
    elif a.accessibility:
        parts.append("access: " + ", ".join(t.replace("_", " ") for t in a.accessibility))
    cost = _cost(a)
    if cost:
        parts.append(cost)
    if a.carer_free and not a.free:
        parts.append("carers free")
    if q.age is not None or a.min_age or a.max_age is not None:  # an age limit is always shown
        parts.append(f"ages {a.min_age or 0}" + (f"-{a.max_age}" if a.max_age is not None else "+"))
    if a.gender != "any":
        parts.append(f"{'women' if a.gender == 'female' else 'men'} only")
    if a.level:
        parts.append(f"{a.level} level")
    return "; ".join(parts)


def to_match(a: Activity, score: float, q: Question) -> Match:
    days = sorted({d for s in a.schedules for d in s.days if d in DAY_NAMES}, key=DAY_CODES.index)
    times = ", ".join(
        f"{s.start_time}-{s.end_time}" if s.end_time else s.start_time for s in a.schedules if s.start_time
    )
    return Match(
        id=a.source_id or a.id,
        name=a.name,
        score=score,
        why=why(a, q),
        town=a.location.town,
        days=[DAY_NAMES[d] for d in days],
        times=times,
        cost=_cost(a),
        accessibility=a.accessibility,
        booking=a.booking or a.contact,
        source=a.source,
        directory_id=a.id,
    )


CONSTRAINT_ORDER = ("day", "time", "town", "access", "cost", "price", "carer", "age", "gender", "level", "activity")


def describe(q: Question, towns: Towns | None = None) -> str:
    """The question's constraints in words."""
    bits = []
    if q.activities:
        bits.append(" or ".join(q.activities).lower())
    for name in CONSTRAINT_ORDER:
        phrase = describe_constraint(q, name, towns)
        if phrase and name != "activity":
            bits.append(phrase)
    return ", ".join(bits) or q.text


def describe_constraint(q: Question, name: str, towns: Towns | None = None) -> str:
    title = towns.title if towns else str.title
    if name == "day" and q.not_days:
        return "not on " + " or ".join(DAY_NAMES[d] for d in q.not_days)
    if name == "day" and q.days:
        return "on " + " or ".join(DAY_NAMES[d] for d in q.days)
    if name == "time" and q.clock:
        op, hhmm = q.clock
        return f"starting {'around' if op == 'at' else op} {hhmm}"
    if name == "time" and q.not_times:
        return "not in the " + " or ".join(q.not_times)
    if name == "time" and q.times:
        return "in the " + " or ".join(q.times)
    if name == "town" and q.towns:
        return ("near " if q.near else "in ") + " or ".join(title(t) for t in q.towns)
    if name == "access" and (q.needs or q.needs_any):
        needs = [NEED_NAMES.get(n, n) for n in q.needs]
        if q.needs_any:
            needs.append(" or ".join(NEED_NAMES.get(n, n) for n in q.needs_any))
        return "with " + " and ".join(needs)
    if name == "cost" and q.free:
        return "free"
    if name == "price" and q.max_price is not None:
        op, most = q.max_price
        return f"under {money(most)}" if op == "under" else f"{money(most)} or less"
    if name == "carer" and q.carer_free:
        return "carers free"
    if name == "age" and q.age is not None:
        return f"for age {q.age}"
    if name == "gender" and (q.gender or q.person_gender):
        return f"{'women' if q.gender == 'female' else 'men'} only" if q.gender else f"open to a {q.person_gender}"
    if name == "level" and q.level:
        return f"at {q.level} level"
    if name == "activity" and q.activities:
        return " or ".join(q.activities).lower()
    return ""


class GroundedReply(BaseModel):
    answer: str
    cited: list[str]


GROUNDED_SYSTEM = (
    "You help an occupational therapist signpost a client to local activities. Answer in at most four short "
    "sentences using ONLY the activities listed, citing each one you mention by its id in square brackets. "
    "Never mention an activity that is not listed. Reply as JSON with keys answer and cited (the ids you cite)."
)


EMPTY_DIRECTORY = (
    "The activity directory is empty, so there is nothing to search yet: import a feed with "
    "`reconnect kb ingest FEED`, or load the bundled sample directory with `reconnect kb init`."
)


class Signposter:
    """Answers signposting questions from the index; templated offline, grounded with a model."""

    def __init__(self, index: ActivityIndex, chat: Any = None, redact: Callable[[str], str] | None = None) -> None:
        """``redact`` is applied to the question where it goes into the model's prompt; the question is
        still read (towns, postcodes, days) from what was typed, on this machine."""
        self.index = index
        self.chat = chat
        self.redact = redact or (lambda text: text)
        self._set_aside = ""  # why the last model answer was not used, when it was not grounded

    def understand(self, text: str, context: Question | None = None) -> Question:
        q = parse_question(text, self.index.towns)
        return follow_up(context, q) if context is not None and is_follow_up(q) else q

    def ask(self, text: str, k: int = 5, context: Question | None = None) -> tuple[Answer, Question]:
        q = self.understand(text, context)
        hits = self.index.search(q, k)
        results = [to_match(a, s, q) for a, s in hits]
        note = unread_note(q)
        if results:
            self._set_aside = ""
            grounded = self._grounded(q, results, [a for a, _ in hits])
            if grounded is None:
                answer = templated(results, partial=describe(q, self.index.towns) if note else "")
                if self._set_aside:
                    answer += f"\n(The model-written summary was not used: it {self._set_aside}.)"
            else:
                answer = grounded
            return Answer(answer=f"{note}\n{answer}" if note else answer, results=results), q
        if self.index.count() == 0:
            return Answer(answer=EMPTY_DIRECTORY, results=[]), q
        blocking, relaxations = self._relaxations(q, k)
        answer = (note + " " if note else "") + "Nothing suitable was found for " + describe(q, self.index.towns) + "."
        if blocking:
            answer += " What could not be met: " + "; ".join(blocking) + "."
        if relaxations:
            answer += " " + " ".join(relaxations)
        else:
            answer += " Nothing close either: try another activity or ask the local authority's directory."
        return Answer(answer=answer, results=[], relaxations=relaxations), q

    def _grounded(self, q: Question, results: list[Match], activities: Sequence[Activity] = ()) -> str | None:
        """A short model answer over the results; None (templated answer) if it cites anything else,
        or names a day, time, price or venue the cited records do not hold (:func:`ungrounded`)."""
        if self.chat is None:
            return None
        listing = "\n".join(f"[{m.id}] {m.name}: {m.why}. Book: {m.booking}" for m in results)
        try:
            prompt = f"Question: {self.redact(q.text)}\n\nActivities:\n{listing}"
            reply = self.chat.structured(GROUNDED_SYSTEM, prompt, GroundedReply)
        except Exception as exc:  # a model failure falls back to the templated answer
            log.warning("grounded answer failed, using the template: %s", exc)
            return None
        allowed = {m.id for m in results}
        cited = set(reply.cited) | set(re.findall(r"\[([^\]\s]+)\]", reply.answer))
        if not cited or not cited <= allowed:
            log.warning("the model cited something not in the results; using the template")
            return None
        if activities:
            by_id = {m.id: a for m, a in zip(results, activities, strict=True)}
            problem = ungrounded(str(reply.answer), [by_id[c] for c in cited], list(activities), q)
            if problem:
                log.warning("the model's answer %s; using the template", problem)
                self._set_aside = problem
                return None
        return str(reply.answer)

    def _relaxations(self, q: Question, k: int) -> tuple[list[str], list[str]]:
        """What blocks the answer, and the nearest answers with one (else two) constraints dropped.

        A nearby town is tried before any town, and another activity only when nothing else helps.
        """
        towns = self.index.towns
        present = [n for n in CONSTRAINT_ORDER if n != "activity" and describe_constraint(q, n, towns)]
        singles: list[tuple[tuple[str, ...], str]] = []
        if q.towns and not q.near:
            singles.append((("near",), "in a nearby town"))
        singles += [((n,), RELAX_LABELS[n]) for n in present]
        blocking: list[str] = []
        out: list[str] = []

        def phrase(name: str) -> str:
            return describe_constraint(q, "town" if name == "near" else name, towns)

        def offer(relax: tuple[str, ...], label: str) -> bool:
            hits = self.index.search(q, 2, relax=relax, pool=20)
            if not hits:
                return False
            names = "; ".join(f"{a.name} [{a.source_id or a.id}] ({why(a, q)})" for a, _ in hits)
            out.append(f"Available {label}: {names}.")
            return True

        for relax, label in singles:
            if len(out) >= 3:
                break
            if offer(relax, label) and phrase(relax[0]) not in blocking:
                blocking.append(phrase(relax[0]))
        if not out:
            pairs = [(a, b) for i, (a, _) in enumerate(singles) for (b, _) in singles[i + 1 :] if a != b]
            tried: set[frozenset[str]] = set()
            for (first,), (second,) in pairs:
                key = frozenset({"town" if x == "near" else x for x in (first, second)})
                if len(out) >= 2 or len(key) < 2 or key in tried:
                    continue
                tried.add(key)
                label = f"{RELAX_LABELS[first]} and {RELAX_LABELS[second]}"
                if offer((first, second), label):
                    blocking.append(f"{phrase(first)} together with {phrase(second)}")
        if not out and q.activities and present and offer(tuple(present), "elsewhere or at other times"):
            blocking.append(" together with ".join(phrase(n) for n in present))
        if not out and q.activities and offer(("activity",), RELAX_LABELS["activity"]):
            where_when = ", ".join(phrase(n) for n in present)
            blocking.append(f"{describe_constraint(q, 'activity', towns)} itself (none {where_when})")
        return blocking, out


GROUNDING_WORDS = frozenset(
    {"i", "ot", "you", "your", "changing", "places", "pool", "pod", "book", "booking", "try", "also", "both", "each"}
)
CLOCK_IN_TEXT = re.compile(r"\b(\d{1,2})(?:[:.](\d{2}))?\s*(am|pm|a\.m\.|p\.m\.)|\b(\d{1,2})[:.](\d{2})\b", re.I)


def ungrounded(text: str, cited: Sequence[Activity], shown: Sequence[Activity], q: Question) -> str | None:
    """Why a model answer is not supported by the records, or None.

    Days, clock times and prices it names must be in the records it cites (or in the question);
    "free" needs a cited record that is free or lets carers in free; a capitalised name (a venue,
    a club) must be made of words from the results or the question.
    """
    body = re.sub(r"\[[^\]]*\]", " ", text)
    asked = q.text.lower()
    days = {d for a in cited for s in a.schedules for d in s.days}
    days |= {code for word, code in DAY_WORDS.items() if re.search(rf"\b{word}s?\b", asked)}
    for word, code in DAY_WORDS.items():
        if re.search(rf"\b{word}s?\b", body, re.I) and code not in days:
            return f"names {DAY_NAMES[code]}, which is not a day of the activities it cites"
    times = {t for a in cited for s in a.schedules for t in (s.start_time, s.end_time) if t}
    if q.clock:
        times.add(q.clock[1])
    for m in CLOCK_IN_TEXT.finditer(re.sub(r"£\s?\d+(?:\.\d+)?", " ", body)):
        if m.group(4):
            hour, minute = int(m.group(4)), int(m.group(5))
        else:
            hour, minute = (
                int(m.group(1)) % 12 + (12 if m.group(3).lower().startswith("p") else 0),
                int(m.group(2) or 0),
            )
        if f"{hour:02d}:{minute:02d}" not in times:
            return f"names the time {m.group(0).strip()}, which the activities it cites do not have"
    prices = {round(c.amount, 2) for a in cited for c in a.costs if c.amount is not None}
    if q.max_price is not None:
        prices.add(round(q.max_price[1], 2))
    for m in re.finditer(r"£\s?(\d+(?:\.\d{1,2})?)", body):
        if round(float(m.group(1)), 2) not in prices:
            return f"names the price {m.group(0)}, which the activities it cites do not have"
    free_words = re.sub(r"(?:-|\bstep |\bhands |\bbarrier )free\b", " ", body, flags=re.I)
    if re.search(r"\bfree\b|\bno cost\b|\bno charge\b", free_words, re.I) and not any(
        a.free or a.carer_free for a in cited
    ):
        return "says free, but none of the activities it cites is free"
    vocabulary = set(GROUNDING_WORDS) | set(_tokens(q.text)) | {w.lower() for w in DAY_NAMES.values()} | MONTHS
    for a in shown:
        vocabulary |= set(
            _tokens(
                " ".join(
                    [
                        a.name,
                        a.organisation,
                        a.location.name,
                        a.location.town,
                        a.location.address,
                        *a.activity_types,
                        a.description,
                        a.accessibility_notes,
                        a.eligibility,
                    ]
                )
            )
        )
    vocabulary |= set(_tokens(" ".join(NEED_NAMES.values())))
    for m in re.finditer(r"(?<![.!?:\n-]\s)(?<!^)\b([A-Z][\w'’-]*)", body):
        start = m.start(1)
        if re.search(r"(?:^|[.!?:\n]|^-|\n-)\s*$", body[:start]):
            continue  # the first word of a sentence
        if not set(_tokens(m.group(1))) <= vocabulary:
            return f"names {m.group(1)!r}, which is not in the results"
    return None


RELAX_LABELS = {
    "near": "in a nearby town",
    "day": "on another day",
    "time": "at another time of day",
    "town": "in another town",
    "access": "without that access",
    "cost": "if it need not be free",
    "price": "at a higher price",
    "carer": "if the carer pays",
    "age": "for another age group",
    "gender": "with another gender rule",
    "level": "at another level",
    "activity": "as another activity, with everything else as asked",
}


def unread_note(q: Question) -> str:
    """What the question said that could not be read, said plainly; "" when everything was read."""
    notes = []
    quoted = lambda items: " or ".join(f"'{x}'" for x in items)  # noqa: E731
    if q.unplaced:
        where = "so these are not limited to a place" if not q.towns else "so only the other places were used"
        notes.append(f"I couldn't place {quoted(q.unplaced)} (not a town or postcode district I know), {where}.")
    if q.unread:
        notes.append(f"I couldn't read {quoted(q.unread)} as a day, time, age or price, so that was not checked.")
    return " ".join(notes)


def templated(results: list[Match], partial: str = "") -> str:
    """The offline answer. ``partial`` (what was read) replaces the claim that results meet the whole question."""
    count = f"{len(results)} {'activity' if len(results) == 1 else 'activities'}"
    if partial:
        lines = [f"{count} {'matches' if len(results) == 1 else 'match'} only the part I could read ({partial}):"]
    else:
        lines = [f"{count} {'meets' if len(results) == 1 else 'meet'} what you asked:"]
    lines += [
        f"- {m.name} [{m.id}]" + (f": {m.why}" if m.why else "") + f". Book: {m.booking or 'contact the organiser'}"
        for m in results
    ]
    return "\n".join(lines)


def is_follow_up(q: Question) -> bool:
    """A question that starts "what about…", names no activity, or is only a few words with no place
    or time ("boccia?"), refines the previous one; anything else starts afresh."""
    short = len(q.text.split()) <= 4 and not (q.towns or q.days or q.times)
    return not q.activities or short or bool(FOLLOW_UP.match(q.text))


def follow_up(previous: Question, new: Question) -> Question:
    """ "What about Thursdays?": keep the earlier question's constraints, replace what the new one states."""
    merged = Question(text=f"{previous.text} {new.text}")
    for name in ("towns", "needs", "needs_any", "activities", "activity_family", "activity_terms"):
        setattr(merged, name, getattr(new, name) or getattr(previous, name))
    days_from = new if new.days else previous
    merged.days, merged.not_days = days_from.days, days_from.not_days
    times_from = new if new.times or new.clock else previous
    merged.times, merged.not_times, merged.clock = times_from.times, times_from.not_times, times_from.clock
    merged.unplaced = new.unplaced if new.towns else list(dict.fromkeys([*previous.unplaced, *new.unplaced]))
    merged.unread = list(dict.fromkeys([*previous.unread, *new.unread]))
    if re.search(r"\bany ?time\b", new.text, re.I):
        merged.times, merged.not_times, merged.clock = [], [], None
    merged.near = new.near if new.towns else previous.near
    merged.free = new.free or previous.free
    merged.max_price = new.max_price or previous.max_price
    merged.carer_free = new.carer_free or previous.carer_free
    merged.age = new.age if new.age is not None else previous.age
    merged.gender = new.gender or previous.gender
    merged.person_gender = new.person_gender or previous.person_gender
    merged.level = new.level or previous.level
    return merged


def load_towns(path: Path) -> Towns:
    """Towns from knowledge/towns.yaml ({towns: {name: {latitude, longitude, nearby}}}) or {name: [lat, lon]}."""
    import yaml

    if not path.exists():
        return Towns({})
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    data: dict[str, Any] = raw.get("towns", raw) if isinstance(raw, dict) else {}
    coords: dict[str, tuple[float, float]] = {}
    nearby: dict[str, list[str]] = {}
    districts: dict[str, list[str]] = {}
    for name, value in data.items():
        if isinstance(value, dict):
            lat, lon = value.get("latitude", value.get("lat")), value.get("longitude", value.get("lon"))
            if lat is not None and lon is not None:
                coords[name] = (float(lat), float(lon))
                nearby[name] = [str(n) for n in value.get("nearby") or []]
                districts[name] = [str(d) for d in value.get("postcode_districts") or []]
        elif isinstance(value, list | tuple) and len(value) == 2:
            coords[name] = (float(value[0]), float(value[1]))
    return Towns(coords, nearby, districts)


def register() -> None:
    """Tell Chroma how to rebuild our embedding function in any new process."""
    from chromadb.utils.embedding_functions import register_embedding_function

    with contextlib.suppress(ValueError):  # already registered in this process
        register_embedding_function(MiniLMFunction)


def dumps(answer: Answer) -> str:
    return json.dumps(answer.model_dump(mode="json"), ensure_ascii=False)
