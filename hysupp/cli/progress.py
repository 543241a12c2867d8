"""``--progress/--no-progress`` of ``hysupp run``, ``fuse`` and ``bench run`` (issue 20).

The commands report to :mod:`hysupp.progress`: on a terminal (stdout and stderr both TTYs) they draw
:class:`~hysupp.progress.TextProgress` bars on **stderr** unless ``--json`` or ``-q`` is given;
``--progress`` forces the bars (still on stderr, so stdout -- the summary or the JSON record --
stays clean), ``--no-progress`` turns them off. Nothing is drawn on a pipe or a file unless forced.
"""

from __future__ import annotations

import contextlib
import functools
import sys
from collections.abc import Iterator
from typing import Any

import click

from hysupp.cli.common import say, verbosity
from hysupp.progress import TextProgress, current_callback, reporting_to

__all__ = ["progress_enabled", "progress_line", "progress_option", "showing_progress"]

PROGRESS_HELP = ("Progress bars with an ETA on stderr (default: on when stdout and stderr are a terminal, "
                 "off with --json or -q).")


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):    # a replaced or closed stream
        return False


def progress_enabled(flag: bool | None, *, as_json: bool = False) -> bool:
    """Whether a command draws progress bars: ``flag`` (``--progress``/``--no-progress``) when given,
    else on a terminal only (stdout and stderr TTYs), without ``--json`` or ``-q``."""
    if flag is not None:
        return bool(flag)
    return not as_json and verbosity() > 0 and _isatty(sys.stdout) and _isatty(sys.stderr)


@contextlib.contextmanager
def showing_progress(flag: bool | None, *, as_json: bool = False) -> Iterator[None]:
    """The block reports to bars on stderr when :func:`progress_enabled`, else to nothing."""
    with reporting_to(progress_enabled(flag, as_json=as_json)):
        yield


def progress_line(text: str) -> None:
    """Print a progress line on stderr (unless ``-q``), above the bars when they are drawn."""
    bars = current_callback()
    if isinstance(bars, TextProgress) and bars.active:
        if verbosity() > 0:
            bars.write(text)
        return
    say(text, err=True)


def progress_option(f: Any) -> Any:
    """Decorator of a click command (placed among its options): adds ``--progress/--no-progress`` and
    runs the command inside :func:`showing_progress` (``--json`` read from its ``as_json``)."""

    @functools.wraps(f)
    def command(*args: Any, progress: bool | None = None, **kwargs: Any) -> Any:
        with showing_progress(progress, as_json=bool(kwargs.get("as_json"))):
            return f(*args, **kwargs)

    return click.option("--progress/--no-progress", "progress", default=None, help=PROGRESS_HELP)(command)
