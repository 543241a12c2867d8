"""HS-MS fusion networks trained on the observed pair (SSR-Net, SST): training data, losses,
determinism, checkpoints, SRF handling, parameter checks. Tiny scenes, seconds each."""

from __future__ import annotations

import subprocess
import sys
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from hysupp.errors import ImplausibleEstimateWarning, InputError, ParameterError
from hysupp.fusion.hsms import common as C
from hysupp.fusion.hsms.nets import SST, SSRNet, hs_ms_training_data
from hysupp.fusion.hsms.responses import estimate_srf_psf
from hysupp.methods.registry import available
from hysupp.nn.fusion_training import Checkpoint

RATIO = 4
NETS = [SSRNet, SST]


@pytest.fixture(scope="module")
def pair():
    """A smooth 8-band scene 32 x 32, its HS (8, 8, 8) and 3-band MS through the shared physics."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:32, 0:32] / 32.0
    A = np.stack([np.sin(3 * xx) ** 2, np.cos(2 * yy) ** 2, (xx * yy)])
    A /= A.sum(axis=0)
    E = 0.2 + 0.6 * rng.random((8, 3))
    X = np.einsum("lp,phw->lhw", E, A)
    R = np.zeros((3, 8))
    R[0, :3], R[1, 3:6], R[2, 5:] = 1 / 3, 1 / 3, 1 / 3
    hs = C.degrade(X, RATIO, None)
    ms = np.einsum("cl,lhw->chw", R, X)
    return X, hs, ms, R


def test_nets_are_registered_and_do_not_import_torch():
    assert {"SSR-Net", "SST"} <= {c.name for c in available("hs-ms-fusion")}
    code = ("import sys, hysupp.methods.registry as r; r.available(); "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_training_data_is_walds_pair_of_the_observed_images(pair):
    X, hs, ms, R = pair
    d = hs_ms_training_data(hs, ms, RATIO, R, None)
    s = d.scale
    assert s == pytest.approx(max(hs.max(), ms.max()))
    np.testing.assert_allclose(d.hs * s, hs)                                  # target: the observed HS
    np.testing.assert_allclose(d.ms_rr * s, C.degrade(ms, RATIO, None))       # MS degraded like the HS
    np.testing.assert_allclose(d.hs_rr_up * s, C.upsample(C.degrade(hs, RATIO, None), RATIO))
    assert d.hs_up.shape == X.shape and d.ms.shape == ms.shape and d.hs_obs.shape == hs.shape
    with pytest.raises(InputError, match="smaller than the ratio"):
        hs_ms_training_data(hs[:, :2, :2], ms[:, :8, :8], RATIO, R, None)


@pytest.mark.parametrize("cls", NETS, ids=lambda c: c.name)
def test_each_net_smoke_trains_and_fuses(cls, pair):
    X, hs, ms, R = pair
    res = cls(iterations=3, device="cpu").fuse(hs, ms, ratio=RATIO, srf=R)
    assert res.fused.shape == X.shape and np.isfinite(res.fused).all()
    assert res.info["training"]["iterations"] == 3 and res.info["trained_on_pair"]
    assert res.info["training"]["recipe"]["recipe"] == "cpu"


@pytest.mark.parametrize("cls", NETS, ids=lambda c: c.name)
def test_loss_decreases_and_beats_interpolation_on_a_smooth_scene(cls, pair):
    X, hs, ms, R = pair
    res = cls(iterations=300, lr=1e-3, device="cpu", history_every=10).fuse(hs, ms, ratio=RATIO, srf=R)
    loss = res.info["training"]["loss"]
    assert loss[-1] < 0.5 * loss[0]
    err_net = np.sqrt(np.mean((res.fused - X) ** 2))
    err_up = np.sqrt(np.mean((C.upsample(hs, RATIO) - X) ** 2))
    assert err_net < err_up


def test_ssrnet_inserts_each_ms_band_at_its_srf_peak(pair):
    from hysupp.nn.hsms_nets import SSRNet as Module

    R = pair[3]
    arch = SSRNet().architecture(8, R)
    assert arch["insert"] == [0, 3, 5]
    net = Module(8, arch["insert"])
    hs_up, ms_t = torch.rand(1, 8, 8, 8), torch.rand(1, 3, 8, 8)
    with torch.no_grad():
        net.spatial.weight.zero_()
        net.spectral.weight.zero_()
        out = net(hs_up, ms_t)              # identity fusion, no residual: the CMMI image itself
    np.testing.assert_allclose(out[0, [0, 3, 5]].numpy(), ms_t[0].numpy(), atol=1e-6)
    np.testing.assert_allclose(out[0, [1, 2, 4, 6, 7]].numpy(), hs_up[0, [1, 2, 4, 6, 7]].numpy(), atol=1e-6)


def test_sst_starts_as_the_interpolated_hs_and_handles_odd_sizes():
    from hysupp.nn.hsms_nets import SST as Module

    net = Module(5, 2, dim=8, blocks=1, heads=2, window=4)
    hs_up, ms = torch.rand(1, 5, 10, 7), torch.rand(1, 2, 10, 7)     # not multiples of the window
    np.testing.assert_array_equal(net(hs_up, ms).detach().numpy(), hs_up.numpy())


def test_training_is_deterministic_and_checkpoint_reloads_bit_for_bit(pair, tmp_path):
    _, hs, ms, R = pair
    a = SST(iterations=5, device="cpu", seed=3).fuse(hs, ms, ratio=RATIO, srf=R).fused
    net = SST(iterations=5, device="cpu", seed=3)
    ck = net.train(hs, ms, ratio=RATIO, srf=R)
    path = ck.save(tmp_path / "sst.pt")
    b = SST(weights=str(path), device="cpu").fuse(hs, ms, ratio=RATIO, srf=R)
    np.testing.assert_array_equal(a, b.fused)
    assert b.info["trained_on_pair"] is False
    with pytest.raises(InputError, match="holds a SST network, not SSR-Net"):
        SSRNet(weights=str(path), device="cpu").fuse(hs, ms, ratio=RATIO, srf=R)
    with pytest.raises(InputError, match="trained for 8 bands"):
        SST(weights=str(path), device="cpu").fuse(hs[:5], ms, ratio=RATIO, srf=R[:, :5])
    with pytest.raises(InputError, match="trained with 3 MS bands; the MS image has 2"):
        SST(weights=str(path), device="cpu").fuse(hs, ms[:2], ratio=RATIO, srf=R[:2])
    loaded = Checkpoint.load(path)
    assert loaded.protocol["name"] == "wald-reduced-resolution+consistency" and loaded.protocol["srf_given"]


def test_srf_estimated_when_missing_and_checked_when_given(pair):
    _, hs, ms, R = pair
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ImplausibleEstimateWarning)
        ck = SSRNet(iterations=1, device="cpu").train(hs, ms, ratio=RATIO)
        est = estimate_srf_psf(hs, ms, RATIO)
    np.testing.assert_allclose(np.asarray(ck.protocol["srf"]), est.srf)
    np.testing.assert_allclose(np.asarray(ck.protocol["psf"]), est.psf)
    assert not ck.protocol["srf_given"] and not ck.protocol["psf_given"]
    assert ck.protocol["response_diagnostics"]["fit_residual"] == est.diagnostics["fit_residual"]
    with pytest.raises(InputError, match=r"srf must be \(MS bands, HS bands\) = \(3, 8\)"):
        SSRNet(iterations=1, device="cpu").fuse(hs, ms, ratio=RATIO, srf=R.T)


def test_parameter_validation_and_recipes():
    with pytest.raises(ParameterError):
        SST(consistency=-1.0)
    with pytest.raises(ParameterError, match="multiple of heads"):
        SST(dim=9, heads=2)
    net = SSRNet(lr=5e-4)
    rec = net.recipe_values("cpu")
    assert rec["recipe"] == "cpu" and rec["lr"] == 5e-4 and rec["iterations"] == SSRNet.cpu_recipe["iterations"]
    assert SSRNet(recipe="published").recipe_values("cpu")["iterations"] == 10_000


def test_cli_train_on_a_saved_hs_ms_pair_then_fuse_with_weights(tmp_path):
    """``hysupp train SST --data pair.npz`` uses the SRF/PSF the pair records; ``hysupp fuse
    --weights`` applies the checkpoint without training and scores against the pair's reference."""
    import json

    from click.testing import CliRunner

    from hysupp.cli import main
    from hysupp.io.pair import save_fusion_pair
    from hysupp.simulate.fusion import hs_ms_pair

    rng = np.random.default_rng(1)
    wl = np.linspace(430, 860, 24)
    X = 0.2 + 0.5 * rng.random((24, 3)) @ rng.dirichlet(np.ones(3), 32 * 32).T
    from hysupp.scene import Scene

    pair = hs_ms_pair(Scene(cube=X.reshape(24, 32, 32), wavelengths=wl), 4, snr_hs=None, snr_ms=None)
    path = save_fusion_pair(pair, tmp_path / "pair.npz")
    model = tmp_path / "sst.pt"
    res = CliRunner().invoke(main, ["train", "SST", "--data", str(path), "--iterations", "3", "--param",
                                    "device=cpu", "--out", str(model), "--json"])
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout)
    assert summary["iterations"] == 3 and summary["protocol"]["srf_given"] is True
    fused = CliRunner().invoke(main, ["fuse", "--method", "SST", "--data", str(path), "--weights", str(model),
                                      "--param", "device=cpu", "--out", str(tmp_path / "out"), "--json"])
    assert fused.exit_code == 0, fused.output
    rec = json.loads(fused.stdout)
    assert rec["info"]["trained_on_pair"] is False and rec["metrics"]["psnr_db"] > 10
    wrong = CliRunner().invoke(main, ["train", "FusionNet", "--data", str(path), "--out", str(tmp_path / "f.pt")])
    assert wrong.exit_code == 2
