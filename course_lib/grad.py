"""Backward passes of attention, one step per function, and a finite-difference check.

The forward pass is softmax(Q Kᵀ · scale) V (``attention.scaled_dot_product_attention``).
Going backwards, a gradient ``grad_out`` of the loss with respect to the output becomes,
step by step,

* through the weighted sum out = P V:   grad_P = grad_out Vᵀ,   grad_V = Pᵀ grad_out;
* through the softmax P = softmax(S):   grad_S = P ⊙ (grad_P − Σ_j P ⊙ grad_P)  (row by row);
* through the scores S = Q Kᵀ · scale:  grad_Q = grad_S K · scale,   grad_K = grad_Sᵀ Q · scale.

Shapes, broadcasting and masks are those of ``scaled_dot_product_attention``; a gradient
has the shape of its input (summed over the batch dimensions that input was broadcast
along). A query whose keys are all masked had a zero output that no key influenced, so
its gradients are zero, never NaN. NaN in the inputs propagates.
``numerical_gradient`` checks any of them by central differences.
Taught in notebook 12.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy

from .attention import _as_float, _as_mask, _as_qkv, _combined_mask, softmax
from .backend import namespace

__all__ = ["softmax_backward", "attention_backward", "numerical_gradient"]

Array = Any


def _sum_to_shape(xp: Any, grad: Array, shape: tuple[int, ...]) -> Array:
    """Sum ``grad`` over the dimensions along which an input of ``shape`` was broadcast."""
    extra = grad.ndim - len(shape)
    if extra:
        grad = xp.sum(grad, axis=tuple(range(extra)))  # drop the leading dimensions the input lacked
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if stretched:
        grad = xp.sum(grad, axis=stretched, keepdims=True)  # a length-1 dimension that was stretched
    return grad


def softmax_backward(weights: Array, grad_weights: Array, axis: int = -1) -> Array:
    """Gradient with respect to the scores, given the softmax's output and the gradient at it.

    With p = softmax(s) and g = ∂L/∂p, the Jacobian ∂p_i/∂s_j = p_i (δ_ij − p_j) of notebook 04
    gives ∂L/∂s_i = Σ_j g_j p_j (δ_ji − p_i) = p_i (g_i − Σ_j p_j g_j): one product and one sum,
    never the T × T Jacobian.
    Shapes: weights (...), grad_weights (same shape) -> grad_scores (same shape).
    Entries with weight 0 (masked keys) get gradient 0. Raises ValueError for different shapes
    or a bad axis, TypeError for non-real or mixed arrays.
    Taught in notebook 12.
    """
    xp = namespace(weights, grad_weights)
    weights = _as_float(xp, weights, "weights")
    grad_weights = _as_float(xp, grad_weights, "grad_weights")
    if tuple(weights.shape) != tuple(grad_weights.shape):
        raise ValueError(
            f"grad_weights must have the shape of weights (one gradient per weight), but "
            f"weights.shape={tuple(weights.shape)} and grad_weights.shape={tuple(grad_weights.shape)}"
        )
    if not -weights.ndim <= axis < max(weights.ndim, 1):
        raise ValueError(f"axis={axis} is out of range for weights.shape={tuple(weights.shape)}")
    expected = xp.sum(weights * grad_weights, axis=axis, keepdims=True)  # Σ_j p_j g_j, one per slice
    return weights * (grad_weights - expected)  # p_i (g_i − Σ_j p_j g_j)


def attention_backward(
    q: Array,
    k: Array,
    v: Array,
    grad_out: Array,
    mask: Array | None = None,
    *,
    causal: bool = False,
    scale: float | None = None,
) -> tuple[Array, Array, Array]:
    """Gradients of scaled dot-product attention: ``(grad_q, grad_k, grad_v)``.

    Recomputes the forward pass (scores, masked softmax) and goes back through it step by step.
    Shapes: q (..., T_q, d_k), k (..., T_k, d_k), v (..., T_k, d_v), grad_out (..., T_q, d_v)
    (the output's shape) -> grad_q, grad_k, grad_v with the shapes of q, k, v.
    ``mask``, ``causal`` and ``scale`` as in ``scaled_dot_product_attention``. A query with
    every key masked gets zero gradients. Raises ValueError for mismatched d_k or T_k, too few
    dimensions, a mask that does not broadcast or a grad_out that is not the output's shape;
    TypeError for non-real or mixed arrays.
    Taught in notebook 12.
    """
    xp = namespace(q, k, v, grad_out, mask)
    q, k, v, batch = _as_qkv(xp, q, k, v)
    grad_out = _as_float(xp, grad_out, "grad_out")
    t_q, t_k, d_k, d_v = q.shape[-2], k.shape[-2], q.shape[-1], v.shape[-1]
    out_shape = batch + (t_q, d_v)
    if tuple(grad_out.shape) != out_shape:
        raise ValueError(
            f"grad_out must have the output's shape (..., T_q, d_v)={out_shape}, but "
            f"grad_out.shape={tuple(grad_out.shape)} (q.shape={tuple(q.shape)}, k.shape={tuple(k.shape)}, "
            f"v.shape={tuple(v.shape)})"
        )
    if mask is not None:
        mask = _as_mask(xp, mask, batch + (t_q, t_k))
    mask = _combined_mask(xp, mask, causal, t_q, t_k)
    scale = 1 / math.sqrt(d_k) if scale is None else scale

    # forward again: the backward pass needs the weights
    scores = (q @ xp.matrix_transpose(k)) * scale  # (..., T_q, d_k) @ (..., d_k, T_k) -> (..., T_q, T_k)
    weights = softmax(scores, axis=-1, mask=mask)  # (..., T_q, T_k)

    # out = weights @ v
    grad_weights = grad_out @ xp.matrix_transpose(v)  # (..., T_q, d_v) @ (..., d_v, T_k) -> (..., T_q, T_k)
    grad_v = xp.matrix_transpose(weights) @ grad_out  # (..., T_k, T_q) @ (..., T_q, d_v) -> (..., T_k, d_v)
    # weights = softmax(scores)
    grad_scores = softmax_backward(weights, grad_weights)  # (..., T_q, T_k)
    # scores = q @ kᵀ · scale
    grad_q = (grad_scores @ k) * scale  # (..., T_q, T_k) @ (..., T_k, d_k) -> (..., T_q, d_k)
    grad_k = (xp.matrix_transpose(grad_scores) @ q) * scale  # (..., T_k, T_q) @ (..., T_q, d_k) -> (..., T_k, d_k)
    return (
        _sum_to_shape(xp, grad_q, tuple(q.shape)),
        _sum_to_shape(xp, grad_k, tuple(k.shape)),
        _sum_to_shape(xp, grad_v, tuple(v.shape)),
    )


def numerical_gradient(f: Callable[[Array], Any], x: Array, eps: float | None = None) -> Array:
    """Central differences: the gradient of a scalar function ``f`` at ``x``, entry by entry.

    grad[i] ≈ (f(x + h e_i) − f(x − h e_i)) / (2h), whose error shrinks like h². With
    ``eps=None``, h = ∛(machine epsilon of x's dtype) · max(1, |x_i|) (about 6e-6 · max(1, |x_i|)
    for float64, 5e-3 for float32), which balances that error against rounding; an ``eps``
    given is used as h for every entry. ``f`` is called 2 · x.size times on a copy of ``x``;
    ``x`` itself is never changed.
    Shapes: x (...) -> grad (same shape, same kind of array). Integer x is promoted to float64.
    Raises ValueError if f does not return a single number or eps is not positive.
    Taught in notebook 12.
    """
    xp = namespace(x)
    x = _as_float(xp, x, "x")
    if eps is not None and (isinstance(eps, bool) or not isinstance(eps, (int, float, numpy.number)) or not eps > 0):
        raise ValueError(f"eps must be a positive step size, but eps={eps!r}")
    cube_root_eps = float(numpy.finfo(str(x.dtype).split(".")[-1]).eps) ** (1 / 3)
    point = xp.asarray(x, copy=True)  # moved one entry at a time; the caller's x stays as it is
    grad = xp.zeros_like(x)

    def value(at: Array) -> float:
        y = f(at)
        size = getattr(y, "size", 1)
        if size != 1 or getattr(y, "ndim", 0) > 1:
            raise ValueError(f"f must return a single number (a loss), but it returned shape {tuple(getattr(y, 'shape', ()))}")
        return float(xp.reshape(xp.asarray(y), ()) if hasattr(y, "shape") else y)

    for index in numpy.ndindex(*x.shape):
        original = float(x[index])
        h = float(eps) if eps is not None else cube_root_eps * max(1.0, abs(original))
        point[index] = original + h
        up = value(point)
        point[index] = original - h
        down = value(point)
        point[index] = original
        grad[index] = (up - down) / (2 * h)
    return grad
