"""A generated CRM export of demo customers, for `make demo` and load tests.

The customers are German and English, spread over the demo content's attributes so that every
segment of ``content/audience.yaml`` gets its share (about 8% vip, 15% new subscribers, 10% first
buyers, 15% lapsed, 35% active, the rest everyone else). Dates are relative to ``today``, because
the segments are ("last order more than 180 days ago"). The same seed and day give the same file.
"""

from __future__ import annotations

import csv
import random
import unicodedata
from datetime import date, timedelta
from pathlib import Path

from preferences.attributes import Attribute

from service.content.model import Content

# The profile a customer is generated for, and its share of the file.
PROFILES = (
    ("vip", 0.08),
    ("new-subscribers", 0.15),
    ("first-buyers", 0.10),
    ("lapsed", 0.15),
    ("active-customers", 0.35),
    ("everyone", 0.17),
)
# The attributes generated, with the type the demo content declares them as.
ATTRIBUTE_TYPES = {"region": "choice", "branch": "text", "lifecycle": "choice", "last_order": "date",
                   "orders_12m": "number", "purchasing_power": "number", "loyalty_member": "flag"}
ENGLISH_SHARE = 0.25
UNSUBSCRIBED_SHARE = 0.02
DOMAINS = ("example.com", "example.org", "example.net")  # reserved for examples (RFC 2606)

BRANCHES = {
    "north": ("Hamburg", "Bremen", "Kiel", "Hannover", "Lübeck"),
    "south": ("München", "Stuttgart", "Nürnberg", "Freiburg", "Regensburg"),
    "east": ("Berlin", "Leipzig", "Dresden", "Rostock", "Erfurt"),
    "west": ("Köln", "Düsseldorf", "Essen", "Münster", "Aachen"),
}
REGION_WEIGHTS = {"north": 0.24, "south": 0.30, "east": 0.18, "west": 0.28}

GERMAN_NAMES = (
    "Anna", "Lukas", "Jürgen", "Björn", "Sören", "Käthe", "Bärbel", "Günther", "Jörg", "Uwe",
    "Mia", "Leon", "Hannah", "Felix", "Lea", "Jonas", "Marie", "Maximilian", "Sophie", "Paul",
    "Özlem", "Gülsüm", "Zoë", "Renée", "Dörte", "Ulrike", "Heike", "Maik", "Ömer", "Merle",
    "Anke", "Frauke", "Till", "Jannik", "Elif", "Katharina", "Stefan", "Sabine", "Thomas", "Ilse",
)
ENGLISH_NAMES = (
    "Emma", "Oliver", "Amelia", "Harry", "Isla", "George", "Ava", "Noah", "Grace", "Jack",
    "Chloé", "Seán", "Siobhán", "Olivia", "Liam", "Charlotte", "James", "Freya", "Arthur", "Ella",
)
# A few customers write their name in another script.
OTHER_SCRIPT_NAMES = ("李娜", "王伟", "Дмитрий", "Анастасия", "Αλέξανδρος", "محمد", "さくら", "Ngọc")
OTHER_SCRIPT_SHARE = 0.02
SURNAMES = (
    "mueller", "schmidt", "schneider", "fischer", "weber", "meyer", "wagner", "becker", "hoffmann",
    "schulz", "koch", "richter", "klein", "wolf", "neumann", "schwarz", "smith", "jones", "taylor",
    "brown", "wilson", "evans", "yilmaz", "kaya", "nowak", "kowalski",
)


def write_demo_csv(path: Path, count: int, content: Content, seed: int = 7, today: date | None = None) -> int:
    """Write ``count`` demo customers as a CSV for `newsletter customers import`; returns the
    number written. Only attributes that ``content`` declares (with the expected type) become
    columns, and only values it allows are written."""
    rng = random.Random(seed)
    today = today or date.today()
    declared = content.audience.attributes
    locales = content.audience.locales
    english = "en" if "en" in locales else None
    attributes = [name for name, kind in ATTRIBUTE_TYPES.items() if name in declared and declared[name].type == kind]
    profiles, weights = zip(*PROFILES)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["external_id", "email", "first_name", "locale", "status", *attributes])
        for number in range(1, count + 1):
            locale = english if english and rng.random() < ENGLISH_SHARE else locales[0]
            first_name = _first_name(rng, locale)
            email = f"{_local_part(first_name, rng)}.{number}@{rng.choice(DOMAINS)}"
            status = "unsubscribed" if rng.random() < UNSUBSCRIBED_SHARE else "active"
            values = _attributes(rng, rng.choices(profiles, weights)[0], today)
            writer.writerow([f"CRM-{number:06d}", email, first_name, locale, status,
                             *(_fit(declared[name], values.get(name, "")) for name in attributes)])
    return count


def _fit(attribute: Attribute, value: str) -> str:
    """The value, or empty where the content declares the attribute differently (other choices,
    tighter bounds): the file must pass the import's check whatever the content says."""
    if attribute.type == "choice" and value not in attribute.values:
        return ""
    if attribute.type == "number" and value:
        number = float(value)
        if (attribute.min is not None and number < attribute.min) or (attribute.max is not None and number > attribute.max):
            return ""
    return value


def _first_name(rng: random.Random, locale: str) -> str:
    if rng.random() < OTHER_SCRIPT_SHARE:
        return rng.choice(OTHER_SCRIPT_NAMES)
    return rng.choice(ENGLISH_NAMES if locale == "en" else GERMAN_NAMES)


def _local_part(first_name: str, rng: random.Random) -> str:
    # Umlauts as a German mailbox would spell them; other scripts get a neutral address.
    spelled = first_name.lower().translate(str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"}))
    ascii_name = unicodedata.normalize("NFKD", spelled).encode("ascii", "ignore").decode()
    ascii_name = "".join(c for c in ascii_name if c.isalnum())
    return f"{ascii_name or 'kunde'}.{rng.choice(SURNAMES)}"


def _attributes(rng: random.Random, profile: str, today: date) -> dict[str, str]:
    def days_ago(low: int, high: int) -> str:
        return (today - timedelta(days=rng.randint(low, high))).isoformat()

    region = rng.choices(list(REGION_WEIGHTS), list(REGION_WEIGHTS.values()))[0]
    values = {"region": region, "branch": rng.choice(BRANCHES[region])}
    power = rng.choices((1, 2, 3, 4, 5), (0.15, 0.3, 0.3, 0.15, 0.1))[0]
    loyal = rng.random() < 0.35
    regular = rng.choices(("customer", "advocate"), (0.8, 0.2))[0]
    if profile == "vip":
        values |= {"lifecycle": regular, "last_order": days_ago(0, 60), "orders_12m": rng.randint(4, 30)}
        power, loyal = rng.choice((4, 5)), True
    elif profile == "new-subscribers":
        values |= {"lifecycle": "subscriber", "orders_12m": 0}
        loyal = rng.random() < 0.1
    elif profile == "first-buyers":
        values |= {"lifecycle": "first-buyer", "last_order": days_ago(0, 120), "orders_12m": 1}
    elif profile == "lapsed":
        if rng.random() < 0.8:
            values |= {"last_order": days_ago(181, 900)}
        values |= {"lifecycle": regular, "orders_12m": 0}
    elif profile == "active-customers":
        values |= {"lifecycle": regular, "last_order": days_ago(0, 90), "orders_12m": rng.randint(1, 12)}
    else:
        # Everyone else: quiet for three to six months, or nothing known about them yet.
        if rng.random() < 0.7:
            values |= {"lifecycle": regular, "last_order": days_ago(95, 175), "orders_12m": rng.randint(1, 3)}
    if profile != "vip" and power >= 4:
        loyal = False  # purchasing power 4-5 with the loyalty card is the vip segment
    values |= {"purchasing_power": power, "loyalty_member": "yes" if loyal else "no"}
    return {name: str(value) for name, value in values.items()}
