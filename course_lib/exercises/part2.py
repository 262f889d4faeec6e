"""Checks for Part II, notebooks 09–11: self-attention and its masks, encoder–decoder attention,
multi-head attention."""

from __future__ import annotations

import math
from typing import Any, Callable, Sequence

import numpy

from .. import attention, backend, data
from ..backend import to_numpy
from .verdict import (
    CORRECT, FAILED, NOT_ATTEMPTED, REPLACE_DOTS, WRONG, Forbidden, Mistake, _kind, as_numpy, call_learner,
    check_function, copies, never_raises, report,
)

__all__ = [
    "check_causal_self_attention",
    "check_padding_mask",
    "check_cross_attention",
    "check_reversal_w_q",
    "check_split_heads",
    "check_multi_head_attention",
]


def _random_cases(seed: int, shapes: Sequence[Sequence[tuple[int, ...]]]) -> list[tuple]:
    """Test inputs for a check: one tuple of seeded normal arrays (selected backend) per list of shapes."""
    rng = numpy.random.default_rng(seed)
    return [tuple(backend.asarray(rng.normal(size=shape)) for shape in case) for case in shapes]


# ---------------------------------------------------------------- notebook 09: self-attention


def check_causal_self_attention(func: Callable[..., Any]) -> None:
    """09: func(x, w_q, w_k, w_v) -> (out, weights): self-attention in which token i sees tokens 0..i.
    Refused: scaled_dot_product_attention(..., causal=True) (the exercise is the mask)."""
    xp = backend.xp
    sdpa = attention.scaled_dot_product_attention
    cases = [(data.sentence_embeddings(), *data.park_projections(ask_where=True))]
    cases += _random_cases(9, [[(t, d)] + [(d, d)] * 3 for t, d in ((1, 3), (4, 2), (6, 5))])

    def reference(x: Any, w_q: Any, w_k: Any, w_v: Any) -> tuple[Any, Any]:
        return sdpa(x @ w_q, x @ w_k, x @ w_v, causal=True)

    def multiplied(x: Any, w_q: Any, w_k: Any, w_v: Any) -> tuple[Any, Any]:
        scores = attention.scale_scores(attention.attention_scores(x @ w_q, x @ w_k), w_k.shape[-1])
        weights = attention.softmax(scores * attention.causal_mask(x.shape[0]))
        return weights @ (x @ w_v), weights

    def written(x: Any, w_q: Any, w_k: Any, w_v: Any, *, offset: int = 0, fill: float = -math.inf, axis: int = -1,
                keys_first: bool = False) -> tuple[Any, Any]:
        """Causal attention as a learner writes it: xp.where over the scores, with the mask's diagonal moved by
        ``offset`` (-1: a token does not see itself; 1: it sees the next one too), masked scores set to ``fill``,
        the softmax along ``axis``, and the scores K Qᵀ where ``keys_first``."""
        q, k, v = x @ w_q, x @ w_k, x @ w_v
        scores = (k @ xp.swapaxes(q, -1, -2) if keys_first else q @ xp.swapaxes(k, -1, -2)) / k.shape[-1] ** 0.5
        t = x.shape[0]
        allowed = xp.arange(t)[None, :] <= xp.arange(t)[:, None] + offset
        scores = xp.where(allowed, scores, fill)
        e = xp.exp(scores - xp.max(scores, axis=axis, keepdims=True))
        weights = e / xp.sum(e, axis=axis, keepdims=True)
        return weights @ v, weights

    def masked_after(x: Any, w_q: Any, w_k: Any, w_v: Any) -> tuple[Any, Any]:
        _, weights = sdpa(x @ w_q, x @ w_k, x @ w_v)
        weights = weights * attention.causal_mask(x.shape[0])
        return weights @ (x @ w_v), weights

    check_function(
        func, reference, cases, name="causal_self_attention()", returns=("out", "weights"),
        forbid=Forbidden("for the causal mask built and applied by you (causal_mask, or your own comparison)",
                         library=["scaled_dot_product_attention"],
                         when={"scaled_dot_product_attention": lambda args, kwargs: bool(kwargs.get("causal"))}),
        mistakes=[
            Mistake("attention without a mask: every query also sees the keys after its own position",
                    lambda x, w_q, w_k, w_v: sdpa(x @ w_q, x @ w_k, x @ w_v)),
            Mistake("the mask flipped (its transpose): query i sees keys i..T-1, the future, instead of 0..i",
                    lambda x, w_q, w_k, w_v: sdpa(x @ w_q, x @ w_k, x @ w_v,
                                                  mask=xp.swapaxes(attention.causal_mask(x.shape[0]), -1, -2))),
            Mistake("the mask inverted: in course_lib True means 'may attend' (PyTorch's masked_fill takes True as "
                    "'hide'), so query i sees only the keys after it",
                    lambda x, w_q, w_k, w_v: sdpa(x @ w_q, x @ w_k, x @ w_v,
                                                  mask=xp.logical_not(attention.causal_mask(x.shape[0])))),
            Mistake("the mask applied to the weights after the softmax: the rows no longer sum to 1; "
                    "mask the scores, before it", masked_after),
            Mistake("a 0/1 floating mask: softmax ADDS a floating mask to the scores (1 to the allowed ones), so it "
                    "hides nothing; a boolean mask (True = may attend) hides keys",
                    lambda x, w_q, w_k, w_v: sdpa(x @ w_q, x @ w_k, x @ w_v,
                                                  mask=attention.causal_mask(x.shape[0]) * 1.0)),
            Mistake("the future scores set to 0 (or multiplied by 0): a score of 0 still gets weight after the "
                    "softmax; masked keys need a score of -inf (which a boolean mask gives them)", multiplied),
            Mistake("causal attention without the 1/√d_k scaling",
                    lambda x, w_q, w_k, w_v: sdpa(x @ w_q, x @ w_k, x @ w_v, causal=True, scale=1.0)),
            Mistake("the queries, keys or values not all taken from x with their own matrix",
                    lambda x, w_q, w_k, w_v: sdpa(x @ w_q, x @ w_q, x @ w_v, causal=True)),
            Mistake(itself := "the diagonal hidden too: query i may see keys 0..i, itself included, so token 0 sees "
                              "itself alone",
                    lambda *a: written(*a, offset=-1)),
            Mistake(itself, lambda *a: written(*a, offset=-1, fill=-1e9)),
            Mistake(itself, lambda x, w_q, w_k, w_v: sdpa(  # course_lib's softmax: a row with every key masked is 0
                x @ w_q, x @ w_k, x @ w_v,
                mask=xp.arange(x.shape[0])[None, :] < xp.arange(x.shape[0])[:, None])),
            Mistake("one key of the future let in: query i sees key i + 1 too; it may see keys 0..i only",
                    lambda *a: written(*a, offset=1)),
            Mistake("a softmax along the first axis (over the queries): each query's ROW of weights must sum to 1",
                    lambda *a: written(*a, axis=0)),
            Mistake("the scores the wrong way round, keys against queries (K Qᵀ): row i must hold query i against "
                    "every key", lambda *a: written(*a, keys_first=True)),
        ],
        hint={"weights": (weights_hint := "row i of the weights may be non-zero only on keys 0..i, and each row "
                                          "must still sum to 1; before the mask the scores are notebook 07's, the "
                                          "queries against the keys, scaled by 1/√d_k"),
              "out": "your weights are right: out is those weights applied to the values, x W_v",
              "": weights_hint})


@never_raises
def check_padding_mask(func: Callable[..., Any]) -> None:
    """09: func(lengths, t) -> boolean mask (B, 1, t), True where key j of sequence b is a real token.
    A mask of another dtype is wrong even with the right 0/1 values: softmax adds a floating mask to
    the scores. Refused: course_lib's padding_mask."""
    name = "my_padding_mask()"
    hint = ("position j of sequence b is a real token when j is below that sequence's length; "
            "the result needs a length-1 query axis in the middle: (B, 1, t)")
    forbid = Forbidden("for the mask built from a comparison of positions with lengths", library=["padding_mask"])
    if func is Ellipsis or not callable(func):
        report(NOT_ATTEMPTED if func is Ellipsis else WRONG, name,
               REPLACE_DOTS if func is Ellipsis else f"expected a function, got {_kind(func)}")
        return
    used = forbid.static_use(func)  # course_lib's padding_mask itself, or wrapped in functools.partial
    if used:
        report(WRONG, name, forbid.refusal(used))
        return
    cases = [(backend.asarray([9, 5]), 9), (backend.asarray([0, 3, 3]), 4), (backend.asarray([2]), 2)]
    for number, (lengths, t) in enumerate(cases, start=1):
        where = f"on test input {number} (lengths = {to_numpy(lengths).tolist()}, t = {t})"
        expected = numpy.asarray(to_numpy(attention.padding_mask(lengths, t)))  # (B, 1, t)
        with forbid.tripwires(func) as calls:
            got = call_learner(func, copies((lengths, t)), name=name, where=where, hint=hint)
        if calls:
            report(WRONG, name, forbid.refusal(calls[0]))
            return
        if got is FAILED:
            return
        got_np, why = as_numpy(got)
        if got_np is None:
            report(WRONG, name, f"{where}: expected a boolean array of shape {expected.shape}, {why}", hint)
            return
        detail = _mask_mistake(got_np, expected, lengths, t)
        if detail is not None:
            report(WRONG, name, f"{where}: {detail}", hint)
            return
    report(CORRECT, name, f"it agrees with course_lib on all {len(cases)} test inputs")


def _mask_mistake(got: numpy.ndarray, expected: numpy.ndarray, lengths: Any, t: int) -> str | None:
    """What is wrong with a padding mask ``got``, or None when it is right."""
    positions = numpy.arange(t)[None, None, :]  # (1, 1, t)
    lengths = numpy.asarray(to_numpy(lengths))[:, None, None]  # (B, 1, 1)
    if got.shape == expected.shape[::2] and numpy.array_equal(got.astype(bool), expected[:, 0, :]):
        return (f"the right True/False values, but shape {got.shape}: the mask needs a length-1 query axis "
                f"in the middle, {expected.shape}, so that it broadcasts over the queries")
    if got.shape != expected.shape:
        return f"expected shape {expected.shape}, got shape {got.shape}"
    if got.dtype == numpy.bool_ and numpy.array_equal(got, expected):
        return None
    if got.dtype != numpy.bool_:
        if numpy.array_equal(got, expected.astype(got.dtype)):
            why = ("softmax adds a floating mask to the scores instead of hiding keys" if got.dtype.kind in "fc"
                   else "softmax refuses a mask of whole numbers")
            what = "the numbers 0.0 and 1.0" if got.dtype.kind in "fc" else "the whole numbers 0 and 1"
            return f"the right values, but as {what} (dtype {got.dtype}): a mask must be boolean (True/False); {why}"
        return f"expected a boolean array (True/False), got dtype {got.dtype}"
    if numpy.array_equal(got, ~expected):
        return "True marks the padding here; in this course (and torch's scaled_dot_product_attention) True = may attend"
    if numpy.array_equal(got, positions <= lengths):
        return "one position too many: position j is real only while j < length (positions start at 0)"
    differing = numpy.argwhere(got != expected)
    if len(differing):
        row = tuple(int(i) for i in differing[0][:-1])
        return f"first differing row is {list(row)}:\n   expected {expected[row]}\n   got      {got[row]}"
    return None


# ---------------------------------------------------------------- notebook 10: encoder-decoder attention


def check_cross_attention(func: Callable[..., Any]) -> None:
    """10: func(y, x, w_q, w_k, w_v) -> (out, weights): queries from the decoder y, keys and values from the encoder x."""
    sdpa = attention.scaled_dot_product_attention
    shapes = ((3, 3, 2), (2, 3, 2), (4, 6, 3), (1, 5, 4))  # (T_q, T_k, d): T_q = T_k first, where a mix-up runs
    cases = _random_cases(10, [[(t_q, d), (t_k, d)] + [(d, d)] * 3 for t_q, t_k, d in shapes])

    def reference(y: Any, x: Any, w_q: Any, w_k: Any, w_v: Any) -> tuple[Any, Any]:
        return sdpa(y @ w_q, x @ w_k, x @ w_v)

    check_function(
        func, reference, cases, name="cross_attention()", returns=("out", "weights"),
        mistakes=[
            Mistake("the roles swapped: queries from the encoder x, keys and values from the decoder y",
                    lambda y, x, w_q, w_k, w_v: sdpa(x @ w_q, y @ w_k, y @ w_v)),
            Mistake("self-attention on the decoder y: the keys and values must come from the encoder x",
                    lambda y, x, w_q, w_k, w_v: sdpa(y @ w_q, y @ w_k, y @ w_v)),
            Mistake("self-attention on the encoder x: the queries must come from the decoder y",
                    lambda y, x, w_q, w_k, w_v: sdpa(x @ w_q, x @ w_k, x @ w_v)),
            Mistake("values taken from the decoder y: the values belong to the keys' side, the encoder",
                    lambda y, x, w_q, w_k, w_v: sdpa(y @ w_q, x @ w_k, y @ w_v)),
            Mistake("cross-attention without the 1/√d_k scaling of the scores",
                    lambda y, x, w_q, w_k, w_v: sdpa(y @ w_q, x @ w_k, x @ w_v, scale=1.0)),
            Mistake("keys taken from the decoder y: the keys and the values both belong to the encoder x, the side "
                    "being looked up", lambda y, x, w_q, w_k, w_v: sdpa(y @ w_q, y @ w_k, x @ w_v)),
            Mistake("the weights returned transposed, (T_k, T_q): row i must be decoder state i's weights over the "
                    "encoder states", lambda y, x, w_q, w_k, w_v: (sdpa(y @ w_q, x @ w_k, x @ w_v)[0],
                                                                   sdpa(y @ w_q, x @ w_k, x @ w_v)[1].T)),
        ],
        hint="who asks and who answers: the weights need one row per decoder state and one column per "
             "encoder state, (T_q, T_k)")


@never_raises
def check_reversal_w_q(w_q_reverse: Any) -> None:
    """10: a (6, 6) w_q that makes decoder step t (query e_t @ w_q) attend to encoder position 5 - t (keys e_j).
    The check judges the alignment that w_q produces, not the matrix: any sharp enough w_q will do."""
    name = "w_q_reverse"
    if w_q_reverse is Ellipsis:
        report(NOT_ATTEMPTED, name, REPLACE_DOTS)
        return
    w, why = as_numpy(w_q_reverse)
    if w is None or w.shape != (6, 6):
        got = why if w is None else f"got shape {w.shape}"
        report(WRONG, name, f"expected a (6, 6) matrix of numbers, {got}",
               "one row per decoder step (its query is e_t @ w_q, row t of w_q), one column per key dimension")
        return
    positions = backend.asarray(numpy.eye(6))  # (6, 6): query of step t is e_t, key j is e_j
    _, alignment = attention.scaled_dot_product_attention(positions @ backend.asarray(w.astype(float)),
                                                          positions, positions)
    alignment = numpy.asarray(to_numpy(alignment))  # (6, 6): row t = step t's weights over positions
    steps = numpy.arange(6)
    looks_at = numpy.argmax(alignment, axis=-1)  # (6,)
    on_target = alignment[steps, 5 - steps]  # (6,): weight of step t on position 5 - t
    ties = [t for t in steps if numpy.sum(numpy.isclose(alignment[t], alignment[t].max())) > 1]
    if not numpy.isfinite(alignment).all():
        report(WRONG, name, "its weights come out as nan: an entry of w_q_reverse is inf or nan (inf - inf and "
                            "inf × 0 are nan)", "use large finite numbers: the softmax only needs a clear gap")
    elif (looks_at == 5 - steps).all() and on_target.min() > 0.95:
        report(CORRECT, name, f"every step t puts more than 0.95 of its weight on position 5 - t "
                              f"(the weakest: {on_target.min():.3f})")
    elif (looks_at == 5 - steps).all():
        report(WRONG, name, "right pattern, not sharp enough: every step t looks most at position 5 - t, but the "
                            f"weakest gives it only {on_target.min():.3f} of its weight (needs more than 0.95)",
               "the scores are w_q's entries divided by sqrt(d_k) = sqrt(6) = 2.45; a larger entry c makes the "
               "softmax sharper: exp(c / 2.45) times the weight of each other key")
    elif ties:
        t = int(ties[0])
        tied = [int(j) for j in numpy.flatnonzero(numpy.isclose(alignment[t], alignment[t].max()))]
        report(WRONG, name, f"step {t} splits its largest weight equally between positions {tied}: the scores in its "
                            "row tie", "row t of w_q must give key e_(5-t) a larger score than every other key")
    elif (looks_at == steps).all():
        report(WRONG, name, "every step t looks at position t (the diagonal): that copies the input in order; "
                            "the task reverses it", "step 0 must look at position 5, step 5 at position 0")
    else:
        wrong = int(numpy.argmax(looks_at != 5 - steps))
        report(WRONG, name, f"step {wrong} looks most at position {int(looks_at[wrong])}, not at {5 - wrong}",
               "the query of step t is e_t @ w_q, i.e. row t of w_q; its score with key e_j is entry j of that row "
               "(divided by sqrt(6))")


# ---------------------------------------------------------------- notebook 11: multi-head attention


def check_split_heads(func: Callable[..., Any]) -> None:
    """11: func(x, n_heads) -> (n_heads, T, d_head): x (T, d_model) cut into heads along its features.
    Refused: course_lib's split_heads."""
    xp = backend.xp
    cases = [(x, n_heads) for (x,), n_heads in zip(_random_cases(11, [[(3, 4)], [(5, 6)], [(2, 6)], [(4, 8)]]),
                                                   (2, 3, 1, 4))]

    def heads_last(x: Any, n_heads: int) -> Any:  # features cut as (d_head, n_heads): interleaved heads
        t, d_model = x.shape
        return xp.transpose(xp.reshape(x, (t, d_model // n_heads, n_heads)), (2, 0, 1))

    check_function(
        func, attention.split_heads, cases, name="my_split_heads()",
        forbid=Forbidden("for the split written with reshape and transpose", library=["split_heads"]),
        mistakes=[
            Mistake("a plain reshape to (n_heads, T, d_head): it cuts the sequence of numbers row after row, so a "
                    "head gets a run of consecutive tokens' features (whole tokens where n_heads divides T) instead "
                    "of a slice of every token's features",
                    lambda x, n_heads: xp.reshape(x, (n_heads, x.shape[0], x.shape[1] // n_heads))),
            Mistake("features dealt out like cards (reshape to (T, d_head, n_heads)): head h must get the "
                    "neighbouring features h·d_head … (h+1)·d_head - 1", heads_last),
            Mistake("a reshape to (T, n_heads, d_head) without moving the head axis to the front",
                    lambda x, n_heads: xp.reshape(x, (x.shape[0], n_heads, x.shape[1] // n_heads))),
        ],
        hint="head h gets the features h·d_head … (h+1)·d_head - 1 of every token; print the smallest case")


def check_multi_head_attention(func: Callable[..., Any]) -> None:
    """11: func(x, w_q, w_k, w_v, w_o, n_heads) -> (out, weights): multi-head self-attention on x (T, d_model).
    Refused: course_lib's multi_head_attention."""
    xp = backend.xp
    sdpa = attention.scaled_dot_product_attention
    split, merge = attention.split_heads, attention.merge_heads
    layouts = ((3, 4, 2), (5, 6, 3), (4, 6, 1), (2, 8, 4))
    arrays = _random_cases(111, [[(t, d)] + [(d, d)] * 4 for t, d, _ in layouts])
    cases = [(*a, n_heads) for a, (_, _, n_heads) in zip(arrays, layouts)]

    def heads(x: Any, w_q: Any, w_k: Any, w_v: Any, n_heads: int, scale: float | None = None) -> tuple[Any, Any]:
        return sdpa(split(x @ w_q, n_heads), split(x @ w_k, n_heads), split(x @ w_v, n_heads), scale=scale)

    def reference(x: Any, w_q: Any, w_k: Any, w_v: Any, w_o: Any, n_heads: int) -> tuple[Any, Any]:
        return attention.multi_head_attention(x, x, w_q, w_k, w_v, w_o, n_heads)

    def wide_scale(x: Any, w_q: Any, w_k: Any, w_v: Any, w_o: Any, n_heads: int) -> tuple[Any, Any]:
        out, weights = heads(x, w_q, w_k, w_v, n_heads, scale=1.0 / x.shape[-1] ** 0.5)
        return merge(out) @ w_o, weights

    def no_root(x: Any, w_q: Any, w_k: Any, w_v: Any, w_o: Any, n_heads: int) -> tuple[Any, Any]:
        out, weights = heads(x, w_q, w_k, w_v, n_heads, scale=n_heads / x.shape[-1])
        return merge(out) @ w_o, weights

    def plain_merge(x: Any, w_q: Any, w_k: Any, w_v: Any, w_o: Any, n_heads: int) -> tuple[Any, Any]:
        out, weights = heads(x, w_q, w_k, w_v, n_heads)
        return xp.reshape(out, (x.shape[0], x.shape[1])) @ w_o, weights

    def no_w_o(x: Any, w_q: Any, w_k: Any, w_v: Any, w_o: Any, n_heads: int) -> tuple[Any, Any]:
        out, weights = heads(x, w_q, w_k, w_v, n_heads)
        return merge(out), weights

    def w_o_turned(x: Any, w_q: Any, w_k: Any, w_v: Any, w_o: Any, n_heads: int) -> tuple[Any, Any]:
        out, weights = heads(x, w_q, w_k, w_v, n_heads)
        return merge(out) @ xp.swapaxes(w_o, -1, -2), weights

    def unscaled(x: Any, w_q: Any, w_k: Any, w_v: Any, w_o: Any, n_heads: int) -> tuple[Any, Any]:
        out, weights = heads(x, w_q, w_k, w_v, n_heads, scale=1.0)
        return merge(out) @ w_o, weights

    def plain_split(x: Any, w_q: Any, w_k: Any, w_v: Any, w_o: Any, n_heads: int) -> tuple[Any, Any]:
        t, d_head = x.shape[0], x.shape[1] // n_heads
        cut = [xp.reshape(x @ w, (n_heads, t, d_head)) for w in (w_q, w_k, w_v)]  # runs of tokens, not features
        out, weights = sdpa(*cut)
        return merge(out) @ w_o, weights

    check_function(
        func, reference, cases, name="my_multi_head_attention()", returns=("out", "weights"),
        forbid=Forbidden("for multi-head attention assembled from its steps (split_heads, "
                         "scaled_dot_product_attention and merge_heads are fine)", library=["multi_head_attention"]),
        mistakes=[
            Mistake("scaling by 1/√d_model: each head compares vectors of length d_head, so its scale is 1/√d_head",
                    wide_scale),
            Mistake("scaling by 1/d_head: the scale is 1/√d_head, one over the square root of each head's width",
                    no_root),
            Mistake("heads merged by a plain reshape of (n_heads, T, d_head): that mixes up tokens; the head axis "
                    "must move back next to the features first", plain_merge),
            Mistake("the merged heads without the output projection W_o", no_w_o),
            Mistake("W_o transposed: like W_q, W_k and W_v, it has one row per feature it reads", w_o_turned),
            Mistake("heads without the 1/√d_head scaling of their scores", unscaled),
            Mistake("heads split by a plain reshape to (n_heads, T, d_head): a head then gets runs of consecutive "
                    "tokens' features, not its own slice of every token's features; split the features, then "
                    "move the head axis to the front", plain_split),
        ],
        hint="project, split into heads, attend in every head, merge, project with W_o; "
             "the weights are (n_heads, T, T)")
