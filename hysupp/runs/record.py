"""What every run shares: its JSON record, its output folder, and the check made before any work.

* :func:`run_record` builds the record of DESIGN §5 (``record_version``, ``created``, the
  sections of the run in order, ``environment``); :func:`method_block` and :func:`input_block`
  build its ``method`` and ``input`` sections (the input's SHA-256 when it is a file).
* :func:`~hysupp.records.timestamp` gives one instant in the two forms runs use: ISO 8601 for
  ``created`` and a compact form for folder names, so a default folder (:func:`default_output_dir`,
  ``hysupp-out/<name>-<YYYYMMDDTHHMMSSZ>``) carries the time of its record.
* :func:`check_output` refuses an existing output (a non-empty folder, or a file) without
  ``overwrite`` **before** a run computes anything; :func:`output_folder` checks the same and
  writes a folder atomically (:func:`hysupp.io.atomic.atomic_folder`: a temporary sibling renamed
  at the end); :func:`write_json` writes ``run.json`` / ``metrics.json``;
  :func:`streamed_run_folder` is the folder of a run that streams its product to a file
  (the tiled runs: the COG and ``run.json``, atomically).

Example
-------
>>> import tempfile
>>> from pathlib import Path
>>> stamp = timestamp("2024-03-01T12:34:56+00:00")
>>> stamp.iso, stamp.folder
('2024-03-01T12:34:56+00:00', '20240301T123456Z')
>>> parent = Path(tempfile.mkdtemp())
>>> out = default_output_dir("dc1-FCLS", parent, created=stamp.iso)
>>> out.name
'dc1-FCLS-20240301T123456Z'
>>> with output_folder(out) as tmp:
...     _ = write_json(tmp / "run.json", run_record(method={"name": "FCLS"}, created=stamp.iso))
>>> check_output(out)  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
hysupp.errors.OutputExistsError: output folder '...' exists and is not empty; choose another --out or pass --overwrite
"""

from __future__ import annotations

import json
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

from hysupp.records import RECORD_VERSION, Timestamp, environment, file_sha256, timestamp, to_jsonable

__all__ = ["DEFAULT_PARENT", "Timestamp", "check_output", "default_output_dir", "file_digest", "input_block",
           "method_block", "output_folder", "printable_path", "run_record", "source_path", "streamed_run_folder", "timestamp",
           "write_json"]

#: parent folder of the default output folders
DEFAULT_PARENT = "hysupp-out"


# ---------------------------------------------------------------------------------------------- record
def run_record(*, created: str | None = None, **sections: Any) -> dict[str, Any]:
    """A run record: ``record_version``, ``created`` (now unless given), then ``sections`` in the
    order given (``method``, ``input``, ``protocol``, ``timings_s``, ``info``, ``metrics``...),
    then ``environment``; converted to JSON types (:func:`hysupp.records.to_jsonable`)."""
    return to_jsonable({"record_version": RECORD_VERSION, "created": created or timestamp().iso, **sections,
                        "environment": environment()})


def method_block(cls: Any, params: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    """The ``method`` section: the method's ``name``, ``task``, validated ``params`` (when given),
    ``reference``, then ``extra`` fields."""
    block: dict[str, Any] = {"name": cls.name, "task": cls.task}
    if params is not None:
        block["params"] = params
    block["reference"] = cls.reference
    block.update(extra)
    return block


def source_path(x: Any) -> str | None:
    """The path of a file input, None for in-memory inputs (arrays, Scenes, DataArrays, pairs)."""
    return os.fspath(x) if isinstance(x, (str, os.PathLike)) else None


def file_digest(path: str | None) -> str | None:
    """SHA-256 of ``path`` when it is a file, else None."""
    return file_sha256(path) if path and os.path.isfile(path) else None


def printable_path(path: str | None) -> str | None:
    """``path`` as valid Unicode for a JSON record: bytes of a non-UTF-8 file name (kept by
    ``os.fsdecode`` as surrogates, which strict JSON parsers refuse) are written ``\\xff``."""
    if path is None:
        return None
    return path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def input_block(path: str | None, **fields: Any) -> dict[str, Any]:
    """The ``input`` section: ``path`` (:func:`printable_path`), its ``sha256`` (None for in-memory
    inputs), then ``fields``."""
    return {"path": printable_path(path), "sha256": file_digest(path), **fields}


# ---------------------------------------------------------------------------------------------- output
def check_output(out: str | os.PathLike | None, overwrite: bool = False, *, kind: str = "folder") -> Path | None:
    """Refuse an existing output before any work: a non-empty folder (``kind="folder"``, the checks
    of :func:`hysupp.io.atomic.check_folder_target`: with ``overwrite`` only a hysupp run folder
    holding no foreign file is replaced, never the working directory or its ancestors) or a file
    (``kind="file"``, :func:`hysupp.io.atomic.check_target`) at ``out`` raises
    :class:`~hysupp.errors.OutputExistsError` unless ``overwrite``. ``None`` (a default folder, new
    by construction) passes. Returns ``out`` as a Path."""
    if out is None:
        return None
    target = Path(out)
    if kind == "file":
        from hysupp.io.atomic import check_target

        return check_target(target, overwrite)
    if kind != "folder":
        raise ValueError(f"kind must be 'folder' or 'file', got {kind!r}")
    from hysupp.io.atomic import check_folder_target

    check_folder_target(target, overwrite)
    return target


def default_output_dir(name: str, parent: str | os.PathLike = DEFAULT_PARENT, *,
                       created: str | None = None) -> Path:
    """A new folder ``parent/<name>-<UTC time>`` (the time of ``created``, else now) that does not
    exist yet (``-2``, ``-3``... appended when it does)."""
    base = Path(parent) / f"{name}-{timestamp(created).folder}"
    out, k = base, 1
    while out.exists():
        k += 1
        out = base.with_name(f"{base.name}-{k}")
    return out


@contextmanager
def output_folder(out: str | os.PathLike, overwrite: bool = False) -> Iterator[Path]:
    """:func:`check_output`, then a temporary sibling folder that replaces ``out`` when the block
    ends without an exception (:func:`hysupp.io.atomic.atomic_folder`)."""
    from hysupp.io.atomic import atomic_folder

    check_output(out, overwrite)
    with atomic_folder(out, overwrite=overwrite) as tmp:
        yield tmp


def write_json(path: str | os.PathLike, value: Any) -> Path:
    """``value`` (converted to JSON types) as indented JSON at ``path``."""
    target = Path(path)
    target.write_text(json.dumps(to_jsonable(value), indent=2))
    return target


def streamed_run_folder(out_dir: str | os.PathLike, product: str, compute: Callable[[Path], Any], *,
                        overwrite: bool = False, config: dict[str, Any] | None = None,
                        extra: Callable[[Path, Any], None] | None = None) -> Any:
    """The output folder of a run that streams its product into a file (the tiled runs).

    In :func:`output_folder` (checked before any work, written atomically): ``run =
    compute(tmp / product)`` (the run writes its product there), ``extra(tmp, run)`` for the other
    files, then ``run.json`` from ``run.record`` with ``output`` the product's final path and
    ``config`` (the ``--config`` file's record) when given. Returns the run, ``run.path`` the
    product's final path.
    """
    out = Path(out_dir)
    with output_folder(out, overwrite=overwrite) as tmp:
        run = compute(tmp / product)
        if extra is not None:
            extra(tmp, run)
        run.record["output"] = str(out / product)
        if config is not None:
            run.record["config"] = config
        write_json(tmp / "run.json", run.record)
    run.path = out / product
    return run
