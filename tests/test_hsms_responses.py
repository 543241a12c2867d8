"""SRF/PSF estimation from an HS-MS pair (fusion.hsms.responses), the fused-range check
(metrics.range) and the tolerance of rounding-level negatives (CNMF)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from hysupp.errors import FusedRangeWarning, ImplausibleEstimateWarning, InputError
from hysupp.fusion.hsms import common as C
from hysupp.fusion.hsms.responses import estimate_srf_psf, srf_support
from hysupp.metrics.range import fused_range_check


def _rough_pair(L=16, ratio=4, n_lr=16, fwhm=None, seed=0, centres=(500.0, 650.0, 800.0)):
    """A spatially rough scene (every pixel random: the PSF is identifiable), Gaussian SRF rows of
    unit sum, the HS made with a Gaussian PSF of FWHM ``fwhm`` (default the ratio)."""
    rng = np.random.default_rng(seed)
    wl = np.linspace(400.0, 900.0, L)
    X = rng.random((L, n_lr * ratio, n_lr * ratio))
    R = np.stack([np.exp(-0.5 * ((wl - c) / 40.0) ** 2) for c in centres])
    R /= R.sum(axis=1, keepdims=True)
    fwhm = float(ratio) if fwhm is None else fwhm
    return X, R, wl, C.degrade(X, ratio, fwhm), np.einsum("cl,lhw->chw", R, X), fwhm


def _smooth_pair(L=32, ratio=4, n_lr=16, p=8, seed=0, centres=(500.0, 650.0, 800.0)):
    """Smooth spectra (sums of broad Gaussians), rough abundances (Dirichlet per pixel)."""
    rng = np.random.default_rng(seed)
    wl = np.linspace(400.0, 900.0, L)
    E = 0.1 + sum(rng.random((1, p)) * np.exp(-0.5 * ((wl[:, None] - rng.uniform(350, 950, (1, p))) / 80.0) ** 2)
                  for _ in range(3))
    X = (E @ rng.dirichlet(np.ones(p), (n_lr * ratio) ** 2).T).reshape(L, n_lr * ratio, n_lr * ratio)
    R = np.stack([np.exp(-0.5 * ((wl - c) / 40.0) ** 2) for c in centres])
    R /= R.sum(axis=1, keepdims=True)
    return X, R, wl, C.degrade(X, ratio, float(ratio)), np.einsum("cl,lhw->chw", R, X), float(ratio)


def _embed(k, n):
    out = np.zeros((n, n))
    o = (n - k.shape[0]) // 2
    out[o:o + k.shape[0], o:o + k.shape[0]] = k
    return out


@pytest.mark.parametrize("ratio", [2, 3, 4, 5, 6])
def test_noise_free_recovery_at_every_ratio(ratio):
    """Noise-free, window covering the true PSF, no smoothness: SRF and PSF recovered exactly."""
    X, R, wl, hs, ms, fwhm = _rough_pair(ratio=ratio, n_lr=max(14, 4 * ratio))
    true_k = C.psf_kernel(fwhm, ratio)
    est = estimate_srf_psf(hs, ms, ratio, psf_size=true_k.shape[0], lambda_srf=0.0, lambda_psf=0.0)
    np.testing.assert_allclose(est.srf, R, atol=1e-7)
    np.testing.assert_allclose(est.psf, true_k, atol=1e-7)
    d = est.diagnostics
    assert d["srf"] == d["psf"] == "estimated" and d["plausible"] and not est.warnings
    assert d["fit_residual"] < 1e-7
    assert d["psf_fwhm"] == pytest.approx([fwhm, fwhm], rel=1e-3)
    assert np.allclose(d["psf_centroid_offset"], 0.0, atol=1e-6)


def test_one_response_known():
    """With the SRF given only the PSF is estimated (its DC gain reported), and vice versa."""
    X, R, wl, hs, ms, fwhm = _rough_pair()
    true_k = C.psf_kernel(fwhm, 4)
    est = estimate_srf_psf(hs, ms, 4, srf=R, psf_size=15, lambda_psf=0.0)
    assert est.diagnostics["srf"] == "given" and est.srf is not None and np.array_equal(est.srf, R)
    assert est.diagnostics["psf_gain"] == pytest.approx(1.0, abs=1e-9)
    np.testing.assert_allclose(est.psf, true_k, atol=1e-7)
    est = estimate_srf_psf(hs, ms, 4, psf=fwhm, lambda_srf=0.0)
    assert est.diagnostics["psf"] == "given" and est.psf.shape == true_k.shape
    np.testing.assert_allclose(est.srf, R, atol=1e-7)
    # both given: only the diagnostic
    est = estimate_srf_psf(hs, ms, 4, srf=R, psf=fwhm)
    assert est.diagnostics["fit_residual"] < 1e-12 and est.diagnostics["iterations"] == 0


def test_scale_and_default_smoothness():
    """Relative weights: a common scale of HS and MS changes neither estimate; the default
    smoothness (set for noisy data) biases noise-free estimates only a little."""
    X, R, wl, hs, ms, fwhm = _smooth_pair()
    a = estimate_srf_psf(hs, ms, 4)
    for s in (1e-4, 3.7, 1e4):
        b = estimate_srf_psf(hs * s, ms * s, 4)
        np.testing.assert_allclose(b.srf, a.srf, rtol=1e-6, atol=1e-9 * a.srf.max())
        np.testing.assert_allclose(b.psf, a.psf, rtol=1e-6, atol=1e-9 * a.psf.max())
    Xp = X.reshape(X.shape[0], -1)
    assert np.linalg.norm(a.srf @ Xp - R @ Xp) / np.linalg.norm(R @ Xp) < 0.005     # the MS it predicts
    assert np.abs(a.srf - R).max() < 0.3 * R.max()
    assert a.diagnostics["psf_fwhm"] == pytest.approx([4.0, 4.0], rel=0.05)
    assert a.diagnostics["fit_residual"] < 0.02 and a.diagnostics["plausible"]


def test_support_and_smoothness_with_gaps():
    wl = np.array([450.0, 500.0, 550.0, 600.0, 650.0])
    S = srf_support(wl, [500.0, 620.0], [60.0, 40.0])
    assert S.tolist() == [[True, True, True, False, False], [False, False, False, True, True]]
    with pytest.raises(InputError):
        srf_support(wl, [500.0], [0.0])
    # band-limited rows: zero outside the support derived from the MS band centres and widths
    X, R, wl, hs, ms, fwhm = _rough_pair(L=24)
    est = estimate_srf_psf(hs, ms, 4, hs_wavelengths=wl, ms_centres=[500, 650, 800], ms_fwhm=[100, 100, 100])
    S = srf_support(wl, [500, 650, 800], [100, 100, 100])
    assert np.all(est.srf[~S] == 0) and np.all(est.srf >= 0)
    d = est.diagnostics
    assert np.allclose(d["srf_peak_wavelength"], wl[np.argmax(R, axis=1)], atol=wl[1] - wl[0])
    assert max(abs(v) for v in d["srf_peak_offset"]) < 25.0 and d["plausible"]


def test_pavia_recovery_with_noise(shared_data):
    """The documented figures (docs/hsms_fusion.md): the simulated Pavia pair, 35 dB on both."""
    import hysupp
    from hysupp.simulate.fusion import hs_ms_pair

    path = shared_data / "pavia_university" / "reg_pavia_dataset.mat"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    pair = hs_ms_pair(hysupp.load(str(path)), 4, snr_hs=35, snr_ms=35)
    hs, ms = pair.low.require_cube(), pair.high.require_cube()
    R = np.asarray(pair.protocol["operators"]["ms_srf"]["R"])
    est = estimate_srf_psf(hs, ms, 4, hs_wavelengths=pair.low.wavelengths)
    X = pair.reference.require_cube().reshape(R.shape[1], -1)
    assert np.linalg.norm(est.srf @ X - R @ X) / np.linalg.norm(R @ X) < 0.005   # the MS it predicts
    assert np.linalg.norm(est.srf - R) / np.linalg.norm(R) < 0.15
    true_k = C.psf_kernel(4.0, 4)
    assert np.linalg.norm(_embed(est.psf, 15) - true_k) / np.linalg.norm(true_k) < 0.1
    assert est.diagnostics["psf_fwhm"] == pytest.approx([4.0, 4.0], rel=0.03)
    assert est.diagnostics["fit_residual"] < 0.03 and est.diagnostics["plausible"]
    peaks = np.asarray(est.diagnostics["srf_peak_wavelength"])
    assert np.abs(peaks - pair.low.wavelengths[np.argmax(R, axis=1)]).max() <= 10.0


def _warned(fn, match):
    """``fn()``, checking that one of the warnings it issues matches (others may come along)."""
    import re

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = fn()
    msgs = [str(w.message) for w in caught if issubclass(w.category, ImplausibleEstimateWarning)]
    assert any(re.search(match, m) for m in msgs), (match, msgs)
    assert out.warnings == [m.removeprefix("SRF/PSF estimate: ") for m in msgs]
    return out


def test_implausible_estimates_warn():
    X, R, wl, hs, ms, fwhm = _rough_pair()
    # an MS of another scene: large residual
    other = np.random.default_rng(5).permutation(ms.reshape(3, -1).T).T.reshape(ms.shape)
    est = _warned(lambda: estimate_srf_psf(hs, other, 4), "fit residual")
    assert not est.diagnostics["plausible"] and est.warnings
    # a support that forces every row onto the same band
    S = np.zeros((3, 16), dtype=bool)
    S[:, 2] = True
    _warned(lambda: estimate_srf_psf(hs, ms, 4, support=S), "peaks at the same HS band 2")
    # peaks outside the declared MS bands
    _warned(lambda: estimate_srf_psf(hs, ms, 4, hs_wavelengths=wl, ms_centres=[450, 600, 880],
                                     ms_fwhm=[20, 20, 20], support=np.ones((3, 16), bool)), "outside their band")
    # a misregistered pair: MS shifted by 3 HR pixels
    X2, R2, _, hs2, ms2, _ = _rough_pair(n_lr=24)
    est = _warned(lambda: estimate_srf_psf(hs2, np.roll(ms2, 3, axis=2), 4, psf_size=17), "centroid")
    assert est.diagnostics["psf_centroid_offset"][1] < -2.0
    # a given SRF on another scale than the data
    _warned(lambda: estimate_srf_psf(hs, ms, 4, srf=2.0 * R), "DC gain")
    # an MS band no HS band explains
    S = np.ones((3, 16), dtype=bool)
    S[1] = False
    _warned(lambda: estimate_srf_psf(hs, ms, 4, support=S), r"respond to no HS band")
    # too small to estimate the PSF: the default Gaussian is kept
    est = _warned(lambda: estimate_srf_psf(hs[:, :5, :5], ms[:, :20, :20], 4), "too few valid pixels")
    assert est.diagnostics["psf"].startswith("assumed")
    np.testing.assert_array_equal(est.psf, C.psf_kernel(None, 4))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        estimate_srf_psf(hs, other, 4, warn=False)


def test_estimator_input_errors():
    X, R, wl, hs, ms, fwhm = _rough_pair()
    with pytest.raises(InputError, match="expected ratio"):
        estimate_srf_psf(hs, ms[:, :-1], 4)
    with pytest.raises(InputError, match="srf must be"):
        estimate_srf_psf(hs, ms, 4, srf=R.T)
    with pytest.raises(InputError, match="psf_size"):
        estimate_srf_psf(hs, ms, 4, psf_size=8)
    with pytest.raises(InputError, match="support"):
        estimate_srf_psf(hs, ms, 4, support=np.ones((2, 16), bool))
    with pytest.raises(InputError, match="wavelengths"):
        estimate_srf_psf(hs, ms, 4, hs_wavelengths=wl[:-1])


@pytest.mark.parametrize("method", ["HySure", "FUSE", "CNMF", "GLP-HS", "MAP-Hardie"])
def test_methods_record_the_estimates(method):
    """srf/psf None: the methods run with the estimates, reported in info for the run record."""
    from hysupp.methods.registry import get_method

    X, R, wl, hs, ms, fwhm = _smooth_pair(n_lr=14)
    fast = {"HySure": {"iters": 5}, "CNMF": {"init_iter": 5, "inner_iter": 5}}.get(method, {})
    est = estimate_srf_psf(hs, ms, 4)
    info = get_method(method)(**fast).fuse(hs, ms, ratio=4).info
    resp = info["responses"]
    assert info["psf"] == "estimated"
    np.testing.assert_allclose(resp["psf"], est.psf, rtol=1e-6, atol=1e-10)     # HySure: on data / max
    np.testing.assert_allclose(resp["srf"], est.srf, rtol=1e-6, atol=1e-10)
    assert resp["diagnostics"]["fit_residual"] == pytest.approx(est.diagnostics["fit_residual"], rel=1e-6)
    if method != "GLP-HS":                       # GLP-HS does not use the SRF
        assert info.get("srf", "estimated") == "estimated"
    info = get_method(method)(**fast).fuse(hs, ms, ratio=4, srf=R, psf=fwhm).info
    assert "responses" not in info and info["psf"] == "given"
    assert set(info["range_check"]) >= {"fraction_far", "flagged"}


# ------------------------------------------------------------------------------- range check
def _range_loops(fused, inputs, far):
    vals = [float(v) for x in inputs for v in np.ravel(x)]
    lo, hi = min(vals), max(vals)
    span = hi - lo
    f = [float(v) for v in np.ravel(fused)]
    out = sum(1 for v in f if v < lo or v > hi)
    far_n = sum(1 for v in f if v < lo - far * span or v > hi + far * span)
    return lo, hi, out / len(f), far_n / len(f), max(lo - min(f), 0) / span, max(max(f) - hi, 0) / span


def test_fused_range_check_golden():
    rng = np.random.default_rng(0)
    hs, ms = rng.random((3, 4, 4)), 0.5 + rng.random((2, 8, 8))
    fused = 0.75 + 0.6 * rng.standard_normal((3, 8, 8))
    r = fused_range_check(fused, hs, ms, warn=False)
    lo, hi, out, far_f, below, above = _range_loops(fused, (hs, ms), 0.25)
    assert (r["input_min"], r["input_max"]) == (lo, hi)
    assert r["fraction_outside"] == pytest.approx(out) and r["fraction_far"] == pytest.approx(far_f)
    assert r["excess_below"] == pytest.approx(below) and r["excess_above"] == pytest.approx(above)
    assert r["flagged"] == (far_f > 1e-3) and r["flagged"]
    with pytest.warns(FusedRangeWarning, match="HySure output"):
        fused_range_check(fused, hs, ms, what="HySure output")
    inside = np.clip(fused, lo, hi)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = fused_range_check(inside, hs, ms)
    assert r["fraction_outside"] == 0 and not r["flagged"] and r["excess_above"] == 0


def test_fused_range_check_nonfinite_and_errors():
    hs = np.ones((2, 3, 3))
    fused = np.ones((2, 6, 6))
    fused[0, 0, 0] = np.nan
    with pytest.warns(FusedRangeWarning, match="NaN"):
        r = fused_range_check(fused, hs)
    assert r["fraction_nonfinite"] == pytest.approx(1 / 72) and r["flagged"]
    with pytest.raises(InputError):
        fused_range_check(fused)
    with pytest.raises(InputError):
        fused_range_check(fused, np.full(3, np.nan))


# ------------------------------------------------------------------------------- negatives
def test_cnmf_clips_rounding_negatives_and_refuses_negative_data():
    from hysupp.fusion.hsms.cnmf import CNMF

    X, R, wl, hs, ms, fwhm = _rough_pair(n_lr=8)
    hs = hs.copy()
    hs[0, 0, :3] = -1.3e-13                      # what an FFT blur leaves on non-negative data
    res = CNMF(n_endmembers=3, init_iter=5, inner_iter=5).fuse(hs, ms, ratio=4, srf=R, psf=fwhm)
    assert res.info["clipped_negatives"] == {"hs": 3, "ms": 0} and np.isfinite(res.fused).all()
    hs[0, 0, 0] = -0.01
    with pytest.raises(InputError, match="non-negative data: the HS image has 1 value"):
        CNMF().fuse(hs, ms, ratio=4, srf=R, psf=fwhm)
    x, n = C.nonnegative(np.array([1.0, -1e-7, 0.5]), "MS", "m")
    assert n == 1 and x.min() == 0.0


def test_run_record_holds_the_estimates_and_the_range_check():
    """A pair without recorded physics (a real pair): the estimates and diagnostic reach run.json."""
    import json

    from hysupp.api import fuse
    from hysupp.pair import FusionPair
    from hysupp.simulate.fusion import hs_ms_pair

    X, R, wl, hs, ms, fwhm = _smooth_pair(n_lr=14)
    sim = hs_ms_pair(X, 4, wavelengths=wl, snr_hs=None, snr_ms=None)
    pair = FusionPair(reference=sim.reference, low=sim.low, high=sim.high, ratio=4,
                      protocol={"protocol": "real pair (no physics recorded)", "kind": "hs-ms"}, kind="hs-ms")
    run = fuse(pair, "GLP-HS")
    record = json.loads(json.dumps(run.record))
    info, responses = record["info"], record["physics"]["responses"]      # the run estimates (issue 19)
    assert responses["psf"] == "estimated from the pair" and np.asarray(responses["estimate"]["psf"]).shape == (13, 13)
    assert responses["estimate"]["diagnostics"]["fit_residual"] < 0.05
    assert info["range_check"]["flagged"] is False and record["range_check"] == info["range_check"]
