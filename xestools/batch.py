"""Batch processing: one recipe (cuts, normalisation, background, metrics, series averages) applied to
many scans in parallel, one output per input result plus a summary CSV of the metrics per scan.

The recipe is a small versioned JSON file (``docs/recipe.md``); :class:`~xestools.recipe.Recipe`
(in :mod:`xestools.recipe`, below this module and the workspace) reads, checks and writes it, so the
GUI can save its current cuts and settings and the CLI (``xestools batch``) can replay them. Every number comes from :mod:`xestools.analysis`, every file is written through the io
writers or the atomic-write helper.

Steps, in this order, for every scan (and every channel) of an input:

* map: normalise (:func:`~xestools.analysis.normalise_map`) → each cut → the cut's spectrum
  (a map without cuts is written as the normalised map);
* spectrum: normalise (:func:`~xestools.analysis.normalise_area`);
* every spectrum: background (the residual is kept) → metrics (a summary row).

With ``average`` in the recipe, the inputs are grouped into series (:mod:`xestools.analysis.series`)
and every series of two or more distinct scans (twins counted once) is averaged and then processed
like one more input.

Each input runs in a worker process (``concurrent.futures``); a worker that dies or exceeds the time
limit (a damaged HDF5 file can make libhdf5 spin forever) fails that input only: the inputs that were
in flight are retried one per process, so only the culprit is reported. Nothing stops the others.
"""
from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import csv
import dataclasses
import faulthandler
import fnmatch
import io
import json
import logging
import multiprocessing
import os
import re
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from xestools import __version__
from xestools.batch_cluster import ClusterError
from xestools.cli_errors import CliError
from xestools.io import formats
from xestools.io.atomic import atomic_write
from xestools.io.growing import describes_missing_points
from xestools.recipe import CutStep, Recipe, RecipeError  # noqa: F401 (CutStep: part of this API)

log = logging.getLogger("xestools.batch")

DEFAULT_PATTERNS = ("*.nxs", "*.dat")
DEFAULT_TIMEOUT_S = 600.0
SUMMARY_NAME = "summary.csv"
SUMMARY_COLUMNS = ("input", "channel", "item", "status", "output", "notes", "peak_position_eV", "fwhm_eV",
                   "first_moment_eV", "area", "iad", "window_lo_eV", "window_hi_eV", "iad_reference")
_METRIC_KEYS = (("peak_position_eV", "peak_position"), ("fwhm_eV", "fwhm"), ("first_moment_eV", "first_moment"),
                ("area", "area"), ("iad", "iad"), ("window_lo_eV", "window_lo"), ("window_hi_eV", "window_hi"),
                ("iad_reference", "reference"))


# ----------------------------------------------------------------------------- tasks and outcomes
@dataclass(frozen=True)
class Task:
    """One unit of work for a worker: an input file, or (``members``) a series to average."""

    key: str
    stem: str
    out_dir: str
    recipe: Recipe
    timeout: float
    path: str = ""
    members: tuple[str, ...] = ()
    signature: Any = None
    #: real paths of every input of the batch: no output may replace one
    protected: frozenset[str] = frozenset()

    @property
    def title(self) -> str:
        return os.path.basename(self.path) if self.path else self.stem


@dataclass
class Product:
    """One result of an input: what it is, where it was written, its metrics, or why it failed."""

    channel: str
    item: str
    output: str = ""
    metrics: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)
    error: str = ""
    #: the line fit of the recipe's fit step (``LineFit.as_dict``), None without one
    fit: dict[str, Any] | None = None


@dataclass
class Outcome:
    """What happened to one task; ``signatures`` (of the scans read) let the parent group series."""

    key: str
    title: str
    error: str = ""
    products: list[Product] = field(default_factory=list)
    signatures: list[Any] = field(default_factory=list)
    detail: str = ""
    #: why nothing was done to this input, when that is not a failure
    skipped: str = ""
    #: cluster workers lost while running this input (Dask ran it again elsewhere)
    retried: int = 0

    @property
    def failed(self) -> bool:
        return bool(self.error) or any(product.error for product in self.products)

    def problems(self) -> list[str]:
        if self.error:
            return [self.error]
        return [f"{product.item}: {product.error}" for product in self.products if product.error]


# ----------------------------------------------------------------------------- work done in a worker
_REFERENCES: dict[tuple[str, str | None], Any] = {}


def _reference_spectrum(path: str, channel):
    """The reference spectrum of ``path`` on ``channel`` (cached per worker process)."""
    from xestools.model import Spectrum
    from xestools.io import load

    key = (path, None if channel is None else str(channel))
    if key not in _REFERENCES:
        spectra = [obj for obj in load(path) if isinstance(obj, Spectrum)]
        matching = [s for s in spectra if s.channel == channel] or (spectra if len(spectra) == 1 else [])
        if len(matching) != 1:
            raise ValueError(f"reference {os.path.basename(path)} has no single spectrum on the {channel} channel")
        _REFERENCES[key] = matching[0]
    return _REFERENCES[key]


def _slug(text: str) -> str:
    text = text.replace("α", "a").replace("β", "b").replace("Ω", "W").replace("ω", "w").replace("−", "-")
    return re.sub(r"[^A-Za-z0-9.+-]+", "_", text).strip("_")


def _cut_stem(step: CutStep) -> str:
    text = f"{step.type}_{step.position:.2f}_w{step.width:.2f}"
    if step.statistic == "mean":
        text += "_mean"
    return text + ("_transfer" if step.view == "transfer" else "")


def _write(obj, path: str, task: Task, header: dict[str, str], command: str, columns=None,
           cut: CutStep | None = None) -> None:
    """Write one product through the io writers (atomic); never over one of the batch's inputs.

    The product records the recipe steps that made it (its own cut only, not every cut of the recipe),
    so an output's size does not grow with the number of cuts.
    """
    if os.path.realpath(path) in task.protected:
        raise ValueError(f"the output {path} would replace an input file; choose another output folder")
    header = {**header, "batch_recipe": json.dumps(task.recipe.steps_for(cut), ensure_ascii=False)}
    process = {"program": "xestools", "version": __version__, "command": command, **header}
    formats.by_name(task.recipe.output_format).write(obj, path, columns=columns, header=header, process=process)


def _extension(task: Task) -> str:
    return formats.by_name(task.recipe.output_format).extension


def _normalised(obj, recipe: Recipe, header: dict[str, str]):
    """``obj`` normalised as the recipe says (header fields as ``xestools normalise`` writes them)."""
    from xestools.analysis import normalise_area, normalise_map
    from xestools.analysis.normalise import window_parameters
    from xestools.model import RXESMap

    if recipe.normalise_window is None:
        return obj
    reference = None
    if recipe.normalise_reference:
        reference = _reference_spectrum(recipe.normalise_reference, obj.channel)
    window = recipe.normalise_window
    if isinstance(obj, RXESMap):
        result = normalise_map(obj, reference, window)
    else:
        result = normalise_area(obj, window, reference=reference)
    record = result.metadata.get("normalisation", {})
    header.update({**window_parameters(record),
                   "normalisation_reference": recipe.normalise_reference or "self",
                   "normalisation_factor": repr(record.get("factor")), "normalisation_area": repr(record.get("area")),
                   "normalisation_channel": str(obj.channel), "normalisation_source": obj.source})
    return result


def _spectrum_steps(spectrum, recipe: Recipe, product: Product):
    """Background (the residual is kept) and metrics of one spectrum; fills ``product.metrics``."""
    from xestools import xes_recipe
    from xestools.analysis.background import fit_background
    from xestools.analysis.metrics import line_shape_metrics

    if recipe.background_components:
        fit = fit_background(spectrum, recipe.background_components, exclusions=recipe.background_exclusions,
                             weighted=recipe.background_weighted)
        if not fit.success:
            product.notes.append(f"background fit: {fit.message}")
        product.notes.append(f"background {fit.model_name}, R² = {fit.r_squared:.4f}")
        spectrum = fit.residual
    fit = xes_recipe.fit_step(spectrum, recipe.xes, product.notes)
    product.fit = None if fit is None else fit.as_dict()
    if recipe.metrics:
        reference = None
        if recipe.metrics_reference:
            reference = _reference_spectrum(recipe.metrics_reference, spectrum.channel)
        window = xes_recipe.window_for(recipe.metrics_windows, spectrum.axis, recipe.metrics_window)
        row = line_shape_metrics(spectrum, window=window, reference=reference)
        fitted = xes_recipe.fitted_peak_near(fit, row.peak_position)
        if fitted is not None:
            row = line_shape_metrics(spectrum, window=window, reference=reference, fitted_peak=fitted)
        product.metrics = row.as_dict()
    return spectrum


def _attempt(product: Product, action: Callable[..., None], *args: Any) -> None:
    """Run one product's steps; a problem fails that product only (the input's other results go on)."""
    from xestools.io import XesFormatError

    try:
        action(*args)
    except (ValueError, OSError, XesFormatError) as error:
        product.output = ""
        product.error = " ".join(str(error).split())


def _cut_products(rxes_map, recipe: Recipe, task: Task, stem: str, header: dict[str, str]) -> list[Product]:
    """Every cut of the recipe through one (normalised) map, each written as ``xestools cut`` writes it."""
    products = []
    for step in recipe.cuts:
        label = step.spec().label() + (" (transfer view)" if step.view == "transfer" else "")
        product = Product(str(rxes_map.channel), label)
        products.append(product)
        _attempt(product, _one_cut, rxes_map, step, task, stem, header, product)
    return products


def _one_cut(rxes_map, step: CutStep, task: Task, stem: str, header: dict[str, str], product: Product) -> None:
    import numpy as np

    from xestools.analysis import cut

    spec = step.spec()
    result = cut(rxes_map, spec, step.view)
    if result.empty:
        raise ValueError(f"empty cut: {result.reason}")
    if result.note:
        product.notes.append(result.note)
    spectrum = _spectrum_steps(result.to_spectrum(rxes_map), task.recipe, product)  # with the cut's record
    columns = {"npoints": np.asarray(result.npoints)} if len(spectrum) == len(result) else None
    product.output = os.path.join(task.out_dir, f"{stem}_{_cut_stem(step)}{_extension(task)}")
    _write(spectrum, product.output, task, header, "cut", columns, cut=step)


def _whole_product(obj, task: Task, stem: str, header: dict[str, str], product: Product) -> None:
    """A spectrum (after background and metrics) or a map without cuts, written whole."""
    from xestools.model import RXESMap

    if not isinstance(obj, RXESMap):
        obj = _spectrum_steps(obj, task.recipe, product)
    product.output = os.path.join(task.out_dir, f"{stem}{_extension(task)}")
    _write(obj, product.output, task, header, "batch")


def _process_object(obj, recipe: Recipe, task: Task, stem: str) -> list[Product]:
    """All products of one loaded (or averaged) scan."""
    from xestools.model import RXESMap

    header: dict[str, str] = {"batch_input": task.path or "; ".join(task.members)}
    warnings = [str(w) for w in obj.metadata.get("warnings", []) or []]
    warnings += [str(n) for n in obj.metadata.get("notes", []) or []]
    if not isinstance(obj, RXESMap) and recipe.xes is not None:
        from xestools.xes_recipe import align_step

        try:
            obj = align_step(obj, recipe.xes, _reference_spectrum, warnings)
        except ValueError as error:
            return [Product(str(obj.channel), "align", error=f"cannot align: {error}", notes=warnings)]
    try:
        obj = _normalised(obj, recipe, header)
    except ValueError as error:
        return [Product(str(obj.channel), "normalise", error=f"cannot normalise: {error}", notes=warnings)]
    if isinstance(obj, RXESMap) and recipe.cuts:
        products = _cut_products(obj, recipe, task, stem, header)
    else:
        product = Product(str(obj.channel), "map" if isinstance(obj, RXESMap) else "spectrum")
        products = [product]
        _attempt(product, _whole_product, obj, task, stem, header, product)
    for product in products:
        product.notes[:0] = warnings
    return products


class _Skipped(Exception):
    """An input that holds nothing the recipe asks for (e.g. not the recipe's channel): not a failure."""


def _loaded(task: Task) -> list:
    """The scans of a task: the file's objects, or the average of a series' members (twins once)."""
    from xestools.analysis.series import average_series, signature
    from xestools.io import load

    channel = task.recipe.channel
    if task.path:
        objects = load(task.path)
        chosen = [obj for obj in objects if channel is None or str(obj.channel) == channel]
        if objects and not chosen:
            held = ", ".join(sorted({str(obj.channel) for obj in objects}))
            raise _Skipped(f"no {channel} channel (the file holds {held})")
        return chosen
    scans = []
    for path in task.members:
        scans += [obj for obj in load(path, channel=channel) if task.signature.same_series(signature(obj))]
    return [average_series(scans, weighted=task.recipe.average_weighted, grid=task.recipe.average_grid,
                           label=f"average {task.stem}")]


def run_task(task: Task) -> Outcome:
    """Process one task completely; never raises (problems are in the Outcome). Runs in a worker."""
    from xestools.analysis.series import signature
    from xestools.io import XesFormatError

    outcome = Outcome(task.key, task.title)
    deadline = _Deadline(task.timeout)
    try:
        objects = _loaded(task)
        if not objects:
            raise ValueError("no scan data found")
        outcome.signatures = [signature(obj) for obj in objects]
        several = len(objects) > 1
        for obj in objects:
            stem = f"{task.stem}_{obj.channel}" if several and obj.channel is not None else task.stem
            outcome.products += _process_object(obj, task.recipe, task, stem)
    except _Skipped as skipped:
        outcome.skipped = str(skipped)
    except XesFormatError as error:
        outcome.error = str(error)
    except (ValueError, OSError) as error:
        outcome.error = f"{task.title}: {' '.join(str(error).split())}"
    except Exception as error:  # a bug: the parent logs the traceback and reports one line
        outcome.error = f"{task.title}: internal error: {type(error).__name__}: {error}"
        outcome.detail = traceback.format_exc()
    finally:
        deadline.cancel()
    return outcome


class _Deadline:
    """End this worker process if the task runs past ``seconds`` (a C library may spin forever)."""

    def __init__(self, seconds: float) -> None:
        self._armed = seconds > 0 and multiprocessing.parent_process() is not None
        if self._armed:
            self._sink = open(os.devnull, "w")
            faulthandler.dump_traceback_later(seconds, exit=True, file=self._sink)

    def cancel(self) -> None:
        if self._armed:
            faulthandler.cancel_dump_traceback_later()
            self._sink.close()


# ----------------------------------------------------------------------------- the parent: plan, run, report
def list_inputs(paths: Sequence[str | os.PathLike], patterns: Sequence[str] = DEFAULT_PATTERNS) -> list[str]:
    """Files given, plus the files of each folder given that match ``patterns`` (not recursive, sorted).

    Hidden files, our own temporary files and raw detector files are skipped in folders.
    """
    from xestools.io.formats import is_raw_detector_name

    found: list[str] = []
    for entry in paths:
        path = os.fspath(entry)
        if not os.path.isdir(path):
            found.append(path)
            continue
        for name in sorted(os.listdir(path)):
            full = os.path.join(path, name)
            if name.startswith(".") or not os.path.isfile(full):
                continue
            if is_raw_detector_name(name):
                continue
            if any(fnmatch.fnmatch(name, pattern) for pattern in patterns):
                found.append(full)
    unique: list[str] = []
    for path in found:
        if os.path.abspath(path) not in (os.path.abspath(p) for p in unique):
            unique.append(path)
    return unique


def _stems(paths: Sequence[str]) -> list[str]:
    """An output stem per input: its file name without extension, made unique with -2, -3, …"""
    stems: list[str] = []
    for path in paths:
        base = _slug(os.path.splitext(os.path.basename(path))[0]) or "scan"
        stem, number = base, 2
        while stem in stems:
            stem, number = f"{base}-{number}", number + 1
        stems.append(stem)
    return stems


def _context():
    """Workers start from a clean, single-threaded server process (safe when a GUI with threads calls us)."""
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
    if "forkserver" in methods:
        context.set_forkserver_preload(["xestools.batch", "xestools.io", "xestools.analysis"])
    return context


def _lost(task: Task) -> Outcome:
    return Outcome(task.key, task.title,
                   error=f"{task.title}: the worker process ended while reading it (it crashed or ran past the "
                         f"time limit of {task.timeout:g} s; the file may be damaged)")


def _run_isolated(task: Task) -> Outcome:
    """Run one task alone in its own worker process, so a crash names this task only."""
    with concurrent.futures.ProcessPoolExecutor(max_workers=1, mp_context=_context()) as pool:
        try:
            return pool.submit(run_task, task).result()
        except concurrent.futures.process.BrokenProcessPool:
            return _lost(task)


def _cancelled(task: Task) -> Outcome:
    return Outcome(task.key, task.title, skipped="cancelled before it started")


def run_tasks(tasks: Sequence[Task], jobs: int, report: Callable[[Outcome], None],
              cancelled: Callable[[], bool] | None = None) -> list[Outcome]:
    """Run ``tasks`` on ``jobs`` worker processes; ``report`` is called in the parent as each one ends.

    When a worker dies, every task that had not finished is rerun one per process (``jobs`` at a time),
    so the task that kills its worker fails alone. Once ``cancelled()`` is true, tasks not yet started
    are not started (they end as skipped); those running finish.
    """
    stop = cancelled or (lambda: False)
    outcomes: dict[str, Outcome] = {}
    suspects: list[Task] = []
    if tasks:
        with concurrent.futures.ProcessPoolExecutor(max_workers=max(1, min(jobs, len(tasks))),
                                                    mp_context=_context()) as pool:
            futures = {pool.submit(run_task, task): task for task in tasks}
            try:
                for future in concurrent.futures.as_completed(futures):
                    task = futures[future]
                    try:
                        outcome = future.result()
                    except concurrent.futures.process.BrokenProcessPool:
                        suspects.append(task)
                        continue
                    except concurrent.futures.CancelledError:
                        outcome = _cancelled(task)
                    outcomes[task.key] = outcome
                    report(outcome)
                    if stop():
                        for pending in futures:
                            pending.cancel()
            except BaseException:
                pool.shutdown(wait=False, cancel_futures=True)
                raise
    if suspects:
        log.warning("a batch worker died; rerunning %d unfinished input(s) one per process", len(suspects))
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, jobs)) as threads:
            for outcome in threads.map(lambda task: _cancelled(task) if stop() else _run_isolated(task), suspects):
                outcomes[outcome.key] = outcome
                report(outcome)
    return [outcomes[task.key] for task in tasks]


def _lost_note(outcome: Outcome) -> str:
    count = outcome.retried
    return f"retried: {count} cluster worker{'s' if count != 1 else ''} lost while running it" if count else ""


def run_on_cluster(runner, tasks: Sequence[Task], report: Callable[[Outcome], None],
                   cancelled: Callable[[], bool] | None = None) -> list[Outcome]:
    """``run_tasks`` on a Dask cluster (a :class:`~xestools.batch_cluster.DaskRunner`): the same tasks,
    reports and cancelling; a task whose workers kept dying fails like a lost pool worker."""
    from xestools.batch_cluster import CANCELLED

    stop = cancelled or (lambda: False)
    outcomes: dict[int, Outcome] = {}

    def done(index: int, result) -> bool:
        task = tasks[index]
        outcome = _lost(task) if result is None else _cancelled(task) if result is CANCELLED else result
        outcomes[index] = outcome
        report(outcome)
        return stop()

    losses = runner.run(run_task, tasks, [task.key for task in tasks], done)
    for index, count in losses.items():
        outcomes[index].retried = count
    return [outcomes[index] for index in range(len(tasks))]


@contextlib.contextmanager
def _runner(jobs: int, scheduler):
    """``run(tasks, report, cancelled)`` on the process pool, or on the Dask cluster at ``scheduler``."""
    if scheduler is None:
        yield lambda tasks, report, cancelled: run_tasks(tasks, jobs, report, cancelled)
        return
    from xestools.batch_cluster import DaskRunner

    if not isinstance(scheduler, str):    # a DaskRunner already open (several batches on one cluster)
        yield lambda tasks, report, cancelled: run_on_cluster(scheduler, tasks, report, cancelled)
        return
    with DaskRunner(scheduler) as cluster:
        yield lambda tasks, report, cancelled: run_on_cluster(cluster, tasks, report, cancelled)


def plan_averages(file_tasks: Sequence[Task], outcomes: Sequence[Outcome], recipe: Recipe, out_dir: str,
                  timeout: float) -> list[Task]:
    """One task per series of two or more inputs (grouped by the signatures the workers sent back)."""
    from xestools.analysis.series import group_signatures, scan_type

    entries = [(task.path, sig) for task, outcome in zip(file_tasks, outcomes) if not outcome.error
               for sig in outcome.signatures]
    tasks: list[Task] = []
    for group in group_signatures([sig for _, sig in entries]):
        paths = tuple(dict.fromkeys(entries[index][0] for index in group))
        scans = {entries[index][1].scan_number or entries[index][0] for index in group}
        if len(scans) < 2:   # one scan (perhaps with its twin): nothing to average
            continue
        first = entries[group[0]][1]
        numbers = sorted(n for n in (entries[index][1].scan_number for index in group) if n is not None)
        span = f"{numbers[0]}-{numbers[-1]}" if numbers else f"{len(paths)}scans"
        stem = _slug(f"average_{first.sample or 'sample'}_{scan_type(first)}_{first.channel}_{span}")
        tasks.append(Task(key=f"average:{stem}", stem=stem, out_dir=out_dir, recipe=recipe, timeout=timeout,
                          members=paths, signature=first, protected=file_tasks[0].protected))
    return tasks


def summary_rows(outcomes: Sequence[Outcome]) -> list[dict[str, str]]:
    """The summary table: one row per product (or per failed input), metrics in their own columns."""
    rows = []
    for outcome in outcomes:
        if outcome.error or outcome.skipped:
            rows.append({"input": outcome.title, "status": "failed" if outcome.error else "skipped",
                         "notes": "; ".join(filter(None, [outcome.error or outcome.skipped, _lost_note(outcome)]))})
            continue
        for product in outcome.products:
            row = {"input": outcome.title, "channel": product.channel, "item": product.item,
                   "status": "failed" if product.error else "ok", "output": product.output,
                   "notes": "; ".join(([product.error] if product.error else []) + product.notes
                                      + ([_lost_note(outcome)] if outcome.retried else []))}
            for column, key in _METRIC_KEYS:
                value = (product.metrics or {}).get(key)
                row[column] = value if isinstance(value, str) or value is None else repr(float(value))
            rows.append(row)
    return rows


def write_summary(path: str | os.PathLike, outcomes: Sequence[Outcome]) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=SUMMARY_COLUMNS, restval="", lineterminator="\n")
    writer.writeheader()
    for row in summary_rows(outcomes):
        writer.writerow({key: "" if value is None else value for key, value in row.items()})
    atomic_write(path, buffer.getvalue())


@dataclass
class BatchReport:
    """The result of :func:`run_batch`: every outcome (inputs, then averages) and the summary file."""

    outcomes: list[Outcome]
    summary: str

    @property
    def failures(self) -> list[Outcome]:
        return [outcome for outcome in self.outcomes if outcome.failed]


def run_batch(inputs: Sequence[str], recipe: Recipe, out_dir: str | os.PathLike, *, jobs: int = 1,
              timeout: float = DEFAULT_TIMEOUT_S, summary: str | os.PathLike | None = None,
              progress: Callable[[int, int, Outcome], None] | None = None,
              cancelled: Callable[[], bool] | None = None, scheduler=None) -> BatchReport:
    """Apply ``recipe`` to every input file (in parallel), then to every series average; write the summary.

    ``progress(done, total, outcome)`` is called in the calling process after each task (the total
    grows when the series averages are planned). An output that would replace an input is refused
    (that product fails). ``cancelled()`` (e.g. a GUI's Cancel button, polled after each task) stops
    starting new tasks; the summary of what was done is still written. With ``scheduler`` (a Dask
    scheduler address, ``local:N`` for a LocalCluster of N worker processes, or an open
    :class:`~xestools.batch_cluster.DaskRunner` to reuse) the tasks run on that cluster instead of
    ``jobs`` local processes (:mod:`xestools.batch_cluster`; raises its ``ClusterError``).
    """
    out = os.fspath(out_dir)
    os.makedirs(out, exist_ok=True)
    paths = [os.fspath(path) for path in inputs]
    protected = frozenset(os.path.realpath(path) for path in paths)
    tasks = [Task(key=f"file:{index}", stem=stem, out_dir=out, recipe=recipe, timeout=timeout, path=path,
                  protected=protected)
             for index, (path, stem) in enumerate(zip(paths, _stems(paths)))]
    counter = {"done": 0, "total": len(tasks)}

    def report(outcome: Outcome) -> None:
        counter["done"] += 1
        if outcome.detail:
            log.error("batch: %s failed unexpectedly:\n%s", outcome.title, outcome.detail)
        if progress is not None:
            progress(counter["done"], counter["total"], outcome)

    with _runner(jobs, scheduler) as run:
        outcomes = run(tasks, report, cancelled)
        if recipe.average and not (cancelled and cancelled()):
            averages = plan_averages(tasks, outcomes, recipe, out, timeout)
            counter["total"] += len(averages)
            outcomes += run(averages, report, cancelled)
    summary_path = os.fspath(summary) if summary is not None else os.path.join(out, SUMMARY_NAME)
    write_summary(summary_path, outcomes)
    return BatchReport(outcomes, summary_path)


# ----------------------------------------------------------------------------- ``xestools batch``
def add_subcommand(commands) -> None:
    """Register ``xestools batch`` on the CLI's subparsers (called by :func:`xestools.cli.build_parser`)."""
    batch = commands.add_parser(
        "batch", help="apply one recipe (cuts, normalisation, background, metrics, series averages) to many scans",
        description="Apply one recipe to every scan of the files and folders given: one output per result,\n"
                    "a summary CSV of the metrics per scan. The recipe format is described in docs/recipe.md.\n"
                    "Exit status 2 when any input failed (the others are still processed).",
        epilog="examples:\n  xestools batch /dls/i20/data/2025/sp41335-1 --recipe herfd.json -o processed/\n"
               "  xestools batch 279517_1.nxs XES_ZnZSM5_air500_279192_1.dat --recipe herfd.json -o out/\n"
               "  xestools batch 280772_1.nxs ZnO_standard_280772_1.dat --recipe vtc.json -o out/ --jobs 2",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    batch.add_argument("inputs", nargs="+", metavar="FILE_OR_FOLDER", help="scan files, or folders of scans")
    batch.add_argument("--recipe", required=True, metavar="RECIPE", help="the recipe (JSON, see docs/recipe.md)")
    batch.add_argument("-o", "--output", required=True, metavar="DIR", help="output folder (created if missing)")
    batch.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1,
                       help="worker processes (default: all cores, %(default)s)")
    batch.add_argument("--pattern", action="append", metavar="GLOB",
                       help="files taken from folders (default: *.nxs and *.dat; repeatable)")
    batch.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_S, metavar="S",
                       help="time limit per input in seconds (default: %(default)g)")
    batch.add_argument("--format", choices=formats.output_names(), help="output format (default: the recipe's)")
    batch.add_argument("--summary", metavar="CSV", help="summary file (default: DIR/summary.csv)")
    batch.add_argument("--scheduler", metavar="ADDRESS",
                       help="run on a Dask cluster: its scheduler address (tcp://host:8786), or local:N for N "
                            "local worker processes (needs pip install 'xestools[cluster]'; replaces --jobs)")
    batch.set_defaults(handler=cli_batch)


def _progress_line(done: int, total: int, outcome: Outcome) -> str:
    if outcome.error:
        state = f"FAILED: {outcome.error}"
    elif outcome.skipped:
        state = f"skipped: {outcome.skipped}"
    else:
        written = sum(1 for product in outcome.products if product.output)
        problems = outcome.problems()
        state = f"ok, {written} output{'s' if written != 1 else ''}" if written or not problems else ""
        if problems:
            state += f"{'; ' if state else ''}FAILED: {'; '.join(problems)}"
        partial = [note for product in outcome.products for note in product.notes if describes_missing_points(note)]
        if partial:
            state += f" (partial: {partial[0]})"
    return f"xestools batch: [{done}/{total}] {outcome.title}: {state}"


def cli_batch(args) -> int:
    """The ``xestools batch`` command: exit 0 when every input succeeded, 2 when any failed."""
    import sys

    try:
        recipe = Recipe.load(args.recipe)
    except RecipeError as error:
        raise CliError(str(error)) from None
    if args.format:
        recipe = dataclasses.replace(recipe, output_format=args.format)
    if args.jobs < 1 or args.timeout <= 0:
        raise CliError("--jobs must be at least 1 and --timeout positive")
    missing = [path for path in args.inputs if not os.path.exists(path)]
    if missing:
        raise CliError(f"no such file or folder: {missing[0]}")
    inputs = list_inputs(args.inputs, tuple(args.pattern or DEFAULT_PATTERNS))
    if not inputs:
        raise CliError(f"no scan files found in {', '.join(args.inputs)} (patterns: "
                       f"{', '.join(args.pattern or DEFAULT_PATTERNS)})")
    try:
        os.makedirs(args.output, exist_ok=True)
    except OSError as error:
        raise CliError(f"cannot create the output folder {args.output}: {error.strerror or error}") from None
    quiet = bool(getattr(args, "quiet", False))   # the CLI's -q: failures only

    def progress(done: int, total: int, outcome: Outcome) -> None:
        if not quiet or outcome.failed:
            print(_progress_line(done, total, outcome), file=sys.stderr, flush=True)

    scheduler = getattr(args, "scheduler", None)
    try:
        report = run_batch(inputs, recipe, args.output, jobs=args.jobs, timeout=args.timeout,
                           summary=args.summary, progress=progress, scheduler=scheduler)
    except ClusterError as error:
        raise CliError(str(error)) from None
    retried = [outcome for outcome in report.outcomes if outcome.retried]
    if retried:
        print(f"xestools batch: {len(retried)} input(s) ran again on another worker after a cluster worker was "
              f"lost ({', '.join(outcome.title for outcome in retried)}); see the summary", file=sys.stderr)
    written = sum(1 for outcome in report.outcomes for product in outcome.products if product.output)
    if not quiet:
        print(f"wrote {written} output(s) for {len(inputs)} input(s) to {args.output}; summary {report.summary}")
    failures = report.failures
    if failures:
        print(f"xestools batch: {len(failures)} of {len(report.outcomes)} failed:", file=sys.stderr)
        for outcome in failures:
            for problem in outcome.problems():
                print(f"  {problem}" if problem.startswith(outcome.title) else f"  {outcome.title}: {problem}",
                      file=sys.stderr)
        return 2
    return 0
