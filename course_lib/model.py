"""A tiny attention model that learns to fill the blank: forward, backward, Adam, training.

One sentence of T tokens, the blank being the last, goes through::

    x       = embed[tokens] + pos[back]                  (T, d_model)   word + position
    q       = x[blank] W_q                               (1, d_k)       the blank asks
    k, v    = x W_k, x W_v                               (T, d_k), (T, d_v)
    out     = softmax(q kᵀ / √d_k, padding mask) v       (1, d_v)       one attention layer
    logits  = out W_out + b_out                          (n_answers,)   read-out at the blank

and is trained on the cross-entropy of the right answer (``course_lib.blank_sentences``).

Positions are learned vectors added to the word vectors, as in GPT-2, but counted back
from the blank (``back`` = 0 at the blank, 1 for the word before it, …): "the place
nearest the blank" is then the same pattern in a sentence of any length, and one layer
can learn it by giving places and positions near the blank high scores. The blank's
query is the same vector in every sentence, so each score is exactly a word part plus a
position part, q·(embed[word] W_k) + q·(pos[back] W_k), scaled. W_q starts at zero, so at
first every score is 0 and the model looks at every word equally, exactly like the
baseline below; training has to discover where to look. d_v = d_model, so d_k sizes
only q and k.

``attention="uniform"`` is the baseline: the weights stay 1/length over the real tokens
(the mean of the value vectors); everything else is the same and trained the same way.

Parameters are a dict of arrays named after the math: ``embed, pos, w_q, w_k, w_v,
w_out, b_out``. The array module comes from the inputs (NumPy or CuPy). The backward
pass uses ``course_lib.grad.attention_backward``; a table lookup is a product with a
one-hot matrix, so its gradient is the transposed one-hot matrix times the gradient.
Used in notebook 12.
"""

from __future__ import annotations

import contextlib
import math
from typing import Any, Callable, Iterator, Mapping

import numpy
import threadpoolctl

from . import grad
from .attention import padding_mask, scaled_dot_product_attention
from .backend import namespace

__all__ = [
    "LAYOUT",
    "PARAMETERS",
    "ATTENTION",
    "init_params",
    "forward",
    "cross_entropy",
    "loss_and_grads",
    "adam_init",
    "adam_step",
    "train",
    "accuracy",
]

Array = Any
Params = Mapping[str, Array]
# each parameter's shape, named by its sizes
LAYOUT = {
    "embed": ("n_vocab", "d_model"),
    "pos": ("n_positions", "d_model"),
    "w_q": ("d_model", "d_k"),
    "w_k": ("d_model", "d_k"),
    "w_v": ("d_model", "d_v"),
    "w_out": ("d_v", "n_answers"),
    "b_out": ("n_answers",),
}
PARAMETERS = tuple(LAYOUT)
_LAYOUT_TEXT = ", ".join(f"{p} ({', '.join(sizes)})" for p, sizes in LAYOUT.items())
ATTENTION = ("softmax", "uniform")


# ---------------------------------------------------------------- parameters


def _whole(arg: str, n: Any, least: int = 1) -> None:
    if isinstance(n, bool) or not isinstance(n, (int, numpy.integer)) or n < least:
        raise ValueError(f"{arg} must be a whole number >= {least}, but {arg}={n!r}")


def init_params(
    n_vocab: int,
    n_positions: int,
    n_answers: int,
    *,
    d_model: int = 16,
    d_k: int = 16,
    seed: int = 0,
    query_init: str = "zeros",
    dtype: Any = None,
) -> dict[str, Array]:
    """Random starting parameters: the same numbers for the same seed on every backend.

    Shapes: embed (n_vocab, d_model), pos (n_positions, d_model), w_q and w_k (d_model, d_k),
    w_v (d_model, d_v=d_model), w_out (d_v, n_answers), b_out (n_answers,).
    ``n_positions`` is the longest sentence the model can read. Word vectors have entries
    of variance 1 and w_k, w_v, w_out divide by √d_model, so the entries of k have variance
    about 1; pos and b_out start at zero. w_q starts at zero (every weight 1/length at first),
    or with ``query_init="random"`` like w_k: then q·k starts with variance about d_k, the
    setting of notebook 04. Arrays on the selected backend, float64 unless ``dtype`` says otherwise.
    Raises ValueError for a size that is not a whole number >= 1 or an unknown ``query_init``.
    Used in notebook 12.
    """
    sizes = {"n_vocab": n_vocab, "n_positions": n_positions, "n_answers": n_answers, "d_model": d_model, "d_k": d_k}
    for arg, n in sizes.items():
        _whole(arg, n)
    if query_init not in ("zeros", "random"):
        raise ValueError(f"query_init must be 'zeros' or 'random', but query_init={query_init!r}")
    xp = namespace()
    rng = numpy.random.default_rng(seed)  # drawn on the host: the same numbers on NumPy and CuPy
    sizes["d_v"] = d_model

    def normal(name: str, std: float) -> Array:
        shape = tuple(sizes[size] for size in LAYOUT[name])
        return xp.asarray(rng.normal(0.0, std, size=shape), dtype=dtype or xp.float64)

    project = 1 / math.sqrt(d_model)
    stds = {
        "embed": 1.0,
        "pos": 0.0,
        "w_q": project if query_init == "random" else 0.0,
        "w_k": project,
        "w_v": project,
        "w_out": project,
        "b_out": 0.0,
    }
    return {name: normal(name, std) for name, std in stds.items()}


# ---------------------------------------------------------------- validation


def _check_params(params: Params) -> None:
    """ValueError unless ``params`` holds the seven arrays, with sizes that agree (``LAYOUT``)."""
    missing = [p for p in PARAMETERS if p not in params]
    if missing:
        raise ValueError(f"params is missing {missing}; it needs {list(PARAMETERS)} (see init_params)")
    seen: dict[str, tuple[int, str]] = {}  # size name -> (value, the parameter it came from)
    for p, names in LAYOUT.items():
        shape = tuple(params[p].shape)
        if len(shape) != len(names):
            raise ValueError(f"params[{p!r}] must have shape ({', '.join(names)}), but {p}.shape={shape}")
        for name, n in zip(names, shape):
            first, source = seen.setdefault(name, (n, p))
            if n != first:
                raise ValueError(
                    f"{p}.shape={shape} has {name}={n}, but {source}.shape={tuple(params[source].shape)} "
                    f"has {name}={first}; the shapes are {_LAYOUT_TEXT}"
                )


def _check_ints(xp: Any, x: Array, arg: str, ndim: int, layout: str) -> None:
    if x.dtype == xp.bool or not xp.isdtype(x.dtype, "integral"):
        raise TypeError(f"{arg} must hold whole numbers {layout}, but {arg}.dtype={x.dtype}")
    if x.ndim != ndim:
        raise ValueError(f"{arg} must be {ndim}-D {layout}, but {arg}.shape={tuple(x.shape)}")


def _check_range(xp: Any, x: Array, arg: str, low: int, high: int, what: str) -> None:
    if x.size and (int(xp.min(x)) < low or int(xp.max(x)) > high):
        raise ValueError(
            f"{arg} must lie in {low}..{high} ({what}), but ranges over {int(xp.min(x))}..{int(xp.max(x))}"
        )


def _check_batch(
    xp: Any, params: Params, tokens: Array, lengths: Array, answer: Array | None, attention: str
) -> None:
    """Validate a batch against the parameters, before any computation."""
    _check_params(params)
    if attention not in ATTENTION:
        raise ValueError(f"attention must be one of {ATTENTION}, but attention={attention!r}")
    _check_ints(xp, tokens, "tokens", 2, "(B, T): word ids")
    named = [("lengths", lengths, "(B,): real tokens per sentence")]
    named += [] if answer is None else [("answer", answer, "(B,): answer ids")]
    for arg, x, layout in named:
        _check_ints(xp, x, arg, 1, layout)
        if x.shape[0] != tokens.shape[0]:
            raise ValueError(
                f"{arg} needs one entry per sentence, but tokens.shape={tuple(tokens.shape)} "
                f"and {arg}.shape={tuple(x.shape)}"
            )
    (n_vocab, _), (n_positions, _) = params["embed"].shape, params["pos"].shape
    t = tokens.shape[1]
    _check_range(xp, tokens, "tokens", 0, n_vocab - 1, f"ids of the n_vocab={n_vocab} rows of embed")
    where = f"the blank is token lengths-1; tokens has T={t}, pos has n_positions={n_positions}"
    _check_range(xp, lengths, "lengths", 1, min(t, n_positions), where)
    if answer is not None:
        n_answers = params["b_out"].shape[0]
        _check_range(xp, answer, "answer", 0, n_answers - 1, f"ids of the n_answers={n_answers} answers")


# ---------------------------------------------------------------- forward


def _one_hot(xp: Any, ids: Array, n: int, dtype: Any) -> Array:
    return xp.astype(ids[..., None] == xp.arange(n), dtype)  # (..., n): 1 at column ids[...]


def _lookup(xp: Any, table: Array, ids: Array) -> Array:
    """Rows of ``table`` picked by ``ids``: (n, d) and (...) -> (..., d); the same as one_hot(ids) @ table."""
    rows = xp.take(table, xp.reshape(ids, (-1,)), axis=0)  # (B*T, d)
    return xp.reshape(rows, (*ids.shape, table.shape[1]))  # (..., d)


def _rows(xp: Any, a: Array) -> Array:
    """(B, T, d) -> (B·T, d): every position of every sentence as one row."""
    return xp.reshape(a, (-1, a.shape[-1]))


def _lookup_backward(xp: Any, ids: Array, grad_rows: Array, n: int) -> Array:
    """Gradient of the table in ``_lookup``: one_hot(ids)ᵀ @ grad_rows, each row's gradients summed."""
    one_hot = _one_hot(xp, xp.reshape(ids, (-1,)), n, grad_rows.dtype)  # (B·T, n)
    return xp.matrix_transpose(one_hot) @ _rows(xp, grad_rows)  # (n, B·T) @ (B·T, d) -> (n, d)


def _back_from_blank(xp: Any, lengths: Array, t: int) -> Array:
    """Position of each token counted back from the blank: (B, T), 0 at the blank (and on padding)."""
    back = lengths[:, None] - 1 - xp.arange(t)[None, :]  # (B, T): 0 at the blank, negative on padding
    return xp.where(back < 0, xp.zeros_like(back), back)  # padding is masked anyway: give it position 0


def _forward(
    params: Params, tokens: Array, lengths: Array, scale: float | None, attention: str
) -> dict[str, Array]:
    """The forward pass, keeping what the backward pass needs."""
    xp = namespace(*params.values(), tokens, lengths)
    t = tokens.shape[1]
    back = _back_from_blank(xp, lengths, t)  # (B, T)
    x = _lookup(xp, params["embed"], tokens) + _lookup(xp, params["pos"], back)  # (B, T, d_model)
    blank = _one_hot(xp, lengths - 1, t, x.dtype)  # (B, T): 1 at the blank
    x_blank = xp.sum(blank[:, :, None] * x, axis=1, keepdims=True)  # (B, 1, d_model): the blank's vector
    q = x_blank @ params["w_q"]  # (B, 1, d_k)
    k = x @ params["w_k"]  # (B, T, d_k)
    v = x @ params["w_v"]  # (B, T, d_v)
    mask = padding_mask(lengths, t)  # (B, 1, T), True = a real token
    if attention == "softmax":
        out, weights = scaled_dot_product_attention(q, k, v, mask, scale=scale)  # (B, 1, d_v), (B, 1, T)
    else:
        weights = xp.astype(mask, x.dtype) / xp.astype(lengths, x.dtype)[:, None, None]  # (B, 1, T): 1/length each
        out = weights @ v  # (B, 1, T) @ (B, T, d_v) -> (B, 1, d_v)
    logits = out[:, 0, :] @ params["w_out"] + params["b_out"]  # (B, d_v) @ (d_v, n_answers) -> (B, n_answers)
    return {"tokens": tokens, "back": back, "blank": blank, "x": x, "x_blank": x_blank,
            "q": q, "k": k, "v": v, "mask": mask, "weights": weights, "out": out, "logits": logits}


def forward(
    params: Params, tokens: Array, lengths: Array, *, scale: float | None = None, attention: str = "softmax"
) -> tuple[Array, Array]:
    """Logits over the answers for the blank of each sentence, and the blank's attention weights.

    Shapes: tokens (B, T) int, lengths (B,) int (the blank is token lengths-1, padding after it)
    -> logits (B, n_answers), weights (B, T): each row sums to 1 over the real tokens, 0 on padding.
    ``scale`` replaces 1/√d_k; ``attention="uniform"`` gives every real token the weight 1/length.
    Raises ValueError for shapes that do not fit, ids or lengths out of range or an unknown
    ``attention``; TypeError for tokens or lengths that are not whole numbers, or mixed arrays.
    Used in notebook 12.
    """
    xp = namespace(*params.values(), tokens, lengths)
    tokens, lengths = xp.asarray(tokens), xp.asarray(lengths)
    _check_batch(xp, params, tokens, lengths, None, attention)
    cache = _forward(params, tokens, lengths, scale, attention)
    return cache["logits"], cache["weights"][:, 0, :]  # (B, n_answers), (B, T)


def _log_softmax(xp: Any, logits: Array) -> Array:
    shifted = logits - xp.max(logits, axis=-1, keepdims=True)  # (B, n_answers), largest entry 0
    return shifted - xp.log(xp.sum(xp.exp(shifted), axis=-1, keepdims=True))  # (B, n_answers)


def cross_entropy(logits: Array, answer: Array) -> Array:
    """Mean cross-entropy: -mean_b log softmax(logits[b])[answer[b]], computed stably.

    Shapes: logits (B, n_answers), answer (B,) int -> a 0-D array.
    Used in notebook 12.
    """
    xp = namespace(logits, answer)
    right = _one_hot(xp, answer, logits.shape[-1], logits.dtype)  # (B, n_answers): 1 at the answer
    return -xp.sum(right * _log_softmax(xp, logits)) / logits.shape[0]  # ()


# ---------------------------------------------------------------- backward


def _backward(
    params: Params, cache: Mapping[str, Array], answer: Array, scale: float | None, attention: str
) -> dict[str, Array]:
    """Gradients of the mean cross-entropy with respect to every parameter, from the last step back.

    A weight's gradient sums over every position of every sentence, Σ_b x_bᵀ g_b: one
    (d, B·T) @ (B·T, d) product over all B·T rows, not B small products and their sum (half
    the training's time). Multi-threaded BLAS splits such a product, and on a busy 2-core
    machine that made training 10–30 times slower: ``train`` runs BLAS on one thread.
    """
    xp = namespace(cache["logits"], answer)
    logits, x, q, k, v = cache["logits"], cache["x"], cache["q"], cache["k"], cache["v"]
    batch = x.shape[0]
    right = _one_hot(xp, answer, logits.shape[-1], logits.dtype)  # (B, n_answers)
    grad_logits = (xp.exp(_log_softmax(xp, logits)) - right) / batch  # (B, n_answers): softmax - one-hot
    out = cache["out"][:, 0, :]  # (B, d_v)
    grads = {
        "w_out": out.T @ grad_logits,  # (d_v, B) @ (B, n_answers) -> (d_v, n_answers)
        "b_out": xp.sum(grad_logits, axis=0),  # (n_answers,)
    }
    grad_out = (grad_logits @ params["w_out"].T)[:, None, :]  # (B, n_answers) @ (n_answers, d_v) -> (B, 1, d_v)
    if attention == "softmax":
        grad_q, grad_k, grad_v = grad.attention_backward(q, k, v, grad_out, cache["mask"], scale=scale)
    else:  # fixed weights: only the values get a gradient
        grad_q, grad_k = xp.zeros_like(q), xp.zeros_like(k)
        grad_v = xp.matrix_transpose(cache["weights"]) @ grad_out  # (B, T, 1) @ (B, 1, d_v) -> (B, T, d_v)
    x_t = xp.matrix_transpose(_rows(xp, x))  # (d_model, B·T): every position of every sentence
    grads["w_q"] = xp.matrix_transpose(cache["x_blank"][:, 0, :]) @ grad_q[:, 0, :]  # Σ_b: (d_model, B) @ (B, d_k)
    grads["w_k"] = x_t @ _rows(xp, grad_k)  # Σ_b x_bᵀ g_b: (d_model, B·T) @ (B·T, d_k) -> (d_model, d_k)
    grads["w_v"] = x_t @ _rows(xp, grad_v)  # Σ_b x_bᵀ g_b: (d_model, B·T) @ (B·T, d_v) -> (d_model, d_v)
    grad_x = grad_k @ params["w_k"].T + grad_v @ params["w_v"].T  # (B, T, d_model): through the keys and values
    grad_x = grad_x + cache["blank"][:, :, None] * (grad_q @ params["w_q"].T)  # + through the query, at the blank
    grads["embed"] = _lookup_backward(xp, cache["tokens"], grad_x, params["embed"].shape[0])  # (n_vocab, d_model)
    grads["pos"] = _lookup_backward(xp, cache["back"], grad_x, params["pos"].shape[0])  # (n_positions, d_model)
    return {p: grads[p] for p in PARAMETERS}


def loss_and_grads(
    params: Params,
    tokens: Array,
    lengths: Array,
    answer: Array,
    *,
    scale: float | None = None,
    attention: str = "softmax",
) -> tuple[Array, dict[str, Array]]:
    """The mean cross-entropy of a batch and its gradient with respect to every parameter.

    Shapes: tokens (B, T), lengths (B,), answer (B,) -> loss (), grads {name: array shaped as params[name]}.
    Backward, step by step: the read-out, ``course_lib.grad.attention_backward`` (or the fixed
    uniform weights), the projections, then the two table lookups (words and positions).
    Raises as ``forward``, and ValueError for answers out of range.
    Used in notebook 12.
    """
    xp = namespace(*params.values(), tokens, lengths, answer)
    tokens, lengths, answer = xp.asarray(tokens), xp.asarray(lengths), xp.asarray(answer)
    _check_batch(xp, params, tokens, lengths, answer, attention)
    cache = _forward(params, tokens, lengths, scale, attention)
    return cross_entropy(cache["logits"], answer), _backward(params, cache, answer, scale, attention)


# ---------------------------------------------------------------- Adam


def adam_init(params: Params) -> dict[str, Any]:
    """Adam's starting state: step 0, and the running means m (gradient) and v (its square) at zero.

    Used in notebook 12.
    """
    xp = namespace(*params.values())
    return {
        "step": 0,
        "m": {p: xp.zeros_like(w) for p, w in params.items()},
        "v": {p: xp.zeros_like(w) for p, w in params.items()},
    }


def adam_step(
    params: Params,
    grads: Params,
    state: Mapping[str, Any],
    *,
    lr: float = 0.05,
    beta1: float = 0.9,
    beta2: float = 0.999,
    eps: float = 1e-8,
) -> tuple[dict[str, Array], dict[str, Any]]:
    """One step of Adam; returns ``(new_params, new_state)`` and changes neither input.

    With t the step number (1, 2, …) and g the gradient:
    m = β₁ m + (1-β₁) g,  v = β₂ v + (1-β₂) g²,  m̂ = m / (1-β₁ᵗ),  v̂ = v / (1-β₂ᵗ),
    w = w - lr m̂ / (√v̂ + ε): each entry moves by about lr, in the direction its gradient kept.
    Used in notebook 12.
    """
    xp = namespace(*params.values(), *grads.values())
    t = state["step"] + 1
    new, m, v = {}, {}, {}
    for p, w in params.items():
        m[p] = beta1 * state["m"][p] + (1 - beta1) * grads[p]  # running mean of the gradient
        v[p] = beta2 * state["v"][p] + (1 - beta2) * grads[p] ** 2  # running mean of its square
        m_hat, v_hat = m[p] / (1 - beta1**t), v[p] / (1 - beta2**t)  # both started at 0: undo that bias
        new[p] = w - lr * m_hat / (xp.sqrt(v_hat) + eps)
    return new, {"step": t, "m": m, "v": v}


# ---------------------------------------------------------------- training


def _split_arrays(xp: Any, params: Params, split: Any, arg: str, attention: str) -> tuple[Array, Array, Array]:
    """(tokens, lengths, answer) of a split (anything with those attributes), validated."""
    if not all(hasattr(split, a) for a in ("tokens", "lengths", "answer")):
        raise TypeError(
            f"{arg} must have .tokens, .lengths and .answer (a split of blank_sentences.make_dataset), "
            f"but got {type(split).__name__}"
        )
    namespace(*params.values(), split.tokens, split.lengths, split.answer)  # TypeError for mixed arrays
    arrays = xp.asarray(split.tokens), xp.asarray(split.lengths), xp.asarray(split.answer)
    _check_batch(xp, params, *arrays, attention)
    return arrays


@contextlib.contextmanager
def _blas_threads(xp: Any, n: int | None) -> Iterator[None]:
    """BLAS limited to ``n`` threads for NumPy while training (None: as it is)."""
    if n is None or "numpy" not in xp.__name__:
        yield
        return
    with threadpoolctl.threadpool_limits(limits=n, user_api="blas"):
        yield


def train(
    params: Params,
    train_split: Any,
    heldout_split: Any = None,
    *,
    steps: int = 50,
    lr: float = 0.05,
    scale: float | None = None,
    attention: str = "softmax",
    progress: Callable[[int, int, float, float], None] | None = None,
    blas_threads: int | None = 1,
) -> tuple[dict[str, Array], dict[str, list[float]]]:
    """Train with Adam on the whole training split at every step; returns ``(params, history)``.

    ``train_split``, ``heldout_split``: anything with ``tokens``, ``lengths`` and ``answer``
    (``blank_sentences.make_dataset().train``). ``history``: ``train_loss`` and
    ``heldout_loss``, one float per step, both measured before that step's update (NaN
    without a held-out split). ``progress(step, steps, train_loss, heldout_loss)`` is called
    after every step. Deterministic: the same inputs give the same numbers. ``params`` is
    not changed. BLAS runs on ``blas_threads`` threads (NumPy; None: as it is): these products
    are small, and on a shared machine more threads wait on each other. Raises as
    ``loss_and_grads``, and ValueError for a bad ``steps``. Used in notebook 12.
    """
    _whole("steps", steps, least=0)
    xp = namespace(*params.values())
    data = _split_arrays(xp, params, train_split, "train_split", attention)
    heldout = None if heldout_split is None else _split_arrays(xp, params, heldout_split, "heldout_split", attention)
    state, history = adam_init(params), {"train_loss": [], "heldout_loss": []}
    with _blas_threads(xp, blas_threads):
        for step in range(1, steps + 1):
            cache = _forward(params, *data[:2], scale, attention)
            grads = _backward(params, cache, data[2], scale, attention)
            history["train_loss"].append(float(cross_entropy(cache["logits"], data[2])))
            if heldout is not None:
                logits = _forward(params, *heldout[:2], scale, attention)["logits"]
                history["heldout_loss"].append(float(cross_entropy(logits, heldout[2])))
            else:
                history["heldout_loss"].append(math.nan)
            params, state = adam_step(params, grads, state, lr=lr)
            if progress is not None:
                progress(step, steps, history["train_loss"][-1], history["heldout_loss"][-1])
    return dict(params), history


def accuracy(params: Params, split: Any, *, scale: float | None = None, attention: str = "softmax") -> float:
    """The fraction of the sentences in ``split`` whose highest logit is the right answer.

    ``split``: anything with ``tokens``, ``lengths`` and ``answer``. Raises as ``loss_and_grads``.
    Used in notebook 12.
    """
    xp = namespace(*params.values())
    tokens, lengths, answer = _split_arrays(xp, params, split, "split", attention)
    logits = _forward(params, tokens, lengths, scale, attention)["logits"]  # (B, n_answers)
    return float(xp.mean(xp.astype(xp.argmax(logits, axis=-1) == answer, xp.float64)))
