"""Checks for Part III, notebooks 12–13: learning attention (backward passes) and attention at scale."""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy

from .. import attention, backend, grad, tiled
from ..backend import namespace
from .part2 import _random_cases
from .verdict import Forbidden, Mistake, check_function, judge_prediction, never_raises

__all__ = [
    "check_softmax_backward",
    "check_weighted_sum_backward",
    "check_attention_cost",
    "check_online_softmax_update",
]


# ---------------------------------------------------------------- notebook 12: learning attention


def _softmax_cases() -> list[tuple]:
    """(weights, grad_weights) pairs: a vector, a square matrix (where a sum lined up with the wrong axis
    still runs, so it can be named), a wide one, and a batch."""
    cases = []
    for scores, grad_weights in _random_cases(12, [[(5,), (5,)], [(4, 4), (4, 4)], [(3, 6), (3, 6)], [(2, 3, 5), (2, 3, 5)]]):
        cases.append((attention.softmax(2.0 * scores), grad_weights))
    return cases


def check_softmax_backward(func: Callable[..., Any]) -> None:
    """12: func(weights, grad_weights) -> grad_scores along the last axis, p ⊙ (g − Σ p g).
    Refused: course_lib.grad's softmax_backward."""
    xp = namespace()
    swapped = lambda x: xp.swapaxes(x, -1, -2) if x.ndim > 1 else x  # noqa: E731 - a sum taken over the other axis

    def expected_pg(p: Any, g: Any) -> Any:
        return xp.sum(p * g, axis=-1, keepdims=True)  # Σ_j p_j g_j, one per row

    check_function(
        func, grad.softmax_backward, _softmax_cases(), name="my_softmax_backward()",
        forbid=Forbidden("for the gradient computed from the formula p ⊙ (p̄ − Σ p p̄), not measured or looked up",
                         library=["softmax_backward", "numerical_gradient"]),
        mistakes=[
            Mistake("the Jacobian's diagonal only, p_i (1 − p_i) g_i: each score also moves every OTHER weight "
                    "(the −p_i p_j off the diagonal)", lambda p, g: p * (1 - p) * g),
            Mistake("a sign flipped: the off-diagonal entries of the Jacobian are −p_i p_j, so the sum is subtracted",
                    lambda p, g: p * (g + expected_pg(p, g))),
            Mistake("the whole gradient with the wrong sign", lambda p, g: -grad.softmax_backward(p, g)),
            Mistake("g − Σ p g without the factor p_i in front: the Jacobian's row i carries p_i",
                    lambda p, g: g - expected_pg(p, g)),
            Mistake("p ⊙ g alone: the softmax is not applied entry by entry, each weight depends on every score",
                    lambda p, g: p * g),
            Mistake(columns := "the sum Σ p g taken down the columns (axis -2; axis 0 of a matrix) instead of along "
                               "each row (the last axis, axis=-1)",
                    lambda p, g: p * (g - swapped(xp.sum(swapped(p * g), axis=-1, keepdims=True)))),
            Mistake(columns, lambda p, g: p * (g - xp.sum(p * g, axis=0, keepdims=True))),  # axis=0 as written
            Mistake("the row sums Σ p g lined up with the wrong axis: keep the summed axis (keepdims=True) so each row "
                    "subtracts its own sum", lambda p, g: p * (g - xp.sum(p * g, axis=-1)[..., None, :])),
            Mistake("Σ_j p̄_j without the weights: the sum in the formula is Σ_j p_j p̄_j",
                    lambda p, g: p * (g - xp.sum(g, axis=-1, keepdims=True))),
            Mistake("one sum over the whole array: each row (each query) subtracts its own Σ_j p_j p̄_j",
                    lambda p, g: p * (g - xp.sum(p * g))),
            Mistake("a mean where the formula has a sum, Σ_j p_j p̄_j",
                    lambda p, g: p * (g - xp.mean(p * g, axis=-1, keepdims=True))),
        ],
        hint="each row of the answer must sum to 0 (adding a constant to every score changes no weight); "
             "the Jacobian of notebook 04 gives ∂L/∂s_i = Σ_j g_j ∂p_j/∂s_i",
    )


def _weighted_sum_cases() -> list[tuple]:
    """(weights, v, grad_out): square and cubic ones first (where a missing transpose, or `.T` on a batch,
    still runs, so it can be named), then T_q ≠ T_k ≠ d_v, then a batch."""
    shapes = [[(3, 3)] * 3, [(3, 3, 3)] * 3, [(2, 4), (4, 3), (2, 3)], [(2, 3, 5), (2, 5, 4), (2, 3, 4)]]
    return [(attention.softmax(w), v, g) for w, v, g in _random_cases(13, shapes)]


def check_weighted_sum_backward(func: Callable[..., Any]) -> None:
    """12: func(weights, v, grad_out) -> (grad_weights, grad_v) for out = weights @ v.
    Refused: course_lib.grad's attention_backward."""
    xp = namespace()
    t = lambda x: xp.swapaxes(x, -1, -2)  # noqa: E731 - the transpose of the last two axes
    reverse = lambda x: xp.permute_dims(x, tuple(range(x.ndim))[::-1])  # noqa: E731 - what .T does

    def reference(weights: Any, v: Any, grad_out: Any) -> tuple[Any, Any]:
        return grad_out @ t(v), t(weights) @ grad_out

    check_function(
        func, reference, _weighted_sum_cases(), name="my_weighted_sum_backward()",
        returns=("grad_weights", "grad_v"),
        forbid=Forbidden("for the two gradients written out from out = weights @ v",
                         library=["attention_backward", "numerical_gradient"]),
        mistakes=[
            Mistake(no_v_t := "grad_weights without the transpose of v: grad_out @ v; out_i = Σ_j w_ij v_j, so "
                              "∂L/∂w_ij is grad_out_i · v_j, a row of grad_out against a ROW of v",
                    lambda w, v, g: (g @ v, t(w) @ g)),
            Mistake(no_v_t, lambda w, v, g: (g @ v, reverse(w) @ g)),  # with w.T, which a batch shows apart
            Mistake(no_w_t := "grad_v without the transpose of the weights: weights @ grad_out; value j is used by "
                              "every query i with weight w_ij, so its gradient sums over the queries",
                    lambda w, v, g: (g @ t(v), w @ g)),
            Mistake(no_w_t, lambda w, v, g: (g @ reverse(v), w @ g)),
            Mistake("both gradients without their transposes", lambda w, v, g: (g @ v, w @ g)),
            Mistake(order := "the factors of each product in the wrong order (vᵀ @ grad_out, grad_out @ weightsᵀ)",
                    lambda w, v, g: (t(v) @ g, g @ t(w))),
            Mistake(order, lambda w, v, g: (reverse(v) @ g, g @ reverse(w))),
            Mistake(".T on a batch: it reverses EVERY axis, which mixes up the batch axes; swap only the last two",
                    lambda w, v, g: (g @ reverse(v), reverse(w) @ g)),
            Mistake(".T on a batch (for v): it reverses EVERY axis, which mixes up the batch axes; swap only the last two",
                    lambda w, v, g: (g @ reverse(v), t(w) @ g)),
            Mistake(".T on a batch (for the weights): it reverses EVERY axis, which mixes up the batch axes; swap only "
                    "the last two", lambda w, v, g: (g @ t(v), reverse(w) @ g)),
        ],
        hint="a gradient has the shape of what it is the gradient of: grad_weights (..., T_q, T_k), grad_v "
             "(..., T_k, d_v); write out_i = Σ_j w_ij v_j and ask which terms each entry touches",
    )


# ---------------------------------------------------------------- notebook 13: attention at scale


@never_raises
def check_attention_cost(scores_mib: Any, gflop: Any) -> None:
    """13: for 8 heads of T = 8192 tokens with d = 64 in float32, the MiB that all the heads' scores take at once
    and the GFLOP (10**9 operations) of the whole attention, 4 * B * T**2 * d. A wrong number is told which slip it
    looks like, never the expected number: the exercise is the prediction."""
    heads, t, d = 8, 8192, 64
    expected_mib = heads * t * t * 4 / 2**20  # float32: 4 bytes per score
    expected_gflop = 4 * heads * t * t * d / 1e9

    judge_prediction(scores_mib, expected_mib, name="scores_mib", rtol=5e-3, mistakes={
        expected_mib / heads: "that is one head's scores; all 8 heads' scores exist at once",
        expected_mib * 2: "twice the answer: 8 bytes a score (float64), or the scores and the weights together; the "
                          "question asks for the scores alone, in float32",
        expected_mib / 1024: "that is in GiB (2**30 bytes); the question asks for MiB (2**20 bytes)",
        expected_mib * 2**20 / 1e9: "that is in GB (10**9 bytes); the question asks for MiB (2**20 bytes)",
        expected_mib / 4: "a quarter of the answer: one byte per score (a float32 number takes 4), or one head's "
                          "scores counted twice (in float64, or with its weights); the question asks for all 8 "
                          "heads' scores, in float32",
        expected_mib * 2**20 / 1e6: "that is in MB (10**6 bytes); a MiB is 2**20 = 1 048 576 bytes",
        expected_mib * 2**20: "that is in bytes; a MiB is 2**20 bytes",
        heads * t * d * 4 / 2**20: "that is the size of q (T × d per head), not of the scores (T × T per head)",
        expected_mib * d: "that counts T × T × d numbers per head: d is summed over inside each dot product, so one "
                          "score is one number and a head's scores are T × T",
    }, hint="the scores of one head are a T × T array; count the numbers, then the bytes, then divide by 2**20")
    judge_prediction(gflop, expected_gflop, name="gflop", rtol=5e-3, mistakes={
        expected_gflop / 2: "that counts only QKᵀ, or a multiply–add as one operation; 4 * B * T**2 * d counts both "
                            "products, a multiplication and an addition each",
        expected_gflop / heads: "that is one head's work; the 8 heads each do it",
        expected_gflop * 1e9: "that is in operations; a GFLOP is 10**9 of them",
        expected_gflop * 1e3: "that is in MFLOP (10**6 operations); a GFLOP is 10**9 of them",
        expected_gflop / 4: "that is B * T**2 * d; the formula is 4 * B * T**2 * d",
        expected_gflop / d: "that leaves out d: each of the T**2 scores is a dot product over d = 64 numbers, and each "
                            "weight multiplies a value row of length d",
        expected_gflop * 1e9 / 2**30: "that divides by 2**30; a GFLOP is 10**9 operations",
    }, hint="the question's count of operations, with its B (heads), T and d, then in units of 10**9")


def _online_cases() -> list[tuple]:
    """(m, l, acc, scores, v): a first block (no key seen yet), a block whose maximum beats the old one (where
    a missing rescale shows), one whose maximum does not, a batch, and last a query that has seen no key and
    whose whole block is masked (where exp(−inf − (−inf)) = NaN shows)."""
    rng = numpy.random.default_rng(13)
    asarray = backend.asarray
    cases = []
    for shape, old_max in (((3, 4, 2), None), ((3, 4, 2), -1.0), ((2, 5, 3), 4.0), ((2, 3, 4, 2), 0.5)):
        *batch, t_q, b_k, d_v = shape
        scores = rng.normal(size=(*batch, t_q, b_k)) * 2 + 1
        v = rng.normal(size=(*batch, b_k, d_v))
        if old_max is None:  # the first block: the starting state
            m, l, acc = numpy.full((*batch, t_q), -math.inf), numpy.zeros((*batch, t_q)), numpy.zeros((*batch, t_q, d_v))
        else:
            m = numpy.full((*batch, t_q), old_max) + rng.normal(size=(*batch, t_q)) * 0.1
            l = rng.uniform(1.0, 3.0, size=(*batch, t_q))
            acc = rng.normal(size=(*batch, t_q, d_v)) * l[..., None]
        cases.append(tuple(asarray(a) for a in (m, l, acc, scores, v)))
    scores = rng.normal(size=(3, 4))
    scores[0] = -math.inf  # query 0: this whole block is masked ...
    scores[1, 2:] = -math.inf  # query 1: half of it
    m, l, acc = numpy.array([-math.inf, 0.3, -math.inf]), numpy.array([0.0, 1.5, 0.0]), numpy.zeros((3, 2))  # ... and it saw no key before
    acc[1] = [0.4, -0.2]
    cases.append(tuple(asarray(a) for a in (m, l, acc, scores, rng.normal(size=(4, 2)))))
    return cases


def check_online_softmax_update(func: Callable[..., Any]) -> None:
    """13: func(m, l, acc, scores, v) -> (m, l, acc) after one more block of keys (the online softmax).
    Refused: course_lib.tiled's online_softmax_update and tiled_attention."""
    xp = namespace()
    exp, maximum, top = xp.exp, xp.maximum, lambda s: xp.max(s, axis=-1)  # noqa: E731

    def safe(m_new: Any) -> Any:
        return xp.where(m_new == -math.inf, xp.zeros_like(m_new), m_new)

    def naive(m: Any, l: Any, acc: Any, s: Any, v: Any) -> tuple[Any, Any, Any]:  # right, except where m_new = −inf
        m_new = maximum(m, top(s))
        p, r = exp(s - m_new[..., None]), exp(m - m_new)
        return m_new, r * l + xp.sum(p, axis=-1), r[..., None] * acc + p @ v

    def variant(m: Any, l: Any, acc: Any, s: Any, v: Any, *, rescale_l: bool = True, rescale_acc: bool = True,
                flipped: bool = False, block_max: bool = False) -> tuple[Any, Any, Any]:
        m_new = top(s) if block_max else maximum(m, top(s))
        m_safe = safe(m_new)
        p = exp(s - m_safe[..., None])
        r = exp(m_safe - m) if flipped else exp(m - m_safe)
        return (m_new, (r if rescale_l else 1.0) * l + xp.sum(p, axis=-1),
                (r[..., None] if rescale_acc else 1.0) * acc + p @ v)

    def old_m_returned(m: Any, l: Any, acc: Any, s: Any, v: Any) -> tuple[Any, Any, Any]:
        _, l_new, acc_new = tiled.online_softmax_update(m, l, acc, s, v)
        return m, l_new, acc_new

    def old_m_throughout(m: Any, l: Any, acc: Any, s: Any, v: Any) -> tuple[Any, Any, Any]:
        p = exp(s - m[..., None])
        return m, l + xp.sum(p, axis=-1), acc + p @ v

    def normalised(m: Any, l: Any, acc: Any, s: Any, v: Any) -> tuple[Any, Any, Any]:
        m_new, l_new, acc_new = tiled.online_softmax_update(m, l, acc, s, v)
        return m_new, l_new, acc_new / xp.where(l_new == 0, xp.ones_like(l_new), l_new)[..., None]

    check_function(
        func, tiled.online_softmax_update, _online_cases(), name="my_online_softmax_update()",
        returns=("m", "l", "acc"),
        forbid=Forbidden("for the update written out: new maximum, rescale, add this block",
                         library=["online_softmax_update", "tiled_attention"]),
        mistakes=[
            Mistake("m not updated: the m you return is the one passed in, but l and acc are now sums of exp(score − "
                    "the new maximum); the next block starts from your m, so it must be the largest score over every "
                    "key seen so far, this block included", old_m_returned),
            Mistake("m not updated: this block's exponentials are taken against the old m (−inf before the first "
                    "block, where exp(score − m) is inf), and the m you return is the one passed in; m must become the "
                    "largest score over every key seen so far, this block included", old_m_throughout),
            Mistake("the old l and acc not rescaled: they were sums of exp(score − m_old); once the maximum grows "
                    "they must be multiplied by exp(m_old − m_new) to be sums of exp(score − m_new), as this block's "
                    "terms are",
                    lambda *a: variant(*a, rescale_l=False, rescale_acc=False)),
            Mistake("acc not rescaled: l was moved onto the new maximum but acc, a sum over the same keys, was not",
                    lambda *a: variant(*a, rescale_acc=False)),
            Mistake("l not rescaled: acc was moved onto the new maximum but l, a sum over the same keys, was not",
                    lambda *a: variant(*a, rescale_l=False)),
            Mistake("the rescaling factor upside down: exp(m_old − m_new) is at most 1, it shrinks the old sums",
                    lambda *a: variant(*a, flipped=True)),
            Mistake("the new maximum taken over this block only: m must be the largest score over every key seen so far",
                    lambda *a: variant(*a, block_max=True)),
            Mistake("acc divided by l at each step: keep acc a sum, exp(score − m) · v, and divide once, after the "
                    "last block", normalised),
            Mistake("NaN for a query that has seen no key yet: with m_new = −inf, both exp(score − m_new) and the "
                    "rescale exp(m − m_new) are exp(−inf − (−inf)) = NaN; use 0 in place of an m_new of −inf in "
                    "both (as course_lib's softmax does for a fully masked row)", naive),
        ],
        hint="after the update, for the m you return, l must be the sum of exp(score − m) and acc the sum of "
             "exp(score − m) · v over every key seen so far, this block included; the two-block example above the "
             "exercise does it for one query",
    )
