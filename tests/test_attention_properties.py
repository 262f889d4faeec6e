"""Properties of attention that hold for every input (hypothesis), and agreement with a
float64 reference written independently of course_lib, on every backend."""

from __future__ import annotations

import math

import numpy
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import course_lib as cl
from conftest import host, tolerance

# The xp fixture only names a module, so it is safe to share across hypothesis examples.
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
VALUES = st.floats(-10.0, 10.0, allow_nan=False, width=64)


def matrices(min_rows=1, max_rows=6, min_cols=1, max_cols=5):
    shape = st.tuples(st.integers(min_rows, max_rows), st.integers(min_cols, max_cols))
    return hnp.arrays(numpy.float64, shape, elements=VALUES)


@st.composite
def qkv(draw, square=False):
    t_q, t_k, d_k, d_v = draw(st.integers(1, 6)), draw(st.integers(1, 6)), draw(st.integers(1, 5)), draw(st.integers(1, 4))
    if square:
        t_q = t_k
    q = draw(hnp.arrays(numpy.float64, (t_q, d_k), elements=VALUES))
    k = draw(hnp.arrays(numpy.float64, (t_k, d_k), elements=VALUES))
    v = draw(hnp.arrays(numpy.float64, (t_k, d_v), elements=VALUES))
    return q, k, v


def reference_attention(q, k, v, allowed=None):
    """softmax(q kᵀ / √d_k) v in float64 with plain Python loops: no course_lib, no vectorising."""
    q, k, v = (numpy.asarray(a, dtype=numpy.float64) for a in (q, k, v))
    t_q, t_k, d_k = q.shape[0], k.shape[0], q.shape[1]
    out = numpy.zeros((t_q, v.shape[1]))
    weights = numpy.zeros((t_q, t_k))
    for i in range(t_q):
        keys = [j for j in range(t_k) if allowed is None or allowed[i, j]]
        if not keys:
            continue
        scores = {j: sum(q[i, c] * k[j, c] for c in range(d_k)) / math.sqrt(d_k) for j in keys}
        top = max(scores.values())
        total = sum(math.exp(s - top) for s in scores.values())
        for j in keys:
            weights[i, j] = math.exp(scores[j] - top) / total
            out[i] += weights[i, j] * v[j]
    return out, weights


@SETTINGS
@given(x=matrices())
def test_softmax_rows_are_probabilities(xp, x):
    w = host(cl.softmax(xp.asarray(x)))
    assert ((w >= 0) & (w <= 1)).all()
    numpy.testing.assert_allclose(w.sum(axis=-1), 1.0, rtol=tolerance(numpy.float64))


@SETTINGS
@given(x=matrices(), shift=st.floats(-1e3, 1e3))
def test_softmax_is_shift_invariant(xp, x, shift):
    numpy.testing.assert_allclose(
        host(cl.softmax(xp.asarray(x + shift))), host(cl.softmax(xp.asarray(x))), atol=1e-9
    )


@SETTINGS
@given(data=qkv())
def test_outputs_lie_within_the_columns_of_v(xp, data):
    q, k, v = data
    out = host(cl.scaled_dot_product_attention(xp.asarray(q), xp.asarray(k), xp.asarray(v))[0])
    slack = 1e-9 * (1 + numpy.abs(v).max())
    assert (out >= v.min(axis=0) - slack).all() and (out <= v.max(axis=0) + slack).all()


@SETTINGS
@given(x=matrices(min_rows=2), seed=st.integers(0, 2**16))
def test_self_attention_is_permutation_equivariant(xp, x, seed):
    order = numpy.random.default_rng(seed).permutation(x.shape[0])
    out = host(cl.scaled_dot_product_attention(*(xp.asarray(x),) * 3)[0])
    permuted = host(cl.scaled_dot_product_attention(*(xp.asarray(x[order]),) * 3)[0])
    numpy.testing.assert_allclose(permuted, out[order], atol=1e-9)


@SETTINGS
@given(x=matrices(min_rows=2), change=matrices(min_rows=1, max_rows=1), data=st.data())
def test_causal_outputs_do_not_depend_on_future_tokens(xp, x, change, data):
    t = data.draw(st.integers(0, x.shape[0] - 2), label="last unchanged position")
    changed = x.copy()
    changed[t + 1:] = numpy.resize(change, changed[t + 1:].shape) + 1.0
    before = host(cl.scaled_dot_product_attention(*(xp.asarray(x),) * 3, causal=True)[0])
    after = host(cl.scaled_dot_product_attention(*(xp.asarray(changed),) * 3, causal=True)[0])
    numpy.testing.assert_allclose(after[: t + 1], before[: t + 1], atol=1e-12)


@SETTINGS
@given(data=qkv())
def test_float64_agrees_with_the_reference(xp, data):
    q, k, v = data
    out, weights = cl.scaled_dot_product_attention(xp.asarray(q), xp.asarray(k), xp.asarray(v))
    ref_out, ref_weights = reference_attention(q, k, v)
    numpy.testing.assert_allclose(host(weights), ref_weights, rtol=1e-9, atol=1e-12)
    numpy.testing.assert_allclose(host(out), ref_out, rtol=1e-9, atol=1e-9)


@SETTINGS
@given(data=qkv())
def test_float32_agrees_with_a_float64_reference(xp, data):
    q, k, v = (a.astype(numpy.float32) for a in data)
    out, weights = cl.scaled_dot_product_attention(xp.asarray(q), xp.asarray(k), xp.asarray(v))
    assert out.dtype == xp.float32
    ref_out, ref_weights = reference_attention(q, k, v)
    # float32 rounding of scores up to |q·k|/√d_k ~ 500 changes exp() by about eps * score.
    scale = 1 + numpy.abs(q).max() * numpy.abs(k).max() * q.shape[1]
    tol = tolerance(numpy.float32) * scale
    numpy.testing.assert_allclose(host(weights), ref_weights, atol=tol)
    numpy.testing.assert_allclose(host(out), ref_out, atol=tol * (1 + numpy.abs(v).max()))


@SETTINGS
@given(data=qkv(), seed=st.integers(0, 2**16), causal=st.booleans())
def test_masked_attention_agrees_with_the_reference(xp, data, seed, causal):
    q, k, v = data
    allowed = numpy.random.default_rng(seed).random((q.shape[0], k.shape[0])) < 0.6
    out, weights = cl.scaled_dot_product_attention(xp.asarray(q), xp.asarray(k), xp.asarray(v), xp.asarray(allowed), causal=causal)
    if causal:
        allowed = allowed & numpy.tri(q.shape[0], k.shape[0], dtype=bool)
    ref_out, ref_weights = reference_attention(q, k, v, allowed)
    numpy.testing.assert_allclose(host(weights), ref_weights, rtol=1e-9, atol=1e-12)
    numpy.testing.assert_allclose(host(out), ref_out, rtol=1e-9, atol=1e-9)
