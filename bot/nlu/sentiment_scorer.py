"""Sentiment of one customer message: nltk's VADER, tuned for shop conversations.

Pure: no Rasa import, nothing loaded at import time. VADER's lexicon comes from the
``vaderSentiment`` package; recent nltk only loads it from an nltk data folder, so the first use
builds ``sentiment/vader_lexicon.zip`` in a folder of ours (see :func:`nltk_data_dir`).

What plain VADER misses in a support chat, and what this adds:
- shop words: "late", "damaged", "refund still", "scam", "waste of money" ...;
- frustration patterns: "still not arrived", "third time I ask", "how many times", "?!?";
- shouting in capitals, and emoji (nltk's VADER ignores them);
- cheap sarcasm: a positive word beside a complaint ("great, still no parcel").
"""

from __future__ import annotations

import functools
import os
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

NEGATIVE_AT = -0.05
POSITIVE_AT = 0.05

SHOP_LEXICON = {
    "late": -1.3, "later": 0.0, "delayed": -1.4, "delay": -1.2, "damaged": -1.9, "broken": -1.9, "broke": -1.8,
    "missing": -1.3, "scam": -3.0, "scammed": -3.0, "useless": -2.2, "unacceptable": -2.6, "ridiculous": -2.0,
    "refund": 0.0, "cancel": 0.0, "return": 0.0, "waiting": -0.6, "wrong": -1.5, "faulty": -1.9, "defective": -2.0,
    "flimsy": -1.6, "cheaply": -1.2, "overpriced": -1.6, "rude": -2.0, "ignored": -1.6, "disappointing": -2.0,
    "disappointed": -2.0, "worthless": -2.4, "refunded": 0.6, "sorted": 1.2, "resolved": 1.4, "fast": 1.0,
    "quick": 0.9, "quickly": 0.8, "helpful": 1.8, "works": 0.9, "recommend": 1.5, "unusable": -2.2,
    "junk": -2.0, "garbage": -2.2, "crap": -2.2, "mess": -1.5, "nightmare": -2.4, "fed": 0.0,
    # Products that fail, and service that drags, in customers' words.
    "slow": -1.0, "slowly": -0.8, "waited": -0.9, "died": -1.5, "dies": -1.5, "breaks": -1.7, "cracked": -1.6,
    "leaks": -1.5, "leaking": -1.5, "stuck": -1.0, "fails": -1.7, "unreliable": -1.8, "uncomfortable": -1.5,
    "noisy": -1.0, "returned": -0.7, "returning": -0.7, "mediocre": -1.3, "sturdy": 1.4, "reliable": 1.5,
    "comfortable": 1.5, "fits": 0.7, "arrived": 0.0,
    "bland": -1.2, "cheap": -0.6, "trash": -2.0, "sucked": -1.8,
    # Chat confirmations and interjections are not feelings ("yes", "ok", "wow, what a mess").
    "yes": 0.0, "yeah": 0.0, "yep": 0.0, "ok": 0.0, "okay": 0.0, "wow": 0.0, "sure": 0.0,
    # Request words that are not feelings in a support chat ("I want to ...", "can you help me ...").
    "want": 0.0, "help": 0.0, "helps": 0.0, "assistance": 0.0, "please": 0.0, "free": 0.0, "save": 0.0,
}
REQUEST_FRAMES = re.compile(r"\b(would|'d|i'd|we'd)\s+(really\s+)?like\b", re.I)
FRUSTRATION = [
    (re.compile(r"\bstill\s+(not|no|nothing|hasn'?t|haven'?t|isn'?t|waiting|missing)\b", re.I), -0.5),
    (re.compile(r"\b(second|2nd|third|3rd|fourth|4th|fifth|5th)\s+time\b", re.I), -0.6),
    (re.compile(r"\bhow many times\b", re.I), -0.6),
    (re.compile(r"\b(never|not|hasn'?t|didn'?t)\s+(arrived|came|come|received|shown up|turned up)\b", re.I), -0.6),
    (re.compile(r"\b(fed up|sick of|tired of|had enough)\b", re.I), -0.7),
    (re.compile(r"\bwaste of\b", re.I), -0.8),
    (re.compile(r"\bnot\s+(very\s+|really\s+|at all\s+)?(helpful|good|great|happy|satisfied|useful|impressed|"
                r"acceptable|ok|okay)\b", re.I), -0.7),
    (re.compile(r"\bnot worth\b", re.I), -0.6),
    (re.compile(r"\b(stopped|stops|quit|quits)\s+working\b", re.I), -0.7),
    (re.compile(r"\b(doesn'?t|does not|didn'?t|did not|won'?t|don'?t)\s+(work|fit|charge|turn on)\b", re.I), -0.6),
    (re.compile(r"\b(no one|nobody|no-one)\s+(answers|replies|responds|helps|called)\b", re.I), -0.6),
    (re.compile(r"\b(would|will)\s+(not|never)\s+(recommend|buy|order)\b", re.I), -0.8),
    (re.compile(r"\bdon'?t\s+(buy|order|bother)\b", re.I), -0.6),
    (re.compile(r"\bnever again\b", re.I), -0.8),
    (re.compile(r"\b(poor|bad|low|terrible)\s+(quality|service|design)\b", re.I), -0.5),
    (re.compile(r"\b(sent|send|sending) (it|them) back\b", re.I), -0.4),
    (re.compile(r"[?!]{3,}|\?!|!\?"), -0.3),
    # Star ratings as a shop's customers give them (1-5).
    (re.compile(r"\b[12]\s*(/\s*5|stars?\b|out of 5)", re.I), -0.8),
    (re.compile(r"\b5\s*(/\s*5|stars\b|out of 5)", re.I), 0.8),
]
# One pass over the text for every pattern: the name of the group that matched says which.
_FRUSTRATION_ANY = re.compile("|".join(f"(?P<p{i}>{pattern.pattern})" for i, (pattern, _) in enumerate(FRUSTRATION)),
                              re.I)
_FRUSTRATION_WEIGHT = {f"p{i}": weight for i, (_, weight) in enumerate(FRUSTRATION)}
POSITIVE_WORD = re.compile(r"\b(great|wonderful|fantastic|perfect|brilliant|awesome|thanks a lot|love)\b", re.I)
COMPLAINT_CONTEXT = re.compile(
    r"\b(still|again|another (day|week)|yet again|not|no|never|late|waiting|wait)\b", re.I)
EMOJI = {
    "😡": " angry ", "🤬": " furious ", "😠": " angry ", "😤": " frustrated ", "🙄": " annoyed ", "😢": " sad ",
    "😭": " sad ", "😞": " disappointed ", "👎": " bad ", "💩": " awful ", "👍": " good ", "🙂": " happy ",
    "😊": " happy ", "😀": " happy ", "😃": " happy ", "😍": " love ", "❤️": " love ", "❤": " love ", "🙏": " thanks ",
    "🥰": " love ", "😂": " funny ", ":)": " happy ", ":-)": " happy ", ":(": " sad ", ":-(": " sad ",
}


@dataclass(frozen=True)
class Sentiment:
    label: str  # negative | neutral | positive
    score: float  # -1 .. 1


def nltk_data_dir() -> Path:
    """The nltk data folder holding VADER's lexicon (built from vaderSentiment on first use)."""
    base = Path(os.environ.get("CAREDESK_VAR_DIR") or Path(__file__).resolve().parents[2] / "var")
    folder = base / "nltk_data"
    archive = folder / "sentiment" / "vader_lexicon.zip"
    if not archive.exists():
        import vaderSentiment

        source = Path(vaderSentiment.__file__).with_name("vader_lexicon.txt")
        archive.parent.mkdir(parents=True, exist_ok=True)
        partial = archive.with_suffix(".tmp")
        with zipfile.ZipFile(partial, "w") as zipped:
            zipped.write(source, "vader_lexicon/vader_lexicon.txt")
        partial.replace(archive)
    return folder


@functools.lru_cache(maxsize=1)
def _plain_vader():
    import nltk
    from nltk.sentiment.vader import SentimentIntensityAnalyzer

    folder = str(nltk_data_dir())
    if folder not in nltk.data.path:
        nltk.data.path.insert(0, folder)
    return SentimentIntensityAnalyzer()


@functools.lru_cache(maxsize=1)
def _shop_vader():
    from nltk.sentiment.vader import SentimentIntensityAnalyzer

    _plain_vader()  # makes sure the data folder is on nltk's path
    analyzer = SentimentIntensityAnalyzer()
    analyzer.lexicon.update(SHOP_LEXICON)
    return analyzer


def label_for(score: float) -> str:
    if score <= NEGATIVE_AT:
        return "negative"
    if score >= POSITIVE_AT:
        return "positive"
    return "neutral"


def plain_vader(text: str) -> Sentiment:
    """VADER as nltk ships it, for comparison."""
    score = _plain_vader().polarity_scores(text or "")["compound"]
    return Sentiment(label_for(score), round(score, 4))


def _shouting(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    return len(letters) >= 8 and sum(c.isupper() for c in letters) / len(letters) > 0.7


def score(text: str) -> Sentiment:
    """Sentiment of one message, tuned for shop conversations."""
    text = (text or "")[:2000]
    text = REQUEST_FRAMES.sub("want", text)
    if ":" in text or any(ord(ch) > 0x2000 for ch in text):
        for symbol, word in EMOJI.items():
            if symbol in text:
                text = text.replace(symbol, word)
    compound = _shop_vader().polarity_scores(text)["compound"]
    matched = {m.lastgroup for m in _FRUSTRATION_ANY.finditer(text)}
    frustration = sum(_FRUSTRATION_WEIGHT[name] for name in matched)
    if frustration and POSITIVE_WORD.search(text) and COMPLAINT_CONTEXT.search(text):
        compound = min(compound, 0.0) - 0.3  # "great, still no parcel": the praise is sarcastic
    compound += frustration
    if _shouting(text) and compound < 0.3:
        compound -= 0.3
    compound = max(-1.0, min(1.0, compound))
    return Sentiment(label_for(compound), round(compound, 4))
