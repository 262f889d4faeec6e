"""environment.yml (conda, Binder) and pyproject.toml (pip) must name the same packages."""

from __future__ import annotations

import importlib.metadata
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[1]
# pip names that conda-forge spells differently
CONDA_NAME = {"cupy-cuda12x": "cupy"}


def _requirement(text: str) -> tuple[str, str]:
    """('name', 'specifier') of a requirement such as 'cupy-cuda12x[ctk]>=13.0'."""
    match = re.match(r"^\s*([A-Za-z0-9_.\-]+)(\[[^\]]*\])?\s*(.*)$", text)
    name = match.group(1).lower().replace("_", "-")
    return CONDA_NAME.get(name, name), match.group(3).replace(" ", "")


def pyproject_packages() -> dict[str, str]:
    """Every requirement of the installed course (its pyproject.toml), extras included.

    Read from the package metadata, which pip writes from pyproject.toml (`make test`
    reinstalls when pyproject.toml changes); tomllib would need Python 3.11.
    """
    requirements = importlib.metadata.requires("attention-course")
    return dict(_requirement(r.split(";")[0]) for r in requirements)


def environment_packages() -> dict[str, str]:
    """The conda packages under `dependencies:` (the pip: sub-list and comments skipped)."""
    text = (ROOT / "environment.yml").read_text()
    section = text.split("\ndependencies:\n", 1)[1]
    packages = {}
    for line in section.splitlines():
        item = re.match(r"^  - ([^#\s]+)\s*(#.*)?$", line)  # two spaces: top level of the list
        if item and item.group(1) not in ("pip", "pip:"):
            name, spec = _requirement(item.group(1))
            packages[name] = spec
    return packages


def test_environment_yml_lists_the_same_packages_as_pyproject():
    conda = environment_packages()
    conda.pop("python")
    assert conda == pyproject_packages()


def test_python_versions_agree():
    requires_python = importlib.metadata.metadata("attention-course")["Requires-Python"]
    assert environment_packages()["python"] == requires_python


def test_environment_installs_the_course_itself():
    assert re.search(r"^\s+- -e \.$", (ROOT / "environment.yml").read_text(), re.M)
