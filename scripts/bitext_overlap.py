"""Keep every evaluation text out of our training data.

    python scripts/bitext_overlap.py [SHARED_DATA_DIR]

The evaluation texts (:func:`evaluation_files`) are every CSV with a ``text`` column under
../shared/data (Bitext, all splits; the real shop queries; the review sentences; whatever is added
there later) and the NLU benchmark's own held-out files in benchmarks/data (messy phrasings and
out-of-scope messages). Two checks, both on normalised text (see :func:`normalise`):
- a phrase of ours (scripts/nlu_phrases.py, the short templates and the frames of
  scripts/generate_nlu.py) must not occur in a Bitext test or validation sentence unless it also
  occurs in a train sentence: a phrase seen only in the evaluation splits was learned from them;
- no training example (any NLU file under data/, learned ones included) may equal an evaluation text.

Prints what it finds and exits 1 if anything is found. scripts/generate_nlu.py runs the first
check before it writes anything and uses :func:`evaluation_texts` to drop generated sentences
equal to an evaluation text; tests/unit/test_nlu_heldout.py runs both on the committed data.
"""

from __future__ import annotations

import csv
import re
import sys
from collections.abc import Iterable
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
BITEXT = SHARED / "bitext_customer_support" / "utterances.csv"
# The files the generator refuses to run without: the NLU yardsticks the issue names.
REQUIRED_EVALUATION = (BITEXT, SHARED / "real_shop_queries" / "dev.csv")
OWN_HELDOUT = (ROOT / "benchmarks" / "data" / "heldout_messy.csv",
               ROOT / "benchmarks" / "data" / "heldout_out_of_scope.txt")
EVALUATION_SPLITS = ("test", "val")

_ANNOTATION = re.compile(r"\[([^\]]*)\]\([^)]*\)")  # "[CD-7KQ2MX](order_ref)" -> "CD-7KQ2MX"
_PLACEHOLDER = re.compile(r"\{\{[^}]*\}\}")  # Bitext's "{{Order Number}}"
_REFERENCE = re.compile(r"\bcd-[a-z2-9]{6}\b")  # our order references, lower-cased
_NUMBER = re.compile(r"[$€£#]?\d[\d.,/-]*")  # order numbers, amounts, "#00108", "$1200"
_SLOT = re.compile(r"\{\w+\}")  # a frame's or template's slot: "{vp}", "{r}"


def normalise(text: str) -> str:
    """The text with what does not make a sentence different taken out.

    Entity annotations are unwrapped; Bitext placeholders, our order references and every number
    (order numbers, amounts) become "0"; letters are lower-cased; apostrophes are dropped
    ("can't" = "cant"); any other character that is not a letter or digit is a space; runs of
    spaces are one. So "Cancelling purchase 00123842?" and "cancelling purchase [CD-H4N8PQ](order_ref)"
    are the same sentence.
    """
    text = _ANNOTATION.sub(r"\1", text).lower()
    text = _PLACEHOLDER.sub(" 0 ", text)
    text = _REFERENCE.sub(" 0 ", text)
    text = _NUMBER.sub(" 0 ", text)
    text = re.sub(r"['’`]", "", text)
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text).split())


def evaluation_files(shared: Path = SHARED) -> list[Path]:
    """Every evaluation text file: the CSVs with a ``text`` column under ``shared`` and our own held-out files."""
    found = []
    for path in sorted(shared.rglob("*.csv")) if shared.is_dir() else []:
        with path.open(encoding="utf-8", newline="") as handle:
            if "text" in (csv.DictReader(handle).fieldnames or ()):
                found.append(path)
    return found + [p for p in OWN_HELDOUT if p.is_file()]


def read_texts(path: Path) -> list[str]:
    """The texts of an evaluation file: the ``text`` column of a CSV, else one text per non-empty line."""
    if path.suffix == ".csv":
        with path.open(encoding="utf-8", newline="") as handle:
            return [row["text"] or "" for row in csv.DictReader(handle)]
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def evaluation_texts(files: Iterable[Path] | None = None) -> dict[str, tuple[str, str]]:
    """Normalised evaluation text -> (file, the text as written), for every text with a letter in it.

    A text without letters (an IMDb "10/10", a bare order number) normalises to "0" like a bare
    order reference of ours: equal, but no sentence was copied, so it is left out of the comparison.
    """
    found: dict[str, tuple[str, str]] = {}
    for path in evaluation_files() if files is None else files:
        name = f"{path.parent.name}/{path.name}"
        for text in read_texts(path):
            key = normalise(text)
            if re.search(r"[a-z]", key):
                found.setdefault(key, (name, text))
    return found


def read_bitext(path: Path = BITEXT) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def phrase_pieces(phrase: str) -> list[str]:
    """The normalised words of a phrase, split where a frame or template has a slot."""
    return [piece for piece in (normalise(p) for p in _SLOT.split(phrase)) if piece]


def phrases_only_in_evaluation(phrases: Iterable[str], rows: list[dict[str, str]]) -> list[str]:
    """The phrases that occur (as whole words) in a test or validation sentence but in no train sentence."""
    train = " | ".join(normalise(r["text"]) for r in rows if r["split"] == "train")
    held = " | ".join(normalise(r["text"]) for r in rows if r["split"] in EVALUATION_SPLITS)
    train, held = f" {train} ", f" {held} "
    found = []
    for phrase in phrases:
        pieces = [f" {p} " for p in phrase_pieces(phrase)]
        if any(p in held and p not in train for p in pieces):
            found.append(phrase)
    return found


def training_examples(folder: Path = ROOT / "data") -> list[tuple[str, str]]:
    """(file path, example) for every example of every NLU block (intent, synonym, ...) in the YAML
    files under ``folder``, sub-folders (data/nlu/learned/) included; lookup and regex blocks are patterns,
    not sentences, and are skipped."""
    examples = []
    for path in sorted([*folder.rglob("*.yml"), *folder.rglob("*.yaml")]):
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        blocks = document.get("nlu") if isinstance(document, dict) else None
        for block in blocks or []:
            if not isinstance(block, dict) or "lookup" in block or "regex" in block:
                continue
            for line in str(block.get("examples") or "").splitlines():
                if line.strip().startswith("- "):
                    examples.append((str(path.relative_to(folder)), line.strip()[2:]))
    return examples


def examples_equal_to_evaluation(examples: list[tuple[str, str]],
                                 evaluation: dict[str, tuple[str, str]]) -> list[tuple[str, str, str]]:
    """(training file, example, "file: evaluation text") for every example equal to an evaluation text."""
    equal = []
    for name, example in examples:
        hit = evaluation.get(normalise(example))
        if hit:
            equal.append((name, example, f"{hit[0]}: {hit[1]}"))
    return equal


def examples_equal_to_bitext(examples: list[tuple[str, str]], rows: list[dict[str, str]]) -> list[tuple[str, str, str]]:
    """(file name, example, Bitext sentence) for every example equal to a Bitext sentence after normalising."""
    bitext = {normalise(r["text"]): r["text"] for r in rows}
    return [(name, e, bitext[normalise(e)]) for name, e in examples if normalise(e) in bitext]


def main() -> int:
    shared = Path(sys.argv[1]) if len(sys.argv) > 1 else SHARED
    bitext = shared / BITEXT.relative_to(SHARED)
    if not bitext.exists():
        print(f"Bitext data not found at {bitext} (see ../shared/data/README.md)", file=sys.stderr)
        return 2
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from generate_nlu import all_phrases

    leaked = phrases_only_in_evaluation(all_phrases(), read_bitext(bitext))
    files = evaluation_files(shared)
    equal = examples_equal_to_evaluation(training_examples(), evaluation_texts(files))
    for phrase in leaked:
        print(f"phrase only in Bitext test/val: {phrase!r}")
    for name, example, sentence in equal:
        print(f"{name}: {example!r} equals {sentence!r}")
    print(f"{len(leaked)} phrases only in Bitext test/val; {len(equal)} training examples equal to one of "
          f"{len(files)} evaluation files' texts")
    return 1 if leaked or equal else 0


if __name__ == "__main__":
    raise SystemExit(main())
