"""Issue 21: per-iteration time against a same-run bound, and peak memory, of the library solvers on
a DC1-like scene tiled up to 3.6e5 pixels.

Scene: DC1 (``hysupp.simulate("dc1")``: 224 bands, 75 x 75 pixels, 5 of the 240 library atoms)
tiled ``t x t`` times (``t`` in ``--tiles``: N = 5.6e3, 2.25e4, 9e4, 3.6e5 pixels), float32, each tile
with its own white noise at 30 dB (seed ``(0, i, j)``); library: DC1's 240 atoms; ``p = 5``
(SUnAA, FaSUn, SUnS, MiSiSUn; ``device="cpu"``) and DC1's 5 endmembers (FCLS).

Every (method, size, threads) runs in a subprocess of its own (the environment sets the BLAS
threads before NumPy is imported) that generates the scene, runs the method for a few iterations
(``tol = 0``) and reports

* the per-iteration time: the median over the iteration segments the method records in
  ``info["segment_times"]`` (SUnSAL: the 10-iteration segments between residual checks; S2WSU:
  one weight block of 5 iterations, weights and stopping residual included; SUnAA: one iteration),
  the first segment (set-up) left out; methods without ``segment_times`` (CLSUnSAL, and the FaSUn
  family per outer iteration) are run at ``T2`` and ``T1`` iterations and the difference is divided
  by ``T2 - T1`` (CLSUnSAL: 21 and 11, medians of 3 runs each up to 25,000 pixels; the FaSUn family:
  52 and 2 outer iterations, medians of 3 runs each; FaSUn's objective and final projections, done
  once at the end of both runs, cancel); FCLS (not iterative) reports the time of one call;
* the peak resident memory (``ru_maxrss``), the resident memory after the imports (torch included
  for the FaSUn family, which imports it) and after the scene was generated, and ``(peak - after
  imports) / (cube + working set)`` with the working set one ``(M, N)`` array of the output dtype
  for the methods over every atom and one ``(p, N)`` array otherwise (issue 21, deliverable 3: at
  most 3); ``peak_ratio_method`` counts from the resident memory after the scene was generated less
  the cube instead (at small sizes the fixed 100-200 MB of the interpreter and of DC1's generation
  dominate the first ratio).

The bound (in the same subprocess, right after the method, so under the same machine load) runs
the same GEMMs and element-wise passes as plain NumPy calls (and as torch calls with
``torch.set_num_threads`` where written), median of ``--bound-reps``; the smaller of the two is the
bound. Each method's list of operations is written out in ``_bound_numpy`` below: whole arrays of
the same shapes and dtypes, except CLSUnSAL's loop (2048-pixel float64 chunks over a float32
state, as the method: whole float64 arrays would need 12 full-size arrays); for S2WSU the passes
of the current loop (the right-hand side recomputed from the state, -Delta3 rebuilt from W3 and
stored, the weights and ``D^T Y`` recomputed per row block on large scenes); for SUnAA the dense
algebra only (normal equations, residual); for FCLS what every pixel goes through (``E^T Y``, the
start's solve and simplex projection, the grouping sort, one solve, the dual test, the KKT report
of the result), not the further solves of the pixels whose support changes.
Threads: ``n`` threads means ``n`` solver threads over pixel chunks with 1 BLAS thread (SUnSAL,
FCLS, S2WSU, SUnAA: ``n_threads``) or ``n`` BLAS/torch threads (CLSUnSAL, the FaSUn family); the
bound gets ``n`` torch threads.

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
#: and ``T1`` for the two-run fallback (``t2_small``: ``T2`` up to 25,000 pixels; ``runs_each``: runs at
#: ``T2`` and at ``T1``, medians; default 3 up to 25,000 pixels, else 1), the working set ("M" or "p"),
#: the threading mode
METHODS: dict[str, dict[str, Any]] = {
    "SUnSAL": {"params": {"lam": 0.1, "max_iter": 21, "tol": 0.0}, "ws": "M", "threads": "solver"},
    "CLSUnSAL": {"params": {"lam": 0.1, "max_iter": 21, "tol": 0.0}, "iter_param": "max_iter", "t1": 11,
                 "ws": "M", "threads": "blas"},
    "S2WSU": {"params": {"lam": 0.005, "outer_iters": 3, "tol": 0.0}, "ws": "M", "threads": "solver"},
    "SUnAA": {"params": {"T": 4}, "ws": "p", "threads": "solver", "p": 5},
    "FCLS": {"params": {}, "ws": "p", "threads": "solver", "supervised": True},
    "FaSUn": {"params": {"T": 52, "device": "cpu"}, "iter_param": "T", "t1": 2, "runs_each": 3,
              "ws": "p", "threads": "blas", "p": 5, "torch": True},
    "SUnS": {"params": {"T": 52, "device": "cpu"}, "iter_param": "T", "t1": 2, "runs_each": 3,
             "ws": "p", "threads": "blas", "p": 5, "torch": True},
    "MiSiSUn": {"params": {"T": 52, "device": "cpu"}, "iter_param": "T", "t1": 2, "runs_each": 3,
                "ws": "p", "threads": "blas", "p": 5, "torch": True},
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
    if spec.get("torch"):     # the method imports torch: count it with the imports
        import torch  # noqa: F401
    rss_imports = _rss_now()
    sc = make_scene(tiles)
    rss_data = _rss_now()
    Y, D, E, shape = sc["Y"], sc["D"], sc["E"], sc["shape"]
    cls = get_method(name)
    names = {p.name for p in cls.params}
    params = dict(spec["params"])
    if spec["threads"] == "solver" and "n_threads" in names:
        params["n_threads"] = threads
    if "t2_small" in spec and Y.shape[1] <= 25_000:   # more iterations where one takes ~ms
        params[spec["iter_param"]] = spec["t2_small"]

    def run(**over: Any) -> tuple[Any, float]:
        m = cls(**{**params, **over})
        t0 = time.perf_counter()
        if spec.get("supervised"):
            res = m.unmix(Y, E)
        else:
            res = m.unmix(Y, D, p=spec.get("p"), image_shape=shape)
        return res, time.perf_counter() - t0

    out: dict[str, Any] = {"method": name, "tiles": tiles, "N": int(Y.shape[1]), "threads": threads,
                           "params": params, "uptime": _uptime()}
    # a run's result is dropped before the next run starts (it would count in the next run's peak)
    if spec.get("supervised"):
        times = []
        for _ in range(3):
            res = None
            res, t = run()
            times.append(t)
        out.update(per_iteration_s=statistics.median(times), per_iteration_kind="one call (median of 3)",
                   iterations=res.info.get("iterations"))
    else:
        res, t2 = run()
        segs = [s["seconds"] / s["iterations"] for s in res.info.get("segment_times", [])[1:]]
        out["wall_s"] = t2
        out["iterations"] = res.info.get("iterations")
        if segs:
            out.update(per_iteration_s=statistics.median(segs), segments_s=segs,
                       per_iteration_kind="median over the recorded segments (first left out)")
        else:
            out_dtype = res.abundances.dtype
            res = None
            k = spec["iter_param"]
            each = spec.get("runs_each", 3 if Y.shape[1] <= 25_000 else 1)   # medians of 3 runs each
            t2s = [t2] + [run()[1] for _ in range(each - 1)]
            t1s = [run(**{k: spec["t1"]})[1] for _ in range(each)]
            t1 = statistics.median(t1s)
            out.update(per_iteration_s=(statistics.median(t2s) - t1) / (params[k] - spec["t1"]),
                       per_iteration_kind=f"(time at {k}={params[k]} - time at {k}={spec['t1']}) / difference"
                       + (f", medians of {each} runs" if each > 1 else ""), times_t2_s=t2s, times_t1_s=t1s)
    out_dtype = res.abundances.dtype if res is not None else out_dtype
    itemsize = np.dtype(out_dtype).itemsize
    rows = D.shape[1] if spec["ws"] == "M" else E.shape[1]
    cube_b, ws_b = Y.nbytes, rows * Y.shape[1] * itemsize
    peak = _peak_rss()
    out.update(rss_after_imports_b=rss_imports, rss_after_scene_b=rss_data, peak_rss_b=peak,
               cube_b=cube_b, working_set_b=ws_b, working_set=f"({'M' if spec['ws'] == 'M' else 'p'}, N) "
               f"{out_dtype}",
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
        # the current loop (sunsal.clsunsal_admm): state T1 (L, N), T2, T3 (M, N) stored in the
        # method's dtype (float32), per 2048-pixel chunk the splits and multipliers from T1, T2, T3 in
        # float64 buffers, three float64 products (D^T, (D^T D + 2I)^{-1}, D) and the new T's; then the
        # row norms of T2 (U kept and the residuals on 2 of every 10 iterations are left out)
        f64 = np.float64
        DT, AA, Dm = mat(M, L, dt=f64), mat(M, M, dt=f64), mat(L, M, dt=f64)
        T1, T2, T3 = mat(L, N), mat(M, N), mat(M, N)
        scale = mat(M, 1, dt=f64)
        chunk = 2048
        y, s1, d1 = (np.empty((L, chunk)) for _ in range(3))
        w, v, d2, d3, u = (np.empty((M, chunk)) for _ in range(5))

        def it() -> None:
            for a in range(0, N, chunk):
                b = min(a + chunk, N)
                n = b - a
                yc, s1c, d1c = y[:, :n], s1[:, :n], d1[:, :n]
                wc, vc, d2c, d3c, uc = w[:, :n], v[:, :n], d2[:, :n], d3[:, :n], u[:, :n]
                t1, t2, t3 = T1[:, a:b], T2[:, a:b], T3[:, a:b]
                np.copyto(yc, Y[:, a:b])
                yc /= 1.3
                np.multiply(t1, 0.1, out=s1c)
                s1c += yc
                s1c /= 1.1
                np.subtract(s1c, t1, out=d1c)
                np.add(s1c, d1c, out=s1c)
                np.matmul(DT, s1c, out=wc)
                np.multiply(t2, scale, out=vc)
                np.subtract(vc, t2, out=d2c)
                wc += vc
                wc += d2c
                np.maximum(t3, 0, out=vc)
                np.subtract(vc, t3, out=d3c)
                wc += vc
                wc += d3c
                np.matmul(AA, wc, out=uc)
                np.matmul(Dm, uc, out=s1c)
                np.subtract(s1c, d1c, out=t1)
                np.subtract(uc, d2c, out=t2)
                np.subtract(uc, d3c, out=t3)
            rows = max(1, (chunk * M) // N)
            out = np.empty(M)
            for r in range(0, M, rows):
                np.sum(np.square(T2[r:r + rows], dtype=f64), axis=1, out=out[r:r + rows])
        it.per = 1   # type: ignore[attr-defined]
        return it
    if name == "S2WSU":
        # one block of the current loop (s2wsu.py): the weights (row norms, 8-neighbourhood mean,
        # reciprocal); the residual pass (R recomputed from the state, U = A2 R, one (L, M) product
        # and the three sums of squares); the iterate pass (large scenes: the weights and R again and
        # D^T Y; small ones keep D^T Y, U, R and the weights); 5 iterations of 1 product + the
        # element-wise passes; N3 rebuilt from W3 (copy, scatter) per pass and stored (compare, gather)
        from hysupp.unmixing.semisupervised.s2wsu import neighbourhood_mean

        small = M * N * 4 <= (64 << 20)
        A2, Dm, DTm = mat(M, M), mat(L, M), mat(M, L)
        B1, C, W2, N3, W3, DtY = (mat(M, N) for _ in range(6))
        c1DtY = mat(M, N)
        U, T = np.empty((M, N), f32), np.empty((M, N), f32)
        c1, mu = 1 / 1.5, 0.5

        def weights() -> tuple[Any, Any]:
            tau = neighbourhood_mean(W3, shape)
            np.abs(tau, out=tau)
            np.add(tau, 0.01, out=tau)
            np.reciprocal(tau, out=tau)
            np.multiply(tau, inv_rn, out=tau)
            np.multiply(tau, 0.01, out=tau)
            return tau, np.negative(tau)

        def rhs() -> Any:
            R = np.multiply(B1, 1 - mu)
            np.add(R, DtY, out=R)
            np.add(R, np.abs(W2), out=R)
            np.add(R, W3, out=R)
            np.subtract(R, N3, out=R)
            np.subtract(R, N3, out=R)
            return R

        def it() -> None:
            nonlocal inv_rn
            if small:
                rn = np.linalg.norm(W3, axis=1)
            else:
                rn = np.sqrt(np.einsum("ij,ij->i", W3, W3, dtype=np.float64))
            inv_rn = (1 / rn)[:, None].astype(f32)
            # residual pass (N3 rebuilt from W3 and its stored active entries)
            tau, ntau = weights()
            if not small:
                np.matmul(DTm, Y, out=DtY)
            n3 = W3.copy()
            n3.reshape(-1)[idx] = vals
            R = rhs()
            np.matmul(A2, R, out=U)
            np.multiply(C, -mu, out=T)
            np.add(T, U, out=T)
            r = Dm @ T
            np.add(r, Y, out=r)
            float(np.vdot(r, r))
            del r
            np.minimum(W2, 0, out=T)
            np.negative(T, out=T)
            np.minimum(U, T, out=T)
            float(np.vdot(T, T))
            np.add(U, N3, out=T)
            np.clip(T, ntau, tau, out=T)
            np.subtract(T, N3, out=T)
            float(np.vdot(T, T))
            # iterate pass
            if not small:
                tau, ntau = weights()
                np.matmul(DTm, Y, out=DtY)
                np.multiply(DtY, c1, out=c1DtY)
                n3 = W3.copy()
                n3.reshape(-1)[idx] = vals
                R = rhs()
            for i in range(5):
                if i == 4:
                    Up = U.copy()
                if i or not small:
                    np.matmul(A2, R, out=U)
                np.subtract(B1, R, out=B1)
                np.add(B1, U, out=B1)
                np.add(B1, U, out=B1)
                np.multiply(B1, c1, out=B1)
                np.add(B1, c1DtY, out=B1)
                np.add(C, U, out=C)
                np.multiply(C, c1, out=C)
                np.multiply(B1, 1 - mu, out=R)
                np.add(R, DtY, out=R)
                np.minimum(W2, 0, out=T)
                np.add(U, T, out=W2)
                np.abs(W2, out=T)
                np.add(R, T, out=R)
                np.add(U, N3, out=W3)
                np.clip(W3, ntau, tau, out=N3)
                np.add(R, W3, out=R)
                np.subtract(R, N3, out=R)
                np.subtract(R, N3, out=R)
            np.subtract(U, Up, out=T)
            float(np.vdot(T, T))
            # N3 stored as its entries that differ from W3
            i3 = np.flatnonzero(N3 != W3)
            N3.reshape(-1)[i3]
        inv_rn = None
        idx = np.flatnonzero(rng.random(M * N) < 0.05)   # ~5 % active entries, as on DC1 (3.5-6.5 %)
        vals = np.zeros(idx.size, f32)
        it.per = 5   # type: ignore[attr-defined]
        return it
    if name in ("FaSUn", "SUnS", "MiSiSUn"):
        # one outer iteration of fasun_solve (CPU path): A-step (S3 S3^T and its p x p inverse, the
        # (p, L) @ (L, N) product, TA = 5 steps of a (p, p) @ (p, N) product and four passes); B-step
        # (A A^T, the (p, N) @ (N, L) product with a transposed view of Y, TB = 5 steps on (p, M) and (p, L) arrays)
        W1, L1, A, V1, G = (mat(p, N) for _ in range(5))
        S3, L3, DB, T3, C3, R3 = (mat(p, L) for _ in range(6))
        B, L2, V2, R2, S2 = (mat(p, M) for _ in range(5))
        K3, K2, DT, q1t = mat(L, M) / L, mat(M, M) / M, mat(M, L) / M, mat(1, M)   # bounded iterates
        eye = np.eye(p)

        def inv(Q: Any) -> tuple[Any, Any]:
            Qi = np.linalg.inv(Q.astype(np.float64))
            z = Qi.sum(axis=1)
            return (Qi - np.outer(z, z) / z.sum()).astype(f32), (z / z.sum())[:, None].astype(f32)

        def it() -> None:
            S3g = S3 @ S3.T
            P2, q2 = inv(S3g + 50 * eye)
            np.matmul(P2 @ S3, Y, out=G)
            np.add(G, q2, out=G)
            P2 = P2 * 50
            for _ in range(5):
                np.matmul(P2, W1, out=A)
                np.add(A, G, out=A)
                np.add(A, L1, out=V1)
                np.minimum(V1, 0, out=L1)
                np.abs(V1, out=W1)
            AAt = A @ A.T
            Q3, _ = inv(AAt + eye)
            np.matmul(A, Y.T, out=DB)      # Y^T a view, as the method
            np.matmul(Q3, DB, out=C3)
            for _ in range(5):
                np.matmul(R3, K3, out=B)
                np.add(B, q1t, out=B)
                np.add(B, R2 @ K2, out=B)
                np.add(B, L2, out=V2)
                if name == "SUnS":
                    np.clip(V2 - 0.005, 0.0, 1.0, out=S2)
                    np.subtract(V2, S2, out=L2)
                    np.subtract(S2, L2, out=R2)
                else:
                    np.minimum(V2, 0, out=L2)
                    np.abs(V2, out=R2)
                np.matmul(B, DT, out=DB)
                np.add(DB, L3, out=T3)
                np.matmul(Q3, T3, out=S3)
                np.add(S3, C3, out=S3)
                np.subtract(T3, S3, out=L3)
                np.subtract(S3, L3, out=R3)
        it.per = 1   # type: ignore[attr-defined]
        return it
    if name == "SUnAA":
        # the dense algebra: E^T Y in float64 (Y converted), and the residual Y - E A with Y A^T
        E = mat(L, p, dt=np.float64)
        A = mat(p, N, dt=np.float64)
        chunk = 8192

        def it() -> None:
            YA = np.zeros((L, p))
            for c0 in range(0, N, chunk):
                Yc = Y[:, c0:c0 + chunk].astype(np.float64)
                E.T @ Yc
                np.add(YA, Yc @ A[:, c0:c0 + chunk].T, out=YA)
                Rc = E @ A[:, c0:c0 + chunk]
                np.subtract(Yc, Rc, out=Rc)
                float(np.vdot(Rc, Rc))
        it.per = 1   # type: ignore[attr-defined]
        return it
    if name == "FCLS":
        # what every pixel goes through in hysupp.optim.fcls, as whole-array calls: B = E^T Y in
        # float64 (Y converted by chunks); the sum-to-one least-squares solve z = P B + q; its
        # projection onto the simplex (the solver's start); the passive sets' keys and their sort
        # (grouping); one equality-constrained solve of every pixel (a (p, p) product) and the
        # feasibility test; the dual test (gradient G a - b, mu = a^T g, the most violating
        # variable); the KKT residual of the float64 solution and of the float32 output (info). Not
        # included: the further solves of the ~4 % of pixels whose support changes, the per-group
        # Python loop, the pattern factorisations.
        from hysupp.optim.fcls import _kkt_cols
        from hysupp.optim.simplex import project_simplex

        Et, Gm, Pm = mat(p, L, dt=np.float64), mat(p, p, dt=np.float64), mat(p, p, dt=np.float64)
        q = mat(p, 1, dt=np.float64)
        B = np.empty((p, N))
        chunk = 4096
        buf = np.empty((L, chunk))
        pow2 = (1 << np.arange(p)).astype(np.int64)

        def it() -> None:
            for c0 in range(0, N, chunk):
                c1 = min(c0 + chunk, N)
                tmp = buf[:, :c1 - c0]
                np.copyto(tmp, Y[:, c0:c1])
                np.matmul(Et, tmp, out=B[:, c0:c1])
            np.isfinite(B).all(axis=0)
            z = Pm @ B
            z += q
            a = project_simplex(z, axis=0)
            P = a > 0
            keys = pow2 @ P
            order = np.argsort(keys, kind="stable")
            b = np.take(B, order, axis=1)
            P = np.take(P, order, axis=1)
            a = np.take(a, order, axis=1)
            z = Pm @ b
            neg = z <= 0
            neg &= P
            neg.any(axis=0)
            g = Gm @ z
            g -= b
            mu = np.einsum("ij,ij->j", z, g)
            w = np.subtract(mu, g, out=g)
            w *= ~P
            w.max(axis=0)
            out = np.empty((p, N))
            out[:, order] = z
            _kkt_cols(Gm, B, out)
            _kkt_cols(Gm, B, out.astype(np.float32).astype(np.float64))
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
    if name in ("FaSUn", "SUnS", "MiSiSUn"):
        # the same outer iteration as torch calls
        Y = mat(L, N)
        W1, L1, A, V1, G = (mat(p, N) for _ in range(5))
        S3, L3, DB, T3, C3, R3 = (mat(p, L) for _ in range(6))
        B, L2, V2, R2, S2 = (mat(p, M) for _ in range(5))
        K3, K2, DT, q1t = mat(L, M) / L, mat(M, M) / M, mat(M, L) / M, mat(1, M)   # bounded iterates
        eye = torch.eye(p)

        def inv(Q: Any) -> tuple[Any, Any]:
            Qi = torch.linalg.inv(Q.double())
            z = Qi.sum(dim=1)
            return (Qi - torch.outer(z, z) / z.sum()).float(), (z / z.sum())[:, None].float()

        def it() -> None:
            P2, q2 = inv(S3 @ S3.T + 50 * eye)
            torch.mm(P2 @ S3, Y, out=G)
            G.add_(q2)
            P2 = P2 * 50
            for _ in range(5):
                torch.addmm(G, P2, W1, out=A)
                torch.add(A, L1, out=V1)
                torch.clamp(V1, max=0, out=L1)
                torch.abs(V1, out=W1)
            Q3, _ = inv(A @ A.T + eye)
            torch.mm(A, Y.T, out=DB)
            torch.mm(Q3, DB, out=C3)
            for _ in range(5):
                torch.addmm(q1t, R3, K3, out=B)
                B.add_(R2 @ K2)
                torch.add(B, L2, out=V2)
                if name == "SUnS":
                    torch.clamp(V2 - 0.005, 0.0, 1.0, out=S2)
                    torch.sub(V2, S2, out=L2)
                    torch.sub(S2, L2, out=R2)
                else:
                    torch.clamp(V2, max=0, out=L2)
                    torch.abs(V2, out=R2)
                torch.mm(B, DT, out=DB)
                torch.add(DB, L3, out=T3)
                torch.addmm(C3, Q3, T3, out=S3)
                torch.sub(T3, S3, out=L3)
                torch.sub(S3, L3, out=R3)
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
    if args.output.exists():   # keep the runs (method, size, threads) this invocation did not rerun
        old = json.loads(args.output.read_text())
        done = {(r["method"], r["tiles"], r["threads"]) for r in record["runs"]}
        kept = [r for r in old.get("runs", []) if (r["method"], r["tiles"], r["threads"]) not in done]
        if kept:
            new_runs = {(r["method"], r["tiles"], r["threads"]): r for r in record["runs"]}
            # in the earlier order, the reruns in place of the runs they replace, then any new ones
            merged = [new_runs.pop((r["method"], r["tiles"], r["threads"]), r) for r in old.get("runs", [])]
            record["runs"] = merged + list(new_runs.values())
            record["methods"] = {**old.get("methods", {}), **record["methods"]}
            record["earlier_runs"] = {"methods": sorted({r["method"] for r in kept}),
                                      "uptime_before": old.get("uptime_before"), "uptime_after": old.get("uptime_after"),
                                      "note": "each run records its own uptime (key uptime) where measured since"}
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(record, indent=1) + "\n")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
