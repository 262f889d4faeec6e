"""The checks of Part III (notebooks 12-13): each verdict fires — right, placeholder, every refused
shortcut, every named mistake — and no wrong answer is told the solution."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest

from course_lib import exercises, grad, softmax, tiled
from conftest import assert_wrong, placeholder, run

pytestmark = pytest.mark.usefixtures("numpy_backend")


# ---------------------------------------------------------------- 12: the softmax backward


def softmax_backward(p, g):
    return p * (g - np.sum(p * g, axis=-1, keepdims=True))


def by_the_jacobian(p, g):
    """The slow, right route: build J = diag(p) − p pᵀ for every row."""
    out = np.empty_like(p)
    for row in np.ndindex(*p.shape[:-1]):
        out[row] = (np.diag(p[row]) - np.outer(p[row], p[row])) @ g[row]
    return out


def test_softmax_backward(capsys):
    assert run(capsys, exercises.check_softmax_backward, softmax_backward).startswith("✅ Correct")
    assert run(capsys, exercises.check_softmax_backward, by_the_jacobian).startswith("✅ Correct")
    assert run(capsys, exercises.check_softmax_backward, placeholder).startswith("⏳ Not attempted yet")
    assert run(capsys, exercises.check_softmax_backward, ...).startswith("⏳ Not attempted yet")


def measured(p, g):
    """The gradient measured by finite differences instead of computed: the referee used as the answer."""
    return grad.numerical_gradient(lambda s: np.sum(softmax(s) * g), np.log(p))


@pytest.mark.parametrize("shortcut, says", [
    (grad.softmax_backward, "`softmax_backward`"),
    (lambda p, g: grad.softmax_backward(p, g), "`softmax_backward`"),
    (measured, "`numerical_gradient`"),
], ids=["itself", "called", "finite differences"])
def test_softmax_backward_refuses_the_library(capsys, shortcut, says):
    assert_wrong(run(capsys, exercises.check_softmax_backward, shortcut),
                 f"course_lib's {says}", "the gradient computed from the formula")


def test_a_right_answer_in_float32_is_right(capsys):
    check = exercises.check_softmax_backward
    assert run(capsys, check, lambda p, g: softmax_backward(p.astype(np.float32), g.astype(np.float32))).startswith("✅")
    twice = lambda w, v, g: weighted_sum_backward(*(a.astype(np.float32) for a in (w, v, g)))  # noqa: E731
    assert run(capsys, exercises.check_weighted_sum_backward, twice).startswith("✅")
    wrong = lambda w, v, g: weighted_sum_backward(*(a.astype(np.float32) for a in (w, 1.001 * v, g)))  # noqa: E731
    assert_wrong(run(capsys, exercises.check_weighted_sum_backward, wrong), "`grad_weights` differs")


@pytest.mark.parametrize("mistake, says", [
    (lambda p, g: p * (1 - p) * g, "the Jacobian's diagonal only"),
    (lambda p, g: p * (g + np.sum(p * g, axis=-1, keepdims=True)), "a sign flipped"),
    (lambda p, g: -softmax_backward(p, g), "the whole gradient with the wrong sign"),
    (lambda p, g: g - np.sum(p * g, axis=-1, keepdims=True), "without the factor p_i in front"),
    (lambda p, g: p * g, "p ⊙ g alone"),
    (lambda p, g: p * (g - np.sum(p * g, axis=0, keepdims=True)), "taken down the columns"),
    # right on a vector and a matrix, wrong on the batch (axis 1 of (B, T, T) is its columns): named as such
    (lambda p, g: p * (g - np.sum(p * g, axis=1 if p.ndim > 1 else 0, keepdims=True)), "down the columns (axis -2"),
    (lambda p, g: p * (g - np.sum(p * g, axis=-1)), "lined up with the wrong axis"),
    (lambda p, g: p * (g - g.sum(-1, keepdims=True)), "Σ_j p̄_j without the weights"),
    (lambda p, g: p * (g - (p * g).sum()), "one sum over the whole array"),
    (lambda p, g: p * (g - (p * g).mean(-1, keepdims=True)), "a mean where the formula has a sum"),
])
def test_softmax_backward_names_mistakes(capsys, mistake, says):
    out = run(capsys, exercises.check_softmax_backward, mistake)
    assert_wrong(out, "this looks like ", says)
    assert "np.sum" not in out and "keepdims=True) so" not in out.split("Hint")[-1]


def test_softmax_backward_other_wrong_answers_get_the_hint(capsys):
    assert_wrong(run(capsys, exercises.check_softmax_backward, lambda p, g: p * (g - 0.5)),
                 "each row of the answer must sum to 0")
    assert_wrong(run(capsys, exercises.check_softmax_backward, lambda p, g: p[..., :-1]), "expected shape (5,), got shape (4,)")


# ---------------------------------------------------------------- 12: the gradient of the weighted sum


def T(x):
    return np.swapaxes(x, -1, -2)


def weighted_sum_backward(weights, v, grad_out):
    return grad_out @ T(v), T(weights) @ grad_out


def test_weighted_sum_backward(capsys):
    check = exercises.check_weighted_sum_backward
    assert run(capsys, check, weighted_sum_backward).startswith("✅ Correct")
    assert run(capsys, check, lambda w, v, g: list(weighted_sum_backward(w, v, g))).startswith("✅ Correct")
    einsum = lambda w, v, g: (np.einsum("...id,...jd->...ij", g, v), np.einsum("...ij,...id->...jd", w, g))  # noqa: E731
    assert run(capsys, check, einsum).startswith("✅ Correct")
    assert run(capsys, check, placeholder).startswith("⏳ Not attempted yet")


def test_weighted_sum_backward_refuses_attention_backward(capsys):
    def shortcut(weights, v, grad_out):
        grad.attention_backward(np.ones((1, 1)), np.ones((1, 1)), np.ones((1, 1)), np.ones((1, 1)))
        return weighted_sum_backward(weights, v, grad_out)

    assert_wrong(run(capsys, exercises.check_weighted_sum_backward, shortcut),
                 "course_lib's `attention_backward`", "the two gradients written out")


@pytest.mark.parametrize("mistake, says", [
    (lambda w, v, g: (g @ v, T(w) @ g), "grad_weights without the transpose of v"),
    (lambda w, v, g: (g @ T(v), w @ g), "grad_v without the transpose of the weights"),
    (lambda w, v, g: (g @ v, w @ g), "both gradients without their transposes"),
    (lambda w, v, g: (T(v) @ g, g @ T(w)), "the factors of each product in the wrong order"),
    (lambda w, v, g: (T(w) @ g, g @ T(v)), "the right arrays in the wrong order: return (grad_weights, grad_v)"),
    (lambda w, v, g: (g @ v.T, w.T @ g), ".T on a batch: "),
    (lambda w, v, g: (g @ v.T, T(w) @ g), ".T on a batch (for v)"),
    (lambda w, v, g: (g @ T(v), w.T @ g), ".T on a batch (for the weights)"),
])
def test_weighted_sum_backward_names_mistakes(capsys, mistake, says):
    assert_wrong(run(capsys, exercises.check_weighted_sum_backward, mistake), "this looks like ", says)


def test_weighted_sum_backward_other_wrong_answers(capsys):
    check = exercises.check_weighted_sum_backward
    assert_wrong(run(capsys, check, lambda w, v, g: weighted_sum_backward(w, v, g)[0]), "expected it to return 2 values")
    assert_wrong(run(capsys, check, lambda w, v, g: (g @ T(v), 2 * T(w) @ g)), "`grad_v` differs",
                 "a gradient has the shape of what it is the gradient of")


# ---------------------------------------------------------------- 13: the online-softmax update


def update(m, l, acc, scores, v, *, rescale_l=True, rescale_acc=True, flipped=False, block_max=False, safe=True,
           normalise=False):
    """The update, with switches for the typical slips."""
    m_new = scores.max(-1) if block_max else np.maximum(m, scores.max(-1))
    shift = np.where(np.isneginf(m_new), 0.0, m_new) if safe else m_new
    with np.errstate(invalid="ignore"):
        p = np.exp(scores - shift[..., None])
        r = np.exp(shift - m) if flipped else np.exp(m - shift)
    l_new = (r if rescale_l else 1.0) * l + p.sum(-1)
    acc_new = (r[..., None] if rescale_acc else 1.0) * acc + p @ v
    if normalise:
        acc_new = acc_new / np.where(l_new == 0, 1.0, l_new)[..., None]
    return m_new, l_new, acc_new


def test_online_softmax_update(capsys):
    check = exercises.check_online_softmax_update
    assert run(capsys, check, update).startswith("✅ Correct")
    assert run(capsys, check, lambda *a: list(update(*a))).startswith("✅ Correct")
    assert run(capsys, check, placeholder).startswith("⏳ Not attempted yet")


@pytest.mark.parametrize("shortcut, says", [
    (tiled.online_softmax_update, "`online_softmax_update` itself"),
    (lambda *a: tiled.online_softmax_update(*a), "`online_softmax_update`"),
], ids=["itself", "called"])
def test_online_softmax_update_refuses_the_library(capsys, shortcut, says):
    assert_wrong(run(capsys, exercises.check_online_softmax_update, shortcut), f"course_lib's {says}",
                 "the update written out")


@pytest.mark.parametrize("switches, says", [
    ({"rescale_l": False, "rescale_acc": False}, "the old l and acc not rescaled"),
    ({"rescale_acc": False}, "acc not rescaled"),
    ({"rescale_l": False}, "l not rescaled"),
    ({"flipped": True}, "the rescaling factor upside down"),
    ({"block_max": True}, "the new maximum taken over this block only"),
    ({"normalise": True}, "acc divided by l at each step"),
    ({"safe": False}, "NaN for a query that has seen no key yet"),
])
def test_online_softmax_update_names_mistakes(capsys, switches, says):
    out = run(capsys, exercises.check_online_softmax_update, lambda *a: update(*a, **switches))
    assert_wrong(out, "this looks like ", says)


def test_online_softmax_update_other_wrong_answers_get_the_hint(capsys):
    out = run(capsys, exercises.check_online_softmax_update, lambda m, l, acc, s, v: (m, l, acc))
    assert_wrong(out, "`m` differs", "a −inf, such as a mask's or a starting value's, that no step of yours replaced",
                 "Hint: after the update, for the m you return, l must be the sum of exp(score − m)")
    assert "overflow" not in out


def old_m_returned(m, l, acc, scores, v):
    """Right l and acc, but the m passed in is returned: the in-place learner's slip."""
    m_new, l_new, acc_new = update(m, l, acc, scores, v)
    return m, l_new, acc_new


def old_m_throughout(m, l, acc, scores, v):
    """No new maximum at all: the block's exponentials against the old m, which is returned."""
    with np.errstate(over="ignore", invalid="ignore"):
        p = np.exp(scores - m[..., None])
        return m, l + p.sum(-1), acc + p @ v


@pytest.mark.parametrize("mistake", [old_m_returned, old_m_throughout])
def test_online_softmax_update_names_m_not_updated(capsys, mistake):
    out = run(capsys, exercises.check_online_softmax_update, mistake)
    assert_wrong(out, "this looks like m not updated", "the m you return is the one passed in")
    assert "overflow" not in out and "0 / 0" not in out


def test_online_softmax_update_names_mistakes_written_in_place(capsys):
    def acc_not_rescaled(m, l, acc, scores, v):
        m_new = np.maximum(m, scores.max(-1))
        shift = np.where(np.isneginf(m_new), 0.0, m_new)
        p = np.exp(scores - shift[..., None])
        l *= np.exp(m - shift)
        l += p.sum(-1)
        acc += p @ v  # the slip: acc not rescaled, in place on the learner's state
        return m_new, l, acc

    assert_wrong(run(capsys, exercises.check_online_softmax_update, acc_not_rescaled), "this looks like acc not rescaled")


# ---------------------------------------------------------------- 13: the cost, predicted


def test_attention_cost(capsys):
    check = exercises.check_attention_cost
    out = run(capsys, lambda a: check(*a), (2048, 137.438953472))
    assert out.count("✅ Correct") == 2, out
    out = run(capsys, lambda a: check(*a), (np.float32(2048.0), 137))  # a prediction rounded to a whole GFLOP
    assert out.count("✅ Correct") == 2, out
    out = run(capsys, lambda a: check(*a), (..., ...))
    assert out.count("⏳ Not attempted yet") == 2, out


@pytest.mark.parametrize("mib, gflop", [
    (2048, np.float64(137.438953472)), (np.int64(2048), 137.438953472), (2048.0, 137.4), (Fraction(2048), 137.44),
    (np.asarray(2048.0), np.float32(137.43895)), (8 * 8192 * 8192 * 4 // 2**20, 4 * 8 * 8192**2 * 64 / 10**9),
], ids=["int, NumPy float", "NumPy int, float", "float, rounded", "fraction", "0-d array, float32", "ints"])
def test_attention_cost_right_in_every_natural_form(capsys, mib, gflop):
    out = run(capsys, lambda a: exercises.check_attention_cost(*a), (mib, gflop))
    assert out.count("✅ Correct") == 2, out


@pytest.mark.parametrize("mib, says", [
    (256, "one head's scores"), (4096, "or the scores and the weights together"), (512, "one byte per score"), (512, "one head's scores counted twice"),
    (2, "in GiB"), (2.147483648, "in GB"),
    (2147.483648, "MB (10**6 bytes)"), (2048 * 2**20, "in bytes"), (16, "the size of q"),
    (1000, "the scores of one head are a T × T array"),
    (131072, "that counts T × T × d numbers per head"), (8 * 8192 * 8192 * 64 * 4 / 2**20, "T × T × d"),
])
def test_attention_cost_names_memory_mistakes(capsys, mib, says):
    out = run(capsys, lambda a: exercises.check_attention_cost(*a), (mib, 137.438953472))
    assert "❌ Not yet: scores_mib" in out and says in out, out
    assert "2048" not in out.replace(str(mib), ""), "the verdict never prints the expected number"


@pytest.mark.parametrize("gflop, says", [
    (68.719476736, "counts only QKᵀ"), (17.179869184, "one head's work"), (137.438953472e9, "in operations"),
    (34.359738368, "that is B * T**2 * d"), (128, "divides by 2**30"), (1.0, "with its B (heads), T and d"),
    (4 * 8 * 8192**2 / 1e9, "that leaves out d"), (2.147, "that leaves out d"),
    (4 * 8 * 8192**2 * 64 / 1e6, "that is in MFLOP (10**6 operations)"), (137439, "in MFLOP"),
])
def test_attention_cost_names_work_mistakes(capsys, gflop, says):
    out = run(capsys, lambda a: exercises.check_attention_cost(*a), (2048, gflop))
    assert "❌ Not yet: gflop" in out and says in out, out
    assert "137.4" not in out.replace(str(gflop), ""), "the verdict never prints the expected number"



# ---------------------------------------------------------------- a right answer in every natural form
# Written in place (on the learner's own intermediates, and on the inputs where that comes naturally), as a
# loop, with einsum, returned as a list: each is right, and the check says so.


def _softmax_backward_in_place(p, g):
    g -= np.sum(p * g, axis=-1, keepdims=True)  # the learner's own grad_weights, changed in place
    g *= p
    return g


def _softmax_backward_einsum(p, g):
    return p * (g - np.einsum("...j,...j->...", p, g)[..., None])


def _weighted_sum_backward_loop(weights, v, grad_out):
    grad_weights, grad_v = np.zeros_like(weights), np.zeros_like(v)
    for i in range(weights.shape[-2]):  # out_i = Σ_j w_ij v_j
        for j in range(weights.shape[-1]):
            grad_weights[..., i, j] = np.sum(grad_out[..., i, :] * v[..., j, :], axis=-1)
            grad_v[..., j, :] += weights[..., i, j, None] * grad_out[..., i, :]
    return [grad_weights, grad_v]


def _online_in_place(m, l, acc, scores, v):
    """The update written in place on the running state, as the issue's learner wrote it."""
    m_new = np.maximum(m, scores.max(axis=-1))
    shift = np.where(np.isneginf(m_new), 0.0, m_new)
    p = np.exp(scores - shift[..., None])
    r = np.exp(m - shift)
    acc *= r[..., None]
    acc += p @ v
    l *= r
    l += p.sum(-1)
    return m_new, l, acc


def _online_in_place_on_m(m, l, acc, scores, v):
    m_old = m.copy()
    np.maximum(m, scores.max(axis=-1), out=m)  # m itself becomes the new maximum
    shift = np.where(m == -np.inf, 0, m)
    p = np.exp(scores - shift[..., None])
    with np.errstate(invalid="ignore"):
        r = np.exp(m_old - shift)
    return [m, r * l + p.sum(-1), r[..., None] * acc + np.einsum("...qk,...kd->...qd", p, v)]


def _online_nan_to_zero(m, l, acc, scores, v):
    m_new = np.maximum(m, scores.max(axis=-1))
    p = np.exp(scores - m_new[..., None])  # nan where m_new = −inf ...
    r = np.exp(m - m_new)
    p[np.isnan(p)] = 0.0  # ... set to 0, in place
    r[np.isnan(r)] = 0.0
    return m_new, r * l + p.sum(-1), r[..., None] * acc + p @ v


def _online_loop(m, l, acc, scores, v):
    m, l, acc, scores = m.copy(), l.copy(), acc.copy(), scores
    for row in np.ndindex(*m.shape):  # one query at a time, batch axes too
        s = scores[row]
        m_new = max(m[row], s.max())
        if m_new == -np.inf:
            continue  # no key seen yet: nothing to add
        r = math.exp(m[row] - m_new)
        p = np.exp(s - m_new)
        l[row] = r * l[row] + p.sum()
        acc[row] = r * acc[row] + p @ v[row[:-1]]
        m[row] = m_new
    return m, l, acc


NATURAL = [
    (exercises.check_softmax_backward, _softmax_backward_in_place),
    (exercises.check_softmax_backward, _softmax_backward_einsum),
    (exercises.check_softmax_backward, lambda p, g: by_the_jacobian(p, g).tolist()),
    (exercises.check_weighted_sum_backward, _weighted_sum_backward_loop),
    (exercises.check_weighted_sum_backward, lambda w, v, g: (np.matmul(g, np.moveaxis(v, -1, -2)),
                                                             (T(w) @ g).tolist())),
    (exercises.check_online_softmax_update, _online_in_place),
    (exercises.check_online_softmax_update, _online_in_place_on_m),
    (exercises.check_online_softmax_update, _online_nan_to_zero),
    (exercises.check_online_softmax_update, _online_loop),
]


@pytest.mark.parametrize("check, answer", NATURAL, ids=lambda f: f.__name__.strip("_<>").removeprefix("check_"))
def test_a_right_answer_is_right_in_every_natural_form(capsys, check, answer):
    out = run(capsys, check, answer)
    assert out.startswith("✅ Correct"), out


@pytest.mark.parametrize("mistake, says", [
    (lambda w, v, g: (g @ v, w.T @ g), "grad_weights without the transpose of v"),
    (lambda w, v, g: (g @ v.T, w @ g), "grad_v without the transpose of the weights"),
    (lambda w, v, g: (v.T @ g, g @ w.T), "the factors of each product in the wrong order"),
])
def test_weighted_sum_backward_names_a_mistake_written_with_dot_t(capsys, mistake, says):
    """.T is right on the square first input and reverses every axis of the batch: the first slip keeps its name."""
    assert_wrong(run(capsys, exercises.check_weighted_sum_backward, mistake), "this looks like ", says)


def test_online_softmax_without_its_guard_keeps_the_name_of_the_missing_rescale(capsys):
    def update(m, l, acc, s, v):
        m_new = np.maximum(m, s.max(-1))
        p = np.exp(s - m_new[..., None])
        return m_new, l + p.sum(-1), acc + p @ v

    assert_wrong(run(capsys, exercises.check_online_softmax_update, update), "this looks like ", "not rescaled")
