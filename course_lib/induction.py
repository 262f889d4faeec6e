"""Repeated random sequences, the standard test for induction heads, and the measurements that find one.

Each sequence is random tokens in which one random segment appears a second time later::

    37 5 [12 40 8 61 3] 22 9 50 [12 40 8 61 3] 17 …       segment of length 5, copied 8 tokens on

Its length and both of its places change from sequence to sequence, so no fixed distance
back gives the answer. On the first copy the next token is random (the loss is about
ln vocab_size); on the second copy it can be read off the first: find the earlier
occurrence of the current token and predict the token that followed it. That is what an
induction head does (Olsson et al., 2022, "In-context learning and induction heads"), with
the help of a previous-token head in an earlier layer.

For every head this module measures the weight a query puts on

* the **previous token** (position p − 1), over every position p ≥ 1;
* the **induction target**, the token after the earlier occurrence of the current token
  (position p − offset + 1 on the second copy, offset = second − first);

and what zeroing a head (its W_o, so it writes nothing into the residual stream) does to the
loss on the second copy. Taught in notebook 14.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping

import numpy

from . import backend
from .backend import namespace
from .gpt import config, forward

__all__ = [
    "VOCAB_SIZE",
    "CONTEXT",
    "RepeatedSequences",
    "make_batch",
    "batches",
    "copy_masks",
    "induction_keys",
    "token_losses",
    "copy_losses",
    "head_scores",
    "ablate",
]

VOCAB_SIZE = 64  # large enough that a token rarely repeats by chance in a sequence
CONTEXT = 16  # positions per sequence
MIN_LENGTH, MAX_LENGTH = 4, 8  # the segment's length is drawn from MIN_LENGTH..MAX_LENGTH: up to half the sequence


@dataclass(frozen=True)
class RepeatedSequences:
    """N sequences as next-token prediction: tokens and targets (N, T) int (targets = tokens shifted by one);
    first, second (N,) int: where the two copies of the segment start; length (N,) int: its length."""

    tokens: Any
    targets: Any
    first: Any
    second: Any
    length: Any

    def __len__(self) -> int:
        return int(self.tokens.shape[0])


def make_batch(
    n: int, rng: numpy.random.Generator | int = 0, *, vocab_size: int = VOCAB_SIZE, context: int = CONTEXT,
    min_length: int = MIN_LENGTH, max_length: int = MAX_LENGTH,
) -> RepeatedSequences:
    """``n`` random sequences of ``context`` positions, each with a segment of random length repeated.

    The segment's length is uniform in min_length..max_length, its first copy starts anywhere that
    leaves room for the second, and the second starts anywhere after the first has ended. ``rng``: a
    NumPy Generator or a seed. Arrays on the selected backend. Raises ValueError where two copies of
    max_length tokens cannot fit in context + 1 tokens. Used in notebook 14.
    """
    if not 1 <= min_length <= max_length or 2 * max_length > context + 1:
        raise ValueError(
            f"need 1 <= min_length <= max_length and two copies of max_length in context + 1 tokens, but "
            f"min_length={min_length}, max_length={max_length}, context={context}"
        )
    rng = numpy.random.default_rng(rng)
    seq = rng.integers(0, vocab_size, size=(n, context + 1))  # (N, T + 1)
    length = rng.integers(min_length, max_length + 1, size=n)  # (N,)
    first = (rng.random(n) * (context + 2 - 2 * length)).astype(numpy.int64)  # 0 .. T + 1 − 2·length
    second = first + length + (rng.random(n) * (context + 2 - length - first - length)).astype(numpy.int64)
    for i in range(n):
        seq[i, second[i] : second[i] + length[i]] = seq[i, first[i] : first[i] + length[i]]
    arrays = (seq[:, :-1], seq[:, 1:], first, second, length)
    return RepeatedSequences(*(backend.asarray(a) for a in arrays))


def batches(n: int, seed: int = 0, **options: Any):
    """Fresh batches of ``n`` sequences, forever, as (tokens, targets) for ``gpt.train``. Used in notebook 14."""
    rng = numpy.random.default_rng(seed)
    while True:
        data = make_batch(n, rng, **options)
        yield data.tokens, data.targets


def copy_masks(data: RepeatedSequences) -> tuple[Any, Any]:
    """Where the copy decides: ``(first, second)``, (N, T) bool each.

    ``second``: positions p on the second copy whose next token is on it too (p = second ..
    second + length − 2): an induction head can predict those. ``first``: the same positions
    on the first copy, where the next token is random. Used in notebook 14.
    """
    xp = namespace(data.tokens)
    p = xp.arange(data.tokens.shape[1])[None, :]  # (1, T)

    def on(start: Any) -> Any:
        return (p >= start[:, None]) & (p <= (start + data.length - 2)[:, None])  # (N, T)

    return on(data.first), on(data.second)


def induction_keys(data: RepeatedSequences) -> Any:
    """The induction target of every query: (N, T) int, the position after the earlier occurrence of the
    current token (p − offset + 1) on the second copy, −1 elsewhere. Used in notebook 14."""
    xp = namespace(data.tokens)
    _, second = copy_masks(data)
    p = xp.arange(data.tokens.shape[1])[None, :]  # (1, T)
    key = p - (data.second - data.first)[:, None] + 1  # (N, T)
    return xp.where(second, key, xp.full_like(key, -1))


def token_losses(params: Mapping[str, Any], tokens: Any, targets: Any) -> Any:
    """The cross-entropy at every position: (N, T), −log softmax(logits)[target]. Used in notebook 14."""
    xp = namespace(*params.values(), tokens, targets)
    logits, _ = forward(params, tokens)  # (N, T, vocab_size)
    shifted = logits - xp.max(logits, axis=-1, keepdims=True)
    log_probs = shifted - xp.log(xp.sum(xp.exp(shifted), axis=-1, keepdims=True))  # (N, T, vocab_size)
    right = xp.asarray(targets)[..., None] == xp.arange(logits.shape[-1])  # (N, T, vocab_size)
    return -xp.sum(xp.where(right, log_probs, xp.zeros_like(log_probs)), axis=-1)  # (N, T)


def copy_losses(params: Mapping[str, Any], data: RepeatedSequences) -> tuple[float, float]:
    """Mean loss on the first copy and on the second: ``(first, second)``. Used in notebook 14."""
    xp = namespace(*params.values(), data.tokens)
    losses = token_losses(params, data.tokens, data.targets)  # (N, T)
    first, second = copy_masks(data)

    def mean(mask: Any) -> float:
        return float(xp.sum(xp.where(mask, losses, xp.zeros_like(losses))) / xp.sum(xp.astype(mask, losses.dtype)))

    return mean(first), mean(second)


def head_scores(params: Mapping[str, Any], data: RepeatedSequences) -> dict[str, Any]:
    """Each head's mean weight on its previous token and on its induction target, as NumPy arrays.

    Returns ``{"previous": (n_layers, n_heads), "induction": (n_layers, n_heads)}``: "previous" averages
    the weight on position p − 1 over every query p ≥ 1; "induction" averages the weight on the
    induction target over the second-copy queries. 1 means all of the head's weight. Used in notebook 14.
    """
    _, weights = forward(params, data.tokens)  # (L, N, H, T, T)
    weights = backend.to_numpy(weights)
    keys = backend.to_numpy(induction_keys(data))  # (N, T)
    t = weights.shape[-1]
    previous = weights[..., numpy.arange(1, t), numpy.arange(t - 1)].mean(axis=(1, 3))  # (L, H)
    b, p = numpy.nonzero(keys >= 0)
    induction = weights[:, b, :, p, keys[b, p]].mean(axis=0)  # (L, H): advanced indexing puts the queries first
    return {"previous": previous, "induction": induction}


def ablate(params: Mapping[str, Any], layer: int, head: int) -> dict[str, Any]:
    """A copy of ``params`` with one head switched off: its W_o rows zeroed, so it writes nothing.

    Raises ValueError for a layer or head the model does not have. Used in notebook 14.
    """
    sizes = config(params)
    if not (0 <= layer < sizes["n_layers"] and 0 <= head < sizes["n_heads"]):
        raise ValueError(
            f"the model has layers 0..{sizes['n_layers'] - 1} and heads 0..{sizes['n_heads'] - 1}, "
            f"but layer={layer}, head={head}"
        )
    xp = namespace(*params.values())
    w_o = params[f"{layer}.w_o"]  # (H, d_k, d_model)
    keep = xp.asarray([0.0 if h == head else 1.0 for h in range(w_o.shape[0])], dtype=w_o.dtype)  # (H,)
    return {**params, f"{layer}.w_o": w_o * keep[:, None, None]}
