"""The checks of Part II (notebooks 09-11): each verdict fires — right, placeholder, every refused
shortcut, every named mistake — and no wrong answer is told the solution."""

from __future__ import annotations

import numpy as np
import pytest

from course_lib import (causal_mask, exercises, merge_heads, multi_head_attention, padding_mask,
                        scaled_dot_product_attention, softmax, split_heads)
from conftest import assert_wrong, placeholder, run, verdict

pytestmark = pytest.mark.usefixtures("numpy_backend")


# ---------------------------------------------------------------- 09: causal self-attention


def causal(x, w_q, w_k, w_v, mask=None, scale=None, after=False):
    q, k, v = x @ w_q, x @ w_k, x @ w_v
    scores = q @ k.T * (scale if scale is not None else 1 / np.sqrt(k.shape[-1]))
    mask = causal_mask(x.shape[0]) if mask is None else mask
    weights = softmax(scores) * mask if after else softmax(scores, mask=mask)
    return weights @ v, weights


def test_causal_self_attention(capsys):
    assert run(capsys, exercises.check_causal_self_attention, causal).startswith("✅ Correct")
    own_mask = lambda x, *w: causal(x, *w, mask=np.tril(np.ones((x.shape[0],) * 2, dtype=bool)))  # noqa: E731
    assert run(capsys, exercises.check_causal_self_attention, own_mask).startswith("✅ Correct")
    with_library = lambda x, w_q, w_k, w_v: scaled_dot_product_attention(  # noqa: E731
        x @ w_q, x @ w_k, x @ w_v, mask=causal_mask(x.shape[0]))
    assert run(capsys, exercises.check_causal_self_attention, with_library).startswith("✅ Correct")
    assert run(capsys, exercises.check_causal_self_attention, placeholder).startswith("⏳ Not attempted yet")


def test_causal_self_attention_refuses_causal_true(capsys):
    def shortcut(x, w_q, w_k, w_v):
        return scaled_dot_product_attention(x @ w_q, x @ w_k, x @ w_v, causal=True)

    assert_wrong(run(capsys, exercises.check_causal_self_attention, shortcut),
                 "course_lib's `scaled_dot_product_attention` with causal=True", "the causal mask built and applied by you")


@pytest.mark.parametrize("mistake, says", [
    (lambda x, *w: causal(x, *w, mask=np.ones((x.shape[0],) * 2, dtype=bool)), "attention without a mask"),
    (lambda x, *w: causal(x, *w, mask=causal_mask(x.shape[0]).T), "the mask flipped"),
    (lambda x, *w: causal(x, *w, after=True), "the mask applied to the weights after the softmax"),
    (lambda x, *w: causal(x, *w, scale=1.0), "without the 1/√d_k scaling"),
    (lambda x, w_q, w_k, w_v: causal(x, w_q, w_q, w_v), "not all taken from x with their own matrix"),
])
def test_causal_self_attention_names_mistakes(capsys, mistake, says):
    assert_wrong(run(capsys, exercises.check_causal_self_attention, mistake), "this looks like ", says)


# ---------------------------------------------------------------- 09: padding mask


def my_padding_mask(lengths, t):
    return (np.arange(t)[None, :] < lengths[:, None])[:, None, :]


def test_padding_mask(capsys):
    assert run(capsys, exercises.check_padding_mask, my_padding_mask).startswith("✅ Correct")
    assert run(capsys, exercises.check_padding_mask, placeholder).startswith("⏳ Not attempted yet")
    assert_wrong(run(capsys, exercises.check_padding_mask, lambda lengths, t: padding_mask(lengths, t)),
                 "course_lib's `padding_mask`")


@pytest.mark.parametrize("mistake, says", [
    (lambda lengths, t: my_padding_mask(lengths, t)[:, 0, :], "the right True/False values, but shape (2, 9)"),
    (lambda lengths, t: my_padding_mask(lengths, t).astype(float), "the right 0/1 values, but dtype float64"),
    (lambda lengths, t: ~my_padding_mask(lengths, t), "True marks the padding here"),
    (lambda lengths, t: (np.arange(t)[None, :] <= lengths[:, None])[:, None, :], "one position too many"),
    (lambda lengths, t: np.ones((len(lengths), 1, t), dtype=bool), "first differing row is [1, 0]"),
    (lambda lengths, t: [[True]], "expected shape (2, 1, 9), got shape (1, 1)"),
    (lambda lengths, t: None, "expected a boolean array of shape (2, 1, 9), got None"),
    (lambda lengths, t: lengths[10], "it raised IndexError"),
])
def test_padding_mask_wrong(capsys, mistake, says):
    assert_wrong(run(capsys, exercises.check_padding_mask, mistake), says)


# ---------------------------------------------------------------- 10


def cross(y, x, w_q, w_k, w_v):
    return scaled_dot_product_attention(y @ w_q, x @ w_k, x @ w_v)


def test_cross_attention(capsys):
    assert run(capsys, exercises.check_cross_attention, cross).startswith("✅ Correct")
    assert run(capsys, exercises.check_cross_attention, placeholder).startswith("⏳ Not attempted yet")


@pytest.mark.parametrize("mistake, says", [
    (lambda y, x, w_q, w_k, w_v: cross(x, y, w_q, w_k, w_v), "the roles swapped"),
    (lambda y, x, w_q, w_k, w_v: cross(y, y, w_q, w_k, w_v), "self-attention on the decoder y"),
    (lambda y, x, w_q, w_k, w_v: cross(x, x, w_q, w_k, w_v), "self-attention on the encoder x"),
    (lambda y, x, w_q, w_k, w_v: scaled_dot_product_attention(y @ w_q, x @ w_k, y @ w_v), "values taken from the decoder"),
])
def test_cross_attention_names_mistakes(capsys, mistake, says):
    assert_wrong(run(capsys, exercises.check_cross_attention, mistake), "this looks like ", says)


@pytest.mark.parametrize("answer", [20.0 * np.eye(6)[::-1], (20 * np.eye(6, dtype=int)[::-1]).tolist(),
                                    50.0 * np.eye(6)[::-1] + 1.0])
def test_reversal_w_q_right_in_every_form(capsys, answer):
    assert run(capsys, exercises.check_reversal_w_q, answer).startswith("✅ Correct: w_q_reverse")


@pytest.mark.parametrize("answer, says", [
    (np.eye(6)[::-1], "right pattern, not sharp enough"),
    (20.0 * np.eye(6), "every step t looks at position t (the diagonal)"),
    (20.0 * np.roll(np.eye(6)[::-1], 1, axis=0), "step 0 looks most at position 0, not at 5"),
    (np.ones((6, 5)), "expected a (6, 6) matrix of numbers, got shape (6, 5)"),
    ("w", "expected a (6, 6) matrix of numbers, got a str"),
    (None, "got None"),
    ([[1.0] * 6] * 5 + [[1.0]], "rows have different lengths"),
])
def test_reversal_w_q_wrong(capsys, answer, says):
    out = run(capsys, exercises.check_reversal_w_q, answer)
    assert_wrong(out, says)
    assert "20" not in out  # no hint hands over the number that makes it sharp


def test_reversal_w_q_placeholder(capsys):
    assert run(capsys, exercises.check_reversal_w_q, ...).startswith("⏳ Not attempted yet")


# ---------------------------------------------------------------- 11


def my_split_heads(x, n_heads):
    t, d_model = x.shape
    return np.transpose(np.reshape(x, (t, n_heads, d_model // n_heads)), (1, 0, 2))


def test_split_heads(capsys):
    assert run(capsys, exercises.check_split_heads, my_split_heads).startswith("✅ Correct")
    assert run(capsys, exercises.check_split_heads, placeholder).startswith("⏳ Not attempted yet")
    assert_wrong(run(capsys, exercises.check_split_heads, split_heads), "course_lib's `split_heads` itself")


@pytest.mark.parametrize("mistake, says", [
    (lambda x, n: np.reshape(x, (n, x.shape[0], x.shape[1] // n)), "a plain reshape to (n_heads, T, d_head)"),
    (lambda x, n: np.transpose(np.reshape(x, (x.shape[0], x.shape[1] // n, n)), (2, 0, 1)), "dealt out like cards"),
    (lambda x, n: np.reshape(x, (x.shape[0], n, x.shape[1] // n)), "without moving the head axis"),
])
def test_split_heads_names_mistakes(capsys, mistake, says):
    assert_wrong(run(capsys, exercises.check_split_heads, mistake), "this looks like ", says)


def mha(x, w_q, w_k, w_v, w_o, n_heads, scale=None, merge=merge_heads, project=True):
    q, k, v = (split_heads(x @ w, n_heads) for w in (w_q, w_k, w_v))
    out, weights = scaled_dot_product_attention(q, k, v, scale=scale)
    merged = merge(out) if merge is merge_heads else np.reshape(out, x.shape)
    return (merged @ w_o if project else merged), weights


def test_multi_head_attention(capsys):
    assert run(capsys, exercises.check_multi_head_attention, mha).startswith("✅ Correct")
    assert run(capsys, exercises.check_multi_head_attention, placeholder).startswith("⏳ Not attempted yet")
    shortcut = lambda x, w_q, w_k, w_v, w_o, n: multi_head_attention(x, x, w_q, w_k, w_v, w_o, n)  # noqa: E731
    assert_wrong(run(capsys, exercises.check_multi_head_attention, shortcut), "course_lib's `multi_head_attention`")


@pytest.mark.parametrize("mistake, says", [
    (lambda x, *w: mha(x, *w, scale=1 / np.sqrt(x.shape[-1])), "scaling by 1/√d_model"),
    (lambda x, *w: mha(x, *w, merge=None), "heads merged by a plain reshape"),
    (lambda x, *w: mha(x, *w, project=False), "without the output projection W_o"),
    (lambda x, *w: mha(x, *w)[::-1], "the right arrays in the wrong order: return (out, weights)"),
])
def test_multi_head_attention_names_mistakes(capsys, mistake, says):
    assert_wrong(run(capsys, exercises.check_multi_head_attention, mistake), "this looks like ", says)


@pytest.mark.parametrize("mistake, says", [
    (lambda x, *w: causal(x, *w, mask=causal_mask(x.shape[0]).astype(float)), "a 0/1 floating mask"),
])
def test_causal_self_attention_names_a_floating_mask(capsys, mistake, says):
    assert_wrong(run(capsys, exercises.check_causal_self_attention, mistake), "this looks like ", says)


def test_causal_self_attention_names_multiplying_the_scores(capsys):
    def multiplied(x, w_q, w_k, w_v):
        q, k, v = x @ w_q, x @ w_k, x @ w_v
        weights = softmax(q @ k.T / np.sqrt(k.shape[-1]) * causal_mask(x.shape[0]))
        return weights @ v, weights

    assert_wrong(run(capsys, exercises.check_causal_self_attention, multiplied), "the future scores multiplied by 0")


def test_causal_self_attention_accepts_a_list(capsys):
    assert run(capsys, exercises.check_causal_self_attention, lambda *a: list(causal(*a))).startswith("✅ Correct")


def test_cross_attention_names_a_missing_scale(capsys):
    def unscaled(y, x, w_q, w_k, w_v):
        return scaled_dot_product_attention(y @ w_q, x @ w_k, x @ w_v, scale=1.0)

    assert_wrong(run(capsys, exercises.check_cross_attention, unscaled), "without the 1/√d_k scaling")


@pytest.mark.parametrize("answer, says", [
    (np.where(np.eye(6)[::-1] == 1, np.inf, 0.0), "its weights come out as nan"),
    (np.full((6, 6), np.nan), "its weights come out as nan"),
    (np.zeros((6, 6)), "step 0 splits its largest weight equally between positions [0, 1, 2, 3, 4, 5]"),
    (-20.0 * np.eye(6)[::-1], "step 0 splits its largest weight equally between positions [0, 1, 2, 3, 4]"),
])
def test_reversal_w_q_names_nan_and_ties(capsys, answer, says):
    assert_wrong(run(capsys, exercises.check_reversal_w_q, answer), says)
