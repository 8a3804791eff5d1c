"""The project's own English spaCy pipeline, built from installed data only, for Rasa's ``SpacyNLP``.

    blank "en" tokenizer
    -> attribute_ruler  lemmas for shopper spellings ("pls" -> please, "recieved" -> receive)
    -> lemmatizer       lookup mode, table from the installed spacy-lookups-data package
    -> entity_ruler     product, product_category, size, colour, price_limit, money, date, country,
                        recipient, occasion

No pretrained model and no download: the lemma table comes from ``spacy-lookups-data``, products
and categories from the catalogue (:mod:`crm_store.seed_catalogue`), the rest of the shop's words
from :mod:`bot.nlu.shop_vocabulary`. Training (:func:`caredesk.training.train`) saves it under
``models/spacy/caredesk_en`` (the path ``config.yml`` gives ``SpacyNLP``) with
:func:`ensure_pipeline`, which rebuilds only when :func:`build_digest` changed. The pipeline has
only spaCy's own components, so ``spacy.load`` needs nothing of ours.

Rasa lower-cases the text it tokenizes (``SpacyNLP`` with ``case_sensitive: false``), so every
pattern compares the ``LOWER`` attribute, except the few that need capitals ("US", a size "M"). The
entity extractor (:mod:`bot.nlu.spacy_entities`) takes the entities of that lower-cased doc and runs
the pipeline again on the text as typed only for a message with one of those capitalised words
(:func:`needs_text_as_typed`).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterable
from functools import lru_cache
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.nlu import shop_vocabulary as vocab

if TYPE_CHECKING:
    from spacy.language import Language

NAME = "caredesk_en"
PIPELINE_VERSION = "1.0.0"
DIGEST_KEY = "caredesk_build_digest"
# The labels the entity ruler gives (the entity extractor's dimensions and domain.yml entities).
LABELS = ("product", "product_category", "size", "colour", "price_limit", "money", "date", "country",
          "recipient", "occasion")
# Matched so that a longer span wins over a label above ("under 3 days" is no price limit);
# the entity extractor leaves it out (not among its dimensions).
DURATION = "duration"

# Catalogue words too general to be a product alone ("bank transfer", "a set of", "guide me").
GENERIC_WORDS = frozenset({"set", "kit", "science", "bank", "oil", "guide", "book", "game", "blocks", "lights",
                           "jars", "bands", "cream", "car", "bear", "novel", "seed"})

# Lemmas for the way shoppers write (SMS spellings and common misspellings), so "recieved" and
# "received" count as one word. Applied before the lookup table, which leaves a set lemma alone.
LEMMA_EXCEPTIONS: dict[str, tuple[str, ...]] = {
    "please": ("pls", "plz", "plss", "plse", "pleas", "plzz"),
    "you": ("u", "yu"),
    "your": ("ur", "yr"),
    "thank": ("thx", "thanx", "thnx", "tnx", "ty", "thankyou"),
    "want": ("wanna", "wana"),
    "package": ("pkg", "pkge", "packge", "pakage"),
    "address": ("adress", "addres", "adres", "addr"),
    "receive": ("recieve", "recieved", "recived", "receved", "recive", "revieved"),
    "cancel": ("cancle", "cancl", "cancell", "cancelation"),
    "deliver": ("deliverd", "delivred", "dilivered", "delieverd"),
    "delivery": ("delivary", "delievery", "dilivery", "delivey", "delivry"),
    "order": ("ordr", "oder", "orderd", "oredr"),
    "refund": ("refnd", "refunded", "refun", "rfnd"),
    "track": ("trak", "trackin", "tracing"),
    "account": ("acct", "acc", "accnt"),
    "password": ("pwd", "passwd", "pasword"),
    "message": ("msg", "msgs"),
    "number": ("num", "nmbr", "no."),
    "exchange": ("exchnge", "exchang", "xchange"),
    "replace": ("replce", "replacment"),
    "return": ("retrun", "retun"),
}


def _pattern(label: str, pattern: str | list[dict[str, Any]]) -> dict[str, Any]:
    return {"label": label, "pattern": pattern}


def _phrases(label: str, texts: Iterable[str]) -> list[dict[str, Any]]:
    return [_pattern(label, text) for text in sorted({t.lower() for t in texts})]


def _words(text: str) -> list[dict[str, Any]]:
    """Token specs for a phrase of one or more words, compared lower-cased."""
    return [{"LOWER": word} for word in text.split()]


def _one_of(values: Iterable[str]) -> dict[str, Any]:
    return {"LOWER": {"IN": sorted(set(values))}}


def _plural(word: str) -> str:
    if word.endswith(("s", "x", "ch", "sh")):
        return word + "es"
    if word.endswith("y") and word[-2:-1] not in "aeiou":
        return word[:-1] + "ies"
    return word + "s"


def _singular(word: str) -> str:
    if word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith(("ches", "shes", "xes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def _product_names() -> list[str]:
    """Each catalogue kind ("wireless headphones"), its last word or two ("headphones"), both numbers."""
    from crm_store.seed_catalogue import CATALOGUE

    names: set[str] = set(vocab.PRODUCT_WORDS)
    for _, kinds in CATALOGUE.values():
        for kind, _, _ in kinds:
            words = kind.lower().split()
            names.add(" ".join(words))
            if len(words) > 2:
                names.add(" ".join(words[-2:]))
            if words[-1] not in GENERIC_WORDS and words[-1].replace("-", "").isalpha():
                names.add(words[-1])
    forms = set(names)
    for name in names:
        *head, last = name.split()
        if last.isalpha():
            forms.update(" ".join([*head, form]) for form in (_plural(last), _singular(last)))
    return sorted(f for f in forms if f.split()[-1] not in GENERIC_WORDS or " " in f)


def _category_names() -> list[str]:
    from crm_store.seed_catalogue import CATALOGUE

    return sorted(set(CATALOGUE) | set(vocab.CATEGORY_WORDS))


def _size_patterns() -> list[dict[str, Any]]:
    size_word = _one_of([*vocab.SIZE_LETTERS, *vocab.SIZE_SINGLE, *(w for w in vocab.SIZE_WORDS if " " not in w)])
    number = {"LIKE_NUM": True}
    cue = _one_of(("in", "size", "sized"))
    article = {"LOWER": {"IN": ["a", "an"]}, "OP": "?"}
    up_down = _one_of(("up", "down", "bigger", "smaller", "larger"))
    patterns: list[list[dict[str, Any]]] = [
        [_one_of(vocab.SIZE_LETTERS)],                                   # "XL"
        [{"LOWER": "size"}, size_word],                                  # "size m", "size medium"
        [size_word, {"LOWER": {"IN": ["size", "sizes"]}}],               # "large size"
        [cue, article, {"ORTH": {"IN": [s.upper() for s in vocab.SIZE_SINGLE]}}],  # "in an M"
        [{"LOWER": "in"}, article, _one_of(w for w in vocab.SIZE_WORDS if " " not in w)],  # "in medium"
        [{"LOWER": "size"}, number],                                     # "size 42"
        [{"LOWER": "size"}, _one_of(vocab.SIZE_SYSTEMS), number],        # "size eu 42"
        [_one_of(("eu", "uk", "euro")), number],                         # "eu 42"
        [_one_of(vocab.SIZE_CHANGE), {"LOWER": {"IN": ["size", "sizes", "one", "fit"]}}],  # "bigger size"
        [_one_of(("a", "one", "half")), {"LOWER": "size"}, up_down],     # "a size up"
        [{"LOWER": "size"}, _one_of(("up", "down", "bigger", "smaller", "larger"))],  # "size up"
        [_one_of(vocab.SIZE_CHANGE), {"LOWER": "size"}, _one_of(("up", "down"))],
    ]
    multi = [_words(w) for w in vocab.SIZE_WORDS if " " in w]
    return [_pattern("size", p) for p in patterns + multi]


def _money_specs() -> list[list[dict[str, Any]]]:
    number = {"LIKE_NUM": True}
    symbol = {"ORTH": {"IN": list(vocab.CURRENCY_SYMBOLS)}}
    currency = _one_of(vocab.CURRENCY_WORDS)
    return [[symbol, number], [number, symbol], [number, currency], [currency, number]]


def _money_patterns() -> list[dict[str, Any]]:
    number = {"LIKE_NUM": True}
    unit = _one_of(vocab.PERIOD_UNITS)
    money = [_pattern("money", spec) for spec in _money_specs()]
    limits = [_words(limit) for limit in vocab.PRICE_LIMITS]
    price_limit = [_pattern("price_limit", [*limit, *spec]) for limit in limits for spec in _money_specs()]
    price_limit += [_pattern("price_limit", [*limit, number]) for limit in limits]  # "less than 20"
    durations = [_pattern(DURATION, [*limit, number, unit]) for limit in limits]  # "within 3 days"
    return money + price_limit + durations


def _date_patterns() -> list[dict[str, Any]]:
    number = {"LIKE_NUM": True}
    day_number = {"TEXT": {"REGEX": r"^(0?[1-9]|[12]\d|3[01])(st|nd|rd|th)?$"}}
    month = _one_of(vocab.MONTHS)
    relative = _one_of(vocab.RELATIVE)
    patterns: list[list[dict[str, Any]]] = [
        [_one_of(vocab.WEEKDAYS)],                                               # "tuesday"
        [relative, _one_of([*vocab.WEEKDAYS, *vocab.WEEKDAYS_SHORT, *vocab.PERIODS])],  # "last tuesday"
        [relative, {"LOWER": "few"}, _one_of(vocab.PERIOD_UNITS)],               # "last few days"
        [number, _one_of(vocab.PERIOD_UNITS), _one_of(("ago", "back"))],         # "3 days ago"
        [day_number, {"LOWER": "of", "OP": "?"}, month],                         # "12 march", "12th of march"
        [month, day_number],                                                     # "march 12th"
        [{"LOWER": "the"}, day_number, {"LOWER": "of"}, month],                  # "the 12th of march"
        [_one_of(m for m in vocab.MONTHS if m not in vocab.MONTHS_NEEDING_A_DAY)],  # "in march"
        [{"TEXT": {"REGEX": r"^\d{1,2}/\d{1,2}(/\d{2,4})?$"}}],                  # "12/03", "12/03/2026"
        [{"TEXT": {"REGEX": r"^\d{1,2}[.\-]\d{1,2}[.\-]\d{2,4}$"}}],             # "12.03.2026"
        [{"TEXT": {"REGEX": r"^\d{4}-\d{2}-\d{2}$"}}],                           # "2026-03-12"
    ]
    for amount in vocab.NUMBER_WORDS:                                            # "two weeks ago"
        patterns.append([*_words(amount), _one_of(vocab.PERIOD_UNITS), _one_of(("ago", "back"))])
    return [_pattern("date", p) for p in patterns] + _phrases("date", vocab.DAY_WORDS)


def _country_patterns() -> list[dict[str, Any]]:
    upper = [_pattern("country", [{"ORTH": short}]) for short in sorted(vocab.COUNTRY_UPPER)]
    return _phrases("country", [*vocab.COUNTRIES, *vocab.COUNTRY_SHORT]) + upper


def entity_patterns() -> list[dict[str, Any]]:
    """Every entity-ruler pattern, in a fixed order (the build is the same for the same inputs)."""
    return [*_phrases("product", _product_names()), *_phrases("product_category", _category_names()),
            *_size_patterns(), *_phrases("colour", vocab.COLOURS), *_money_patterns(), *_date_patterns(),
            *_country_patterns(), *_phrases("recipient", vocab.RECIPIENTS), *_phrases("occasion", vocab.OCCASIONS)]


def _orth_values(spec: Any) -> Iterable[str]:
    """Every ORTH value (compared as typed) in a pattern, a token spec or a list of them."""
    if isinstance(spec, list):
        for item in spec:
            yield from _orth_values(item)
    elif isinstance(spec, dict):
        orth = spec.get("ORTH")
        if isinstance(orth, str):
            yield orth
        elif isinstance(orth, dict):
            yield from orth.get("IN", ())


@lru_cache(maxsize=1)
def _cased_forms() -> re.Pattern[str]:
    forms = {value for p in entity_patterns() for value in _orth_values(p["pattern"]) if value != value.lower()}
    alternatives = "|".join(re.escape(f) for f in sorted(forms, key=len, reverse=True))
    return re.compile(rf"(?<![A-Za-z])(?:{alternatives})(?![A-Za-z])") if forms else re.compile(r"(?!)")


def needs_text_as_typed(text: str) -> bool:
    """True if ``text`` holds a word only a capitalised pattern matches ("US", "in an M").

    Every other pattern compares lower-cased words, so the doc ``SpacyNLP`` makes of the
    lower-cased text has the entities the text as typed would get; for these few words it has not
    ("us" is a pronoun), and the entity extractor runs the pipeline again on the text as typed.
    """
    return _cased_forms().search(text) is not None


def lemma_rules() -> list[dict[str, Any]]:
    """Attribute-ruler rules: one per canonical lemma, matching its spellings lower-cased."""
    return [{"patterns": [[{"LOWER": {"IN": sorted(forms)}}]], "attrs": {"LEMMA": lemma}}
            for lemma, forms in sorted(LEMMA_EXCEPTIONS.items())]


def build_digest() -> str:
    """A hash of everything the built pipeline depends on: patterns, lemma rules, package versions."""
    inputs = {"name": NAME, "version": PIPELINE_VERSION, "spacy": version("spacy"),
              "spacy-lookups-data": version("spacy-lookups-data"), "patterns": entity_patterns(),
              "lemma_rules": lemma_rules()}
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode("utf-8")).hexdigest()


def build_pipeline() -> Language:
    """The pipeline in memory: no download, the same for the same inputs."""
    import spacy

    nlp = spacy.blank("en")
    attributes = nlp.add_pipe("attribute_ruler")
    # Lookup mode: a word-to-lemma table, no tagger needed. initialize() reads it from the installed
    # spacy-lookups-data package (spacy.LookupsDataLoader), offline.
    nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
    ruler = nlp.add_pipe("entity_ruler", config={"phrase_matcher_attr": "LOWER", "validate": True})
    nlp.initialize()
    # Patterns after initialize(), which clears both rulers; phrase patterns are tokenized only.
    attributes.add_patterns(lemma_rules())  # type: ignore[attr-defined]
    with nlp.select_pipes(enable=[]):
        ruler.add_patterns(entity_patterns())  # type: ignore[attr-defined]
    nlp.meta.update({"name": "caredesk", "version": PIPELINE_VERSION,
                     "description": "CareDesk shop pipeline: lookup lemmas and entity-ruler patterns",
                     DIGEST_KEY: build_digest()})
    return nlp


def built_digest(path: Path) -> str | None:
    """The digest recorded in a saved pipeline's meta.json, or None if there is none."""
    try:
        meta = json.loads((path / "meta.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return meta.get(DIGEST_KEY) if isinstance(meta, dict) else None


def save_pipeline(path: Path) -> Path:
    """Build and write the pipeline to ``path``, replacing what was there in one rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{path.name}-", dir=path.parent))
    staging.chmod(0o755)  # mkdtemp makes it private; a model folder is readable like any other
    try:
        build_pipeline().to_disk(staging)
        if path.exists():
            old = path.with_name(f".{path.name}-old-{os.getpid()}")
            path.rename(old)
            staging.rename(path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            staging.rename(path)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return path


def ensure_pipeline(path: Path) -> bool:
    """Build the pipeline at ``path`` unless the one there was built from the same inputs. True if built."""
    if built_digest(path) == build_digest():
        return False
    save_pipeline(path)
    return True
