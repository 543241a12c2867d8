"""Suites as data: TOML files (built-in ones in ``hysupp/bench/suites/``) expanded into runs.

Suite file format::

    name = "hysupp-semi"              # the output folder's name: letters, digits, - _ . (checked)
    description = "..."
    kind = "unmixing"                 # or "fusion"
    seeds = 5                         # default number of seeds (0 .. seeds-1)
    snrs = [20, 30, 40]               # unmixing: AWGN SNRs in dB ("inf" = noise-free)
    protocols = ["rr", "fr"]          # fusion: Wald reduced resolution / full resolution
    metrics = ["sre_db", "armse"]     # columns of the tables
    reference = "citation of the published table"
    reference_values = "reference/hysupp-semi.toml"   # optional: published / reference-implementation
                                                      # values shown beside ours (path relative to this file)

    [[datasets]]
    name = "DC1"
    recipe = "dc1"                    # a simulation recipe (hysupp simulate) ...
    params = { }
    # file = "{shared}/samson/samson_1.mat"; truth = "{shared}/samson/end3.mat"   ... or a file
    # p = 3; library = "usgs1995"; snrs = ["inf"] (per-dataset SNRs); protocols = ["reference"]
    # fusion files: border = 21; clip = true; pan_degradation = "mtf" (reduced resolution; default
    # "bicubic", the toolbox's imresize)

    [[methods]]
    name = "SUnSAL"
    params = { max_iter = 1000 }
    per_snr = true                    # apply the method's published per-SNR settings
    snr_params = { "20" = { lam = 0.7 } }   # or explicit per-SNR overrides

``{shared}`` in paths is the shared data folder (``$HYSUPP_SHARED_DATA``, else ``../shared/data``
next to the working directory or the package).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from hysupp.errors import InputError

__all__ = ["RunSpec", "Suite", "available_suites", "check_suite_name", "load_suite", "shared_data_dir"]

KINDS = ("unmixing", "fusion")


def shared_data_dir() -> Path:
    """``$HYSUPP_SHARED_DATA`` or the first ``shared/data`` found above the working directory or the package."""
    env = os.environ.get("HYSUPP_SHARED_DATA")
    if env:
        return Path(env)
    for base in (Path.cwd(), Path(__file__).resolve()):
        for parent in (base, *base.parents):
            cand = parent / "shared" / "data"
            if cand.is_dir():
                return cand
    return Path("../shared/data")


def safe_name(text: str) -> str:
    """``text`` usable as a file name: characters other than letters, digits, ``-_.`` become ``_``."""
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in text)


def check_suite_name(name: Any, source: str = "suite") -> str:
    """A suite's ``name`` names its output folder (``hysupp-bench/<name>``) and its records: it must
    be a plain folder name -- letters, digits, ``-``, ``_`` and ``.``, not starting with ``.`` (no
    path separator, no ``..``) -- else :class:`~hysupp.errors.InputError` (a name such as
    ``"../../x"`` would move the output outside its folder)."""
    text = str(name)
    if not text or text.startswith(".") or safe_name(text) != text or len(text) > 128:
        raise InputError(f"suite {source}: name {text!r} is not a plain folder name (use letters, digits, '-', '_' "
                         f"and '.', not starting with '.'; e.g. {safe_name(text).strip('._') or 'my-suite'!r})")
    return text


def _expand(value: Any) -> Any:
    if isinstance(value, str) and "{shared}" in value:
        return value.replace("{shared}", str(shared_data_dir()))
    if isinstance(value, dict):
        return {k: _expand(v) for k, v in value.items()}
    return value


@dataclass(frozen=True)
class RunSpec:
    """One cell of a suite: dataset x condition (SNR or protocol) x method x seed."""

    suite: str
    kind: str
    dataset: dict[str, Any]
    condition: str
    method: str
    params: dict[str, Any]
    seed: int

    @property
    def run_id(self) -> str:
        """Stable identifier (the record's file name): readable prefix + hash of the full spec, with
        the shared data folder written as ``{shared}`` so that the id does not depend on where it is."""
        blob = json.dumps({"suite": self.suite, "dataset": self.dataset, "condition": self.condition,
                           "method": self.method, "params": self.params, "seed": self.seed},
                          sort_keys=True, default=str)
        blob = blob.replace(json.dumps(str(shared_data_dir()))[1:-1], "{shared}")  # same id wherever the data is
        digest = hashlib.sha256(blob.encode()).hexdigest()[:12]
        prefix = safe_name(f"{self.dataset['name']}_{self.condition}_{self.method}_s{self.seed}")
        return f"{prefix}_{digest}"

    def describe(self) -> str:
        return f"{self.dataset['name']} {self.condition} {self.method} seed {self.seed}"


@dataclass
class Suite:
    name: str
    kind: str
    datasets: list[dict[str, Any]]
    methods: list[dict[str, Any]]
    seeds: int = 1
    snrs: list[Any] = field(default_factory=lambda: ["inf"])
    protocols: list[str] = field(default_factory=lambda: ["rr"])
    metrics: list[str] = field(default_factory=list)
    description: str = ""
    reference: str = ""
    source: str = ""
    reference_values: dict[str, Any] = field(default_factory=dict)

    def conditions(self, snrs: list[Any] | None = None) -> list[str]:
        if self.kind == "fusion":
            return list(self.protocols)
        return [_snr_label(s) for s in (snrs if snrs is not None else self.snrs)]

    def runs(self, *, methods: list[str] | None = None, snrs: list[Any] | None = None, seeds: int | None = None,
             overrides: dict[str, dict[str, Any]] | None = None) -> list[RunSpec]:
        """Every run of the suite (optionally restricted), in a deterministic order."""
        chosen = self.methods
        if methods:
            known = {m["name"].lower(): m for m in self.methods}
            missing = [m for m in methods if m.lower() not in known]
            if missing:
                from hysupp.methods.registry import close_matches

                close = [c for m in missing for c in close_matches(m, [x["name"] for x in self.methods])]
                hint = f"did you mean {' or '.join(dict.fromkeys(close))}? " if close else ""
                raise InputError(f"suite {self.name!r} has no method(s) {', '.join(missing)}; {hint}it runs "
                                 f"{', '.join(m['name'] for m in self.methods)}")
            chosen = [known[m.lower()] for m in methods]
        n_seeds = self.seeds if seeds is None else int(seeds)
        out = []
        for ds in self.datasets:
            conds = self.conditions(snrs if snrs is not None else ds.get("snrs"))
            if self.kind == "fusion" and "protocols" in ds:
                conds = list(ds["protocols"])
            for cond in conds:
                for m in chosen:
                    params = _method_params(m, cond)
                    params.update((overrides or {}).get(m["name"].lower(), {}))
                    for seed in range(n_seeds):
                        out.append(RunSpec(self.name, self.kind, _expand(ds), cond, m["name"], params, seed))
        return out


def _snr_label(snr: Any) -> str:
    if snr is None or (isinstance(snr, str) and snr.lower() in ("inf", "none", "clean")):
        return "inf"
    value = float(snr)
    if math.isinf(value):
        return "inf"
    return f"{value:g}"


def _method_params(method: dict[str, Any], condition: str) -> dict[str, Any]:
    params = dict(method.get("params", {}))
    if method.get("per_snr") and condition != "inf":
        from hysupp.methods.registry import get_method

        table = getattr(get_method(method["name"]), "per_snr", {}) or {}
        params.update(table.get(int(float(condition)), {}))
    params.update(method.get("snr_params", {}).get(condition, {}))
    return params


def available_suites() -> list[str]:
    """Names of the built-in suites."""
    folder = resources.files("hysupp.bench") / "suites"
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".toml"))


def load_suite(name_or_path: str | os.PathLike) -> Suite:
    """A built-in suite by name, or a suite TOML file."""
    path = Path(name_or_path)
    if path.suffix.lower() == ".toml" and path.is_file():
        text, source, folder = path.read_text(), str(path), path.parent
    else:
        res = resources.files("hysupp.bench") / "suites" / f"{name_or_path}.toml"
        if not res.is_file():
            from hysupp.methods.registry import close_matches

            close = close_matches(str(name_or_path), available_suites())
            hint = f"did you mean {' or '.join(close)}? " if close else ""
            if path.suffix.lower() == ".toml":
                raise InputError(f"suite file {str(name_or_path)!r} not found")
            raise InputError(f"unknown suite {str(name_or_path)!r}; {hint}built-in: {', '.join(available_suites())} "
                             f"(or give a .toml file)")
        text, source, folder = res.read_text(), f"hysupp/bench/suites/{name_or_path}.toml", res.parent
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"suite {source}: invalid TOML: {exc}") from exc
    for key in ("name", "kind", "datasets", "methods"):
        if key not in data:
            raise InputError(f"suite {source}: missing {key!r}")
    data["name"] = check_suite_name(data["name"], source)
    if data["kind"] not in KINDS:
        raise InputError(f"suite {source}: kind must be one of {', '.join(KINDS)}, got {data['kind']!r}")
    for ds in data["datasets"]:
        if "name" not in ds or ("recipe" not in ds and "file" not in ds):
            raise InputError(f"suite {source}: each dataset needs a name and a recipe or a file, got {ds}")
    refs = _load_reference_values(folder / data["reference_values"], source) if "reference_values" in data else {}
    return Suite(name=data["name"], kind=data["kind"], datasets=data["datasets"], methods=data["methods"],
                 seeds=int(data.get("seeds", 1)), snrs=list(data.get("snrs", ["inf"])),
                 protocols=list(data.get("protocols", ["rr"])), metrics=list(data.get("metrics", [])),
                 description=data.get("description", ""), reference=data.get("reference", ""), source=source,
                 reference_values=refs)


REFERENCE_KEYS = ("dataset", "condition", "method", "metric", "value")


def _load_reference_values(path: Any, suite_source: str) -> dict[str, Any]:
    """A reference-values file: ``source`` (citation of where the values come from) and
    ``[[values]]`` entries with ``dataset``, ``condition`` (SNR or protocol, as in the suite),
    ``method``, ``metric``, ``value`` and an optional ``note``."""
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError as exc:
        raise InputError(f"suite {suite_source}: reference_values file {str(path)!r} not found") from exc
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"reference values {str(path)!r}: invalid TOML: {exc}") from exc
    if not data.get("source"):
        raise InputError(f"reference values {str(path)!r}: missing 'source' (where the values come from)")
    values = data.get("values", [])
    for i, v in enumerate(values):
        missing = [k for k in REFERENCE_KEYS if k not in v]
        if missing:
            raise InputError(f"reference values {str(path)!r}: entry {i} lacks {', '.join(missing)}")
        if not isinstance(v["value"], (int, float)):
            raise InputError(f"reference values {str(path)!r}: entry {i} value must be a number, got {v['value']!r}")
        v["condition"] = v["condition"] if v["condition"] in ("rr", "fr", "reference") else _snr_label(v["condition"])
    return {"source": data["source"], "values": values}
