"""Issue 21: per-iteration time against a same-run bound, and peak memory, of the library solvers on
a DC1-like scene tiled up to 3.6e5 pixels.

Scene: DC1 (``hysupp.simulate("dc1")``: 224 bands, 75 x 75 pixels, 5 of the 240 library atoms)
tiled ``t x t`` times (``t`` in ``--tiles``: N = 5.6e3, 2.25e4, 9e4, 3.6e5 pixels), float32, each tile
with its own white noise at 30 dB (seed ``(0, i, j)``); library: DC1's 240 atoms; ``p = 5``
(SUnAA) and DC1's 5 endmembers (FCLS).

Every (method, size, threads) runs in a subprocess of its own (the environment sets the BLAS
threads before NumPy is imported) that generates the scene, runs the method for a few iterations
(``tol = 0``) and reports

* the per-iteration time: the median over the iteration segments the method records in
  ``info["segment_times"]`` (SUnSAL: the 10-iteration segments between residual checks; S2WSU:
  one weight block of 5 iterations, weights and stopping residual included; SUnAA: one iteration),
  the first segment (set-up) left out; methods without ``segment_times`` are run twice (``T1`` and
  ``T2`` iterations) and the difference is divided by ``T2 - T1``; FCLS (not iterative) reports the
  time of one call;
* the peak resident memory (``ru_maxrss``), the resident memory after the imports and after the
  scene was generated, and ``(peak - after imports) / (cube + working set)`` with the working set
  one ``(M, N)`` array of the output dtype for the methods over every atom and one ``(p, N)``
  array otherwise (issue 21, deliverable 3: at most 3); ``peak_ratio_method`` counts from the
  resident memory after the scene was generated less the cube instead (at small sizes the fixed
  100-200 MB of the interpreter and of DC1's generation dominate the first ratio).

The bound (in the same subprocess, right after the method, so under the same machine load) runs
the same GEMMs and element-wise passes as plain NumPy calls on whole arrays of the same shapes and
dtypes (and as torch calls with ``torch.set_num_threads``), median of ``--bound-reps``; the smaller
of the two is the bound. Each method's list of operations is written out in ``BOUNDS`` below; for FCLS and
SUnAA it holds their dense algebra only (normal equations, residual), not the active-set solves.
Threads: ``n`` threads means ``n`` solver threads over pixel chunks with 1 BLAS thread (SUnSAL,
FCLS, S2WSU, SUnAA: ``n_threads``) or ``n`` BLAS threads (CLSUnSAL); the bound gets ``n`` torch threads.

Writes ``benchmarks/results/full_scene_cpu.json`` (with ``uptime`` before and after: the machine is
shared) and prints a table.

Usage::

    python benchmarks/bench_full_scene.py                         # all sizes, 1 and 2 threads
    python benchmarks/bench_full_scene.py --tiles 1 2 --threads 1 --methods SUnSAL FCLS
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

HERE = Path(__file__).resolve().parent
TILE = 75          # DC1 is 75 x 75
SNR_DB = 30.0

#: name -> how to run it: constructor parameters for the timed run (``T2``), the iteration parameter
#: and ``T1`` for the two-run fallback, the working set ("M" or "p"), the threading mode
METHODS: dict[str, dict[str, Any]] = {
    "SUnSAL": {"params": {"lam": 0.1, "max_iter": 21, "tol": 0.0}, "ws": "M", "threads": "solver"},
    "CLSUnSAL": {"params": {"lam": 0.1, "max_iter": 21, "tol": 0.0}, "iter_param": "max_iter", "t1": 11,
                 "ws": "M", "threads": "blas"},
    "S2WSU": {"params": {"lam": 0.005, "outer_iters": 3, "tol": 0.0}, "ws": "M", "threads": "solver"},
    "SUnAA": {"params": {"T": 4}, "ws": "p", "threads": "solver", "p": 5},
    "FCLS": {"params": {}, "ws": "p", "threads": "solver", "supervised": True},
}


# ------------------------------------------------------------------------------------ the scene
def make_scene(tiles: int) -> dict[str, Any]:
    """The tiled DC1 scene (module docstring): ``Y`` (L, N) float32, library, endmembers, grid."""
    import numpy as np

    import hysupp

    sc = hysupp.simulate("dc1")
    base = np.asarray(sc.cube, dtype=np.float32)
    L = base.shape[0]
    sigma = float(np.sqrt(np.mean(base.astype(np.float64) ** 2) / 10 ** (SNR_DB / 10)))
    H = W = TILE * tiles
    cube = np.empty((L, H, W), dtype=np.float32)
    for i in range(tiles):
        for j in range(tiles):
            rng = np.random.default_rng((0, i, j))
            tile = cube[:, i * TILE:(i + 1) * TILE, j * TILE:(j + 1) * TILE]
            tile[...] = rng.standard_normal(base.shape, dtype=np.float32)
            tile *= sigma
            tile += base
    return {"Y": cube.reshape(L, H * W), "D": np.asarray(sc.library, dtype=np.float64),
            "E": np.asarray(sc.endmembers, dtype=np.float64), "shape": (H, W), "sigma": sigma}


def _rss_now() -> int:
    """Resident set size of this process now (bytes)."""
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _peak_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024   # KiB on Linux


# ------------------------------------------------------------------------------------ method worker
def worker_method(name: str, tiles: int, threads: int, reps: int) -> dict[str, Any]:
    import numpy as np

    from hysupp.methods import get_method

    spec = METHODS[name]
    rss_imports = _rss_now()
    sc = make_scene(tiles)
    rss_data = _rss_now()
    Y, D, E, shape = sc["Y"], sc["D"], sc["E"], sc["shape"]
    cls = get_method(name)
    names = {p.name for p in cls.params}
    params = dict(spec["params"])
    if spec["threads"] == "solver" and "n_threads" in names:
        params["n_threads"] = threads

    def run(**over: Any) -> tuple[Any, float]:
        m = cls(**{**params, **over})
        t0 = time.perf_counter()
        if spec.get("supervised"):
            res = m.unmix(Y, E)
        else:
            res = m.unmix(Y, D, p=spec.get("p"), image_shape=shape)
        return res, time.perf_counter() - t0

    out: dict[str, Any] = {"method": name, "tiles": tiles, "N": int(Y.shape[1]), "threads": threads,
                           "params": params}
    if spec.get("supervised"):
        times = []
        for _ in range(3):
            res, t = run()
            times.append(t)
        out.update(per_iteration_s=statistics.median(times), per_iteration_kind="one call (median of 3)",
                   iterations=res.info.get("iterations"))
    else:
        res, t2 = run()
        segs = [s["seconds"] / s["iterations"] for s in res.info.get("segment_times", [])[1:]]
        if segs:
            out.update(per_iteration_s=statistics.median(segs), segments_s=segs,
                       per_iteration_kind="median over the recorded segments (first left out)")
        else:
            k = spec["iter_param"]
            _, t1 = run(**{k: spec["t1"]})
            out.update(per_iteration_s=(t2 - t1) / (params[k] - spec["t1"]),
                       per_iteration_kind=f"(time at {k}={params[k]} - time at {k}={spec['t1']}) / difference")
        out["wall_s"] = t2
        out["iterations"] = res.info.get("iterations")
    itemsize = np.dtype(res.abundances.dtype).itemsize
    rows = D.shape[1] if spec["ws"] == "M" else E.shape[1]
    cube_b, ws_b = Y.nbytes, rows * Y.shape[1] * itemsize
    peak = _peak_rss()
    out.update(rss_after_imports_b=rss_imports, rss_after_scene_b=rss_data, peak_rss_b=peak,
               cube_b=cube_b, working_set_b=ws_b, working_set=f"({'M' if spec['ws'] == 'M' else 'p'}, N) "
               f"{res.abundances.dtype}",
               peak_ratio=(peak - rss_imports) / (cube_b + ws_b),
               # without what the scene's generation left behind (DC1's truth and library, freed pages)
               peak_ratio_method=(peak - (rss_data - cube_b)) / (cube_b + ws_b))
    # the bound, in this process right after the method (same load; its arrays come after the peak
    # above was read)
    res = sc = Y = None   # free the scene and the result before the bound
    out["bound"] = bound_for(name, int(out["N"]), threads, reps, (TILE * tiles, TILE * tiles))
    out["ratio_to_bound"] = out["per_iteration_s"] / out["bound"]["bound_s"]
    return out


# ------------------------------------------------------------------------------------ bounds
def _median_time(fn: Callable[[], None], reps: int) -> float:
    fn()                                   # warm-up (allocations, BLAS buffers)
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


def _bound_numpy(name: str, L: int, M: int, N: int, p: int, shape: tuple[int, int]) -> Callable[[], None]:
    """One iteration of the method's GEMMs and element-wise passes, as plain NumPy calls on whole
    arrays (float32 data, as the methods' default dtype; float64 where the method computes in it)."""
    import numpy as np

    rng = np.random.default_rng(0)
    f32 = np.float32
    Y = rng.random((L, N), dtype=f32)

    def mat(*s: int, dt: Any = f32) -> Any:
        return rng.random(s).astype(dt)

    if name == "SUnSAL":
        # Z = max(X - S, 0); W = Z + S; X = P W + b; S = W - X; and b = Q Y + q every 10 iterations
        P, Q, q = mat(M, M), mat(M, L), mat(M, 1)
        X, S, Z, W, b = mat(M, N), mat(M, N), np.empty((M, N), f32), np.empty((M, N), f32), mat(M, N)

        def it() -> None:
            for k in range(10):
                if k == 0 and M * N * 4 > (64 << 20):
                    np.matmul(Q, Y, out=b)
                    np.add(b, q, out=b)
                np.subtract(X, S, out=Z)
                np.maximum(Z, 0, out=Z)
                np.add(Z, S, out=W)
                np.matmul(P, W, out=X)
                np.add(X, b, out=X)
                np.subtract(W, X, out=S)
        it.per = 10   # type: ignore[attr-defined]
        return it
    if name == "CLSUnSAL":
        # Z = X - Lam; Z = max(Z, 0) scaled by row (row norms); W = Z + Lam; X = P W + b; Lam = W - X
        P = mat(M, M)
        X, Lm, Z, W, b = mat(M, N), mat(M, N), np.empty((M, N), f32), np.empty((M, N), f32), mat(M, N)

        def it() -> None:
            np.subtract(X, Lm, out=Z)
            np.maximum(Z, 0, out=Z)
            nrm = np.sqrt(np.einsum("ij,ij->i", Z, Z))[:, None]
            np.multiply(Z, (1.0 - 0.01 / np.maximum(nrm, 1e-30)).astype(f32), out=Z)
            np.add(Z, Lm, out=W)
            np.matmul(P, W, out=X)
            np.add(X, b, out=X)
            np.subtract(W, X, out=Lm)
        it.per = 1   # type: ignore[attr-defined]
        return it
    if name == "S2WSU":
        # one block: weights (row norms, 8-neighbourhood mean, reciprocal), the first iteration's
        # residual (one (L, M) product), 5 iterations of 1 product + the element-wise passes
        from hysupp.unmixing.semisupervised.s2wsu import neighbourhood_mean

        A2, Dm = mat(M, M), mat(L, M)
        R, B1, C, N2, N3, W3, DtY = (mat(M, N) for _ in range(7))
        U, T = np.empty((M, N), f32), np.empty((M, N), f32)
        c1 = 1 / 1.5

        def it() -> None:
            rn = np.linalg.norm(W3, axis=1)
            tau = neighbourhood_mean(W3, shape)
            np.abs(tau, out=tau)
            np.add(tau, 0.01, out=tau)
            np.reciprocal(tau, out=tau)
            np.multiply(tau, (1 / rn)[:, None].astype(f32), out=tau)
            ntau = np.negative(tau)
            np.matmul(A2, R, out=U)
            np.multiply(C, -0.5, out=T)
            np.add(T, U, out=T)
            r = Dm @ T
            np.add(r, Y, out=r)
            float(np.vdot(r, r))
            for _ in range(5):
                np.matmul(A2, R, out=U)
                np.subtract(B1, R, out=B1)
                np.add(B1, U, out=B1)
                np.add(B1, U, out=B1)
                np.multiply(B1, c1, out=B1)
                np.add(B1, DtY, out=B1)
                np.add(C, U, out=C)
                np.multiply(C, c1, out=C)
                np.multiply(B1, 0.5, out=R)
                np.add(R, DtY, out=R)
                np.add(U, N2, out=T)
                np.minimum(T, 0, out=N2)
                np.abs(T, out=T)
                np.add(R, T, out=R)
                np.add(U, N3, out=W3)
                np.clip(W3, ntau, tau, out=N3)
                np.add(R, W3, out=R)
                np.subtract(R, N3, out=R)
                np.subtract(R, N3, out=R)
        it.per = 5   # type: ignore[attr-defined]
        return it
    if name in ("SUnAA", "FCLS"):
        # the dense algebra: E^T Y in float64 (Y converted), and the residual Y - E A with Y A^T (SUnAA)
        # or the KKT gradient G A - B (FCLS)
        E, G = mat(L, p, dt=np.float64), mat(p, p, dt=np.float64)
        A = mat(p, N, dt=np.float64)
        chunk = 8192

        def it() -> None:
            YA = np.zeros((L, p))
            for c0 in range(0, N, chunk):
                Yc = Y[:, c0:c0 + chunk].astype(np.float64)
                B = E.T @ Yc
                if name == "SUnAA":
                    np.add(YA, Yc @ A[:, c0:c0 + chunk].T, out=YA)
                    Rc = E @ A[:, c0:c0 + chunk]
                    np.subtract(Yc, Rc, out=Rc)
                    float(np.vdot(Rc, Rc))
                else:
                    g = G @ A[:, c0:c0 + chunk]
                    np.subtract(g, B, out=g)
        it.per = 1   # type: ignore[attr-defined]
        return it
    raise KeyError(name)


def _bound_torch(name: str, L: int, M: int, N: int, p: int, shape: tuple[int, int]) -> Callable[[], None] | None:
    """The same passes as torch calls (multi-threaded element-wise ops); ``None`` where not written."""
    import torch

    g = torch.Generator().manual_seed(0)

    def mat(*s: int, dt: Any = torch.float32) -> Any:
        return torch.rand(*s, generator=g, dtype=dt)

    if name == "SUnSAL":
        P, Q, q, Y = mat(M, M), mat(M, L), mat(M, 1), mat(L, N)
        X, S, Z, W, b = mat(M, N), mat(M, N), torch.empty(M, N), torch.empty(M, N), mat(M, N)

        def it() -> None:
            for k in range(10):
                if k == 0 and M * N * 4 > (64 << 20):
                    torch.matmul(Q, Y, out=b)
                    b.add_(q)
                torch.sub(X, S, out=Z)
                Z.clamp_(min=0)
                torch.add(Z, S, out=W)
                torch.matmul(P, W, out=X)
                X.add_(b)
                torch.sub(W, X, out=S)
        it.per = 10   # type: ignore[attr-defined]
        return it
    if name == "CLSUnSAL":
        P = mat(M, M)
        X, Lm, Z, W, b = mat(M, N), mat(M, N), torch.empty(M, N), torch.empty(M, N), mat(M, N)

        def it() -> None:
            torch.sub(X, Lm, out=Z)
            Z.clamp_(min=0)
            nrm = torch.linalg.vector_norm(Z, dim=1, keepdim=True)
            Z.mul_(1.0 - 0.01 / nrm.clamp(min=1e-30))
            torch.add(Z, Lm, out=W)
            torch.matmul(P, W, out=X)
            X.add_(b)
            torch.sub(W, X, out=Lm)
        it.per = 1   # type: ignore[attr-defined]
        return it
    return None


def bound_for(name: str, N: int, threads: int, reps: int, shape: tuple[int, int]) -> dict[str, Any]:
    """Per-iteration time of the method's operations as plain NumPy and torch calls (``threads`` torch
    threads; NumPy's BLAS threads are the process's), and the smaller of the two."""
    import torch

    torch.set_num_threads(threads)
    L, M, p = 224, 240, 5
    entry: dict[str, Any] = {}
    for lib, make in (("numpy", _bound_numpy), ("torch", _bound_torch)):
        fn = make(name, L, M, N, p, shape)
        if fn is not None:
            entry[f"{lib}_s"] = _median_time(fn, reps) / fn.per   # type: ignore[attr-defined]
        del fn
    entry["bound_s"] = min(v for k, v in entry.items() if k.endswith("_s"))
    return entry


def markdown(record: dict[str, Any]) -> str:
    """The tables of ``docs/large_scenes.md``: time per iteration against the bound (1 and n threads)
    and peak memory, per method and size."""
    runs = record["runs"]
    threads = sorted({r["threads"] for r in runs})
    lines = ["| method | N (px) | " + " | ".join(f"s/it, {t} thr (bound, ratio)" for t in threads)
             + " | peak RSS (MiB) | peak / (cube + working set) |", "|---|---:|" + "---:|" * (len(threads) + 2)]
    for name in dict.fromkeys(r["method"] for r in runs):
        for N in sorted({r["N"] for r in runs if r["method"] == name}):
            row = {r["threads"]: r for r in runs if r["method"] == name and r["N"] == N}
            cells = [f"{row[t]['per_iteration_s']:.3g} ({row[t]['bound']['bound_s']:.3g}, "
                     f"**{row[t]['ratio_to_bound']:.2f}**)" if t in row else "" for t in threads]
            r1 = row[threads[0]]
            lines.append(f"| {name} | {N:,} | " + " | ".join(cells) + f" | {r1['peak_rss_b'] / 2**20:.0f} | "
                         f"**{r1['peak_ratio']:.2f}** ({r1['peak_ratio_method']:.2f}) |")
    return "\n".join(lines)


# ------------------------------------------------------------------------------------ driver
def _uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        return ""


def _sub(args: list[str], threads: int, blas: int) -> dict[str, Any]:
    env = dict(os.environ)
    for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[v] = str(blas)
    proc = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, env=env, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"worker {args} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tiles", type=int, nargs="+", default=[1, 2, 4, 8])
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--methods", nargs="+", default=list(METHODS))
    ap.add_argument("--bound-reps", type=int, default=3)
    ap.add_argument("--output", type=Path, default=HERE / "results" / "full_scene_cpu.json")
    ap.add_argument("--markdown", action="store_true", help="print the tables of docs/large_scenes.md from --output")
    ap.add_argument("--worker", choices=("method",), help=argparse.SUPPRESS)
    ap.add_argument("--method", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker == "method":
        print(json.dumps(worker_method(args.method, args.tiles[0], args.threads[0], args.bound_reps)))
        return
    if args.markdown:
        print(markdown(json.loads(args.output.read_text())))
        return

    import numpy as np

    import hysupp

    record: dict[str, Any] = {
        "benchmark": "full_scene_cpu", "issue": 21, "scene": f"DC1 (224 bands, 240-atom library) tiled t x t, "
        f"float32, white noise at {SNR_DB} dB per tile", "uptime_before": _uptime(), "host": platform.node(),
        "cpu": platform.processor() or platform.machine(), "cpu_count": os.cpu_count(),
        "versions": {"python": platform.python_version(), "numpy": np.__version__,
                     "hysupp": getattr(hysupp, "__version__", "dev")},
        "methods": {k: METHODS[k] for k in args.methods}, "runs": []}
    t_start = time.perf_counter()
    for threads in args.threads:
        for tiles in args.tiles:
            for name in args.methods:
                blas = 1 if METHODS[name]["threads"] == "solver" else threads
                r = _sub(["--worker", "method", "--method", name, "--tiles", str(tiles), "--threads", str(threads),
                          "--bound-reps", str(args.bound_reps)], threads, blas)
                b = r["bound"]
                record["runs"].append(r)
                print(f"{name:9s} N={r['N']:7d} threads={threads}: {r['per_iteration_s']:.4f} s/it, bound "
                      f"{b['bound_s']:.4f} s (ratio {r['ratio_to_bound']:.2f}); peak RSS "
                      f"{r['peak_rss_b'] / 2**20:.0f} MiB, (peak - imports) / (cube + working set) "
                      f"{r['peak_ratio']:.2f}", flush=True)
    record["uptime_after"] = _uptime()
    record["wall_s"] = time.perf_counter() - t_start
    if args.output.exists():   # keep the runs of the methods this invocation did not rerun
        old = json.loads(args.output.read_text())
        kept = [r for r in old.get("runs", []) if r["method"] not in args.methods]
        if kept:
            record["runs"] = kept + record["runs"]
            record["methods"] = {**{k: v for k, v in old.get("methods", {}).items() if k not in args.methods},
                                 **record["methods"]}
            record["earlier_runs"] = {"methods": sorted({r["method"] for r in kept}),
                                      "uptime_before": old.get("uptime_before"), "uptime_after": old.get("uptime_after")}
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(record, indent=1) + "\n")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
