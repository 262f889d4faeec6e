"""course_lib.exercises.verdict: the machinery every check shares."""

from __future__ import annotations

import warnings
from fractions import Fraction

import numpy
import pytest

import course_lib
from course_lib import exercises, softmax
from course_lib.exercises.verdict import Forbidden, Mistake, as_number, as_numpy, as_strings, check_pick
from conftest import verdict


def naive_softmax(x):
    e = numpy.exp(x)
    return e / e.sum(axis=-1, keepdims=True)


def stable(x):
    e = numpy.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


# ---------------------------------------------------------------- check_array and check_value


def test_check_array_correct(capsys):
    exercises.check_array(numpy.array([1.0, 2.0]), numpy.array([1.0, 2.0 + 1e-12]), name="v")
    assert verdict(capsys).startswith("✅ Correct: v")


@pytest.mark.parametrize("answer", [[1.0, 2.0], (1.0, 2.0), numpy.array([1.0, 2.0]), [numpy.float64(1.0), 2.0]])
def test_check_array_accepts_every_natural_form(capsys, answer):
    exercises.check_array(answer, numpy.array([1.0, 2.0]), name="v")
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


def test_check_array_compares_integers_by_value(capsys):
    exercises.check_array(numpy.array([1, 2]), numpy.array([1.0, 2.0]), name="v")
    assert verdict(capsys).startswith("✅ Correct")
    exercises.check_array([0, 1], numpy.array([0.5, 1.0]), name="v")
    assert "first difference at index 0: expected 0.5, got 0" in verdict(capsys)


@pytest.mark.parametrize(
    "answer, says",
    [
        ("park", "got a str"),
        (None, "got None"),
        ([[1.0, 0.0], [1.0]], "whose rows have different lengths"),
        (numpy.array(["a", "b", "c"]), "of text entries, not (real) numbers"),
        ({"a": 1}, "got a dict"),
        (numpy.array([None, 1.0, 2.0], dtype=object), "of mixed entries"),
    ],
)
def test_check_array_gives_odd_answers_a_verdict(capsys, answer, says):
    exercises.check_array(answer, numpy.ones(3), name="v")
    out = verdict(capsys)
    assert out.startswith("❌ Not yet: v") and says in out


def test_check_array_names_an_overflow(capsys):
    exercises.check_array(numpy.array([numpy.nan, 1.0]), numpy.array([0.5, 0.5]), name="v")
    assert "an overflow, such as exp of a large score, or 0 / 0" in verdict(capsys)
    exercises.check_array(numpy.array([numpy.inf, -numpy.inf]), numpy.array([0.5, 0.5]), name="v")
    assert "an overflow, such as exp of a large score, or 0 / 0" in verdict(capsys)


def test_check_array_names_a_minus_infinity_kept_not_an_overflow(capsys):
    exercises.check_array(numpy.array([-numpy.inf, 1.0]), numpy.array([0.5, 0.5]), name="v")
    out = verdict(capsys)
    assert "−inf where the expected numbers are finite: a −inf, such as a mask's or a starting value's" in out
    assert "overflow" not in out


def test_check_array_placeholder_is_not_attempted(capsys):
    exercises.check_array(..., numpy.ones(3), name="v")
    assert verdict(capsys).startswith("⏳ Not attempted yet: v")


def test_check_value(capsys):
    exercises.check_value(0.1 + 0.2, 0.3, name="x")
    assert verdict(capsys).startswith("✅ Correct: x")
    exercises.check_value(numpy.float32(0.3), 0.3, name="x")
    assert verdict(capsys).startswith("✅ Correct: x")
    exercises.check_value(numpy.array(["a", "b"]), ["a", "b"], name="words")
    assert verdict(capsys).startswith("✅ Correct: words")
    exercises.check_value(["a"], ["a", "b"], name="words", hint="two")
    out = verdict(capsys)
    assert "❌ Not yet: words — expected ['a', 'b'], got ['a']" in out and "Hint: two" in out
    exercises.check_value(True, 1.0, name="x")
    assert verdict(capsys).startswith("❌ Not yet: x")
    exercises.check_value(..., 3, name="x")
    assert verdict(capsys).startswith("⏳ Not attempted yet")


def test_readers_accept_natural_forms_and_refuse_the_rest():
    assert as_number(numpy.int64(3)) == 3.0 and as_number(numpy.asarray(2.5)) == 2.5 and as_number(4) == 4.0
    assert as_number(True) is None and as_number("3") is None and as_number(numpy.ones(2)) is None
    assert as_number(Fraction(1, 4)) == 0.25 and as_number(numpy.bool_(True)) is None
    assert as_numpy([Fraction(1, 4), 0.5])[0].tolist() == [0.25, 0.5]
    assert as_numpy([Fraction(1, 4), True])[0] is None and as_numpy([Fraction(1, 4), "a"])[0] is None
    assert as_strings(("a", numpy.str_("b"))) == ["a", "b"] and as_strings(numpy.array(["a"])) == ["a"]
    assert as_strings("ab") is None and as_strings([1, 2]) is None and as_strings(numpy.array([[b"a"]])) is None
    assert as_numpy([[1, 2], [3]])[0] is None and as_numpy(lambda: 0)[0] is None


def test_check_pick_names_a_known_mistake_and_never_the_answer(capsys):
    options = ("a", "b", "c")
    kwargs = dict(name="pick", kind="letter", listed_in="options", hint="look again",
                  why_not=lambda p: f"{p} scores less", known={"c": "c is the column"})
    check_pick("b", "a", options, **kwargs)
    assert "b scores less" in verdict(capsys)
    check_pick(numpy.str_("c"), "a", options, **kwargs)
    assert "c is the column" in verdict(capsys)
    check_pick(numpy.str_("a"), "a", options, **kwargs)
    assert verdict(capsys).startswith("✅ Correct")
    check_pick(["a"], "a", options, **kwargs)
    out = verdict(capsys)
    assert "expected a letter as a string" in out


# ---------------------------------------------------------------- check_function


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


def test_check_function_names_a_known_mistake(capsys):
    mistakes = [Mistake("no normalisation", numpy.exp), Mistake("the naive softmax", naive_softmax)]
    exercises.check_function(numpy.exp, softmax, [(numpy.zeros((2, 2)),)], mistakes=mistakes, name="f")
    assert "on test input 1 (argument shapes (2, 2)): this looks like no normalisation" in verdict(capsys)


def test_a_mistake_that_cannot_run_is_not_matched(capsys):
    def broken(x):
        raise ValueError("no")

    exercises.check_function(numpy.exp, softmax, [(numpy.zeros(2),)], mistakes=[Mistake("broken", broken)], name="f")
    out = verdict(capsys)
    assert "looks like" not in out and "first difference at index 0" in out


def test_check_function_reports_an_exception_instead_of_a_traceback(capsys):
    def broken(x):
        return x @ numpy.ones((5, 5))

    exercises.check_function(broken, softmax, [(numpy.zeros((2, 2)),)])
    assert "on test input 1 (argument shapes (2, 2)) it raised ValueError" in verdict(capsys)


def test_check_function_not_attempted(capsys):
    def placeholder(x):
        raise NotImplementedError("write your solution here")

    exercises.check_function(placeholder, softmax, [(numpy.zeros(2),)])
    assert verdict(capsys).startswith("⏳ Not attempted yet: placeholder()")


@pytest.mark.parametrize("answer, says", [(None, "expected a function, got None"), (3, "got an int"),
                                          (..., "⏳ Not attempted yet")])
def test_check_function_given_no_function(capsys, answer, says):
    exercises.check_function(answer, softmax, [(numpy.zeros(2),)], name="f()")
    assert says in verdict(capsys)


def test_check_function_compares_tuples(capsys):
    exercises.check_function(lambda x: (x, 2 * x), lambda x: (x, 3 * x), [(numpy.ones(2),)], name="f",
                             returns=("out", "weights"))
    assert "`weights` differs: first difference at index 0" in verdict(capsys)
    exercises.check_function(lambda x: (x, x, x), lambda x: (x, x), [(numpy.ones(2),)], name="f",
                             returns=("out", "weights"))
    assert "expected it to return 2 values (out, weights), got 3 values" in verdict(capsys)
    exercises.check_function(lambda x: x, lambda x: (x, x), [(numpy.ones(2),)], name="f")
    assert "expected it to return 2 values (result 0, result 1), got a NumPy array of shape (2,)" in verdict(capsys)


def test_check_function_names_a_swapped_pair(capsys):
    exercises.check_function(lambda x: (2 * x, x), lambda x: (x, 2 * x), [(numpy.ones(2),)], name="f",
                             returns=("out", "weights"))
    assert "this looks like the right arrays in the wrong order: return (out, weights)" in verdict(capsys)
    exercises.check_function(lambda x: (x, 3 * x, 2 * x), lambda x: (x, 2 * x, 3 * x), [(numpy.ones(2),)], name="f",
                             returns=("q", "k", "v"))
    assert "the right arrays in the wrong order: return (q, k, v)" in verdict(capsys)


def test_check_function_accepts_a_list_for_a_tuple(capsys):
    exercises.check_function(lambda x: [x, 2 * x], lambda x: (x, 2 * x), [(numpy.ones(2),)], name="f")
    assert verdict(capsys).startswith("✅ Correct")


def test_a_nan_row_is_shown_before_other_differences(capsys):
    got, want = numpy.array([[0.0, 1.0], [numpy.nan, numpy.nan]]), numpy.array([[0.5, 0.5], [0.5, 0.5]])
    exercises.check_array(got, want, name="m")
    out = verdict(capsys)
    assert "first differing row is 1" in out and "0 / 0" in out


def test_check_function_accepts_a_right_answer_written_in_place(capsys):
    def in_place(x):
        x -= x.max(axis=-1, keepdims=True)
        numpy.exp(x, out=x)
        x /= x.sum(axis=-1, keepdims=True)
        return x

    scores = numpy.array([[1.0, 2.0], [3.0, 0.0]])
    exercises.check_function(in_place, softmax, [(scores,), (scores,)], name="f")
    assert verdict(capsys).startswith("✅ Correct: f — it agrees with course_lib on all 2 test inputs")
    assert numpy.array_equal(scores, [[1.0, 2.0], [3.0, 0.0]]), "the learner's function got its own copy"


def test_the_reference_and_the_mistakes_see_the_inputs_unchanged(capsys):
    seen = []

    def reference(x):
        seen.append(x.copy())
        return softmax(x)

    def wrong_axis_in_place(x):  # a named mistake, written in place: the mistake must see the original x
        x -= x.max(axis=0, keepdims=True)
        numpy.exp(x, out=x)
        x /= x.sum(axis=0, keepdims=True)
        return x

    def mistake(x):
        seen.append(x.copy())
        return softmax(x, axis=0)

    scores = numpy.array([[1.0, 2.0, 0.5], [3.0, 0.0, 1.0]])
    exercises.check_function(wrong_axis_in_place, reference, [(scores,)], name="f",
                             mistakes=[Mistake("the wrong axis", mistake)])
    assert "this looks like the wrong axis" in verdict(capsys)
    assert len(seen) == 2 and all(numpy.array_equal(x, scores) for x in seen)


def test_a_mistake_that_changes_its_inputs_changes_nothing_the_next_one_sees(capsys):
    def clobbers(x):
        x[...] = 0.0
        return x

    mistakes = [Mistake("clobbered", clobbers), Mistake("the plain exponentials", numpy.exp)]
    exercises.check_function(numpy.exp, softmax, [(numpy.array([1.0, 2.0]),)], name="f", mistakes=mistakes)
    assert "this looks like the plain exponentials" in verdict(capsys)


def test_check_function_keeps_numpy_warnings_out_of_the_verdict(capsys):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a RuntimeWarning from the learner's overflow would fail here
        exercises.check_function(naive_softmax, softmax, [(numpy.array([1000.0, 0.0]),)])
    assert "first difference at index 0: expected 1, got nan" in verdict(capsys)


# ---------------------------------------------------------------- refusing shortcuts


def test_a_forbidden_library_call_is_refused_even_when_right(capsys):
    def shortcut(x):
        return softmax(x)

    exercises.check_function(shortcut, softmax, [(numpy.zeros(2),)], name="f",
                             forbid=Forbidden("for the softmax written out", library=["softmax"]))
    assert verdict(capsys).startswith("❌ Not yet: f — it uses course_lib's `softmax`; this exercise asks for the "
                                      "softmax written out")


def test_a_forbidden_call_through_the_module_is_refused(capsys):
    def shortcut(x):
        return course_lib.softmax(x)

    exercises.check_function(shortcut, softmax, [(numpy.zeros(2),)], name="f",
                             forbid=Forbidden("for it written out", library=["softmax"]))
    assert "it uses course_lib's `softmax`" in verdict(capsys)


def test_the_forbidden_function_itself_is_refused(capsys):
    exercises.check_function(softmax, softmax, [(numpy.zeros(2),)], name="f",
                             forbid=Forbidden("for it written out", library=["softmax"]))
    assert "it uses course_lib's `softmax` itself" in verdict(capsys)


def test_library_functions_that_call_the_forbidden_one_inside_are_allowed(capsys):
    def allowed(q, k, v):
        return course_lib.scaled_dot_product_attention(q, k, v)[0]  # calls softmax inside course_lib

    q = numpy.eye(2)
    exercises.check_function(allowed, lambda q, k, v: course_lib.scaled_dot_product_attention(q, k, v)[0],
                             [(q, q, q)], name="f", forbid=Forbidden("…", library=["softmax"]))
    assert verdict(capsys).startswith("✅ Correct")


def test_tripwires_are_removed_afterwards():
    forbid = Forbidden("…", library=["softmax"])
    original = course_lib.attention.softmax
    with forbid.tripwires(stable):
        assert course_lib.softmax is not original and course_lib.attention.softmax is not original
        assert globals()["softmax"] is not original  # the learner's namespace: here, this module
    assert course_lib.softmax is original and course_lib.attention.softmax is original
    assert globals()["softmax"] is original


def test_a_forbidden_operator_or_name_is_refused_in_helpers_too(capsys):
    def helper(w, v):
        return w @ v

    def uses_helper(w, v):
        return helper(w, v)

    def uses_einsum(w, v):
        return numpy.einsum("ij,jk->ik", w, v)

    forbid = Forbidden("for a sum over rows", operators=["@"], names=["einsum"])
    case = [(numpy.eye(2), numpy.eye(2))]
    exercises.check_function(uses_helper, lambda w, v: w @ v, case, name="f", forbid=forbid)
    assert "it uses the @ operator; this exercise asks for a sum over rows" in verdict(capsys)
    exercises.check_function(uses_einsum, lambda w, v: w @ v, case, name="f", forbid=forbid)
    assert "it uses `einsum`" in verdict(capsys)
    exercises.check_function(lambda w, v: (w[:, :, None] * v[None]).sum(1), lambda w, v: w @ v, case,
                             name="f", forbid=forbid)
    assert verdict(capsys).startswith("✅ Correct")


def test_never_raises_turns_a_checks_own_failure_into_a_verdict(capsys):
    from course_lib.exercises.verdict import never_raises

    @never_raises
    def check_broken(answer):
        raise RuntimeError("boom")

    check_broken(1)
    assert verdict(capsys).startswith("❌ Not yet: broken — the check could not read this answer (RuntimeError: boom)")


def test_every_check_a_notebook_calls_exists():
    import pathlib
    import re

    notebooks = pathlib.Path(__file__).resolve().parents[1] / "notebooks"
    called = {name for path in notebooks.glob("[0-9][0-9]_*.ipynb")
              for name in re.findall(r"exercises\.(check_\w+)", path.read_text())}
    assert called, "the notebooks call checks"
    assert sorted(name for name in called if not hasattr(exercises, name)) == []
    assert called <= set(exercises.__all__)


def test_the_package_keeps_every_check_name():
    names = ["check_array", "check_value", "check_function", "check_park_row", "check_outdoor_words",
             "check_dot_product", "check_cosine_similarity", "check_projections", "check_sport_values",
             "check_attention_scores", "check_scores_shape", "check_best_key_for_go", "check_score_std",
             "check_scaled_scores", "check_softmax_jacobian", "check_stable_softmax", "check_softmax_temperature",
             "check_weighted_sum", "check_weights_for_point", "check_attention", "check_top_tokens_for_play",
             "check_top_tokens_for_go", "check_hard_lookup", "check_top_book", "check_causal_self_attention",
             "check_padding_mask", "check_cross_attention", "check_reversal_w_q", "check_split_heads",
             "check_multi_head_attention"]
    assert [name for name in names if not callable(getattr(exercises, name, None))] == []


def test_no_feedback_writes_a_power_with_a_caret():
    """2^20 is XOR in Python (it gives 22): feedback writes powers as 2**20, which a learner can type as read."""
    import ast
    import inspect

    from course_lib.exercises import part1, part2, part3, verdict as machinery

    for module in (machinery, part1, part2, part3):
        texts = [node.value for node in ast.walk(ast.parse(inspect.getsource(module)))
                 if isinstance(node, ast.Constant) and isinstance(node.value, str)]
        assert [text for text in texts if "^" in text] == [], module.__name__
