"""Shared fixtures: every library test body runs once per array backend.

``xp`` gives the array module of a backend: NumPy always; CuPy only where it imports
and a GPU is usable (otherwise the case is skipped with the reason, or, with
COURSE_REQUIRE_GPU=1 as `make test-gpu` sets it, the whole run stops with it); and
array-api-strict, a minimal implementation of the array API standard, which fails on
any call outside the standard and so catches on a CPU the code that would break on a
GPU library (as SciPy's test suite does).
"""

from __future__ import annotations

import contextlib
import json
import os
import pathlib
import re
import signal
import socket
import subprocess
import time

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
REQUIRE_GPU = os.environ.get("COURSE_REQUIRE_GPU", "").strip() not in ("", "0")


def pytest_sessionstart(session):
    """COURSE_REQUIRE_GPU=1 (`make test-gpu`): no usable GPU is an error, not a row of skipped cases."""
    if REQUIRE_GPU and _CUPY is None:
        pytest.exit(f"COURSE_REQUIRE_GPU is set, but the CuPy cases cannot run: {_CUPY_REASON}", returncode=1)


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


# --- a real browser: Debian's Chromium driven by Playwright for Python ---------------

CHROMIUM = pathlib.Path(os.environ.get("COURSE_CHROMIUM", "/usr/bin/chromium"))
# Headless, and no background traffic: the browser asks nothing of the network on its own.
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def _chromium_or_reason() -> str:
    """'' when Chromium and Playwright for Python are both here, else why a browser test skips."""
    if not CHROMIUM.exists():
        return f"needs Chromium at {CHROMIUM} (Debian: apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "needs Playwright for Python (the test extra: pip install -e '.[test]')"
    return ""


def _unshare_or_reason() -> tuple[list[str], str]:
    """The command that starts a program with no network, or why there is none here."""
    for command in (["unshare", "-n"], ["unshare", "-rn"]):
        try:
            if subprocess.run([*command, "true"], capture_output=True, timeout=10).returncode == 0:
                return command, ""
        except (OSError, subprocess.TimeoutExpired):
            continue
    return [], "needs `unshare -n` (util-linux, with permission to make a network namespace) to cut the network"


@pytest.fixture(scope="session")
def playwright():
    """Playwright for Python, started once: a second sync_playwright() in the same thread fails."""
    reason = _chromium_or_reason()
    if reason:
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as started:
        yield started


@pytest.fixture(scope="session")
def browser(playwright):
    """Headless Chromium with the network as it is (for pages served on localhost)."""
    chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    yield chromium
    chromium.close()


@pytest.fixture(scope="session")
def offline_browser(playwright, tmp_path_factory):
    """Headless Chromium in a network namespace of its own: no network at all, loopback down.

    It can open only files, so it shows whether a page is self-contained, as in a
    lecture hall without network. It has a profile folder of its own, as a lecturer's browser
    does, so that it keeps the scripts it has compiled (reveal.js, MathJax) from one deck to the
    next: opening and walking the fifteen decks took 55 to 65 s of CPU time where a fresh browser
    context for each deck took 79 to 82 s (2 cores, four runs each, taking turns). Yields the
    browser's one context: ``offline_browser.new_page()``.
    """
    unshare, why_not = _unshare_or_reason()
    if why_not:
        pytest.skip(why_not)
    folder = tmp_path_factory.mktemp("offline")
    wrapper = folder / "chromium-offline"
    wrapper.write_text(f'#!/bin/sh\nexec {" ".join(unshare)} "{CHROMIUM}" "$@"\n')
    wrapper.chmod(0o755)
    chromium = playwright.chromium.launch_persistent_context(
        folder / "profile", executable_path=str(wrapper), args=CHROMIUM_ARGS)
    yield chromium
    chromium.close()


# --- JupyterLab as `make lab` starts it -----------------------------------------------

ROOT = pathlib.Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def make_lab(tmp_path: pathlib.Path, jupyter_args: str, env: dict | None = None):
    """Run `make lab JUPYTER_ARGS=...` in a session of its own; yield (token, log) once it serves.

    The server's runtime files go to ``tmp_path``; ``env`` adds to the environment. On exit the
    whole session (make, JupyterLab, kernels) is stopped.
    """
    if not (ROOT / ".venv" / "bin" / "jupyter").exists():
        pytest.skip("needs the course's .venv (created by `make test` or `make lab`)")
    log = tmp_path / "lab.log"
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"), **(env or {})}
    with log.open("w") as out:
        process = subprocess.Popen(
            ["make", "--no-print-directory", "lab", f"JUPYTER_ARGS={jupyter_args}"],
            cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 90
        while not re.search(r"token=[0-9a-f]+", log.read_text()):
            assert process.poll() is None, f"make lab stopped:\n{log.read_text()[-2000:]}"
            assert time.monotonic() < deadline, "JupyterLab did not start in 90 s"
            time.sleep(0.5)
        yield re.search(r"token=([0-9a-f]+)", log.read_text()).group(1), log
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


@contextlib.contextmanager
def lab_serving(tmp_path: pathlib.Path, served: pathlib.Path, settings: dict[str, dict] | None = None):
    """`make lab` serving the folder ``served`` (copies of notebooks: the Lab may save into them).

    The app is exposed to the page (``window.jupyterapp``); the user's JupyterLab settings and
    workspaces stay out of it (both in ``tmp_path``) and the news toast is off. ``settings`` adds
    JupyterLab settings by plugin, e.g. ``{"@jupyterlab/notebook-extension:tracker": {...}}``.
    Yields a dict: ``url``, ``token``, ``log`` (the server's log file) and ``tmp`` (``tmp_path``).
    """
    folder = tmp_path / "settings"
    plugins = {"@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False}}
    for plugin, values in {**plugins, **(settings or {})}.items():
        package, name = plugin.split(":")
        path = folder / package / f"{name}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    env = {
        "JUPYTERLAB_SETTINGS_DIR": str(folder),
        "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path / "workspaces"),
    }
    port = free_port()
    args = (
        f"--no-browser --port={port} --ServerApp.port_retries=0 --expose-app-in-browser"
        f" --FileContentsManager.root_dir={served}"
    )
    with make_lab(tmp_path, args, env) as (token, log):
        yield {"url": f"http://127.0.0.1:{port}", "token": token, "log": log, "tmp": tmp_path}


# True once the current widget is the notebook at `path`, loaded, with a kernel that is idle; the string
# 'dialog' while a dialog (such as "Select Kernel") waits for an answer.
_NOTEBOOK_READY = """(path) => {
    if (document.querySelector('.jp-Dialog')) return 'dialog';
    const app = window.jupyterapp;
    const panel = app && app.shell && app.shell.currentWidget;
    const kernel = panel && panel.sessionContext && panel.sessionContext.session
        && panel.sessionContext.session.kernel;
    return !!(panel && panel.context && panel.context.path === path && panel.context.isReady
              && kernel && kernel.status === 'idle');
}"""


KERNEL = "python3"  # the kernel of the course's notebooks: the .venv's ipykernel under `make lab`


def answer_dialog(page, timeout_ms: int = 60_000) -> None:
    """Answer the dialog the Lab shows with its accept button, and wait until it is gone.

    In "Select Kernel" (shown where JupyterLab cannot find the notebook's kernel by itself) the
    course's kernel is chosen first: the dialog's default there is "No Kernel".
    """
    choice = page.locator(".jp-Dialog select")
    if choice.count():
        wanted = json.dumps({"name": KERNEL}, separators=(",", ":"))
        if wanted in choice.locator("option").evaluate_all("(options) => options.map((o) => o.value)"):
            choice.select_option(value=wanted, timeout=timeout_ms)
    page.click(".jp-Dialog .jp-Dialog-button.jp-mod-accept", timeout=timeout_ms)
    page.wait_for_selector(".jp-Dialog", state="detached", timeout=timeout_ms)


def wait_for_notebook(page, path: str, timeout_ms: int = 60_000) -> None:
    """Wait until the Lab in ``page`` shows the notebook ``path``, loaded, with an idle kernel.

    A dialog on the way, such as "Select Kernel", is answered (``answer_dialog``). Raises
    Playwright's TimeoutError where the notebook does not get there in ``timeout_ms``.
    """
    deadline = time.monotonic() + timeout_ms / 1000
    page.wait_for_function("() => !!(window.jupyterapp && window.jupyterapp.shell)", timeout=timeout_ms)
    while True:
        left = max(1, int((deadline - time.monotonic()) * 1000))
        state = page.wait_for_function(_NOTEBOOK_READY, arg=path, timeout=left).json_value()
        if state is True:
            return
        answer_dialog(page, left)


def open_in_lab(page, lab: dict, workspace: str, path: str, timeout_ms: int = 60_000) -> None:
    """Open the notebook ``path`` in JupyterLab in a fresh workspace and wait until its kernel is idle.

    ``lab`` is what ``lab_serving`` yields. As ``wait_for_notebook``: a dialog on the way is answered,
    and Playwright's TimeoutError is raised where the notebook is not ready in ``timeout_ms``.
    """
    page.goto(f"{lab['url']}/lab/workspaces/{workspace}/tree/{path}?reset&token={lab['token']}")
    wait_for_notebook(page, path, timeout_ms)
