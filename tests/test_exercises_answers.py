"""No check raises, whatever a learner passes it: every value check gets a table of odd answers,
every function check a table of functions returning odd things, and each gets a verdict — never a
traceback, never the check's own "could not read this answer" safety net."""

from __future__ import annotations

import numpy
import pytest

from course_lib import data, exercises
from conftest import verdict

pytestmark = pytest.mark.usefixtures("numpy_backend")

array_api_strict = pytest.importorskip("array_api_strict")

ODD_ANSWERS = {
    "None": None,
    "int": 3,
    "float": 2.5,
    "nan": float("nan"),
    "bool": True,
    "str": "parks",
    "bytes": b"parks",
    "empty list": [],
    "ragged list": [[1.0, 2.0], [3.0]],
    "nested tokens": [["go"], "park"],
    "dict": {"a": 1},
    "set": {1, 2},
    "empty array": numpy.array([]),
    "2x2 array": numpy.array([[1.0, 2.0], [3.0, 4.0]]),
    "string array": numpy.array(["a", "b"]),
    "object array": numpy.array([None, 1.0], dtype=object),
    "complex array": numpy.array([1 + 2j, 3.0]),
    "numpy float": numpy.float64(1.5),
    "numpy str": numpy.str_("x"),
    "array-api-strict array": array_api_strict.asarray([1.0, 2.0, 3.0]),
    "function": len,
    "object": object(),
}

VALUE_CHECKS = {
    "park_row": exercises.check_park_row,
    "outdoor_words": exercises.check_outdoor_words,
    "sport_values": exercises.check_sport_values,
    "scores_shape": exercises.check_scores_shape,
    "best_key_for_go": exercises.check_best_key_for_go,
    "score_std": lambda answer: exercises.check_score_std(answer, answer),
    "weights_for_point": lambda answer: exercises.check_weights_for_point(
        answer, numpy.array([[0.0, 0.0], [2.0, 0.0], [0.0, 2.0]]), numpy.array([0.5, 1.0])),
    "top_tokens_for_play": exercises.check_top_tokens_for_play,
    "top_tokens_for_go": exercises.check_top_tokens_for_go,
    "top_book": exercises.check_top_book,
    "reversal_w_q": exercises.check_reversal_w_q,
    "attention_cost (memory)": lambda answer: exercises.check_attention_cost(answer, ...),
    "attention_cost (work)": lambda answer: exercises.check_attention_cost(..., answer),
}

FUNCTION_CHECKS = {
    "dot_product": exercises.check_dot_product,
    "cosine_similarity": exercises.check_cosine_similarity,
    "projections": exercises.check_projections,
    "attention_scores": exercises.check_attention_scores,
    "scaled_scores": exercises.check_scaled_scores,
    "softmax_jacobian": exercises.check_softmax_jacobian,
    "stable_softmax": exercises.check_stable_softmax,
    "softmax_temperature": exercises.check_softmax_temperature,
    "weighted_sum": exercises.check_weighted_sum,
    "attention": exercises.check_attention,
    "hard_lookup": exercises.check_hard_lookup,
    "causal_self_attention": exercises.check_causal_self_attention,
    "padding_mask": exercises.check_padding_mask,
    "cross_attention": exercises.check_cross_attention,
    "split_heads": exercises.check_split_heads,
    "multi_head_attention": exercises.check_multi_head_attention,
    "softmax_backward": exercises.check_softmax_backward,
    "weighted_sum_backward": exercises.check_weighted_sum_backward,
    "online_softmax_update": exercises.check_online_softmax_update,
}


def assert_a_verdict(out: str) -> None:
    assert out.startswith(("❌ Not yet", "⏳ Not attempted yet")), out
    assert "could not read this answer" not in out, out
    assert "Traceback" not in out


@pytest.mark.parametrize("answer", ODD_ANSWERS.values(), ids=ODD_ANSWERS.keys())
@pytest.mark.parametrize("check", VALUE_CHECKS.values(), ids=VALUE_CHECKS.keys())
def test_value_checks_give_every_odd_answer_a_verdict(capsys, check, answer):
    check(answer)
    for line in verdict(capsys).split("\n"):
        if line.startswith(("❌", "⏳", "✅")):
            assert_a_verdict(line)


@pytest.mark.parametrize("answer", ODD_ANSWERS.values(), ids=ODD_ANSWERS.keys())
@pytest.mark.parametrize("check", FUNCTION_CHECKS.values(), ids=FUNCTION_CHECKS.keys())
def test_function_checks_give_every_odd_return_value_a_verdict(capsys, check, answer):
    def returns_it(*args):
        return answer

    check(returns_it)
    assert_a_verdict(verdict(capsys))


@pytest.mark.parametrize("answer", [None, 3, "f", [len]], ids=["None", "int", "str", "list"])
@pytest.mark.parametrize("check", FUNCTION_CHECKS.values(), ids=FUNCTION_CHECKS.keys())
def test_function_checks_given_no_function(capsys, check, answer):
    check(answer)
    assert_a_verdict(verdict(capsys))


RIGHT_IN_EVERY_FORM = [
    (exercises.check_park_row, lambda: [list, tuple, numpy.asarray, array_api_strict.asarray],
     lambda: numpy.asarray(data.sentence_embeddings())[6].tolist()),
    (exercises.check_outdoor_words, lambda: [list, tuple, numpy.asarray], lambda: ["go", "park"]),
    (exercises.check_top_tokens_for_play, lambda: [list, tuple, numpy.asarray], lambda: ["play", "park", "go"]),
    (exercises.check_top_tokens_for_go, lambda: [list, tuple, numpy.asarray], lambda: ["park", "play", "go"]),
    (exercises.check_scores_shape, lambda: [list, tuple, numpy.asarray], lambda: [2, 5, 7]),
    (exercises.check_best_key_for_go, lambda: [str, numpy.str_, numpy.asarray], lambda: "park"),
    (exercises.check_top_book, lambda: [str, numpy.str_, numpy.asarray], lambda: "How Computers Learned"),
    (exercises.check_sport_values, lambda: [list, numpy.asarray, array_api_strict.asarray],
     lambda: numpy.eye(8)[:, :3].tolist()),
    (exercises.check_reversal_w_q, lambda: [list, tuple, numpy.asarray, array_api_strict.asarray],
     lambda: (20.0 * numpy.eye(6)[::-1]).tolist()),
]


@pytest.mark.parametrize("check, forms, answer", RIGHT_IN_EVERY_FORM,
                         ids=[c.__name__ for c, _, _ in RIGHT_IN_EVERY_FORM])
def test_a_right_answer_is_right_in_every_natural_form(capsys, check, forms, answer):
    for form in forms():
        check(form(answer()))
        out = verdict(capsys)
        assert out.startswith("✅ Correct"), f"{form.__name__}: {out}"
