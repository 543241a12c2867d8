"""Atomic outputs (issue 10): a failure injected in the middle of every writer leaves no partial
file, no temporary file and no modified pre-existing file; nothing is replaced without overwrite."""

from __future__ import annotations

import builtins
import json
import pathlib

import numpy as np
import pytest

import hysupp
from hysupp.api import write_run
from hysupp.errors import OutputExistsError
from hysupp.io import save, save_spectra_csv
from hysupp.scene import Scene

RNG = np.random.default_rng(1)
CUBE = (0.05 + RNG.random((4, 5, 6))).astype(np.float32)
E3 = (0.05 + RNG.random((4, 3))).astype(np.float32)
REAL_OPEN = builtins.open


class Injected(OSError):
    """The failure injected in the middle of a write."""


def _write_partial(target) -> None:
    if hasattr(target, "write"):
        target.write(b"partial")
    else:
        with REAL_OPEN(target, "wb") as fh:
            fh.write(b"partial")


def _fail(*args, **kwargs):
    """Stands in for a low-level writer: writes a few bytes to its file argument, then fails."""
    target = next((a for a in args if hasattr(a, "write") or isinstance(a, (str, pathlib.PurePath))), None)
    if target is not None:
        _write_partial(target)
    raise Injected("injected failure: disk full")


def _fail_open(file, mode="r", *args, **kwargs):
    if "w" in mode:
        _write_partial(file)
        raise Injected("injected failure: disk full")
    return REAL_OPEN(file, mode, *args, **kwargs)


def _fail_write_text(self, data, *args, **kwargs):
    with REAL_OPEN(self, "w") as fh:
        fh.write(data[: len(data) // 2])
    raise Injected("injected failure: disk full")


def _fail_savefig(self, fname, *args, **kwargs):
    _write_partial(fname)
    raise Injected("injected failure: disk full")


def _patches(kind):
    import matplotlib.figure
    import numpy.lib.format
    import rasterio
    import scipy.io

    import hysupp.io.spectra_csv

    return {"npy": [(numpy.lib.format, "write_array", _fail)],
            "npz": [(numpy.lib.format, "write_array", _fail)],
            "mat": [(scipy.io, "savemat", _fail)],
            "tif": [(rasterio, "open", _fail)],
            "csv": [(hysupp.io.spectra_csv, "open", _fail_open)],
            "png": [(matplotlib.figure.Figure, "savefig", _fail_savefig)],
            "text": [(pathlib.Path, "write_text", _fail_write_text)]}[kind]


def _inject(monkeypatch, kind):
    for obj, name, fake in _patches(kind):
        monkeypatch.setattr(obj, name, fake, raising=False)


def _snapshot(folder: pathlib.Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): (p.read_bytes() if p.is_file() else b"<dir>")
            for p in sorted(folder.rglob("*"))}


def _figure():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.plot([0, 1])
    return fig


def _writers():
    from hysupp.simulate import wald_pansharpening_pair
    from hysupp.io.pair import save_fusion_pair
    from hysupp.viz import save_figure

    scene = Scene(cube=CUBE, wavelengths=np.linspace(400, 700, 4), name="s")
    pair = wald_pansharpening_pair(np.ones((4, 8, 8)), np.ones((32, 32)), 4, "QB")
    return [
        ("a.npy", "npy", lambda p, ow: save(CUBE, p, overwrite=ow)),
        ("a.npz", "npz", lambda p, ow: save(scene, p, overwrite=ow)),
        ("a.mat", "mat", lambda p, ow: save(scene, p, overwrite=ow)),
        ("a.tif", "tif", lambda p, ow: save(scene, p, overwrite=ow)),
        ("a.csv", "csv", lambda p, ow: save_spectra_csv(p, E3, ["a", "b", "c"], overwrite=ow)),
        ("a.png", "png", lambda p, ow: save_figure(_figure(), p, overwrite=ow)),
        ("pair.npz", "npz", lambda p, ow: save_fusion_pair(pair, p, overwrite=ow)),
        ("pair.mat", "mat", lambda p, ow: save_fusion_pair(pair, p, overwrite=ow)),
    ]


WRITERS = [("a.npy", "npy"), ("a.npz", "npz"), ("a.mat", "mat"), ("a.tif", "tif"), ("a.csv", "csv"),
           ("a.png", "png"), ("pair.npz", "npz"), ("pair.mat", "mat")]


@pytest.mark.parametrize("name, kind", WRITERS)
def test_failure_mid_write_leaves_nothing(tmp_path, monkeypatch, name, kind):
    write = {n: w for n, _, w in _writers()}[name]
    (tmp_path / "other.txt").write_text("unrelated")
    before = _snapshot(tmp_path)
    _inject(monkeypatch, kind)
    with pytest.raises(Injected):
        write(tmp_path / name, False)
    assert _snapshot(tmp_path) == before            # no partial target, no temporary file


@pytest.mark.parametrize("name, kind", WRITERS)
def test_failure_mid_overwrite_keeps_the_old_file(tmp_path, monkeypatch, name, kind):
    write = {n: w for n, _, w in _writers()}[name]
    write(tmp_path / name, False)                   # a complete, valid file
    before = _snapshot(tmp_path)
    with pytest.raises(OutputExistsError, match="exists"):
        write(tmp_path / name, False)               # never replaced without overwrite
    _inject(monkeypatch, kind)
    with pytest.raises(Injected):
        write(tmp_path / name, True)
    assert _snapshot(tmp_path) == before


@pytest.fixture(scope="module")
def run():
    return hysupp.unmix(CUBE, "FCLS", endmembers=E3)


@pytest.mark.parametrize("kind", ["npz", "mat", "csv", "png", "text"])
def test_write_run_failure_keeps_old_folder(tmp_path, monkeypatch, run, kind):
    out = tmp_path / "out"
    write_run(run, out)
    before = _snapshot(tmp_path)
    _inject(monkeypatch, kind)
    with pytest.raises(Injected):
        write_run(run, out, overwrite=True)
    assert _snapshot(tmp_path) == before
    with pytest.raises(Injected):
        write_run(run, tmp_path / "new")
    assert _snapshot(tmp_path) == before            # no half-written new folder either


def test_write_fusion_run_failure_and_no_overwrite(tmp_path, monkeypatch):
    from hysupp.api import fuse, write_fusion_run

    rng = np.random.default_rng(0)
    frun = fuse(method="BT", ms=100 + rng.random((3, 8, 8)), pan=100 + rng.random((32, 32)), ratio=4)
    out = tmp_path / "f"
    write_fusion_run(frun, out)
    before = _snapshot(tmp_path)
    with pytest.raises(OutputExistsError, match="exists and is not empty"):
        write_fusion_run(frun, out)
    _inject(monkeypatch, "tif")
    with pytest.raises(Injected):
        write_fusion_run(frun, out, overwrite=True)
    assert _snapshot(tmp_path) == before


def test_bench_record_and_suite_files_are_atomic(tmp_path, monkeypatch):
    from hysupp.bench.runner import RECORDS_DIR, write_record

    (tmp_path / RECORDS_DIR).mkdir()
    record = {"bench": {"run_id": "abc"}, "metrics": {"x": 1.0}}
    target = write_record(tmp_path, record)
    assert json.loads(target.read_text()) == record
    before = _snapshot(tmp_path)
    _inject(monkeypatch, "text")
    with pytest.raises(Injected):
        write_record(tmp_path, {"bench": {"run_id": "abc"}, "metrics": {"x": 2.0}})
    with pytest.raises(Injected):
        write_record(tmp_path, {"bench": {"run_id": "new"}})
    assert _snapshot(tmp_path) == before and sorted(p.name for p in (tmp_path / RECORDS_DIR).iterdir()) == ["abc.json"]


def test_cli_simulate_failure_leaves_nothing(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from hysupp.cli import main

    _inject(monkeypatch, "mat")
    res = CliRunner().invoke(main, ["simulate", "dirichlet", "--param", "height=4", "--param", "width=4",
                                    "--out", str(tmp_path / "s.mat")])
    assert isinstance(res.exception, Injected)
    assert list(tmp_path.iterdir()) == []
