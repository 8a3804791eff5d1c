"""Fuzzing the files `caredesk` reads (Hypothesis): CSVs with missing columns, wrong types, huge
fields, other encodings, short rows, nothing at all, or not a CSV.

Each command either does its work (exit 0) or says in one line what is wrong with the file (exit
2): never a traceback. ``caredesk nlu learn`` writes training data, so what it stores must read back
as the texts it learned, in files Rasa can read.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import shutil
from pathlib import Path

import pytest
import yaml
from hypothesis import example, given
from hypothesis import strategies as st

from bot.nlu import learning
from caredesk.cli import main
from common.settings import get_settings
from tests.support.fuzzing import HUGE, assert_no_leak, csv_files, fuzz, ugly_text

PROJECT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """A copy of the project's domain and training data for `nlu learn` to write into, and a var/
    of its own (module-scoped: Hypothesis runs every example in one test call)."""
    folder = tmp_path_factory.mktemp("fuzz-project")
    shutil.copy(PROJECT / "domain.yml", folder / "domain.yml")
    shutil.copytree(PROJECT / "data", folder / "data")
    saved = {name: os.environ.get(name) for name in ("CAREDESK_PROJECT_DIR", "CAREDESK_VAR_DIR")}
    os.environ.update(CAREDESK_PROJECT_DIR=str(folder), CAREDESK_VAR_DIR=str(folder / "var"))
    get_settings.cache_clear()
    yield folder
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    get_settings.cache_clear()


def run(argv: list[str]) -> tuple[int, str, str]:
    """`caredesk ARGV` in process: (exit code, stdout, stderr). An exception fails the test."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


def assert_clear_outcome(code: int, out: str, err: str) -> None:
    assert code in (0, 2), (code, err[-2000:])
    assert_no_leak(out, "stdout")
    assert_no_leak(err, "stderr")
    if code == 2:
        assert err.strip().startswith("Cannot "), err[-2000:]


def write(folder: Path, name: str, content: bytes) -> Path:
    path = folder / name
    path.write_bytes(content)
    return path


SENTIMENT_COLUMNS = ["text", "label"]


# Found by this test (each was a traceback): a NUL byte, a field past the csv module's limit, a short row.
@example(content=b"\x00").via("found by fuzzing")
@example(content=b"text,label\r\n" + b"x" * HUGE + b",positive\r\n").via("found by fuzzing")
@example(content=b"text,label\r\nonly a text\r\n").via("found by fuzzing")
@fuzz(60)
@given(content=csv_files(SENTIMENT_COLUMNS))
def test_sentiment_evaluate_reads_any_file_or_says_what_is_wrong(project, content):
    path = write(project, "sentiment.csv", content)
    assert_clear_outcome(*run(["sentiment", "evaluate", "--csv", str(path)]))


RECOMMEND_COLUMNS = ["user", "item", "time"]


@fuzz(40)
@given(content=csv_files(RECOMMEND_COLUMNS), split=st.sampled_from(["time", "random"]))
def test_recommend_evaluate_reads_any_file_or_says_what_is_wrong(project, content, split):
    path = write(project, "interactions.csv", content)
    assert_clear_outcome(*run(["recommend", "evaluate", "--interactions", str(path), "--user-col", "user",
                               "--item-col", "item", "--time-col", "time", "--split", split, "--no-tune",
                               "--k", "3"]))


CHURN_COLUMNS = ["customer", "churned", "orders", "spend", "country"]


@fuzz(25)
@given(content=csv_files(CHURN_COLUMNS), folds=st.sampled_from(["2", "5"]))
def test_churn_evaluate_reads_any_file_or_says_what_is_wrong(project, content, folds):
    path = write(project, "churn.csv", content)
    assert_clear_outcome(*run(["churn", "evaluate", "--csv", str(path), "--label", "churned", "--id", "customer",
                               "--folds", folds]))


def _learned(project: Path) -> dict[str, list[str]]:
    """Every learned example as Rasa would read it, by intent (each file must be valid YAML)."""
    found: dict[str, list[str]] = {}
    for path in sorted((project / "data" / learning.LEARNED_DIR).glob("*.yml")):
        content = yaml.safe_load(path.read_text(encoding="utf-8"))
        for block in content["nlu"]:
            found.setdefault(block["intent"], []).extend(
                line.strip()[2:].strip() for line in block["examples"].splitlines() if line.strip())
    return found


INTENTS = sorted(learning.domain_intents(PROJECT / "domain.yml"))


# Found by this test: control characters were written as they came, and YAML refuses them, so the
# learned file (and every later `caredesk train` and `nlu learn`) could not be read.
@example(content=b"text,intent\r\n\xff\xfe,greet\r\n", rows=None).via("found by fuzzing")
@example(content=b"text,intent\r\n\x00,greet\r\n", rows=None).via("found by fuzzing")
@example(content=b"", rows=[("bell \x07 and delete \x7f here", "greet")]).via("found by fuzzing")
@fuzz(60)
@given(content=csv_files(list(learning.REVIEW_COLUMNS)),
       rows=st.none() | st.lists(st.tuples(ugly_text, st.sampled_from(INTENTS) | ugly_text), max_size=6))
def test_nlu_learn_reads_any_file_and_stores_only_what_reads_back(project, content, rows):
    if rows is not None:  # a well-formed annotation file, with hostile texts and mostly real intents
        out = io.StringIO()
        writer = csv.writer(out, escapechar="\\")
        writer.writerow(learning.REVIEW_COLUMNS)
        writer.writerows([{"text": t, "intent": i}.get(c, "") for c in learning.REVIEW_COLUMNS] for t, i in rows)
        content = out.getvalue().encode()
    path = write(project, "review.csv", content)
    code, out_text, err = run(["nlu", "learn", str(path)])
    assert_clear_outcome(code, out_text, err)
    learned = _learned(project)  # whatever happened, the learned files still read as Rasa reads them
    if code == 0:
        for line in out_text.splitlines():
            if line.startswith("  + "):
                text = line[4:]
                assert any(text in examples for examples in learned.values()), (text, learned)
