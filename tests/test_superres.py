"""Single-image super-resolution (task ``super-resolution``): Bicubic, Deconvolution, the scene-trained
networks, hysupp.super_resolve and ``hysupp sr``."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner

from hysupp.errors import InputError, ParameterError
from hysupp.fusion.superres.bicubic import Bicubic
from hysupp.fusion.superres.common import degrade, resolve_psf
from hysupp.fusion.superres.deconvolution import Deconvolution, _otf, estimate_gaussian_psf, l2_superres
from hysupp.physics.blur import Blur
from hysupp.physics.sampling import Decimation

TINY = {"iterations": 3, "batch_size": 2, "patch_size": 8, "device": "cpu", "seed": 0}
NET_EXTRA = {"SRCNN": {}, "VDSR": {"depth": 3}, "EDSR": {"blocks": 1, "features": 8}, "S5Net": {"band_iterations": 2,
                                                                                         "bands_per_batch": 2}}


def _nets():
    from hysupp.fusion.superres import nets

    return {name: getattr(nets, name) for name in NET_EXTRA}


def _powerlaw(rng, L=3, N=64):
    f = np.hypot(np.fft.fftfreq(N)[:, None], np.fft.fftfreq(N)[None, :])
    f[0, 0] = 1
    return np.stack([np.real(np.fft.ifft2(np.fft.fft2(rng.standard_normal((N, N))) / f)) for _ in range(L)])


# ------------------------------------------------------------------ Bicubic
@pytest.mark.parametrize("ratio", [2, 3, 4])
def test_bicubic_decimation_identity(ratio):
    y = np.random.default_rng(ratio).random((3, 7, 9))
    x = Bicubic().super_resolve(y, ratio=ratio).fused
    assert x.shape == (3, 7 * ratio, 9 * ratio)
    np.testing.assert_allclose(Decimation(ratio, "center")(x), y, atol=1e-12)


@pytest.mark.parametrize("ratio", [2, 3])
def test_bicubic_exact_on_quadratics_away_from_borders(ratio):
    H = W = 16 * ratio
    n, m = np.mgrid[:H, :W].astype(float)
    x = np.stack([1 + 0.3 * n - 0.2 * m + 0.01 * n * m + 0.02 * n ** 2 - 0.015 * m ** 2, 2 + 0.1 * n])
    y = Decimation(ratio, "center")(x)
    out = Bicubic().super_resolve(y, ratio=ratio).fused
    c = slice(3 * ratio, -3 * ratio)
    np.testing.assert_allclose(out[:, c, c], x[:, c, c], atol=1e-9)


# ------------------------------------------------------------------ Deconvolution
def test_l2_superres_matches_dense_solution():
    r, H, W = 2, 8, 6
    rng = np.random.default_rng(0)
    y, x0 = rng.random((1, H // r, W // r)), rng.random((1, H, W))
    k = Blur.gaussian(sigma=0.8).kernels
    lam, eps = 0.1, 1e-2
    otf = _otf(k, H, W)[0]
    n = H * W
    basis = np.eye(n).reshape(n, H, W)
    SH = np.stack([np.real(np.fft.ifft2(np.fft.fft2(e) * otf))[::r, ::r].ravel() for e in basis], 1)
    Dy = np.eye(n) - np.roll(basis, 1, axis=1).reshape(n, n)
    Dx = np.eye(n) - np.roll(basis, 1, axis=2).reshape(n, n)
    A = SH.T @ SH + lam * (Dy.T @ Dy + Dx.T @ Dx) + eps * np.eye(n)
    dense = np.linalg.solve(A, SH.T @ y.ravel() + eps * x0.ravel())
    np.testing.assert_allclose(l2_superres(y, k, r, lam, x0=x0, eps=eps).ravel(), dense, atol=1e-10)


def test_deconvolution_recovers_blurred_band_limited_image():
    rng = np.random.default_rng(1)
    N = 64
    n, m = np.mgrid[:N, :N]
    x = np.full((2, N, N), 5.0)
    for b in range(2):
        for _ in range(6):
            fy, fx = rng.integers(-7, 8, 2)
            x[b] += np.cos(2 * np.pi * (fy * n + fx * m) / N + 6.28 * rng.random())
    B = Blur.gaussian(sigma=1.0, mode="circular")
    y = Decimation(2, "center")(B(x))
    out = Deconvolution(lam=1e-4, pad=0).super_resolve(y, ratio=2, psf=B).fused
    bic = Bicubic().super_resolve(y, ratio=2).fused
    c = slice(8, -8)
    err, err_bic = np.abs(out - x)[:, c, c].max(), np.abs(bic - x)[:, c, c].max()
    assert err < 0.1 and err_bic > 1.0
    # data consistency: the solution reproduces the observation
    np.testing.assert_allclose(Decimation(2, "center")(B(out)), y, atol=2e-3)


def test_deconvolution_with_estimated_psf():
    rng = np.random.default_rng(2)
    x = _powerlaw(rng)
    B = Blur.gaussian(sigma=1.2, mode="circular")
    y = Decimation(2, "center")(B(x))
    assert estimate_gaussian_psf(y, 2) == pytest.approx(1.2, rel=0.1)
    res = Deconvolution(estimate_psf=True).super_resolve(y, ratio=2)
    assert res.info["psf_estimate"]["sigma"] == pytest.approx(1.2, rel=0.1)
    same = Deconvolution().super_resolve(y, ratio=2, psf="estimate").fused
    np.testing.assert_array_equal(same, res.fused)
    c = slice(16, -16)
    rmse = lambda z: float(np.sqrt(np.mean((z - x)[:, c, c] ** 2)))
    assert rmse(res.fused) < 0.85 * rmse(Bicubic().super_resolve(y, ratio=2).fused)


# ------------------------------------------------------------------ networks
@pytest.mark.parametrize("name", list(NET_EXTRA))
def test_net_smoke_shapes(name):
    cls = _nets()[name]
    y = np.random.default_rng(0).random((3, 10, 12)) * 100
    res = cls(**TINY, **NET_EXTRA[name]).super_resolve(y, ratio=2)
    assert res.fused.shape == (3, 20, 24) and res.fused.dtype == np.float64 and np.isfinite(res.fused).all()
    assert res.info["trained_on_scene"] and res.info["training"]["iterations"] == 3
    assert res.info["protocol"]["name"] == "sr-reduced-resolution"


@pytest.mark.parametrize("name", ["SRCNN", "S5Net"])
def test_net_deterministic_and_checkpoint_reload(name, tmp_path):
    cls = _nets()[name]
    y = np.random.default_rng(1).random((2, 10, 10))
    kw = {**TINY, **NET_EXTRA[name]}
    a = cls(**kw).super_resolve(y, ratio=2).fused
    b = cls(**kw).super_resolve(y, ratio=2).fused
    np.testing.assert_array_equal(a, b)
    ck = cls(**kw).train(y, ratio=2)
    path = ck.save(tmp_path / "m.pt")
    c = cls(**{**kw, "weights": str(path)}).super_resolve(y, ratio=2)
    np.testing.assert_array_equal(c.fused, a)
    assert not c.info["trained_on_scene"]
    with pytest.raises(InputError, match="ratio"):
        cls(**{**kw, "weights": str(path)}).super_resolve(y, ratio=3)
    other = "VDSR" if name != "VDSR" else "SRCNN"
    with pytest.raises(InputError, match="network"):
        _nets()[other](weights=str(path), device="cpu").super_resolve(y, ratio=2)
    tuned = cls(**{**kw, "weights": str(path), "fine_tune": 2}).super_resolve(y, ratio=2)
    assert tuned.info["fine_tuned"] and tuned.fused.shape == (2, 20, 20)


def test_net_parameter_validation():
    nets = _nets()
    with pytest.raises(ParameterError):
        nets["VDSR"](depth=1)
    with pytest.raises(ParameterError):
        nets["SRCNN"](recipe="fast")
    with pytest.raises(ParameterError, match="patch"):
        nets["SRCNN"](**{**TINY, "patch_size": 3}).super_resolve(np.ones((1, 10, 10)), ratio=2)
    assert nets["EDSR"]().recipe_values("cpu")["iterations"] == nets["EDSR"].cpu_recipe["iterations"]
    assert nets["EDSR"](iterations=7).recipe_values("cuda")["iterations"] == 7


# ------------------------------------------------------------------ validation
def test_bad_inputs_and_parameters():
    with pytest.raises(InputError, match="ratio"):
        Bicubic().super_resolve(np.ones((2, 4, 4)), ratio=1)
    with pytest.raises(InputError, match="ratio"):
        Bicubic().super_resolve(np.ones((2, 4, 4)), ratio=2.0)
    with pytest.raises(InputError, match="NaN"):
        Deconvolution().super_resolve(np.full((1, 4, 4), np.nan), ratio=2)
    with pytest.raises(InputError, match="cube"):
        Bicubic().super_resolve(np.ones(5), ratio=2)
    with pytest.raises(ParameterError):
        Deconvolution(lam=-1.0)
    with pytest.raises(ParameterError, match="psf"):
        Deconvolution().super_resolve(np.ones((1, 8, 8)), ratio=2, psf=np.ones((2, 2)))
    with pytest.raises(InputError, match="unknown sensor"):
        Deconvolution().super_resolve(np.ones((1, 8, 8)), ratio=2, psf="gaussian")
    with pytest.raises(ParameterError, match="FWHM"):
        resolve_psf(-1.0, 2)
    assert Bicubic().super_resolve(np.ones((4, 4)), ratio=2).fused.shape == (1, 8, 8)


def test_sensor_psf():
    y = 100 + np.random.default_rng(5).random((8, 24, 24))
    res = Deconvolution().super_resolve(y, ratio=2, psf="WV2")
    assert res.fused.shape == (8, 48, 48) and res.info["psf"]["n_kernels"] == 8
    with pytest.raises(InputError, match="8"):
        Deconvolution().super_resolve(y[:3], ratio=2, psf="WV2")


def test_registering_does_not_import_torch():
    code = ("import sys; from hysupp.methods.registry import available; "
            "names = [c.name for c in available('super-resolution')]; "
            "assert {'Bicubic', 'Deconvolution', 'SRCNN', 'VDSR', 'EDSR', 'S5Net'} <= set(names), names; "
            "assert 'torch' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


# ------------------------------------------------------------------ API and CLI
def test_api_rr_protocol():
    import hysupp

    rng = np.random.default_rng(3)
    cube = 10 + _powerlaw(rng, L=3, N=48)
    run = hysupp.super_resolve(cube, "Deconvolution", ratio=2, protocol="rr", border=4)
    bic = hysupp.super_resolve(cube, "Bicubic", ratio=2, protocol="rr", border=4)
    assert run.fused.cube.shape == cube.shape and run.input.shape == (3, 24, 24)
    np.testing.assert_allclose(run.input, degrade(cube, 2))
    assert run.metrics["psnr_db"] > bic.metrics["psnr_db"] + 1.0
    assert run.record["protocol"]["name"] == "rr" and run.record["method"]["task"] == "super-resolution"
    fr = hysupp.super_resolve(cube, "Bicubic", ratio=2)
    assert fr.fused.cube.shape == (3, 96, 96) and fr.metrics["consistency"]
    with pytest.raises(InputError, match="super-resolution"):
        hysupp.super_resolve(cube, "FCLS", ratio=2)
    with pytest.raises(InputError, match="protocol"):
        hysupp.super_resolve(cube, "Bicubic", ratio=2, protocol="xx")


def test_cli_round_trip(tmp_path):
    from hysupp.cli import main
    from hysupp.io import load, save
    from hysupp.scene import Scene

    src = tmp_path / "scene.tif"
    save(Scene(cube=np.random.default_rng(4).random((3, 32, 32)).astype(np.float32)), src)
    out = tmp_path / "o"
    res = CliRunner().invoke(main, ["sr", "--method", "Bicubic", "--data", str(src), "--ratio", "2",
                                    "--protocol", "rr", "--out", str(out)])
    assert res.exit_code == 0, res.output
    rec = json.loads((out / "run.json").read_text())
    assert rec["method"]["name"] == "Bicubic" and (out / "metrics.json").is_file()
    assert load(str(out / "fused.tif")).require_cube().shape == (3, 32, 32)
    again = CliRunner().invoke(main, ["sr", "--data", str(src), "--ratio", "2", "--out", str(out)])
    assert again.exit_code != 0
    model, out2 = tmp_path / "m.pt", tmp_path / "o2"
    args = ["sr", "--method", "SRCNN", "--data", str(src), "--ratio", "2", "--save-weights", str(model),
            *[f"--param={k}={v}" for k, v in TINY.items()]]
    res = CliRunner().invoke(main, [*args, "--out", str(out2)])
    assert res.exit_code == 0, res.output
    assert model.is_file() and load(str(out2 / "fused.tif")).require_cube().shape == (3, 64, 64)
    res = CliRunner().invoke(main, ["sr", "--method", "SRCNN", "--data", str(src), "--ratio", "2",
                                    "--weights", str(model), "--out", str(tmp_path / "o3")])
    assert res.exit_code == 0, res.output
    np.testing.assert_array_equal(load(str(tmp_path / "o3" / "fused.tif")).require_cube(),
                                  load(str(out2 / "fused.tif")).require_cube())
    bad = CliRunner().invoke(main, ["sr", "--method", "Bicubic", "--data", str(src), "--ratio", "2",
                                    "--weights", str(model), "--out", str(tmp_path / "o4")])
    assert bad.exit_code != 0
