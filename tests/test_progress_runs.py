"""progress= on the runs (hysupp.runs.progress) and --progress/--no-progress on the CLI (issue 20)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest
from click.testing import CliRunner

import hysupp
from hysupp.cli import main
from hysupp.datasets import builtin_scene
from hysupp.errors import ParameterError
from hysupp.progress import current_callback, reporting, tracker


def _stages(events, task):
    return [e.info["stage"] for e in events if e.task == task and e.unit == "stage" and not e.done]


def test_unmix_reports_its_stages_then_the_solver_iterations_in_order():
    events = []
    run = hysupp.unmix(builtin_scene("dc1"), "FaSUn", params={"T": 40}, progress=events.append)
    assert run.method == "FaSUn"
    assert _stages(events, "FaSUn") == ["load", "unmix"]
    outer = [e for e in events if e.unit == "stage"]
    assert outer[-1].done and outer[-1] is events[-1] and all(e.depth == 0 for e in outer)
    solver = [e for e in events if e.unit == "iteration"]
    assert solver and all(e.task == "FaSUn" and e.depth == 1 and e.total == 40 for e in solver)
    steps = [e.step for e in solver]
    assert steps == sorted(steps) and steps[-1] == 40 and solver[-1].done
    # the iterations come after the "unmix" stage began and before the run's tracker closed
    k_unmix = next(i for i, e in enumerate(events) if e.info.get("stage") == "unmix")
    assert events.index(solver[0]) > k_unmix
    assert current_callback() is None        # restored after the run


def test_runs_are_silent_by_default_and_draw_bars_on_stderr_with_true(capsys):
    hysupp.unmix(builtin_scene("dc1"), "FCLS", endmembers="truth")
    quiet = capsys.readouterr()
    assert quiet.out == "" and quiet.err == ""
    pytest.importorskip("tqdm")
    hysupp.unmix(builtin_scene("dc1"), "FCLS", endmembers="truth", progress=True)
    shown = capsys.readouterr()
    assert shown.out == ""
    assert "FCLS: load" in shown.err and "unmix" in shown.err


def test_none_inherits_the_outer_callback_and_false_silences_it():
    events = []
    with reporting(events.append):
        hysupp.unmix(builtin_scene("dc1"), "FCLS", endmembers="truth")
        n_inherited = len(events)
        hysupp.unmix(builtin_scene("dc1"), "FCLS", endmembers="truth", progress=False)
    assert n_inherited > 0 and len(events) == n_inherited
    assert _stages(events, "FCLS") == ["load", "unmix"]


def test_progress_must_be_none_a_bool_or_a_callable():
    with pytest.raises(ParameterError, match="progress must be None, True, False or a callable"):
        hysupp.unmix(builtin_scene("dc1"), "FCLS", endmembers="truth", progress="yes")


def test_fuse_reports_its_stages_and_the_full_resolution_metrics():
    rng = np.random.default_rng(0)
    events = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        hysupp.fuse(method="BT", ms=100 + rng.random((3, 8, 8)), pan=100 + rng.random((32, 32)), ratio=4,
                    protocol="fr", progress=events.append)
    assert _stages(events, "BT") == ["load", "fuse", "evaluate"]
    fr = [e for e in events if e.task == "FR metrics"]
    assert fr and fr[-1].done and fr[0].depth == 1
    assert [e.info["metric"] for e in fr if not e.done] == ["qnr", "reprojection"]
    inner = {e.task for e in events if e.depth == 2}
    assert inner == {"D_lambda", "D_s"}


def test_bench_reports_one_tracker_over_the_runs_with_the_runs_nested(tmp_path):
    from hysupp.bench import load_suite, run_suite

    path = tmp_path / "s.toml"
    path.write_text('name = "pg"\nkind = "unmixing"\nseeds = 1\nsnrs = ["inf"]\nmetrics = ["sre_db"]\n'
                    '[[datasets]]\nname = "D"\nrecipe = "dirichlet"\n'
                    'params = { p = 3, height = 8, width = 8, seed = 1 }\nendmembers = "truth"\n'
                    '[[methods]]\nname = "FCLS"\n[[methods]]\nname = "SUnSAL"\n')
    events, runs = [], []
    summary = run_suite(load_suite(path), tmp_path / "o", progress=events.append,
                        on_run=lambda k, n, info, eta: runs.append((k, n)))
    assert summary["ok"] == 2 and runs == [(1, 2), (2, 2)]
    bench = [e for e in events if e.task == "bench pg"]
    assert [(e.step, e.done) for e in bench] == [(0, False), (1, False), (2, False), (2, True)]
    assert bench[-2].info == {"ok": 2, "failed": 0} and all(e.unit == "run" and e.depth == 0 for e in bench)
    assert {e.task for e in events if e.unit == "stage"} == {"FCLS", "SUnSAL"}
    assert all(e.depth >= 1 for e in events if e.task != "bench pg")


def test_tiles_are_counted_as_they_are_written(tmp_path):
    pytest.importorskip("dask.array")
    pytest.importorskip("rasterio")
    from hysupp.io.geotiff import save_geotiff

    rng = np.random.default_rng(0)
    E = rng.random((6, 2))
    cube = (E @ rng.dirichlet(np.ones(2), 16 * 16).T).reshape(6, 16, 16).astype(np.float32)
    save_geotiff(tmp_path / "s.tif", cube)
    events = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        hysupp.unmix_tiled(tmp_path / "s.tif", "FCLS", endmembers=E, tile=8, out=tmp_path / "a.tif",
                           progress=events.append)
    tiles = [e for e in events if e.task == "tiles"]
    assert tiles[-1].done and tiles[-1].step == tiles[-1].total == 4 and tiles[0].unit == "tile"


@pytest.mark.parametrize("name, params, unit, total", [
    ("CNNAEU", {"epochs": 3, "patch_size": 8, "num_patches": 4, "batch_size": 2}, "epoch", 3),   # its own loop
    ("MiSiCNet", {"niters": 4, "hidden": 16}, "iteration", 4),                                 # nn.training.fit
])
def test_network_training_reports_its_epochs_or_iterations(name, params, unit, total):
    torch = pytest.importorskip("torch")
    from hysupp.methods.registry import get_method

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        rng = np.random.default_rng(0)
        Y = (0.1 + 0.8 * rng.random((16, 3))) @ rng.dirichlet(np.ones(3), 64).T
        events = []
        with reporting(events.append):
            get_method(name, "blind")(device="cpu", seed=0, **params).unmix(Y, 3, image_shape=(8, 8))
    finally:
        torch.set_num_threads(threads)
    mine = [e for e in events if e.task == name and e.unit == unit]
    assert mine and mine[-1].done and mine[-1].step == total and all(e.total == total for e in mine)
    assert "loss" in mine[-2].info and np.isfinite(mine[-2].info["loss"])


def test_no_listener_means_no_tracker_object_in_the_loops():
    assert tracker("FaSUn", total=10) is tracker("ADMM", total=5)   # the shared no-op


# ------------------------------------------------------------------------------------------------- the CLI
def _cli(args, tmp_path):
    return CliRunner().invoke(main, ["run", "-m", "FCLS", "--endmembers", "truth", "-o", str(tmp_path / "o"),
                                     "--overwrite", *args])


def test_cli_progress_goes_to_stderr_and_never_into_stdout(tmp_path):
    pytest.importorskip("tqdm")
    forced = _cli(["--progress", "--json"], tmp_path)
    assert forced.exit_code == 0, forced.output
    assert "FCLS: load" in forced.stderr
    assert json.loads(forced.stdout)["method"]["name"] == "FCLS"     # byte-clean JSON on stdout
    default = _cli([], tmp_path)          # CliRunner's streams are not terminals: no bars
    assert default.exit_code == 0 and "FCLS: load" not in default.stderr and "FCLS: load" not in default.stdout


def test_cli_bench_progress_bars_and_run_lines_on_stderr(tmp_path):
    pytest.importorskip("tqdm")
    res = CliRunner().invoke(main, ["bench", _bench_suite(tmp_path), "--out", str(tmp_path / "o"), "--json", "--progress"])
    assert res.exit_code == 0, res.output
    assert "bench pg" in res.stderr and "1/1" in res.stderr and "FCLS seed 0: ok" in res.stderr
    assert json.loads(res.stdout)["ok"] == 1           # stdout: the JSON summary only


# --------------------------------------------------------------------------------------------------- a pty
def _cli_on(args, stdout_tty: bool, tmp_path):
    """``hysupp ARGS`` in a subprocess with stdout and stderr on a pseudo-terminal (or on a pipe)."""
    pty = pytest.importorskip("pty")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "COLUMNS": "100"}
    cmd = [sys.executable, "-c", "from hysupp.cli import main; main(prog_name='hysupp')", *args]
    if not stdout_tty:
        done = subprocess.run(cmd, capture_output=True, env=env, timeout=120, stdin=subprocess.DEVNULL)
        return done.returncode, done.stdout.decode() + done.stderr.decode()
    try:
        leader, follower = pty.openpty()
    except OSError as exc:          # no pseudo-terminals in this sandbox
        pytest.skip(f"no pty: {exc}")
    import fcntl
    import struct
    import termios

    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))   # a 100-column terminal
    try:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=follower, stderr=follower, env=env)
        os.close(follower)
        chunks = []
        while True:
            try:
                data = os.read(leader, 4096)
            except OSError:         # EIO: the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        return proc.wait(timeout=120), b"".join(chunks).decode(errors="replace")
    finally:
        os.close(leader)


def _fuse_inputs(tmp_path):
    rasterio = pytest.importorskip("rasterio")
    rng = np.random.default_rng(0)
    pan = (0.2 + 0.6 * rng.random((1, 64, 64))).astype("float32")
    ms = (0.2 + 0.6 * rng.random((4, 16, 16))).astype("float32")
    paths = []
    for name, arr in (("ms", ms), ("pan", pan)):
        path = tmp_path / f"{name}.tif"
        with rasterio.open(path, "w", driver="GTiff", width=arr.shape[2], height=arr.shape[1], count=arr.shape[0],
                           dtype="float32") as dst:
            dst.write(arr)
        paths.append(str(path))
    return ["--ms", paths[0], "--pan", paths[1], "--ratio", "4"]


def _bench_suite(tmp_path):
    suite = tmp_path / "pg.toml"
    suite.write_text('name = "pg"\nkind = "unmixing"\nseeds = 1\nsnrs = ["inf"]\nmetrics = ["sre_db"]\n'
                     '[[datasets]]\nname = "D"\nrecipe = "dirichlet"\n'
                     'params = { p = 3, height = 8, width = 8, seed = 1 }\nendmembers = "truth"\n'
                     '[[methods]]\nname = "FCLS"\n')
    return str(suite)


@pytest.mark.slow      # two CLI processes per command (about 5 s each under load)
@pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX")
@pytest.mark.parametrize("command", ["run", "fuse", "bench"])
def test_pty_shows_progress_and_eta_on_a_terminal_and_not_on_a_pipe(command, tmp_path):
    """The bars (with their elapsed/ETA field) are drawn when stdout and stderr are a terminal, and
    nothing of them reaches a pipe, for the three long-running commands."""
    pytest.importorskip("tqdm")

    def args(tag):
        out = str(tmp_path / f"{command}-{tag}")
        if command == "run":
            return ["run", "-m", "FCLS", "--endmembers", "truth", "-o", out], "FCLS: load", "FCLS on dc1"
        if command == "fuse":
            return ["fuse", "-m", "GSA", *_fuse_inputs(tmp_path), "--protocol", "fr", "-o", out], "GSA: load", "GSA"
        return ["bench", _bench_suite(tmp_path), "--out", out], "bench pg", "FCLS"

    cmd, bar, summary = args("tty")
    rc, screen = _cli_on(cmd, True, tmp_path)
    assert rc == 0, screen
    assert bar in screen and "[00:0" in screen, screen           # a bar with its elapsed<remaining field
    cmd, bar, summary = args("pipe")
    rc, piped = _cli_on(cmd, False, tmp_path)
    assert rc == 0, piped
    assert bar not in piped and "\r" not in piped, piped
    assert summary in screen and summary in piped                  # the summary in both
