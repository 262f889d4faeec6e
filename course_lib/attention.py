"""Scaled dot-product attention, one step per function: softmax(Q Kᵀ / √d_k) V.

Shapes: q (..., T_q, d_k), k (..., T_k, d_k), v (..., T_k, d_v); leading (batch, head)
dimensions broadcast. Every function takes NumPy or CuPy arrays (or any array-API
array) and returns arrays of the same kind; the array module comes from the inputs.

Masks follow PyTorch's ``scaled_dot_product_attention``: a boolean mask is True where a
query MAY attend a key; a floating mask is added to the scores (−inf, or any infinity,
means "masked"). A query whose keys are all masked gets all-zero weights and an
all-zero output, never NaN. NaN in the inputs propagates.
"""

from __future__ import annotations

import math
from typing import Any

import numpy

from .backend import namespace

__all__ = [
    "dot_product",
    "attention_scores",
    "scale_scores",
    "softmax",
    "weighted_sum",
    "scaled_dot_product_attention",
    "causal_mask",
    "padding_mask",
    "split_heads",
    "merge_heads",
    "multi_head_attention",
]

Array = Any


# ---------------------------------------------------------------- validation helpers


def _as_float(xp: Any, x: Array, arg: str) -> Array:
    """Return ``x`` as a real floating array of namespace ``xp`` (integers promoted to float64)."""
    x = xp.asarray(x)
    try:
        if xp.isdtype(x.dtype, "real floating"):
            return x
        if xp.isdtype(x.dtype, "integral"):
            return xp.astype(x, xp.float64)
        kind = "complex" if xp.isdtype(x.dtype, "complex floating") else "non-numeric"
    except (TypeError, ValueError):  # dtypes the array API does not know (object, str)
        kind = "non-numeric"
    raise TypeError(
        f"{arg} must hold real numbers (float, or int which is promoted to float), "
        f"but {arg}.dtype={x.dtype} is {kind} ({arg}.shape={tuple(x.shape)})"
    )


def _need_ndim(x: Array, arg: str, ndim: int, layout: str) -> None:
    if x.ndim < ndim:
        raise ValueError(
            f"{arg} needs at least {ndim} dimensions {layout}, but {arg}.shape={tuple(x.shape)}"
        )


def _batch_shape(**arrays: Array) -> tuple[int, ...]:
    """Broadcast the leading (batch/head) dimensions of the arrays; ValueError if they clash."""
    leading = {arg: tuple(x.shape[:-2]) for arg, x in arrays.items()}
    try:
        return tuple(numpy.broadcast_shapes(*leading.values()))
    except ValueError:
        shapes = ", ".join(f"{arg}.shape={tuple(x.shape)}" for arg, x in arrays.items())
        raise ValueError(f"the leading (batch/head) dimensions do not broadcast: {shapes}") from None


def _check_d_k(q: Array, k: Array) -> None:
    if q.shape[-1] != k.shape[-1]:
        raise ValueError(
            f"q has d_k={q.shape[-1]} but k has d_k={k.shape[-1]} "
            f"(q.shape={tuple(q.shape)}, k.shape={tuple(k.shape)}); a query is compared with a key "
            "by a dot product, so both need the same length d_k"
        )


def _check_t_k(k: Array, v: Array, k_arg: str = "k") -> None:
    if k.shape[-2] != v.shape[-2]:
        raise ValueError(
            f"{k_arg} has T_k={k.shape[-2]} but v has T_k={v.shape[-2]} "
            f"({k_arg}.shape={tuple(k.shape)}, v.shape={tuple(v.shape)}); every key needs exactly one value"
        )


def _as_qkv(xp: Any, q: Array, k: Array, v: Array) -> tuple[Array, Array, Array, tuple[int, ...]]:
    """q, k, v as real floating arrays, checked against each other; and their broadcast batch shape."""
    q, k, v = _as_float(xp, q, "q"), _as_float(xp, k, "k"), _as_float(xp, v, "v")
    for x, arg, layout in ((q, "q", "(..., T_q, d_k)"), (k, "k", "(..., T_k, d_k)"), (v, "v", "(..., T_k, d_v)")):
        _need_ndim(x, arg, 2, layout)
    _check_d_k(q, k)
    _check_t_k(k, v)
    return q, k, v, _batch_shape(q=q, k=k, v=v)


def _as_mask(xp: Any, mask: Array, scores_shape: tuple[int, ...]) -> Array:
    """Validate a boolean or floating mask against the scores' shape (..., T_q, T_k)."""
    mask = xp.asarray(mask)
    is_bool = mask.dtype == xp.bool
    if not is_bool and not xp.isdtype(mask.dtype, "real floating"):
        raise TypeError(
            f"mask must be boolean (True = may attend) or floating (added to the scores), "
            f"but mask.dtype={mask.dtype}; for a 0/1 mask write mask.astype(bool)"
        )
    try:
        fits = tuple(numpy.broadcast_shapes(tuple(mask.shape), scores_shape)) == scores_shape
    except ValueError:
        fits = False
    if not fits:
        raise ValueError(
            f"mask.shape={tuple(mask.shape)} does not broadcast to the scores' shape {scores_shape} "
            f"(..., T_q={scores_shape[-2]}, T_k={scores_shape[-1]})"
        )
    return mask


def _masked_scores(xp: Any, scores: Array, mask: Array | None) -> Array:
    """Scores with masked positions set to −inf; the caller's arrays are not modified."""
    if mask is None:
        return scores
    minus_inf = xp.asarray(-math.inf, dtype=scores.dtype)
    if mask.dtype == xp.bool:
        return xp.where(mask, scores, minus_inf)
    mask = xp.astype(mask, scores.dtype)
    return xp.where(xp.isinf(mask), minus_inf, scores + mask)


def _combined_mask(xp: Any, mask: Array | None, causal: bool, t_q: int, t_k: int) -> Array | None:
    if not causal:
        return mask
    allowed = _causal(xp, t_q, t_k)
    if mask is None:
        return allowed
    if mask.dtype == xp.bool:
        return allowed & mask
    return xp.where(allowed, mask, xp.asarray(-math.inf, dtype=mask.dtype))


def _causal(xp: Any, t_q: int, t_k: int) -> Array:
    rows = xp.arange(t_q)[:, None]  # (T_q, 1)
    cols = xp.arange(t_k)[None, :]  # (1, T_k)
    return rows >= cols  # (T_q, T_k): query i sees keys 0..i


# ---------------------------------------------------------------- the four steps


def dot_product(a: Array, b: Array) -> Array:
    """Dot product along the last axis: sum_i a[..., i] * b[..., i].

    Shapes: a (..., d), b (..., d) -> (...); leading dimensions broadcast.
    Raises ValueError if the last dimensions differ, TypeError for non-real input.
    Taught in notebook 01.
    """
    xp = namespace(a, b)
    a, b = _as_float(xp, a, "a"), _as_float(xp, b, "b")
    _need_ndim(a, "a", 1, "(..., d)")
    _need_ndim(b, "b", 1, "(..., d)")
    if a.shape[-1] != b.shape[-1]:
        raise ValueError(
            f"a has length {a.shape[-1]} but b has length {b.shape[-1]} along the last axis "
            f"(a.shape={tuple(a.shape)}, b.shape={tuple(b.shape)})"
        )
    return xp.sum(a * b, axis=-1)  # (...)


def attention_scores(q: Array, k: Array) -> Array:
    """Every query against every key: scores = q @ kᵀ (over the last two axes).

    Shapes: q (..., T_q, d_k), k (..., T_k, d_k) -> scores (..., T_q, T_k).
    Raises ValueError for fewer than 2 dimensions, mismatched d_k or batch dimensions.
    Taught in notebook 03.
    """
    xp = namespace(q, k)
    q, k = _as_float(xp, q, "q"), _as_float(xp, k, "k")
    _need_ndim(q, "q", 2, "(..., T_q, d_k)")
    _need_ndim(k, "k", 2, "(..., T_k, d_k)")
    _check_d_k(q, k)
    _batch_shape(q=q, k=k)
    return q @ xp.matrix_transpose(k)  # (..., T_q, d_k) @ (..., d_k, T_k) -> (..., T_q, T_k)


def scale_scores(scores: Array, d_k: int) -> Array:
    """Divide the scores by √d_k so their variance stays near 1 whatever d_k is.

    Shapes: scores (..., T_q, T_k) -> same shape.
    Raises ValueError if d_k is not a positive number.
    Taught in notebook 04.
    """
    xp = namespace(scores)
    scores = _as_float(xp, scores, "scores")
    if isinstance(d_k, bool) or not isinstance(d_k, (int, float, numpy.integer, numpy.floating)) or not d_k > 0:
        raise ValueError(f"d_k must be a positive number (the length of a key), but d_k={d_k!r}")
    return scores / math.sqrt(d_k)


def softmax(x: Array, axis: int = -1, mask: Array | None = None) -> Array:
    """Numerically stable softmax: exp(x - max) / sum(exp(x - max)) along ``axis``.

    Shapes: x (...) -> weights of the same shape, each slice along ``axis`` summing to 1.
    ``mask`` (boolean: True = keep; floating: added to x) broadcasts to x.shape; masked
    entries get weight 0 and a slice with every entry masked is all zeros (never NaN); an
    axis of length 0 gives an empty result. NaN in x propagates. Raises ValueError for a
    bad axis or a mask that does not broadcast, TypeError for non-real input or a mask
    that is neither boolean nor floating.
    Taught in notebook 05.
    """
    xp = namespace(x, mask)
    x = _as_float(xp, x, "x")
    if not -x.ndim <= axis < max(x.ndim, 1):
        raise ValueError(f"axis={axis} is out of range for x.shape={tuple(x.shape)}")
    if mask is not None:
        mask = _as_mask(xp, mask, tuple(x.shape))
    x = _masked_scores(xp, x, mask)
    if x.shape[axis] == 0:
        return xp.zeros_like(x)  # nothing along the axis (no keys at all): an empty result
    top = xp.max(x, axis=axis, keepdims=True)
    top = xp.where(top == -math.inf, xp.zeros_like(top), top)  # a fully masked slice: avoid −inf − (−inf)
    e = xp.exp(x - top)  # the largest entry becomes exp(0) = 1: nothing overflows
    total = xp.sum(e, axis=axis, keepdims=True)
    return e / xp.where(total == 0, xp.ones_like(total), total)  # fully masked: 0 / 1 = 0


def weighted_sum(weights: Array, v: Array) -> Array:
    """Mix the value rows with the attention weights: out = weights @ v.

    Shapes: weights (..., T_q, T_k), v (..., T_k, d_v) -> out (..., T_q, d_v).
    Raises ValueError for fewer than 2 dimensions, mismatched T_k or batch dimensions.
    Taught in notebook 06.
    """
    xp = namespace(weights, v)
    weights, v = _as_float(xp, weights, "weights"), _as_float(xp, v, "v")
    _need_ndim(weights, "weights", 2, "(..., T_q, T_k)")
    _need_ndim(v, "v", 2, "(..., T_k, d_v)")
    if weights.shape[-1] != v.shape[-2]:
        raise ValueError(
            f"weights has T_k={weights.shape[-1]} but v has T_k={v.shape[-2]} "
            f"(weights.shape={tuple(weights.shape)}, v.shape={tuple(v.shape)}); one weight per value row"
        )
    _batch_shape(weights=weights, v=v)
    return weights @ v  # (..., T_q, T_k) @ (..., T_k, d_v) -> (..., T_q, d_v)


def scaled_dot_product_attention(
    q: Array,
    k: Array,
    v: Array,
    mask: Array | None = None,
    *,
    causal: bool = False,
    scale: float | None = None,
) -> tuple[Array, Array]:
    """Attention(Q, K, V) = softmax(Q Kᵀ / √d_k) V; returns ``(out, weights)``.

    Shapes: q (..., T_q, d_k), k (..., T_k, d_k), v (..., T_k, d_v)
    -> out (..., T_q, d_v), weights (..., T_q, T_k).
    ``mask``: boolean (True = may attend) or floating (added to the scores), broadcast to
    (..., T_q, T_k). ``causal=True``: query i sees keys 0..i (top-left aligned), combined
    with ``mask``. ``scale`` replaces 1/√d_k. A query with every key masked, or no keys at
    all (T_k = 0), gets zero weights and a zero output. Raises ValueError for mismatched
    d_k or T_k, too few dimensions or a mask that does not broadcast; TypeError for
    non-real or mixed arrays.
    Taught in notebook 07.
    """
    xp = namespace(q, k, v, mask)
    q, k, v, batch = _as_qkv(xp, q, k, v)
    t_q, t_k, d_k = q.shape[-2], k.shape[-2], q.shape[-1]
    scores_shape = batch + (t_q, t_k)
    if mask is not None:
        mask = _as_mask(xp, mask, scores_shape)
    mask = _combined_mask(xp, mask, causal, t_q, t_k)

    scores = attention_scores(q, k)  # (..., T_q, T_k)
    scores = scale_scores(scores, d_k) if scale is None else scores * scale
    weights = softmax(scores, axis=-1, mask=mask)  # (..., T_q, T_k), rows sum to 1 (or 0 if fully masked)
    out = weighted_sum(weights, v)  # (..., T_q, d_v)
    return out, weights


# ---------------------------------------------------------------- masks


def causal_mask(t_q: int, t_k: int | None = None) -> Array:
    """Boolean causal mask, True = may attend: query i sees keys 0..i (top-left aligned).

    Shapes: -> (t_q, t_k); ``t_k`` defaults to ``t_q``. An array of the selected backend.
    Raises ValueError for a negative length.
    Taught in notebook 09.
    """
    t_k = t_q if t_k is None else t_k
    for arg, t in (("t_q", t_q), ("t_k", t_k)):
        if isinstance(t, bool) or not isinstance(t, (int, numpy.integer)) or t < 0:
            raise ValueError(f"{arg} must be a non-negative whole number of tokens, but {arg}={t!r}")
    return _causal(namespace(), int(t_q), int(t_k))


def padding_mask(lengths: Any, t: int) -> Array:
    """Boolean padding mask, True = a real token: key j of sequence b is kept when j < lengths[b].

    Shapes: lengths (B,) -> mask (B, 1, t), ready to broadcast over the queries of
    scores (B, T_q, t). An array of the kind of ``lengths`` (else the selected backend).
    Raises ValueError if a length is negative or longer than t, TypeError if not whole numbers.
    Taught in notebook 09.
    """
    xp = namespace(lengths)
    lengths = xp.asarray(lengths)
    if lengths.dtype == xp.bool or not xp.isdtype(lengths.dtype, "integral"):
        raise TypeError(f"lengths must be whole numbers, but lengths.dtype={lengths.dtype}")
    if lengths.ndim != 1:
        raise ValueError(f"lengths must be 1-D (one length per sequence), but lengths.shape={tuple(lengths.shape)}")
    if isinstance(t, bool) or not isinstance(t, (int, numpy.integer)) or t < 0:
        raise ValueError(f"t must be a non-negative whole number of tokens, but t={t!r}")
    if lengths.shape[0] and (int(xp.min(lengths)) < 0 or int(xp.max(lengths)) > t):
        raise ValueError(
            f"every length must lie in 0..t={t}, but the lengths range over "
            f"{int(xp.min(lengths))}..{int(xp.max(lengths))}"
        )
    positions = xp.arange(int(t))[None, :]  # (1, t)
    return (positions < lengths[:, None])[:, None, :]  # (B, 1, t)


# ---------------------------------------------------------------- multi-head attention


def _check_n_heads(n_heads: Any, x: Array, arg: str) -> None:
    """ValueError unless n_heads is a whole number >= 1 that divides d_model, the last dimension of ``x``."""
    if isinstance(n_heads, bool) or not isinstance(n_heads, (int, numpy.integer)) or n_heads < 1:
        raise ValueError(f"n_heads must be a whole number >= 1, but n_heads={n_heads!r}")
    d_model = x.shape[-1]
    if d_model % n_heads:
        raise ValueError(
            f"n_heads={n_heads} does not divide d_model={d_model} ({arg}.shape={tuple(x.shape)}); "
            f"every head gets d_model // n_heads features, so choose n_heads among the divisors of {d_model}"
        )


def split_heads(x: Array, n_heads: int) -> Array:
    """Cut the last axis into ``n_heads`` pieces of d_head = d_model // n_heads, one per head.

    Shapes: x (..., T, d_model) -> (..., n_heads, T, d_head); head h holds the features
    h*d_head .. (h+1)*d_head - 1. ``merge_heads`` undoes it.
    Raises ValueError for fewer than 2 dimensions or an n_heads that does not divide d_model.
    Taught in notebook 11.
    """
    xp = namespace(x)
    x = _as_float(xp, x, "x")
    _need_ndim(x, "x", 2, "(..., T, d_model)")
    _check_n_heads(n_heads, x, "x")
    *batch, t, d_model = x.shape
    n = len(batch)
    x = xp.reshape(x, (*batch, t, int(n_heads), d_model // int(n_heads)))  # (..., T, n_heads, d_head)
    return xp.permute_dims(x, (*range(n), n + 1, n, n + 2))  # (..., n_heads, T, d_head)


def merge_heads(x: Array) -> Array:
    """Put the heads side by side again (concatenate their features): the inverse of ``split_heads``.

    Shapes: x (..., n_heads, T, d_head) -> (..., T, n_heads * d_head).
    Raises ValueError for fewer than 3 dimensions.
    Taught in notebook 11.
    """
    xp = namespace(x)
    x = _as_float(xp, x, "x")
    _need_ndim(x, "x", 3, "(..., n_heads, T, d_head)")
    *batch, n_heads, t, d_head = x.shape
    n = len(batch)
    x = xp.permute_dims(x, (*range(n), n + 1, n, n + 2))  # (..., T, n_heads, d_head)
    return xp.reshape(x, (*batch, t, n_heads * d_head))  # (..., T, n_heads * d_head)


def _check_projections(x_q: Array, x_kv: Array, **weights: Array) -> None:
    """ValueError unless x_q and x_kv agree on d_model and every weight is (d_model, d_model)."""
    d_model = x_q.shape[-1]
    if x_kv.shape[-1] != d_model:
        raise ValueError(
            f"x_q has d_model={d_model} but x_kv has d_model={x_kv.shape[-1]} "
            f"(x_q.shape={tuple(x_q.shape)}, x_kv.shape={tuple(x_kv.shape)}); both are projected by "
            "(d_model, d_model) matrices, so both need the same d_model"
        )
    for arg, w in weights.items():
        if tuple(w.shape) != (d_model, d_model):
            raise ValueError(
                f"{arg} must have shape (d_model, d_model)=({d_model}, {d_model}) to match "
                f"x_q.shape={tuple(x_q.shape)}, but {arg}.shape={tuple(w.shape)}"
            )


def multi_head_attention(
    x_q: Array,
    x_kv: Array,
    w_q: Array,
    w_k: Array,
    w_v: Array,
    w_o: Array,
    n_heads: int,
    mask: Array | None = None,
    *,
    causal: bool = False,
) -> tuple[Array, Array]:
    """Multi-head attention: project, split into heads, attend in each head, merge, project.

    q = x_q W_q, k = x_kv W_k, v = x_kv W_v, each cut into n_heads heads of
    d_head = d_model // n_heads; head h computes softmax(q_h k_hᵀ / √d_head) v_h; the heads
    are concatenated and multiplied by W_o. Returns ``(out, weights)``.
    Shapes: x_q (..., T_q, d_model), x_kv (..., T_k, d_model), w_* (d_model, d_model)
    -> out (..., T_q, d_model), weights (..., n_heads, T_q, T_k).
    ``mask`` (boolean True = may attend, or floating added to the scores) is given for
    (..., T_q, T_k) and is the same for every head; ``causal`` as in scaled_dot_product_attention.
    Raises ValueError for an n_heads that does not divide d_model, a weight that is not
    (d_model, d_model), x_q and x_kv with different d_model, too few dimensions or a mask
    that does not broadcast; TypeError for non-real or mixed arrays.
    Taught in notebook 11.
    """
    xp = namespace(x_q, x_kv, w_q, w_k, w_v, w_o, mask)
    x_q, x_kv = _as_float(xp, x_q, "x_q"), _as_float(xp, x_kv, "x_kv")
    w_q, w_k = _as_float(xp, w_q, "w_q"), _as_float(xp, w_k, "w_k")
    w_v, w_o = _as_float(xp, w_v, "w_v"), _as_float(xp, w_o, "w_o")
    _need_ndim(x_q, "x_q", 2, "(..., T_q, d_model)")
    _need_ndim(x_kv, "x_kv", 2, "(..., T_k, d_model)")
    _check_projections(x_q, x_kv, w_q=w_q, w_k=w_k, w_v=w_v, w_o=w_o)
    _check_n_heads(n_heads, x_q, "x_q")
    scores_shape = _batch_shape(x_q=x_q, x_kv=x_kv) + (x_q.shape[-2], x_kv.shape[-2])
    if mask is not None:
        mask = _as_mask(xp, mask, scores_shape)
        mask = xp.reshape(mask, (1,) * (len(scores_shape) - mask.ndim) + tuple(mask.shape))  # as many dims as scores
        mask = xp.expand_dims(mask, axis=-3)  # (..., 1, T_q, T_k): the same mask for every head

    q = split_heads(x_q @ w_q, n_heads)  # (..., T_q, d_model) -> (..., n_heads, T_q, d_head)
    k = split_heads(x_kv @ w_k, n_heads)  # (..., n_heads, T_k, d_head)
    v = split_heads(x_kv @ w_v, n_heads)  # (..., n_heads, T_k, d_head)
    out, weights = scaled_dot_product_attention(q, k, v, mask, causal=causal)  # (..., n_heads, T_q, d_head)
    out = merge_heads(out) @ w_o  # (..., T_q, n_heads * d_head) @ (d_model, d_model) -> (..., T_q, d_model)
    return out, weights  # weights: (..., n_heads, T_q, T_k)
