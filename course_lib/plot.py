"""Pictures of attention: a labelled heatmap, weight lines between tokens, one query's bars.

Every function takes NumPy or CuPy arrays (copied to the host with ``to_numpy``), draws
on the Axes it is given (or a new one), returns that Axes, and uses a colour-blind-safe
colour map. End the notebook cell with ``plt.show()``. Introduced in notebooks 00, 06 and 07.

The course's figure style is set here, once, for every figure of every notebook: importing
``course_lib`` applies ``STYLE`` (text no smaller than ``MIN_FONT_PT`` points, readable from
the back of a room once a slide shows the figure at the width of the screen) and, in a
Jupyter kernel, stores figures at twice their pixels (``retina``), so they stay sharp when a
slide enlarges them; JupyterLab still shows them at their own size, within the notebook's width.
"""

from __future__ import annotations

from typing import Any, Sequence

import re
import sys

import matplotlib
import numpy

from .backend import to_numpy

__all__ = ["heatmap", "weight_lines", "weight_bars", "describe_figure", "STYLE", "MIN_FONT_PT", "use_style"]

CMAP = "viridis"  # perceptually uniform and colour-blind-safe

# The smallest text in any figure, in points. A slide shows a figure at most a full 1280 px screen
# wide, about 82 px per inch for the course's widest figures (15 inches): 14 pt is 16 px there.
MIN_FONT_PT = 14
STYLE = {
    "font.size": MIN_FONT_PT,
    "axes.titlesize": MIN_FONT_PT + 2,
    "axes.labelsize": MIN_FONT_PT,
    "xtick.labelsize": MIN_FONT_PT,
    "ytick.labelsize": MIN_FONT_PT,
    "legend.fontsize": MIN_FONT_PT,
    "legend.title_fontsize": MIN_FONT_PT,
    "figure.titlesize": MIN_FONT_PT + 3,
    "figure.dpi": 100,
    "savefig.dpi": 100,
}


def use_style() -> None:
    """Apply the course's figure style (``STYLE``); in a Jupyter kernel, store figures at 2x pixels."""
    matplotlib.rcParams.update(STYLE)
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is None:
        return
    # Every figure shown carries a text description (``describe_figure``) in its output's metadata, the
    # ``alt`` that the course's slides and site give its picture. Registered by the class's name: a kernel
    # that never draws never imports matplotlib.figure for it.
    shell.display_formatter.mimebundle_formatter.for_type_by_name("matplotlib.figure", "Figure", _described)
    if "matplotlib.pyplot" not in sys.modules:
        # pyplot not loaded yet (loading it takes most of a second, which a kernel that never draws, such
        # as the grader's, need not spend): the inline backend reads its formats when pyplot loads it.
        if "matplotlib_inline.config" in sys.modules:
            sys.modules["matplotlib_inline.config"].InlineBackend.instance(parent=shell).figure_formats = {"retina"}
        else:
            # importing matplotlib_inline loads its backend, and with it most of pyplot's cost (0.7 s of CPU):
            # leave the format in the shell's configuration, which the backend reads when it starts
            shell.config.InlineBackend.figure_formats = {"retina"}
    elif "inline" in matplotlib.get_backend():
        from matplotlib_inline.backend_inline import set_matplotlib_formats

        set_matplotlib_formats("retina")


_WEIGHT_LINES = "course_lib.plot.weight_lines"  # the gid of a weight_lines panel, which describe_figure reads
_NUMBER = re.compile(r"^[−+-]?[\d.,]+(e[−+-]?\d+)?\s*[%×x]?$|^\$\\mathdefault\{.*\}\$$")


def _quoted(texts: Sequence[str], most: int = 20) -> str:
    shown = [f"“{text}”" for text in texts[:most]]
    return ", ".join(shown) + (f" and {len(texts) - most} more" if len(texts) > most else "")


def _words(labels: Sequence[Any]) -> list[str]:
    """The texts of tick labels where they are words (tokens), not numbers; [] for a numeric axis."""
    texts = [label.get_text().strip() for label in labels]
    texts = [text for text in texts if text]
    return [] if not texts or all(_NUMBER.match(text) for text in texts) else texts


def _bar_labels(ax: Any, bars: Sequence[Any]) -> list[str]:
    """The tick label under each bar of ``bars`` (its x position's nearest tick), "" where there is none."""
    ticks = [(t.get_position()[0], t.get_text().strip()) for t in ax.get_xticklabels() if t.get_text().strip()]
    if not ticks:
        return ["" for _ in bars]
    return [min(ticks, key=lambda tick: abs(tick[0] - (bar.get_x() + bar.get_width() / 2)))[1] for bar in bars]


def _highlighted(ax: Any) -> str:
    """Bars drawn in the colour of a legend entry, where only some bars have it: "“entry”: “park”, “play”"."""
    from matplotlib.container import BarContainer
    from matplotlib.colors import to_hex

    containers = [c for c in ax.containers if isinstance(c, BarContainer)]
    legend = ax.get_legend()
    if len(containers) != 1 or legend is None:
        return ""
    bars = list(containers[0])
    colours = [to_hex(bar.get_facecolor()) for bar in bars]
    for handle, text in zip(legend.legend_handles, legend.get_texts()):
        try:
            colour = to_hex(handle.get_facecolor())
        except (AttributeError, ValueError):
            continue
        chosen = [label for label, c in zip(_bar_labels(ax, bars), colours) if c == colour and label]
        if chosen and colours.count(colour) < len(bars):
            return f"bars highlighted as “{text.get_text()}”: {_quoted(chosen)}"
    return ""


def _legend(legend: Any) -> str:
    title = legend.get_title().get_text().strip()
    return "legend" + (f" “{title}”:" if title else "") + " " + _quoted([t.get_text() for t in legend.get_texts()])


def _panel(ax: Any) -> dict:
    """Panel ``ax`` as parts to put into words: its kind, title and the rest (axes, legend, labels)."""
    from matplotlib.container import BarContainer

    texts = [t for t in ax.texts if t.get_visible() and t.get_text().strip()]
    words = [t for t in texts if not _NUMBER.match(t.get_text().strip())]  # numbers drawn on a panel are data
    arrows = (any(type(c).__name__ == "Quiver" for c in ax.collections)
              or any(type(p).__name__ in ("FancyArrow", "FancyArrowPatch") for p in ax.patches)
              or any(getattr(t, "arrow_patch", None) is not None for t in ax.texts))
    lines = [line for line in ax.lines if len(line.get_xdata()) > 0]
    bars = [c for c in ax.containers if isinstance(c, BarContainer)]
    kinds = []
    if ax.images or any(type(c).__name__ == "QuadMesh" for c in ax.collections):
        kinds.append("heatmap")
    if bars:
        kinds.append("grouped bar chart" if len(bars) > 1 else "bar chart")
    if [line for line in lines if len(line.get_xdata()) > 2]:
        kinds.append("line plot")
    if any(type(c).__name__ == "PathCollection" for c in ax.collections):
        kinds.append("scatter plot")
    if arrows:
        kinds.append("arrow diagram" if not kinds else "arrows")
    if not kinds and lines:
        kinds.append("lines")
    if not kinds and words and not ax.axison:
        kinds.append("text panel")
    parts = []
    if ax.get_gid() == _WEIGHT_LINES:  # a weight_lines panel: queries on the left, keys on the right
        side = {"right": [], "left": []}
        for t in words:
            side.get(t.get_horizontalalignment(), []).append(t.get_text().strip())
        kinds = ["weight-lines diagram"]
        parts.append(f"lines from the queries on the left, {_quoted(side['right'])}, to the keys on the right, "
                     f"{_quoted(side['left'])}; a heavier weight draws a thicker, darker line")
        words = []
    axes = []
    for name, axis, label, scale in (("x", ax.xaxis, ax.get_xlabel(), ax.get_xscale()),
                                     ("y", ax.yaxis, ax.get_ylabel(), ax.get_yscale())):
        ticks = _words(axis.get_ticklabels()) if ax.axison and ax.get_gid() != _WEIGHT_LINES else []
        log = " (log scale)" if scale == "log" and "log" not in label else ""
        if label or ticks or log:
            axes.append((name, (f" “{label}”" if label else "") + log, ticks))
    legend, highlighted = ax.get_legend(), _highlighted(ax)
    if legend is not None and not (highlighted and len(legend.get_texts()) == 1):
        parts.append(_legend(legend))
    if highlighted:
        parts.append(highlighted)
    if ax.images and words:  # words in a heatmap's cells; boxed cells named by their words
        boxed = []
        for box in (p for p in ax.patches if type(p).__name__ == "Rectangle"):
            x0, y0 = box.get_xy()
            x1, y1 = x0 + box.get_width(), y0 + box.get_height()
            boxed += [t.get_text().strip() for t in words
                      if min(x0, x1) <= t.get_position()[0] <= max(x0, x1)
                      and min(y0, y1) <= t.get_position()[1] <= max(y0, y1)]
        parts.append("a word in each cell" + (f", boxed: {_quoted(boxed)}" if boxed else ""))
    elif words:
        parts.append("labels " + _quoted([t.get_text().strip() for t in words]))
    return {"kind": " with ".join(kinds) if kinds else "panel", "title": ax.get_title(), "axes": axes, "parts": parts}


def _plural(kind: str) -> str:
    return " with ".join(part + "s" for part in kind.split(" with "))


def _said(panel: dict, number: int, seen: dict[tuple, tuple[int, str]]) -> str:
    """The details of panel ``number`` (no kind, no title), its tick words given once per figure: a later axis with
    the same words says whose they are."""
    said = []
    for name, label, ticks in panel["axes"]:
        text = f"{name} axis{label}"
        if ticks:
            key = tuple(ticks)
            if key not in seen:
                seen[key] = (number, name)
                text += ": " + _quoted(ticks)
            elif seen[key][0] == number:
                text += f": the words of its {seen[key][1]} axis"
            else:
                text += f": the words of panel {seen[key][0]}'s {seen[key][1]} axis"
        said.append(text)
    return ", ".join(said + panel["parts"])


def describe_figure(fig: Any, most: int = 1200) -> str:
    """A figure in words, for readers who do not see it: its title and legend, and each panel's kind (heatmap,
    bar chart, line plot, arrow diagram, …), title, axis labels and scales, the words on its ticks (tokens), its
    legend, the bars it highlights, the words drawn on it, and the colour bars. What the figure is of, not what
    it shows: the prose around it says that, so numbers drawn on a panel are left out. Panels alike but for
    their titles are said once. At most about ``most`` characters, whole panels cut first. Formulas stay in the
    figure's TeX (``$\\sqrt{d_k}$``). The course's kernels store it with every figure shown."""
    panels, colour_bars = [], []
    for ax in fig.axes:
        if not ax.get_visible():
            continue
        if ax.get_label() == "<colorbar>":
            colour_bars.append(ax.get_ylabel() or ax.get_xlabel())
        elif ax.axison or ax.has_data() or ax.texts:
            panels.append(_panel(ax))
    groups: list[list[dict]] = []  # runs of panels alike but for their titles
    for panel in panels:
        if groups and {**groups[-1][0], "title": ""} == {**panel, "title": ""}:
            groups[-1].append(panel)
        else:
            groups.append([panel])
    seen: dict[tuple, tuple[int, str]] = {}
    pieces, first = [], 1
    for group in groups:
        details = _said(group[0], first, seen)
        if len(group) == 1:
            title = f" “{group[0]['title']}”" if group[0]["title"] else ""
            head = (f"({first}) " if len(panels) > 1 else "") + group[0]["kind"] + title
        else:
            titles = [p["title"] for p in group if p["title"]]
            head = (f"({first}–{first + len(group) - 1}) {_plural(group[0]['kind'])}"
                    + (f" titled {_quoted(titles)}" if titles else "") + (", each with" if details else ""))
        pieces.append(head + (" " if len(group) > 1 else ", ") + details if details else head)
        first += len(group)
    title = fig.get_suptitle()
    text = "Figure" + (f" “{title}”" if title else "")
    legends = [_legend(legend) for legend in fig.legends]
    counts = {label: colour_bars.count(label) for label in colour_bars}  # in the order drawn
    tail = legends + [(f"{n} colour bars" if n > 1 else "colour bar") + (f" “{label}”" if label else "")
                      for label, n in counts.items()]
    if len(panels) == 1:
        body = [": " + pieces[0]]
    else:
        body = [f", {len(panels)} panels: " + pieces[0]] if pieces else []
        body += ["; " + piece for piece in pieces[1:]]
    ending = ("; " + ", ".join(tail) if tail else "") + "."
    kept = [text]
    for number, piece in enumerate(body):
        left = len(body) - number
        cut = f"; and {left} more group{'s' if left > 1 else ''} of panels"
        room = len(ending) + (len(cut) if left > 1 else 0)  # what must still fit after this piece
        if number and len(re.sub(r"\s+", " ", "".join(kept + [piece]))) + room > most:
            kept.append(cut)
            break
        kept.append(piece)
    return re.sub(r"\s+", " ", "".join(kept) + ending).strip()


def _described(fig: Any) -> tuple[dict, dict] | None:
    """The display formatter's part of a figure's output: no data, its description as metadata ``alt``.
    A figure this cannot describe shows without one: IPython would print the error in the learner's output."""
    try:
        return {}, {"alt": describe_figure(fig)}
    except Exception:  # a figure built in a way describe_figure does not know
        return None


def _axes(ax: Any, figsize: tuple[float, float]) -> Any:
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=figsize)
    return ax


def _tilt_x_labels(ax: Any) -> None:
    matplotlib.artist.setp(ax.get_xticklabels(), rotation=45, ha="right", rotation_mode="anchor")


def _matrix(values: Any, arg: str) -> numpy.ndarray:
    values = numpy.asarray(to_numpy(values), dtype=float)
    if values.ndim != 2:
        raise ValueError(f"{arg} must be a 2-D array to draw, but {arg}.shape={values.shape}")
    return values


def _check_labels(labels: Sequence[str] | None, n: int, arg: str, axis: str) -> None:
    if labels is not None and len(labels) != n:
        raise ValueError(f"{arg} has {len(labels)} labels but the array has {n} {axis}")


def _text_colour(image: Any, value: float) -> str:
    """Black on a light cell, white on a dark one, judged by the cell's own colour, so that the numbers
    stay readable on any colour map, a diverging one (light in the middle) included."""
    red, green, blue, _ = image.cmap(image.norm(value))
    return "black" if 0.299 * red + 0.587 * green + 0.114 * blue > 0.5 else "white"


def _numbers_fit(ax: Any, values: numpy.ndarray) -> bool:
    """Whether the ``values`` written as "0.25" fit in the cells of their heatmap on ``ax`` at the
    course's text size. Where it does not, the cells go without numbers (the colour
    bar gives the values) rather than with numbers that overlap or that a room cannot read."""
    finite = values[numpy.isfinite(values)]
    chars = max((len(f"{value:.2f}") for value in finite.ravel()), default=0)
    box = ax.get_position()
    width, height = ax.figure.get_size_inches()
    cell_width, cell_height = box.width * width / values.shape[1], box.height * height / values.shape[0]
    text = matplotlib.rcParams["font.size"] / 72  # inches
    return 0.6 * chars * text <= 0.95 * cell_width and 1.2 * text <= cell_height


def heatmap(
    values: Any,
    row_labels: Sequence[str] | None = None,
    col_labels: Sequence[str] | None = None,
    *,
    title: str = "",
    xlabel: str = "",
    ylabel: str = "",
    colorbar_label: str = "",
    ax: Any = None,
    cmap: str = CMAP,
    annotate: bool = True,
    vmin: float | None = None,
    vmax: float | None = None,
) -> Any:
    """Draw a matrix (rows x cols) as a heatmap with token labels, a colour bar and, if
    ``annotate``, each value written in its cell, where the numbers fit at the course's text size.
    Masked entries (NaN) are drawn blank.
    Raises ValueError if ``values`` is not 2-D or a label list has the wrong length.
    """
    values = _matrix(values, "values")
    _check_labels(row_labels, values.shape[0], "row_labels", "rows")
    _check_labels(col_labels, values.shape[1], "col_labels", "columns")
    ax = _axes(ax, (1.5 + 0.85 * values.shape[1], 1.0 + 0.55 * values.shape[0]))
    image = ax.imshow(values, cmap=cmap, vmin=vmin, vmax=vmax, aspect="auto")
    colorbar = ax.figure.colorbar(image, ax=ax)
    colorbar.set_label(colorbar_label)
    ax.set_xticks(range(values.shape[1]), col_labels if col_labels is not None else range(values.shape[1]))
    ax.set_yticks(range(values.shape[0]), row_labels if row_labels is not None else range(values.shape[0]))
    _tilt_x_labels(ax)
    if annotate and _numbers_fit(ax, values):
        for (i, j), value in numpy.ndenumerate(values):
            if numpy.isfinite(value):
                ax.text(j, i, f"{value:.2f}", ha="center", va="center", color=_text_colour(image, value))
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    return ax


def weight_lines(
    weights: Any,
    query_labels: Sequence[str],
    key_labels: Sequence[str],
    *,
    title: str = "",
    ax: Any = None,
    min_weight: float = 0.01,
) -> Any:
    """Draw queries (left) and keys (right) as two columns of tokens joined by lines whose
    thickness and colour show the attention weight (darker = heavier, with a colour bar);
    lines under ``min_weight`` are left out.
    Shapes: weights (T_q, T_k). Raises ValueError on a shape/label mismatch.
    """
    weights = _matrix(weights, "weights")
    _check_labels(query_labels, weights.shape[0], "query_labels", "rows")
    _check_labels(key_labels, weights.shape[1], "key_labels", "columns")
    ax = _axes(ax, (5.0, 0.45 * max(weights.shape) + 1.0))
    cmap = matplotlib.colormaps[CMAP + "_r"]  # reversed: heavy lines dark, light ones fade into the white page
    y_q = numpy.linspace(1, 0, weights.shape[0]) if weights.shape[0] > 1 else numpy.array([0.5])
    y_k = numpy.linspace(1, 0, weights.shape[1]) if weights.shape[1] > 1 else numpy.array([0.5])
    top = weights.max() if weights.size and weights.max() > 0 else 1.0
    norm = matplotlib.colors.Normalize(vmin=0.0, vmax=top)
    for (i, j), w in numpy.ndenumerate(weights):
        if w >= min_weight:
            ax.plot([0, 1], [y_q[i], y_k[j]], color=cmap(norm(w)), linewidth=0.5 + 6.0 * w / top, alpha=0.85)
    colorbar = ax.figure.colorbar(matplotlib.cm.ScalarMappable(norm=norm, cmap=cmap), ax=ax, fraction=0.05)
    colorbar.set_label("attention weight")
    ax.set_gid(_WEIGHT_LINES)  # so that describe_figure tells a reader which tokens sit on which side
    for y, label in zip(y_q, query_labels):
        ax.text(-0.05, y, label, ha="right", va="center")
    for y, label in zip(y_k, key_labels):
        ax.text(1.05, y, label, ha="left", va="center")
    ax.set_xlim(-0.5, 1.5)
    ax.set_ylim(-0.1, 1.1)
    ax.set_xticks([0, 1], ["queries", "keys"])
    ax.set_yticks([])
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    ax.set(title=title)
    return ax


def weight_bars(
    weights: Any,
    key_labels: Sequence[str],
    *,
    title: str = "",
    xlabel: str = "key",
    ylabel: str = "attention weight",
    ax: Any = None,
    highlight: Sequence[str] = (),
    highlight_label: str | None = "highlighted",
) -> Any:
    """Bar chart of one query's weights over the keys (a 1-D array of length T_k).
    Bars named in ``highlight`` are drawn in a second, contrasting colour, and a legend
    names that colour ``highlight_label`` (None: no legend).
    Raises ValueError if ``weights`` is not 1-D or the labels do not match.
    """
    weights = numpy.asarray(to_numpy(weights), dtype=float)
    if weights.ndim != 1:
        raise ValueError(f"weights must be 1-D (one query's weights), but weights.shape={weights.shape}")
    _check_labels(key_labels, weights.shape[0], "key_labels", "weights")
    ax = _axes(ax, (0.6 * len(key_labels) + 2.0, 3.0))
    cmap = matplotlib.colormaps[CMAP]
    colours = [cmap(0.8) if label in highlight else cmap(0.25) for label in key_labels]
    ax.bar(range(len(key_labels)), weights, color=colours)
    if highlight_label is not None and any(label in highlight for label in key_labels):
        patch = matplotlib.patches.Patch(color=cmap(0.8), label=highlight_label)
        ax.legend(handles=[patch], loc="best")
    ax.set_xticks(range(len(key_labels)), key_labels)
    _tilt_x_labels(ax)
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    return ax


use_style()
