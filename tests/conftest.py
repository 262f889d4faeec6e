"""Shared fixtures: every library test body runs once per array backend.

``xp`` gives the array module of a backend: NumPy always; CuPy only where it imports
and a GPU is usable (otherwise the case is skipped with the reason); and
array-api-strict, a minimal implementation of the array API standard, which fails on
any call outside the standard and so catches on a CPU the code that would break on a
GPU library (as SciPy's test suite does).
"""

from __future__ import annotations

import numpy
import pytest

import course_lib
from course_lib.backend import BackendUnavailableError


def _cupy_or_reason():
    previous = course_lib.name()
    try:
        return course_lib.use("cupy"), ""
    except BackendUnavailableError as err:
        return None, f"needs CuPy and a usable NVIDIA GPU; here: {str(err).split('. ')[0]}"
    finally:
        course_lib.use(previous)


_CUPY, _CUPY_REASON = _cupy_or_reason()

BACKENDS = [
    pytest.param("numpy", id="numpy"),
    pytest.param("cupy", id="cupy", marks=pytest.mark.skipif(_CUPY is None, reason=_CUPY_REASON)),
]
STRICT = pytest.param("array_api_strict", id="array_api_strict")


def _module(name: str):
    if name == "numpy":
        return numpy
    if name == "cupy":
        return _CUPY
    return pytest.importorskip("array_api_strict")


@pytest.fixture(params=BACKENDS + [STRICT])
def xp(request):
    """Array module of each backend, plus array-api-strict for portability."""
    return _module(request.param)


@pytest.fixture(params=BACKENDS)
def xp_backend(request):
    """Array module of each real backend (NumPy, CuPy): for code that runs only on those."""
    module = _module(request.param)
    previous = course_lib.name()
    course_lib.use(request.param)
    yield module
    course_lib.use(previous)


def host(x) -> numpy.ndarray:
    """Copy any array (NumPy, CuPy, array-api-strict) to a NumPy array for assertions."""
    if isinstance(x, (numpy.ndarray, numpy.generic)):
        return numpy.asarray(x)
    if hasattr(x, "get"):  # CuPy
        return x.get()
    return numpy.from_dlpack(x)


def tolerance(dtype) -> float:
    """A tolerance that follows the dtype: 100 machine epsilons."""
    try:
        dtype = numpy.dtype(dtype)  # NumPy and CuPy dtypes, NumPy scalar types
    except TypeError:
        dtype = numpy.dtype(str(dtype).split(".")[-1])  # array_api_strict.float32 -> float32
    return float(numpy.finfo(dtype).eps) * 100


# ---------------------------------------------------------------- exercise checks


@pytest.fixture
def numpy_backend():
    """Run a test with the NumPy backend selected, then restore the previous one."""
    previous = course_lib.name()
    course_lib.use("numpy")
    yield numpy
    course_lib.use(previous)


def placeholder(*args):
    """What a student copy's unfinished exercise function does."""
    raise NotImplementedError("write your solution here")


def verdict(capsys) -> str:
    """What a check printed."""
    return capsys.readouterr().out


def run(capsys, check, answer) -> str:
    """Give ``check`` the learner's ``answer`` and return what it printed."""
    check(answer)
    return verdict(capsys)


def assert_wrong(out: str, *says: str) -> None:
    """``out`` is a "Not yet" verdict that contains each of ``says``."""
    assert out.startswith("❌ Not yet"), out
    for text in says:
        assert text in out, f"{text!r} not in {out!r}"
