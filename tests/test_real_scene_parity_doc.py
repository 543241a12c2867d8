"""docs/real_scene_parity.md is generated from the committed records of
benchmarks/real_scene_parity.py: regenerate it and compare (no method runs); every cell of the table
has >= 5 seeds on both sides or is listed as not run with its reason; the page's statistics, ratios
and verdicts, recomputed by hand on a fake record set; its relative links resolve."""

from __future__ import annotations

import importlib.util
import json
import re
import statistics
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "real_scene_parity.py"


@pytest.fixture(scope="module")
def parity():
    spec = importlib.util.spec_from_file_location("real_scene_parity", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["real_scene_parity"] = module
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop("real_scene_parity", None)


def test_the_page_is_up_to_date_with_the_records(parity):
    assert parity.DOC.read_text() == parity.build_doc(), (
        "docs/real_scene_parity.md differs from the committed records: run "
        "`python benchmarks/real_scene_parity.py doc`")


def test_every_cell_has_five_seeds_or_a_reason(parity):
    records = parity.load_records()
    scenes = parity.scenes_from_records()
    assert {"samson", "jasper-ridge"} <= set(scenes)
    complete = {sc: 0 for sc in scenes}
    for scene in scenes:
        for spec in parity.METHODS:
            seeds = {side: {r["seed"] for r in records.get((scene, spec.name, side), [])} for side in ("ours", "ref")}
            if min(len(s) for s in seeds.values()) >= parity.MIN_SEEDS == 5:
                assert parity.cell_status(records, scene, spec.name) == "complete"
                complete[scene] += 1
            else:
                assert parity.not_run_reason(scene, spec.name), (scene, spec.name, seeds)
    assert all(n >= 4 for n in complete.values()), complete   # VCA, SiVM, SISAL, AA at least, both scenes


def test_records_hold_what_the_page_relies_on(parity):
    scenes = parity.scenes_from_records()
    for (scene, method, side), recs in parity.load_records().items():
        assert method in {m.name for m in parity.METHODS} and side in ("ours", "ref")
        for r in recs:
            assert r["threads"] == 1 and r["time_s"] > 0 and "load average" in r["uptime_before"]
            assert r["input"]["Y_sha256"] == scenes[scene]["Y_sha256"] and r["params"] is not None
            assert ("sad_mean_deg" in r["metrics"]) or ("armse" in r["metrics"])


def test_relative_links_of_the_page_resolve(parity):
    docs = ROOT / "docs"
    text = parity.DOC.read_text()
    links = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text)
    assert links, "the page links the real-scene notes"
    for target in links:
        if "://" not in target:
            assert (docs / target).is_file(), target


def test_summary_and_verdict_by_hand(parity):
    vals = [3.0, 1.0, 2.0, 5.0, 4.0]
    s = parity.summary(vals)
    assert s["median"] == 3.0 and s["mean"] == 3.0 and s["min"] == 1.0 and s["max"] == 5.0
    assert s["std"] == pytest.approx(statistics.stdev(vals)) == pytest.approx((10 / 4) ** 0.5)
    ref = {"median": 10.0, "std": 0.5}
    assert parity.verdict({"median": 11.5, "std": 0.2}, ref) == "worse"      # +1.5 > max(1.0, 0.5, 0.2)
    assert parity.verdict({"median": 10.9, "std": 0.2}, ref) == "on par"     # within 10 %
    assert parity.verdict({"median": 12.0, "std": 3.0}, ref) == "on par"     # within ours' spread
    assert parity.verdict({"median": 8.5, "std": 0.2}, ref) == "better"
    assert parity.ratio({"median": 1.0}, {"median": 4.0}) == 0.25 and parity.ratio(None, ref) is None


def _write(parity, root, method, side, seed, sad, time_s, extract=None):
    path = parity.record_path("samson", method, side, seed, root)
    path.parent.mkdir(parents=True, exist_ok=True)
    timings = {"method": time_s} if extract is None else {"extract": extract, "fcls": time_s - extract}
    path.write_text(json.dumps({
        "scene": "samson", "method": method, "side": side, "seed": seed, "time_s": time_s, "timings_s": timings,
        "metrics": {"sad_mean_deg": sad, "armse": 2 * sad}, "created": f"2026-01-01T00:00:0{seed}Z",
        "uptime_before": f" 00:00:00 up 1:00,  0 user,  load average: {1.5 + seed:.2f}, 1.00, 1.00"}))


def test_a_fake_record_set_renders(parity, tmp_path):
    """The renderer on hand-made cells: the numbers on the page are the records' statistics."""
    root = tmp_path / "records"
    (root / "samson").mkdir(parents=True)
    (root / "samson" / "scene.json").write_text(json.dumps({
        "name": "samson", "label": "Samson", "shape": [156, 95, 95], "p": 3, "endmember_names": ["a", "b", "c"],
        "library": {"source": "test", "atoms": 5, "with_truth_atoms": 8, "index": [5, 6, 7]}}))
    for side, sads, times in (("ours", [1.0, 2.0, 3.0, 4.0, 5.0], [1.0, 1.0, 2.0, 3.0, 3.0]),
                              ("ref", [10.0, 10.0, 11.0, 12.0, 12.0], [8.0, 8.0, 8.0, 9.0, 9.0])):
        for seed, (sad, t) in enumerate(zip(sads, times)):
            _write(parity, root, "VCA", side, seed, sad, t, extract=t / 2 if side == "ours" else t / 4)
    for seed in range(3):                                    # an incomplete cell: 3 seeds a side
        for side in ("ours", "ref"):
            _write(parity, root, "PGMSU", side, seed, 4.0, 100.0)
    text = parity.render(parity.load_records(root), parity.scenes_from_records(root))
    row = next(line for line in text.splitlines() if line.startswith("| Samson | VCA |"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[2] == "HySUPP " + parity.REF_COMMITS["HySUPP"] and cells[3] == "5 / 5"
    assert cells[4] == "3.00 (sd 1.58; 1.00–5.00)"          # ours' SAD: median (sd; min–max)
    assert cells[5] == "11.00 (sd 1.00; 10.00–12.00)"       # ref's SAD
    assert cells[6] == "6.00 (sd 3.16; 2.00–10.00)"         # aRMSE = 2 SAD in the fake records
    assert cells[10] == "0.25 (0.5)"                          # time 2 / 8; extraction 1 / 2
    assert cells[11] == "3.5"                                 # median load of the 10 runs (1.5 + seed)
    assert cells[12] == "better"
    pg = next(line for line in text.splitlines() if line.startswith("| Samson | PGMSU |"))
    assert "3 / 3" in pg and "incomplete" in pg
    not_run = text.split("## Not run", 1)[1].split("\n## ", 1)[0]
    assert "Samson, PGMSU" in not_run and "EDAA" in not_run and "SUnCNN" in not_run
    assert "| Samson | EDAA |" not in text                  # no records: listed, not tabulated
