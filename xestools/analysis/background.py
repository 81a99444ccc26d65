"""Background fitting under an XES region, e.g. the Kβ1,3 tail under the valence-to-core lines.

A background is a sum of components — ``linear``, ``polynomial`` (degree 0–3), a Pearson VII tail
(``pearson7``) and a pseudo-Voigt tail (``pseudovoigt``) — fitted by least squares (lmfit) to the
points outside the exclusion spans (the lines one wants to keep). An optional wide scan, e.g. the
Kβ1,3 main line measured over a wider range, is joined to the main scan on one coherent grid so the
tail is constrained by its own peak. Nothing is overwritten: the background and the residual
(main − background) are new :class:`~xestools.model.Spectrum` objects whose
``metadata["operations"]`` records the model, the parameters and the exclusions.

lmfit is imported inside :func:`fit_background` on first use, not at start-up.
"""
from __future__ import annotations

import dataclasses
import logging
import math
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np

from xestools.model import Spectrum, evolve

log = logging.getLogger("xestools.analysis.background")

#: Component kinds understood by :func:`fit_background`.
COMPONENT_KINDS = ("linear", "polynomial", "pearson7", "pseudovoigt")
TAIL_KINDS = ("pearson7", "pseudovoigt")
_DEFAULT_TAIL_WIDTH_EV = 3.0


@dataclass(frozen=True)
class Component:
    """One additive term of a background model; ``degree`` only matters for ``polynomial``."""

    kind: str
    degree: int = 1

    def __post_init__(self) -> None:
        if self.kind not in COMPONENT_KINDS:
            raise ValueError(f"unknown background component {self.kind!r}; choose from {', '.join(COMPONENT_KINDS)}")
        if self.kind == "polynomial" and not 0 <= self.degree <= 3:
            raise ValueError(f"polynomial degree must be 0–3, got {self.degree}")

    def describe(self) -> str:
        if self.kind == "polynomial":
            return f"polynomial (degree {self.degree})"
        return {"linear": "linear", "pearson7": "Pearson VII tail", "pseudovoigt": "pseudo-Voigt tail"}[self.kind]

    def spec(self) -> str:
        """Short text form, accepted back by :func:`parse_component`."""
        return f"polynomial{self.degree}" if self.kind == "polynomial" else self.kind


def parse_component(value: "str | Component | tuple") -> Component:
    """Accept ``Component``, ``"linear"``, ``"polynomial2"``, ``"polynomial:2"``, ``("polynomial", 2)``,
    ``"pearson7"``, ``"pseudovoigt"`` (also ``"pvoigt"``, ``"pseudo-voigt"``)."""
    if isinstance(value, Component):
        return value
    if isinstance(value, tuple):
        return Component(str(value[0]), int(value[1]) if len(value) > 1 else 1)
    text = str(value).strip().lower().replace("-", "").replace(" ", "")
    aliases = {"pvoigt": "pseudovoigt", "pearsonvii": "pearson7", "poly": "polynomial", "constant": "polynomial0"}
    text = aliases.get(text, text)
    if text.startswith("polynomial"):
        rest = text[len("polynomial"):].lstrip(":")
        return Component("polynomial", int(rest) if rest else 2)
    if text.startswith("poly") and text[4:].isdigit():
        return Component("polynomial", int(text[4:]))
    return Component(text)


@dataclass(frozen=True)
class FitParameter:
    name: str
    value: float
    stderr: float | None
    vary: bool = True


@dataclass(frozen=True)
class BackgroundFit:
    """Result of :func:`fit_background`.

    ``background`` and ``residual`` are on the main scan's grid. ``fit_energy``/``fit_intensity``
    are the data the model saw (main scan joined with the wide scan when one was given),
    ``fit_included`` marks the points outside the exclusion spans, ``fit_curve`` is the model there.
    """

    components: tuple[Component, ...]
    parameters: tuple[FitParameter, ...]
    r_squared: float
    chi_square: float
    reduced_chi_square: float
    n_points: int
    n_used: int
    weighted: bool
    exclusions: tuple[tuple[float, float], ...]
    wide_scale: float | None
    background: Spectrum
    residual: Spectrum
    fit_energy: np.ndarray
    fit_intensity: np.ndarray
    fit_included: np.ndarray
    fit_curve: np.ndarray
    success: bool
    message: str
    report: str
    operation: Mapping[str, Any] = field(default_factory=dict)
    #: "sigma" (1/σ²), "balanced" (1/σ², each scan's total weight equal) or "none"
    weighting: str = "none"
    #: reduced χ² of each scan on its own ("main", and "wide" when a wide scan was joined); see fit_background
    scan_reduced_chi_square: Mapping[str, float] = field(default_factory=dict)
    #: physical sanity problems in plain words (empty when the fit is sensible); see check_sanity
    problems: tuple[str, ...] = ()
    #: what to do when there are problems
    advice: str = ""

    @property
    def sensible(self) -> bool:
        """A converged fit can still be wrong: True when no sanity check failed."""
        return not self.problems

    @property
    def residual_in_sigma(self) -> np.ndarray | None:
        """(data − background) / σ on the main scan's grid, σ of data and background combined (None without σ)."""
        if self.residual.uncertainty is None:
            return None
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.asarray(self.residual.intensity, float) / np.asarray(self.residual.uncertainty, float)

    @property
    def model_name(self) -> str:
        return " + ".join(component.describe() for component in self.components)

    def parameter(self, name: str) -> FitParameter:
        for parameter in self.parameters:
            if parameter.name == name:
                return parameter
        raise KeyError(name)


# ----------------------------------------------------------------------------------------------
# grids


def median_step(energy: np.ndarray) -> float:
    steps = np.diff(np.sort(np.asarray(energy, dtype=float)))
    steps = steps[steps > 0]
    return float(np.median(steps)) if steps.size else 0.0


def join_with_wide(main: Spectrum, wide: Spectrum) -> tuple[Spectrum, float | None]:
    """Join ``wide`` to ``main`` on one grid without near-duplicate abscissae.

    Where the scans overlap the main scan's points are kept and the wide scan only serves to find
    the scale ``s`` that matches it to the main scan by least squares over the overlap,
    ``s = Σ m·w / Σ w²`` (w = wide scan interpolated on the main points there). Wide points closer
    than half a main step to the main range are dropped. Returns the joined spectrum and ``s``
    (None when the scans do not overlap; the wide scan is then brought to the main scan's units
    with :func:`units_factor`, e.g. multiplied by the main scan's area-normalisation factor).
    The factor applied is ``metadata["wide_factor"]`` of the joined spectrum.
    """
    if main.axis != wide.axis:
        raise ValueError(f"cannot join a {wide.axis} spectrum to a {main.axis} spectrum")
    main_e, main_y = _finite(main.energy, main.intensity)
    order = np.argsort(wide.energy)
    wide_e = np.asarray(wide.energy, dtype=float)[order]
    wide_y = np.asarray(wide.intensity, dtype=float)[order]
    wide_s = None if wide.uncertainty is None else np.asarray(wide.uncertainty, dtype=float)[order]
    finite = np.isfinite(wide_e) & np.isfinite(wide_y)
    wide_e, wide_y = wide_e[finite], wide_y[finite]
    wide_s = None if wide_s is None else wide_s[finite]
    if wide_e.size == 0 or main_e.size == 0:
        raise ValueError("the main and the wide scan both need finite points")
    lo, hi = float(main_e.min()), float(main_e.max())
    in_overlap = (main_e >= wide_e.min()) & (main_e <= wide_e.max())
    scale: float | None = None
    if np.count_nonzero(in_overlap) >= 2:
        interpolated = np.interp(main_e[in_overlap], wide_e, wide_y)
        denominator = float(np.sum(interpolated * interpolated))
        if denominator > 0:
            scale = float(np.sum(main_y[in_overlap] * interpolated) / denominator)
    factor = units_factor(main, wide) if scale is None else scale
    half_step = 0.5 * (median_step(main_e) or median_step(wide_e))
    outside = (wide_e < lo - half_step) | (wide_e > hi + half_step)
    energy = np.concatenate([np.asarray(main.energy, dtype=float), wide_e[outside]])
    intensity = np.concatenate([np.asarray(main.intensity, dtype=float), factor * wide_y[outside]])
    uncertainty = None
    if main.uncertainty is not None and wide_s is not None:
        uncertainty = np.concatenate([np.asarray(main.uncertainty, dtype=float), abs(factor) * wide_s[outside]])
    order = np.argsort(energy, kind="stable")
    joined = Spectrum(
        energy=energy[order],
        intensity=intensity[order],
        uncertainty=None if uncertainty is None else uncertainty[order],
        label=f"{main.label} + {wide.label}",
        channel=main.channel,
        source=main.source,
        axis=main.axis,
        metadata={"joined_with": wide.label or wide.source, "wide_scale": scale, "wide_factor": factor},
    )
    return joined, scale


def units_factor(main: Spectrum, wide: Spectrum) -> float:
    """Factor bringing ``wide`` to the units of ``main`` when no overlap can calibrate it.

    Both are assumed measured in the same raw units (counts per monitor); each may carry an area
    normalisation ``I' = f·I`` (``metadata["normalisation"]["factor"]``), so the factor is
    ``f_main / f_wide`` (1 for two raw scans). Without it a raw wide scan joined to a normalised
    main scan would put a step of ``f_main`` into the joined data.
    """

    def factor_of(spectrum: Spectrum) -> float:
        record = spectrum.metadata.get("normalisation")
        value = record.get("factor") if isinstance(record, dict) else None
        return float(value) if value is not None and np.isfinite(value) and value > 0 else 1.0

    return factor_of(main) / factor_of(wide)


def _finite(energy, intensity) -> tuple[np.ndarray, np.ndarray]:
    energy = np.asarray(energy, dtype=float)
    intensity = np.asarray(intensity, dtype=float)
    keep = np.isfinite(energy) & np.isfinite(intensity)
    return energy[keep], intensity[keep]


def exclusion_mask(energy: np.ndarray, exclusions: Sequence[Sequence[float]]) -> np.ndarray:
    """True for points outside every span ``lo ≤ E ≤ hi`` (spans may be given in either order)."""
    energy = np.asarray(energy, dtype=float)
    keep = np.ones(energy.shape, dtype=bool)
    for span in exclusions:
        lo, hi = sorted((float(span[0]), float(span[1])))
        keep &= ~((energy >= lo) & (energy <= hi))
    return keep


# ----------------------------------------------------------------------------------------------
# model construction


def _polynomial(x, c0=0.0, c1=0.0, c2=0.0, c3=0.0, x_ref=0.0):
    """c0 + c1·t + c2·t² + c3·t³ with t = x − x_ref (x_ref fixed: keeps the fit well conditioned)."""
    t = x - x_ref
    return c0 + t * (c1 + t * (c2 + t * c3))


def _linear(x, intercept=0.0, slope=0.0, x_ref=0.0):
    """intercept + slope·(x − x_ref), x_ref fixed at the centre of the data."""
    return intercept + slope * (x - x_ref)


def _build_model(components: Sequence[Component]):
    import lmfit
    from lmfit.models import Pearson7Model, PseudoVoigtModel

    counts: dict[str, int] = {}
    model = None
    prefixes: list[str] = []
    for component in components:
        counts[component.kind] = counts.get(component.kind, 0) + 1
        index = counts[component.kind]
        short = {"linear": "lin", "polynomial": "poly", "pearson7": "p7", "pseudovoigt": "pv"}[component.kind]
        prefix = f"{short}{index if index > 1 else ''}_"
        if component.kind == "linear":
            part = lmfit.Model(_linear, prefix=prefix)
        elif component.kind == "polynomial":
            part = lmfit.Model(_polynomial, prefix=prefix)
        elif component.kind == "pearson7":
            part = Pearson7Model(prefix=prefix)
        else:
            part = PseudoVoigtModel(prefix=prefix)
        prefixes.append(prefix)
        model = part if model is None else model + part
    return model, prefixes


def _peak_height_per_amplitude(component: Component, sigma: float, extra: float) -> float:
    """Height at the centre of the unit-amplitude tail function (to turn a height into an amplitude)."""
    if component.kind == "pearson7":
        return math.gamma(extra) / (math.gamma(0.5) * math.gamma(extra - 0.5)) / sigma
    sigma_g = sigma / math.sqrt(2 * math.log(2))
    gaussian_peak = 1.0 / (sigma_g * math.sqrt(2 * math.pi))
    lorentzian_peak = 1.0 / (math.pi * sigma)
    return (1 - extra) * gaussian_peak + extra * lorentzian_peak


def _initial_parameters(model, components, prefixes, energy, intensity, tail_centre, tail_height, start):
    params = model.make_params()
    x_ref = float(np.round(0.5 * (energy.min() + energy.max()), 2))
    span = float(energy.max() - energy.min()) or 1.0
    has_tail = any(component.kind in TAIL_KINDS for component in components)
    n_smooth = sum(component.kind in ("linear", "polynomial") for component in components) or 1
    level = float(np.min(intensity)) if has_tail else float(np.median(intensity))
    slope_guess = 0.0 if has_tail else float(np.polyfit(energy - x_ref, intensity, 1)[0])
    for component, prefix in zip(components, prefixes):
        if component.kind in ("linear", "polynomial"):
            params[f"{prefix}x_ref"].set(value=x_ref, vary=False)
            if component.kind == "linear":
                params[f"{prefix}intercept"].set(value=level / n_smooth)
                params[f"{prefix}slope"].set(value=slope_guess / n_smooth)
            else:
                params[f"{prefix}c0"].set(value=level / n_smooth)
                for power in (1, 2, 3):
                    name = f"{prefix}c{power}"
                    if power <= component.degree:
                        params[name].set(value=slope_guess / n_smooth if power == 1 else 0.0)
                    else:
                        params[name].set(value=0.0, vary=False)
        else:
            sigma = _DEFAULT_TAIL_WIDTH_EV
            shape_name, shape_value = ("expon", 1.5) if component.kind == "pearson7" else ("fraction", 0.5)
            height = max(tail_height - level, 1e-12 * max(abs(tail_height), 1.0))
            amplitude = height / _peak_height_per_amplitude(component, sigma, shape_value)
            params[f"{prefix}center"].set(value=tail_centre, min=tail_centre - max(30.0, span), max=tail_centre + max(30.0, span))
            params[f"{prefix}sigma"].set(value=sigma, min=0.05, max=max(50.0, span))
            params[f"{prefix}amplitude"].set(value=amplitude, min=0.0)
            if component.kind == "pearson7":
                params[f"{prefix}expon"].set(value=shape_value, min=0.51, max=50.0)
            else:
                params[f"{prefix}fraction"].set(value=shape_value, min=0.0, max=1.0)
    for name, value in (start or {}).items():
        if name not in params:
            raise ValueError(f"unknown starting parameter {name!r}; the model has {', '.join(params)}")
        params[name].set(value=float(value))
    return params


# ----------------------------------------------------------------------------------------------
# the fit


def fit_background(
    spectrum: Spectrum,
    components: Sequence["str | Component | tuple"],
    *,
    exclusions: Sequence[Sequence[float]] = (),
    wide: Spectrum | None = None,
    start: Mapping[str, float] | None = None,
    weighted: bool = True,
    weighting: str | None = None,
) -> BackgroundFit:
    """Fit a background ``B(E) = Σ components`` to ``spectrum`` outside the exclusion spans.

    Least squares ``min Σ w_i (y_i − B(E_i))²`` over the points outside every exclusion span.
    ``weighting`` (default ``"sigma"`` when ``weighted``, else ``"none"``): ``"sigma"`` uses
    ``w_i = 1/σ_i²``; ``"balanced"`` (with a wide scan) refits ``BALANCE_PASSES`` times with each
    scan's σ multiplied by √max(χ²ᵣ_s, 1) of the previous pass, so the wide Kβ1,3 scan, which a
    smooth tail model cannot follow within its counting statistics, stops pulling the background
    below the VtC scan it is for; ``"none"`` uses ``w_i = 1`` (also when a σ is missing or not
    positive). The reduced χ² of each scan, ``Σ_s r_i²/σ_i² / (n_s − p n_s / n)``,
    is reported separately (p free parameters, n fitted points). The fit is then checked for
    physical sense (:func:`check_sanity`).
    Starting values come from the data: a tail's centre at the maximum of the wide scan when one
    is given, else at the maximum of the fitted data, its width a few eV, its height the maximum
    above the minimum; ``start`` overrides any starting value by parameter name.
    R² = 1 − Σ(y − B)² / Σ(y − ȳ)² over the fitted points (unweighted).
    """
    import lmfit  # noqa: F401  (first use: heavy import deferred to here)

    parsed = tuple(parse_component(component) for component in components)
    if not parsed:
        raise ValueError("a background model needs at least one component")
    spans = tuple(tuple(sorted((float(a), float(b)))) for a, b in exclusions)
    joined, wide_scale = join_with_wide(spectrum, wide) if wide is not None else (spectrum, None)
    energy = np.asarray(joined.energy, dtype=float)
    intensity = np.asarray(joined.intensity, dtype=float)
    sigma = None if joined.uncertainty is None else np.asarray(joined.uncertainty, dtype=float)
    finite = np.isfinite(energy) & np.isfinite(intensity)
    included = finite & exclusion_mask(energy, spans)
    n_free = _count_free(parsed)
    if np.count_nonzero(included) <= n_free:
        raise ValueError(
            f"only {np.count_nonzero(included)} points lie outside the exclusion spans; "
            f"the model has {n_free} free parameters"
        )
    from_wide = _from_wide(joined, spectrum) if wide is not None else np.zeros(energy.shape, dtype=bool)
    weighting = _weighting_mode(weighting, weighted, sigma, included, wide is not None)
    result, scan_chi = _run_fit(parsed, joined, wide, included, sigma, from_wide, weighting, start)

    curve_fit_points = np.full(energy.shape, np.nan)
    curve_fit_points[finite] = result.eval(x=energy[finite])
    y_fit = intensity[included]
    total = float(np.sum((y_fit - y_fit.mean()) ** 2))
    r_squared = 1.0 - float(np.sum((y_fit - result.best_fit) ** 2)) / total if total > 0 else float("nan")
    parameters = tuple(
        FitParameter(name, float(par.value), None if par.stderr is None else float(par.stderr), bool(par.vary))
        for name, par in result.params.items()
    )
    operation = _operation(parsed, parameters, spans, wide, wide_scale, weighting, r_squared, spectrum)
    background, residual = _result_spectra(spectrum, result, operation)
    fit = BackgroundFit(
        components=parsed, parameters=parameters, r_squared=r_squared, chi_square=float(result.chisqr),
        reduced_chi_square=float(result.redchi), n_points=int(np.count_nonzero(finite)),
        n_used=int(np.count_nonzero(included)), weighted=weighting != "none", exclusions=spans,
        wide_scale=wide_scale, background=background, residual=residual, fit_energy=energy,
        fit_intensity=intensity, fit_included=included, fit_curve=curve_fit_points, success=bool(result.success),
        message=str(result.message), report="", operation=operation, weighting=weighting,
        scan_reduced_chi_square=scan_chi,
    )
    problems, advice = check_sanity(fit, spectrum, wide)
    return _with_report(dataclasses.replace(fit, problems=problems, advice=advice), spectrum, wide)


def _operation(parsed, parameters, spans, wide, wide_scale, weighting: str, r_squared: float,
               spectrum: Spectrum) -> dict[str, Any]:
    """The provenance record of a background fit (``metadata["operations"]`` of its spectra)."""
    return {"operation": "background", "model": " + ".join(component.spec() for component in parsed),
            "parameters": {p.name: p.value for p in parameters},
            "uncertainties": {p.name: p.stderr for p in parameters if p.vary},
            "exclusions": [list(span) for span in spans], "wide": None if wide is None else (wide.label or wide.source),
            "wide_scale": wide_scale, "weighted": weighting != "none", "weighting": weighting,
            "r_squared": r_squared, "input": spectrum.label or spectrum.source}


def _run_fit(parsed, joined: Spectrum, wide, included, sigma, from_wide, weighting: str, start):
    """Build the model, start it from the data and fit (refitting for a balanced weighting): (result, χ²ᵣ per scan)."""
    model, prefixes = _build_model(parsed)
    n_free = _count_free(parsed)
    x_fit = np.asarray(joined.energy, dtype=float)[included]
    y_fit = np.asarray(joined.intensity, dtype=float)[included]
    if wide is not None:
        wide_e, wide_y = _finite(wide.energy, wide.intensity)
        peak_index = int(np.argmax(wide_y))
        tail_centre = float(wide_e[peak_index])
        tail_height = float(wide_y[peak_index]) * float(joined.metadata.get("wide_factor", 1.0))
    else:
        peak_index = int(np.argmax(y_fit))
        tail_centre, tail_height = float(x_fit[peak_index]), float(y_fit[peak_index])
    params = _initial_parameters(model, parsed, prefixes, x_fit, y_fit, tail_centre, tail_height, start)
    if wide is None:
        _keep_edge_tail_outside(params, parsed, prefixes, x_fit, peak_index, start)
    weights = _weights(sigma, included, from_wide, weighting)
    result = model.fit(y_fit, params, x=x_fit, weights=weights, nan_policy="raise", max_nfev=4000)
    scan_chi = _scan_reduced_chi_square(y_fit - result.best_fit, sigma, included, from_wide, n_free)
    for _ in range(BALANCE_PASSES if weighting == "balanced" else 0):
        weights = _weights(sigma, included, from_wide, weighting, scan_chi)
        result = model.fit(y_fit, result.params, x=x_fit, weights=weights, nan_policy="raise", max_nfev=4000)
        scan_chi = _scan_reduced_chi_square(y_fit - result.best_fit, sigma, included, from_wide, n_free)
    return result, scan_chi


def _result_spectra(spectrum: Spectrum, result, operation: dict[str, Any]) -> tuple[Spectrum, Spectrum]:
    """The background and the residual (data − background, σ combined) on the main scan's grid."""
    main_energy = np.asarray(spectrum.energy, dtype=float)
    background_values = np.full(main_energy.shape, np.nan)
    main_finite = np.isfinite(main_energy)
    background_values[main_finite] = result.eval(x=main_energy[main_finite])
    background_sigma = _background_uncertainty(result, main_energy, main_finite)
    operations = list(spectrum.metadata.get("operations", []))
    base_label = spectrum.label or "spectrum"
    background = evolve(
        spectrum, intensity=background_values, uncertainty=background_sigma, monitor=None,
        label=f"background of {base_label}",
        metadata={"operations": operations + [dict(operation, result="background")]},
    )
    residual_sigma = None
    if spectrum.uncertainty is not None:
        residual_sigma = np.asarray(spectrum.uncertainty, dtype=float)
        if background_sigma is not None:
            residual_sigma = np.sqrt(residual_sigma**2 + background_sigma**2)
    residual = evolve(
        spectrum, intensity=np.asarray(spectrum.intensity, dtype=float) - background_values,
        uncertainty=residual_sigma, label=f"{base_label} − background",
        metadata={"operations": operations + [dict(operation, result="residual")]},
    )
    return background, residual


WEIGHTINGS = ("sigma", "balanced", "none")
#: refits of a balanced fit, each with σ of every scan inflated by √χ²ᵣ of the previous pass
BALANCE_PASSES = 2


def _weighting_mode(weighting: str | None, weighted: bool, sigma, included, has_wide: bool) -> str:
    mode = weighting if weighting is not None else ("sigma" if weighted else "none")
    if mode not in WEIGHTINGS:
        raise ValueError(f"unknown weighting {mode!r}; choose from {', '.join(WEIGHTINGS)}")
    if mode != "none" and (sigma is None or not np.all(sigma[included] > 0)):
        return "none"
    if mode == "balanced" and not has_wide:
        return "sigma"   # one scan: balancing changes nothing
    return mode


def _from_wide(joined: Spectrum, main: Spectrum) -> np.ndarray:
    """True for the joined points that came from the wide scan (the main scan's energies are kept exactly)."""
    return ~np.isin(np.asarray(joined.energy, float), np.asarray(main.energy, float))


def _weights(sigma, included, from_wide, mode: str, scan_chi: Mapping[str, float] | None = None) -> np.ndarray | None:
    """lmfit weights (they multiply the residual: 1/σ) of the fitted points for a weighting mode.

    ``balanced`` with the per-scan reduced χ² of a previous pass inflates each scan's σ by
    √max(χ²ᵣ, 1) (the Birge ratio), so a scan the model cannot follow within its statistics — the
    Kβ1,3 main line — no longer dictates the background under the VtC lines.
    """
    if mode == "none":
        return None
    weights = 1.0 / sigma[included]
    if mode == "balanced" and scan_chi:
        wide = from_wide[included]
        for name, part in (("main", ~wide), ("wide", wide)):
            ratio = scan_chi.get(name, 1.0)
            if np.isfinite(ratio) and ratio > 1.0:
                weights[part] /= math.sqrt(ratio)
    return weights


def _scan_reduced_chi_square(residual, sigma, included, from_wide, n_free: int) -> dict[str, float]:
    """χ²/ν of the main and the wide scan separately, ν_s = n_s − p·n_s/n (the parameters shared pro rata)."""
    if sigma is None or not np.all(sigma[included] > 0):
        return {}
    pulls = np.square(residual / sigma[included])
    wide = from_wide[included]
    total = int(included.sum())
    values = {}
    for name, part in (("main", ~wide), ("wide", wide)):
        count = int(part.sum())
        if count:
            dof = count - n_free * count / total
            values[name] = float(np.sum(pulls[part]) / dof) if dof > 0 else float("nan")
    return values


#: a background this many σ above the data in the excluded region is "above the data beyond noise"
SANITY_SIGMA = 3.0
#: ... when at least this fraction of the excluded points (and at least 3 of them) are that far above
SANITY_FRACTION = 0.05


def _tail_problems(fit: BackgroundFit) -> list[str]:
    """A Kβ1,3 tail must be centred below the excluded region (on the Kβ1,3 side), not on the lines kept."""
    if not fit.exclusions:
        return []
    excluded_lo = min(lo for lo, _ in fit.exclusions)
    excluded_hi = max(hi for _, hi in fit.exclusions)
    problems = []
    for parameter in fit.parameters:
        if parameter.name.endswith("_center") and parameter.name.split("_")[0].rstrip("0123456789") in ("p", "pv", "p7"):
            if parameter.value >= excluded_lo:
                where = "inside" if parameter.value <= excluded_hi else "above"
                problems.append(
                    f"the tail is centred at {parameter.value:.2f} eV, {where} the excluded region "
                    f"{excluded_lo:.2f}–{excluded_hi:.2f} eV: it was fitted onto the lines you meant to keep, "
                    "not onto the Kβ1,3 tail below them")
    return problems


def _overshoot_problem(fit: BackgroundFit, spectrum: Spectrum) -> list[str]:
    """The background must not rise above the data in the excluded region by more than the noise."""
    energy = np.asarray(spectrum.energy, float)
    excluded = ~exclusion_mask(energy, fit.exclusions) & np.isfinite(spectrum.intensity)
    excluded &= np.isfinite(fit.background.intensity)
    if not fit.exclusions or excluded.sum() < 3:
        return []
    excess = np.asarray(fit.background.intensity, float)[excluded] - np.asarray(spectrum.intensity, float)[excluded]
    if spectrum.uncertainty is not None and np.all(np.asarray(spectrum.uncertainty, float)[excluded] > 0):
        noise = np.asarray(spectrum.uncertainty, float)[excluded]
    else:
        outside = fit.residual.intensity[exclusion_mask(energy, fit.exclusions) & np.isfinite(fit.residual.intensity)]
        spread = 1.4826 * float(np.median(np.abs(outside - np.median(outside)))) if outside.size else 0.0
        noise = np.full(excess.shape, spread if spread > 0 else np.inf)
    pulls = excess / noise
    above = pulls > SANITY_SIGMA
    if above.sum() >= max(3, SANITY_FRACTION * above.size):
        worst = int(np.argmax(pulls))
        return [f"the background lies above the data by more than {SANITY_SIGMA:g}σ at {int(above.sum())} of "
                f"{above.size} points of the excluded region (up to {pulls[worst]:.1f}σ at "
                f"{energy[excluded][worst]:.2f} eV): it cuts into the lines"]
    return []


#: a tail parameter is undetermined when its σ is not below this fraction of its value (a centre: of the width)
DETERMINED_FRACTION = 1 / 3
#: points on each side of an exclusion whose mean residual must be within SANITY_SIGMA of zero
EDGE_POINTS = 6


def _is_tail_parameter(name: str) -> bool:
    """Parameters of a tail component are prefixed ``p7_``, ``p72_``…, ``pv_``, ``pv2_``… (see _build_model)."""
    prefix = name.split("_")[0]
    return prefix[:2] in ("p7", "pv") and (prefix[2:] == "" or prefix[2:].isdigit())


def _undetermined_problems(fit: BackgroundFit) -> list[str]:
    """Every varying tail parameter must be determined: σ known and well below its value."""
    problems = []
    for component_prefix in sorted({p.name.split("_")[0] for p in fit.parameters if _is_tail_parameter(p.name)}):
        values = {p.name[len(component_prefix) + 1:]: p for p in fit.parameters if p.name.startswith(component_prefix + "_")}
        width = values["sigma"].value if "sigma" in values else float("nan")
        for name, parameter in values.items():
            if not parameter.vary:
                continue
            scale = width if name == "center" else abs(parameter.value)
            if parameter.stderr is None or not math.isfinite(parameter.stderr) or not parameter.stderr < DETERMINED_FRACTION * scale:
                error = "unknown" if parameter.stderr is None else f"{parameter.stderr:.3g}"
                problems.append(f"the tail's {name} is {parameter.value:.4g} ± {error}: not determined by the data")
    return problems


def _position_problems(fit: BackgroundFit, spectrum: Spectrum, wide: Spectrum | None) -> list[str]:
    """Without a wide scan a tail's centre must lie below the fitted data (their first point is not a peak)."""
    if wide is not None:
        return []
    first = float(np.nanmin(np.asarray(spectrum.energy, float)))
    step = median_step(np.asarray(spectrum.energy, float))
    return [f"the tail is centred at {p.value:.2f} eV, on or above the first data point ({first:.2f} eV): without "
            "the wide scan its peak is not in the data" for p in fit.parameters
            if p.name.endswith("_center") and _is_tail_parameter(p.name) and p.value >= first - step]


def _structure_problems(fit: BackgroundFit, spectrum: Spectrum) -> list[str]:
    """Residuals without structure: a runs test on their signs, and the mean residual next to each exclusion."""
    pulls = fit.residual_in_sigma
    if pulls is None:
        return []
    energy = np.asarray(spectrum.energy, float)
    used = exclusion_mask(energy, fit.exclusions) & np.isfinite(pulls)
    signs = np.sign(pulls[used])[np.sign(pulls[used]) != 0] > 0
    problems = []
    if signs.size > 10:
        above, below = int(signs.sum()), int((~signs).sum())
        runs = 1 + int(np.count_nonzero(signs[1:] != signs[:-1]))
        mean = 1 + 2 * above * below / signs.size
        spread = math.sqrt(max((mean - 1) * (mean - 2) / (signs.size - 1), 1e-12))
        if (runs - mean) / spread < -SANITY_SIGMA:
            problems.append(f"the residual has structure: {runs} runs of one sign where {mean:.0f} ± {spread:.0f} "
                            "are expected from noise")
    for lo, hi in fit.exclusions:
        for side, part in (("below", (energy < lo) & used), ("above", (energy > hi) & used)):
            order = np.argsort(np.abs(energy[part] - (lo if side == "below" else hi)))[:EDGE_POINTS]
            near = pulls[part][order]
            significance = float(np.mean(near)) * math.sqrt(near.size)
            if near.size >= 3 and abs(significance) > SANITY_SIGMA:
                problems.append(f"the {near.size} points {side} the exclusion edge at {lo if side == 'below' else hi:.2f} "
                                f"eV lie {'above' if significance > 0 else 'below'} the background by {abs(significance):.1f}σ "
                                "of their mean: the exclusion does not end where the lines do")
    return problems


def check_sanity(fit: BackgroundFit, spectrum: Spectrum, wide: Spectrum | None) -> tuple[tuple[str, ...], str]:
    """Physical checks a converged fit must also pass, and plain advice when one fails.

    1. every tail component is centred below the lowest exclusion (the Kβ1,3 side of the VtC lines),
       and, without a wide scan, below the first data point;
    2. every varying tail parameter is determined (σ < ``DETERMINED_FRACTION`` of its value; a
       centre's σ below that fraction of the tail's width);
    3. in the excluded region the background is not above the data by more than ``SANITY_SIGMA`` σ at
       ``SANITY_FRACTION`` of the points or more (σ of the data, else the robust scatter of the
       residual outside the exclusions);
    4. the residual has no structure: the signs' runs test is within ``SANITY_SIGMA``, and the mean of
       the ``EDGE_POINTS`` residuals next to each exclusion edge is within ``SANITY_SIGMA`` σ of zero.
    """
    problems = (_tail_problems(fit) + _position_problems(fit, spectrum, wide) + _undetermined_problems(fit)
                + _overshoot_problem(fit, spectrum) + _structure_problems(fit, spectrum))
    if not problems:
        return (), ""
    advice = []
    if wide is None:
        advice.append("add the wide Kβ1,3 scan so the tail is fitted on its own peak")
    suggested = default_exclusions(spectrum)
    if suggested and [tuple(span) for span in suggested] == [tuple(span) for span in fit.exclusions]:
        advice.append("try another background model (a Pearson VII tail + linear with the wide scan), since the "
                      "exclusion found in the data is the one used")
    elif suggested:
        span = ", ".join(f"{lo:.2f}–{hi:.2f} eV" for lo, hi in suggested)
        advice.append(f"widen the exclusion to cover Kβ'' through Kβ2,5 (from this scan: {span})")
    else:
        advice.append("widen the exclusion to cover every line you want to keep")
    text = "; or ".join(advice)
    return tuple(problems), text[:1].upper() + text[1:] + "."


# ----------------------------------------------------------------------------------------------
# default exclusion of the valence-to-core lines

#: Kβ'' (ligand 2s crossover) is searched this far below the Kβ2,5 maximum, in eV
KBETA_DOUBLE_PRIME_RANGE = (8.0, 22.0)
#: a Kβ'' bump must stand this many σ (of the smoothed data) above the minimum on its low side
KBETA_DOUBLE_PRIME_SIGMA = 3.0
_SMOOTH_POINTS = 7


def _smoothed(energy: np.ndarray, intensity: np.ndarray) -> np.ndarray:
    """Moving mean over ``_SMOOTH_POINTS`` points (NaN where the window runs off the data)."""
    kernel = np.ones(_SMOOTH_POINTS) / _SMOOTH_POINTS
    smooth = np.convolve(intensity, kernel, mode="same")
    half = _SMOOTH_POINTS // 2
    smooth[:half] = np.nan
    smooth[-half:] = np.nan
    return smooth


def _walk_down(smooth: np.ndarray, index: int, direction: int) -> int:
    """From ``index``, follow the smoothed data downhill in ``direction`` to the first local minimum."""
    while 0 <= index + direction < smooth.size and np.isfinite(smooth[index + direction]) \
            and smooth[index + direction] <= smooth[index]:
        index += direction
    return index


def default_exclusions(spectrum: Spectrum) -> list[tuple[float, float]]:
    """The exclusion covering Kβ'' through Kβ2,5 of a lower-spectrometer VtC scan, found in the data.

    Kβ2,5 is the maximum of the data smoothed over 7 points; the span runs downhill from it to the
    first local minimum of the smoothed data on the low side, and on the high side to where the data
    return to the background within noise (:func:`_signal_end`), not to the first noise minimum. Kβ'' is the highest local maximum 8–22 eV
    below Kβ2,5 that stands ``KBETA_DOUBLE_PRIME_SIGMA`` σ above the minimum on its low side (σ of the
    7-point mean); when there is one, the span starts at that minimum instead. Empty for an upper-
    spectrometer scan, a non-emission axis or a scan too short to smooth.
    """
    from xestools.model import Channel

    if spectrum.axis != "emission" or spectrum.channel is Channel.UPPER:
        return []
    energy, intensity = _finite(spectrum.energy, spectrum.intensity)
    if energy.size < 3 * _SMOOTH_POINTS:
        return []
    order = np.argsort(energy, kind="stable")
    energy, intensity = energy[order], intensity[order]
    sigma = None
    if spectrum.uncertainty is not None:
        keep = np.isfinite(np.asarray(spectrum.energy, float)) & np.isfinite(np.asarray(spectrum.intensity, float))
        sigma = np.asarray(spectrum.uncertainty, float)[keep][order]
    smooth = _smoothed(energy, intensity)
    top = int(np.nanargmax(smooth))
    low, high = _walk_down(smooth, top, -1), _walk_down(smooth, top, +1)
    noise = (sigma if sigma is not None else np.full(energy.size, 1.4826 * float(
        np.median(np.abs(np.diff(intensity))) / math.sqrt(2)))) / math.sqrt(_SMOOTH_POINTS)
    near, far = KBETA_DOUBLE_PRIME_RANGE
    best = None
    for index in range(1, top):
        if not (near <= energy[top] - energy[index] <= far and np.isfinite(smooth[index - 1])
                and smooth[index] >= smooth[index - 1] and smooth[index] >= smooth[index + 1]):
            continue
        floor = _walk_down(smooth, index, -1)
        if (smooth[index] - smooth[floor]) / noise[index] >= KBETA_DOUBLE_PRIME_SIGMA:
            if best is None or smooth[index] > smooth[best]:
                best = index
    if best is not None:
        low = min(low, _walk_down(smooth, best, -1))
    high = max(high, _signal_end(energy, intensity, sigma, top))
    return [(float(energy[low]), float(energy[high]))]


#: the background level above the lines is a line fitted to this many eV at the scan's high end
END_BASELINE_EV = 8.0
#: the signal has ended where the 7-point mean is within this many σ of that level ...
END_SIGMA = 1.0
#: ... and stays within twice that for this many following points
END_CONFIRM_POINTS = 6


def _signal_end(energy: np.ndarray, intensity: np.ndarray, sigma: np.ndarray | None, top: int) -> int:
    """Index where the data above the Kβ2,5 maximum return to the background within noise.

    The first local minimum of the smoothed data is often a noise dip on the Kβ2,5 tail, 5–6 eV short of
    its end. Instead: the background level is a weighted line through the last ``END_BASELINE_EV`` eV;
    walking up from the maximum, the end is the first point where the 7-point mean exceeds that line by
    less than ``END_SIGMA`` σ of the mean and stays below 2 ``END_SIGMA`` σ for ``END_CONFIRM_POINTS``
    points. The top of the walk is the start of the baseline stretch (the lines may run to the end).
    """
    if sigma is None or not np.all(sigma > 0):
        sigma = np.full(energy.size, 1.4826 * float(np.median(np.abs(np.diff(intensity)))) / math.sqrt(2) or 1.0)
    tail = energy >= energy[-1] - END_BASELINE_EV
    first_tail = int(np.argmax(tail))
    if tail.sum() < 5 or first_tail <= top + 1:
        return top
    weight = 1.0 / sigma[tail] ** 2
    slope, level = np.polyfit(energy[tail] - energy[-1], intensity[tail], 1, w=np.sqrt(weight))
    excess = intensity - (level + slope * (energy - energy[-1]))
    half = _SMOOTH_POINTS // 2
    pulls = np.full(energy.size, np.inf)
    for index in range(top + 1, energy.size - half):
        part = slice(index - half, index + half + 1)
        pulls[index] = np.mean(excess[part]) / (math.sqrt(np.sum(sigma[part] ** 2)) / _SMOOTH_POINTS)
    for index in range(top + 1, first_tail):
        if pulls[index] < END_SIGMA and np.all(pulls[index:index + END_CONFIRM_POINTS] < 2 * END_SIGMA):
            return index
    return first_tail


def series_exclusions(spectra: Sequence[Spectrum]) -> list[tuple[float, float]]:
    """The exclusion of a series, found once on its average so every repeat is treated alike."""
    from xestools.analysis.average import average_spectra

    spectra = list(spectra)
    return default_exclusions(spectra[0] if len(spectra) == 1 else average_spectra(spectra))


def _keep_edge_tail_outside(params, components, prefixes, x_fit, peak_index, start) -> None:
    """When the data maximum is at an edge, the data see only the far wing of a peak beyond it.

    The tail's centre is then bounded to lie beyond that edge and starts a few widths out, so the
    fit cannot move the peak into the data; an explicit ``start`` centre is respected.
    """
    order = np.argsort(x_fit)
    rank = int(np.searchsorted(x_fit[order], x_fit[peak_index]))
    edge_points = max(2, x_fit.size // 20)
    at_low_edge, at_high_edge = rank < edge_points, rank >= x_fit.size - edge_points
    if not (at_low_edge or at_high_edge):
        return
    for component, prefix in zip(components, prefixes):
        name = f"{prefix}center"
        if component.kind not in TAIL_KINDS or name in (start or {}):
            continue
        offset = 3 * _DEFAULT_TAIL_WIDTH_EV
        if at_low_edge:
            edge = float(x_fit.min())
            params[name].set(value=edge - offset, max=edge, min=edge - 100.0)
        else:
            edge = float(x_fit.max())
            params[name].set(value=edge + offset, min=edge, max=edge + 100.0)
        sigma = params[f"{prefix}sigma"].value
        height = float(np.max(params[f"{prefix}amplitude"].value)) * (1.0 + (offset / sigma) ** 2) ** 1.5
        params[f"{prefix}amplitude"].set(value=height)


def _count_free(components: Sequence[Component]) -> int:
    sizes = {"linear": 2, "pearson7": 4, "pseudovoigt": 4}
    return sum(component.degree + 1 if component.kind == "polynomial" else sizes[component.kind] for component in components)


def _background_uncertainty(result, energy: np.ndarray, finite: np.ndarray) -> np.ndarray | None:
    """1σ band of the fitted background from the covariance matrix (None when it is unavailable)."""
    if result.covar is None:
        return None
    errors = [par.stderr for par in result.params.values() if par.vary]
    if any(error is None or not np.isfinite(error) for error in errors):
        return None
    values = np.full(energy.shape, np.nan)
    if all(error == 0 for error in errors):  # an exact fit (noise-free data): no spread
        values[finite] = 0.0
        return values
    try:
        with np.errstate(invalid="ignore", divide="ignore"):
            values[finite] = result.eval_uncertainty(x=energy[finite], sigma=1)
    except (ValueError, np.linalg.LinAlgError, AttributeError, TypeError):
        log.warning("background uncertainty band unavailable", exc_info=True)
        return None
    if not np.all(np.isfinite(values[finite])):
        return None
    return values


_WEIGHTING_TEXT = {"sigma": "weighted by 1/σ²", "none": "unweighted",
                   "balanced": "weighted by 1/σ², balanced between the scans (σ × √χ²ᵣ of each scan)"}


def _with_report(fit: BackgroundFit, spectrum: Spectrum, wide: Spectrum | None) -> BackgroundFit:
    import dataclasses

    lines = [
        f"Background fit of {spectrum.label or spectrum.source or 'spectrum'}",
        f"Model: {fit.model_name}",
        f"Points: {fit.n_used} fitted of {fit.n_points} ({_WEIGHTING_TEXT[fit.weighting]})",
    ]
    if fit.exclusions:
        lines.append("Exclusions: " + ", ".join(f"{lo:.2f}–{hi:.2f} eV" for lo, hi in fit.exclusions))
    else:
        lines.append("Exclusions: none")
    if wide is not None:
        if fit.wide_scale is not None:
            scale = f"scaled by {fit.wide_scale:.6g} in the overlap"
        else:
            unit = units_factor(spectrum, wide)
            scale = "no overlap, used as it is" if unit == 1.0 else f"no overlap, × {unit:.6g} (the normalisation of this scan)"
        lines.append(f"Wide scan: {wide.label or wide.source}, {scale}")
    lines.append(f"Converged: {'yes' if fit.success else 'no'} ({fit.message})")
    if fit.sensible:
        lines.append("Physically sensible: yes (tail determined and centred below the excluded region; "
                     "background within the noise of the data there; residual without structure)")
    else:
        lines.append("Physically sensible: NO — " + "; ".join(fit.problems) + ".")
        lines.append(f"What to do: {fit.advice}")
    lines.append("")
    lines.append(f"{'parameter':<18} {'value':>14} {'uncertainty':>14}")
    for parameter in fit.parameters:
        if not parameter.vary:
            if parameter.name.endswith("x_ref"):
                lines.append(f"{parameter.name:<18} {parameter.value:>14.6g} {'(fixed)':>14}")
            continue
        stderr = "n/a" if parameter.stderr is None else f"{parameter.stderr:.3g}"
        lines.append(f"{parameter.name:<18} {parameter.value:>14.6g} {stderr:>14}")
    lines.append("")
    lines.append(f"R² = {fit.r_squared:.6f}")
    lines.append(f"χ² = {fit.chi_square:.6g}, reduced χ² = {fit.reduced_chi_square:.6g}")
    for name, value in fit.scan_reduced_chi_square.items():
        lines.append(f"reduced χ² of the {name} scan alone (1/σ²) = {value:.6g}")
    return dataclasses.replace(fit, report="\n".join(lines) + "\n")
