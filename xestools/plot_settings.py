"""The drawing layer's settings: how a map and the XES overlay are shown, as frozen dataclasses.

The drawing (:mod:`xestools.figures`, :mod:`xestools.drawing`) takes these and model objects, never
the workspace; the workspace keeps them as each tab's view state and the session saves them. No
matplotlib here: settings can be built, checked and saved without loading it.
"""
from __future__ import annotations

from dataclasses import dataclass

VIEWS = ("incident", "transfer")
SCALES = ("linear", "log", "sqrt")
#: Perceptually uniform maps first, then the common others.
COLORMAPS = ("viridis", "magma", "inferno", "plasma", "cividis", "turbo", "gray", "jet")
LIMIT_MODES = ("data", "percentile", "manual")
Y_SCALES = ("data", "max")


def enum_value(kind) -> str:
    """The string of a view or cut kind given as an enum member or as its string."""
    return getattr(kind, "value", kind)


@dataclass(frozen=True)
class MapStyle:
    """How a map is shown: view, colour scale, colour map, colour limits and contour overlay."""

    view: str = "incident"
    scale: str = "linear"
    cmap: str = "viridis"
    limits: str = "data"
    percentiles: tuple[float, float] = (1.0, 99.0)
    vmin: float | None = None
    vmax: float | None = None
    contour_levels: int = 0
    contour_color: str = "white"
    contour_labels: bool = False

    def __post_init__(self) -> None:
        if enum_value(self.view) not in VIEWS:
            raise ValueError(f"view must be one of {VIEWS}, not {self.view!r}")
        if self.scale not in SCALES:
            raise ValueError(f"scale must be one of {SCALES}, not {self.scale!r}")
        if self.limits not in LIMIT_MODES:
            raise ValueError(f"limits must be one of {LIMIT_MODES}, not {self.limits!r}")
        object.__setattr__(self, "view", enum_value(self.view))


@dataclass(frozen=True)
class XesPlotSettings:
    """How the XES overlay is drawn: offset between items (% of the largest range), stacking,
    ±σ bands, and the y scale ("data" as measured, "max": each item ÷ its maximum, display only)."""

    offset_percent: float = 0.0
    stack: bool = False
    bands: bool = True
    y_scale: str = "data"

    def __post_init__(self) -> None:
        if self.y_scale not in Y_SCALES:
            raise ValueError(f"y scale must be one of {Y_SCALES}, not {self.y_scale!r}")

    @property
    def offset_fraction(self) -> float:
        """Offset step as a fraction of the largest intensity range (Stack: 110 %)."""
        return (110.0 if self.stack else max(float(self.offset_percent), 0.0)) / 100.0


__all__ = ["COLORMAPS", "LIMIT_MODES", "SCALES", "VIEWS", "Y_SCALES", "MapStyle", "XesPlotSettings", "enum_value"]
