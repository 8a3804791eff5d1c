"""Personal data out of customer text before it is stored, streamed, logged or copied into a ticket.

``redact(text)`` replaces e-mail addresses, phone numbers, card-like numbers and street addresses
(with the postcode and city next to them) by ``[email]``, ``[phone]``, ``[card]`` and ``[address]``.
Order references, amounts, dates, times and tracking numbers stay as they are. It over-redacts
rather than under-redacts: any run of 7 or more digits is hidden.

Every pattern runs in linear time under Python's backtracking ``re`` (customers choose the text):
no repeated group holds a quantifier; an unbounded run only starts where the run itself starts
(a look-behind refuses a start whose previous character would belong to the run), so each
character is scanned a bounded number of times; every other window has a fixed bound.
``tests/unit/test_privacy.py`` times 100 KB of adversarial text.
"""

from __future__ import annotations

import re
from typing import overload

EMAIL, PHONE, CARD, NUMBER, ADDRESS = "[email]", "[phone]", "[card]", "[number]", "[address]"

# local@domain. The local part starts where its run of local-part characters starts; the domain
# ends on a letter, digit or hyphen, so the full stop that ends a sentence stays.
_EMAIL = re.compile(r"(?<![\w.%+\-])[\w.%+\-]+@[\w\-][\w.\-]*(?<![.\-])")

# Digits with the separators phones and cards are written with, starting at a digit (or "+", "(")
# that does not continue a word (a tracking number like DH1234567890 stays), a path or a list.
# A run may follow ".", "#", ":" or "-" ("Tel.0151...", "card #4111...", "no.4111..."): short
# pieces there (a ticket #12, a reference CD-7KQ2MX, a decimal) have too few digits to be hidden.
_NUMBER_RUN = re.compile(r"(?<![\w/,+])[+(]?\d[\d ()./\-]*\d\)?")
# Inside such a run, what is not personal: dates (2026-06-01, 01.06.2026, 1/6/26) and amounts (129.99).
_NOT_PERSONAL = re.compile(r"(?<![\d./\-])(?:\d{4}-\d{1,2}-\d{1,2}|\d{1,2}([./\-])\d{1,2}\1(?:\d{4}|\d{2})|"
                           r"\d{1,9}\.\d{2})(?![./\-]?\d)")
MIN_PHONE_DIGITS, MAX_PHONE_DIGITS, MAX_CARD_DIGITS, MAX_E164_DIGITS = 7, 12, 19, 15

_BEFORE_HOUSE_NUMBER = r"(?<![\w/#\-.,])"
_LETTER = r"[A-Za-zÀ-ÖØ-öø-ÿ]"
_NAME = r"[A-Za-zÀ-ÖØ-öø-ÿ'’ \-]"  # letters, spaces and what joins words in a street name
# "12 High Street", "42 Station Road": the street word comes last. Words that are also everyday
# English ("Way", "Close", "Row") count only capitalised.
_NUMBER_THEN_NAME = (
    _BEFORE_HOUSE_NUMBER + r"\d{1,5}[A-Za-z]?,?[ \t]+(?:" + _LETTER + _NAME + r"{0,30}?[ \t])?"
    r"(?:(?i:street|avenue|boulevard)|Road|Lane|Drive|St|Rd|Ave|Dr|Ln|Blvd|Way|Close|Court|Ct|Place|Pl|"
    r"Square|Sq|Terrace|Crescent|Row|Walk|Gardens|Grove|Hill|Parade|Mews|Highway)\b")
# "12 rue de la Paix": the street word comes first, after the number.
_NUMBER_THEN_STREET_WORD = (
    _BEFORE_HOUSE_NUMBER + r"\d{1,5}(?:[ \t]?(?:bis|ter))?,?[ \t]+"
    r"(?i:rue|avenue|av\.|boulevard|bd|chemin|all[ée]e|impasse|quai|route|calle|avenida|rua)[ \t]+"
    + _LETTER + _NAME + r"{0,40}(?<=[^\W\d_])")
# "Calle Mayor 5", "Via Roma 10": the street word first, the number last.
_STREET_WORD_THEN_NUMBER = (
    r"\b(?:Calle|C/|Avenida|Avda\.|Via|Viale|Piazza|Plaza|Paseo|Rua|Carrer|Rue|Camino)[ \t]+"
    + _LETTER + _NAME + r"{0,40}?,?[ \t]*(?:n[º°o]\.?[ \t]*)?\d{1,5}[A-Za-z]?\b")
# "Hauptstraße 5", "Kerkstraat 12", "Berliner Straße 12a".
_COMPOUND_THEN_NUMBER = (
    r"\b[A-ZÄÖÜ][a-zäöüß\-]{1,30}(?:straße|strasse|str\.|gasse|weg|allee|platz|damm|straat|laan|plein|"
    r"gracht|kade|singel|dreef),?[ \t]*\d{1,4}[a-zA-Z]?\b")
_NAME_THEN_STREET_THEN_NUMBER = (
    r"\b[A-ZÄÖÜ][\w\-]{1,30}[ \t]+(?:Straße|Strasse|Str\.|Gasse|Weg|Allee|Platz|Damm),?[ \t]*\d{1,4}[a-zA-Z]?\b")
# "Baker Street 221b", "Main Street 5": an English street name, then the number.
_STREET_NAME_THEN_NUMBER = (
    r"\b[A-Z][a-z]{1,30}[ \t]+(?:Street|Road|Lane|Avenue|Drive|Boulevard|Place|Square|Terrace|Crescent)"
    r"[ \t]+\d{1,5}[A-Za-z]?\b")
# "Karl-Marx-Allee 90", "Max-Planck-Straße 1".
_HYPHENATED_THEN_NUMBER = (
    r"\b[A-ZÄÖÜ][\w\-]{1,30}-(?:Straße|Strasse|Str\.|Allee|Weg|Platz|Gasse|Damm|Ring),?[ \t]*\d{1,4}[a-zA-Z]?\b")
# "Damrak 1, 1012 LG Amsterdam", "Markt 3, 28195 Bremen": a name and number are an address only
# when a postcode and a city follow.
_NAME_NUMBER_POSTCODE_CITY = (
    r"\b[A-ZÄÖÜ][^\W\d_]{2,30}[ \t]+\d{1,4}[a-zA-Z]?,[ \t]*(?:\d{4}[ \t]?[A-Z]{2}|\d{5})[ \t]+"
    r"[A-Z][^\W\d_]{1,30}(?!\w)")
_UK_POSTCODE = r"[A-Z]{1,2}\d[A-Z\d]?[ \t]?\d[A-Z]{2}(?!\w)"
_POSTCODE = r"(?:\d{4}[ \t]?[A-Z]{2}(?!\w)|\d{4,5}(?!\w)|" + _UK_POSTCODE + ")"
_CITY = r"[A-Z][^\W\d_]{1,30}(?!\w)"
# The postcode and city right after a street ("..., 3511 AB Utrecht", "..., London SW1A 1AA").
_POSTCODE_AND_CITY = (r"(?:,?[ \t]*" + _POSTCODE + r"(?:[ \t]+" + _CITY + r")?|,[ \t]*" + _CITY + r"[ \t]+"
                      + _UK_POSTCODE + r")?")
_ADDRESS = re.compile(
    "(?:" + "|".join((_NUMBER_THEN_STREET_WORD, _NUMBER_THEN_NAME, _STREET_WORD_THEN_NUMBER,
                      _COMPOUND_THEN_NUMBER, _NAME_THEN_STREET_THEN_NUMBER, _STREET_NAME_THEN_NUMBER,
                      _HYPHENATED_THEN_NUMBER, _NAME_NUMBER_POSTCODE_CITY)) + ")" + _POSTCODE_AND_CITY)


@overload
def redact(text: str) -> str: ...
@overload
def redact(text: None) -> None: ...
@overload
def redact(text: str | None) -> str | None: ...


def redact(text: str | None) -> str | None:
    """``text`` with e-mail addresses, phone and card-like numbers and street addresses replaced
    by placeholders (None and "" are returned as they are)."""
    if not text:
        return text
    text = _EMAIL.sub(EMAIL, text)
    text = _NUMBER_RUN.sub(_hide_number_run, text)  # before addresses: a card's last group is no house number
    return _ADDRESS.sub(ADDRESS, text)


def _hide_number_run(match: re.Match) -> str:
    """A run of digits and separators, with its dates and amounts kept and the rest judged."""
    run, kept, end = match.group(), [], 0
    for protected in _NOT_PERSONAL.finditer(run):
        kept += [_hide_number(run[end:protected.start()]), protected.group()]
        end = protected.end()
    kept.append(_hide_number(run[end:]))
    return "".join(kept)


def _hide_number(piece: str) -> str:
    positions = [i for i, ch in enumerate(piece) if ch.isdecimal()]
    if len(positions) < MIN_PHONE_DIGITS:
        return piece
    start = positions[0] - (1 if positions[0] and piece[positions[0] - 1] in "+(" else 0)
    end = positions[-1] + 1 + (1 if piece[positions[-1] + 1:positions[-1] + 2] == ")" else 0)
    return piece[:start] + _label(piece[start:end], len(positions)) + piece[end:]


def _label(number: str, digits: int) -> str:
    if digits <= MAX_PHONE_DIGITS or (number.startswith("+") and digits <= MAX_E164_DIGITS):
        return PHONE
    return CARD if digits <= MAX_CARD_DIGITS else NUMBER
