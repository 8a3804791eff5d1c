"""The regexes in data/nlu run over the whole of every message (Rasa's RegexEntityExtractor and
RegexFeaturizer, case-insensitive) on the server's event loop: each must take linear time on any
text, and still find what the training data marks."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
import yaml

from actions.account import EMAIL_RE, parse_contact

NLU = Path(__file__).resolve().parents[2] / "data" / "nlu"
ADVERSARIAL = ["a." * 50_000, "a@a." * 25_000, "a.a@" * 25_000, "a.." * 33_000, "a@" + "a." * 50_000,
               "x@" + "a-" * 50_000, "1 " * 50_000, "CD-" * 33_000, "a" * 100_000 + "@"]


def _regexes() -> dict[str, str]:
    found = {}
    for path in NLU.glob("*.yml"):
        for item in yaml.safe_load(path.read_text(encoding="utf-8")).get("nlu") or []:
            if "regex" in item:
                found[item["regex"]] = item["examples"].strip()[2:]
    return found


def _marked(entity: str) -> list[tuple[str, str]]:
    """(example sentence without markup, marked value) for every example marking ``entity``."""
    marked = []
    for path in NLU.glob("*.yml"):
        for item in yaml.safe_load(path.read_text(encoding="utf-8")).get("nlu") or []:
            for line in (item.get("examples") or "").splitlines():
                if f"]({entity})" in line:
                    sentence = re.sub(r"\[([^\]]+)\]\((\w+)\)", r"\1", line[2:])
                    marked += [(sentence, v) for v in re.findall(rf"\[([^\]]+)\]\({entity}\)", line)]
    return marked


def test_the_training_data_has_the_order_ref_and_email_regexes():
    assert set(_regexes()) == {"order_ref", "email"}


@pytest.mark.parametrize("name", ["order_ref", "email"])
def test_each_regex_takes_milliseconds_on_100_kb_of_adversarial_text(name):
    pattern = re.compile(_regexes()[name], re.IGNORECASE)
    for text in ADVERSARIAL:
        started = time.perf_counter()
        list(pattern.finditer(text))
        assert time.perf_counter() - started < 0.5, (name, text[:12])


@pytest.mark.parametrize("entity", ["order_ref", "email"])
def test_each_regex_finds_exactly_what_the_training_data_marks(entity):
    pattern = re.compile(_regexes()[entity], re.IGNORECASE)
    examples = _marked(entity)
    assert len(examples) > 20
    for sentence, value in examples:
        assert value in [m.group() for m in pattern.finditer(sentence)], sentence


def test_an_email_after_punctuation_is_found_without_the_punctuation():
    pattern = re.compile(_regexes()["email"], re.IGNORECASE)
    for text, email in (("my email is ...ana@example.com", "ana@example.com"), ("(ana@example.com)", "ana@example.com"),
                        ("email:ana.b-c@sub.example.co.uk.", "ana.b-c@sub.example.co.uk")):
        assert [m.group() for m in pattern.finditer(text)] == [email], text


def test_the_contact_form_reads_an_email_in_linear_time_too():
    assert parse_contact("it's ana.lopez@example.com, thanks") == {"email": "ana.lopez@example.com"}
    started = time.perf_counter()
    for text in ADVERSARIAL:
        EMAIL_RE.search(text)
    assert time.perf_counter() - started < 1.0
