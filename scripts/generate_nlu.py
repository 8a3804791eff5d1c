"""Build data/nlu/requests.yml and data/nlu/inform.yml from our phrase lists.

    python scripts/generate_nlu.py [--shared-data DIR] [--exclude FILE ...]

Deterministic: the same phrase lists give the same file. Frames are crossed with phrases and
sampled; a share of the sentences is repeated with the noise customers add (typos, slang, no
apostrophes, stray punctuation). By default the generator first refuses to run if a phrase of
ours occurs in a Bitext test or validation sentence but in no train sentence, then drops every
generated sentence equal to an evaluation text once both are normalised: numbers, order numbers
and our order references count as the same, and so do case, spacing and punctuation. The
evaluation texts are every CSV with a ``text`` column under ../shared/data (Bitext all splits,
real_shop_queries/dev.csv, review_sentiment/*.csv, ...) and our held-out files in benchmarks/data
(see scripts/bitext_overlap.py); ``--exclude`` adds more files. So the benchmarks stay held out.
"""

from __future__ import annotations

import argparse
import random
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bitext_overlap import (  # noqa: E402
    BITEXT,
    REQUIRED_EVALUATION,
    SHARED,
    evaluation_files,
    evaluation_texts,
    normalise,
    phrases_only_in_evaluation,
    read_bitext,
)
from nlu_phrases import GER_FRAMES, NP_FRAMES, VP_FRAMES  # noqa: E402
from nlu_phrases import INTENTS as BASE_INTENTS  # noqa: E402
from nlu_phrases import MESSY as BASE_MESSY  # noqa: E402
from nlu_phrases_recommend import merged as merged_recommend  # noqa: E402
from nlu_phrases_requests import merged  # noqa: E402

# With the requests beyond Bitext's taxonomy (scripts/nlu_phrases_requests.py). The intents those
# add or change are sampled with a generator of their own, so the other intents' sentences stay
# exactly what scripts/nlu_phrases.py alone gives.
INTENTS, MESSY, OWN_SAMPLES = merged(BASE_INTENTS, BASE_MESSY)
# With the recommendation wordings (scripts/nlu_phrases_recommend.py), merged the same way.
INTENTS, MESSY, _RECOMMEND = merged_recommend(INTENTS, MESSY)
OWN_SAMPLES |= _RECOMMEND

ROOT = Path(__file__).resolve().parents[1]
REF_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
REF_RE = re.compile(r"\bCD-[A-Z2-9]{6}\b")
WITH_REFERENCE = {"track_order", "cancel_order", "change_order", "get_refund", "track_refund",
                  "check_invoice", "get_invoice", "change_shipping_address", "check_cancellation_fee"}
SHORT_WITH_REFERENCE = {
    "track_order": ["track {r}", "where is {r}", "status {r}", "status of {r}", "wheres {r}", "{r} status",
                    "{r} where is it", "track order {r}", "has {r} shipped", "eta {r}"],
    "cancel_order": ["cancel {r}", "cancel {r} pls", "{r} cancel", "cancel order {r}", "pls cancel {r}",
                     "cancell {r}", "i want to cancel {r}", "stop {r}", "cancel {r} please", "dont send {r}"],
    "change_order": ["change {r}", "edit {r}", "modify {r}", "add item to {r}", "change items in {r}"],
    "get_refund": ["refund {r}", "return {r}", "refund for {r}", "money back for {r}", "send back {r}",
                   "i want to return {r}"],
    "track_refund": ["refund status {r}", "where is the refund for {r}", "refund {r} not received",
                     "did you refund {r}", "refund of {r} still missing"],
    "check_invoice": ["invoice {r}", "bill for {r}", "show invoice {r}", "invoice of {r}"],
    "get_invoice": ["send invoice {r}", "download invoice {r}", "invoice pdf {r}", "email me the invoice for {r}"],
    "change_shipping_address": ["change address {r}", "new address for {r}", "wrong address on {r}",
                                "ship {r} elsewhere", "address {r}"],
    "check_cancellation_fee": ["fee to cancel {r}", "cancellation fee {r}", "does cancelling {r} cost"],
}
VP_SAMPLES, NP_SAMPLES, GER_SAMPLES, NOISY_SHARE = 170, 60, 60, 0.35
SLANG = [(r"\byou\b", "u"), (r"\byour\b", "ur"), (r"\bplease\b", "pls"), (r"\bplease\b", "plz"),
         (r"\bwant to\b", "wanna"), (r"\bare\b", "r"), (r"\bthanks\b", "thx"), (r"\bi'm\b", "im"),
         (r"\bdon't\b", "dont"), (r"\bcan't\b", "cant"), (r"\bmy\b", "me"), (r"\bthe\b", "da")]
KEYBOARD = {"a": "sq", "e": "wr", "i": "uo", "o": "ip", "r": "et", "s": "ad", "t": "ry", "n": "bm",
            "d": "sf", "l": "k", "c": "xv", "u": "yi", "m": "n", "p": "o", "h": "gj", "g": "fh"}


DOUBLING = {"get", "put", "stop", "swap", "drop", "set", "shop", "log", "plan", "chat"}
IRREGULAR = {"be": "being", "see": "seeing", "cancel": "cancelling"}


def gerund(verb_phrase: str) -> str:
    """'cancel my order' -> 'cancelling my order'."""
    verb, _, rest = verb_phrase.partition(" ")
    if verb in IRREGULAR:
        ing = IRREGULAR[verb]
    elif verb in DOUBLING:
        ing = verb + verb[-1] + "ing"
    elif verb.endswith("e") and not verb.endswith(("ee", "ye")):
        ing = verb[:-1] + "ing"
    else:
        ing = verb + "ing"
    return f"{ing} {rest}".strip()


def reference(rng: random.Random) -> str:
    return "CD-" + "".join(rng.choice(REF_ALPHABET) for _ in range(6))


def typo(word: str, rng: random.Random) -> str:
    if len(word) < 4 or not word.isalpha():
        return word
    i = rng.randrange(1, len(word) - 1)
    kind = rng.choice(("swap", "drop", "double", "near"))
    if kind == "swap":
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]
    if kind == "drop":
        return word[:i] + word[i + 1:]
    if kind == "double":
        return word[:i] + word[i] + word[i:]
    near = KEYBOARD.get(word[i])
    return word[:i] + rng.choice(near) + word[i + 1:] if near else word


def noisy(sentence: str, rng: random.Random) -> str:
    """The sentence as somebody in a hurry on a phone would type it."""
    out = sentence
    for pattern, replacement in rng.sample(SLANG, 3):
        if rng.random() < 0.6:
            out = re.sub(pattern, replacement, out)
    if rng.random() < 0.5:
        out = out.replace("'", "")
    words = out.split()
    for _ in range(rng.choice((1, 1, 2))):
        j = rng.randrange(len(words))
        if not REF_RE.search(words[j]):
            words[j] = typo(words[j], rng)
    out = " ".join(words).rstrip("?!.")
    return out + rng.choice(("", "", "?", "??", "!", " pls", "."))


def styled(sentence: str, rng: random.Random) -> str:
    """Vary capitals and end punctuation as people do."""
    if rng.random() < 0.3:
        sentence = sentence[:1].upper() + sentence[1:]
    if rng.random() < 0.05:
        sentence = sentence.upper()
    if not sentence.endswith(("?", "!", ".")) and rng.random() < 0.3:
        sentence += rng.choice(("?", ".", "!"))
    return sentence


def sentences_for(intent: str, rng: random.Random, intents: dict | None = None,
                  messy: dict | None = None) -> list[str]:
    intents, messy = intents or INTENTS, messy or MESSY
    phrases = intents[intent]
    vp = [f.format(vp=p) for f in VP_FRAMES for p in phrases["vp"]]
    np_ = [f.format(np=p) for f in NP_FRAMES for p in phrases["np"]]
    ger = [f.format(ger=gerund(p)) for f in GER_FRAMES for p in phrases["vp"] if not p.startswith("i ")]
    chosen = (rng.sample(vp, min(VP_SAMPLES, len(vp))) + rng.sample(np_, min(NP_SAMPLES, len(np_)))
              + rng.sample(ger, min(GER_SAMPLES, len(ger))))
    chosen = [styled(s, rng) for s in chosen]
    chosen += [noisy(s, rng) for s in rng.sample(chosen, int(len(chosen) * NOISY_SHARE))]
    if intent in WITH_REFERENCE:
        for s in rng.sample(chosen, 20):
            chosen.append(f"{s.rstrip('?!.')} {reference(rng)}")
            chosen.append(f"{s.rstrip('?!.')} for order {reference(rng)}")
    for template in SHORT_WITH_REFERENCE.get(intent, []):
        chosen += [template.format(r=reference(rng)) for _ in range(2)]
    return chosen + messy.get(intent, [])


def annotate(sentence: str) -> str:
    return REF_RE.sub(lambda m: f"[{m.group(0)}](order_ref)", sentence)


def inform_examples(rng: random.Random) -> list[str]:
    names = ["ana", "ben.carter", "m.rossi", "julia_k", "tom.b", "sara", "lee2000", "kim.n"]
    domains = ["example.com", "mail.com", "web.de", "outlook.com", "gmail.com"]
    frames_ref = ["{r}", "it's {r}", "order {r}", "my order number is {r}", "the reference is {r}",
                  "ref {r}", "#{r}", "order no {r}", "its {r}", "{r} is the order", "number {r}",
                  "sorry, i meant {r}", "no wait, it's {r}", "the order is {r}"]
    frames_mail = ["{e}", "my email is {e}", "it's {e}", "email: {e}", "{e} is my email", "use {e}",
                   "sorry, my email is {e}", "actually it's {e}", "e-mail {e}"]
    both = ["order {r} and email {e}", "{r} {e}", "{r}, {e}", "my order is {r}, email {e}"]
    out = []
    for frames in (frames_ref, frames_mail, both):
        for frame in frames:
            for _ in range(3):
                email = f"{rng.choice(names)}@{rng.choice(domains)}"
                text = frame.format(r=f"[{reference(rng)}](order_ref)", e=f"[{email}](email)")
                out.append(text)
    return out


def entity_patterns() -> str:
    """Regexes for order references and e-mails, lookup tables for the catalogue's words."""
    from crm_store.seed_catalogue import CATALOGUE

    kinds = sorted({kind.lower() for _, items in CATALOGUE.values() for kind, _, _ in items})
    words = sorted(w for w in {kind.split()[-1].lower() for kind in kinds} | set(kinds) if w.isalpha() or " " in w)
    categories = sorted(CATALOGUE) + ["electronics", "kitchen", "clothes", "toys", "games", "gardening", "sport"]
    lines = ["# Generated by scripts/generate_nlu.py: regexes and catalogue lookup tables.", 'version: "3.1"',
             "", "nlu:",
             "  - regex: order_ref", "    examples: |",
             r"      - \b[Cc][Dd][- ]?[A-HJ-NP-Za-hj-np-z2-9]{6}\b",
             "  - regex: email", "    examples: |",
             # Linear time under Python's re (see benchmarks/adversarial_parse.py): a local part starts
             # only where its run starts (not after "a." inside one) and is at most 64 characters.
             r"      - (?<![A-Za-z0-9])(?<![A-Za-z0-9][._%+\-])[A-Za-z0-9][A-Za-z0-9._%+\-]{0,63}"
             r"@[A-Za-z0-9.\-]{1,255}\.[A-Za-z]{2,63}\b",
             "  - lookup: product", "    examples: |"]
    lines += [f"      - {w}" for w in words]
    lines += ["  - lookup: product_category", "    examples: |"]
    lines += [f"      - {c}" for c in sorted(set(categories))]
    return "\n".join(lines) + "\n"


def all_phrases() -> list[str]:
    """Every phrase, message, template and frame the sentences are built from."""
    phrases = [p for lists in INTENTS.values() for kind in ("vp", "np") for p in lists[kind]]
    phrases += [p for messages in MESSY.values() for p in messages]
    phrases += [t for templates in SHORT_WITH_REFERENCE.values() for t in templates]
    return phrases + VP_FRAMES + NP_FRAMES + GER_FRAMES


def excluded_texts(shared: Path | None, extra: list[Path]) -> set[str]:
    """The normalised evaluation texts; exits if a phrase of ours came from Bitext's evaluation splits."""
    if shared is None:
        return set()
    rows = read_bitext(shared / BITEXT.relative_to(SHARED))
    leaked = phrases_only_in_evaluation(all_phrases(), rows)
    if leaked:
        raise SystemExit("phrases that occur only in Bitext's test/val splits; remove them from "
                         "scripts/nlu_phrases.py:\n  " + "\n  ".join(leaked))
    files = evaluation_files(shared) + extra
    print("excluding the texts of " + ", ".join(f"{p.parent.name}/{p.name}" for p in files))
    return set(evaluation_texts(files))


def dedupe_key(text: str) -> str:
    return re.sub(r"\s+", " ", text.strip().lower())


def render(blocks: dict[str, list[str]], header: str) -> str:
    lines = [f"# {header}", "# Generated by scripts/generate_nlu.py from scripts/nlu_phrases*.py: edit those.",
             'version: "3.1"', "", "nlu:"]
    for intent, examples in blocks.items():
        lines += [f"  - intent: {intent}", "    examples: |"]
        lines += [f"      - {e}" for e in examples]
        lines.append("")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--shared-data", type=Path, default=SHARED,
                        help="the evaluation data folder; sentences equal to one of its texts once normalised "
                             "are dropped (default: %(default)s)")
    parser.add_argument("--exclude", type=Path, action="append", default=[],
                        help="another evaluation file (CSV with a text column, or one text per line)")
    parser.add_argument("--no-exclude", action="store_true",
                        help="write sentences even if an evaluation file holds them (never for the committed data)")
    args = parser.parse_args()
    required = [args.shared_data / p.relative_to(SHARED) for p in REQUIRED_EVALUATION]
    missing = [str(p) for p in required + args.exclude if not p.is_file()]
    if missing and not args.no_exclude:
        parser.error(f"{', '.join(missing)} not found: the generated data must leave out every evaluation text "
                     "(tests/unit/test_nlu_heldout.py checks it). Give --shared-data the evaluation data folder.")
    rng = random.Random(2026)
    exclude = excluded_texts(None if args.no_exclude else args.shared_data, args.exclude)
    blocks, seen, dropped = {}, set(), 0
    for intent in INTENTS:
        kept = []
        if intent in BASE_INTENTS:  # drawn even when replaced below, so the next intents draw as before
            sentences = sentences_for(intent, rng, BASE_INTENTS, BASE_MESSY)
        if intent in OWN_SAMPLES:
            sentences = sentences_for(intent, random.Random(f"2026:{intent}"))
        for sentence in sentences:
            key = dedupe_key(sentence)
            if key in seen:
                continue
            seen.add(key)
            if normalise(sentence) in exclude:
                dropped += 1
                continue
            kept.append(annotate(sentence))
        blocks[intent] = kept
    inform = inform_examples(rng)
    kept_inform = [e for e in inform if normalise(e) not in exclude]
    dropped += len(inform) - len(kept_inform)
    (ROOT / "data/nlu/requests.yml").write_text(render(blocks, "Customer requests."), encoding="utf-8")
    (ROOT / "data/nlu/inform.yml").write_text(
        render({"inform": kept_inform}, "Answers that carry an order reference or an e-mail."),
        encoding="utf-8")
    (ROOT / "data/nlu/entities.yml").write_text(entity_patterns(), encoding="utf-8")
    total = sum(len(v) for v in blocks.values())
    print(f"wrote {total} request examples for {len(blocks)} intents; dropped {dropped} equal to an evaluation text")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
