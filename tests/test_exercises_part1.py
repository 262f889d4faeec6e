"""The checks of Part I (notebooks 00-08): each verdict fires — right, placeholder, every refused
shortcut, every named mistake — and no wrong answer is told the solution."""

from __future__ import annotations

import functools
import math
from fractions import Fraction

import numpy
import pytest

import course_lib
from course_lib import (attention_scores, data, dot_product, exercises, scale_scores, scaled_dot_product_attention,
                        softmax, weighted_sum)
from conftest import assert_wrong, placeholder, run, verdict

pytestmark = pytest.mark.usefixtures("numpy_backend")

np = numpy


# ---------------------------------------------------------------- 00


def test_park_row(capsys):
    x = data.sentence_embeddings()
    assert run(capsys, exercises.check_park_row, x[6]).startswith("✅ Correct: x_park")
    assert_wrong(run(capsys, exercises.check_park_row, x[8]), "that is row 8 of x, the embedding of 'play'")
    assert_wrong(run(capsys, exercises.check_park_row, x[:, 6]), "that is column 6 of x", "a token is a ROW")
    assert_wrong(run(capsys, exercises.check_park_row, x[6:7]), "expected shape (8,), got shape (1, 8)")
    assert run(capsys, exercises.check_park_row, ...).startswith("⏳ Not attempted yet")


@pytest.mark.parametrize(
    "answer, expected",
    [
        (["park"], "1 token(s) with outdoors > 0.3 are missing"),
        (["go", "park", "play"], "'play' has outdoors = 0.3, which is not greater than 0.3"),
        (["go", "parks"], "'parks' is not a token of the sentence"),
        (["park", "go"], "the right tokens, but not once each in sentence order"),
        ([["go"], "park"], "expected a list of tokens (strings)"),
    ],
)
def test_outdoor_words_wrong(capsys, answer, expected):
    out = run(capsys, exercises.check_outdoor_words, answer)
    assert_wrong(out, expected)
    assert "['go', 'park']" not in out  # the feedback must not give the answer away


# ---------------------------------------------------------------- 01


def my_dot(a, b):
    return np.sum(a * b, axis=-1)


def test_dot_product_right(capsys):
    assert run(capsys, exercises.check_dot_product, my_dot).startswith("✅ Correct: my_dot_product()")
    assert run(capsys, exercises.check_dot_product, placeholder).startswith("⏳ Not attempted yet")


@pytest.mark.parametrize("shortcut, says", [
    (lambda a, b: dot_product(a, b), "course_lib's `dot_product`"),
    (lambda a, b: np.einsum("...i,...i->...", a, b), "`einsum`"),
    (lambda a, b: np.inner(a, b), "`inner`"),
])
def test_dot_product_refuses_shortcuts(capsys, shortcut, says):
    assert_wrong(run(capsys, exercises.check_dot_product, shortcut), f"it uses {says}", "elementwise product")


@pytest.mark.parametrize("mistake, says", [
    (lambda a, b: np.sum(a * b), "one sum over every entry"),
    (lambda a, b: np.sum(a * b, axis=0), "a sum over the first axis"),
    (lambda a, b: a * b, "without their sum"),
    (lambda a, b: a @ b.T, "every vector against every other one"),
])
def test_dot_product_names_mistakes(capsys, mistake, says):
    assert_wrong(run(capsys, exercises.check_dot_product, mistake), "this looks like ", says)


def test_cosine_similarity(capsys):
    def right(a, b):
        return dot_product(a, b) / (np.sqrt(dot_product(a, a)) * np.sqrt(dot_product(b, b)))

    assert run(capsys, exercises.check_cosine_similarity, right).startswith("✅ Correct")
    assert run(capsys, exercises.check_cosine_similarity, placeholder).startswith("⏳ Not attempted yet")


@pytest.mark.parametrize("mistake, says", [
    (lambda a, b: dot_product(a, b) / (dot_product(a, a) * dot_product(b, b)), "the squared lengths"),
    (lambda a, b: dot_product(a, b) / np.sqrt(dot_product(a, a)), "only one of the two lengths"),
    (lambda a, b: dot_product(a, b) / np.sqrt(dot_product(b, b)), "only one of the two lengths"),
    # on test input 1, a·a = a·b = 5: this gives what dividing by ‖a‖ alone gives, and input 2 tells them apart
    (lambda a, b: dot_product(a, b) / np.sqrt(dot_product(a, b)), "√(a·b) where the lengths go"),
    (lambda a, b: dot_product(a, b) / (np.sqrt(dot_product(a, a)) * np.sqrt(dot_product(a, a))), "from one vector"),
    (lambda a, b: dot_product(a, b) / (np.linalg.norm(b, axis=-1) ** 2), "from one vector"),
    (lambda a, b: dot_product(a, b), "the raw dot product"),
    (lambda a, b: dot_product(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)), "one length for the whole stack"),
    (lambda a, b: np.arccos(dot_product(a, b) / np.sqrt(dot_product(a, a) * dot_product(b, b))), "the angle itself"),
])
def test_cosine_similarity_names_mistakes(capsys, mistake, says):
    assert_wrong(run(capsys, exercises.check_cosine_similarity, mistake), "this looks like ", says)


# ---------------------------------------------------------------- 02


def test_projections(capsys):
    assert run(capsys, exercises.check_projections, lambda x, w_q, w_k, w_v: (x @ w_q, x @ w_k, x @ w_v)) \
        .startswith("✅ Correct")
    assert_wrong(run(capsys, exercises.check_projections, lambda x, w_q, w_k, w_v: (x @ w_q,) * 3),
                 "one matrix used for all three roles")
    assert_wrong(run(capsys, exercises.check_projections, lambda x, w_q, w_k, w_v: x @ w_q),
                 "expected it to return 3 values (q, k, v)")
    assert_wrong(run(capsys, exercises.check_projections, lambda x, w_q, w_k, w_v: (w_q @ x, w_k @ x, w_v @ x)),
                 "it raised ValueError")
    assert run(capsys, exercises.check_projections, placeholder).startswith("⏳ Not attempted yet")


def sport_values():
    return np.eye(8)[:, [0, 1, 2]]


@pytest.mark.parametrize("answer", [sport_values(), sport_values().astype(int), sport_values().tolist(),
                                    sport_values().astype(bool)])
def test_sport_values_right_in_every_form(capsys, answer):
    assert run(capsys, exercises.check_sport_values, answer).startswith("✅ Correct")


@pytest.mark.parametrize("answer, says", [
    (sport_values().T, "this is the transpose"),
    (np.eye(8)[:, [1, 0, 2]], "the right features, in the wrong order"),
    (np.eye(8), "expected shape (8, 3), got shape (8, 8)"),
    ([[1.0, 0.0], [1.0]], "rows have different lengths"),
])
def test_sport_values_wrong(capsys, answer, says):
    assert_wrong(run(capsys, exercises.check_sport_values, answer), says)


# ---------------------------------------------------------------- 03


def my_scores(q, k):
    return q @ np.swapaxes(k, -1, -2)


def test_attention_scores(capsys):
    assert run(capsys, exercises.check_attention_scores, my_scores).startswith("✅ Correct")
    assert run(capsys, exercises.check_attention_scores, placeholder).startswith("⏳ Not attempted yet")
    assert_wrong(run(capsys, exercises.check_attention_scores, lambda q, k: attention_scores(q, k)),
                 "it uses course_lib's `attention_scores`")


@pytest.mark.parametrize("mistake, says", [
    (lambda q, k: q @ k.T, "k.T: it reverses EVERY axis"),
    (lambda q, k: k @ np.swapaxes(q, -1, -2), "the keys against the queries"),
    (lambda q, k: q @ k, "q @ k without a transpose"),
])
def test_attention_scores_names_mistakes(capsys, mistake, says):
    assert_wrong(run(capsys, exercises.check_attention_scores, mistake), "this looks like ", says)


@pytest.mark.parametrize("answer", [(2, 5, 7), [2, 5, 7], np.array([2, 5, 7]), (np.int64(2), 5, 7),
                                    (2.0, 5.0, 7.0), np.array([2.0, 5.0, 7.0]), (2, 5, np.float32(7))])
def test_scores_shape_right_in_every_form(capsys, answer):
    assert run(capsys, exercises.check_scores_shape, answer).startswith("✅ Correct")


@pytest.mark.parametrize("answer, says", [
    ((5, 7), "which has 2 axes"),
    ((2, 5, 16), "d_k = 16 is summed over"),
    ((2, 7, 5), "the right sizes, in the wrong order"),
    ((2, 5, 8), "which is not the shape of the scores"),
    ("(2, 5, 7)", "expected a tuple of whole numbers"),
    ((2.5, 5, 7), "expected a tuple of whole numbers"),
    ((True, 5, 7), "expected a tuple of whole numbers"),
    ((2, 5, float("nan")), "expected a tuple of whole numbers"),
])
def test_scores_shape_wrong(capsys, answer, says):
    out = run(capsys, exercises.check_scores_shape, answer)
    assert_wrong(out, says)
    assert "(2, 5, 7)" not in out.replace("'(2, 5, 7)'", "")


@pytest.mark.parametrize("answer, says", [
    ("play", "go's COLUMN"),
    ("go", "q_go · k_go = 1.96, but another key gets a higher score"),
    ("football", "not a token of the sentence"),
    (6, "expected a token of the sentence as a string"),
])
def test_best_key_for_go(capsys, answer, says):
    out = run(capsys, exercises.check_best_key_for_go, answer)
    assert_wrong(out, says)
    assert "park" not in out


def test_best_key_for_go_reads_the_asymmetric_scores_row(capsys):
    x = data.sentence_embeddings()
    w_q, w_k, _ = data.park_projections(ask_where=True)
    scores = attention_scores(x @ w_q, x @ w_k)
    row, column = scores[data.TOKENS.index("go")], scores[:, data.TOKENS.index("go")]
    from_row, from_column = data.TOKENS[int(np.argmax(row))], data.TOKENS[int(np.argmax(column))]
    assert from_row != from_column, "the exercise's data must tell a row from a column"
    assert run(capsys, exercises.check_best_key_for_go, np.str_(from_row)).startswith("✅ Correct")


# ---------------------------------------------------------------- 04


@pytest.mark.parametrize("unscaled, scaled", [(16.0, 1.0), (16, 1), (np.float32(16.0), np.asarray(1.0))])
def test_score_std_right_in_every_form(capsys, unscaled, scaled):
    exercises.check_score_std(unscaled, scaled)
    assert verdict(capsys).count("✅ Correct") == 2


@pytest.mark.parametrize("unscaled, scaled, says", [
    (256.0, 1.0, "that is the variance of q·k"),
    (1.0, 1.0, "that is the spread after scaling"),
    (16.0, 1 / 16, "divides the standard deviation by d_k"),
    (16.0, 16.0, "the standard deviation before scaling"),
    ("16", None, "expected a number"),
])
def test_score_std_wrong(capsys, unscaled, scaled, says):
    exercises.check_score_std(unscaled, scaled)
    out = verdict(capsys)
    assert "❌ Not yet" in out and says in out
    assert "16.0'" not in out and "expected 16" not in out


def test_score_std_placeholders(capsys):
    exercises.check_score_std(..., ...)
    assert verdict(capsys).count("⏳ Not attempted yet") == 2


def test_scaled_scores(capsys):
    def right(q, k):
        return attention_scores(q, k) / np.sqrt(q.shape[-1])

    assert run(capsys, exercises.check_scaled_scores, right).startswith("✅ Correct")
    assert run(capsys, exercises.check_scaled_scores, placeholder).startswith("⏳ Not attempted yet")
    assert_wrong(run(capsys, exercises.check_scaled_scores, lambda q, k: scale_scores(attention_scores(q, k), q.shape[-1])),
                 "it uses course_lib's `scale_scores`")


@pytest.mark.parametrize("mistake, says", [
    (lambda q, k: attention_scores(q, k), "the scores without any scaling"),
    (lambda q, k: attention_scores(q, k) / q.shape[-1], "a division by d_k"),
    (lambda q, k: attention_scores(q, k) * np.sqrt(q.shape[-1]), "a multiplication by √d_k"),
    (lambda q, k: attention_scores(q, k) / np.sqrt(q.shape[-2]), "the number of tokens"),
    (lambda q, k: attention_scores(q, k) / np.sqrt(k.shape[-2]), "the number of tokens"),
])
def test_scaled_scores_names_mistakes(capsys, mistake, says):
    assert_wrong(run(capsys, exercises.check_scaled_scores, mistake), "this looks like ", says)


def jacobian(s):
    p = softmax(s)
    return np.diag(p) - p[:, None] * p[None, :]


def test_softmax_jacobian(capsys):
    assert run(capsys, exercises.check_softmax_jacobian, jacobian).startswith("✅ Correct")
    assert run(capsys, exercises.check_softmax_jacobian, placeholder).startswith("⏳ Not attempted yet")


def test_softmax_jacobian_reference_agrees_with_finite_differences():
    s, eps = np.array([0.3, -1.2, 2.0]), 1e-6
    numeric = np.stack([(softmax(s + eps * e) - softmax(s - eps * e)) / (2 * eps) for e in np.eye(3)], axis=1)
    assert np.allclose(jacobian(s), numeric, atol=1e-8)


@pytest.mark.parametrize("mistake, says", [
    (lambda s: -jacobian(s), "the opposite sign"),
    (lambda s: np.diag(softmax(s)), "only the diagonal part"),
    (lambda s: -np.outer(softmax(s), softmax(s)), "only the outer-product part"),
    (lambda s: np.diag(s) - np.outer(s, s), "applied to the scores s"),
])
def test_softmax_jacobian_names_mistakes(capsys, mistake, says):
    assert_wrong(run(capsys, exercises.check_softmax_jacobian, mistake), "this looks like ", says)


# ---------------------------------------------------------------- 05


def stable_softmax(x):
    e = np.exp(x - np.max(x, axis=-1, keepdims=True))
    return e / np.sum(e, axis=-1, keepdims=True)


def test_stable_softmax(capsys):
    assert run(capsys, exercises.check_stable_softmax, stable_softmax).startswith("✅ Correct")
    assert run(capsys, exercises.check_stable_softmax, placeholder).startswith("⏳ Not attempted yet")


@pytest.mark.parametrize("shortcut", [softmax, lambda x: softmax(x), lambda x: course_lib.softmax(x, axis=-1)])
def test_stable_softmax_refuses_the_library(capsys, shortcut):
    assert_wrong(run(capsys, exercises.check_stable_softmax, shortcut), "course_lib's `softmax`",
                 "this exercise asks for the softmax written out")


def naive(x):
    e = np.exp(x)
    return e / np.sum(e, axis=-1, keepdims=True)


@pytest.mark.parametrize("mistake, says", [
    (naive, "without subtracting the maximum"),
    (lambda x: stable_softmax(x - np.max(x)) if False else
     np.exp(x - np.max(x)) / np.sum(np.exp(x - np.max(x)), axis=-1, keepdims=True), "one maximum for the whole array"),
    (lambda x: np.exp(x - x.max(axis=0)) / np.exp(x - x.max(axis=0)).sum(axis=0), "along the first axis"),
    (lambda x: np.exp(x - x.max(axis=-1, keepdims=True)) / np.exp(x - x.max(axis=-1, keepdims=True)).sum(),
     "the sum of the whole array"),
    # right on every row whose scores lie within about 700 of their mean; the check's last input does not
    (lambda x: np.exp(x - x.mean(axis=-1, keepdims=True)) / np.exp(x - x.mean(axis=-1, keepdims=True)).sum(
        axis=-1, keepdims=True), "the mean subtracted where the maximum belongs"),
])
def test_stable_softmax_names_mistakes(capsys, mistake, says):
    assert_wrong(run(capsys, exercises.check_stable_softmax, mistake), "this looks like ", says)


def test_softmax_temperature(capsys):
    assert run(capsys, exercises.check_softmax_temperature, lambda x, t: softmax(x / t)).startswith("✅ Correct")
    assert run(capsys, exercises.check_softmax_temperature, placeholder).startswith("⏳ Not attempted yet")


@pytest.mark.parametrize("mistake, says", [
    (lambda x, t: softmax(x * t), "a multiplication by the temperature"),
    (lambda x, t: softmax(x) / t, "after the softmax"),
    (lambda x, t: softmax(x), "the temperature changes nothing in your result"),
])
def test_softmax_temperature_names_mistakes(capsys, mistake, says):
    assert_wrong(run(capsys, exercises.check_softmax_temperature, mistake), "this looks like ", says)


# ---------------------------------------------------------------- 06


def my_weighted_sum(weights, v):
    out = np.zeros((weights.shape[0], v.shape[1]))
    for j in range(v.shape[0]):
        out = out + weights[:, j, None] * v[j]
    return out


def test_weighted_sum(capsys):
    assert run(capsys, exercises.check_weighted_sum, my_weighted_sum).startswith("✅ Correct")
    assert run(capsys, exercises.check_weighted_sum, lambda w, v: (w[:, :, None] * v[None, :, :]).sum(axis=1)) \
        .startswith("✅ Correct")
    assert run(capsys, exercises.check_weighted_sum, placeholder).startswith("⏳ Not attempted yet")


@pytest.mark.parametrize("shortcut, says", [
    (lambda w, v: w @ v, "the @ operator"),
    (lambda w, v: np.matmul(w, v), "`matmul`"),
    (lambda w, v: w.dot(v), "`dot`"),
    (lambda w, v: np.einsum("ij,jk->ik", w, v), "`einsum`"),
    (lambda w, v: weighted_sum(w, v), "course_lib's `weighted_sum`"),
])
def test_weighted_sum_refuses_a_matrix_product(capsys, shortcut, says):
    assert_wrong(run(capsys, exercises.check_weighted_sum, shortcut), f"it uses {says}", "without a matrix product")


def test_weighted_sum_names_the_column_mistake(capsys):
    def by_column(weights, v):
        return (weights.T[:, :, None] * v[None, :, :]).sum(axis=1)

    assert_wrong(run(capsys, exercises.check_weighted_sum, by_column), "this looks like column i of the weights")


def triangle():
    return np.array([[0.0, 0.0], [2.0, 0.0], [0.0, 2.0]]), np.array([0.5, 1.0])


@pytest.mark.parametrize("answer", [[0.25, 0.25, 0.5], (0.25, 0.25, 0.5), np.array([0.25, 0.25, 0.5]),
                                    [np.float64(0.25), 0.25, 0.5]])
def test_weights_for_point_right_in_every_form(capsys, answer):
    exercises.check_weights_for_point(answer, *triangle())
    assert verdict(capsys).startswith("✅ Correct")


@pytest.mark.parametrize("answer, says", [
    ([0.5, 0.5, 0.5], "sum to 1.5, not 1"),
    ([1.5, -0.5, 0.0], "weight 1 is negative"),
    ([0.5, 0.5], "expected 3 weights"),
    (None, "expected 3 numbers"),
    ("abc", "expected 3 numbers"),
])
def test_weights_for_point_wrong(capsys, answer, says):
    exercises.check_weights_for_point(answer, *triangle())
    out = verdict(capsys)
    assert_wrong(out, says)
    assert "0.25" not in out


# ---------------------------------------------------------------- 07


def my_attention(q, k, v):
    scores = q @ k.T / np.sqrt(q.shape[-1])
    e = np.exp(scores - np.max(scores, axis=-1, keepdims=True))
    weights = e / np.sum(e, axis=-1, keepdims=True)
    return weights @ v, weights


def attention_from(scores_of, axis=-1, stable=True):
    def attend(q, k, v):
        s = scores_of(q, k)
        e = np.exp(s - np.max(s, axis=axis, keepdims=True)) if stable else np.exp(s)
        weights = e / np.sum(e, axis=axis, keepdims=True)
        return weights @ v, weights
    return attend


def test_attention(capsys):
    assert run(capsys, exercises.check_attention, my_attention).startswith("✅ Correct")
    assert run(capsys, exercises.check_attention, placeholder).startswith("⏳ Not attempted yet")


@pytest.mark.parametrize("shortcut, says", [
    (lambda q, k, v: scaled_dot_product_attention(q, k, v), "`scaled_dot_product_attention`"),
    (lambda q, k, v: (softmax(q @ k.T / np.sqrt(q.shape[-1])) @ v, softmax(q @ k.T / np.sqrt(q.shape[-1]))),
     "`softmax`"),
])
def test_attention_refuses_course_lib(capsys, shortcut, says):
    assert_wrong(run(capsys, exercises.check_attention, shortcut), f"course_lib's {says}", "plain xp operations")


@pytest.mark.parametrize("mistake, says", [
    (attention_from(lambda q, k: q @ k.T), "attention without the scaling"),
    (attention_from(lambda q, k: q @ k.T / q.shape[-1]), "a division by d_k"),
    (attention_from(lambda q, k: q @ k.T / np.sqrt(k.shape[0])), "the number of tokens (keys or queries)"),
    (attention_from(lambda q, k: q @ k.T / np.sqrt(len(q))), "the number of tokens (keys or queries)"),
    (attention_from(lambda q, k: q @ k.T / np.sqrt(q.shape[-1]), axis=0), "a softmax along the first axis"),
    (attention_from(lambda q, k: q @ k.T / np.sqrt(q.shape[-1]), stable=False), "without subtracting the row maximum"),
    (lambda q, k, v: my_attention(q, k, v)[::-1], "the right arrays in the wrong order: return (out, weights)"),
])
def test_attention_names_mistakes(capsys, mistake, says):
    out = run(capsys, exercises.check_attention, mistake)
    assert_wrong(out, "this looks like ", says)
    assert "Hint: four steps" in out and "k.T" not in out and "keepdims" not in out  # no recipe


def test_attention_checks_tell_a_row_from_a_column():
    """With the park sentence's asymmetric scores, a softmax over queries differs from one over keys."""
    x = data.sentence_embeddings()
    w_q, w_k, _ = data.park_projections(ask_where=True)
    s = attention_scores(x @ w_q, x @ w_k)
    assert not np.allclose(s, s.T)


@pytest.mark.parametrize("answer", [["park", "play", "go"], ("park", "play", "go"), np.array(["park", "play", "go"]),
                                    np.array(data.TOKENS)[[6, 8, 3]], [np.str_("park"), "play", "go"]])
def test_top_tokens_for_go_right_in_every_form(capsys, answer):
    assert run(capsys, exercises.check_top_tokens_for_go, answer).startswith("✅ Correct: top3_for_go")


@pytest.mark.parametrize("answer, says", [
    (["go", "play", "like"], "the largest weights in the COLUMN of go"),
    (["play", "park", "go"], "the right three tokens, in the wrong order"),
    (["go", "play", "park"], "smallest first"),
    (["park", "play", "I"], "not the three largest weights; yours get park 0.170, play 0.154, I 0.087"),
    (["park", "play"], "expected 3 tokens, got 2"),
    ("park", "expected a list of 3 tokens"),
    (None, "expected a list of 3 tokens"),
])
def test_top_tokens_for_go_wrong(capsys, answer, says):
    out = run(capsys, exercises.check_top_tokens_for_go, answer)
    assert_wrong(out, says)
    assert "['park', 'play', 'go']" not in out


def test_top_tokens_for_play(capsys):
    assert run(capsys, exercises.check_top_tokens_for_play, np.array(["play", "park", "go"])).startswith("✅ Correct")
    assert_wrong(run(capsys, exercises.check_top_tokens_for_play, ["park", "play", "go"]), "in the wrong order")


# ---------------------------------------------------------------- 08


def hard_lookup(query, keys, values):
    return values[int(np.argmax(keys @ query))]


def test_hard_lookup(capsys):
    assert run(capsys, exercises.check_hard_lookup, hard_lookup).startswith("✅ Correct")
    assert run(capsys, exercises.check_hard_lookup, placeholder).startswith("⏳ Not attempted yet")


@pytest.mark.parametrize("mistake, says", [
    (lambda query, keys, values: values[int(np.argmin(keys @ query))], "the LOWEST score"),
    (lambda query, keys, values: keys[int(np.argmax(keys @ query))], "the best book's key"),
    (lambda query, keys, values: scaled_dot_product_attention(query[None, :], keys, values)[0][0], "a soft mix"),
    (lambda query, keys, values: values, "every book's value"),
])
def test_hard_lookup_names_mistakes(capsys, mistake, says):
    assert_wrong(run(capsys, exercises.check_hard_lookup, mistake), "this looks like ", says)


def test_top_book(capsys):
    titles, _, _ = data.catalogue()
    assert run(capsys, exercises.check_top_book, np.str_("How Computers Learned")).startswith("✅ Correct")
    out = run(capsys, exercises.check_top_book, "Neural Networks by Hand")
    assert_wrong(out, "the best book for 'machine learning' alone")
    out = run(capsys, exercises.check_top_book, "A Short History of Rome")
    assert_wrong(out, "the best book for 'history' alone")
    assert_wrong(run(capsys, exercises.check_top_book, "Cooking as Chemistry"), "another book gets more")
    assert_wrong(run(capsys, exercises.check_top_book, "Rome"), "is not a title in the catalogue")
    assert_wrong(run(capsys, exercises.check_top_book, titles.index("How Computers Learned")), "as a string")
    assert "How Computers Learned" not in out


# ---------------------------------------------------------------- answers a learner tried (a read-through)


def test_scores_shape_given_the_scores_themselves_is_told_without_the_answer(capsys):
    scores = np.zeros((2, 5, 16)) @ np.zeros((2, 16, 7))
    out = run(capsys, exercises.check_scores_shape, scores)
    assert_wrong(out, "got an array with 3 axes, not its shape")
    assert "7" not in out and len(out) < 1000


def test_park_row_names_the_token_taken_without_the_answer(capsys):
    x = data.sentence_embeddings()
    out = run(capsys, exercises.check_park_row, x[7])
    assert_wrong(out, "that is the embedding of 'to' / 'the' / 'and' (rows 2, 4, 5 and 7 of x hold the same numbers)")
    assert "0.5" not in out
    assert_wrong(run(capsys, exercises.check_park_row, [0, 1, 0, 1, 0, 0, 0, 0]), "that is not a row of x")
    assert run(capsys, exercises.check_park_row, [0.5, 1, 0.1, 0.6, 0, 0.2, 0, 0]).startswith("✅ Correct")


def test_sport_values_describe_the_wrong_component_without_the_matrix(capsys):
    out = run(capsys, exercises.check_sport_values, np.eye(8)[:, 1:4])
    assert_wrong(out, "component 0 of your v = x_i @ W_v is 1·outdoors; the exercise asks for the token's 'sport' alone")
    assert "[1. 0. 0.]" not in out
    assert_wrong(run(capsys, exercises.check_sport_values, np.ones((8, 3))), "component 0 of your v = x_i @ W_v is 1·sport + 1·outdoors")


def test_cosine_names_missing_parentheses(capsys):
    def precedence(a, b):
        return dot_product(a, b) / np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1)

    assert_wrong(run(capsys, exercises.check_cosine_similarity, precedence), "needs parentheses")


def test_projections_named_when_two_are_swapped_and_accepted_as_a_list(capsys):
    assert_wrong(run(capsys, exercises.check_projections, lambda x, w_q, w_k, w_v: (x @ w_q, x @ w_v, x @ w_k)),
                 "the right arrays in the wrong order: return (q, k, v)")
    assert run(capsys, exercises.check_projections, lambda x, w_q, w_k, w_v: [x @ w_q, x @ w_k, x @ w_v]) \
        .startswith("✅ Correct")


def test_score_std_names_a_measured_value(capsys):
    exercises.check_score_std(15.93, 1.0)
    assert "that looks like a measured value" in verdict(capsys)


def test_softmax_jacobian_names_the_diagonal_only(capsys):
    assert_wrong(run(capsys, exercises.check_softmax_jacobian, lambda s: np.diag(softmax(s) * (1 - softmax(s)))),
                 "only the diagonal entries p_i(1 - p_i)")


def test_temperature_without_the_maximum_is_named(capsys):
    def unsafe(x, t):
        e = np.exp(x / t)
        return e / e.sum(axis=-1, keepdims=True)

    assert_wrong(run(capsys, exercises.check_softmax_temperature, unsafe), "without subtracting the maximum")


def test_temperature_after_the_exponential_is_explained(capsys):
    def after_exp(x, t):
        e = np.exp(x - x.max(axis=-1, keepdims=True)) / t
        return e / e.sum(axis=-1, keepdims=True)

    assert_wrong(run(capsys, exercises.check_softmax_temperature, after_exp), "cancels in the normalisation")


@pytest.mark.parametrize("shortcut", [lambda w, v: np.linalg.multi_dot([w, v]), lambda w, v: w.__matmul__(v)])
def test_weighted_sum_refuses_other_spellings_of_a_matrix_product(capsys, shortcut):
    assert_wrong(run(capsys, exercises.check_weighted_sum, shortcut), "without a matrix product")


@pytest.mark.skipif(not hasattr(np, "vecmat"), reason="np.vecdot came with NumPy 2.0 and np.vecmat with 2.2")
@pytest.mark.parametrize("check, shortcut, says", [
    (exercises.check_dot_product, lambda a, b: np.vecdot(a, b), "elementwise product"),
    (exercises.check_dot_product, lambda a, b: np.linalg.vecdot(a, b), "elementwise product"),
    (exercises.check_weighted_sum, lambda w, v: np.vecdot(w[:, None, :], v.T[None, :, :]), "without a matrix product"),
    (exercises.check_weighted_sum, lambda w, v: np.vecmat(w, v), "without a matrix product"),
])
def test_numpy_2s_vector_products_are_refused_too(capsys, check, shortcut, says):
    assert_wrong(run(capsys, check, shortcut), says)


def test_attention_names_one_maximum_for_the_whole_matrix(capsys):
    def global_max(q, k, v):
        s = q @ k.T / np.sqrt(q.shape[-1])
        e = np.exp(s - s.max())
        weights = e / e.sum(axis=-1, keepdims=True)
        return weights @ v, weights

    assert_wrong(run(capsys, exercises.check_attention, global_max), "one maximum for the whole score matrix")


def test_attention_accepts_a_list(capsys):
    assert run(capsys, exercises.check_attention, lambda q, k, v: list(my_attention(q, k, v))).startswith("✅ Correct")


def test_top_book_checks_the_query_too(capsys):
    titles, _, _ = data.catalogue()
    right = data.topic_query("machine learning", "history")
    exercises.check_top_book("How Computers Learned", right)
    assert verdict(capsys).count("✅ Correct") == 2
    exercises.check_top_book("How Computers Learned", 2 * right)
    assert verdict(capsys).count("✅ Correct") == 2
    exercises.check_top_book("How Computers Learned", data.topic_query("history"))
    out = verdict(capsys)
    assert "❌ Not yet: query_two — it asks for history (1)" in out
    exercises.check_top_book(..., ...)
    assert verdict(capsys).count("⏳ Not attempted yet") == 2


def test_wrong_types_are_named_with_the_right_article(capsys):
    assert_wrong(run(capsys, exercises.check_best_key_for_go, 6), "got an int: 6")


# ---------------------------------------------------------------- a right answer in every natural form
# Written in place (on the learner's own intermediates, and on the inputs where that comes naturally), as a
# loop, with einsum, returned as a list: each is right, and the check says so.


def _dot_in_place(a, b):
    a *= b  # the products, in the first argument's own array
    return a.sum(axis=-1)


def _dot_loop(a, b):
    total = np.zeros(a.shape[:-1])  # (...)
    for i in range(a.shape[-1]):
        total += a[..., i] * b[..., i]
    return total


def _cosine_in_place(a, b):
    a /= np.linalg.norm(a, axis=-1, keepdims=True)
    b /= np.linalg.norm(b, axis=-1, keepdims=True)
    return (a * b).sum(axis=-1)


def _cosine_loop(a, b):
    dot, aa, bb = 0.0, 0.0, 0.0
    for i in range(a.shape[-1]):
        dot, aa, bb = dot + a[..., i] * b[..., i], aa + a[..., i] ** 2, bb + b[..., i] ** 2
    return dot / (math.sqrt(aa) if np.ndim(aa) == 0 else np.sqrt(aa)) / np.sqrt(bb)


def _projections_loop(x, w_q, w_k, w_v):
    rows = x.reshape(-1, x.shape[-1])  # (N, d_model): every token of every sequence
    q, k, v = ([row @ w for row in rows] for w in (w_q, w_k, w_v))
    return tuple(np.array(z).reshape(*x.shape[:-1], -1) for z in (q, k, v))


def _scores_loop(q, k):
    scores = np.zeros(q.shape[:-1] + (k.shape[-2],))  # (..., T_q, T_k)
    for i in range(q.shape[-2]):
        for j in range(k.shape[-2]):
            scores[..., i, j] = (q[..., i, :] * k[..., j, :]).sum(axis=-1)
    return scores


def _scaled_in_place(q, k):
    scores = q @ np.swapaxes(k, -1, -2)
    scores /= math.sqrt(q.shape[-1])
    return scores


def _scaled_queries_in_place(q, k):
    q /= np.sqrt(q.shape[-1])  # scale the queries once, in place
    return attention_scores(q, k)


def _jacobian_loop(s):
    p = np.exp(s - s.max())
    p = p / p.sum()
    return [[p[i] * ((i == j) - p[j]) for j in range(len(p))] for i in range(len(p))]  # a list of lists


def _jacobian_in_place(s):
    s -= s.max()
    p = np.exp(s)
    p /= p.sum()
    jac = -np.outer(p, p)
    jac[np.diag_indices_from(jac)] += p
    return jac


def _softmax_in_place(x):
    x -= x.max(axis=-1, keepdims=True)
    np.exp(x, out=x)
    x /= x.sum(axis=-1, keepdims=True)
    return x


def _softmax_loop(x):
    out = np.empty_like(x)
    for row in np.ndindex(*x.shape[:-1]):  # every row, whatever the batch axes
        e = np.exp(x[row] - max(x[row]))
        out[row] = e / sum(e)
    return out


def _temperature_in_place(x, temperature):
    x /= temperature
    return _softmax_in_place(x)


def _weighted_sum_in_place(weights, v):
    out = np.zeros((weights.shape[0], v.shape[1]))  # (T_q, d_v)
    for i in range(weights.shape[0]):
        for j in range(v.shape[0]):
            out[i] += weights[i, j] * v[j]
    return out


def _weighted_sum_rows(weights, v):
    return [sum(w * row for w, row in zip(weights[i], v)) for i in range(len(weights))]  # a list of arrays


def _attention_in_place(q, k, v):
    scores = q @ k.T
    scores /= np.sqrt(q.shape[-1])
    scores -= scores.max(axis=-1, keepdims=True)
    np.exp(scores, out=scores)
    scores /= scores.sum(axis=-1, keepdims=True)
    return scores @ v, scores


def _attention_einsum(q, k, v):
    scores = np.einsum("qd,kd->qk", q, k) / math.sqrt(q.shape[-1])
    weights = np.exp(scores - scores.max(axis=-1, keepdims=True))
    weights /= weights.sum(axis=-1, keepdims=True)
    return [np.einsum("qk,kd->qd", weights, v), weights]


def _attention_rows(q, k, v):
    out, weights = [], []
    for q_i in q:  # one query at a time
        s = k @ q_i / math.sqrt(len(q_i))
        e = np.exp(s - s.max())
        weights.append(e / e.sum())
        out.append(weights[-1] @ v)
    return out, weights


def _lookup_loop(query, keys, values):
    best = max(range(len(keys)), key=lambda j: float(np.sum(query * keys[j])))
    return values[best].tolist()


NATURAL = [
    (exercises.check_dot_product, _dot_in_place),
    (exercises.check_dot_product, _dot_loop),
    (exercises.check_dot_product, lambda a, b: np.multiply(a, b).sum(-1).tolist()),
    (exercises.check_dot_product, lambda a, b: sum(a[..., i] * b[..., i] for i in range(a.shape[-1]))),
    (exercises.check_dot_product, lambda a, b: (a.astype(np.float32) * b).sum(-1)),
    (exercises.check_cosine_similarity, _cosine_in_place),
    (exercises.check_cosine_similarity, _cosine_loop),
    (exercises.check_cosine_similarity,
     lambda a, b: np.einsum("...i,...i->...", a, b) / np.linalg.norm(a, axis=-1) / np.linalg.norm(b, axis=-1)),
    (exercises.check_projections, _projections_loop),
    (exercises.check_projections, lambda x, *w: [np.einsum("...i,ij->...j", x, w_i) for w_i in w]),
    (exercises.check_projections, lambda x, w_q, w_k, w_v: (np.dot(x, w_q), np.matmul(x, w_k), (x @ w_v).tolist())),
    (exercises.check_attention_scores, _scores_loop),
    (exercises.check_attention_scores, lambda q, k: np.einsum("...qd,...kd->...qk", q, k)),
    (exercises.check_attention_scores, lambda q, k: np.matmul(q, np.moveaxis(k, -1, -2)).tolist()),
    (exercises.check_attention_scores, lambda q, k: (q[..., :, None, :] * k[..., None, :, :]).sum(-1)),
    (exercises.check_scaled_scores, _scaled_in_place),
    (exercises.check_scaled_scores, _scaled_queries_in_place),
    (exercises.check_scaled_scores, lambda q, k: np.einsum("...qd,...kd->...qk", q, k) * q.shape[-1] ** -0.5),
    (exercises.check_softmax_jacobian, _jacobian_loop),
    (exercises.check_softmax_jacobian, _jacobian_in_place),
    (exercises.check_softmax_jacobian, lambda s: np.diag(softmax(s)) - np.einsum("i,j->ij", softmax(s), softmax(s))),
    (exercises.check_stable_softmax, _softmax_in_place),
    (exercises.check_stable_softmax, _softmax_loop),
    (exercises.check_stable_softmax, lambda x: stable_softmax(x).tolist()),
    (exercises.check_softmax_temperature, _temperature_in_place),
    (exercises.check_softmax_temperature, lambda x, t: stable_softmax(x / t).tolist()),
    (exercises.check_weighted_sum, _weighted_sum_in_place),
    (exercises.check_weighted_sum, _weighted_sum_rows),
    (exercises.check_weighted_sum, lambda weights, v: (weights[:, :, None] * v[None, :, :]).sum(axis=1)),
    (exercises.check_attention, _attention_in_place),
    (exercises.check_attention, _attention_einsum),
    (exercises.check_attention, _attention_rows),
    (exercises.check_hard_lookup, _lookup_loop),
    (exercises.check_hard_lookup, lambda query, keys, values: values[np.argmax(np.einsum("bd,d->b", keys, query))]),
    (exercises.check_hard_lookup, lambda query, keys, values: values[int(np.argmax(np.dot(keys, query)))]),
]


@pytest.mark.parametrize("check, answer", NATURAL, ids=lambda f: f.__name__.strip("_<>").removeprefix("check_"))
def test_a_right_answer_is_right_in_every_natural_form(capsys, check, answer):
    out = run(capsys, check, answer)
    assert out.startswith("✅ Correct"), out


@pytest.mark.parametrize("check, answer", [
    (exercises.check_park_row, lambda x: x[6].tolist()),
    (exercises.check_park_row, lambda x: tuple(x[6])),  # a tuple of NumPy floats
    (exercises.check_park_row, lambda x: x[6].astype(np.float32)),
    (exercises.check_outdoor_words, lambda x: ("go", "park")),
    (exercises.check_outdoor_words, lambda x: np.array(["go", "park"])),
    (exercises.check_outdoor_words, lambda x: [np.str_("go"), "park"]),
    (exercises.check_sport_values, lambda x: tuple(map(tuple, np.eye(8, dtype=int)[:, :3]))),
    (exercises.check_scores_shape, lambda x: (np.zeros((2, 5, 16)) @ np.zeros((2, 16, 7))).shape),
    (exercises.check_best_key_for_go, lambda x: np.str_("park")),
    (exercises.check_best_key_for_go, lambda x: np.array("park")),
    (lambda answer: exercises.check_score_std(*answer), lambda x: (math.sqrt(256), 1)),
    (lambda answer: exercises.check_score_std(*answer), lambda x: (np.sqrt(256), np.float32(1.0))),
    (lambda answer: exercises.check_score_std(*answer), lambda x: (np.int64(16), Fraction(16, 16))),
    (lambda answer: exercises.check_score_std(*answer), lambda x: (256 ** 0.5, np.array(256.0) ** 0.5 / 16)),
    (lambda answer: exercises.check_weights_for_point(answer, *triangle()), lambda x: [Fraction(1, 4)] * 2 + [0.5]),
    (lambda answer: exercises.check_weights_for_point(answer, *triangle()), lambda x: np.array([1, 1, 2]) / 4),
    (lambda answer: exercises.check_top_book("How Computers Learned", answer), lambda x: [1, 0, 0, 0, 1, 0]),
    (lambda answer: exercises.check_top_book(np.str_("How Computers Learned"), answer),
     lambda x: (0.5, 0.0, 0.0, 0.0, 0.5, 0.0)),
], ids=["park_row list", "park_row tuple of NumPy floats", "park_row float32", "outdoor_words tuple",
        "outdoor_words str array", "outdoor_words NumPy str", "sport_values tuple of int tuples",
        "scores_shape from .shape", "best_key NumPy str", "best_key 0-d str array", "score_std math.sqrt and int",
        "score_std NumPy sqrt and float32", "score_std NumPy int and fraction", "score_std power and 0-d array",
        "weights_for_point fractions", "weights_for_point ints / 4", "query_two int list",
        "query_two float tuple"])
def test_a_right_value_is_right_in_every_natural_form(capsys, check, answer):
    out = run(capsys, check, answer(data.sentence_embeddings()))
    assert "❌" not in out and "⏳" not in out and out.startswith("✅ Correct"), out


# ---------------------------------------------------------------- words in any case, with spaces around them


@pytest.mark.parametrize("check, answer", [
    (exercises.check_best_key_for_go, " Park"),
    (exercises.check_best_key_for_go, "PARK"),
    (exercises.check_outdoor_words, ["Go", "park "]),
    (exercises.check_top_tokens_for_go, ["Park", "PLAY", " go"]),
    (exercises.check_top_book, "how computers learned "),
], ids=["best key, leading space", "best key, capitals", "outdoor words", "top 3", "top book"])
def test_a_right_word_is_right_whatever_its_case_and_spaces(capsys, check, answer):
    assert run(capsys, check, answer).startswith("✅ Correct")


def test_a_word_that_is_no_token_is_still_told_so(capsys):
    assert_wrong(run(capsys, exercises.check_best_key_for_go, "parks"), "'parks' is not a token")


def test_top_book_judges_a_query_of_none(capsys):
    """None is an answer (a function that returned nothing), not "no query given"."""
    exercises.check_top_book("How Computers Learned", None)
    out = verdict(capsys)
    assert "❌ Not yet: query_two — expected a query of shape (6,), got None" in out, out
    exercises.check_top_book("How Computers Learned")
    assert verdict(capsys).startswith("✅ Correct: top_book"), "without a query, only the title is judged"


@pytest.mark.parametrize("lookup, says", [
    (lambda q, keys, values: values[np.argmax((keys @ q) / (np.linalg.norm(keys, axis=1) * np.linalg.norm(q)))],
     "the card with the best cosine"),
    (lambda q, keys, values: values[numpy.argmin(numpy.linalg.norm(keys - q, axis=1))], "the card nearest to the query"),
    (lambda q, keys, values: int(numpy.argmax(keys @ q)), "the position of the best card"),
])
def test_hard_lookup_tells_the_dot_product_from_the_cosine_and_the_distance(capsys, lookup, says):
    """A long card wins the dot product, which the exercise asks for (it passed as right before test input 5)."""
    assert_wrong(run(capsys, exercises.check_hard_lookup, lookup), "this looks like ", says)


def test_softmax_jacobian_refuses_the_notebooks_finite_differences_and_names_a_1d_outer_product(capsys):
    namespace = {"np": numpy, "softmax": softmax, "__name__": "__main__"}
    exec("def jacobian_by_finite_differences(s, h=1e-5):\n"
         "    return np.stack([(softmax(s + h * e) - softmax(s - h * e)) / (2 * h) for e in np.eye(len(s))], axis=1)\n"
         "def mine(s):\n"
         "    return jacobian_by_finite_differences(s)\n", namespace)
    for answer in (namespace["jacobian_by_finite_differences"], namespace["mine"]):
        assert_wrong(run(capsys, exercises.check_softmax_jacobian, answer),
                     "the notebook's `jacobian_by_finite_differences`", "in closed form")
    assert_wrong(run(capsys, exercises.check_softmax_jacobian, lambda s: numpy.diag(softmax(s)) - softmax(s) @ softmax(s).T),
                 "p @ p.T with a 1-D p")


# ---------------------------------------------------------------- slips a probe of every check found (07, 06, 04)


def attention_written(max_keep=True, sum_keep=True, whole_sum=False, scores_of=None, scale=None, transpose_w=False,
                      after=False):
    """A learner's attention with one slip switched on."""
    def attend(q, k, v):
        s = (scores_of or (lambda q, k: q @ k.T))(q, k)
        if not after:
            s = s / (scale(q, k, v) if scale else np.sqrt(q.shape[-1]))
        e = np.exp(s - np.max(s, axis=-1, keepdims=max_keep))
        weights = e / (np.sum(e) if whole_sum else np.sum(e, axis=-1, keepdims=sum_keep))
        if after:
            weights = weights / np.sqrt(q.shape[-1])
        return (weights.T if transpose_w else weights) @ v, weights
    return attend


@pytest.mark.parametrize("mistake, says", [
    (attention_written(max_keep=False), "without keepdims=True"),
    (attention_written(sum_keep=False), "without keepdims=True"),
    (attention_written(max_keep=False, sum_keep=False), "without keepdims=True"),
    (attention_written(scores_of=lambda q, k: k @ q.T), "keys against queries"),
    (attention_written(transpose_w=True), "the weights transposed in the weighted sum"),
    (attention_written(whole_sum=True), "the sum over the whole matrix"),
    (attention_written(scale=lambda q, k, v: np.sqrt(v.shape[-1])), "the values' length d_v"),
    (attention_written(scale=lambda q, k, v: 1 / np.sqrt(q.shape[-1])), "multiplied by √d_k"),
    (attention_written(after=True), "divided by √d_k after the softmax"),
])
def test_attention_names_the_slips_a_learner_makes(capsys, mistake, says):
    assert_wrong(run(capsys, exercises.check_attention, mistake), "this looks like ", says)


def test_a_mistake_that_matches_on_one_input_only_is_not_named(capsys):
    """A fixed / 8 is "a division by d_k" on the input where d_k = 8, and not on the others: no name, the hint."""
    out = run(capsys, exercises.check_scaled_scores, lambda q, k: attention_scores(q, k) / 8)
    assert_wrong(out, "the scale depends on d_k alone")
    assert "this looks like" not in out


def test_scaled_scores_names_the_precedence_of_power_over_division(capsys):
    assert_wrong(run(capsys, exercises.check_scaled_scores, lambda q, k: attention_scores(q, k) / q.shape[-1] ** 1 / 2),
                 "this looks like ", "** binds before /")


def test_softmax_jacobian_names_finite_differences_written_out(capsys):
    def measured(s, h=1e-5):
        columns = [(softmax(s + h * np.eye(len(s))[j]) - softmax(s - h * np.eye(len(s))[j])) / (2 * h)
                   for j in range(len(s))]
        return np.stack(columns, axis=-1)

    assert_wrong(run(capsys, exercises.check_softmax_jacobian, measured), "this looks like an estimate",
                 "finite differences")

    def closed(s):  # another right form: p_i (δ_ij − p_j)
        p = softmax(s)
        return p[:, None] * (np.eye(len(p), dtype=p.dtype) - p[None, :])

    assert run(capsys, exercises.check_softmax_jacobian, closed).startswith("✅ Correct")
    assert run(capsys, exercises.check_softmax_jacobian, lambda s: closed(s.astype(np.float32))).startswith("✅ Correct")


@pytest.mark.parametrize("mistake, says", [
    (lambda w, v: sum(w[:, j] * v[j] for j in range(v.shape[0])) + np.zeros((w.shape[0], v.shape[1])),
     "weights[:, j] * v[j]"),
    (lambda w, v: (w[:, :, None] * v).sum(axis=0), "a sum over the queries (axis 0)"),
])
def test_weighted_sum_names_a_column_times_a_row_and_the_wrong_sum(capsys, mistake, says):
    assert_wrong(run(capsys, exercises.check_weighted_sum, mistake), "this looks like ", says)


@pytest.mark.parametrize("check, shortcut, says", [
    (exercises.check_weighted_sum, np.matmul, "`matmul`"),
    (exercises.check_weighted_sum, np.dot, "`dot`"),
    (exercises.check_weighted_sum, np.ndarray.dot, "`dot`"),
    (exercises.check_dot_product, functools.partial(np.einsum, "...i,...i->..."), "`einsum`"),
    (exercises.check_dot_product, np.inner, "`inner`"),
])
def test_a_forbidden_numpy_function_given_as_the_answer_itself_is_refused(capsys, check, shortcut, says):
    assert_wrong(run(capsys, check, shortcut), f"it uses {says}")


def test_a_function_that_returns_the_placeholder_is_not_attempted(capsys):
    assert run(capsys, exercises.check_dot_product, lambda a, b: ...).startswith("⏳ Not attempted yet")
    out = run(capsys, exercises.check_attention, lambda q, k, v: (..., q @ k.T))
    assert out.startswith("⏳ Not attempted yet") and "`out`" in out


def test_a_number_may_come_in_a_list_of_one_and_a_partly_filled_list_says_so(capsys):
    exercises.check_score_std([16.0], np.array([1.0]))
    assert "std_unscaled" in verdict(capsys) and "expected a number" not in verdict(capsys)
    exercises.check_weights_for_point([0.25, ..., 0.5], *triangle())
    out = verdict(capsys)
    assert out.startswith("⏳ Not attempted yet") and "still holds `...`" in out
    exercises.check_score_std([...], 1.0)
    out = verdict(capsys)
    assert "still holds `...`" in out and "Ellipsis" not in out


def test_a_slip_that_only_a_batch_shows_keeps_the_name_of_the_first(capsys):
    """q.shape[0] is the number of tokens on a matrix and the batch size on a batch: named on both."""
    assert_wrong(run(capsys, exercises.check_scaled_scores,
                     lambda q, k: q @ k.swapaxes(-1, -2) / np.sqrt(q.shape[0])), "this looks like ", "number of tokens")


def test_forward_differences_are_named_an_estimate_too(capsys):
    def forward(s, h=1e-4):
        return np.stack([(softmax(s + h * e) - softmax(s)) / h for e in np.eye(len(s))], axis=-1)

    assert_wrong(run(capsys, exercises.check_softmax_jacobian, forward), "this looks like an estimate")


def test_the_slips_of_00_05_and_08_a_probe_found_are_named(capsys):
    exercises.check_park_row(data.TOKENS.index("park"))
    assert_wrong(verdict(capsys), "is the position of 'park'")

    def by_rows(x):
        out = np.zeros_like(x)
        for i in range(x.shape[0]):
            e = np.exp(x[i] - np.max(x[i]))
            out[i] = e / np.sum(e)
        return out

    assert_wrong(run(capsys, exercises.check_stable_softmax, by_rows), "normalised on its own")
    titles, keys, _ = data.catalogue()

    def title(query, keys, values):
        return titles[int(np.argmax(keys @ query))] if len(keys) == len(titles) else values[0]

    assert_wrong(run(capsys, exercises.check_hard_lookup, title), "returns a book's title")
    exercises.check_weights_for_point(np.array([[0.25], [0.25], [0.5]]), *triangle())
    assert verdict(capsys).startswith("✅ Correct")


def test_temperature_names_one_maximum_for_the_whole_array(capsys):
    def global_max(x, t):
        s = x / t
        e = np.exp(s - s.max())
        return e / e.sum(axis=-1, keepdims=True)

    assert_wrong(run(capsys, exercises.check_softmax_temperature, global_max), "this looks like ", "one maximum")
