"""Write student copies of the notebooks: solutions replaced by placeholders, outputs cleared.

A solution sits between ``# BEGIN SOLUTION`` and ``# END SOLUTION`` lines in a code cell.

* Inside a function (the markers are indented) the block becomes
  ``raise NotImplementedError(...)``: the learner writes the body.
* At the top level the block must hold assignments only; each becomes ``name = ...``
  (``a, b = ..., ...`` for a tuple), so the learner fills in the value.

Check cells stay as they are: given a placeholder they print "not attempted yet".

The instructor notebooks collapse each solution cell's code (``metadata.jupyter.source_hidden``,
so that projecting an exercise on a live slide does not give it away); a student copy shows it
again, since there the cell holds the placeholder the learner types into.

Usage: ``python -m course_lib.authoring.student notebooks student`` (what ``make student`` runs).
"""

from __future__ import annotations

import argparse
import ast
import pathlib
import re
import sys
import textwrap

import nbformat

BEGIN = re.compile(r"^(?P<indent>[ \t]*)# BEGIN SOLUTION\s*$")
END = re.compile(r"^[ \t]*# END SOLUTION\s*$")
CODE_PLACEHOLDER = "# YOUR CODE HERE: replace the next line with your code"
VALUE_PLACEHOLDER = "# YOUR ANSWER: replace each `...` below with your answer (`...` only holds the place)"


class SolutionMarkerError(ValueError):
    """A cell's solution markers are unbalanced, or a top-level solution is not assignments."""


def _placeholder(block: list[str], indent: str) -> list[str]:
    if indent:
        return [f"{indent}{CODE_PLACEHOLDER}", f'{indent}raise NotImplementedError("write your solution here")']
    tree = ast.parse(textwrap.dedent("\n".join(block)))
    lines = [VALUE_PLACEHOLDER]
    for statement in tree.body:
        if not isinstance(statement, (ast.Assign, ast.AnnAssign)):
            raise SolutionMarkerError(
                f"a top-level solution may only assign values, found {type(statement).__name__} "
                f"at its line {statement.lineno}; put code the learner writes inside a function"
            )
        targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
        for target in targets:
            if isinstance(target, ast.Tuple):
                dots = ", ".join("..." for _ in target.elts)
                names = ", ".join(ast.unparse(element) for element in target.elts)
                lines.append(f"{names} = {dots}")
            else:
                lines.append(f"{ast.unparse(target)} = ...")
    return lines


def strip_solutions(source: str) -> str:
    """Return ``source`` with every solution block replaced by its placeholder."""
    out: list[str] = []
    block: list[str] | None = None
    indent = ""
    for line in source.splitlines():
        begin = BEGIN.match(line)
        if begin:
            if block is not None:
                raise SolutionMarkerError("a `# BEGIN SOLUTION` inside another solution")
            block, indent = [], begin.group("indent")
        elif END.match(line):
            if block is None:
                raise SolutionMarkerError("an `# END SOLUTION` without its `# BEGIN SOLUTION`")
            out.extend(_placeholder(block, indent))
            block = None
        elif block is not None:
            block.append(line)
        else:
            out.append(line)
    if block is not None:
        raise SolutionMarkerError("a `# BEGIN SOLUTION` without its `# END SOLUTION`")
    return "\n".join(out)


def show_source(cell: nbformat.NotebookNode) -> None:
    """Undo JupyterLab's collapsed input on ``cell`` (``metadata.jupyter.source_hidden``)."""
    jupyter = cell.metadata.get("jupyter")
    if jupyter is not None:
        jupyter.pop("source_hidden", None)
        if not jupyter:
            del cell.metadata["jupyter"]


def student_copy(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A student version of ``notebook``: solutions replaced and shown, outputs and counts cleared."""
    copy = nbformat.from_dict(notebook)
    for index, cell in enumerate(copy.cells):
        if cell.cell_type != "code":
            continue
        if any(BEGIN.match(line) for line in cell.source.splitlines()):
            show_source(cell)
        try:
            cell.source = strip_solutions(cell.source)
        except SolutionMarkerError as err:
            raise SolutionMarkerError(f"code cell {index}: {err}") from None
        cell.outputs = []
        cell.execution_count = None
    return copy


def write_student_copies(source_dir: pathlib.Path, target_dir: pathlib.Path) -> list[pathlib.Path]:
    """Write a student copy of every ``NN_*.ipynb`` in ``source_dir`` into ``target_dir``."""
    target_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for path in sorted(source_dir.glob("[0-9][0-9]_*.ipynb")):
        try:
            copy = student_copy(nbformat.read(path, as_version=4))
        except SolutionMarkerError as err:
            raise SolutionMarkerError(f"{path.name}: {err}") from None
        target = target_dir / path.name
        nbformat.write(copy, target)
        written.append(target)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=pathlib.Path, help="folder of instructor notebooks")
    parser.add_argument("target", type=pathlib.Path, help="folder for the student copies")
    args = parser.parse_args(argv)
    written = write_student_copies(args.source, args.target)
    print(f"wrote {len(written)} student notebooks to {args.target}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
