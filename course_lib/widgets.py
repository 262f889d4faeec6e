"""Live sliders and progress bars for notebooks that are also read without a kernel.

Sliders: drag one number and the figure above the cell's output redraws in place.

``widgets.slider(draw_saturation, d_k=(1, 512, 64))`` shows a slider for ``d_k`` and the figure
``draw_saturation(d_k=64)``; moving the slider calls ``draw_saturation`` again with the new value
and replaces the figure where it stands.

Made for notebooks that are also read without a kernel (static HTML, slides, nbval): the figure
for the starting value is an ordinary PNG output, and the slider's text form says what it is
("Slider d_k: 1 to 512, now 64 — run the notebook to drag it"). Without ipywidgets the figure is
still drawn. Used in notebooks 04, 05, 07 and 08.

Progress: ``bar = widgets.progress(300, "training")`` shows a progress bar and a line of text that
``bar.update(step, "loss 0.52")`` moves along while a loop runs (notebook 12). Its stored text form
does not change while the loop runs ("Progress bar: training, 300 steps — run the notebook to watch
it"), so the stored output is the same on every run; print the result after the loop.
"""

from __future__ import annotations

import inspect
import math
import numbers
import time
from typing import Any, Callable

import matplotlib.figure
import matplotlib.pyplot as plt
from IPython.display import display

__all__ = ["slider", "SliderControls", "progress", "Progress"]

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
SHOWN_CHOICES = 12  # a longer list of choices is shortened with "…" in the text form
_FIRST = object()  # a list of choices given alone starts at its first choice


class _LiveOrText:
    """Displays as its ipywidgets ``widget`` in a kernel and as ``text()`` everywhere else (a static
    notebook, nbval, slides): the widget view and the text go out together in one output."""

    widget: Any

    def text(self) -> str:
        raise NotImplementedError

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        bundle: dict[str, Any] = {"text/plain": self.text()}
        if self.widget is not None:
            view = (self.widget._repr_mimebundle_() or {}).get(WIDGET_VIEW)
            if view is not None:
                bundle[WIDGET_VIEW] = view
        return bundle

    def __repr__(self) -> str:
        return self.text()


class SliderControls(_LiveOrText):
    """What ``slider`` displays above the figure: the live ipywidgets slider in a kernel
    (``widget``, None without ipywidgets) and a plain-text description everywhere else."""

    def __init__(self, name: str, spec: dict[str, Any], widget: Any) -> None:
        self.name, self.spec, self.widget = name, spec, widget

    @property
    def value(self) -> Any:
        """The value the slider stands at now."""
        return self.spec["value"] if self.widget is None else self.widget.value

    def text(self) -> str:
        """One line for a reader without a kernel: the range, the value now, how to get the slider."""
        how = "run the notebook to drag it" if self.widget is not None else "install ipywidgets to drag it"
        if self.spec["kind"] == "choices":
            labels = [label for label, _ in self.spec["choices"]]
            if len(labels) > SHOWN_CHOICES:
                labels = labels[: SHOWN_CHOICES - 2] + ["…", labels[-1]]
            now = next(label for label, value in self.spec["choices"] if value == self.value)
            return f"Slider {self.name}: {', '.join(labels)}; now {now} — {how}"
        low, high = _number(self.spec["min"]), _number(self.spec["max"])
        return f"Slider {self.name}: {low} to {high}, now {_number(self.value)} — {how}"


def slider(draw: Callable[..., Any], /, **control: Any) -> None:
    """Show a slider for one argument of ``draw`` above the figure ``draw`` returns; moving it redraws.

    ``control`` is exactly one keyword: the name of ``draw``'s argument, set to
      - ``(min, max, value)`` or ``(min, max, value, step)``: a number slider starting at ``value``
        (not interact's ``(min, max, step)``). All whole numbers: a whole-number slider, step 1;
        any float: step ``(max - min) / 100`` unless given;
      - ``[choice, ...]``: a slider over these values, starting at the first; a choice may be a
        ``(label, value)`` pair, to show a label (e.g. a token) and pass a value (e.g. its position);
      - ``([choice, ...], value)``: the same, starting at ``value``.
    ``draw(name=value)`` must return the matplotlib Figure it drew (or an Axes on it), not call
    ``plt.show()``. The figure is displayed as a PNG with a display id and closed (so the cell does not
    show it twice); each move of the slider draws a new one into the same place.
    Example: ``slider(draw_weights, temperature=(0.1, 5.0, 1.0, 0.05))``.
    Raises TypeError if ``draw`` is not callable, cannot take the argument, or returns no Figure, or if
    ``control`` is not one keyword with a spec of the kinds above; ValueError if the numbers of the spec
    do not make a slider (min not below max, value outside the range, a step that is not positive, a
    start value that is not a choice). Returns None (what it shows is its output). Used in notebooks
    04 (d_k), 05 and 08 (the temperature) and 07 (the query token).
    """
    if not callable(draw):
        raise TypeError(f"draw must be a function that returns a matplotlib Figure, but draw={draw!r}")
    if len(control) != 1:
        got = ", ".join(control) if control else "none"
        raise TypeError(f"slider() takes exactly one slider, as name=spec (e.g. d_k=(1, 512, 64)), but got {got}")
    ((name, raw),) = control.items()
    spec = _parse_spec(name, raw)
    _check_signature(draw, name, spec["value"])
    figure = _figure(draw, name, spec["value"])  # first: if draw fails, nothing is shown
    controls = SliderControls(name, spec, _make_widget(name, spec))
    display(controls)
    handle = display(figure, display_id=True)
    if controls.widget is not None:
        controls.widget.observe(lambda change: _redraw(draw, name, change["new"], handle), names="value")


def _number(x: Any) -> str:
    return str(int(x)) if isinstance(x, numbers.Integral) else f"{float(x):g}"


def _is_number(x: Any) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, bool)


def _parse_spec(name: str, raw: Any) -> dict[str, Any]:
    """Check a slider spec and return it as a dict: kind "int", "float" or "choices", with its value."""
    if isinstance(raw, list):
        return _parse_choices(name, raw, _FIRST, raw)
    if isinstance(raw, tuple) and len(raw) == 2 and isinstance(raw[0], list):
        return _parse_choices(name, raw[0], raw[1], raw)
    if not isinstance(raw, tuple) or len(raw) not in (3, 4):
        raise TypeError(
            f"{name}={raw!r} is not a slider spec: give (min, max, value), (min, max, value, step), "
            f"a list of choices, or (list of choices, value)"
        )
    if not all(_is_number(x) for x in raw):
        raise TypeError(f"{name}={raw!r}: min, max, value and step must be numbers")
    if not all(math.isfinite(x) for x in raw):
        raise ValueError(f"{name}={raw!r}: min, max, value and step must be finite")
    low, high, value = raw[:3]
    kind = "int" if all(isinstance(x, numbers.Integral) for x in raw) else "float"
    step = raw[3] if len(raw) == 4 else (1 if kind == "int" else (high - low) / 100)
    if not low < high:
        raise ValueError(f"{name}={raw!r}: min must be below max, but min={low!r} and max={high!r}")
    if not low <= value <= high:
        raise ValueError(f"{name}={raw!r}: the start value {value!r} is outside the range {low!r} to {high!r}")
    if not 0 < step <= high - low:
        raise ValueError(f"{name}={raw!r}: the step must be positive and at most max - min, but step={step!r}")
    return {"kind": kind, "min": low, "max": high, "value": value, "step": step}


def _parse_choices(name: str, choices: list, value: Any, raw: Any) -> dict[str, Any]:
    if not choices:
        raise ValueError(f"{name}={raw!r}: the list of choices is empty")
    pairs = [c if isinstance(c, tuple) and len(c) == 2 and isinstance(c[0], str) else (_label(c), c) for c in choices]
    values = [v for _, v in pairs]
    if any(values.count(v) > 1 for v in values):
        raise ValueError(f"{name}={raw!r}: two choices have the same value; give each its own")
    if value is _FIRST:
        value = values[0]
    elif value not in values:
        raise ValueError(f"{name}={raw!r}: the start value {value!r} is not one of the choices {values!r}")
    return {"kind": "choices", "choices": pairs, "value": value}


def _label(choice: Any) -> str:
    return _number(choice) if _is_number(choice) else str(choice)


def _check_signature(draw: Callable[..., Any], name: str, value: Any) -> None:
    try:
        signature = inspect.signature(draw)
    except (TypeError, ValueError):  # a builtin without a signature: the call itself will tell
        return
    try:
        signature.bind(**{name: value})
    except TypeError as err:
        raise TypeError(f"draw cannot be called as draw({name}={value!r}): {err}") from None


def _make_widget(name: str, spec: dict[str, Any]) -> Any:
    """The ipywidgets slider for ``spec``, or None where ipywidgets is not installed."""
    try:
        import ipywidgets
    except ImportError:
        return None
    common = {"description": name, "continuous_update": True, "style": {"description_width": "initial"},
              "layout": ipywidgets.Layout(width="36em")}
    if spec["kind"] == "choices":
        return ipywidgets.SelectionSlider(options=spec["choices"], value=spec["value"], **common)
    bounds = {"min": spec["min"], "max": spec["max"], "value": spec["value"], "step": spec["step"]}
    if spec["kind"] == "int":
        return ipywidgets.IntSlider(**bounds, **common)
    digits = max(2, math.ceil(-math.log10(spec["step"])))  # the readout shows every step apart
    return ipywidgets.FloatSlider(**bounds, readout_format=f".{digits}f", **common)


def _figure(draw: Callable[..., Any], name: str, value: Any) -> matplotlib.figure.Figure:
    """Call draw(name=value) and return its Figure, closed so that pyplot does not show it again."""
    drawn = draw(**{name: value})
    figure = drawn if isinstance(drawn, matplotlib.figure.Figure) else getattr(drawn, "figure", None)
    if not isinstance(figure, matplotlib.figure.Figure):
        raise TypeError(
            f"draw({name}={value!r}) returned {type(drawn).__name__}; it must return the matplotlib Figure "
            f"(or an Axes) it drew, instead of calling plt.show()"
        )
    plt.close(figure)
    return figure


def _redraw(draw: Callable[..., Any], name: str, value: Any, handle: Any) -> None:
    """Draw the figure for a new slider value into the same output (an error is shown there too)."""
    try:
        shown: Any = _figure(draw, name, value)
    except Exception as err:  # shown in place of the figure: in a live kernel nothing else would show it
        shown = {"text/plain": f"draw({name}={value!r}) failed: {type(err).__name__}: {err}"}
        if handle is not None:
            handle.update(shown, raw=True)
            return
    if handle is None:  # outside IPython display() prints and returns no handle
        display(shown)
    else:
        handle.update(shown)


# ---------------------------------------------------------------- progress


REDRAW_S = 0.1  # the live progress bar moves ten times a second at most


class Progress(_LiveOrText):
    """What ``progress`` displays: the live ipywidgets bar and label in a kernel (``widget``, None without
    ipywidgets) and a plain-text description everywhere else. ``update`` moves the live bar only."""

    def __init__(self, total: int, label: str, widget: Any, unit: str = "steps") -> None:
        self.total, self.label, self.widget, self.unit = total, label, widget, unit
        self.step, self.status = 0, ""
        self._shown_at = -math.inf  # time.monotonic() when the live bar last moved

    def update(self, step: int, status: str = "") -> None:
        """Show that ``step`` of the ``total`` steps are done, with ``status`` (e.g. the loss) beside the bar.

        The live bar moves at most every ``REDRAW_S`` seconds, and always at the last step: each move is
        two messages from the kernel to the browser, and at every step of a fast loop they cost more than
        a bar a few hundred pixels wide can show (3000 messages, some 2 s of CPU, for 1500 steps).
        """
        self.step, self.status = min(max(int(step), 0), self.total), str(status)
        now = time.monotonic()
        if self.widget is None or (self.step < self.total and now - self._shown_at < REDRAW_S):
            return
        self._shown_at = now
        bar, text = self.widget.children
        bar.value = self.step
        text.value = f"{self.step}/{self.total}  {self.status}"

    def text(self) -> str:
        """One line for a reader without a kernel; it is fixed when shown, whatever the loop does later."""
        how = "run the notebook to watch it" if self.widget is not None else "install ipywidgets to watch it"
        return f"Progress bar: {self.label}, {self.total} {self.unit} — {how}"


def progress(total: int, label: str, *, unit: str = "steps") -> Progress:
    """Show a progress bar for a loop of ``total`` steps and return it; call ``.update(step, status)`` in the loop.

    In JupyterLab the bar and the status beside it move while the cell runs. Static outputs (nbval, the
    site, slides) keep only the text form, "Progress bar: LABEL, TOTAL UNIT — run the notebook to watch
    it" (``unit`` names what the loop counts: "steps", or "training runs" for a loop over runs), which
    does not depend on the run: print the results after the loop. Raises ValueError unless ``total`` is
    a whole number >= 1. Used in notebooks 12 and 14.
    """
    if isinstance(total, bool) or not isinstance(total, numbers.Integral) or total < 1:
        raise ValueError(f"total must be a whole number of steps >= 1, but total={total!r}")
    bar = Progress(int(total), str(label), _make_progress_widget(str(label), int(total)), str(unit))
    display(bar)
    return bar


def _make_progress_widget(label: str, total: int) -> Any:
    """An ipywidgets bar with a status label beside it, or None where ipywidgets is not installed."""
    try:
        import ipywidgets
    except ImportError:
        return None
    bar = ipywidgets.IntProgress(value=0, min=0, max=total, description=label,
                                 style={"description_width": "initial"}, layout=ipywidgets.Layout(width="28em"))
    return ipywidgets.HBox([bar, ipywidgets.Label(value=f"0/{total}")])
