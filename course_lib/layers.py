"""The two pieces of a transformer block besides attention: layer norm and GELU, forward and backward.

* layer norm, over the last axis (d_model), with a gain ``gamma`` and a shift ``beta``::

      mean = Σ_i x_i / d,   var = Σ_i (x_i − mean)² / d,   x̂ = (x − mean) / √(var + eps),   y = γ ⊙ x̂ + β

* GELU, in the tanh form GPT-2 uses::

      gelu(x) = ½ x (1 + tanh(√(2/π) (x + 0.044715 x³)))

Each backward takes the gradient at the output and the forward's input, and returns the
gradient at every input, in the shapes of those inputs. The array module comes from the
inputs (NumPy, CuPy, any array-API library). Taught in notebook 14.
"""

from __future__ import annotations

import math
from typing import Any

from .attention import _as_float
from .backend import namespace

__all__ = ["layer_norm", "layer_norm_backward", "gelu", "gelu_backward"]

Array = Any
GELU_C = math.sqrt(2 / math.pi)  # √(2/π)


def _check_norm_args(x: Array, gamma: Array, beta: Array | None) -> None:
    if x.ndim < 1:
        raise ValueError(f"x must have at least 1 dimension (..., d_model), but x.shape={tuple(x.shape)}")
    d_model = x.shape[-1]
    for arg, p in (("gamma", gamma), ("beta", beta)):
        if p is not None and tuple(p.shape) != (d_model,):
            raise ValueError(
                f"{arg} must have shape (d_model,)=({d_model},), one entry per feature of x, "
                f"but {arg}.shape={tuple(p.shape)} (x.shape={tuple(x.shape)})"
            )


def _normalise(xp: Any, x: Array, eps: float) -> tuple[Array, Array]:
    """x̂ and 1/√(var + eps), both over the last axis."""
    centred = x - xp.mean(x, axis=-1, keepdims=True)  # (..., d_model)
    inv_std = 1 / xp.sqrt(xp.mean(centred * centred, axis=-1, keepdims=True) + eps)  # (..., 1)
    return centred * inv_std, inv_std  # (..., d_model), (..., 1)


def _layer_norm_grads(
    xp: Any, grad_y: Array, x_hat: Array, inv_std: Array, gamma: Array
) -> tuple[Array, Array, Array]:
    """The backward pass from the forward's x̂ and 1/σ (no checks: course_lib.gpt keeps both from its forward)."""
    rows = tuple(range(x_hat.ndim - 1))  # every axis but the last
    grad_gamma = xp.sum(grad_y * x_hat, axis=rows)  # (d_model,)
    grad_beta = xp.sum(grad_y, axis=rows)  # (d_model,)
    g = grad_y * gamma  # (..., d_model): the gradient at x̂
    mean_g = xp.mean(g, axis=-1, keepdims=True)  # (..., 1)
    mean_g_x_hat = xp.mean(g * x_hat, axis=-1, keepdims=True)  # (..., 1)
    grad_x = (g - mean_g - x_hat * mean_g_x_hat) * inv_std  # (..., d_model)
    return grad_x, grad_gamma, grad_beta


def layer_norm(x: Array, gamma: Array, beta: Array, eps: float = 1e-5) -> Array:
    """Layer norm over the last axis: y = γ ⊙ (x − mean) / √(var + eps) + β.

    Shapes: x (..., d_model), gamma (d_model,), beta (d_model,) -> y (..., d_model). Each row of
    x̂ has mean 0 and variance about 1, whatever the scale of x. Raises ValueError for gamma or
    beta not of shape (d_model,); TypeError for non-real or mixed arrays.
    Taught in notebook 14.
    """
    xp = namespace(x, gamma, beta)
    x, gamma, beta = (_as_float(xp, a, arg) for a, arg in ((x, "x"), (gamma, "gamma"), (beta, "beta")))
    _check_norm_args(x, gamma, beta)
    x_hat, _ = _normalise(xp, x, eps)  # (..., d_model)
    return gamma * x_hat + beta  # (..., d_model)


def layer_norm_backward(
    grad_y: Array, x: Array, gamma: Array, eps: float = 1e-5
) -> tuple[Array, Array, Array]:
    """Gradients of layer norm: ``(grad_x, grad_gamma, grad_beta)``, given ∂L/∂y and the forward's x.

    With g = γ ⊙ ∂L/∂y (the gradient at x̂) and σ = √(var + eps):
    ∂L/∂x = (g − mean(g) − x̂ ⊙ mean(g ⊙ x̂)) / σ, row by row: the two means undo what moving
    every entry together, or scaling them all, would do, since x̂ cannot feel either.
    ∂L/∂γ = Σ ∂L/∂y ⊙ x̂ and ∂L/∂β = Σ ∂L/∂y, summed over every row.
    Shapes: grad_y and x (..., d_model), gamma (d_model,) -> (..., d_model), (d_model,), (d_model,).
    Raises ValueError for grad_y not of x's shape or gamma not (d_model,); TypeError as layer_norm.
    Taught in notebook 14.
    """
    xp = namespace(grad_y, x, gamma)
    grad_y, x, gamma = (_as_float(xp, a, arg) for a, arg in ((grad_y, "grad_y"), (x, "x"), (gamma, "gamma")))
    _check_norm_args(x, gamma, None)
    if tuple(grad_y.shape) != tuple(x.shape):
        raise ValueError(
            f"grad_y must have the shape of x (one gradient per output), but grad_y.shape={tuple(grad_y.shape)} "
            f"and x.shape={tuple(x.shape)}"
        )
    x_hat, inv_std = _normalise(xp, x, eps)  # (..., d_model), (..., 1)
    return _layer_norm_grads(xp, grad_y, x_hat, inv_std, gamma)


def gelu(x: Array) -> Array:
    """GELU, tanh form (as GPT-2): ½ x (1 + tanh(√(2/π) (x + 0.044715 x³))), entry by entry.

    Shapes: x (...) -> (...). About x for large x, about 0 for very negative x, smooth between.
    Raises TypeError for non-real arrays. Taught in notebook 14.
    """
    xp = namespace(x)
    x = _as_float(xp, x, "x")
    return 0.5 * x * (1 + _gelu_tanh(xp, x))


def gelu_backward(grad_y: Array, x: Array) -> Array:
    """Gradient of GELU at x: ∂L/∂x = ∂L/∂y ⊙ gelu′(x), with t = tanh(√(2/π) (x + 0.044715 x³)) and
    gelu′(x) = ½ (1 + t) + ½ x (1 − t²) √(2/π) (1 + 3 · 0.044715 x²).

    Shapes: grad_y and x (...) -> (...). Raises ValueError for different shapes, TypeError for
    non-real or mixed arrays. Taught in notebook 14.
    """
    xp = namespace(grad_y, x)
    grad_y, x = _as_float(xp, grad_y, "grad_y"), _as_float(xp, x, "x")
    if tuple(grad_y.shape) != tuple(x.shape):
        raise ValueError(
            f"grad_y must have the shape of x, but grad_y.shape={tuple(grad_y.shape)} and x.shape={tuple(x.shape)}"
        )
    return _gelu_grad(grad_y, x, _gelu_tanh(xp, x))


def _gelu_tanh(xp: Any, x: Array) -> Array:
    """t = tanh(√(2/π) (x + 0.044715 x³)), which GELU and its derivative share."""
    return xp.tanh(GELU_C * (x + 0.044715 * (x * x * x)))


def _gelu_grad(grad_y: Array, x: Array, t: Array) -> Array:
    """∂L/∂x = ∂L/∂y ⊙ gelu′(x), given t = _gelu_tanh(x) (no checks: course_lib.gpt keeps t from its forward)."""
    slope = 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * GELU_C * (1 + 3 * 0.044715 * (x * x))  # gelu′(x)
    return grad_y * slope
