"""The one numeric core of xestools: grids, energy transfer, cuts, averaging, normalisation.

Pure numpy functions on :mod:`xestools.model` objects; the GUI, the CLI and scripts call these.
Background fitting (:mod:`xestools.analysis.background`) and line-shape metrics
(:mod:`xestools.analysis.metrics`) are imported from their own modules when needed.
"""
from xestools.analysis.average import average_spectra, common_grid
from xestools.analysis.cuts import (
    CutResult,
    CutSpec,
    CutType,
    View,
    cut,
    xes_at_incident,
    xes_summed,
)
from xestools.analysis.map_average import average_maps, map_difference
from xestools.analysis.series import Series, SeriesIndex, average_series, deduplicate, is_twin
from xestools.analysis.grid import estimate_step, group_axis, image_extent, is_regular, pixel_edges
from xestools.analysis.mapview import cut_band_polygon, cut_line, data_outline, mesh_corners, view_coordinates
from xestools.analysis.normalise import normalise_area, normalise_map, remove_normalisation, window_area
from xestools.analysis.transfer import energy_transfer

__all__ = [
    "average_maps",
    "average_series",
    "average_spectra",
    "common_grid",
    "CutResult",
    "CutSpec",
    "CutType",
    "View",
    "cut",
    "cut_band_polygon",
    "cut_line",
    "data_outline",
    "deduplicate",
    "energy_transfer",
    "estimate_step",
    "group_axis",
    "image_extent",
    "is_twin",
    "is_regular",
    "map_difference",
    "mesh_corners",
    "normalise_area",
    "normalise_map",
    "pixel_edges",
    "remove_normalisation",
    "Series",
    "SeriesIndex",
    "view_coordinates",
    "window_area",
    "xes_at_incident",
    "xes_summed",
]
