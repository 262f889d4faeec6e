"""course_lib.plot: the returned Axes carry the right labels and data (no pixel tests)."""

from __future__ import annotations

import matplotlib
import matplotlib.patches

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy  # noqa: E402
import pytest  # noqa: E402

from course_lib import plot  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def tick_labels(axis):
    return [t.get_text() for t in axis.get_ticklabels()]


def test_heatmap_labels_and_data(xp_backend):
    values = numpy.array([[0.1, 0.9], [0.5, 0.5], [1.0, 0.0]])
    ax = plot.heatmap(xp_backend.asarray(values), ["a", "b", "c"], ["x", "y"], title="T", xlabel="key", ylabel="query",
                      colorbar_label="weight")
    assert tick_labels(ax.yaxis) == ["a", "b", "c"] and tick_labels(ax.xaxis) == ["x", "y"]
    assert ax.get_title() == "T" and ax.get_xlabel() == "key" and ax.get_ylabel() == "query"
    numpy.testing.assert_array_equal(ax.images[0].get_array(), values)
    assert ax.images[0].get_cmap().name == "viridis"
    assert ax.figure.axes[1].get_ylabel() == "weight"  # the colour bar
    assert [t.get_text() for t in ax.texts][:2] == ["0.10", "0.90"]


def test_heatmap_leaves_masked_cells_blank():
    ax = plot.heatmap(numpy.array([[1.0, numpy.nan]]), ["q"], ["k1", "k2"])
    assert [t.get_text() for t in ax.texts] == ["1.00"]


def test_heatmap_rejects_wrong_labels():
    with pytest.raises(ValueError, match=r"col_labels has 3 labels but the array has 2 columns"):
        plot.heatmap(numpy.ones((2, 2)), ["a", "b"], ["x", "y", "z"])
    with pytest.raises(ValueError, match=r"values must be a 2-D array to draw, but values.shape=\(3,\)"):
        plot.heatmap(numpy.ones(3))


def test_weight_lines_draw_one_line_per_weight_with_thickness():
    weights = numpy.array([[0.9, 0.1, 0.0], [0.5, 0.25, 0.25]])
    ax = plot.weight_lines(weights, ["q1", "q2"], ["k1", "k2", "k3"], title="lines")
    assert len(ax.lines) == 5  # the zero weight is left out
    widths = [line.get_linewidth() for line in ax.lines]
    assert widths[0] == max(widths)
    assert {t.get_text() for t in ax.texts} == {"q1", "q2", "k1", "k2", "k3"}
    assert ax.get_title() == "lines"


def test_weight_bars_heights_and_labels(xp_backend):
    weights = numpy.array([0.2, 0.5, 0.3])
    ax = plot.weight_bars(xp_backend.asarray(weights), ["a", "b", "c"], title="one query", highlight=["b"])
    numpy.testing.assert_allclose([p.get_height() for p in ax.patches], weights)
    assert tick_labels(ax.xaxis) == ["a", "b", "c"] and ax.get_ylabel() == "attention weight"
    assert ax.patches[1].get_facecolor() != ax.patches[0].get_facecolor()


def test_weight_bars_legend_names_the_highlight():
    ax = plot.weight_bars(numpy.array([0.2, 0.5, 0.3]), ["a", "b", "c"], highlight=["b"], highlight_label="the key b")
    legend = ax.get_legend()
    assert legend is not None and [t.get_text() for t in legend.get_texts()] == ["the key b"]
    assert legend.legend_handles[0].get_facecolor() == ax.patches[1].get_facecolor()
    default = plot.weight_bars(numpy.array([0.2, 0.8]), ["a", "b"], highlight=["a"])
    assert [t.get_text() for t in default.get_legend().get_texts()] == ["highlighted"]


def test_weight_bars_without_highlight_have_no_legend():
    assert plot.weight_bars(numpy.array([0.2, 0.8]), ["a", "b"]).get_legend() is None
    assert plot.weight_bars(numpy.array([0.2, 0.8]), ["a", "b"], highlight=["b"], highlight_label=None).get_legend() is None


def test_weight_bars_need_one_query():
    with pytest.raises(ValueError, match=r"weights must be 1-D"):
        plot.weight_bars(numpy.ones((2, 2)), ["a", "b"])


def test_weight_lines_explain_their_colour():
    ax = plot.weight_lines(numpy.array([[0.75, 0.25]]), ["q"], ["k1", "k2"])
    colorbar = ax.figure.axes[1]
    assert colorbar.get_ylabel() == "attention weight"
    heavy, light = (numpy.mean(line.get_color()[:3]) for line in ax.lines)
    assert heavy < light, "the heavier line is the darker one"


@pytest.mark.parametrize("cmap", ["viridis", "PuOr"])
def test_heatmap_numbers_are_dark_on_light_cells_and_light_on_dark_ones(cmap):
    values = numpy.array([[-1.0, 0.0, 1.0]])
    ax = plot.heatmap(values, cmap=cmap, vmin=-1.0, vmax=1.0)
    image = ax.images[0]
    for text, value in zip(ax.texts, values[0]):
        red, green, blue, _ = image.cmap(image.norm(value))
        light = 0.299 * red + 0.587 * green + 0.114 * blue > 0.5
        assert text.get_color() == ("black" if light else "white")
    if cmap == "PuOr":
        assert ax.texts[1].get_color() == "black"  # the light middle of a diverging map
    plt.close(ax.figure)


# --- in a Jupyter kernel: figures at twice their pixels, and no pyplot for a kernel that never draws ----------

RETINA_FIGURE = "fig, ax = plt.subplots(figsize=(3, 2))\n_ = ax.plot([1, 2])\nplt.show()"


@pytest.mark.parametrize("first", [
    "import sys\nfrom course_lib import exercises\n"
    "print(sorted(m for m in ('matplotlib.pyplot', 'matplotlib_inline') if m in sys.modules))\n"
    "import matplotlib.pyplot as plt",
    "import matplotlib.pyplot as plt\nfrom course_lib import exercises",
], ids=["course_lib-first", "pyplot-first"])
def test_a_kernel_stores_figures_at_twice_their_pixels(first):
    """Importing course_lib asks the inline backend for retina figures, whether pyplot is loaded before or
    after it; before pyplot it loads neither pyplot nor the inline backend (most of a second of CPU in every
    kernel the grader starts)."""
    import base64

    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(first),
                                               nbformat.v4.new_code_cell(RETINA_FIGURE)])
    NotebookClient(notebook, timeout=60, kernel_name="python3").execute()
    if first.startswith("import sys"):
        assert [o.get("text") for o in notebook.cells[0].outputs] == ["[]\n"], "course_lib loaded pyplot or its backend"
    (figure,) = [o for o in notebook.cells[1].outputs if "image/png" in o.get("data", {})]
    png = base64.b64decode(figure["data"]["image/png"])
    pixels = int.from_bytes(png[16:20], "big")  # the IHDR chunk's width
    assert figure["metadata"]["image/png"]["width"] * 2 == pixels


# --- describe_figure: the words a screen reader says for a figure (its alt on the slides and the site) ---


def test_a_heatmap_is_described_by_its_title_axes_words_and_colour_bar():
    ax = plot.heatmap(numpy.eye(3), ["a", "b", "c"], ["a", "b", "c"], title="Weights $\\sqrt{d_k}$", xlabel="key",
                      ylabel="query", colorbar_label="weight")
    assert plot.describe_figure(ax.figure) == (
        "Figure: heatmap “Weights $\\sqrt{d_k}$”, x axis “key”: “a”, “b”, “c”, y axis “query”: the words of its"
        " x axis; colour bar “weight”.")


def test_panels_alike_are_said_once_and_words_already_given_are_not_repeated():
    fig, axes = plt.subplots(1, 4)
    for ax, title in zip(axes[:2], ["first", "second"]):
        plot.heatmap(numpy.ones((2, 2)), ["p", "q"], ["x", "y"], ax=ax, title=title, colorbar_label="weight")
    plot.heatmap(numpy.ones((2, 2)), ["x", "y"], ["a", "b"], ax=axes[2], title="third")
    axes[3].plot([1, 2, 3], [1, 4, 9], label="squares")
    axes[3].set_yscale("log")
    axes[3].legend(title="curves")
    fig.suptitle("Four")
    text = plot.describe_figure(fig)
    assert text == ("Figure “Four”, 4 panels: (1–2) heatmaps titled “first”, “second”, each with x axis: “x”, “y”, "
                    "y axis: “p”, “q”; (3) heatmap “third”, x axis: “a”, “b”, y axis: the words of panel 1's x axis; "
                    "(4) line plot, y axis (log scale), legend “curves”: “squares”; 2 colour bars “weight”, colour bar."
                    ), text


def test_a_bar_chart_names_its_highlighted_bars_and_leaves_numbers_drawn_on_it_out():
    ax = plot.weight_bars(numpy.array([0.25, 0.75]), ["park", "play"], highlight=["play"], highlight_label="the verb")
    ax.text(1, 0.8, "0.75")
    assert plot.describe_figure(ax.figure) == (
        "Figure: bar chart, x axis “key”: “park”, “play”, y axis “attention weight”, bars highlighted as “the verb”: "
        "“play”.")


def test_a_weight_lines_diagram_says_which_tokens_sit_on_which_side():
    ax = plot.weight_lines(numpy.array([[0.5, 0.5]]), ["q"], ["k0", "k1"], title="lines")
    assert plot.describe_figure(ax.figure) == (
        "Figure: weight-lines diagram “lines”, lines from the queries on the left, “q”, to the keys on the right, "
        "“k0”, “k1”; a heavier weight draws a thicker, darker line; colour bar “attention weight”.")


def test_words_in_a_heatmaps_cells_and_its_boxed_cells_arrows_and_a_figure_legend():
    fig, (left, right) = plt.subplots(1, 2)
    plot.heatmap(numpy.ones((2, 2)), annotate=False, ax=left)
    for (i, j), word in numpy.ndenumerate(numpy.array([["a", "b"], ["c", "d"]])):
        left.text(j, i, word)
    left.add_patch(matplotlib.patches.Rectangle((0.5, 0.5), 1, 1, fill=False))
    right.annotate("", xy=(1, 1), xytext=(0, 0), arrowprops={"arrowstyle": "->"})
    right.plot([], [], label="stand-in")  # a legend's stand-in draws nothing
    fig.legend(*right.get_legend_handles_labels())
    text = plot.describe_figure(fig)
    assert "(1) heatmap, a word in each cell, boxed: “d”; (2) arrow diagram; legend “stand-in”" in text, text


def test_a_long_description_drops_whole_panels_and_says_so():
    fig, axes = plt.subplots(1, 6)
    for n, ax in enumerate(axes):
        plot.heatmap(numpy.ones((30, 1)), [f"token {i}" for i in range(30)], [str(n)], ax=ax, annotate=False)
        ax.set_xlabel(f"axis {n}")
    text = plot.describe_figure(fig, most=400)
    assert len(text) <= 400 and "more groups of panels" in text and "and 10 more" in text, text


def test_the_kernels_display_of_a_figure_carries_its_description_as_alt():
    """What use_style registers with IPython's display formatter: no data of its own, the description as metadata."""
    ax = plot.weight_bars(numpy.array([1.0]), ["park"])
    assert plot._described(ax.figure) == ({}, {"alt": plot.describe_figure(ax.figure)})


def test_a_figure_that_cannot_be_described_still_shows(monkeypatch):
    monkeypatch.setattr(plot, "describe_figure", lambda fig: 1 / 0)
    assert plot._described(plt.figure()) is None  # IPython then shows the figure with no alt
