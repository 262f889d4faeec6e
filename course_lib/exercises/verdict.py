"""The verdict machinery behind every exercise check.

A check prints one of three verdicts:

* ``✅ Correct`` — the answer matches ``course_lib``'s own computation;
* ``❌ Not yet`` — and what is off: the type, the shape, the first differing row, or the
  typical mistake the answer matches ("no scaling", "softmax over the wrong axis"), or
  the shortcut it took (calling the library function the exercise re-implements);
* ``⏳ Not attempted yet`` — the exercise still holds its placeholder (a function that
  raises ``NotImplementedError``, or a value ``...``).

Rules every check follows: it never raises on a learner's answer (lists, tuples, NumPy or
CuPy arrays, NumPy scalars, None, numbers, ragged lists all get a verdict); a right answer
is right in every natural form (a list or an array, written in place, as a loop, with
einsum); a hint points at the step that differs and never prints the solution.
Introduced in notebook 00.
"""

from __future__ import annotations

import contextlib
import dis
import functools
import io
import itertools
import numbers
import sys
import threading
import types
from collections.abc import Mapping
from typing import Any, Callable, Iterator, Sequence

import numpy

from .. import attention, grad, tiled
from ..backend import to_numpy

__all__ = [
    "CORRECT",
    "WRONG",
    "NOT_ATTEMPTED",
    "check_array",
    "check_value",
    "check_function",
    "check_pick",
    "read_answer",
    "Mistake",
    "never_raises",
]

CORRECT = "✅ Correct"
WRONG = "❌ Not yet"
NOT_ATTEMPTED = "⏳ Not attempted yet"
REPLACE_DOTS = "replace the `...` with your answer and run the cell again"


_SINK = threading.local()  # where report() writes instead of printing: the grader's own run of a check


def report(verdict: str, name: str, detail: str = "", hint: str = "") -> None:
    """Print one verdict line (and, for a wrong answer, its hint)."""
    message = f"{verdict}: {name}" + (f" — {detail}" if detail else "")
    if hint and verdict == WRONG:
        message += f"\n   Hint: {hint}"
    sink = getattr(_SINK, "reports", None)
    if sink is not None:
        sink.append((verdict, detail, message))
        return
    print(message)


@contextlib.contextmanager
def collected() -> Iterator[list[tuple[str, str, str]]]:
    """While active (in this thread), verdicts are collected as (verdict, detail, message) instead of printed:
    how the grader (course_lib.authoring.answers) runs a check on an answer read from a student's kernel."""
    previous = getattr(_SINK, "reports", None)
    _SINK.reports = []
    try:
        yield _SINK.reports
    finally:
        _SINK.reports = previous


def never_raises(check: Callable[..., None]) -> Callable[..., None]:
    """Wrap a check so that nothing a learner passes can stop their notebook: an unexpected
    error inside the check becomes a verdict that says the answer could not be read."""

    @functools.wraps(check)
    def safe(*args: Any, **kwargs: Any) -> None:
        try:
            with numpy.errstate(all="ignore"):
                check(*args, **kwargs)
        except Exception as err:  # a form of answer no branch foresaw: say so, never a traceback
            report(WRONG, kwargs.get("name") or check.__name__.removeprefix("check_"),
                   f"the check could not read this answer ({type(err).__name__}: {err})",
                   "compare the form of your answer (type, shape) with what the exercise asks for")

    return safe


# ---------------------------------------------------------------- reading answers in any natural form


def is_array(x: Any) -> bool:
    return hasattr(x, "shape") and hasattr(x, "dtype")


def _kind(x: Any) -> str:
    """A short description of what ``x`` is, for messages: 'a str', 'None', 'a CuPy array of shape (3,)'."""
    if x is None:
        return "None"
    if is_array(x):
        library = type(x).__module__.split(".")[0]
        library = {"numpy": "NumPy", "cupy": "CuPy"}.get(library, library)
        return f"a {library} array of shape {tuple(x.shape)}" if getattr(x, "ndim", 1) else f"a {library} scalar"
    kind = type(x).__name__
    return f"{'an' if kind[0] in 'aeiou' else 'a'} {kind}"


def as_numpy(x: Any) -> tuple[numpy.ndarray | None, str]:
    """Read ``x`` (list, tuple, number, NumPy/CuPy/array-API array) as a NumPy array.
    Returns (array, "") or (None, why it cannot be read)."""
    if x is None or isinstance(x, (str, bytes, dict, set)) or callable(x):
        return None, f"got {_kind(x)}"
    if x is Ellipsis or _holds_dots(x):
        return None, f"got {'the placeholder `...`' if x is Ellipsis else _kind(x) + ' that still holds `...`'}: " \
                     "replace every `...` with a number"
    try:
        if is_array(x):
            got = _host_array(x)
        else:
            got = numpy.asarray(_host_elements(x))
    except ValueError:  # ragged, e.g. [[1.0, 0.0], [1.0]], or several arrays returned where one belongs
        if isinstance(x, (tuple, list)) and any(is_array(part) for part in x):
            parts = ", ".join(_kind(part) for part in x[:3]) + (", …" if len(x) > 3 else "")
            return None, f"got {_kind(x)} of {len(x)} things ({parts}), not one array"
        return None, f"got {_kind(x)} whose rows have different lengths"
    except Exception as err:  # noqa: BLE001 - anything unreadable gets a verdict
        return None, f"got {_kind(x)} that cannot be read as an array ({type(err).__name__})"
    if got.dtype.kind == "O" and got.size and all(_is_real(e) for e in got.flat):
        got = got.astype(float)  # exact numbers such as fractions.Fraction(1, 4)
    if got.dtype.kind not in "fiub":
        entries = {"U": "text", "S": "bytes", "O": "mixed", "c": "complex"}.get(got.dtype.kind, str(got.dtype))
        return None, f"got {_kind(x)} of {entries} entries, not (real) numbers"
    return got, ""


def _holds_dots(x: Any) -> bool:
    """True for a list or tuple with the placeholder ``...`` somewhere inside: an answer only partly written."""
    return isinstance(x, (list, tuple)) and any(e is Ellipsis or _holds_dots(e) for e in x)


def unwritten(x: Any) -> str | None:
    """What a "not attempted" verdict says where ``x`` is the placeholder ``...`` or a list still holding one;
    None for anything else."""
    if x is Ellipsis:
        return REPLACE_DOTS
    return "the list still holds `...`: " + REPLACE_DOTS if _holds_dots(x) else None


def _host_array(x: Any) -> numpy.ndarray:
    """A NumPy copy of a NumPy, CuPy or other array-API array (via DLPack where __array__ is missing)."""
    try:
        return numpy.asarray(to_numpy(x))
    except (TypeError, ValueError, RuntimeError):
        return numpy.from_dlpack(x)


def _host_elements(x: Any) -> Any:
    """Lists may hold device arrays or scalars (e.g. [xp.float64(0.2), ...]): bring each to the host."""
    if isinstance(x, (list, tuple)):
        return [_host_elements(e) for e in x]
    return _host_array(x) if is_array(x) else x


def _is_real(x: Any) -> bool:
    """An int, float, fraction or NumPy real scalar; not a bool."""
    return isinstance(x, numbers.Real) and not isinstance(x, (bool, numpy.bool_))


def as_number(x: Any) -> float | None:
    """A real number from an int, float, fraction, NumPy/CuPy scalar or 0-d array, or the one number of a list, tuple
    or array of one (``[16.0]``, ``std.reshape(1)``); None for anything else (bool too)."""
    if isinstance(x, bool) or isinstance(x, numpy.bool_):
        return None
    if _is_real(x):
        return float(x)
    got, _ = as_numpy(x) if is_array(x) or (isinstance(x, (list, tuple)) and len(x) == 1) else (None, "")
    if got is not None and got.size == 1 and got.dtype.kind in "fiu":  # 16.0, array(16.0), [16.0], array([16.0])
        return float(got.reshape(()))
    return None


def as_strings(x: Any) -> list[str] | None:
    """A list of Python strings from a list, tuple or 1-D array of str / NumPy str; None otherwise."""
    if isinstance(x, (list, tuple)):
        items = list(x)
    elif isinstance(x, numpy.ndarray) and x.ndim == 1:
        items = x.tolist()
    else:
        return None
    if not all(isinstance(item, (str, numpy.str_)) for item in items):
        return None
    return [str(item) for item in items]


def as_string(x: Any) -> str | None:
    """A Python string from a str, a NumPy str or a 0-d string array; None otherwise."""
    if isinstance(x, (str, numpy.str_)):
        return str(x)
    if isinstance(x, numpy.ndarray) and x.shape == () and x.dtype.kind == "U":
        return str(x[()])
    return None


def as_name(word: str, names: Sequence[str]) -> str:
    """``word`` as the one of ``names`` it spells, whatever its case and the spaces around it ("Park ", "PARK" ->
    "park"); ``word`` itself where no name, or more than one, matches that way."""
    if word in names:
        return word
    matches = [name for name in names if name.casefold() == word.strip().casefold()]
    return matches[0] if len(matches) == 1 else word


# ---------------------------------------------------------------- comparing arrays


def difference(got: Any, expected: Any, rtol: float, atol: float) -> str | None:
    """Describe how ``got`` differs from the array ``expected``, or None if they agree."""
    want = numpy.asarray(to_numpy(expected))
    got_np, why = as_numpy(got)
    if got_np is None:
        return f"expected {_describe_array(want)}, {why}"
    if got_np.shape != want.shape:
        return f"expected shape {want.shape}, got shape {got_np.shape}"
    got_f, want_f = got_np.astype(float), want.astype(float)  # integers are compared by value
    close = numpy.isclose(got_f, want_f, rtol=rtol, atol=atol, equal_nan=True)
    if close.all():
        return None
    broken = ~numpy.isfinite(got_f) & numpy.isfinite(want_f)  # (...): nan or inf where numbers belong
    note = _broken_note(got_f[broken])
    if got_np.ndim == 0:
        digits = _digits_apart(want_f, got_f, 6, lambda x, d: f"{x:.{d}g}")
        return f"expected {want_f:.{digits}g}, got {got_f:.{digits}g}{note}{_near_note(digits, 6)}"
    bad = tuple(int(i) for i in numpy.argwhere(broken if broken.any() else ~close)[0])  # show a nan first
    if got_np.ndim == 1:
        digits = _digits_apart(want_f[bad], got_f[bad], 6, lambda x, d: f"{x:.{d}g}")
        return (f"first difference at index {bad[0]}: expected {want_f[bad]:.{digits}g}, got {got_f[bad]:.{digits}g}"
                f"{note}{_near_note(digits, 6)}")
    row = bad[:-1]
    digits = _digits_apart(want_f[row], got_f[row], 4, _row_text)
    return (f"first differing row is {list(row) if len(row) > 1 else row[0]}{note}{_near_note(digits, 4)}:\n"
            f"   expected {_row_text(want_f[row], digits)}\n   got      {_row_text(got_f[row], digits)}")


def _row_text(row: numpy.ndarray, digits: int) -> str:
    with numpy.printoptions(precision=digits, suppress=True):
        return str(row)


def _digits_apart(want: Any, got: Any, digits: int, text: Callable[[Any, int], str]) -> int:
    """The fewest digits, from ``digits`` up to 12, at which ``want`` and ``got`` print differently: a row that
    differs in its 7th digit is not shown as two identical rows."""
    while digits < 12 and text(want, digits) == text(got, digits):
        digits += 1
    return digits


def _near_note(digits: int, usual: int) -> str:
    """Where the numbers agree in every digit usually shown, what such a near miss usually is."""
    if digits <= usual:
        return ""
    return (" (close: the numbers agree in the digits usually shown, yet differ by more than rounding; a slightly"
            " different constant, such as an eps, or a step computed in float32, gives such a near miss)")


def _broken_note(broken: numpy.ndarray) -> str:
    """Where nan or ±inf stand in place of finite numbers, what usually puts them there."""
    if broken.size == 0:
        return ""
    if (broken == -numpy.inf).all():  # only −inf: nothing overflowed, a −inf was kept
        return (" (−inf where the expected numbers are finite: a −inf, such as a mask's or a starting value's, "
                "that no step of yours replaced)")
    return " (nan or inf where the expected numbers are finite: an overflow, such as exp of a large score, or 0 / 0)"


def _describe_array(want: numpy.ndarray) -> str:
    return "a number" if want.shape == () else f"an array of shape {want.shape}"


def agrees(got: Any, expected: Any, rtol: float = 1e-6, atol: float = 1e-9) -> bool:
    """True when ``got`` (an array, or a tuple of arrays) equals ``expected`` in shape and value."""
    if isinstance(expected, tuple):
        return (isinstance(got, tuple) and len(got) == len(expected)
                and all(agrees(g, e, rtol, atol) for g, e in zip(got, expected)))
    if isinstance(got, tuple):
        return False
    return difference(got, expected, rtol, atol) is None


# ---------------------------------------------------------------- value checks


@never_raises
def check_array(got: Any, expected: Any, *, name: str = "your answer", hint: str = "",
                rtol: float = 1e-6, atol: float = 1e-9) -> None:
    """Compare an array answer (any natural form) with the expected array and print the verdict."""
    if unwritten(got):
        report(NOT_ATTEMPTED, name, unwritten(got))
        return
    detail = difference(got, expected, rtol, atol)
    if detail is None:
        shape = tuple(numpy.shape(to_numpy(expected)))
        report(CORRECT, name, "it matches the expected " + ("value" if shape == () else f"array of shape {shape}"))
    else:
        report(WRONG, name, detail, hint)


@never_raises
def check_value(got: Any, expected: Any, *, name: str = "your answer", hint: str = "", rtol: float = 1e-6) -> None:
    """Compare a plain value (a number, a string, a list of strings) with the expected one and print the verdict.
    Numbers may come as NumPy or CuPy scalars, strings as NumPy strings, lists as tuples or arrays."""
    if got is Ellipsis:
        report(NOT_ATTEMPTED, name, REPLACE_DOTS)
        return
    if isinstance(expected, (int, float)) and not isinstance(expected, bool):
        number = as_number(got)
        same = number is not None and bool(numpy.isclose(number, expected, rtol=rtol, atol=0.0))
    elif isinstance(expected, str):
        same = as_string(got) == expected
    elif isinstance(expected, (list, tuple)) and all(isinstance(e, str) for e in expected):
        same = as_strings(got) == list(expected)
    else:
        same = type(got) is type(expected) and got == expected
    if same:
        report(CORRECT, name, f"{expected!r}")
    else:
        report(WRONG, name, f"expected {expected!r}, got {got!r}", hint)


def read_answer(got: Any, reader: Callable[[Any], Any], *, name: str, form: str, hint: str) -> Any:
    """The answer ``got`` read by ``reader`` (as_number, as_strings, …), or None once a verdict has been
    printed instead: the placeholder, or a form the reader cannot read."""
    if unwritten(got):
        report(NOT_ATTEMPTED, name, unwritten(got))
        return None
    value = reader(got)
    if value is None:
        shown = "None" if got is None else f"{_kind(got)}: {repr(got)[:80]}"
        report(WRONG, name, f"expected {form}, got {shown}", hint)
    return value


def judge_prediction(got: Any, expected: float, *, name: str, mistakes: dict[float, str], hint: str,
                     rtol: float = 1e-6, near: str = "") -> None:
    """Verdict on a predicted number: right within ``rtol``; else the mistake whose value it matches (``mistakes``:
    value -> what that slip is), or ``near`` when it is within 10 % of the answer; never the expected number."""
    number = read_answer(got, as_number, name=name, form="a number", hint=hint)
    if number is None:
        return
    if numpy.isclose(number, expected, rtol=rtol, atol=0.0):
        report(CORRECT, name, f"{expected!r}")
        return
    known = [why for value, why in mistakes.items() if numpy.isclose(number, value, rtol=rtol, atol=0.0)]
    if not known and near and numpy.isclose(number, expected, rtol=0.1, atol=0.0):
        known = [near]
    report(WRONG, name, f"got {number:g}" + (f": {known[0]}" if known else ""), hint)


@never_raises
def check_pick(got: Any, expected: str, options: Sequence[str], *, name: str, kind: str, listed_in: str,
               why_not: Callable[[str], str], hint: str, known: dict[str, str] | None = None) -> None:
    """Check one name picked from ``options`` (a token, a title). A wrong pick is told what is off with
    it — ``known[pick]`` for a pick that a typical mistake gives, else ``why_not(pick)`` (its own
    score) — never the expected answer: the exercise is the finding."""
    pick = read_answer(got, as_string, name=name, form=f"a {kind} as a string, such as {options[1]!r}", hint=hint)
    if pick is None:
        return
    pick = as_name(pick, options)
    if pick == expected:
        report(CORRECT, name, f"{expected!r}")
    elif pick not in options:
        report(WRONG, name, f"{pick!r} is not a {kind} (they are listed in {listed_in})", hint)
    elif known and pick in known:
        report(WRONG, name, known[pick], hint)
    else:
        report(WRONG, name, why_not(pick), hint)


# ---------------------------------------------------------------- function checks


class Mistake:
    """A typical wrong answer: ``compute(*args)`` gives what that mistake returns; ``says`` names it.
    ``tolerance`` (rtol, atol), where given, replaces the check's own for this mistake: an approximation of the
    right answer is a mistake that agrees with it loosely."""

    def __init__(self, says: str, compute: Callable[..., Any], tolerance: tuple[float, float] | None = None):
        self.says, self.compute, self.tolerance = says, compute, tolerance

    def matches(self, args: tuple, got: Any, rtol: float, atol: float) -> bool:
        try:
            with numpy.errstate(all="ignore"):
                wrong = self.compute(*copies(args))
        except Exception:  # noqa: BLE001 - a mistake that cannot even run on this input is not this one
            return False
        return agrees(got, wrong, *(self.tolerance or (rtol, atol)))


class _Failed:
    """What ``call_learner`` returns once it has reported a placeholder or an exception."""


FAILED = _Failed()


def call_learner(func: Callable[..., Any], args: tuple, *, name: str, where: str, hint: str) -> Any:
    """Call the learner's ``func(*args)``. A placeholder (NotImplementedError) or a bug (any other
    exception) is reported instead of a traceback, and ``FAILED`` returned. NumPy's floating-point
    warnings are silenced inside the call: the verdict says what went wrong."""
    try:
        with numpy.errstate(all="ignore"):
            return func(*args)
    except NotImplementedError:
        report(NOT_ATTEMPTED, name, "its body still raises NotImplementedError; write your code in its place")
    except Exception as err:  # noqa: BLE001 - a learner's bug: say what happened instead of a traceback
        report(WRONG, name, f"{where} it raised {type(err).__name__}: {err}", hint)
    return FAILED


def call_quietly(func: Callable[..., Any], args: tuple) -> Any:
    """``func`` on copies of ``args``, what it prints and NumPy's warnings kept out of the verdict (a run that only
    tells something apart; the one that decides is ``call_learner``). Its exceptions are the caller's to catch."""
    with numpy.errstate(all="ignore"), contextlib.redirect_stdout(io.StringIO()), \
            contextlib.redirect_stderr(io.StringIO()):
        return func(*copies(args))


def copies(args: tuple) -> tuple:
    """Fresh copies of the array arguments: the learner's function, the reference and each mistake get their own,
    so that a right answer written in place (``x -= x.max(...)``, ``acc *= r``) changes nothing the others see."""
    return tuple(_copy(a) for a in args)


def _copy(x: Any) -> Any:
    if not is_array(x):
        return x
    if hasattr(x, "copy"):  # NumPy, CuPy
        return x.copy()
    return x.__array_namespace__().asarray(x, copy=True)  # another array-API library


def _shapes(args: tuple) -> str:
    return ", ".join(str(tuple(a.shape)) if is_array(a) else repr(a) for a in args)


@never_raises
def check_function(func: Any, reference: Callable[..., Any], cases: Sequence[tuple], *,
                   name: str | None = None, hint: str | Mapping[str, str] = "", returns: Sequence[str] = (),
                   mistakes: Sequence[Mistake] = (), forbid: "Forbidden | None" = None,
                   rtol: float = 1e-6, atol: float = 1e-9) -> None:
    """Run the learner's ``func`` and ``reference`` on each tuple of arguments in ``cases`` and print
    the verdict for the first case that differs.

    The learner's function, the reference and each mistake get their own copies of the arguments: a right
    answer written in place (``x -= x.max(axis=-1, keepdims=True)``, ``acc *= r``) is right.
    ``returns`` names the parts of a tuple result, e.g. ("out", "weights"); ``hint`` may then be a mapping from
    those names to the hint for the step that gives that part (the first part in the mapping's order that differs
    picks it, so list a part computed earlier first; "" for any other wrong answer). ``mistakes`` are typical
    wrong answers: a result equal to one is named ("this looks like …"). ``forbid`` lists the shortcuts
    the exercise rules out (library functions, operators); using one is refused with what the exercise
    asks for, even when the numbers are right.
    """
    name = name or f"{getattr(func, '__name__', 'your function')}()"
    hints, hint = (hint, hint.get("", "")) if isinstance(hint, Mapping) else ({}, hint)
    if func is Ellipsis:
        report(NOT_ATTEMPTED, name, REPLACE_DOTS)
        return
    if not callable(func):
        report(WRONG, name, f"expected a function, got {_kind(func)}", hint)
        return
    single: list[int] = []  # the test inputs met only to float32's precision
    if forbid is not None:
        used = forbid.static_use(func)
        if used:
            report(WRONG, name, forbid.refusal(used))
            return
    for number, args in enumerate(cases, start=1):
        where = f"on test input {number} (argument shapes {_shapes(args)})"
        expected = reference(*copies(args))
        with (forbid.tripwires(func) if forbid is not None else contextlib.nullcontext([])) as calls:
            got = call_learner(func, copies(args), name=name, where=where, hint=hint)
        if calls:
            report(WRONG, name, forbid.refusal(calls[0]))
            return
        if got is FAILED:
            return
        if got is Ellipsis or (isinstance(got, (tuple, list)) and any(part is Ellipsis for part in got)):
            labels = list(returns) or [f"result {i}" for i in range(len(got) if got is not Ellipsis else 0)]
            unwritten = "" if got is Ellipsis else " for " + ", ".join(
                f"`{label}`" for label, part in zip(labels, got) if part is Ellipsis)
            report(NOT_ATTEMPTED, name,
                   f"it still returns the placeholder `...`{unwritten}; write your code in its place")
            return
        if isinstance(expected, tuple) and isinstance(got, list):
            got = tuple(got)  # a list of the right arrays is as natural as a tuple
        rtol, atol = _loosened_for_float32(got, rtol, atol)
        detail = _compare(got, expected, returns, rtol, atol)
        if detail is not None:
            part_hint = hints.get(_first_differing(got, expected, returns, rtol, atol, [k for k in hints if k]), hint)
            known = _named_mistake(func, mistakes, cases, number - 1, got, rtol, atol, reference)
            if known is None and _reordered(got, expected, rtol, atol):
                labels = list(returns) or [f"result {i}" for i in range(len(expected))]
                known, part_hint = f"the right arrays in the wrong order: return ({', '.join(labels)})", hint
            if known is None and _float32_values(got) and _compare(got, expected, returns,
                                                                  *_FLOAT32_TOLERANCE) is None:
                single.append(number)  # computed in float32, handed back as float64 or a list: right to its precision
                continue
            if known is not None:
                report(WRONG, name, f"{where}: this looks like {known}", part_hint)
            else:
                report(WRONG, name, f"{where}: {detail}", part_hint)
            return
    inputs = ", ".join(map(str, single))
    report(CORRECT, name, f"it agrees with course_lib on all {len(cases)} test inputs"
           + (f" (to float32's precision on input{'s' if len(single) > 1 else ''} {inputs}, where your numbers are"
              " float32's)" if single else ""))


_FLOAT32_TOLERANCE = (1e-4, 1e-6)  # (rtol, atol) that a right answer computed in float32 meets


def _float32_values(got: Any) -> bool:
    """True when every number of ``got`` (an array, a list or a tuple of them) is one that float32 can hold: the
    sign of a result computed in float32 and handed back in float64 (``.astype(float)``, ``.tolist()``). A
    float64 computation, right or wrong, gives numbers that float32 cannot hold."""
    parts = got if isinstance(got, tuple) else (got,)
    for part in parts:
        values, _ = as_numpy(part)
        if values is None or values.dtype.kind != "f":
            return False
        finite = values[numpy.isfinite(values)]
        if not numpy.array_equal(finite, finite.astype(numpy.float32).astype(values.dtype)):
            return False
    return True


def _named_mistake(func: Callable[..., Any], mistakes: Sequence[Mistake], cases: Sequence[tuple], index: int,
                   got: Any, rtol: float, atol: float, reference: Callable[..., Any] | None = None) -> str | None:
    """What the first mistake that ``got`` (the learner's result on ``cases[index]``) matches says, or None.

    The learner's function runs on the later inputs too, and only a mistake that also gives its results there is
    named: where several match on that input (1/d_head and 1/√d_model are one number when d_model = 4 and
    d_head = 2), the one the learner made; where one matches there by chance (a fixed ``/ 8`` is "a division by
    d_k" while d_k = 8), none. A later input on which the learner's function raises, or gives a result of
    another shape or nan and inf where ``reference`` gives numbers, ends the search: a second slip that only a
    batch shows (``axis=0`` for "every axis but the last", ``.T`` on three axes, a missing guard) hides nothing
    about the first. (Under the grader, an input the student's kernel was not yet asked about raises
    ``answers.Need``, which no ``except Exception`` stops: the kernel is asked.)"""
    matching = [m for m in mistakes if m.matches(cases[index], got, rtol, atol)]
    for args in cases[index + 1:]:
        if not matching:
            break
        try:  # quietly: what the learner's function prints was shown once, on the input that decided
            later = call_quietly(func, args)
        except Exception:  # noqa: BLE001 - the verdict is already decided; this input only tells mistakes apart
            break
        if isinstance(later, list):
            later = tuple(later)
        if reference is not None and _broken_otherwise(later, reference(*copies(args))):
            break
        matching = [m for m in matching if m.matches(args, later, rtol, atol)]
    return matching[0].says if matching else None


def _broken_otherwise(got: Any, expected: Any) -> bool:
    """True when ``got`` differs from ``expected`` by more than its numbers: another form (length, shape), or
    nan and inf where ``expected`` has numbers."""
    pairs = list(zip(got, expected)) if isinstance(expected, tuple) and isinstance(got, tuple) else [(got, expected)]
    if isinstance(expected, tuple) and (not isinstance(got, tuple) or len(got) != len(expected)):
        return True
    for part, want in pairs:
        values, _ = as_numpy(part)
        want = numpy.asarray(to_numpy(want))
        if values is None or values.shape != want.shape:
            return True
        with numpy.errstate(all="ignore"):
            if (~numpy.isfinite(values.astype(float)) & numpy.isfinite(want.astype(float))).any():
                return True
    return False


def _loosened_for_float32(got: Any, rtol: float, atol: float) -> tuple[float, float]:
    """Tolerances a learner's float32 (or float16) result can meet: a right answer computed in single
    precision differs from the float64 reference in the 7th digit, and that is not a mistake."""
    parts = got if isinstance(got, (tuple, list)) else (got,)
    widths = [numpy.dtype(str(p.dtype).split(".")[-1]).itemsize for p in parts
              if is_array(p) and str(p.dtype).split(".")[-1] in ("float16", "float32")]
    if not widths:
        return rtol, atol
    if min(widths) == 2:
        return max(rtol, 1e-2), max(atol, 1e-3)
    return max(rtol, 1e-4), max(atol, 1e-6)


def _reordered(got: Any, expected: Any, rtol: float, atol: float) -> bool:
    """True when the tuple ``got`` holds the expected arrays in another order."""
    if not (isinstance(expected, tuple) and isinstance(got, tuple) and len(got) == len(expected) > 1):
        return False
    return any(agrees(tuple(got[i] for i in order), expected, rtol, atol)
               for order in itertools.permutations(range(len(got))) if list(order) != sorted(order))


def _first_differing(got: Any, expected: Any, returns: Sequence[str], rtol: float, atol: float,
                     first: Sequence[str] = ()) -> str:
    """The name of the part of a tuple result that differs from the expected one ("" if none is told apart): the
    first of ``first`` that differs (the order of a check's hints: the part computed earlier first, as a wrong
    ``weights`` makes ``out`` wrong too), else the first in the order returned."""
    if not (isinstance(expected, tuple) and isinstance(got, tuple) and len(got) == len(expected)):
        return ""
    labels = list(returns) or [f"result {i}" for i in range(len(expected))]
    differ = [label for label, g, e in zip(labels, got, expected) if difference(g, e, rtol, atol) is not None]
    return next((label for label in first if label in differ), differ[0] if differ else "")


def _compare(got: Any, expected: Any, returns: Sequence[str], rtol: float, atol: float) -> str | None:
    """How ``got`` differs from ``expected`` (an array or a tuple of arrays), or None."""
    if not isinstance(expected, tuple):
        return difference(got, expected, rtol, atol)
    labels = list(returns) or [f"result {i}" for i in range(len(expected))]
    if not isinstance(got, tuple) or len(got) != len(expected):
        received = f"{len(got)} values" if isinstance(got, tuple) else _kind(got)
        return f"expected it to return {len(expected)} values ({', '.join(labels)}), got {received}"
    wrong = [f"`{label}` differs: {detail}" for label, g, e in zip(labels, got, expected)
             if (detail := difference(g, e, rtol, atol)) is not None]
    return "\n   ".join(wrong) or None


# ---------------------------------------------------------------- refusing shortcuts


class Forbidden:
    """The shortcuts an exercise rules out, and what the exercise asks instead.

    ``library``: names of ``course_lib.attention``, ``grad`` or ``tiled`` functions the learner's code must not call (caught at
    run time: while the learner's function runs, those names point to wires that record a call made from
    outside course_lib). ``when`` may narrow a name to some calls, e.g. only with ``causal=True``.
    ``operators`` ("@") and ``names`` (e.g. "einsum", "dot") are read from the compiled code of the
    learner's function and of the notebook functions it calls. ``functions`` names the notebook's own functions
    that the answer may neither be nor call (notebook 04's ``jacobian_by_finite_differences``).
    """

    def __init__(self, asks: str, *, library: Sequence[str] = (), names: Sequence[str] = (),
                 operators: Sequence[str] = (), when: dict[str, Callable[[tuple, dict], bool]] | None = None,
                 functions: Sequence[str] = ()):
        self.asks, self.library, self.names, self.operators = asks, tuple(library), tuple(names), tuple(operators)
        self.when, self.functions = when or {}, tuple(functions)

    def refusal(self, used: str) -> str:
        return f"it uses {used}; this exercise asks {self.asks}"

    def static_use(self, func: Callable[..., Any]) -> str | None:
        """The first forbidden operator or name in the code of ``func`` (and the notebook functions it calls);
        ``func`` being a forbidden library function itself counts too.

        An answer the grader replays from a student's kernel carries ``grader_codes``, the code compiled (never
        run) from the notebook's source of the function and its helpers: there, a forbidden library name in that
        code counts too (the kernel's own record of its calls cannot be trusted)."""
        replayed = getattr(func, "grader_codes", None)
        target = func
        while isinstance(target, functools.partial):  # functools.partial(split_heads) is split_heads
            target = target.func
        for name in self.library:
            if target is _library_function(name) or (replayed is not None and func.grader_library == name):
                return f"course_lib's `{name}` itself"
        if replayed is None and not hasattr(target, "__code__"):  # np.matmul, np.einsum, np.ndarray.dot: no code
            called = getattr(target, "__name__", "")  # to read (the grader reads the answer's source instead)
            if called in self.names or ("@" in self.operators and called == "matmul"):
                return f"`{called}`"
        for code in (_codes(func) if replayed is None else replayed):
            used = _names_used(code)
            if replayed is not None:  # a course_lib name in the source, unless it names the student's own function
                loaded = {name for name, kind in used if not (kind == "global" and name in func.grader_helpers)}
                named = [name for name in self.library if name in loaded and name not in self.when]
                if named:
                    return f"course_lib's `{named[0]}`"
            if code.co_name in self.functions:
                return f"the notebook's `{code.co_name}`"
            for instruction in dis.get_instructions(code):
                if "@" in self.operators and _is_matmul(instruction):
                    return "the @ operator"
            for name, kind in used:
                if name in self.functions:
                    return f"the notebook's `{name}`"
                value = _global(target, name) if kind == "global" and replayed is None else None
                if name in self.names and not (kind == "global" and _theirs(func, target, name, value)):
                    return f"`{name}`"
                if (value is not None and getattr(value, "__name__", "") in self.names
                        and not _theirs(func, target, name, value)):
                    return f"`{value.__name__}`"  # another name for a forbidden function: mm = np.matmul
        return None

    @contextlib.contextmanager
    def tripwires(self, func: Callable[..., Any]) -> Iterator[list[str]]:
        """While active, calls of the forbidden course_lib functions from outside course_lib are recorded.
        For an answer the grader replays, the calls are those its kernel recorded for the last call."""
        calls: list[str] = []
        if getattr(func, "grader_codes", None) is not None:
            yield calls
            for name, kwargs in func.grader_library_calls():
                condition = self.when.get(name)
                if name in self.library and (condition is None or condition((), kwargs)):
                    calls.append(f"course_lib's `{name}`" + (" with causal=True" if name in self.when else ""))
            return
        originals = {id(_library_function(name)): (_library_function(name), name) for name in self.library}
        wires = {key: self._wire(original, name, calls) for key, (original, name) in originals.items()}
        namespaces = [getattr(func, "__globals__", {}), vars(attention), vars(grad), vars(tiled), vars(sys.modules["course_lib"])]
        patched = []
        for namespace in namespaces:
            for key, value in list(namespace.items()):
                if id(value) in originals and value is originals[id(value)][0]:
                    patched.append((namespace, key, value))
                    namespace[key] = wires[id(value)]
        try:
            yield calls
        finally:
            for namespace, key, value in patched:
                namespace[key] = value

    def _wire(self, original: Callable[..., Any], name: str, calls: list[str]) -> Callable[..., Any]:
        condition = self.when.get(name)

        @functools.wraps(original)
        def wire(*args: Any, **kwargs: Any) -> Any:
            caller = sys._getframe(1).f_globals.get("__name__", "")
            if not caller.startswith("course_lib") and (condition is None or condition(args, kwargs)):
                calls.append(f"course_lib's `{name}`" + (" with causal=True" if name in self.when else ""))
            return original(*args, **kwargs)

        return wire


_LOADS = {"LOAD_GLOBAL": "global", "LOAD_NAME": "global", "LOAD_DEREF": "global", "LOAD_CLASSDEREF": "global",
          "LOAD_ATTR": "attribute", "LOAD_METHOD": "attribute", "IMPORT_NAME": "import", "IMPORT_FROM": "import"}


def _names_used(code: types.CodeType) -> list[tuple[str, str]]:
    """The names ``code`` reads, each with how: "global" (a name of the notebook, or a closure's), "attribute"
    (``np.einsum``, ``a.dot``) or "import" (``from numpy import einsum``)."""
    return [(instruction.argval, _LOADS[instruction.opname]) for instruction in dis.get_instructions(code)
            if instruction.opname in _LOADS and isinstance(instruction.argval, str)]


def _global(func: Any, name: str) -> Any:
    """What the global ``name`` of the learner's function ``func`` is now (None where it has none)."""
    return getattr(func, "__globals__", {}).get(name)


def _theirs(func: Any, target: Any, name: str, value: Any) -> bool:
    """True when the global ``name`` is a function the learner wrote (whatever it is called, ``def dot``): its code
    is read as a helper's. Under the grader, a function the notebook's source defines; in the kernel, a Python
    function of the notebook (not NumPy's)."""
    if getattr(func, "grader_codes", None) is not None:
        return name in func.grader_helpers
    return isinstance(value, types.FunctionType) and value.__module__ == getattr(target, "__module__", None)


def _library_function(name: str) -> Callable[..., Any]:
    """The course_lib function called ``name``: in attention, grad or tiled (searched in that order)."""
    module = next(m for m in (attention, grad, tiled) if hasattr(m, name))
    return getattr(module, name)


def _is_matmul(instruction: dis.Instruction) -> bool:
    if instruction.opname in ("BINARY_MATRIX_MULTIPLY", "INPLACE_MATRIX_MULTIPLY"):  # Python 3.10
        return True
    return instruction.opname == "BINARY_OP" and instruction.argrepr in ("@", "@=")  # Python 3.11+


def _codes(func: Any, depth: int = 6, seen: set | None = None) -> Iterator[types.CodeType]:
    """The code objects of ``func``, its nested functions and lambdas, and the functions it calls by
    name (globals or closure variables) that were defined in the same place (the notebook), a few levels deep."""
    seen = set() if seen is None else seen
    code = getattr(func, "__code__", None)
    if code is None or id(code) in seen:
        return
    seen.add(id(code))
    helpers = [cell.cell_contents for cell in (getattr(func, "__closure__", None) or ())
               if isinstance(_cell_contents(cell), types.FunctionType)]
    stack = [code]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(c for c in current.co_consts if isinstance(c, types.CodeType))
        helpers += [getattr(func, "__globals__", {}).get(name) for name in current.co_names]
    if depth > 0:
        for helper in helpers:
            if isinstance(helper, types.FunctionType) and helper.__module__ == func.__module__:
                yield from _codes(helper, depth - 1, seen)


def _cell_contents(cell: Any) -> Any:
    try:
        return cell.cell_contents
    except ValueError:  # an empty cell: a variable not assigned yet
        return None
