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

from . import attention, backend, data
from .backend import to_numpy

__all__ = [
    "check_array",
    "check_value",
    "check_function",
    "check_park_row",
    "check_outdoor_words",
    "check_dot_product",
    "check_cosine_similarity",
    "check_projections",
    "check_sport_values",
    "check_attention_scores",
    "check_scores_shape",
    "check_best_key_for_go",
    "check_score_std",
    "check_scaled_scores",
    "check_softmax_jacobian",
    "check_stable_softmax",
    "check_softmax_temperature",
    "check_weighted_sum",
    "check_weights_for_point",
    "check_attention",
    "check_top_tokens_for_play",
    "check_top_tokens_for_go",
    "check_hard_lookup",
    "check_top_book",
    "check_causal_self_attention",
    "check_padding_mask",
    "check_cross_attention",
    "check_reversal_w_q",
    "check_split_heads",
    "check_multi_head_attention",
]

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
    try:
        got_np = numpy.asarray(to_numpy(got) if _is_array(got) else got)
    except ValueError:  # a ragged list such as [[1.0, 0.0], [1.0]]
        return f"expected an array of shape {tuple(expected.shape)}, got a list whose rows have different lengths"
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


_FAILED = object()  # what _call_learner returns once it has reported a placeholder or an exception


def _call_learner(func: Callable[..., Any], args: tuple, *, name: str, where: str, hint: str) -> Any:
    """Call the learner's ``func(*args)``. A placeholder (NotImplementedError) or a bug (any other
    exception) is reported instead of a traceback, and ``_FAILED`` returned. NumPy's floating-point
    warnings are silenced inside the call: the verdict says what went wrong."""
    try:
        with numpy.errstate(all="ignore"):
            return func(*args)
    except NotImplementedError:
        _report(NOT_ATTEMPTED, name, "its body still raises NotImplementedError; write your code in its place")
    except Exception as err:  # a learner's bug: say what happened instead of a traceback
        _report(WRONG, name, f"{where} it raised {type(err).__name__}: {err}", hint)
    return _FAILED


def check_function(func: Callable[..., Any], reference: Callable[..., Any], cases: Sequence[tuple],
                   *, name: str | None = None, hint: str = "", returns: Sequence[str] = (),
                   rtol: float = 1e-6, atol: float = 1e-9) -> None:
    """Call ``func`` and ``reference`` on each tuple of arguments in ``cases``, compare the
    results (arrays, or tuples of arrays whose parts are named by ``returns``, e.g.
    ("out", "weights")) and print the verdict for the first case that differs.
    """
    name = name or f"{getattr(func, '__name__', 'your function')}()"
    for number, args in enumerate(cases, start=1):
        shapes = ", ".join(str(tuple(numpy.shape(to_numpy(a)))) for a in args if _is_array(a))
        where = f"on test input {number} (argument shapes {shapes})"
        got = _call_learner(func, args, name=name, where=where, hint=hint)
        if got is _FAILED:
            return
        expected = reference(*args)
        if not isinstance(expected, tuple):
            detail = _difference(got, expected, rtol, atol)
            if detail is not None:
                _report(WRONG, name, f"{where}: {detail}", hint)
                return
            continue
        labels = list(returns) or [f"result {i}" for i in range(len(expected))]
        if not isinstance(got, tuple) or len(got) != len(expected):
            received = f"{len(got)} values" if isinstance(got, tuple) else f"a {type(got).__name__}"
            _report(WRONG, name, f"expected it to return {len(expected)} values ({', '.join(labels)}), got {received}",
                    hint)
            return
        details = [(label, _difference(g, e, rtol, atol)) for label, g, e in zip(labels, got, expected)]
        wrong = [f"`{label}` differs {where}: {detail}" for label, detail in details if detail is not None]
        if wrong:
            _report(WRONG, name, "\n   ".join(wrong), hint)
            return
    _report(CORRECT, name, f"it agrees with course_lib on all {len(cases)} test inputs")


def _describe(x: Any) -> str:
    shape = tuple(numpy.shape(to_numpy(x)))
    return "value" if shape == () else f"array of shape {shape}"


def _check_pick(got: Any, expected: str, options: Sequence[str], *, name: str, kind: str, listed_in: str,
                why_not: Callable[[str], str], hint: str) -> None:
    """Check one name picked from ``options`` (a token, a title). A wrong pick is told what is off
    with it (``why_not``: its own score), never the expected answer: the exercise is the finding."""
    if got is Ellipsis:
        _report(NOT_ATTEMPTED, name, "replace the `...` with your answer and run the cell again")
    elif got == expected:
        _report(CORRECT, name, f"{expected!r}")
    elif not isinstance(got, str):
        _report(WRONG, name, f"expected a {kind} as a string, such as {options[1]!r}; "
                             f"got {got!r} of type {type(got).__name__}", hint)
    elif got not in options:
        _report(WRONG, name, f"{got!r} is not a {kind} (they are listed in {listed_in})", hint)
    else:
        _report(WRONG, name, why_not(got), hint)


# ---------------------------------------------------------------- notebook 00: welcome


def check_park_row(x_park: Any) -> None:
    """00: the embedding row of the token "park" in the sentence's x."""
    x = data.sentence_embeddings()
    expected = x[data.TOKENS.index("park")]
    check_array(x_park, expected, name="x_park",
                hint='one row of x is one token: find its position with data.TOKENS.index("park") and take x[position]')


def check_outdoor_words(outdoor_words: Any) -> None:
    """00: the tokens of the sentence whose "outdoors" feature is above 0.3, in sentence order."""
    x = to_numpy(data.sentence_embeddings())
    column = data.FEATURES.index("outdoors")
    expected = [token for token, row in zip(data.TOKENS, x) if row[column] > 0.3]
    name = "outdoor_words"
    hint = 'the "outdoors" column is x[:, data.FEATURES.index("outdoors")]; keep the tokens in sentence order'
    if outdoor_words is Ellipsis or outdoor_words == expected:
        check_value(outdoor_words, expected, name=name)
        return
    if not isinstance(outdoor_words, list):
        _report(WRONG, name, f"expected a list of tokens, got a {type(outdoor_words).__name__}",
                "build a list: [token for token, row in zip(data.TOKENS, x) if ...]")
        return
    outdoors = {token: float(row[column]) for token, row in zip(data.TOKENS, x)}  # token -> its outdoors value
    extra = [word for word in outdoor_words if word not in expected]
    if extra and isinstance(extra[0], str) and extra[0] in outdoors:
        detail = f"{extra[0]!r} has outdoors = {outdoors[extra[0]]:.2g}, which is not greater than 0.3"
    elif extra:
        detail = f"{extra[0]!r} is not a token of the sentence; list the tokens themselves, as strings"
    elif len(set(outdoor_words)) < len(expected):
        detail = f"{len(expected) - len(set(outdoor_words))} token(s) with outdoors > 0.3 are missing"
    else:
        detail = "the right tokens, but not once each in sentence order"
    _report(WRONG, name, detail, hint)


# ---------------------------------------------------------------- notebook 01: dot product


def _dot_cases() -> list[tuple]:
    """Inputs for the notebook 01 checks: two 2-D arrows, two park words, stacks of vectors (2-D and 3-D)."""
    rng = numpy.random.default_rng(1)
    park, cricket = data.embed(["park", "cricket"])
    return [
        (backend.asarray([2.0, 1.0]), backend.asarray([1.0, 2.0])),
        (park, cricket),
        (backend.asarray(rng.normal(size=(4, 3))), backend.asarray(rng.normal(size=(4, 3)))),
        (backend.asarray(rng.normal(size=(2, 3, 5))), backend.asarray(rng.normal(size=(2, 3, 5)))),
    ]


def check_dot_product(func: Callable[..., Any]) -> None:
    """01: func(a, b) -> the dot product along the last axis: (..., d), (..., d) -> (...)."""
    check_function(func, attention.dot_product, _dot_cases(), name="my_dot_product()",
                   hint="multiply the arrays element by element, then sum over the LAST axis only (xp.sum "
                        "takes an `axis` argument; without it, it adds up everything); for 2-D arrays "
                        "`a @ b` is a matrix product, not one dot product per row")


def check_cosine_similarity(func: Callable[..., Any]) -> None:
    """01: func(a, b) -> a·b / (‖a‖ ‖b‖) along the last axis: (..., d), (..., d) -> (...)."""
    cases = _dot_cases() + [(backend.asarray([1.0, 0.6]), backend.asarray([3.0, 1.8]))]  # one vector 3 times the other

    def reference(a: Any, b: Any) -> Any:
        dot = attention.dot_product
        return dot(a, b) / (dot(a, a) * dot(b, b)) ** 0.5

    check_function(func, reference, cases, name="cosine_similarity()",
                   hint="divide the dot product by BOTH lengths, ‖a‖ = xp.sqrt(dot_product(a, a)) "
                        "(a square root: dividing by a·a gives the squared length); a vector and 3 times "
                        "that vector have cosine 1; xp.linalg.norm(a) without axis=-1 is ONE length for the "
                        "whole stack, not one per row")


# ---------------------------------------------------------------- notebook 02: queries, keys, values


def check_projections(func: Callable[..., Any]) -> None:
    """02: func(x, w_q, w_k, w_v) -> (q, k, v) with q = x W_q, k = x W_k, v = x W_v."""
    rng = numpy.random.default_rng(2)
    cases = [(data.sentence_embeddings(), *data.park_projections())]
    for x_shape, d_k, d_v in (((5, 6), 4, 3), ((2, 3, 4), 2, 5)):  # d_v != d_k; a batch of 2 sequences
        d_model = x_shape[-1]
        cases.append(tuple(backend.asarray(rng.normal(size=shape))
                           for shape in (x_shape, (d_model, d_k), (d_model, d_k), (d_model, d_v))))

    def reference(x: Any, w_q: Any, w_k: Any, w_v: Any) -> tuple[Any, Any, Any]:
        return x @ w_q, x @ w_k, x @ w_v

    check_function(func, reference, cases, name="project()", returns=("q", "k", "v"),
                   hint="x comes first, x @ w_q (a row of x times the matrix, as in q_i = x_i W_q), not w_q @ x; "
                        "each of q, k, v has its own matrix; return the tuple (q, k, v) in that order")


def check_sport_values(w_v_sport: Any) -> None:
    """02: a (d_model, 3) value matrix whose values are the sport, outdoors and action features of x."""
    columns = [data.FEATURES.index(f) for f in ("sport", "outdoors", "action")]
    expected = backend.xp.eye(len(data.FEATURES))[:, columns]  # (8, 3): column j copies feature columns[j]
    if isinstance(w_v_sport, list) or _is_array(w_v_sport):
        try:
            answer = numpy.asarray(to_numpy(w_v_sport) if _is_array(w_v_sport) else w_v_sport)
        except ValueError:  # ragged: check_array says so
            answer = None
        if answer is not None and answer.dtype.kind in "iub":
            w_v_sport = answer.astype(float)  # a 0/1 integer matrix projects just as well (x @ W_v promotes)
    check_array(w_v_sport, expected, name="w_v_sport",
                hint="x_i @ W_v takes column j of W_v to build component j of v_i: put a 1 in the row of "
                     "feature 'sport' of column 0 (and 'outdoors' in column 1, 'action' in column 2), "
                     "0 elsewhere; the columns of xp.eye(8) are such one-hot columns")


# ---------------------------------------------------------------- notebook 03: transpose and scores


def check_attention_scores(func: Callable[..., Any]) -> None:
    """03: func(q, k) -> scores q @ kᵀ (last two axes of k swapped): (..., T_q, d_k), (..., T_k, d_k) -> (..., T_q, T_k)."""
    x = data.sentence_embeddings()
    w_q, w_k, _ = data.park_projections()
    rng = numpy.random.default_rng(3)
    cases = [(x @ w_q, x @ w_k)]
    for q_shape, k_shape in (((3, 2), (4, 2)), ((2, 3, 4), (2, 5, 4)), ((2, 2, 3, 4), (2, 2, 6, 4))):
        cases.append((backend.asarray(rng.normal(size=q_shape)), backend.asarray(rng.normal(size=k_shape))))
    check_function(func, attention.attention_scores, cases, name="my_attention_scores()",
                   hint="q @ k needs k's keys as COLUMNS: transpose k, but only its last two axes (the "
                        "section on batches shows the function); k.T reverses every axis, which breaks "
                        "batches (3-D input)")


def check_scores_shape(scores_shape: Any) -> None:
    """03: the shape of attention_scores(q, k) for q (2, 5, 16) and k (2, 7, 16).

    A wrong answer is told what is off (an axis too few, d_k kept, queries and keys swapped),
    never the expected shape itself: the exercise is the prediction.
    """
    xp = backend.xp
    expected = tuple(attention.attention_scores(xp.zeros((2, 5, 16)), xp.zeros((2, 7, 16))).shape)
    name = "scores_shape"
    if scores_shape is Ellipsis:
        _report(NOT_ATTEMPTED, name, "replace the `...` with your answer and run the cell again")
        return
    if isinstance(scores_shape, list):
        scores_shape = tuple(scores_shape)
    if scores_shape == expected:
        _report(CORRECT, name, f"{expected!r}")
        return
    hint = ("(..., T_q, d_k) @ (..., d_k, T_k) -> (..., T_q, T_k): the batch size stays in front, "
            "then one row per query and one column per key; d_k is summed over and disappears")
    if not isinstance(scores_shape, tuple) or not all(isinstance(n, int) for n in scores_shape):
        detail = f"expected a tuple of whole numbers such as (3, 4), got {scores_shape!r}"
    elif len(scores_shape) != len(expected):
        detail = (f"got {scores_shape!r}, which has {len(scores_shape)} axes; q and k have "
                  f"{len(expected)} axes each, and so does their product")
    elif 16 in scores_shape:
        detail = f"got {scores_shape!r}, but d_k = 16 is summed over in every dot product and is not an axis of the scores"
    elif sorted(scores_shape) == sorted(expected):
        detail = f"got {scores_shape!r}: the right sizes, in the wrong order"
    else:
        detail = f"got {scores_shape!r}, which is not the shape of the scores"
    _report(WRONG, name, detail, hint)


def check_best_key_for_go(best_key_for_go: Any) -> None:
    """03: the token whose key gets the highest park score from the query of "go".

    A wrong token is told its own score and that a higher one exists, never the answer itself.
    """
    x = data.sentence_embeddings()
    w_q, w_k, _ = data.park_projections()
    row = to_numpy(attention.attention_scores(x @ w_q, x @ w_k))[data.TOKENS.index("go")]  # (T,)
    expected = data.TOKENS[int(numpy.argmax(row))]
    hint = ('the query of "go" is ROW data.TOKENS.index("go") of park_scores; find the largest entry '
            "of that row and turn its column index back into a token with data.TOKENS[...]")
    _check_pick(best_key_for_go, expected, data.TOKENS, name="best_key_for_go", kind="token of the sentence",
                listed_in="data.TOKENS", hint=hint,
                why_not=lambda token: f"q_go · k_{token} = {row[data.TOKENS.index(token)]:.2f}, but another key "
                                      "gets a higher score from the query of go")


# ---------------------------------------------------------------- notebook 04: scaling


def check_score_std(std_unscaled: Any, std_scaled: Any) -> None:
    """04: the standard deviations of q·k and of q·k/√d_k for random unit-variance q, k with d_k = 256.

    A wrong number is told which mistake it looks like, never the expected number: the exercise is the prediction.
    """
    d_k = 256
    expected_unscaled = float(d_k) ** 0.5  # Var(q·k) = d_k, so the standard deviation is √d_k
    expected_scaled = float(attention.scale_scores(backend.xp.asarray(expected_unscaled), d_k))  # divided by √d_k

    def judge(got: Any, expected: float, name: str, mistakes: dict[float, str], hint: str) -> None:
        if got is Ellipsis:
            _report(NOT_ATTEMPTED, name, "replace the `...` with your answer and run the cell again")
            return
        if isinstance(got, bool) or not isinstance(got, (int, float, numpy.number)):
            _report(WRONG, name, f"expected a number, got a {type(got).__name__}", hint)
            return
        if numpy.isclose(float(got), expected, rtol=1e-6, atol=0.0):
            _report(CORRECT, name, f"{expected!r}")
            return
        known = [why for value, why in mistakes.items() if numpy.isclose(float(got), value, rtol=1e-6, atol=0.0)]
        _report(WRONG, name, f"got {got!r}" + (f": {known[0]}" if known else ""), hint)

    judge(std_unscaled, expected_unscaled, "std_unscaled",
          {float(d_k): "that is the variance of q·k, not its standard deviation",
           1.0: "that is the spread after scaling; before it, the spread grows with d_k"},
          f"the variance of q·k is d_k = {d_k}; the standard deviation is its square root")
    judge(std_scaled, expected_scaled, "std_scaled",
          {float(d_k) ** 0.5 / d_k: "that divides the standard deviation by d_k (or by √d_k twice); "
                                    "the scaled score is the unscaled one divided by √d_k once",
           float(d_k) ** 0.5: "that is the standard deviation before scaling; dividing every score by √d_k "
                              "divides it too"},
          "dividing by √d_k divides the standard deviation by √d_k (and the variance by d_k)")


def check_scaled_scores(func: Callable[..., Any]) -> None:
    """04: func(q, k) -> q @ kᵀ / √d_k, with d_k = q.shape[-1]."""
    x = data.sentence_embeddings()
    w_q, w_k, _ = data.park_projections()
    rng = numpy.random.default_rng(4)
    cases = [(x @ w_q, x @ w_k)]
    for q_shape, k_shape in (((3, 4), (5, 4)), ((2, 3, 16), (2, 6, 16))):
        cases.append((backend.asarray(rng.normal(size=q_shape)), backend.asarray(rng.normal(size=k_shape))))

    def reference(q: Any, k: Any) -> Any:
        return attention.scale_scores(attention.attention_scores(q, k), q.shape[-1])

    check_function(func, reference, cases, name="my_scaled_scores()",
                   hint="divide q @ kᵀ by the SQUARE ROOT of d_k, and take d_k from the last axis of q "
                        "(q.shape[-1], the length of a query), not from the number of tokens")


def check_softmax_jacobian(func: Callable[..., Any]) -> None:
    """04: func(s) -> the softmax Jacobian diag(p) - p pᵀ, p = softmax(s), for one row s of shape (n,)."""
    rng = numpy.random.default_rng(44)
    cases = [(backend.asarray([1.0, 2.0, 0.5]),), (backend.asarray(numpy.zeros(4)),),
             (backend.asarray(rng.normal(scale=3.0, size=6)),), (backend.asarray([0.0, 30.0, -5.0]),)]

    def reference(s: Any) -> Any:
        p = attention.softmax(s)  # (n,)
        xp = backend.namespace(p)
        return xp.diag(p) - p[:, None] * p[None, :]  # (n, n)

    check_function(func, reference, cases, name="softmax_jacobian()", atol=1e-9,
                   hint="the result is an (n, n) matrix: a diagonal matrix with p on its diagonal (xp has a "
                        "function that builds one from a vector) minus the outer product p pᵀ, whose entry "
                        "[i, j] is p[i] * p[j] (a column of p times a row of p, by broadcasting)")


# ---------------------------------------------------------------- notebook 05: softmax


def _softmax_cases() -> list[tuple]:
    """Inputs for the softmax checks: small rows, huge rows (overflow), mixed rows, a vector."""
    rng = numpy.random.default_rng(5)
    return [
        (backend.asarray([[1.0, 2.0], [3.0, 3.0], [0.0, -1.0]]),),
        (backend.asarray([[1000.0, 1001.0, 1002.0], [0.0, 1.0, 2.0]]),),
        (backend.asarray(rng.normal(scale=3.0, size=(4, 6))),),
        (backend.asarray([-2.0, 0.5, 710.0, 3.0]),),
    ]


def check_stable_softmax(func: Callable[..., Any]) -> None:
    """05: func(x) -> softmax along the last axis, stable for huge entries (subtract each row's max)."""
    check_function(func, attention.softmax, _softmax_cases(), name="stable_softmax()",
                   hint="work along the last axis (axis=-1: test input 4 is a single row of shape (n,)); "
                        "subtract each row's own maximum before exponentiating (keep the axis, so the shapes broadcast), then "
                        "exponentiate and divide by the row's sum (keepdims=True again, so the shapes broadcast); "
                        "one maximum for the whole matrix is not enough when rows differ by ~1000")


def check_softmax_temperature(func: Callable[..., Any]) -> None:
    """05: func(x, temperature) -> softmax(x / temperature) along the last axis."""
    cases = [(x, t) for (x,), t in zip(_softmax_cases()[:3], (0.5, 4.0, 1.0))]

    def reference(x: Any, temperature: float) -> Any:
        return attention.softmax(x / temperature)

    check_function(func, reference, cases, name="softmax_with_temperature()",
                   hint="divide the scores by the temperature first, then take softmax: "
                        "a small temperature sharpens, a large one flattens")


# ---------------------------------------------------------------- notebook 06: weighted sum


def check_weighted_sum(func: Callable[..., Any]) -> None:
    """06: func(weights, v) -> out with out[i] = sum_j weights[i, j] * v[j]."""
    rng = numpy.random.default_rng(6)
    cases = [
        (backend.asarray([[0.5, 0.5, 0.0], [0.1, 0.2, 0.7]]), backend.asarray([[1.0, 0.0], [0.0, 1.0], [2.0, 2.0]])),
        (attention.softmax(backend.asarray(rng.normal(size=(4, 5)))), backend.asarray(rng.normal(size=(5, 3)))),
        (backend.asarray([[1.0]]), backend.asarray([[3.0, -1.0, 2.0, 0.5]])),
    ]
    check_function(func, attention.weighted_sum, cases, name="my_weighted_sum()",
                   hint="row i of the output is sum over j of weights[i, j] * v[j]: one weight per value ROW; "
                        "the result has one row per query and d_v columns, shape (T_q, d_v)")


def check_weights_for_point(weights: Any, v: Any, target: Any) -> None:
    """06: weights (T_k=3,) that mix the three 2-D value rows v into the point target (barycentric coordinates).

    A wrong answer is told which condition fails (a negative weight, the sum, the point it mixes),
    never the expected weights.
    """
    name = "w_target"
    hint = ("write weights @ v = target as one equation per coordinate, add w_0 + w_1 + w_2 = 1, "
            "and solve the three equations")
    if weights is Ellipsis:
        _report(NOT_ATTEMPTED, name, "replace the `...` with your answer and run the cell again")
        return
    if not (_is_array(weights) or isinstance(weights, (list, tuple))):
        _report(WRONG, name, f"expected 3 numbers (a list or an array), got a {type(weights).__name__}", hint)
        return
    v_np, target_np = numpy.asarray(to_numpy(v), dtype=float), numpy.asarray(to_numpy(target), dtype=float)
    try:
        got = numpy.asarray(to_numpy(weights) if _is_array(weights) else weights, dtype=float)
    except (TypeError, ValueError):
        _report(WRONG, name, f"expected 3 numbers, got {weights!r}", hint)
        return
    if got.shape != (len(v_np),):
        _report(WRONG, name, f"expected {len(v_np)} weights, one per value row, got shape {got.shape}", hint)
        return
    point = to_numpy(attention.weighted_sum(backend.asarray(got)[None, :], backend.asarray(v_np)))[0]  # (2,)
    problems = []
    if (got < 0).any():
        problems.append(f"weight {int(numpy.argmin(got))} is negative ({got.min():.3g})")
    if not numpy.isclose(got.sum(), 1.0):
        problems.append(f"your weights sum to {got.sum():.3g}, not 1")
    if not numpy.allclose(point, target_np):
        problems.append(f"they mix v into the point ({point[0]:.3g}, {point[1]:.3g}), "
                        f"not ({target_np[0]:.3g}, {target_np[1]:.3g})")
    if problems:
        _report(WRONG, name, "; ".join(problems), hint)
    else:
        _report(CORRECT, name, "all ≥ 0, summing to 1, and mixing v into the target")


# ---------------------------------------------------------------- notebook 07: scaled dot-product attention


def check_attention(func: Callable[..., Any]) -> None:
    """07: func(q, k, v) -> (out, weights) = scaled dot-product attention without a mask."""
    rng = numpy.random.default_rng(7)
    x = data.sentence_embeddings()
    w_q, w_k, w_v = data.park_projections()
    cases = [(x @ w_q, x @ w_k, x @ w_v)]
    cases += [tuple(backend.asarray(rng.normal(size=shape)) for shape in shapes)
              for shapes in (((2, 3), (4, 3), (4, 5)), ((1, 16), (6, 16), (6, 2)), ((5, 4), (5, 4), (5, 4)))]
    check_function(func, attention.scaled_dot_product_attention, cases, name="my_attention()", returns=("out", "weights"),
                   hint="scores = q @ k.T (T_q, T_k); divide by sqrt(d_k) where d_k = q.shape[-1]; softmax along the "
                        "LAST axis (each query's row sums to 1, subtract the row max); out = weights @ v; "
                        "return (out, weights)")


def check_top_tokens_for_go(top3_for_go: Any) -> None:
    """07: the three tokens that the query "go" attends to most, largest weight first."""
    check_top_tokens_for_play(top3_for_go, _query="go")


def check_top_tokens_for_play(top3_for_play: Any, _query: str = "play") -> None:
    """07: the three tokens that the query "play" attends to most, largest weight first."""
    x = data.sentence_embeddings()
    w_q, w_k, w_v = data.park_projections()
    _, weights = attention.scaled_dot_product_attention(x @ w_q, x @ w_k, x @ w_v)
    row = to_numpy(weights[data.TOKENS.index(_query)])  # (T,)
    expected = [data.TOKENS[j] for j in numpy.argsort(-row, kind="stable")[:3]]
    name, got = f"top3_for_{_query}", top3_for_play
    hint = ('take the row weights[data.TOKENS.index("play")], sort its positions by decreasing weight '
            "(np.argsort(-row)) and turn the first three positions into tokens")
    if got is Ellipsis or got == expected:
        check_value(got, expected, name=name)
    elif not isinstance(got, list):
        _report(WRONG, name, f"expected a list of 3 tokens, got a {type(got).__name__}",
                "make a list of strings, e.g. [data.TOKENS[j] for j in ...]")
    elif len(got) != 3 or not all(isinstance(token, str) for token in got):
        _report(WRONG, name, f"expected 3 tokens (strings), got {got!r}", "a position j becomes its token with data.TOKENS[j]")
    elif sorted(got) == sorted(expected):
        _report(WRONG, name, "the right three tokens, in the wrong order", "largest weight first")
    else:
        yours = ", ".join(f"{token} {row[data.TOKENS.index(token)]:.3f}" if token in data.TOKENS
                          else f"{token!r} (not a token)" for token in got)
        _report(WRONG, name, f"not the three largest weights; yours get {yours}", hint)


# ---------------------------------------------------------------- notebook 08: library analogy


def check_hard_lookup(func: Callable[..., Any]) -> None:
    """08: func(query, keys, values) -> the value row (d_v,) of the key with the highest score query · key."""
    rng = numpy.random.default_rng(8)
    _, keys, values = data.catalogue()
    cases = [(data.topic_query(*topics), keys, values)
             for topics in (("machine learning",), ("cooking",), ("history", "music"))]
    cases.append(tuple(backend.asarray(rng.normal(size=shape)) for shape in ((4,), (7, 4), (7, 3))))

    def reference(query: Any, keys: Any, values: Any) -> Any:
        scores = to_numpy(attention.attention_scores(query[None, :], keys))[0]  # (n_books,)
        return values[int(numpy.argmax(scores))]  # (d_v,)

    check_function(func, reference, cases, name="hard_lookup()",
                   hint="score every card with keys @ query (one number per book), find the position of the "
                        "largest score with xp.argmax, and return that book's row of values (shape (d_v,))")


def check_top_book(top_book: Any) -> None:
    """08: the title of the book that gets the largest weight for the query asking for machine learning AND history."""
    titles, keys, values = data.catalogue()
    query = data.topic_query("machine learning", "history")
    _, weights = attention.scaled_dot_product_attention(query[None, :], keys, values)  # (1, n_books)
    row = to_numpy(weights)[0]  # (n_books,)
    expected = titles[int(numpy.argmax(row))]
    _check_pick(top_book, expected, titles, name="top_book", kind="title in the catalogue", listed_in="titles",
                why_not=lambda title: f"{title!r} gets weight {row[titles.index(title)]:.3f}; another book gets more",
                hint='build the query with data.topic_query("machine learning", "history"), get the weights with '
                     "scaled_dot_product_attention(query[None, :], keys, values) and take the title at the "
                     "position of the largest weight")


# ---------------------------------------------------------------- notebook 09: self-attention


def _random_cases(seed: int, shapes: Sequence[Sequence[tuple[int, ...]]]) -> list[tuple]:
    """Test inputs for a check: one tuple of seeded normal arrays (selected backend) per list of shapes."""
    rng = numpy.random.default_rng(seed)
    return [tuple(backend.asarray(rng.normal(size=shape)) for shape in case) for case in shapes]


def check_causal_self_attention(func: Callable[..., Any]) -> None:
    """09: func(x, w_q, w_k, w_v) -> (out, weights): self-attention in which token i sees tokens 0..i."""
    cases = [(data.sentence_embeddings(), *data.park_projections())]
    cases += _random_cases(9, [[(t, d)] + [(d, d)] * 3 for t, d in ((1, 3), (4, 2), (6, 5))])

    def reference(x: Any, w_q: Any, w_k: Any, w_v: Any) -> tuple[Any, Any]:
        return attention.scaled_dot_product_attention(x @ w_q, x @ w_k, x @ w_v, causal=True)

    check_function(func, reference, cases, name="causal_self_attention()", returns=("out", "weights"),
                   hint="q, k and v all come from the same x (q = x @ w_q, k = x @ w_k, v = x @ w_v); "
                        "pass mask=causal_mask(T) (True = may attend) so that query i sees keys 0..i: a lower "
                        "triangle of weights, row 0 all on key 0. If a row puts weight on keys after its own "
                        "position, the mask is missing or flipped (its transpose lets query i see keys i..T-1); "
                        "mask the SCORES before the softmax (each row of weights must still sum to 1), not the weights "
                        "after it; return the pair (out, weights)")


def check_padding_mask(func: Callable[..., Any]) -> None:
    """09: func(lengths, t) -> boolean mask (B, 1, t), True where key j of sequence b is a real token.
    A mask of another dtype is wrong even with the right 0/1 values: to softmax a floating mask is added
    to the scores. Differences are shown as True/False."""
    name = "my_padding_mask()"
    hint = ("position j of sequence b is real when j < lengths[b]: compare a row of positions 0..t-1 with a "
            "column of lengths (broadcasting gives (B, t) booleans), then insert a length-1 query axis in "
            "the middle to get (B, 1, t)")
    cases = [(backend.asarray([9, 5]), 9), (backend.asarray([0, 3, 3]), 4), (backend.asarray([2]), 2)]
    for number, (lengths, t) in enumerate(cases, start=1):
        where = f"on test input {number} (lengths = {to_numpy(lengths).tolist()}, t = {t})"
        got = _call_learner(func, (lengths, t), name=name, where=where, hint=hint)
        if got is _FAILED:
            return
        expected = attention.padding_mask(lengths, t)
        if not _is_array(got) or tuple(numpy.shape(to_numpy(got))) != tuple(expected.shape):
            _report(WRONG, name, f"{where}: {_difference(got, expected, 0.0, 0.0)}", hint)
            return
        got_np, want = numpy.asarray(to_numpy(got)), numpy.asarray(to_numpy(expected))
        if got_np.dtype != numpy.bool_:
            _report(WRONG, name, f"{where}: expected a boolean array (True/False), got dtype {got_np.dtype}; "
                                 "softmax would add a floating mask to the scores instead of hiding keys, "
                                 "and ~mask fails on it", "build the mask from a comparison (<) and do not "
                                                          "convert it to numbers")
            return
        differing = numpy.argwhere(got_np != want)
        if len(differing):
            row = [int(i) for i in differing[0][:-1]]
            _report(WRONG, name, f"{where}: first differing row is {row}:\n"
                                 f"   expected {want[tuple(row)]}\n   got      {got_np[tuple(row)]}", hint)
            return
    _report(CORRECT, name, f"it agrees with course_lib on all {len(cases)} test inputs")


# ---------------------------------------------------------------- notebook 10: encoder-decoder attention


def check_cross_attention(func: Callable[..., Any]) -> None:
    """10: func(y, x, w_q, w_k, w_v) -> (out, weights): queries from the decoder y, keys and values from the encoder x."""
    shapes = [(t_q, t_k, d) for t_q, t_k, d in ((2, 3, 2), (4, 6, 3), (1, 5, 4), (3, 3, 2))]
    cases = _random_cases(10, [[(t_q, d), (t_k, d)] + [(d, d)] * 3 for t_q, t_k, d in shapes])

    def reference(y: Any, x: Any, w_q: Any, w_k: Any, w_v: Any) -> tuple[Any, Any]:
        return attention.scaled_dot_product_attention(y @ w_q, x @ w_k, x @ w_v)

    check_function(func, reference, cases, name="cross_attention()", returns=("out", "weights"),
                   hint="the queries come from the decoder (q = y @ w_q), the keys and values from the encoder "
                        "(k = x @ w_k, v = x @ w_v); the weights have one row per decoder state: (T_q, T_k)")


def check_reversal_w_q(w_q_reverse: Any) -> None:
    """10: a (6, 6) w_q that makes decoder step t (query e_t @ w_q) attend to encoder position 5 - t (keys e_j)."""
    name = "w_q_reverse"
    if w_q_reverse is not Ellipsis:
        w = numpy.asarray(to_numpy(w_q_reverse)) if _is_array(w_q_reverse) else numpy.asarray(w_q_reverse)
        if w.shape != (6, 6) or w.dtype.kind not in "fiu":
            _report(WRONG, name, f"expected a (6, 6) matrix of numbers, got shape {w.shape}, dtype {w.dtype}",
                    "one row per decoder step, one column per key dimension")
            return
        positions = backend.asarray(numpy.eye(6))  # (6, 6): query of step t is e_t, key j is e_j
        _, got = attention.scaled_dot_product_attention(positions @ backend.asarray(w, dtype=positions.dtype),
                                                         positions, positions)
        w_q_reverse = got  # compare the alignment it produces, not the matrix: any strong enough w_q will do
        alignment = numpy.asarray(to_numpy(got))  # (6, 6)
        on_target = alignment[numpy.arange(6), 5 - numpy.arange(6)]  # (6,): weight of step t on position 5 - t
        if (numpy.argmax(alignment, axis=-1) == 5 - numpy.arange(6)).all() and on_target.min() <= 0.95:
            _report(WRONG, "the alignment of w_q_reverse",
                    "right pattern, not sharp enough: every step t looks most at position 5 - t, but the "
                    f"weakest gives it only {on_target.min():.3f} of its weight (needs more than 0.95)",
                    "scale it up: the scores are w_q's entries divided by sqrt(d_k) = sqrt(6) = 2.45, so an "
                    "entry c gives the right key e^(c/2.45) times the weight of each other key; c = 20 is plenty")
            return
    target = backend.asarray(numpy.eye(6)[::-1].copy())  # (6, 6): step t on position 5 - t
    check_array(w_q_reverse, target, name="the alignment of w_q_reverse", rtol=0.0, atol=0.05,
                hint="e_t @ w_q is row t of w_q: put a large number (about 20, for a sharp softmax) in column 5 - t "
                     "of row t and zeros elsewhere")


# ---------------------------------------------------------------- notebook 11: multi-head attention


def check_split_heads(func: Callable[..., Any]) -> None:
    """11: func(x, n_heads) -> (n_heads, T, d_head): x (T, d_model) cut into heads along its features."""
    cases = [(x, n_heads) for (x,), n_heads in zip(_random_cases(11, [[(3, 4)], [(5, 6)], [(2, 6)], [(4, 8)]]),
                                                   (2, 3, 1, 4))]
    check_function(func, attention.split_heads, cases, name="my_split_heads()",
                   hint="reshape x (T, d_model) to (T, n_heads, d_head), then swap the first two axes with "
                        "xp.transpose(..., (1, 0, 2)); a plain reshape to (n_heads, T, d_head) mixes up tokens")


def check_multi_head_attention(func: Callable[..., Any]) -> None:
    """11: func(x, w_q, w_k, w_v, w_o, n_heads) -> (out, weights): multi-head self-attention on x (T, d_model)."""
    layouts = ((3, 4, 2), (5, 6, 3), (4, 6, 1), (2, 8, 4))
    arrays = _random_cases(111, [[(t, d)] + [(d, d)] * 4 for t, d, _ in layouts])
    cases = [(*a, n_heads) for a, (_, _, n_heads) in zip(arrays, layouts)]

    def reference(x: Any, w_q: Any, w_k: Any, w_v: Any, w_o: Any, n_heads: int) -> tuple[Any, Any]:
        return attention.multi_head_attention(x, x, w_q, w_k, w_v, w_o, n_heads)

    check_function(func, reference, cases, name="my_multi_head_attention()", returns=("out", "weights"),
                   hint="project (x @ w_q, ...), split each into heads (n_heads, T, d_head), attend in every head "
                        "with scale 1/sqrt(d_head), merge back to (T, d_model) with merge_heads (by hand: transpose to "
                        "(T, n_heads, d_head) before reshaping), multiply by w_o; "
                        "return (out, weights) with weights (n_heads, T, T)")
