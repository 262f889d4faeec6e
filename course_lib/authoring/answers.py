"""Verdicts a student cannot fake: each exercise's answer read from the kernel as plain data, judged by the grader.

After a check cell has run in a student's kernel, the grader asks that kernel, in cells of its own, for
the exercise's answer, never for a verdict:

1. the values of the check call's arguments, as written in the **course's** check cell (an edited check
   cell changes nothing): an array as its dtype, shape and entries in nested lists, a number, a string, a
   list, ``...``; a function as its name only;
2. for a function, its results on the inputs the check gives it, one call at a time: the grader runs the
   check itself, here, on a stand-in (``Replayed``) that answers each call with what the student's function
   returned (or raised) on those inputs in the kernel; an input not asked yet stops the check (``Need``),
   the kernel is asked, and the check runs again from the start, until it prints its verdict.

Everything crosses as JSON (``encode`` / ``decode``), never pickle: what the kernel sends can describe an
answer, not run code here. The check runs with the grader's own course_lib, so a check, ``print`` or
``report`` patched in the kernel changes nothing; what the notebook printed is only compared with it.
The "refuse the shortcut" rules read the notebook's source of the function (and the notebook functions
it calls), compiled here and never run (``Replayed.grader_codes``); the calls of course_lib functions
the kernel records are used too, as an honest kernel gives them.

What a student can still do from inside: make their function answer right on the check's inputs by
computing the right answer some other way (that is solving it) or by hiding a course_lib call from the
source rules (``getattr(attention, "soft" + "max")``) and from the kernel's record.
"""

from __future__ import annotations

import array
import ast
import asyncio
import contextlib
import dataclasses
import json
import numbers
import re
import threading
import types
from typing import Any, Awaitable, Callable, Iterator

import numpy

MIME = "application/x-course-grade+json"  # the kind of the kernel's reply messages
MAX_REPLY = 32 * 2**20  # bytes of replies read from one cell of the grader
MAX_ELEMENTS = 1_000_000  # entries of one array sent; a larger one is described, not sent
MAX_DEPTH = 20  # nesting of lists
MAX_ROUNDS = 40  # calls of one function that one check may need
LIBRARY = ("attention", "grad", "tiled")  # the course_lib modules whose calls a kernel records


# ---------------------------------------------------------------- plain data both ways


def encode(x: Any, depth: int = 0) -> dict:
    """``x`` as JSON-ready plain data: arrays (NumPy, CuPy) with dtype, shape and entries; numbers, strings,
    None, ``...``, lists, tuples and dicts; a function by its name; anything else by its kind only."""
    if x is None:
        return {"t": "none"}
    if x is Ellipsis:
        return {"t": "ellipsis"}
    if hasattr(x, "shape") and hasattr(x, "dtype"):  # NumPy and CuPy arrays and scalars (numpy.float64 too)
        return _encode_array(x)
    if isinstance(x, bool):
        return {"t": "bool", "v": x}
    if isinstance(x, int):
        return {"t": "int", "v": str(x)}
    if isinstance(x, float):
        return {"t": "float", "v": x}
    if isinstance(x, numbers.Real):  # fractions.Fraction(1, 4): the checks read it as the float it is
        return _encode_real(x)
    if isinstance(x, (memoryview, array.array)) or hasattr(x, "__array__"):  # what numpy.asarray reads, as checks do
        return _encode_array(x)
    if isinstance(x, str):
        return {"t": "str", "v": str(x)[:100_000]}
    if isinstance(x, (list, tuple)):
        if depth >= MAX_DEPTH or len(x) > MAX_ELEMENTS:
            return {"t": "opaque", "kind": type(x).__name__, "why": "nested too deeply or too long"}
        return {"t": "tuple" if isinstance(x, tuple) else "list", "v": [encode(e, depth + 1) for e in x]}
    if isinstance(x, dict) and depth < MAX_DEPTH and len(x) <= 10_000:  # e.g. a table of scores by name
        return {"t": "dict", "v": [[encode(k, depth + 1), encode(v, depth + 1)] for k, v in x.items()]}
    if callable(x):
        module = str(getattr(x, "__module__", "") or "")
        library = getattr(x, "__name__", "") if module.startswith("course_lib.") else ""
        return {"t": "function", "name": str(getattr(x, "__name__", "your function")), "library": library}
    return {"t": "opaque", "kind": type(x).__name__, "why": ""}


def _encode_real(x: Any) -> dict:
    try:
        return {"t": "float", "v": float(x)}
    except (OverflowError, ValueError, TypeError):
        return {"t": "opaque", "kind": type(x).__name__, "why": "not a float"}


def _encode_array(x: Any) -> dict:
    library = type(x).__module__.split(".")[0]
    try:
        host = numpy.asarray(x.get() if library == "cupy" else x)
    except Exception as err:  # noqa: BLE001 - an array-like that cannot be read is described
        return {"t": "opaque", "kind": type(x).__name__, "why": f"cannot be read ({type(err).__name__})"}
    scalar = isinstance(x, numpy.generic)
    if host.dtype.kind == "O" and 0 < host.size <= MAX_ELEMENTS and all(
            isinstance(e, numbers.Real) and not isinstance(e, (bool, numpy.bool_)) for e in host.flat):
        host = host.astype(float)  # exact numbers such as fractions.Fraction, read as the checks read them
    if host.dtype.kind not in "biufU" or host.size > MAX_ELEMENTS:
        why = "too large to grade" if host.size > MAX_ELEMENTS else f"entries of dtype {host.dtype}"
        return {"t": "opaque", "kind": type(x).__name__, "why": why, "shape": list(host.shape)}
    return {"t": "scalar" if scalar else "array", "library": library, "dtype": host.dtype.str,
            "shape": list(host.shape), "v": host.tolist()}


def decode(data: Any, depth: int = 0) -> Any:
    """The value ``encode`` described (arrays as NumPy arrays); a description that is not well formed, or of
    something that cannot cross, becomes an ``Opaque`` stand-in that every check reads as a wrong answer."""
    try:
        return _decode(data, depth)
    except (TypeError, ValueError, KeyError, OverflowError, RecursionError, MemoryError):
        return _opaque("answer", "not well formed")


def _decode(data: Any, depth: int) -> Any:
    kind = data["t"]
    if kind == "none":
        return None
    if kind == "ellipsis":
        return Ellipsis
    if kind in ("bool", "str", "float"):
        value = data["v"]
        if type(value) is not {"bool": bool, "str": str, "float": float}[kind] and not (
                kind == "float" and type(value) is int):
            raise TypeError(kind)
        return {"bool": bool, "str": str, "float": float}[kind](value)
    if kind == "int":
        if not re.fullmatch(r"-?\d{1,4300}", data["v"]):
            raise ValueError("int")
        return int(data["v"])
    if kind in ("list", "tuple"):
        if depth >= MAX_DEPTH or not isinstance(data["v"], list):
            raise ValueError("list")
        items = [_decode(e, depth + 1) for e in data["v"]]
        return items if kind == "list" else tuple(items)
    if kind == "dict":
        if depth >= MAX_DEPTH or not isinstance(data["v"], list):
            raise ValueError("dict")
        pairs = [(_decode(k, depth + 1), _decode(v, depth + 1)) for k, v in data["v"]]
        if not all(isinstance(k, (str, int, float, bool, tuple)) or k is None for k, _ in pairs):
            raise ValueError("dict key")
        return dict(pairs)
    if kind in ("array", "scalar"):
        dtype = numpy.dtype(str(data["dtype"]))
        shape = tuple(int(n) for n in data["shape"])
        if dtype.kind not in "biufU" or int(numpy.prod(shape, dtype=float)) > MAX_ELEMENTS:
            raise ValueError("array")
        array = numpy.array(data["v"], dtype=dtype)
        if array.shape != shape:
            raise ValueError("shape")
        return array[()] if kind == "scalar" else array
    if kind == "opaque":
        return _opaque(str(data.get("kind", "object"))[:60], str(data.get("why", ""))[:120])
    raise ValueError(kind)


def _opaque(kind: str, why: str) -> Any:
    """A stand-in of a value that did not cross: its type has the original's name (the checks say 'got a Foo')."""
    name = kind if kind.isidentifier() else "object"
    return type(name, (), {"__repr__": lambda self: f"<{name}{': ' + why if why else ''}>"})()


# ---------------------------------------------------------------- in the student's kernel


def capture(request: str) -> None:
    """Run in the student's kernel by the grader: evaluate what ``request`` asks in the notebook's namespace and
    send the answer back as one display message of kind ``MIME`` (not through ``print``)."""
    from IPython import get_ipython

    shell = get_ipython()
    ask = json.loads(request)
    if "values" in ask:
        reply = {"values": [_evaluate(expression, shell.user_ns) for expression in ask["values"]]}
    else:
        reply = _call(ask["function"], ask["args"], shell.user_ns)
    shell.display_pub.publish({MIME: json.dumps(reply, allow_nan=True)})


def _evaluate(expression: str, namespace: dict) -> dict:
    try:
        return encode(eval(expression, namespace))  # noqa: S307 - the course's own argument, in the student's kernel
    except Exception as err:  # noqa: BLE001 - a name not defined is the answer's problem
        return {"t": "error", "type": type(err).__name__, "message": str(err)[:300]}


def _call(expression: str, args: list, namespace: dict) -> dict:
    """The student's function called on the check's inputs: its result or exception, and the course_lib
    functions it called (as an honest kernel records them)."""
    from course_lib import backend

    calls: list = []
    try:
        func = eval(expression, namespace)  # noqa: S307 - the course's own argument
        inputs = [backend.asarray(a) if isinstance(a, numpy.ndarray) else a for a in (decode(a) for a in args)]
        with _recording(func, calls), numpy.errstate(all="ignore"):
            result = encode(func(*inputs))
    except (Exception, SystemExit) as err:  # noqa: BLE001 - a learner's bug or placeholder is the answer
        result = {"t": "raise", "type": type(err).__name__, "message": str(err)[:500],
                  "placeholder": isinstance(err, NotImplementedError)}
    return {"result": result, "library": calls}


@contextlib.contextmanager
def _recording(func: Any, calls: list):
    """While active, every call of a public course_lib attention/grad/tiled function from outside course_lib is
    added to ``calls`` as [name, {"causal": bool}]."""
    import sys

    import course_lib

    modules = [sys.modules[f"course_lib.{name}"] for name in LIBRARY if f"course_lib.{name}" in sys.modules]
    originals = {id(value): (value, key) for module in modules for key, value in vars(module).items()
                 if callable(value) and not key.startswith("_") and getattr(value, "__module__", "") == module.__name__}

    def wire(original: Callable, name: str) -> Callable:
        def recorded(*args: Any, **kwargs: Any) -> Any:
            if not sys._getframe(1).f_globals.get("__name__", "").startswith("course_lib"):
                calls.append([name, {"causal": bool(kwargs.get("causal"))}])
            return original(*args, **kwargs)
        return recorded

    wires = {key: wire(original, name) for key, (original, name) in originals.items()}
    patched = []
    for namespace in [getattr(func, "__globals__", {}), *map(vars, modules), vars(course_lib)]:
        for key, value in list(namespace.items()):
            if id(value) in wires and value is originals[id(value)][0]:
                patched.append((namespace, key, value))
                namespace[key] = wires[id(value)]
    try:
        yield
    finally:
        for namespace, key, value in patched:
            namespace[key] = value


def capture_source(ask: dict) -> str:
    """The grader's cell that asks the kernel for ``ask``."""
    return f"__import__('course_lib.authoring.answers', fromlist=['capture']).capture({json.dumps(json.dumps(ask))})"


# ---------------------------------------------------------------- in the grader


@dataclasses.dataclass
class Ask:
    """One check cell to judge: the course's source of it, the student's notebook, the cell's index there."""

    source: str
    notebook: Any
    index: int


@dataclasses.dataclass
class Judged:
    """The grader's own verdict on one check call: ✅/❌/⏳ (None: no answer), its text, the named mistake."""

    symbol: str | None
    text: str
    mistake: str = ""


class Need(BaseException):
    """Raised by a ``Replayed`` stand-in for inputs it has no result for yet (not an Exception: no check catches it)."""

    def __init__(self, expression: str, args: list, key: str):
        super().__init__(expression)
        self.expression, self.args, self.key = expression, args, key


class Replayed:
    """A student's function as the grader sees it: each call answered with what the kernel returned on those inputs."""

    def __init__(self, name: str, expression: str, known: dict, codes: list, helpers: set, library: str):
        self.__name__ = self.__qualname__ = name
        self.grader_codes, self.grader_helpers, self.grader_library = codes, helpers, library
        self._expression, self._known, self._calls = expression, known, []

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        encoded = [encode(a) for a in args]
        key = json.dumps(encoded, sort_keys=True)
        reply = self._known.get((self._expression, key))
        if reply is None:
            raise Need(self._expression, encoded, key)
        self._calls = [c for c in reply.get("library", []) if isinstance(c, list) and len(c) == 2
                       and isinstance(c[0], str) and isinstance(c[1], dict)]
        result = reply.get("result", {})
        if isinstance(result, dict) and result.get("t") == "raise":
            if result.get("placeholder") is True:
                raise NotImplementedError(str(result.get("message", ""))[:500])
            name = str(result.get("type", "Exception"))
            raise type(name if name.isidentifier() else "Exception", (Exception,), {})(str(result.get("message"))[:500])
        return decode(result)

    def grader_library_calls(self) -> list:
        return [(name, {"causal": bool(kwargs.get("causal"))}) for name, kwargs in self._calls]


_TRUSTED = threading.Lock()  # one check at a time: the checks patch course_lib's namespaces while they run


def check_calls_with_args(source: str) -> list[tuple[str, list[str]]]:
    """The ``exercises.check_*`` calls of a course check cell, each with its arguments' source."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    calls = [node for node in ast.walk(tree) if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
             and node.func.attr.startswith("check_")]
    return [(call.func.attr, [ast.unparse(arg) for arg in call.args])
            for call in sorted(calls, key=lambda c: (c.lineno, c.col_offset))]


async def judge(ask: Ask, run: Callable[[str], Awaitable[list[str] | None]]) -> list[Judged] | None:
    """The grader's verdicts on the check calls of one check cell, reading the answers through ``run`` (which
    runs one of the grader's cells in the kernel and returns its replies; None once the kernel stopped)."""
    calls = check_calls_with_args(ask.source)
    expressions = list(dict.fromkeys(e for _, args in calls for e in args))
    replies = await run(capture_source({"values": expressions}))
    if replies is None:
        return None
    values = _reply(replies).get("values")
    if not isinstance(values, list) or len(values) != len(expressions):
        return [Judged(None, "the kernel sent no readable answer")] * len(calls)
    answers = dict(zip(expressions, values))
    statements = list(_statements(ask.notebook, ask.index))  # each cell parsed once, read twice
    definitions = _definitions(statements)
    bound, dynamic = _bound_elsewhere(statements)
    judged = []
    for check, args in calls:
        known: dict = {}
        for _ in range(MAX_ROUNDS):
            outcome = await asyncio.to_thread(_run_check, check, args, answers, known, definitions, bound, dynamic)
            if not isinstance(outcome, Need):
                judged.append(outcome)
                break
            replies = await run(capture_source({"function": outcome.expression, "args": outcome.args}))
            if replies is None:
                return None
            reply = _reply(replies)
            known[(outcome.expression, outcome.key)] = reply if "result" in reply else {
                "result": {"t": "raise", "type": "GraderError", "message": "the kernel sent no readable result"}}
        else:
            judged.append(Judged(None, f"the check needed more than {MAX_ROUNDS} calls of the function"))
    return judged


def _reply(replies: list[str]) -> dict:
    try:
        reply = json.loads(replies[-1]) if replies else {}
    except (ValueError, RecursionError):
        return {}
    return reply if isinstance(reply, dict) else {}


def _run_check(check: str, args: list[str], answers: dict, known: dict, definitions: dict,
               bound: frozenset | set = frozenset(), dynamic: str = "") -> Judged | Need:
    """Run the course's ``check`` here on the answers: its verdict, or the input it needs next. A function answer
    whose code the grader cannot read from the notebook's source (``_unreadable``) gets ❌ saying why, before any
    check runs."""
    from course_lib import backend, exercises
    from course_lib.exercises import verdict

    for expression in args:
        if not isinstance(answers[expression], dict):
            answers[expression] = {"t": "error", "type": "GraderError", "message": "not a described value"}
        if answers[expression].get("t") == "error":
            answer = answers[expression]
            return Judged(None, f"`{expression}` could not be read in the notebook ({answer.get('type')}: "
                                f"{str(answer.get('message'))[:200]})")
    for expression in args:
        why = _unreadable(expression, definitions, bound, dynamic) if answers[expression].get("t") == "function" else ""
        if why:
            return Judged("❌", f"{verdict.WRONG}: {expression} — the grader reads an answer's code in the notebook and "
                                f"cannot read this one's: {why}; write it as a def (or `{expression} = lambda …`) at the "
                                "top level of a cell", "code the grader cannot read")
    values = []
    for expression in args:
        answer = answers[expression]
        if answer.get("t") == "function":
            codes, helpers = _codes_of(expression, definitions)
            codes = codes or _expression_codes(expression)  # written in the check cell: a lambda, np.matmul
            values.append(Replayed(str(answer.get("name"))[:80], expression, known, codes, helpers,
                                   str(answer.get("library", ""))[:80]))
        else:
            values.append(decode(answer))
    with _TRUSTED, _numpy_backend(backend), verdict.collected() as reports:
        try:
            getattr(exercises, check)(*values)
        except Need as need:
            return need
    return _judged(reports)


@contextlib.contextmanager
def _numpy_backend(backend: Any):
    previous = backend.name()
    backend.use("numpy")
    try:
        yield
    finally:
        backend.use(previous)


def _judged(reports: list[tuple[str, str, str]]) -> Judged:
    from course_lib.exercises.verdict import CORRECT, NOT_ATTEMPTED, WRONG

    if not reports:
        return Judged(None, "the check printed no verdict")
    symbols = {CORRECT: "✅", WRONG: "❌", NOT_ATTEMPTED: "⏳"}
    worst = next(v for v in (WRONG, NOT_ATTEMPTED, CORRECT) if any(r[0] == v for r in reports))
    details = [detail for verdict, detail, _ in reports if verdict == WRONG]
    return Judged(symbols[worst], "\n".join(message for *_, message in reports),
                  named_mistake(details[0]) if details else "")


def named_mistake(detail: str) -> str:
    """What a ❌ verdict's detail names: the typical mistake it matched, the shortcut it took, what the answer is
    instead (a check's own words); or, for a difference no check names, its kind."""
    first = re.sub(r"^on test input \d+ \([^)]*\)\)?:? ?", "", detail.split("\n")[0])
    for pattern, form in ((r"this looks like (.+)", "{}"), (r"it uses (.+?); this exercise asks", "shortcut: {}"),
                          (r"^got [^:]+: (.+)", "{}")):
        found = re.search(pattern, first)
        if found:
            return form.format(found[1].strip().rstrip("."))[:160]
    if "expected shape" in first or "got shape" in first:
        return "wrong shape"
    if re.search(r"\braised\b", first):
        return "raised an error"
    if re.match(r"(first differ|expected |got |the check could not read)", first) or not first:
        return "other wrong answer"
    return first.split(";")[0].strip()[:160]


# ---------------------------------------------------------------- the notebook's source of an answer


def _statements(notebook: Any, before: int) -> Iterator[ast.stmt]:
    """The top-level statements of the code cells before cell ``before``, then those of that cell (the check's)
    before the check's call, where a student wrote a function into the check cell. A cell that does not parse
    gives none (it raised a SyntaxError in the kernel too)."""
    from IPython.core.inputtransformer2 import TransformerManager

    for index, cell in enumerate(notebook.cells[:before + 1]):
        if cell.cell_type != "code":
            continue
        try:
            tree = ast.parse(TransformerManager().transform_cell(_python_of(cell.source)))
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            continue
        for node in tree.body:
            if index == before and any(isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
                                       and n.func.attr.startswith("check_") for n in ast.walk(node)):
                break  # the check's own call: what follows it runs after the verdict
            yield node


def _definitions(statements: list[ast.stmt]) -> dict[str, ast.stmt]:
    """The notebook's top-level definitions by name (the last wins): functions, assignments and imports, among
    its ``statements`` (``_statements``)."""
    found: dict[str, ast.stmt] = {}
    for node in statements:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            found[node.name] = node
        elif isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Name):
                    found[target.id] = node
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                if alias.name != "*":
                    found[(alias.asname or alias.name).split(".")[0]] = ast.copy_location(
                        type(node)(**{**{f: getattr(node, f) for f in node._fields}, "names": [alias]}), node)
    return found


# Cell magics that run their body as Python in the notebook's namespace: the body is the cell's code.
_BODY_MAGICS = re.compile(r"\A\s*%%(time|capture)\b[^\n]*\n")

# Modules whose functions the checks know by name (a forbidden NumPy function imported under another name is still
# refused); a function imported from any other module (a file of the student's) has source the grader cannot read.
_READ_MODULES = {"numpy", "cupy", "math", "operator", "functools", "course_lib", "scipy", "builtins"}


def _python_of(source: str) -> str:
    return _BODY_MAGICS.sub("", source, count=1)


def _bound_elsewhere(statements: list[ast.stmt]) -> tuple[set[str], str]:
    """Names the notebook's ``statements`` (``_statements``) bind other than by a top-level ``def``,
    assignment to one name or import: inside a block (if, for, while, with, try, match), as a loop or ``with``
    target, by unpacking, ``:=`` or a function's ``global``; and the first way the notebook makes names at run time
    (``exec``, ``globals()``, ``setattr``, ``__import__``, a function's ``__code__`` replaced), or ""."""
    bound: set[str] = set()
    dynamic = ""
    for node in statements:
        for inner in ast.walk(node):
            if isinstance(inner, ast.Global):
                bound.update(inner.names)
            elif isinstance(inner, ast.NamedExpr) and isinstance(inner.target, ast.Name):
                bound.add(inner.target.id)
            elif isinstance(inner, ast.Call) and not dynamic:
                called = inner.func.id if isinstance(inner.func, ast.Name) else (
                    inner.func.attr if isinstance(inner.func, ast.Attribute) else "")
                if called in ("exec", "globals", "setattr", "__import__"):
                    dynamic = f"`{called}`"
            elif isinstance(inner, ast.Attribute) and inner.attr == "__code__" and isinstance(inner.ctx, ast.Store):
                dynamic = dynamic or "a function's `__code__` replaced"
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Import, ast.ImportFrom,
                             ast.Expr)):
            continue
        if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if not isinstance(target, ast.Name):  # a, b = …: unpacking
                    bound.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
        else:  # a block: every name bound anywhere inside it
            for inner in ast.walk(node):
                if isinstance(inner, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    bound.add(inner.name)
                elif isinstance(inner, ast.Name) and isinstance(inner.ctx, ast.Store):
                    bound.add(inner.id)
                elif isinstance(inner, (ast.Import, ast.ImportFrom)):
                    bound.update((a.asname or a.name).split(".")[0] for a in inner.names)
    return bound, dynamic


def _unreadable(expression: str, definitions: dict[str, ast.stmt], bound: set[str], dynamic: str) -> str:
    """Why the grader cannot read the code of the function answer ``expression`` from the notebook's source ("" when
    it can). It trusts only source, never what a student's kernel says about its own functions, so an answer whose
    code it cannot read gets no pass it could not check."""
    if not re.fullmatch(r"[A-Za-z_]\w*", expression):  # written in the check cell itself: read from there, but a
        try:                                               # call there (getattr(np, "matmul")) makes a function
            tree = ast.parse(expression, mode="eval")
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return "its source does not parse"
        bodies = {id(n) for lam in ast.walk(tree) if isinstance(lam, ast.Lambda) for n in ast.walk(lam.body)}
        made = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and id(n) not in bodies
                and ast.unparse(n.func) not in ("functools.partial", "partial")]
        return f"it is made by running code ({ast.unparse(made[0])[:60]})" if made else ""
    if dynamic:
        return f"the notebook makes names at run time ({dynamic})"
    name, seen = expression, set()
    while name not in seen:
        seen.add(name)
        if name in bound:
            return f"`{name}` is defined inside a block (if, for, with, try), by unpacking, := or `global`"
        node = definitions.get(name)
        if node is None:
            return f"no top-level definition of `{name}` in the cells before the check"
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            return f"`{name}` is decorated, and what its decorator returns is not its code" if node.decorator_list else ""
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            module = (node.module if isinstance(node, ast.ImportFrom) else node.names[0].name) or ""
            readable = module.split(".")[0] in _READ_MODULES and not getattr(node, "level", 0)
            return "" if readable else f"`{name}` is imported from `{module or '.'}`, a module the grader does not read"
        value = node.value
        if isinstance(value, ast.Lambda):
            return ""
        if isinstance(value, ast.Name):
            name = value.id
            continue
        root = value
        while isinstance(root, ast.Attribute):
            root = root.value
        if isinstance(value, ast.Attribute) and isinstance(root, ast.Name) and isinstance(
                definitions.get(root.id), (ast.Import, ast.ImportFrom)):
            return ""  # a module's function: np.matmul, attention.softmax
        if isinstance(value, ast.Call) and ast.unparse(value.func) in ("functools.partial", "partial"):
            return ""
        return f"`{name}` is made by running code ({ast.unparse(value)[:60]})"
    return f"`{expression}` names itself in a loop"


def _own(node: ast.stmt) -> bool:
    """A function the student wrote: a ``def``, or a name given a lambda."""
    return isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) or (
        isinstance(node, (ast.Assign, ast.AnnAssign)) and isinstance(node.value, ast.Lambda))


def _followed(node: ast.stmt) -> bool:
    """A definition the grader reads when an answer's code uses its name: a function the student wrote, another
    name for a function (``mm = np.matmul``, ``f = helper``) or an import (``from numpy import einsum as e``).
    Not an assignment of a computed value, which the answer only reads."""
    return _own(node) or isinstance(node, (ast.Import, ast.ImportFrom)) or (
        isinstance(node, (ast.Assign, ast.AnnAssign)) and isinstance(node.value, (ast.Name, ast.Attribute)))


def _expression_codes(expression: str) -> list:
    """The code objects compiled (not run) from an answer written in the check cell itself, such as
    ``lambda w, v: w @ v`` or ``np.matmul``: what the check reads for a forbidden operator or name, as it reads
    the code of the function in the notebook's kernel."""
    try:
        code = compile(expression, "<check cell>", "eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []
    codes, stack = [], [code]
    while stack:
        codes.append(stack.pop())
        stack.extend(c for c in codes[-1].co_consts if isinstance(c, types.CodeType))
    return codes


def _codes_of(expression: str, definitions: dict[str, ast.stmt], depth: int = 6) -> tuple[list, set]:
    """The code objects compiled (not run) from the notebook's definition of ``expression`` and of the definitions
    it uses by name (``_followed``), a few levels deep; and the names of the functions the student wrote (``_own``),
    which are theirs whatever they are called."""
    followed = {name for name, node in definitions.items() if _followed(node)}
    helpers = {name for name, node in definitions.items() if _own(node)}
    codes: list = []
    seen: set[str] = set()
    todo = [(expression, depth)]
    while todo:
        name, level = todo.pop()
        if name in seen or name not in definitions:
            continue
        seen.add(name)
        try:
            module = compile(ast.Module([definitions[name]], type_ignores=[]), "<notebook>", "exec")
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            continue
        node = definitions[name]
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):  # its own code, not the `def` statement
            module = next(c for c in module.co_consts if isinstance(c, types.CodeType) and c.co_name == node.name)
        stack = [module]
        while stack:
            code = stack.pop()
            codes.append(code)
            stack.extend(c for c in code.co_consts if isinstance(c, types.CodeType))
            if level > 0:
                todo += [(helper, level - 1) for helper in code.co_names if helper in followed and helper != name]
    return codes, helpers
