"""Pansharpening networks trained on the scene (PNN, PanNet, DiCNN, FusionNet) and their infrastructure:
Wald training pairs, patch sampler, weight EMA, checkpoints, ``hysupp train`` / ``hysupp fuse --weights``."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from hysupp.cli import main
from hysupp.errors import InputError, OutputExistsError, ParameterError
from hysupp.methods.registry import get_method

torch = pytest.importorskip("torch")

NETS = ("PNN", "PanNet", "DiCNN", "FusionNet", "A-PNN", "Z-PNN")
TINY = {"iterations": 3, "batch_size": 2, "device": "cpu", "history_every": 1}


def registered_nets() -> list[str]:
    """Every registered pansharpening method that is a scene-trained network (a new net cannot escape
    the smoke test)."""
    from hysupp.fusion.pansharpening.nets import PansharpeningNet
    from hysupp.methods.registry import available

    return [c.name for c in available("pansharpening") if issubclass(c, PansharpeningNet)]


def tiny(name: str, **kw):
    cls = get_method(name)
    return cls(**{**cls.fast_params, **TINY, **kw})


def test_registry_lists_the_known_nets():
    assert set(NETS) | {"VOGTNet"} <= set(registered_nets())


@pytest.fixture(scope="module")
def scene():
    """4-band 32 x 32 MS and 128 x 128 PAN of a high-resolution cube whose bands share a textured
    component (so the PAN carries the missing details), values in [100, 500]."""
    from scipy.ndimage import gaussian_filter, uniform_filter

    rng = np.random.default_rng(0)
    base = gaussian_filter(rng.random((128, 128)), 1.5)
    own = np.stack([gaussian_filter(rng.random((128, 128)), 4.0) for _ in range(4)])
    hr = np.array([0.8, 1.0, 1.2, 1.4])[:, None, None] * base + 0.3 * own
    hr = 100 + 400 * (hr - hr.min()) / np.ptp(hr)
    pan = hr.mean(axis=0)
    ms = uniform_filter(hr, size=(1, 4, 4))[:, 1::4, 1::4]
    return ms, pan


@pytest.mark.parametrize("name", registered_nets())
def test_each_net_trains_and_fuses(scene, name):
    ms, pan = scene
    res = tiny(name).fuse(ms, pan, ratio=4, sensor="QB")
    assert res.fused.shape == (4, 128, 128) and res.fused.dtype == np.float64
    assert np.isfinite(res.fused).all()
    info = res.info
    assert info["trained_on_scene"] and info["training"]["iterations"] == 3
    assert info["training"]["loss_iterations"] == [0, 1, 2]
    assert info["protocol"]["ratio"] == 4 and info["protocol"]["sensor"] == "QB"
    assert info["protocol"]["mtf"]["pan_gnyq"] == pytest.approx(0.15)
    assert info["normalisation"]["scale"] == pytest.approx(max(ms.max(), pan.max()))
    assert info["protocol"]["name"].startswith(("full-resolution (zero-shot)", "wald-reduced-resolution"))


def test_float64_and_recipe_resolution(scene):
    ms, pan = scene
    res = tiny("DiCNN", dtype="float64").fuse(ms, pan, ratio=4)
    assert res.info["dtype"] == "float64" and res.info["protocol"]["sensor"] == "generic"
    net = get_method("FusionNet")()
    assert net.iterations == 120_000 and net.lr == 3e-4                  # published defaults declared
    cpu = net.recipe_values(torch.device("cpu"))
    assert cpu["recipe"] == "cpu" and cpu["iterations"] == 2000 and cpu["batch_size"] == 8
    assert net.recipe_values(torch.device("cuda"))["iterations"] == 120_000
    own = get_method("FusionNet")(lr=5e-4, recipe="cpu").recipe_values(torch.device("cpu"))
    assert own["lr"] == 5e-4 and own["iterations"] == 2000                # explicit values win
    with pytest.raises(ParameterError):
        tiny("PNN", patch_size=16).fuse(ms, pan, ratio=4)                    # valid convs need > 16 pixels
    with pytest.raises(ParameterError):
        tiny("PanNet", patch_size=18).fuse(ms, pan, ratio=4)                 # not a multiple of the ratio


def test_loss_decreases_on_tiny_overfit(scene):
    ms, pan = scene
    for name in NETS[:5]:   # one patch = the whole 32 x 32 reduced-resolution image: the same batch every step
        slow = name == "A-PNN"   # L1 loss, last layer at lr / 10: slower start
        net = tiny(name, iterations=300 if slow else 60, lr=1e-3, batch_size=1, patch_size=32, ema_decay=0.0,
                   history_every=10 if slow else 1)
        loss = net.fuse(ms, pan, ratio=4).info["training"]["loss"]
        assert np.mean(loss[-3:]) < (0.8 if slow else 0.6) * loss[0], (name, loss[0], loss[-5:])
    # Z-PNN trains at full resolution: one 32 x 32 PAN patch = a 8 x 8 MS crop of the scene
    net = tiny("Z-PNN", iterations=60, lr=1e-3, batch_size=1, patch_size=32, ema_decay=0.0)
    loss = net.fuse(ms[:, :8, :8], pan[:32, :32], ratio=4).info["training"]["loss"]
    assert np.mean(loss[-5:]) < 0.85 * loss[0], ("Z-PNN", loss[0], loss[-5:])


def test_zero_shot_loss_pieces():
    from hysupp.fusion.pansharpening.nets import local_correlation

    rng = np.random.default_rng(4)
    y = torch.from_numpy(rng.random((1, 1, 12, 12)))
    x = torch.cat([3 * y + 1, -y, torch.from_numpy(rng.random((1, 1, 12, 12)))], dim=1)
    rho = local_correlation(x, y, 4)
    assert rho.shape == (1, 3, 9, 9)
    np.testing.assert_allclose(rho[0, 0], 1.0, atol=1e-9)                   # affine copies: +1 / -1
    np.testing.assert_allclose(rho[0, 1], -1.0, atol=1e-9)
    assert float(rho[0, 2].abs().max()) < 1.0
    # the spectral term vanishes for a fused image that is consistent with the MS through the physics
    from hysupp.fusion.pansharpening.nets import ZPNN
    from hysupp.nn.training import torch_session

    z = ZPNN(device="cpu", dtype="float64")
    ms = np.full((2, 4, 4), 0.5)
    data = z.training_data(ms, np.full((16, 16), 0.5), 4, "QB")
    with torch_session("cpu", "float64", 0) as s:
        z.prepare(data, s)
        const = lambda ms_, lms, pan: lms
        batch = {k: torch.from_numpy(getattr(data, k)[None]) for k in ("ms", "lms", "pan")}
        assert abs(float(z.loss(const, batch)) - z.beta * 1.0) < 1e-9     # flat images: rho = 0, spectral = 0


def test_training_is_deterministic_and_checkpoint_reloads_bit_for_bit(scene, tmp_path):
    ms, pan = scene
    fused = tiny("FusionNet", seed=3, ema_decay=0.9).fuse(ms, pan, ratio=4, sensor="QB").fused
    ck = tiny("FusionNet", seed=3, ema_decay=0.9).train(ms, pan, ratio=4, sensor="QB")
    path = ck.save(tmp_path / "model.pt")
    raw = torch.load(path, map_location="cpu", weights_only=True)
    assert raw["method"] == "FusionNet" and raw["protocol"]["ratio"] == 4 and raw["protocol"]["sensor"] == "QB"
    assert raw["normalisation"]["kind"] == "max" and raw["architecture"]["n_bands"] == 4
    again = get_method("FusionNet")(weights=str(path), device="cpu").fuse(ms, pan, ratio=4, sensor="QB")
    assert not again.info["trained_on_scene"] and "warning" not in again.info
    assert "warning" in get_method("FusionNet")(weights=str(path), device="cpu").fuse(ms, pan, ratio=4,
                                                                                   sensor="WV4").info
    np.testing.assert_array_equal(again.fused, fused)                         # bit for bit
    with pytest.raises(OutputExistsError):
        ck.save(path)                                                        # never replaced silently
    ck.save(path, overwrite=True)


def test_target_adaptive_fine_tuning(scene, tmp_path):
    ms, pan = scene
    path = tiny("A-PNN", iterations=2).train(ms * 1.5, pan * 1.5, ratio=4).save(tmp_path / "apnn.pt")
    plain = get_method("A-PNN")(weights=str(path), fine_tune=0, device="cpu").fuse(ms, pan, ratio=4)
    tuned = get_method("A-PNN")(weights=str(path), fine_tune=4, batch_size=2, patch_size=24, device="cpu",
                                history_every=1).fuse(ms, pan, ratio=4)
    assert not plain.info["fine_tuned"] and tuned.info["fine_tuned"] and tuned.info["trained_on_scene"]
    tr = tuned.info["training"]
    assert tr["iterations"] == 4 and tr["recipe"]["lr"] == 1e-4 and "fine_tuned_from" in tr
    # the checkpoint's normalisation is kept (the network's radiometric range), not the new scene's
    assert tuned.info["normalisation"]["scale"] == pytest.approx(1.5 * max(ms.max(), pan.max()))
    assert not np.array_equal(plain.fused, tuned.fused)
    assert get_method("A-PNN")().fine_tune == 50 and get_method("FusionNet")().fine_tune == 0


def test_weight_errors(scene, tmp_path):
    ms, pan = scene
    with pytest.raises(InputError, match="not found"):
        get_method("DiCNN")(weights=str(tmp_path / "missing.pt")).fuse(ms, pan, ratio=4)
    (tmp_path / "bad.pt").write_bytes(b"this is not a checkpoint")
    with pytest.raises(InputError, match="not a readable"):
        get_method("DiCNN")(weights=str(tmp_path / "bad.pt")).fuse(ms, pan, ratio=4)
    torch.save({"state_dict": {}}, tmp_path / "foreign.pt")
    with pytest.raises(InputError, match="not a hysupp"):
        get_method("DiCNN")(weights=str(tmp_path / "foreign.pt")).fuse(ms, pan, ratio=4)
    path = tiny("DiCNN", iterations=1).train(ms, pan, ratio=4).save(tmp_path / "dicnn.pt")
    with pytest.raises(InputError, match="DiCNN network, not FusionNet"):
        get_method("FusionNet")(weights=str(path)).fuse(ms, pan, ratio=4)
    with pytest.raises(InputError, match="4 bands; the input has 3"):
        get_method("DiCNN")(weights=str(path)).fuse(ms[:3], pan, ratio=4)
    with pytest.raises(InputError, match="ratio 4; the input has ratio 2"):
        get_method("DiCNN")(weights=str(path)).fuse(ms[:, :, :], pan[::2, ::2], ratio=2)


def test_patch_sampler_alignment_and_seed():
    from hysupp.nn.fusion_training import PatchSampler, TrainingData

    rng = np.random.default_rng(1)
    gt = rng.random((2, 16, 16))
    ms = gt[:, ::4, ::4]
    data = TrainingData(ms=ms, lms=np.repeat(np.repeat(ms, 4, 1), 4, 2), pan=gt[:1], gt=gt, ratio=4, scale=1.0)
    a = PatchSampler(data, 8, seed=5, dtype=torch.float64).sample(6)
    b = PatchSampler(data, 8, seed=5, dtype=torch.float64).sample(6)
    assert all(torch.equal(a[k], b[k]) for k in ("ms", "lms", "pan", "gt"))
    assert a["ms"].shape == (6, 2, 2, 2) and a["gt"].shape == (6, 2, 8, 8)
    # the MS patch is the one under the HR patch: its nearest-neighbour expansion is the lms patch
    np.testing.assert_array_equal(torch.repeat_interleave(torch.repeat_interleave(a["ms"], 4, 2), 4, 3), a["lms"])
    np.testing.assert_array_equal(a["gt"][:, :, ::4, ::4], a["ms"])


def test_weight_ema_warmup():
    from hysupp.nn.fusion_training import WeightEMA

    lin = torch.nn.Linear(1, 1, bias=False)
    with torch.no_grad():
        lin.weight.fill_(0.0)
    ema = WeightEMA(lin, 0.99)
    with torch.no_grad():
        lin.weight.fill_(1.0)
    ema.update(lin)                                                         # d_0 = min(0.99, 1/10) = 0.1
    assert ema.state_dict(lin)["weight"].item() == pytest.approx(0.9)


def test_cli_train_then_fuse_with_weights(scene, tmp_path):
    from hysupp.io import save

    ms, pan = scene
    save(ms, tmp_path / "ms.npy")
    np.save(tmp_path / "pan.npy", pan)
    model = tmp_path / "model.pt"
    common = ["--ms", str(tmp_path / "ms.npy"), "--pan", str(tmp_path / "pan.npy"), "--ratio", "4"]
    args = ["train", "FusionNet", *common, "--iterations", "2", "--param", "batch_size=2", "--param",
            "patch_size=16", "--param", "device=cpu", "--out", str(model), "--json"]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout)
    assert summary["iterations"] == 2 and summary["protocol"]["sensor"] == "generic" and model.exists()
    again = CliRunner().invoke(main, args)
    assert again.exit_code == 2 and "exists" in again.output                # no silent overwrite
    assert CliRunner().invoke(main, args + ["--overwrite"]).exit_code == 0
    fused = CliRunner().invoke(main, ["fuse", "--method", "FusionNet", "--weights", str(model), *common,
                                      "--param", "device=cpu", "--out", str(tmp_path / "fr"), "--json"])
    assert fused.exit_code == 0, fused.output
    rec = json.loads(fused.stdout)
    assert rec["info"]["trained_on_scene"] is False and rec["method"]["params"]["weights"] == str(model)
    assert (tmp_path / "fr" / "fused.tif").exists()
    wrong = CliRunner().invoke(main, ["fuse", "--method", "DiCNN", "--weights", str(model), *common,
                                      "--out", str(tmp_path / "x")])
    assert wrong.exit_code == 2 and "FusionNet network, not DiCNN" in wrong.output
    no_net = CliRunner().invoke(main, ["fuse", "--method", "GSA", "--weights", str(model), *common])
    assert no_net.exit_code == 2 and "takes no --weights" in no_net.output
    no_train = CliRunner().invoke(main, ["train", "GSA", *common, "--out", str(tmp_path / "g.pt")])
    assert no_train.exit_code == 2 and "does not train" in no_train.output


def test_registering_the_nets_does_not_import_torch():
    import subprocess
    import sys

    code = ("import sys; from hysupp.methods.registry import available, get_method; available(); "
            "get_method('FusionNet'); get_method('Z-PNN').params; print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    assert out.strip() == "False"


def test_vogtnet_stage1_recovers_psf_and_srf():
    """Noise-free scene made by a known Gaussian PSF (sigma 1.5) and SRF: stage 1 finds them."""
    from scipy.ndimage import gaussian_filter

    from hysupp.fusion.pansharpening.nets import LearnedDegradation, VOGTNet
    from hysupp.nn.fusion_training import full_resolution_inputs
    from hysupp.nn.training import to_numpy, to_tensor, torch_session

    rng = np.random.default_rng(1)
    x = np.stack([gaussian_filter(rng.random((64, 64)), s) for s in (0.7, 1.0, 1.4)])
    w = np.array([0.2, 0.5, 0.3])
    with torch_session("cpu", "float64", 0) as s:
        true = LearnedDegradation(3, 4, 17, "gaussian", s)
        true.log_sigma.data.fill_(np.log(1.5))
        true.srf_logits.data.copy_(torch.log(torch.from_numpy(w)))
        ms = to_numpy(true.blur_decimate(to_tensor(x[None], s)))[0]
        pan = to_numpy(true.srf(to_tensor(x[None], s)))[0, 0]
        net = VOGTNet(degradation_iterations=300, device="cpu", dtype="float64")
        net.estimate_degradation(full_resolution_inputs(ms, pan, 4, 1.0), s)
    info = net._degradation_info
    np.testing.assert_allclose(info["srf"], w, atol=0.03)
    assert abs(info["psf_sigma"] - 1.5) < 0.15 and abs(info["offset"]) < 0.02
    assert info["loss_last"] < 0.05 * info["loss_first"]


def test_vogtnet_reports_learnt_degradation_and_validates(scene):
    """The fusion info carries stage 1's PSF and SRF (a point of the simplex); bad patches are refused."""
    ms, pan = scene
    res = tiny("VOGTNet", lambda_rr=0.0).fuse(ms, pan, ratio=4)
    deg = res.info["training"]["degradation"]
    assert len(deg["srf"]) == 4 and abs(sum(deg["srf"]) - 1) < 1e-6 and min(deg["srf"]) >= 0
    assert deg["psf"] == "gaussian" and deg["psf_size"] == 17 and deg["psf_sigma"] > 0
    with pytest.raises(ParameterError):
        tiny("VOGTNet", patch_size=18).fuse(ms, pan, ratio=4)                # not a multiple of the ratio
    assert get_method("VOGTNet")(psf="free", degradation_iterations=5, iterations=2, batch_size=2, patch_size=16,
                                 device="cpu").fuse(ms, pan, ratio=4).info["training"]["degradation"]["psf"] == "free"


def test_gpu_check_discovers_every_registered_net(capsys):
    """benchmarks/gpu_check_fusion_nets.py finds the nets through the registry and exits 0 without CUDA."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "benchmarks" / "gpu_check_fusion_nets.py"
    spec = importlib.util.spec_from_file_location("gpu_check_fusion_nets", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    found = {c.name for c in mod.scene_trained_nets()}
    assert set(registered_nets()) <= found
    if not torch.cuda.is_available():
        assert mod.main([]) == 0 and "no CUDA" in capsys.readouterr().out


def test_vogtnet_cli_train_then_fuse(scene, tmp_path):
    from hysupp.io import save

    ms, pan = scene
    save(ms, tmp_path / "ms.npy")
    np.save(tmp_path / "pan.npy", pan)
    model = tmp_path / "vogt.pt"
    common = ["--ms", str(tmp_path / "ms.npy"), "--pan", str(tmp_path / "pan.npy"), "--ratio", "4"]
    res = CliRunner().invoke(main, ["train", "VOGTNet", *common, "--iterations", "2", "--param", "batch_size=2",
                                    "--param", "patch_size=16", "--param", "degradation_iterations=5", "--param",
                                    "device=cpu", "--out", str(model), "--json"])
    assert res.exit_code == 0, res.output
    raw = torch.load(model, map_location="cpu", weights_only=True)
    assert raw["architecture"]["name"] == "DualBranch" and len(raw["training"]["degradation"]["srf"]) == 4
    fused = CliRunner().invoke(main, ["fuse", "--method", "VOGTNet", "--weights", str(model), *common,
                                      "--param", "device=cpu", "--out", str(tmp_path / "fr"), "--json"])
    assert fused.exit_code == 0, fused.output
    assert json.loads(fused.stdout)["info"]["trained_on_scene"] is False
