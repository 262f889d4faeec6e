"""course_lib.grad: backward passes against finite differences and against the full Jacobian.

Each test body runs on NumPy, on CuPy where a GPU is usable, and on array-api-strict.
float64 is compared tightly; float32 more loosely (finite differences in float32 carry
errors of about 1e-3).
"""

from __future__ import annotations

import math

import numpy
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import course_lib as cl
from conftest import host, tolerance
from course_lib.grad import attention_backward, numerical_gradient, softmax_backward


def rand(xp, rng, shape, dtype="float64"):
    return xp.asarray(rng.normal(size=shape).astype(dtype))


def loss_of_output(xp, grad_out, **kw):
    """L(q, k, v) = Σ out ⊙ grad_out, whose gradient at out is grad_out: the usual way to test a backward pass."""
    def loss(q, k, v):
        out, _ = cl.scaled_dot_product_attention(q, k, v, **kw)
        return xp.sum(out * grad_out)
    return loss


def finite_differences(xp, loss, q, k, v, eps=None):
    return (
        numerical_gradient(lambda x: loss(x, k, v), q, eps),
        numerical_gradient(lambda x: loss(q, x, v), k, eps),
        numerical_gradient(lambda x: loss(q, k, x), v, eps),
    )


def assert_close(got, expected, rtol, atol):
    expected = expected if isinstance(expected, (list, float)) else host(expected)
    numpy.testing.assert_allclose(host(got), expected, rtol=rtol, atol=atol)


# ---------------------------------------------------------------- numerical_gradient


def test_numerical_gradient_of_a_cubic(xp):
    x = xp.asarray(numpy.array([[-2.0, 0.5], [1.0, 3.0]]))
    grad = numerical_gradient(lambda x: xp.sum(x**3), x)
    assert_close(grad, 3 * numpy.array([[-2.0, 0.5], [1.0, 3.0]]) ** 2, rtol=1e-8, atol=1e-8)


def test_numerical_gradient_is_exact_for_a_quadratic_with_any_step(xp):
    x = xp.asarray(numpy.array([1.0, -4.0, 2.5]))
    grad = numerical_gradient(lambda x: xp.sum(x * x) + 3.0, x, eps=0.5)  # central differences of x² are exact
    assert_close(grad, [2.0, -8.0, 5.0], rtol=1e-12, atol=1e-12)


def test_numerical_gradient_leaves_x_unchanged_and_keeps_its_kind(xp):
    values = numpy.array([0.3, -1.2, 2.0])
    x = xp.asarray(values)
    grad = numerical_gradient(lambda x: xp.sum(xp.sin(x)), x)
    numpy.testing.assert_array_equal(host(x), values)
    assert type(grad) is type(x) and grad.shape == x.shape and grad.dtype == x.dtype
    assert_close(grad, numpy.cos(values), rtol=1e-9, atol=1e-9)


def test_numerical_gradient_chooses_the_step_from_the_dtype(xp):
    x32 = xp.asarray(numpy.array([0.7, -0.2], dtype=numpy.float32))
    grad = numerical_gradient(lambda x: xp.sum(xp.exp(x)), x32)
    assert grad.dtype == x32.dtype
    assert_close(grad, numpy.exp([0.7, -0.2]), rtol=1e-3, atol=1e-3)  # a float64 step would be lost in float32 rounding


def test_numerical_gradient_promotes_integers(xp):
    grad = numerical_gradient(lambda x: xp.sum(x * x), xp.asarray(numpy.array([1, 2, 3])))
    assert str(grad.dtype).endswith("float64")
    assert_close(grad, [2.0, 4.0, 6.0], rtol=1e-9, atol=1e-9)


def test_numerical_gradient_accepts_a_python_float_from_f(xp):
    grad = numerical_gradient(lambda x: float(xp.sum(x)) * 2.0, xp.asarray(numpy.array([1.0, 2.0])))
    assert_close(grad, [2.0, 2.0], rtol=1e-9, atol=1e-9)


def test_numerical_gradient_needs_a_scalar_function(xp):
    with pytest.raises(ValueError, match=r"f must return a single number.*shape \(2,\)"):
        numerical_gradient(lambda x: x * 2, xp.asarray(numpy.array([1.0, 2.0])))


@pytest.mark.parametrize("eps", [0, -1e-3, "small", True])
def test_numerical_gradient_needs_a_positive_step(xp, eps):
    with pytest.raises(ValueError, match="eps must be a positive step size"):
        numerical_gradient(lambda x: xp.sum(x), xp.asarray(numpy.array([1.0])), eps)


def test_numerical_gradient_refuses_non_real_input(xp):
    with pytest.raises(TypeError, match=r"x must hold real numbers.*complex"):
        numerical_gradient(lambda x: x, numpy.array([1 + 2j]))


# ---------------------------------------------------------------- softmax_backward


def jacobian_route(p, g, axis):
    """The slow route of notebook 04: build J = diag(p) − p pᵀ for each slice and multiply."""
    p, g = numpy.moveaxis(p, axis, -1), numpy.moveaxis(g, axis, -1)
    jac = p[..., :, None] * (numpy.eye(p.shape[-1]) - p[..., None, :])  # (..., n, n): ∂p_i/∂s_j
    return numpy.moveaxis(numpy.einsum("...ji,...j->...i", jac, g), -1, axis)  # Jᵀ g


@pytest.mark.parametrize("shape, axis", [((5,), -1), ((3, 4), -1), ((3, 4), 0), ((2, 3, 6), 1), ((2, 1, 3, 7), -1)])
def test_softmax_backward_equals_the_jacobian_route(xp, shape, axis):
    rng = numpy.random.default_rng(sum(shape) + axis)
    s, g = rng.normal(size=shape) * 3, rng.normal(size=shape)
    p = host(cl.softmax(xp.asarray(s), axis=axis))
    got = softmax_backward(xp.asarray(p), xp.asarray(g), axis=axis)
    assert_close(got, jacobian_route(p, g, axis), rtol=1e-12, atol=1e-14)


def test_softmax_backward_matches_finite_differences(xp):
    rng = numpy.random.default_rng(4)
    s, g = xp.asarray(rng.normal(size=(3, 5))), xp.asarray(rng.normal(size=(3, 5)))
    expected = numerical_gradient(lambda s: xp.sum(cl.softmax(s) * g), s)
    assert_close(softmax_backward(cl.softmax(s), g), expected, rtol=1e-7, atol=1e-9)


def test_softmax_backward_by_hand(xp):
    # p = [1/4, 3/4], g = [1, 0]: Σ p g = 1/4, so grad = [1/4 · 3/4, 3/4 · (−1/4)]
    got = softmax_backward(xp.asarray(numpy.array([0.25, 0.75])), xp.asarray(numpy.array([1.0, 0.0])))
    assert_close(got, [3 / 16, -3 / 16], rtol=1e-15, atol=1e-15)


def test_softmax_backward_sums_to_zero_and_ignores_a_constant_gradient(xp):
    rng = numpy.random.default_rng(5)
    p = cl.softmax(xp.asarray(rng.normal(size=(4, 6))))
    grad = softmax_backward(p, xp.asarray(rng.normal(size=(4, 6))))
    assert_close(xp.sum(grad, axis=-1), numpy.zeros(4), rtol=0, atol=1e-15)  # shifting every score changes nothing
    assert_close(softmax_backward(p, xp.ones((4, 6), dtype=xp.float64)), numpy.zeros((4, 6)), rtol=0, atol=1e-15)


def test_softmax_backward_gives_masked_entries_zero(xp):
    mask = xp.asarray(numpy.array([[True, False, True], [False, False, False]]))
    p = cl.softmax(xp.asarray(numpy.array([[1.0, 2.0, 3.0], [1.0, 2.0, 3.0]])), mask=mask)
    grad = host(softmax_backward(p, xp.asarray(numpy.array([[1.0, 5.0, -2.0], [4.0, 4.0, 4.0]]))))
    assert grad[0, 1] == 0 and numpy.all(grad[1] == 0) and numpy.all(numpy.isfinite(grad))


def test_softmax_backward_in_float32(xp):
    rng = numpy.random.default_rng(6)
    s = rng.normal(size=(3, 4))
    p, g = host(cl.softmax(xp.asarray(s))), rng.normal(size=(3, 4))
    got = softmax_backward(xp.asarray(p.astype("float32")), xp.asarray(g.astype("float32")))
    assert str(got.dtype).endswith("float32")
    assert_close(got, jacobian_route(p, g, -1), rtol=tolerance(numpy.float32), atol=tolerance(numpy.float32))


def test_softmax_backward_errors(xp):
    p = xp.asarray(numpy.full((2, 3), 1 / 3))
    with pytest.raises(ValueError, match=r"grad_weights must have the shape of weights.*\(2, 3\).*\(3, 2\)"):
        softmax_backward(p, xp.asarray(numpy.ones((3, 2))))
    with pytest.raises(ValueError, match=r"axis=2 is out of range for weights.shape=\(2, 3\)"):
        softmax_backward(p, p, axis=2)
    with pytest.raises(TypeError, match=r"grad_weights must hold real numbers.*complex"):
        softmax_backward(numpy.full(2, 0.5), numpy.array([1j, 2j]))


# ---------------------------------------------------------------- attention_backward

SHAPES = [
    # q, k, v
    ((3, 4), (3, 4), (3, 2)),  # the plain case
    ((2, 4), (5, 4), (5, 3)),  # T_q ≠ T_k, d_v ≠ d_k
    ((2, 3, 4), (2, 5, 4), (2, 5, 2)),  # a batch dimension
    ((2, 2, 3, 4), (1, 2, 4, 4), (2, 1, 4, 3)),  # batch and heads, each broadcast somewhere
    ((3, 2), (2, 3, 2), (3, 3)),  # q shared by a batch of keys; v without the batch
]


@pytest.mark.parametrize("shapes", SHAPES, ids=lambda s: "-".join("x".join(map(str, x)) for x in s))
def test_attention_backward_matches_finite_differences(xp, shapes):
    rng = numpy.random.default_rng(len(shapes[0]) * 10 + shapes[1][-2])
    q, k, v = (rand(xp, rng, shape) for shape in shapes)
    out, _ = cl.scaled_dot_product_attention(q, k, v)
    grad_out = rand(xp, rng, out.shape)
    got = attention_backward(q, k, v, grad_out)
    expected = finite_differences(xp, loss_of_output(xp, grad_out), q, k, v)
    for name, g, e, x in zip("qkv", got, expected, (q, k, v)):
        assert g.shape == x.shape, name
        assert_close(g, e, rtol=1e-6, atol=1e-8)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    batch=st.lists(st.integers(1, 2), max_size=2),
    t_q=st.integers(1, 4),
    t_k=st.integers(1, 4),
    d_k=st.integers(1, 3),
    d_v=st.integers(1, 3),
    causal=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_attention_backward_on_random_shapes(xp, batch, t_q, t_k, d_k, d_v, causal, seed):
    rng = numpy.random.default_rng(seed)
    q, k, v = rand(xp, rng, (*batch, t_q, d_k)), rand(xp, rng, (*batch, t_k, d_k)), rand(xp, rng, (t_k, d_v))
    grad_out = rand(xp, rng, (*batch, t_q, d_v))
    got = attention_backward(q, k, v, grad_out, causal=causal)
    expected = finite_differences(xp, loss_of_output(xp, grad_out, causal=causal), q, k, v)
    for g, e in zip(got, expected):
        assert_close(g, e, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("kind", ["boolean", "float", "causal", "causal+boolean", "scale"])
def test_attention_backward_with_masks_and_scale(xp, kind):
    rng = numpy.random.default_rng(7)
    q, k, v = rand(xp, rng, (2, 4, 3)), rand(xp, rng, (2, 5, 3)), rand(xp, rng, (2, 5, 2))
    allowed = rng.random((2, 4, 5)) > 0.4
    allowed[:, :, 0] = True  # every query keeps a key (a fully masked one is tested below)
    kw = {
        "boolean": {"mask": xp.asarray(allowed)},
        "float": {"mask": xp.asarray(numpy.where(allowed, rng.normal(size=(2, 4, 5)), -numpy.inf))},
        "causal": {"causal": True},
        "causal+boolean": {"causal": True, "mask": xp.asarray(allowed)},
        "scale": {"scale": 0.3},
    }[kind]
    grad_out = rand(xp, rng, (2, 4, 2))
    got = attention_backward(q, k, v, grad_out, **kw)
    expected = finite_differences(xp, loss_of_output(xp, grad_out, **kw), q, k, v)
    for g, e in zip(got, expected):
        assert_close(g, e, rtol=1e-6, atol=1e-8)


def test_a_fully_masked_query_gets_zero_gradients(xp):
    rng = numpy.random.default_rng(8)
    q, k, v = rand(xp, rng, (3, 2)), rand(xp, rng, (4, 2)), rand(xp, rng, (4, 2))
    mask = numpy.ones((3, 4), dtype=bool)
    mask[1] = False  # query 1 may attend no key
    grad_q, grad_k, grad_v = attention_backward(q, k, v, rand(xp, rng, (3, 2)), xp.asarray(mask))
    grad_q = host(grad_q)
    assert numpy.all(grad_q[1] == 0)
    for g in (grad_q, host(grad_k), host(grad_v)):
        assert numpy.all(numpy.isfinite(g))
    only_at_query_1 = numpy.zeros((3, 2))
    only_at_query_1[1] = [1.0, -2.0]
    grads = attention_backward(q, k, v, xp.asarray(only_at_query_1), xp.asarray(mask))
    assert all(numpy.all(host(g) == 0) for g in grads)  # a gradient only at the masked query reaches nothing


def test_attention_backward_propagates_nan(xp):
    q = xp.asarray(numpy.array([[numpy.nan, 0.0], [1.0, 0.0]]))
    k = xp.asarray(numpy.eye(2))
    grad_q, grad_k, grad_v = attention_backward(q, k, k, xp.ones((2, 2), dtype=xp.float64))
    assert numpy.all(numpy.isnan(host(grad_q)[0])) and numpy.all(numpy.isfinite(host(grad_q)[1]))
    assert numpy.any(numpy.isnan(host(grad_k))) and numpy.any(numpy.isnan(host(grad_v)))


def test_attention_backward_of_the_park_sentence_by_the_jacobian(xp):
    """With d_k = 1 everything is small enough to check against notebook 04's explicit Jacobian."""
    q = xp.asarray(numpy.array([[1.0], [2.0]]))
    k = xp.asarray(numpy.array([[0.5], [-1.0], [2.0]]))
    v = xp.asarray(numpy.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]))
    grad_out = xp.asarray(numpy.array([[1.0, 0.0], [0.0, 2.0]]))
    _, weights = cl.scaled_dot_product_attention(q, k, v)
    p = host(weights)
    grad_p = host(grad_out) @ host(v).T
    grad_s = jacobian_route(p, grad_p, -1)
    grad_q, grad_k, grad_v = attention_backward(q, k, v, grad_out)
    assert_close(grad_v, p.T @ host(grad_out), rtol=1e-14, atol=1e-15)
    assert_close(grad_q, grad_s @ host(k), rtol=1e-13, atol=1e-15)
    assert_close(grad_k, grad_s.T @ host(q), rtol=1e-13, atol=1e-15)


def test_attention_backward_in_float32(xp):
    rng = numpy.random.default_rng(9)
    q64, k64, v64 = rng.normal(size=(2, 3, 4)), rng.normal(size=(2, 5, 4)), rng.normal(size=(2, 5, 3))
    g64 = rng.normal(size=(2, 3, 3))
    expected = attention_backward(*(xp.asarray(a) for a in (q64, k64, v64, g64)), causal=True)
    got = attention_backward(*(xp.asarray(a.astype("float32")) for a in (q64, k64, v64, g64)), causal=True)
    for g, e in zip(got, expected):
        assert str(g.dtype).endswith("float32")
        assert_close(g, e, rtol=1e-4, atol=1e-5)
    # and against float32 finite differences, whose own error is about 1e-3
    q, k, v, grad_out = (xp.asarray(a.astype("float32")) for a in (q64, k64, v64, g64))
    for g, e in zip(got, finite_differences(xp, loss_of_output(xp, grad_out, causal=True), q, k, v)):
        assert_close(g, e, rtol=2e-2, atol=2e-3)


def test_attention_backward_promotes_integers(xp):
    q = xp.asarray(numpy.array([[1, 0]]))
    k = xp.asarray(numpy.array([[1, 0], [0, 1]]))
    grads = attention_backward(q, k, k, xp.asarray(numpy.array([[1, 1]])))
    assert all(str(g.dtype).endswith("float64") for g in grads)


def test_attention_backward_errors(xp):
    q, k, v = (xp.asarray(numpy.ones(shape)) for shape in ((2, 3), (4, 3), (4, 5)))
    grad_out = xp.asarray(numpy.ones((2, 5)))
    with pytest.raises(ValueError, match=r"q has d_k=2 but k has d_k=3"):
        attention_backward(xp.asarray(numpy.ones((2, 2))), k, v, grad_out)
    with pytest.raises(ValueError, match=r"k has T_k=4 but v has T_k=3"):
        attention_backward(q, k, xp.asarray(numpy.ones((3, 5))), grad_out)
    with pytest.raises(ValueError, match=r"q needs at least 2 dimensions"):
        attention_backward(xp.asarray(numpy.ones(3)), k, v, grad_out)
    with pytest.raises(ValueError, match=r"grad_out must have the output's shape \(..., T_q, d_v\)=\(2, 5\).*\(5, 2\)"):
        attention_backward(q, k, v, xp.asarray(numpy.ones((5, 2))))
    with pytest.raises(ValueError, match=r"mask.shape=\(3, 4\) does not broadcast"):
        attention_backward(q, k, v, grad_out, xp.asarray(numpy.ones((3, 4), dtype=bool)))
    with pytest.raises(ValueError, match=r"leading \(batch/head\) dimensions do not broadcast"):
        attention_backward(xp.asarray(numpy.ones((2, 2, 3))), xp.asarray(numpy.ones((3, 4, 3))), v, grad_out)
    with pytest.raises(TypeError, match=r"grad_out must hold real numbers.*complex"):
        attention_backward(numpy.ones((2, 3)), numpy.ones((4, 3)), numpy.ones((4, 5)), numpy.ones((2, 5)) * 1j)


def test_attention_backward_refuses_mixed_backends():
    strict = pytest.importorskip("array_api_strict")
    q = numpy.ones((2, 3))
    with pytest.raises(TypeError):
        attention_backward(q, strict.asarray(q), q, q[:, :3])
