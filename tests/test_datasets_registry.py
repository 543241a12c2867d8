"""The registry of public data sets (hysupp.io.catalog / hysupp.datasets): declarations, checksums
against the real files, fetching from a local HTTP server over ../shared/data (never the network),
cache reuse, checksum refusal, offline mode, names in hysupp.load and the CLI, and the cards."""

from __future__ import annotations

import functools
import hashlib
import http.server
import json
import shutil
import threading
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import hysupp
from hysupp.cli import main
from hysupp.datasets import (DATASETS, builtin_scene, dataset_card, dataset_info, fetch, find_dataset, get_dataset,
                             named_library, suggest)
from hysupp.datasets.cards import cards_index
from hysupp.errors import DatasetError, HysuppError, InputError
from hysupp.io import load

CARDS = Path(__file__).resolve().parents[1] / "datasets"


# ------------------------------------------------------------------------------------- helpers
class _Handler(http.server.SimpleHTTPRequestHandler):
    requests: list[str]

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        self.requests.append(self.path)
        super().do_GET()

    def log_message(self, *args) -> None:  # quiet
        pass


@contextmanager
def serve(folder: Path):
    """A local HTTP server over ``folder`` in a thread; yields (base URL, list of requested paths)."""
    requests: list[str] = []
    handler = type("Handler", (_Handler,), {"requests": requests})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", requests
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture()
def cache(tmp_path, monkeypatch):
    """An empty cache folder, no mirror, online, no proxy for the local server."""
    folder = tmp_path / "cache"
    monkeypatch.setenv("HYSUPP_DATA_DIR", str(folder))
    monkeypatch.delenv("HYSUPP_DATA_URL", raising=False)
    monkeypatch.delenv("HYSUPP_OFFLINE", raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    return folder


@pytest.fixture()
def server(shared_data):
    with serve(shared_data) as (url, requests):
        yield url, requests


@pytest.fixture()
def mirror(cache, server, monkeypatch):
    """Downloads come from the local server over ../shared/data."""
    url, requests = server
    monkeypatch.setenv("HYSUPP_DATA_URL", url)
    return requests


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _available(ds, root: Path) -> bool:
    return all((root / f.path).is_file() or f.shipped for f in ds.files)


def _main_array(scene) -> np.ndarray:
    for arr in (scene.cube, scene.library, scene.extras.get("matrix"), scene.wavelengths):
        if arr is not None:
            return np.asarray(arr)
    raise AssertionError("no array")


# ------------------------------------------------------------------------------------- declarations
def test_names_and_aliases_resolve_to_one_entry():
    for ds in DATASETS:
        for label in (ds.name,) + ds.aliases:
            assert find_dataset(label) is ds
            assert find_dataset(label.upper().replace("-", "_")) is ds
    assert get_dataset("Jasper Ridge").name == "jasper-ridge"


def test_every_file_has_a_fixed_source_checksum_and_size():
    for ds in DATASETS:
        assert ds.licence and ds.citation and ds.description and ds.units and ds.shape
        for f in ds.files:
            assert len(f.sha256) == 64 and f.size > 0
            for s in f.sources:
                assert s.url.startswith(f"https://raw.githubusercontent.com/{s.repo}/{s.commit}/")
                assert len(s.commit) == 40  # a fixed commit, never a branch


def test_registered_checksums_match_the_shared_files(shared_data):
    """Every registered file present in ../shared/data has the registered size and SHA-256."""
    checked = 0
    for ds in DATASETS:
        for f in ds.files:
            path = shared_data / f.path
            if path.is_file():
                assert path.stat().st_size == f.size, f.path
                assert _sha256(path) == f.sha256, f.path
                checked += 1
    assert checked >= 30


def test_every_shared_file_is_registered(shared_data):
    registered = {f.path for ds in DATASETS for f in ds.files}
    for path in sorted(shared_data.rglob("*")):
        rel = path.relative_to(shared_data).as_posix()
        if path.is_file() and rel != "DATA.md":
            assert rel in registered, f"{rel} is in the shared data but not in the registry"


def test_shipped_file_is_the_registered_one():
    ds = get_dataset("usgs1995")
    (f,) = ds.files
    path = fetch(ds, log=None)[f.path]
    assert path.parent.parent.name == "data" and _sha256(path) == f.sha256
    np.testing.assert_array_equal(load("usgs1995").library, named_library("usgs1995").library)


# ------------------------------------------------------------------------------------- fetching
def test_fetch_from_local_server_then_reuse_the_cache(mirror, cache, shared_data):
    paths = fetch("samson", log=None)
    assert sorted(mirror) == ["/samson/end3.mat", "/samson/samson_1.mat"]
    for rel, local in paths.items():
        assert local == cache / rel
        assert local.read_bytes() == (shared_data / rel).read_bytes()
    again = fetch("samson", log=None)
    assert again == paths and len(mirror) == 2  # verified in the cache, not downloaded again
    assert not list(cache.rglob("*.part"))
    info = dataset_info("samson")
    assert info["cached"] and all(f["cached"] for f in info["files"])


def test_load_by_name_is_the_scene_of_the_shared_files(mirror, shared_data):
    by_name = hysupp.load("samson")
    direct = load(shared_data / "samson/samson_1.mat", truth=shared_data / "samson/end3.mat")
    assert by_name.name == "samson" and by_name.layout == direct.layout == "zhu"
    for field in ("cube", "endmembers", "abundances"):
        np.testing.assert_array_equal(getattr(by_name, field), getattr(direct, field))
    assert by_name.endmember_names == direct.endmember_names
    assert by_name.extras["dataset"]["name"] == "samson"
    assert {f["sha256"] for f in by_name.extras["dataset"]["files"]} == {f.sha256 for f in get_dataset("samson").files}
    assert "registry" in by_name.notes[0]
    # an explicit truth replaces the registered one; the cache is reused (no new request)
    with_truth = hysupp.load("samson", truth=shared_data / "samson/end3.mat")
    np.testing.assert_array_equal(with_truth.abundances, direct.abundances)
    assert len(mirror) == 2


@pytest.mark.parametrize("name", [ds.name for ds in DATASETS])
def test_every_entry_loads_with_its_declared_shape(name, shared_data, cache, monkeypatch):
    """Each entry whose files are in the shared data loads by name (file:// mirror) with the shape
    its card declares, and equals a direct load of the same file with the entry's key and scale."""
    ds = get_dataset(name)
    if not _available(ds, shared_data):
        pytest.skip(f"{name}: files not in the shared data")
    monkeypatch.setenv("HYSUPP_DATA_URL", shared_data.as_uri())
    scene = hysupp.load(name)
    assert _main_array(scene).shape == ds.shape
    if not ds.truth:
        direct = load(shared_data / ds.read, key=ds.key, scale=ds.scale)
        np.testing.assert_array_equal(_main_array(scene), _main_array(direct))


def test_dc1_by_name_equals_the_builtin_scene(mirror):
    published, built = hysupp.load("dc1"), builtin_scene("dc1")
    assert list(published.library_index) == list(built.library_index) == [1, 2, 3, 4, 5]
    np.testing.assert_allclose(published.cube, built.cube, atol=1e-6)
    np.testing.assert_allclose(published.abundances, built.abundances, atol=1e-6)
    np.testing.assert_allclose(published.endmembers, built.endmembers, atol=1e-6)


def test_dc2_cube_is_library_times_abundances(mirror, shared_data):
    from hysupp.simulate.dc import dc2_scene

    s = hysupp.load("dc2")
    assert s.endmembers.shape == (224, 9) and list(s.library_index) == list(range(1, 10))
    recon = (s.endmembers.astype(np.float64) @ s.abundances.reshape(9, -1)).reshape(s.shape)
    np.testing.assert_allclose(s.cube, recon, atol=1e-5)
    np.testing.assert_allclose(s.cube, dc2_scene(shared_data / "dc2/DC2_XT.mat").cube, atol=1e-5)


# ------------------------------------------------------------------------------------- refusals
def test_wrong_checksum_from_the_server_is_refused(cache, shared_data, tmp_path, monkeypatch):
    bad = tmp_path / "bad-mirror"
    shutil.copytree(shared_data / "samson", bad / "samson")
    target = bad / "samson/end3.mat"
    target.chmod(0o644)
    data = bytearray(target.read_bytes())
    data[-1] ^= 0xFF
    target.write_bytes(bytes(data))
    with serve(bad) as (url, requests):
        monkeypatch.setenv("HYSUPP_DATA_URL", url)
        with pytest.raises(DatasetError) as exc:
            fetch("samson", log=None)
    err = exc.value
    assert isinstance(err, HysuppError) and isinstance(err, OSError)
    msg = str(err)
    f = get_dataset("samson").file("samson/end3.mat")
    for needed in ("'samson'", url + "/samson/end3.mat", f.sha256, _sha256(target), "discarded", "report the URL"):
        assert needed in msg
    assert not (cache / "samson/end3.mat").exists()  # a refused download never enters the cache
    assert not list(cache.rglob("*.part"))


def test_modified_cached_file_is_refused(mirror, cache):
    fetch("samson", log=None)
    cached = cache / "samson/samson_1.mat"
    with open(cached, "r+b") as fh:
        fh.seek(1000)
        fh.write(b"\x00\x01\x02")
    with pytest.raises(DatasetError, match=r"cached file .*samson_1\.mat.* delete it") as exc:
        hysupp.load("samson")
    assert get_dataset("samson").files[0].sha256 in str(exc.value)
    assert len(mirror) == 2  # not silently downloaded again


def test_offline_names_the_url_and_where_to_put_the_file(cache, monkeypatch):
    monkeypatch.setenv("HYSUPP_OFFLINE", "1")
    with pytest.raises(DatasetError) as exc:
        hysupp.load("jasper-ridge")
    msg = str(exc.value)
    f = get_dataset("jasper-ridge").files[0]
    assert "HYSUPP_OFFLINE" in msg and f.sources[0].url in msg and str(cache / f.path) in msg


def test_offline_reads_a_cached_data_set(mirror, monkeypatch):
    fetch("samson", log=None)
    monkeypatch.setenv("HYSUPP_OFFLINE", "1")
    assert hysupp.load("samson").shape == (156, 95, 95)
    assert len(mirror) == 2


def test_unreachable_source_names_the_url_and_the_cache_path(cache, monkeypatch):
    with serve(cache.parent) as (url, _):
        pass  # the port is closed again: connection refused
    monkeypatch.setenv("HYSUPP_DATA_URL", url)
    with pytest.raises(DatasetError, match=r"could not get 'samson/samson_1\.mat'") as exc:
        fetch("samson", log=None)
    msg = str(exc.value)
    assert f"{url}/samson/samson_1.mat" in msg and str(cache / "samson/samson_1.mat") in msg and "by hand" in msg


# ------------------------------------------------------------------------------------- names in load
def test_a_path_wins_over_a_name(cache, tmp_path, monkeypatch, shared_data):
    monkeypatch.chdir(tmp_path)
    Path("samson").write_bytes(b"not a data set")
    with pytest.raises(InputError, match="unsupported file type"):  # the file was read, not the registry
        hysupp.load("samson")
    assert not cache.exists()
    np.testing.assert_array_equal(load(str(shared_data / "samson/samson_1.mat")).cube,
                                  load(shared_data / "samson/samson_1.mat").cube)


def test_did_you_mean():
    with pytest.raises(InputError, match=r"file not found: 'samsom'.*did you mean 'samson'"):
        hysupp.load("samsom")
    with pytest.raises(InputError, match="not registered yet"):
        hysupp.load("urban")
    with pytest.raises(DatasetError, match="did you mean 'jasper-ridge'"):
        get_dataset("jaspr-ridge")
    assert suggest("cuprite") == ["cuprite-crop", "cuprite-usgs3"]
    with pytest.raises(InputError, match=r"file not found: '.*nope\.mat'$"):  # a file name: no suggestion
        hysupp.load("nope.mat")


# ------------------------------------------------------------------------------------- CLI
def _invoke(args):
    return CliRunner().invoke(main, args, catch_exceptions=False)


def test_cli_list_and_info(cache):
    res = _invoke(["datasets", "list"])
    assert res.exit_code == 0, res.output
    assert all(ds.name in res.output for ds in DATASETS) and str(cache) in res.output
    entries = json.loads(_invoke(["datasets", "list", "--json", "--kind", "library"]).output)
    assert {e["name"] for e in entries} == {ds.name for ds in DATASETS if ds.kind == "library"}
    info = json.loads(_invoke(["datasets", "info", "Jasper", "--json"]).output)
    ds = get_dataset("jasper-ridge")
    assert info["name"] == ds.name and [f["sha256"] for f in info["files"]] == [f.sha256 for f in ds.files]
    text = _invoke(["datasets", "info", "samson"]).output
    assert "ricardoborsoi/MUA_SparseUnmixing @ 089f5d61162807a5304759e293b132ed9d0d6ab4" in text
    res = _invoke(["datasets", "info", "samsom"])
    assert res.exit_code == 2 and "did you mean 'samson'" in res.output


def test_cli_fetch_and_run_by_name(mirror, cache, tmp_path):
    res = _invoke(["datasets", "fetch", "samson"])
    assert res.exit_code == 0, res.output
    assert "samson: 2 files, 3.7 MB, sha256 verified" in res.output and "downloading samson" in res.output
    assert len(mirror) == 2
    res = _invoke(["datasets", "fetch", "samsom", "samson"])
    assert res.exit_code == 2 and "did you mean 'samson'" in res.output
    out = tmp_path / "run"
    res = _invoke(["run", "--data", "samson", "--out", str(out), "--json"])
    assert res.exit_code == 0, res.output
    record = json.loads(res.output)
    assert record["input"]["name"] == "samson" and record["input"]["shape"] == [156, 95, 95]
    assert "sad_mean_deg" in record["metrics"]  # the registered truth was attached
    assert (out / "run.json").is_file() and len(mirror) == 2


# ------------------------------------------------------------------------------------- cards
def test_cards_match_the_registry():
    expected = {f"{ds.name}.md": dataset_card(ds) for ds in DATASETS}
    expected["README.md"] = cards_index()
    found = {p.name for p in CARDS.glob("*.md")}
    assert found == set(expected), "regenerate with: python -c \"import hysupp.datasets as d; d.write_cards('datasets')\""
    for name, text in expected.items():
        assert (CARDS / name).read_text(encoding="utf-8") == text, f"datasets/{name} is stale: regenerate the cards"
    for ds in DATASETS:
        card = expected[f"{ds.name}.md"]
        for needed in (ds.name, ds.licence, ds.citation, ds.units, " x ".join(map(str, ds.shape))):
            assert needed.replace("|", "/") in card
        for f in ds.files:
            assert f.sha256 in card and f.sources[0].commit[:12] in card and str(f.size) in card


def test_zhu_layout_with_y_and_a_band_selection(tmp_path):
    """Jasper Ridge's layout (Y, nRow, nCol, nBand = 224 with SlectBands of the L kept channels), on a
    small synthetic file: column-major pixels, the kept channels recorded 0-based."""
    import scipy.io as sio

    L, H, W = 6, 3, 4
    cube = np.arange(L * H * W, dtype=np.uint16).reshape(L, H, W)
    kept = np.array([4, 5, 9, 10, 11, 30], dtype=np.uint8)  # 1-based channels of 224
    path = tmp_path / "jasper_like.mat"
    sio.savemat(path, {"Y": cube.reshape(L, H * W, order="F"), "nRow": H, "nCol": W, "nBand": 224,
                       "SlectBands": kept[:, None], "maxValue": 5000})
    s = load(path)   # divided by the file's maxValue
    assert s.layout == "zhu" and s.shape == (L, H, W)
    np.testing.assert_allclose(s.cube, cube / 5000, rtol=1e-6)
    assert list(s.extras["sensor_bands"]) == list(kept.astype(int) - 1)
    sio.savemat(path, {"Y": cube.reshape(L, H * W, order="F"), "nRow": H, "nCol": W})
    np.testing.assert_array_equal(load(path).cube, cube)  # without the selection
    sio.savemat(path, {"Y": cube.reshape(L, H * W, order="F"), "nRow": H, "nCol": W, "nBand": 224})
    with pytest.raises(InputError, match="nBand = 224 but Y has 6 rows"):
        load(path)
