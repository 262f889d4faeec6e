"""course_lib.widgets: a slider that redraws a figure in place, and a text form for static outputs."""

from __future__ import annotations

import sys

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from course_lib import widgets  # noqa: E402

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


class Handle:
    """Stands in for IPython's DisplayHandle: records what the display is updated with."""

    def __init__(self):
        self.updates = []

    def update(self, obj, **kwargs):
        self.updates.append((obj, kwargs))


class Shown(list):
    """The display() calls, as (object, display_id), and the handles given out, in ``handles``."""

    handles: list[Handle]


@pytest.fixture
def shown(monkeypatch):
    """Every display() call of course_lib.widgets; a call with a display id gets a Handle."""
    calls = Shown()
    calls.handles = []

    def display(obj, display_id=None):
        calls.append((obj, display_id))
        if display_id:
            calls.handles.append(Handle())
            return calls.handles[-1]
        return None

    monkeypatch.setattr(widgets, "display", display)
    yield calls
    plt.close("all")


class Recorder:
    """A draw function that records its calls and draws the value as a title."""

    def __init__(self):
        self.calls = []

    def __call__(self, d_k):
        self.calls.append(d_k)
        fig, ax = plt.subplots()
        ax.set_title(f"d_k = {d_k}")
        return fig


def controls_and_figure(shown):
    (controls, no_id), (figure, display_id) = shown
    assert no_id is None and display_id is True
    return controls, figure


# --- what it shows -------------------------------------------------------------------------


def test_draws_the_default_figure_once_below_the_controls(shown):
    draw = Recorder()
    widgets.slider(draw, d_k=(1, 512, 64))
    controls, figure = controls_and_figure(shown)
    assert draw.calls == [64]
    assert isinstance(controls, widgets.SliderControls)
    assert figure.axes[0].get_title() == "d_k = 64"
    assert not plt.get_fignums(), "the figure is closed, so that the inline backend does not show it twice"


def test_moving_the_slider_redraws_into_the_same_display(shown):
    draw = Recorder()
    widgets.slider(draw, d_k=(1, 512, 64))
    controls, _ = controls_and_figure(shown)
    controls.widget.value = 256
    controls.widget.value = 2
    assert draw.calls == [64, 256, 2]
    (handle,) = shown.handles
    handle_updates = [obj.axes[0].get_title() for obj, _ in handle.updates]
    assert handle_updates == ["d_k = 256", "d_k = 2"]
    assert len(shown) == 2, "no new output: the same display is updated"
    assert controls.value == 2 and "now 2 " in controls.text()
    assert not plt.get_fignums()


def test_an_axes_is_accepted_for_its_figure(shown):
    widgets.slider(lambda tau: plt.subplots()[1], tau=(0.1, 5.0, 1.0))
    _, figure = controls_and_figure(shown)
    assert isinstance(figure, matplotlib.figure.Figure)


def test_text_form_says_range_value_and_how_to_drag(shown):
    widgets.slider(Recorder(), d_k=(1, 512, 64))
    controls, _ = controls_and_figure(shown)
    assert controls.text() == "Slider d_k: 1 to 512, now 64 — run the notebook to drag it"
    assert repr(controls) == controls.text()
    assert controls._repr_mimebundle_()["text/plain"] == controls.text()


def test_text_form_of_floats_and_choices(shown):
    widgets.slider(lambda temperature: plt.figure(), temperature=(0.1, 5.0, 1.0, 0.05))
    widgets.slider(lambda query: plt.figure(), query=([("I", 0), ("to", 2), ("to", 4), ("play", 8)], 8))
    widgets.slider(lambda tau: plt.figure(), tau=[0.01, 0.1, 1, 10])
    texts = [obj.text() for obj, display_id in shown if display_id is None]
    assert texts == [
        "Slider temperature: 0.1 to 5, now 1 — run the notebook to drag it",
        "Slider query: I, to, to, play; now play — run the notebook to drag it",
        "Slider tau: 0.01, 0.1, 1, 10; now 0.01 — run the notebook to drag it",
    ]


def test_a_long_list_of_choices_is_shortened_in_the_text(shown):
    widgets.slider(lambda n: plt.figure(), n=(list(range(100)), 50))
    controls, _ = controls_and_figure(shown)
    assert controls.text() == "Slider n: 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, …, 99; now 50 — run the notebook to drag it"


def test_choices_pass_their_value_and_show_their_label(shown):
    calls = []
    widgets.slider(lambda query: calls.append(query) or plt.figure(), query=([("I", 0), ("to", 2), ("to", 4)], 2))
    controls, _ = controls_and_figure(shown)
    assert controls.widget.label == "to" and controls.widget.value == 2
    controls.widget.value = 4
    assert calls == [2, 4] and controls.widget.label == "to"


def test_widget_kind_and_settings_follow_the_spec(shown):
    import ipywidgets

    widgets.slider(Recorder(), d_k=(1, 512, 64))
    widgets.slider(lambda tau: plt.figure(), tau=(0.1, 5.0, 1.0, 0.05))
    widgets.slider(lambda tau: plt.figure(), tau=[0.5, 1.0])
    made = [obj.widget for obj, display_id in shown if display_id is None]
    assert [type(w) for w in made] == [ipywidgets.IntSlider, ipywidgets.FloatSlider, ipywidgets.SelectionSlider]
    assert (made[0].min, made[0].max, made[0].value, made[0].step, made[0].description) == (1, 512, 64, 1, "d_k")
    assert (made[1].min, made[1].max, made[1].value, made[1].step) == (0.1, 5.0, 1.0, 0.05)
    assert made[2].value == 0.5


# --- the mimebundle: widget view for JupyterLab, text for everything else -----------------------


def test_mimebundle_has_the_widget_view_and_text(shown):
    widgets.slider(Recorder(), d_k=(1, 512, 64))
    controls, _ = controls_and_figure(shown)
    bundle = controls._repr_mimebundle_()
    assert set(bundle) == {WIDGET_VIEW, "text/plain"}
    assert bundle[WIDGET_VIEW]["model_id"] == controls.widget.model_id


def test_mimebundle_is_the_same_on_every_run_but_the_model_id(shown):
    widgets.slider(Recorder(), d_k=(1, 512, 64))
    widgets.slider(Recorder(), d_k=(1, 512, 64))
    first, second = (obj._repr_mimebundle_() for obj, display_id in shown if display_id is None)
    assert first[WIDGET_VIEW]["model_id"] != second[WIDGET_VIEW]["model_id"]
    for bundle in (first, second):
        bundle[WIDGET_VIEW].pop("model_id")
    assert first == second


# --- without ipywidgets ----------------------------------------------------------------------


def test_without_ipywidgets_the_default_figure_is_still_drawn(shown, monkeypatch):
    monkeypatch.setitem(sys.modules, "ipywidgets", None)  # `import ipywidgets` now raises ImportError
    draw = Recorder()
    widgets.slider(draw, d_k=(1, 512, 64))
    controls, figure = controls_and_figure(shown)
    assert draw.calls == [64] and figure.axes[0].get_title() == "d_k = 64"
    assert controls.widget is None and controls.value == 64
    assert controls._repr_mimebundle_() == {"text/plain": "Slider d_k: 1 to 512, now 64 — install ipywidgets to drag it"}


def test_outside_ipython_it_prints_and_does_not_crash(capsys):
    widgets.slider(Recorder(), d_k=(1, 512, 64))  # the real IPython display(): prints without a shell
    out = capsys.readouterr().out
    assert "Slider d_k: 1 to 512, now 64" in out and "Figure" in out
    plt.close("all")


def test_a_failing_redraw_is_shown_in_place_of_the_figure(shown):
    def draw(d_k):
        if d_k > 100:
            raise ValueError("too long")
        return plt.figure()

    widgets.slider(draw, d_k=(1, 512, 64))
    controls, _ = controls_and_figure(shown)
    controls.widget.value = 200
    ((obj, kwargs),) = shown.handles[-1].updates
    assert kwargs == {"raw": True}
    assert obj == {"text/plain": "draw(d_k=200) failed: ValueError: too long"}


# --- bad input: clear errors naming the argument, before anything is drawn ----------------------


@pytest.mark.parametrize(
    ("control", "error", "says"),
    [
        ({}, TypeError, "exactly one slider, as name=spec (e.g. d_k=(1, 512, 64)), but got none"),
        ({"d_k": (1, 8, 2), "tau": (0.1, 1.0, 0.5)}, TypeError, "but got d_k, tau"),
        ({"d_k": 64}, TypeError, "d_k=64 is not a slider spec"),
        ({"d_k": (1, 512)}, TypeError, "d_k=(1, 512) is not a slider spec"),
        ({"d_k": (1, "512", 64)}, TypeError, "d_k=(1, '512', 64): min, max, value and step must be numbers"),
        ({"d_k": (1, True, 1)}, TypeError, "must be numbers"),
        ({"d_k": (1, float("inf"), 64)}, ValueError, "must be finite"),
        ({"d_k": (512, 1, 64)}, ValueError, "d_k=(512, 1, 64): min must be below max"),
        ({"d_k": (1, 512, 600)}, ValueError, "d_k=(1, 512, 600): the start value 600 is outside the range 1 to 512"),
        ({"d_k": (1, 512, 64, 0)}, ValueError, "the step must be positive"),
        ({"d_k": (1, 512, 64, 1000)}, ValueError, "at most max - min"),
        ({"d_k": []}, ValueError, "d_k=[]: the list of choices is empty"),
        ({"d_k": ([1, 2, 4], 3)}, ValueError, "the start value 3 is not one of the choices [1, 2, 4]"),
        ({"d_k": [1, 2, 2]}, ValueError, "two choices have the same value"),
    ],
)
def test_bad_spec_is_refused_with_its_name(shown, control, error, says):
    draw = Recorder()
    with pytest.raises(error) as info:
        widgets.slider(draw, **control)
    assert says in str(info.value)
    assert draw.calls == [] and shown == []


def test_draw_must_be_callable(shown):
    with pytest.raises(TypeError, match=r"draw must be a function that returns a matplotlib Figure, but draw=64"):
        widgets.slider(64, d_k=(1, 512, 64))


def test_draw_must_take_the_slider_argument(shown):
    with pytest.raises(TypeError, match=r"draw cannot be called as draw\(dk=64\)"):
        widgets.slider(Recorder(), dk=(1, 512, 64))
    assert shown == []


def test_draw_must_return_a_figure(shown):
    def draw(d_k):
        plt.figure()
        plt.show()

    with pytest.raises(TypeError, match=r"draw\(d_k=64\) returned NoneType; it must return the matplotlib Figure"):
        widgets.slider(draw, d_k=(1, 512, 64))
    assert shown == [], "nothing is shown when draw fails"


# --- progress ------------------------------------------------------------------------------


def test_progress_shows_a_bar_that_updates_and_a_fixed_text(shown):
    bar = widgets.progress(300, "training")
    ((shown_bar, display_id),) = shown
    assert shown_bar is bar and display_id is None
    text = "Progress bar: training, 300 steps — run the notebook to watch it"
    assert bar.text() == text and repr(bar) == text
    bar.update(150, "loss 0.52")
    live_bar, label = bar.widget.children
    assert (live_bar.value, live_bar.max, label.value) == (150, 300, "150/300  loss 0.52")
    assert bar._repr_mimebundle_()["text/plain"] == text, "the stored text does not follow the loop"
    assert WIDGET_VIEW in bar._repr_mimebundle_()
    bar.update(999)
    assert bar.step == 300 and live_bar.value == 300


def test_progress_moves_the_live_bar_ten_times_a_second_and_always_at_the_end(shown, monkeypatch):
    clock = [100.0]
    monkeypatch.setattr(widgets.time, "monotonic", lambda: clock[0])
    bar = widgets.progress(1000, "training")
    live_bar, label = bar.widget.children
    moves = []
    live_bar.observe(lambda change: moves.append(change["new"]), names="value")
    for step in range(1, 1000):
        bar.update(step, f"loss {1 / step:.3f}")
        clock[0] += 0.001  # a fast loop: 1 ms a step
    assert bar.step == 999 and bar.status == "loss 0.001", "the bar's state follows every step"
    assert moves == list(range(1, 1000, 100)), "once, then every 0.1 s"
    bar.update(1000, "loss 0.001")
    assert moves[-1] == 1000 and label.value == "1000/1000  loss 0.001", "the last step always shows"


def test_progress_without_ipywidgets_shows_its_text(shown, monkeypatch):
    monkeypatch.setitem(sys.modules, "ipywidgets", None)
    bar = widgets.progress(5, "training")
    bar.update(3, "loss 1.0")
    assert bar.widget is None and bar.step == 3
    assert bar._repr_mimebundle_() == {"text/plain": "Progress bar: training, 5 steps — install ipywidgets to watch it"}


def test_progress_names_what_it_counts(shown):
    bar = widgets.progress(10, "5 seeds × (scaled, unscaled)", unit="training runs")
    assert bar.text() == "Progress bar: 5 seeds × (scaled, unscaled), 10 training runs — run the notebook to watch it"


@pytest.mark.parametrize("total", [0, -3, 2.5, True, "10"])
def test_progress_needs_a_whole_number_of_steps(shown, total):
    with pytest.raises(ValueError, match="total must be a whole number of steps >= 1"):
        widgets.progress(total, "training")
