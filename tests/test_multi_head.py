"""Tests of multi-head attention: split_heads, merge_heads, multi_head_attention (notebook 11).

Hand-worked cases first, then properties (hypothesis), then agreement with a float64
reference written independently with plain NumPy loops over the heads, then every bad
input of the contract with its message. Each body runs on NumPy, CuPy (where a GPU is
usable) and array-api-strict through the ``xp`` fixture.
"""

from __future__ import annotations

import math
import re

import numpy
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import _CUPY, _CUPY_REASON, host, tolerance

from course_lib import (
    causal_mask,
    merge_heads,
    multi_head_attention,
    padding_mask,
    scaled_dot_product_attention,
    split_heads,
)

# hypothesis with the function-scoped `xp` fixture: xp is only a module, nothing to reset between examples
PROPERTY = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def random_inputs(xp, rng, batch=(), t_q=4, t_k=4, d_model=6, dtype="float64"):
    """x_q (*batch, T_q, d_model), x_kv (*batch, T_k, d_model) and four (d_model, d_model) weights, as xp arrays."""
    arrays = [rng.normal(size=(*batch, t_q, d_model)), rng.normal(size=(*batch, t_k, d_model))]
    arrays += [rng.normal(size=(d_model, d_model)) / math.sqrt(d_model) for _ in range(4)]
    return [xp.asarray(a.astype(dtype)) for a in arrays]


def reference_multi_head(x_q, x_kv, w_q, w_k, w_v, w_o, n_heads, mask=None, causal=False):
    """float64 multi-head attention in plain NumPy, one loop over heads and queries (no course_lib).

    x_q (B, T_q, d), x_kv (B, T_k, d); mask None or boolean broadcastable to (B, T_q, T_k).
    """
    x_q, x_kv = numpy.asarray(x_q, dtype=numpy.float64), numpy.asarray(x_kv, dtype=numpy.float64)
    w_q, w_k, w_v, w_o = (numpy.asarray(w, dtype=numpy.float64) for w in (w_q, w_k, w_v, w_o))
    n_batch, t_q, d_model = x_q.shape
    t_k, d_head = x_kv.shape[1], d_model // n_heads
    allowed = numpy.ones((n_batch, t_q, t_k), dtype=bool)
    if mask is not None:
        allowed = allowed & numpy.broadcast_to(numpy.asarray(mask), allowed.shape)
    if causal:
        allowed = allowed & numpy.tri(t_q, t_k, dtype=bool)
    out = numpy.zeros((n_batch, t_q, d_model))
    weights = numpy.zeros((n_batch, n_heads, t_q, t_k))
    for b in range(n_batch):
        q, k, v = x_q[b] @ w_q, x_kv[b] @ w_k, x_kv[b] @ w_v
        concat = numpy.zeros((t_q, d_model))
        for h in range(n_heads):
            cols = slice(h * d_head, (h + 1) * d_head)
            for i in range(t_q):
                scores = numpy.array([q[i, cols] @ k[j, cols] for j in range(t_k)]) / math.sqrt(d_head)
                keep = allowed[b, i]
                if keep.any():
                    e = numpy.where(keep, numpy.exp(scores - scores[keep].max()), 0.0)
                    weights[b, h, i] = e / e.sum()
                concat[i, cols] = weights[b, h, i] @ v[:, cols]
        out[b] = concat @ w_o
    return out, weights


# ---------------------------------------------------------------- hand-worked cases


def test_split_heads_gives_each_head_its_own_columns(xp):
    x = xp.reshape(xp.arange(8, dtype=xp.float64), (2, 4))  # T=2, d_model=4: [[0,1,2,3],[4,5,6,7]]
    heads = split_heads(x, 2)
    assert heads.shape == (2, 2, 2)
    numpy.testing.assert_array_equal(host(heads), [[[0, 1], [4, 5]], [[2, 3], [6, 7]]])


def test_merge_heads_puts_heads_side_by_side(xp):
    heads = xp.asarray([[[0.0, 1.0], [4.0, 5.0]], [[2.0, 3.0], [6.0, 7.0]]])  # (n_heads=2, T=2, d_head=2)
    merged = merge_heads(heads)
    assert merged.shape == (2, 4)
    numpy.testing.assert_array_equal(host(merged), [[0, 1, 2, 3], [4, 5, 6, 7]])


def test_two_heads_on_identity_projections_worked_by_hand(xp):
    # d_model=2, n_heads=2, d_head=1: head 0 sees only feature 0, head 1 only feature 1.
    # x = [[1, 0], [0, 1]]. Head 0: scores [[1, 0], [0, 0]] -> weights [[e/(e+1), 1/(e+1)], [1/2, 1/2]],
    # values [1, 0] -> outputs [e/(e+1), 1/2]. Head 1 is the mirror image: outputs [1/2, e/(e+1)].
    x = xp.asarray([[1.0, 0.0], [0.0, 1.0]])
    eye = xp.eye(2, dtype=xp.float64)
    out, weights = multi_head_attention(x, x, eye, eye, eye, eye, 2)
    p = math.e / (math.e + 1)
    numpy.testing.assert_allclose(host(out), [[p, 0.5], [0.5, p]], rtol=tolerance(out.dtype))
    numpy.testing.assert_allclose(host(weights), [[[p, 1 - p], [0.5, 0.5]], [[0.5, 0.5], [1 - p, p]]],
                                  rtol=tolerance(weights.dtype))


def test_w_o_mixes_the_concatenated_heads(xp):
    # Same case as above with w_o swapping the two features: the output columns swap.
    x = xp.asarray([[1.0, 0.0], [0.0, 1.0]])
    eye = xp.eye(2, dtype=xp.float64)
    swap = xp.asarray([[0.0, 1.0], [1.0, 0.0]])
    out, _ = multi_head_attention(x, x, eye, eye, eye, swap, 2)
    p = math.e / (math.e + 1)
    numpy.testing.assert_allclose(host(out), [[0.5, p], [p, 0.5]], rtol=tolerance(out.dtype))


def test_integer_inputs_are_promoted_to_float(xp):
    x = xp.asarray([[1, 0], [0, 1]])
    eye = xp.eye(2, dtype=xp.int64)
    out, weights = multi_head_attention(x, x, eye, eye, eye, eye, 2)
    assert xp.isdtype(out.dtype, "real floating") and xp.isdtype(weights.dtype, "real floating")


# ---------------------------------------------------------------- properties


@st.composite
def head_layouts(draw):
    batch = tuple(draw(st.lists(st.integers(1, 3), max_size=2)))
    return batch, draw(st.integers(1, 5)), draw(st.integers(1, 4)), draw(st.integers(1, 3)), draw(st.integers(0, 2**32 - 1))


@PROPERTY
@given(layout=head_layouts())
def test_split_then_merge_is_the_identity(xp, layout):
    batch, t, n_heads, d_head, seed = layout
    x = xp.asarray(numpy.random.default_rng(seed).normal(size=(*batch, t, n_heads * d_head)))
    heads = split_heads(x, n_heads)
    assert heads.shape == (*batch, n_heads, t, d_head)
    numpy.testing.assert_array_equal(host(merge_heads(heads)), host(x))


@PROPERTY
@given(layout=head_layouts())
def test_merge_then_split_is_the_identity(xp, layout):
    batch, t, n_heads, d_head, seed = layout
    heads = xp.asarray(numpy.random.default_rng(seed).normal(size=(*batch, n_heads, t, d_head)))
    numpy.testing.assert_array_equal(host(split_heads(merge_heads(heads), n_heads)), host(heads))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_one_head_is_scaled_dot_product_attention_on_the_projections(xp, dtype):
    x_q, x_kv, w_q, w_k, w_v, w_o = random_inputs(xp, numpy.random.default_rng(1), batch=(2,), t_q=3, t_k=5,
                                                  dtype=dtype)
    out, weights = multi_head_attention(x_q, x_kv, w_q, w_k, w_v, w_o, 1)
    expected, expected_weights = scaled_dot_product_attention(x_q @ w_q, x_kv @ w_k, x_kv @ w_v)
    assert weights.shape == (2, 1, 3, 5)
    tol = tolerance(out.dtype)
    numpy.testing.assert_allclose(host(out), host(expected @ w_o), rtol=tol, atol=tol)
    numpy.testing.assert_allclose(host(weights)[:, 0], host(expected_weights), rtol=tol, atol=tol)


@PROPERTY
@given(n_heads=st.sampled_from([1, 2, 3, 6]), t_q=st.integers(1, 5), t_k=st.integers(1, 5),
       seed=st.integers(0, 2**32 - 1))
def test_weights_have_one_row_per_head_and_query_summing_to_one(xp, n_heads, t_q, t_k, seed):
    inputs = random_inputs(xp, numpy.random.default_rng(seed), batch=(2,), t_q=t_q, t_k=t_k, d_model=6)
    out, weights = multi_head_attention(*inputs, n_heads)
    assert out.shape == (2, t_q, 6)
    assert weights.shape == (2, n_heads, t_q, t_k)
    numpy.testing.assert_allclose(host(weights).sum(axis=-1), 1.0, rtol=0, atol=tolerance(weights.dtype))
    assert (host(weights) >= 0).all()


def test_swapping_the_heads_columns_gives_the_same_output(xp):
    # Heads are independent: permuting which columns belong to which head (in w_q, w_k, w_v and the
    # matching rows of w_o) permutes the weights' head axis and leaves the output unchanged.
    x_q, x_kv, w_q, w_k, w_v, w_o = random_inputs(xp, numpy.random.default_rng(2), t_q=3, t_k=4, d_model=6)
    order = xp.asarray([3, 4, 5, 0, 1, 2])  # head 1's columns first, then head 0's
    out, weights = multi_head_attention(x_q, x_kv, w_q, w_k, w_v, w_o, 2)
    out_2, weights_2 = multi_head_attention(x_q, x_kv, xp.take(w_q, order, axis=1), xp.take(w_k, order, axis=1),
                                            xp.take(w_v, order, axis=1), xp.take(w_o, order, axis=0), 2)
    tol = tolerance(out.dtype)
    numpy.testing.assert_allclose(host(out_2), host(out), rtol=tol, atol=tol)
    numpy.testing.assert_allclose(host(weights_2), host(weights)[[1, 0]], rtol=tol, atol=tol)


# ---------------------------------------------------------------- agreement with the reference


@pytest.mark.parametrize("n_heads", [1, 2, 3, 6])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_agrees_with_a_float64_loop_reference(xp, n_heads, dtype):
    inputs = random_inputs(xp, numpy.random.default_rng(3), batch=(2,), t_q=4, t_k=5, d_model=6, dtype=dtype)
    out, weights = multi_head_attention(*inputs, n_heads)
    expected, expected_weights = reference_multi_head(*(host(a) for a in inputs), n_heads)
    tol = tolerance(out.dtype) * 10
    numpy.testing.assert_allclose(host(out), expected, rtol=tol, atol=tol)
    numpy.testing.assert_allclose(host(weights), expected_weights, rtol=tol, atol=tol)


def test_self_attention_with_several_leading_dimensions(xp):
    x, _, w_q, w_k, w_v, w_o = random_inputs(xp, numpy.random.default_rng(4), batch=(2, 3), t_q=4, t_k=4)
    out, weights = multi_head_attention(x, x, w_q, w_k, w_v, w_o, 3)
    assert out.shape == (2, 3, 4, 6) and weights.shape == (2, 3, 3, 4, 4)
    flat = host(xp.reshape(x, (6, 4, 6)))
    expected, expected_weights = reference_multi_head(flat, flat, *(host(w) for w in (w_q, w_k, w_v, w_o)), 3)
    tol = tolerance(out.dtype) * 10
    numpy.testing.assert_allclose(host(out).reshape(6, 4, 6), expected, rtol=tol, atol=tol)
    numpy.testing.assert_allclose(host(weights).reshape(6, 3, 4, 4), expected_weights, rtol=tol, atol=tol)


# ---------------------------------------------------------------- masks


def test_causal_masks_every_head_and_agrees_with_the_reference(xp):
    x, _, w_q, w_k, w_v, w_o = random_inputs(xp, numpy.random.default_rng(5), batch=(2,), t_q=5, t_k=5)
    out, weights = multi_head_attention(x, x, w_q, w_k, w_v, w_o, 2, causal=True)
    upper = numpy.triu(numpy.ones((5, 5), dtype=bool), k=1)
    assert (host(weights)[..., upper] == 0).all()
    expected, expected_weights = reference_multi_head(*(host(a) for a in (x, x, w_q, w_k, w_v, w_o)), 2, causal=True)
    tol = tolerance(out.dtype) * 10
    numpy.testing.assert_allclose(host(out), expected, rtol=tol, atol=tol)
    numpy.testing.assert_allclose(host(weights), expected_weights, rtol=tol, atol=tol)


def test_causal_flag_and_causal_mask_agree(xp):
    x, _, w_q, w_k, w_v, w_o = random_inputs(xp, numpy.random.default_rng(6), t_q=4, t_k=4)
    by_flag = multi_head_attention(x, x, w_q, w_k, w_v, w_o, 3, causal=True)
    by_mask = multi_head_attention(x, x, w_q, w_k, w_v, w_o, 3, xp.asarray(host(causal_mask(4))))
    for a, b in zip(by_flag, by_mask):
        numpy.testing.assert_array_equal(host(a), host(b))


def test_causal_outputs_do_not_depend_on_future_tokens(xp):
    rng = numpy.random.default_rng(7)
    x, _, w_q, w_k, w_v, w_o = random_inputs(xp, rng, t_q=6, t_k=6)
    x_changed = host(x).copy()
    x_changed[4:] = rng.normal(size=(2, 6))  # change tokens 4 and 5
    out, _ = multi_head_attention(x, x, w_q, w_k, w_v, w_o, 2, causal=True)
    out_changed, _ = multi_head_attention(xp.asarray(x_changed), xp.asarray(x_changed), w_q, w_k, w_v, w_o, 2,
                                          causal=True)
    numpy.testing.assert_array_equal(host(out_changed)[:4], host(out)[:4])
    assert not numpy.allclose(host(out_changed)[4:], host(out)[4:])


def test_padding_mask_hides_padded_keys_in_every_head(xp):
    x, _, w_q, w_k, w_v, w_o = random_inputs(xp, numpy.random.default_rng(8), batch=(2,), t_q=5, t_k=5)
    mask = xp.asarray(host(padding_mask(numpy.asarray([3, 5]), 5)))  # (B=2, 1, t=5)
    out, weights = multi_head_attention(x, x, w_q, w_k, w_v, w_o, 2, mask)
    assert weights.shape == (2, 2, 5, 5)
    assert (host(weights)[0, :, :, 3:] == 0).all()
    numpy.testing.assert_allclose(host(weights).sum(axis=-1), 1.0, atol=tolerance(weights.dtype))
    # the real tokens of sentence 0 get exactly what they get without the padding at all
    short, _ = multi_head_attention(x[0, :3, :], x[0, :3, :], w_q, w_k, w_v, w_o, 2)
    tol = tolerance(out.dtype) * 10
    numpy.testing.assert_allclose(host(out)[0, :3], host(short), rtol=tol, atol=tol)
    expected, _ = reference_multi_head(*(host(a) for a in (x, x, w_q, w_k, w_v, w_o)), 2, mask=host(mask))
    numpy.testing.assert_allclose(host(out), expected, rtol=tol, atol=tol)


def test_padding_and_causal_combine(xp):
    x, _, w_q, w_k, w_v, w_o = random_inputs(xp, numpy.random.default_rng(9), batch=(2,), t_q=4, t_k=4)
    mask = xp.asarray(host(padding_mask(numpy.asarray([2, 4]), 4)))
    out, weights = multi_head_attention(x, x, w_q, w_k, w_v, w_o, 3, mask, causal=True)
    expected, expected_weights = reference_multi_head(*(host(a) for a in (x, x, w_q, w_k, w_v, w_o)), 3,
                                                      mask=host(mask), causal=True)
    tol = tolerance(out.dtype) * 10
    numpy.testing.assert_allclose(host(out), expected, rtol=tol, atol=tol)
    numpy.testing.assert_allclose(host(weights), expected_weights, rtol=tol, atol=tol)


def test_floating_mask_is_added_in_every_head(xp):
    x, _, w_q, w_k, w_v, w_o = random_inputs(xp, numpy.random.default_rng(10), t_q=3, t_k=3)
    allowed = numpy.array([[True, False, True], [True, True, False], [False, True, True]])
    floating = xp.asarray(numpy.where(allowed, 0.0, -numpy.inf))
    by_float = multi_head_attention(x, x, w_q, w_k, w_v, w_o, 2, floating)
    by_bool = multi_head_attention(x, x, w_q, w_k, w_v, w_o, 2, xp.asarray(allowed))
    for a, b in zip(by_float, by_bool):
        numpy.testing.assert_allclose(host(a), host(b), rtol=tolerance(a.dtype), atol=tolerance(a.dtype))


def test_cross_attention_with_a_one_dimensional_mask_over_the_keys(xp):
    x_q, x_kv, w_q, w_k, w_v, w_o = random_inputs(xp, numpy.random.default_rng(11), batch=(2,), t_q=2, t_k=4)
    keep = xp.asarray([True, True, False, True])  # (T_k,), broadcast to every query, head and batch
    _, weights = multi_head_attention(x_q, x_kv, w_q, w_k, w_v, w_o, 2, keep)
    assert weights.shape == (2, 2, 2, 4)
    assert (host(weights)[..., 2] == 0).all()


def test_fully_masked_query_gets_zero_output_not_nan(xp):
    x, _, w_q, w_k, w_v, w_o = random_inputs(xp, numpy.random.default_rng(12), t_q=3, t_k=3)
    mask = xp.asarray([[True, True, True], [False, False, False], [True, False, True]])
    out, weights = multi_head_attention(x, x, w_q, w_k, w_v, w_o, 2, mask)
    assert not numpy.isnan(host(out)).any()
    assert (host(weights)[:, 1] == 0).all() and (host(out)[1] == 0).all()


# ---------------------------------------------------------------- bad input


def _inputs(xp, d_model=6, t_q=3, t_k=4):
    return random_inputs(xp, numpy.random.default_rng(13), t_q=t_q, t_k=t_k, d_model=d_model)


@pytest.mark.parametrize("n_heads", [4, 5, 7])
def test_n_heads_that_does_not_divide_d_model_is_a_value_error(xp, n_heads):
    with pytest.raises(ValueError, match=re.escape(f"n_heads={n_heads} does not divide d_model=6 (x_q.shape=(3, 6))")):
        multi_head_attention(*_inputs(xp), n_heads)


@pytest.mark.parametrize("n_heads", [0, -2, 2.0, True, None])
def test_n_heads_that_is_not_a_positive_whole_number_is_a_value_error(xp, n_heads):
    with pytest.raises(ValueError, match=re.escape(f"n_heads must be a whole number >= 1, but n_heads={n_heads!r}")):
        multi_head_attention(*_inputs(xp), n_heads)


@pytest.mark.parametrize("position, arg", [(2, "w_q"), (3, "w_k"), (4, "w_v"), (5, "w_o")])
@pytest.mark.parametrize("bad_shape", [(6, 4), (4, 6), (6,), (2, 6, 6)])
def test_weight_that_is_not_d_model_by_d_model_is_a_value_error(xp, position, arg, bad_shape):
    inputs = _inputs(xp)
    inputs[position] = xp.ones(bad_shape, dtype=xp.float64)
    expected = f"{arg} must have shape (d_model, d_model)=(6, 6) to match x_q.shape=(3, 6), but {arg}.shape={bad_shape}"
    with pytest.raises(ValueError, match=re.escape(expected)):
        multi_head_attention(*inputs, 2)


def test_x_q_and_x_kv_with_different_d_model_is_a_value_error(xp):
    inputs = _inputs(xp)
    inputs[1] = xp.ones((4, 5), dtype=xp.float64)
    with pytest.raises(ValueError, match=re.escape("x_q has d_model=6 but x_kv has d_model=5 "
                                                   "(x_q.shape=(3, 6), x_kv.shape=(4, 5))")):
        multi_head_attention(*inputs, 2)


@pytest.mark.parametrize("position, arg, layout", [(0, "x_q", "(..., T_q, d_model)"), (1, "x_kv", "(..., T_k, d_model)")])
def test_one_dimensional_input_is_a_value_error(xp, position, arg, layout):
    inputs = _inputs(xp)
    inputs[position] = xp.ones((6,), dtype=xp.float64)
    with pytest.raises(ValueError, match=re.escape(f"{arg} needs at least 2 dimensions {layout}, but {arg}.shape=(6,)")):
        multi_head_attention(*inputs, 2)


def test_batch_dimensions_that_do_not_broadcast_are_a_value_error(xp):
    inputs = random_inputs(xp, numpy.random.default_rng(14), batch=(2,), t_q=3, t_k=4)
    inputs[1] = xp.ones((3, 4, 6), dtype=xp.float64)
    with pytest.raises(ValueError, match=re.escape("do not broadcast: x_q.shape=(2, 3, 6), x_kv.shape=(3, 4, 6)")):
        multi_head_attention(*inputs, 2)


def test_mask_that_does_not_broadcast_is_a_value_error(xp):
    mask = xp.ones((3, 3), dtype=xp.bool)  # T_k is 4
    with pytest.raises(ValueError, match=re.escape("mask.shape=(3, 3) does not broadcast to the scores' shape (3, 4)")):
        multi_head_attention(*_inputs(xp), 2, mask)


def test_mask_with_a_head_axis_is_a_value_error(xp):
    # the mask is given for (..., T_q, T_k) and shared by the heads; a per-head mask is not part of the contract
    mask = xp.ones((2, 3, 4), dtype=xp.bool)
    with pytest.raises(ValueError, match=re.escape("mask.shape=(2, 3, 4) does not broadcast to the scores' shape (3, 4)")):
        multi_head_attention(*_inputs(xp), 2, mask)


def test_integer_mask_is_a_type_error(xp):
    mask = xp.ones((3, 4), dtype=xp.int64)
    with pytest.raises(TypeError, match="mask must be boolean .* but mask.dtype="):
        multi_head_attention(*_inputs(xp), 2, mask)


@pytest.mark.parametrize("position, arg", [(0, "x_q"), (1, "x_kv"), (2, "w_q"), (5, "w_o")])
def test_complex_input_is_a_type_error(xp, position, arg):
    inputs = _inputs(xp)
    inputs[position] = xp.astype(inputs[position], xp.complex128)
    shape = tuple(inputs[position].shape)
    with pytest.raises(TypeError, match=re.escape(f"{arg} must hold real numbers") + r".* is complex "
                       + re.escape(f"({arg}.shape={shape})")):
        multi_head_attention(*inputs, 2)


def test_non_numeric_input_is_a_type_error():
    inputs = _inputs(numpy)
    inputs[0] = numpy.full((3, 6), "a")
    with pytest.raises(TypeError, match=re.escape("x_q must hold real numbers") + r".* is non-numeric"):
        multi_head_attention(*inputs, 2)


def test_numpy_mixed_with_another_array_library_is_a_type_error():
    strict = pytest.importorskip("array_api_strict")
    inputs = _inputs(numpy)
    inputs[3] = strict.asarray(inputs[3])
    with pytest.raises(TypeError, match="arrays from two libraries were mixed: a NumPy array ndarray and a "
                                        "array_api_strict array Array"):
        multi_head_attention(*inputs, 2)


@pytest.mark.skipif(_CUPY is None, reason=_CUPY_REASON)
def test_numpy_mixed_with_cupy_is_a_type_error():
    inputs = _inputs(numpy)
    inputs[4] = _CUPY.asarray(inputs[4])
    with pytest.raises(TypeError, match="a NumPy array ndarray and a CuPy array ndarray"):
        multi_head_attention(*inputs, 2)


def test_split_heads_rejects_an_n_heads_that_does_not_divide_d_model(xp):
    x = xp.ones((3, 6), dtype=xp.float64)
    with pytest.raises(ValueError, match=re.escape("n_heads=4 does not divide d_model=6 (x.shape=(3, 6))")):
        split_heads(x, 4)
    with pytest.raises(ValueError, match=re.escape("n_heads must be a whole number >= 1, but n_heads=0")):
        split_heads(x, 0)


def test_split_and_merge_reject_too_few_dimensions(xp):
    with pytest.raises(ValueError, match=re.escape("x needs at least 2 dimensions (..., T, d_model), but x.shape=(6,)")):
        split_heads(xp.ones((6,), dtype=xp.float64), 2)
    with pytest.raises(ValueError,
                       match=re.escape("x needs at least 3 dimensions (..., n_heads, T, d_head), but x.shape=(3, 6)")):
        merge_heads(xp.ones((3, 6), dtype=xp.float64))


def test_inputs_are_not_modified(xp):
    inputs = _inputs(xp)
    copies = [host(a).copy() for a in inputs]
    mask = xp.asarray([[True, False, True, True]] * 3)
    multi_head_attention(*inputs, 2, mask, causal=True)
    for a, c in zip(inputs, copies):
        numpy.testing.assert_array_equal(host(a), c)
