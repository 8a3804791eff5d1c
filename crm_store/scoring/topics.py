"""Complaint topics: the customers' negative messages grouped by what they complain about.

How the messages are grouped:

1. **Words**: spaCy's blank English pipeline with the lookup lemmatizer (tables from
   spacy-lookups-data, installed, no model download) turns each message into lemmas. Content
   lemmas are alphabetic tokens that are not stop words. A message's terms are its content lemmas
   and every **two adjacent content lemmas** ("refund receive", "arrive damage"): no tagger or
   parser is available offline, so adjacent pairs stand in for noun phrases. Order references and
   other codes (words with a digit, ``CD-7KQ2XM``) are removed first, and terms used in only one
   message are dropped (once there are 50 messages or more): they name no common complaint.
2. **Vectors**: TF-IDF over those terms, document frequencies counted in messages (rows
   L2-normalised, so k-means on them groups by cosine similarity).
3. **Clusters**: k-means for every k from 2 to ``max_topics`` (fixed seed, explicit ``n_init``); the
   k with the **highest mean silhouette** (cosine distance, on up to :data:`SILHOUETTE_SAMPLE`
   messages) wins, ties to the smaller k. Fewer than :data:`MIN_TO_CLUSTER` messages, or fewer
   than two different ones, make one topic.
4. **Description**: a topic's characteristic terms are the highest weights of its centroid; its
   examples are the distinct messages nearest the centroid; its counts are per ISO week.

Speed: messages are lemmatised once per distinct text (complaints repeat), k-means is fitted on
the distinct term lists weighted by how many messages each stands for (at most :data:`FIT_CAP` of
them, drawn with a fixed seed) and every message then gets its term list's topic. 20,000 messages
take 1-5 s after spaCy's first load (5 s when every message is worded differently).
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

from crm_store.scoring.episodes import NegativeMessage

MIN_TO_CLUSTER = 4
FIT_CAP = 3_000  # distinct texts k-means is fitted on; the rest are assigned to the nearest centroid
SILHOUETTE_SAMPLE = 2_000
N_INIT = 10  # k-means restarts: 4 left a mixed-up largest topic on the seeded history
SEED = 0
TOP_TERMS = 6
EXAMPLES = 3
UNCLUSTERED = "(no words to group by)"
# Order references (CD-7KQ2XM), amounts, dates, redaction placeholders' digits: codes, not complaints.
# Replaced by a separator so the words on either side do not become a pair.
_CODE = re.compile(r"\S*\d\S*|\b[A-Z]{2,}-[A-Z0-9]{3,}\b")


@dataclass(frozen=True)
class TopicExample:
    conversation_id: str
    number: int
    at: datetime
    text: str

    def as_dict(self) -> dict[str, Any]:
        return {"conversation_id": self.conversation_id, "number": self.number, "at": self.at.isoformat(),
                "text": self.text}


@dataclass(frozen=True)
class Topic:
    """One complaint topic. ``members`` are indices into the messages given to :func:`topics`."""

    id: int  # 0 = the largest
    label: str
    terms: tuple[str, ...]
    size: int
    share: float
    weekly: tuple[tuple[str, int], ...]  # ISO week ("2026-W05") -> messages, oldest first
    intents: tuple[tuple[str, int], ...]  # the messages' intents, most frequent first
    examples: tuple[TopicExample, ...]
    members: tuple[int, ...]

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "label": self.label, "terms": list(self.terms), "size": self.size,
                "share": self.share, "weekly": dict(self.weekly), "intents": dict(self.intents),
                "examples": [example.as_dict() for example in self.examples], "members": list(self.members)}


@functools.lru_cache(maxsize=1)
def _nlp() -> Any:
    """The blank English pipeline with the lookup lemmatizer, built on first use (spaCy loads slowly)."""
    import spacy

    nlp = spacy.blank("en")
    nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
    nlp.initialize()
    return nlp


def without_codes(text: str) -> str:
    return _CODE.sub(" | ", text)


def terms_of(texts: Sequence[str]) -> list[list[str]]:
    """Each text's content lemmas and adjacent content-lemma pairs, lower-cased (codes left out)."""
    nlp = _nlp()
    stop_words = nlp.Defaults.stop_words
    found = []
    for doc in nlp.pipe([without_codes(text) for text in texts], batch_size=1_000):
        lemmas: list[str | None] = []
        for token in doc:
            lemma = token.lemma_.lower()
            content = token.is_alpha and len(lemma) > 1 and not token.is_stop and lemma not in stop_words
            lemmas.append(lemma if content else None)
        words = [lemma for lemma in lemmas if lemma]
        pairs = [f"{first} {second}" for first, second in zip(lemmas, lemmas[1:], strict=False) if first and second]
        found.append(words + pairs)
    return found


def _identity(terms: Sequence[str]) -> Sequence[str]:
    return terms


@dataclass(frozen=True)
class _Documents:
    """The messages as distinct term lists: what the vectors are built from.

    Messages with the same terms ("Order A-1 is late" and "Order B-2 is late") are one document
    weighted by how many messages it stands for, so TF-IDF and k-means see every message while
    the work grows with the number of different complaints, not of messages.
    """

    terms: list[tuple[str, ...]]
    weights: np.ndarray  # messages per document
    of_message: np.ndarray  # each message's document, -1 if it has no terms
    first_message: np.ndarray  # each document's first message


def _documents(messages: Sequence[NegativeMessage]) -> _Documents:
    cleaned = [without_codes(message.text) for message in messages]  # "Order A-1 is late" = "Order B-2 is late"
    texts = list(dict.fromkeys(cleaned))
    index_of = {text: i for i, text in enumerate(texts)}
    text_of_message = [index_of[text] for text in cleaned]
    term_lists = terms_of(texts)
    common = _common_terms([term_lists[i] for i in text_of_message], min_messages=2 if len(messages) >= 50 else 1)
    doc_of_terms: dict[tuple[str, ...], int] = {}
    of_text = []
    for found in term_lists:
        kept = tuple(term for term in found if term in common)
        of_text.append(doc_of_terms.setdefault(kept, len(doc_of_terms)) if kept else -1)
    of_message = np.array([of_text[i] for i in text_of_message], dtype=int)
    worded = of_message >= 0
    weights = np.bincount(of_message[worded], minlength=len(doc_of_terms)).astype(float)
    first = np.full(len(doc_of_terms), -1)
    for i in np.flatnonzero(worded)[::-1]:
        first[of_message[i]] = i
    return _Documents(list(doc_of_terms), weights, of_message, first)


def _common_terms(term_lists: Sequence[Sequence[str]], min_messages: int) -> set[str]:
    """Terms used in at least ``min_messages`` messages: one-off words and typos only add noise."""
    seen = Counter(term for found in term_lists for term in set(found))
    return {term for term, n in seen.items() if n >= min_messages}


def _tfidf(documents: _Documents) -> tuple[Any, np.ndarray]:
    """Sublinear TF times smoothed IDF (document frequency counted in messages), rows L2-normalised."""
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.preprocessing import normalize

    vectorizer = CountVectorizer(analyzer=_identity)
    counts = vectorizer.fit_transform(documents.terms).tocsr().astype(float)
    used_in = np.asarray((counts > 0).T @ documents.weights).ravel()
    idf = np.log((1 + documents.weights.sum()) / (1 + used_in)) + 1
    counts.data = 1 + np.log(counts.data)
    return normalize(counts.multiply(idf).tocsr()), vectorizer.get_feature_names_out()


def _choose_k(vectors: Any, weights: np.ndarray, max_topics: int) -> Any:
    """The fitted k-means with the best silhouette over k = 2..max_topics; None if no k splits the sample."""
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score

    sample = _sample_messages(weights)
    best, best_score = None, -2.0
    for k in range(2, min(max_topics, vectors.shape[0]) + 1):
        model = KMeans(n_clusters=k, n_init=N_INIT, random_state=SEED).fit(vectors, sample_weight=weights)
        labels = model.labels_[sample]
        if not 2 <= len(set(labels.tolist())) < len(sample):
            continue
        score = silhouette_score(vectors[sample], labels, metric="cosine")
        if score > best_score + 1e-9:
            best, best_score = model, score
    return best


def _sample_messages(weights: np.ndarray) -> np.ndarray:
    """Documents of up to SILHOUETTE_SAMPLE messages drawn with a fixed seed (a document once per message)."""
    rows = np.repeat(np.arange(len(weights)), weights.astype(int))
    if len(rows) <= SILHOUETTE_SAMPLE:
        return rows
    return np.random.default_rng(SEED).choice(rows, SILHOUETTE_SAMPLE, replace=False)


def _iso_week(at: datetime) -> str:
    year, week, _ = at.isocalendar()
    return f"{year}-W{week:02d}"


def _topic(number: int, members: list[int], messages: Sequence[NegativeMessage], terms: tuple[str, ...],
           examples: list[int]) -> Topic:
    weekly = Counter(_iso_week(messages[i].at) for i in members)
    intents = Counter(str(messages[i].intent) for i in members if messages[i].intent)
    return Topic(id=number, label=" / ".join(terms[:3]) if terms else UNCLUSTERED, terms=terms, size=len(members),
                 share=round(len(members) / len(messages), 4), weekly=tuple(sorted(weekly.items())),
                 intents=tuple(intents.most_common()),
                 examples=tuple(TopicExample(messages[i].conversation_id, messages[i].number, messages[i].at,
                                             messages[i].text) for i in examples),
                 members=tuple(members))


def topics(messages: Sequence[NegativeMessage], *, max_topics: int = 8) -> list[Topic]:
    """The complaint topics of ``messages``, largest first (see the module's docstring for how)."""
    if not messages:
        return []
    documents = _documents(messages)
    if len(messages) < MIN_TO_CLUSTER or len(documents.terms) < 2 or max_topics < 2:
        return [_single_topic(messages, documents)]
    vectors, vocabulary = _tfidf(documents)
    fit_rows = np.arange(len(documents.terms))
    if len(fit_rows) > FIT_CAP:
        fit_rows = np.sort(np.random.default_rng(SEED).choice(fit_rows, FIT_CAP, replace=False))
    model = _choose_k(vectors[fit_rows], documents.weights[fit_rows], max_topics)
    if model is None:
        return [_single_topic(messages, documents)]
    return _describe(messages, documents, vectors, vocabulary, model)


def _single_topic(messages: Sequence[NegativeMessage], documents: _Documents) -> Topic:
    weighted: Counter[str] = Counter()
    for found, n in zip(documents.terms, documents.weights.tolist(), strict=True):
        for term in found:
            weighted[term] += int(n)
    terms = tuple(term for term, _ in weighted.most_common(TOP_TERMS))
    examples = documents.first_message[np.argsort(-documents.weights, kind="stable")[:EXAMPLES]].tolist()
    if not examples:
        examples = list(range(min(EXAMPLES, len(messages))))
    return _topic(0, list(range(len(messages))), messages, terms, examples)


def _describe(messages: Sequence[NegativeMessage], documents: _Documents, vectors: Any, vocabulary: np.ndarray,
              model: Any) -> list[Topic]:
    document_topic = model.predict(vectors)
    message_topic = np.where(documents.of_message >= 0, document_topic[documents.of_message], -1)
    found = []
    for cluster in range(model.n_clusters):
        members = np.flatnonzero(message_topic == cluster).tolist()
        if not members:
            continue
        centroid = model.cluster_centers_[cluster]
        terms = tuple(str(vocabulary[i]) for i in np.argsort(-centroid)[:TOP_TERMS] if centroid[i] > 0)
        own = np.flatnonzero(document_topic == cluster)
        closeness = np.asarray(vectors[own] @ centroid).ravel()
        nearest = own[np.argsort(-closeness, kind="stable")[:EXAMPLES]]
        found.append((members, terms, documents.first_message[nearest].tolist()))
    found.sort(key=lambda item: -len(item[0]))
    result = [_topic(number, members, messages, terms, examples)
              for number, (members, terms, examples) in enumerate(found)]
    wordless = np.flatnonzero(message_topic == -1).tolist()
    if wordless:
        examples = list({messages[i].text: i for i in reversed(wordless)}.values())[::-1][:EXAMPLES]
        result.append(_topic(len(result), wordless, messages, (), examples))
    return result
