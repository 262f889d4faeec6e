"""course_lib.authoring.answers: the grader's own verdict on an answer read from a kernel as plain data.

No kernel is started: a fake kernel runs the learner's cells in a namespace here and answers the
grader's requests with the same functions (``answers._evaluate``, ``answers._call``) that run in a real
kernel. What a right answer, a wrong one, a placeholder and a shortcut get must be what the check
prints in the notebook; what a lying or broken kernel sends must never become a ✅.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import io
import json
import re

import numpy
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from course_lib import exercises
from course_lib.authoring import answers

pytestmark = pytest.mark.usefixtures("numpy_backend")

HEADER = "import numpy as np\nfrom course_lib import attention, data, exercises, xp\nx = data.sentence_embeddings()"
SOFTMAX = "exercises.check_stable_softmax(stable_softmax)"
RIGHT = "def stable_softmax(x):\n    z = x - x.max(axis=-1, keepdims=True)\n    e = np.exp(z)\n    return e / e.sum(axis=-1, keepdims=True)"
CASES = {  # (answer cell, the course's check cell)
    "softmax right": (RIGHT, SOFTMAX),
    "softmax right in float32": (RIGHT.replace("e = np.exp(z)", "e = np.exp(z).astype(np.float32)"), SOFTMAX),
    "softmax without the maximum": ("def stable_softmax(x):\n    e = np.exp(x)\n    return e / e.sum(axis=-1, keepdims=True)", SOFTMAX),
    "softmax placeholder": ("def stable_softmax(x):\n    raise NotImplementedError('write your solution here')", SOFTMAX),
    "softmax that raises": ("def stable_softmax(x):\n    return x[5, 5, 5]", SOFTMAX),
    "softmax returning None": ("def stable_softmax(x):\n    pass", SOFTMAX),
    "softmax calling the library": ("def stable_softmax(x):\n    return attention.softmax(x)", SOFTMAX),
    "softmax through a helper": ("def helper(x):\n    return attention.softmax(x)\ndef stable_softmax(x):\n    return helper(x)",
                                 SOFTMAX),
    "softmax as the library's": ("stable_softmax = attention.softmax", SOFTMAX),
    "softmax not a function": ("stable_softmax = 3", SOFTMAX),
    "park row right": ("x_park = x[data.TOKENS.index('park')].tolist()", "exercises.check_park_row(x_park)"),
    "park row a column": ("x_park = x[:, 6]", "exercises.check_park_row(x_park)"),
    "park row a string": ("x_park = 'park'", "exercises.check_park_row(x_park)"),
    "park row placeholder": ("x_park = ...", "exercises.check_park_row(x_park)"),
    "outdoor words right": ("outdoor_words = ('go', 'park')", "exercises.check_outdoor_words(outdoor_words)"),
    "outdoor words wrong": ("outdoor_words = ['go', 'I']", "exercises.check_outdoor_words(outdoor_words)"),
    "top book": ("top_book = np.str_('How Computers Learned')\nquery_two = ...", "exercises.check_top_book(top_book, query_two)"),
    # answers written in the check cell itself, and a student's function that shares a NumPy function's name
    "weighted sum a lambda with @": ("", "exercises.check_weighted_sum(lambda w, v: w @ v)"),
    "weighted sum np.matmul itself": ("", "exercises.check_weighted_sum(np.matmul)"),
    "dot product a partial einsum": ("import functools", "exercises.check_dot_product(functools.partial(np.einsum, '...i,...i->...'))"),
    "dot product named dot": ("def dot(a, b):\n    return (a * b).sum(axis=-1)", "exercises.check_dot_product(dot)"),
    # a probe of 487 answers found these told apart by the grader and the notebook; now they agree
    "dot product an alias of a def named dot": ("def dot(a, b):\n    return (a * b).sum(axis=-1)\nmy_dot_product = dot",
                                                "exercises.check_dot_product(my_dot_product)"),
    "dot product einsum imported under another name": (
        "from numpy import einsum as e\ndef my_dot_product(a, b):\n    return e('...i,...i->...', a, b)",
        "exercises.check_dot_product(my_dot_product)"),
    "dot product vecdot imported under another name": ("from numpy import vecdot as vd\nmy_dot_product = vd",
                                                       "exercises.check_dot_product(my_dot_product)"),
    "dot product five helpers deep": (
        "def h4(a, b):\n    return np.einsum('...i,...i->...', a, b)\n" + "".join(
            f"def h{i}(a, b):\n    return h{i + 1}(a, b)\n" for i in (3, 2, 1)) + "my_dot_product = h1",
        "exercises.check_dot_product(my_dot_product)"),
    "attention with its own lambda named softmax": (
        "softmax = lambda s: np.exp(s - s.max(-1, keepdims=True)) / np.exp(s - s.max(-1, keepdims=True)).sum(-1, keepdims=True)\n"
        "def my_attention(q, k, v):\n    w = softmax(q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1]))\n    return w @ v, w",
        "exercises.check_attention(my_attention)"),
    "layer norm backward from course_lib under another name": (
        "from course_lib.layers import layer_norm_backward as lb\n"
        "def my_layer_norm_backward(grad_y, x, gamma):\n    return lb(grad_y, x, gamma)",
        "exercises.check_layer_norm_backward(my_layer_norm_backward)"),
    "weights for a point as fractions": (
        "import fractions\nv_triangle = np.array([[0.0, 0.0], [4.0, 0.0], [0.0, 4.0]])\ntarget = np.array([1.0, 2.0])\n"
        "w_target = [fractions.Fraction(1, 4), fractions.Fraction(1, 4), fractions.Fraction(1, 2)]",
        "exercises.check_weights_for_point(w_target, v_triangle, target)"),
    "park row as an array.array": ("import array\nx_park = array.array('d', x[data.TOKENS.index('park')].tolist())",
                                   "exercises.check_park_row(x_park)"),
    "weighted sum in a %%time cell": ("%%time\ndef my_weighted_sum(w, v):\n    return w @ v",
                                      "exercises.check_weighted_sum(my_weighted_sum)"),
    "weighted sum written into the check cell": ("", "def my_weighted_sum(w, v):\n    return w @ v\n"
                                                     "exercises.check_weighted_sum(my_weighted_sum)"),
}


def student_notebook(answer: str, check: str):
    return new_notebook(cells=[new_code_cell(HEADER), new_code_cell(answer), new_code_cell(check)])


class FakeKernel:
    """The learner's cells run here, in a namespace of their own; the grader's requests answered as a kernel
    answers them. ``lie`` rewrites each reply before it is sent."""

    def __init__(self, notebook, lie=lambda reply: reply):
        self.namespace = {"__name__": "__main__"}
        for cell in notebook.cells:
            if not cell.source.startswith("exercises.check_"):  # a %%time cell runs its body, as a kernel does
                exec(re.sub(r"\A%%(time|capture)[^\n]*\n", "", cell.source), self.namespace)  # noqa: S102
        self.lie, self.requests = lie, 0

    async def run(self, source: str) -> list[str]:
        self.requests += 1
        ask = json.loads(json.loads(re.fullmatch(r".*\.capture\((.*)\)", source)[1]))
        if "values" in ask:
            reply = {"values": [answers._evaluate(e, self.namespace) for e in ask["values"]]}
        else:
            reply = answers._call(ask["function"], ask["args"], self.namespace)
        return [json.dumps(self.lie(reply))]


def judge(answer: str, check: str, lie=lambda reply: reply) -> list[answers.Judged]:
    notebook = student_notebook(answer, check)
    kernel = FakeKernel(notebook, lie)
    return run_async(answers.judge(answers.Ask(check, notebook, 2), kernel.run))


def run_async(coroutine):
    """asyncio.run in a thread of its own: in a full test run, Playwright's sync API (the browser tests before
    this module) leaves an event loop running in the main thread, where asyncio.run refuses to start another."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def printed(answer: str, check: str) -> str:
    """What the check prints in the notebook, on the same answer."""
    kernel = FakeKernel(student_notebook(answer, check))
    with contextlib.redirect_stdout(io.StringIO()) as out:
        exec(check, kernel.namespace)  # noqa: S102 - the course's check cell
    return out.getvalue().rstrip("\n")


@pytest.mark.parametrize("answer, check", CASES.values(), ids=CASES.keys())
def test_the_graders_verdict_is_the_one_the_notebook_prints(answer, check):
    (judged,) = judge(answer, check)
    assert judged.text == printed(answer, check)
    assert judged.symbol == judged.text[0]


def test_the_named_mistake_is_read_from_the_verdict():
    (judged,) = judge(*CASES["softmax without the maximum"])
    assert judged.mistake.startswith("a softmax without subtracting the maximum")
    (judged,) = judge(*CASES["softmax calling the library"])
    assert judged.mistake == "shortcut: course_lib's `softmax`"
    (judged,) = judge(*CASES["softmax right"])
    assert (judged.symbol, judged.mistake) == ("✅", "")


def strip_library_calls(reply: dict) -> dict:
    """A kernel that hides the course_lib calls it made and says no function is the library's."""
    if "library" in reply:
        reply["library"] = []
    for value in reply.get("values", []):
        value["library"] = ""
    return reply


@pytest.mark.parametrize("case", ["softmax calling the library", "softmax through a helper", "softmax as the library's"])
def test_a_kernel_that_hides_its_library_calls_is_still_refused_by_the_source(case):
    (judged,) = judge(*CASES[case], lie=strip_library_calls)
    assert judged.symbol == "❌" and "this exercise asks for the softmax written out" in judged.text


@pytest.mark.parametrize("where, lie", [
    ("values", lambda reply: "✅ Correct"),
    ("values", lambda reply: {"values": "everything"}),
    ("values", lambda reply: reply | {"verdict": "✅ Correct"}),
    ("result", lambda reply: "✅ Correct"),
    ("result", lambda reply: {"result": {"t": "array", "dtype": "<f8", "shape": [9], "v": [1.0]}}),
    ("result", lambda reply: {"result": {"t": "array", "dtype": "|O", "shape": [], "v": "os.system('x')"}}),
    ("result", lambda reply: {"result": {"t": "list", "v": [{"t": "list", "v": []}] * 3}}),
    ("result", lambda reply: {"result": {"t": "✅"}}),
], ids=["values as text", "values not a list", "a verdict beside", "result as text", "shape lie", "object dtype",
        "a list", "unknown kind"])
def test_a_kernel_that_sends_anything_else_never_gets_a_pass(where, lie):
    for answer in (CASES["softmax without the maximum"][0], CASES["softmax placeholder"][0]):
        (judged,) = judge(answer, SOFTMAX, lie=lambda reply: lie(reply) if where in reply else reply)
        assert judged.symbol != "✅", judged.text


def test_a_kernel_that_stops_gives_no_verdicts():
    async def stopped(source):
        return None

    notebook = student_notebook(RIGHT, SOFTMAX)
    assert run_async(answers.judge(answers.Ask(SOFTMAX, notebook, 2), stopped)) is None


def test_an_answer_crosses_as_plain_data_and_back():
    values = [None, ..., True, 3, 2.5, float("nan"), "park", numpy.str_("go"), [1, (2.0, "a")], numpy.float64(0.5),
              numpy.arange(6.0).reshape(2, 3), numpy.array([True, False]), numpy.array(["a", "bc"]),
              numpy.arange(3, dtype=numpy.int32), {"previous": numpy.eye(2), "induction": [0.5, 1]}]
    for value in values:
        back = answers.decode(json.loads(json.dumps(answers.encode(value))))
        assert type(back) is type(value) or isinstance(value, numpy.str_)
        if isinstance(value, numpy.ndarray):
            assert back.dtype == value.dtype and numpy.array_equal(back, value)
        if isinstance(value, dict):
            assert list(back) == list(value) and numpy.array_equal(back["previous"], value["previous"])


@pytest.mark.parametrize("data", [
    {"t": "array", "dtype": "|O", "shape": [1], "v": [None]},
    {"t": "array", "dtype": "<f8", "shape": [2], "v": [1.0]},
    {"t": "array", "dtype": "<f8", "shape": [10**7], "v": []},
    {"t": "int", "v": "1e9"},
    {"t": "float", "v": "1.0"},
    {"t": "list", "v": "abc"},
    {"t": "nothing"},
    "text",
], ids=["object dtype", "shape lie", "too large", "int as text", "float as text", "list of text", "kind", "not a dict"])
def test_what_does_not_describe_a_value_becomes_a_stand_in(data):
    value = answers.decode(data)
    assert type(value).__module__ == answers.__name__ and not hasattr(value, "shape")


def test_a_too_large_or_odd_answer_is_described_not_sent():
    assert answers.encode(numpy.zeros(answers.MAX_ELEMENTS + 1))["t"] == "opaque"
    assert answers.encode({1, 2}) == {"t": "opaque", "kind": "set", "why": ""}
    assert answers.encode(numpy.array([1 + 2j]))["t"] == "opaque"
    assert answers.encode(exercises.check_stable_softmax)["t"] == "function"


@pytest.mark.parametrize("answer, check", [
    ("my_weighted_sum = getattr(np, 'mat' + 'mul')", "exercises.check_weighted_sum(my_weighted_sum)"),
    ("", "exercises.check_weighted_sum(getattr(np, 'matmul'))"),
    ("exec('def my_weighted_sum(w, v):\\n    return w @ v')", "exercises.check_weighted_sum(my_weighted_sum)"),
    ("if True:\n    def my_weighted_sum(w, v):\n        return w @ v", "exercises.check_weighted_sum(my_weighted_sum)"),
    ("def my_weighted_sum(w, v):\n    return (w[:, :, None] * v).sum(1)\nfor _ in [0]:\n    my_weighted_sum = lambda w, v: w @ v",
     "exercises.check_weighted_sum(my_weighted_sum)"),
    ("class W:\n    def __call__(self, w, v):\n        return w @ v\nmy_weighted_sum = W()",
     "exercises.check_weighted_sum(my_weighted_sum)"),
    ("@lambda f: np.matmul\ndef my_weighted_sum(w, v):\n    return (w[:, :, None] * v).sum(1)",
     "exercises.check_weighted_sum(my_weighted_sum)"),
    ("def bad(w, v):\n    return w @ v\ndef my_weighted_sum(w, v):\n    return (w[:, :, None] * v).sum(1)\n"
     "my_weighted_sum.__code__ = bad.__code__", "exercises.check_weighted_sum(my_weighted_sum)"),
], ids=["getattr", "getattr in the check cell", "exec", "def in an if", "redefined in a loop", "an object's __call__",
        "decorated", "__code__ replaced"])
def test_an_answer_whose_code_the_grader_cannot_read_gets_no_pass_and_is_told_why(answer, check):
    """Each of these is a refused shortcut that the notebook catches and that the grader, reading only source, would
    have passed; a right answer written so gets the same ❌ with the reason, as the grader cannot check it."""
    (judged,) = judge(answer, check)
    assert judged.symbol == "❌" and ("cannot read this one's" in judged.text or "it uses" in judged.text), judged.text
