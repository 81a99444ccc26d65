"""How a Spectrum or RXESMap shows itself in Jupyter: a small picture and a summary table.

Drawn with the same figures as the viewer and ``xestools plot`` (:func:`xestools.figures.plot`),
small and at screen resolution so that showing an object stays cheap. A display hook must never
raise: a failure is logged with its traceback and the notebook falls back to the plain repr.
"""
from __future__ import annotations

import base64
import html as _html
import io
import logging
import os
import weakref

import numpy as np

from xestools.model import RXESMap, Spectrum

log = logging.getLogger("xestools.display")

#: size (inches) and resolution of the picture shown in a notebook
THUMBNAIL_SIZE = {"rxes": (6.0, 4.4), "xes": (5.6, 3.6)}
THUMBNAIL_DPI = 60
_PICTURES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _picture(obj) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from xestools.figures import plot

    figure = plot(obj, figsize=THUMBNAIL_SIZE["rxes" if isinstance(obj, RXESMap) else "xes"])
    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=THUMBNAIL_DPI)
    figure.clear()
    return buffer.getvalue()


def png(obj) -> bytes | None:
    """PNG bytes of a small figure of ``obj``, or None when it cannot be drawn (logged).

    Objects are immutable, so the picture is drawn once per object (Jupyter asks for it twice: as PNG and
    inside the HTML) and forgotten with the object.
    """
    try:
        picture = _PICTURES.get(obj)
        if picture is None:
            picture = _PICTURES[obj] = _picture(obj)
        return picture
    except Exception:  # a display hook must not raise in the user's notebook; the traceback goes to the log
        log.exception("cannot draw %s for the notebook", type(obj).__name__)
        return None


def _range(values, unit: str = "eV") -> str:
    finite = np.asarray(values, dtype=float)
    finite = finite[np.isfinite(finite)]
    if finite.size == 0:
        return "—"
    return f"{finite.min():.6g} – {finite.max():.6g} {unit}".strip()


def summary_rows(obj) -> list[tuple[str, str]]:
    """(name, value) rows describing ``obj``: what, where from, its size, energies and what was done."""
    info = obj.info
    rows = [("label", obj.label or "—"), ("channel", str(obj.channel) if obj.channel is not None else "—")]
    if info is not None and info.sample_name:
        rows.append(("sample", info.sample_name))
    if info is not None and info.scan_number is not None:
        rows.append(("scan", str(info.scan_number)))
    if obj.source:
        rows.append(("file", os.path.basename(obj.source)))
    if isinstance(obj, RXESMap):
        rows += [("grid", f"{obj.shape[0]} Ω × {obj.shape[1]} ω ({int(obj.mask.sum())} measured)"),
                 ("Ω", _range(obj.incident_axis)), ("ω", _range(obj.emission_axis))]
    else:
        rows += [("points", str(len(obj))), (obj.axis_label.replace(" (eV)", ""), _range(obj.energy))]
    rows.append(("intensity", _range(obj.intensity, "")))
    rows.append(("σ", "yes" if obj.uncertainty is not None else "none"))
    operations = [str(op.get("name", "")) for op in obj.metadata.get("operations", []) or [] if isinstance(op, dict)]
    if operations:
        rows.append(("done", ", ".join(operations)))
    for warning in obj.metadata.get("warnings", []) or []:
        rows.append(("warning", str(warning)))
    return rows


def _table(obj) -> str:
    kind = "RXESMap" if isinstance(obj, RXESMap) else "Spectrum"
    cells = "".join(f"<tr><th style='text-align:left'>{_html.escape(name)}</th>"
                    f"<td style='text-align:left'>{_html.escape(value)}</td></tr>" for name, value in summary_rows(obj))
    return f"<table><caption style='text-align:left'><b>xestools.{kind}</b></caption>{cells}</table>"


def html(obj) -> str | None:
    """A summary table next to the small picture, or None when it cannot be made (logged)."""
    if not isinstance(obj, (Spectrum, RXESMap)):
        return None
    try:
        table = _table(obj)
    except Exception:  # a display hook must not raise in the user's notebook; the traceback goes to the log
        log.exception("cannot summarise %s for the notebook", type(obj).__name__)
        return None
    picture = png(obj)
    image = "" if picture is None else (
        f"<img src='data:image/png;base64,{base64.b64encode(picture).decode('ascii')}' alt='{_html.escape(obj.label)}'/>")
    return f"<div style='display:flex;gap:1em;align-items:flex-start'>{image}{table}</div>"


__all__ = ["html", "png", "summary_rows"]
