"""Checks for Part III, notebooks 12–13: learning attention (backward passes) and attention at scale."""

from __future__ import annotations

from typing import Any, Callable

from .. import attention, grad
from ..backend import namespace
from .part2 import _random_cases
from .verdict import Forbidden, Mistake, check_function

__all__ = [
    "check_softmax_backward",
    "check_weighted_sum_backward",
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
            Mistake("the sum Σ p g taken down the columns (axis 0) instead of along each row (the last axis)",
                    lambda p, g: p * (g - swapped(xp.sum(swapped(p * g), axis=-1, keepdims=True)))),
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
            Mistake("grad_weights without the transpose of v: grad_out @ v; out_i = Σ_j w_ij v_j, so ∂L/∂w_ij is "
                    "grad_out_i · v_j, a row of grad_out against a ROW of v", lambda w, v, g: (g @ v, t(w) @ g)),
            Mistake("grad_v without the transpose of the weights: weights @ grad_out; value j is used by every query i "
                    "with weight w_ij, so its gradient sums over the queries", lambda w, v, g: (g @ t(v), w @ g)),
            Mistake("both gradients without their transposes", lambda w, v, g: (g @ v, w @ g)),
            Mistake("the factors of each product in the wrong order (vᵀ @ grad_out, grad_out @ weightsᵀ)",
                    lambda w, v, g: (t(v) @ g, g @ t(w))),
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
