"""Peak memory and throughput of tile-wise FCLS (``hysupp.unmix_tiled``) on scenes larger than memory.

Issue 9: a generated 2500 x 2500 x 224 float32 GeoTIFF (5.6 GB) is unmixed with FCLS and fixed
endmembers tile by tile; peak resident memory (``/usr/bin/time -v``, "Maximum resident set size")
must stay under 1.5 GB and a 1250 x 1250 scene's peak within 20% of it; the throughput per pixel
is compared with the in-memory path (``hysupp.unmix`` on the whole 1250 x 1250 cube); the output
COG must carry the input's CRS and transform.

Scenes are generated window by window (256 x 256 tiles, deterministic: the seed of each window is
``(seed, row, col)``): linear mixtures of 5 USGS 1995 library spectra (224 AVIRIS bands) with
Dirichlet abundances plus white Gaussian noise (sigma 0.002), tiled pixel-interleaved
uncompressed GeoTIFF, EPSG:32633 at 30 m.

Usage::

    python benchmarks/bench_tiled_memory.py all [--sizes 1250 2500] [--workdir /tmp/x] [--keep]
    python benchmarks/bench_tiled_memory.py generate --size 1250 --out scene.tif
    python benchmarks/bench_tiled_memory.py tiled --data scene.tif --endmembers E.csv --out ab.tif
    python benchmarks/bench_tiled_memory.py inmemory --data scene.tif --endmembers E.csv
    python benchmarks/bench_tiled_memory.py overhead --size 1250   # compute only, no I/O; added to the JSON

``all`` checks the free disk space, generates the scenes, runs each job in a subprocess under
``/usr/bin/time -v`` (1 BLAS thread; the tiled job with 1 and 2 Dask threads), writes
``benchmarks/results/tiled_memory.json`` and deletes the generated files (unless ``--keep``).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
ATOMS = [10, 60, 150, 260, 400]   # columns of the USGS 1995 library used as endmembers
GEN_TILE = 256
TRANSFORM = (30.0, 0.0, 366000.0, 0.0, -30.0, 5810000.0)
CRS = "EPSG:32633"


def _endmembers() -> tuple[np.ndarray, list[str], np.ndarray]:
    from hysupp.datasets import named_library

    lib = named_library("usgs1995")
    names = [str(lib.library_names[k]) if lib.library_names else f"D{k + 1}" for k in ATOMS]
    return lib.library[:, ATOMS].astype(np.float32), names, lib.wavelengths


def generate(size: int, out: Path, seed: int = 0, sigma: float = 0.002) -> dict:
    """Write a size x size x 224 scene window by window; returns its description."""
    import rasterio
    from rasterio.transform import Affine
    from rasterio.windows import Window

    E, names, wl = _endmembers()
    L, p = E.shape
    profile = {"driver": "GTiff", "width": size, "height": size, "count": L, "dtype": "float32",
               "crs": CRS, "transform": Affine(*TRANSFORM), "tiled": True, "blockxsize": GEN_TILE,
               "blockysize": GEN_TILE, "interleave": "pixel", "BIGTIFF": "YES"}
    t0 = time.perf_counter()
    with rasterio.open(out, "w", **profile) as ds:
        for b in range(L):
            ds.update_tags(b + 1, wavelength=repr(float(wl[b])), wavelength_units="Nanometers")
        for r in range(0, size, GEN_TILE):
            for c in range(0, size, GEN_TILE):
                h, w = min(GEN_TILE, size - r), min(GEN_TILE, size - c)
                rng = np.random.default_rng([seed, r, c])
                A = rng.dirichlet(np.full(p, 0.5), h * w).T.astype(np.float32)
                Y = E @ A + rng.standard_normal((L, h * w), dtype=np.float32) * np.float32(sigma)
                ds.write(Y.reshape(L, h, w), window=Window(c, r, w, h))
    return {"size": size, "bands": L, "bytes": out.stat().st_size, "generate_s": time.perf_counter() - t0,
            "endmembers": names, "noise_sigma": sigma, "seed": seed}


def run_tiled(data: str, endmembers: str, out: str, tile: int, workers: int) -> dict:
    import dask

    import hysupp

    dask.config.set(num_workers=workers)
    t0 = time.perf_counter()
    run = hysupp.unmix_tiled(data, "FCLS", endmembers=endmembers, tile=tile, out=out, overwrite=True)
    wall = time.perf_counter() - t0
    h, w = run.header.image_shape
    return {"wall_s": wall, "write_s": run.info.get("write_s"), "pixels": h * w, "us_per_pixel": wall / (h * w) * 1e6,
            "tile": tile, "dask_threads": workers}


def run_inmemory(data: str, endmembers: str) -> dict:
    import hysupp

    t0 = time.perf_counter()
    run = hysupp.unmix(data, "FCLS", endmembers=endmembers)
    wall = time.perf_counter() - t0
    n = run.scene.n_pixels
    return {"wall_s": wall, "timings_s": run.record["timings_s"], "pixels": n, "us_per_pixel": wall / n * 1e6,
            "unmix_us_per_pixel": run.record["timings_s"]["unmix"] / n * 1e6}


def run_overhead(size: int, tile: int, repeats: int = 3) -> dict:
    """Compute only, no I/O: FCLS on the whole in-memory cube (the in-memory path's unmix step) vs
    ``unmix_tiled`` on the same in-memory cube (dask chunks, 1 thread), median of ``repeats``."""
    import dask

    from hysupp.methods.registry import get_method
    from hysupp.api import unmix_tiled

    dask.config.set(num_workers=1)
    E, _, _ = _endmembers()
    L, p = E.shape
    cube = np.empty((L, size, size), np.float32)
    for r in range(0, size, GEN_TILE):
        for c in range(0, size, GEN_TILE):
            h, w = min(GEN_TILE, size - r), min(GEN_TILE, size - c)
            rng = np.random.default_rng([0, r, c])
            A = rng.dirichlet(np.full(p, 0.5), h * w).T.astype(np.float32)
            cube[:, r:r + h, c:c + w] = (E @ A + rng.standard_normal((L, h * w), dtype=np.float32)
                                         * np.float32(0.002)).reshape(L, h, w)
    whole, tiled = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        A_mem = get_method("FCLS")().unmix(cube.reshape(L, -1), E).abundances
        whole.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        A_tile = unmix_tiled(cube, "FCLS", endmembers=E, tile=tile).compute()
        tiled.append(time.perf_counter() - t0)
    n = size * size
    return {"pixels": n, "tile": tile, "repeats": repeats, "whole_s": whole, "tiled_s": tiled,
            "whole_us_per_pixel": float(np.median(whole)) / n * 1e6,
            "tiled_us_per_pixel": float(np.median(tiled)) / n * 1e6,
            "tiled_over_whole": float(np.median(tiled) / np.median(whole)),
            "max_abs_diff": float(np.abs(A_tile.reshape(p, -1) - A_mem).max())}


def _timed(args: list[str]) -> dict:
    """Run this script's sub-command under /usr/bin/time -v; its JSON line + peak RSS."""
    cmd = ["/usr/bin/time", "-v", sys.executable, __file__, *args]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stderr[-3000:]}")
    rss_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr).group(1))
    elapsed = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", proc.stderr).group(1)
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    cpu = sum(float(re.search(rf"{k} time \(seconds\): ([\d.]+)", proc.stderr).group(1)) for k in ("User", "System"))
    result.update(peak_rss_mb=rss_kb / 1024, time_v_elapsed=elapsed, command=" ".join(cmd[2:]), cpu_s=cpu,
                  cpu_us_per_pixel=cpu / result["pixels"] * 1e6)
    return result


def _check_cog(path: Path) -> dict:
    import rasterio

    with rasterio.open(path) as ds:
        return {"layout": ds.tags(ns="IMAGE_STRUCTURE").get("LAYOUT"), "crs": ds.crs.to_string(),
                "transform": list(ds.transform)[:6], "crs_ok": ds.crs.to_string() == CRS,
                "transform_ok": tuple(ds.transform)[:6] == TRANSFORM, "bands": ds.count,
                "overviews": ds.overviews(1), "bytes": path.stat().st_size}


def _compare(a: Path, b: Path) -> float:
    """Max |difference| between two abundance rasters, read window by window."""
    import rasterio
    from rasterio.windows import Window

    worst = 0.0
    with rasterio.open(a) as da, rasterio.open(b) as db:
        for r in range(0, da.height, 512):
            win = Window(0, r, da.width, min(512, da.height - r))
            worst = max(worst, float(np.nanmax(np.abs(da.read(window=win) - db.read(window=win)))))
    return worst


def main_all(args: argparse.Namespace) -> None:
    from _common import uptime

    from hysupp.io import save_spectra_csv

    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    need = sum(s * s * 224 * 4 for s in args.sizes) * 1.1 + 1e9
    free = shutil.disk_usage(work).free
    record: dict = {"issue": 9, "host": {"uptime_start": uptime(), "cpus": os.cpu_count(),
                                         "disk_free_gb": free / 1e9, "disk_needed_gb": need / 1e9},
                    "note": "2-core box shared with a long benchmark and other sessions; 1 BLAS thread",
                    "scenes": {}, "runs": []}
    if free < need:
        raise SystemExit(f"not enough disk in {work}: {free / 1e9:.1f} GB free, {need / 1e9:.1f} GB needed")
    E, names, wl = _endmembers()
    e_csv = work / "endmembers.csv"
    save_spectra_csv(e_csv, E, names, wavelengths=wl, overwrite=True)
    out_json = Path(args.json_out)
    try:
        for size in args.sizes:
            scene = work / f"scene_{size}.tif"
            print(f"generating {scene} ...", flush=True)
            record["scenes"][str(size)] = generate(size, scene)
            cog1 = work / f"ab_{size}_1.tif"
            for workers in args.workers:
                cog = work / f"ab_{size}_{workers}.tif"
                print(f"tiled {size} ({workers} threads) ...", flush=True)
                res = _timed(["tiled", "--data", str(scene), "--endmembers", str(e_csv), "--out", str(cog),
                              "--tile", str(args.tile), "--workers", str(workers)])
                res.update(kind="tiled", size=size, cog=_check_cog(cog), uptime=uptime())
                if cog != cog1 and cog1.exists():
                    res["max_abs_diff_vs_1_thread"] = _compare(cog, cog1)
                record["runs"].append(res)
                print(json.dumps(res), flush=True)
            if size <= args.inmemory_max:
                print(f"in-memory {size} ...", flush=True)
                res = _timed(["inmemory", "--data", str(scene), "--endmembers", str(e_csv)])
                res.update(kind="in-memory", size=size, uptime=uptime())
                record["runs"].append(res)
                print(json.dumps(res), flush=True)
            out_json.write_text(json.dumps(record, indent=2))
            if not args.keep:
                scene.unlink()
    finally:
        if not args.keep:
            for f in work.glob("*.tif"):
                f.unlink()
    record["host"]["uptime_end"] = uptime()
    record["summary"] = _summary(record)
    out_json.write_text(json.dumps(record, indent=2))
    print(json.dumps(record["summary"], indent=2))


def _summary(record: dict) -> dict:
    runs = record["runs"]
    tiled = {(r["size"], r["dask_threads"]): r for r in runs if r["kind"] == "tiled"}
    mem = {r["size"]: r for r in runs if r["kind"] == "in-memory"}
    out: dict = {"peak_rss_mb": {f"{s}x{s} tiled {t} threads": r["peak_rss_mb"] for (s, t), r in tiled.items()},
                 "us_per_pixel": {f"{s}x{s} tiled {t} threads": r["us_per_pixel"] for (s, t), r in tiled.items()},
                 "cpu_us_per_pixel": {f"{s}x{s} tiled {t} threads": r.get("cpu_us_per_pixel")
                                      for (s, t), r in tiled.items()}}
    for s, r in mem.items():
        out["peak_rss_mb"][f"{s}x{s} in-memory"] = r["peak_rss_mb"]
        out["us_per_pixel"][f"{s}x{s} in-memory"] = r["us_per_pixel"]
        out["cpu_us_per_pixel"][f"{s}x{s} in-memory"] = r.get("cpu_us_per_pixel")
        if (s, 1) in tiled:
            out[f"tiled_1_thread_over_in_memory_time_per_pixel_{s}"] = tiled[(s, 1)]["us_per_pixel"] / r["us_per_pixel"]
    sizes = sorted({s for s, _ in tiled})
    if len(sizes) >= 2:
        for t in sorted({t for _, t in tiled}):
            if (sizes[0], t) in tiled and (sizes[-1], t) in tiled:
                out[f"peak_ratio_{sizes[0]}_over_{sizes[-1]}_{t}_threads"] = (
                    tiled[(sizes[0], t)]["peak_rss_mb"] / tiled[(sizes[-1], t)]["peak_rss_mb"])
    out["all_cogs_crs_and_transform_ok"] = all(r["cog"]["crs_ok"] and r["cog"]["transform_ok"] for r in tiled.values())
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("all")
    a.add_argument("--sizes", type=int, nargs="+", default=[1250, 2500])
    a.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    a.add_argument("--tile", type=int, default=512)
    a.add_argument("--inmemory-max", type=int, default=1250)
    a.add_argument("--workdir", default="/tmp/hysupp-bench-tiled")
    a.add_argument("--keep", action="store_true")
    a.add_argument("--json-out", default=str(ROOT / "benchmarks" / "results" / "tiled_memory.json"))
    g = sub.add_parser("generate")
    g.add_argument("--size", type=int, required=True)
    g.add_argument("--out", required=True)
    t = sub.add_parser("tiled")
    t.add_argument("--data", required=True)
    t.add_argument("--endmembers", required=True)
    t.add_argument("--out", required=True)
    t.add_argument("--tile", type=int, default=512)
    t.add_argument("--workers", type=int, default=2)
    o = sub.add_parser("overhead", help="compute only (no I/O): whole-cube FCLS vs tiled on an in-memory cube")
    o.add_argument("--size", type=int, default=1250)
    o.add_argument("--tile", type=int, default=512)
    o.add_argument("--repeats", type=int, default=3)
    m = sub.add_parser("inmemory")
    m.add_argument("--data", required=True)
    m.add_argument("--endmembers", required=True)
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    if args.cmd == "all":
        main_all(args)
    elif args.cmd == "generate":
        print(json.dumps(generate(args.size, Path(args.out))))
    elif args.cmd == "overhead":
        res = run_overhead(args.size, args.tile, args.repeats)
        from _common import uptime

        res["uptime"] = uptime()
        out = ROOT / "benchmarks" / "results" / "tiled_memory.json"
        if out.is_file():
            record = json.loads(out.read_text())
            record["compute_overhead"] = res
            out.write_text(json.dumps(record, indent=2))
        print(json.dumps(res))
    elif args.cmd == "tiled":
        print(json.dumps(run_tiled(args.data, args.endmembers, args.out, args.tile, args.workers)))
    else:
        print(json.dumps(run_inmemory(args.data, args.endmembers)))


if __name__ == "__main__":
    main()
