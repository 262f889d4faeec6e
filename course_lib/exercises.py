"""Checks for the notebooks' exercises: each prints a verdict a learner can act on.

A check says one of three things:

* ``✅ Correct`` — the answer matches ``course_lib``'s own computation;
* ``❌ Not yet`` — and what differs: the type, the shape, the dtype, or the first
  differing row with the expected and the received values, followed by a hint;
* ``⏳ Not attempted yet`` — the exercise still holds its placeholder (a function that
  raises ``NotImplementedError``, or a value ``...``).

Checks never raise for a wrong answer, so a notebook always runs top to bottom.
The generic checks (``check_array``, ``check_value``, ``check_function``) are the
machinery; the named checks below them, grouped by notebook, compute the expected
answer with ``course_lib`` and call them. Introduced in notebook 00.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy

from . import data
from .backend import to_numpy

__all__ = ["check_array", "check_value", "check_function", "check_park_row", "check_outdoor_words"]

CORRECT = "✅ Correct"
WRONG = "❌ Not yet"
NOT_ATTEMPTED = "⏳ Not attempted yet"


def _report(verdict: str, name: str, detail: str = "", hint: str = "") -> None:
    message = f"{verdict}: {name}" + (f" — {detail}" if detail else "")
    if hint and verdict == WRONG:
        message += f"\n   Hint: {hint}"
    print(message)


def _is_array(x: Any) -> bool:
    return hasattr(x, "shape") and hasattr(x, "dtype")


def _difference(got: Any, expected: Any, rtol: float, atol: float) -> str | None:
    """Describe how ``got`` differs from the array ``expected``, or None if they agree."""
    if not _is_array(got) and not isinstance(got, (list, tuple, int, float)):
        return f"expected an array of shape {tuple(expected.shape)}, got a {type(got).__name__}"
    got_np = numpy.asarray(to_numpy(got) if _is_array(got) else got)
    want = numpy.asarray(to_numpy(expected))
    if got_np.shape != want.shape:
        return f"expected shape {want.shape}, got shape {got_np.shape}"
    if got_np.dtype.kind not in "fiub":
        return f"expected numbers, got an array of dtype {got_np.dtype}"
    if want.dtype.kind == "f" and got_np.dtype.kind != "f":
        return f"expected floating-point numbers (dtype {want.dtype}), got dtype {got_np.dtype}"
    got_f, want_f = got_np.astype(float), want.astype(float)
    close = numpy.isclose(got_f, want_f, rtol=rtol, atol=atol, equal_nan=True)
    if close.all():
        return None
    if got_np.ndim == 0:
        return f"expected {want_f:.6g}, got {got_f:.6g}"
    bad = tuple(int(i) for i in numpy.argwhere(~close)[0])
    if got_np.ndim == 1:
        return f"first difference at index {bad[0]}: expected {want_f[bad]:.6g}, got {got_f[bad]:.6g}"
    row = bad[:-1]
    with numpy.printoptions(precision=4, suppress=True):
        return (
            f"first differing row is {list(row) if len(row) > 1 else row[0]}:\n"
            f"   expected {want_f[row]}\n   got      {got_f[row]}"
        )


def check_array(got: Any, expected: Any, *, name: str = "your answer", hint: str = "",
                rtol: float = 1e-6, atol: float = 1e-9) -> None:
    """Compare an array answer with the expected array and print the verdict."""
    if got is Ellipsis:
        _report(NOT_ATTEMPTED, name, "replace the `...` with your answer and run the cell again")
        return
    detail = _difference(got, expected, rtol, atol)
    if detail is None:
        _report(CORRECT, name, f"it matches the expected {_describe(expected)}")
    else:
        _report(WRONG, name, detail, hint)


def check_value(got: Any, expected: Any, *, name: str = "your answer", hint: str = "",
                rtol: float = 1e-6) -> None:
    """Compare a plain value (number, string, list of words) with the expected one and print the verdict."""
    if got is Ellipsis:
        _report(NOT_ATTEMPTED, name, "replace the `...` with your answer and run the cell again")
        return
    if isinstance(expected, float) and isinstance(got, (int, float, numpy.number)) and not isinstance(got, bool):
        same = bool(numpy.isclose(float(got), expected, rtol=rtol, atol=0.0))
    else:
        same = got == expected
    if same:
        _report(CORRECT, name, f"{expected!r}")
    else:
        _report(WRONG, name, f"expected {expected!r}, got {got!r}", hint)


def check_function(func: Callable[..., Any], reference: Callable[..., Any], cases: Sequence[tuple],
                   *, name: str | None = None, hint: str = "", rtol: float = 1e-6, atol: float = 1e-9) -> None:
    """Call ``func`` and ``reference`` on each tuple of arguments in ``cases``, compare the
    results (arrays, or tuples of arrays) and print the verdict for the first case that differs.
    """
    name = name or f"{getattr(func, '__name__', 'your function')}()"
    for number, args in enumerate(cases, start=1):
        try:
            got = func(*args)
        except NotImplementedError:
            _report(NOT_ATTEMPTED, name, "its body still raises NotImplementedError; write your code in its place")
            return
        except Exception as err:  # a learner's bug: say what happened instead of a traceback
            _report(WRONG, name, f"on test input {number} it raised {type(err).__name__}: {err}", hint)
            return
        expected = reference(*args)
        pairs = list(zip(got, expected)) if isinstance(expected, tuple) and isinstance(got, tuple) else [(got, expected)]
        if isinstance(expected, tuple) and not isinstance(got, tuple):
            _report(WRONG, name, f"expected a tuple of {len(expected)} results, got a {type(got).__name__}", hint)
            return
        for part, (g, e) in enumerate(pairs):
            detail = _difference(g, e, rtol, atol)
            if detail is not None:
                where = f"result {part} " if len(pairs) > 1 else ""
                shapes = ", ".join(str(tuple(numpy.shape(to_numpy(a)))) for a in args if _is_array(a))
                _report(WRONG, name, f"{where}on test input {number} (shapes {shapes}): {detail}", hint)
                return
    _report(CORRECT, name, f"it agrees with course_lib on all {len(cases)} test inputs")


def _describe(x: Any) -> str:
    shape = tuple(numpy.shape(to_numpy(x)))
    return "value" if shape == () else f"array of shape {shape}"


# ---------------------------------------------------------------- notebook 00: welcome


def check_park_row(x_park: Any) -> None:
    """00: the embedding row of the token "park" in the sentence's x."""
    x = data.sentence_embeddings()
    expected = x[data.TOKENS.index("park")]
    check_array(x_park, expected, name="x_park",
                hint='one row of x is one token: find its position with TOKENS.index("park") and take x[position]')


def check_outdoor_words(outdoor_words: Any) -> None:
    """00: the tokens of the sentence whose "outdoors" feature is above 0.3, in sentence order."""
    x = to_numpy(data.sentence_embeddings())
    column = data.FEATURES.index("outdoors")
    expected = [token for token, row in zip(data.TOKENS, x) if row[column] > 0.3]
    if outdoor_words is not Ellipsis and not isinstance(outdoor_words, list):
        _report(WRONG, "outdoor_words", f"expected a list of tokens, got a {type(outdoor_words).__name__}",
                "build a list: [token for token, row in zip(TOKENS, x) if ...]")
        return
    check_value(outdoor_words, expected, name="outdoor_words",
                hint='the "outdoors" column is x[:, FEATURES.index("outdoors")]; keep the tokens in sentence order')
