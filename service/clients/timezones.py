"""Finding a client's timezone from a few common choices or the name of a city. Pure."""

from __future__ import annotations

import unicodedata
from functools import cache
from zoneinfo import available_timezones

COMMON: tuple[tuple[str, str, str], ...] = (
    # (English label, Spanish label, IANA name)
    ("Eastern", "Este (Nueva York)", "America/New_York"),
    ("Central", "Centro (Chicago)", "America/Chicago"),
    ("Mountain", "Montaña (Denver)", "America/Denver"),
    ("Arizona", "Arizona", "America/Phoenix"),
    ("Pacific", "Pacífico (Los Ángeles)", "America/Los_Angeles"),
    ("Puerto Rico", "Puerto Rico", "America/Puerto_Rico"),
    ("Mexico City", "Ciudad de México", "America/Mexico_City"),
)
ALIASES = {
    "nyc": "America/New_York",
    "miami": "America/New_York",
    "boston": "America/New_York",
    "atlanta": "America/New_York",
    "philadelphia": "America/New_York",
    "washington": "America/New_York",
    "houston": "America/Chicago",
    "dallas": "America/Chicago",
    "san antonio": "America/Chicago",
    "austin": "America/Chicago",
    "seattle": "America/Los_Angeles",
    "san francisco": "America/Los_Angeles",
    "san diego": "America/Los_Angeles",
    "las vegas": "America/Los_Angeles",
    "la": "America/Los_Angeles",
    "salt lake city": "America/Denver",
    "albuquerque": "America/Denver",
    "san juan": "America/Puerto_Rico",
    "cdmx": "America/Mexico_City",
    "ciudad de mexico": "America/Mexico_City",
    "nueva york": "America/New_York",
    "los angeles": "America/Los_Angeles",
    "guadalajara": "America/Mexico_City",
    "monterrey": "America/Monterrey",
    "bogota": "America/Bogota",
    "lima": "America/Lima",
    "madrid": "Europe/Madrid",
}


def _plain(name: str) -> str:
    decomposed = unicodedata.normalize("NFKD", name)
    return " ".join(
        "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower().split()
    )


@cache
def _by_city() -> dict[str, str]:
    cities: dict[str, str] = {}
    for zone in sorted(available_timezones()):
        if "/" in zone and not zone.startswith(("Etc/", "SystemV/", "US/")):
            cities.setdefault(_plain(zone.rsplit("/", 1)[1].replace("_", " ")), zone)
    return cities


def find_timezone(city: str) -> str | None:
    """The IANA timezone for a city's name (accents and case don't matter), if known."""
    plain = _plain(city.strip(" .,!"))
    return ALIASES.get(plain) or _by_city().get(plain)
