"""Fast repeated cuts of one map (a cut dragged across it): same results as :func:`analysis.cut`.

A cut of a 2000 × 2000 map scans all 4 million points, but a band only reaches a few Ω rows (CIE),
a few ω columns (CEE) or a narrow diagonal (CET). :class:`CutWorkspace` computes once per cut type
which points are usable, the data range (so empty/partial messages are those of :func:`cut`) and
per-row/per-column coordinate bounds; each cut then reduces only the points that can lie in the
band with the same rule (:data:`~xestools.analysis.cuts.CUT_RULE` on the grid centres, or on the
read-backs of a map without a grid) and formulas as :func:`cut` (``Σ I``, ``σ = √Σσ²``, mean: both / n).
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from xestools.analysis import cuts
from xestools.analysis.cuts import (CutResult, CutSpec, CutType, View, as_view, cut, cut_coordinate, has_grid,
                                    rounding_allowance, valid_points)
from xestools.model import RXESMap


class CutWorkspace:
    """One map prepared for many cuts: ``workspace.cut(spec, view)`` equals ``cut(rxes_map, spec, view)``.

    Candidates: a cut holding Ω (CIE) keeps the Ω rows whose coordinate range meets the band, one
    holding ω (CEE) the ω columns whose coordinate range meets it (both as array views, no copies).
    A diagonal cut ``a·Ω + b·ω`` (CET: Ω − ω) keeps, per Ω row i, the ω columns j with
    ``|a·Ω_i + b·ω_j − position| ≤ width/2 + ε + d`` on the grid axes, where ``d`` is the largest
    deviation of the cut coordinate from its grid value (0 on a gridded map), so no point of the band
    is left out. Sums may
    differ from :func:`cut` in the last bits (summation order); selection, counts and messages do not.
    Whatever falls outside this fast path (empty bands, unsorted axes) is handed to :func:`cut`.
    """

    def __init__(self, rxes_map: RXESMap) -> None:
        self.rxes_map = rxes_map
        self._valid = valid_points(rxes_map)
        self._gridded = has_grid(rxes_map)
        self._prepared: dict[CutType, dict[str, Any]] = {}
        self._flat: dict[str, np.ndarray | None] = {}
        self._windows: dict[CutType, tuple[int, int, dict[str, np.ndarray | None]]] = {}

    def _flat_array(self, name: str, array) -> np.ndarray | None:
        """A 1D C-ordered view (copied once if the array is not contiguous), for windowed gathering."""
        if name not in self._flat:
            self._flat[name] = None if array is None else np.ascontiguousarray(array).ravel()
        return self._flat[name]

    def _prepare(self, kind: CutType) -> dict[str, Any]:
        prepared = self._prepared.get(kind)
        if prepared is not None:
            return prepared
        rxes_map = self.rxes_map
        coordinate = cut_coordinate(rxes_map, kind, self._gridded)
        usable = self._valid & np.isfinite(coordinate)
        prepared = {"usable": usable, "any": bool(usable.any()), "coordinate": coordinate}
        if prepared["any"]:
            prepared["lo"] = float(coordinate[usable].min())
            prepared["hi"] = float(coordinate[usable].max())
            definition = kind.definition
            if definition.incident != 0 and definition.emission != 0:
                nominal = definition.coordinate(np.asarray(rxes_map.incident_axis, float)[:, None],
                                                np.asarray(rxes_map.emission_axis, float)[None, :])
                prepared["deviation"] = float(np.abs(coordinate - nominal)[usable].max())
                prepared["flat_coordinate"] = np.ascontiguousarray(coordinate).ravel()
                prepared["usable_flat"] = np.ascontiguousarray(usable).ravel()
                prepared["ascending"] = bool(np.all(np.diff(rxes_map.emission_axis) > 0))
            else:
                per_line = 1 if definition.emission == 0 else 0
                prepared["line_lo"] = np.where(usable, coordinate, np.inf).min(axis=per_line)
                prepared["line_hi"] = np.where(usable, coordinate, -np.inf).max(axis=per_line)
        self._prepared[kind] = prepared
        return prepared

    def cut(self, spec: CutSpec, view: View | str = View.INCIDENT) -> CutResult:
        """The cut of the prepared map; the same result as ``cut(self.rxes_map, spec, view)``."""
        view = as_view(view)
        if not (math.isfinite(spec.position) and math.isfinite(spec.width)) or spec.width <= 0:
            return cut(self.rxes_map, spec, view)
        prepared = self._prepare(spec.kind)
        if not prepared["any"]:
            return cut(self.rxes_map, spec, view)
        tolerance = rounding_allowance(spec.position)
        data_lo, data_hi = prepared["lo"], prepared["hi"]
        band_lo, band_hi = spec.band
        if band_hi < data_lo - tolerance or band_lo > data_hi + tolerance:
            return cut(self.rxes_map, spec, view)
        reach = spec.half_width + tolerance
        parts = self._diagonal_window(spec, prepared, reach) if "flat_coordinate" in prepared else \
            self._line_block(spec, prepared, reach)
        if parts is None:
            return cut(self.rxes_map, spec, view)
        intensity, uncertainty, incident, emission, selected = parts
        if not selected.any():
            return cut(self.rxes_map, spec, view)   # it words the "nearest point" message
        note = cuts.band_note(spec, data_lo, data_hi, tolerance)
        return cuts.binned_result(self.rxes_map, spec, view, intensity, uncertainty, incident, emission, selected, note,
                                  self._gridded)

    def _line_block(self, spec: CutSpec, prepared: dict[str, Any], reach: float):
        """Holding Ω (CIE): the contiguous Ω rows whose measured Ω can meet the band; holding ω (CEE):
        likewise the ω columns."""
        candidates = np.flatnonzero((prepared["line_hi"] >= spec.position - reach)
                                    & (prepared["line_lo"] <= spec.position + reach))
        if candidates.size == 0:
            return None
        span = slice(int(candidates[0]), int(candidates[-1]) + 1)
        index = (span, slice(None)) if spec.kind.definition.emission == 0 else (slice(None), span)
        rxes_map = self.rxes_map
        if spec.kind.definition.emission == 0:
            block = {"intensity": rxes_map.intensity[index], "uncertainty": None if rxes_map.uncertainty is None
                     else rxes_map.uncertainty[index], "usable": prepared["usable"][index],
                     "coordinate": prepared["coordinate"][index]}
        else:
            block = self._columns(spec.kind, prepared, span)
        selected = block["usable"] & (np.abs(block["coordinate"] - spec.position) <= reach)
        return (block["intensity"], block["uncertainty"], rxes_map.incident[index], rxes_map.emission[index],
                selected)

    #: ω columns copied on each side of a CEE band, so that a drag's next moves find theirs copied
    WINDOW_MARGIN = 64

    def _columns(self, kind: CutType, prepared: dict[str, Any], span: slice) -> dict[str, np.ndarray | None]:
        """Intensity, σ, usable and coordinate of the ω columns ``span`` as views of a transposed copy
        of a window around them. A column of a C-ordered map is strided (a memory page per Ω row):
        every pass over it costs as much as one over a much wider block, so the window is copied
        once and each move then reads contiguous rows (same values, same selection)."""
        window = self._windows.get(kind)
        if window is None or span.start < window[0] or span.stop > window[1]:
            lo = max(span.start - self.WINDOW_MARGIN, 0)
            hi = min(span.stop + self.WINDOW_MARGIN, self.rxes_map.shape[1])
            sources = {"intensity": self.rxes_map.intensity, "uncertainty": self.rxes_map.uncertainty,
                       "usable": prepared["usable"], "coordinate": prepared["coordinate"]}
            window = (lo, hi, {name: None if array is None else np.ascontiguousarray(np.asarray(array)[:, lo:hi].T)
                               for name, array in sources.items()})
            self._windows[kind] = window
        lo, _, arrays = window
        local = slice(span.start - lo, span.stop - lo)
        return {name: None if array is None else array[local].T for name, array in arrays.items()}

    def _diagonal_window(self, spec: CutSpec, prepared: dict[str, Any], reach: float):
        """A diagonal cut (CET): per Ω row the window of ω columns around ω = (position − a·Ω) / b
        (CET: Ω − position), gathered as rows × window."""
        if not prepared["ascending"]:
            return None
        rxes_map = self.rxes_map
        a, b = spec.kind.definition.incident, spec.kind.definition.emission
        incident_axis = np.asarray(rxes_map.incident_axis, float)
        emission_axis = np.asarray(rxes_map.emission_axis, float)
        n_rows, n_columns = rxes_map.shape
        slack = (reach + prepared["deviation"]) / abs(b) + 1e-9
        centre = (spec.position - a * incident_axis) / b
        lo = np.searchsorted(emission_axis, centre - slack, side="left")
        hi = np.searchsorted(emission_axis, centre + slack, side="right")
        window = int(np.max(hi - lo))
        if window == 0:
            return None
        if window >= n_columns // 2:
            selected = prepared["usable"] & (np.abs(prepared["coordinate"] - spec.position) <= reach)
            return rxes_map.intensity, rxes_map.uncertainty, rxes_map.incident, rxes_map.emission, selected
        first = np.clip(lo, 0, n_columns - window)
        starts = np.arange(n_rows) * n_columns + first

        def gather(flat):
            """Row i: ``flat[starts[i]:starts[i] + window]``, copied as whole runs (from an overlapping
            strided view of the read-only flat array) rather than element by element."""
            if flat is None:
                return None
            runs = np.lib.stride_tricks.as_strided(flat, shape=(flat.size - window + 1, window),
                                                   strides=(flat.itemsize, flat.itemsize), writeable=False)
            return runs[starts]

        held = gather(prepared["flat_coordinate"])
        selected = gather(prepared["usable_flat"]) & (np.abs(held - spec.position) <= reach)
        intensity = gather(self._flat_array("intensity", rxes_map.intensity))
        uncertainty = gather(self._flat_array("uncertainty", rxes_map.uncertainty))
        return intensity, uncertainty, None, None, selected

__all__ = ["CutWorkspace"]
