"""The run layer (hysupp.runs): one record and output layer, and the output check made before any
computation for every command (``hysupp run/fuse/sr/train`` and the tiled runs)."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from click.testing import CliRunner

import hysupp
from hysupp.cli import main
from hysupp.errors import OutputExistsError
from hysupp.methods.registry import get_method
from hysupp.records import timestamp
from hysupp.runs.record import check_output, default_output_dir, method_block, output_folder, run_record


class Computed(Exception):
    """Raised by a method (or reader) that must not run."""


def boom(*args, **kwargs):
    raise Computed("computation started although the output exists")


def _existing_folder(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("old")
    return out


def _unchanged(out):
    return sorted(p.name for p in out.iterdir()) == ["keep.txt"] and (out / "keep.txt").read_text() == "old"


@pytest.fixture()
def pair_files(tmp_path):
    rng = np.random.default_rng(0)
    np.save(tmp_path / "ms.npy", 100 + 10 * rng.random((4, 16, 16)))
    np.save(tmp_path / "pan.npy", 100 + 10 * rng.random((64, 64)))
    return ["--ms", str(tmp_path / "ms.npy"), "--pan", str(tmp_path / "pan.npy"), "--ratio", "4"]


@pytest.fixture()
def raster_pair(tmp_path):
    pytest.importorskip("dask.array")
    from hysupp.io.geotiff import save_geotiff

    rng = np.random.default_rng(1)
    save_geotiff(tmp_path / "ms.tif", rng.random((3, 32, 32)).astype(np.float32))
    save_geotiff(tmp_path / "pan.tif", rng.random((128, 128)).astype(np.float32))
    return tmp_path / "ms.tif", tmp_path / "pan.tif"


# ---------------------------------------------------------------------------------------------- record layer
def test_one_timestamp_in_two_forms():
    stamp = timestamp("2024-03-01T13:34:56.789+01:00")
    assert (stamp.iso, stamp.folder) == ("2024-03-01T12:34:56+00:00", "20240301T123456Z")
    now = timestamp()
    assert timestamp(now.iso) == now and re.fullmatch(r"\d{8}T\d{6}Z", now.folder)


def test_default_output_dir_is_new_and_carries_the_record_time(tmp_path):
    created = "2024-03-01T12:34:56+00:00"
    first = default_output_dir("dc1-FCLS", tmp_path, created=created)
    assert first == tmp_path / "dc1-FCLS-20240301T123456Z" and not first.exists()
    first.mkdir()
    assert default_output_dir("dc1-FCLS", tmp_path, created=created).name == "dc1-FCLS-20240301T123456Z-2"


def test_check_output(tmp_path):
    assert check_output(None) is None
    assert check_output(tmp_path / "new") == tmp_path / "new"
    empty = tmp_path / "empty"
    empty.mkdir()
    assert check_output(empty) == empty                     # an empty folder is reused
    full = _existing_folder(tmp_path)
    with pytest.raises(OutputExistsError, match="exists and is not empty"):
        check_output(full)
    with pytest.raises(OutputExistsError, match="not a hysupp run folder"):   # --overwrite never deletes user files
        check_output(full, overwrite=True)
    with output_folder(tmp_path / "run") as tmp:
        (tmp / "run.json").write_text("{}")
    assert check_output(tmp_path / "run", overwrite=True) == tmp_path / "run"
    (tmp_path / "model.pt").write_bytes(b"x")
    with pytest.raises(OutputExistsError, match="exists"):
        check_output(tmp_path / "model.pt", kind="file")
    with pytest.raises(OutputExistsError, match="is a folder"):
        check_output(full, kind="file", overwrite=True)


def test_run_record_layout():
    cls = get_method("FCLS")
    rec = run_record(method=method_block(cls, {"a": np.float32(1.5)}, per_tile="FCLS"), input={"path": None},
                     timings_s={"unmix": 0.1})
    assert list(rec) == ["record_version", "created", "method", "input", "timings_s", "environment"]
    assert rec["method"] == {"name": "FCLS", "task": "supervised", "params": {"a": 1.5}, "reference": cls.reference,
                             "per_tile": "FCLS"}
    assert list(method_block(cls)) == ["name", "task", "reference"]


def test_record_sections_of_each_run():
    """The sections (and their order) every kind of run records: reports and the bench read them."""
    from hysupp.datasets import builtin_scene

    rng = np.random.default_rng(0)
    un = hysupp.unmix(builtin_scene("dc1"), "FCLS", endmembers="truth")
    assert list(un.record) == ["record_version", "created", "method", "extractor", "input", "protocol", "timings_s",
                               "info", "metrics", "warnings", "environment"]
    assert list(un.record["input"]) == ["path", "sha256", "name", "layout", "shape", "valid_pixels", "units",
                                       "notes"]
    fu = hysupp.fuse(method="BT", ms=100 + rng.random((3, 8, 8)), pan=100 + rng.random((32, 32)), ratio=4)
    assert list(fu.record) == ["record_version", "created", "method", "input", "protocol", "physics", "timings_s",
                               "info", "metrics", "range_check", "warnings", "environment"]
    assert set(fu.record["input"]) == {"path", "pan_path", "sha256", "low_shape", "high_shape"}
    sr = hysupp.super_resolve(rng.random((2, 16, 16)), "Bicubic", ratio=2)
    assert list(sr.record) == [k for k in fu.record if k not in ("physics", "range_check")]
    assert list(sr.record["input"]) == ["path", "sha256", "shape", "super_resolved_shape", "notes"]


# ---------------------------------------------------------------------------------------------- checked first
def test_run_checks_the_output_before_unmixing(tmp_path, monkeypatch):
    out = _existing_folder(tmp_path)
    monkeypatch.setattr(get_method("FCLS"), "unmix", boom)
    monkeypatch.setattr(get_method("VCA"), "extract", boom)
    res = CliRunner().invoke(main, ["run", "--out", str(out)])
    assert res.exit_code == 2 and "exists and is not empty" in res.output, res.output
    assert _unchanged(out)
    res = CliRunner().invoke(main, ["run", "--out", str(out), "--overwrite"])
    assert res.exit_code == 2 and "not a hysupp run folder" in res.output   # never replaces a user's folder
    assert _unchanged(out)
    run_folder = tmp_path / "previous-run"
    with output_folder(run_folder) as tmp:
        (tmp / "run.json").write_text("{}")
    res = CliRunner().invoke(main, ["run", "--out", str(run_folder), "--overwrite"])
    assert isinstance(res.exception, Computed)              # with --overwrite of a hysupp run it does compute


def test_fuse_checks_the_output_before_fusing(tmp_path, monkeypatch, pair_files):
    out = _existing_folder(tmp_path)
    monkeypatch.setattr(get_method("MTF-GLP"), "fuse", boom)
    res = CliRunner().invoke(main, ["fuse", *pair_files, "--out", str(out)])
    assert res.exit_code == 2 and "exists and is not empty" in res.output, res.output
    assert _unchanged(out)


def test_sr_checks_the_folder_and_the_weights_before_computing(tmp_path, monkeypatch):
    np.save(tmp_path / "cube.npy", np.random.default_rng(2).random((2, 16, 16)))
    out = _existing_folder(tmp_path)
    monkeypatch.setattr(get_method("Bicubic"), "super_resolve", boom)
    res = CliRunner().invoke(main, ["sr", "--data", str(tmp_path / "cube.npy"), "--ratio", "2", "--out", str(out)])
    assert res.exit_code == 2 and "exists and is not empty" in res.output, res.output
    assert _unchanged(out)
    (tmp_path / "m.pt").write_bytes(b"old")
    srcnn = get_method("SRCNN")
    monkeypatch.setattr(srcnn, "train", boom)
    with pytest.raises(OutputExistsError, match="m.pt"):
        hysupp.super_resolve(tmp_path / "cube.npy", "SRCNN", ratio=2, save_weights=tmp_path / "m.pt")
    assert (tmp_path / "m.pt").read_bytes() == b"old"


def test_train_checks_the_checkpoint_before_training(tmp_path, monkeypatch, pair_files):
    (tmp_path / "model.pt").write_bytes(b"old")
    monkeypatch.setattr(get_method("PNN"), "train", boom)
    res = CliRunner().invoke(main, ["train", "PNN", *pair_files, "--out", str(tmp_path / "model.pt")])
    assert res.exit_code == 2 and "exists" in res.output, res.output
    with pytest.raises(OutputExistsError):
        hysupp.train("PNN", ms=np.ones((4, 16, 16)), pan=np.ones((64, 64)), ratio=4, out=tmp_path / "model.pt")
    assert (tmp_path / "model.pt").read_bytes() == b"old"


def test_tiled_runs_check_the_output_before_reading(tmp_path, monkeypatch, raster_pair):
    import hysupp.runs.fuse_tiled as fuse_tiled_module
    import hysupp.runs.unmix_tiled as unmix_tiled_module

    ms, pan = raster_pair
    monkeypatch.setattr(unmix_tiled_module, "open_raster", boom)
    monkeypatch.setattr(fuse_tiled_module, "open_raster", boom)
    monkeypatch.setattr(fuse_tiled_module, "tiled_fusion", boom)
    out = _existing_folder(tmp_path)
    res = CliRunner().invoke(main, ["run", "--data", str(ms), "--p", "2", "--tile", "16", "--out", str(out)])
    assert res.exit_code == 2 and "exists and is not empty" in res.output, res.output
    res = CliRunner().invoke(main, ["fuse", "--ms", str(ms), "--pan", str(pan), "--tile", "64", "--out", str(out)])
    assert res.exit_code == 2 and "exists and is not empty" in res.output, res.output
    assert _unchanged(out)
    (tmp_path / "cog.tif").write_bytes(b"old")
    with pytest.raises(OutputExistsError):
        hysupp.unmix_tiled(ms, "VCA", p=2, tile=16, out=tmp_path / "cog.tif")
    with pytest.raises(OutputExistsError):
        hysupp.fuse_tiled(ms, pan, "GS", tile=64, out=tmp_path / "cog.tif")
    assert (tmp_path / "cog.tif").read_bytes() == b"old"


# ---------------------------------------------------------------------------------------------- one call per command
def test_train_api_returns_the_checkpoint_and_where_it_went(tmp_path, pair_files):
    from hysupp.nn.fusion_training import Checkpoint

    rng = np.random.default_rng(3)
    ms, pan = rng.random((4, 24, 24)), rng.random((96, 96))
    run = hysupp.train("PNN", ms=ms, pan=pan, ratio=4, iterations=2, out=tmp_path / "pnn.pt",
                       params={"batch_size": 2, "patch_size": 20, "device": "cpu"})
    assert run.path == tmp_path / "pnn.pt" and run.summary()["out"] == str(run.path)
    back = Checkpoint.load(run.path, method="PNN", n_bands=4, ratio=4)
    assert back.training["data"]["low_shape"] == [4, 24, 24] and back.training["data"]["sha256"] is None
    assert all(np.array_equal(back.state_dict[k].numpy(), v.numpy()) for k, v in run.checkpoint.state_dict.items())


def test_tiled_folders_match_the_cli(tmp_path, raster_pair):
    ms, pan = raster_pair
    run = hysupp.api.fuse_tiled_to_folder(ms, pan, "GS", tmp_path / "f", tile=64)
    rec = json.loads((tmp_path / "f" / "run.json").read_text())
    assert run.path == tmp_path / "f" / "fused.tif" and rec["output"] == str(run.path) and run.path.is_file()
    assert rec["protocol"]["mode"] == "tiled" and rec["protocol"]["ratio"] == 4
    un = hysupp.api.unmix_tiled_to_folder(ms, "VCA", tmp_path / "u", p=2, tile=16, n_sample=100)
    assert sorted(p.name for p in (tmp_path / "u").iterdir()) == [".hysupp-run", "abundances.tif", "endmembers.csv",
                                                                  "run.json"]
    assert json.loads((tmp_path / "u" / "run.json").read_text())["output"] == str(un.path)
