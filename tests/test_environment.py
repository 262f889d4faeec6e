"""The conda environment files and pyproject.toml (pip) must name the same packages.

environment.yml (conda, Binder) holds the dependencies and the test extra; environment-gpu.yml,
for machines with an NVIDIA GPU, holds those and the gpu extra. The bench extra (PyTorch) is in
neither: only `make bench` needs it, and installs it with pip.
"""

from __future__ import annotations

import importlib.metadata
import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
# pip names that conda-forge spells differently
CONDA_NAME = {"cupy-cuda12x": "cupy"}


def _requirement(text: str) -> tuple[str, str]:
    """('name', 'specifier') of a requirement such as 'cupy-cuda12x[ctk]>=13.0'."""
    match = re.match(r"^\s*([A-Za-z0-9_.\-]+)(\[[^\]]*\])?\s*(.*)$", text)
    name = match.group(1).lower().replace("_", "-")
    return CONDA_NAME.get(name, name), match.group(3).replace(" ", "")


ENVIRONMENTS = {"environment.yml": ("", "test"), "environment-gpu.yml": ("", "test", "gpu")}
# Extras that no conda environment holds, and why.
PIP_ONLY_EXTRAS = {"bench": "PyTorch, to compare with in `make bench`, which installs it; the course never imports it"}


def pyproject_packages(extras: tuple[str, ...] = ("", "test", "gpu")) -> dict[str, str]:
    """The requirements of the installed course (its pyproject.toml) in these extras ("": the base).

    Read from the package metadata, which pip writes from pyproject.toml (`make test`
    reinstalls when pyproject.toml changes); tomllib would need Python 3.11.
    """
    packages = {}
    for requirement in importlib.metadata.requires("attention-course"):
        text, _, marker = requirement.partition(";")
        extra = re.search(r"""extra\s*==\s*["']([^"']+)["']""", marker)
        if (extra.group(1) if extra else "") in extras:
            name, spec = _requirement(text)
            packages[name] = spec
    return packages


def environment_packages(file: str = "environment.yml") -> dict[str, str]:
    """The conda packages under `dependencies:` (the pip: sub-list and comments skipped)."""
    text = (ROOT / file).read_text()
    section = text.split("\ndependencies:\n", 1)[1]
    packages = {}
    for line in section.splitlines():
        item = re.match(r"^  - ([^#\s]+)\s*(#.*)?$", line)  # two spaces: top level of the list
        if item and item.group(1) not in ("pip", "pip:"):
            name, spec = _requirement(item.group(1))
            packages[name] = spec
    return packages


@pytest.mark.parametrize("file", ENVIRONMENTS)
def test_each_environment_lists_the_same_packages_as_pyproject(file):
    conda = environment_packages(file)
    conda.pop("python")
    assert conda == pyproject_packages(ENVIRONMENTS[file])


def test_binder_environment_has_no_gpu_packages():
    assert not set(environment_packages()) & set(pyproject_packages(("gpu",)))


@pytest.mark.parametrize("file", ENVIRONMENTS)
def test_python_versions_agree(file):
    requires_python = importlib.metadata.metadata("attention-course")["Requires-Python"]
    assert environment_packages(file)["python"] == requires_python


@pytest.mark.parametrize("file", ENVIRONMENTS)
def test_environment_installs_the_course_itself(file):
    assert re.search(r"^\s+- -e \.$", (ROOT / file).read_text(), re.M)


def test_every_extra_is_in_an_environment_or_named_pip_only():
    extras = set(importlib.metadata.metadata("attention-course").get_all("Provides-Extra"))
    in_environments = {extra for extras in ENVIRONMENTS.values() for extra in extras if extra}
    assert extras == in_environments | set(PIP_ONLY_EXTRAS)


@pytest.mark.parametrize("file", ENVIRONMENTS)
def test_no_environment_holds_a_pip_only_extra(file):
    pip_only = pyproject_packages(tuple(PIP_ONLY_EXTRAS))
    assert pip_only and not set(environment_packages(file)) & set(pip_only)
