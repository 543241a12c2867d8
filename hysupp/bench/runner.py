"""Execute a suite's runs: one atomic JSON record per run, resumable, in parallel processes.

Progress (:mod:`hysupp.progress`): :func:`run_suite` reports one tracker over the runs to do (unit
``"run"``); the runs executed in this process report their own stages and loops nested below it
(runs in worker processes or on a Dask cluster only count as done).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import time
import traceback
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

from hysupp.bench.suite import RunSpec, Suite
from hysupp.errors import InputError, OutputExistsError
from hysupp.progress import reporting_to, tracker

__all__ = ["MAPS_DIR", "RECORDS_DIR", "execute_run", "plan_suite", "record_files", "run_suite", "write_record"]

RECORDS_DIR = "records"
#: abundance maps of seed 0 of each unmixing cell (for the figures), one ``.npz`` per run
MAPS_DIR = "maps"
#: a temporary record left by a killed writer is removed on --resume once it is this old (s)
STALE_TEMP_S = 60.0


def record_files(out_dir: str | os.PathLike) -> list[Path]:
    """The finished run records of a bench output folder, sorted; temporary files of an
    interrupted write (``.<name>.<random>.tmp.json``, see :func:`hysupp.io.atomic.atomic_output`)
    are not records."""
    folder = Path(out_dir) / RECORDS_DIR
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob("*.json") if not p.name.startswith("."))


def _remove_stale_temps(records: Path) -> None:
    now = time.time()
    for tmp in records.glob(".*.tmp.json"):
        try:
            if now - tmp.stat().st_mtime > STALE_TEMP_S:
                tmp.unlink()
        except OSError:
            pass


@lru_cache(maxsize=8)
def _recipe_scene(recipe: str, params_json: str):
    import hysupp

    return hysupp.simulate(recipe, **json.loads(params_json))


def _dataset_input(ds: dict[str, Any]) -> Any:
    if "recipe" in ds:
        return _recipe_scene(ds["recipe"], json.dumps(ds.get("params", {}), sort_keys=True))
    return ds["file"]


def execute_run(spec: RunSpec, maps: dict[str, Any] | None = None) -> dict[str, Any]:
    """Run one cell and return its record (the method's run record plus a ``bench`` section);
    an exception is recorded (``status: "failed"``) instead of raised. When ``maps`` is a dict and
    the run is an unmixing run with true abundances, it receives the maps for the figures
    (:func:`abundance_maps`)."""
    from hysupp.records import environment, to_jsonable, utc_now

    ds = spec.dataset
    bench = {"suite": spec.suite, "run_id": spec.run_id, "dataset": ds["name"], "condition": spec.condition,
             "method": spec.method, "params": spec.params, "seed": spec.seed, "dataset_spec": ds,
             "loadavg_start": list(os.getloadavg()) if hasattr(os, "getloadavg") else None}
    t0 = time.perf_counter()
    try:
        with warnings.catch_warnings():   # recorded in the run's record (warnings), not printed per run
            warnings.simplefilter("ignore")
            record = _execute(spec, ds, maps)
        bench["status"] = "ok"
        bench["warnings"] = len(record.get("warnings") or [])
    except Exception as exc:  # noqa: BLE001 - a failing run is recorded and the suite goes on
        record = {"created": utc_now(), "environment": environment()}
        bench.update(status="failed", error=f"{type(exc).__name__}: {exc}", traceback=traceback.format_exc()[-4000:])
    bench["wall_s"] = time.perf_counter() - t0
    bench["threads"] = _threads()
    record["bench"] = bench
    return to_jsonable(record)


def _execute(spec: RunSpec, ds: dict[str, Any], maps: dict[str, Any] | None) -> dict[str, Any]:
    """The run of one cell (its record without the ``bench`` section)."""
    data = _dataset_input(ds)
    if spec.kind == "unmixing":
        import hysupp

        snr = None if spec.condition == "inf" else float(spec.condition)
        run = hysupp.unmix(data, spec.method, p=ds.get("p"), params=spec.params, snr=snr, seed=spec.seed,
                           truth=ds.get("truth"), scale=ds.get("scale"), library=ds.get("library"),
                           endmembers=ds.get("endmembers") if _is_supervised(spec.method) else None)
        if maps is not None:
            maps.update(abundance_maps(run) or {})
    else:
        from hysupp.api import fuse

        protocol = None if not isinstance(data, str) else spec.condition
        run = fuse(data, spec.method, params=spec.params, protocol=protocol, border=int(ds.get("border", 0)),
                   clip=ds.get("clip"), pan_degradation=ds.get("pan_degradation") if protocol == "rr" else None)
    return dict(run.record)


def abundance_maps(run: Any) -> dict[str, Any] | None:
    """The estimated maps of the true endmembers beside the true maps, as float16 ``(p, H, W)``
    arrays ``estimate`` and ``truth`` plus ``names``; ``None`` without true abundances.

    Library runs keep the rows of the true atoms (``scene.library_index``) of the abundances over
    the library (``run.library_abundances``: ``B A`` for ``E = D B`` methods such as FaSUn); other
    runs are already aligned to the truth by :func:`hysupp.unmix`, so their first ``p`` rows are taken.
    """
    import numpy as np

    scene = run.scene
    if scene.abundances is None:
        return None
    truth = scene.abundances
    est = run.abundances
    lib = scene.library_index
    library_abundances = getattr(run, "library_abundances", None)
    if lib is not None and library_abundances is not None:
        est = library_abundances[np.asarray(lib)]
    elif lib is not None and scene.library is not None and est.shape[0] == scene.library.shape[1]:
        est = est[np.asarray(lib)]
    est = est[: truth.shape[0]]
    names = list(scene.endmember_names or [f"E{k + 1}" for k in range(truth.shape[0])])[: est.shape[0]]
    return {"estimate": est.astype(np.float16), "truth": truth[: est.shape[0]].astype(np.float16),
            "names": np.array(names)}


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    """Set environment variables for the duration of the block (restored afterwards)."""
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _threads() -> dict[str, Any]:
    """The thread settings this run saw (BLAS/OpenMP variables and torch's intra-op threads)."""
    import sys

    out: dict[str, Any] = {var: os.environ.get(var) for var in THREAD_VARS}
    if "torch" in sys.modules:
        out["torch"] = sys.modules["torch"].get_num_threads()
    return out


def _is_supervised(method: str) -> bool:
    from hysupp.methods.registry import get_method

    return get_method(method).task == "supervised"


def write_record(out: Path, record: dict[str, Any]) -> Path:
    from hysupp.io.atomic import atomic_output

    target = out / RECORDS_DIR / f"{record['bench']['run_id']}.json"
    with atomic_output(target, overwrite=True) as tmp:
        tmp.write_text(json.dumps(record, indent=1))
    return target


def _write_maps(out: Path, run_id: str, maps: dict[str, Any]) -> None:
    import numpy as np

    from hysupp.io.atomic import atomic_output

    (out / MAPS_DIR).mkdir(parents=True, exist_ok=True)
    with atomic_output(out / MAPS_DIR / f"{run_id}.npz", overwrite=True) as tmp, open(tmp, "wb") as fh:
        np.savez_compressed(fh, **maps)


THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def compute_cell(spec: RunSpec) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """Run one cell with one thread per BLAS unless set: its record, and its abundance maps (seed 0
    of an unmixing suite; else None)."""
    for var in THREAD_VARS:
        os.environ.setdefault(var, "1")
    maps: dict[str, Any] | None = {} if spec.seed == 0 and spec.kind == "unmixing" else None
    return execute_run(spec, maps), maps


def write_cell(out: str | os.PathLike, record: dict[str, Any], maps: dict[str, Any] | None) -> None:
    """Write a cell's maps, then its record, under ``out`` (a run whose record exists is complete)."""
    if maps:
        _write_maps(Path(out), record["bench"]["run_id"], maps)
    write_record(Path(out), record)


def run_cell(spec: RunSpec, out: str | os.PathLike) -> dict[str, Any]:
    """:func:`compute_cell` then :func:`write_cell`; return the record's ``bench`` section."""
    record, maps = compute_cell(spec)
    write_cell(out, record, maps)
    return record["bench"]


def run_suite(suite: Suite, out_dir: str | os.PathLike, *, methods: list[str] | None = None,
              snrs: list[Any] | None = None, seeds: int | None = None,
              overrides: dict[str, dict[str, Any]] | None = None, jobs: int = 1, resume: bool = False,
              scheduler: str | None = None, threads: int | None = None, progress: Any = None,
              on_run: Callable[[int, int, dict[str, Any], float], None] | None = None) -> dict[str, Any]:
    """Run (the missing cells of) ``suite`` into ``out_dir/records``; returns a summary.

    An existing output folder with records is only continued with ``resume=True``: runs whose
    record exists are skipped, so an interrupted suite finishes with exactly one record per run.
    ``jobs > 1`` runs cells in that many fresh (spawned) processes, each limited to ``threads``
    BLAS/OpenMP/torch threads (default: the CPU count divided by ``jobs``, at least 1), so that
    parallel runs do not oversubscribe the cores and their timings stay comparable; the settings
    are recorded in each record's ``bench.threads``; ``scheduler`` (a Dask scheduler address)
    submits them to a Dask cluster instead. ``on_run(done, total, bench_info, eta_s)`` is called
    after each run. ``progress`` (:func:`hysupp.progress.reporting_to`: None keeps the callback in
    effect, none by default; True draws bars with an ETA on stderr; a callable receives the
    :class:`~hysupp.progress.ProgressEvent` s; False silences) receives the tracker of the suite
    (``"bench <suite>"``, one step per run, the ok/failed counts in ``info``) and, for runs in this
    process, their stages and loops nested below it.
    """
    out = Path(out_dir)
    specs = suite.runs(methods=methods, snrs=snrs, seeds=seeds, overrides=overrides)
    records = out / RECORDS_DIR
    existing = {p.stem for p in record_files(out)}
    if existing and not resume:
        raise OutputExistsError(f"{str(out)!r} already holds {len(existing)} run record(s); pass --resume to "
                                f"continue that suite or choose another --out")
    client = None
    if scheduler:   # connected before anything is written: an unreachable scheduler is a clear error
        try:
            import dask.distributed  # noqa: F401 - checked before anything is written
        except ImportError as exc:
            raise InputError("--scheduler needs dask[distributed] (pip install 'dask[distributed]')") from exc
        from hysupp.runs.scheduling import connect

        client = connect(scheduler)
    records.mkdir(parents=True, exist_ok=True)
    if resume:
        _remove_stale_temps(records)
    from hysupp.io.atomic import atomic_output

    with atomic_output(out / "suite.json", overwrite=True) as tmp:   # an interrupted write keeps the old one
        tmp.write_text(json.dumps({"name": suite.name, "source": suite.source, "kind": suite.kind,
                                   "description": suite.description, "reference": suite.reference,
                                   "metrics": suite.metrics, "reference_values": suite.reference_values},
                                   indent=1))
    todo = [s for s in specs if s.run_id not in existing]
    summary = {"total": len(specs), "skipped": len(specs) - len(todo), "ok": 0, "failed": 0}
    with reporting_to(progress):
        _run_todo(todo, out, summary, client=client, jobs=jobs, threads=threads, on_run=on_run, name=suite.name)
    return summary


def _run_todo(todo: list[RunSpec], out: Path, summary: dict[str, Any], *, client: Any, jobs: int,
              threads: int | None, on_run: Callable[[int, int, dict[str, Any], float], None] | None,
              name: str) -> None:
    """The runs of :func:`run_suite` (in this process, in ``jobs`` processes or on ``client``'s cluster),
    counted in ``summary`` and reported to a tracker."""
    t0 = time.perf_counter()
    bar = tracker(f"bench {name}", total=len(todo), unit="run", min_interval=0.0)
    if todo:
        bar.update(0)   # the suite's bar from the start, above the first run's

    def done(info: dict[str, Any], k: int) -> None:
        summary["ok" if info.get("status") == "ok" else "failed"] += 1
        bar.update(k, ok=summary["ok"], failed=summary["failed"])
        if on_run is not None:
            elapsed = time.perf_counter() - t0
            on_run(k, len(todo), info, elapsed / k * (len(todo) - k))

    if client is not None:
        from dask.distributed import as_completed

        with client:
            futures = [client.submit(run_cell, s, str(out), pure=False) for s in todo]
            for k, fut in enumerate(as_completed(futures), 1):
                done(fut.result(), k)
    elif jobs > 1 and len(todo) > 1:
        from concurrent.futures import ProcessPoolExecutor
        from concurrent.futures import as_completed as futures_completed

        per_job = str(threads or max(1, (os.cpu_count() or 1) // jobs))
        with _environment({var: per_job for var in THREAD_VARS}), \
                ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
            futures = [pool.submit(run_cell, s, str(out)) for s in todo]   # workers inherit the variables
            for k, fut in enumerate(futures_completed(futures), 1):
                done(fut.result(), k)
    else:
        for k, spec in enumerate(todo, 1):
            done(run_cell(spec, str(out)), k)
    bar.close()
    summary["wall_s"] = time.perf_counter() - t0


def plan_suite(suite: Suite, out: str | os.PathLike | None = None, *, methods: list[str] | None = None,
               snrs: list[Any] | None = None, seeds: int | None = None,
               overrides: dict[str, dict[str, Any]] | None = None, resume: bool = False) -> Any:
    """``hysupp bench SUITE --dry-run``: the :class:`~hysupp.runs.plan.RunPlan` of :func:`run_suite`: the runs to do (and those ``resume`` would
    skip), the output folder and the time, from the median time of one run of each method in the
    suite's committed benchmark records (:data:`TIME_TABLE`)."""
    from hysupp.runs.plan import MIN_FACTOR, RunPlan
    from hysupp.runs.time_table import TIME_TABLE

    specs = suite.runs(methods=methods, snrs=snrs, seeds=seeds, overrides=overrides)
    target = Path(out) if out is not None else Path("hysupp-bench") / suite.name
    existing = {p.stem for p in record_files(target)}
    if existing and not resume:
        raise OutputExistsError(f"{str(target)!r} already holds {len(existing)} run record(s); pass --resume to "
                                f"continue that suite or choose another --out")
    todo = [s for s in specs if s.run_id not in existing]
    total, low, high, missing = 0.0, 0.0, 0.0, []
    for s in todo:
        entry = TIME_TABLE.get(s.method, {})
        t = entry.get("per_suite_run_s", {}).get(suite.name)
        if t is None:
            missing.append(s.method)
            continue
        factor = max(MIN_FACTOR, float(entry.get("spread", MIN_FACTOR)))
        total, low, high = total + t, low + t / factor, high + t * factor
    if total > 0:
        estimate = {"seconds": total, "low": low, "high": high, "missing": sorted(set(missing)),
                    "basis": f"median time of one run of each method in the committed {suite.name} records, x the "
                             f"{len(todo)} runs to do, one process"}
    else:
        estimate = {"seconds": None, "missing": sorted(set(missing)),
                    "why": "no committed benchmark record of this suite" if todo else "nothing to run"}
    by_method: dict[str, int] = {}
    for s in todo:
        by_method[s.method] = by_method.get(s.method, 0) + 1
    steps = [f"{n} run(s) of {m}" for m, n in by_method.items()]
    steps.append("one JSON record per run in records/, then table.md")
    return RunPlan(command="bench", method={}, steps=steps,
                   input={"name": suite.name, "path": suite.source, "kind": suite.kind,
                          "datasets": [d["name"] for d in suite.datasets]},
                   output={"folder": str(target), "exists": target.exists(), "replaces": False},
                   estimate=estimate,
                   details={"runs": len(specs), "to do": len(todo), "already done": len(specs) - len(todo),
                            "conditions": sorted({s.condition for s in specs}), "seeds": sorted({s.seed for s in specs})})
