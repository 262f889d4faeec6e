"""Static slide decks and a static course site from the notebooks' stored outputs.

``python -m course_lib.authoring.publish slides`` (what ``make slides`` runs) writes one
reveal.js deck per notebook into ``build/slides/``; ``python -m course_lib.authoring.publish
site`` (``make site``) writes an index with the notebook map and every notebook as a
page into ``build/site/``. Nothing is executed: the decks and pages show the outputs
stored in the notebooks, which ``make notebooks`` keeps up to date.

Both work with the network cut. nbconvert's own deck and page load reveal.js, MathJax,
RequireJS and jQuery from CDNs; here the templates in ``templates/`` load reveal.js and
MathJax from a ``_static/`` folder beside the HTML files and nothing else:

- MathJax 2.7 comes from the ``jupyter-server-mathjax`` package (a course dependency),
  the copy that Jupyter itself serves;
- reveal.js is not packaged for Python. The first ``make slides`` downloads its
  release from the npm registry (one pinned version, checked against the registry's
  sha512 digest) into ``build/vendor/``; later builds reuse that file, offline.

The marks the checks print (✅ ❌ ⏳) are drawn in a small font embedded in each page
(``marks``), so that they show on a machine without an emoji font.

Links between notebooks (``05_softmax.ipynb``) point at the rendered pages instead
(``05_softmax.html``, ``05_softmax.slides.html``), and widget outputs, which need a live
kernel, show their plain-text form.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import html
import os
import pathlib
import re
import shutil
import sys
import tarfile
import urllib.error
import urllib.request

import nbformat
from nbconvert import HTMLExporter, SlidesExporter
from nbconvert.preprocessors import Preprocessor

from . import marks
from .execute import WIDGET_VIEW

TEMPLATES = pathlib.Path(__file__).resolve().parent / "templates"
# Paths the command uses by default, relative to where it runs (the course's root, for make).
BUILD = pathlib.Path("build")
NOTEBOOKS = pathlib.Path("notebooks")
README = pathlib.Path("README.md")

REVEAL_VERSION = "5.2.1"
# The registry's own digest of the tarball (`npm view reveal.js@5.2.1 dist.integrity`).
REVEAL_INTEGRITY = "sha512-r7//6mIM5p34hFiDMvYfXgyjXqGRta+/psd9YtytsgRlrpRzFv4RbH76TXd2qD+7ZPZEbpBDhdRhJaFgfQ7zNQ=="
# reveal.js's files that a deck loads: the core, its themes (with their fonts), speaker notes.
REVEAL_PARTS = ("package/dist/", "package/plugin/notes/", "package/LICENSE")
# jupyter-server-mathjax ships this one combined configuration (HTML-CSS output, its own web fonts).
MATHJAX_CONFIG = "MathJax.js?config=TeX-AMS-MML_HTMLorMML-full,Safe"

NOTEBOOK_NAME = re.compile(r"^\d\d_[A-Za-z0-9_]+$")
# A Markdown link target naming a course notebook: (05_softmax.ipynb) or (05_softmax.ipynb#anchor)
NOTEBOOK_LINK = re.compile(r"\]\((?:notebooks/)?(\d\d_[A-Za-z0-9_]+)\.ipynb(#[^)\s]*)?\)")


class PublishError(RuntimeError):
    """A deck or the site cannot be built (missing notebook, reveal.js unobtainable, ...)."""


def registry() -> str:
    """The npm registry to download from: $NPM_CONFIG_REGISTRY (a mirror) or the public one."""
    return os.environ.get("NPM_CONFIG_REGISTRY", "https://registry.npmjs.org").rstrip("/")


def _matches_integrity(data: bytes) -> bool:
    algorithm, _, digest = REVEAL_INTEGRITY.partition("-")
    return base64.b64encode(hashlib.new(algorithm, data).digest()).decode() == digest


def reveal_tarball(cache: pathlib.Path = BUILD / "vendor") -> pathlib.Path:
    """The reveal.js release tarball, downloaded once into ``cache`` and checked."""
    path = cache / f"reveal.js-{REVEAL_VERSION}.tgz"
    if path.exists() and _matches_integrity(path.read_bytes()):
        return path
    url = f"{registry()}/reveal.js/-/reveal.js-{REVEAL_VERSION}.tgz"
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            data = response.read()
    except (urllib.error.URLError, OSError) as err:
        raise PublishError(
            f"the slides need reveal.js {REVEAL_VERSION}, downloaded once from the npm registry, "
            f"and {url} could not be read ({err}). Download that file elsewhere and put it at {path}, "
            "or set NPM_CONFIG_REGISTRY to a mirror."
        ) from err
    if not _matches_integrity(data):
        raise PublishError(f"{url} does not match the expected digest {REVEAL_INTEGRITY}; not using it")
    cache.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def mathjax_folder() -> pathlib.Path:
    """MathJax 2.7 as shipped by jupyter-server-mathjax."""
    import jupyter_server_mathjax

    return pathlib.Path(jupyter_server_mathjax.__file__).parent / "static"


def copy_mathjax(static: pathlib.Path) -> None:
    shutil.copytree(mathjax_folder(), static / "mathjax", dirs_exist_ok=True)


def copy_reveal(static: pathlib.Path, cache: pathlib.Path = BUILD / "vendor") -> None:
    """Unpack the parts of reveal.js a deck loads into ``static/reveal.js/``."""
    target = static / "reveal.js"
    with tarfile.open(reveal_tarball(cache)) as archive:
        for member in archive.getmembers():
            if not member.isfile() or not member.name.startswith(REVEAL_PARTS):
                continue
            relative = pathlib.PurePosixPath(member.name).relative_to("package")
            if ".." in relative.parts:
                continue
            destination = target.joinpath(*relative.parts)
            destination.parent.mkdir(parents=True, exist_ok=True)
            destination.write_bytes(archive.extractfile(member).read())


class StaticOutputs(Preprocessor):
    """Point links between notebooks at their rendered pages; drop live-widget views; give each figure
    its description as the picture's plain-text ``alt``.

    A widget view needs a running kernel; without one its ``text/plain`` form (which the
    course's sliders set to a sentence saying how to drag them) is what shows. A figure's description
    (``course_lib.plot.describe_figure``, stored in the output's metadata) keeps its labels' TeX, which
    no one typesets in an ``alt``: ``$\\sqrt{d_k}$`` reads √d_k there.
    """

    suffix = ".html"

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "markdown":
            cell.source = NOTEBOOK_LINK.sub(lambda m: f"]({m.group(1)}{self.suffix}{m.group(2) or ''})", cell.source)
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if WIDGET_VIEW in data and len(data) > 1:
                del data[WIDGET_VIEW]
            alt = output.get("metadata", {}).get("alt")
            if "image/png" in data and isinstance(alt, str):
                output.metadata.setdefault("image/png", {})["alt"] = formulas_as_text(alt)
        return cell, resources


def notebook_paths(notebooks: list[pathlib.Path] | None) -> list[pathlib.Path]:
    """The given notebooks, or every course notebook; each must exist and be named NN_name."""
    paths = sorted(notebooks) if notebooks else sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    if not paths:
        raise PublishError(f"no notebooks to publish (expected {NOTEBOOKS}/NN_name.ipynb; run from the course's folder)")
    for path in paths:
        if not path.is_file():
            raise PublishError(f"notebook {path} does not exist")
        if path.suffix != ".ipynb" or not NOTEBOOK_NAME.match(path.stem):
            raise PublishError(f"{path} is not a course notebook (expected NN_name.ipynb)")
    return paths


def _read(path: pathlib.Path) -> nbformat.NotebookNode:
    notebook = nbformat.read(path, as_version=4)
    notebook.metadata.setdefault("title", _title(notebook, path.stem))
    return notebook


# TeX commands a heading may use, as the characters a reader sees.
TEX_SYMBOLS = {
    "times": "×", "cdot": "·", "top": "ᵀ", "to": "→", "rightarrow": "→", "leftarrow": "←", "infty": "∞",
    "ldots": "…", "dots": "…", "cdots": "⋯", "le": "≤", "leq": "≤", "ge": "≥", "geq": "≥", "ne": "≠",
    "approx": "≈", "in": "∈", "sum": "∑", "alpha": "α", "beta": "β", "theta": "θ", "lambda": "λ",
    "mu": "μ", "sigma": "σ", "tau": "τ", "pi": "π", "quad": " ", ",": " ", ";": " ", "!": "", " ": " ",
    "{": "(", "}": ")", "%": "%", "_": "_", "$": "$",
}
SUBSCRIPTS = str.maketrans("0123456789+-−=()aehijklmnoprstuvx", "₀₁₂₃₄₅₆₇₈₉₊₋₋₌₍₎ₐₑₕᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓ")
SUPERSCRIPTS = str.maketrans("0123456789+-−=()in", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁻⁼⁽⁾ⁱⁿ")
_GROUP = r"\{([^{}]*)\}"  # a brace group with no braces inside it


def _script(text: str, marks: str, table: dict) -> str:
    """``text`` as sub- or superscript characters where Unicode has them all, else ``marks`` + (text)."""
    if all(ord(c) in table for c in text):
        return text.translate(table)
    return f"{marks}({text})" if len(text) > 1 else f"{marks}{text}"


def tex_to_text(tex: str) -> str:
    """A formula in TeX as plain text a reader can read: ``\\sqrt{d_k}`` → ``√d_k``, ``T \\times T`` → ``T × T``,
    ``x_{T-1}`` → ``x_(T−1)``, ``x_0`` → ``x₀``, ``QK^\\top`` → ``QKᵀ``. For titles and link text, which
    MathJax does not typeset; no backslash or brace is left."""
    text = tex.replace("\\left", "").replace("\\right", "")
    for _ in range(20):  # innermost groups first
        before = text
        text = re.sub(r"\\(?:mathrm|mathbf|mathit|text|operatorname)\s*" + _GROUP, r"\1", text)
        text = re.sub(r"\\frac\s*" + _GROUP + r"\s*" + _GROUP, lambda m: f"{_wrap(m[1])}/{_wrap(m[2])}", text)
        text = re.sub(r"\\sqrt\s*" + _GROUP, lambda m: "√" + _wrap(m[1]), text)
        text = re.sub(r"\\sqrt\s*(\w)", r"√\1", text)
        text = re.sub(r"\^\s*\\top\b", "ᵀ", text)
        text = re.sub(r"\^" + _GROUP, lambda m: _script(m[1], "^", SUPERSCRIPTS), text)
        text = re.sub(r"\^(\w)", lambda m: _script(m[1], "^", SUPERSCRIPTS), text)
        text = re.sub(r"_" + _GROUP, lambda m: _script(m[1], "_", SUBSCRIPTS), text)
        text = re.sub(r"_(\d)", lambda m: m[1].translate(SUBSCRIPTS), text)
        if text == before:  # nothing left but bare groups: drop their braces, innermost first
            text = re.sub(r"(?<!\\)" + _GROUP, r"\1", text)
            if text == before:
                break
    text = re.sub(r"\\([A-Za-z]+|.)", lambda m: TEX_SYMBOLS.get(m[1], m[1]), text)
    text = text.replace("-", "−").replace("{", "(").replace("}", ")")
    return re.sub(r"\s+", " ", text).strip()


def _wrap(text: str) -> str:
    """``text`` as it reads after √ or around /: bare if one term, else in parentheses."""
    return text if re.fullmatch(r"√?[\w.]+(?:_\w|_\{\w+\})?", text.strip()) else f"({text.strip()})"


def formulas_as_text(text: str) -> str:
    """``text`` with each formula (``$…$``, as Matplotlib's labels write them) read as text (``tex_to_text``)."""
    return re.sub(r"\$([^$]+)\$", lambda m: tex_to_text(m[1]), text)


def plain_text(markdown: str) -> str:
    """One line of Markdown (a heading) as plain text: its formulas read as text (``tex_to_text``),
    emphasis and code marks dropped. What a browser tab, a link or a page title shows."""
    text = re.sub(r"\$\$?([^$]+)\$\$?", lambda m: tex_to_text(m[1]), markdown)
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)  # a link: its text
    text = re.sub(r"(\*\*|__|\*|`)(.+?)\1", r"\2", text)
    return re.sub(r"\s+", " ", text.replace("\\", "")).strip()


def _title(notebook, fallback: str) -> str:
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            heading = re.search(r"^#\s+(.+)$", cell.source, re.M)
            if heading:
                return plain_text(heading.group(1))
    return fallback


def build_slides(notebooks: list[pathlib.Path] | None = None, out: pathlib.Path = BUILD / "slides",
                 cache: pathlib.Path = BUILD / "vendor") -> list[pathlib.Path]:
    """Write ``out/NN_name.slides.html`` for each notebook, with ``out/_static/``; return the decks."""
    paths = notebook_paths(notebooks)
    static = out / "_static"
    out.mkdir(parents=True, exist_ok=True)
    copy_reveal(static, cache)
    copy_mathjax(static)
    links = StaticOutputs()
    links.suffix = ".slides.html"
    exporter = SlidesExporter(
        template_name="course_reveal",
        extra_template_basedirs=[str(TEMPLATES)],
        extra_template_paths=[str(TEMPLATES)],
        reveal_url_prefix="_static/reveal.js",
        reveal_theme="white",
        reveal_width="1280",
        reveal_height="800",
        mathjax_url=f"_static/mathjax/{MATHJAX_CONFIG}",
        exclude_input_prompt=True,
        exclude_output_prompt=True,
    )
    exporter.register_preprocessor(links, enabled=True)
    decks = []
    for path in paths:
        resources = {"metadata": {"name": path.stem}, "course_marks_style": marks.style()}
        body, _ = exporter.from_notebook_node(_read(path), resources=resources)
        deck = out / f"{path.stem}.slides.html"
        deck.write_text(marks.wrap(body), encoding="utf-8")
        decks.append(deck)
    return decks


def _nav(names: list[str], titles: list[str], index: int) -> str:
    """Previous / contents / next links for the page of notebook ``names[index]``."""
    def link(i: int, label: str) -> str:
        return f'<a href="{names[i]}.html">{html.escape(label)}</a>' if 0 <= i < len(names) else "<span></span>"

    previous = link(index - 1, f"← {titles[index - 1]}" if index > 0 else "")
    following = link(index + 1, f"{titles[index + 1]} →" if index + 1 < len(names) else "")
    return f'<nav class="course-nav">{previous}<a href="index.html">Contents</a>{following}</nav>'


# What a reader of the site needs to go from reading to running: the site shows the notebooks as stored.
RUN_IT_YOURSELF = """## Run the notebooks yourself

These pages show each notebook as it was last run: its code, its outputs and its figures. To run the
cells, drag the sliders, watch training and answer the exercises, open the course's folder (the one this
site was built from) and run `make lab`: it needs Python ≥ 3.10 and `make`, installs what it uses into
`.venv/` and opens JupyterLab on the notebooks. The folder's `README.md` says the rest: student copies
without the solutions, the slides, the GPU.
"""


def index_markdown(readme: str) -> str:
    """The site's front page from the README: its title and introduction, how to run the notebooks, and the
    notebook map."""
    sections = re.split(r"^(?=## )", readme, flags=re.M)
    introduction = sections[0]
    notebook_map = next((s for s in sections if s.startswith("## The notebooks")), None)
    if notebook_map is None:
        raise PublishError("README.md has no '## The notebooks' section to build the site's index from")
    return introduction.rstrip() + "\n\n" + RUN_IT_YOURSELF + "\n" + notebook_map.strip() + "\n"


def build_site(notebooks: list[pathlib.Path] | None = None, out: pathlib.Path = BUILD / "site",
               readme: pathlib.Path = README) -> list[pathlib.Path]:
    """Write ``out/index.html`` and ``out/NN_name.html`` per notebook, with ``out/_static/``."""
    paths = notebook_paths(notebooks)
    out.mkdir(parents=True, exist_ok=True)
    copy_mathjax(out / "_static")
    exporter = HTMLExporter(
        template_name="course_page",
        extra_template_basedirs=[str(TEMPLATES)],
        extra_template_paths=[str(TEMPLATES)],
        mathjax_url=f"_static/mathjax/{MATHJAX_CONFIG}",
    )
    exporter.register_preprocessor(StaticOutputs(), enabled=True)
    notebooks = [_read(path) for path in paths]
    names = [path.stem for path in paths]
    titles = [notebook.metadata["title"] for notebook in notebooks]
    pages = []
    for number, (path, notebook) in enumerate(zip(paths, notebooks)):
        resources = {"metadata": {"name": path.stem}, "course_nav": _nav(names, titles, number),
                     "course_marks_style": marks.style()}
        body, _ = exporter.from_notebook_node(notebook, resources=resources)
        page = out / f"{path.stem}.html"
        page.write_text(marks.wrap(body), encoding="utf-8")
        pages.append(page)

    # a fixed cell id (nbformat draws a random one), so that building the site twice writes the same index.html
    front = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(
        index_markdown(readme.read_text(encoding="utf-8")), id="course-index")])
    front.metadata["title"] = _title(front, "Contents")
    body, _ = exporter.from_notebook_node(front, resources={"metadata": {"name": "index"}, "course_marks_style": marks.style()})
    index = out / "index.html"
    index.write_text(marks.wrap(body), encoding="utf-8")
    return [index, *pages]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=("slides", "site"), help="reveal.js decks, or the course site")
    parser.add_argument("notebooks", nargs="*", type=pathlib.Path, help="notebooks (default: all of notebooks/)")
    parser.add_argument("--out", type=pathlib.Path, help="output folder (default: build/slides or build/site)")
    args = parser.parse_args(argv)
    try:
        if args.what == "slides":
            written = build_slides(args.notebooks, args.out or BUILD / "slides")
        else:
            written = build_site(args.notebooks, args.out or BUILD / "site")
    except PublishError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    for path in written:
        print(path.relative_to(pathlib.Path.cwd()) if path.is_relative_to(pathlib.Path.cwd()) else path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
