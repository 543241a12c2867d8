"""Helpers shared by the benchmark scripts (run as ``python benchmarks/bench_*.py``)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import numpy as np

#: the Pavia University crop of the ``hsms-pavia`` benchmarks
PAVIA = Path(os.environ.get("HYSUPP_SHARED_DATA", "/work/shared/data")) / "pavia_university" / "reg_pavia_dataset.mat"


def uptime() -> str:
    """``uptime``'s line (load averages), recorded beside every timing; empty if unavailable."""
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        return ""


def pavia_hs_ms_pair() -> dict[str, Any]:
    """The ``hsms-pavia`` pair (:func:`hysupp.simulate.fusion.hs_ms_pair` of the Pavia crop: ratio 4,
    35 dB on HS and MS, IKONOS SRF, Gaussian PSF of FWHM 4): ``hs``, ``ms``, the reference ``ref``,
    the SRF ``R`` and the PSF ``fwhm`` the methods are given, and its description ``info``."""
    import hysupp
    from hysupp.simulate.fusion import hs_ms_pair

    pair = hs_ms_pair(hysupp.load(str(PAVIA)), 4, snr_hs=35, snr_ms=35)
    hs, ms = pair.low.require_cube(), pair.high.require_cube()
    fwhm = pair.protocol["psf"]["fwhm"]
    return {"hs": hs, "ms": ms, "ref": pair.reference.require_cube(), "fwhm": fwhm,
            "R": np.asarray(pair.protocol["operators"]["ms_srf"]["R"], dtype=np.float64),
            "info": {"data": str(PAVIA), "ratio": 4, "snr_hs_db": 35, "snr_ms_db": 35, "psf_fwhm": fwhm,
                     "hs_shape": list(hs.shape), "ms_shape": list(ms.shape)}}


def hsms_scores(ref: np.ndarray, fused: np.ndarray) -> dict[str, float]:
    """PSNR, SAM and ERGAS of a fused Pavia cube (``evaluate_fusion`` at ratio 4, no SSIM)."""
    from hysupp.metrics.fusion import evaluate_fusion

    m = evaluate_fusion(ref, np.asarray(fused), ratio=4, include_ssim=False)
    return {k: float(m[k]) for k in ("psnr_db", "sam_deg", "ergas")}
