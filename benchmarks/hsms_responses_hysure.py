"""SRF/PSF estimation: hysupp's :func:`~hysupp.fusion.hsms.responses.estimate_srf_psf` beside the
authors' ``sen_resp_est`` (alfaiate/HySure, run unmodified under GNU Octave) on the same pairs.

Pairs (:func:`hysupp.simulate.fusion.hs_ms_pair`, ratio 4, Gaussian PSF of FWHM 4, IKONOS SRF,
circular borders as the reference's FFT model assumes, noise seed 0): the Pavia crop (HS 20 x 12)
and the synthetic scene of ``hsms_responses.py`` (HS 32 x 32, the size of the authors' demo),
noise-free and at 35 dB. The reference gets the data divided by their maximum (as its demo), its
demo's ``lambda_R = lambda_B = 10``, ``p = 10``, a 13 x 13 PSF window, the decimation phase 2
(``shift``) and either every HS band for every MS band or the bands where the true row exceeds
5 % of its peak (``intersection``); hysupp gets the same support and its defaults.

    HYSURE_DIR=/path/to/HySure .venv/bin/python benchmarks/hsms_responses_hysure.py

needs ``octave-cli`` with the ``image`` and ``signal`` packages; writes
``benchmarks/results/hsms_responses_hysure.json``.
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_v] = "1"

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

OUT = Path(__file__).parent / "results" / "hsms_responses_hysure.json"

DRIVER = r"""
addpath(fullfile(getenv('HYSURE_DIR'), 'src'), fullfile(getenv('HYSURE_DIR'), 'src', 'utils'));
pkg load signal
pkg load image
load(fullfile(getenv('PAIR_DIR'), 'pair.mat'));
[nl, nc, Lm] = size(Ymim); L = size(Yhim, 3);
inter = cell(1, Lm);
for i = 1:Lm
  if use_support, inter{i} = find(S(i, :)); else, inter{i} = 1:L; end
end
t0 = tic;
[V, R, B] = sen_resp_est(Yhim, Ymim, 4, inter, inter, 10, 10, 10, 13, 13, 2, 0);
el = toc(t0);
Bc = fftshift(B);
ml = round((nl + 1) / 2); mc = round((nc + 1) / 2);
K = Bc(ml - 6:ml + 6, mc - 6:mc + 6);
save('-v7', fullfile(getenv('PAIR_DIR'), 'est.mat'), 'R', 'K', 'el');
"""


def _stats(Re: np.ndarray, Ke: np.ndarray, R: np.ndarray, X: np.ndarray, g: np.ndarray, wl: np.ndarray) -> dict:
    k = Ke / Ke.sum()
    n = k.shape[0]
    y, x = np.mgrid[0:n, 0:n]
    my, mx = (k * y).sum(), (k * x).sum()
    var = [(k * (y - my) ** 2).sum(), (k * (x - mx) ** 2).sum()]
    o = (n - g.shape[0]) // 2
    gw = g[-o:-o + n, -o:-o + n] if o < 0 else np.pad(g, o)
    return {"srf_rel_error": float(np.linalg.norm(Re - R) / np.linalg.norm(R)),
            "predicted_ms_rel_error": float(np.linalg.norm(Re @ X - R @ X) / np.linalg.norm(R @ X)),
            "srf_negative_entries": int((Re < 0).sum()), "srf_entries": int(Re.size),
            "srf_peak_nm": [float(v) for v in wl[np.argmax(Re, axis=1)]],
            "psf_rel_error": float(np.linalg.norm(k - gw / gw.sum()) / np.linalg.norm(gw / gw.sum())),
            "psf_negative_taps": int((Ke < 0).sum()),
            "psf_fwhm": [float(2.3548 * np.sqrt(v)) if v > 0 else None for v in var]}


def main() -> None:
    import scipy.io as sio

    sys.path.insert(0, str(Path(__file__).parent))
    from _common import PAVIA, uptime
    from hsms_responses import synthetic_scene

    import hysupp
    from hysupp.fusion.hsms import common as C
    from hysupp.fusion.hsms.responses import estimate_srf_psf
    from hysupp.scene import Scene
    from hysupp.simulate.fusion import hs_ms_pair

    ref_dir = os.environ.get("HYSURE_DIR")
    if not ref_dir or not (Path(ref_dir) / "src" / "sen_resp_est.m").is_file():
        raise SystemExit("set HYSURE_DIR to a checkout of github.com/alfaiate/HySure")
    commit = subprocess.run(["git", "-C", ref_dir, "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    pavia = hysupp.load(str(PAVIA))
    synth = Scene(cube=synthetic_scene(np.asarray(pavia.wavelengths), 128), wavelengths=pavia.wavelengths)
    g = C.psf_kernel(4.0, 4)
    rows = []
    up0 = uptime()
    for name, scene in (("pavia", pavia), ("synthetic", synth)):
        for snr in (None, 35.0):
            pair = hs_ms_pair(scene, 4, snr_hs=snr, snr_ms=snr, mode="circular")
            hs = pair.low.require_cube().astype(np.float64)
            ms = pair.high.require_cube().astype(np.float64)
            R = np.asarray(pair.protocol["operators"]["ms_srf"]["R"])
            X = pair.reference.require_cube().reshape(R.shape[1], -1)
            wl = np.asarray(pair.low.wavelengths)
            S = R > 0.05 * R.max(axis=1, keepdims=True)
            m = max(hs.max(), ms.max())
            for use_support in (False, True):
                with tempfile.TemporaryDirectory() as tmp:
                    sio.savemat(Path(tmp) / "pair.mat", {"Yhim": np.transpose(hs / m, (1, 2, 0)),
                                                         "Ymim": np.transpose(ms / m, (1, 2, 0)),
                                                         "S": S.astype(float), "use_support": float(use_support)})
                    (Path(tmp) / "driver.m").write_text(DRIVER)
                    subprocess.run(["octave-cli", "--no-gui", "-q", str(Path(tmp) / "driver.m")], check=True,
                                   env={**os.environ, "HYSURE_DIR": ref_dir, "PAIR_DIR": tmp},
                                   capture_output=True)
                    ref = sio.loadmat(Path(tmp) / "est.mat")
                t0 = time.perf_counter()
                est = estimate_srf_psf(hs, ms, 4, hs_wavelengths=wl, support=S if use_support else None, warn=False)
                t = time.perf_counter() - t0
                for impl, Re, Ke, el in (("HySure sen_resp_est", ref["R"], ref["K"], float(ref["el"].ravel()[0])),
                                         ("hysupp estimate_srf_psf", est.srf, est.psf, t)):
                    row = {"scene": name, "hs_shape": list(hs.shape), "snr_db": snr,
                           "support": "true rows > 5 % of peak" if use_support else "all bands",
                           "implementation": impl, **_stats(Re, Ke, R, X, g, wl), "time_s": el}
                    rows.append(row)
                    print(f"{name:9s} {snr} {row['support']:22s} {impl:24s} SRF {row['srf_rel_error']:.3f} "
                          f"(MS {row['predicted_ms_rel_error']:.4f}, {row['srf_negative_entries']} < 0) "
                          f"PSF {row['psf_rel_error']:.3f} ({row['psf_negative_taps']} < 0) FWHM {row['psf_fwhm']}",
                          flush=True)
    out = {"benchmark": "SRF/PSF estimation, hysupp vs the authors' sen_resp_est (Octave)",
           "reference": {"repo": "github.com/alfaiate/HySure", "commit": commit,
                         "settings": "data / max, lambda_R = lambda_B = 10, p = 10, 13 x 13 window, shift 2"},
           "true_psf_fwhm": 4.0, "results": rows, "uptime_before": up0, "uptime_after": uptime()}
    OUT.write_text(json.dumps(out, indent=2))
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
