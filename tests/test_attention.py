"""course_lib.attention: cases worked by hand, the mask conventions, dtypes and every bad input.

Each test body runs on NumPy, on CuPy where a GPU is usable, and on array-api-strict.
"""

from __future__ import annotations

import math

import numpy
import pytest

import course_lib as cl
from conftest import host, tolerance


def arr(xp, values, dtype=None):
    return xp.asarray(numpy.asarray(values, dtype=dtype or numpy.float64))


def close(got, expected, dtype=numpy.float64):
    numpy.testing.assert_allclose(host(got), numpy.asarray(expected, dtype=float), rtol=tolerance(dtype), atol=tolerance(dtype))


# ---------------------------------------------------------------- worked by hand


def test_dot_product_of_two_vectors(xp):
    close(cl.dot_product(arr(xp, [1, 2, 3]), arr(xp, [4, 5, 6])), 32.0)  # 4 + 10 + 18


def test_dot_product_broadcasts_leading_dimensions(xp):
    a = arr(xp, [[1, 0], [0, 1], [1, 1]])  # (3, 2)
    close(cl.dot_product(a, arr(xp, [2, 3])), [2, 3, 5])


def test_attention_scores_compare_every_query_with_every_key(xp):
    q = arr(xp, [[1, 0], [0, 1]])  # (T_q=2, d_k=2)
    k = arr(xp, [[1, 1], [2, 0], [0, 3]])  # (T_k=3, d_k=2)
    close(cl.attention_scores(q, k), [[1, 2, 0], [1, 0, 3]])


def test_scale_scores_divides_by_the_square_root_of_d_k(xp):
    close(cl.scale_scores(arr(xp, [[2, 4], [6, 8]]), 4), [[1, 2], [3, 4]])


def test_softmax_by_hand(xp):
    close(cl.softmax(arr(xp, [0.0, math.log(3.0)])), [0.25, 0.75])  # e^0 : e^ln3 = 1 : 3


def test_softmax_of_huge_scores_does_not_overflow(xp):
    close(cl.softmax(arr(xp, [1000.0, 1000.0, -1000.0])), [0.5, 0.5, 0.0])


def test_softmax_along_another_axis(xp):
    close(cl.softmax(arr(xp, [[0.0, 5.0], [0.0, 5.0]]), axis=0), [[0.5, 0.5], [0.5, 0.5]])


def test_weighted_sum_mixes_value_rows(xp):
    weights = arr(xp, [[1.0, 0.0], [0.25, 0.75]])  # (T_q=2, T_k=2)
    v = arr(xp, [[4.0, 0.0, 8.0], [0.0, 4.0, 0.0]])  # (T_k=2, d_v=3)
    close(cl.weighted_sum(weights, v), [[4, 0, 8], [1, 3, 2]])


def test_identical_keys_give_uniform_weights_and_the_mean_value(xp):
    q = arr(xp, [[3.0, -1.0]])
    k = arr(xp, [[1.0, 2.0]] * 4)
    v = arr(xp, [[0.0], [4.0], [8.0], [12.0]])
    out, weights = cl.scaled_dot_product_attention(q, k, v)
    close(weights, [[0.25] * 4])
    close(out, [[6.0]])


def test_attention_by_hand_with_default_scale(xp):
    # d_k = 4, so scores / 2; scores [2 ln 3, 0] / 2 = [ln 3, 0] -> weights [3/4, 1/4]
    q = arr(xp, [[math.log(3.0), math.log(3.0), 0.0, 0.0]])
    k = arr(xp, [[1.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 1.0]])
    v = arr(xp, [[4.0, 0.0], [0.0, 8.0]])
    out, weights = cl.scaled_dot_product_attention(q, k, v)
    close(weights, [[0.75, 0.25]])
    close(out, [[3.0, 2.0]])


def test_scale_replaces_one_over_root_d_k(xp):
    q, k = arr(xp, [[1.0, 0.0]]), arr(xp, [[1.0, 0.0], [0.0, 1.0]])
    v = arr(xp, [[1.0], [3.0]])
    _, flat = cl.scaled_dot_product_attention(q, k, v, scale=0.0)
    close(flat, [[0.5, 0.5]])
    _, sharp = cl.scaled_dot_product_attention(q, k, v, scale=math.log(3.0))
    close(sharp, [[0.75, 0.25]])


def test_leading_dimensions_broadcast(xp):
    rng = numpy.random.default_rng(0)
    q = rng.normal(size=(2, 3, 4, 5))  # (B, h, T_q, d_k)
    k = rng.normal(size=(1, 3, 6, 5))  # broadcasts over B
    v = rng.normal(size=(6, 2))  # shared by all
    out, weights = cl.scaled_dot_product_attention(xp.asarray(q), xp.asarray(k), xp.asarray(v))
    assert out.shape == (2, 3, 4, 2) and weights.shape == (2, 3, 4, 6)
    single, _ = cl.scaled_dot_product_attention(xp.asarray(q[1, 2]), xp.asarray(k[0, 2]), xp.asarray(v))
    close(host(out)[1, 2], host(single))


# ---------------------------------------------------------------- masks


def test_boolean_mask_true_means_may_attend(xp):
    weights = cl.softmax(arr(xp, [[1.0, 2.0, 3.0]]), mask=xp.asarray(numpy.array([[True, False, True]])))
    e1, e3 = math.exp(1.0), math.exp(3.0)
    close(weights, [[e1 / (e1 + e3), 0.0, e3 / (e1 + e3)]])


def test_floating_mask_is_added_to_the_scores(xp):
    weights = cl.softmax(arr(xp, [[0.0, 0.0]]), mask=arr(xp, [[math.log(3.0), 0.0]]))
    close(weights, [[0.75, 0.25]])


def test_infinities_in_a_floating_mask_mean_masked(xp):
    weights = cl.softmax(arr(xp, [[5.0, 1.0, 1.0]]), mask=arr(xp, [[-math.inf, 0.0, math.inf]]))
    close(weights, [[0.0, 1.0, 0.0]])


def test_fully_masked_row_gets_zero_weights_and_zero_output(xp):
    q = arr(xp, [[1.0, 0.0], [0.0, 1.0]])
    v = arr(xp, [[1.0, 2.0], [3.0, 4.0]])
    mask = xp.asarray(numpy.array([[True, True], [False, False]]))
    out, weights = cl.scaled_dot_product_attention(q, q, v, mask)
    assert not numpy.isnan(host(weights)).any() and not numpy.isnan(host(out)).any()
    close(weights[1, :], [0.0, 0.0])
    close(out[1, :], [0.0, 0.0])
    close(xp.sum(weights[0, :]), 1.0)


def test_fully_masked_row_with_a_floating_mask_is_zero_too(xp):
    weights = cl.softmax(arr(xp, [[1.0, 2.0]]), mask=arr(xp, [[-math.inf, -math.inf]]))
    close(weights, [[0.0, 0.0]])


def test_nan_in_the_inputs_propagates(xp):
    weights = cl.softmax(arr(xp, [[1.0, math.nan, 3.0], [1.0, 2.0, 3.0]]))
    assert numpy.isnan(host(weights)[0]).all()
    assert not numpy.isnan(host(weights)[1]).any()


def test_nan_in_a_masked_position_is_ignored(xp):
    weights = cl.softmax(arr(xp, [[math.nan, 0.0]]), mask=xp.asarray(numpy.array([[False, True]])))
    close(weights, [[0.0, 1.0]])


def test_softmax_along_an_empty_axis_is_empty(xp):
    weights = cl.softmax(xp.asarray(numpy.ones((3, 0))))
    assert weights.shape == (3, 0)
    assert cl.softmax(xp.asarray(numpy.ones((0, 4))), axis=0).shape == (0, 4)


def test_no_keys_at_all_give_a_zero_output_and_empty_weights(xp):
    q, k, v = arr(xp, numpy.ones((2, 3, 4))), arr(xp, numpy.ones((2, 0, 4))), arr(xp, numpy.ones((2, 0, 5)))
    for mask, causal in ((None, False), (None, True), (xp.asarray(numpy.ones((3, 0), dtype=bool)), False)):
        out, weights = cl.scaled_dot_product_attention(q, k, v, mask, causal=causal)
        assert out.shape == (2, 3, 5) and weights.shape == (2, 3, 0)
        assert (host(out) == 0).all()


def test_causal_mask_is_top_left_aligned(xp_backend):
    expected = [[True, False, False, False], [True, True, False, False]]
    assert host(cl.causal_mask(2, 4)).tolist() == expected
    assert host(cl.causal_mask(3)).tolist() == numpy.tril(numpy.ones((3, 3), bool)).tolist()
    assert host(cl.causal_mask(3, 2)).tolist() == [[True, False], [True, True], [True, True]]


def test_causal_attention_sees_only_earlier_keys(xp):
    rng = numpy.random.default_rng(1)
    q, k, v = (xp.asarray(rng.normal(size=(3, 4))) for _ in range(3))
    k5 = xp.asarray(rng.normal(size=(5, 4)))
    v5 = xp.asarray(rng.normal(size=(5, 2)))
    _, weights = cl.scaled_dot_product_attention(q, k5, v5, causal=True)  # T_q=3 < T_k=5
    w = host(weights)
    assert (w[numpy.triu_indices(3, k=1, m=5)] == 0).all()
    numpy.testing.assert_allclose(w.sum(axis=-1), 1.0, rtol=tolerance(numpy.float64))
    out, _ = cl.scaled_dot_product_attention(q, k, v, causal=True)
    close(host(out)[0], host(v)[0])  # the first query sees only the first key


def test_causal_combines_with_a_boolean_mask(xp):
    q = arr(xp, numpy.zeros((3, 2)))
    v = arr(xp, [[1.0], [2.0], [4.0]])
    keep = xp.asarray(numpy.array([[False, True, True]]))  # key 0 is padding
    out, weights = cl.scaled_dot_product_attention(q, q, v, keep, causal=True)
    close(weights, [[0, 0, 0], [0, 1, 0], [0, 0.5, 0.5]])
    close(out, [[0.0], [2.0], [3.0]])


def test_causal_combines_with_a_floating_mask(xp):
    q = arr(xp, numpy.zeros((2, 2)))
    v = arr(xp, [[1.0], [3.0]])
    bias = arr(xp, [[0.0, 0.0], [math.log(3.0), 0.0]])
    _, weights = cl.scaled_dot_product_attention(q, q, v, bias, causal=True)
    close(weights, [[1.0, 0.0], [0.75, 0.25]])


def test_padding_mask_marks_real_tokens(xp_backend):
    mask = cl.padding_mask([2, 3, 0], 4)
    assert mask.shape == (3, 1, 4)
    assert host(mask)[:, 0].tolist() == [[True, True, False, False], [True, True, True, False], [False] * 4]


def test_padding_mask_hides_padded_keys_from_every_query(xp_backend):
    rng = numpy.random.default_rng(2)
    x = xp_backend.asarray(rng.normal(size=(2, 4, 3)))  # (B, T, d)
    out, weights = cl.scaled_dot_product_attention(x, x, x, cl.padding_mask([2, 4], 4))
    assert (host(weights)[0, :, 2:] == 0).all()
    short, _ = cl.scaled_dot_product_attention(x[0, :2], x[0, :2], x[0, :2])
    close(out[0, :2], host(short))


# ---------------------------------------------------------------- dtypes and inputs


def test_integers_are_promoted_to_float(xp):
    q = xp.asarray(numpy.array([[1, 0], [0, 1]], dtype=numpy.int64))
    out, weights = cl.scaled_dot_product_attention(q, q, q)
    assert out.dtype == xp.float64 and weights.dtype == xp.float64
    assert cl.softmax(xp.asarray(numpy.array([1, 2, 3]))).dtype == xp.float64


def test_float32_stays_float32(xp):
    rng = numpy.random.default_rng(3)
    q, k, v = (xp.asarray(rng.normal(size=(3, 4)).astype(numpy.float32)) for _ in range(3))
    out, weights = cl.scaled_dot_product_attention(q, k, v, xp.asarray(numpy.zeros((3, 3), numpy.float32)), causal=True)
    assert out.dtype == xp.float32 and weights.dtype == xp.float32
    assert cl.scale_scores(q, 4).dtype == xp.float32


def test_inputs_are_not_modified(xp):
    rng = numpy.random.default_rng(4)
    q, k, v = (rng.normal(size=(3, 2)) for _ in range(3))
    mask = numpy.array([[True, False, True]] * 3)
    bias = numpy.array([[0.0, -numpy.inf, 1.0]] * 3)
    arrays = [xp.asarray(a) for a in (q, k, v, mask, bias)]
    cl.scaled_dot_product_attention(*arrays[:3], arrays[3], causal=True)
    cl.scaled_dot_product_attention(*arrays[:3], arrays[4], causal=True)
    for original, passed in zip((q, k, v, mask, bias), arrays):
        assert numpy.array_equal(host(passed), original)


def test_results_are_arrays_of_the_input_kind(xp):
    q = arr(xp, [[1.0, 2.0]])
    out, weights = cl.scaled_dot_product_attention(q, q, q)
    for result in (out, weights, cl.softmax(q), cl.attention_scores(q, q), cl.dot_product(q, q)):
        assert type(result) is type(q)


# ---------------------------------------------------------------- bad input: ValueError


def test_mismatched_d_k_is_a_value_error(xp):
    with pytest.raises(ValueError, match=r"q has d_k=4 but k has d_k=5 \(q.shape=\(3, 4\), k.shape=\(3, 5\)\)"):
        cl.scaled_dot_product_attention(arr(xp, numpy.ones((3, 4))), arr(xp, numpy.ones((3, 5))), arr(xp, numpy.ones((3, 2))))
    with pytest.raises(ValueError, match=r"q has d_k=4 but k has d_k=5"):
        cl.attention_scores(arr(xp, numpy.ones((3, 4))), arr(xp, numpy.ones((3, 5))))


def test_mismatched_t_k_is_a_value_error(xp):
    with pytest.raises(ValueError, match=r"k has T_k=3 but v has T_k=4 \(k.shape=\(3, 2\), v.shape=\(4, 2\)\)"):
        cl.scaled_dot_product_attention(arr(xp, numpy.ones((2, 2))), arr(xp, numpy.ones((3, 2))), arr(xp, numpy.ones((4, 2))))
    with pytest.raises(ValueError, match=r"weights has T_k=3 but v has T_k=4"):
        cl.weighted_sum(arr(xp, numpy.ones((2, 3))), arr(xp, numpy.ones((4, 2))))


@pytest.mark.parametrize("arg", ["q", "k", "v"])
def test_too_few_dimensions_is_a_value_error(xp, arg):
    inputs = {"q": arr(xp, numpy.ones((2, 3))), "k": arr(xp, numpy.ones((2, 3))), "v": arr(xp, numpy.ones((2, 3)))}
    inputs[arg] = arr(xp, numpy.ones(3))
    with pytest.raises(ValueError, match=rf"{arg} needs at least 2 dimensions .*{arg}.shape=\(3,\)"):
        cl.scaled_dot_product_attention(**inputs)


def test_too_few_dimensions_in_the_step_functions(xp):
    with pytest.raises(ValueError, match=r"k needs at least 2 dimensions"):
        cl.attention_scores(arr(xp, numpy.ones((2, 3))), arr(xp, numpy.ones(3)))
    with pytest.raises(ValueError, match=r"weights needs at least 2 dimensions"):
        cl.weighted_sum(arr(xp, numpy.ones(3)), arr(xp, numpy.ones((3, 2))))
    with pytest.raises(ValueError, match=r"a needs at least 1 dimensions .*a.shape=\(\)"):
        cl.dot_product(arr(xp, 1.0), arr(xp, [1.0]))


def test_dot_product_of_different_lengths_is_a_value_error(xp):
    with pytest.raises(ValueError, match=r"a has length 3 but b has length 2 .*a.shape=\(3,\), b.shape=\(2,\)"):
        cl.dot_product(arr(xp, [1, 2, 3]), arr(xp, [1, 2]))


def test_mask_that_does_not_broadcast_is_a_value_error(xp):
    q = arr(xp, numpy.ones((3, 2)))
    bad = xp.asarray(numpy.ones((2, 3), dtype=bool))
    with pytest.raises(ValueError, match=r"mask.shape=\(2, 3\) does not broadcast to the scores' shape \(3, 3\)"):
        cl.scaled_dot_product_attention(q, q, q, bad)
    with pytest.raises(ValueError, match=r"mask.shape=\(2, 3\) does not broadcast"):
        cl.softmax(q, mask=bad)


def test_mask_with_more_dimensions_than_the_scores_is_a_value_error(xp):
    q = arr(xp, numpy.ones((3, 2)))
    with pytest.raises(ValueError, match=r"mask.shape=\(2, 3, 3\) does not broadcast to the scores' shape \(3, 3\)"):
        cl.scaled_dot_product_attention(q, q, q, xp.asarray(numpy.ones((2, 3, 3), dtype=bool)))


def test_batch_dimensions_that_do_not_broadcast_are_a_value_error(xp):
    with pytest.raises(ValueError, match=r"leading \(batch/head\) dimensions do not broadcast: q.shape=\(2, 3, 4\), k.shape=\(3, 3, 4\)"):
        cl.attention_scores(arr(xp, numpy.ones((2, 3, 4))), arr(xp, numpy.ones((3, 3, 4))))


@pytest.mark.parametrize("d_k", [0, -4, "4", None, True])
def test_scale_scores_needs_a_positive_d_k(xp, d_k):
    with pytest.raises(ValueError, match=r"d_k must be a positive number"):
        cl.scale_scores(arr(xp, numpy.ones((2, 2))), d_k)


def test_softmax_axis_out_of_range_is_a_value_error(xp):
    with pytest.raises(ValueError, match=r"axis=2 is out of range for x.shape=\(2, 3\)"):
        cl.softmax(arr(xp, numpy.ones((2, 3))), axis=2)


def test_bad_mask_lengths_are_value_errors(xp_backend):
    with pytest.raises(ValueError, match=r"lengths range over 1..5"):
        cl.padding_mask([1, 5], 4)
    with pytest.raises(ValueError, match=r"lengths must be 1-D .*lengths.shape=\(1, 2\)"):
        cl.padding_mask([[1, 2]], 4)
    with pytest.raises(ValueError, match=r"t must be a non-negative whole number"):
        cl.padding_mask([1], -1)
    with pytest.raises(ValueError, match=r"t_k must be a non-negative whole number of tokens, but t_k=-1"):
        cl.causal_mask(2, -1)
    with pytest.raises(ValueError, match=r"t_q must be a non-negative whole number of tokens, but t_q=2.5"):
        cl.causal_mask(2.5)


# ---------------------------------------------------------------- bad input: TypeError


def test_complex_input_is_a_type_error(xp):
    if not hasattr(xp, "complex128"):
        pytest.skip("this namespace has no complex dtype")
    z = xp.asarray(numpy.ones((2, 2), dtype=numpy.complex128))
    with pytest.raises(TypeError, match=r"q must hold real numbers .*complex .*q.shape=\(2, 2\)"):
        cl.scaled_dot_product_attention(z, z, z)


def test_boolean_input_is_a_type_error(xp):
    b = xp.asarray(numpy.ones((2, 2), dtype=bool))
    with pytest.raises(TypeError, match=r"x must hold real numbers .*non-numeric"):
        cl.softmax(b)


def test_non_numeric_numpy_input_is_a_type_error():
    with pytest.raises(TypeError, match=r"a must hold real numbers .*a.dtype=<U1"):
        cl.dot_product(numpy.array(["a", "b"]), numpy.array([1.0, 2.0]))
    with pytest.raises(TypeError, match=r"q must hold real numbers .*object"):
        cl.attention_scores(numpy.array([[object()]]), numpy.ones((1, 1)))


def test_integer_mask_is_a_type_error(xp):
    q = arr(xp, numpy.ones((2, 2)))
    with pytest.raises(TypeError, match=r"mask must be boolean .* or floating .*mask.astype\(bool\)"):
        cl.scaled_dot_product_attention(q, q, q, xp.asarray(numpy.ones((2, 2), dtype=numpy.int64)))


def test_mixed_array_libraries_are_a_type_error():
    strict = pytest.importorskip("array_api_strict")
    with pytest.raises(TypeError, match=r"two libraries were mixed: a NumPy array ndarray and a array_api_strict array"):
        cl.scaled_dot_product_attention(numpy.ones((2, 2)), strict.ones((2, 2)), numpy.ones((2, 2)))


def test_mixed_numpy_and_cupy_is_a_type_error(xp_backend):
    if cl.name() != "cupy":
        pytest.skip("needs CuPy arrays next to NumPy arrays: runs in the cupy case only")
    with pytest.raises(TypeError, match=r"NumPy .* CuPy|CuPy .* NumPy"):
        cl.scaled_dot_product_attention(numpy.ones((2, 2)), xp_backend.ones((2, 2)), xp_backend.ones((2, 2)))


def test_errors_are_raised_before_any_computation(xp, monkeypatch):
    called = []
    monkeypatch.setattr(cl.attention, "attention_scores", lambda *a: called.append(a))
    with pytest.raises(ValueError):
        cl.scaled_dot_product_attention(arr(xp, numpy.ones((2, 2))), arr(xp, numpy.ones((2, 2))), arr(xp, numpy.ones((3, 2))))
    assert called == []
