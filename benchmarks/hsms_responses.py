"""SRF and PSF estimated from HS-MS pairs (:func:`hysupp.fusion.hsms.responses.estimate_srf_psf`),
against the known responses of simulated pairs; and what the estimate costs the fusion methods.

1. Recovery. Pairs by :func:`hysupp.simulate.fusion.hs_ms_pair` (Gaussian PSF of FWHM = ratio,
   IKONOS SRF, noise seed 0) at SNR inf / 35 / 25 dB on both images, from
   - the Pavia University crop (80 x 48 px, 103 bands; ratios 2, 3, 4: at 5 and 6 the 16 x 9 and
     13 x 8 HS images have too few pixels for the PSF window, and the estimator keeps the default
     Gaussian),
   - a synthetic 103-band scene on Pavia's wavelengths (8 smooth random spectra, piecewise-constant
     abundances, 24 HS pixels a side; ratios 2 to 6).
   Errors: SRF ``||R_hat - R||_F / ||R||_F``; the MS the SRF predicts from the reference
   ``||R_hat X - R X|| / ||R X||``; SRF peak positions (nm) vs the true rows' peaks; PSF
   ``||g_hat - g||_F / ||g||_F`` (on a common window) and moment FWHM; the fit residual.
2. Fusion. On the ``hsms-pavia`` pair (ratio 4, 35 dB), every classical method with the known SRF
   and PSF vs with both estimated (``srf=None, psf=None``): PSNR, SAM, ERGAS.
3. Scale. Every registered HS-MS method on the pair of ``tests/test_hsms_invariants.py``
   (ratio 4, SRF and PSF estimated; float64; the networks with 3 training iterations): the
   largest ``max|f(s hs, s ms) / s - f(hs, ms)| / max|f(hs, ms)|`` over s = 1e-4, 1e-2, 3.7, 1e2,
   1e4; and HySure on the Pavia pair (known SRF/PSF) for s = 0.5, 1, 2, 3.

Writes ``benchmarks/results/hsms_responses.json``; one thread.

    .venv/bin/python benchmarks/hsms_responses.py
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_v] = "1"

import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np

OUT = Path(__file__).parent / "results" / "hsms_responses.json"


def _embed(k: np.ndarray, n: int) -> np.ndarray:
    out = np.zeros((n, n))
    o = (n - k.shape[0]) // 2
    if o >= 0:
        out[o:o + k.shape[0], o:o + k.shape[0]] = k
        return out
    return k[-o:-o + n, -o:-o + n]


def synthetic_scene(wl: np.ndarray, side: int, seed: int = 0) -> np.ndarray:
    """``(L, side, side)``: 8 smooth random spectra (sums of three broad Gaussians) mixed by
    piecewise-constant abundances (Voronoi regions of ~64 pixels, a Dirichlet draw each, so the
    image has edges and flat areas like a real scene) with 5 % per-pixel variation."""
    rng = np.random.default_rng(seed)
    p = 8
    E = 0.05 + sum(0.4 * rng.random((1, p)) * np.exp(-0.5 * ((wl[:, None] - rng.uniform(wl.min(), wl.max(), (1, p)))
                                                              / 60.0) ** 2) for _ in range(3))
    n_regions = max(side * side // 64, 2)
    seeds = rng.uniform(0, side, (n_regions, 2))
    yy, xx = np.mgrid[0:side, 0:side]
    label = np.argmin((yy.ravel()[:, None] - seeds[None, :, 0]) ** 2 + (xx.ravel()[:, None] - seeds[None, :, 1]) ** 2,
                      axis=1)
    A = rng.dirichlet(np.full(p, 0.5), n_regions)[label].T * (1 + 0.05 * rng.standard_normal((p, side * side)))
    A = np.maximum(A, 0) / np.maximum(A, 0).sum(axis=0)
    return (E @ A).reshape(wl.size, side, side)


def recovery(scene, ratio: int, snr) -> dict:
    from hysupp.fusion.hsms import common as C
    from hysupp.fusion.hsms.responses import estimate_srf_psf
    from hysupp.simulate.fusion import hs_ms_pair

    pair = hs_ms_pair(scene, ratio, snr_hs=snr, snr_ms=snr)
    hs, ms = pair.low.require_cube(), pair.high.require_cube()
    R = np.asarray(pair.protocol["operators"]["ms_srf"]["R"])
    wl = pair.low.wavelengths
    t0 = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est = estimate_srf_psf(hs, ms, ratio, hs_wavelengths=wl)
    t = time.perf_counter() - t0
    X = pair.reference.require_cube().reshape(R.shape[1], -1)
    g = C.psf_kernel(float(ratio), ratio)
    n = max(g.shape[0], est.psf.shape[0])
    d = est.diagnostics
    return {
        "ratio": ratio, "snr_db": snr, "hs_shape": list(hs.shape),
        "srf_rel_error": float(np.linalg.norm(est.srf - R) / np.linalg.norm(R)),
        "predicted_ms_rel_error": float(np.linalg.norm(est.srf @ X - R @ X) / np.linalg.norm(R @ X)),
        "srf_peak_nm": [float(v) for v in wl[np.argmax(est.srf, axis=1)]],
        "true_peak_nm": [float(v) for v in wl[np.argmax(R, axis=1)]],
        "psf": d["psf"], "psf_rel_error": float(np.linalg.norm(_embed(est.psf, n) - _embed(g, n)) / np.linalg.norm(g)),
        "psf_fwhm": d["psf_fwhm"], "true_fwhm": float(ratio), "fit_residual": d["fit_residual"],
        "plausible": d["plausible"], "warnings": [str(w.message) for w in caught], "time_s": t,
    }


def scale_invariance() -> dict:
    sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))
    from test_hsms_invariants import FAST, _scene

    from hysupp.methods.registry import available

    X, hs, ms, R = _scene(4, n_lr=16)
    rng = np.random.default_rng(1)
    hs = hs + 0.002 * rng.standard_normal(hs.shape)
    ms = ms + 0.002 * rng.standard_normal(ms.shape)
    out = {}
    for cls in sorted(available("hs-ms-fusion"), key=lambda c: c.name):
        m = cls(**FAST.get(cls.name, {}))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            base = np.asarray(m.fuse(hs, ms, ratio=4).fused, dtype=np.float64)
            devs = {}
            for s in (1e-4, 1e-2, 3.7, 1e2, 1e4):
                f = np.asarray(m.fuse(hs * s, ms * s, ratio=4).fused, dtype=np.float64) / s
                devs[repr(s)] = float(np.abs(f - base).max() / np.abs(base).max())
        out[cls.name] = devs
        print(f"{cls.name:10s} max deviation {max(devs.values()):.1e}", flush=True)
    return out


def main() -> None:
    sys.path.insert(0, str(Path(__file__).parent))
    from _common import PAVIA, hsms_scores, pavia_hs_ms_pair, uptime

    import hysupp
    from hysupp.methods.registry import available
    from hysupp.scene import Scene

    up0 = uptime()
    pavia = hysupp.load(str(PAVIA))
    synth = Scene(cube=synthetic_scene(np.asarray(pavia.wavelengths), 24 * 6), wavelengths=pavia.wavelengths,
                  name="synthetic")
    rows = []
    for name, scene, ratios in (("pavia", pavia, (2, 3, 4)), ("synthetic", synth, (2, 3, 4, 5, 6))):
        for ratio in ratios:
            sc = scene if name == "pavia" else Scene(cube=scene.cube[:, :24 * ratio, :24 * ratio],
                                                     wavelengths=scene.wavelengths, name="synthetic")
            for snr in (None, 35.0, 25.0):
                r = {"scene": name, **recovery(sc, ratio, snr)}
                rows.append(r)
                print(f"{name:9s} r={ratio} snr={snr}: SRF {r['srf_rel_error']:.3f} (MS {r['predicted_ms_rel_error']:.4f})"
                      f" PSF {r['psf_rel_error']:.3f} FWHM {np.mean(r['psf_fwhm']):.2f}/{ratio} "
                      f"res {r['fit_residual']:.4f} {r['psf']}", flush=True)

    p = pavia_hs_ms_pair()
    hs, ms, ref, R, fwhm = p["hs"], p["ms"], p["ref"], p["R"], p["fwhm"]
    fusion = {}
    classical = [c for c in available("hs-ms-fusion") if "weights" not in {q.name for q in c.params}]
    for cls in sorted(classical, key=lambda c: c.name):
        known = hsms_scores(ref, cls().fuse(hs, ms, ratio=4, srf=R, psf=fwhm).fused)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            res = cls().fuse(hs, ms, ratio=4)
        est = hsms_scores(ref, res.fused)
        fusion[cls.name] = {"known": known, "estimated": est, "warnings": [str(w.message) for w in caught]}
        print(f"{cls.name:10s} known {known['psnr_db']:.2f} dB  estimated {est['psnr_db']:.2f} dB", flush=True)
    from hysupp.fusion.hsms.hysure import HySure

    hysure_scale = {}
    for s in (0.5, 1.0, 2.0, 3.0):
        f = HySure().fuse(hs * s, ms * s, ratio=4, srf=R, psf=fwhm).fused / s
        hysure_scale[repr(s)] = hsms_scores(ref, f)
        print(f"HySure on Pavia x {s}: {hysure_scale[repr(s)]['psnr_db']:.3f} dB", flush=True)
    out = {"benchmark": "SRF/PSF estimation from HS-MS pairs (hysupp.fusion.hsms.responses.estimate_srf_psf, "
                        "default parameters), and the scale invariance of the HS-MS methods",
           "recovery": rows, "fusion_pavia_ratio4_35db": fusion, "scale_max_rel_deviation": scale_invariance(),
           "hysure_pavia_scaled": hysure_scale, "uptime_before": up0, "uptime_after": uptime()}
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(out, indent=2))
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
