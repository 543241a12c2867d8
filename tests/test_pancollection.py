"""PanCollection HDF5 reader (hysupp.io.pancollection), training of the pansharpening nets on its samples
(hysupp.nn.dataset_training) and ``hysupp train METHOD --h5``."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from click.testing import CliRunner

from hysupp.errors import InputError, ParameterError

h5py = pytest.importorskip("h5py")
torch = pytest.importorskip("torch")

N, L, h, R = 5, 3, 8, 4
H = h * R


def coded(n: int, c: int, size: int, step: int) -> np.ndarray:
    """Values that encode (sample, band, row, col) on the PAN grid: ``step`` spacing of the MS grid."""
    nn, cc, yy, xx = np.meshgrid(np.arange(n), np.arange(c), np.arange(size) * step, np.arange(size) * step,
                                 indexing="ij")
    return (nn * 100000 + cc * 10000 + yy * 100 + xx).astype(np.float64)


def write(path, *, with_gt=True, with_lms=True, **override):
    data = {"ms": coded(N, L, h, R), "pan": coded(N, 1, H, 1), "lms": coded(N, L, H, 1), "gt": coded(N, L, H, 1)}
    if not with_gt:
        data.pop("gt")
    if not with_lms:
        data.pop("lms")
    data.update(override)
    with h5py.File(path, "w") as f:
        for k, v in data.items():
            if v is not None:
                f[k] = v
    return data


@pytest.fixture()
def h5file(tmp_path):
    path = tmp_path / "train.h5"
    return path, write(path)


# ---------------------------------------------------------------------------------------------- reader
def test_reader_shapes_and_sliced_reads(h5file):
    from hysupp.io.pancollection import PanCollection

    path, data = h5file
    with PanCollection(path) as ds:
        assert (len(ds), ds.ratio, ds.n_bands, ds.has_gt, ds.has_lms) == (N, R, L, True, True)
        assert ds.ms_shape == (h, h) and ds.pan_shape == (H, H)
        np.testing.assert_array_equal(ds.read("ms", 2), data["ms"][2])                  # one sample: (C, h, w)
        np.testing.assert_array_equal(ds.read("gt", slice(1, 4)), data["gt"][1:4])
        idx = [4, 0, 4, 2]                                                             # unsorted, repeated
        np.testing.assert_array_equal(ds.read("pan", idx), data["pan"][idx])
        np.testing.assert_array_equal(ds.read("lms", -1), data["lms"][-1])
        assert ds.read("ms").shape == (N, L, h, h)
        s = ds.sample(3)
        assert set(s) == {"ms", "lms", "pan", "gt"} and s["pan"].shape == (1, H, H)
        assert ds.max_value() == max(data["ms"].max(), data["pan"].max())
        assert ds.describe()["shapes"]["gt"] == [N, L, H, H]
        with pytest.raises(InputError, match="out of range"):
            ds.read("ms", N)
        with pytest.raises(ParameterError, match="dataset must be one of"):
            ds.read("foo", 0)


def test_reader_scale_dtype_and_optional_datasets(tmp_path):
    from hysupp.fusion.pansharpening.common import expand
    from hysupp.io.pancollection import PanCollection

    path = tmp_path / "full.h5"
    data = write(path, with_gt=False, with_lms=False)
    with PanCollection(path, scale=2047, dtype=np.float32) as ds:
        assert not ds.has_gt and not ds.has_lms
        ms = ds.read("ms", 1)
        assert ms.dtype == np.float32
        np.testing.assert_allclose(ms, data["ms"][1] / 2047, rtol=1e-6)
        # a missing lms is the toolbox's 23-tap interpolation of ms
        np.testing.assert_allclose(ds.read("lms", 1), expand(data["ms"][1] / 2047, R), rtol=1e-5, atol=1e-3)
        assert ds.read("lms", [0, 2]).shape == (2, L, H, H)
        assert ds.sample(0)["gt"] is None
        with pytest.raises(InputError, match="full.h5.*no dataset 'gt'"):
            ds.read("gt", 0)
    with pytest.raises(ParameterError, match="positive finite"):
        PanCollection(path, scale=0)


def test_reader_integer_storage(tmp_path):
    from hysupp.io.pancollection import PanCollection

    path = tmp_path / "uint16.h5"
    data = write(path, **{k: v.astype(np.uint16) for k, v in
                          {"ms": np.full((N, L, h, h), 2047), "pan": np.full((N, 1, H, H), 1023)}.items()})
    with PanCollection(path, scale=2047) as ds:
        assert ds.read("ms", 0).dtype == np.float64 and np.all(ds.read("ms", [1, 2]) == 1.0)
        assert ds.read("pan", 0)[0, 0, 0] == pytest.approx(1023 / 2047)
    assert data["ms"].dtype == np.uint16


def test_reader_is_lazy(tmp_path):
    """A 100000-sample file that is never allocated on disk: opening and reading one sample is instant."""
    from hysupp.io.pancollection import PanCollection

    path = tmp_path / "big.h5"
    n = 100_000
    with h5py.File(path, "w") as f:
        f.create_dataset("ms", (n, 8, 16, 16), dtype="f8", chunks=(1, 8, 16, 16))
        f.create_dataset("pan", (n, 1, 64, 64), dtype="f8", chunks=(1, 1, 64, 64))
        f.create_dataset("gt", (n, 8, 64, 64), dtype="f8", chunks=(1, 8, 64, 64))
        f["ms"][7] = 1.0
    assert os.path.getsize(path) < 10 * 2 ** 20                                         # 28 GB logical
    with PanCollection(path) as ds:
        assert len(ds) == n and ds.ratio == 4
        assert ds.read("ms", 7).max() == 1.0 and ds.read("ms", [9, 7]).shape == (2, 8, 16, 16)


@pytest.mark.parametrize("override, match", [
    ({"pan": None}, "no dataset 'pan'"),
    ({"ms": np.zeros((N, L, h))}, "dataset 'ms' has 3 dimensions"),
    ({"gt": np.zeros((N - 1, L, H, H))}, "dataset 'gt' holds 4 samples but 'ms' holds 5"),
    ({"lms": np.zeros((N, L + 1, H, H))}, "dataset 'lms' has 4 bands but 'ms' has 3"),
    ({"pan": np.zeros((N, 2, H, H))}, "dataset 'pan' has 2 bands"),
    ({"pan": np.zeros((N, H, H, 1))}, "dataset 'pan' has 32 bands.*looks N x H x W x C"),
    ({"gt": np.zeros((N, L, H, H + 4))}, "dataset 'gt' is 32 x 36 pixels"),
    ({"pan": np.zeros((N, 1, h, h)), "lms": np.zeros((N, L, h, h)), "gt": np.zeros((N, L, h, h))},
     "dataset 'pan' is not larger than 'ms'"),
    ({"pan": np.zeros((N, 1, 30, 30))}, "dataset 'pan' is 30 x 30 pixels.*ratio 3 inferred"),
])
def test_reader_errors_name_file_and_dataset(tmp_path, override, match):
    from hysupp.io.pancollection import PanCollection

    path = tmp_path / "bad.h5"
    write(path, **override)
    with pytest.raises(InputError, match=match) as err:
        PanCollection(path)
    assert "bad.h5" in str(err.value)


def test_reader_ratio_and_file_errors(h5file, tmp_path):
    from hysupp.io.pancollection import PanCollection

    path, _ = h5file
    with pytest.raises(InputError, match="dataset 'pan' is 32 x 32 pixels.*ratio 2 given.*16 x 16"):
        PanCollection(path, ratio=2)
    assert PanCollection(path, ratio=4).ratio == 4
    with pytest.raises(InputError, match="not found"):
        PanCollection(tmp_path / "nope.h5")
    (tmp_path / "text.h5").write_text("not hdf5")
    with pytest.raises(InputError, match="text.h5.*not a readable HDF5"):
        PanCollection(tmp_path / "text.h5")


# ---------------------------------------------------------------------------------------------- sampler
@pytest.mark.parametrize("cache_mb", [512.0, 0.0])
def test_sampler_crops_are_aligned_and_deterministic(h5file, cache_mb):
    from hysupp.io.pancollection import PanCollection
    from hysupp.nn.dataset_training import DatasetSampler

    path, _ = h5file
    with PanCollection(path) as ds:
        s = DatasetSampler(ds, 16, seed=3, cache_mb=cache_mb, dtype=torch.float64)
        assert (s.cache is not None) == (cache_mb > 0)
        assert s.n_tiles() == N * 4
        b = s.sample(6)
        assert b["gt"].shape == (6, L, 16, 16) and b["pan"].shape == (6, 1, 16, 16) and b["ms"].shape == (6, L, 4, 4)
        gt, ms, pan = b["gt"].numpy(), b["ms"].numpy(), b["pan"].numpy()
        np.testing.assert_array_equal(ms, gt[:, :, ::R, ::R])                   # MS crop under the PAN crop
        np.testing.assert_array_equal(gt[:, 0] // 100000, pan[:, 0] // 100000)    # same sample everywhere
        np.testing.assert_array_equal(b["lms"].numpy(), gt)
        assert np.all(gt[:, :, 0, 0] % 100 % R == 0)                              # corner on the MS grid
        again = DatasetSampler(ds, 16, seed=3, cache_mb=512.0, dtype=torch.float64).sample(6)
        np.testing.assert_array_equal(again["gt"].numpy(), gt)
        sub = DatasetSampler(ds, 16, seed=0, indices=[1, 3], dtype=torch.float64).sample(20)
        assert set(np.unique(sub["gt"].numpy()[:, 0, 0, 0] // 100000)) <= {1, 3}
        odd = DatasetSampler(ds, 18, seed=0).sample(2)
        assert odd["ms"] is None and odd["gt"].shape == (2, L, 18, 18)
        with pytest.raises(ParameterError, match="patch size must be in"):
            DatasetSampler(ds, 40)
        with pytest.raises(ParameterError, match="indices must be in"):
            DatasetSampler(ds, 16, indices=[N])



# ---------------------------------------------------------------------------------------------- training
@pytest.fixture()
def smooth_h5(tmp_path):
    """A learnable set: gt smooth random images, ms their 4 x 4 block means, lms nearest upsampling, pan the
    band mean; values in DN (0..2047)."""
    from scipy.ndimage import gaussian_filter

    rng = np.random.default_rng(0)
    gt = np.stack([np.stack([gaussian_filter(rng.random((H, H)), 2.0) for _ in range(L)]) for _ in range(4)])
    gt = 2047 * (gt - gt.min()) / np.ptp(gt)
    ms = gt.reshape(4, L, h, R, h, R).mean(axis=(3, 5))
    lms = np.repeat(np.repeat(ms, R, axis=2), R, axis=3)
    path = tmp_path / "smooth.h5"
    write(path, ms=ms, lms=lms, gt=gt, pan=gt.mean(axis=1, keepdims=True))
    return path


def dicnn(**kw):
    from hysupp.fusion.pansharpening.nets import DiCNN

    return DiCNN(**{"iterations": 4, "batch_size": 2, "patch_size": 16, "device": "cpu", "history_every": 1, **kw})


def test_train_on_dataset_checkpoint_and_determinism(smooth_h5, tmp_path):
    from hysupp.io.pancollection import PanCollection
    from hysupp.nn.dataset_training import train_on_dataset
    from hysupp.nn.fusion_training import Checkpoint

    with PanCollection(smooth_h5, scale=2047) as ds:
        ck = train_on_dataset(dicnn(), ds, sensor="WV3")
        ck2 = train_on_dataset(dicnn(), ds, sensor="WV3")
    assert ck.normalisation == {"kind": "dataset", "scale": 2047.0}
    assert ck.protocol["name"] == "pancollection-h5" and ck.protocol["n_samples"] == 4 and ck.protocol["ratio"] == R
    assert ck.protocol["sensor"] == "WV3" and ck.protocol["interpolation"] == "file lms"
    assert ck.training["iterations"] == 4 and len(ck.training["loss"]) == 4
    for k in ck.state_dict:
        assert torch.equal(ck.state_dict[k], ck2.state_dict[k])                 # deterministic on CPU
    ck.save(tmp_path / "m.pt")
    back = Checkpoint.load(tmp_path / "m.pt", method="DiCNN", n_bands=L, ratio=R)
    assert all(torch.equal(back.state_dict[k], v) for k, v in ck.state_dict.items())
    with PanCollection(smooth_h5) as ds:                                    # no scale: the file's maximum
        ck3 = train_on_dataset(dicnn(epochs=2), ds)
    with h5py.File(smooth_h5) as f:
        assert ck3.normalisation["scale"] == max(f["ms"][:].max(), f["pan"][:].max())
    assert ck3.training["iterations"] == 2 * 8                              # 2 epochs x ceil(4 x 4 tiles / 2)


def test_training_loss_decreases_and_fuse_with_the_weights(smooth_h5, tmp_path):
    from hysupp.io.pancollection import PanCollection
    from hysupp.nn.dataset_training import train_on_dataset

    with PanCollection(smooth_h5, scale=2047) as ds:
        ck = train_on_dataset(dicnn(iterations=300, batch_size=4, lr=3e-3), ds)
        sample = ds.sample(0)
    loss = ck.training["loss"]
    assert np.mean(loss[-20:]) < 0.5 * np.mean(loss[:20])
    ck.save(tmp_path / "m.pt")
    fused = dicnn(weights=str(tmp_path / "m.pt")).fuse(sample["ms"] * 2047, sample["pan"][0] * 2047, ratio=R).fused
    assert fused.shape == (L, H, H)
    assert abs(fused.mean() - 2047 * sample["gt"].mean()) < 0.2 * 2047 * sample["gt"].mean()   # same units


def test_train_on_dataset_refusals(smooth_h5, tmp_path):
    from hysupp.fusion.pansharpening.nets import ZPNN
    from hysupp.io.pancollection import PanCollection
    from hysupp.methods.registry import get_method
    from hysupp.nn.dataset_training import train_on_dataset

    with PanCollection(smooth_h5) as ds:
        with pytest.raises(InputError, match="zero-shot"):
            train_on_dataset(ZPNN(iterations=1, device="cpu"), ds)
        with pytest.raises(InputError, match="not a pansharpening network"):
            train_on_dataset(get_method("GSA")(), ds)
    full = tmp_path / "full.h5"
    write(full, with_gt=False)
    with PanCollection(full) as ds, pytest.raises(InputError, match="full.h5.*no 'gt'"):
        train_on_dataset(dicnn(), ds)
    three = tmp_path / "r3.h5"
    with h5py.File(three, "w") as f:
        f["ms"], f["pan"] = np.ones((2, L, 4, 4)), np.ones((2, 1, 12, 12))
        f["gt"], f["lms"] = np.ones((2, L, 12, 12)), np.ones((2, L, 12, 12))
    with PanCollection(three) as ds:              # any integer ratio trains (issue 19)
        ck = train_on_dataset(dicnn(patch_size=12, iterations=1), ds)
        assert ck.protocol["ratio"] == 3


# ---------------------------------------------------------------------------------------------- CLI
def test_cli_train_h5_then_fuse(smooth_h5, tmp_path):
    from hysupp.cli import main

    model = tmp_path / "m.pt"
    args = ["train", "DiCNN", "--h5", str(smooth_h5), "--h5-scale", "2047", "--h5-samples", "1:3", "--iterations",
            "2", "--param", "batch_size=2", "--param", "patch_size=16", "--param", "device=cpu", "--sensor", "WV3",
            "--out", str(model), "--json"]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout)
    assert summary["iterations"] == 2 and summary["protocol"]["name"] == "pancollection-h5"
    assert summary["protocol"]["n_samples"] == 2 and summary["protocol"]["sensor"] == "WV3"
    plain = CliRunner().invoke(main, args[:-1] + ["--overwrite"])
    assert plain.exit_code == 0 and "2 samples of" in plain.output
    with h5py.File(smooth_h5) as f:
        np.save(tmp_path / "ms.npy", f["ms"][0])
        np.save(tmp_path / "pan.npy", f["pan"][0, 0])
    fused = CliRunner().invoke(main, ["fuse", "--method", "DiCNN", "--weights", str(model), "--ms",
                                      str(tmp_path / "ms.npy"), "--pan", str(tmp_path / "pan.npy"), "--ratio", "4",
                                      "--param", "device=cpu", "--out", str(tmp_path / "fr"), "--json"])
    assert fused.exit_code == 0, fused.output
    assert json.loads(fused.stdout)["info"]["trained_on_scene"] is False
    both = CliRunner().invoke(main, ["train", "DiCNN", "--h5", str(smooth_h5), "--ms", str(tmp_path / "ms.npy"),
                                     "--out", str(tmp_path / "x.pt")])
    assert both.exit_code == 2 and "do not also pass" in both.output
    bad = CliRunner().invoke(main, ["train", "DiCNN", "--h5", str(smooth_h5), "--h5-samples", "3", "--out",
                                    str(tmp_path / "y.pt")])
    assert bad.exit_code == 2 and "START:STOP" in bad.output
    empty = CliRunner().invoke(main, ["train", "DiCNN", "--h5", str(smooth_h5), "--h5-samples", "3:3", "--out",
                                      str(tmp_path / "y.pt")])
    assert empty.exit_code == 2 and "selects no sample" in empty.output
    missing = CliRunner().invoke(main, ["train", "DiCNN", "--h5", str(tmp_path / "none.h5"), "--out",
                                        str(tmp_path / "y.pt")])
    assert missing.exit_code == 2 and "not found" in missing.output
