"""`make lab` serves JupyterLab on localhost only, with token authentication on."""

from __future__ import annotations

import pathlib
import socket
import urllib.error
import urllib.request

import pytest
from conftest import free_port, make_lab

ROOT = pathlib.Path(__file__).resolve().parents[1]


def status(url: str, headers: dict | None = None) -> int:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as err:
        return err.code


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    port = free_port()
    args = f"--no-browser --port={port} --ServerApp.port_retries=0"
    with make_lab(tmp_path_factory.mktemp("lab"), args) as (token, log):
        yield port, token, log


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
