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
from typing import Any, Iterator

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


#: the file every output folder written by :func:`atomic_folder` holds: JSON with the files written
RUN_MARKER = ".hysupp-run"


def _contents(folder: Path) -> list[str]:
    """Every file and folder below ``folder`` (relative POSIX paths, sorted)."""
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*"))


def _marker_files(folder: Path) -> set[str] | None:
    """The paths the marker of ``folder`` lists, or None without a (readable) marker."""
    import json

    try:
        data = json.loads((folder / RUN_MARKER).read_text())
        return {str(f) for f in data["files"]}
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _protected(target: Path) -> str | None:
    """Why ``target`` may never be replaced: the working directory, one of its ancestors, the home
    folder or the file-system root (``--out .``, ``--out ..``, ``--out ~``)."""
    resolved = target.resolve()
    cwd = Path.cwd().resolve()
    if resolved == cwd or resolved in cwd.parents:
        return "the current directory" if resolved == cwd else "an ancestor of the current directory"
    if resolved == Path.home().resolve():
        return "your home folder"
    if resolved == Path(resolved.anchor):
        return "the file-system root"
    return None


def resolve_folder_target(path: str | os.PathLike) -> Path:
    """The folder an output folder path designates: a symbolic link to a folder is followed (the
    link is kept, its target replaced), a link that does not resolve (a loop, a dangling link) is
    refused with :class:`~hysupp.errors.InputError`."""
    out = Path(path)
    if os.path.islink(out):
        try:
            target = out.resolve(strict=True)
        except (OSError, RuntimeError) as exc:   # ELOOP (OSError) or RuntimeError('Symlink loop') by version
            raise InputError(f"output folder {str(out)!r} is a symbolic link that does not resolve (a link loop "
                             f"or a dangling link: {exc}); remove it or choose another --out") from None
        if not target.is_dir():
            raise OutputExistsError(f"output folder {str(out)!r} is a symbolic link to a file ({str(target)!r}); "
                                    f"choose another --out")
        return target
    return out


def check_folder_target(path: str | os.PathLike, overwrite: bool = False) -> Path:
    """Validate an output folder before any work (:func:`atomic_folder` checks it again).

    * A new path, or an existing empty folder, passes.
    * An existing non-empty folder (or a file) raises :class:`~hysupp.errors.OutputExistsError`
      unless ``overwrite``. With ``overwrite`` the folder must hold a hysupp run: its
      :data:`RUN_MARKER` file lists the files hysupp wrote there, and a folder without the marker,
      or with files the marker does not list (files the user added), is refused -- ``overwrite``
      never deletes a file hysupp did not write.
    * The working directory, its ancestors, the home folder and the root are never replaced; a
      symbolic-link loop is refused (:func:`resolve_folder_target`).

    Returns the folder (a symbolic link's target).
    """
    given = Path(path)
    out = resolve_folder_target(given)
    why = _protected(out)
    if why is not None:
        raise OutputExistsError(f"output folder {str(given)!r} is {why}; hysupp writes a run into a new folder "
                                f"(--out NEW_FOLDER) and never replaces this one")
    if not out.exists():
        return out
    if not out.is_dir():
        raise OutputExistsError(f"output folder {str(given)!r} exists and is a file; choose another --out")
    if not any(out.iterdir()):
        return out
    if not overwrite:
        raise OutputExistsError(f"output folder {str(given)!r} exists and is not empty; choose another "
                                f"--out or pass --overwrite")
    listed = _marker_files(out)
    if listed is None:
        raise OutputExistsError(f"output folder {str(given)!r} is not a hysupp run folder (no {RUN_MARKER} marker) "
                                f"and is not empty; --overwrite replaces only folders hysupp wrote: choose another "
                                f"--out, or empty it yourself")
    foreign = [f for f in _contents(out) if f != RUN_MARKER and f not in listed]
    if foreign:
        shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
        raise OutputExistsError(f"output folder {str(given)!r} holds files hysupp did not write ({shown}); "
                                f"--overwrite never deletes them: move them out or choose another --out")
    return out


def _write_marker(tmp: Path) -> None:
    import json

    from hysupp import __version__
    from hysupp.records import timestamp

    marker = {"hysupp": __version__, "created": timestamp().iso, "files": _contents(tmp)}
    (tmp / RUN_MARKER).write_text(json.dumps(marker, indent=1))


@contextlib.contextmanager
def atomic_folder(path: str | os.PathLike, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary sibling folder of ``path``; on success it replaces ``path``.

    The folder is checked first (:func:`check_folder_target`: an existing non-empty folder is
    replaced only with ``overwrite`` and only when it is a hysupp run folder holding no file hysupp
    did not write; :class:`~hysupp.errors.OutputExistsError` otherwise, raised before any work).
    When the block ends, the :data:`RUN_MARKER` file listing the files written is added and the
    temporary folder renamed to ``path``; on an exception (or SIGTERM in the CLI,
    :func:`sigterm_cleans_up`) the temporary folder is removed and ``path`` is left as it was.

    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "run"
    >>> with atomic_folder(out) as tmp:
    ...     _ = (tmp / "a.txt").write_text("x")
    >>> sorted(p.name for p in out.iterdir())
    ['.hysupp-run', 'a.txt']
    """
    import shutil

    out = check_folder_target(path, overwrite)
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
        _write_marker(tmp)
        if out.exists():
            check_folder_target(out, overwrite)   # again: the folder may have changed while the run computed
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old.", dir=parent))
            os.replace(out, old / out.name)
            try:
                os.replace(tmp, out)
            except BaseException:
                os.replace(old / out.name, out)      # the previous run is put back
                shutil.rmtree(old, ignore_errors=True)
                raise
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


class Terminated(BaseException):
    """Raised in the main thread by the SIGTERM handler of :func:`sigterm_cleans_up` (a
    ``BaseException``, like ``KeyboardInterrupt``, so that every ``finally``/``except BaseException``
    cleanup of the writers runs)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


@contextlib.contextmanager
def sigterm_cleans_up() -> Iterator[None]:
    """Inside the block SIGTERM raises :class:`Terminated` in the main thread, so the temporary
    files and folders of :func:`atomic_output` / :func:`atomic_folder` are removed as on Ctrl-C;
    the previous handler is restored afterwards. A second SIGTERM while cleaning up is ignored.
    For programs that own their process (the ``hysupp`` command); a library leaves signals alone.
    Outside the main thread it does nothing."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGTERM)

    def handler(signum: int, frame: Any) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)    # let the cleanup finish
        raise Terminated(signum)

    signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)
