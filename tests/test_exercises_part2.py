"""The checks of Part II (notebooks 09-11): each verdict fires — right, placeholder, every refused
shortcut, every named mistake — and no wrong answer is told the solution."""

from __future__ import annotations

import math

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
    (lambda x, *w: causal(x, *w, mask=~causal_mask(x.shape[0])), "the mask inverted"),  # PyTorch's masked_fill habit
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
    (lambda lengths, t: my_padding_mask(lengths, t).astype(float), "the right values, but as the numbers 0.0 and 1.0 (dtype float64)"),
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
    # on the first input (d_model = 4, two heads) 1/d_head is 1/√d_model: the later inputs tell the two apart
    (lambda x, *w: mha(x, *w, scale=w[-1] / x.shape[-1]), "scaling by 1/d_head"),
    (lambda x, *w: mha(x, *w, merge=None), "heads merged by a plain reshape"),
    (lambda x, *w: mha(x, *w, project=False), "without the output projection W_o"),
    (lambda x, w_q, w_k, w_v, w_o, n: mha(x, w_q, w_k, w_v, w_o.T, n), "W_o transposed"),
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

    assert_wrong(run(capsys, exercises.check_causal_self_attention, multiplied), "the future scores set to 0 (or multiplied by 0)")


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


# ---------------------------------------------------------------- a right answer in every natural form
# Written in place (on the learner's own intermediates, and on the inputs where that comes naturally), as a
# loop, with einsum, returned as a list: each is right, and the check says so.


def _causal_in_place(x, w_q, w_k, w_v):
    q, k, v = x @ w_q, x @ w_k, x @ w_v
    scores = q @ k.T
    scores /= np.sqrt(k.shape[-1])
    scores[np.triu_indices(x.shape[0], k=1)] = -np.inf  # the future, masked in the learner's own scores
    scores -= scores.max(axis=-1, keepdims=True)
    weights = np.exp(scores)
    weights /= weights.sum(axis=-1, keepdims=True)
    return weights @ v, weights


def _causal_loop(x, w_q, w_k, w_v):
    q, k, v = x @ w_q, x @ w_k, x @ w_v
    t = x.shape[0]
    weights = np.zeros((t, t))
    for i in range(t):  # query i sees keys 0..i
        s = np.array([q[i] @ k[j] for j in range(i + 1)]) / math.sqrt(q.shape[-1])
        e = np.exp(s - s.max())
        weights[i, : i + 1] = e / e.sum()
    return [weights @ v, weights.tolist()]


def _causal_einsum(x, w_q, w_k, w_v):
    q, k, v = (np.einsum("td,de->te", x, w) for w in (w_q, w_k, w_v))
    scores = np.einsum("qd,kd->qk", q, k) / np.sqrt(q.shape[-1])
    scores = np.where(np.tril(np.ones_like(scores, dtype=bool)), scores, -np.inf)
    return scaled_dot_product_attention(q, k, v, mask=np.isfinite(scores))


def _padding_loop(lengths, t):
    mask = np.zeros((len(lengths), 1, t), dtype=bool)
    for b, length in enumerate(lengths):
        mask[b, 0, :length] = True
    return mask


def _cross_in_place(y, x, w_q, w_k, w_v):
    q, k, v = y @ w_q, x @ w_k, x @ w_v
    q /= np.sqrt(q.shape[-1])  # the scale folded into the queries
    weights = softmax(q @ k.T)
    return (weights @ v).tolist(), weights


def _heads_loop(x, n_heads):
    d_head = x.shape[1] // n_heads
    return [x[:, h * d_head:(h + 1) * d_head] for h in range(n_heads)]  # a list of (T, d_head) arrays


def _mha_loop(x, w_q, w_k, w_v, w_o, n_heads):
    q, k, v = x @ w_q, x @ w_k, x @ w_v
    d_head = x.shape[1] // n_heads
    outs, weights = [], []
    for h in range(n_heads):
        cut = slice(h * d_head, (h + 1) * d_head)
        scores = q[:, cut] @ k[:, cut].T
        scores /= math.sqrt(d_head)
        scores -= scores.max(axis=-1, keepdims=True)
        np.exp(scores, out=scores)
        scores /= scores.sum(axis=-1, keepdims=True)
        outs.append(scores @ v[:, cut])
        weights.append(scores)
    return np.concatenate(outs, axis=-1) @ w_o, weights


def _mha_einsum(x, w_q, w_k, w_v, w_o, n_heads):
    t, d_model = x.shape
    q, k, v = (np.einsum("td,de->te", x, w).reshape(t, n_heads, -1) for w in (w_q, w_k, w_v))  # (T, h, d_head)
    scores = np.einsum("qhd,khd->hqk", q, k) / np.sqrt(d_model // n_heads)
    weights = softmax(scores)
    out = np.einsum("hqk,khd->qhd", weights, v).reshape(t, d_model)
    return (out @ w_o, weights)


NATURAL = [
    (exercises.check_causal_self_attention, _causal_in_place),
    (exercises.check_causal_self_attention, _causal_loop),
    (exercises.check_causal_self_attention, _causal_einsum),
    (exercises.check_padding_mask, _padding_loop),
    (exercises.check_padding_mask, lambda lengths, t: [[[j < n for j in range(t)]] for n in lengths]),
    (exercises.check_padding_mask, lambda lengths, t: np.less.outer(np.arange(t), lengths).T[:, None, :]),
    (exercises.check_padding_mask, lambda lengths, t: np.expand_dims(np.arange(t) < lengths[:, None], 1)),
    (exercises.check_cross_attention, _cross_in_place),
    (exercises.check_cross_attention, lambda y, x, w_q, w_k, w_v: list(scaled_dot_product_attention(
        np.einsum("td,de->te", y, w_q), np.einsum("td,de->te", x, w_k), np.einsum("td,de->te", x, w_v)))),
    (exercises.check_split_heads, _heads_loop),
    (exercises.check_split_heads, lambda x, n_heads: np.split(x, n_heads, axis=-1)),
    (exercises.check_split_heads, lambda x, n_heads: np.stack(np.split(x, n_heads, axis=1))),
    (exercises.check_split_heads, lambda x, n_heads: np.moveaxis(x.reshape(x.shape[0], n_heads, -1), 1, 0)),
    (exercises.check_split_heads, lambda x, n_heads: x.reshape(len(x), n_heads, -1).swapaxes(0, 1).tolist()),
    (exercises.check_multi_head_attention, _mha_loop),
    (exercises.check_multi_head_attention, _mha_einsum),
]


@pytest.mark.parametrize("check, answer", NATURAL, ids=lambda f: f.__name__.strip("_<>").removeprefix("check_"))
def test_a_right_answer_is_right_in_every_natural_form(capsys, check, answer):
    out = run(capsys, check, answer)
    assert out.startswith("✅ Correct"), out


@pytest.mark.parametrize("answer", [
    np.flip(20 * np.eye(6, dtype=int), axis=1), np.eye(6)[::-1].astype(bool) * 30.0,
    tuple(tuple(20.0 * (j == 5 - t) for j in range(6)) for t in range(6)),
    [[np.float32(20.0) if j == 5 - t else 0 for j in range(6)] for t in range(6)],
], ids=["int array", "bool times float", "tuple of tuples", "list of NumPy and Python numbers"])
def test_reversal_w_q_right_in_more_forms(capsys, answer):
    assert run(capsys, exercises.check_reversal_w_q, answer).startswith("✅ Correct")


def test_padding_mask_refuses_the_library_function_itself_and_wrapped(capsys):
    import functools
    for shortcut in (padding_mask, functools.partial(padding_mask)):
        assert_wrong(run(capsys, exercises.check_padding_mask, shortcut), "course_lib's `padding_mask` itself")


def test_a_library_function_wrapped_in_partial_is_the_shortcut(capsys):
    import functools

    from course_lib import split_heads
    assert_wrong(run(capsys, exercises.check_split_heads, functools.partial(split_heads)),
                 "course_lib's `split_heads` itself")


@pytest.mark.parametrize("dtype, says", [(int, "softmax refuses a mask of whole numbers"),
                                         (float, "softmax adds a floating mask to the scores")])
def test_padding_mask_of_numbers_says_what_softmax_does_with_it(capsys, dtype, says):
    out = run(capsys, exercises.check_padding_mask,
              lambda lengths, t: (np.arange(t) < np.asarray(lengths)[:, None, None]).astype(dtype))
    assert_wrong(out, "the right values, but as", says)


def test_a_right_answer_computed_in_float32_and_returned_as_lists_is_right(capsys):
    """The learner computed in float32 and handed back .tolist(): right to float32's precision, and told so."""
    def causal(x, w_q, w_k, w_v):
        x, w_q, w_k, w_v = (np.asarray(a, dtype=np.float32) for a in (x, w_q, w_k, w_v))
        out, weights = scaled_dot_product_attention(x @ w_q, x @ w_k, x @ w_v, causal_mask(x.shape[-2]))
        return out.tolist(), weights.astype(np.float64)

    out = run(capsys, exercises.check_causal_self_attention, causal)
    assert out.startswith("✅ Correct") and "to float32's precision" in out, out


def test_a_float64_answer_off_in_the_sixth_digit_is_not_taken_for_float32(capsys):
    def off(x, w_q, w_k, w_v):
        out, weights = scaled_dot_product_attention(x @ w_q, x @ w_k, x @ w_v, causal_mask(x.shape[-2]))
        return out * (1 + 3e-5), weights

    assert_wrong(run(capsys, exercises.check_causal_self_attention, off), "`out` differs")


def test_causal_attention_with_the_right_weights_is_pointed_at_the_values(capsys):
    def wrong_values(x, w_q, w_k, w_v):
        out, weights = scaled_dot_product_attention(x @ w_q, x @ w_k, x @ w_v, causal_mask(x.shape[-2]))
        return weights @ (x @ w_k), weights  # values from W_k

    out = run(capsys, exercises.check_causal_self_attention, wrong_values)
    assert_wrong(out, "`out` differs", "Hint: your weights are right: out is those weights applied to the values")
    assert "smallest test input" not in out


def _heads_unscaled(x, w_q, w_k, w_v, w_o, n_heads):
    out, weights = scaled_dot_product_attention(*(split_heads(x @ w, n_heads) for w in (w_q, w_k, w_v)), scale=1.0)
    return merge_heads(out) @ w_o, weights


def _heads_split_by_reshape(x, w_q, w_k, w_v, w_o, n_heads):
    t, d = x.shape
    out, weights = scaled_dot_product_attention(*((x @ w).reshape(n_heads, t, d // n_heads) for w in (w_q, w_k, w_v)))
    return merge_heads(out) @ w_o, weights


@pytest.mark.parametrize("answer, says", [
    (_heads_unscaled, "heads without the 1/√d_head scaling"),
    (_heads_split_by_reshape, "heads split by a plain reshape to (n_heads, T, d_head)"),
])
def test_multi_head_attention_names_the_unscaled_heads_and_the_plain_split(capsys, answer, says):
    assert_wrong(run(capsys, exercises.check_multi_head_attention, answer), "this looks like ", says)


@pytest.mark.parametrize("answer, says", [
    (lambda y, x, w_q, w_k, w_v: scaled_dot_product_attention(y @ w_q, y @ w_k, x @ w_v), "keys taken from the decoder y"),
    (lambda y, x, w_q, w_k, w_v: tuple(a if i == 0 else a.T for i, a in
                                       enumerate(scaled_dot_product_attention(y @ w_q, x @ w_k, x @ w_v))),
     "the weights returned transposed"),
])
def test_cross_attention_names_keys_from_the_decoder_and_transposed_weights(capsys, answer, says):
    assert_wrong(run(capsys, exercises.check_cross_attention, answer), "this looks like ", says)


# ---------------------------------------------------------------- 09: slips a probe of the check found


def causal_written(x, w_q, w_k, w_v, *, hide=None, fill=-np.inf, axis=-1, keys_first=False):
    """Causal attention written with np.where over the scores; ``hide`` the positions set to ``fill``."""
    q, k, v = x @ w_q, x @ w_k, x @ w_v
    scores = (k @ q.T if keys_first else q @ k.T) / np.sqrt(k.shape[-1])
    t = x.shape[0]
    hide = np.triu(np.ones((t, t)), 1) == 1 if hide is None else hide(t)
    scores = np.where(hide, fill, scores)
    e = np.exp(scores - np.max(scores, axis=axis, keepdims=True))
    weights = e / np.sum(e, axis=axis, keepdims=True)
    return weights @ v, weights


@pytest.mark.parametrize("mistake, says", [
    (lambda *a: causal_written(*a, hide=lambda t: np.triu(np.ones((t, t))) == 1), "the diagonal hidden too"),
    (lambda *a: causal_written(*a, hide=lambda t: np.triu(np.ones((t, t))) == 1, fill=-1e9), "the diagonal hidden too"),
    (lambda *a: causal_written(*a, hide=lambda t: np.triu(np.ones((t, t)), 2) == 1), "one key of the future let in"),
    (lambda *a: causal_written(*a, axis=0), "a softmax along the first axis"),
    (lambda *a: causal_written(*a, keys_first=True), "keys against queries"),
])
def test_causal_self_attention_names_off_by_one_masks_and_turned_axes(capsys, mistake, says):
    assert_wrong(run(capsys, exercises.check_causal_self_attention, mistake), "this looks like ", says)
    assert run(capsys, exercises.check_causal_self_attention, causal_written).startswith("✅ Correct")


@pytest.mark.parametrize("mistake", [
    lambda x, *w: causal(x, *w, mask=np.ones((x.shape[0],) * 2, dtype=bool)),  # no mask: the weights differ
    lambda x, *w: causal(x, *w, scale=1.0),
    lambda x, *w: (causal(x, *w)[0] * 2, causal(x, *w)[1] + 0.01),  # both parts wrong, no named mistake
])
def test_wrong_weights_never_get_the_hint_that_the_weights_are_right(capsys, mistake):
    out = run(capsys, exercises.check_causal_self_attention, mistake)
    assert_wrong(out, "Hint: row i of the weights")
    assert "your weights are right" not in out


def test_right_weights_and_a_wrong_out_get_the_hint_for_out(capsys):
    out = run(capsys, exercises.check_causal_self_attention, lambda x, *w: (causal(x, *w)[0] * 2, causal(x, *w)[1]))
    assert_wrong(out, "Hint: your weights are right")


def test_the_diagonal_hidden_through_course_libs_mask_is_named(capsys):
    def strict(x, *w):
        return causal(x, *w, mask=np.arange(x.shape[0])[None, :] < np.arange(x.shape[0])[:, None])

    assert_wrong(run(capsys, exercises.check_causal_self_attention, strict), "this looks like ", "the diagonal hidden")
