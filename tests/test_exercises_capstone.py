"""The checks of the capstone (notebook 14): each verdict fires — right in every natural form, placeholder,
every refused shortcut, every named mistake — and no odd answer makes one raise."""

from __future__ import annotations

import math

import numpy as np
import pytest

from course_lib import exercises, layers, scaled_dot_product_attention
from course_lib.grad import numerical_gradient
from conftest import assert_wrong, placeholder, run, verdict
from test_exercises_answers import ODD_ANSWERS, assert_a_verdict

pytestmark = pytest.mark.usefixtures("numpy_backend")


# ---------------------------------------------------------------- layer norm, backward


def ln_backward(grad_y, x, gamma):
    x_hat = (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + 1e-5)
    g = grad_y * gamma
    grad_x = (g - g.mean(-1, keepdims=True) - x_hat * (g * x_hat).mean(-1, keepdims=True)) / np.sqrt(
        x.var(-1, keepdims=True) + 1e-5)
    rows = tuple(range(x.ndim - 1))
    return grad_x, (grad_y * x_hat).sum(rows), grad_y.sum(rows)


def layer_norm_backward_by_rows(grad_y, x, gamma):
    """A loop over the rows, lists of floats inside, the gains' gradients summed as it goes, returned as a list."""
    flat_x, flat_g = x.reshape(-1, x.shape[-1]), grad_y.reshape(-1, x.shape[-1])
    grad_x, grad_gamma, grad_beta = [], [0.0] * x.shape[-1], [0.0] * x.shape[-1]
    for row, g_row in zip(flat_x, flat_g):
        d = len(row)
        mean = sum(row) / d
        sigma = math.sqrt(sum((v - mean) ** 2 for v in row) / d + 1e-5)
        x_hat = [(v - mean) / sigma for v in row]
        g = [gy * c for gy, c in zip(g_row, gamma)]
        mean_g, mean_gx = sum(g) / d, sum(a * b for a, b in zip(g, x_hat)) / d
        grad_x.append([(gi - mean_g - xi * mean_gx) / sigma for gi, xi in zip(g, x_hat)])
        for i in range(d):
            grad_gamma[i] += g_row[i] * x_hat[i]
            grad_beta[i] += g_row[i]
    return [np.array(grad_x).reshape(x.shape), grad_gamma, grad_beta]


def test_layer_norm_backward_right_in_every_form(capsys):
    check = exercises.check_layer_norm_backward
    assert run(capsys, check, ln_backward).startswith("✅ Correct")
    assert run(capsys, check, layer_norm_backward_by_rows).startswith("✅ Correct")

    def in_place(grad_y, x, gamma):
        sigma = np.sqrt(x.var(-1, keepdims=True) + 1e-5)
        x -= x.mean(-1, keepdims=True)
        x /= sigma  # x is x̂ now, written over the argument
        grad_y *= 1.0
        g = grad_y * gamma
        rows = tuple(range(x.ndim - 1))
        return ((g - g.mean(-1, keepdims=True) - x * np.einsum("...i,...i->...", g, x)[..., None] / x.shape[-1]) / sigma,
                np.einsum("ri,ri->i", grad_y.reshape(-1, x.shape[-1]), x.reshape(-1, x.shape[-1])), grad_y.sum(rows))

    assert run(capsys, check, in_place).startswith("✅ Correct")
    assert run(capsys, check, placeholder).startswith("⏳ Not attempted yet")
    assert run(capsys, check, ...).startswith("⏳ Not attempted yet")


def measured(grad_y, x, gamma):
    def loss(x):
        return np.sum(layers.layer_norm(x, gamma, gamma * 0) * grad_y)

    return numerical_gradient(loss, x), (grad_y * 0).sum(0), grad_y.sum(0)


@pytest.mark.parametrize("shortcut, says", [
    (layers.layer_norm_backward, "`layer_norm_backward` itself"),
    (lambda g, x, c: layers.layer_norm_backward(g, x, c), "`layer_norm_backward`"),
    (measured, "`numerical_gradient`"),
], ids=["itself", "called", "finite differences"])
def test_layer_norm_backward_refuses_the_library(capsys, shortcut, says):
    assert_wrong(run(capsys, exercises.check_layer_norm_backward, shortcut), says, "written out from the formula")


def _parts(grad_y, x, gamma):
    sigma = np.sqrt(x.var(-1, keepdims=True) + 1e-5)
    return (x - x.mean(-1, keepdims=True)) / sigma, sigma, grad_y * gamma, tuple(range(x.ndim - 1))


def no_means(grad_y, x, gamma):
    x_hat, sigma, g, rows = _parts(grad_y, x, gamma)
    return g / sigma, (grad_y * x_hat).sum(rows), grad_y.sum(rows)


def no_projection(grad_y, x, gamma):
    x_hat, sigma, g, rows = _parts(grad_y, x, gamma)
    return (g - g.mean(-1, keepdims=True)) / sigma, (grad_y * x_hat).sum(rows), grad_y.sum(rows)


def no_mean_g(grad_y, x, gamma):
    x_hat, sigma, g, rows = _parts(grad_y, x, gamma)
    return (g - x_hat * (g * x_hat).mean(-1, keepdims=True)) / sigma, (grad_y * x_hat).sum(rows), grad_y.sum(rows)


def no_gamma(grad_y, x, gamma):
    return ln_backward(grad_y, x, np.ones_like(gamma))[0], *ln_backward(grad_y, x, gamma)[1:]


def not_divided(grad_y, x, gamma):
    x_hat, sigma, g, _ = _parts(grad_y, x, gamma)
    grad_x, grad_gamma, grad_beta = ln_backward(grad_y, x, gamma)
    return grad_x * sigma, grad_gamma, grad_beta


def no_eps(grad_y, x, gamma):
    """The right formula with σ = √var, the forward pass's 1e-5 left out."""
    x_hat = (x - x.mean(-1, keepdims=True)) / x.std(-1, keepdims=True)
    g, rows = grad_y * gamma, tuple(range(x.ndim - 1))
    grad_x = (g - g.mean(-1, keepdims=True) - x_hat * (g * x_hat).mean(-1, keepdims=True)) / x.std(-1, keepdims=True)
    return grad_x, (grad_y * x_hat).sum(rows), grad_y.sum(rows)


def gamma_along_rows(grad_y, x, gamma):
    x_hat, _, _, _ = _parts(grad_y, x, gamma)
    grad_x, _, grad_beta = ln_backward(grad_y, x, gamma)
    return grad_x, (grad_y * x_hat).sum(-1), grad_beta


def gamma_without_x_hat(grad_y, x, gamma):
    grad_x, _, grad_beta = ln_backward(grad_y, x, gamma)
    return grad_x, grad_beta, grad_beta


def means(grad_y, x, gamma):
    x_hat, _, _, rows = _parts(grad_y, x, gamma)
    return ln_backward(grad_y, x, gamma)[0], (grad_y * x_hat).mean(rows), grad_y.mean(rows)


@pytest.mark.parametrize("mistake, says", [
    (no_means, "g/σ alone"),
    (no_projection, "without the term x̂ ⊙ mean(g ⊙ x̂)"),
    (no_mean_g, "without subtracting mean(g)"),
    (no_gamma, "grad_x without the gain"),
    (not_divided, "not divided by σ"),
    (gamma_along_rows, "grad_gamma summed along each row"),
    (gamma_without_x_hat, "grad_gamma without x̂"),
    (means, "means where grad_gamma and grad_beta need sums"),
    (no_eps, "σ without its eps"),
])
def test_layer_norm_backward_names_mistakes(capsys, mistake, says):
    out = run(capsys, exercises.check_layer_norm_backward, mistake)
    assert_wrong(out, "this looks like ", says)


def test_layer_norm_backward_another_wrong_answer_gets_a_hint_for_the_part_that_differs(capsys):
    """The hint points at the step that gives the first part that differs, and never prints the formula."""
    out = run(capsys, exercises.check_layer_norm_backward, lambda g, x, c: tuple(a * 1.01 for a in ln_backward(g, x, c)))
    assert_wrong(out, "`grad_x` differs", "Hint: each x_i reaches the loss three ways")
    off_beta = run(capsys, exercises.check_layer_norm_backward,
                   lambda g, x, c: (*ln_backward(g, x, c)[:2], ln_backward(g, x, c)[2] + 0.1))
    assert_wrong(off_beta, "`grad_beta` differs", "Hint: β is added to every row")
    off_gamma = run(capsys, exercises.check_layer_norm_backward,
                    lambda g, x, c: (ln_backward(g, x, c)[0], ln_backward(g, x, c)[1] - 0.1, ln_backward(g, x, c)[2]))
    assert_wrong(off_gamma, "`grad_gamma` differs", "Hint: γ multiplies x̂ feature by feature")
    two = run(capsys, exercises.check_layer_norm_backward, lambda g, x, c: ln_backward(g, x, c)[:2])
    assert_wrong(two, "expected it to return 3 values", "Hint: return the three gradients")
    for shown in (out, off_beta, off_gamma, two):
        assert "mean(g" not in shown and "/ σ" not in shown, f"a hint prints the formula: {shown}"


# ---------------------------------------------------------------- the causal block


def causal_block(x, gamma, beta, w_q, w_k, w_v, w_o):
    h = layers.layer_norm(x, gamma, beta)
    q, k, v = (h[:, None] @ w for w in (w_q, w_k, w_v))
    out, _ = scaled_dot_product_attention(q, k, v, causal=True)
    return x + (out @ w_o).sum(axis=1)


def causal_block_by_hand(x, gamma, beta, w_q, w_k, w_v, w_o):
    """einsum and a loop over the heads, the mask written with -inf, the residual added in place."""
    h = (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + 1e-5) * gamma + beta
    t = x.shape[1]
    future = np.triu(np.ones((t, t), dtype=bool), k=1)
    y = x.copy()
    for head in range(w_q.shape[0]):
        q, k, v = (np.einsum("btd,de->bte", h, w[head]) for w in (w_q, w_k, w_v))
        scores = np.einsum("bie,bje->bij", q, k) / np.sqrt(q.shape[-1])
        scores[:, future] = -np.inf
        weights = np.exp(scores - scores.max(-1, keepdims=True))
        weights /= weights.sum(-1, keepdims=True)
        y += np.einsum("bij,bje,ed->bid", weights, v, w_o[head])
    return y.tolist()


def test_causal_block_right_in_every_form(capsys):
    check = exercises.check_causal_block
    assert run(capsys, check, causal_block).startswith("✅ Correct")
    assert run(capsys, check, causal_block_by_hand).startswith("✅ Correct")
    assert run(capsys, check, placeholder).startswith("⏳ Not attempted yet")


def block(x, gamma, beta, w_q, w_k, w_v, w_o, *, pre=True, norm=True, residual=True, causal=True, scale=None,
          mean=False):
    h = layers.layer_norm(x, gamma, beta) if norm and pre else x
    q, k, v = (h[:, None] @ w for w in (w_q, w_k, w_v))
    out, _ = scaled_dot_product_attention(q, k, v, causal=causal, scale=scale)
    y = (out @ w_o).mean(axis=1) if mean else (out @ w_o).sum(axis=1)
    y = x + y if residual else y
    return layers.layer_norm(y, gamma, beta) if norm and not pre else y


@pytest.mark.parametrize("options, says", [
    ({"residual": False}, "no residual"),
    ({"pre": False}, "post-norm"),
    ({"norm": False}, "no layer norm"),
    ({"causal": False}, "not causal"),
    ({"scale": 1.0}, "no 1/√d_k"),
    ({"mean": True}, "the heads averaged"),
], ids=["no-residual", "post-norm", "no-norm", "not-causal", "no-scale", "mean"])
def test_causal_block_names_mistakes(capsys, options, says):
    assert_wrong(run(capsys, exercises.check_causal_block, lambda *a: block(*a, **options)), "this looks like ", says)


def test_causal_block_returning_the_weights_too_is_told_so(capsys):
    def with_weights(x, gamma, beta, w_q, w_k, w_v, w_o):
        h = layers.layer_norm(x, gamma, beta)[:, None]
        out, weights = scaled_dot_product_attention(h @ w_q, h @ w_k, h @ w_v, causal=True)
        return x + (out @ w_o).sum(1), weights

    assert_wrong(run(capsys, exercises.check_causal_block, with_weights), "got a tuple of 2 things (a NumPy array of shape")


def test_causal_block_with_another_eps_shows_where_the_numbers_part(capsys):
    """A layer norm of the learner's own with eps = 1e-6: rows that agree to four decimals are printed with
    the digits where they part, not as two identical rows."""
    def own_norm(x, gamma, beta, w_q, w_k, w_v, w_o):
        h = (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + 1e-6) * gamma + beta
        out, _ = scaled_dot_product_attention(h[:, None] @ w_q, h[:, None] @ w_k, h[:, None] @ w_v, causal=True)
        return x + (out @ w_o).sum(1)

    out = run(capsys, exercises.check_causal_block, own_norm)
    assert_wrong(out, "(close: the numbers agree in the digits usually shown, yet differ by more than rounding", "such as an eps")
    expected, got = (line.split(maxsplit=1)[1] for line in out.splitlines()[1:3])
    assert expected != got, out


def test_causal_block_d_model_for_d_k_is_named(capsys):
    wrong = lambda x, *a: block(x, *a, scale=1 / np.sqrt(x.shape[-1]))  # noqa: E731
    assert_wrong(run(capsys, exercises.check_causal_block, wrong), "1/√d_model for 1/√d_k")


# ---------------------------------------------------------------- which head is the induction head

SCORES = {"previous": np.array([[0.10, 0.92], [0.20, 0.05]]), "induction": np.array([[0.02, 0.01], [0.12, 0.81]])}


@pytest.mark.parametrize("answer", [(1, 1), [1, 1], np.array([1, 1]), (np.int64(1), np.int64(1)), (1.0, 1.0)],
                         ids=["tuple", "list", "array", "numpy ints", "floats"])
def test_induction_head_right_in_every_form(capsys, answer):
    exercises.check_induction_head(answer, SCORES)
    out = verdict(capsys)
    assert out.startswith("✅ Correct") and "81%" in out


def test_induction_head_wrong_picks(capsys):
    exercises.check_induction_head((0, 1), SCORES)
    assert_wrong(verdict(capsys), "92% of its weight on the previous token", "previous-token head")
    exercises.check_induction_head((1, 0), SCORES)
    out = verdict(capsys)
    assert_wrong(out, "only 12%", "another head puts more")
    assert "81" not in out  # the answer is not given away
    exercises.check_induction_head((2, 0), SCORES)
    assert_wrong(verdict(capsys), "not a head of this model")
    exercises.check_induction_head(..., SCORES)
    assert verdict(capsys).startswith("⏳ Not attempted yet")
    exercises.check_induction_head("layer 1", SCORES)
    assert_wrong(verdict(capsys), "expected (layer, head)")


# ---------------------------------------------------------------- no odd answer makes a check raise


@pytest.mark.parametrize("answer", ODD_ANSWERS.values(), ids=ODD_ANSWERS.keys())
def test_odd_answers_get_a_verdict(capsys, answer):
    for check in (exercises.check_layer_norm_backward, exercises.check_causal_block):
        check(lambda *args: answer)
        assert_a_verdict(verdict(capsys))
        check(answer)
        out = verdict(capsys)
        assert_a_verdict(out) if not callable(answer) else None
    exercises.check_induction_head(answer, SCORES)
    assert_a_verdict(verdict(capsys))


# ---------------------------------------------------------------- both heads of the circuit

ONE_HEAD = {"previous": np.array([[0.62], [0.05]]), "induction": np.array([[0.10], [0.78]])}
TWO_INDUCTION_HEADS = {"previous": np.array([[0.10, 0.68], [0.10, 0.10]]), "induction": np.array([[0.10, 0.10], [0.88, 0.85]])}


@pytest.mark.parametrize("previous, induction", [((0, 0), (1, 0)), ([0, 0], [1, 0]), (np.array([0, 0]), np.array([1, 0])),
                                                 ((np.int64(0), np.int64(0)), (1.0, 0.0))],
                         ids=["tuples", "lists", "arrays", "numpy ints and floats"])
def test_induction_circuit_right_in_every_form(capsys, previous, induction):
    exercises.check_induction_circuit(previous, induction, ONE_HEAD)
    out = verdict(capsys)
    assert out.startswith("✅ Correct") and "layer 0, head 0 puts at least half its weight on the previous token" in out
    assert "layer 1, head 0 puts at least half its weight on the token after" in out


@pytest.mark.parametrize("induction", [(1, 0), (1, 1)])
def test_induction_circuit_accepts_either_of_two_induction_heads(capsys, induction):
    exercises.check_induction_circuit((0, 1), induction, TWO_INDUCTION_HEADS)
    assert verdict(capsys).startswith("✅ Correct")


def test_induction_circuit_names_each_wrong_pick(capsys):
    exercises.check_induction_circuit((1, 0), (0, 0), ONE_HEAD)
    assert_wrong(verdict(capsys), "swapped")
    exercises.check_induction_circuit((1, 0), (1, 0), ONE_HEAD)
    out = verdict(capsys)
    assert_wrong(out, "only 0.05 of its weight on the previous token", "that is an induction head")
    assert "0.6" not in out  # the answer is not given away
    exercises.check_induction_circuit((0, 0), (0, 0), ONE_HEAD)
    assert_wrong(verdict(capsys), "only 0.10 of its weight on the induction target", "previous-token head")
    exercises.check_induction_circuit((0, 0), (1, 0), SCORES)  # two heads a layer: (0, 1) and (1, 1) are right
    out = verdict(capsys)
    assert_wrong(out, "only 0.10 of its weight on the previous token", "another head puts more",
                 "only 0.12 of its weight on the induction target")
    assert "0.9" not in out and "0.8" not in out
    exercises.check_induction_circuit((0, 0), (2, 0), ONE_HEAD)
    assert_wrong(verdict(capsys), "not a head of this model")


def test_induction_circuit_without_a_head_at_one_half_takes_the_largest(capsys):
    weak = {"previous": np.array([[0.40], [0.05]]), "induction": np.array([[0.10], [0.45]])}
    exercises.check_induction_circuit((0, 0), (1, 0), weak)
    out = verdict(capsys)
    assert out.startswith("✅ Correct") and "more weight than any other head" in out
    exercises.check_induction_circuit((1, 0), (1, 0), weak)
    assert_wrong(verdict(capsys), "previous_token_head")


@pytest.mark.parametrize("scores", [ONE_HEAD, TWO_INDUCTION_HEADS,
                                    {"previous": np.array([[0.40], [0.05]]), "induction": np.array([[0.10], [0.45]])}],
                         ids=["one head each", "two induction heads", "no head at one half"])
def test_induction_circuit_accepts_the_notebooks_rule_on_any_table(capsys, scores):
    """Notebook 14's solution: the first head at half its weight, else the one with the most. It never raises
    (float32 training lands differently on every machine) and the check always accepts it."""
    heads = [(l, h) for l in range(scores["previous"].shape[0]) for h in range(scores["previous"].shape[1])]
    pick = {pattern: next((lh for lh in heads if scores[pattern][lh] >= 0.5), max(heads, key=lambda lh: scores[pattern][lh]))
            for pattern in ("previous", "induction")}
    exercises.check_induction_circuit(pick["previous"], pick["induction"], scores)
    assert verdict(capsys).startswith("✅ Correct")


@pytest.mark.parametrize("answer", ODD_ANSWERS.values(), ids=ODD_ANSWERS.keys())
def test_induction_circuit_odd_answers_get_a_verdict(capsys, answer):
    exercises.check_induction_circuit(answer, (1, 0), ONE_HEAD)
    assert_a_verdict(verdict(capsys))
    exercises.check_induction_circuit((0, 0), answer, ONE_HEAD)
    assert_a_verdict(verdict(capsys))


def test_causal_block_names_the_residual_added_to_the_normalised_stream(capsys):
    def block_on_norm(x, gamma, beta, w_q, w_k, w_v, w_o):
        h = layers.layer_norm(x, gamma, beta)
        return h + causal_block(x, gamma, beta, w_q, w_k, w_v, w_o) - x

    assert_wrong(run(capsys, exercises.check_causal_block, block_on_norm), "this looks like ",
                 "the residual added to layer_norm(x)")


def block_written(x, gamma, beta, w_q, w_k, w_v, w_o, *, head_axis=True, sum_axis=1, mask=None):
    """The block as a learner writes it, with one slip: no head axis, the heads summed over another axis, a mask
    of the learner's own (``mask(t)``: True = may attend)."""
    h = layers.layer_norm(x, gamma, beta)
    h = h[:, None] if head_axis else h
    q, k, v = (h @ w for w in (w_q, w_k, w_v))
    t = x.shape[-2]
    if mask is None:
        out, _ = scaled_dot_product_attention(q, k, v, causal=True)
    else:
        out, _ = scaled_dot_product_attention(q, k, v, mask=mask(t))
    y = out @ w_o
    return x + (y.sum(axis=sum_axis) if sum_axis is not None else y)


@pytest.mark.parametrize("options, says", [
    ({"head_axis": False, "sum_axis": None}, "no axis for the heads"),
    ({"head_axis": False, "sum_axis": 0}, "no axis for the heads"),
    ({"sum_axis": 0}, "summed over axis 0, the sequences"),
    ({"mask": lambda t: np.tril(np.ones((t, t), dtype=bool), -1)}, "the diagonal hidden too"),
    ({"mask": lambda t: np.triu(np.ones((t, t), dtype=bool))}, "the mask transposed"),
], ids=["no-head-axis", "no-head-axis-summed", "summed-over-batch", "strict-mask", "transposed-mask"])
def test_causal_block_names_the_slips_a_probe_found(capsys, options, says):
    assert_wrong(run(capsys, exercises.check_causal_block, lambda *a: block_written(*a, **options)),
                 "this looks like ", says)
    assert run(capsys, exercises.check_causal_block, block_written).startswith("✅ Correct")


@pytest.mark.parametrize("table", [np.zeros((2, 2)), None, {"previous": [1.0]}])
def test_a_replaced_scores_table_is_named_not_the_answer(capsys, table):
    exercises.check_induction_circuit((0, 0), (1, 1), table)
    out = verdict(capsys)
    assert_wrong(out, "could not read `scores`", "run that cell again")
    assert "previous_token_head" not in out


def test_layer_norm_backward_with_axis_0_for_the_sums_keeps_the_name_of_the_means(capsys):
    def means_over_axis_0(grad_y, x, gamma):
        grad_x, _, _ = ln_backward(grad_y, x, gamma)
        x_hat = (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + 1e-5)
        return grad_x, np.mean(grad_y * x_hat, axis=0), np.mean(grad_y, axis=0)

    assert_wrong(run(capsys, exercises.check_layer_norm_backward, means_over_axis_0), "this looks like ",
                 "means where grad_gamma and grad_beta need sums")


def test_causal_block_without_a_head_axis_but_summed_over_axis_1_is_named(capsys):
    assert_wrong(run(capsys, exercises.check_causal_block, lambda *a: block_written(*a, head_axis=False)),
                 "this looks like ", "no axis for the heads")
