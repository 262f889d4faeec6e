"""The named checks of notebooks 05-08: right answer, a typical wrong answer, the placeholder."""

from __future__ import annotations

import numpy
import pytest

from course_lib import data, exercises, scaled_dot_product_attention, softmax, weighted_sum
from conftest import placeholder, verdict


pytestmark = pytest.mark.usefixtures("numpy_backend")


# ---------------------------------------------------------------- notebook 05: softmax


def test_stable_softmax_accepts_course_lib_softmax(capsys):
    exercises.check_stable_softmax(softmax)
    assert "✅ Correct" in verdict(capsys)


def test_stable_softmax_rejects_one_max_for_the_whole_matrix(capsys):
    def one_max(x):
        e = numpy.exp(x - numpy.max(x))
        return e / numpy.sum(e, axis=-1, keepdims=True)

    with numpy.errstate(all="ignore"):
        exercises.check_stable_softmax(one_max)
    out = verdict(capsys)
    assert "❌ Not yet" in out and "test input 2" in out and "nan" in out and "each row's own maximum" in out


def test_stable_softmax_rejects_naive_formula(capsys):
    def naive(x):
        e = numpy.exp(x)
        return e / numpy.sum(e, axis=-1, keepdims=True)

    with numpy.errstate(all="ignore"):
        exercises.check_stable_softmax(naive)
    assert "❌ Not yet" in verdict(capsys)


def test_stable_softmax_placeholder_is_not_attempted(capsys):
    exercises.check_stable_softmax(placeholder)
    assert "⏳ Not attempted yet" in verdict(capsys)


def test_softmax_temperature_accepts_division(capsys):
    exercises.check_softmax_temperature(lambda x, t: softmax(x / t))
    assert "✅ Correct" in verdict(capsys)


def test_softmax_temperature_rejects_multiplication(capsys):
    exercises.check_softmax_temperature(lambda x, t: softmax(x * t))
    out = verdict(capsys)
    assert "❌ Not yet" in out and "expected" in out and "divide the scores by the temperature" in out


def test_softmax_temperature_placeholder_is_not_attempted(capsys):
    exercises.check_softmax_temperature(placeholder)
    assert "⏳ Not attempted yet" in verdict(capsys)


# ---------------------------------------------------------------- notebook 06: weighted sum


def test_weighted_sum_accepts_matrix_product(capsys):
    exercises.check_weighted_sum(lambda weights, v: weights @ v)
    assert "✅ Correct" in verdict(capsys)


def test_weighted_sum_rejects_transposed_weights(capsys):
    exercises.check_weighted_sum(lambda weights, v: v.T @ weights.T)  # (d_v, T_q) instead of (T_q, d_v)
    out = verdict(capsys)
    assert "❌ Not yet" in out and "shape" in out and "one weight per value ROW" in out


def test_weighted_sum_placeholder_is_not_attempted(capsys):
    exercises.check_weighted_sum(placeholder)
    assert "⏳ Not attempted yet" in verdict(capsys)


V_TRIANGLE = numpy.array([[0.0, 0.0], [4.0, 0.0], [0.0, 4.0]])
TARGET = numpy.array([1.0, 2.0])


def test_weights_for_point_accepts_barycentric_coordinates(capsys):
    exercises.check_weights_for_point(numpy.array([0.25, 0.25, 0.5]), V_TRIANGLE, TARGET)
    out = verdict(capsys)
    assert "✅ Correct" in out
    # the answer it accepts really mixes the values into the target
    numpy.testing.assert_allclose(weighted_sum(numpy.array([[0.25, 0.25, 0.5]]), V_TRIANGLE)[0], TARGET)


def test_weights_for_point_says_where_wrong_weights_land(capsys):
    exercises.check_weights_for_point([1 / 3, 1 / 3, 1 / 3], V_TRIANGLE, TARGET)
    out = verdict(capsys)
    assert "❌ Not yet" in out and "(1.33, 1.33), not (1, 2)" in out
    assert "0.25" not in out and "0.5" not in out  # the feedback must not give the weights away


def test_weights_for_point_names_a_negative_weight_and_a_wrong_sum(capsys):
    exercises.check_weights_for_point([-0.5, 0.25, 0.5], V_TRIANGLE, TARGET)
    out = verdict(capsys)
    assert "weight 0 is negative (-0.5)" in out and "your weights sum to 0.25, not 1" in out


def test_weights_for_point_rejects_the_wrong_number_of_weights(capsys):
    exercises.check_weights_for_point([0.5, 0.5], V_TRIANGLE, TARGET)
    assert "expected 3 weights, one per value row, got shape (2,)" in verdict(capsys)


def test_weights_for_point_placeholder_is_not_attempted(capsys):
    exercises.check_weights_for_point(..., V_TRIANGLE, TARGET)
    assert "⏳ Not attempted yet" in verdict(capsys)


# ---------------------------------------------------------------- notebook 07: scaled dot-product attention


def test_attention_accepts_course_lib(capsys):
    exercises.check_attention(scaled_dot_product_attention)
    assert "✅ Correct" in verdict(capsys)


def test_attention_rejects_missing_scale(capsys):
    def unscaled(q, k, v):
        weights = softmax(q @ k.T)
        return weights @ v, weights

    exercises.check_attention(unscaled)
    out = verdict(capsys)
    assert "❌ Not yet" in out and "`out` differs on test input 1" in out and "sqrt(d_k)" in out


def test_attention_rejects_softmax_over_the_wrong_axis(capsys):
    def columns(q, k, v):
        weights = softmax(q @ k.T / q.shape[-1] ** 0.5, axis=0)
        return weights @ v, weights

    exercises.check_attention(columns)
    assert "❌ Not yet" in verdict(capsys)


def test_attention_placeholder_is_not_attempted(capsys):
    exercises.check_attention(placeholder)
    assert "⏳ Not attempted yet" in verdict(capsys)


def test_top_tokens_for_play_accepts_the_largest_weights_first(capsys):
    x = data.sentence_embeddings()
    w_q, w_k, w_v = data.park_projections()
    _, weights = scaled_dot_product_attention(x @ w_q, x @ w_k, x @ w_v)
    row = weights[data.TOKENS.index("play")]
    answer = [data.TOKENS[j] for j in numpy.argsort(-row)[:3]]
    exercises.check_top_tokens_for_play(answer)
    assert "✅ Correct" in verdict(capsys)


def test_top_tokens_for_play_rejects_the_wrong_order(capsys):
    exercises.check_top_tokens_for_play(["park", "play", "go"])
    out = verdict(capsys)
    assert "❌ Not yet: top3_for_play — the right three tokens, in the wrong order" in out
    assert "['play', 'park', 'go']" not in out  # the feedback must not give the answer away


def test_top_tokens_for_play_rejects_a_token_that_is_not_in_the_top_three(capsys):
    exercises.check_top_tokens_for_play(["play", "park", "the"])
    out = verdict(capsys)
    assert "not the three largest weights; yours get play 0.2" in out and "the 0.0" in out


def test_top_tokens_for_play_rejects_a_string(capsys):
    exercises.check_top_tokens_for_play("play")
    assert "❌ Not yet" in verdict(capsys)


def test_top_tokens_for_play_placeholder_is_not_attempted(capsys):
    exercises.check_top_tokens_for_play(...)
    assert "⏳ Not attempted yet" in verdict(capsys)


# ---------------------------------------------------------------- notebook 08: library analogy


def test_hard_lookup_accepts_the_best_card(capsys):
    exercises.check_hard_lookup(lambda query, keys, values: values[int(numpy.argmax(keys @ query))])
    assert "✅ Correct" in verdict(capsys)


def test_hard_lookup_rejects_the_soft_blend(capsys):
    def soft(query, keys, values):
        return scaled_dot_product_attention(query[None, :], keys, values)[0][0]

    exercises.check_hard_lookup(soft)
    out = verdict(capsys)
    assert "❌ Not yet" in out and "expected 0.9" in out and "xp.argmax" in out


def test_hard_lookup_rejects_the_whole_row_of_values(capsys):
    exercises.check_hard_lookup(lambda query, keys, values: values)
    assert "❌ Not yet" in verdict(capsys)


def test_hard_lookup_placeholder_is_not_attempted(capsys):
    exercises.check_hard_lookup(placeholder)
    assert "⏳ Not attempted yet" in verdict(capsys)


def test_top_book_accepts_the_book_about_both_topics(capsys):
    titles, keys, values = data.catalogue()
    query = data.topic_query("machine learning", "history")
    _, weights = scaled_dot_product_attention(query[None, :], keys, values)
    exercises.check_top_book(titles[int(numpy.argmax(weights[0]))])
    assert "✅ Correct" in verdict(capsys)


def test_top_book_rejects_the_best_book_for_one_topic(capsys):
    exercises.check_top_book("Neural Networks by Hand")
    out = verdict(capsys)
    assert "❌ Not yet: top_book — 'Neural Networks by Hand' gets weight 0.1" in out and "another book gets more" in out
    assert "topic_query" in out


@pytest.mark.parametrize("answer, expected", [(3, "expected a title in the catalogue as a string"),
                                              ("Deep Learning", "'Deep Learning' is not a title in the catalogue")])
def test_top_book_rejects_what_is_not_a_title(capsys, answer, expected):
    exercises.check_top_book(answer)
    assert expected in verdict(capsys)


def test_top_book_placeholder_is_not_attempted(capsys):
    exercises.check_top_book(...)
    assert "⏳ Not attempted yet" in verdict(capsys)
