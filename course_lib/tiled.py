"""Tiled attention: softmax(Q Kᵀ / √d_k) V one block of keys at a time, never the T_q × T_k matrix.

The online softmax (Milakov & Gimelshein 2018; FlashAttention, Dao et al. 2022) keeps three
numbers per query while the keys stream past in blocks:

    m    the largest score seen so far
    l    the sum of exp(score − m) over the keys seen so far
    acc  the sum of exp(score − m) · v over the same keys

A new block with a larger maximum puts l and acc on the wrong footing; multiplying both by
exp(m_old − m_new) puts them on the new one. After the last block, out = acc / l: exactly
softmax(scores) @ v, with memory for one block of scores instead of all of them.

``online_softmax_update`` is that step, written once. ``_tiled_loop``, the readable loop
(any array library: CuPy, array-api-strict), runs it on all queries at once and one block of
keys at a time. ``_tiled_cpu``, for NumPy float32/float64, hands blocks of queries to one
worker thread per CPU core, each doing the same math in place with a few savings
(``_attend_query_block``) and falling back on ``online_softmax_update`` when they do not
apply. Shapes as in ``course_lib.attention``: q (..., T_q, d_k), k (..., T_k, d_k),
v (..., T_k, d_v). Taught in notebook 13.
"""

from __future__ import annotations

import contextlib
import functools
import math
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Iterator

import numpy
import threadpoolctl

from .attention import _as_qkv
from .backend import namespace

__all__ = ["online_softmax_update", "tiled_attention"]

Array = Any

LOOP_BLOCK = 1024  # keys per block in the readable loop (CuPy, array-api-strict)
CPU_QUERY_BLOCK = 512  # queries per block in the CPU loop (causal: half, so less of the diagonal is wasted)
CPU_KEY_BLOCK = 512  # keys per block in the CPU loop
MAX_WORKERS = 16  # worker threads at most, however many cores
SERIAL_BELOW = 1 << 16  # fewer scores than this in all: no threads, the caller's thread does it all
SUM_LIMIT = 2.0**16  # a block may add this much to a query's sum before its m must be raised
SAMPLE_KEYS = 8  # the first keys, whose largest score is where m starts in the CPU loop


# ---------------------------------------------------------------- the online softmax


def online_softmax_update(m: Array, l: Array, acc: Array, scores: Array, v: Array) -> tuple[Array, Array, Array]:
    """Fold one block of keys into every query's running softmax; return the new ``(m, l, acc)``.

    State of each query over the keys seen so far: ``m`` (..., T_q) the largest score (−inf
    before the first block), ``l`` (..., T_q) the sum of exp(score − m), ``acc`` (..., T_q, d_v)
    the sum of exp(score − m) · v. This block: ``scores`` (..., T_q, B_k), already scaled, −inf
    where masked, and its values ``v`` (..., B_k, d_v). After the last block, out = acc / l.
    A query that has seen no key yet keeps l = 0 and acc = 0, never NaN; NaN propagates.
    Taught in notebook 13.
    """
    xp = namespace(m, l, acc, scores, v)
    m_new = xp.maximum(m, xp.max(scores, axis=-1))  # (..., T_q): the largest score so far
    m_new_safe = xp.where(m_new == -math.inf, xp.zeros_like(m_new), m_new)  # no key yet: avoid −inf − (−inf)
    p = xp.exp(scores - m_new_safe[..., None])  # (..., T_q, B_k): this block's exp(score − m_new)
    rescale = xp.exp(m - m_new_safe)  # (..., T_q): exp(m_old − m_new) ≤ 1 moves the old sums onto m_new
    l = rescale * l + xp.sum(p, axis=-1)  # (..., T_q)
    acc = rescale[..., None] * acc + p @ v  # (..., T_q, d_v)
    return m_new, l, acc


def tiled_attention(
    q: Array,
    k: Array,
    v: Array,
    *,
    causal: bool = False,
    scale: float | None = None,
    block_size: int | None = None,
) -> Array:
    """Attention softmax(Q Kᵀ / √d_k) V, one block of keys at a time with the online softmax.

    Shapes: q (..., T_q, d_k), k (..., T_k, d_k), v (..., T_k, d_v) -> out (..., T_q, d_v);
    leading dimensions broadcast. Equal to ``scaled_dot_product_attention(q, k, v,
    causal=causal, scale=scale)[0]`` up to rounding, but holds at most T_q × block_size scores
    at a time (NumPy: block_size × block_size per CPU core), never T_q × T_k. ``block_size``:
    keys per block (on NumPy also queries per block); by default sized for the backend.
    ``causal=True``: query i sees keys 0..i, and blocks no query may see are skipped. No keys
    at all (T_k = 0) gives a zero output. Raises ValueError for mismatched d_k or T_k, too few
    dimensions, batch dimensions that do not broadcast or a block_size that is not a whole
    number ≥ 1; TypeError for non-real or mixed arrays.
    Taught in notebook 13.
    """
    xp = namespace(q, k, v)
    q, k, v, batch = _as_qkv(xp, q, k, v)
    if block_size is not None and (
        isinstance(block_size, bool) or not isinstance(block_size, (int, numpy.integer)) or block_size < 1
    ):
        raise ValueError(f"block_size must be a whole number >= 1 (keys per block), but block_size={block_size!r}")
    if scale is None:
        d_k = q.shape[-1]
        if d_k == 0:  # as scaled_dot_product_attention (scale_scores) says it
            raise ValueError(f"d_k must be a positive number (the length of a key), but d_k={d_k!r}")
        scale = 1 / math.sqrt(d_k)
    dtype = xp.result_type(q, k, v)
    if isinstance(q, numpy.ndarray) and dtype in (numpy.float32, numpy.float64):
        return _tiled_cpu(q, k, v, batch, dtype, causal, scale, block_size)
    return _tiled_loop(xp, q, k, v, batch, dtype, causal, scale, block_size or LOOP_BLOCK)


# ---------------------------------------------------------------- the readable loop


def _tiled_loop(xp, q, k, v, batch, dtype, causal, scale, block_size) -> Array:
    """All queries at once, one block of keys at a time: the online softmax in plain array code."""
    t_q, t_k, d_v = q.shape[-2], k.shape[-2], v.shape[-1]
    m = xp.full(batch + (t_q,), -math.inf, dtype=dtype)  # (..., T_q)
    l = xp.zeros(batch + (t_q,), dtype=dtype)  # (..., T_q)
    acc = xp.zeros(batch + (t_q, d_v), dtype=dtype)  # (..., T_q, d_v)
    q = q * scale  # fold the scale into the queries, once
    last = min(t_k, t_q) if causal else t_k  # causal: no query sees a key after the last query
    for start in range(0, last, block_size):
        keys = slice(start, min(start + block_size, last))
        scores = q @ xp.matrix_transpose(k[..., keys, :])  # (..., T_q, B_k)
        if causal:
            rows = xp.arange(t_q)[:, None]  # (T_q, 1)
            cols = xp.arange(keys.start, keys.stop)[None, :]  # (1, B_k)
            scores = xp.where(rows >= cols, scores, xp.asarray(-math.inf, dtype=scores.dtype))
        m, l, acc = online_softmax_update(m, l, acc, scores, v[..., keys, :])
    return acc / xp.where(l == 0, xp.ones_like(l), l)[..., None]  # (..., T_q, d_v); no key at all: 0


# ---------------------------------------------------------------- the CPU loop (NumPy)


def _tiled_cpu(q, k, v, batch, dtype, causal, scale, block_size) -> numpy.ndarray:
    """Blocks of queries, one (batch index, block) per task, spread over worker threads."""
    t_q, t_k, d_k, d_v = q.shape[-2], k.shape[-2], q.shape[-1], v.shape[-1]
    n_batch = math.prod(batch)
    workers = 1 if n_batch * t_q * t_k < SERIAL_BELOW else _worker_count()
    if block_size:
        block_q, block_k = block_size, block_size
    else:  # blocks small enough that every worker gets one, at least
        most = CPU_QUERY_BLOCK // 2 if causal else CPU_QUERY_BLOCK
        block_q, block_k = min(most, max(1, math.ceil(n_batch * t_q / workers))), CPU_KEY_BLOCK
    q, k, v = (numpy.broadcast_to(x, batch + x.shape[-2:]) for x in (q, k, v))  # views
    out = numpy.empty(batch + (t_q, d_v), dtype)  # (..., T_q, d_v)
    blocks = [slice(start, min(start + block_q, t_q)) for start in range(0, t_q, block_q)]
    tasks = [(index, rows) for index in numpy.ndindex(batch) for rows in blocks]
    if causal:  # the last queries see the most keys: start them first, so no worker is left with a long one at the end
        tasks.sort(key=lambda task: -task[1].stop)
    per_worker = threading.local()  # each worker's scratch memory, for all its tasks in this call

    def attend(task):
        if not hasattr(per_worker, "scratch"):
            per_worker.scratch = _scratch(block_q, block_k, d_k, d_v, dtype)
        index, rows = task
        _attend_query_block(q[index], k[index], v[index], out[index], rows, causal, scale, per_worker.scratch)

    _run(attend, tasks, min(workers, len(tasks)))
    return out


def _scratch(block_q: int, block_k: int, d_k: int, d_v: int, dtype) -> dict[str, numpy.ndarray]:
    """A worker's memory for one block at a time, reused from task to task (a fresh page is slow to get).

    k_ones (B_k, d_k + 1) and v_ones (B_k, d_v + 1) keep a last column of ones; a block of k or
    v is copied into the rest.
    """
    return {
        "q_m": numpy.empty((block_q, d_k + 1), dtype),  # [q · scale | −m]
        "k_ones": numpy.ones((block_k, d_k + 1), dtype),  # [k | 1]
        "v_ones": numpy.ones((block_k, d_v + 1), dtype),  # [v | 1]
        "scores": numpy.empty(block_q * block_k, dtype),  # one block of scores
        "block": numpy.empty((block_q, d_v + 1), dtype),  # [p @ v | Σ p] of one block
        "acc_l": numpy.empty((block_q, d_v + 1), dtype),  # [acc | l]
    }


def _attend_query_block(q, k, v, out, rows: slice, causal: bool, scale, scratch: dict) -> None:
    """Write out[rows]: the online softmax of the queries ``rows`` over blocks of keys, in place.

    Shapes: q (T_q, d_k), k (T_k, d_k), v (T_k, d_v), out (T_q, d_v). The math of
    ``online_softmax_update``, with three savings. The queries carry a last column −m and the
    keys a column of ones, so one matrix product gives score − m; the values carry a column
    of ones too, so the product that gives p @ v gives the row sums of p with it. And m need
    not be the largest score, only no larger (else everything could underflow) and not far
    below it (else exp overflows): it starts as the largest score against the first few keys
    and is left alone while each block adds less than SUM_LIMIT to l (no score more than
    about ln(SUM_LIMIT) = 11 above m), so nothing needs rescaling. A row whose block adds
    more, or holds NaN or ±inf, is done again by ``online_softmax_update``, which raises its m.
    """
    d_k, d_v = q.shape[-1], v.shape[-1]
    n_q = rows.stop - rows.start  # B_q
    last = min(k.shape[0], rows.stop) if causal else k.shape[0]  # causal: later keys are hidden from these rows
    q_m = scratch["q_m"][:n_q]  # (B_q, d_k + 1): [q · scale | −m]
    numpy.multiply(q[rows], scale, out=q_m[:, :d_k])  # the scale folded into q, once
    acc_l = scratch["acc_l"][:n_q]  # (B_q, d_v + 1): [acc | l]
    acc_l[...] = 0
    m = numpy.full(n_q, -math.inf, out.dtype)  # (B_q,): no key seen yet
    block_k = len(scratch["k_ones"])
    for start in range(0, last, block_k):
        keys = slice(start, min(start + block_k, last))
        k_ones, v_ones = scratch["k_ones"][: keys.stop - start], scratch["v_ones"][: keys.stop - start]
        k_ones[:, :d_k], v_ones[:, :d_v] = k[keys], v[keys]  # (B_k, d_k + 1) = [k | 1], (B_k, d_v + 1) = [v | 1]
        scores = scratch["scores"][: n_q * len(k_ones)].reshape(n_q, -1)  # (B_q, B_k), contiguous
        block = _block_sums(q_m, k_ones, v_ones, rows, keys, causal, scores, scratch["block"][:n_q], first=start == 0)
        stands = block[:, d_v] <= SUM_LIMIT  # (B_q,): m still serves the row (False for NaN and inf too)
        if stands.all():
            acc_l += block
        else:  # rows with a score far above m, or NaN or ±inf: the full update, which raises m
            acc_l[stands] += block[stands]
            _redo_rows(numpy.flatnonzero(~stands), m, q_m, acc_l, k_ones, v_ones, rows, keys, causal, scratch["scores"])
        m = -q_m[:, d_k]  # (B_q,)
    l = acc_l[:, d_v:]  # (B_q, 1)
    numpy.divide(acc_l[:, :d_v], numpy.where(l == 0, 1, l), out=out[rows])  # no key at all: 0 / 1


def _block_sums(q_m, k_ones, v_ones, rows: slice, keys: slice, causal: bool, scores, out, first: bool) -> numpy.ndarray:
    """out (B_q, d_v + 1) = [p @ v | Σ p] of one block, p = exp(score − m), −m the last column of q_m.

    The first block sets that column: m is the largest score against its first SAMPLE_KEYS
    keys (key 0 among them, which every query sees). ``scores`` (B_q, B_k) is scratch space.
    Overflow or NaN show in Σ p, which the caller checks.
    """
    d_k = q_m.shape[1] - 1
    with numpy.errstate(over="ignore", invalid="ignore"):  # overflow, inf − inf: seen in Σ p
        if first:
            sample = slice(keys.start, min(keys.start + SAMPLE_KEYS, keys.stop))
            n_sample = sample.stop - sample.start
            sample_scores = numpy.empty((len(q_m), n_sample), q_m.dtype)  # (B_q, 8)
            _scores(q_m[:, :d_k], k_ones[:n_sample, :d_k], rows, sample, causal, out=sample_scores)
            q_m[:, d_k] = -numpy.max(sample_scores, axis=1)
        _scores(q_m, k_ones, rows, keys, causal, out=scores)  # (B_q, B_k): one product gives score − m
        p = numpy.exp(scores, out=scores)  # (B_q, B_k), in place
        return numpy.matmul(p, v_ones, out=out)  # (B_q, d_v + 1) = [p @ v | Σ p]


def _redo_rows(redo, m, q_m, acc_l, k_ones, v_ones, rows: slice, keys: slice, causal: bool, buffer) -> None:
    """``online_softmax_update`` for the rows ``redo`` (indices into the block) of this block of keys.

    m (B_q,) is the state before the block; q_m's last column (−m) and acc_l are updated.
    ``buffer`` is scratch space for their scores.
    """
    d_k, d_v = q_m.shape[1] - 1, v_ones.shape[1] - 1
    scores = buffer[: len(redo) * len(k_ones)].reshape(len(redo), -1)  # (n, B_k)
    _scores(q_m[redo, :d_k], k_ones[:, :d_k], rows, keys, causal, out=scores, only=redo)
    m_new, acc_l[redo, d_v], acc_l[redo, :d_v] = online_softmax_update(
        m[redo], acc_l[redo, d_v], acc_l[redo, :d_v], scores, v_ones[:, :d_v]
    )
    q_m[redo, d_k] = -m_new


def _scores(q, k, rows: slice, keys: slice, causal: bool, out: numpy.ndarray, only=None) -> None:
    """out = q @ kᵀ for the queries ``rows`` (q holds just the rows ``only`` of them, if given) and
    the keys ``keys``; causal: −inf where a key comes after the query."""
    numpy.matmul(q, k.T, out=out)  # (B_q, B_k)
    if causal and keys.stop - 1 > rows.start:  # only a block that crosses the diagonal hides anything
        hidden = _hidden(keys.start - rows.start, rows.stop - rows.start, keys.stop - keys.start)
        numpy.copyto(out, -math.inf, where=hidden if only is None else hidden[only])


@functools.lru_cache(maxsize=16)
def _hidden(offset: int, n_q: int, n_k: int) -> numpy.ndarray:
    """(n_q, n_k) True where key c comes after query i in a block whose keys start ``offset`` after its queries.

    It depends only on where the diagonal crosses the block, so the blocks of a call share a few.
    """
    hidden = numpy.arange(n_k)[None, :] + offset > numpy.arange(n_q)[:, None]  # (n_q, n_k)
    hidden.flags.writeable = False  # shared: nobody may change it
    return hidden


# ---------------------------------------------------------------- worker threads


def _worker_count() -> int:
    """One worker thread per CPU this process may use, at most MAX_WORKERS."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, MAX_WORKERS))


def _run(work, tasks: list, workers: int) -> None:
    """``work(task)`` for every task: in this thread, or on ``workers`` threads with one BLAS thread each.

    The threads are joined and BLAS's thread count restored before this returns, exceptions
    included; tasks not started yet when one fails are cancelled.
    """
    if workers <= 1:
        for task in tasks:
            work(task)
        return
    with _one_blas_thread():
        pool = ThreadPoolExecutor(workers, thread_name_prefix="tiled_attention")
        try:
            for _ in pool.map(work, tasks):
                pass
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


_blas_lock = threading.Lock()
_blas_users = 0
_blas_limiter = None
_blas_controller = None


@contextlib.contextmanager
def _one_blas_thread() -> Iterator[None]:
    """BLAS at one thread while any call's workers run (each worker is a thread already).

    Without it every worker's matrix product would start BLAS's own threads too, and the
    cores would be oversubscribed. BLAS's setting is global to the process: the first of
    several concurrent calls lowers it and the last one out restores it. threadpoolctl
    knows OpenBLAS, MKL and BLIS.
    """
    global _blas_users, _blas_limiter, _blas_controller
    with _blas_lock:
        if _blas_users == 0:
            if _blas_controller is None:  # finding the loaded libraries takes milliseconds: once
                _blas_controller = threadpoolctl.ThreadpoolController()
            _blas_limiter = _blas_controller.limit(limits=1, user_api="blas")
        _blas_users += 1
    try:
        yield
    finally:
        with _blas_lock:
            _blas_users -= 1
            if _blas_users == 0:
                _blas_limiter.restore_original_limits()
                _blas_limiter = None
