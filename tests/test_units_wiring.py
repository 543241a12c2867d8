"""The runs' inputs wired to :mod:`hysupp.io` (issue 18): units harmonised between the image, the
library and the known or true endmembers (:func:`hysupp.io.units.harmonise_units`), arrays and SPy
images read by :func:`hysupp.io.load` (``layout=``, one nodata policy), libraries read by
:func:`hysupp.io.load_library` (``library_key``, ``library_scale``), ``scale`` checked, degenerate
pixels screened, and the CLI options of ``hysupp run`` that reach them.

Every "right answer" here is the run on the same data in reflectance units: a run whose units were
harmonised must give its abundances within 1e-4 (FCLS on DC1's true endmembers, noise-free)."""

from __future__ import annotations

import json
import warnings
from dataclasses import replace

import numpy as np
import pytest
import scipy.io as sio
from click.testing import CliRunner

import hysupp
from hysupp.cli import main
from hysupp.datasets import builtin_scene
from hysupp.errors import DegeneratePixelsWarning, InputError, ParameterError, UnitsWarning
from hysupp.runs.inputs import check_scale, degenerate_pixels, screen_pixels
from hysupp.scene import Scene


@pytest.fixture(scope="module")
def dc1():
    """A 20 x 20 crop of DC1 (224 bands, 5 true endmembers) and its reflectance-unit FCLS abundances."""
    s = builtin_scene("dc1")
    scene = replace(s, cube=np.ascontiguousarray(s.cube[:, :20, :20]),
                    abundances=np.ascontiguousarray(s.abundances[:, :20, :20]))
    ref = hysupp.unmix(scene.cube, "FCLS", endmembers=scene.endmembers).abundances
    return scene, ref


def quiet_unmix(*args, **kwargs):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run = hysupp.unmix(*args, **kwargs)
    return run, caught


def invoke(args):
    return CliRunner().invoke(main, [str(a) for a in args])


# ---------------------------------------------------------------------------------------------- units
@pytest.mark.parametrize("k", [-4, -2, 2, 3, 4, 6])
def test_image_in_scaled_reflectance_is_brought_to_the_endmembers_units(dc1, k):
    """Image x 10^k beside endmembers in reflectance: the image is multiplied by 10^-k, said (a
    UnitsWarning and a note), and the abundances are the reflectance run's."""
    scene, ref = dc1
    with pytest.warns(UnitsWarning, match=rf"image multiplied by 1e{-k}"):
        run = hysupp.unmix((scene.cube * 10.0 ** k).astype(np.float32), "FCLS", endmembers=scene.endmembers)
    np.testing.assert_allclose(run.abundances, ref, atol=1e-4)
    harmonised = run.record["input"]["units"]["harmonised"]["endmembers"]
    assert harmonised["image_factor"] == pytest.approx(10.0 ** -k) and harmonised["endmembers_factor"] == 1.0
    assert any("units harmonised" in n for n in run.record["input"]["notes"])
    assert [w["category"] for w in run.record["warnings"]] == ["units"]


@pytest.mark.parametrize("k", [-4, 4])
def test_endmembers_in_scaled_reflectance_are_brought_to_the_image_units(dc1, k):
    scene, ref = dc1
    with pytest.warns(UnitsWarning, match=rf"multiplied by 1e{-k}"):
        run = hysupp.unmix(scene.cube, "FCLS", endmembers=scene.endmembers * 10.0 ** k)
    np.testing.assert_allclose(run.abundances, ref, atol=1e-4)


def test_true_endmembers_follow_the_image(dc1):
    """``endmembers="truth"`` with an image stored x 10^4: harmonised, same abundances, and the
    metrics compare values in the same units (SRE as in reflectance)."""
    scene, _ = dc1
    ref = hysupp.unmix(scene, "FCLS", endmembers="truth")
    with pytest.warns(UnitsWarning, match="image multiplied by 1e-4"):
        run = hysupp.unmix(replace(scene, cube=(scene.cube * 1e4).astype(np.float32)), "FCLS", endmembers="truth")
    np.testing.assert_allclose(run.abundances, ref.abundances, atol=1e-4)
    assert run.metrics["sre_db"] == pytest.approx(ref.metrics["sre_db"], abs=0.05)


def test_library_and_image_harmonised_and_scale_keeps_the_image_units(dc1):
    """A library (here the true endmembers as an array) in reflectance and an image x 10^4: the
    image follows the library; ``scale=1e-4`` gives the same run with no warning."""
    scene, ref = dc1
    raw = (scene.cube * 1e4).astype(np.float32)
    run, caught = quiet_unmix(raw, "FCLS", endmembers="library", library=scene.endmembers)
    assert [type(w.message) for w in caught] == [UnitsWarning]
    np.testing.assert_allclose(run.abundances, ref, atol=1e-4)
    run2, caught = quiet_unmix(raw, "FCLS", endmembers="library", library=scene.endmembers, scale=1e-4)
    assert not caught and "harmonised" not in (run2.record["input"]["units"] or {})
    np.testing.assert_allclose(run2.abundances, ref, atol=1e-4)


def test_units_no_power_of_ten_reconciles_are_refused_naming_both_ranges(dc1):
    scene, _ = dc1
    with pytest.raises(InputError, match=r"image 'array': neither reflectance.*range .*library 'library array': "
                                         r"reflectance .*range .*no power of ten reconciles them: pass scale="):
        hysupp.unmix(scene.cube * 2.0, "FCLS", endmembers="library", library=scene.endmembers)
    with pytest.raises(InputError, match=r"image 'array': reflectance x 10\^4 .*scale=1 given.*library_scale=1 given"
                                         r"\). They are in different units and both scales"):
        hysupp.unmix(scene.cube * 1e4, "FCLS", endmembers="library", library=scene.endmembers, scale=1.0,
                     library_scale=1.0)


def test_true_endmembers_that_only_score_warn_instead_of_refusing(dc1):
    """True endmembers in units no power of ten reconciles with the image: an error when the run
    unmixes with them, a UnitsWarning when they only score a VCA run."""
    scene, _ = dc1
    odd = replace(scene, cube=scene.cube * 2.0, library=None, library_names=None, library_index=None)
    with pytest.raises(InputError, match="no power of ten reconciles them"):
        hysupp.unmix(odd, "FCLS", endmembers="truth")
    with pytest.warns(UnitsWarning, match="the true endmembers only score this run"):
        run = hysupp.unmix(odd, "VCA", p=5)
    assert run.abundances.shape == (5, 20, 20)


@pytest.mark.parametrize("bad", [0, -1, float("nan"), float("inf"), True, "1e-4"])
def test_scale_must_be_positive_and_finite(dc1, bad):
    scene, _ = dc1
    with pytest.raises(ParameterError, match="scale must be a positive"):
        check_scale(bad)
    with pytest.raises(ParameterError, match="scale must be a positive"):
        hysupp.unmix(scene.cube, "FCLS", endmembers=scene.endmembers, scale=bad)
    with pytest.raises(ParameterError, match="library_scale must be a positive"):
        hysupp.unmix(scene.cube, "FCLS", endmembers="library", library=scene.endmembers, library_scale=bad)
    assert check_scale(None) is None and check_scale(np.float32(2)) == 2.0


# ---------------------------------------------------------------------------------------------- arrays
def test_layout_orders_an_array_and_the_check_transposes_hwl(dc1):
    scene, ref = dc1
    hwl = np.ascontiguousarray(scene.cube.transpose(1, 2, 0))
    run = hysupp.unmix(hwl, "FCLS", endmembers=scene.endmembers, layout="HWL")
    np.testing.assert_array_equal(run.abundances, ref)
    assert any("HWL" in n for n in run.record["input"]["notes"])
    with pytest.warns(Warning, match="HWL"):      # no layout: checked (spectral smoothness), transposed, said
        checked = hysupp.unmix(hwl, "FCLS", endmembers=scene.endmembers)
    np.testing.assert_array_equal(checked.abundances, ref)
    with pytest.raises(InputError, match="a Scene is already"):
        hysupp.unmix(scene, "FCLS", endmembers="truth", layout="HWL")


def test_the_callers_array_and_scene_are_never_modified(dc1):
    scene, _ = dc1
    cube = (scene.cube * 1e4).astype(np.float32)
    before = cube.copy()
    s = replace(scene, cube=cube)
    notes = list(s.notes)
    with pytest.warns(UnitsWarning):
        hysupp.unmix(cube, "FCLS", endmembers=scene.endmembers)
    with pytest.warns(UnitsWarning):
        hysupp.unmix(s, "FCLS", endmembers="truth")
    np.testing.assert_array_equal(cube, before)
    assert s.cube is cube and s.notes == notes


def test_float64_arrays_stay_float64(dc1):
    scene, ref = dc1
    run = hysupp.unmix(scene.cube.astype(np.float64), "FCLS", endmembers=scene.endmembers.astype(np.float64))
    assert run.scene.cube.dtype == np.float64
    np.testing.assert_allclose(run.abundances, ref, atol=1e-5)


def test_one_nodata_policy_for_arrays_in_memory_and_tiled(dc1):
    """NaN, all-zero and constant pixels of an array: NaN abundances in hysupp.unmix and
    hysupp.unmix_tiled alike, the other pixels identical."""
    pytest.importorskip("dask.array")
    scene, ref = dc1
    cube = scene.cube.copy()
    cube[:, 2, 3] = np.nan
    cube[:, 5, 5] = 0.0
    cube[:, 7, 1] = 0.25
    with pytest.warns(DegeneratePixelsWarning, match="1 all-zero and 1 constant"):
        run = hysupp.unmix(cube, "FCLS", endmembers=scene.endmembers)
    bad = np.zeros((20, 20), bool)
    bad[2, 3] = bad[5, 5] = bad[7, 1] = True
    assert np.isnan(run.abundances[:, bad]).all() and np.isfinite(run.abundances[:, ~bad]).all()
    np.testing.assert_allclose(run.abundances[:, ~bad], ref[:, ~bad], atol=1e-6)
    assert run.record["input"]["valid_pixels"] == 397
    tiled = hysupp.unmix_tiled(cube, "FCLS", endmembers=scene.endmembers, tile=8).compute()
    np.testing.assert_allclose(tiled, run.abundances, atol=1e-5)


@pytest.mark.parametrize("options", ["endmembers", "endmembers x 1e4", "library", "library x 1e4 + library_scale"])
def test_tiled_runs_harmonise_units_like_in_memory_runs(dc1, options):
    """unmix_tiled on an image x 1e4: the units judged on a sample of chunks, every tile multiplied
    by the same factor (or none when the endmembers are in the image's units), the reflectance
    run's abundances, the same record keys as hysupp.unmix."""
    pytest.importorskip("dask.array")
    scene, ref = dc1
    E = scene.endmembers
    kwargs = {"endmembers": {"endmembers": E, "endmembers x 1e4": E * 1e4}.get(options, "library")}
    if options.startswith("library"):
        kwargs["library"] = E if options == "library" else E * 1e4
    if options.endswith("library_scale"):
        kwargs["library_scale"] = 1e-4
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run = hysupp.unmix_tiled((scene.cube * 1e4).astype(np.float32), "FCLS", tile=8, **kwargs)
        A = run.compute()
    units = [str(w.message) for w in caught if issubclass(w.category, UnitsWarning)]
    np.testing.assert_allclose(A, ref, atol=1e-4)
    if options == "endmembers x 1e4":
        assert not units and run.record["input"]["units"] is None and run.record["protocol"]["scale"] is None
    else:
        assert len(units) == 1 and "image multiplied by 1e-4" in units[0]
        what = "endmembers" if options.startswith("endmembers") else "library"
        assert run.record["input"]["units"]["harmonised"][what][f"{what}_factor"] == 1.0
        assert run.record["protocol"]["scale"] == pytest.approx(1e-4)


def test_tiled_run_and_its_dry_run_harmonise_a_geotiff(dc1, tmp_path):
    """``hysupp run --tile`` on a float GeoTIFF in reflectance x 10^4 with known endmembers: the
    dry run warns what the run will multiply, and the run gives the reflectance abundances."""
    pytest.importorskip("rasterio")
    pytest.importorskip("dask.array")
    scene, ref = dc1
    tif, E = tmp_path / "img.tif", tmp_path / "E.npy"
    hysupp.save(Scene(cube=(scene.cube * 1e4).astype(np.float32), name="img"), tif)
    np.save(E, scene.endmembers)
    args = ["run", "-d", tif, "--endmembers", E, "--tile", "8", "--json"]
    plan = invoke([*args, "--dry-run"])
    assert plan.exit_code == 0, plan.output
    warned = json.loads(plan.stdout)["warnings"]
    assert [w["category"] for w in warned] == ["units"] and "image multiplied by 1e-4" in warned[0]["message"]
    res = invoke([*args, "--out", tmp_path / "o"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["protocol"]["scale"] == pytest.approx(1e-4)
    import rasterio.errors

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)   # a plain array's grid
        with rasterio.open(tmp_path / "o" / "abundances.tif") as src:
            maps = src.read()
    np.testing.assert_allclose(maps, ref, atol=1e-4)
    bad = invoke(["run", "-d", tif, "--p", "5", "--tile", "8", "--library-key", "A", "--dry-run"])
    assert bad.exit_code == 2 and "pass library= (--library) too" in bad.output


def test_tiled_arrays_have_their_axis_order_checked(dc1):
    """An (H, W, L) array given to hysupp.unmix_tiled is transposed (checked, or layout=) exactly
    as hysupp.unmix does, never read as (L, H, W)."""
    pytest.importorskip("dask.array")
    scene, ref = dc1
    hwl = np.ascontiguousarray(scene.cube.transpose(1, 2, 0))
    tiled = hysupp.unmix_tiled(hwl, "FCLS", endmembers=scene.endmembers, tile=8, layout="HWL").compute()
    np.testing.assert_allclose(tiled, ref, atol=1e-5)
    with pytest.warns(Warning, match="HWL"):
        checked = hysupp.unmix_tiled(hwl, "FCLS", endmembers=scene.endmembers, tile=8).compute()
    np.testing.assert_allclose(checked, ref, atol=1e-5)


def test_spy_image_is_read_with_its_wavelengths(dc1, tmp_path):
    envi = pytest.importorskip("spectral.io.envi")
    scene, ref = dc1
    wl = np.linspace(400, 2500, 224)
    hdr = tmp_path / "img.hdr"
    envi.save_image(str(hdr), scene.cube.transpose(1, 2, 0), dtype=np.float32,
                    metadata={"wavelength": [f"{w:.3f}" for w in wl], "wavelength units": "nm"})
    img = envi.open(str(hdr))
    run = hysupp.unmix(img, "FCLS", endmembers=scene.endmembers)
    np.testing.assert_allclose(run.abundances, ref, atol=1e-6)
    np.testing.assert_allclose(run.scene.wavelengths, wl, rtol=1e-6)
    np.testing.assert_allclose(hysupp.unmix(img.load(), "FCLS", endmembers=scene.endmembers).abundances, ref,
                               atol=1e-6)
    pytest.importorskip("dask.array")
    tiled = hysupp.unmix_tiled(img, "FCLS", endmembers=scene.endmembers, tile=8)
    np.testing.assert_allclose(tiled.compute(), ref, atol=1e-5)
    np.testing.assert_allclose(tiled.header.wavelengths, wl, rtol=1e-6)


# ---------------------------------------------------------------------------------------------- libraries
def test_library_file_with_key_and_scale(dc1, tmp_path):
    """A library stored as ``A`` (read as abundances without a key) in reflectance x 10^4: read with
    library_key, harmonised to the image (a warning) or scaled by library_scale (none)."""
    scene, ref = dc1
    path = tmp_path / "lib.mat"
    sio.savemat(path, {"A": scene.endmembers.astype(np.float64) * 1e4, "names": ["a", "b", "c", "d", "e"]})
    with pytest.warns(UnitsWarning, match="library multiplied by 1e-4"):
        run = hysupp.unmix(scene.cube, "FCLS", endmembers="library", library=path, library_key="A")
    assert run.scene.library.shape == (224, 5) and run.scene.library_names == ["a", "b", "c", "d", "e"]
    np.testing.assert_allclose(run.abundances, ref, atol=1e-4)
    run2, caught = quiet_unmix(scene.cube, "FCLS", endmembers="library", library=path, library_key="A",
                               library_scale=1e-4)
    assert not caught
    np.testing.assert_allclose(run2.abundances, ref, atol=1e-4)
    with pytest.raises(InputError, match="pass library= \\(--library\\) too"):
        hysupp.unmix(scene.cube, "FCLS", endmembers=scene.endmembers, library_key="A")
    with pytest.raises(InputError, match="names a variable of a library file"):
        hysupp.unmix(scene.cube, "FCLS", endmembers="library", library="usgs1995", library_key="A")


# ---------------------------------------------------------------------------------------------- pixels
def test_degenerate_pixels_are_found_by_column():
    Y = np.array([[0.0, 0.2, 0.3, -0.1], [0.0, 0.2, 0.1, 0.2], [0.0, 0.2, 0.4, 0.3]])
    zero, constant = degenerate_pixels(Y)
    assert zero.tolist() == [True, False, False, False] and constant.tolist() == [False, True, False, False]
    assert not degenerate_pixels(Y[:2])[1].any()   # two bands: no flat-spectrum rule


def test_screen_pixels_counts_negatives_and_excludes_degenerate():
    rng = np.random.default_rng(0)
    cube = rng.random((6, 3, 4)).astype(np.float32) + 0.1
    cube[:, 0, 0] = 0.0
    cube[:, 1, 2] = 0.5
    cube[2, 2, 3] = -0.05
    scene = Scene(cube=cube, name="s")
    with pytest.warns(DegeneratePixelsWarning) as caught:
        out, valid, degenerate = screen_pixels(scene)
    messages = [str(w.message) for w in caught]
    assert messages[0].startswith("1 of 12 pixels have negative values (min -0.05)")
    assert messages[1].startswith("1 all-zero and 1 constant (flat-spectrum) pixels of 12")
    assert valid.sum() == 10 and valid[11] and not valid[0] and not valid[6]
    assert degenerate.sum() == 2 and len(out.notes) == 2 and scene.notes == []
    with pytest.warns(DegeneratePixelsWarning) as caught:
        _, valid_all, _ = screen_pixels(scene, exclude=False)   # a spatial method keeps the grid
    assert "unmixed with the others (the method needs the whole grid)" in str(caught[1].message)
    assert valid_all.all()


def test_negative_pixels_are_kept_and_counted(dc1):
    scene, ref = dc1
    cube = scene.cube.copy()
    cube[:, 0, :3] -= 0.5
    with pytest.warns(DegeneratePixelsWarning, match="3 of 400 pixels have negative values"):
        run = hysupp.unmix(cube, "FCLS", endmembers=scene.endmembers)
    assert np.isfinite(run.abundances).all() and run.record["input"]["valid_pixels"] == 400


# ---------------------------------------------------------------------------------------------- CLI
def test_cli_layout_truth_key_and_library_options(dc1, tmp_path):
    scene, ref = dc1
    np.save(tmp_path / "img.npy", scene.cube.transpose(1, 2, 0) * 1e4)
    sio.savemat(tmp_path / "truth.mat", {"M": scene.endmembers, "E2": scene.endmembers[:, :2]})
    sio.savemat(tmp_path / "lib.mat", {"A": scene.endmembers})
    res = invoke(["run", "-d", tmp_path / "img.npy", "--layout", "HWL", "--truth", tmp_path / "truth.mat",
                  "--truth-key", "M", "--endmembers", "library", "--library", tmp_path / "lib.mat",
                  "--library-key", "A", "--out", tmp_path / "o", "--json"])
    assert res.exit_code == 0, res.output
    record = json.loads(res.stdout)
    assert record["input"]["units"]["harmonised"]["library"]["image_factor"] == pytest.approx(1e-4)
    assert "warning [units]: units harmonised" in res.stderr
    with np.load(tmp_path / "o" / "abundances.npz") as z:
        A = z[z.files[0]]
    np.testing.assert_allclose(A, ref, atol=1e-4)
    plan = invoke(["run", "-d", tmp_path / "img.npy", "--layout", "HWL", "--endmembers", "library",
                   "--library", tmp_path / "lib.mat", "--library-key", "A", "--library-scale", "1e4", "--dry-run",
                   "--json"])
    assert plan.exit_code == 0, plan.output
    assert json.loads(plan.stdout)["warnings"] == []   # library x 1e4 given: the units agree
    plan = invoke(["run", "-d", tmp_path / "img.npy", "--layout", "HWL", "--endmembers", "library",
                   "--library", tmp_path / "lib.mat", "--library-key", "A", "--dry-run", "--json"])
    assert plan.exit_code == 0, plan.output
    warned = json.loads(plan.stdout)["warnings"]
    assert [w["category"] for w in warned] == ["units"] and "image multiplied by 1e-4" in warned[0]["message"]


@pytest.mark.parametrize("args, message", [
    (["--scale", "-1"], "scale must be a positive, finite number"),
    (["--scale", "nan"], "scale must be a positive, finite number"),
    (["--scale", "0", "--dry-run"], "scale must be a positive, finite number"),
    (["--scale", "1", "--scale", "2"], "--scale given 2 times: give it once"),
    (["-d", "a.mat", "--data", "b.mat"], "-d / --data given 2 times"),
    (["--truth", "a.mat", "--truth=b.mat"], "--truth given 2 times"),
    (["--library-scale", "2"], "apply to a library: pass library= (--library) too"),
    (["--tile", "8", "-d", "a.tif", "--layout", "HWL"], "--layout cannot be combined with --tile"),
])
def test_cli_refuses_bad_scales_and_repeated_options(args, message, tmp_path):
    res = invoke(["run", *args, "--out", tmp_path / "o"])
    assert res.exit_code == 2 and message in res.output and "Traceback" not in res.output
    assert not (tmp_path / "o").exists()


def test_cli_repeatable_options_still_repeat(tmp_path):
    res = invoke(["run", "--param", "tol=1e-6", "--param", "max_iter=50", "-q", "-q", "--dry-run"])
    assert res.exit_code == 0, res.output


@pytest.mark.parametrize("command, args", [
    ("fuse", ["-m", "GSA", "-m", "MTF-GLP"]),
    ("sr", ["--ratio", "2", "--ratio", "3"]),
    ("train", ["--epochs", "1", "--epochs", "2"]),
    ("simulate", ["dc1", "-o", "a.npz", "-o", "b.npz"]),
])
def test_every_command_refuses_a_repeated_single_valued_option(command, args):
    """One rule for the whole CLI (hysupp.cli.common.SingleValuedCommand): click would keep the last
    value silently."""
    res = CliRunner().invoke(main, [command, *args])
    assert res.exit_code == 2 and "given 2 times: give it once" in res.output, res.output


# ---------------------------------------------------------------------------------------------- real data
def test_gamsberg_image_against_its_own_library(shared_data):
    """The issue's case: the Gamsberg ENVI image (float, values to 5837) against its field library
    (0-0.59): harmonised (image x 1e-4, warned), the abundances of the run with scale=1e-4."""
    d = shared_data / "envi_gamsberg"
    image, library = d / "cubus_gamsberg_subset.hdr", d / "gamsberg_field_library.hdr"
    with pytest.warns(UnitsWarning, match=r"image 'cubus_gamsberg_subset': reflectance x 10\^4 .*image multiplied "
                                          r"by 1e-4"):
        run = hysupp.unmix(image, "FCLS", endmembers="library", library=library)
    ref, caught = quiet_unmix(image, "FCLS", endmembers="library", library=library, scale=1e-4)
    assert not [w for w in caught if issubclass(w.category, UnitsWarning)]
    assert run.scene.library.shape == (189, 27)
    np.testing.assert_allclose(run.abundances, ref.abundances, atol=1e-4)
    assert np.nanmax(run.abundances.max(axis=0)) < 0.99   # not every pixel at 100 % on one atom

