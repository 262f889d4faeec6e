"""`make lab` serves JupyterLab on localhost only, with token authentication on."""

from __future__ import annotations

import os
import pathlib
import re
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def status(url: str, headers: dict | None = None) -> int:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as err:
        return err.code


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("lab")
    if not (ROOT / ".venv" / "bin" / "jupyter").exists():
        pytest.skip("needs the course's .venv (created by `make test` or `make lab`)")
    port = free_port()
    log = tmp_path / "lab.log"
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime")}
    with log.open("w") as out:
        process = subprocess.Popen(
            ["make", "--no-print-directory", "lab", f"JUPYTER_ARGS=--no-browser --port={port} --ServerApp.port_retries=0"],
            cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 90
        while not re.search(r"token=[0-9a-f]+", log.read_text()):
            assert process.poll() is None, f"make lab stopped:\n{log.read_text()[-2000:]}"
            assert time.monotonic() < deadline, "JupyterLab did not start in 90 s"
            time.sleep(0.5)
        token = re.search(r"token=([0-9a-f]+)", log.read_text()).group(1)
        yield port, token, log
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def test_make_lab_refuses_requests_without_the_token(lab):
    port, token, _ = lab
    api = f"http://127.0.0.1:{port}/api/contents"
    assert status(api) == 403
    assert status(api, {"Authorization": "token wrong"}) == 403
    assert status(api, {"Authorization": f"token {token}"}) == 200


def test_make_lab_listens_on_localhost_only(lab):
    port, _, log = lab
    assert f"http://127.0.0.1:{port}/lab?token=" in log.read_text()
    outside = [a for a in {ai[4][0] for ai in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)} if not a.startswith("127.")]
    for address in outside:
        with socket.socket() as s:
            s.settimeout(2)
            assert s.connect_ex((address, port)) != 0, f"JupyterLab answers on {address}"
