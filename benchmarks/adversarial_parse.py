"""How long the patterns that run on customer text take on adversarial input, before and after
they were made linear-time, and what a whole NLU parse of a 2,000-character message costs.

    python benchmarks/adversarial_parse.py [--before-model PATH] [--timeout 10] [--skip-parse]

Part 1 times each pattern as its caller uses it (Rasa's RegexEntityExtractor and RegexFeaturizer:
``re.finditer`` over the whole text, case-insensitive; the actions: ``search``; the redaction and
the sentiment scorer: the whole function) on 40 KB and 100 KB of each adversarial input. The old
e-mail patterns are kept here as the baseline. Each run is a subprocess with a time limit, so a
quadratic pattern prints "> N s" instead of hanging the benchmark.

Part 2 loads a trained model (``rasa.core.agent.Agent.load``) and times ``agent.parse_message``
on 2,000-character adversarial messages (the channels cut messages at 2,000 characters) and on
"hi". ``--before-model`` also times a model trained with the old patterns (a copy of
``models/caredesk.tar.gz`` from before the change).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import textwrap
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
MODEL = PROJECT / "models" / "caredesk.tar.gz"

# The baselines: data/nlu/entities.yml's e-mail regex and actions/account.py's before the change.
OLD_NLU_EMAIL = r"\b[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}\b"
OLD_ACTIONS_EMAIL = r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}"

# Units repeated to the wanted size (a prefix first where there is one).
INPUTS = {
    '"a." repeated': ("", "a."),
    '"a@a." repeated': ("", "a@a."),
    '"a.a@" repeated': ("", "a.a@"),
    '"a.." repeated': ("", "a.."),
    '"a@" then "a."': ("a@", "a."),
    '"x@" then "a-"': ("x@", "a-"),
    '"1 " repeated': ("", "1 "),
    '"1-" repeated': ("", "1-"),
    "digits": ("", "1"),
    '"12 Aa " repeated': ("", "12 Aa "),
    '"Aastra" repeated': ("", "Aastra"),
    '"un" repeated': ("", "un"),
}
SIZES = {"40 KB": 40_000, "100 KB": 100_000}
PARSE_LENGTH = 2_000

# What is timed: (name, setup code defining ``run(text)``). Setup runs before the clock starts.
NLU_FLAGS = "import re\nFLAGS = re.IGNORECASE\n"
CASES = [
    ("e-mail regex, entities.yml OLD", NLU_FLAGS + f"P = re.compile({OLD_NLU_EMAIL!r}, FLAGS)\n"
                                                  "run = lambda t: list(P.finditer(t))"),
    ("e-mail regex, entities.yml NEW", NLU_FLAGS + "from benchmarks.adversarial_parse import nlu_patterns\n"
                                                  "P = re.compile(nlu_patterns()['email'], FLAGS)\n"
                                                  "run = lambda t: list(P.finditer(t))"),
    ("order_ref regex, entities.yml", NLU_FLAGS + "from benchmarks.adversarial_parse import nlu_patterns\n"
                                                 "P = re.compile(nlu_patterns()['order_ref'], FLAGS)\n"
                                                 "run = lambda t: list(P.finditer(t))"),
    ("lookup tables (product, category)",
     NLU_FLAGS + "from benchmarks.adversarial_parse import nlu_patterns\n"
                 "PS = [re.compile(p, FLAGS) for n, p in nlu_patterns().items() if n.startswith('lookup:')]\n"
                 "run = lambda t: [list(p.finditer(t)) for p in PS]"),
    ("actions/account.py EMAIL_RE OLD", f"import re\nP = re.compile({OLD_ACTIONS_EMAIL!r})\nrun = P.search"),
    ("actions/account.py EMAIL_RE NEW", "from actions.account import EMAIL_RE as P\nrun = P.search"),
    ("actions/account.py other regexes",
     "from actions.account import PHONE_RE, SUBSCRIBE_RE, UNSUBSCRIBE_RE\n"
     "run = lambda t: [PHONE_RE.search(t), SUBSCRIBE_RE.search(t), UNSUBSCRIBE_RE.search(t)]"),
    ("crm_store accounts EMAIL_RE/PHONE_RE",
     "from crm_store.services.accounts import EMAIL_RE, PHONE_RE\n"
     "run = lambda t: [EMAIL_RE.match(t), PHONE_RE.match(t)]"),
    ("crm_store.privacy.redact", "from crm_store.privacy import redact as run"),
    ("sentiment scorer (regexes + VADER)", "from bot.nlu.sentiment_scorer import score as run\nrun('warm up')"),
]

RUNNER = """
import json, sys, time
sys.path.insert(0, {project!r})
prefix, unit, size = {prefix!r}, {unit!r}, {size}
text = (prefix + unit * (size // len(unit) + 1))[:size]
{setup}
started = time.perf_counter()
run(text)
print(json.dumps(time.perf_counter() - started))
"""


def nlu_patterns() -> dict[str, str]:
    """The regexes of data/nlu/entities.yml, and its lookup tables as Rasa turns them into regexes."""
    import yaml
    from rasa.nlu.utils.pattern_utils import _generate_lookup_regex

    patterns = {}
    for item in yaml.safe_load((PROJECT / "data" / "nlu" / "entities.yml").read_text(encoding="utf-8"))["nlu"]:
        examples = [line[2:] for line in item["examples"].splitlines() if line.startswith("- ")]
        if "regex" in item:
            patterns[item["regex"]] = examples[0]
        elif "lookup" in item:
            patterns["lookup:" + item["lookup"]] = _generate_lookup_regex({"elements": examples})
    return patterns


def _timed(setup: str, prefix: str, unit: str, size: int, timeout: float) -> str:
    code = RUNNER.format(project=str(PROJECT), prefix=prefix, unit=unit, size=size, setup=setup)
    try:
        done = subprocess.run([sys.executable, "-c", code], cwd=PROJECT, capture_output=True, text=True,
                              timeout=timeout + 30)  # + imports (rasa for the lookup tables)
    except subprocess.TimeoutExpired:
        return f"> {timeout:.0f} s"
    if done.returncode != 0:
        return "error: " + (done.stderr.strip().splitlines() or ["?"])[-1]
    seconds = json.loads(done.stdout.strip().splitlines()[-1])
    return f"> {timeout:.0f} s" if seconds > timeout else _ms(seconds)


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"


def pattern_table(timeout: float) -> None:
    print(f"## Patterns on adversarial input (limit {timeout:.0f} s per run)\n")
    print("| pattern | input | " + " | ".join(SIZES) + " |")
    print("| --- | --- | " + " | ".join("---:" for _ in SIZES) + " |")
    for name, setup in CASES:
        for label, (prefix, unit) in INPUTS.items():
            cells = []
            for size in SIZES.values():
                cells.append(_timed(setup, prefix, unit, size, timeout))
                if cells[-1].startswith(">"):  # a bigger input only takes longer
                    cells += [cells[-1]] * (len(SIZES) - len(cells))
                    break
            print(f"| {name} | {label} | " + " | ".join(cells) + " |", flush=True)


PARSER = """
import asyncio, json, logging, os, sys, time
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
logging.disable(logging.WARNING)
sys.path.insert(0, {project!r})
from rasa.core.agent import Agent
agent = Agent.load({model!r})
texts = {texts!r}

async def main():
    await agent.parse_message("warm up")
    times = {{}}
    for name, text in texts.items():
        runs = []
        for _ in range(3):
            started = time.perf_counter()
            await agent.parse_message(text)
            runs.append(time.perf_counter() - started)
        times[name] = min(runs)
    print(json.dumps(times))

asyncio.run(main())
"""


def parse_times(model: Path, timeout: float) -> dict[str, str]:
    texts = {"hi": "hi"}
    for label, (prefix, unit) in INPUTS.items():
        texts[label] = (prefix + unit * (PARSE_LENGTH // len(unit) + 1))[:PARSE_LENGTH]
    code = PARSER.format(project=str(PROJECT), model=str(model), texts=texts)
    try:
        done = subprocess.run([sys.executable, "-c", code], cwd=PROJECT, capture_output=True, text=True,
                              timeout=timeout + 180)  # + loading the model
    except subprocess.TimeoutExpired:
        return {name: f"> {timeout:.0f} s" for name in texts}
    if done.returncode != 0:
        raise SystemExit(f"parsing with {model} failed:\n{textwrap.indent(done.stderr[-2000:], '  ')}")
    return {name: _ms(seconds) for name, seconds in json.loads(done.stdout.strip().splitlines()[-1]).items()}


def parse_table(models: dict[str, Path], timeout: float) -> None:
    print(f"\n## Full NLU parse (Agent.parse_message) of {PARSE_LENGTH:,}-character messages, best of 3\n")
    results = {name: parse_times(path, timeout) for name, path in models.items()}
    print("| message | " + " | ".join(results) + " |")
    print("| --- | " + " | ".join("---:" for _ in results) + " |")
    for message in next(iter(results.values())):
        print(f"| {message} | " + " | ".join(r[message] for r in results.values()) + " |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before-model", type=Path, help="a model trained with the old patterns")
    parser.add_argument("--model", type=Path, default=MODEL, help="the current model")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds before a run is given up")
    parser.add_argument("--skip-parse", action="store_true", help="only the pattern table")
    args = parser.parse_args()
    pattern_table(args.timeout)
    if not args.skip_parse:
        models = {}
        if args.before_model:
            models["before (old patterns)"] = args.before_model
        models["after"] = args.model
        parse_table(models, args.timeout)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
