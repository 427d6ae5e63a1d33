"""Signposting: find local activities that meet every constraint the OT states.

The question is read for its constraints (town and nearby towns, days, time of
day, accessibility, cost, carers, age, gender, level) and its activity words,
which are expanded with the OpenActive Activity List. Hard constraints filter
(in Chroma's ``where`` clause, on list-valued metadata); the activity words and
the question's meaning rank, by reciprocal rank fusion of BM25 and MiniLM. When
nothing passes, the answer says so and suggests the nearest relaxation.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from assistant.activities import activity_list
from assistant.directory import DAY_CODES
from assistant.embedding import Embedder
from assistant.records import Activity, Answer, Match

log = logging.getLogger("reconnect.signposting")

COLLECTION = "activities"
RRF_K = 60
DAY_WORDS = {
    "monday": "MO",
    "tuesday": "TU",
    "wednesday": "WE",
    "thursday": "TH",
    "friday": "FR",
    "saturday": "SA",
    "sunday": "SU",
    "mondays": "MO",
    "tuesdays": "TU",
    "wednesdays": "WE",
    "thursdays": "TH",
    "fridays": "FR",
    "saturdays": "SA",
    "sundays": "SU",
}
DAY_NAMES = {
    "MO": "Monday",
    "TU": "Tuesday",
    "WE": "Wednesday",
    "TH": "Thursday",
    "FR": "Friday",
    "SA": "Saturday",
    "SU": "Sunday",
}
NEED_WORDS: dict[str, tuple[str, ...]] = {
    "hoist": ("hoist",),
    "pool_pod": ("pool pod",),
    "changing_places": ("changing places",),
    "hearing_loop": ("hearing loop", "induction loop", "hard of hearing"),
    "step_free": ("step-free", "step free", "no steps", "level access"),
    "parking": ("parking", "blue badge"),
    "wheelchair": ("wheelchair",),
    "accessible_changing": ("accessible changing",),
}


def time_of_day(hhmm: str | None) -> str | None:
    if not hhmm:
        return None
    hour = int(hhmm[:2])
    return "morning" if hour < 12 else "afternoon" if hour < 17 else "evening"


def activity_document(a: Activity) -> str:
    """The text both BM25 and MiniLM see for one activity."""
    days = ", ".join(DAY_NAMES[d] for s in a.schedules for d in s.days)
    return " ".join(
        x
        for x in (
            a.name,
            ", ".join(a.activity_types),
            a.description,
            a.location.town,
            a.location.name,
            days,
            a.accessibility_notes,
            a.eligibility,
        )
        if x
    )


def activity_metadata(a: Activity) -> dict[str, Any]:
    """List-valued metadata so Chroma's ``$contains`` can filter (it silently fails on strings)."""
    days = sorted({d for s in a.schedules for d in s.days})
    times = sorted({t for s in a.schedules if (t := time_of_day(s.start_time))})
    return {
        "town": (a.location.town or "unknown").lower(),
        "days": days or ["none"],
        "times": times or ["none"],
        "access": a.accessibility or ["none"],
        "free": bool(a.free),
        "carer_free": bool(a.carer_free),
        "min_age": a.min_age if a.min_age is not None else 0,
        "max_age": a.max_age if a.max_age is not None else 200,
        "gender": a.gender,
        "record": a.model_dump_json(),
    }


@dataclass
class Question:
    text: str
    towns: list[str] = field(default_factory=list)
    near: bool = False
    days: list[str] = field(default_factory=list)
    times: list[str] = field(default_factory=list)
    needs: list[str] = field(default_factory=list)
    free: bool = False
    carer_free: bool = False
    age: int | None = None
    gender: str | None = None
    activities: list[str] = field(default_factory=list)
    activity_terms: list[str] = field(default_factory=list)

    def constraints(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k not in {"text", "activity_terms"} and v}


class Towns:
    """Known towns with coordinates; "near X" includes towns within ``radius_km``."""

    def __init__(self, coords: dict[str, tuple[float, float]], radius_km: float = 16.0) -> None:
        self.coords = {k.lower(): v for k, v in coords.items()}
        self.radius_km = radius_km
        names = sorted(self.coords, key=len, reverse=True)
        self.pattern = re.compile(r"\b(" + "|".join(re.escape(n) for n in names) + r")\b", re.I) if names else None

    def find(self, text: str) -> list[str]:
        return list(dict.fromkeys(m.group(1).lower() for m in self.pattern.finditer(text))) if self.pattern else []

    def nearby(self, town: str) -> list[str]:
        if town not in self.coords:
            return [town]
        lat, lon = self.coords[town]
        scored = sorted((_km(lat, lon, *xy), name) for name, xy in self.coords.items())
        return [name for dist, name in scored if dist <= self.radius_km]


def _km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 12742 * math.asin(math.sqrt(h))


def parse_question(text: str, towns: Towns) -> Question:
    lowered = text.lower()
    q = Question(text=text)
    q.towns = towns.find(text)
    q.near = bool(re.search(r"\b(near|around|nearby|close to|not far from)\b", lowered))
    q.days = list(dict.fromkeys(code for word, code in DAY_WORDS.items() if re.search(rf"\b{word}\b", lowered)))
    if re.search(r"\bweekdays?\b", lowered) and not q.days:
        q.days = list(DAY_CODES[:5])
    if re.search(r"\bweekends?\b", lowered) and not q.days:
        q.days = ["SA", "SU"]
    q.times = [t for t in ("morning", "afternoon", "evening") if re.search(rf"\b{t}s?\b", lowered)]
    q.needs = [tag for tag, words in NEED_WORDS.items() if any(w in lowered for w in words)]
    if "pool_pod" in q.needs and "hoist" in q.needs and "hoist" not in lowered.replace("pool pod", ""):
        q.needs.remove("hoist")
    q.carer_free = bool(re.search(r"\bcarers?\b[^.?!]{0,40}\bfree\b|\bfree\b[^.?!]{0,20}\bcarers?\b", lowered))
    q.free = bool(re.search(r"\b(free|no cost|doesn't cost|without paying)\b", lowered)) and not (
        q.carer_free and lowered.count("free") == 1
    )
    age = re.search(r"\b(\d{2})[- ]?(?:years?[- ]old|yo)\b|\baged (\d{2})\b", lowered)
    if age:
        q.age = int(age.group(1) or age.group(2))
    if re.search(r"\b(women|woman|ladies|female)\b", lowered):
        q.gender = "female"
    elif re.search(r"\b(men|man|male|gentlemen)\b", lowered):
        q.gender = "male"
    concepts = activity_list().find(text)
    q.activities = [c.label for c in concepts]
    q.activity_terms = [label for c in concepts for label in activity_list().expand(c)]
    return q


def where_clause(q: Question, towns: Towns, relax: Sequence[str] = ()) -> dict[str, Any] | None:
    clauses: list[dict[str, Any]] = []
    if q.towns and "town" not in relax:
        names = sorted({n for t in q.towns for n in (towns.nearby(t) if q.near else [t])})
        clauses.append({"town": {"$in": names}})
    if q.days and "day" not in relax:
        clauses.append(
            {"$or": [{"days": {"$contains": d}} for d in q.days]}
            if len(q.days) > 1
            else {"days": {"$contains": q.days[0]}}
        )
    if q.times and "time" not in relax:
        clauses.append(
            {"$or": [{"times": {"$contains": t}} for t in q.times]}
            if len(q.times) > 1
            else {"times": {"$contains": q.times[0]}}
        )
    clauses += [{"access": {"$contains": need}} for need in q.needs]
    if q.free:
        clauses.append({"free": True})
    if q.carer_free:
        clauses.append({"carer_free": True})
    if q.age is not None:
        clauses += [{"min_age": {"$lte": q.age}}, {"max_age": {"$gte": q.age}}]
    if q.gender:
        clauses.append({"gender": {"$in": ["any", q.gender]}})
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


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


class ActivityIndex:
    """Chroma for the vectors and the filters, BM25 in memory for the words, fused by RRF."""

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
        self._lock = threading.Lock()
        self._bm25: Any = None
        self._bm25_ids: list[str] = []
        self.towns = towns or Towns({})

    # ── writing ─────────────────────────────────────────────────────────────
    def upsert(self, activities: Sequence[Activity], batch: int = 256) -> None:
        for start in range(0, len(activities), batch):
            chunk = activities[start : start + batch]
            self._collection.upsert(
                ids=[a.id for a in chunk],
                documents=[activity_document(a) for a in chunk],
                metadatas=[activity_metadata(a) for a in chunk],
            )
        self._bm25 = None

    def delete(self, ids: Iterable[str]) -> int:
        ids = list(ids)
        if ids:
            existing = self._collection.get(ids=ids, include=[])["ids"]
            if existing:
                self._collection.delete(ids=existing)
            self._bm25 = None
            return len(existing)
        return 0

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
        for a in acts:
            towns[a.location.town or "unknown"] = towns.get(a.location.town or "unknown", 0) + 1
            for t in a.activity_types:
                types[t] = types.get(t, 0) + 1
        return {
            "activities": len(acts),
            "towns": dict(sorted(towns.items(), key=lambda kv: -kv[1])),
            "activity_types": dict(sorted(types.items(), key=lambda kv: -kv[1])),
        }

    # ── reading ─────────────────────────────────────────────────────────────
    def _bm25_index(self) -> tuple[Any, list[str]]:
        with self._lock:
            if self._bm25 is None:
                from rank_bm25 import BM25Okapi

                got = self._collection.get(include=["documents"])
                self._bm25_ids = list(got["ids"])
                docs = [_tokens(d) for d in got["documents"] or []]
                self._bm25 = BM25Okapi(docs) if docs else None
            return self._bm25, self._bm25_ids

    def search(self, q: Question, k: int, relax: Sequence[str] = ()) -> list[tuple[Activity, float]]:
        where = where_clause(q, self.towns, relax)
        total = self.count()
        if total == 0:
            return []
        pool = min(total, max(50, k * 10))
        query_text = " ".join([q.text, *q.activity_terms])
        dense = self._collection.query(
            query_texts=[query_text],
            n_results=pool,
            where=where,
            include=["metadatas", "distances"],
        )
        ids = dense["ids"][0]
        if not ids:
            return []
        metadatas = (dense["metadatas"] or [[]])[0]
        records = {i: Activity.model_validate_json(str(m["record"])) for i, m in zip(ids, metadatas, strict=True)}
        distances = dict(zip(ids, (dense["distances"] or [[]])[0], strict=True))
        # BM25 over the same candidates, on the activity words
        bm25, bm25_ids = self._bm25_index()
        lexical: dict[str, float] = {}
        terms = _tokens(" ".join(q.activity_terms)) or _tokens(q.text)
        if bm25 is not None:
            positions = {i: n for n, i in enumerate(bm25_ids)}
            scores = bm25.get_batch_scores(terms, [positions[i] for i in ids if i in positions])
            lexical = {i: float(s) for i, s in zip([i for i in ids if i in positions], scores, strict=True)}
        dense_rank = {i: r for r, i in enumerate(ids)}
        lexical_rank = {i: r for r, i in enumerate(sorted(lexical, key=lambda i: -lexical[i]))}
        fused = {
            i: 1 / (RRF_K + dense_rank[i]) + (1 / (RRF_K + lexical_rank[i]) if lexical.get(i, 0) > 0 else 0)
            for i in ids
        }
        ranked = sorted(ids, key=lambda i: -fused[i])
        if q.activities:
            wanted = {t.lower() for t in q.activity_terms}
            ranked = [
                i for i in ranked if wanted & {t.lower() for t in records[i].activity_types} or lexical.get(i, 0) > 0
            ]
        else:
            ranked = [i for i in ranked if 1 - distances[i] >= 0.25]
        return [(records[i], round(fused[i] * RRF_K, 4)) for i in ranked[:k]]


def why(a: Activity, q: Question) -> str:
    parts = []
    days = sorted({d for s in a.schedules for d in s.days}, key=DAY_CODES.index)
    times = [f"{s.start_time}-{s.end_time}" for s in a.schedules if s.start_time]
    if days:
        parts.append(", ".join(DAY_NAMES[d] for d in days) + (f" {times[0]}" if times else ""))
    if a.location.town:
        parts.append(a.location.town)
    if a.accessibility:
        parts.append("access: " + ", ".join(t.replace("_", " ") for t in a.accessibility))
    if a.free:
        parts.append("free")
    if a.carer_free:
        parts.append("carers free")
    return "; ".join(parts)


def to_match(a: Activity, score: float, q: Question) -> Match:
    days = sorted({d for s in a.schedules for d in s.days}, key=DAY_CODES.index)
    times = ", ".join(f"{s.start_time}-{s.end_time}" for s in a.schedules if s.start_time)
    cost = "free" if a.free else "; ".join(f"{c.option} £{c.amount:g}" for c in a.costs if c.amount is not None)
    return Match(
        id=a.source_id or a.id,
        name=a.name,
        score=score,
        why=why(a, q),
        town=a.location.town,
        days=[DAY_NAMES[d] for d in days],
        times=times,
        cost=cost,
        accessibility=a.accessibility,
        booking=a.booking or a.contact,
    )


class Signposter:
    """Answers signposting questions from the index; templated offline, grounded with a model."""

    def __init__(self, index: ActivityIndex) -> None:
        self.index = index

    def ask(self, text: str, k: int = 5, context: Question | None = None) -> tuple[Answer, Question]:
        q = parse_question(text, self.index.towns)
        if context is not None:
            q = follow_up(context, q)
        hits = self.index.search(q, k)
        results = [to_match(a, s, q) for a, s in hits]
        if results:
            lines = [f"{len(results)} {'activity meets' if len(results) == 1 else 'activities meet'} what you asked:"]
            lines += [
                f"- {m.name} ({m.id})"
                + (f": {m.why}" if m.why else "")
                + f". Book: {m.booking or 'contact the organiser'}"
                for m in results
            ]
            return Answer(answer="\n".join(lines), results=results), q
        relaxations = self._relaxations(q, k)
        answer = "Nothing suitable was found for all of: " + describe(q) + "."
        if relaxations:
            answer += " " + " ".join(relaxations)
        return Answer(answer=answer, results=[], relaxations=relaxations), q

    def _relaxations(self, q: Question, k: int) -> list[str]:
        out = []
        for relax, label in (
            ("day", "on another day"),
            ("time", "at another time"),
            ("town", "in another town"),
        ):
            if (
                (relax == "day" and not q.days)
                or (relax == "time" and not q.times)
                or (relax == "town" and not q.towns)
            ):
                continue
            hits = self.index.search(q, k, relax=[relax])
            if hits:
                names = "; ".join(f"{a.name} ({why(a, q)})" for a, _ in hits[:3])
                out.append(f"Available {label}: {names}.")
        return out


def describe(q: Question) -> str:
    bits = []
    if q.activities:
        bits.append(" or ".join(q.activities).lower())
    if q.towns:
        bits.append(("near " if q.near else "in ") + ", ".join(t.title() for t in q.towns))
    if q.days:
        bits.append("on " + "/".join(DAY_NAMES[d] for d in q.days))
    if q.times:
        bits.append("in the " + "/".join(q.times))
    bits += [f"with {n.replace('_', ' ')}" for n in q.needs]
    if q.free:
        bits.append("free")
    if q.carer_free:
        bits.append("carers free")
    if q.age is not None:
        bits.append(f"age {q.age}")
    return ", ".join(bits) or q.text


def follow_up(previous: Question, new: Question) -> Question:
    """ "What about Thursdays?": keep the earlier question's constraints, replace what the new one states."""
    merged = Question(text=f"{previous.text} {new.text}")
    for name in ("towns", "days", "times", "needs", "activities", "activity_terms"):
        setattr(merged, name, getattr(new, name) or getattr(previous, name))
    merged.near = new.near or previous.near
    merged.free = new.free or previous.free
    merged.carer_free = new.carer_free or previous.carer_free
    merged.age = new.age if new.age is not None else previous.age
    merged.gender = new.gender or previous.gender
    return merged


def load_towns(path: Path) -> Towns:
    """Towns from a YAML or JSON mapping {town: [lat, lon]} or {towns: {town: {lat, lon}}}."""
    import yaml

    if not path.exists():
        return Towns({})
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    data: dict[str, Any] = raw.get("towns", raw) if isinstance(raw, dict) else {}
    coords: dict[str, tuple[float, float]] = {}
    for name, value in data.items():
        if isinstance(value, dict) and "lat" in value:
            coords[name] = (float(value["lat"]), float(value["lon"]))
        elif isinstance(value, list | tuple) and len(value) == 2:
            coords[name] = (float(value[0]), float(value[1]))
    return Towns(coords)


def register() -> None:
    """Tell Chroma how to rebuild our embedding function in any new process."""
    from chromadb.utils.embedding_functions import register_embedding_function

    with contextlib.suppress(ValueError):  # already registered in this process
        register_embedding_function(MiniLMFunction)


def dumps(answer: Answer) -> str:
    return json.dumps(answer.model_dump(mode="json"), ensure_ascii=False)
