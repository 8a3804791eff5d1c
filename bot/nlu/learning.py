"""Learning from conversations: ``caredesk nlu review`` / ``caredesk nlu learn`` and the console's
``/nlu/review`` page (both write through :func:`learn`).

The shop's own customers show where the model is weak: every message it did not understand is in
the tracker store (already redacted by ``bot.tracker_store``). ``review`` reads them back, keeps
the ones that fell back (``nlu_fallback``) or whose best intent scored below a threshold, groups
similar ones with the complaint-topic grouping (:func:`crm_store.scoring.topics.topics`: lemmas
and lemma pairs, TF-IDF, k-means chosen by silhouette) and writes a CSV with one row per distinct
text, an empty ``intent`` column for a person to fill. ``learn`` reads the annotated CSV back,
checks every intent against ``domain.yml``, redacts each text again (the CSV was edited by hand and
may have been pasted into), refuses texts equal to an evaluation sentence (``../shared/data``,
normalised as the NLU generator normalises them, so learned data cannot leak a benchmark into
training) and appends the rest to ``data/nlu/learned/<intent>.yml``, which ``caredesk train`` reads
with the rest of ``data/`` (Rasa walks it recursively) and fingerprints.

It lives in ``bot/`` rather than ``caredesk/`` because the console (``bot.console``) uses it and
may not import the top layer; it imports no Rasa (the tracker store is read as a plain table).
"""

from __future__ import annotations

import contextlib
import csv
import fcntl
import functools
import importlib.util
import json
import os
import re
import sys
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timezone
from pathlib import Path
from types import ModuleType
from typing import Any

import yaml
from sqlalchemy import column, create_engine, func, inspect, select, table
from sqlalchemy.engine import make_url
from sqlalchemy.sql import Select

from crm_store.privacy import redact

FALLBACK_INTENT = "nlu_fallback"
DEFAULT_THRESHOLD = 0.5
REVIEW_COLUMNS = ("group", "group_terms", "count", "text", "guessed_intent", "confidence", "intent")
LEARNED_DIR = Path("nlu") / "learned"  # under the project's data/ folder
# Intents nobody types (sent by our services), so no customer sentence may teach them.
_UNTYPED_PREFIX = "EXTERNAL_"
# A cell starting with one of these is a formula to a spreadsheet: customer text must never run as one.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# Characters YAML cannot hold (control characters, non-characters): a learned file with one would not
# load, and neither would the next training. They carry no meaning for the NLU, so they become spaces.
_UNSTORABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f\ud800-\udfff\ufffe\uffff]")
_ANNOTATION = re.compile(r"\[([^\]]*)\](?:\([^)]*\)|\{[^}]*\})")


@dataclass(frozen=True)
class MissedMessage:
    """A stored customer message the model did not understand well enough."""

    conversation_id: str
    at: datetime  # naive UTC
    text: str
    guessed_intent: str | None  # the best intent other than nlu_fallback
    confidence: float | None


@dataclass(frozen=True)
class ReviewRow:
    """One distinct text of the review CSV (similar wordings share a ``group``)."""

    group: int  # 0 = the largest group
    group_terms: str
    count: int
    text: str
    guessed_intent: str
    confidence: float | None

    def as_csv(self) -> dict[str, str]:
        return {"group": str(self.group), "group_terms": self.group_terms, "count": str(self.count),
                "text": spreadsheet_safe(self.text), "guessed_intent": self.guessed_intent,
                "confidence": "" if self.confidence is None else f"{self.confidence:.3f}", "intent": ""}


@dataclass(frozen=True)
class Annotation:
    row: int  # line number in the CSV (the header is line 1), for messages a person can act on
    text: str
    intent: str


@dataclass(frozen=True)
class Refusal:
    row: int
    text: str
    reason: str


@dataclass(frozen=True)
class LearnResult:
    added: tuple[Annotation, ...]  # redacted texts, as written
    known: tuple[Annotation, ...]  # already a training example of that intent
    refused: tuple[Refusal, ...]
    files: tuple[Path, ...]  # learned files written


class AnnotationError(ValueError):
    """The annotated CSV cannot be learned from; the message names the rows."""


# --- review: which messages were missed -----------------------------------------------------------

def _guess(parse_data: dict) -> tuple[str | None, float | None]:
    """The intent the model would have chosen without the fallback, and its confidence."""
    for candidate in [parse_data.get("intent") or {}, *(parse_data.get("intent_ranking") or [])]:
        name = candidate.get("name") if isinstance(candidate, dict) else None
        if name and name != FALLBACK_INTENT:
            confidence = candidate.get("confidence")
            return name, float(confidence) if isinstance(confidence, (int, float)) else None
    return None, None


def missed_messages(conversation_id: str, events: Iterable[dict], threshold: float = DEFAULT_THRESHOLD,
                    since: date | None = None) -> list[MissedMessage]:
    """The customer messages of one conversation that fell back or scored below ``threshold``.

    Button payloads ("/affirm") and messages our services inject are not typed by a customer and
    are left out."""
    found = []
    for event in events:
        text = (event.get("text") or "").strip()
        if event.get("event") != "user" or not text or text.startswith("/"):
            continue
        at = datetime.fromtimestamp(float(event.get("timestamp") or 0), tz=timezone.utc).replace(tzinfo=None)
        if since is not None and at.date() < since:
            continue
        parse = event.get("parse_data") or {}
        intent = parse.get("intent") or {}
        name, confidence = intent.get("name"), intent.get("confidence")
        if isinstance(name, str) and name.startswith(_UNTYPED_PREFIX):
            continue
        low = not isinstance(confidence, (int, float)) or confidence < threshold
        if name == FALLBACK_INTENT or low:
            guessed, guessed_confidence = _guess(parse)
            found.append(MissedMessage(conversation_id, at, text, guessed, guessed_confidence))
    return found


EVENTS = table("events", column("id"), column("sender_id"), column("type_name"), column("timestamp"),
               column("data"))
CHUNK = 5_000


def _user_events(since: date | None) -> Select:
    query = select(EVENTS.c.sender_id, EVENTS.c.data).where(EVENTS.c.type_name == "user")
    if since is not None:
        query = query.where(EVENTS.c.timestamp >= datetime.combine(since, time(0), timezone.utc).timestamp())
    return query


def read_missed(tracker_store_url: str, *, threshold: float = DEFAULT_THRESHOLD, since: date | None = None,
                on_progress: Callable[[int], None] | None = None,
                on_total: Callable[[int], None] | None = None) -> list[MissedMessage]:
    """Every missed message in Rasa's tracker store (its ``events`` table, read with SQLAlchemy
    Core): only customer messages are read, from ``since`` on, streamed in chunks.

    ``on_total`` hears how many messages will be read, ``on_progress`` each chunk (a tqdm bar)."""
    if _missing_sqlite_file(tracker_store_url):
        return []  # nothing stored yet; connecting would create an empty database file
    engine = create_engine(tracker_store_url, future=True)
    found: list[MissedMessage] = []
    try:
        if not inspect(engine).has_table("events"):
            return []
        with engine.connect() as connection:
            if on_total:
                on_total(int(connection.execute(select(func.count()).select_from(
                    _user_events(since).subquery())).scalar_one()))
            query = _user_events(since).order_by(EVENTS.c.id)
            result = connection.execution_options(stream_results=True, max_row_buffer=CHUNK).execute(query)
            for rows in result.partitions(CHUNK):
                for sender_id, data in rows:
                    found += missed_messages(sender_id, [json.loads(data)] if data else [], threshold, since)
                if on_progress:
                    on_progress(len(rows))
    finally:
        engine.dispose()
    return found


def _missing_sqlite_file(url: str) -> bool:
    parsed = make_url(url)
    database = parsed.database or ""
    return (parsed.get_backend_name() == "sqlite" and database not in ("", ":memory:")
            and not Path(database).exists())


# --- review: grouping ------------------------------------------------------------------------------

def review_key(text: str) -> str:
    """What makes two messages the same text to annotate: case, spacing and punctuation do not."""
    return " ".join(re.sub(r"[^\w']+", " ", text.casefold()).split())


def review_rows(messages: Sequence[MissedMessage], *, max_groups: int = 8) -> list[ReviewRow]:
    """One row per distinct text, grouped by wording (largest group first), most frequent first.

    Each message counts once in the grouping, so a text many customers typed pulls its group
    toward it. A distinct text's guess is the one the model made most often for it, with the mean
    confidence of those guesses."""
    from crm_store.scoring.episodes import NegativeMessage
    from crm_store.scoring.topics import topics

    if not messages:
        return []
    as_topics = [NegativeMessage(m.conversation_id, 0, m.at, m.text, m.guessed_intent, m.confidence or 0.0, "")
                 for m in messages]
    rows: list[ReviewRow] = []
    for topic in topics(as_topics, max_topics=max_groups):
        by_key: dict[str, list[MissedMessage]] = defaultdict(list)
        for i in topic.members:
            by_key[review_key(messages[i].text)].append(messages[i])
        group = [_row(topic.id, topic.label, same) for same in by_key.values()]
        rows += sorted(group, key=lambda row: (-row.count, row.text))
    return rows


def _row(group: int, label: str, same: list[MissedMessage]) -> ReviewRow:
    text = Counter(m.text for m in same).most_common(1)[0][0]
    guesses = Counter(m.guessed_intent for m in same if m.guessed_intent)
    guessed = guesses.most_common(1)[0][0] if guesses else ""
    scores = [m.confidence for m in same if m.guessed_intent == guessed and m.confidence is not None]
    return ReviewRow(group, label, len(same), text, guessed, round(sum(scores) / len(scores), 3) if scores else None)


def spreadsheet_safe(text: str) -> str:
    """The text with a leading quote if a spreadsheet would read it as a formula (undone on reading)."""
    return f"'{text}" if text.startswith(_FORMULA_START) else text


def from_spreadsheet(text: str) -> str:
    return text[1:] if text.startswith("'") and text[1:].startswith(_FORMULA_START) else text


def write_review(rows: Sequence[ReviewRow], out: Path) -> None:
    with out.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=REVIEW_COLUMNS)
        writer.writeheader()
        writer.writerows(row.as_csv() for row in rows)


# --- learn: reading the annotations ---------------------------------------------------------------

def domain_intents(domain_path: Path) -> set[str]:
    """The intents a customer can be taught to say (``EXTERNAL_`` ones are sent, never typed)."""
    domain = yaml.safe_load(domain_path.read_text(encoding="utf-8")) or {}
    names: set[Any] = set()
    for entry in domain.get("intents") or []:
        names.update(entry if isinstance(entry, dict) else [entry])
    return {str(name) for name in names if not str(name).startswith(_UNTYPED_PREFIX)}


def read_annotations(path: Path, intents: set[str]) -> list[Annotation]:
    """The annotated rows of a review CSV (rows whose ``intent`` is empty are skipped).

    Raises :class:`AnnotationError` naming every row whose intent is not in the domain, so a
    typo is fixed before anything is written."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            missing = {"text", "intent"} - set(reader.fieldnames or ())
            if missing:
                raise AnnotationError(f"{path} has no {' or '.join(sorted(missing))} column "
                                      f"(expected the columns {', '.join(REVIEW_COLUMNS)})")
            records = [(reader.line_num, from_spreadsheet(record.get("text") or ""), record.get("intent") or "")
                       for record in reader]
    except UnicodeDecodeError as exc:
        raise AnnotationError(f"{path} is not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except csv.Error as exc:  # a NUL byte, a field past the csv module's limit
        raise AnnotationError(f"{path} is not a readable CSV table: {exc}") from None
    return annotations_of(records, intents)


def annotations_of(records: Iterable[tuple[int, str, str]], intents: set[str]) -> list[Annotation]:
    """(row, text, intent) records as annotations, whether from the CSV or the console's form:
    empty intents skipped, every unknown intent named with its row in one :class:`AnnotationError`."""
    found, wrong = [], []
    for row, raw_text, raw_intent in records:
        intent, text = raw_intent.strip(), " ".join(_UNSTORABLE.sub(" ", raw_text).split())
        if not intent:
            continue
        if intent not in intents:
            wrong.append(f"row {row}: {intent!r} is not an intent of domain.yml (text {text!r})")
        elif not text:
            wrong.append(f"row {row}: intent {intent!r} but no text")
        else:
            found.append(Annotation(row, text, intent))
    if wrong:
        raise AnnotationError("nothing learned, fix these rows first:\n  " + "\n  ".join(wrong))
    return found


# --- learn: what must not be learned --------------------------------------------------------------

CHECKOUT = Path(__file__).resolve().parents[2]


@functools.lru_cache(maxsize=4)
def _overlap_module(project_dir: Path) -> ModuleType | None:
    """scripts/bitext_overlap.py (the project's, else this checkout's), whose normalisation and list
    of evaluation files the NLU generator and the held-out test use: one definition of "the same
    sentence" everywhere. None in an install without scripts/ (and so without benchmarks)."""
    path = next((p for p in (project_dir / "scripts" / "bitext_overlap.py",
                             CHECKOUT / "scripts" / "bitext_overlap.py") if p.is_file()), None)
    spec = importlib.util.spec_from_file_location("caredesk_bitext_overlap", path) if path else None
    if spec is None or spec.loader is None:
        return None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # a dataclass in it looks its module up there
    spec.loader.exec_module(module)
    return module


def normaliser(project_dir: Path) -> Callable[[str], str]:
    overlap = _overlap_module(project_dir)
    return overlap.normalise if overlap else example_key


def evaluation_texts(project_dir: Path, shared_data: Path | None = None) -> dict[str, str]:
    """Normalised evaluation text -> the file it is in, exactly as the generator and the held-out
    test (tests/unit/test_nlu_heldout.py, which reads data/nlu/learned/ too) see them: every CSV
    with a ``text`` column under ``shared_data`` (default ``../shared/data``) and our own held-out
    files in benchmarks/data. Empty when there are none (a shop's install has no benchmarks)."""
    overlap = _overlap_module(project_dir)
    if overlap is None:
        return {}
    shared = shared_data or project_dir.parent / "shared" / "data"
    return {key: where for key, (where, _) in overlap.evaluation_texts(overlap.evaluation_files(shared)).items()}


def example_key(text: str) -> str:
    """Two examples are the same when only entity markup, case or spacing differ."""
    return " ".join(_ANNOTATION.sub(r"\1", text).casefold().split())


def training_examples(data_dir: Path) -> dict[str, set[str]]:
    """intent -> keys of its examples, over every NLU file under ``data_dir`` (as Rasa reads them)."""
    found: dict[str, set[str]] = defaultdict(set)
    for path in sorted([*data_dir.rglob("*.yml"), *data_dir.rglob("*.yaml")]):
        for intent, examples in _nlu_blocks(path).items():
            found[intent].update(example_key(e) for e in examples)
    return found


def _nlu_blocks(path: Path) -> dict[str, list[str]]:
    content = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    blocks: dict[str, list[str]] = defaultdict(list)
    for item in (content.get("nlu") or []) if isinstance(content, dict) else []:
        if isinstance(item, dict) and "intent" in item and isinstance(item.get("examples"), str):
            blocks[str(item["intent"])] += [line.strip()[2:].strip() for line in item["examples"].splitlines()
                                            if line.strip().startswith("- ")]
    return blocks


# --- learn: writing ---------------------------------------------------------------------------------

def learned_path(data_dir: Path, intent: str) -> Path:
    return data_dir / LEARNED_DIR / f"{intent}.yml"


def render_learned(intent: str, examples: Sequence[str]) -> str:
    """A Rasa NLU file (format 3.1) holding one intent's learned examples."""
    lines = ["# Learned from customers' conversations (`caredesk nlu learn`): reviewed by a person, redacted.",
             'version: "3.1"', "", "nlu:", f"  - intent: {intent}", "    examples: |"]
    return "\n".join([*lines, *(f"      - {example}" for example in examples), ""])


def learn(annotations: Sequence[Annotation], data_dir: Path, evaluation: Mapping[str, str],
          normalise: Callable[[str], str]) -> LearnResult:
    """Append the annotated texts to ``data_dir/nlu/learned/<intent>.yml`` (deduplicated).

    Each text is redacted again; a text equal to an evaluation sentence (before or after
    redaction, normalised) is refused, and so is one that is already an example of another intent
    (Rasa would be taught both). The console and the command may learn at the same time: the
    learned folder is locked from reading the examples to writing them."""
    with _locked(data_dir / LEARNED_DIR):
        return _learn(annotations, data_dir, evaluation, normalise)


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    folder.mkdir(parents=True, exist_ok=True)
    handle = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield
    finally:
        os.close(handle)  # closing releases the lock


def _learn(annotations: Sequence[Annotation], data_dir: Path, evaluation: Mapping[str, str],
           normalise: Callable[[str], str]) -> LearnResult:
    existing = training_examples(data_dir)
    owner = {key: intent for intent, keys in existing.items() for key in keys}
    new: dict[str, list[str]] = defaultdict(list)
    added, known, refused = [], [], []
    for note in annotations:
        text = " ".join((redact(note.text) or "").split())
        key = example_key(text)
        where = evaluation.get(normalise(note.text)) or evaluation.get(normalise(text))
        if where:
            refused.append(Refusal(note.row, text, f"equals an evaluation text ({where})"))
        elif key in owner and owner[key] != note.intent:
            refused.append(Refusal(note.row, text, f"already a training example of {owner[key]}"))
        elif key in owner:
            known.append(Annotation(note.row, text, note.intent))
        else:
            owner[key] = note.intent
            new[note.intent].append(text)
            added.append(Annotation(note.row, text, note.intent))
    files = tuple(_append(data_dir, intent, texts) for intent, texts in new.items())
    return LearnResult(tuple(added), tuple(known), tuple(refused), files)


def _append(data_dir: Path, intent: str, texts: Sequence[str]) -> Path:
    path = learned_path(data_dir, intent)
    path.parent.mkdir(parents=True, exist_ok=True)
    before = _nlu_blocks(path).get(intent, []) if path.exists() else []
    partial = path.with_name(f".{path.name}.partial")  # not .yml: neither Rasa nor the fingerprint reads it
    partial.write_text(render_learned(intent, [*before, *texts]), encoding="utf-8")
    os.replace(partial, path)  # a training started meanwhile reads the old file or the new one, never half
    return path


def learn_file(csv_path: Path, project_dir: Path, *, data_dir: Path | None = None,
               shared_data: Path | None = None) -> LearnResult:
    """``caredesk nlu learn``: validate the CSV against the project's domain and learn from it."""
    annotations = read_annotations(csv_path, domain_intents(project_dir / "domain.yml"))
    return learn_in_project(annotations, project_dir, data_dir=data_dir, shared_data=shared_data)


def learn_in_project(annotations: Sequence[Annotation], project_dir: Path, *, data_dir: Path | None = None,
                     shared_data: Path | None = None) -> LearnResult:
    """:func:`learn` into the project's data/, kept apart from the evaluation data beside it."""
    return learn(annotations, data_dir or project_dir / "data", evaluation_texts(project_dir, shared_data),
                 normaliser(project_dir))


def summary(result: LearnResult) -> list[str]:
    """What ``learn`` did, for a person: every added text by intent, every refusal with its row."""
    lines = []
    by_intent: dict[str, list[str]] = defaultdict(list)
    for note in result.added:
        by_intent[note.intent].append(note.text)
    for intent, texts in sorted(by_intent.items()):
        lines.append(f"{intent}: added {len(texts)}")
        lines += [f"  + {text}" for text in texts]
    lines += [f"row {r.row}: not learned, {r.reason}: {r.text!r}" for r in result.refused]
    lines.append(f"Added {len(result.added)} examples to {len(result.files)} file(s); {len(result.known)} were "
                 f"already known, {len(result.refused)} refused. `caredesk train` uses them next time.")
    return lines
