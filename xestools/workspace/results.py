"""XES results as items: line fits, calibrated and aligned spectra, averages without some repeats.

The commands that add them are in :mod:`xestools.workspace.xes_results`.

Each result is a derived item that records in its ``params`` everything needed to compute it again
from its inputs (so it is recomputed when an input changes, saved in the session and rebuilt by a
restore, and undone as one step like any other item change). The numbers come from
:mod:`xestools.analysis.fitting`, :mod:`~xestools.analysis.alignment` and
:mod:`~xestools.analysis.repeats`; this module only names, records and files them.

* A fit adds the fitted sum ("fit of …") and one item per component, all with the same model
  parameters (``part`` says which curve an item shows).
* A calibration is stored (offset, slope, anchor, reference) and applied to a new item; the input
  keeps its raw energies, and removing the item removes the calibration.
* An alignment adds one item per spectrum, shifted onto the reference, recording shift ± σ and method.
* Excluding a repeat changes the average's ``params`` (``excluded`` input positions and ``reasons``)
  and its name; the average is recomputed with ``average_excluding``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from xestools.model import Spectrum, evolve

#: suffix of an average's name while repeats are left out of it
WITHOUT = " without "


@dataclass(frozen=True)
class FitSettings:
    """What a line fit needs besides the spectrum: peak positions, shape, background kind, window, shared width."""

    centers: tuple[float, ...]
    shape: str = "voigt"
    background: str = "linear"
    window: tuple[float, float] | None = None
    share_width: bool = False
    extra: Mapping[str, Any] = field(default_factory=dict)

    def as_params(self) -> dict[str, Any]:
        return {"centers": [float(c) for c in self.centers], "shape": self.shape, "background": self.background,
                "window": None if self.window is None else [float(v) for v in self.window],
                "share_width": bool(self.share_width)}

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> "FitSettings":
        window = params.get("window")
        return cls(tuple(float(c) for c in params["centers"]), str(params.get("shape", "voigt")),
                   str(params.get("background", "linear")),
                   None if not window else (float(window[0]), float(window[1])), bool(params.get("share_width")))


def run_fit(spectrum: Spectrum, settings: FitSettings):
    """:func:`~xestools.analysis.fitting.fit_lines` with these settings (the one call every front end makes)."""
    from xestools.analysis.fitting import fit_lines

    return fit_lines(spectrum, list(settings.centers), shape=settings.shape, background=settings.background,
                     window=settings.window, share_width=settings.share_width)


def fit_summary(fit) -> dict[str, Any]:
    """The numbers a fit item shows in its description: χ²ᵣ, each centre and area, the ratios."""
    summary: dict[str, Any] = {"chi2_reduced": fit.chi2_reduced}
    for component in fit.components:
        summary[f"{component.name} centre"] = component.center.value
        summary[f"{component.name} area"] = component.area.value
    summary.update({f"ratio {key}": value.value for key, value in fit.ratios.items()})
    if fit.undetermined:
        summary["undetermined"] = ", ".join(fit.undetermined)
    return summary


def compute_result(kind: str, inputs: Sequence[Spectrum], params: Mapping[str, Any], *, label: str = "") -> tuple[Spectrum, str]:
    """The spectrum (and report) of a fit, calibrated or aligned item from its inputs and ``params``."""
    from xestools.analysis import alignment

    if kind == "fit":
        fit = run_fit(inputs[0], FitSettings.from_params(params))
        part = params.get("part", "fit")
        spectra = {spectrum.metadata["fit_component"]: spectrum for spectrum in fit.to_spectra()}
        if part not in spectra:
            raise ValueError(f"the fit has no component {part!r}")
        return evolve(spectra[part], label=label or spectra[part].label), fit.report
    if kind == "calibrated":
        calibration = alignment.Calibration.from_dict(params["calibration"])
        result = alignment.apply_calibration(inputs[0], calibration)
        return evolve(result, label=label or result.label), ""
    if kind == "aligned":
        window = params.get("window")
        shift = alignment.find_shift(inputs[0], inputs[1], None if not window else tuple(window),
                                     method=str(params.get("method", "xcorr")))
        result = alignment.shift_spectrum(inputs[0], shift)
        return evolve(result, label=label or result.label), ""
    raise ValueError(f"{kind} items are not results")


def recorded_numbers(kind: str, spectrum: Spectrum) -> dict[str, Any]:
    """What an item records of its last result: the shift of an aligned spectrum, χ²ᵣ of a fit."""
    operation = (spectrum.metadata.get("operations") or [{}])[-1]
    if kind == "aligned":
        return {"shift_eV": operation.get("shift_eV"), "shift_sigma_eV": operation.get("shift_sigma_eV")}
    if kind == "fit":
        return {"chi2_reduced": operation.get("chi2_reduced")}
    return {}


def base_name(name: str) -> str:
    """An average's name without the list of repeats left out of it."""
    return name.split(WITHOUT, 1)[0]
