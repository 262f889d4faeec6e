"""A tiny GPT, every backward pass written by hand: forward, loss and gradients, AdamW, training.

A batch of token ids (B, T) goes through::

    x      = embed[tokens] + pos[0..T-1]                          (B, T, d_model)  the residual stream
    for each block l:
        h      = layer_norm(x)                                    (B, T, d_model)  pre-norm
        q, k, v = h W_q[h], h W_k[h], h W_v[h]  for each head      (B, H, T, d_k)
        out    = softmax(q kᵀ / √d_k, causal) v                   (B, H, T, d_k)   course_lib.attention
        x      = x + Σ_heads out W_o[h]                           (B, T, d_model)  each head writes into x
        x      = x + gelu(layer_norm(x) W_in + b_in) W_mlp + b_mlp (B, T, d_model)  (not when d_mlp = 0)
    logits = layer_norm(x) W_out + b_out                          (B, T, vocab_size) untied read-out

and the loss is the mean cross-entropy of the next token at every position. Each head has
its own W_q, W_k, W_v (d_model, d_k) and W_o (d_k, d_model), stacked over the heads: the
same numbers as one (d_model, d_model) matrix cut into n_heads slices (notebook 11), kept
apart so that a head can be read, or switched off, on its own (zero its W_o: ablation).

Parameters are a dict of arrays: ``embed, pos``; per block ``l``: ``l.ln1_gamma, l.ln1_beta,
l.w_q, l.w_k, l.w_v, l.w_o`` and, with an MLP, ``l.ln2_gamma, l.ln2_beta, l.w_in, l.b_in,
l.w_mlp, l.b_mlp``; then ``lnf_gamma, lnf_beta, w_out, b_out``. The sizes are read from the
shapes. The array module comes from the inputs (NumPy, CuPy, array-API arrays), and so does the
precision: float64 for the gradient checks, float32 (``init_params(..., dtype=xp.float32)``) for
training, which needs no more and runs about twice as fast. Inside, the stream is kept as B·T rows
(B·T, d_model), so that each position-wise product (the projections, W_o, the MLP, the read-out) is
one matrix product over every position of every sequence, forward and backward. The backward pass
goes through attention as ``course_lib.grad.attention_backward`` does (with the forward's weights
kept, not recomputed) and through ``course_lib.layers``.
Taught in notebook 14.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Iterable, Mapping

import numpy

from . import grad, model
from .attention import attention_scores, softmax
from .backend import namespace
from .layers import _gelu_grad, _gelu_tanh, _layer_norm_grads, _normalise, gelu, gelu_backward, layer_norm, layer_norm_backward

__all__ = [
    "init_params",
    "config",
    "forward",
    "loss_and_grads",
    "cross_entropy",
    "layer_norm",
    "layer_norm_backward",
    "gelu",
    "gelu_backward",
    "adamw_init",
    "adamw_step",
    "train",
    "n_parameters",
]

Array = Any
Params = Mapping[str, Array]


# ---------------------------------------------------------------- parameters


def _whole(arg: str, n: Any, least: int = 1) -> None:
    if isinstance(n, bool) or not isinstance(n, (int, numpy.integer)) or n < least:
        raise ValueError(f"{arg} must be a whole number >= {least}, but {arg}={n!r}")


def _shapes(vocab_size: int, context: int, d_model: int, n_heads: int, n_layers: int, d_mlp: int) -> dict:
    """Every parameter's shape, in the order of the forward pass."""
    d_k = d_model // n_heads
    shapes = {"embed": (vocab_size, d_model), "pos": (context, d_model)}
    for l in range(n_layers):
        shapes |= {f"{l}.ln1_gamma": (d_model,), f"{l}.ln1_beta": (d_model,)}
        shapes |= {f"{l}.{w}": (n_heads, d_model, d_k) for w in ("w_q", "w_k", "w_v")}
        shapes[f"{l}.w_o"] = (n_heads, d_k, d_model)
        if d_mlp:
            shapes |= {f"{l}.ln2_gamma": (d_model,), f"{l}.ln2_beta": (d_model,)}
            shapes |= {f"{l}.w_in": (d_model, d_mlp), f"{l}.b_in": (d_mlp,)}
            shapes |= {f"{l}.w_mlp": (d_mlp, d_model), f"{l}.b_mlp": (d_model,)}
    shapes |= {"lnf_gamma": (d_model,), "lnf_beta": (d_model,)}
    shapes |= {"w_out": (d_model, vocab_size), "b_out": (vocab_size,)}
    return shapes


def init_params(
    vocab_size: int, context: int, d_model: int, n_heads: int, n_layers: int, d_mlp: int, seed: int = 0,
    *, dtype: Any = None,
) -> dict[str, Array]:
    """Random starting parameters: the same numbers for the same seed on every backend.

    ``context``: the longest sequence the model reads (rows of ``pos``); ``d_mlp=0``: attention-only
    blocks, no MLP. Entries are normal with std 1/√(fan-in) (0.5 for the embeddings), and the matrices
    that write into the residual stream (w_o, w_mlp) are scaled by a further 1/√(2 n_layers), as in
    GPT-2; gains start at 1, shifts and biases at 0. float64 unless ``dtype`` says otherwise.
    Raises ValueError for a size that is not a whole number (>= 1; d_mlp >= 0) or d_model not
    divisible by n_heads. Taught in notebook 14.
    """
    sizes = {"vocab_size": vocab_size, "context": context, "d_model": d_model, "n_heads": n_heads,
             "n_layers": n_layers}
    for arg, n in sizes.items():
        _whole(arg, n)
    _whole("d_mlp", d_mlp, least=0)
    if d_model % n_heads:
        raise ValueError(
            f"n_heads must divide d_model (each head gets d_k = d_model / n_heads features), "
            f"but d_model={d_model} and n_heads={n_heads}"
        )
    xp = namespace()
    rng = numpy.random.default_rng(seed)  # drawn on the host: the same numbers on NumPy and CuPy
    residual = 1 / math.sqrt(2 * n_layers)
    params = {}
    for name, shape in _shapes(vocab_size, context, d_model, n_heads, n_layers, d_mlp).items():
        kind = name.split(".")[-1]
        if kind.endswith("_gamma"):
            values = numpy.ones(shape)
        elif kind.endswith("_beta") or kind.startswith("b_"):
            values = numpy.zeros(shape)
        elif kind in ("embed", "pos"):
            values = rng.normal(0.0, 0.5, size=shape)
        else:
            std = 1 / math.sqrt(shape[-2]) * (residual if kind in ("w_o", "w_mlp") else 1.0)
            values = rng.normal(0.0, std, size=shape)
        params[name] = xp.asarray(values, dtype=dtype or xp.float64)
    return params


def config(params: Params) -> dict[str, int]:
    """The sizes behind ``params``: vocab_size, context, d_model, n_heads, d_k, n_layers, d_mlp.

    Raises ValueError where ``params`` lacks a parameter or two shapes disagree. Used in notebook 14.
    """
    for name in ("embed", "pos", "w_out"):
        if name not in params:
            raise ValueError(f"params is missing {name!r}: make it with gpt.init_params")
    (vocab_size, d_model), context = params["embed"].shape, params["pos"].shape[0]
    n_layers = sum(1 for name in params if name.endswith(".w_q"))
    n_heads = params["0.w_q"].shape[0] if n_layers else 1
    d_mlp = params["0.w_in"].shape[1] if "0.w_in" in params else 0
    expected = _shapes(vocab_size, context, d_model, n_heads, n_layers, d_mlp)
    for name, shape in expected.items():
        if name not in params:
            raise ValueError(f"params is missing {name!r}: make it with gpt.init_params")
        if tuple(params[name].shape) != shape:
            raise ValueError(
                f"params[{name!r}].shape={tuple(params[name].shape)}, but embed.shape={(vocab_size, d_model)}, "
                f"pos.shape={tuple(params['pos'].shape)} and {n_heads} head(s) need {name}.shape={shape}"
            )
    extra = sorted(set(params) - set(expected))
    if extra:
        raise ValueError(f"params has entries the model does not use: {extra}")
    return {"vocab_size": vocab_size, "context": context, "d_model": d_model, "n_heads": n_heads,
            "d_k": d_model // n_heads, "n_layers": n_layers, "d_mlp": d_mlp}


def n_parameters(params: Params) -> int:
    """How many numbers the model learns. Used in notebook 14."""
    return sum(int(math.prod(w.shape)) for w in params.values())


# ---------------------------------------------------------------- validation


def _check_ids(xp: Any, ids: Array, arg: str, vocab_size: int) -> Array:
    ids = xp.asarray(ids)
    if ids.dtype == xp.bool or not xp.isdtype(ids.dtype, "integral"):
        raise TypeError(f"{arg} must hold whole numbers (token ids), but {arg}.dtype={ids.dtype}")
    if ids.ndim != 2:
        raise ValueError(f"{arg} must be 2-D (B, T): B sequences of T token ids, but {arg}.shape={tuple(ids.shape)}")
    if ids.size and (int(xp.min(ids)) < 0 or int(xp.max(ids)) >= vocab_size):
        raise ValueError(
            f"{arg} must lie in [0, vocab_size) = [0, {vocab_size}), but ranges over "
            f"{int(xp.min(ids))}..{int(xp.max(ids))}"
        )
    return ids


def _check_batch(xp: Any, params: Params, tokens: Array, targets: Array | None) -> tuple[Array, Array | None]:
    """Validate tokens (and targets) against the parameters, before any computation."""
    sizes = config(params)
    tokens = _check_ids(xp, tokens, "tokens", sizes["vocab_size"])
    if tokens.shape[1] > sizes["context"]:
        raise ValueError(
            f"tokens has T={tokens.shape[1]} positions, more than the context={sizes['context']} the model "
            f"was made for (pos.shape={tuple(params['pos'].shape)}); tokens.shape={tuple(tokens.shape)}"
        )
    if targets is not None:
        targets = _check_ids(xp, targets, "targets", sizes["vocab_size"])
        if tuple(targets.shape) != tuple(tokens.shape):
            raise ValueError(
                f"targets must have the shape of tokens (the next token at every position), but "
                f"tokens.shape={tuple(tokens.shape)} and targets.shape={tuple(targets.shape)}"
            )
    return tokens, targets


# ---------------------------------------------------------------- forward


def _one_hot(xp: Any, ids: Array, n: int, dtype: Any) -> Array:
    return xp.astype(ids[..., None] == xp.arange(n), dtype)  # (..., n): 1 at column ids[...]


def _qkv_matrix(xp: Any, params: Params, l: int) -> Array:
    """Every head's W_q, W_k, W_v side by side: (d_model, 3·H·d_k), one product gives all q, k and v."""
    w = xp.stack([params[f"{l}.w_q"], params[f"{l}.w_k"], params[f"{l}.w_v"]])  # (3, H, d_model, d_k)
    three, n_heads, d_model, d_k = w.shape
    return xp.reshape(xp.permute_dims(w, (2, 0, 1, 3)), (d_model, three * n_heads * d_k))  # (d_model, 3·H·d_k)


def _causal_attention(xp: Any, q: Array, k: Array, v: Array) -> tuple[Array, Array]:
    """softmax(q kᵀ / √d_k, causal) v, as scaled_dot_product_attention(q, k, v, causal=True) computes it
    (notebook 07), with the causal mask added to the scores as −inf: (out (B, H, T, d_k), weights (B, H, T, T))."""
    t, d_k = q.shape[-2], q.shape[-1]
    allowed = xp.arange(t)[:, None] >= xp.arange(t)[None, :]  # (T, T): query i sees keys 0..i
    causal = xp.where(allowed, xp.asarray(0.0, dtype=q.dtype), xp.asarray(-math.inf, dtype=q.dtype))  # (T, T)
    scores = attention_scores(q, k) / math.sqrt(d_k) + causal  # (B, H, T, T): −inf where a key lies ahead
    weights = softmax(scores)  # (B, H, T, T): exp(−inf) = 0, so each row spreads over keys 0..i only
    return weights @ v, weights  # (B, H, T, T) @ (B, H, T, d_k) -> (B, H, T, d_k)


def _attention_forward(xp: Any, params: Params, l: int, x: Array, b: int) -> dict[str, Array]:
    """Causal multi-head self-attention on layer_norm(x), x (B·T, d_model); returns what the backward pass needs."""
    h, x_hat, inv_std = _layer_norm(xp, x, params[f"{l}.ln1_gamma"], params[f"{l}.ln1_beta"])  # (B·T, d_model)
    n_heads, d_model, d_k = params[f"{l}.w_q"].shape
    w_qkv = _qkv_matrix(xp, params, l)  # (d_model, 3·H·d_k): kept for the backward pass
    qkv = h @ w_qkv  # (B·T, d_model) @ (d_model, 3·H·d_k) -> (B·T, 3·H·d_k)
    qkv = xp.reshape(qkv, (b, -1, 3, n_heads, d_k))  # (B, T, 3, H, d_k)
    q, k, v = (xp.permute_dims(qkv[:, :, i, ...], (0, 2, 1, 3)) for i in range(3))  # (B, H, T, d_k) each, no copy
    out, weights = _causal_attention(xp, q, k, v)  # (B, H, T, d_k), (B, H, T, T)
    merged = xp.reshape(xp.permute_dims(out, (0, 2, 1, 3)), (x.shape[0], n_heads * d_k))  # (B·T, H·d_k): heads side by side
    y = merged @ xp.reshape(params[f"{l}.w_o"], (n_heads * d_k, d_model))  # Σ_heads out_h W_o[h]: (B·T, d_model)
    return {"h": h, "x_hat": x_hat, "inv_std": inv_std, "w_qkv": w_qkv, "q": q, "k": k, "v": v, "merged": merged,
            "weights": weights, "y": y}


def _mlp_forward(xp: Any, params: Params, l: int, x: Array) -> dict[str, Array]:
    """The position-wise MLP on layer_norm(x): gelu(h W_in + b_in) W_mlp + b_mlp, x (B·T, d_model)."""
    h, x_hat, inv_std = _layer_norm(xp, x, params[f"{l}.ln2_gamma"], params[f"{l}.ln2_beta"])  # (B·T, d_model)
    a = h @ params[f"{l}.w_in"] + params[f"{l}.b_in"]  # (B·T, d_model) @ (d_model, d_mlp) -> (B·T, d_mlp)
    t = _gelu_tanh(xp, a)  # (B·T, d_mlp): kept for gelu′ in the backward pass
    g = 0.5 * a * (1 + t)  # gelu(a): (B·T, d_mlp)
    y = g @ params[f"{l}.w_mlp"] + params[f"{l}.b_mlp"]  # (B·T, d_mlp) @ (d_mlp, d_model) -> (B·T, d_model)
    return {"h": h, "x_hat": x_hat, "inv_std": inv_std, "a": a, "t": t, "g": g, "y": y}


def _layer_norm(xp: Any, x: Array, gamma: Array, beta: Array) -> tuple[Array, Array, Array]:
    """layer_norm(x), with x̂ and 1/σ kept for its backward pass."""
    x_hat, inv_std = _normalise(xp, x, 1e-5)  # (B·T, d_model), (B·T, 1)
    return gamma * x_hat + beta, x_hat, inv_std


def _forward(xp: Any, params: Params, tokens: Array) -> dict[str, Any]:
    """The forward pass, keeping what the backward pass needs. The stream is kept as rows (B·T, d_model)."""
    b, t = tokens.shape
    d_model = params["embed"].shape[1]
    x = xp.take(params["embed"], xp.reshape(tokens, (-1,)), axis=0)  # (B·T, d_model): each token's row
    x = xp.reshape(xp.reshape(x, (b, t, d_model)) + params["pos"][:t, :], (b * t, d_model))  # + its position's row
    blocks = []
    for l in range(sum(1 for name in params if name.endswith(".w_q"))):
        attention = _attention_forward(xp, params, l, x, b)
        x = x + attention["y"]  # (B·T, d_model)
        mlp = _mlp_forward(xp, params, l, x) if f"{l}.w_in" in params else None
        if mlp is not None:
            x = x + mlp["y"]  # (B·T, d_model)
        blocks.append((attention, mlp))
    h, x_hat, inv_std = _layer_norm(xp, x, params["lnf_gamma"], params["lnf_beta"])  # (B·T, d_model)
    logits = h @ params["w_out"] + params["b_out"]  # (B·T, d_model) @ (d_model, vocab_size) -> (B·T, vocab_size)
    return {"tokens": tokens, "blocks": blocks, "h": h, "x_hat": x_hat, "inv_std": inv_std, "logits": logits}


def forward(params: Params, tokens: Array) -> tuple[Array, Array]:
    """Next-token logits at every position, and every head's attention weights.

    Shapes: tokens (B, T) int -> logits (B, T, vocab_size), weights (n_layers, B, n_heads, T, T)
    (row i: how much position i takes from positions 0..i; causal, so the rest is 0).
    Raises ValueError for a token id outside [0, vocab_size), T > context, tokens not 2-D or
    params that do not fit together; TypeError for non-integer tokens or mixed arrays.
    Taught in notebook 14.
    """
    xp = namespace(*params.values(), tokens)
    tokens, _ = _check_batch(xp, params, tokens, None)
    cache = _forward(xp, params, tokens)
    weights = xp.stack([attention["weights"] for attention, _ in cache["blocks"]])  # (n_layers, B, H, T, T)
    return xp.reshape(cache["logits"], (*tokens.shape, -1)), weights  # (B, T, vocab_size)


def _log_softmax(xp: Any, logits: Array) -> Array:
    shifted = logits - xp.max(logits, axis=-1, keepdims=True)  # (..., vocab_size), largest entry 0
    return shifted - xp.log(xp.sum(xp.exp(shifted), axis=-1, keepdims=True))  # (..., vocab_size)


def _mean_loss(xp: Any, params: Params, tokens: Array, targets: Array, rows: int = 64) -> float:
    """cross_entropy(forward(params, tokens)[0], targets) for checked inputs, ``rows`` sequences at a time,
    without the attention weights that ``forward`` stacks (notebook 14's 500 held-out stories: 0.275 s of
    CPU whole, 0.21 s in slices of 64)."""
    total, n = 0.0, tokens.shape[0]
    for start in range(0, n, rows):
        chunk = slice(start, min(start + rows, n))  # the array API leaves a slice past the end unspecified
        logits = _forward(xp, params, tokens[chunk, ...])["logits"]  # (rows·T, vocab_size)
        logits = xp.reshape(logits, (*targets[chunk, ...].shape, -1))  # (rows, T, vocab_size)
        total += float(cross_entropy(logits, targets[chunk, ...])) * math.prod(logits.shape[:-1])  # the slice's sum
    return total / math.prod(targets.shape)


def cross_entropy(logits: Array, targets: Array) -> Array:
    """Mean cross-entropy over every position: −mean log softmax(logits)[target], computed stably.

    Shapes: logits (B, T, vocab_size), targets (B, T) int -> a 0-D array. Used in notebook 14.
    """
    xp = namespace(logits, targets)
    right = _one_hot(xp, targets, logits.shape[-1], logits.dtype)  # (B, T, vocab_size): 1 at the target
    return -xp.sum(right * _log_softmax(xp, logits)) / math.prod(targets.shape)  # ()


# ---------------------------------------------------------------- backward
#
# Every matrix product that acts position by position is one product over all B·T rows: the gradient
# of a weight W in y = h W is hᵀ ∂L/∂y, (d_in, B·T) @ (B·T, d_out), which sums over every position of
# every sequence at once.


def _attention_backward(xp: Any, params: Params, l: int, c: Mapping[str, Array], grad_y: Array, grads: dict) -> Array:
    """Back through y = Σ_heads attention(layer_norm(x)) W_o; fills grads, returns the gradient at x (B·T, d_model)."""
    n_heads, d_model, d_k = params[f"{l}.w_q"].shape
    w_o = xp.reshape(params[f"{l}.w_o"], (n_heads * d_k, d_model))  # (H·d_k, d_model): the heads' W_o stacked
    grads[f"{l}.w_o"] = xp.reshape(xp.matrix_transpose(c["merged"]) @ grad_y, (n_heads, d_k, d_model))  # (H·d_k, B·T) @ (B·T, d_model)
    grad_merged = grad_y @ xp.matrix_transpose(w_o)  # (B·T, d_model) @ (d_model, H·d_k) -> (B·T, H·d_k)
    b, _, t, _ = c["q"].shape
    grad_out = xp.permute_dims(xp.reshape(grad_merged, (b, t, n_heads, d_k)), (0, 2, 1, 3))  # (B, H, T, d_k)
    # back through out = softmax(q kᵀ / √d_k) v, with the forward's weights (grad.attention_backward, not recomputed)
    scale = 1 / math.sqrt(d_k)
    grad_weights = grad_out @ xp.matrix_transpose(c["v"])  # (B, H, T, d_k) @ (B, H, d_k, T) -> (B, H, T, T)
    grad_v = xp.matrix_transpose(c["weights"]) @ grad_out  # (B, H, T, T) @ (B, H, T, d_k) -> (B, H, T, d_k)
    grad_scores = grad.softmax_backward(c["weights"], grad_weights) * scale  # (B, H, T, T); masked entries get 0
    grad_q = grad_scores @ c["k"]  # (B, H, T, T) @ (B, H, T, d_k) -> (B, H, T, d_k)
    grad_k = xp.matrix_transpose(grad_scores) @ c["q"]  # (B, H, T, T) @ (B, H, T, d_k) -> (B, H, T, d_k)
    grad_qkv = xp.stack([xp.permute_dims(g, (0, 2, 1, 3)) for g in (grad_q, grad_k, grad_v)], axis=2)  # (B, T, 3, H, d_k)
    grad_qkv = xp.reshape(grad_qkv, (b * t, 3 * n_heads * d_k))  # (B·T, 3·H·d_k): as qkv in the forward pass
    grad_w = xp.matrix_transpose(c["h"]) @ grad_qkv  # (d_model, B·T) @ (B·T, 3·H·d_k) -> (d_model, 3·H·d_k)
    grad_w = xp.permute_dims(xp.reshape(grad_w, (d_model, 3, n_heads, d_k)), (1, 2, 0, 3))  # (3, H, d_model, d_k)
    grads[f"{l}.w_q"], grads[f"{l}.w_k"], grads[f"{l}.w_v"] = grad_w[0, ...], grad_w[1, ...], grad_w[2, ...]
    grad_h = grad_qkv @ xp.matrix_transpose(c["w_qkv"])  # (B·T, 3·H·d_k) @ (3·H·d_k, d_model)
    grad_x, grads[f"{l}.ln1_gamma"], grads[f"{l}.ln1_beta"] = _layer_norm_grads(
        xp, grad_h, c["x_hat"], c["inv_std"], params[f"{l}.ln1_gamma"])
    return grad_x  # (B·T, d_model)


def _mlp_backward(xp: Any, params: Params, l: int, c: Mapping[str, Array], grad_y: Array, grads: dict) -> Array:
    """Back through y = gelu(layer_norm(x) W_in + b_in) W_mlp + b_mlp; fills grads, returns the gradient at x."""
    grads[f"{l}.w_mlp"] = xp.matrix_transpose(c["g"]) @ grad_y  # (d_mlp, B·T) @ (B·T, d_model) -> (d_mlp, d_model)
    grads[f"{l}.b_mlp"] = xp.sum(grad_y, axis=0)  # (d_model,)
    grad_g = grad_y @ xp.matrix_transpose(params[f"{l}.w_mlp"])  # (B·T, d_model) @ (d_model, d_mlp) -> (B·T, d_mlp)
    grad_a = _gelu_grad(grad_g, c["a"], c["t"])  # (B·T, d_mlp)
    grads[f"{l}.w_in"] = xp.matrix_transpose(c["h"]) @ grad_a  # (d_model, B·T) @ (B·T, d_mlp) -> (d_model, d_mlp)
    grads[f"{l}.b_in"] = xp.sum(grad_a, axis=0)  # (d_mlp,)
    grad_h = grad_a @ xp.matrix_transpose(params[f"{l}.w_in"])  # (B·T, d_mlp) @ (d_mlp, d_model) -> (B·T, d_model)
    grad_x, grads[f"{l}.ln2_gamma"], grads[f"{l}.ln2_beta"] = _layer_norm_grads(
        xp, grad_h, c["x_hat"], c["inv_std"], params[f"{l}.ln2_gamma"])
    return grad_x  # (B·T, d_model)


def _backward(xp: Any, params: Params, cache: Mapping[str, Any], grad_logits: Array) -> dict[str, Array]:
    """Gradients of the loss with respect to every parameter, from ∂L/∂logits (B·T, vocab_size) back.

    The residual stream carries its gradient past each block, and each block adds what goes through it.
    """
    tokens = cache["tokens"]
    b, t = tokens.shape
    vocab_size, d_model = params["embed"].shape
    grads = {
        "w_out": xp.matrix_transpose(cache["h"]) @ grad_logits,  # (d_model, B·T) @ (B·T, vocab_size) -> (d_model, vocab_size)
        "b_out": xp.sum(grad_logits, axis=0),  # (vocab_size,)
    }
    grad_h = grad_logits @ xp.matrix_transpose(params["w_out"])  # (B·T, vocab_size) @ (vocab_size, d_model) -> (B·T, d_model)
    grad_x, grads["lnf_gamma"], grads["lnf_beta"] = _layer_norm_grads(
        xp, grad_h, cache["x_hat"], cache["inv_std"], params["lnf_gamma"])
    for l in reversed(range(len(cache["blocks"]))):
        attention, mlp = cache["blocks"][l]
        if mlp is not None:
            grad_x = grad_x + _mlp_backward(xp, params, l, mlp, grad_x, grads)  # x = x + mlp(x)
        grad_x = grad_x + _attention_backward(xp, params, l, attention, grad_x, grads)  # x = x + attention(x)
    grad_pos = xp.sum(xp.reshape(grad_x, (b, t, d_model)), axis=0)  # (T, d_model): each position's row, over the batch
    grads["pos"] = xp.concat([grad_pos, xp.zeros((params["pos"].shape[0] - t, d_model), dtype=grad_x.dtype)])
    one_hot = _one_hot(xp, xp.reshape(tokens, (-1,)), vocab_size, grad_x.dtype)  # (B·T, vocab_size)
    grads["embed"] = xp.matrix_transpose(one_hot) @ grad_x  # (vocab_size, B·T) @ (B·T, d_model): each token's row
    return {name: grads[name] for name in params}


def loss_and_grads(params: Params, tokens: Array, targets: Array) -> tuple[float, dict[str, Array]]:
    """The mean cross-entropy of predicting ``targets`` from ``tokens``, and its gradient for every parameter.

    Shapes: tokens (B, T) int, targets (B, T) int (usually tokens shifted by one) -> loss (a float),
    grads {name: array shaped as params[name]}. Backward, step by step: the read-out, the final
    layer norm, then each block from the last: its MLP, its attention (``course_lib.grad``), with
    the residual stream carrying the gradient past both, and last the two table lookups.
    Raises as ``forward``, and ValueError for targets of another shape or outside [0, vocab_size).
    Taught in notebook 14.
    """
    xp = namespace(*params.values(), tokens, targets)
    tokens, targets = _check_batch(xp, params, tokens, targets)
    cache = _forward(xp, params, tokens)
    log_probs = _log_softmax(xp, cache["logits"])  # (B·T, vocab_size)
    right = _one_hot(xp, xp.reshape(targets, (-1,)), log_probs.shape[-1], log_probs.dtype)  # (B·T, vocab_size): 1 at the target
    n = math.prod(targets.shape)
    loss = -xp.sum(right * log_probs) / n  # the mean cross-entropy
    grad_logits = (xp.exp(log_probs) - right) / n  # (B·T, vocab_size): softmax − one-hot, averaged
    return float(loss), _backward(xp, params, cache, grad_logits)


# ---------------------------------------------------------------- AdamW


def adamw_init(params: Params) -> dict[str, Any]:
    """AdamW's starting state: Adam's (notebook 12), step 0 and the running means m and v at zero.

    Used in notebook 14.
    """
    return model.adam_init(params)


def adamw_step(
    params: Params, grads: Params, state: Mapping[str, Any], *, lr: float = 1e-2, beta1: float = 0.9,
    beta2: float = 0.99, eps: float = 1e-8, weight_decay: float = 0.01,
) -> tuple[dict[str, Array], dict[str, Any]]:
    """One step of AdamW; returns ``(new_params, new_state)`` and changes neither input.

    Adam's step (``course_lib.model.adam_step``, notebook 12), then the decoupled weight decay
    w ← w − lr · weight_decay · w (the w before the step), for the matrices only: gains, shifts
    and biases are not pulled towards 0. Used in notebook 14.
    """
    new, state = model.adam_step(params, grads, state, lr=lr, beta1=beta1, beta2=beta2, eps=eps)
    for p, w in params.items():
        if w.ndim >= 2:
            new[p] = new[p] - lr * weight_decay * w
    return new, state


# ---------------------------------------------------------------- training


def train(
    params: Params,
    batches: Iterable[tuple[Array, Array]],
    steps: int,
    *,
    lr: float = 1e-2,
    weight_decay: float = 0.01,
    warmup: int = 0,
    heldout: tuple[Array, Array] | None = None,
    eval_every: int = 25,
    progress: Callable[[int, int, float], None] | None = None,
    blas_threads: int | None = 1,
) -> tuple[dict[str, Array], dict[str, list]]:
    """Train with AdamW for ``steps`` steps, one batch (tokens, targets) from ``batches`` per step.

    The learning rate rises linearly over ``warmup`` steps, then falls along a cosine to 0 at the
    last step. ``heldout``: (tokens, targets) whose loss is measured every ``eval_every`` steps and
    after the last. Returns ``(params, history)``: history has ``train_loss`` (one float per step,
    before its update), ``heldout_step`` and ``heldout_loss``. ``progress(step, steps, train_loss)``
    is called after every step. BLAS runs on ``blas_threads`` threads (NumPy): these products are
    small, and on a shared machine more threads wait on each other. ``params`` is not changed.
    Deterministic: the same inputs give the same numbers. Raises as ``loss_and_grads`` (for
    ``heldout`` before the first step), and ValueError for a bad ``steps`` or ``batches`` running
    out. Used in notebook 14.
    """
    _whole("steps", steps, least=0)
    xp = namespace(*params.values())
    state = adamw_init(params)
    history: dict[str, list] = {"train_loss": [], "heldout_step": [], "heldout_loss": []}
    batches = iter(batches)

    if heldout is not None:  # checked as forward() checks tokens: mixed arrays are a TypeError
        heldout = _check_batch(namespace(*params.values(), heldout[0]), params, heldout[0], xp.asarray(heldout[1]))

    def evaluate(step: int) -> None:
        if heldout is not None:
            history["heldout_step"].append(step)
            history["heldout_loss"].append(_mean_loss(xp, params, *heldout))

    with model._blas_threads(xp, blas_threads):
        for step in range(steps):
            if step % eval_every == 0:
                evaluate(step)
            try:
                tokens, targets = next(batches)
            except StopIteration:
                raise ValueError(f"batches ran out after {step} of steps={steps} batches") from None
            loss, grads = loss_and_grads(params, tokens, targets)
            history["train_loss"].append(loss)
            scale = min(1.0, (step + 1) / warmup) if warmup else 1.0
            scale *= 0.5 * (1 + math.cos(math.pi * step / steps))  # cosine from 1 down towards 0
            params, state = adamw_step(params, grads, state, lr=lr * scale, weight_decay=weight_decay)
            if progress is not None:
                progress(step + 1, steps, loss)
        evaluate(steps)
    return dict(params), history
