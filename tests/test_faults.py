"""The faults of issue 18: each one is a specific error (exit code 2, one line) or a specific
warning, never a traceback, a deleted user file or a leftover temporary folder."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from click.testing import CliRunner

import hysupp
from hysupp.cli import main
from hysupp.errors import InputError, ParameterError


def cli(*args, **kwargs):
    return CliRunner().invoke(main, [str(a) for a in args], **kwargs)


def one_line_error(res, fragment: str) -> None:
    """Exit code 2, the fragment in the message, no traceback."""
    assert res.exit_code == 2, (res.exit_code, res.output, res.exception)
    assert fragment in res.output, res.output
    assert "Traceback" not in res.output


@pytest.fixture()
def small_tif(tmp_path):
    path = tmp_path / "scene.tif"
    res = cli("simulate", "dirichlet", "--param", "height=8", "--param", "width=8", "--param", "p=3", "--out", path)
    assert res.exit_code == 0, res.output
    return path


# ---------------------------------------------------------------------------------------------- --overwrite
def test_overwrite_never_deletes_user_files(tmp_path):
    user = tmp_path / "mine"
    user.mkdir()
    (user / "thesis.tex").write_text("precious")
    one_line_error(cli("run", "--out", user, "--overwrite"), "is not a hysupp run folder (no .hysupp-run marker)")
    assert sorted(p.name for p in user.iterdir()) == ["thesis.tex"]

    run = tmp_path / "run"
    assert cli("run", "--out", run).exit_code == 0
    marker = (run / ".hysupp-run").read_text()
    assert "run.json" in marker and "abundances.npz" in marker
    (run / "my-notes.txt").write_text("mine too")           # a file the user added to a hysupp folder
    one_line_error(cli("run", "--out", run, "--overwrite"), "holds files hysupp did not write (my-notes.txt)")
    assert (run / "my-notes.txt").read_text() == "mine too"
    (run / "my-notes.txt").unlink()
    assert cli("run", "--out", run, "--overwrite").exit_code == 0   # a pure hysupp run folder is replaced


def test_out_dot_overwrite_is_refused(tmp_path, monkeypatch):
    work = tmp_path / "work"
    work.mkdir()
    (work / "data.txt").write_text("keep")
    monkeypatch.chdir(work)
    one_line_error(cli("run", "--out", ".", "--overwrite"), "is the current directory")
    one_line_error(cli("run", "--out", "..", "--overwrite"), "is an ancestor of the current directory")
    assert sorted(p.name for p in work.iterdir()) == ["data.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["work"]    # no temporary folder left beside it


def test_symlink_loop_as_out(tmp_path):
    os.symlink(tmp_path / "b", tmp_path / "a")
    os.symlink(tmp_path / "a", tmp_path / "b")
    one_line_error(cli("run", "--out", tmp_path / "a"), "is a symbolic link that does not resolve (a link loop")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b"]
    target = tmp_path / "target"
    os.symlink(target, tmp_path / "link")
    target.mkdir()
    assert cli("run", "--out", tmp_path / "link").exit_code == 0      # a link to a folder is followed
    assert (target / "run.json").is_file() and (tmp_path / "link").is_symlink()


def test_output_is_checked_before_the_computation(tmp_path, monkeypatch):
    def boom(*args, **kwargs):
        raise AssertionError("computed")

    monkeypatch.setattr(hysupp.methods.registry.get_method("FCLS"), "_unmix", boom)
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "f").write_text("1")
    one_line_error(cli("run", "--out", tmp_path / "x"), "exists and is not empty")


# ---------------------------------------------------------------------------------------------- SIGTERM
SLOW_WRITER = """
import pathlib, sys, time
import hysupp.runs.unmix as unmix
write_json = unmix.write_json
out, flag = sys.argv[1:3]

def slow(path, value):
    write_json(path, value)
    pathlib.Path(flag).write_text("writing")
    time.sleep(120)

unmix.write_json = slow
from hysupp.cli import main
sys.argv = ["hysupp", "run", "--out", out]
main()
"""


def test_sigterm_during_the_write_phase_removes_the_temporary_folder(tmp_path):
    out, flag = tmp_path / "out", tmp_path / "flag"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-c", SLOW_WRITER, str(out), str(flag)], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not flag.exists():
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the run never reached its write phase"
            time.sleep(0.1)
        assert any(p.name.startswith(".out.") for p in tmp_path.iterdir())   # the temporary folder exists
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert "terminated (SIGTERM); temporary outputs removed" in err and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["flag"]   # no .out.xxxx/ left, no half-written out/


def test_sigterm_handler_is_restored():
    from hysupp.io.atomic import sigterm_cleans_up

    before = signal.getsignal(signal.SIGTERM)
    with sigterm_cleans_up():
        assert signal.getsignal(signal.SIGTERM) is not before
    assert signal.getsignal(signal.SIGTERM) is before


# ---------------------------------------------------------------------------------------------- seeds
@pytest.mark.parametrize("seed", ["-1", str(2 ** 70)])
def test_seed_out_of_range(seed):
    one_line_error(cli("run", "--seed", seed), "is not in the range 0<=x<=4294967295")
    one_line_error(cli("run", "-m", "CNNAEU", "--p", "3", "--seed", seed), "is not in the range 0<=x<=4294967295")


def test_api_seed_out_of_range_names_the_range():
    from hysupp.datasets import builtin_scene

    with pytest.raises(ParameterError, match=r"seed must be in 0 \.\. 4294967295 \(2\*\*32 - 1\), got -1"):
        hysupp.unmix(builtin_scene("dc1"), "FCLS", seed=-1)
    with pytest.raises(ParameterError, match=r"CNNAEU: parameter 'seed' must be in 0 \.\. 4294967295"):
        hysupp.unmix(builtin_scene("dc1"), "CNNAEU", p=5, params={"seed": 2 ** 70})


def test_the_seed_range_is_what_numpy_and_torch_accept():
    from hysupp.cli.common import SEED_MAX as CLI_MAX
    from hysupp.runs.inputs import SEED_MAX

    assert CLI_MAX == SEED_MAX == 2 ** 32 - 1
    np.random.RandomState(SEED_MAX)             # the legacy generator (CNNAEU) stops here
    np.random.default_rng(SEED_MAX)
    with pytest.raises(ValueError):
        np.random.RandomState(SEED_MAX + 1)
    torch = pytest.importorskip("torch")
    torch.manual_seed(SEED_MAX)


# ---------------------------------------------------------------------------------------------- typed options
def test_bench_snr_abc():
    one_line_error(cli("bench", "hysupp-blind", "--snr", "abc"),
                   "Invalid value for '--snr': 'abc' is not an SNR in dB (a number, or 'inf' for noise-free)")


def test_simulate_too_large_is_refused_before_allocating(tmp_path):
    res = cli("simulate", "dirichlet", "--param", "height=100000", "--param", "width=100000", "--out",
              tmp_path / "big.npz")
    one_line_error(res, "simulate dirichlet: a 100000 x 100000 scene of 224 bands needs at least")
    assert list(tmp_path.iterdir()) == []


def test_simulate_memory_error_becomes_a_clear_error(tmp_path, monkeypatch):
    from hysupp.simulate import get_recipe

    def no_memory(self):
        raise MemoryError("Unable to allocate 373. GiB")

    monkeypatch.setattr(get_recipe("grf"), "generate", no_memory)
    one_line_error(cli("simulate", "grf", "--out", tmp_path / "x.npz"), "simulate grf: not enough memory")


def test_tile_with_a_mat_file(tmp_path):
    path = tmp_path / "scene.mat"
    assert cli("simulate", "dirichlet", "--param", "height=8", "--param", "width=8", "--out", path).exit_code == 0
    one_line_error(cli("run", "--data", path, "--tile", "64", "--p", "3"),
                   "is a MATLAB file: tiled runs (--tile) read GeoTIFF or ENVI rasters window by window")
    with pytest.raises(InputError, match="is a MATLAB file"):
        hysupp.unmix_tiled(str(path), "VCA", p=3)


def test_unreachable_scheduler(small_tif, tmp_path, monkeypatch):
    pytest.importorskip("distributed")
    import socket

    import hysupp.runs.scheduling as scheduling

    monkeypatch.setattr(scheduling, "CONNECT_TIMEOUT_S", 1.0)
    with socket.socket() as s:     # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    t0 = time.monotonic()
    res = cli("run", "--data", small_tif, "--tile", "8", "--p", "3", "--scheduler", f"tcp://127.0.0.1:{port}",
              "--out", tmp_path / "o")
    one_line_error(res, f"cannot connect to the Dask scheduler 'tcp://127.0.0.1:{port}' within 1 s")
    assert time.monotonic() - t0 < 30 and not (tmp_path / "o").exists()


# ---------------------------------------------------------------------------------------------- names and streams
@pytest.mark.skipif(sys.getfilesystemencoding().lower() != "utf-8", reason="needs a UTF-8 file system encoding")
def test_non_utf8_data_name(small_tif, tmp_path):
    bad_tif = tmp_path / os.fsdecode(b"sc\xffne.tif")
    bad_tif.write_bytes(small_tif.read_bytes())
    one_line_error(cli("run", "--data", bad_tif, "--p", "3"), "is not valid UTF-8; GDAL/rasterio")
    with pytest.raises(InputError, match=r"sc\\\\xffne.tif' is not valid UTF-8"):
        hysupp.unmix(str(bad_tif), "FCLS", p=3)
    bad_npz = tmp_path / os.fsdecode(b"sc\xffne.npz")            # numpy reads it: the run works
    assert cli("simulate", "dirichlet", "--param", "height=6", "--param", "width=6", "--out", bad_npz).exit_code == 0
    res = cli("run", "--data", bad_npz, "--out", tmp_path / "o", "--json")
    assert res.exit_code == 0, res.output
    import json

    record = json.loads((tmp_path / "o" / "run.json").read_text())
    assert record["input"]["path"].endswith("sc\\xffne.npz")      # valid Unicode in the record
    (tmp_path / "o" / "run.json").read_text(encoding="utf-8").encode("utf-8")


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_stdout_on_a_full_device():
    with open("/dev/full", "w") as full:
        proc = subprocess.run([sys.executable, "-c", "from hysupp.cli import main; main()", "simulate"],
                              stdout=full, stderr=subprocess.PIPE, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip() == "Error: cannot write to standard output: No space left on device"


def test_spy_object_passed_to_the_api(shared_data):
    spectral = pytest.importorskip("spectral")
    img = spectral.open_image(str(shared_data / "envi_gamsberg" / "cubus_gamsberg_subset.hdr"))
    for obj in (img, img.load()):     # a SpyFile, and an ImageArray: an (H, W, L) ndarray, never read as (L, H, W)
        for call in (lambda: hysupp.unmix(obj, "FCLS", p=3), lambda: hysupp.super_resolve(obj, ratio=2),
                     lambda: hysupp.fuse(ms=obj, pan=np.ones((100, 40)), ratio=4),
                     lambda: hysupp.unmix_tiled(obj, "FCLS", p=3)):
            try:
                run = call()
            except InputError as exc:                     # a clear error naming what to pass instead
                assert "SPy image" in str(exc) or "spectral" in str(exc)
            else:                                          # or read by a reader that knows SPy objects
                assert getattr(run, "scene", None) is None or run.scene.n_bands == 189
