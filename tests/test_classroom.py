"""Where classes run the course: the CI workflow for forks, Binder's set-up.

The project's own CI cannot run a GitHub Actions workflow, so these tests read it: it
parses, it runs the README's test command for the oldest and a recent Python, it installs
Chromium for the browser tests and caches pip. .ci/run installs bubblewrap for make grade's sandbox. Binder (repo2docker) reads environment.yml
and runs postBuild, which must turn off the same JupyterLab extension as `make lab`.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import pathlib
import re

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[1]
WORKFLOW = ROOT / ".github" / "workflows" / "test.yml"


@pytest.fixture(scope="module")
def workflow() -> dict:
    return yaml.safe_load(WORKFLOW.read_text())


def steps(workflow: dict) -> list[dict]:
    return [step for job in workflow["jobs"].values() for step in job["steps"]]


def test_the_workflow_runs_on_pushes_and_pull_requests(workflow):
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as true
    assert {"push", "pull_request"} <= set(triggers)


def test_the_workflow_runs_the_readme_test_command(workflow):
    readme = (ROOT / "README.md").read_text()
    assert re.search(r"^make test\b", readme, re.M), "the README no longer names `make test`"
    runs = [step.get("run", "").strip() for step in steps(workflow)]
    assert "make test" in runs


def test_the_workflow_covers_the_oldest_and_a_recent_python(workflow):
    (job,) = workflow["jobs"].values()
    versions = [str(v) for v in job["strategy"]["matrix"]["python-version"]]
    oldest = re.match(r">=\s*(\d+\.\d+)", importlib.metadata.metadata("attention-course")["Requires-Python"]).group(1)
    as_tuple = [tuple(map(int, v.split("."))) for v in versions]
    assert versions[as_tuple.index(min(as_tuple))] == oldest
    assert max(as_tuple) >= (3, 13) and len(set(versions)) >= 2
    assert "${{ matrix.python-version }}" in json.dumps(job), "the matrix version is not used"


def test_the_workflow_installs_chromium_and_caches_pip(workflow):
    runs = " ".join(step.get("run", "") for step in steps(workflow))
    assert re.search(r"apt-get install\b.*\bchromium\b", runs)
    caches = [step for step in steps(workflow) if str(step.get("uses", "")).startswith("actions/cache")]
    assert any("pip" in str(step["with"]["path"]) and "pyproject.toml" in step["with"]["key"] for step in caches)


def test_ci_installs_bubblewrap_for_the_graders_sandbox_where_it_can():
    ci = (ROOT / ".ci" / "run").read_text()
    install = re.search(r"^.*apt-get install -y bubblewrap.*$", ci, re.M)
    assert install and "command -v bwrap" in install[0] and '"$(id -u)" != 0' in install[0]
    assert ci.index("bubblewrap") < ci.index("make test")


def test_binder_turns_off_what_make_lab_turns_off():
    post_build = ROOT / "postBuild"
    assert os.access(post_build, os.X_OK), "repo2docker runs postBuild only if it is executable"
    disabled = json.loads((ROOT / "jupyter-config" / "labconfig" / "page_config.json").read_text())["disabledExtensions"]
    commands = re.findall(r"^jupyter labextension disable (\S+)$", post_build.read_text(), re.M)
    assert sorted(commands) == sorted(name for name, off in disabled.items() if off)


def test_binder_finds_its_environment_at_the_root():
    # repo2docker reads a binder/ folder instead of the root when there is one
    assert (ROOT / "environment.yml").exists() and not (ROOT / "binder").exists()
