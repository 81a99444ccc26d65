"""Line-shape fitting of an XES spectrum: a sum of peaks plus a background, weighted by 1/σ (lmfit).

Model over a window: ``y(E) = Σ_k P_k(E) + B(E)``. Peaks are lmfit's area-normalised shapes
(``amplitude`` = area): Gaussian, Lorentzian, Voigt (γ = σ), pseudo-Voigt and Pearson VII. The
background is none, a constant, a line ``a + b (E − E_ref)`` (E_ref the window centre, fixed), or a
given background spectrum (e.g. a fitted Kβ1,3 tail) that is subtracted with its σ added in quadrature.
Constraints a valence-to-core fit needs: a shared width (σ and the shape parameter of every peak tied
to the first), a fixed or bounded separation between two centres, a fixed area ratio.

The minimiser is scipy's trust-region least squares (lmfit ``least_squares``: bounds handled
directly, not by a change of variables), converged to machine precision so that the result is
the minimum and not a stopping rule. Uncertainties: lmfit's covariance, **scaled by χ²ᵣ** (lmfit's default ``scale_covar``; with χ²ᵣ ≈ 1
this is the covariance from σ alone). Every reported quantity — centre, FWHM, height, area, area
ratio — gets its σ by propagating the full covariance of the free parameters, ``σ_q² = J C Jᵀ``
(J the numerical gradient of q), so correlations between peaks enter the ratios. A quantity whose σ
is not well below its value (:data:`UNDETERMINED_FRACTION`), or whose σ is unknown, is undetermined.

lmfit is imported inside the functions, on first use.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np

from xestools.model import Spectrum, evolve

PEAK_SHAPES = ("gaussian", "lorentzian", "voigt", "pseudovoigt", "pearson7")
BACKGROUND_KINDS = ("none", "constant", "linear")
#: a quantity is undetermined when σ ≥ this fraction of |value| (for a centre: of the peak's FWHM)
UNDETERMINED_FRACTION = 1 / 3
COVARIANCE_NOTE = "σ from the covariance scaled by χ²ᵣ (lmfit's default)"
_SHAPE_PARAMETER = {"pseudovoigt": "fraction", "pearson7": "expon"}


@dataclass(frozen=True)
class Separation:
    """Centre of peak ``second`` = centre of peak ``first`` + ``value`` (indices into the peak list, from 0).

    ``fixed`` keeps ``value``; otherwise it is fitted, within ``minimum``/``maximum`` when given.
    """

    first: int
    second: int
    value: float
    fixed: bool = True
    minimum: float | None = None
    maximum: float | None = None


@dataclass(frozen=True)
class AreaRatio:
    """Area of peak ``first`` = ``value`` × area of peak ``second`` (indices from 0), held fixed."""

    first: int
    second: int
    value: float


@dataclass(frozen=True)
class Quantity:
    """A fitted number with its 1σ; ``determined`` is False when σ is unknown or not well below the value."""

    value: float
    sigma: float
    determined: bool

    def as_dict(self) -> dict[str, Any]:
        return {"value": self.value, "sigma": self.sigma, "determined": self.determined}


@dataclass(frozen=True)
class PeakComponent:
    """One fitted peak: ``name`` is ``p1``, ``p2``… in the order the centres were given."""

    name: str
    shape: str
    center: Quantity
    fwhm: Quantity
    height: Quantity
    area: Quantity
    curve: np.ndarray = field(repr=False)

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "shape": self.shape,
                "center": self.center.value, "center_sigma": self.center.sigma,
                "fwhm": self.fwhm.value, "fwhm_sigma": self.fwhm.sigma,
                "height": self.height.value, "height_sigma": self.height.sigma,
                "area": self.area.value, "area_sigma": self.area.sigma,
                "undetermined": [key for key in ("center", "fwhm", "height", "area")
                                 if not getattr(self, key).determined]}


@dataclass(frozen=True, eq=False)
class LineFit:
    """The result of :func:`fit_lines`: numbers, curves on the fitted points, and what was fitted how.

    ``energy``/``data``/``sigma`` are the fitted points (the window); ``best_fit`` the model there,
    ``background_curve`` its background part, ``residual_sigma`` (data − model)/σ (divided by the rms
    residual when unweighted). ``start_values``, ``bounds`` and ``constraints`` (lmfit expressions)
    describe the model as it started; ``report`` is lmfit's fit report.
    """

    spectrum: Spectrum = field(repr=False)
    shape: str
    background_kind: str
    window: tuple[float, float]
    components: tuple[PeakComponent, ...]
    background: Mapping[str, Quantity]
    ratios: Mapping[str, Quantity]
    chi2: float
    chi2_reduced: float
    n_points: int
    n_free: int
    weighted: bool
    success: bool
    message: str
    energy: np.ndarray = field(repr=False)
    data: np.ndarray = field(repr=False)
    sigma: np.ndarray | None = field(repr=False)
    best_fit: np.ndarray = field(repr=False)
    background_curve: np.ndarray = field(repr=False)
    residual_sigma: np.ndarray = field(repr=False)
    start_values: Mapping[str, float]
    bounds: Mapping[str, tuple[float, float]]
    constraints: Mapping[str, str]
    report: str = field(repr=False)
    covariance_note: str = COVARIANCE_NOTE
    notes: tuple[str, ...] = ()

    @property
    def undetermined(self) -> tuple[str, ...]:
        """Names (``p1.area``, ``p1/p2``, ``background.slope``…) of every undetermined quantity."""
        names = [f"{component.name}.{key}" for component in self.components
                 for key in ("center", "fwhm", "height", "area") if not getattr(component, key).determined]
        names += [f"background.{key}" for key, value in self.background.items() if not value.determined]
        names += [key for key, value in self.ratios.items() if not value.determined]
        return tuple(names)

    @property
    def label(self) -> str:
        return f"fit of {self.spectrum.label or self.spectrum.source or 'spectrum'}"

    def model_record(self) -> dict[str, Any]:
        """The model as plain data: shape, background, window, start values, bounds, constraints."""
        return {"shape": self.shape, "background": self.background_kind, "window": list(self.window),
                "peaks": len(self.components), "start_values": dict(self.start_values),
                "bounds": {name: list(pair) for name, pair in self.bounds.items()},
                "constraints": dict(self.constraints), "weighted": self.weighted,
                "uncertainties": self.covariance_note}

    def as_dict(self) -> dict[str, Any]:
        """JSON-able summary (NaN stays a float: the CLI turns it into null)."""
        return {"label": self.label, "chi2_reduced": self.chi2_reduced, "chi2": self.chi2,
                "n_points": self.n_points, "n_free": self.n_free, "success": self.success,
                "message": self.message,
                "components": [component.as_dict() for component in self.components],
                "background": {key: value.as_dict() for key, value in self.background.items()},
                "ratios": {key: value.as_dict() for key, value in self.ratios.items()},
                "undetermined": list(self.undetermined), "notes": list(self.notes),
                "model": self.model_record()}

    def operation(self) -> dict[str, Any]:
        """The provenance record of the fit (``metadata["operations"]`` of its spectra)."""
        record = {"operation": "fit", "input": self.spectrum.label or self.spectrum.source,
                  "chi2_reduced": self.chi2_reduced, **self.model_record()}
        for component in self.components:
            for key in ("center", "fwhm", "height", "area"):
                quantity = getattr(component, key)
                record[f"{component.name}_{key}"] = quantity.value
                record[f"{component.name}_{key}_sigma"] = quantity.sigma
        for key, value in self.ratios.items():
            record[f"ratio {key}"] = value.value
            record[f"ratio {key} sigma"] = value.sigma
        return record

    def to_spectra(self) -> list[Spectrum]:
        """The "fit of …" spectrum (model on the fitted points) followed by one spectrum per component."""
        operations = list(self.spectrum.metadata.get("operations", []))
        record = self.operation()

        def item(values: np.ndarray, label: str, part: str) -> Spectrum:
            return evolve(self.spectrum, energy=self.energy, intensity=values, uncertainty=None, monitor=None,
                          label=label, metadata={"operations": operations + [dict(record, result=part)],
                                                 "fit_component": part})

        items = [item(self.best_fit, self.label, "fit")]
        for component in self.components:
            items.append(item(component.curve, f"{component.name} ({component.shape}) of {self.label[7:]}",
                              component.name))
        return items


def parameters_table(fit: LineFit) -> list[dict[str, Any]]:
    """One row per quantity (component, quantity, value, σ, determined): the CSV table of a fit."""
    rows = []
    for component in fit.components:
        for key in ("center", "fwhm", "height", "area"):
            quantity = getattr(component, key)
            rows.append({"component": component.name, "quantity": key, "value": quantity.value,
                         "sigma": quantity.sigma, "determined": quantity.determined})
    for key, quantity in fit.background.items():
        rows.append({"component": "background", "quantity": key, "value": quantity.value,
                     "sigma": quantity.sigma, "determined": quantity.determined})
    for key, quantity in fit.ratios.items():
        rows.append({"component": "ratio", "quantity": key, "value": quantity.value,
                     "sigma": quantity.sigma, "determined": quantity.determined})
    rows.append({"component": "fit", "quantity": "chi2_reduced", "value": fit.chi2_reduced,
                 "sigma": float("nan"), "determined": True})
    return rows


def parameters_csv(fit: LineFit) -> str:
    """:func:`parameters_table` as CSV text with a header row; the model is in ``#`` lines above it."""
    import csv
    import io
    import json

    buffer = io.StringIO()
    buffer.write(f"# {fit.label}; {fit.covariance_note}\n")
    buffer.write("# model: " + json.dumps(fit.model_record(), allow_nan=True) + "\n")
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["component", "quantity", "value", "sigma", "determined"])
    for row in parameters_table(fit):
        writer.writerow([row["component"], row["quantity"], repr(float(row["value"])), repr(float(row["sigma"])),
                         "yes" if row["determined"] else "no"])
    return buffer.getvalue()


# ----------------------------------------------------------------------------------------------
# model


def _linear(x, intercept=0.0, slope=0.0, x_ref=0.0):
    """intercept + slope·(x − x_ref); x_ref is fixed at the window centre so the two are little correlated."""
    return intercept + slope * (x - x_ref)


def _constant(x, c=0.0):
    return c * np.ones_like(x)


def _peak_model(shape: str, prefix: str):
    from lmfit.models import GaussianModel, LorentzianModel, Pearson7Model, PseudoVoigtModel, VoigtModel

    models = {"gaussian": GaussianModel, "lorentzian": LorentzianModel, "voigt": VoigtModel,
              "pseudovoigt": PseudoVoigtModel, "pearson7": Pearson7Model}
    return models[shape](prefix=prefix)


def _sigma_per_fwhm(shape: str) -> float:
    """lmfit's σ parameter for a unit FWHM (shape parameters at their start values)."""
    return {"gaussian": 1 / (2 * math.sqrt(2 * math.log(2))), "lorentzian": 0.5, "pseudovoigt": 0.5,
            "voigt": 1 / 3.6013, "pearson7": 0.5 / math.sqrt(2 ** (1 / 1.5) - 1)}[shape]


def _build(shape: str, centers: Sequence[float], background: str):
    import lmfit

    model = None
    for index in range(len(centers)):
        part = _peak_model(shape, f"p{index + 1}_")
        model = part if model is None else model + part
    if background == "linear":
        model = model + lmfit.Model(_linear, prefix="bg_")
    elif background == "constant":
        model = model + lmfit.Model(_constant, prefix="bg_")
    return model


def _start(model, shape, centers, energy, data, background, fwhm, share_width):
    """Starting values from the data: the given centres, heights above the lowest point, one FWHM for all."""
    params = model.make_params()
    lo, hi = float(energy.min()), float(energy.max())
    step = float(np.median(np.diff(energy))) if energy.size > 1 else 1.0
    level = float(np.min(data)) if background != "none" else 0.0
    width = float(fwhm) if fwhm else max(5 * step, (hi - lo) / (4 * len(centers)))
    for index, centre in enumerate(centers):
        prefix = f"p{index + 1}_"
        sigma = width * _sigma_per_fwhm(shape)
        params[f"{prefix}center"].set(value=float(centre), min=lo, max=hi)
        params[f"{prefix}sigma"].set(value=sigma, min=step / 10, max=hi - lo)
        if shape == "pearson7":
            params[f"{prefix}expon"].set(value=1.5, min=0.51, max=100.0)
        if shape == "pseudovoigt":
            params[f"{prefix}fraction"].set(value=0.5, min=0.0, max=1.0)
        height = max(float(np.interp(centre, energy, data)) - level, 1e-12 * (abs(level) + 1.0))
        unit = _peak_model(shape, "u_")
        peak_per_area = float(unit.eval(unit.make_params(center=0.0, sigma=sigma, amplitude=1.0,
                                                          **({"expon": 1.5} if shape == "pearson7" else {}),
                                                          **({"fraction": 0.5} if shape == "pseudovoigt" else {})),
                                        x=np.array([0.0]))[0])
        params[f"{prefix}amplitude"].set(value=height / peak_per_area, min=0.0)
        if share_width and index > 0:
            params[f"{prefix}sigma"].set(expr="p1_sigma")
            if shape in _SHAPE_PARAMETER:
                params[f"{prefix}{_SHAPE_PARAMETER[shape]}"].set(expr=f"p1_{_SHAPE_PARAMETER[shape]}")
    if background == "linear":
        params["bg_x_ref"].set(value=round(0.5 * (lo + hi), 2), vary=False)
        params["bg_intercept"].set(value=level)
        params["bg_slope"].set(value=0.0)
    elif background == "constant":
        params["bg_c"].set(value=level)
    return params


def _constrain(params, separations: Sequence[Separation], ratios: Sequence[AreaRatio], count: int) -> None:
    for constraint in (*separations, *ratios):
        for index in (constraint.first, constraint.second):
            if not 0 <= index < count:
                raise ValueError(f"a constraint names peak {index}; there are peaks 0–{count - 1}")
        if constraint.first == constraint.second:
            raise ValueError("a constraint needs two different peaks")
    for separation in separations:
        name = f"sep_{separation.first + 1}_{separation.second + 1}"
        params.add(name, value=separation.value, vary=not separation.fixed,
                   min=-np.inf if separation.minimum is None else separation.minimum,
                   max=np.inf if separation.maximum is None else separation.maximum)
        params[f"p{separation.second + 1}_center"].set(expr=f"p{separation.first + 1}_center + {name}")
    for ratio in ratios:
        if not ratio.value > 0:
            raise ValueError(f"an area ratio must be positive, got {ratio.value}")
        params[f"p{ratio.first + 1}_amplitude"].set(expr=f"{ratio.value!r} * p{ratio.second + 1}_amplitude")


# ----------------------------------------------------------------------------------------------
# uncertainties


def _fwhm_and_height(shape: str, params, prefix: str) -> tuple[float, float]:
    """FWHM (lmfit's formulas) and the height at the centre of one peak, from its parameter values."""
    from lmfit import lineshapes

    sigma = float(params[f"{prefix}sigma"].value)
    extra = {name: float(params[f"{prefix}{name}"].value) for name in ("gamma", "fraction", "expon")
             if f"{prefix}{name}" in params}
    if shape == "voigt":
        gamma = extra["gamma"]
        fwhm = 1.0692 * gamma + math.sqrt(0.8664 * gamma**2 + 5.545083 * sigma**2)
    elif shape == "gaussian":
        fwhm = 2 * math.sqrt(2 * math.log(2)) * sigma
    elif shape == "pearson7":
        fwhm = 2 * sigma * math.sqrt(2 ** (1 / extra["expon"]) - 1)
    else:
        fwhm = 2 * sigma
    centre = float(params[f"{prefix}center"].value)
    function = getattr(lineshapes, {"pseudovoigt": "pvoigt"}.get(shape, shape))
    height = float(function(np.array([centre]), float(params[f"{prefix}amplitude"].value), centre, sigma, **extra)[0])
    return fwhm, height


def _drop_derived(params) -> None:
    """lmfit's derived fwhm/height parameters are expressions evaluated at every step of the fit; they are
    reported from :func:`_fwhm_and_height` instead (the fit is several times faster without them)."""
    for name in [name for name in params if name.endswith(("_fwhm", "_height"))]:
        del params[name]


def _quantities(params, count: int, background: str, shape: str) -> dict[str, float]:
    """Every reported number as a function of the parameter values (expressions evaluated)."""
    values: dict[str, float] = {}
    for index in range(1, count + 1):
        prefix = f"p{index}_"
        fwhm, height = _fwhm_and_height(shape, params, prefix)
        values[f"p{index}.center"] = float(params[f"{prefix}center"].value)
        values[f"p{index}.fwhm"] = fwhm
        values[f"p{index}.height"] = height
        values[f"p{index}.area"] = float(params[f"{prefix}amplitude"].value)
    for first in range(1, count + 1):
        for second in range(first + 1, count + 1):
            denominator = values[f"p{second}.area"]
            values[f"p{first}/p{second}"] = values[f"p{first}.area"] / denominator if denominator else float("nan")
    if background == "linear":
        values["background.intercept"] = float(params["bg_intercept"].value)
        values["background.slope"] = float(params["bg_slope"].value)
    elif background == "constant":
        values["background.constant"] = float(params["bg_c"].value)
    return values


def _propagate(result, count: int, background: str, shape: str) -> tuple[dict[str, float], dict[str, float]]:
    """Values and σ of every quantity: ``σ² = J C Jᵀ`` with J by central differences over the free parameters."""
    params = result.params
    values = _quantities(params, count, background, shape)
    names = list(result.var_names)
    covariance = result.covar
    if covariance is None or covariance.shape != (len(names), len(names)):
        return values, {key: float("nan") for key in values}
    work = params.copy()
    keys = list(values)
    jacobian = np.zeros((len(keys), len(names)))
    for column, name in enumerate(names):
        centre = float(params[name].value)
        spread = math.sqrt(max(float(covariance[column, column]), 0.0))
        step = 1e-4 * spread if spread > 0 else 1e-8 * max(abs(centre), 1.0)
        sides = []
        for offset in (step, -step):
            for other in names:
                work[other].set(value=float(params[other].value))
            work[name].set(value=centre + offset)
            work.update_constraints()
            shifted = _quantities(work, count, background, shape)
            sides.append(np.array([shifted[key] for key in keys]))
        jacobian[:, column] = (sides[0] - sides[1]) / (2 * step)
    variance = np.einsum("ij,jk,ik->i", jacobian, covariance, jacobian)
    sigmas = {key: math.sqrt(v) if v >= 0 and math.isfinite(v) else float("nan") for key, v in zip(keys, variance)}
    return values, sigmas


def _quantity(value: float, sigma: float, scale: float | None = None) -> Quantity:
    reference = abs(value) if scale is None else abs(scale)
    determined = math.isfinite(sigma) and math.isfinite(value) and sigma < UNDETERMINED_FRACTION * reference
    return Quantity(float(value), float(sigma), bool(determined))


# ----------------------------------------------------------------------------------------------
# the fit


def _window_points(spectrum: Spectrum, window, given: Spectrum | None):
    energy = np.asarray(spectrum.energy, float)
    data = np.asarray(spectrum.intensity, float)
    sigma = None if spectrum.uncertainty is None else np.asarray(spectrum.uncertainty, float)
    keep = np.isfinite(energy) & np.isfinite(data)
    if window is not None:
        lo, hi = sorted((float(window[0]), float(window[1])))
        keep &= (energy >= lo) & (energy <= hi)
    order = np.argsort(energy[keep], kind="stable")
    energy, data = energy[keep][order], data[keep][order]
    sigma = None if sigma is None else sigma[keep][order]
    given_values = np.zeros_like(energy)
    if given is not None:
        from xestools.analysis.metrics import _finite_sorted_with_sigma

        b_energy, b_values, b_sigma = _finite_sorted_with_sigma(given, None)
        if b_energy.size < 2 or energy.size == 0 or energy[0] < b_energy[0] or energy[-1] > b_energy[-1]:
            raise ValueError(f"the background {given.label or 'spectrum'} does not cover the fitted window")
        given_values = np.interp(energy, b_energy, b_values)
        if sigma is not None and b_sigma is not None:
            sigma = np.sqrt(sigma**2 + np.interp(energy, b_energy, b_sigma) ** 2)
    return energy, data, sigma, given_values


def fit_lines(
    spectrum: Spectrum,
    centers: Sequence[float],
    *,
    shape: str = "voigt",
    background: "str | Spectrum" = "linear",
    window: Sequence[float] | None = None,
    share_width: bool = False,
    fwhm: float | None = None,
    separations: Sequence[Separation] = (),
    ratios: Sequence[AreaRatio] = (),
    weighted: bool = True,
) -> LineFit:
    """Fit ``len(centers)`` peaks of one ``shape`` plus a background to ``spectrum`` over ``window``.

    ``background``: "none", "constant", "linear", or a background :class:`Spectrum` (subtracted,
    its σ added in quadrature). Weights 1/σ when ``weighted`` and every σ in the window is positive;
    otherwise unweighted (said in ``notes``). ``fwhm`` is the starting FWHM (default: a quarter of the
    window per peak). Raises ValueError for an unknown shape or background, too few points, or a bad
    constraint.
    """
    if shape not in PEAK_SHAPES:
        raise ValueError(f"unknown peak shape {shape!r}; choose from {', '.join(PEAK_SHAPES)}")
    given = background if isinstance(background, Spectrum) else None
    kind = "given" if given is not None else str(background)
    if given is None and kind not in BACKGROUND_KINDS:
        raise ValueError(f"unknown background {kind!r}; choose from {', '.join(BACKGROUND_KINDS)} or give a spectrum")
    if not centers:
        raise ValueError("a line fit needs at least one peak position")
    energy, data, sigma, given_values = _window_points(spectrum, window, given)
    model_background = "none" if given is not None else kind
    model = _build(shape, centers, model_background)
    params = _start(model, shape, centers, energy, data - given_values, model_background, fwhm, share_width)
    _constrain(params, separations, ratios, len(centers))
    _drop_derived(params)
    n_free = sum(1 for parameter in params.values() if parameter.vary and parameter.expr is None)
    if energy.size <= n_free:
        raise ValueError(f"only {energy.size} points in the window for {n_free} free parameters")
    notes = []
    usable = sigma is not None and np.all(np.isfinite(sigma)) and np.all(sigma > 0)
    if weighted and not usable:
        notes.append("unweighted: σ missing or not positive in the window")
    if given is not None:
        notes.append(f"background: {given.label or given.source or 'a given spectrum'}, subtracted with its σ")
    weights = 1.0 / sigma if weighted and usable else None
    start_values = {name: float(p.value) for name, p in params.items() if p.expr is None}
    bounds = {name: (float(p.min), float(p.max)) for name, p in params.items() if p.vary and p.expr is None}
    constraints = {name: str(p.expr) for name, p in params.items() if p.expr is not None}
    result = model.fit(data - given_values, params, x=energy, weights=weights, nan_policy="raise", max_nfev=20000,
                       method="least_squares", fit_kws={"xtol": 1e-15, "ftol": 1e-15, "gtol": 1e-15})
    return _result(spectrum, result, model, energy, data, sigma if weights is not None else None, given_values,
                   shape=shape, kind=kind, count=len(centers), n_free=n_free, notes=tuple(notes),
                   described=(start_values, bounds, constraints))


def _result(spectrum, result, model, energy, data, sigma, given_values, *, shape, kind, count, n_free, notes,
            described) -> LineFit:
    import lmfit

    values, sigmas = _propagate(result, count, "none" if kind == "given" else kind, shape)
    parts = model.eval_components(params=result.params, x=energy)
    best = np.asarray(result.best_fit, float) + given_values
    residual = data - best
    if sigma is not None:
        in_sigma = residual / sigma
    else:
        rms = float(np.sqrt(np.mean(residual**2))) if residual.size else 0.0
        in_sigma = residual / rms if rms > 0 else np.zeros_like(residual)
    components = []
    for index in range(1, count + 1):
        width = values[f"p{index}.fwhm"]
        components.append(PeakComponent(
            name=f"p{index}", shape=shape,
            center=_quantity(values[f"p{index}.center"], sigmas[f"p{index}.center"], scale=width),
            fwhm=_quantity(width, sigmas[f"p{index}.fwhm"]),
            height=_quantity(values[f"p{index}.height"], sigmas[f"p{index}.height"]),
            area=_quantity(values[f"p{index}.area"], sigmas[f"p{index}.area"]),
            curve=np.asarray(parts[f"p{index}_"], float)))
    background = {key.split(".", 1)[1]: _quantity(values[key], sigmas[key])
                  for key in values if key.startswith("background.")}
    ratios = {key: _quantity(values[key], sigmas[key]) for key in values if "/" in key}
    background_curve = given_values + (np.asarray(parts["bg_"], float) if "bg_" in parts else 0.0)
    start_values, bounds, constraints = described
    lo, hi = (float(energy[0]), float(energy[-1])) if energy.size else (float("nan"), float("nan"))
    return LineFit(
        spectrum=spectrum, shape=shape, background_kind=kind,
        window=(lo, hi), components=tuple(components), background=background, ratios=ratios,
        chi2=float(result.chisqr), chi2_reduced=float(result.redchi), n_points=int(energy.size), n_free=n_free,
        weighted=sigma is not None, success=bool(result.success), message=str(result.message),
        energy=energy, data=data, sigma=sigma, best_fit=best, background_curve=np.asarray(background_curve, float)
        * np.ones_like(energy), residual_sigma=in_sigma, start_values=start_values, bounds=bounds,
        constraints=constraints, report=lmfit.fit_report(result), notes=notes)


__all__ = ["AreaRatio", "BACKGROUND_KINDS", "COVARIANCE_NOTE", "LineFit", "PEAK_SHAPES", "PeakComponent", "Quantity",
           "Separation", "UNDETERMINED_FRACTION", "fit_lines", "parameters_csv", "parameters_table"]
