"""course_lib.backend: choosing NumPy or CuPy, and the errors a learner sees when CuPy cannot run.

No GPU is needed: CuPy's failure modes are simulated by putting a stand-in module in
sys.modules. On a machine where CuPy really imports, the real error is checked too.
"""

from __future__ import annotations

import subprocess
import sys
import types

import numpy
import pytest

import course_lib
from course_lib import backend
from course_lib.backend import BackendUnavailableError


@pytest.fixture(autouse=True)
def restore_backend(monkeypatch):
    monkeypatch.delenv(backend.ENV_VAR, raising=False)
    saved = backend.xp, backend._name
    yield
    backend.xp, backend._name = saved


class FakeCUDARuntimeError(RuntimeError):
    """Stands in for cupy_backends.cuda.api.runtime.CUDARuntimeError."""


def fake_cupy(device_count=1, device_error=None, kernel_error=None):
    """A module that behaves like CuPy on a machine with the given trouble (None = works)."""
    def get_device_count():
        if device_error is not None:
            raise device_error
        return device_count

    def arange(n, dtype=None):
        if kernel_error is not None:
            raise kernel_error
        return numpy.arange(n, dtype=dtype)

    module = types.ModuleType("cupy")
    module.cuda = types.SimpleNamespace(runtime=types.SimpleNamespace(getDeviceCount=get_device_count))
    module.arange, module.float32, module.asarray = arange, numpy.float32, numpy.asarray
    return module


def test_numpy_is_the_default():
    assert course_lib.use() is numpy
    assert course_lib.name() == "numpy" and course_lib.xp is numpy and backend.xp is numpy


def test_environment_variable_selects_the_backend(monkeypatch):
    monkeypatch.setenv(backend.ENV_VAR, "auto")
    monkeypatch.setitem(sys.modules, "cupy", None)
    assert course_lib.use() is numpy
    monkeypatch.setenv(backend.ENV_VAR, " NumPy ")
    assert course_lib.use() is numpy


def test_unknown_backend_is_a_value_error(monkeypatch):
    with pytest.raises(ValueError, match=r"unknown backend 'torch': choose one of 'numpy', 'cupy', 'auto'"):
        course_lib.use("torch")
    monkeypatch.setenv(backend.ENV_VAR, "gpu")
    with pytest.raises(ValueError, match=r"unknown backend 'gpu'"):
        course_lib.use()


def test_cupy_not_installed(monkeypatch):
    monkeypatch.setitem(sys.modules, "cupy", None)  # makes `import cupy` raise ImportError
    with pytest.raises(BackendUnavailableError, match=r"CuPy is not installed .*pip install '\.\[gpu\]'.*use\('numpy'\)"):
        course_lib.use("cupy")
    assert course_lib.name() == "numpy"


def test_cupy_installed_but_no_driver(monkeypatch):
    error = FakeCUDARuntimeError("cudaErrorInsufficientDriver: CUDA driver version is insufficient")
    monkeypatch.setitem(sys.modules, "cupy", fake_cupy(device_error=error))
    with pytest.raises(BackendUnavailableError, match=r"cannot reach a CUDA GPU: FakeCUDARuntimeError: cudaErrorInsufficientDriver.*nvidia-smi.*use\('numpy'\)"):
        course_lib.use("cupy")


def test_cupy_installed_but_no_device(monkeypatch):
    monkeypatch.setitem(sys.modules, "cupy", fake_cupy(device_count=0))
    with pytest.raises(BackendUnavailableError, match=r"no CUDA GPU was found.*use\('numpy'\)"):
        course_lib.use("cupy")


def test_cupy_device_that_cannot_compile_kernels(monkeypatch):
    error = RuntimeError("CuPy failed to load libnvrtc.so.12")
    monkeypatch.setitem(sys.modules, "cupy", fake_cupy(kernel_error=error))
    with pytest.raises(BackendUnavailableError, match=r"could not run a kernel.*libnvrtc.*cupy-cuda12x\[ctk\]"):
        course_lib.use("cupy")


def test_auto_falls_back_to_numpy(monkeypatch):
    monkeypatch.setitem(sys.modules, "cupy", fake_cupy(device_count=0))
    assert course_lib.use("auto") is numpy and course_lib.name() == "numpy"


def test_a_working_cupy_is_selected_everywhere(monkeypatch):
    fake = fake_cupy()
    monkeypatch.setitem(sys.modules, "cupy", fake)
    assert course_lib.use("cupy") is fake
    assert course_lib.name() == "cupy" and backend.xp is fake and course_lib.xp is fake
    from course_lib import xp  # `from course_lib import xp` reads the selection at that moment
    assert xp is fake
    assert course_lib.use("auto") is fake


def test_real_cupy_without_a_gpu_is_unavailable():
    cupy = pytest.importorskip("cupy", reason="CuPy is not installed here: the simulated cases above cover it")
    if cupy.is_available():
        pytest.skip("a GPU is usable here: the CuPy-backed tests run instead")
    with pytest.raises(BackendUnavailableError, match=r"CuPy is installed but|no CUDA GPU|could not run a kernel"):
        course_lib.use("cupy")


@pytest.mark.parametrize(
    "value, expected",
    [("auto", "numpy"), ("", "numpy"), ("numpy", "numpy")],
)
def test_environment_variable_is_read_at_import(value, expected):
    env = {"COURSE_LIB_BACKEND": value, "PATH": ""}
    code = "import sys; sys.modules['cupy'] = None; import course_lib; print(course_lib.name())"
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == expected


def test_unavailable_cupy_at_import_says_why():
    env = {"COURSE_LIB_BACKEND": "cupy", "PATH": ""}
    code = "import sys; sys.modules['cupy'] = None; import course_lib"
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert result.returncode != 0
    assert "BackendUnavailableError: CuPy is not installed" in result.stderr


def test_asarray_makes_arrays_of_the_selected_backend():
    a = course_lib.asarray([[1, 2], [3, 4]], dtype=numpy.float32)
    assert isinstance(a, numpy.ndarray) and a.dtype == numpy.float32


def test_to_numpy_returns_host_arrays():
    a = numpy.ones(3)
    assert course_lib.to_numpy(a) is a
    assert isinstance(course_lib.to_numpy([1.0, 2.0]), numpy.ndarray)
    strict = pytest.importorskip("array_api_strict")
    numpy.testing.assert_array_equal(course_lib.to_numpy(strict.asarray([1.0, 2.0])), [1.0, 2.0])


def test_to_numpy_copies_cupy_arrays_to_the_host(xp_backend):
    a = xp_backend.asarray([1.0, 2.0])
    host = course_lib.to_numpy(a)
    assert isinstance(host, numpy.ndarray)
    numpy.testing.assert_array_equal(host, [1.0, 2.0])


def test_namespace_follows_the_inputs():
    strict = pytest.importorskip("array_api_strict")
    x = strict.asarray([1.0])
    assert backend.namespace(x, None, 3.0).asarray(1.0).__class__ is x.__class__
    assert isinstance(backend.namespace().asarray(1.0), numpy.ndarray)
