"""course_lib.exercises: the generic checks' verdicts, and notebook 00's checks."""

from __future__ import annotations

import warnings

import numpy
import pytest

from course_lib import data, exercises, softmax
from conftest import verdict


def test_check_array_correct(capsys):
    exercises.check_array(numpy.array([1.0, 2.0]), numpy.array([1.0, 2.0 + 1e-12]), name="v")
    assert verdict(capsys).startswith("✅ Correct: v")


def test_check_array_reports_the_shape(capsys):
    exercises.check_array(numpy.ones((2, 3)), numpy.ones((3, 2)), name="m", hint="transpose?")
    out = verdict(capsys)
    assert out.startswith("❌ Not yet: m — expected shape (3, 2), got shape (2, 3)")
    assert "Hint: transpose?" in out


def test_check_array_reports_the_first_differing_row(capsys):
    expected = numpy.arange(6.0).reshape(3, 2)
    got = expected.copy()
    got[1, 1] = 99.0
    exercises.check_array(got, expected, name="m")
    out = verdict(capsys)
    assert "first differing row is 1" in out and "expected [2. 3.]" in out and "got      [ 2. 99.]" in out


def test_check_array_reports_an_integer_answer_for_floats(capsys):
    exercises.check_array(numpy.array([1, 2]), numpy.array([1.0, 2.0]), name="v")
    assert "expected floating-point numbers" in verdict(capsys)


def test_check_array_reports_a_non_array(capsys):
    exercises.check_array("park", numpy.ones(3), name="v")
    assert "expected an array of shape (3,), got a str" in verdict(capsys)


def test_check_array_placeholder_is_not_attempted(capsys):
    exercises.check_array(..., numpy.ones(3), name="v")
    assert verdict(capsys).startswith("⏳ Not attempted yet: v")


def test_check_value(capsys):
    exercises.check_value(0.1 + 0.2, 0.3, name="x")
    assert verdict(capsys).startswith("✅ Correct: x")
    exercises.check_value(["a"], ["a", "b"], name="words", hint="two")
    out = verdict(capsys)
    assert "❌ Not yet: words — expected ['a', 'b'], got ['a']" in out and "Hint: two" in out
    exercises.check_value(..., 3, name="x")
    assert verdict(capsys).startswith("⏳ Not attempted yet")


def naive_softmax(x):
    e = numpy.exp(x)
    return e / e.sum(axis=-1, keepdims=True)


def test_check_function_correct(capsys):
    exercises.check_function(naive_softmax, softmax, [(numpy.array([[1.0, 2.0]]),), (numpy.zeros((2, 3)),)])
    assert verdict(capsys).startswith("✅ Correct: naive_softmax() — it agrees with course_lib on all 2 test inputs")


def test_check_function_names_the_failing_input(capsys):
    def wrong(x):
        return numpy.exp(x)

    exercises.check_function(wrong, softmax, [(numpy.zeros((2, 2)),)], hint="divide by the sum")
    out = verdict(capsys)
    assert out.startswith("❌ Not yet: wrong() — on test input 1 (argument shapes (2, 2)): first differing row is 0")
    assert "Hint: divide by the sum" in out


def test_check_function_reports_an_exception_instead_of_a_traceback(capsys):
    def broken(x):
        return x @ numpy.ones((5, 5))

    exercises.check_function(broken, softmax, [(numpy.zeros((2, 2)),)])
    assert "on test input 1 (argument shapes (2, 2)) it raised ValueError" in verdict(capsys)


def test_check_array_reports_a_ragged_list_instead_of_raising(capsys):
    exercises.check_array([[1.0, 0.0], [1.0]], numpy.eye(2), name="rows")
    assert "❌ Not yet: rows — expected an array of shape (2, 2), got a list whose rows have different lengths" in verdict(capsys)


def test_check_function_not_attempted(capsys):
    def placeholder(x):
        raise NotImplementedError("write your solution here")

    exercises.check_function(placeholder, softmax, [(numpy.zeros(2),)])
    assert verdict(capsys).startswith("⏳ Not attempted yet: placeholder()")


def test_check_function_compares_tuples(capsys):
    def pair(x):
        return x, 2 * x

    exercises.check_function(pair, lambda x: (x, 3 * x), [(numpy.ones(2),)])
    assert "`result 1` differs on test input 1" in verdict(capsys)
    exercises.check_function(lambda x: x, lambda x: (x, x), [(numpy.ones(2),)], name="f")
    assert "expected it to return 2 values (result 0, result 1), got a ndarray" in verdict(capsys)


# ---------------------------------------------------------------- notebook 00


def test_check_park_row(capsys):
    x = data.sentence_embeddings()
    exercises.check_park_row(x[data.TOKENS.index("park")])
    assert verdict(capsys).startswith("✅ Correct: x_park")
    exercises.check_park_row(x[data.TOKENS.index("play")])
    assert "first difference at index 0" in verdict(capsys)
    exercises.check_park_row(x[:, 6])
    assert "expected shape (8,), got shape (9,)" in verdict(capsys)
    exercises.check_park_row(...)
    assert verdict(capsys).startswith("⏳ Not attempted yet")


@pytest.mark.parametrize(
    "answer, expected",
    [
        (["go", "park"], "✅ Correct: outdoor_words"),
        (["park"], "❌ Not yet: outdoor_words — 1 token(s) with outdoors > 0.3 are missing"),
        (["go", "park", "play"], "❌ Not yet: outdoor_words — 'play' has outdoors = 0.3, which is not greater than 0.3"),
        (["go", "parks"], "'parks' is not a token of the sentence"),
        (["park", "go"], "the right tokens, but not once each in sentence order"),
        ([["go"], "park"], "['go'] is not a token of the sentence; list the tokens themselves, as strings"),
        (("go", "park"), "expected a list of tokens, got a tuple"),
        (..., "⏳ Not attempted yet: outdoor_words"),
    ],
)
def test_check_outdoor_words(capsys, answer, expected):
    exercises.check_outdoor_words(answer)
    out = verdict(capsys)
    assert expected in out
    if out.startswith("❌"):
        assert "['go', 'park']" not in out  # the feedback must not give the answer away


def test_check_function_names_the_parts_of_a_tuple(capsys):
    exercises.check_function(lambda x: (x, 2 * x), lambda x: (x, 3 * x), [(numpy.ones(2),)], name="f",
                             returns=("out", "weights"))
    assert "`weights` differs on test input 1" in verdict(capsys)
    exercises.check_function(lambda x: (x, x, x), lambda x: (x, x), [(numpy.ones(2),)], name="f",
                             returns=("out", "weights"))
    assert "expected it to return 2 values (out, weights), got 3 values" in verdict(capsys)


def test_check_function_keeps_numpy_warnings_out_of_the_verdict(capsys):
    def naive(x):
        return numpy.exp(x) / numpy.exp(x).sum(axis=-1, keepdims=True)

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a RuntimeWarning from the learner's overflow would fail here
        exercises.check_function(naive, softmax, [(numpy.array([1000.0, 0.0]),)])
    assert "first difference at index 0: expected 1, got nan" in verdict(capsys)
