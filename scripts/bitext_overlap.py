"""Keep the Bitext evaluation splits out of our training data.

    python scripts/bitext_overlap.py [BITEXT.csv]

Two checks, both on normalised text (see :func:`normalise`):
- a phrase of ours (scripts/nlu_phrases.py, the short templates and the frames of
  scripts/generate_nlu.py) must not occur in a Bitext test or validation sentence unless it also
  occurs in a train sentence: a phrase seen only in the evaluation splits was learned from them;
- no example in data/nlu/ may equal a Bitext sentence.

Prints what it finds and exits 1 if anything is found. scripts/generate_nlu.py runs the first
check before it writes anything and uses :func:`normalise` to drop generated sentences equal to a
Bitext sentence; tests/unit/test_nlu_heldout.py runs both on the committed data.
"""

from __future__ import annotations

import csv
import re
import sys
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BITEXT = ROOT.parent / "shared" / "data" / "bitext_customer_support" / "utterances.csv"
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


def training_examples(folder: Path = ROOT / "data" / "nlu") -> list[tuple[str, str]]:
    """(file name, example) for every example line in the NLU training files."""
    examples = []
    for path in sorted(folder.glob("*.yml")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.startswith("      - "):
                examples.append((path.name, line[len("      - "):]))
    return examples


def examples_equal_to_bitext(examples: list[tuple[str, str]], rows: list[dict[str, str]]) -> list[tuple[str, str, str]]:
    """(file name, example, Bitext sentence) for every example equal to a Bitext sentence after normalising."""
    bitext = {normalise(r["text"]): r["text"] for r in rows}
    return [(name, e, bitext[normalise(e)]) for name, e in examples if normalise(e) in bitext]


def main() -> int:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else BITEXT
    if not path.exists():
        print(f"Bitext data not found at {path} (see ../shared/data/README.md)", file=sys.stderr)
        return 2
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from generate_nlu import all_phrases

    rows = read_bitext(path)
    leaked = phrases_only_in_evaluation(all_phrases(), rows)
    equal = examples_equal_to_bitext(training_examples(), rows)
    for phrase in leaked:
        print(f"phrase only in Bitext test/val: {phrase!r}")
    for name, example, sentence in equal:
        print(f"{name}: {example!r} equals Bitext {sentence!r}")
    print(f"{len(leaked)} phrases only in Bitext test/val; {len(equal)} training examples equal to a Bitext sentence")
    return 1 if leaked or equal else 0


if __name__ == "__main__":
    raise SystemExit(main())
