"""Atomic file output: every writer in :mod:`hysupp.io` goes through :func:`atomic_output`.

A writer gets a temporary path in the target's folder, writes the whole file there, and only when
it finished without an exception is the temporary file renamed over the target with
:func:`os.replace` (atomic on POSIX and Windows within one file system). On any exception the
temporary file is removed and an existing target is left untouched.

Example
-------
>>> import tempfile, pathlib
>>> from hysupp.io.atomic import atomic_output
>>> target = pathlib.Path(tempfile.mkdtemp()) / "hello.txt"
>>> with atomic_output(target) as tmp:
...     _ = tmp.write_text("hi")
>>> target.read_text()
'hi'
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Iterator

from hysupp.errors import InputError, OutputExistsError


def check_target(path: str | os.PathLike, overwrite: bool = False) -> Path:
    """Validate an output path before any work is done.

    Raises
    ------
    OutputExistsError
        ``path`` exists and ``overwrite`` is false, or ``path`` is a folder.
    InputError
        The parent folder does not exist, is not a folder or is not writable.
    """
    target = Path(path)
    if target.is_dir():
        raise OutputExistsError(f"output path {str(target)!r} is a folder; give a file name")
    if target.exists() and not overwrite:
        raise OutputExistsError(f"output file {str(target)!r} exists; pass overwrite=True (--overwrite) "
                                f"to replace it")
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.exists():
        raise InputError(f"cannot write {str(target)!r}: folder {str(folder)!r} does not exist")
    if not folder.is_dir():
        raise InputError(f"cannot write {str(target)!r}: {str(folder)!r} is not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise InputError(f"cannot write {str(target)!r}: folder {str(folder)!r} is not writable")
    return target


def _default_mode() -> int:
    """Permission bits a plain ``open(path, "w")`` would give (0o666 minus the umask)."""
    try:  # Linux: read it without changing it (os.umask is process-wide, not thread-safe)
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return 0o666 & ~int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on success rename it to ``path``.

    The temporary file exists (empty) when the body starts and has the target's suffix, so
    writers that choose a format by extension (or append one, like ``numpy.savez``) behave.

    Parameters
    ----------
    path : path-like
        The final file.
    overwrite : bool
        Replace an existing ``path``. Without it an existing file raises
        :class:`~hysupp.errors.OutputExistsError` (checked before and again just before the rename).

    Raises
    ------
    OutputExistsError, InputError
        See :func:`check_target`; also when the temporary file cannot be created.
    """
    target = check_target(path, overwrite)
    folder = target.parent if str(target.parent) else Path(".")
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=f".tmp{target.suffix}", dir=folder)
    except OSError as exc:
        raise InputError(f"cannot write {str(target)!r}: cannot create a file in folder {str(folder)!r} "
                         f"({exc.strerror})") from exc
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        if not tmp.exists():
            raise InputError(f"writer produced no file for {str(target)!r}")
        with open(tmp, "rb+") as fh:  # make the bytes durable before the rename
            os.fsync(fh.fileno())
        if target.exists():
            if not overwrite:
                raise OutputExistsError(f"output file {str(target)!r} appeared while writing; "
                                        f"pass overwrite=True to replace it")
            mode = target.stat().st_mode & 0o7777
        else:
            mode = _default_mode()
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


@contextlib.contextmanager
def atomic_folder(path: str | os.PathLike, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary sibling folder of ``path``; on success it replaces ``path``.

    An existing non-empty folder (or a file) at ``path`` is replaced only with ``overwrite``
    (:class:`~hysupp.errors.OutputExistsError` otherwise, raised before any work); on an
    exception the temporary folder is removed and ``path`` is left as it was.

    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "run"
    >>> with atomic_folder(out) as tmp:
    ...     _ = (tmp / "a.txt").write_text("x")
    >>> sorted(p.name for p in out.iterdir())
    ['a.txt']
    """
    import shutil

    out = Path(path)
    if out.exists() and (not out.is_dir() or any(out.iterdir())) and not overwrite:
        raise OutputExistsError(f"output folder {str(out)!r} exists and is not empty; choose another "
                                f"--out or pass --overwrite")
    parent = out.parent if str(out.parent) else Path(".")
    try:
        parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=parent))
        mode = _default_mode()   # mkdtemp makes 0700: give the folder the usual mode (x where r)
        tmp.chmod(mode | ((mode & 0o444) >> 2))
    except OSError as exc:
        raise OutputExistsError(f"cannot create output folder in {str(parent)!r}: {exc.strerror}") from exc
    try:
        yield tmp
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old.", dir=parent))
            os.replace(out, old / out.name)
            os.replace(tmp, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
