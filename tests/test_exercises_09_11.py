"""Tests of the named exercise checks of notebooks 09-11: a right answer, a typical wrong one, the placeholder."""

from __future__ import annotations

import numpy
import pytest

from course_lib import causal_mask, exercises, padding_mask, scaled_dot_product_attention, softmax
from conftest import placeholder, verdict


# ---------------------------------------------------------------- notebook 09


def causal_self_attention(x, w_q, w_k, w_v):
    q, k, v = x @ w_q, x @ w_k, x @ w_v
    weights = softmax(q @ k.T / numpy.sqrt(k.shape[-1]), mask=causal_mask(x.shape[0]))
    return weights @ v, weights


def self_attention_without_mask(x, w_q, w_k, w_v):
    return scaled_dot_product_attention(x @ w_q, x @ w_k, x @ w_v)


def test_causal_self_attention_right_answer(capsys):
    exercises.check_causal_self_attention(causal_self_attention)
    assert verdict(capsys).startswith("✅ Correct: causal_self_attention()")


def test_causal_self_attention_forgotten_mask_shows_the_first_row(capsys):
    exercises.check_causal_self_attention(self_attention_without_mask)
    out = verdict(capsys)
    assert out.startswith("❌ Not yet: causal_self_attention() — `out` differs on test input 1 (argument shapes (9, 8)")
    assert "first differing row is 0" in out and "causal_mask(T)" in out


def test_causal_self_attention_flipped_mask_shows_weight_on_later_keys(capsys):
    def flipped(x, w_q, w_k, w_v):  # the transpose of the causal mask: query i sees keys i..T-1
        q, k, v = x @ w_q, x @ w_k, x @ w_v
        weights = softmax(q @ k.T / numpy.sqrt(k.shape[-1]), mask=causal_mask(x.shape[0]).T)
        return weights @ v, weights

    exercises.check_causal_self_attention(flipped)
    out = verdict(capsys)
    assert "`weights` differs on test input 1" in out
    assert "expected [1. 0. 0. 0. 0. 0. 0. 0. 0.]" in out and "got      [0.1111 0.1111" in out
    assert "flipped" in out


def test_causal_self_attention_masking_after_the_softmax_points_at_the_scores(capsys):
    def zeroed_afterwards(x, w_q, w_k, w_v):  # softmax over all keys, then the future set to 0: rows no longer sum to 1
        q, k, v = x @ w_q, x @ w_k, x @ w_v
        weights = softmax(q @ k.T / numpy.sqrt(k.shape[-1])) * causal_mask(x.shape[0])
        return weights @ v, weights

    exercises.check_causal_self_attention(zeroed_afterwards)
    out = verdict(capsys)
    assert out.startswith("❌ Not yet: causal_self_attention()")
    assert "mask the SCORES before the softmax" in out


def test_causal_self_attention_returning_only_the_output(capsys):
    exercises.check_causal_self_attention(lambda *args: causal_self_attention(*args)[0])
    assert "expected it to return 2 values (out, weights)" in verdict(capsys)


def test_causal_self_attention_placeholder(capsys):
    exercises.check_causal_self_attention(placeholder)
    assert verdict(capsys).startswith("⏳ Not attempted yet: causal_self_attention()")


def my_padding_mask(lengths, t):
    return (numpy.arange(t)[None, :] < lengths[:, None])[:, None, :]


def test_padding_mask_right_answer(capsys):
    exercises.check_padding_mask(my_padding_mask)
    assert verdict(capsys).startswith("✅ Correct: my_padding_mask()")


def test_padding_mask_without_the_query_axis_names_the_shapes(capsys):
    exercises.check_padding_mask(lambda lengths, t: numpy.arange(t)[None, :] < lengths[:, None])
    out = verdict(capsys)
    assert "❌ Not yet: my_padding_mask()" in out and "expected shape (2, 1, 9), got shape (2, 9)" in out


def test_padding_mask_that_raises_names_the_input(capsys):
    exercises.check_padding_mask(lambda lengths, t: numpy.arange(t) < lengths)  # (t,) against (B,): no broadcast
    out = verdict(capsys)
    assert out.startswith("❌ Not yet: my_padding_mask() — on test input 1 (lengths = [9, 5], t = 9) it raised ValueError")


def test_padding_mask_off_by_one(capsys):
    exercises.check_padding_mask(lambda lengths, t: (numpy.arange(t)[None, :] <= lengths[:, None])[:, None, :])
    out = verdict(capsys)
    assert "❌ Not yet: my_padding_mask()" in out and "first differing row is [1, 0]" in out
    assert "Hint:" in out


def test_padding_mask_as_floats_is_rejected(capsys):
    exercises.check_padding_mask(lambda lengths, t: my_padding_mask(lengths, t).astype(float))
    out = verdict(capsys)
    assert "❌ Not yet: my_padding_mask() — on test input 1 (lengths = [9, 5], t = 9)" in out
    assert "expected a boolean array (True/False), got dtype float64" in out


def test_padding_mask_differences_are_shown_as_booleans(capsys):
    exercises.check_padding_mask(lambda lengths, t: (numpy.arange(t)[None, :] <= lengths[:, None])[:, None, :])
    out = verdict(capsys)
    assert "expected [ True  True  True  True  True False False False False]" in out
    assert "got      [ True  True  True  True  True  True False False False]" in out


def test_padding_mask_placeholder(capsys):
    exercises.check_padding_mask(placeholder)
    assert verdict(capsys).startswith("⏳ Not attempted yet: my_padding_mask()")


# ---------------------------------------------------------------- notebook 10


def cross_attention(y, x, w_q, w_k, w_v):
    return scaled_dot_product_attention(y @ w_q, x @ w_k, x @ w_v)


def test_cross_attention_right_answer(capsys):
    exercises.check_cross_attention(cross_attention)
    assert verdict(capsys).startswith("✅ Correct: cross_attention()")


def test_cross_attention_with_queries_from_the_encoder_is_caught(capsys):
    exercises.check_cross_attention(lambda y, x, w_q, w_k, w_v: scaled_dot_product_attention(x @ w_q, x @ w_k, x @ w_v))
    out = verdict(capsys)
    assert "❌ Not yet: cross_attention()" in out and "on test input 1 (argument shapes (2, 2), (3, 2)" in out
    assert "expected shape (2, 2), got shape (3, 2)" in out and "q = y @ w_q" in out


def test_cross_attention_placeholder(capsys):
    exercises.check_cross_attention(placeholder)
    assert verdict(capsys).startswith("⏳ Not attempted yet: cross_attention()")


def test_reversal_right_answer(capsys):
    exercises.check_reversal_w_q(20.0 * numpy.flip(numpy.eye(6), axis=1))
    assert verdict(capsys).startswith("✅ Correct: the alignment of w_q_reverse")


def test_reversal_any_strong_enough_answer_is_right(capsys):
    exercises.check_reversal_w_q((50.0 * numpy.eye(6)[::-1]).tolist())
    assert verdict(capsys).startswith("✅ Correct")


@pytest.mark.parametrize("size", [1.0, 10.0])
def test_reversal_right_pattern_but_too_soft_says_scale_it_up(capsys, size):
    exercises.check_reversal_w_q(size * numpy.flip(numpy.eye(6), axis=1))  # the right direction, too soft
    out = verdict(capsys)
    assert "❌ Not yet: the alignment of w_q_reverse — right pattern, not sharp enough" in out
    assert "scale it up" in out and "sqrt(6)" in out


def test_reversal_just_too_soft_shows_the_shortfall_to_three_places(capsys):
    exercises.check_reversal_w_q(11.0 * numpy.flip(numpy.eye(6), axis=1))  # e^(11/sqrt 6) < 95: 0.947 on target
    out = verdict(capsys)
    assert "right pattern, not sharp enough" in out and "only 0.947 of its weight (needs more than 0.95)" in out


def test_reversal_just_sharp_enough_is_right(capsys):
    exercises.check_reversal_w_q(12.0 * numpy.flip(numpy.eye(6), axis=1))  # e^(12/sqrt 6) > 95
    assert verdict(capsys).startswith("✅ Correct")


def test_reversal_copy_alignment_is_wrong(capsys):
    exercises.check_reversal_w_q(20.0 * numpy.eye(6))
    out = verdict(capsys)
    assert "❌ Not yet: the alignment of w_q_reverse — first differing row is 0" in out and "large number" in out


def test_reversal_wrong_shape(capsys):
    exercises.check_reversal_w_q(numpy.eye(5))
    assert "expected a (6, 6) matrix of numbers, got shape (5, 5)" in verdict(capsys)


def test_reversal_placeholder(capsys):
    exercises.check_reversal_w_q(...)
    assert verdict(capsys).startswith("⏳ Not attempted yet: the alignment of w_q_reverse")


# ---------------------------------------------------------------- notebook 11


def my_split_heads(x, n_heads):
    t, d_model = x.shape
    return numpy.transpose(numpy.reshape(x, (t, n_heads, d_model // n_heads)), (1, 0, 2))


def test_split_heads_right_answer(capsys):
    exercises.check_split_heads(my_split_heads)
    assert verdict(capsys).startswith("✅ Correct: my_split_heads()")


def test_split_heads_plain_reshape_mixes_up_tokens(capsys):
    exercises.check_split_heads(lambda x, n: numpy.reshape(x, (n, x.shape[0], x.shape[1] // n)))
    out = verdict(capsys)
    assert "❌ Not yet: my_split_heads() — on test input 1 (argument shapes (3, 4))" in out
    assert "first differing row is [0, 1]" in out and "xp.transpose" in out


def test_split_heads_placeholder(capsys):
    exercises.check_split_heads(placeholder)
    assert verdict(capsys).startswith("⏳ Not attempted yet: my_split_heads()")


def my_multi_head_attention(x, w_q, w_k, w_v, w_o, n_heads):
    q, k, v = (my_split_heads(x @ w, n_heads) for w in (w_q, w_k, w_v))
    out, weights = scaled_dot_product_attention(q, k, v)
    t = x.shape[0]
    return numpy.reshape(numpy.transpose(out, (1, 0, 2)), (t, -1)) @ w_o, weights


def test_multi_head_attention_right_answer(capsys):
    exercises.check_multi_head_attention(my_multi_head_attention)
    assert verdict(capsys).startswith("✅ Correct: my_multi_head_attention()")


def test_multi_head_attention_with_the_wide_scale_is_caught(capsys):
    def wide_scale(x, w_q, w_k, w_v, w_o, n_heads):  # divides by sqrt(d_model) instead of sqrt(d_head)
        q, k, v = (my_split_heads(x @ w, n_heads) for w in (w_q, w_k, w_v))
        out, weights = scaled_dot_product_attention(q, k, v, scale=1 / numpy.sqrt(x.shape[1]))
        return numpy.reshape(numpy.transpose(out, (1, 0, 2)), (x.shape[0], -1)) @ w_o, weights

    exercises.check_multi_head_attention(wide_scale)
    out = verdict(capsys)
    assert "❌ Not yet: my_multi_head_attention() — `out` differs on test input 1" in out and "1/sqrt(d_head)" in out


def test_multi_head_attention_forgetting_w_o_is_caught(capsys):
    exercises.check_multi_head_attention(lambda x, w_q, w_k, w_v, w_o, n: my_multi_head_attention(
        x, w_q, w_k, w_v, numpy.eye(x.shape[1]), n))
    assert "❌ Not yet: my_multi_head_attention() — `out` differs on test input 1" in verdict(capsys)


def test_multi_head_attention_placeholder(capsys):
    exercises.check_multi_head_attention(placeholder)
    assert verdict(capsys).startswith("⏳ Not attempted yet: my_multi_head_attention()")
