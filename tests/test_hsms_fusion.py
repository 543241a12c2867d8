"""HS-MS fusion methods (task ``hs-ms-fusion``): Pavia pair vs bicubic, exactness on synthetic data, errors."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.ndimage import convolve

from hysupp.errors import InputError
from hysupp.fusion.hsms import common as C
from hysupp.fusion.hsms.fuse_sylvester import FUSE
from hysupp.fusion.hsms.gsa_hs import GSA_HS, group_bands
from hysupp.fusion.hsms.hysure import HySure
from hysupp.methods.registry import get_method

RATIO = 4


@pytest.fixture(scope="module")
def pavia_pair(shared_data):
    import hysupp
    from hysupp.simulate.fusion import hs_ms_pair

    path = shared_data / "pavia_university" / "reg_pavia_dataset.mat"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    return hs_ms_pair(hysupp.load(str(path)), RATIO, snr_hs=35, snr_ms=35)


def _scores(ref, fused):
    from hysupp.metrics.fusion import evaluate_fusion

    m = evaluate_fusion(ref, fused, ratio=RATIO, include_ssim=False)
    return m["psnr_db"], m["sam_deg"], m["ergas"]


@pytest.mark.parametrize("method,params", [("GLP-HS", {}), ("CNMF", {}), ("HySure", {"iters": 100}), ("FUSE", {}),
                                           ("GSA-HS", {}), ("MAP-Hardie", {}),
                                           ("MAP-SMM", {})])
def test_pavia_beats_bicubic(pavia_pair, method, params):
    from hysupp.physics.sampling import bicubic

    hs, ms = pavia_pair.low.require_cube(), pavia_pair.high.require_cube()
    ref = pavia_pair.reference.require_cube()
    R = np.asarray(pavia_pair.protocol["operators"]["ms_srf"]["R"])
    fwhm = pavia_pair.protocol["psf"]["fwhm"]
    fused = get_method(method)(**params).fuse(hs, ms, ratio=RATIO, srf=R, psf=fwhm).fused
    assert fused.shape == ref.shape
    psnr_b, sam_b, ergas_b = _scores(ref, np.asarray(bicubic(hs, RATIO)))
    psnr, sam, ergas = _scores(ref, fused)
    assert psnr > psnr_b and sam < sam_b and ergas < ergas_b, (method, psnr, sam, ergas, psnr_b, sam_b, ergas_b)
    assert psnr > 35.0


def _periodic_scene(L=6, rank=3, H=32, W=32, seed=0):
    """A low-rank scene with smooth periodic abundances (a few low-frequency sinusoids)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.meshgrid(np.arange(H) / H, np.arange(W) / W, indexing="ij")
    A = np.stack([1.5 + sum(np.cos(2 * np.pi * (rng.integers(0, 4) * yy + rng.integers(0, 4) * xx) + rng.random() * 6)
                            for _ in range(3)) for _ in range(rank)])
    E = rng.random((L, rank))
    return (E @ A.reshape(rank, -1)).reshape(L, H, W), rng


def _periodic_hs(X, kernel, phase):
    return np.stack([convolve(b, kernel, mode="wrap") for b in X])[:, phase::RATIO, phase::RATIO]


def test_fuse_periodic_noise_free_right_phase():
    X, rng = _periodic_scene(rank=2)              # identifiable: R E is invertible
    R = rng.random((2, X.shape[0]))
    k = C.psf_kernel(None, RATIO)
    ms = np.tensordot(R, X, axes=1)
    errs = {}
    for phase in (RATIO // 2, 0):
        fused = FUSE(lam=1e-6, subspace_dim=2).fuse(_periodic_hs(X, k, phase), ms, ratio=RATIO, srf=R, psf=k).fused
        errs[phase] = np.linalg.norm(fused - X) / np.linalg.norm(X)
    assert errs[RATIO // 2] < 1e-5
    assert errs[0] > 0.01


def test_hysure_periodic_noise_free():
    X, rng = _periodic_scene(rank=2)
    R = rng.random((2, X.shape[0]))
    k = C.psf_kernel(None, RATIO)
    hs, ms = _periodic_hs(X, k, RATIO // 2), np.tensordot(R, X, axes=1)
    res = HySure(p=2, basis="svd", lambda_phi=1e-6, iters=200).fuse(hs, ms, ratio=RATIO, srf=R, psf=k)
    err = np.linalg.norm(res.fused - X) / np.linalg.norm(X)
    err_up = np.linalg.norm(C.upsample(hs, RATIO) - X) / np.linalg.norm(X)
    assert res.info["iterations"] == 200
    assert err < 1e-4 and err_up > 0.1


def test_map_hardie_consistent_and_sharper():
    from hysupp.fusion.hsms.map_smm import MAP_Hardie

    X, rng = _periodic_scene(L=8, rank=4)
    X += 0.05 * rng.random(X.shape)
    R = rng.random((3, X.shape[0]))
    k = C.psf_kernel(None, RATIO)
    hs, ms = _periodic_hs(X, k, RATIO // 2), np.tensordot(R, X, axes=1)
    fused = MAP_Hardie(noise_var=1e-12).fuse(hs, ms, ratio=RATIO, psf=k).fused
    # noise-free limit: the MAP estimate reproduces the HS observation exactly
    assert np.linalg.norm(_periodic_hs(fused, k, RATIO // 2) - hs) < 1e-6 * np.linalg.norm(hs)
    err = np.linalg.norm(fused - X) / np.linalg.norm(X)
    assert err < 0.2 * np.linalg.norm(C.upsample(hs, RATIO) - X) / np.linalg.norm(X)


def test_estimate_srf_noise_free():
    """Known PSF, no smoothness: the SRF step alone is exact, even for rough, sparse rows."""
    from hysupp.fusion.hsms.responses import estimate_srf_psf

    X, rng = _periodic_scene(L=10, rank=10, H=64, W=64, seed=1)
    X += rng.random(X.shape)                       # full rank, spatially rough
    R = rng.random((3, 10)) * (rng.random((3, 10)) > 0.4)
    hs, ms = C.degrade(X, RATIO, None), np.tensordot(R, X, axes=1)
    est = estimate_srf_psf(hs, ms, RATIO, psf=RATIO, lambda_srf=0.0)
    assert est.srf.shape == R.shape and est.diagnostics["psf"] == "given"
    np.testing.assert_allclose(est.srf, R, atol=1e-6)


def test_group_bands():
    rng = np.random.default_rng(0)
    hs, ms_lr = rng.random((5, 8, 8)), rng.random((2, 8, 8))
    R = np.array([[0.2, 0.5, 0.0, 0.0, 0.0], [0.0, 0.3, 0.1, 0.4, 0.0]])
    g = group_bands(hs, ms_lr, R)
    assert g[:4].tolist() == [0, 0, 1, 1]
    hs[4] = 2 * ms_lr[1] + 1                       # uncovered band: grouped by correlation
    assert group_bands(hs, ms_lr, R)[4] == 1
    hs[0] = ms_lr[1]
    assert group_bands(hs, ms_lr, R, "correlation")[0] == 1
    with pytest.raises(InputError):
        group_bands(hs, ms_lr, None, "srf")


@pytest.mark.parametrize("method", ["GLP-HS", "SFIM-HS", "CNMF", "HySure", "FUSE", "GSA-HS", "MAP-Hardie",
                                    "MAP-SMM"])
def test_bad_shapes(method):
    rng = np.random.default_rng(0)
    m = get_method(method)()
    with pytest.raises(InputError, match="expected ratio"):  # MS not ratio x HS
        m.fuse(rng.random((6, 8, 8)), rng.random((2, 30, 32)), ratio=4)
    with pytest.raises(InputError, match="cube"):  # HS not a cube
        m.fuse(rng.random((6, 8, 8, 1)), rng.random((2, 32, 32)), ratio=4)
    with pytest.raises(InputError, match="ratio"):
        m.fuse(rng.random((6, 8, 8)), rng.random((2, 32, 32)), ratio=0)


@pytest.mark.parametrize("cls", [FUSE, HySure, GSA_HS])
def test_bad_srf_shape(cls):
    rng = np.random.default_rng(0)
    with pytest.raises(InputError, match="srf"):
        cls().fuse(rng.random((6, 8, 8)), rng.random((2, 32, 32)), ratio=4, srf=np.ones((2, 5)))


def test_run_fuse_saved_pair(tmp_path):
    from hysupp.api import fuse
    from hysupp.io.pair import save_fusion_pair
    from hysupp.simulate.fusion import hs_ms_pair

    X, _ = _periodic_scene(L=40, rank=3, H=32, W=32)
    wl = np.linspace(400, 1000, 40)
    pair = hs_ms_pair(X / X.max(), RATIO, wavelengths=wl, snr_hs=None, snr_ms=None)
    path = save_fusion_pair(pair, tmp_path / "pair.npz")
    for method in ("GLP-HS", "HySure"):
        run = fuse(str(path), method, params={"iters": 20} if method == "HySure" else None)
        assert run.fused.cube.shape == X.shape
        assert run.metrics["psnr_db"] > 30


def test_fuse_accepts_an_in_memory_pair():
    from hysupp.api import fuse
    from hysupp.simulate.fusion import hs_ms_pair

    wl = np.linspace(430.0, 860.0, 30)
    X = 0.2 + np.random.default_rng(0).random((30, 32, 32))
    run = fuse(hs_ms_pair(X, 4, wavelengths=wl, snr_hs=None, snr_ms=None), "GLP-HS")
    assert run.protocol == "reference" and run.record["input"]["path"] is None
    assert run.fused.shape == (30, 32, 32) and "psnr_db" in run.metrics
