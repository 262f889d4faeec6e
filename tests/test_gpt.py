"""course_lib.gpt and course_lib.layers: every backward pass against finite differences, the forward's
properties, AdamW by hand, training, and every bad input of the contract.

Gradients are compared with ``course_lib.grad.numerical_gradient`` in float64 to a relative 1e-6 (issue 19).
Each test body runs on NumPy, on CuPy where a GPU is usable, and on array-api-strict.
"""

from __future__ import annotations

import math

import numpy
import pytest

from conftest import host
from course_lib import gpt, layers
from course_lib.grad import numerical_gradient

VOCAB, CONTEXT, D_MODEL, N_HEADS, N_LAYERS = 7, 6, 4, 2, 2


def random_params(xp, d_mlp=6, seed=0, std=0.4):
    """init_params' shapes, every entry random (gains and biases too, none at their starting value)."""
    rng = numpy.random.default_rng(seed)
    start = gpt.init_params(VOCAB, CONTEXT, D_MODEL, N_HEADS, N_LAYERS, d_mlp, seed=seed)
    return {name: xp.asarray(host(w) + rng.normal(0.0, std, size=w.shape)) for name, w in start.items()}


def small_batch(xp, t=5):
    rng = numpy.random.default_rng(1)
    return (xp.asarray(rng.integers(0, VOCAB, size=(3, t))), xp.asarray(rng.integers(0, VOCAB, size=(3, t))))


def relative_error(got, expected) -> float:
    got, expected = host(got), host(expected)
    return float(numpy.max(numpy.abs(got - expected)) / max(numpy.max(numpy.abs(expected)), 1e-12))


# ---------------------------------------------------------------- layer norm and GELU


def test_layer_norm_by_hand(xp):
    x = xp.asarray([[1.0, 2.0, 3.0], [-2.0, 0.0, 2.0]])
    y = layers.layer_norm(x, xp.asarray([1.0, 1.0, 2.0]), xp.asarray([0.0, 0.5, 0.0]), eps=0.0)
    s = math.sqrt(2 / 3)  # both rows: centred (-1, 0, 1)·scale, variance 2/3·scale²
    numpy.testing.assert_allclose(host(y), [[-1 / s, 0.5, 2 / s]] * 2, rtol=1e-12)


def test_layer_norm_rows_have_mean_0_and_variance_1(xp):
    x = xp.asarray(numpy.random.default_rng(0).normal(3.0, 5.0, size=(2, 4, 8)))
    y = host(layers.layer_norm(x, xp.ones((8,), dtype=xp.float64), xp.zeros((8,), dtype=xp.float64)))
    numpy.testing.assert_allclose(y.mean(axis=-1), 0.0, atol=1e-12)
    numpy.testing.assert_allclose(y.var(axis=-1), 1.0, rtol=1e-5)  # eps = 1e-5 against a variance of 25


def test_layer_norm_backward_matches_finite_differences(xp):
    rng = numpy.random.default_rng(2)
    x, gamma, beta, grad_y = (xp.asarray(rng.normal(size=s)) for s in ((2, 3, 5), (5,), (5,), (2, 3, 5)))
    grad_x, grad_gamma, grad_beta = layers.layer_norm_backward(grad_y, x, gamma)

    def loss(x=x, gamma=gamma, beta=beta):
        return xp.sum(layers.layer_norm(x, gamma, beta) * grad_y)

    assert relative_error(grad_x, numerical_gradient(lambda a: loss(x=a), x)) < 1e-6
    assert relative_error(grad_gamma, numerical_gradient(lambda a: loss(gamma=a), gamma)) < 1e-6
    assert relative_error(grad_beta, numerical_gradient(lambda a: loss(beta=a), beta)) < 1e-6


def test_gelu_values(xp):
    y = host(layers.gelu(xp.asarray([-10.0, -1.0, 0.0, 1.0, 10.0])))
    # 0.5·x·(1 + tanh(√(2/π)(x + 0.044715 x³))) at ±1: 0.8411920 and −0.1588080
    numpy.testing.assert_allclose(y, [0.0, -0.15880800939, 0.0, 0.84119199061, 10.0], rtol=1e-9, atol=1e-12)


def test_gelu_backward_matches_finite_differences(xp):
    rng = numpy.random.default_rng(3)
    x, grad_y = xp.asarray(rng.normal(0, 2, size=(3, 4))), xp.asarray(rng.normal(size=(3, 4)))
    expected = numerical_gradient(lambda a: xp.sum(layers.gelu(a) * grad_y), x)
    assert relative_error(layers.gelu_backward(grad_y, x), expected) < 1e-6


def test_layer_norm_and_gelu_refuse_bad_shapes(xp):
    x = xp.asarray(numpy.ones((2, 4)))
    with pytest.raises(ValueError, match=r"gamma must have shape \(d_model,\)=\(4,\).*gamma.shape=\(3,\)"):
        layers.layer_norm(x, xp.ones((3,)), xp.zeros((4,)))
    with pytest.raises(ValueError, match=r"grad_y must have the shape of x.*grad_y.shape=\(2, 3\)"):
        layers.layer_norm_backward(xp.ones((2, 3)), x, xp.ones((4,)))
    with pytest.raises(ValueError, match=r"grad_y must have the shape of x"):
        layers.gelu_backward(xp.ones((4,)), x)


# ---------------------------------------------------------------- the whole model's gradient


def central_differences(xp, f, w, indices):
    """∂f/∂w at the given entries of w by central differences, with numerical_gradient's step
    h = ∛(float64 eps) · max(1, |w_i|): (f(w + h e_i) − f(w − h e_i)) / 2h, one entry at a time."""
    values, out = host(w), []
    for index in indices:
        h = numpy.finfo(numpy.float64).eps ** (1 / 3) * max(1.0, abs(values[index]))
        step = numpy.zeros_like(values)
        step[index] = h
        step = xp.asarray(step)
        out.append((f(w + step) - f(w - step)) / (2 * h))
    return numpy.asarray(out)


@pytest.mark.parametrize("d_mlp", [0, 6], ids=["attention-only", "with-mlp"])
def test_every_gradient_matches_finite_differences(xp, d_mlp):
    """The issue's target: every gradient of loss_and_grads equals central differences to a relative 1e-6.

    Every parameter array is checked, at 3 of its entries drawn at random and at its largest gradient
    entry, relative to that largest entry (as notebook 14's check measures it over whole arrays); the
    entries drawn change with the seed of ``rng`` only. The loss alone is differentiated (forward and
    cross-entropy), so each entry costs two forward passes."""
    params, (tokens, targets) = random_params(xp, d_mlp), small_batch(xp)
    loss, grads = gpt.loss_and_grads(params, tokens, targets)
    assert isinstance(loss, float) and set(grads) == set(params)
    rng = numpy.random.default_rng(7)
    for name in params:
        def f(w, name=name):
            return float(gpt.cross_entropy(gpt.forward({**params, name: w}, tokens)[0], targets))

        ours = host(grads[name])
        flat = rng.choice(ours.size, size=min(3, ours.size), replace=False).tolist() + [int(numpy.argmax(numpy.abs(ours)))]
        indices = [numpy.unravel_index(i, ours.shape) for i in flat]
        numerical = central_differences(xp, f, params[name], indices)
        error = numpy.max(numpy.abs(numpy.asarray([ours[i] for i in indices]) - numerical)) / numpy.max(numpy.abs(ours))
        assert error < 1e-6, (name, error)


def test_the_loss_is_the_mean_cross_entropy(xp):
    params, (tokens, targets) = random_params(xp), small_batch(xp)
    logits, _ = gpt.forward(params, tokens)
    logits, right = host(logits), host(targets)
    log_probs = logits - numpy.log(numpy.exp(logits).sum(axis=-1, keepdims=True))
    expected = -numpy.take_along_axis(log_probs, right[..., None], axis=-1).mean()
    assert gpt.loss_and_grads(params, tokens, targets)[0] == pytest.approx(expected, rel=1e-12)


# ---------------------------------------------------------------- forward


def test_forward_shapes_and_causal_weights(xp):
    params, (tokens, _) = random_params(xp), small_batch(xp)
    logits, weights = gpt.forward(params, tokens)
    weights = host(weights)
    assert host(logits).shape == (3, 5, VOCAB) and weights.shape == (N_LAYERS, 3, N_HEADS, 5, 5)
    numpy.testing.assert_allclose(weights.sum(axis=-1), 1.0, rtol=1e-12)
    assert not numpy.triu(weights, k=1).any()  # no position looks ahead


def test_a_later_token_changes_no_earlier_prediction(xp):
    params, (tokens, _) = random_params(xp), small_batch(xp)
    changed = host(tokens).copy()
    changed[:, 3] = (changed[:, 3] + 1) % VOCAB
    before, after = host(gpt.forward(params, tokens)[0]), host(gpt.forward(params, xp.asarray(changed))[0])
    numpy.testing.assert_array_equal(after[:, :3], before[:, :3])
    assert not numpy.allclose(after[:, 3:], before[:, 3:])


def test_a_zeroed_w_o_switches_a_head_off(xp):
    """What ablation in notebook 14 relies on: a head with W_o = 0 writes nothing into the residual stream.
    With every head off in an attention-only model, the read-out sees the embeddings alone."""
    params, (tokens, _) = random_params(xp, d_mlp=0), small_batch(xp)
    silent = {**params, **{f"{l}.w_o": params[f"{l}.w_o"] * 0.0 for l in range(N_LAYERS)}}
    p = {name: host(w) for name, w in params.items()}
    x = p["embed"][host(tokens)] + p["pos"][:5]  # (3, 5, d_model)
    expected = host(layers.layer_norm(xp.asarray(x), params["lnf_gamma"], params["lnf_beta"])) @ p["w_out"] + p["b_out"]
    numpy.testing.assert_allclose(host(gpt.forward(silent, tokens)[0]), expected, rtol=1e-12)
    one_off = {**params, "1.w_o": xp.asarray(p["1.w_o"] * numpy.array([1.0, 0.0])[:, None, None])}
    assert not numpy.allclose(host(gpt.forward(one_off, tokens)[0]), host(gpt.forward(params, tokens)[0]))


def test_init_params_shapes_seed_and_sizes(xp_backend):
    params = gpt.init_params(10, 8, 6, 3, 2, 12, seed=4)
    assert tuple(params["0.w_q"].shape) == (3, 6, 2) and tuple(params["1.w_o"].shape) == (3, 2, 6)
    assert tuple(params["1.w_in"].shape) == (6, 12) and tuple(params["w_out"].shape) == (6, 10)
    assert gpt.config(params) == {"vocab_size": 10, "context": 8, "d_model": 6, "n_heads": 3, "d_k": 2,
                                  "n_layers": 2, "d_mlp": 12}
    again = gpt.init_params(10, 8, 6, 3, 2, 12, seed=4)
    assert all(numpy.array_equal(host(again[p]), host(params[p])) for p in params)
    attention_only = gpt.init_params(10, 8, 6, 3, 2, 0, seed=4)
    assert not [p for p in attention_only if "ln2" in p or "w_in" in p or "mlp" in p]
    assert gpt.n_parameters(attention_only) == 10 * 6 + 8 * 6 + 2 * (2 * 6 + 4 * 6 * 6) + 2 * 6 + 6 * 10 + 10
    assert params["embed"].dtype == xp_backend.float64 and type(params["pos"]) is type(xp_backend.asarray([0.0]))


# ---------------------------------------------------------------- AdamW and training


def test_adamw_step_by_hand(xp):
    params = {"w": xp.asarray([[1.0, -2.0]]), "b": xp.asarray([3.0])}
    grads = {"w": xp.asarray([[0.5, -0.1]]), "b": xp.asarray([0.2])}
    new, state = gpt.adamw_step(params, grads, gpt.adamw_init(params), lr=0.1, weight_decay=0.5)
    # step 1: m̂ = g and v̂ = g², so each entry moves by lr against its sign; then w ← w − lr·0.5·w (matrices only)
    numpy.testing.assert_allclose(host(new["w"]), [[1.0 - 0.1 - 0.05, -2.0 + 0.1 + 0.1]], rtol=1e-7)
    numpy.testing.assert_allclose(host(new["b"]), [3.0 - 0.1], rtol=1e-7)
    assert state["step"] == 1 and host(params["w"])[0, 0] == 1.0


def test_training_lowers_the_loss_deterministically(xp):
    params, batch = random_params(xp, seed=5), small_batch(xp)
    before = {p: host(w).copy() for p, w in params.items()}
    seen = []
    a, history = gpt.train(params, iter([batch] * 30), 30, lr=0.02, heldout=batch, eval_every=10,
                           progress=lambda *s: seen.append(s[:2]))
    b, again = gpt.train(params, iter([batch] * 30), 30, lr=0.02, heldout=batch, eval_every=10)
    assert history["train_loss"][-1] < 0.5 * history["train_loss"][0] and history == again
    assert history["heldout_step"] == [0, 10, 20, 30] and seen == [(s, 30) for s in range(1, 31)]
    assert all(numpy.array_equal(host(a[p]), host(b[p])) for p in a)
    assert all(numpy.array_equal(host(params[p]), before[p]) for p in params)
    with pytest.raises(ValueError, match=r"batches ran out after 2 of steps=3"):
        gpt.train(params, [batch] * 2, 3)


def test_the_held_out_loss_is_the_cross_entropy_of_the_whole_set(xp):
    """Measured a slice of sequences at a time (more than one slice here), it is the mean over every position."""
    rng = numpy.random.default_rng(3)
    tokens, targets = (xp.asarray(rng.integers(0, VOCAB, size=(150, 4))) for _ in range(2))
    params = random_params(xp)
    _, history = gpt.train(params, iter([small_batch(xp)]), 0, heldout=(tokens, targets))
    whole = float(gpt.cross_entropy(gpt.forward(params, tokens)[0], targets))
    assert history["heldout_step"] == [0] and history["heldout_loss"][0] == pytest.approx(whole, rel=1e-12)


def test_bad_held_out_arrays_are_refused_before_the_first_step(xp):
    params, batch = random_params(xp), small_batch(xp)
    seen = []
    with pytest.raises(ValueError, match=r"targets must have the shape of tokens"):
        gpt.train(params, iter([batch] * 3), 3, heldout=(batch[0], batch[1][:, :2]), progress=lambda *s: seen.append(s))
    assert seen == [], "training started before the held-out arrays were checked"


# ---------------------------------------------------------------- bad inputs


def check_error(xp, error, match, tokens=None, targets=None, params=None):
    default_tokens, default_targets = small_batch(xp)
    params = random_params(xp) if params is None else params
    with pytest.raises(error, match=match):
        gpt.loss_and_grads(params, default_tokens if tokens is None else tokens,
                           default_targets if targets is None else targets)


def test_a_token_id_outside_the_vocabulary_is_refused(xp):
    ids = xp.asarray(numpy.asarray([[1, 2, 7]]))
    check_error(xp, ValueError, r"tokens must lie in \[0, vocab_size\) = \[0, 7\), but ranges over 1..7",
                tokens=ids, targets=ids * 0)
    check_error(xp, ValueError, r"targets must lie in \[0, vocab_size\) = \[0, 7\), but ranges over -1..5",
                tokens=ids * 0, targets=ids - 2)


def test_more_positions_than_the_context_are_refused(xp):
    ids = xp.asarray(numpy.zeros((2, CONTEXT + 1), dtype=numpy.int64))
    check_error(xp, ValueError, r"tokens has T=7 positions, more than the context=6 .*pos.shape=\(6, 4\)",
                tokens=ids, targets=ids)


def test_tokens_must_be_whole_numbers(xp):
    floats = xp.asarray([[1.0, 2.0]])
    check_error(xp, TypeError, r"tokens must hold whole numbers \(token ids\), but tokens.dtype=.*float",
                tokens=floats, targets=floats)
    check_error(xp, ValueError, r"tokens must be 2-D \(B, T\).*tokens.shape=\(2,\)", tokens=xp.asarray([1, 2]))


def test_targets_of_another_shape_are_refused(xp):
    tokens, _ = small_batch(xp)
    message = r"targets must have the shape of tokens .*tokens.shape=\(3, 5\) and targets.shape=\(3, 4\)"
    check_error(xp, ValueError, message, tokens=tokens, targets=tokens[:, :4])


def test_n_heads_must_divide_d_model():
    with pytest.raises(ValueError, match=r"n_heads must divide d_model .*d_model=6 and n_heads=4"):
        gpt.init_params(10, 8, 6, 4, 1, 0)
    with pytest.raises(ValueError, match=r"d_mlp must be a whole number >= 0, but d_mlp=-1"):
        gpt.init_params(10, 8, 6, 3, 1, -1)


def test_params_that_do_not_fit_are_refused(xp):
    params = random_params(xp)
    check_error(xp, ValueError, r"params is missing '1.w_k'", params={p: w for p, w in params.items() if p != "1.w_k"})
    wrong = {**params, "0.w_v": xp.asarray(numpy.zeros((2, 4, 3)))}
    check_error(xp, ValueError, r"params\['0.w_v'\].shape=\(2, 4, 3\), .*need 0.w_v.shape=\(2, 4, 2\)", params=wrong)


def test_arrays_of_two_libraries_are_refused():
    strict = pytest.importorskip("array_api_strict")
    tokens, targets = small_batch(strict)
    with pytest.raises(TypeError, match="two libraries"):
        gpt.loss_and_grads(random_params(numpy), tokens, targets)
    with pytest.raises(TypeError, match="two libraries"):  # held-out tokens as forward() takes tokens
        gpt.train(random_params(numpy), iter([]), 0, heldout=(tokens, targets))
