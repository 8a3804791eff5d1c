"""Which country a message names ("do u ship to india"), from its entity or from the words alone.

Country names come from the CLDR data Babel ships (English names of every ISO 3166 country), with
the short forms customers type. No I/O beyond Babel's bundled data, loaded on first use.
"""

from __future__ import annotations

import functools
import re

from actions.values import entity_texts

# Short forms and other names customers use, lower case -> ISO code.
ALIASES = {
    "usa": "US", "u.s.": "US", "u.s.a.": "US", "america": "US", "united states of america": "US",
    "uk": "GB", "u.k.": "GB", "britain": "GB", "great britain": "GB", "england": "GB", "scotland": "GB",
    "wales": "GB", "northern ireland": "GB", "uae": "AE", "emirates": "AE", "dubai": "AE", "holland": "NL",
    "the netherlands": "NL", "czech republic": "CZ", "russia": "RU", "south korea": "KR", "korea": "KR",
    "vietnam": "VN", "türkiye": "TR", "turkey": "TR", "ivory coast": "CI", "swiss": "CH", "deutschland": "DE",
}
# "us" is the pronoun far more often than the country: only "US" in capitals counts.
CASE_SENSITIVE = {"US": "US"}
# A request about shipping abroad without naming a country.
ABROAD = re.compile(r"\b(countr(y|ies)|international(ly)?|abroad|overseas|worldwide|outside (the )?(eu|europe))\b",
                    re.IGNORECASE)


@functools.lru_cache(maxsize=1)
def _names() -> dict[str, str]:
    """Lower-case country name -> ISO code, longest names first (so 'south africa' beats 'africa')."""
    from babel import Locale

    names = {name.lower(): code for code, name in Locale("en").territories.items()
             if len(code) == 2 and code.isalpha() and code not in ("EU", "EZ", "UN", "QO", "ZZ")}
    names.update(ALIASES)
    return dict(sorted(names.items(), key=lambda item: -len(item[0])))


@functools.lru_cache(maxsize=1)
def _pattern() -> re.Pattern[str]:
    alternatives = "|".join(re.escape(name) for name in _names())
    return re.compile(rf"(?<![\w.])({alternatives})(?![\w])", re.IGNORECASE)


def country_code(name: str) -> str | None:
    """The ISO code of a country name or alias, or None."""
    return _names().get((name or "").strip().lower())


def country_in(text: str, entities: list[dict] | None = None) -> str | None:
    """The ISO code of the first country the message names (a ``country`` entity first), or None."""
    for value in entity_texts(entities, "country"):
        code = country_code(value)
        if code:
            return code
    text = (text or "")[:500]
    for word, code in CASE_SENSITIVE.items():
        if re.search(rf"\b{word}\b", text):
            return code
    match = _pattern().search(text)
    return _names()[match.group(1).lower()] if match else None


def asks_about_abroad(text: str) -> bool:
    """Whether the message asks where we ship without naming a country ('which countries ...')."""
    return bool(ABROAD.search(text or ""))


def country_name(code: str) -> str:
    """The English name of an ISO country code."""
    from babel import Locale

    return Locale("en").territories.get(code.upper(), code.upper())
