"""The named checks of notebooks 01-04: right answer, a typical wrong answer, the placeholder."""

from __future__ import annotations

import numpy
import pytest

import course_lib
from course_lib import dot_product, exercises
from conftest import placeholder, verdict


pytestmark = pytest.mark.usefixtures("numpy_backend")


# ---------------------------------------------------------------- notebook 01: dot product


def test_dot_product_accepts_a_sum_over_the_last_axis(capsys):
    exercises.check_dot_product(lambda a, b: numpy.sum(a * b, axis=-1))
    assert verdict(capsys).startswith("✅ Correct: my_dot_product() — it agrees with course_lib on all 4 test inputs")


def test_dot_product_rejects_a_matrix_product_for_stacks(capsys):
    exercises.check_dot_product(lambda a, b: a @ b)
    out = verdict(capsys)
    assert out.startswith("❌ Not yet: my_dot_product() — on test input 3 (argument shapes (4, 3), (4, 3)) it raised ValueError")
    assert "sum over the LAST axis" in out


def test_dot_product_rejects_a_sum_over_the_wrong_axis(capsys):
    exercises.check_dot_product(lambda a, b: numpy.sum(a * b, axis=0))
    out = verdict(capsys)
    assert "❌ Not yet" in out and "test input 3" in out and "expected shape (4,), got shape (3,)" in out


def test_dot_product_placeholder_is_not_attempted(capsys):
    exercises.check_dot_product(placeholder)
    assert verdict(capsys).startswith("⏳ Not attempted yet: my_dot_product()")


def test_cosine_similarity_accepts_the_formula(capsys):
    def cosine(a, b):
        return dot_product(a, b) / (numpy.linalg.norm(a, axis=-1) * numpy.linalg.norm(b, axis=-1))

    exercises.check_cosine_similarity(cosine)
    assert verdict(capsys).startswith("✅ Correct: cosine_similarity() — it agrees with course_lib on all 5 test inputs")


def test_cosine_similarity_rejects_squared_lengths(capsys):
    exercises.check_cosine_similarity(lambda a, b: dot_product(a, b) / (dot_product(a, a) * dot_product(b, b)))
    out = verdict(capsys)
    assert out.startswith("❌ Not yet: cosine_similarity() — on test input 1")
    assert "expected 0.8, got 0.16" in out and "a square root" in out


def test_cosine_similarity_rejects_the_raw_dot_product(capsys):
    exercises.check_cosine_similarity(dot_product)
    assert "❌ Not yet" in verdict(capsys)


def test_cosine_similarity_placeholder_is_not_attempted(capsys):
    exercises.check_cosine_similarity(placeholder)
    assert verdict(capsys).startswith("⏳ Not attempted yet: cosine_similarity()")


# ---------------------------------------------------------------- notebook 02: queries, keys, values


def test_projections_accept_x_times_each_matrix(capsys):
    exercises.check_projections(lambda x, w_q, w_k, w_v: (x @ w_q, x @ w_k, x @ w_v))
    assert verdict(capsys).startswith("✅ Correct: project() — it agrees with course_lib on all 3 test inputs")


def test_projections_reject_the_matrix_first(capsys):
    exercises.check_projections(lambda x, w_q, w_k, w_v: (w_q @ x, w_k @ x, w_v @ x))
    out = verdict(capsys)
    assert out.startswith("❌ Not yet: project() — on test input 1 (argument shapes")
    assert "not w_q @ x" in out


def test_projections_reject_a_swapped_matrix(capsys):
    exercises.check_projections(lambda x, w_q, w_k, w_v: (x @ w_q, x @ w_q, x @ w_v))
    out = verdict(capsys)
    assert "❌ Not yet: project() — `k` differs on test input 1" in out


def test_projections_reject_a_single_array(capsys):
    exercises.check_projections(lambda x, w_q, w_k, w_v: x @ w_q)
    assert "expected it to return 3 values (q, k, v), got a ndarray" in verdict(capsys)


def test_projections_placeholder_is_not_attempted(capsys):
    exercises.check_projections(placeholder)
    assert verdict(capsys).startswith("⏳ Not attempted yet: project()")


def test_sport_values_accept_three_one_hot_columns(capsys):
    exercises.check_sport_values(numpy.eye(8)[:, :3])
    assert verdict(capsys).startswith("✅ Correct: w_v_sport — it matches the expected array of shape (8, 3)")


@pytest.mark.parametrize("as_integers", [numpy.eye(8, dtype=int)[:, :3], numpy.eye(8, dtype=int)[:, :3].tolist()])
def test_sport_values_accept_a_zero_one_integer_matrix(capsys, as_integers):
    exercises.check_sport_values(as_integers)  # x @ W_v promotes integers, so 0/1 integers project just as well
    assert verdict(capsys).startswith("✅ Correct: w_v_sport")


def test_sport_values_reject_a_ragged_list(capsys):
    exercises.check_sport_values([[1, 0, 0]] * 7 + [[0, 0]])
    assert "got a list whose rows have different lengths" in verdict(capsys)


def test_sport_values_reject_a_square_matrix(capsys):
    exercises.check_sport_values(numpy.diag([1.0, 1.0, 1.0, 0, 0, 0, 0, 0]))
    out = verdict(capsys)
    assert "❌ Not yet: w_v_sport — expected shape (8, 3), got shape (8, 8)" in out and "xp.eye(8)" in out


def test_sport_values_reject_rows_for_columns(capsys):
    exercises.check_sport_values(numpy.eye(8)[:, [0, 2, 1]])
    assert "❌ Not yet: w_v_sport — first differing row is 1" in verdict(capsys)


def test_sport_values_placeholder_is_not_attempted(capsys):
    exercises.check_sport_values(...)
    assert verdict(capsys).startswith("⏳ Not attempted yet: w_v_sport")


# ---------------------------------------------------------------- notebook 03: transpose and scores


def test_attention_scores_accept_swapping_the_last_two_axes(capsys):
    exercises.check_attention_scores(lambda q, k: q @ numpy.swapaxes(k, -1, -2))
    assert verdict(capsys).startswith("✅ Correct: my_attention_scores() — it agrees with course_lib on all 4 test inputs")


def test_attention_scores_reject_dot_t_for_batches(capsys):
    exercises.check_attention_scores(lambda q, k: q @ k.T)
    out = verdict(capsys)
    assert out.startswith("❌ Not yet: my_attention_scores() — on test input 3 (argument shapes (2, 3, 4), (2, 5, 4)) it raised ValueError")
    assert "k.T reverses every axis" in out


def test_attention_scores_reject_no_transpose(capsys):
    exercises.check_attention_scores(lambda q, k: q @ k)
    assert verdict(capsys).startswith("❌ Not yet: my_attention_scores() — on test input 1 (argument shapes")


def test_attention_scores_placeholder_is_not_attempted(capsys):
    exercises.check_attention_scores(placeholder)
    assert verdict(capsys).startswith("⏳ Not attempted yet: my_attention_scores()")


@pytest.mark.parametrize(
    "answer, expected",
    [
        ((2, 5, 7), "✅ Correct: scores_shape — (2, 5, 7)"),
        ([2, 5, 7], "✅ Correct: scores_shape"),
        ((5, 7), "❌ Not yet: scores_shape — got (5, 7), which has 2 axes"),
        ((2, 7, 5), "❌ Not yet: scores_shape — got (2, 7, 5): the right sizes, in the wrong order"),
        ((2, 5, 16), "d_k = 16 is summed over"),
        ("2, 5, 7", "expected a tuple of whole numbers"),
        (..., "⏳ Not attempted yet: scores_shape"),
    ],
)
def test_scores_shape(capsys, answer, expected):
    exercises.check_scores_shape(answer)
    out = verdict(capsys)
    assert expected in out
    if out.startswith("❌"):
        assert "(2, 5, 7)" not in out  # the feedback must not give the prediction away


@pytest.mark.parametrize(
    "answer, expected",
    [
        ("park", "✅ Correct: best_key_for_go — 'park'"),
        ("go", "❌ Not yet: best_key_for_go — q_go · k_go = 1.32, but another key gets a higher score"),
        (6, "expected a token of the sentence as a string"),
        ("cricket", "'cricket' is not a token of the sentence"),
        (..., "⏳ Not attempted yet: best_key_for_go"),
    ],
)
def test_best_key_for_go(capsys, answer, expected):
    exercises.check_best_key_for_go(answer)
    out = verdict(capsys)
    assert expected in out
    if out.startswith("❌"):
        assert "'park'" not in out and "k_park" not in out  # the feedback must not give the answer away


# ---------------------------------------------------------------- notebook 04: scaling


def test_score_std_accepts_the_square_root(capsys):
    exercises.check_score_std(16, 1.0)
    out = verdict(capsys)
    assert "✅ Correct: std_unscaled — 16.0" in out and "✅ Correct: std_scaled — 1.0" in out


def test_score_std_rejects_the_variance(capsys):
    exercises.check_score_std(256.0, 1.0)
    out = verdict(capsys)
    assert "❌ Not yet: std_unscaled — got 256.0: that is the variance" in out and "square root" in out
    assert "✅ Correct: std_scaled" in out
    assert "16" not in out.replace("256", "")  # the feedback must not give the prediction away


def test_score_std_rejects_dividing_by_d_k(capsys):
    exercises.check_score_std(16.0, 1 / 16)
    out = verdict(capsys)
    assert "✅ Correct: std_unscaled" in out
    assert "❌ Not yet: std_scaled — got 0.0625: that divides the standard deviation by d_k" in out


def test_score_std_recognises_swapped_spreads(capsys):
    exercises.check_score_std(1.0, 16.0)
    out = verdict(capsys)
    assert "❌ Not yet: std_unscaled — got 1.0: that is the spread after scaling" in out
    assert "❌ Not yet: std_scaled — got 16.0: that is the standard deviation before scaling" in out


def test_score_std_rejects_a_non_number(capsys):
    exercises.check_score_std("16", 1.0)
    assert "❌ Not yet: std_unscaled — expected a number, got a str" in verdict(capsys)


def test_score_std_placeholders_are_not_attempted(capsys):
    exercises.check_score_std(..., ...)
    out = verdict(capsys)
    assert "⏳ Not attempted yet: std_unscaled" in out and "⏳ Not attempted yet: std_scaled" in out


def test_scaled_scores_accept_division_by_the_root_of_d_k(capsys):
    exercises.check_scaled_scores(lambda q, k: q @ numpy.swapaxes(k, -1, -2) / numpy.sqrt(q.shape[-1]))
    assert verdict(capsys).startswith("✅ Correct: my_scaled_scores() — it agrees with course_lib on all 3 test inputs")


def test_scaled_scores_reject_division_by_d_k(capsys):
    exercises.check_scaled_scores(lambda q, k: q @ numpy.swapaxes(k, -1, -2) / q.shape[-1])
    out = verdict(capsys)
    assert out.startswith("❌ Not yet: my_scaled_scores() — on test input 1 (argument shapes (9, 8), (9, 8))")
    assert "SQUARE ROOT" in out


def test_scaled_scores_reject_the_number_of_tokens(capsys):
    exercises.check_scaled_scores(lambda q, k: q @ numpy.swapaxes(k, -1, -2) / numpy.sqrt(q.shape[-2]))
    assert "❌ Not yet: my_scaled_scores() — on test input 1" in verdict(capsys)


def test_scaled_scores_placeholder_is_not_attempted(capsys):
    exercises.check_scaled_scores(placeholder)
    assert verdict(capsys).startswith("⏳ Not attempted yet: my_scaled_scores()")


def _finite_difference_jacobian(s, h=1e-6):
    eye = numpy.eye(len(s))
    return numpy.stack([(course_lib.softmax(s + h * e) - course_lib.softmax(s - h * e)) / (2 * h) for e in eye], axis=-1)


def test_softmax_jacobian_reference_agrees_with_finite_differences(capsys):
    exercises.check_softmax_jacobian(_finite_difference_jacobian)
    assert verdict(capsys).startswith("✅ Correct: softmax_jacobian() — it agrees with course_lib on all 4 test inputs")


def test_softmax_jacobian_rejects_the_flipped_sign(capsys):
    def flipped(s):
        p = course_lib.softmax(s)
        return numpy.outer(p, p) - numpy.diag(p)

    exercises.check_softmax_jacobian(flipped)
    out = verdict(capsys)
    assert out.startswith("❌ Not yet: softmax_jacobian() — on test input 1 (argument shapes (3,)): first differing row is 0")
    assert "diagonal matrix with p on its diagonal" in out


def test_softmax_jacobian_rejects_a_missing_diagonal(capsys):
    exercises.check_softmax_jacobian(lambda s: -numpy.outer(course_lib.softmax(s), course_lib.softmax(s)))
    assert "❌ Not yet" in verdict(capsys)


def test_softmax_jacobian_placeholder_is_not_attempted(capsys):
    exercises.check_softmax_jacobian(placeholder)
    assert verdict(capsys).startswith("⏳ Not attempted yet: softmax_jacobian()")
