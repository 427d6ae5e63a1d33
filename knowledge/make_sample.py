"""Write the fictional sample activity directory, ``knowledge/sample-directory.json``.

The output is an Open Referral UK 3.0 paged service list (the shape of
``../shared/data/oruk/service_list.json``) of inclusive and community activities
across Essex towns. Every record is fictional and says so ("Sample data: fictional
activity."): venues, organisations and people are invented, phone numbers are
Ofcom drama numbers (01632 960xxx, 07700 900xxx) and e-mail addresses are on
example.org. Activity types are real OpenActive Activity List concepts, looked up
by preferred label in ``knowledge/vocab/activity-list.jsonld``.

The generator is deterministic (fixed seed, ids are uuid5 of stable keys):
running it twice writes the same bytes. Run it from the repository root::

    .venv/bin/python knowledge/make_sample.py
"""

from __future__ import annotations

import json
import random
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
ACTIVITY_LIST = HERE / "vocab" / "activity-list.jsonld"
TOWNS_FILE = HERE / "towns.yaml"
OUTPUT = HERE / "sample-directory.json"

SEED = 20261123
NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://example.org/reconnect-assistant/sample-directory")
TAXONOMY = "OpenActive Activity List"
SAMPLE_SENTENCE = "Sample data: fictional activity."
NOTE = (
    "SAMPLE DATA. Every service, organisation, venue, person, phone number and e-mail address in this file "
    "is fictional, written by knowledge/make_sample.py for testing and demonstrating Reconnect Assistant. "
    "Towns and postcode districts are real; street addresses, full postcodes and coordinates are approximate "
    "or invented. Phone numbers are Ofcom drama numbers; e-mail addresses use example.org. Activity types are "
    "concepts from the OpenActive Activity List (CC BY 4.0, openactive.io)."
)

# Canonical accessibility phrases: one accessibility[] entry each, description exactly one of these.
POOL_HOIST = "Pool hoist"
POOL_POD = "Pool Pod"
CHANGING_PLACES = "Changing Places toilet"
HEARING_LOOP = "Hearing loop"
STEP_FREE = "Step-free access"
PARKING = "Accessible parking"
WHEELCHAIR = "Wheelchair accessible"
ACCESSIBLE_CHANGING = "Accessible changing rooms"
ACCESS_DETAILS: dict[str, str] = {
    POOL_HOIST: "A poolside lifting seat is available on request; please tell staff when you book.",
    POOL_POD: "A platform lift lowers the user into the water; ask at reception for a trained operator.",
    CHANGING_PLACES: "Full-size facility with a height-adjustable bench, ceiling track and space for two carers.",
    HEARING_LOOP: "Available at reception and in the main room; switch your aid to the T setting.",
    STEP_FREE: "Level entrance from the car park and level routes inside.",
    PARKING: "Blue Badge bays close to the entrance.",
    WHEELCHAIR: "Doors, corridors and toilets suit manual and powered chairs.",
    ACCESSIBLE_CHANGING: "Private cubicles with grab rails and a seat next to the pool or hall.",
}
ACCESS_ORDER = list(ACCESS_DETAILS)

DAY_CODES = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
DAY_NAMES = dict(
    zip(DAY_CODES, ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"), strict=True)
)
SLOTS: dict[str, tuple[str, ...]] = {
    "morning": ("09:30", "10:00", "10:30", "11:00"),
    "afternoon": ("13:00", "13:30", "14:00", "15:00"),
    "evening": ("18:00", "18:30", "19:00", "19:30"),
}
LEVEL_TEXT = {"beginner": "Beginners welcome.", "intermediate": "Intermediate: for people who already play or train.",
              "all": "All abilities welcome."}
GENDER_TEXT = {"female": "Women only.", "male": "Men only.", "any": "Open to everyone."}


class SampleError(RuntimeError):
    """The generator's own data is inconsistent (an unknown label, town or venue)."""


# ── vocabulary ──────────────────────────────────────────────────────────────


def load_concepts(path: Path = ACTIVITY_LIST) -> dict[str, str]:
    """prefLabel → concept id (``https://openactive.io/activity-list#…``)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    return {c["prefLabel"]: c["id"] for c in data["concept"]}


def load_towns(path: Path = TOWNS_FILE) -> dict[str, dict[str, Any]]:
    towns: dict[str, dict[str, Any]] = yaml.safe_load(path.read_text(encoding="utf-8"))["towns"]
    return towns


# ── what the directory holds ────────────────────────────────────────────────


@dataclass(frozen=True)
class Kind:
    """One kind of activity: its concepts, names, venue and when it usually runs."""

    key: str
    labels: tuple[str, ...]
    titles: tuple[str, ...]
    venue: str  # leisure (with the pool) | hall | park | bowls | garden
    descriptions: tuple[str, ...]
    total: int
    periods: tuple[str, ...] = ("morning", "afternoon", "evening")
    days: tuple[str, ...] = ("MO", "TU", "WE", "TH", "FR", "SA")
    towns: tuple[str, ...] = ()  # empty: any town
    minutes: int = 60
    price: tuple[float, ...] = (3.0, 3.5, 4.0, 4.5, 5.0)
    min_age: int = 18
    genders: tuple[str, ...] = ("any",)


KINDS: tuple[Kind, ...] = (
    Kind("swimming", ("Swimming",), ("Inclusive Swim", "Adapted Swimming Session", "Disability Swim Hour"), "leisure",
         ("A relaxed swim in a warm pool for disabled adults and people with long-term conditions, with lanes kept "
          "quiet and a session lead on the poolside.",
          "Lane and free swimming for adults who need a calmer pool, with lifeguards trained in supporting "
          "disabled swimmers."), 18, genders=("any", "any", "any", "female")),
    Kind("aquafit", ("Aqua Fit",), ("Gentle Aquafit", "Aquafit for Joints", "Aquafit (Shallow End)"), "leisure",
         ("Low-impact exercise to music in shallow, warm water; the water supports the body, so it is kind to "
          "stiff or painful joints.",
          "A water-based class that builds stamina and mobility without strain, popular with people living with "
          "arthritis or recovering from surgery."), 10, genders=("any", "any", "female")),
    Kind("walking_football", ("Walking Football",), ("Walking Football",), "leisure",
         ("The beautiful game at walking pace: no running, no contact and no heading, so players of any fitness "
          "can enjoy a match.",
          "Small-sided games at walking pace for people returning to sport after illness or injury."), 10,
         periods=("morning", "evening"), min_age=50, genders=("any", "any", "male")),
    Kind("walking_netball", ("Walking Netball",), ("Walking Netball",), "leisure",
         ("Netball slowed to a walk: no running or jumping, friendly games for all fitness levels.",),
         7, periods=("morning", "evening")),
    Kind("boccia", ("Boccia",), ("Boccia Club", "Boccia Drop-in"), "hall",
         ("A Paralympic target ball game played seated; ramps and assistants are available for players with "
          "limited arm movement.",), 8, periods=("morning", "afternoon"), price=(0.0, 2.0, 2.5)),
    Kind("chair_exercise", ("Chair Based Exercise",), ("Seated Exercise", "Chair-Based Exercise", "Armchair Fitness"),
         "hall", ("Gentle movement done in or beside a chair to improve strength, circulation and confidence.",
                  "A friendly class of seated strength and stretching exercises led by a qualified instructor."),
         10, periods=("morning", "afternoon"), price=(0.0, 2.0, 3.0), min_age=50),
    Kind("tai_chi", ("Tai Chi",), ("Tai Chi for Health", "Tai Chi and Qigong"), "hall",
         ("Slow, flowing Chinese movement for balance, calm and joint mobility; can be done standing or seated.",),
         8, periods=("morning", "afternoon", "evening")),
    Kind("cycling", ("Cycling", "Handcycling"), ("Inclusive Cycling", "Adapted Cycling", "All-Ability Cycling"), "park",
         ("Adapted bikes including trikes, handcycles, side-by-side tandems and wheelchair-carrying bikes on a "
          "traffic-free route.",), 7, periods=("morning", "afternoon"),
         days=("TU", "WE", "TH", "SA", "SU"), minutes=90, price=(0.0, 3.0, 5.0), min_age=8),
    Kind("gym", ("Gym Workout",), ("Inclusive Gym Session", "Supported Gym", "Gym for Health"), "leisure",
         ("Instructor-supported gym time with accessible, inclusive fitness equipment and a personal programme.",),
         8, price=(4.0, 5.0, 6.0), min_age=16, genders=("any", "any", "any", "female")),
    Kind("walking", ("Walking",), ("Health Walk", "Wellbeing Walk", "Short Health Walk"), "park",
         ("A sociable led walk of about an hour on flat paths, at an easy pace, with a volunteer walk leader.",
          "A short, gentle group walk with rests along the way, finishing with time for a chat."), 14,
         periods=("morning", "afternoon"), days=DAY_CODES, minutes=60, price=(0.0,)),
    Kind("seated_dance", ("Dance", "Chair Based Exercise"), ("Seated Dance",), "hall",
         ("Dancing to familiar songs from a chair: arms, shoulders and feet, with plenty of laughter.",),
         3, periods=("morning", "afternoon"), price=(0.0, 2.5), min_age=50),
    Kind("dementia_dance", ("Dance",), ("Dementia-Friendly Dance",), "hall",
         ("Movement to music from the 1940s to the 1970s for people living with memory loss and the people who "
          "care for them.",), 3, periods=("morning", "afternoon"), price=(0.0, 3.0), min_age=50),
    Kind("tea_dance", ("Tea Dance", "Dance"), ("Tea Dance",), "hall",
         ("Ballroom and sequence dancing with tea and cake; sit out whenever you like.",), 3,
         periods=("afternoon",), price=(3.0, 4.0), min_age=50),
    Kind("indoor_bowls", ("Indoor Bowls",), ("Indoor Bowls",), "bowls",
         ("Rink bowls indoors all year round; bowling arms and ramps available.",), 4,
         periods=("morning", "afternoon", "evening"), price=(2.5, 3.5)),
    Kind("lawn_bowls", ("Bowls",), ("Lawn Bowls Taster", "Lawn Bowls"), "bowls",
         ("Flat green bowls outdoors from April to September, with coaching and woods to borrow.",), 3,
         periods=("morning", "afternoon"), price=(0.0, 3.0)),
    Kind("short_mat_bowls", ("Short Mat Bowls",), ("Short Mat Bowls",), "hall",
         ("Short mat bowls in a warm hall; a gentle game of skill for all ages.",), 2,
         periods=("afternoon", "evening"), price=(2.0, 3.0)),
    Kind("goalball", ("Goalball",), ("Goalball",), "leisure",
         ("A Paralympic team sport for blind and partially sighted players, using a ball with bells inside; "
          "all players wear eyeshades.",), 4, periods=("evening",), days=("TU", "WE", "TH", "SA"),
         towns=("Colchester", "Chelmsford", "Basildon", "Southend-on-Sea"), min_age=11, minutes=90),
    Kind("wheelchair_basketball", ("Wheelchair Basketball",), ("Wheelchair Basketball",), "leisure",
         ("Fast, inclusive court sport in sports wheelchairs; club chairs are available to borrow.",), 5,
         periods=("afternoon", "evening"), days=("MO", "WE", "FR", "SA"),
         towns=("Chelmsford", "Colchester", "Southend-on-Sea", "Harlow", "Basildon"), min_age=8, minutes=90),
    Kind("wheelchair_rugby", ("Wheelchair Rugby",), ("Wheelchair Rugby",), "leisure",
         ("Full-contact team sport in rugby chairs for players with impairments affecting arms and legs.",), 3,
         periods=("evening",), days=("TU", "TH", "SU"), towns=("Chelmsford", "Colchester", "Basildon"),
         min_age=16, minutes=120),
    Kind("table_tennis", ("Table Tennis",), ("Para Table Tennis", "Table Tennis Drop-in"), "leisure",
         ("Coached sessions for standing and seated players, with tables that suit wheelchair users.",), 6,
         periods=("afternoon", "evening"), price=(2.0, 3.0), min_age=11),
    Kind("chair_yoga", ("Chair Yoga",), ("Chair Yoga",), "hall",
         ("Yoga postures, breathing and relaxation adapted to be done seated or with a chair for support.",), 4,
         periods=("morning", "afternoon"), price=(3.0, 4.0, 5.0)),
    Kind("yoga", ("Yoga",), ("Gentle Yoga", "Yoga for Wellbeing"), "hall",
         ("A slow, mat-based class with options for every posture; blocks and bolsters provided.",), 4,
         genders=("any", "any", "female"), price=(4.0, 5.0, 6.0)),
    Kind("pilates", ("Pilates",), ("Pilates for Back Care", "Gentle Pilates"), "hall",
         ("Mat Pilates focusing on posture, core strength and back care, with modifications offered.",), 4,
         price=(5.0, 6.0)),
    Kind("rehab_pilates", ("Rehab Pilates",), ("Rehab Pilates",), "hall",
         ("Small-group Pilates for people recovering from injury or living with long-term pain.",), 2,
         periods=("morning", "afternoon"), price=(6.0, 7.5)),
    Kind("archery", ("Archery",), ("Adaptive Archery",), "leisure",
         ("Target shooting with recurve bows; mouth tabs, release aids and bow stands help disabled archers.",), 4,
         periods=("afternoon", "evening"), days=("WE", "FR", "SA", "SU"),
         towns=("Chelmsford", "Colchester", "Braintree", "Brentwood", "Epping"), min_age=12, minutes=120),
    Kind("strength_balance", ("Postural Stability Instruction", "Falls and Exercise Management"),
         ("Strength and Balance (Falls Prevention)", "Falls Prevention Exercise"), "hall",
         ("An evidence-based programme of exercises that make legs stronger and walking steadier, for people "
          "who have fallen or are worried about falling.",), 6, periods=("morning", "afternoon"),
         days=("MO", "TU", "WE", "TH", "FR"), price=(0.0, 2.0), min_age=60),
    Kind("gardening", ("Gardening",), ("Community Gardening Group", "Therapeutic Gardening"), "garden",
         ("Grow fruit, flowers and vegetables together in raised beds; tools and gloves provided.",), 4,
         periods=("morning", "afternoon"), days=("TU", "WE", "TH", "SA", "SU"), minutes=120, price=(0.0,)),
    Kind("cafe", (), ("Community Café", "Friendship Café"), "hall",
         ("A drop-in café for tea, cake and conversation; a warm space to meet new people.",), 4,
         periods=("morning", "afternoon"), minutes=120, price=(0.0,)),
)
KIND_BY_KEY = {k.key: k for k in KINDS}

# Town weights for the randomly placed services (bigger towns get more).
TOWN_WEIGHTS: dict[str, int] = {
    "Colchester": 6, "Chelmsford": 6, "Basildon": 5, "Southend-on-Sea": 5, "Harlow": 4, "Braintree": 3,
    "Witham": 2, "Clacton-on-Sea": 3, "Brentwood": 3, "Maldon": 2, "Saffron Walden": 2, "Epping": 2,
    "Halstead": 1, "Harwich": 2, "Rayleigh": 2, "Wickford": 2, "Billericay": 2, "Canvey Island": 2,
    "Loughton": 2, "Grays": 2, "Great Dunmow": 1,
}
BIG_TOWNS = ("Colchester", "Chelmsford", "Basildon", "Southend-on-Sea")

# Venue names: fictional, one set per kind, handed out to towns in a fixed order.
VENUE_WORDS = (
    "Kingfisher", "Abbeyfield", "Heronsgate", "Meadowbank", "Oakhurst", "Larkspur", "Willowbrook", "Foxglove",
    "Saltings", "Beacon", "Elmstead Vale", "Brambleside", "Ashgrove", "Marshwood", "Hollyfield", "Copperbeech",
    "Thornbury Green", "Rosemead", "Cedar Park", "Windmill Rise", "Harbourside", "Millstream", "Juniper",
    "Fernleigh", "Orchardside", "Sandpiper", "Chalkpit", "Primrose", "Northgate", "Goldcrest",
)
VENUE_SUFFIX = {
    "leisure": "Leisure Centre", "pool2": "Swimming Pool", "hall": "Community Centre", "hall2": "Church Hall",
    "park": "Country Park", "bowls": "Bowls Club", "garden": "Community Garden",
}
# Which pool equipment each town's leisure centre (and, in big towns, second pool) has.
POOL_EQUIPMENT: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "Colchester": ((POOL_HOIST,), (POOL_POD,)), "Chelmsford": ((POOL_HOIST, POOL_POD), ()),
    "Basildon": ((POOL_HOIST,), (POOL_POD,)), "Southend-on-Sea": ((POOL_POD,), (POOL_HOIST,)),
    "Harlow": ((POOL_HOIST,), ()), "Braintree": ((POOL_HOIST,), ()), "Witham": ((), ()),
    "Clacton-on-Sea": ((POOL_POD,), ()), "Brentwood": ((POOL_HOIST,), ()), "Maldon": ((POOL_HOIST,), ()),
    "Saffron Walden": ((), ()), "Epping": ((POOL_POD,), ()), "Halstead": ((), ()), "Harwich": ((), ()),
    "Rayleigh": ((POOL_HOIST,), ()), "Wickford": ((), ()), "Billericay": ((POOL_POD,), ()),
    "Canvey Island": ((POOL_HOIST,), ()), "Loughton": ((POOL_HOIST,), ()), "Grays": ((POOL_POD,), ()),
    "Great Dunmow": ((), ()),
}
CHANGING_PLACES_TOWNS = ("Colchester", "Chelmsford", "Basildon", "Southend-on-Sea", "Harlow", "Braintree",
                         "Clacton-on-Sea", "Brentwood", "Loughton")
# Fixed accessibility for venues that the near-duplicate questions depend on.
ACCESS_OVERRIDES: dict[tuple[str, str], tuple[str, ...]] = {
    ("Rayleigh", "hall"): (HEARING_LOOP, PARKING),
    ("Rayleigh", "hall2"): (STEP_FREE, WHEELCHAIR, PARKING),
    ("Halstead", "hall"): (STEP_FREE, HEARING_LOOP),
    ("Halstead", "hall2"): (HEARING_LOOP,),
}

FIRST_NAMES = ("Aisha", "Ben", "Carys", "Dev", "Elena", "Femi", "Grace", "Hamza", "Imogen", "Jon", "Kezia", "Liam",
               "Maya", "Niall", "Olu", "Priya", "Quinn", "Rosa", "Sam", "Tomasz", "Una", "Vikram", "Wren", "Yusuf")
LAST_NAMES = ("Ashdown", "Brierley", "Carrow", "Dunmore", "Ellery", "Fairbrook", "Gadsby", "Hollins", "Ivers",
              "Jessop", "Kettering", "Lusk", "Marchetti", "Norwood", "Okafor", "Pennick", "Quarles", "Rudd",
              "Stannard", "Tolley", "Upcott", "Varga", "Whitlock", "Yardley")
STREETS = ("Station Road", "High Street", "Church Lane", "Mill Road", "Park Avenue", "London Road", "Victoria Road",
           "Queens Road", "Meadow Way", "Riverside Walk", "Crown Street", "Orchard Close")
ORGANISATIONS = {
    "leisure": "{town} Active Leisure Trust", "pool2": "{town} Swimming Club Trust",
    "hall": "{town} Community Association", "hall2": "{town} Community Association",
    "park": "Essex Wellbeing Walks and Wheels", "bowls": "{venue}", "garden": "Grow Together Essex",
}
CLUB_KINDS = {"walking_football", "walking_netball", "goalball", "wheelchair_basketball", "wheelchair_rugby",
              "table_tennis", "archery", "boccia"}
INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"
POOL_KINDS = {"swimming", "aquafit"}


@dataclass
class Spec:
    """One service to write: an activity kind at a town's venue at a time, with its terms."""

    kind: str
    town: str
    days: tuple[str, ...]
    start: str
    venue: str = ""  # leisure | pool2 | hall | hall2 | park | bowls | garden; "" = the kind's venue
    price: float = 3.0
    concession: bool = True
    carer: str = "free"  # free | paid | none
    level: str = "all"  # beginner | intermediate | all
    gender: str = "any"  # any | female | male
    min_age: int = 18
    max_age: int | None = None
    title: str = ""
    extra: str = ""
    tags: list[str] = field(default_factory=list)


# Hand-placed services that the near-duplicate and multi-constraint questions rely on.
ANCHORS: tuple[Spec, ...] = (
    # swimming, Colchester, Tuesday morning: hoist (leisure) vs Pool Pod (second pool)
    Spec("swimming", "Colchester", ("TU",), "10:00", venue="leisure", price=3.5, carer="free", title="Inclusive Swim"),
    Spec("swimming", "Colchester", ("TU",), "10:00", venue="pool2", price=3.5, carer="free", title="Inclusive Swim"),
    # walking football, Chelmsford: Monday vs Thursday evening
    Spec("walking_football", "Chelmsford", ("MO",), "18:30", price=4.0, carer="none", min_age=50),
    Spec("walking_football", "Chelmsford", ("TH",), "18:30", price=4.0, carer="none", min_age=50),
    # aquafit, Basildon, Wednesday: morning vs evening
    Spec("aquafit", "Basildon", ("WE",), "10:30", price=4.5, carer="free", title="Gentle Aquafit"),
    Spec("aquafit", "Basildon", ("WE",), "18:30", price=4.5, carer="free", title="Gentle Aquafit"),
    # walking netball, Harlow: beginners vs intermediate
    Spec("walking_netball", "Harlow", ("TU",), "10:00", price=3.0, carer="none", level="beginner"),
    Spec("walking_netball", "Harlow", ("FR",), "18:00", price=3.0, carer="none", level="intermediate"),
    # chair exercise: Braintree vs Witham, same day and time
    Spec("chair_exercise", "Braintree", ("TH",), "10:30", price=0.0, carer="none", min_age=50,
         title="Seated Exercise"),
    Spec("chair_exercise", "Witham", ("TH",), "10:30", price=0.0, carer="none", min_age=50, title="Seated Exercise"),
    # boccia, Chelmsford: juniors vs adults
    Spec("boccia", "Chelmsford", ("SA",), "10:00", venue="leisure", price=2.0, carer="free", min_age=8,
         max_age=17, title="Junior Boccia"),
    Spec("boccia", "Chelmsford", ("SA",), "13:00", venue="leisure", price=2.0, carer="free", min_age=18,
         title="Boccia Club"),
    # swimming, Southend: women only vs open to all (evening)
    Spec("swimming", "Southend-on-Sea", ("WE",), "19:00", venue="leisure", price=4.0, carer="free", gender="female",
         title="Women's Inclusive Swim"),
    Spec("swimming", "Southend-on-Sea", ("FR",), "19:00", venue="leisure", price=4.0, carer="free",
         title="Inclusive Swim"),
    # tai chi, Rayleigh: hearing loop hall vs step-free hall
    Spec("tai_chi", "Rayleigh", ("MO",), "11:00", venue="hall", price=4.0, carer="free"),
    Spec("tai_chi", "Rayleigh", ("MO",), "11:00", venue="hall2", price=4.0, carer="free"),
    # table tennis, Colchester: afternoon vs evening
    Spec("table_tennis", "Colchester", ("WE",), "14:00", price=3.0, carer="free", title="Para Table Tennis"),
    Spec("table_tennis", "Colchester", ("WE",), "19:00", price=3.0, carer="free", title="Para Table Tennis"),
    # multi-constraint anchors
    Spec("walking_football", "Basildon", ("TU",), "18:00", price=0.0, carer="none", min_age=50),
    Spec("walking_football", "Wickford", ("TH",), "18:30", price=3.0, carer="none", min_age=50),
    Spec("chair_exercise", "Chelmsford", ("WE",), "10:00", venue="hall", price=2.0, carer="free", min_age=50),
    Spec("boccia", "Southend-on-Sea", ("TH",), "14:00", venue="leisure", price=0.0, carer="none"),
    Spec("gym", "Harlow", ("MO", "TH"), "10:00", price=5.0, carer="free", level="beginner", min_age=16),
    Spec("aquafit", "Chelmsford", ("TU",), "11:00", price=4.5, carer="free", title="Aquafit for Joints"),
    Spec("walking", "Brentwood", ("SU",), "10:00", price=0.0, carer="none", title="Health Walk"),
    Spec("yoga", "Colchester", ("TU",), "19:00", price=5.0, carer="none", level="beginner", gender="female",
         title="Gentle Yoga for Women"),
    Spec("wheelchair_basketball", "Chelmsford", ("SA",), "13:00", price=2.0, carer="free", min_age=8,
         max_age=18, title="Junior Wheelchair Basketball"),
    Spec("indoor_bowls", "Clacton-on-Sea", ("TH",), "14:00", price=3.0, carer="free"),
    Spec("tai_chi", "Witham", ("TU",), "10:00", venue="hall", price=0.0, carer="none"),
    Spec("cycling", "Basildon", ("SA",), "10:00", price=0.0, carer="none", min_age=8, title="Inclusive Cycling"),
    Spec("goalball", "Colchester", ("TH",), "19:00", price=3.0, carer="free", min_age=11),
    Spec("archery", "Chelmsford", ("SA",), "14:00", price=5.0, carer="free", level="beginner", min_age=12),
    Spec("strength_balance", "Maldon", ("WE",), "10:30", price=0.0, carer="none", min_age=60),
    Spec("gardening", "Halstead", ("WE",), "10:00", price=0.0, carer="none", title="Therapeutic Gardening"),
    Spec("dementia_dance", "Southend-on-Sea", ("FR",), "14:00", price=0.0, carer="none", min_age=50),
    Spec("cafe", "Epping", ("FR",), "10:00", price=0.0, carer="none", title="Friendship Café"),
)


# ── building records ────────────────────────────────────────────────────────


def stable_id(*parts: str) -> str:
    return str(uuid.uuid5(NAMESPACE, "|".join(parts)))


def slug(text: str) -> str:
    return "-".join("".join(ch.lower() if ch.isalnum() else " " for ch in text).split())


@dataclass(frozen=True)
class Venue:
    key: str
    name: str
    town: str
    street: str
    postcode: str
    latitude: float
    longitude: float
    access: tuple[str, ...]


class VenueBook:
    """The fictional venues of each town, made on first use in a fixed order."""

    def __init__(self, towns: dict[str, dict[str, Any]], rng: random.Random) -> None:
        self.towns = towns
        self.rng = rng
        self.venues: dict[tuple[str, str], Venue] = {}
        self.word_index: dict[str, int] = {}

    def get(self, town: str, key: str) -> Venue:
        if town not in self.towns:
            raise SampleError(f"unknown town {town!r}: add it to knowledge/towns.yaml")
        if (town, key) not in self.venues:
            self.venues[(town, key)] = self._make(town, key)
        return self.venues[(town, key)]

    def _make(self, town: str, key: str) -> Venue:
        rng, info = self.rng, self.towns[town]
        suffix = VENUE_SUFFIX[key]
        index = self.word_index.get(suffix, 0)
        if index >= len(VENUE_WORDS):
            raise SampleError(f"more {suffix} venues than VENUE_WORDS; add words")
        self.word_index[suffix] = index + 1
        offset = 7 * list(VENUE_SUFFIX).index(key)  # different kinds of venue in a town get different words
        word = VENUE_WORDS[(offset + index) % len(VENUE_WORDS)]
        district = rng.choice(info["postcode_districts"])
        postcode = f"{district} {rng.randint(1, 9)}{rng.choice(INWARD_LETTERS)}{rng.choice(INWARD_LETTERS)}"
        return Venue(
            key=key,
            name=f"{word} {suffix}",
            town=town,
            street=f"{rng.randint(1, 120)} {rng.choice(STREETS)}",
            postcode=postcode,
            latitude=round(info["latitude"] + rng.uniform(-0.012, 0.012), 5),
            longitude=round(info["longitude"] + rng.uniform(-0.018, 0.018), 5),
            access=self._access(town, key),
        )

    def _access(self, town: str, key: str) -> tuple[str, ...]:
        if (town, key) in ACCESS_OVERRIDES:
            found = set(ACCESS_OVERRIDES[(town, key)])
        elif key == "leisure":
            found = {STEP_FREE, PARKING, WHEELCHAIR, ACCESSIBLE_CHANGING, *POOL_EQUIPMENT[town][0]}
            if town in CHANGING_PLACES_TOWNS:
                found.add(CHANGING_PLACES)
            if self.rng.random() < 0.5:
                found.add(HEARING_LOOP)
        elif key == "pool2":
            found = {STEP_FREE, ACCESSIBLE_CHANGING, *POOL_EQUIPMENT[town][1]}
        elif key in ("hall", "hall2"):
            found = {tag for tag, p in ((STEP_FREE, 0.8), (HEARING_LOOP, 0.5), (PARKING, 0.5)) if self.rng.random() < p}
            if STEP_FREE in found and self.rng.random() < 0.8:
                found.add(WHEELCHAIR)
        elif key == "park":
            found = {PARKING} | ({STEP_FREE} if self.rng.random() < 0.6 else set())
            if town in ("Chelmsford", "Colchester") and self.rng.random() < 0.5:
                found.add(CHANGING_PLACES)
        else:  # bowls, garden
            found = {tag for tag, p in ((STEP_FREE, 0.7), (PARKING, 0.6)) if self.rng.random() < p}
        return tuple(tag for tag in ACCESS_ORDER if tag in found)

    def location(self, venue: Venue) -> dict[str, Any]:
        location_id = stable_id("location", venue.town, venue.key)
        return {
            "id": location_id,
            "location_type": "physical",
            "name": venue.name,
            "description": f"{venue.name} in {venue.town} (fictional sample venue).",
            "latitude": venue.latitude,
            "longitude": venue.longitude,
            "addresses": [{
                "id": stable_id("address", venue.town, venue.key),
                "address_1": venue.street,
                "city": venue.town,
                "state_province": "Essex",
                "postal_code": venue.postcode,
                "country": "GB",
                "address_type": "physical",
            }],
            "accessibility": [
                {"id": stable_id("accessibility", venue.town, venue.key, tag), "description": tag,
                 "details": ACCESS_DETAILS[tag]}
                for tag in venue.access
            ],
        }


def add_minutes(start: str, minutes: int) -> str:
    hours, mins = (int(x) for x in start.split(":"))
    total = hours * 60 + mins + minutes
    return f"{total // 60:02d}:{total % 60:02d}"


def concept_attributes(labels: tuple[str, ...], concepts: dict[str, str], service_id: str) -> list[dict[str, Any]]:
    attributes = []
    for label in labels:
        if label not in concepts:
            raise SampleError(f"{label!r} is not a prefLabel in {ACTIVITY_LIST}; pick a real concept")
        uri = concepts[label]
        attributes.append({
            "id": stable_id("attribute", service_id, label),
            "link_type": "activity",
            "taxonomy_term": {
                "id": stable_id("taxonomy_term", uri),
                "name": label,
                "taxonomy": TAXONOMY,
                "term_uri": uri,
            },
        })
    return attributes


def cost_options(spec: Spec, service_id: str) -> tuple[list[dict[str, Any]], str]:
    options: list[dict[str, Any]] = []

    def add(option: str, amount: float, description: str) -> None:
        options.append({"id": stable_id("cost", service_id, option), "option": option, "amount": amount,
                        "amount_description": description})

    if spec.price == 0:
        add("Standard", 0, "Free, no booking fee")
        fees = "Free."
    else:
        add("Standard", spec.price, "per session")
        fees = f"£{spec.price:.2f} per session"
        if spec.concession:
            concession = round(spec.price * 0.6 * 2) / 2
            add("Concession", concession, "per session with a leisure or disability concession card")
            fees += f" (£{concession:.2f} concession)"
        fees += "."
    if spec.carer == "free":
        add("Carer", 0, "Carers and support workers attend free")
        fees += " Carers go free."
    elif spec.carer == "paid" and spec.price:
        add("Carer", spec.price, "Carers pay the standard price")
        fees += " Carers pay the standard price."
    return options, fees


def period_of(start: str) -> str:
    hour = int(start.split(":")[0])
    return "morning" if hour < 12 else "afternoon" if hour < 17 else "evening"


def service(spec: Spec, book: VenueBook, concepts: dict[str, str], rng: random.Random) -> dict[str, Any]:
    kind = KIND_BY_KEY[spec.kind]
    venue = book.get(spec.town, spec.venue or kind.venue)
    title = spec.title or kind.titles[0]
    key = "|".join(("service", spec.kind, spec.town, venue.key, ",".join(spec.days), spec.start, spec.gender,
                    spec.level, str(spec.min_age)))
    service_id = stable_id(key)
    day_words = " and ".join(DAY_NAMES[d] + "s" for d in spec.days)
    end = add_minutes(spec.start, kind.minutes)
    gender_text = GENDER_TEXT[spec.gender]
    age_text = (f"Ages {spec.min_age} to {spec.max_age}." if spec.max_age is not None
                else f"Adults aged {spec.min_age} and over." if spec.min_age >= 18 else f"Ages {spec.min_age} and up.")
    description = " ".join(x for x in (
        SAMPLE_SENTENCE, rng.choice(kind.descriptions), spec.extra, LEVEL_TEXT[spec.level],
        f"Runs {day_words}, {spec.start} to {end}, at {venue.name}, {venue.town}.",
    ) if x)
    eligibility = " ".join((gender_text, age_text, LEVEL_TEXT[spec.level]))
    costs, fees = cost_options(spec, service_id)
    organisation_name = (f"{spec.town} {title} Club" if spec.kind in CLUB_KINDS
                         else ORGANISATIONS[spec.venue or kind.venue].format(town=spec.town, venue=venue.name))
    organisation_slug = slug(organisation_name)
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    phones = [{"id": stable_id("phone", service_id, "1"), "number": f"01632 960{rng.randint(0, 999):03d}",
               "type": "voice"}]
    if rng.random() < 0.5:
        phones.append({"id": stable_id("phone", service_id, "2"), "number": f"07700 900{rng.randint(0, 999):03d}",
                       "type": "cell"})
    month, day = rng.randint(1, 10), rng.randint(1, 28)
    record: dict[str, Any] = {
        "id": service_id,
        "name": f"{title} at {venue.name}",
        "description": description,
        "url": f"https://example.org/sample/{organisation_slug}/{slug(title)}",
        "email": f"{slug(title)}.{slug(spec.town)}@example.org",
        "status": "active",
        "fees_description": fees,
        "eligibility_description": eligibility,
        "application_process": "Book by phone or e-mail; first session is a free taster." if spec.price
        else "Just turn up; no booking needed.",
        "minimum_age": spec.min_age,
    }
    if spec.max_age is not None:
        record["maximum_age"] = spec.max_age
    record.update({
        "last_modified": f"2026-{month:02d}-{day:02d}T09:00:00Z",
        "organization": {
            "id": stable_id("organization", organisation_name),
            "name": organisation_name,
            "description": f"{organisation_name} (fictional sample organisation).",
            "email": f"hello@{organisation_slug}.example.org",
            "website": f"https://example.org/sample/{organisation_slug}",
        },
        "service_at_locations": [
            {"id": stable_id("service_at_location", service_id), "location": book.location(venue)}
        ],
        "schedules": [{
            "id": stable_id("schedule", service_id),
            "freq": "WEEKLY",
            "interval": 1,
            "byday": ",".join(spec.days),
            "opens_at": f"{spec.start}:00",
            "closes_at": f"{end}:00",
            "description": f"Every {' and '.join(DAY_NAMES[d] for d in spec.days)}, {spec.start} to {end}, "
                           "except bank holidays.",
        }],
        "cost_options": costs,
        "contacts": [{"id": stable_id("contact", service_id), "name": f"{first} {last}", "title": "Session lead",
                      "phones": phones}],
        "attributes": concept_attributes(kind.labels, concepts, service_id),
    })
    return record


def random_spec(kind: Kind, rng: random.Random) -> Spec:
    pool = list(kind.towns) if kind.towns else list(TOWN_WEIGHTS)
    town = rng.choices(pool, weights=[TOWN_WEIGHTS[t] for t in pool])[0]
    venue = kind.venue
    if kind.key in POOL_KINDS and town in BIG_TOWNS and rng.random() < 0.4:
        venue = "pool2"
    elif venue == "hall" and rng.random() < 0.3:
        venue = "hall2"
    days = tuple(sorted(rng.sample(kind.days, 2 if rng.random() < 0.2 else 1), key=DAY_CODES.index))
    start = rng.choice(SLOTS[rng.choice(kind.periods)])
    price = rng.choice(kind.price)
    carer = rng.choice(("free", "free", "paid", "none")) if price else "none"
    level = rng.choice(("all", "all", "beginner", "beginner", "intermediate"))
    min_age, max_age = kind.min_age, None
    if kind.min_age < 18 and rng.random() < 0.3:
        max_age = 17
    return Spec(kind.key, town, days, start, venue=venue, price=price, carer=carer, level=level,
                gender=rng.choice(kind.genders), min_age=min_age, max_age=max_age, title=rng.choice(kind.titles),
                concession=rng.random() < 0.7)


def build() -> dict[str, Any]:
    rng = random.Random(SEED)
    concepts = load_concepts()
    towns = load_towns()
    book = VenueBook(towns, rng)
    specs = list(ANCHORS)
    for kind in KINDS:
        placed = sum(1 for s in specs if s.kind == kind.key)
        for _ in range(kind.total - placed):
            specs.append(random_spec(kind, rng))
    services: list[dict[str, Any]] = []
    seen: set[tuple[str, ...]] = set()
    for spec in specs:
        venue = spec.venue or KIND_BY_KEY[spec.kind].venue
        slots = {(spec.kind, spec.town, venue, day, spec.start) for day in spec.days}
        if slots & seen:  # the same kind, venue, day and time drawn twice: keep the first
            continue
        seen |= slots
        services.append(service(spec, book, concepts, rng))
    disambiguate_names(services)
    services.sort(key=lambda s: (s["service_at_locations"][0]["location"]["addresses"][0]["city"], s["name"]))
    return {
        "note": NOTE,
        "total_items": len(services),
        "total_pages": 1,
        "page_number": 1,
        "size": len(services),
        "first_page": True,
        "last_page": True,
        "empty": not services,
        "contents": services,
    }


def disambiguate_names(services: list[dict[str, Any]]) -> None:
    """Services with the same name at the same venue get their day and time added."""
    by_name: dict[str, list[dict[str, Any]]] = {}
    for record in services:
        by_name.setdefault(record["name"], []).append(record)
    for group in by_name.values():
        if len(group) > 1:
            for record in group:
                schedule = record["schedules"][0]
                days = "/".join(DAY_NAMES[d][:3] for d in schedule["byday"].split(","))
                record["name"] += f" ({days} {schedule['opens_at'][:5]})"


def render(directory: dict[str, Any]) -> str:
    return json.dumps(directory, indent=1, ensure_ascii=False) + "\n"


def main() -> int:
    directory = build()
    OUTPUT.write_text(render(directory), encoding="utf-8")
    print(f"wrote {directory['total_items']} sample services to {OUTPUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
