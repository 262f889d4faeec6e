"""Choose the array library the course runs on: NumPy (CPU) or CuPy (NVIDIA GPU).

The selected module is ``xp``; notebooks create arrays with it (``xp.asarray``,
``xp.zeros``). Library functions do not use ``xp``: they ask their inputs which
library they belong to (``namespace``), so they work on NumPy and CuPy arrays alike.

The default comes from the environment variable ``COURSE_LIB_BACKEND``
(``numpy``, ``cupy`` or ``auto``), else ``numpy``. Taught in notebook 00.
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType
from typing import Any

import numpy
import array_api_compat

__all__ = [
    "BackendUnavailableError",
    "use",
    "name",
    "asarray",
    "to_numpy",
    "namespace",
    "xp",
]

ENV_VAR = "COURSE_LIB_BACKEND"
CHOICES = ("numpy", "cupy", "auto")

FALLBACK_HINT = (
    "To carry on without a GPU, run `course_lib.use('numpy')` "
    f"(or unset {ENV_VAR}, or set it to 'auto')."
)


class BackendUnavailableError(RuntimeError):
    """Raised when the requested array library cannot run here; the message says why."""


xp: ModuleType = numpy
_name = "numpy"


def _load_cupy() -> ModuleType:
    """Import CuPy and prove it can run a kernel on a GPU; raise BackendUnavailableError if not."""
    try:
        cupy = importlib.import_module("cupy")
    except ImportError as err:
        raise BackendUnavailableError(
            f"CuPy is not installed ({err}). On a machine with an NVIDIA GPU install it with "
            "`pip install '.[gpu]'` (or `conda install -c conda-forge cupy`). " + FALLBACK_HINT
        ) from err
    try:
        n_devices = cupy.cuda.runtime.getDeviceCount()
    except Exception as err:  # CUDARuntimeError, or a missing/old driver library
        raise BackendUnavailableError(
            f"CuPy is installed but cannot reach a CUDA GPU: {type(err).__name__}: {err}. "
            "Check that this machine has an NVIDIA GPU and its driver (`nvidia-smi`). " + FALLBACK_HINT
        ) from err
    if n_devices == 0:
        raise BackendUnavailableError("CuPy is installed but no CUDA GPU was found. " + FALLBACK_HINT)
    try:
        # A tiny elementwise kernel: it needs the driver and NVRTC to compile, so this proves
        # the device really works, which `cupy.is_available()` alone does not.
        total = float((cupy.arange(4, dtype=cupy.float32) * 2).sum())
    except Exception as err:
        raise BackendUnavailableError(
            f"CuPy found a GPU but could not run a kernel on it: {type(err).__name__}: {err}. "
            "A missing NVRTC library is the usual cause: `pip install 'cupy-cuda12x[ctk]'`. "
            + FALLBACK_HINT
        ) from err
    if total != 12.0:
        raise BackendUnavailableError(
            f"CuPy ran a test kernel on the GPU but got {total} instead of 12.0. " + FALLBACK_HINT
        )
    return cupy


def use(backend: str | None = None) -> ModuleType:
    """Select the array library: "numpy", "cupy" or "auto"; return it (also ``course_lib.xp``).

    With no argument, read ``COURSE_LIB_BACKEND``, else "numpy". "auto" picks CuPy when a
    CUDA GPU is usable and NumPy otherwise.
    Raises ValueError for an unknown name and BackendUnavailableError when CuPy cannot run.
    Taught in notebook 00.
    """
    global xp, _name
    if backend is None:
        backend = os.environ.get(ENV_VAR, "").strip() or "numpy"
    choice = backend.strip().lower()
    if choice not in CHOICES:
        raise ValueError(f"unknown backend {backend!r}: choose one of {', '.join(map(repr, CHOICES))}")
    if choice == "numpy":
        module, chosen = numpy, "numpy"
    elif choice == "cupy":
        module, chosen = _load_cupy(), "cupy"
    else:
        try:
            module, chosen = _load_cupy(), "cupy"
        except BackendUnavailableError:
            module, chosen = numpy, "numpy"
    xp, _name = module, chosen
    return module


def name() -> str:
    """Name of the selected array library: "numpy" or "cupy"."""
    return _name


def asarray(x: Any, dtype: Any = None) -> Any:
    """Convert ``x`` (list, NumPy or CuPy array) to an array of the selected library."""
    return xp.asarray(x, dtype=dtype)


def to_numpy(x: Any) -> numpy.ndarray:
    """Copy an array to the host as a NumPy array (for plotting and printing); NumPy input is returned as is."""
    if isinstance(x, numpy.ndarray):
        return x
    if array_api_compat.is_cupy_array(x):
        return x.get()
    return numpy.asarray(x)


def _library(x: Any) -> str:
    """Short name of the array library ``x`` belongs to, for error messages."""
    module = type(x).__module__.split(".")[0]
    return {"numpy": "NumPy", "cupy": "CuPy"}.get(module, module)


def namespace(*arrays: Any) -> ModuleType:
    """The array namespace shared by ``arrays`` (None and Python scalars are ignored).

    Like ``cupy.get_array_module``, but for any array-API library; with no array among
    the arguments, the selected backend. Raises TypeError when arrays of two libraries
    are mixed, naming both.
    """
    found = [a for a in arrays if array_api_compat.is_array_api_obj(a)]
    libraries = {type(a).__module__.split(".")[0]: a for a in found}
    if len(libraries) > 1:
        a, b = list(libraries.values())[:2]
        raise TypeError(
            f"arrays from two libraries were mixed: a {_library(a)} array {type(a).__name__} "
            f"and a {_library(b)} array {type(b).__name__}. Put them on one device first, "
            "e.g. course_lib.asarray(x) for the selected backend or course_lib.to_numpy(x) for NumPy."
        )
    if not found:
        return array_api_compat.array_namespace(xp.asarray(0.0))
    return array_api_compat.array_namespace(*found)


def _select_from_environment() -> None:
    """Apply COURSE_LIB_BACKEND at import time; a bad value is reported clearly."""
    use(None)


_select_from_environment()
