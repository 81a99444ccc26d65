"""The XES workspace's result commands: fit, calibrate, align, leave a repeat out of an average.

The item kinds and how their numbers are computed again are in :mod:`xestools.workspace.results`.
"""
from __future__ import annotations

from typing import Sequence

from xestools.model import evolve
from xestools.workspace.items import ItemKind, compute_derived, recompute_dependants, spectra_of
from xestools.workspace.results import (WITHOUT, FitSettings, base_name, compute_result, fit_summary, recorded_numbers,
                                        run_fit)


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
