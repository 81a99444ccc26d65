"""XES results as items: line fits, calibrated and aligned spectra, averages without some repeats.

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


class XesResults:
    """The XES workspace's result commands (a base of :class:`~xestools.workspace.xes.XesWorkspace`).

    Uses the workspace's ``items`` (an :class:`~xestools.workspace.items.XesItemList`) and its
    ``_did``/``_say`` events; every change goes through the item list's methods.
    """

    # ------------------------------------------------------------------ fits
    def fit_item(self, uid: int, settings: FitSettings):
        """The line fit of item ``uid`` (no change to the workspace: the Fit tool shows it first)."""
        return run_fit(self.items.item(uid).spectrum, settings)

    def add_fit(self, uid: int, settings: FitSettings, fit=None) -> list:
        """Accept a fit of ``uid``: the "fit of …" item (fitted sum) and one item per component.

        ``fit`` is the already computed result of these settings (computed here when None).
        """
        from xestools.workspace.items import ItemKind

        fit = fit if fit is not None else self.fit_item(uid, settings)
        item = self.items.item(uid)
        params = {**settings.as_params(), **fit_summary(fit)}
        added = []
        for spectrum in fit.to_spectra():
            part = spectrum.metadata["fit_component"]
            name = f"fit of {item.name}" if part == "fit" else f"{part} ({fit.shape}) of {item.name}"
            added.append(self.items.add_item(ItemKind.FIT, evolve(spectrum, label=name), name=name, inputs=[uid],
                                             params={**params, "part": part}, fit_report=fit.report))
        self._did(f"fit of {item.name}: {len(fit.components)} {fit.shape} peak(s), χ²ᵣ = {fit.chi2_reduced:.3g}")
        if fit.undetermined:
            self._say(f"fit of {item.name}: undetermined {', '.join(fit.undetermined)}")
        return added

    # ------------------------------------------------------------------ calibration
    def calibration_from_item(self, uid: int, known_energy: float, window: Sequence[float], *, shape: str = "voigt"):
        """A :class:`~xestools.analysis.alignment.Calibration` moving the line of ``uid`` in ``window`` to ``known_energy``."""
        from xestools.analysis.alignment import calibration_from_line

        item = self.items.item(uid)
        return calibration_from_line(item.spectrum, known_energy, window, shape=shape, name=f"{known_energy:g} eV line")

    def calibrate(self, uids: Sequence[int], calibration) -> list:
        """A calibrated copy of each item (the inputs keep their raw energies; remove the copy to undo it)."""
        from xestools.workspace.items import ItemKind

        added = []
        for uid in uids:
            item = self.items.item(uid)
            name = f"{item.name} (calibrated {calibration.offset:+.3f} eV)"
            params = {"calibration": calibration.as_dict(), "reference": calibration.reference}
            spectrum, _ = compute_result("calibrated", [item.spectrum], params, label=name)
            added.append(self.items.add_item(ItemKind.CALIBRATED, spectrum, name=name, inputs=[uid], params=params))
        self._did(f"calibrate {len(added)} item(s): {calibration.offset:+.4f} ± {calibration.offset_sigma:.2g} eV "
                  f"({calibration.reference})")
        return added

    # ------------------------------------------------------------------ alignment
    def align(self, uids: Sequence[int], reference_uid: int, *, window: Sequence[float] | None = None,
              method: str = "xcorr") -> list:
        """Each item (not the reference) shifted onto ``reference_uid``; new items record shift ± σ and method."""
        from xestools.workspace.items import ItemKind

        reference = self.items.item(reference_uid)
        window = None if window is None else [float(v) for v in sorted(window)]
        added = []
        for uid in [uid for uid in uids if uid != reference_uid]:
            item = self.items.item(uid)
            params = {"method": method, "window": window, "reference": reference.name}
            spectrum, _ = compute_result("aligned", [item.spectrum, reference.spectrum], params)
            params.update(recorded_numbers("aligned", spectrum))
            name = (f"{item.name} aligned to {reference.name} "
                    f"({params['shift_eV']:+.3f} ± {params['shift_sigma_eV']:.2g} eV)")
            added.append(self.items.add_item(ItemKind.ALIGNED, evolve(spectrum, label=name), name=name,
                                             inputs=[uid, reference_uid], params=params))
        if not added:
            raise ValueError("tick at least one item besides the reference to align")
        self._did(f"align {len(added)} item(s) to {reference.name} ({method})")
        return added

    # ------------------------------------------------------------------ repeats
    def repeats_of(self, uids: Sequence[int], window: Sequence[float] | None = None):
        """The repeats table (:func:`~xestools.analysis.repeats.repeats_table`) of these items' spectra."""
        from xestools.analysis.repeats import repeats_table
        from xestools.workspace.items import spectra_of

        return repeats_table(spectra_of(self.items, uids), window)

    def exclude_repeat(self, average_uid: int, member_uid: int, reason: str = "") -> None:
        """Leave ``member_uid`` out of the average ``average_uid`` (recorded with ``reason``; recomputed)."""
        average = self.items.item(average_uid)
        if member_uid not in average.inputs:
            raise ValueError(f"{self.items.item(member_uid).name} is not a member of {average.name}")
        position = average.inputs.index(member_uid)
        excluded = sorted(set(average.params.get("excluded", [])) | {position})
        reasons = {**(average.params.get("reasons") or {}), str(position): reason}
        self._set_exclusions(average_uid, excluded, reasons)
        self._did(f"exclude {self.items.item(member_uid).name} from {base_name(average.name)}"
                  + (f" ({reason})" if reason else ""))

    def include_all_repeats(self, average_uid: int) -> None:
        """Every member counts in the average again."""
        self._set_exclusions(average_uid, [], {})
        self._did(f"include every repeat in {base_name(self.items.item(average_uid).name)}")

    def _set_exclusions(self, average_uid: int, excluded: list[int], reasons: dict[str, str]) -> None:
        from xestools.workspace.items import ItemKind, compute_derived, recompute_dependants, spectra_of

        average = self.items.item(average_uid)
        if average is None or average.kind is not ItemKind.AVERAGE:
            raise ValueError("choose an average to exclude repeats from")
        params = {key: value for key, value in average.params.items() if key not in ("excluded", "reasons")}
        name = base_name(average.name)
        if excluded:
            params.update(excluded=excluded, reasons=reasons)
            left_out = [self.items.item(average.inputs[index]) for index in excluded]
            name += WITHOUT + ", ".join(item.name if item is not None else f"#{index + 1}"
                                        for item, index in zip(left_out, excluded))
        spectrum, _ = compute_derived(ItemKind.AVERAGE, spectra_of(self.items, average.inputs), params, label=name)
        self.items.set_spectrum(average_uid, spectrum, params=params, name=name)
        recompute_dependants(self.items, average_uid)
