"""The XES steps of a batch recipe: align → (normalise, background: the recipe's own) → fit → metrics,
with windows per energy axis.

A recipe's ``"xes"`` object (docs/recipe.md) names an alignment reference and window, a line fit
(peaks, shape, background, window) and, per axis (``emission``, ``incident``, ``transfer``), the
windows of the fit and of the metrics: a cut against Ω or against the energy transfer gets its own
window instead of the emission window that failed it. Every number comes from
:mod:`xestools.analysis`; this module only reads, checks and applies the step descriptions.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

AXES = ("emission", "incident", "transfer")
Window = tuple[float, float]


class XesRecipeError(ValueError):
    """A problem in the recipe's xes steps (the batch reports it as a recipe error)."""


def _window(value: Any, where: str) -> Window | None:
    if value is None:
        return None
    if (not isinstance(value, (list, tuple)) or len(value) != 2
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)):
        raise XesRecipeError(f"{where} must be [lo, hi] in eV, got {value!r}")
    lo, hi = sorted((float(value[0]), float(value[1])))
    if lo == hi:
        raise XesRecipeError(f"{where} is empty ({lo} to {hi})")
    return lo, hi


def axis_windows(value: Any, where: str) -> tuple[tuple[str, Window], ...]:
    """``{"emission": [lo, hi], "incident": …}`` checked, as a hashable tuple of (axis, window)."""
    if value is None:
        return ()
    if not isinstance(value, Mapping) or any(axis not in AXES for axis in value):
        raise XesRecipeError(f"{where} must map axes ({', '.join(AXES)}) to [lo, hi] windows, got {value!r}")
    return tuple((axis, _window(value[axis], f"{where}.{axis}")) for axis in AXES if axis in value)


def window_for(windows: tuple[tuple[str, Window], ...], axis: str, legacy: Window | None = None) -> Window | None:
    """The window of ``axis``; a recipe's single legacy window is in emission eV, so it only applies there."""
    for name, window in windows:
        if name == axis:
            return window
    return legacy if axis == "emission" else None


@dataclass(frozen=True)
class XesSteps:
    """The XES steps of a recipe; empty fields mean the step is not done."""

    align_reference: str | None = None
    align_window: Window | None = None
    align_method: str = "xcorr"
    fit_peaks: tuple[float, ...] = ()
    fit_shape: str = "voigt"
    fit_background: str = "linear"
    fit_share_width: bool = False
    fit_windows: tuple[tuple[str, Window], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {}
        if self.align_reference:
            data["align"] = {"reference": self.align_reference, "method": self.align_method,
                             "window": None if self.align_window is None else list(self.align_window)}
        if self.fit_peaks:
            data["fit"] = {"peaks": list(self.fit_peaks), "shape": self.fit_shape, "background": self.fit_background,
                           "share_width": self.fit_share_width,
                           "windows": {axis: list(window) for axis, window in self.fit_windows}}
        return data

    @classmethod
    def from_dict(cls, data: Any, base: str | os.PathLike | None = None) -> "XesSteps":
        from xestools.analysis.alignment import SHIFT_METHODS
        from xestools.analysis.fitting import BACKGROUND_KINDS, PEAK_SHAPES

        if not isinstance(data, Mapping) or set(data) - {"align", "fit"}:
            raise XesRecipeError(f"xes must be an object with \"align\" and/or \"fit\", got {data!r}")
        fields: dict[str, Any] = {}
        align = data.get("align")
        if align is not None:
            _only(align, ("reference", "method", "window"), "xes.align")
            fields.update(align_reference=_reference(align.get("reference"), base),
                          align_window=_window(align.get("window"), "xes.align.window"),
                          align_method=_choice(align.get("method", "xcorr"), SHIFT_METHODS, "xes.align.method"))
        fit = data.get("fit")
        if fit is not None:
            _only(fit, ("peaks", "shape", "background", "share_width", "windows"), "xes.fit")
            peaks = fit.get("peaks")
            if not isinstance(peaks, list) or not peaks or not all(isinstance(p, (int, float)) for p in peaks):
                raise XesRecipeError(f"xes.fit.peaks must be a list of peak centres in eV, got {peaks!r}")
            fields.update(fit_peaks=tuple(float(p) for p in peaks),
                          fit_shape=_choice(fit.get("shape", "voigt"), PEAK_SHAPES, "xes.fit.shape"),
                          fit_background=_choice(fit.get("background", "linear"), BACKGROUND_KINDS, "xes.fit.background"),
                          fit_share_width=bool(fit.get("share_width", False)),
                          fit_windows=axis_windows(fit.get("windows"), "xes.fit.windows"))
        return cls(**fields)


def _only(data: Any, keys: tuple[str, ...], where: str) -> None:
    if not isinstance(data, Mapping):
        raise XesRecipeError(f"{where} must be an object")
    unknown = sorted(set(data) - set(keys))
    if unknown:
        raise XesRecipeError(f"{where}: unknown key(s) {', '.join(unknown)} (known: {', '.join(keys)})")


def _choice(value: Any, choices: tuple[str, ...], where: str) -> str:
    if value not in choices:
        raise XesRecipeError(f"{where} must be one of {', '.join(choices)}, got {value!r}")
    return str(value)


def _reference(value: Any, base) -> str:
    if not value:
        raise XesRecipeError("xes.align needs a reference file")
    path = Path(str(value)).expanduser()
    if not path.is_absolute() and base is not None:
        path = Path(base) / path
    if not path.is_file():
        raise XesRecipeError(f"xes.align.reference: file {str(path)!r} does not exist")
    return str(path)


def align_step(spectrum, steps: XesSteps | None, reference_of: Callable[[str, Any], Any], notes: list[str]):
    """The spectrum shifted onto the recipe's reference (unchanged without an align step)."""
    from xestools.analysis.alignment import find_shift, shift_spectrum

    if steps is None or not steps.align_reference:
        return spectrum
    reference = reference_of(steps.align_reference, spectrum.channel)
    shift = find_shift(spectrum, reference, steps.align_window, method=steps.align_method)
    notes.append(f"aligned to {os.path.basename(steps.align_reference)}: shift {shift.value:+.4f} ± {shift.sigma:.4f} eV")
    return shift_spectrum(spectrum, shift)


def fit_step(spectrum, steps: XesSteps | None, notes: list[str]):
    """The line fit of the recipe on this spectrum (None without a fit step), over the window of its axis."""
    from xestools.analysis.fitting import fit_lines

    if steps is None or not steps.fit_peaks:
        return None
    fit = fit_lines(spectrum, steps.fit_peaks, shape=steps.fit_shape, background=steps.fit_background,
                    window=window_for(steps.fit_windows, spectrum.axis), share_width=steps.fit_share_width)
    centres = ", ".join(f"{c.center.value:.3f} ± {c.center.sigma:.3f}" for c in fit.components)
    notes.append(f"fit ({fit.shape}): centres {centres} eV, χ²ᵣ = {fit.chi2_reduced:.3g}")
    return fit


def fitted_peak_near(fit, position: float) -> tuple[float, float] | None:
    """(centre, σ) of the fitted component nearest ``position`` (the metrics' peak), None without a fit."""
    if fit is None or not fit.components or position != position:
        return None
    nearest = min(fit.components, key=lambda component: abs(component.center.value - position))
    return nearest.center.value, nearest.center.sigma


__all__ = ["AXES", "XesRecipeError", "XesSteps", "align_step", "axis_windows", "fit_step", "fitted_peak_near",
           "window_for"]
