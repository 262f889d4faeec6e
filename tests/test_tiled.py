"""course_lib.tiled: the online softmax worked by hand, tiled attention equal to the readable
scaled_dot_product_attention for every shape, the same errors, and the CPU loop's threads.

Each body written once runs on NumPy, on CuPy where a GPU is usable, and on array-api-strict
(which takes the readable loop). The CPU loop (NumPy float32/float64) is also run on small
inputs with its threads forced on, and the readable loop on NumPy is called directly.
Correctness only: the timings are `make bench`'s.
"""

from __future__ import annotations

import math
import threading
import tracemalloc

import numpy
import pytest
import threadpoolctl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import course_lib as cl
from conftest import host, tolerance
from course_lib import tiled
from course_lib.tiled import online_softmax_update, tiled_attention

PROPERTY = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def random_qkv(xp, rng, q_shape, k_shape, d_v, dtype=numpy.float64):
    """q, k, v as xp arrays of standard normal numbers: q ``q_shape``, k ``k_shape``, v like k but d_v wide."""
    shapes = (q_shape, k_shape, tuple(k_shape[:-1]) + (d_v,))
    return [xp.asarray(rng.normal(size=shape).astype(dtype)) for shape in shapes]


def assert_same_as_sdpa(xp, q, k, v, causal=False, scale=None, block_size=None, dtype=numpy.float64):
    out = tiled_attention(q, k, v, causal=causal, scale=scale, block_size=block_size)
    expected, _ = cl.scaled_dot_product_attention(q, k, v, causal=causal, scale=scale)
    assert type(out) is type(expected) and out.dtype == expected.dtype and out.shape == expected.shape
    numpy.testing.assert_allclose(host(out), host(expected), rtol=tolerance(dtype), atol=tolerance(dtype))


@pytest.fixture
def threads_always(monkeypatch):
    """The CPU loop on worker threads even for inputs this small (normally it stays in the caller's thread),
    and BLAS on two threads, so that its limit to one per worker shows (`make test` runs BLAS on one thread
    per pytest worker, see conftest.py, and so does a machine with one core)."""
    monkeypatch.setattr(tiled, "SERIAL_BELOW", 0)
    monkeypatch.setattr(tiled, "_worker_count", lambda: 2)
    with threadpoolctl.threadpool_limits(2, user_api="blas"):
        assert all(threads == 2 for threads in blas_threads()), f"BLAS did not take two threads: {blas_threads()}"
        yield


def blas_threads() -> list[int]:
    return [lib["num_threads"] for lib in threadpoolctl.threadpool_info() if lib["user_api"] == "blas"]


# ---------------------------------------------------------------- the online softmax by hand


def test_two_blocks_by_hand_give_the_softmax_of_both():
    e = math.exp
    v = numpy.array([[1.0, 0.0], [0.0, 1.0], [2.0, 2.0], [4.0, 0.0]])  # one row per key
    m, l, acc = numpy.array([-math.inf]), numpy.zeros(1), numpy.zeros((1, 2))  # nothing seen yet
    m, l, acc = online_softmax_update(m, l, acc, numpy.array([[1.0, 2.0]]), v[:2])  # keys 0, 1
    numpy.testing.assert_allclose(m, [2.0])
    numpy.testing.assert_allclose(l, [e(-1) + 1])
    numpy.testing.assert_allclose(acc, [[e(-1), 1.0]])
    m, l, acc = online_softmax_update(m, l, acc, numpy.array([[3.0, 0.0]]), v[2:])  # keys 2, 3: a new maximum
    numpy.testing.assert_allclose(m, [3.0])
    numpy.testing.assert_allclose(l, [(e(-1) + 1) * e(-1) + 1 + e(-3)])  # the old sum moved onto m = 3
    weights = cl.softmax(numpy.array([1.0, 2.0, 3.0, 0.0]))
    numpy.testing.assert_allclose(acc / l[:, None], [weights @ v], rtol=tolerance(numpy.float64))


def test_update_works_on_every_backend_with_batch_dimensions(xp):
    rng = numpy.random.default_rng(0)
    scores, v = rng.normal(size=(2, 3, 7)), rng.normal(size=(2, 7, 4))  # (B, T_q, T_k), (B, T_k, d_v)
    state = (xp.full((2, 3), -math.inf), xp.zeros((2, 3)), xp.zeros((2, 3, 4)))
    for keys in (slice(0, 3), slice(3, 4), slice(4, 7)):
        state = online_softmax_update(*state, xp.asarray(scores[..., keys]), xp.asarray(v[:, keys]))
    m, l, acc = (host(x) for x in state)
    numpy.testing.assert_allclose(m, scores.max(axis=-1))
    expected = host(cl.softmax(numpy.asarray(scores))) @ v
    numpy.testing.assert_allclose(acc / l[..., None], expected, rtol=tolerance(numpy.float64), atol=tolerance(numpy.float64))


def test_a_block_with_every_key_masked_changes_nothing(xp):
    m, l, acc = xp.asarray([2.0, -math.inf]), xp.asarray([1.5, 0.0]), xp.asarray([[3.0], [0.0]])
    blank = xp.full((2, 3), -math.inf)
    m2, l2, acc2 = online_softmax_update(m, l, acc, blank, xp.ones((3, 1)))
    assert host(m2).tolist() == [2.0, -math.inf]  # the second query has still seen no key
    assert host(l2).tolist() == [1.5, 0.0] and host(acc2).tolist() == [[3.0], [0.0]]  # no NaN


def test_nan_in_a_block_propagates(xp):
    m, l, acc = online_softmax_update(
        xp.full((2,), -math.inf), xp.zeros(2), xp.zeros((2, 1)), xp.asarray([[0.0, math.nan], [0.0, 1.0]]), xp.ones((2, 1))
    )
    assert numpy.isnan(host(acc)[0]).all() and numpy.isnan(host(l)[0])
    assert not numpy.isnan(host(acc)[1]).any()


# ---------------------------------------------------------------- equal to scaled_dot_product_attention

SHAPES = [  # q shape, k shape, d_v
    pytest.param((5, 3), (5, 3), 2, id="square"),
    pytest.param((37, 8), (50, 8), 5, id="T_q<T_k"),
    pytest.param((50, 8), (9, 8), 4, id="T_q>T_k"),
    pytest.param((1, 4), (23, 4), 3, id="one-query"),
    pytest.param((2, 3, 11, 6), (1, 3, 13, 6), 4, id="batch-broadcasts"),
    pytest.param((4, 2, 9, 5), (9, 5), 5, id="shared-k-v"),
]


@pytest.mark.parametrize("causal", [False, True], ids=["full", "causal"])
@pytest.mark.parametrize("block_size", [None, 1, 4, 7, 1000], ids=lambda b: f"block={b}")
@pytest.mark.parametrize("q_shape, k_shape, d_v", SHAPES)
def test_equals_scaled_dot_product_attention(xp, q_shape, k_shape, d_v, block_size, causal):
    q, k, v = random_qkv(xp, numpy.random.default_rng(1), q_shape, k_shape, d_v)
    assert_same_as_sdpa(xp, q, k, v, causal=causal, block_size=block_size)


@pytest.mark.parametrize("causal", [False, True], ids=["full", "causal"])
def test_float32_stays_float32_and_agrees(xp, causal):
    q, k, v = random_qkv(xp, numpy.random.default_rng(2), (2, 70, 16), (2, 90, 16), 8, numpy.float32)
    assert_same_as_sdpa(xp, q, k, v, causal=causal, block_size=16, dtype=numpy.float32)


def test_scale_replaces_one_over_root_d_k(xp):
    q, k, v = random_qkv(xp, numpy.random.default_rng(3), (6, 4), (9, 4), 3)
    for scale in (0.0, 0.3, -2.0):
        assert_same_as_sdpa(xp, q, k, v, scale=scale, block_size=4)


def test_large_scores_agree(xp):
    """Scores in the hundreds, rising along the keys: each new block of keys raises the maximum."""
    rng = numpy.random.default_rng(4)
    k = rng.normal(size=(300, 8)) * numpy.linspace(1, 50, 300)[:, None]
    q, v = rng.normal(size=(40, 8)), rng.normal(size=(300, 3))
    for causal in (False, True):
        assert_same_as_sdpa(xp, *(xp.asarray(a) for a in (q, k, v)), causal=causal, block_size=32)


def test_integers_are_promoted_to_float64(xp):
    q = xp.asarray(numpy.arange(12).reshape(4, 3) % 5)
    out = tiled_attention(q, q, q, block_size=3)
    assert out.dtype == xp.float64
    assert_same_as_sdpa(xp, q, q, q, block_size=3)


def test_mixed_float32_and_float64_give_float64(xp):
    q, k, v = random_qkv(xp, numpy.random.default_rng(5), (6, 4), (6, 4), 2)
    assert_same_as_sdpa(xp, xp.astype(q, xp.float32), k, v, causal=True, block_size=4)


def test_non_contiguous_inputs_agree(xp_backend):
    rng = numpy.random.default_rng(6)
    x = xp_backend.asarray(rng.normal(size=(2, 30, 12)))  # (B, T, d_model)
    heads = cl.split_heads(x, 3)  # (B, 3, T, 4): a strided view
    assert_same_as_sdpa(xp_backend, heads, heads, heads[..., ::-1, :], causal=True, block_size=8)


# ---------------------------------------------------------------- no keys, no queries, NaN


def test_no_keys_at_all_give_a_zero_output(xp):
    q, k, v = random_qkv(xp, numpy.random.default_rng(7), (2, 3, 4), (2, 0, 4), 5)
    for causal in (False, True):
        out = tiled_attention(q, k, v, causal=causal)
        assert out.shape == (2, 3, 5) and (host(out) == 0).all()
        expected, weights = cl.scaled_dot_product_attention(q, k, v, causal=causal)
        assert weights.shape == (2, 3, 0) and (host(expected) == 0).all()


def test_no_queries_give_an_empty_output(xp):
    q, k, v = random_qkv(xp, numpy.random.default_rng(8), (0, 4), (6, 4), 5)
    assert tiled_attention(q, k, v).shape == (0, 5)
    assert tiled_attention(q, k, v, causal=True).shape == (0, 5)


def test_causal_with_more_queries_than_keys_has_no_empty_row(xp):
    q, k, v = random_qkv(xp, numpy.random.default_rng(9), (12, 3), (4, 3), 2)  # query i sees keys 0..min(i, 3)
    out = host(tiled_attention(q, k, v, causal=True, block_size=3))
    assert not numpy.isnan(out).any()
    numpy.testing.assert_allclose(out[0], host(v)[0], rtol=tolerance(numpy.float64))  # the first query sees key 0 only
    assert_same_as_sdpa(xp, q, k, v, causal=True, block_size=3)


def test_nan_in_a_query_spoils_only_its_own_row(xp):
    rng = numpy.random.default_rng(10)
    q = rng.normal(size=(6, 4))
    q[2, 1] = math.nan
    k, v = rng.normal(size=(9, 4)), rng.normal(size=(9, 3))
    out = host(tiled_attention(xp.asarray(q), xp.asarray(k), xp.asarray(v), block_size=4))
    assert numpy.isnan(out[2]).all()
    assert not numpy.isnan(numpy.delete(out, 2, axis=0)).any()


def test_nan_in_a_key_spoils_the_rows_that_see_it(xp):
    rng = numpy.random.default_rng(11)
    q, k, v = rng.normal(size=(6, 4)), rng.normal(size=(6, 4)), rng.normal(size=(6, 3))
    k[3, 0] = math.nan
    full = host(tiled_attention(xp.asarray(q), xp.asarray(k), xp.asarray(v), block_size=2))
    assert numpy.isnan(full).all()
    causal = host(tiled_attention(xp.asarray(q), xp.asarray(k), xp.asarray(v), causal=True, block_size=2))
    assert not numpy.isnan(causal[:3]).any() and numpy.isnan(causal[3:]).all()  # queries 0..2 never see key 3


# ---------------------------------------------------------------- hypothesis: any shape, any block size


@st.composite
def attention_problems(draw):
    batch = draw(st.sampled_from([(), (2,), (2, 1)]))
    t_q, t_k = draw(st.integers(0, 40)), draw(st.integers(0, 40))
    d_k, d_v = draw(st.integers(1, 5)), draw(st.integers(1, 4))
    seed = draw(st.integers(0, 2**16))
    block_size = draw(st.one_of(st.none(), st.integers(1, 45)))
    return batch, t_q, t_k, d_k, d_v, seed, block_size, draw(st.booleans())


@PROPERTY
@given(problem=attention_problems())
def test_any_shape_and_block_size_agree(xp, problem):
    batch, t_q, t_k, d_k, d_v, seed, block_size, causal = problem
    rng = numpy.random.default_rng(seed)
    q, k, v = (xp.asarray(3 * rng.normal(size=batch + shape)) for shape in ((t_q, d_k), (t_k, d_k), (t_k, d_v)))
    assert_same_as_sdpa(xp, q, k, v, causal=causal, block_size=block_size)


# ---------------------------------------------------------------- the two loops on NumPy, explicitly


@pytest.mark.parametrize("causal", [False, True], ids=["full", "causal"])
@pytest.mark.parametrize("block_size", [1, 5, 64])
def test_the_readable_loop_on_numpy(causal, block_size):
    q, k, v = random_qkv(numpy, numpy.random.default_rng(12), (2, 21, 4), (2, 30, 4), 3)
    out = tiled._tiled_loop(numpy, q, k, v, (2,), numpy.float64, causal, 0.5, block_size)
    expected, _ = cl.scaled_dot_product_attention(q, k, v, causal=causal, scale=0.5)
    numpy.testing.assert_allclose(out, expected, rtol=tolerance(numpy.float64), atol=tolerance(numpy.float64))


@pytest.mark.parametrize("dtype", [numpy.float32, numpy.float64])
@pytest.mark.parametrize("causal", [False, True], ids=["full", "causal"])
@pytest.mark.parametrize("block_size", [None, 1, 6, 100])
def test_the_cpu_loop_on_worker_threads(threads_always, dtype, causal, block_size):
    q, k, v = random_qkv(numpy, numpy.random.default_rng(13), (3, 1, 45, 8), (3, 50, 8), 6, dtype)
    assert_same_as_sdpa(numpy, q, k, v, causal=causal, block_size=block_size, dtype=dtype)


def test_the_cpu_loop_redoes_a_block_whose_scores_outgrow_m(monkeypatch):
    """Scores rising along the keys: later blocks exceed the first block's maximum by far."""
    calls = []
    monkeypatch.setattr(tiled, "online_softmax_update", lambda *state: calls.append(1) or online_softmax_update(*state))
    rng = numpy.random.default_rng(14)
    k = rng.normal(size=(200, 8)) * numpy.linspace(0.1, 30, 200)[:, None]
    q, v = rng.normal(size=(50, 8)), rng.normal(size=(200, 4))
    assert_same_as_sdpa(numpy, q, k, v, block_size=20)
    assert calls  # the full update ran for at least one block
    calls.clear()
    assert_same_as_sdpa(numpy, q, k / 1000, v, block_size=20)
    assert not calls  # small scores: m from the first block serves every later one


def test_the_cpu_loop_skips_the_blocks_causal_hides(monkeypatch):
    blocks = set()  # (first query, first key, last key + 1) of every block of scores computed
    scores = tiled._scores

    def spy(q, k, rows, keys, *args, **kwargs):
        blocks.add((rows.start, keys.start, keys.stop))
        return scores(q, k, rows, keys, *args, **kwargs)

    monkeypatch.setattr(tiled, "_scores", spy)
    q, k, v = random_qkv(numpy, numpy.random.default_rng(15), (64, 4), (64, 4), 2)
    assert_same_as_sdpa(numpy, q, k, v, causal=True, block_size=8)
    assert len(blocks) == 8 * 9 // 2  # 8 blocks of queries; the i-th sees i + 1 blocks of keys
    assert all(first_key <= first_query for first_query, first_key, _ in blocks)


def test_infinite_inputs_give_what_scaled_dot_product_attention_gives():
    q = numpy.array([[1.0, 0.0], [math.inf, 0.0], [0.0, 1.0]])
    k = numpy.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]])
    v = numpy.arange(8.0).reshape(4, 2)
    with numpy.errstate(invalid="ignore"):
        expected, _ = cl.scaled_dot_product_attention(q, k, v)
        for block_size in (None, 1, 3):
            numpy.testing.assert_allclose(tiled_attention(q, k, v, block_size=block_size), expected, rtol=1e-14)


# ---------------------------------------------------------------- memory: never a T_q × T_k matrix


@pytest.mark.parametrize("library", ["numpy", "array_api_strict"])
def test_never_holds_a_t_q_by_t_k_matrix(library):
    """tracemalloc sees every NumPy allocation (array-api-strict wraps NumPy arrays).

    scaled_dot_product_attention, measured the same way, does hold the full matrix: the
    measurement can tell.
    """
    xp = numpy if library == "numpy" else pytest.importorskip("array_api_strict")
    q, k, v = random_qkv(xp, numpy.random.default_rng(15), (1500, 8), (1500, 8), 8)
    full_matrix = 1500 * 1500 * 8  # bytes of one float64 T_q × T_k matrix

    def peak(attention) -> int:
        tracemalloc.start()
        try:
            attention()
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    assert peak(lambda: cl.scaled_dot_product_attention(q, k, v)) >= full_matrix
    assert peak(lambda: tiled_attention(q, k, v, block_size=100)) < full_matrix / 4  # a few (T_q, 100) blocks
    if library == "numpy":  # the CPU loop's own blocks: (256, 512) per worker thread with causal
        assert peak(lambda: tiled_attention(q, k, v, causal=True)) < full_matrix / 4


# ---------------------------------------------------------------- threads and BLAS


def test_blas_runs_one_thread_per_worker_and_is_restored(threads_always, monkeypatch):
    before, threads_before = blas_threads(), threading.active_count()
    seen = []
    attend = tiled._attend_query_block
    monkeypatch.setattr(tiled, "_attend_query_block", lambda *args: seen.append(blas_threads()) or attend(*args))
    q, k, v = random_qkv(numpy, numpy.random.default_rng(16), (40, 8), (40, 8), 8, numpy.float32)
    tiled_attention(q, k, v, block_size=8)
    assert seen and all(threads == [1] * len(before) for threads in seen)
    assert blas_threads() == before and threading.active_count() == threads_before


def test_an_error_in_a_worker_leaves_no_threads_and_no_blas_limit(threads_always, monkeypatch):
    before, threads_before = blas_threads(), threading.active_count()

    def fails(*args):
        raise RuntimeError("a worker failed")

    monkeypatch.setattr(tiled, "_attend_query_block", fails)
    q, k, v = random_qkv(numpy, numpy.random.default_rng(17), (40, 8), (40, 8), 8)
    with pytest.raises(RuntimeError, match="a worker failed"):
        tiled_attention(q, k, v, block_size=8)
    assert blas_threads() == before and threading.active_count() == threads_before


def test_calls_from_two_threads_at_once(threads_always):
    before = blas_threads()
    q, k, v = random_qkv(numpy, numpy.random.default_rng(18), (2, 90, 8), (2, 90, 8), 8, numpy.float32)
    expected, _ = cl.scaled_dot_product_attention(q, k, v, causal=True)
    start, results = threading.Barrier(2), []

    def caller():
        start.wait()
        results.extend(tiled_attention(q, k, v, causal=True, block_size=16) for _ in range(20))

    callers = [threading.Thread(target=caller) for _ in range(2)]
    for thread in callers:
        thread.start()
    for thread in callers:
        thread.join()
    assert len(results) == 40
    for out in results:
        numpy.testing.assert_allclose(out, expected, rtol=tolerance(numpy.float32), atol=tolerance(numpy.float32))
    assert blas_threads() == before


def test_inputs_are_not_modified(xp):
    rng = numpy.random.default_rng(19)
    arrays = [rng.normal(size=(30, 4)) for _ in range(3)]
    passed = [xp.asarray(a) for a in arrays]
    tiled_attention(*passed, causal=True, block_size=7)
    for original, given_array in zip(arrays, passed):
        assert numpy.array_equal(host(given_array), original)


# ---------------------------------------------------------------- bad input: the same errors as scaled_dot_product_attention


def bad_inputs(xp):
    ones = lambda *shape: xp.asarray(numpy.ones(shape))  # noqa: E731
    cases = {
        "mismatched d_k": (ones(3, 4), ones(3, 5), ones(3, 2)),
        "mismatched T_k": (ones(2, 2), ones(3, 2), ones(4, 2)),
        "q is 1-D": (ones(3), ones(2, 3), ones(2, 3)),
        "k is 1-D": (ones(2, 3), ones(3), ones(2, 3)),
        "v is 1-D": (ones(2, 3), ones(2, 3), ones(3)),
        "batch does not broadcast": (ones(2, 3, 4), ones(3, 3, 4), ones(3, 3, 4)),
        "boolean q": (xp.asarray(numpy.ones((2, 2), dtype=bool)), ones(2, 2), ones(2, 2)),
        "d_k = 0": (ones(2, 0), ones(3, 0), ones(3, 2)),
    }
    if hasattr(xp, "complex128"):
        cases["complex k"] = (ones(2, 2), xp.asarray(numpy.ones((2, 2), dtype=complex)), ones(2, 2))
    return cases


@pytest.mark.parametrize("case", list(bad_inputs(numpy)))
def test_bad_input_raises_what_scaled_dot_product_attention_raises(xp, case):
    cases = bad_inputs(xp)
    if case not in cases:
        pytest.skip(f"this namespace has no {case}")
    q, k, v = cases[case]
    with pytest.raises((ValueError, TypeError)) as expected:
        cl.scaled_dot_product_attention(q, k, v)
    with pytest.raises(expected.type) as got:
        tiled_attention(q, k, v)
    assert str(got.value) == str(expected.value)


def test_non_numeric_and_mixed_arrays_raise_what_sdpa_raises():
    strict = pytest.importorskip("array_api_strict")
    for q, k, v in [
        (numpy.array([["a", "b"]]), numpy.ones((1, 2)), numpy.ones((1, 2))),
        (numpy.ones((2, 2)), strict.ones((2, 2)), numpy.ones((2, 2))),
    ]:
        with pytest.raises(TypeError) as expected:
            cl.scaled_dot_product_attention(q, k, v)
        with pytest.raises(TypeError) as got:
            tiled_attention(q, k, v)
        assert str(got.value) == str(expected.value)


@pytest.mark.parametrize("block_size", [0, -3, 2.5, True, "8"])
def test_block_size_must_be_a_whole_number_of_at_least_one(xp, block_size):
    q = xp.asarray(numpy.ones((3, 2)))
    expected = rf"block_size must be a whole number >= 1 \(keys per block\), but block_size={block_size!r}"
    with pytest.raises(ValueError, match=expected):
        tiled_attention(q, q, q, block_size=block_size)
