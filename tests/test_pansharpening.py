"""Pansharpening methods (hysupp.fusion.pansharpening) and the hysupp fuse path."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

import hysupp
from hysupp.cli import main
from hysupp.errors import InputError
from hysupp.fusion.pansharpening import common as C
from hysupp.methods import available, get_method
from hysupp.physics.sampling import interp23tap

METHODS = [cls.name for cls in available("pansharpening")]


@pytest.fixture(scope="module")
def small_pair():
    rng = np.random.default_rng(0)
    base = rng.random((64, 64))
    ms_hr = np.stack([50 + 20 * k + 30 * base + rng.random((64, 64)) for k in range(4)])
    ms = ms_hr.reshape(4, 16, 4, 16, 4).mean(axis=(2, 4))
    pan = ms_hr.mean(axis=0)
    return ms, pan


@pytest.mark.parametrize("name", METHODS)
def test_every_method_runs_and_keeps_shapes(name, small_pair):
    ms, pan = small_pair
    res = get_method(name, "pansharpening")().fuse(ms, pan, ratio=4, sensor="QB")
    assert res.fused.shape == (4, 64, 64) and np.isfinite(res.fused).all()
    # the fused image is closer to the PAN detail than the interpolated MS is
    assert float(np.abs(res.fused).mean()) == pytest.approx(float(ms.mean()), rel=0.2)


def test_exp_is_the_23_tap_interpolation(small_pair):
    ms, pan = small_pair
    np.testing.assert_allclose(get_method("EXP", "pansharpening")().fuse(ms, pan, ratio=4).fused,
                               interp23tap(ms, 4), rtol=0, atol=1e-12)


def test_gihs_adds_the_same_detail_to_every_band_and_bt_scales_them(small_pair):
    ms, pan = small_pair
    up = C.expand(ms, 4)
    d = get_method("GIHS", "pansharpening")().fuse(ms, pan, ratio=4).fused - up
    np.testing.assert_allclose(d, np.broadcast_to(d[0], d.shape), atol=1e-9)
    q = get_method("BT", "pansharpening")().fuse(ms, pan, ratio=4).fused / up
    np.testing.assert_allclose(q, np.broadcast_to(q[0], q.shape), rtol=1e-9)


def test_wavelet_lowpass_matches_its_effective_kernel_inside_the_image():
    h0 = np.array([1, 4, 6, 4, 1]) / 16.0
    x = np.random.default_rng(1).random((1, 40, 40))
    for levels in (1, 2):
        k = np.array([1.0])
        for _ in range(levels):
            k = np.convolve(np.convolve(k, h0), h0)
        from scipy.ndimage import convolve1d

        expected = convolve1d(convolve1d(x, k, axis=1), k, axis=2)
        got = C.ndwt_lowpass(x, levels)
        m = 8 * levels + 1
        np.testing.assert_allclose(got[:, m:-m, m:-m], expected[:, m:-m, m:-m], atol=1e-12)
    np.testing.assert_allclose(C.ndwt_lowpass(np.ones((2, 9, 11)), 2), 1.0, atol=1e-12)


def test_glp_lowpass_has_unit_gain_and_sensor_gains(small_pair):
    g, used = C.sensor_gains("WV2", 8)
    assert used == "WV2" and g[-1] == 0.27
    g4, used4 = C.sensor_gains("WV2", 4)
    assert used4.startswith("generic")
    np.testing.assert_allclose(C.glp_lowpass(np.full((2, 32, 32), 3.0), 4, np.array([0.3, 0.3])), 3.0, atol=1e-9)


def test_input_errors(small_pair):
    ms, pan = small_pair
    with pytest.raises(InputError, match="expected ratio 4"):
        get_method("GSA", "pansharpening")().fuse(ms, pan[:60], ratio=4)
    with pytest.raises(InputError, match="power-of-two"):
        get_method("MTF-GLP", "pansharpening")().fuse(ms[:, :15, :15], pan[:45, :45], ratio=3)
    with pytest.raises(InputError, match="block_size"):
        get_method("BDSD", "pansharpening")(block_size=6).fuse(ms, pan, ratio=4)
    with pytest.raises(InputError, match="one band"):
        get_method("GS", "pansharpening")().fuse(ms, np.stack([pan, pan]), ratio=4)


def test_mtf_methods_beat_exp_on_a_wv2_crop(shared_data):
    from hysupp.metrics.fusion import evaluate_fusion
    from hysupp.simulate.fusion import wald_pansharpening_pair

    s = hysupp.load(shared_data / "pansharpening_wv2" / "imgWV2.mat")
    pair = wald_pansharpening_pair(s.cube[:, :128, :128], s.extras["pan"][0, :512, :512], 4, "WV2")
    ref = pair.reference.cube

    def score(name):
        f = get_method(name, "pansharpening")().fuse(pair.low.cube, pair.high.cube, ratio=4, sensor="WV2").fused
        m = evaluate_fusion(ref, f, ratio=4, include_ssim=False)
        return m["q2n"], m["sam_deg"], m["ergas"], m["scc"]

    q, sam, ergas, scc = score("EXP")
    for name in ("MTF-GLP", "MTF-GLP-HPM", "AWLP"):
        q_m, sam_m, ergas_m, scc_m = score(name)
        assert q_m > q and sam_m < sam and ergas_m < ergas and scc_m > scc, name


def test_cli_fuse_rr_and_fr(shared_data, tmp_path):
    from hysupp.io import save

    res = CliRunner().invoke(main, ["fuse", "--method", "MTF-GLP", "--data",
                                    str(shared_data / "pansharpening_wv2" / "imgWV2.mat"), "--protocol", "rr",
                                    "--out", str(tmp_path / "rr"), "--json"])
    assert res.exit_code == 0, res.output
    rec = json.loads(res.output)
    assert rec["protocol"]["name"] == "rr" and rec["protocol"]["sensor"] == "WV2"
    assert rec["metrics"]["q8"] > 0.8 and (tmp_path / "rr" / "fused.tif").exists()
    fused = hysupp.load(tmp_path / "rr" / "fused.tif")
    assert fused.shape == (8, 320, 320)
    # full resolution from separate MS and PAN files
    rng = np.random.default_rng(2)
    save(100 + rng.random((4, 16, 16)), tmp_path / "ms.npy")
    np.save(tmp_path / "pan.npy", 100 + rng.random((64, 64)))
    res = CliRunner().invoke(main, ["fuse", "--method", "GSA", "--ms", str(tmp_path / "ms.npy"), "--pan",
                                    str(tmp_path / "pan.npy"), "--ratio", "4", "--out", str(tmp_path / "fr")])
    assert res.exit_code == 0, res.output
    assert "qnr" in res.output and (tmp_path / "fr" / "quicklook.png").exists()
    again = CliRunner().invoke(main, ["fuse", "--method", "GSA", "--ms", str(tmp_path / "ms.npy"), "--pan",
                                      str(tmp_path / "pan.npy"), "--ratio", "4", "--out", str(tmp_path / "fr")])
    assert again.exit_code != 0 and "exists" in again.output
    bad = CliRunner().invoke(main, ["fuse", "--method", "FCLS", "--ms", str(tmp_path / "ms.npy"), "--pan",
                                    str(tmp_path / "pan.npy"), "--ratio", "4"])
    assert bad.exit_code == 2 and "pansharpening" in bad.output
