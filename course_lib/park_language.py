"""The park language, grown up: short stories whose next word depends on words far back.

Every story is two sentences from a small grammar::

    mia who lives near us goes to the old park after school . at the park mia plays football .
    the kids who we know go to the rink . they like it there because they can play hockey .

and three things reach back across it:

* the place chosen in the first sentence decides the sport after "play" / "plays" (``PLACES``:
  park → football, rink → hockey, …), six to thirteen words after the place's first mention; about
  half the stories name the place again just before "play" ("at the rink sam plays hockey");
* the subject comes back: as a pronoun (mia → she, sam → he, the kids → they) or named again;
* the verb agrees with the subject across a relative clause ("mia who we know goes", "the kids
  who we know go").

A bigram model (the next word from the word before it alone) cannot see any of these: after
"play" it can only guess the most common sport. Stories start with ``BOS`` and are padded
with ``PAD`` after their last full stop, so every story starts at position 0. The held-out
split is stories that do not appear in the training split. Everything is generated from a
seed; nothing is downloaded. Taught in notebook 14.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy

from . import backend
from .blank_sentences import PLACES

__all__ = [
    "BOS",
    "PAD",
    "PLACES",
    "NAMES",
    "VOCABULARY",
    "CONTEXT",
    "Stories",
    "ParkLanguage",
    "make_dataset",
    "story",
    "encode",
    "decode",
    "bigram_log_probs",
]

BOS, PAD = "<s>", "<pad>"
NAMES = {"sam": "he", "leo": "he", "tom": "he", "ben": "he", "mia": "she", "ana": "she", "eva": "she", "zoe": "she"}
PLURAL = ("the kids", "my friends")  # subjects that take "they" and the plural verb
RELATIVE = ("we know", "i like", "{lives} near us")  # the clause between the subject and its verb
ADJECTIVES = ("", "", "old", "new", "big")
TIMES = ("", "", "today", "every day", "after school", "in the morning")
ENDINGS = (  # the second sentence: where the subject comes back and the sport is played
    "{pronoun} {likes} it there because {pronoun} can play {sport} .",
    "at the {place} {subject} {plays} {sport} .",
    "at the {place} {subject} {plays} {sport} with {friend} .",
    "there {pronoun} can play {sport} .",
)


def _verb(singular: bool, verb: str) -> str:
    return {"go": "goes", "like": "likes", "play": "plays", "live": "lives"}[verb] if singular else verb


def story(rng: numpy.random.Generator) -> str:
    """One story of the grammar, drawn with ``rng``: words and full stops separated by spaces."""
    if rng.random() < 0.75:
        subject = str(rng.choice(list(NAMES)))
        singular, pronoun = True, NAMES[subject]
    else:
        subject = str(rng.choice(PLURAL))
        singular, pronoun = False, "they"
    place = str(rng.choice(list(PLACES)))
    relative = f" who {RELATIVE[rng.integers(len(RELATIVE))]}" if rng.random() < 0.5 else ""
    adjective = ADJECTIVES[rng.integers(len(ADJECTIVES))]
    time = TIMES[rng.integers(len(TIMES))]
    first = f"{subject}{relative} {_verb(singular, 'go')} to the {adjective} {place} {time} ."
    fill = {"pronoun": pronoun, "subject": subject, "place": place, "sport": PLACES[place],
            "friend": str(rng.choice([n for n in NAMES if n != subject])),
            "lives": _verb(singular, "live"), "likes": _verb(singular, "like"), "plays": _verb(singular, "play")}
    second = ENDINGS[rng.integers(len(ENDINGS))]
    return " ".join(f"{first} {second}".format(**fill).split())


def _collect_vocabulary() -> tuple[str, ...]:
    words = set(NAMES) | set(NAMES.values()) | {"they"} | set(PLACES) | set(PLACES.values())
    texts = (*PLURAL, *RELATIVE, *ADJECTIVES, *TIMES, *ENDINGS, "who to the .")
    words |= {w for text in texts for w in text.split() if not w.startswith("{")}
    words |= {_verb(s, v) for s in (True, False) for v in ("go", "like", "play", "live")}
    return (PAD, BOS, *sorted(words))


VOCABULARY = _collect_vocabulary()  # token id -> word; id 0 is the padding, id 1 the start of a story
_ID = {word: i for i, word in enumerate(VOCABULARY)}
CONTEXT = 26  # positions the model reads: the start and the longest story (25 words) fit exactly


@dataclass(frozen=True)
class Stories:
    """One split: N stories as next-word prediction, padded to ``CONTEXT`` positions.

    tokens (N, CONTEXT) int: ``BOS``, the story, then ``PAD``; targets (N, CONTEXT) int: the next
    token at every position (tokens shifted by one); real (N, CONTEXT) bool: the target is a word
    of the story (not padding); sport (N, CONTEXT) bool: the target is the sport after "play" or
    "plays", the long-range positions; texts: the stories.
    """

    tokens: Any
    targets: Any
    real: Any
    sport: Any
    texts: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.texts)


@dataclass(frozen=True)
class ParkLanguage:
    """The data set: the vocabulary, a training split and a held-out split of other stories."""

    vocabulary: tuple[str, ...]
    train: Stories
    heldout: Stories


def encode(texts: str | Sequence[str], length: int = CONTEXT + 1) -> Any:
    """Stories as token ids: ``BOS``, the words, then ``PAD`` up to ``length``: (N, length) int.

    Raises KeyError naming words not in ``VOCABULARY``, ValueError for a story longer than
    ``length`` - 1 words. Used in notebook 14.
    """
    texts = [texts] if isinstance(texts, str) else list(texts)
    rows = [[BOS, *text.split()] for text in texts]
    unknown = sorted({w for row in rows for w in row if w not in _ID})
    if unknown:
        raise KeyError(f"not in the park language's vocabulary: {unknown}")
    too_long = [text for text, row in zip(texts, rows) if len(row) > length]
    if too_long:
        raise ValueError(f"a story may have at most {length - 1} words here, but {too_long[0]!r} has more")
    ids = numpy.zeros((len(rows), length), dtype=numpy.int64)  # PAD = 0 everywhere
    for i, row in enumerate(rows):
        ids[i, : len(row)] = [_ID[w] for w in row]
    return backend.asarray(ids)


def decode(ids: Any) -> str:
    """Token ids (one sequence) back to words, without the start and the padding. Used in notebook 14."""
    words = [VOCABULARY[int(i)] for i in backend.to_numpy(ids).reshape(-1)]
    return " ".join(w for w in words if w not in (BOS, PAD))


def _split(texts: Sequence[str]) -> Stories:
    ids = backend.to_numpy(encode(texts))  # (N, CONTEXT + 1)
    tokens, targets = ids[:, :-1], ids[:, 1:]  # (N, CONTEXT) each: predict the next token
    real = targets != _ID[PAD]
    sport = numpy.isin(tokens, [_ID["play"], _ID["plays"]])  # the target after "play" is the sport
    xp = backend.xp
    return Stories(*(backend.asarray(a) for a in (tokens, targets)), xp.asarray(real), xp.asarray(sport), tuple(texts))


def make_dataset(seed: int = 0, n_train: int = 2000, n_heldout: int = 500) -> ParkLanguage:
    """Generate ``n_train`` training stories and ``n_heldout`` held-out stories, none of them in training.

    The same seed gives the same stories; arrays are on the selected backend. Raises ValueError
    for a negative size. Used in notebook 14.
    """
    for arg, n in (("n_train", n_train), ("n_heldout", n_heldout)):
        if isinstance(n, bool) or not isinstance(n, (int, numpy.integer)) or n < 0:
            raise ValueError(f"{arg} must be a whole number >= 0 of stories, but {arg}={n!r}")
    rng = numpy.random.default_rng(seed)
    train = [story(rng) for _ in range(n_train)]
    seen, heldout = set(train), []
    while len(heldout) < n_heldout:
        text = story(rng)
        if text not in seen:
            heldout.append(text)
    return ParkLanguage(VOCABULARY, _split(train), _split(heldout))


def bigram_log_probs(tokens: Any, targets: Any, vocab_size: int, smoothing: float = 0.1) -> Any:
    """The bigram baseline: log P(next | this word), counted in (tokens, targets) with ``smoothing`` added.

    Shapes: tokens and targets (N, T) int -> (vocab_size, vocab_size): row a is the distribution of
    the word after a. Used in notebook 14.
    """
    counts = numpy.full((vocab_size, vocab_size), float(smoothing))
    numpy.add.at(counts, (backend.to_numpy(tokens).ravel(), backend.to_numpy(targets).ravel()), 1.0)
    return backend.asarray(numpy.log(counts / counts.sum(axis=1, keepdims=True)))
