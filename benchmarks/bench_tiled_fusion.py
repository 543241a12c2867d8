"""Tiled pansharpening (``hysupp.fuse_tiled``): equality with the in-memory methods, throughput, peak memory.

* ``wv2``: the shared WorldView-2 pair (MS 8 x 320 x 320, PAN 1280 x 1280, ratio 4) fused in memory
  (``Method().fuse``) and tile by tile (``fuse_tiled(...).compute()``, tiles of 256 and 512 PAN
  pixels), compute only, 1 BLAS thread and 1 Dask thread, median of ``--repeats`` runs; the maximum
  relative difference tiled vs in-memory is recorded.
* ``memory``: generated GeoTIFF pairs (8-band MS ``size/4`` pixels, PAN ``size`` pixels, float32,
  EPSG:32633) fused file -> COG by ``hysupp fuse --tile`` and, up to ``--inmemory-max``, in memory
  (``Method().fuse`` on the loaded arrays), each in a subprocess under ``/usr/bin/time -v`` (peak
  resident set size); the generated files are deleted afterwards.

Usage::

    python benchmarks/bench_tiled_fusion.py wv2 [--repeats 3]
    python benchmarks/bench_tiled_fusion.py memory [--sizes 4096 8192] [--tile 512] [--inmemory-max 4096]

Results: ``benchmarks/results/tiled_fusion.json`` (one section per command, ``uptime`` load recorded).
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
DATA = Path(os.environ.get("HYSUPP_SHARED_DATA", "/work/shared/data")) / "pansharpening_wv2" / "imgWV2.mat"
RESULTS = ROOT / "benchmarks" / "results" / "tiled_fusion.json"
METHODS = ("MTF-GLP", "GS")
CRS = "EPSG:32633"


def _uptime() -> str:
    return subprocess.run(["uptime"], check=False, capture_output=True, text=True).stdout.strip()


def _save(section: str, payload: dict) -> None:
    data = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}
    data[section] = payload
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(data, indent=2) + "\n")


def wv2(repeats: int) -> dict:
    import dask

    from hysupp.api import fuse_tiled
    from hysupp.io import load
    from hysupp.methods.registry import get_method

    scene = load(DATA)
    ms = np.asarray(scene.cube, dtype=np.float64)
    pan = np.asarray(scene.extras["pan"], dtype=np.float64)
    rows = []
    load_before = _uptime()
    with dask.config.set(num_workers=1):
        for method in METHODS:
            times, ref = [], None
            for _ in range(repeats):
                t0 = time.perf_counter()
                ref = get_method(method)().fuse(ms, pan, ratio=4, sensor="WV2").fused
                times.append(time.perf_counter() - t0)
            row = {"method": method, "in_memory_s": float(np.median(times)), "tiled": []}
            for tile in (256, 512):
                t_times, got, run = [], None, None
                for _ in range(repeats):
                    t0 = time.perf_counter()
                    run = fuse_tiled(ms, pan, method, ratio=4, sensor="WV2", tile=tile)
                    got = run.compute()
                    t_times.append(time.perf_counter() - t0)
                rel = float(np.abs(got - ref).max() / np.abs(ref).max())
                row["tiled"].append({"tile": tile, "chunks": run.info["chunks"], "wall_s": float(np.median(t_times)),
                                     "slowdown": float(np.median(t_times)) / row["in_memory_s"],
                                     "max_rel_diff": rel})
            rows.append(row)
            print(json.dumps(row), flush=True)
    return {"data": str(DATA.name), "ms": list(ms.shape), "pan": list(pan.shape), "ratio": 4, "sensor": "WV2",
            "repeats": repeats, "threads": "1 BLAS thread, 1 Dask thread (dask num_workers=1)",
            "what": "compute only (arrays in memory, no I/O); tiled includes the statistics pass",
            "rows": rows, "uptime_before": load_before, "uptime_after": _uptime()}


# ---------------------------------------------------------------------------------------------- memory
def _generate(size: int, workdir: Path) -> tuple[Path, Path]:
    """An 8-band MS (size/4) and a PAN (size) GeoTIFF written window by window (smooth fields + noise)."""
    import rasterio
    from rasterio.transform import Affine
    from rasterio.windows import Window

    h = size // 4
    paths = (workdir / "ms.tif", workdir / "pan.tif")
    prof = {"driver": "GTiff", "dtype": "float32", "crs": CRS, "tiled": True, "blockxsize": 256, "blockysize": 256}
    with rasterio.open(paths[0], "w", width=h, height=h, count=8, transform=Affine(2.0, 0, 370000, 0, -2.0, 5810000),
                       **prof) as ms_ds, \
            rasterio.open(paths[1], "w", width=size, height=size, count=1,
                          transform=Affine(0.5, 0, 370000, 0, -0.5, 5810000), **prof) as pan_ds:
        step = 1024
        for r in range(0, size, step):
            for c in range(0, size, step):
                rng = np.random.default_rng((r, c))
                yy, xx = np.mgrid[r:r + step, c:c + step] / 97.0
                p = 300 + 80 * np.sin(yy) * np.cos(1.3 * xx) + 20 * rng.random((step, step))
                pan_ds.write(p[None].astype(np.float32), window=Window(c, r, step, step))
                low = p.reshape(step // 4, 4, step // 4, 4).mean(axis=(1, 3))
                bands = np.stack([(k + 1) * 0.3 * low + 10 * k for k in range(8)]) + rng.random((8,) + low.shape)
                ms_ds.write(bands.astype(np.float32), window=Window(c // 4, r // 4, step // 4, step // 4))
    return paths


def _timed(cmd: list[str]) -> dict:
    t0 = time.perf_counter()
    res = subprocess.run(["/usr/bin/time", "-v"] + cmd, check=False, capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    wall = time.perf_counter() - t0
    if res.returncode:
        raise RuntimeError(res.stderr[-3000:])
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", res.stderr).group(1))
    return {"wall_s": wall, "peak_rss_mb": rss / 1024}


def memory(sizes: list[int], tile: int, inmemory_max: int, workdir: Path) -> dict:
    import rasterio

    workdir.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(workdir).free / 2**30
    if free < 8 * (max(sizes) / 8192) ** 2 + 4:
        raise SystemExit(f"only {free:.1f} GiB free in {workdir}")
    cli = [sys.executable, "-c", "import sys; from hysupp.cli import main; sys.exit(main())"]
    runs = []
    load_before = _uptime()
    for size in sizes:
        try:
            ms, pan = _generate(size, workdir)
            for method in METHODS:
                out = workdir / f"out-{method}"
                tiled = _timed(cli + ["fuse", "-m", method, "--ms", str(ms), "--pan", str(pan), "--sensor", "WV2",
                                      "--tile", str(tile), "-o", str(out), "--overwrite", "--json"])
                with rasterio.open(out / "fused.tif") as ds:
                    tiled["cog"] = {"shape": [ds.count, ds.height, ds.width], "crs": ds.crs.to_string(),
                                    "transform": list(ds.transform)[:6],
                                    "layout": ds.tags(ns="IMAGE_STRUCTURE").get("LAYOUT")}
                shutil.rmtree(out)
                row = {"size_pan": size, "method": method, "fused_float64_gib": 8 * size * size * 8 / 2**30,
                       "tiled_file_to_cog": tiled, "uptime": _uptime()}
                if size <= inmemory_max:
                    code = ("import numpy as np, rasterio; from hysupp.methods.registry import get_method\n"
                            f"ms = rasterio.open({str(ms)!r}).read().astype(np.float64)\n"
                            f"pan = rasterio.open({str(pan)!r}).read(1).astype(np.float64)\n"
                            f"f = get_method({method!r})().fuse(ms, pan, ratio=4, sensor='WV2').fused\n"
                            "print(f.shape)")
                    row["in_memory_compute_only"] = _timed([sys.executable, "-c", code])
                runs.append(row)
                print(json.dumps(row), flush=True)
        finally:
            for p in ("ms.tif", "pan.tif"):
                (workdir / p).unlink(missing_ok=True)
    return {"tile": tile, "ms_bands": 8, "ratio": 4,
            "threads": "1 BLAS thread; Dask threaded scheduler (default: one thread per core, 2 cores)",
            "peak": "/usr/bin/time -v maximum resident set size of the whole process",
            "rows": runs, "uptime_before": load_before, "uptime_after": _uptime()}


def main() -> None:
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("wv2")
    a.add_argument("--repeats", type=int, default=3)
    b = sub.add_parser("memory")
    b.add_argument("--sizes", type=int, nargs="+", default=[4096, 8192])
    b.add_argument("--tile", type=int, default=512)
    b.add_argument("--inmemory-max", type=int, default=4096, help="largest PAN size also fused in memory")
    b.add_argument("--workdir", default="/tmp/hysupp-bench-tiled-fusion")
    args = ap.parse_args()
    if args.cmd == "wv2":
        _save("wv2", wv2(args.repeats))
    else:
        _save("memory", memory(args.sizes, args.tile, args.inmemory_max, Path(args.workdir)))


if __name__ == "__main__":
    main()
