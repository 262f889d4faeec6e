"""Checks for the capstone, notebook 14: a tiny GPT by hand (layer-norm backward, the causal block, the induction
head and the previous-token head read from the table of head scores)."""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy

from .. import backend, layers
from ..attention import scaled_dot_product_attention
from ..backend import namespace
from .verdict import (
    CORRECT, WRONG, Forbidden, Mistake, _kind, as_numpy, check_function, never_raises, read_answer, report,
)

__all__ = ["check_layer_norm_backward", "check_causal_block", "check_induction_head", "check_induction_circuit"]


def _random(seed: int, *shapes: tuple[int, ...]) -> list[Any]:
    rng = numpy.random.default_rng(seed)
    return [backend.asarray(rng.normal(size=shape)) for shape in shapes]


# ---------------------------------------------------------------- layer norm, backward


def _layer_norm_cases() -> list[tuple]:
    """(grad_y, x, gamma): a batch of rows with a gain far from 1 (where a missing γ shows), one row, and
    a 3-D batch; every row of x has its own mean and scale."""
    cases = []
    for seed, shape in ((14, (3, 5)), (15, (1, 4)), (16, (2, 3, 6))):
        grad_y, x, gamma = _random(seed, shape, shape, shape[-1:])
        cases.append((grad_y, 3.0 * x + 1.0, 1.5 + gamma))
    return cases


def check_layer_norm_backward(func: Callable[..., Any]) -> None:
    """14: func(grad_y, x, gamma) -> (grad_x, grad_gamma, grad_beta) for y = γ ⊙ x̂ + β, eps = 1e-5.
    Refused: course_lib's layer_norm_backward and finite differences."""
    xp = namespace()
    name = "my_layer_norm_backward()"
    if func is layers.layer_norm_backward:
        report(WRONG, name, "it uses course_lib's `layer_norm_backward` itself; this exercise asks for the three "
                            "gradients written out from the formula")
        return

    def parts(grad_y: Any, x: Any, gamma: Any, eps: float = 1e-5) -> tuple[Any, Any, Any, Any]:
        centred = x - xp.mean(x, axis=-1, keepdims=True)
        inv_std = 1 / xp.sqrt(xp.mean(centred**2, axis=-1, keepdims=True) + eps)
        return centred * inv_std, inv_std, grad_y * gamma, tuple(range(x.ndim - 1))

    def variant(grad_y: Any, x: Any, gamma: Any, *, mean_g: bool = True, projection: bool = True,
                use_gamma: bool = True, divide: bool = True, gamma_axis: bool = False,
                eps: float = 1e-5) -> tuple[Any, Any, Any]:
        x_hat, inv_std, g, rows = parts(grad_y, x, gamma, eps)
        g = g if use_gamma else grad_y
        grad_x = g - (xp.mean(g, axis=-1, keepdims=True) if mean_g else 0.0)
        grad_x = grad_x - (x_hat * xp.mean(g * x_hat, axis=-1, keepdims=True) if projection else 0.0)
        grad_gamma = xp.sum(grad_y * x_hat, axis=-1) if gamma_axis else xp.sum(grad_y * x_hat, axis=rows)
        return grad_x * (inv_std if divide else 1.0), grad_gamma, xp.sum(grad_y, axis=rows)

    def gamma_without_x_hat(grad_y: Any, x: Any, gamma: Any) -> tuple[Any, Any, Any]:
        grad_x, _, grad_beta = layers.layer_norm_backward(grad_y, x, gamma)
        return grad_x, grad_beta, grad_beta

    def means_for_sums(grad_y: Any, x: Any, gamma: Any) -> tuple[Any, Any, Any]:
        x_hat, _, _, rows = parts(grad_y, x, gamma)
        grad_x, _, _ = layers.layer_norm_backward(grad_y, x, gamma)
        return grad_x, xp.mean(grad_y * x_hat, axis=rows), xp.mean(grad_y, axis=rows)

    check_function(
        func, layers.layer_norm_backward, _layer_norm_cases(), name=name,
        returns=("grad_x", "grad_gamma", "grad_beta"),
        forbid=Forbidden("for the three gradients written out from the formula, not taken from course_lib or "
                         "measured by finite differences",
                         library=["numerical_gradient"], names=["layer_norm_backward"]),
        mistakes=[
            Mistake("grad_x as if x̂ = (x − mean)/σ had a fixed mean and σ: g/σ alone; moving x_i also moves the "
                    "mean and σ of its row, which takes the two means off g",
                    lambda *a: variant(*a, mean_g=False, projection=False)),
            Mistake("grad_x without the term x̂ ⊙ mean(g ⊙ x̂): σ depends on x too (scaling a row changes no x̂)",
                    lambda *a: variant(*a, projection=False)),
            Mistake("grad_x without subtracting mean(g): the mean depends on x too (moving a whole row changes no x̂)",
                    lambda *a: variant(*a, mean_g=False)),
            Mistake("grad_x without the gain: the gradient at x̂ is γ ⊙ ∂L/∂y, since y = γ ⊙ x̂ + β",
                    lambda *a: variant(*a, use_gamma=False)),
            Mistake("grad_x not divided by σ = √(var + eps): x̂ = (x − mean)/σ", lambda *a: variant(*a, divide=False)),
            Mistake("σ without its eps: the forward pass divides by √(var + 1e-5), and the gradient uses the same σ",
                    lambda *a: variant(*a, eps=0.0)),
            Mistake("grad_gamma summed along each row (the last axis): γ has one entry per feature, so its gradient "
                    "sums over the rows (every axis but the last)", lambda *a: variant(*a, gamma_axis=True)),
            Mistake("grad_gamma without x̂: y = γ ⊙ x̂ + β, so ∂y/∂γ is x̂, not 1", gamma_without_x_hat),
            Mistake("means where grad_gamma and grad_beta need sums: every row adds its own share", means_for_sums),
        ],
        hint={"grad_x": "each x_i reaches the loss three ways: through its own x̂_i, and through the mean and the σ "
                        "of its row, which every x̂_j of the row uses; follow each back, as the derivation above does",
              "grad_gamma": "γ multiplies x̂ feature by feature, and every row (every position of every leading axis) "
                            "adds its share",
              "grad_beta": "β is added to every row, so every row adds its share of ∂L/∂y",
              "": "return the three gradients, shaped as x, gamma and gamma: (..., d_model), (d_model,), (d_model,)"},
    )


# ---------------------------------------------------------------- the causal block


def _block_cases() -> list[tuple]:
    """(x, gamma, beta, w_q, w_k, w_v, w_o): one sequence with one head, then batches with two and four heads."""
    cases = []
    for seed, (b, t, d, h) in ((17, (1, 4, 4, 1)), (18, (2, 5, 6, 2)), (19, (3, 4, 8, 4))):
        x, gamma, beta, w_q, w_k, w_v, w_o = _random(seed, (b, t, d), (d,), (d,), (h, d, d // h), (h, d, d // h),
                                                     (h, d, d // h), (h, d // h, d))
        cases.append((2.0 * x + 0.5, 1.0 + 0.3 * gamma, 0.3 * beta, w_q, w_k, w_v, w_o))
    return cases


def _block(x: Any, gamma: Any, beta: Any, w_q: Any, w_k: Any, w_v: Any, w_o: Any, *, pre_norm: bool = True,
           norm: bool = True, residual: bool = True, causal: bool = True, scale: float | None = None,
           heads: str = "sum", head_axis: bool = True, mask: str = "causal") -> Any:
    """The block and its typical wrong versions (course_lib.gpt's forward, written out). ``head_axis=False``: h
    multiplied by the heads' matrices as it is, (B, T, d) @ (H, d, d_k), which pairs sequence b with head b where
    B = H; ``heads``: "sum", "mean", "batch" (summed over axis 0, the sequences) or "none"; ``mask``: "causal",
    "strict" (a token does not see itself) or "transposed" (it sees the future)."""
    xp = namespace(x)
    h = layers.layer_norm(x, gamma, beta) if (norm and pre_norm) else x
    q, k, v = ((h[:, None, :, :] if head_axis else h) @ w for w in (w_q, w_k, w_v))  # (B, H, T, d_k)
    t = x.shape[-2]
    masks = {"strict": xp.arange(t)[None, :] < xp.arange(t)[:, None],
             "transposed": xp.arange(t)[None, :] >= xp.arange(t)[:, None]}
    out, _ = scaled_dot_product_attention(q, k, v, causal=causal and mask == "causal", scale=scale,
                                          mask=masks.get(mask) if causal else None)  # (B, H, T, d_k)
    y = out @ w_o  # (B, H, T, d_model)
    y = {"sum": lambda: xp.sum(y, axis=1), "mean": lambda: xp.mean(y, axis=1), "batch": lambda: xp.sum(y, axis=0),
         "none": lambda: y}[heads]()
    y = x + y if residual else y
    return layers.layer_norm(y, gamma, beta) if (norm and not pre_norm) else y


def check_causal_block(func: Callable[..., Any]) -> None:
    """14: func(x, gamma, beta, w_q, w_k, w_v, w_o) -> x + Σ_heads causal_attention(layer_norm(x)) W_o[h].
    The library's layer_norm and scaled_dot_product_attention may be used: the exercise is how they fit."""
    check_function(
        func, _block, _block_cases(), name="my_causal_block()",
        mistakes=[
            Mistake("no residual: the block returns only what attention writes; a block adds it to x, "
                    "x + attention(layer_norm(x))", lambda *a: _block(*a, residual=False)),
            Mistake("post-norm: layer_norm applied after the residual sum (the 2017 transformer); GPT-2 normalises "
                    "the block's input, x + attention(layer_norm(x))", lambda *a: _block(*a, pre_norm=False)),
            Mistake("the residual added to layer_norm(x): the stream that carries on is x itself; layer norm only "
                    "feeds attention", lambda x, gamma, beta, *w: layers.layer_norm(x, gamma, beta)
                    + _block(x, gamma, beta, *w, residual=False)),
            Mistake("no layer norm: attention reads layer_norm(x), not x", lambda *a: _block(*a, norm=False)),
            Mistake("not causal: position i may see only positions 0..i (causal=True)",
                    lambda *a: _block(*a, causal=False)),
            Mistake("no 1/√d_k: with d_k = d_model / n_heads", lambda *a: _block(*a, scale=1.0)),
            Mistake("1/√d_model for 1/√d_k: each head's queries and keys have d_k = d_model / n_heads features",
                    lambda x, *a: _block(x, *a, scale=1 / math.sqrt(x.shape[-1]))),
            Mistake("the heads averaged: each head writes its own out_h W_o[h] into x, and they add up",
                    lambda *a: _block(*a, heads="mean")),
            Mistake(no_heads := "no axis for the heads: layer_norm(x) of shape (B, T, d_model) times w_q of shape "
                                "(n_heads, d_model, d_k) pairs sequence b with head b alone (test input 2 has as many "
                                "sequences as heads); every head reads every sequence",
                    lambda *a: _block(*a, head_axis=False, heads="none")),
            Mistake(no_heads, lambda *a: _block(*a, head_axis=False, heads="batch")),
            Mistake(no_heads, lambda *a: _block(*a, head_axis=False)),  # then the sum over axis 1 adds up positions
            Mistake("the heads' outputs summed over axis 0, the sequences of the batch; the heads are axis 1 of "
                    "(B, n_heads, T, d_model)", lambda *a: _block(*a, heads="batch")),
            Mistake("the diagonal hidden too: position i may see positions 0..i, itself included",
                    lambda *a: _block(*a, mask="strict")),
            Mistake("the mask transposed: position i sees positions i.. (the future) instead of 0..i",
                    lambda *a: _block(*a, mask="transposed")),
        ],
        hint="hold your block against the formula above the exercise, piece by piece: what the heads read, whether "
             "they see the future, which scale, how the heads' outputs come together, and what the block adds them to",
    )


# ---------------------------------------------------------------- which head is the induction head


def _read_head(got: Any) -> tuple[int, int] | None:
    """(layer, head) from a tuple, list or array of two whole numbers; None if it is not that."""
    if isinstance(got, (str, bytes)):
        return None
    values, _ = as_numpy(got)
    if values is None or values.shape != (2,) or not numpy.issubdtype(values.dtype, numpy.number):
        return None
    if numpy.iscomplexobj(values) or not numpy.all(numpy.isfinite(values)) or not numpy.all(values == numpy.round(values)):
        return None
    return int(values[0]), int(values[1])


@never_raises
def check_induction_head(got: Any, scores: Any) -> None:
    """14: the (layer, head) of the induction head, read from ``scores`` (induction.head_scores of the trained
    model). A wrong pick is told its own numbers, never which head is right: the exercise is reading the table."""
    name = "induction_head"
    hint = ("an induction head puts its weight on the token AFTER the earlier occurrence of the current token: "
            "read the 'induction' row of the table")
    pick = read_answer(got, _read_head, name=name, form="(layer, head): two whole numbers, such as (0, 1)", hint=hint)
    if pick is None:
        return
    table = _head_table(scores)
    if table is None:
        return
    previous, induction = table
    n_layers, n_heads = induction.shape
    layer, head = pick
    if not (0 <= layer < n_layers and 0 <= head < n_heads):
        report(WRONG, name, f"{pick} is not a head of this model: layers 0..{n_layers - 1}, heads 0..{n_heads - 1}",
               hint)
        return
    best = numpy.unravel_index(numpy.argmax(induction), induction.shape)
    if pick == (int(best[0]), int(best[1])):
        report(CORRECT, name, f"layer {layer}, head {head}: {induction[layer, head]:.0%} of its weight on the "
                              "token after the earlier occurrence")
    elif previous[layer, head] >= 0.5:
        report(WRONG, name, f"layer {layer}, head {head} puts {previous[layer, head]:.0%} of its weight on the "
                            "previous token: that is the previous-token head, the induction head's helper", hint)
    else:
        report(WRONG, name, f"layer {layer}, head {head} puts only {induction[layer, head]:.0%} of its weight on "
                            "the induction target; another head puts more", hint)


def _head_table(scores: Any) -> tuple[numpy.ndarray, numpy.ndarray] | None:
    """The 'previous' and 'induction' tables (n_layers, n_heads) of ``scores``; None once a verdict says that the
    table cannot be read: not the answer's fault, so the verdict names ``scores`` and how to get it back."""
    try:
        previous, induction = (numpy.asarray(backend.to_numpy(scores[key]), dtype=float)
                               for key in ("previous", "induction"))
        if induction.ndim != 2 or previous.shape != induction.shape:
            raise ValueError(f"tables of shapes {previous.shape} and {induction.shape}")
    except Exception:  # noqa: BLE001 - the table the check reads was replaced
        report(WRONG, "scores", f"the check could not read `scores` ({_kind(scores)}): it reads the table that "
                                "induction.head_scores returned above; run that cell again (a later cell may have "
                                "given the name `scores` to something else)")
        return None
    return previous, induction


def _pattern_heads(table: numpy.ndarray) -> set[tuple[int, int]]:
    """The heads with at least half their weight on a pattern; the one with the most where none has half."""
    heads = {(int(l), int(h)) for l, h in zip(*numpy.nonzero(table >= 0.5))}
    return heads or {tuple(int(i) for i in numpy.unravel_index(numpy.argmax(table), table.shape))}


@never_raises
def check_induction_circuit(previous_token_head: Any, induction_head: Any, scores: Any) -> None:
    """14: the (layer, head) of a previous-token head and of an induction head, read from ``scores``
    (induction.head_scores of the trained model): a head with at least half its weight on the previous token,
    and one with at least half on the token after the earlier occurrence (where no head has half, the one with
    the most). Any head that fits is right, so two induction heads are both accepted. A wrong pick is told its
    own numbers (to one decimal), never which head is right; the two swapped are named. A right answer is told
    no digits, which a machine's last bit could move."""
    hint = ("a previous-token head puts its weight on the position just before the query (the 'previous token' "
            "column); an induction head on the token AFTER the earlier occurrence of the current token (the "
            "'induction target' column)")
    form = "(layer, head): two whole numbers, such as (0, 1)"
    picks = {}
    for name, got in (("previous_token_head", previous_token_head), ("induction_head", induction_head)):
        picks[name] = read_answer(got, _read_head, name=name, form=form, hint=hint)
        if picks[name] is None:
            return
    table = _head_table(scores)
    if table is None:
        return
    previous, induction = table
    n_layers, n_heads = induction.shape
    for name, (layer, head) in picks.items():
        if not (0 <= layer < n_layers and 0 <= head < n_heads):
            report(WRONG, name, f"{(layer, head)} is not a head of this model: layers 0..{n_layers - 1}, heads "
                                f"0..{n_heads - 1}", hint)
            return
    right = {"previous_token_head": _pattern_heads(previous), "induction_head": _pattern_heads(induction)}
    (p_layer, p_head), (i_layer, i_head) = picks["previous_token_head"], picks["induction_head"]
    if picks["previous_token_head"] in right["previous_token_head"] and picks["induction_head"] in right["induction_head"]:
        share = {True: "at least half its weight", False: "more weight than any other head"}
        report(CORRECT, "previous_token_head, induction_head",
               f"layer {p_layer}, head {p_head} puts {share[bool(previous[p_layer, p_head] >= 0.5)]} on the previous "
               f"token; layer {i_layer}, head {i_head} puts {share[bool(induction[i_layer, i_head] >= 0.5)]} on the "
               "token after the earlier occurrence")
        return
    if picks["previous_token_head"] in right["induction_head"] and picks["induction_head"] in right["previous_token_head"]:
        report(WRONG, "previous_token_head, induction_head",
               "the two are swapped: the head you called the previous-token head puts its weight on the induction "
               "target, and the other way round", hint)
        return
    wrong = []
    if picks["previous_token_head"] not in right["previous_token_head"]:
        also = (": that is an induction head" if picks["previous_token_head"] in right["induction_head"]
                else "; another head puts more")
        wrong.append(("previous_token_head", f"layer {p_layer}, head {p_head} puts only "
                                             f"{previous[p_layer, p_head]:.2f} of its weight on the previous token{also}"))
    if picks["induction_head"] not in right["induction_head"]:
        also = (": that is a previous-token head, the induction head's helper"
                if picks["induction_head"] in right["previous_token_head"] else "; another head puts more")
        wrong.append(("induction_head", f"layer {i_layer}, head {i_head} puts only "
                                        f"{induction[i_layer, i_head]:.2f} of its weight on the induction target{also}"))
    report(WRONG, ", ".join(name for name, _ in wrong), "; ".join(detail for _, detail in wrong), hint)
