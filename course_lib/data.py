"""The course's small hand-made data: the park sentence and the library catalogue.

The embeddings are made by hand, so that every dimension means something a reader can
name (``FEATURES``); real models learn theirs (notebook 12). Functions return fresh
arrays of the selected backend, so changing one never changes the data.
Introduced in notebook 00 (sentence) and notebook 08 (catalogue).
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any, Iterable

from . import backend

__all__ = [
    "SENTENCE",
    "TOKENS",
    "BLANK",
    "CANDIDATES",
    "SPORTS",
    "FEATURES",
    "VOCABULARY",
    "embed",
    "sentence_embeddings",
    "park_projections",
    "TOPICS",
    "CONTENTS",
    "BOOKS",
    "catalogue",
    "topic_query",
]

# ---------------------------------------------------------------- the park sentence

SENTENCE = "I like to go to the park and play ___."
TOKENS = ("I", "like", "to", "go", "to", "the", "park", "and", "play")
BLANK = "___"
CANDIDATES = ("cricket", "football", "basketball", "book", "house", "sleep")
SPORTS = ("cricket", "football", "basketball")

# What each embedding dimension means (d_model = 8).
FEATURES = ("sport", "outdoors", "action", "object", "home", "rest", "person", "grammar")

_ROWS = {
    #             sport outdoors action object home  rest  person grammar
    "I":          (0.0,  0.0,     0.0,   0.0,   0.0,  0.0,  1.0,   0.3),
    "like":       (0.1,  0.0,     0.4,   0.0,   0.0,  0.1,  0.2,   0.2),
    "to":         (0.0,  0.0,     0.0,   0.0,   0.0,  0.0,  0.0,   1.0),
    "go":         (0.1,  0.4,     0.8,   0.0,   0.0,  0.0,  0.0,   0.2),
    "the":        (0.0,  0.0,     0.0,   0.0,   0.0,  0.0,  0.0,   1.0),
    "park":       (0.5,  1.0,     0.1,   0.6,   0.0,  0.2,  0.0,   0.0),
    "and":        (0.0,  0.0,     0.0,   0.0,   0.0,  0.0,  0.0,   1.0),
    "play":       (0.8,  0.3,     1.0,   0.0,   0.0,  0.0,  0.0,   0.0),
    "cricket":    (1.0,  0.9,     0.4,   0.2,   0.0,  0.0,  0.0,   0.0),
    "football":   (1.0,  0.8,     0.5,   0.3,   0.0,  0.0,  0.0,   0.0),
    "basketball": (1.0,  0.4,     0.5,   0.3,   0.3,  0.0,  0.0,   0.0),
    "book":       (0.0,  0.0,     0.1,   1.0,   0.6,  0.6,  0.0,   0.0),
    "house":      (0.0,  0.1,     0.0,   1.0,   1.0,  0.2,  0.0,   0.0),
    "sleep":      (0.0,  0.0,     0.2,   0.0,   0.7,  1.0,  0.0,   0.0),
}
# word -> its embedding as a tuple (read-only): one row per word, one column per FEATURE
VOCABULARY = MappingProxyType(_ROWS)


def embed(words: Iterable[str]) -> Any:
    """Look up the embeddings of ``words``: an array (len(words), d_model) of the selected backend.

    Raises KeyError naming any word that is not in ``VOCABULARY``.
    Introduced in notebook 00.
    """
    words = list(words)
    unknown = [w for w in words if w not in VOCABULARY]
    if unknown:
        raise KeyError(f"not in the course vocabulary: {unknown}; known words: {sorted(VOCABULARY)}")
    return backend.asarray([VOCABULARY[w] for w in words], dtype=backend.xp.float64)  # (T, d_model)


def sentence_embeddings() -> Any:
    """The embeddings x of the park sentence's tokens ``TOKENS``: an array (T=9, d_model=8)."""
    return embed(TOKENS)


def park_projections(ask_where: bool = False) -> tuple[Any, Any, Any]:
    """Hand-made projections (w_q, w_k, w_v), each (d_model, d_model), for the park sentence.

    w_q and w_k compare the content features (sport, outdoors, action, object, home, rest)
    and ignore "person" and "grammar", so function words like "to" and "the" score low;
    w_v passes the content features through and drops "person" and "grammar".
    w_q = 4 w_k, so the scores q_i · k_j = 4 x_i w_k w_kᵀ x_jᵀ are symmetric.
    With ``ask_where=True``, w_q also turns a token's `action` into a question for
    `outdoors` (an action asks "where?"): a query asks for a feature its token may lack,
    and the scores are no longer symmetric (notebook 03).
    Learning such matrices instead of writing them is the subject of a later notebook.
    """
    xp = backend.xp
    content = xp.asarray([1.0, 1.0, 0.5, 0.5, 1.0, 1.0, 0.0, 0.0])
    w_q = 4.0 * xp.diag(content)  # a query asks for the content it already has, strongly
    if ask_where:
        asks = xp.zeros((len(FEATURES), len(FEATURES)))
        asks[FEATURES.index("action"), FEATURES.index("outdoors")] = 2.0  # (d_model, d_model): one entry
        w_q = w_q + asks
    w_k = xp.diag(content)  # a key labels a token by its content
    w_v = xp.diag(xp.asarray([1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0]))  # a value carries the content
    return w_q, w_k, w_v


# ---------------------------------------------------------------- the library catalogue

# Keys live in topic space: how much each book is about each topic.
TOPICS = ("machine learning", "statistics", "programming", "cooking", "history", "music")
# Values live in content space: what you get from the book (d_v = 5, not d_k = 6).
CONTENTS = ("equations", "code", "recipes", "stories", "pictures")

_BOOKS = (
    # title,                          keys over TOPICS,              values over CONTENTS
    ("Neural Networks by Hand",       (1.0, 0.3, 0.5, 0.0, 0.0, 0.0), (0.9, 0.6, 0.0, 0.1, 0.5)),
    ("Statistics for Everyone",       (0.3, 1.0, 0.1, 0.0, 0.0, 0.0), (1.0, 0.2, 0.0, 0.2, 0.4)),
    ("Learning Python",               (0.2, 0.0, 1.0, 0.0, 0.0, 0.0), (0.1, 1.0, 0.0, 0.1, 0.1)),
    ("Practical Machine Learning",    (0.9, 0.4, 0.8, 0.0, 0.0, 0.0), (0.5, 0.9, 0.0, 0.2, 0.3)),
    ("The Bread Book",                (0.0, 0.0, 0.0, 1.0, 0.1, 0.0), (0.0, 0.0, 1.0, 0.3, 0.8)),
    ("Cooking as Chemistry",          (0.0, 0.2, 0.0, 0.9, 0.0, 0.0), (0.4, 0.0, 0.8, 0.2, 0.5)),
    ("A Short History of Rome",       (0.0, 0.0, 0.0, 0.1, 1.0, 0.0), (0.0, 0.0, 0.1, 1.0, 0.4)),
    ("How Computers Learned",         (0.6, 0.1, 0.3, 0.0, 0.8, 0.0), (0.1, 0.1, 0.0, 0.9, 0.3)),
    ("Music Theory Basics",           (0.0, 0.1, 0.0, 0.0, 0.2, 1.0), (0.3, 0.0, 0.0, 0.3, 0.6)),
    ("Songs that Changed History",    (0.0, 0.0, 0.0, 0.0, 0.7, 0.9), (0.0, 0.0, 0.0, 1.0, 0.5)),
)
BOOKS = tuple(title for title, _, _ in _BOOKS)


def catalogue() -> tuple[tuple[str, ...], Any, Any]:
    """The library's card catalogue: ``(titles, keys, values)``.

    keys (n_books=10, d_k=len(TOPICS)=6): how much each book is about each topic;
    values (n_books=10, d_v=len(CONTENTS)=5): what each book contains.
    Introduced in notebook 08.
    """
    keys = backend.asarray([k for _, k, _ in _BOOKS], dtype=backend.xp.float64)  # (n_books, d_k)
    values = backend.asarray([v for _, _, v in _BOOKS], dtype=backend.xp.float64)  # (n_books, d_v)
    return BOOKS, keys, values


def topic_query(*topics: str) -> Any:
    """A query vector (d_k,) asking for ``topics`` (each a name in ``TOPICS``), e.g. topic_query("machine learning").

    Raises KeyError naming an unknown topic.
    """
    unknown = [t for t in topics if t not in TOPICS]
    if unknown:
        raise KeyError(f"unknown topic(s) {unknown}; the topics are {list(TOPICS)}")
    return backend.asarray([1.0 if t in topics else 0.0 for t in TOPICS], dtype=backend.xp.float64)
