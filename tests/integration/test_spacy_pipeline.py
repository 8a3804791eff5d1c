"""The project's spaCy pipeline (bot/nlu/spacy_pipeline.py): built offline and the same every time,
saved as Rasa's SpacyNLP loads it, and finding the shop's entities and lemmas in our own sentences.

The pipeline is built once into a temporary folder and loaded back with ``spacy.load`` (what
SpacyNLP does), so the tests see the saved form, not the object in memory.
"""

from __future__ import annotations

import json
import shutil
import socket
from pathlib import Path

import pytest

from bot.nlu import spacy_pipeline
from caredesk import training

PROJECT = Path(__file__).resolve().parents[2]


def _no_network(*args, **kwargs):
    raise AssertionError("the spaCy pipeline build tried to open a network connection")


@pytest.fixture(scope="module")
def saved(tmp_path_factory) -> Path:
    patch = pytest.MonkeyPatch()
    patch.setattr(socket.socket, "connect", _no_network)
    patch.setattr(socket, "create_connection", _no_network)
    try:
        return spacy_pipeline.save_pipeline(tmp_path_factory.mktemp("spacy") / spacy_pipeline.NAME)
    finally:
        patch.undo()


@pytest.fixture(scope="module")
def nlp(saved):
    import spacy

    return spacy.load(saved, disable=["parser"])  # as rasa.nlu.utils.spacy_utils.SpacyNLP loads it


def _entities(nlp, text: str) -> list[tuple[str, str]]:
    return [(e.label_, e.text) for e in nlp(text).ents if e.label_ in spacy_pipeline.LABELS]


@pytest.mark.parametrize(("text", "expected"), [
    ("i want to exchange my shoes for a bigger size", [("product", "shoes"), ("size", "bigger size")]),
    ("Do you have the Rain Jacket in an M?", [("product", "Rain Jacket"), ("size", "in an M")]),
    ("size 42 in black please", [("size", "size 42"), ("colour", "black")]),
    ("XL hoodie, navy blue", [("size", "XL"), ("product", "hoodie"), ("colour", "navy blue")]),
    ("any headphones under 30 euros?", [("product", "headphones"), ("price_limit", "under 30 euros")]),
    ("something in electronics below €50", [("product_category", "electronics"), ("price_limit", "below €50")]),
    ("a gift less than 20", [("price_limit", "less than 20")]),
    ("the kettle was 39 EUR", [("product", "kettle"), ("money", "39 EUR")]),
    ("I ordered it last Tuesday", [("date", "last Tuesday")]),
    ("ordered 3 days ago, still nothing", [("date", "3 days ago")]),
    ("it came yesterday", [("date", "yesterday")]),
    ("placed on 12 March", [("date", "12 March")]),
    ("do u ship to india", [("country", "india")]),
    ("Do you deliver to the UK or the USA?", [("country", "UK"), ("country", "USA")]),
    ("shipping to United States of America", [("country", "United States of America")]),
    ("any TOYS & GAMES on sale", [("product_category", "TOYS & GAMES")]),
])
def test_each_label_is_found_in_shopper_sentences(nlp, text, expected):
    assert _entities(nlp, text) == expected


@pytest.mark.parametrize("text", [
    "can you send it to us",       # the pronoun, not the country
    "i'm waiting",                 # not a size M
    "may i ask something",         # not the month
    "how much is the sun cream",   # a product, not a weekday ("sun")
    "delivery within 3 days?",     # a time, not a price limit
    "my bank transfer failed",     # "bank" of "power bank" alone is no product
])
def test_common_words_are_not_taken_for_entities(nlp, text):
    assert [label for label, _ in _entities(nlp, text) if label != "product"] == []
    assert ("product", "bank") not in _entities(nlp, text)


def _our_sentences() -> list[str]:
    import re

    import yaml

    texts = []
    for path in sorted((PROJECT / "data" / "nlu").glob("*.yml")):
        for block in yaml.safe_load(path.read_text(encoding="utf-8")).get("nlu", []):
            for line in (block.get("examples") or "").splitlines():
                texts.append(re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", line.strip()[2:]))
    return texts


def test_the_lower_cased_doc_has_the_entities_of_the_text_as_typed(nlp):
    """What lets the entity extractor (bot/nlu/spacy_entities.py) reuse SpacyNLP's lower-cased doc
    instead of running spaCy again: the same spans, labels and offsets, except for the capitalised
    words it checks for."""
    cased = ["Do you have the Rain Jacket in an M?", "ship to the US please", "Is it sold in the U.S.?"]
    assert all(spacy_pipeline.needs_text_as_typed(t) for t in cased)
    texts = ["Wireless Headphones under 30 Euros", "I ordered it Last Tuesday", "Do you deliver to the UK or the USA?",
             "any TOYS & GAMES on sale", *_our_sentences()]
    checked = 0
    for text in texts:
        if spacy_pipeline.needs_text_as_typed(text):
            continue
        as_typed = [(e.label_, e.text, e.start_char, e.end_char) for e in nlp(text).ents]
        lowered = [(e.label_, text[e.start_char:e.end_char], e.start_char, e.end_char) for e in nlp(text.lower()).ents]
        assert lowered == as_typed, text
        checked += 1
    assert checked > 10_000


def test_lemmas_come_from_the_lookup_table_and_the_shopper_spellings(nlp):
    # Rasa lower-cases what it tokenizes (SpacyNLP case_sensitive: false).
    doc = nlp("pls cancel my ordr, i recieved the shoes and the parcels were delivered")
    lemmas = {t.text: t.lemma_ for t in doc}
    assert lemmas["pls"] == "please"
    assert lemmas["ordr"] == "order"
    assert lemmas["recieved"] == "receive"
    assert lemmas["shoes"] == "shoe"
    assert lemmas["parcels"] == "parcel"
    assert lemmas["were"] == "be"
    assert lemmas["delivered"] == "deliver"


def test_the_build_is_the_same_every_time(saved, tmp_path):
    again = spacy_pipeline.save_pipeline(tmp_path / spacy_pipeline.NAME)
    files = sorted(p.relative_to(saved) for p in saved.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(again) for p in again.rglob("*") if p.is_file())
    assert all((saved / f).read_bytes() == (again / f).read_bytes() for f in files)
    assert spacy_pipeline.built_digest(saved) == spacy_pipeline.build_digest()


def test_ensure_rebuilds_only_when_the_inputs_changed(saved, tmp_path, monkeypatch):
    path = tmp_path / spacy_pipeline.NAME
    assert spacy_pipeline.ensure_pipeline(path)          # missing: built
    assert not spacy_pipeline.ensure_pipeline(path)      # same inputs: left alone
    monkeypatch.setitem(spacy_pipeline.LEMMA_EXCEPTIONS, "voucher", ("vouchr",))
    assert spacy_pipeline.ensure_pipeline(path)          # a new lemma rule: rebuilt
    meta = json.loads((path / "meta.json").read_text())
    assert meta[spacy_pipeline.DIGEST_KEY] == spacy_pipeline.build_digest()


def test_the_training_fingerprint_follows_the_spacy_build_inputs(monkeypatch):
    before = training.fingerprint(PROJECT)
    monkeypatch.setitem(spacy_pipeline.LEMMA_EXCEPTIONS, "voucher", ("vouchr",))
    assert training.fingerprint(PROJECT) != before


def test_training_builds_the_pipeline_config_yml_names():
    assert training.spacy_pipelines(PROJECT) == [PROJECT / "models" / "spacy" / spacy_pipeline.NAME]
    config = (PROJECT / "config.yml").read_text(encoding="utf-8")
    assert f"model: models/spacy/{spacy_pipeline.NAME}" in config
    domain = (PROJECT / "domain.yml").read_text(encoding="utf-8")
    assert all(f"  - {label}\n" in domain for label in spacy_pipeline.LABELS)


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_a_trained_model_returns_the_spacy_entities_and_the_regex_ones_once(tmp_path):
    """The project's config.yml trained on a slice of our NLU data (as the review/learn test does) and the regexes."""
    from tests.integration.test_nlu_learning import _parse, _small_project, _train

    project = _small_project(tmp_path / "project")
    shutil.copy(PROJECT / "data" / "nlu" / "entities.yml", project / "data" / "nlu")  # the regexes
    # RegexEntityExtractor uses a regex only for an entity annotated in some example.
    (project / "data" / "nlu" / "refs.yml").write_text(
        'version: "3.1"\nnlu:\n  - intent: track_order\n    examples: |\n'
        "      - where is [CD-ABCDEF](order_ref)\n      - status of order [CD-XYZ234](order_ref) please\n",
        encoding="utf-8")
    model = _train(project, tmp_path / "model")
    texts = ["i want to exchange my shoes for a bigger size", "do u ship to india",
             "Where is order CD-K7M2QX? I ordered it last Tuesday", "wireless headphones under 30 euros"]
    found = {p["text"]: sorted((e["entity"], e["value"], e["extractor"]) for e in p["entities"])
             for p in _parse(model, texts)}
    spacy, regex = "SpacyDocEntityExtractor", "RegexEntityExtractor"
    assert found == {
        texts[0]: [("product", "shoes", spacy), ("size", "bigger size", spacy)],
        texts[1]: [("country", "india", spacy)],
        texts[2]: [("date", "last Tuesday", spacy), ("order_ref", "CD-K7M2QX", regex)],
        texts[3]: [("price_limit", "under 30 euros", spacy), ("product", "wireless headphones", spacy)],
    }
