"""Checks for Part I, notebooks 00–08: the four steps of attention and the library analogy.

Each check computes the expected answer with ``course_lib``, the typical wrong answers of its
exercise (to name them), and the shortcuts the exercise rules out (to refuse them).
"""

from __future__ import annotations

from typing import Any, Callable

import numpy

from .. import attention, backend, data
from ..backend import to_numpy
from .verdict import (
    CORRECT, NOT_ATTEMPTED, REPLACE_DOTS, WRONG, Forbidden, Mistake, as_name, as_numpy, as_strings,
    call_quietly, check_array, check_function, check_pick, judge_prediction, never_raises, read_answer, report,
    unwritten,
)

__all__ = [
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
]


def _swap(x: Any) -> Any:
    """Swap the last two axes (mistakes run on the selected backend's arrays)."""
    return backend.xp.swapaxes(x, -1, -2)


def _out_zeros(weights: Any, v: Any) -> Any:
    """Zeros of the weighted sum's shape (T_q, d_v), in the arrays' own library."""
    return backend.namespace(v).zeros((weights.shape[0], v.shape[1]), dtype=v.dtype)


def _normalise(e: Any, axis: int | None = -1) -> Any:
    xp = backend.namespace(e)
    return e / xp.sum(e, axis=axis, keepdims=axis is not None)


# ---------------------------------------------------------------- notebook 00: welcome


@never_raises
def check_park_row(x_park: Any) -> None:
    """00: the embedding row of the token "park" in the sentence's x."""
    x = data.sentence_embeddings()
    i = data.TOKENS.index("park")
    got, _ = as_numpy(x_park) if x_park is not Ellipsis else (None, "")
    x_np = to_numpy(x)
    hint = 'one row of x is one token: its position in the sentence is data.TOKENS.index("park")'
    if got is not None and got.shape == () and got == i:
        report(WRONG, "x_park", f"{i} is the position of 'park' in the sentence; the exercise asks for its row of x, "
                                "the numbers that stand for it", hint)
        return
    if got is not None and got.shape == (x_np.shape[0],) and numpy.allclose(got, x_np[:, i]):
        report(WRONG, "x_park", f"that is column {i} of x: one feature for every token; a token is a ROW of x")
        return
    if got is not None and got.shape == x_np[i].shape and not numpy.allclose(got, x_np[i]):
        rows = [j for j in range(len(x_np)) if numpy.allclose(got, x_np[j])]
        tokens = list(dict.fromkeys(data.TOKENS[j] for j in rows))  # tokens with this embedding, in order
        if len(rows) == 1:
            what = f"that is row {rows[0]} of x, the embedding of {tokens[0]!r}"
        elif rows:  # equal rows: which one was taken cannot be told, so all are named
            what = (f"that is the embedding of {' / '.join(map(repr, tokens))} (rows "
                    f"{', '.join(map(str, rows[:-1]))} and {rows[-1]} of x hold the same numbers)")
        else:
            what = "that is not a row of x"
        report(WRONG, "x_park", f"{what}; the exercise asks for the row of 'park'", hint)
        return
    check_array(x_park, x[i], name="x_park", hint=hint)


@never_raises
def check_outdoor_words(outdoor_words: Any) -> None:
    """00: the tokens of the sentence whose "outdoors" feature is above 0.3, in sentence order.
    Any sequence of strings is accepted (list, tuple, NumPy array of strings)."""
    x = to_numpy(data.sentence_embeddings())
    column = data.FEATURES.index("outdoors")
    expected = [token for token, row in zip(data.TOKENS, x) if row[column] > 0.3]
    name = "outdoor_words"
    hint = 'the "outdoors" column is x[:, data.FEATURES.index("outdoors")]; keep the tokens in sentence order'
    words = read_answer(outdoor_words, as_strings, name=name, form="a list of tokens (strings)",
                        hint="the answer is tokens of the sentence, such as 'like', collected in a list")
    if words is None:
        return
    words = [as_name(word, data.TOKENS) for word in words]  # "Park" and " park" are the token 'park'
    if words == expected:
        report(CORRECT, name, f"{expected!r}")
        return
    outdoors = {token: float(row[column]) for token, row in zip(data.TOKENS, x)}  # token -> its outdoors value
    extra = [word for word in words if word not in expected]
    if extra and extra[0] in outdoors:
        detail = f"{extra[0]!r} has outdoors = {outdoors[extra[0]]:.2g}, which is not greater than 0.3"
    elif extra:
        detail = f"{extra[0]!r} is not a token of the sentence"
    elif len(set(words)) < len(expected):
        detail = f"{len(expected) - len(set(words))} token(s) with outdoors > 0.3 are missing"
    else:
        detail = "the right tokens, but not once each in sentence order"
    report(WRONG, name, detail, hint)


# ---------------------------------------------------------------- notebook 01: dot product


def _dot_cases() -> list[tuple]:
    """Inputs for the notebook 01 checks: two 2-D arrows, two park words, stacks of vectors (2-D and 3-D)."""
    rng = numpy.random.default_rng(1)
    park, cricket = data.embed(["park", "cricket"])
    return [
        (backend.asarray([2.0, 1.0]), backend.asarray([1.0, 3.0])),  # lengths differ: ‖a‖ ≠ ‖b‖
        (park, cricket),
        (backend.asarray(rng.normal(size=(4, 3))), backend.asarray(rng.normal(size=(4, 3)))),
        (backend.asarray(rng.normal(size=(2, 3, 5))), backend.asarray(rng.normal(size=(2, 3, 5)))),
    ]


def check_dot_product(func: Callable[..., Any]) -> None:
    """01: func(a, b) -> the dot product along the last axis: (..., d), (..., d) -> (...).
    Refused: course_lib's dot_product, and NumPy's dot, vdot, vecdot, inner, einsum, tensordot."""
    xp = backend.xp
    check_function(
        func, attention.dot_product, _dot_cases(), name="my_dot_product()",
        forbid=Forbidden("for the dot product built from an elementwise product and a sum",
                         library=["dot_product"], names=["dot", "vdot", "vecdot", "inner", "einsum", "tensordot"]),
        mistakes=[
            Mistake("one sum over every entry: a stack of vectors needs one dot product per vector",
                    lambda a, b: xp.sum(a * b)),
            Mistake("a sum over the first axis: the features are on the last axis", lambda a, b: xp.sum(a * b, axis=0)),
            Mistake("the elementwise products without their sum", lambda a, b: a * b),
            Mistake("a matrix product of a with the transpose of b: every vector against every other one, "
                    "not one dot product per pair", lambda a, b: a @ _swap(b)),
        ],
        hint="multiply matching entries, then add them up along the features (the last axis) only")


def check_cosine_similarity(func: Callable[..., Any]) -> None:
    """01: func(a, b) -> a·b / (‖a‖ ‖b‖) along the last axis: (..., d), (..., d) -> (...)."""
    dot = attention.dot_product
    xp = backend.xp
    cases = _dot_cases() + [(backend.asarray([1.0, 0.6]), backend.asarray([3.0, 1.8]))]  # one vector 3 times the other

    def reference(a: Any, b: Any) -> Any:
        return dot(a, b) / (dot(a, a) * dot(b, b)) ** 0.5

    check_function(
        func, reference, cases, name="cosine_similarity()",
        mistakes=[
            Mistake("a division by the squared lengths a·a and b·b: a length is the square root of a·a",
                    lambda a, b: dot(a, b) / (dot(a, a) * dot(b, b))),
            Mistake("a division by only one of the two lengths", lambda a, b: dot(a, b) / dot(a, a) ** 0.5),
            Mistake("a division by only one of the two lengths", lambda a, b: dot(a, b) / dot(b, b) ** 0.5),
            Mistake("√(a·b) where the lengths go: a vector's length is the square root of its dot product with "
                    "itself, ‖a‖ = √(a·a)", lambda a, b: dot(a, b) / xp.sqrt(dot(a, b))),
            Mistake("both lengths taken from one vector (‖a‖ ‖a‖ or ‖b‖ ‖b‖): the product is ‖a‖ ‖b‖",
                    lambda a, b: dot(a, b) / dot(a, a)),
            Mistake("both lengths taken from one vector (‖a‖ ‖a‖ or ‖b‖ ‖b‖): the product is ‖a‖ ‖b‖",
                    lambda a, b: dot(a, b) / dot(b, b)),
            Mistake("a division by ‖a‖ followed by a multiplication by ‖b‖: a / b * c is (a / b) * c, so the "
                    "product of the lengths needs parentheses",
                    lambda a, b: dot(a, b) / dot(a, a) ** 0.5 * dot(b, b) ** 0.5),
            Mistake("the raw dot product, not divided by the lengths", lambda a, b: dot(a, b)),
            Mistake("one length for the whole stack (a norm without axis=-1) instead of one per vector",
                    lambda a, b: dot(a, b) / (xp.sqrt(xp.sum(a * a)) * xp.sqrt(xp.sum(b * b)))),
            Mistake("the angle itself; the exercise asks for its cosine",
                    lambda a, b: xp.arccos(reference(a, b))),
        ],
        hint="divide the dot product by the product of the two lengths, one length per vector")


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

    check_function(
        func, reference, cases, name="project()", returns=("q", "k", "v"),
        mistakes=[Mistake("one matrix used for all three roles: q, k and v each have their own",
                          lambda x, w_q, w_k, w_v: (x @ w_q, x @ w_q, x @ w_q))],
        hint="each role has its own matrix, and x comes first in each product, as in q_i = x_i W_q")


@never_raises
def check_sport_values(w_v_sport: Any) -> None:
    """02: a (d_model, 3) value matrix whose values are the sport, outdoors and action features of x.
    A 0/1 integer or boolean matrix is accepted: x @ W_v promotes it."""
    columns = [data.FEATURES.index(f) for f in ("sport", "outdoors", "action")]
    expected = numpy.eye(len(data.FEATURES))[:, columns]  # (8, 3): column j copies feature columns[j]
    name = "w_v_sport"
    hint = ("column j of W_v builds component j of v from x's features: it says how much of each feature "
            "goes into that component")
    if w_v_sport is Ellipsis:
        report(NOT_ATTEMPTED, name, REPLACE_DOTS)
        return
    got, _ = as_numpy(w_v_sport)
    if got is not None and got.dtype.kind in "iub":
        w_v_sport = got.astype(float)
    if got is not None and got.shape == expected.T.shape and numpy.allclose(got, expected.T):
        report(WRONG, name, "this is the transpose: W_v needs one ROW per feature of x (8) and one column per "
                            "component of v (3), so that x_i @ W_v works", hint)
    elif got is not None and got.shape == expected.shape and numpy.allclose(numpy.sort(got, axis=1),
                                                                          numpy.sort(expected, axis=1)) \
            and numpy.allclose(got.sum(axis=0), 1) and not numpy.allclose(got, expected):
        report(WRONG, name, "the right features, in the wrong order: component 0 must be sport, 1 outdoors, "
                            "2 action", hint)
    elif got is not None and got.shape == expected.shape and not numpy.allclose(got, expected):
        j = int(numpy.argmax(~numpy.isclose(got, expected).all(axis=0)))  # the first wrong column
        report(WRONG, name, f"component {j} of your v = x_i @ W_v is {_combination(got[:, j])}; the exercise asks "
                            f"for the token's {data.FEATURES[columns[j]]!r} alone", hint)
    else:
        check_array(w_v_sport, backend.asarray(expected), name=name, hint=hint)


def _combination(column: numpy.ndarray) -> str:
    """A column of W_v read as what it builds: '1·outdoors + 0.5·action', or '0 (nothing)'."""
    terms = [f"{weight:g}·{feature}" for weight, feature in zip(column.tolist(), data.FEATURES) if weight != 0]
    return " + ".join(terms) if terms else "0 (nothing)"


# ---------------------------------------------------------------- notebook 03: transpose and scores


def check_attention_scores(func: Callable[..., Any]) -> None:
    """03: func(q, k) -> scores q @ kᵀ (last two axes of k swapped): (..., T_q, d_k), (..., T_k, d_k) -> (..., T_q, T_k).
    Refused: course_lib's attention_scores."""
    x = data.sentence_embeddings()
    w_q, w_k, _ = data.park_projections(ask_where=True)  # asymmetric: scores and their transpose differ
    rng = numpy.random.default_rng(3)
    # Square cases (T_k = d_k, batch = d_k) first: there q @ k and k.T run and silently give wrong scores.
    shapes = (((3, 4), (4, 4)), "park", ((3, 2), (4, 2)), ((3, 2, 3), (3, 3, 3)), ((2, 3, 4), (2, 5, 4)),
              ((2, 2, 3, 4), (2, 2, 6, 4)))
    cases = [(x @ w_q, x @ w_k) if shape == "park" else
             (backend.asarray(rng.normal(size=shape[0])), backend.asarray(rng.normal(size=shape[1])))
             for shape in shapes]
    xp = backend.xp
    check_function(
        func, attention.attention_scores, cases, name="my_attention_scores()",
        forbid=Forbidden("for the scores written as one matrix product with the keys transposed",
                         library=["attention_scores"]),
        mistakes=[
            Mistake("k.T: it reverses EVERY axis, which mixes up the batch axes; swap only the last two",
                    lambda q, k: q @ xp.transpose(k)),
            Mistake("the keys against the queries (k @ qᵀ): the transpose of the scores, one row per key",
                    lambda q, k: k @ _swap(q)),
            Mistake("q @ k without a transpose: it pairs a query with a column of k (one feature across keys), "
                    "not with a key", lambda q, k: q @ k),
        ],
        hint="a matrix product pairs a row on the left with a COLUMN on the right; the keys are rows of k")


@never_raises
def check_scores_shape(scores_shape: Any) -> None:
    """03: the shape of attention_scores(q, k) for q (2, 5, 16) and k (2, 7, 16).

    A wrong answer is told what is off (an axis too few, d_k kept, queries and keys swapped),
    never the expected shape itself: the exercise is the prediction. Tuples, lists and
    integer arrays are accepted.
    """
    xp = backend.xp
    expected = tuple(attention.attention_scores(xp.zeros((2, 5, 16)), xp.zeros((2, 7, 16))).shape)
    name = "scores_shape"
    if scores_shape is Ellipsis:
        report(NOT_ATTEMPTED, name, REPLACE_DOTS)
        return
    shape = _as_shape(scores_shape)
    if shape == expected:
        report(CORRECT, name, f"{expected!r}")
        return
    hint = ("a matrix product keeps the axes in front, then the rows of its left factor and the columns of its "
            "right factor; the axis the two share is summed over and disappears. Which factor is kᵀ?")
    if shape is None:
        shown = repr(scores_shape)
        if hasattr(scores_shape, "shape") and hasattr(scores_shape, "dtype"):  # an array, such as the scores themselves
            shown = f"an array with {len(scores_shape.shape)} axes, not its shape"
        elif len(shown) > 80:
            shown = f"{shown[:60]} …"
        detail = f"expected a tuple of whole numbers such as (3, 4), got {shown}"
    elif len(shape) != len(expected):
        detail = (f"got {shape!r}, which has {len(shape)} axes; q and k have "
                  f"{len(expected)} axes each, and so does their product")
    elif 16 in shape:
        detail = f"got {shape!r}, but d_k = 16 is summed over in every dot product and is not an axis of the scores"
    elif sorted(shape) == sorted(expected):
        detail = f"got {shape!r}: the right sizes, in the wrong order"
    else:
        detail = f"got {shape!r}, which is not the shape of the scores"
    report(WRONG, name, detail, hint)


def _as_shape(x: Any) -> tuple[int, ...] | None:
    """A tuple of ints from a tuple, list or 1-D array of whole numbers (NumPy integers, and floats such as 7.0,
    too: the prediction is what is judged); None otherwise."""
    if isinstance(x, (tuple, list)):
        items = list(x)
    else:
        got, _ = as_numpy(x) if hasattr(x, "shape") else (None, "")
        if got is None or got.ndim != 1 or got.dtype.kind not in "iuf":
            return None
        items = got.tolist()
    if not all(_is_whole(n) for n in items):
        return None
    return tuple(int(n) for n in items)


def _is_whole(n: Any) -> bool:
    """An int, or a float that holds a whole number (7.0); not a bool."""
    if isinstance(n, (bool, numpy.bool_)):
        return False
    if isinstance(n, (int, numpy.integer)):
        return True
    return isinstance(n, (float, numpy.floating)) and float(n).is_integer()


@never_raises
def check_best_key_for_go(best_key_for_go: Any) -> None:
    """03: the token whose key gets the highest score from the query of "go", in the scores of the
    asymmetric projections ``data.park_projections(ask_where=True)``.

    A wrong token is told its own score and that a higher one exists, never the answer itself; the token
    that reading go's COLUMN gives (go as a key) is named as that mistake.
    """
    x = data.sentence_embeddings()
    w_q, w_k, _ = data.park_projections(ask_where=True)
    scores = to_numpy(attention.attention_scores(x @ w_q, x @ w_k))  # (T, T), not symmetric
    i = data.TOKENS.index("go")
    row, column = scores[i], scores[:, i]  # (T,): go's query against every key; every query against go's key
    expected = data.TOKENS[int(numpy.argmax(row))]
    from_column = data.TOKENS[int(numpy.argmax(column))]
    known = {}
    if from_column != expected:
        known[from_column] = (f"that is the largest entry of go's COLUMN: the query of {from_column} asks most for "
                              "go's key; the exercise asks what go's own query looks for, which is go's ROW")
    hint = ('the query of "go" is the ROW data.TOKENS.index("go") of the scores (queries are rows, keys are '
            "columns); turn the column index of its largest entry back into a token")
    check_pick(best_key_for_go, expected, data.TOKENS, name="best_key_for_go", kind="token of the sentence",
               listed_in="data.TOKENS", hint=hint, known=known,
               why_not=lambda token: f"q_go · k_{token} = {row[data.TOKENS.index(token)]:.2f}, but another key "
                                     "gets a higher score from the query of go")


# ---------------------------------------------------------------- notebook 04: scaling


@never_raises
def check_score_std(std_unscaled: Any, std_scaled: Any) -> None:
    """04: the standard deviations of q·k and of q·k/√d_k for random unit-variance q, k with d_k = 256.

    A wrong number is told which mistake it looks like, never the expected number: the exercise is the
    prediction. Numbers may be Python or NumPy/CuPy scalars or 0-d arrays.
    """
    d_k = 256
    expected_unscaled = float(d_k) ** 0.5  # Var(q·k) = d_k, so the standard deviation is √d_k
    expected_scaled = float(attention.scale_scores(numpy.asarray(expected_unscaled), d_k))  # divided by √d_k

    def judge(got: Any, expected: float, name: str, mistakes: dict[float, str], hint: str) -> None:
        judge_prediction(got, expected, name=name, mistakes=mistakes, hint=hint, near="that looks like a measured "
                         "value; the exercise asks for the exact value the formula predicts")

    judge(std_unscaled, expected_unscaled, "std_unscaled",
          {float(d_k): "that is the variance of q·k, not its standard deviation",
           1.0: "that is the spread after scaling; before it, the spread grows with d_k"},
          f"the variance of q·k is d_k = {d_k}; how does a standard deviation relate to a variance?")
    judge(std_scaled, expected_scaled, "std_scaled",
          {float(d_k) ** 0.5 / d_k: "that divides the standard deviation by d_k (or by √d_k twice); "
                                    "the scaled score is the unscaled one divided by √d_k once",
           float(d_k) ** 0.5: "that is the standard deviation before scaling; dividing every score by √d_k "
                              "divides it too"},
          "dividing every score by a number divides their standard deviation by the same number")


def _tokens_axis_cases(seed: int) -> list[tuple]:
    """Scores inputs whose T differs from d_k, so that √T and √d_k give different answers."""
    x = data.sentence_embeddings()
    w_q, w_k, _ = data.park_projections(ask_where=True)
    rng = numpy.random.default_rng(seed)
    cases = [(x @ w_q, x @ w_k)]
    for q_shape, k_shape in (((3, 4), (5, 4)), ((2, 3, 16), (2, 6, 16))):
        cases.append((backend.asarray(rng.normal(size=q_shape)), backend.asarray(rng.normal(size=k_shape))))
    return cases


def check_scaled_scores(func: Callable[..., Any]) -> None:
    """04: func(q, k) -> q @ kᵀ / √d_k, with d_k = q.shape[-1]. Refused: course_lib's scale_scores."""
    scores = attention.attention_scores

    def reference(q: Any, k: Any) -> Any:
        return attention.scale_scores(scores(q, k), q.shape[-1])

    check_function(
        func, reference, _tokens_axis_cases(4), name="my_scaled_scores()",
        forbid=Forbidden("for the division written out", library=["scale_scores"]),
        mistakes=[
            Mistake("the scores without any scaling", lambda q, k: scores(q, k)),
            Mistake("a division by d_k; the scores are divided by its square root",
                    lambda q, k: scores(q, k) / q.shape[-1]),
            Mistake("a multiplication by √d_k instead of a division", lambda q, k: scores(q, k) * q.shape[-1] ** 0.5),
            Mistake(tokens := "a division by the square root of the number of tokens (queries or keys); d_k is the "
                               "length of a query, the last axis of q", lambda q, k: scores(q, k) / q.shape[-2] ** 0.5),
            Mistake(tokens, lambda q, k: scores(q, k) / k.shape[-2] ** 0.5),
            Mistake(tokens, lambda q, k: scores(q, k) / q.shape[0] ** 0.5),  # shape[0]: on a batch, its size
            Mistake(tokens, lambda q, k: scores(q, k) / k.shape[0] ** 0.5),
            Mistake(power := "d_k**1/2: ** binds before /, so that is d_k to the power 1, then a division by 2; no "
                             "square root is taken",
                    lambda q, k: scores(q, k) / (q.shape[-1] / 2)),  # d_k = q.shape[-1]**1/2; s / d_k
            Mistake(power, lambda q, k: scores(q, k) / q.shape[-1] / 2),  # s / q.shape[-1]**1/2
        ],
        hint="the scale depends on d_k alone, the length of each query and key")


def check_softmax_jacobian(func: Callable[..., Any]) -> None:
    """04: func(s) -> the softmax Jacobian diag(p) - p pᵀ, p = softmax(s), for one row s of shape (n,)."""
    rng = numpy.random.default_rng(44)
    cases = [(backend.asarray([1.0, 2.0, 0.5]),), (backend.asarray(numpy.zeros(4)),),
             (backend.asarray(rng.normal(scale=3.0, size=6)),), (backend.asarray([0.0, 30.0, -5.0]),)]
    softmax = attention.softmax

    def diag(p: Any) -> Any:
        return backend.namespace(p).eye(p.shape[-1]) * p[None, :]

    def reference(s: Any) -> Any:
        p = softmax(s)  # (n,)
        return diag(p) - p[:, None] * p[None, :]  # (n, n)

    check_function(
        func, reference, cases, name="softmax_jacobian()", rtol=1e-11, atol=1e-13,  # closed form: exact to rounding
        mistakes=[
            Mistake("the opposite sign: p pᵀ - diag(p); on the diagonal ∂p_i/∂s_i = p_i(1 - p_i) is positive",
                    lambda s: -reference(s)),
            Mistake("only the diagonal part diag(p): an off-diagonal entry ∂p_i/∂s_j is not zero, raising one "
                    "score lowers every other probability", lambda s: diag(softmax(s))),
            Mistake("only the diagonal entries p_i(1 - p_i): the off-diagonal entries, for i ≠ j, are not zero",
                    lambda s: diag(softmax(s) * (1 - softmax(s)))),
            Mistake("only the outer-product part: the diagonal matrix diag(p) is missing",
                    lambda s: -(softmax(s)[:, None] * softmax(s)[None, :])),
            Mistake("the formula applied to the scores s instead of the probabilities p = softmax(s)",
                    lambda s: diag(s) - s[:, None] * s[None, :]),
            Mistake("p @ p.T with a 1-D p: .T leaves a vector as it is, so that is one number, p·p, not the (n, n) "
                    "matrix of the products p_i p_j", lambda s: diag(softmax(s)) - softmax(s) @ softmax(s)),
            Mistake("an estimate, not the closed form: your numbers agree with the Jacobian to several digits but "
                    "not to rounding, as finite differences do; the formula gives every digit",
                    reference, tolerance=(1e-3, 1e-6)),
        ],
        forbid=Forbidden("for the Jacobian in closed form, from its formula, not measured by finite differences",
                         library=["numerical_gradient", "softmax_backward"], names=["numerical_gradient"],
                         functions=["jacobian_by_finite_differences"]),
        hint="entry [i, j] is ∂p_i/∂s_j: work out the diagonal (i = j) and the off-diagonal (i ≠ j) cases")


# ---------------------------------------------------------------- notebook 05: softmax


def _softmax_cases() -> list[tuple]:
    """Inputs for the softmax checks: small rows, huge rows (overflow), mixed rows, a vector, a batch, and last
    rows whose scores lie far apart (0 and 1500), where x − mean still overflows and only x − max is safe."""
    rng = numpy.random.default_rng(5)
    return [
        (backend.asarray([[1.0, 2.0], [3.0, 3.0], [0.0, -1.0]]),),
        (backend.asarray([[1000.0, 1001.0, 1002.0], [0.0, 1.0, 2.0]]),),
        (backend.asarray(rng.normal(scale=3.0, size=(4, 6))),),
        (backend.asarray([-2.0, 0.5, 710.0, 3.0]),),
        (backend.asarray(rng.normal(scale=2.0, size=(2, 3, 5))),),
        (backend.asarray([[0.0, 1500.0], [-1500.0, 0.0]]),),
    ]


def _softmax_mistakes() -> list[Mistake]:
    xp = backend.xp
    return [
        Mistake("a softmax without subtracting the maximum: exp overflows to inf on scores near 1000, and "
                "inf / inf is nan", lambda x: _normalise(xp.exp(x))),
        Mistake("the mean subtracted where the maximum belongs: scores far apart (0 and 1500) still leave one at "
                "+750, and exp overflows; only x − max puts every exponent at or below 0",
                lambda x: _normalise(xp.exp(x - xp.mean(x, axis=-1, keepdims=True)))),
        Mistake("one maximum for the whole array: a row far below it underflows to 0 / 0; subtract each row's "
                "own maximum", lambda x: _normalise(xp.exp(x - xp.max(x)))),
        Mistake("a softmax along the first axis: each ROW must sum to 1",
                lambda x: _normalise(xp.exp(x - xp.max(x, axis=0, keepdims=True)), axis=0)),
        Mistake("a division by the sum of the whole array; divide each row by its own sum",
                lambda x: _normalise(xp.exp(x - xp.max(x, axis=-1, keepdims=True)), axis=None)),
        Mistake("every entry of a single row (shape (n,)) normalised on its own, so each comes out 1: a loop over "
                "x.shape[0] walks a row's entries, not rows; the softmax runs along the last axis",
                lambda x: xp.stack([_normalise(xp.exp(row - xp.max(row)), axis=None) for row in x])),
    ]


def check_stable_softmax(func: Callable[..., Any]) -> None:
    """05: func(x) -> softmax along the last axis, stable for huge entries. Refused: course_lib's softmax."""
    check_function(
        func, attention.softmax, _softmax_cases(), name="stable_softmax()",
        forbid=Forbidden("for the softmax written out, stable for huge scores", library=["softmax"]),
        mistakes=_softmax_mistakes(),
        hint="each row (the last axis; test input 4 is a single row) on its own: make the exponentials safe, "
             "then make the row sum to 1; keepdims=True keeps the shapes broadcasting")


def check_softmax_temperature(func: Callable[..., Any]) -> None:
    """05: func(x, temperature) -> softmax(x / temperature) along the last axis."""
    cases = [(x, t) for (x,), t in zip(_softmax_cases()[:3], (0.5, 4.0, 1.0))]
    cases.append((_softmax_cases()[1][0], 0.5))  # scores near 1000 at 0.5: 2000 overflows exp unless made safe
    softmax = attention.softmax
    xp = backend.xp

    def reference(x: Any, temperature: float) -> Any:
        return softmax(x / temperature)

    check_function(
        func, reference, cases, name="softmax_with_temperature()",
        mistakes=[
            Mistake("a softmax without subtracting the maximum: at temperature 0.5, scores near 1000 become 2000 "
                    "and exp overflows; course_lib's softmax (or your stable_softmax) is safe",
                    lambda x, t: _normalise(xp.exp(x / t))),
            Mistake("a multiplication by the temperature: a high temperature must flatten the weights",
                    lambda x, t: softmax(x * t)),
            Mistake("one maximum for the whole array: a row far below it underflows to 0 / 0; subtract each row's "
                    "own maximum", lambda x, t: _normalise(xp.exp(x / t - xp.max(x / t)))),
            Mistake("the temperature applied after the softmax; it changes the scores, before",
                    lambda x, t: softmax(x) / t),
            Mistake("the plain softmax: the temperature changes nothing in your result (subtracting it from the "
                    "scores, or dividing the exponentials by it, cancels in the normalisation); it divides the scores",
                    lambda x, t: softmax(x)),
        ],
        hint="the temperature changes the scores before the softmax: small temperature sharpens, large flattens")


# ---------------------------------------------------------------- notebook 06: weighted sum


def check_weighted_sum(func: Callable[..., Any]) -> None:
    """06: func(weights, v) -> out with out[i] = sum_j weights[i, j] * v[j], without @.
    Refused: the @ operator, matmul, dot, einsum, tensordot, inner, and course_lib's weighted_sum."""
    rng = numpy.random.default_rng(6)
    cases = [  # a square case first: there weights[:, i] for query i runs and gives a wrong answer
        (attention.softmax(backend.asarray(rng.normal(size=(3, 3)))), backend.asarray(rng.normal(size=(3, 3)))),
        (backend.asarray([[0.5, 0.5, 0.0], [0.1, 0.2, 0.7]]), backend.asarray([[1.0, 0.0], [0.0, 1.0], [2.0, 2.0]])),
        (attention.softmax(backend.asarray(rng.normal(size=(4, 5)))), backend.asarray(rng.normal(size=(5, 3)))),
        (backend.asarray([[1.0]]), backend.asarray([[3.0, -1.0, 2.0, 0.5]])),
    ]
    check_function(
        func, attention.weighted_sum, cases, name="my_weighted_sum()",
        forbid=Forbidden("for the weighted sum written as a sum over the value rows, without a matrix product",
                         library=["weighted_sum", "scaled_dot_product_attention"], operators=["@"],
                         names=["matmul", "dot", "einsum", "tensordot", "inner", "vdot", "vecdot", "vecmat",
                                "matvec", "multi_dot",
                                "__matmul__", "__rmatmul__"]),
        mistakes=[Mistake("column i of the weights used for query i; a query's weights are its ROW",
                          lambda weights, v: _swap(weights) @ v),
                  Mistake("a column of the weights multiplied entry by entry with a value row (weights[:, j] * v[j]): "
                          "that multiplies query 0's weight with feature 0, query 1's with feature 1, …, so every "
                          "output row comes out the same; query i scales the whole value row j by one number, a_ij",
                          lambda weights, v: _out_zeros(weights, v) + sum(
                              weights[:, j] * v[j] for j in range(v.shape[0]))),
                  Mistake("a sum over the queries (axis 0) instead of over the keys: output row i adds up the value "
                          "rows weighted by query i's weights, one sum per query",
                          lambda weights, v: backend.namespace(v).sum(weights[:, :, None] * v, axis=0))],
        hint="output row i adds up the value rows, each multiplied by the weight that query i gives it")


@never_raises
def check_weights_for_point(weights: Any, v: Any, target: Any) -> None:
    """06: weights (T_k=3,) that mix the three 2-D value rows v into the point target (barycentric coordinates).

    A wrong answer is told which condition fails (a negative weight, the sum, the point it mixes),
    never the expected weights.
    """
    name = "w_target"
    hint = ("write weights @ v = target as one equation per coordinate, add w_0 + w_1 + w_2 = 1, "
            "and solve the three equations")
    if unwritten(weights):
        report(NOT_ATTEMPTED, name, unwritten(weights))
        return
    v_np, target_np = numpy.asarray(to_numpy(v), dtype=float), numpy.asarray(to_numpy(target), dtype=float)
    got, why = as_numpy(weights)
    if got is None:
        report(WRONG, name, f"expected 3 numbers (a list or an array), {why}", hint)
        return
    got = got.astype(float)
    if got.ndim == 2 and got.size == len(v_np) and 1 in got.shape:
        got = got.ravel()  # a column (3, 1), as numpy.linalg.solve gives for a column on the right: the same weights
    if got.shape != (len(v_np),):
        report(WRONG, name, f"expected {len(v_np)} weights, one per value row, got shape {got.shape}", hint)
        return
    point = got @ v_np  # (2,)
    problems = []
    if (got < 0).any():
        problems.append(f"weight {int(numpy.argmin(got))} is negative ({got.min():.3g})")
    if not numpy.isclose(got.sum(), 1.0):
        problems.append(f"your weights sum to {got.sum():.3g}, not 1")
    if not numpy.allclose(point, target_np):
        problems.append(f"they mix v into the point ({point[0]:.3g}, {point[1]:.3g}), "
                        f"not ({target_np[0]:.3g}, {target_np[1]:.3g})")
    if problems:
        report(WRONG, name, "; ".join(problems), hint)
    else:
        report(CORRECT, name, "all ≥ 0, summing to 1, and mixing v into the target")


# ---------------------------------------------------------------- notebook 07: scaled dot-product attention


def _attention_cases() -> list[tuple]:
    """The park sentence (asymmetric projections), random shapes with T_q != T_k and d_v != d_k, and
    queries long enough that the scores reach about 1000 (a softmax without the max subtraction overflows)."""
    rng = numpy.random.default_rng(7)
    x = data.sentence_embeddings()
    w_q, w_k, w_v = data.park_projections(ask_where=True)
    cases = [(x @ w_q, x @ w_k, x @ w_v)]
    for t_q, t_k, d_k, d_v in ((2, 4, 3, 5), (1, 6, 16, 2), (5, 5, 4, 4)):
        cases.append(tuple(backend.asarray(rng.normal(size=shape)) for shape in ((t_q, d_k), (t_k, d_k), (t_k, d_v))))
    q, k, v = (backend.asarray(rng.normal(size=shape)) for shape in ((3, 4), (5, 4), (5, 2)))
    cases.append((300.0 * q, k, v))  # scores of several hundred: exp overflows without the max subtraction
    rows_apart = backend.asarray(numpy.array([[300.0], [1.0], [-300.0]]))  # (3, 1): one query far above the others
    cases.append((rows_apart * q, k, v))  # one maximum for the whole matrix underflows the other rows to 0 / 0
    return cases


def check_attention(func: Callable[..., Any]) -> None:
    """07: func(q, k, v) -> (out, weights) = scaled dot-product attention without a mask, in plain xp code.
    Refused: any course_lib attention function. Named mistakes: no scaling, d_k for √d_k, √T or √d_v for √d_k,
    × √d_k, softmax over the wrong axis, no max subtraction, one maximum or one sum for the whole matrix, a row's
    max or sum without keepdims, K Qᵀ, weightsᵀ @ v, the weights scaled after the softmax."""
    xp = backend.xp
    scores = attention.attention_scores

    def attend(q: Any, k: Any, v: Any, scaled: Any, axis: int = -1) -> tuple[Any, Any]:
        e = xp.exp(scaled - xp.max(scaled, axis=axis, keepdims=True))
        weights = _normalise(e, axis)
        return weights @ v, weights

    def naive(q: Any, k: Any, v: Any) -> tuple[Any, Any]:
        weights = _normalise(xp.exp(scores(q, k) / q.shape[-1] ** 0.5))
        return weights @ v, weights

    def scaled(q: Any, k: Any) -> Any:
        return scores(q, k) / q.shape[-1] ** 0.5

    def softmax_rows(s: Any, keep_max: bool = True, keep_sum: bool = True) -> Any:
        e = xp.exp(s - xp.max(s, axis=-1, keepdims=keep_max))
        return e / xp.sum(e, axis=-1, keepdims=keep_sum)

    def whole_sum(s: Any) -> Any:
        e = xp.exp(s - xp.max(s, axis=-1, keepdims=True))
        return e / xp.sum(e)

    def finish(weights: Any, v: Any) -> tuple[Any, Any]:
        return weights @ v, weights

    def transposed_sum(q: Any, k: Any, v: Any) -> tuple[Any, Any]:
        _, weights = attend(q, k, v, scaled(q, k))
        return xp.swapaxes(weights, -1, -2) @ v, weights

    def global_max(q: Any, k: Any, v: Any) -> tuple[Any, Any]:
        scaled = scores(q, k) / q.shape[-1] ** 0.5
        weights = _normalise(xp.exp(scaled - xp.max(scaled)))
        return weights @ v, weights

    check_function(
        func, attention.scaled_dot_product_attention, _attention_cases(), name="my_attention()",
        returns=("out", "weights"),
        forbid=Forbidden("for attention written with plain xp operations",
                         library=["dot_product", "attention_scores", "scale_scores", "softmax", "weighted_sum",
                                  "scaled_dot_product_attention", "multi_head_attention"]),
        mistakes=[
            Mistake("attention without the scaling: the scores go into the softmax as they are",
                    lambda q, k, v: attend(q, k, v, scores(q, k))),
            Mistake("a division by d_k; the scores are divided by its square root",
                    lambda q, k, v: attend(q, k, v, scores(q, k) / q.shape[-1])),
            Mistake(tokens := "a division by the square root of the number of tokens (keys or queries); d_k is the "
                               "length of a query", lambda q, k, v: attend(q, k, v, scores(q, k) / k.shape[-2] ** 0.5)),
            Mistake(tokens, lambda q, k, v: attend(q, k, v, scores(q, k) / q.shape[-2] ** 0.5)),
            Mistake("a softmax along the first axis (over the queries): each query's ROW of weights must sum to 1",
                    lambda q, k, v: attend(q, k, v, scores(q, k) / q.shape[-1] ** 0.5, axis=0)),
            Mistake("a softmax without subtracting the row maximum: on test inputs with scores in the hundreds, "
                    "exp overflows to inf and the weights become nan", naive),
            Mistake("one maximum for the whole score matrix: a query whose scores lie far below it underflows to "
                    "0 / 0; subtract each ROW's own maximum", global_max),
            Mistake(keepdims := "a row maximum or row sum taken without keepdims=True: it has one number per row, "
                                "and without the kept axis it lines up with the columns, so column j is shifted or "
                                "divided by row j's number instead of each row by its own (a square score matrix, as "
                                "in test input 1, runs anyway)",
                    lambda q, k, v: finish(softmax_rows(scaled(q, k), keep_max=False), v)),
            Mistake(keepdims, lambda q, k, v: finish(softmax_rows(scaled(q, k), keep_sum=False), v)),
            Mistake(keepdims, lambda q, k, v: finish(softmax_rows(scaled(q, k), keep_max=False, keep_sum=False), v)),
            Mistake("the scores the wrong way round, keys against queries (K Qᵀ): row i must hold query i against "
                    "every key", lambda q, k, v: attend(q, k, v, scores(k, q) / q.shape[-1] ** 0.5)),
            Mistake("the weights transposed in the weighted sum: row i of out mixes the values with query i's weights, "
                    "row i of the weights", lambda q, k, v: transposed_sum(q, k, v)),
            Mistake("the exponentials divided by the sum over the whole matrix: each query's row must sum to 1 on "
                    "its own", lambda q, k, v: finish(whole_sum(scaled(q, k)), v)),
            Mistake("a scale taken from the values' length d_v; d_k is the length of a query and of a key",
                    lambda q, k, v: attend(q, k, v, scores(q, k) / v.shape[-1] ** 0.5)),
            Mistake("the scores multiplied by √d_k; they are divided by it",
                    lambda q, k, v: attend(q, k, v, scores(q, k) * q.shape[-1] ** 0.5)),
            Mistake("the weights divided by √d_k after the softmax: the scores are scaled before it, and each row of "
                    "weights sums to 1", lambda q, k, v: finish(softmax_rows(scores(q, k)) / q.shape[-1] ** 0.5, v)),
        ],
        hint="four steps: scores, scaling, softmax per query (row), weighted sum of the values; try each step on a "
             "small q, k, v of your own and compare it with your functions of notebooks 03–06")


def _top_tokens(query: str) -> tuple[list[str], list[str], Any]:
    """The three tokens that the query ``query`` attends to most (its row), the three of its column, the row."""
    x = data.sentence_embeddings()
    w_q, w_k, w_v = data.park_projections()
    _, weights = attention.scaled_dot_product_attention(x @ w_q, x @ w_k, x @ w_v)
    weights = to_numpy(weights)  # (T, T)
    i = data.TOKENS.index(query)
    top = [data.TOKENS[j] for j in numpy.argsort(-weights[i], kind="stable")[:3]]
    column_top = [data.TOKENS[j] for j in numpy.argsort(-weights[:, i], kind="stable")[:3]]
    return top, column_top, weights[i]


def _check_top_tokens(got: Any, query: str) -> None:
    expected, from_column, row = _top_tokens(query)
    name = f"top3_for_{query}"
    hint = (f'the weights of the query "{query}" are the ROW data.TOKENS.index("{query}") of weights; '
            "sort its positions by decreasing weight and turn the first three into tokens")
    tokens = read_answer(got, as_strings, name=name, form="a list of 3 tokens (strings)",
                         hint="a position j becomes its token with data.TOKENS[j]")
    if tokens is None:
        return
    tokens = [as_name(token, data.TOKENS) for token in tokens]  # "Park" and " park" are the token 'park'
    if tokens == expected:
        report(CORRECT, name, f"{expected!r}")
    elif len(tokens) != 3:
        report(WRONG, name, f"expected 3 tokens, got {len(tokens)}", hint)
    elif tokens == from_column and from_column != expected:
        report(WRONG, name, f"these are the largest weights in the COLUMN of {query}: how much the other queries "
                            f"look at {query}; the exercise asks where the query {query} looks, its ROW", hint)
    elif tokens == expected[::-1]:
        report(WRONG, name, "the right three tokens, smallest first", "largest weight first")
    elif sorted(tokens) == sorted(expected):
        report(WRONG, name, "the right three tokens, in the wrong order", "largest weight first")
    else:
        yours = ", ".join(f"{token} {row[data.TOKENS.index(token)]:.3f}" if token in data.TOKENS
                          else f"{token!r} (not a token)" for token in tokens)
        report(WRONG, name, f"not the three largest weights; yours get {yours}", hint)


@never_raises
def check_top_tokens_for_play(top3_for_play: Any) -> None:
    """07: the three tokens that the query "play" attends to most, largest weight first (any sequence of strings)."""
    _check_top_tokens(top3_for_play, "play")


@never_raises
def check_top_tokens_for_go(top3_for_go: Any) -> None:
    """07: the three tokens that the query "go" attends to most, largest weight first (any sequence of strings).
    Go's row and go's column give different tokens: reading the column is named as that mistake."""
    _check_top_tokens(top3_for_go, "go")


# ---------------------------------------------------------------- notebook 08: library analogy


def check_hard_lookup(func: Callable[..., Any]) -> None:
    """08: func(query, keys, values) -> the value row (d_v,) of the key with the highest score query · key."""
    rng = numpy.random.default_rng(8)
    _, keys, values = data.catalogue()
    cases = [(data.topic_query(*topics), keys, values)
             for topics in (("machine learning",), ("cooking",), ("history", "music"))]
    cases.append(tuple(backend.asarray(rng.normal(size=shape)) for shape in ((4,), (7, 4), (7, 3))))
    # a long card (row 1) wins the dot product; the card pointing the query's way (row 0) wins the cosine, and the
    # card closest to the query (row 3) the distance
    cases.append((backend.asarray([1.0, 0.0]), backend.asarray([[0.5, 0.0], [3.0, 2.0], [0.0, 1.0], [1.0, 0.3]]),
                  backend.asarray([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 1.0, 1.0]])))

    def scores(query: Any, keys: Any) -> Any:
        return attention.attention_scores(query[None, :], keys)[0]  # (n_books,)

    def norms(a: Any) -> Any:
        return numpy.linalg.norm(to_numpy(a), axis=-1)

    def reference(query: Any, keys: Any, values: Any) -> Any:
        return values[int(numpy.argmax(to_numpy(scores(query, keys))))]  # (d_v,)

    titles = data.catalogue()[0]
    if callable(func) and func is not Ellipsis:
        try:  # quietly: check_function runs it again, and reports what it prints or raises
            first = call_quietly(func, cases[0])
        except Exception:  # noqa: BLE001 - check_function reports it
            first = None
        if isinstance(first, (str, numpy.str_)) and str(first) in titles:
            report(WRONG, "hard_lookup()", f"on test input 1 it returns a book's title, {str(first)!r}; the lookup "
                                           "returns what the best book contains, its value row",
                   "score every card against the query, find the position of the best score, return that book's value")
            return
    check_function(
        func, reference, cases, name="hard_lookup()",
        mistakes=[
            Mistake("the value row of the LOWEST score: the best match has the highest",
                    lambda query, keys, values: values[int(numpy.argmin(to_numpy(scores(query, keys))))]),
            Mistake("the best book's key (its catalogue card); the lookup returns what the book contains, its value",
                    lambda query, keys, values: keys[int(numpy.argmax(to_numpy(scores(query, keys))))]),
            Mistake("a soft mix of all the values (that is attention); a hard lookup returns one book's value",
                    lambda query, keys, values: attention.scaled_dot_product_attention(query[None, :], keys,
                                                                                        values)[0][0]),
            Mistake("every book's value, not one book's", lambda query, keys, values: values),
            Mistake("the position of the best card; the lookup returns what is on it, that book's value row",
                    lambda query, keys, values: int(numpy.argmax(to_numpy(scores(query, keys))))),
            Mistake("the card with the best cosine (the dot product divided by the lengths): a hard lookup scores "
                    "each card by its dot product with the query, and a long card can win it (notebook 01's "
                    "length trap)", lambda query, keys, values: values[int(numpy.argmax(
                        to_numpy(scores(query, keys)) / (norms(keys) * norms(query))))]),
            Mistake("the card nearest to the query (the smallest distance): a hard lookup scores each card by its "
                    "dot product with the query", lambda query, keys, values: values[int(numpy.argmin(
                        norms(keys - query[None, :])))]),
        ],
        hint="score every card against the query, find the position of the best score, return that book's value")


_NOT_GIVEN = object()  # check_top_book called without its query: None is an answer (a function that returned nothing)


@never_raises
def check_top_book(top_book: Any, query_two: Any = _NOT_GIVEN) -> None:
    """08: the title of the book that gets the largest weight for the query asking for machine learning AND history;
    with ``query_two`` given, also that query (any positive multiple of data.topic_query(both topics))."""
    titles, keys, values = data.catalogue()
    if query_two is not _NOT_GIVEN:
        _check_two_topic_query(query_two)

    def best(*topics: str) -> tuple[str, Any]:
        _, weights = attention.scaled_dot_product_attention(data.topic_query(*topics)[None, :], keys, values)
        row = to_numpy(weights)[0]  # (n_books,)
        return titles[int(numpy.argmax(row))], row

    expected, row = best("machine learning", "history")
    known = {}
    for topic in ("machine learning", "history"):
        alone, _ = best(topic)
        if alone != expected:
            known[alone] = (f"that is the best book for {topic!r} alone; the query asks for both topics at once "
                            f"(here it gets weight {row[titles.index(alone)]:.3f}; another book gets more)")
    check_pick(top_book, expected, titles, name="top_book", kind="title in the catalogue", listed_in="titles",
               known=known,
               why_not=lambda title: f"{title!r} gets weight {row[titles.index(title)]:.3f}; another book gets more",
               hint="one query that asks for both topics (data.topic_query takes several), its weights over the "
                    "catalogue, and the title at the position of the largest weight")



def _check_two_topic_query(query_two: Any) -> None:
    name = "query_two"
    if query_two is Ellipsis:
        report(NOT_ATTEMPTED, name, REPLACE_DOTS)
        return
    want = to_numpy(data.topic_query("machine learning", "history"))  # (d_k,)
    got, why = as_numpy(query_two)
    hint = "data.topic_query takes several topic names and returns one query of shape (d_k,)"
    if got is None or got.shape != want.shape:
        report(WRONG, name, f"expected a query of shape {want.shape}, " + (why or f"got shape {got.shape}"), hint)
        return
    factor = float(got @ want) / float(want @ want)  # the multiple of the two-topic query that got would be
    if factor > 0 and numpy.allclose(got, factor * want):
        report(CORRECT, name, "it asks for machine learning and history, equally")
        return
    asked = [f"{topic} ({weight:g})" for topic, weight in zip(data.TOPICS, got.tolist()) if weight != 0]
    report(WRONG, name, f"it asks for {', '.join(asked) or 'nothing'}; the exercise asks for machine learning and "
                        "history together, equally", hint)
