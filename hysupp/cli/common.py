"""Shared CLI plumbing.

* User errors (:class:`~hysupp.errors.HysuppError` and the operating-system faults a user can cause:
  a missing file, a symbolic-link loop, a full disk or a full standard output, a file name that is
  not valid UTF-8, not enough memory) become one clear line on stderr and exit code 2, never a
  traceback (:class:`HysuppGroup`).
* Verbosity (:func:`verbosity_options`, on the ``hysupp`` group and on every command):
  ``-q/--quiet`` silences warnings, notes, progress and the summaries of the commands that write
  files; ``-v/--verbose`` adds the notes of the readers (how each input was interpreted).
* Warnings (:class:`~hysupp.errors.HysuppWarning` and NumPy floating-point warnings) are printed on
  stderr as one line each, ``warning [category]: message``, de-duplicated.
* SIGTERM removes the temporary files and folders of the writers like Ctrl-C
  (:func:`hysupp.io.atomic.sigterm_cleans_up`) and exits with status 143.
"""

from __future__ import annotations

import difflib
import errno
import json
import os
import sys
import warnings
from typing import Any, Iterable

import click

from hysupp.errors import HysuppError, HysuppWarning

#: ``ctx.meta`` key of the verbosity: 0 quiet, 1 normal, 2 verbose
VERBOSITY = "hysupp.verbosity"
#: ``ctx.meta`` key of the (category, message) pairs already printed
SHOWN = "hysupp.shown_warnings"
#: the largest ``--seed`` (``hysupp.runs.inputs.SEED_MAX``, repeated here so that ``--help`` imports no numpy)
SEED_MAX = 2 ** 32 - 1


class UserError(click.ClickException):
    exit_code = 2

    def format_message(self) -> str:
        return self.message


# ---------------------------------------------------------------------------------------------- verbosity
def _root_meta() -> dict[str, Any]:
    ctx = click.get_current_context(silent=True)
    return ctx.find_root().meta if ctx is not None else {}


def verbosity() -> int:
    """0 with ``-q``, 2 with ``-v``, else 1 (outside a click context: 1)."""
    return int(_root_meta().get(VERBOSITY, 1))


def _set_quiet(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value:
        ctx.find_root().meta[VERBOSITY] = 0


def _set_verbose(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value and ctx.find_root().meta.get(VERBOSITY, 1) != 0:
        ctx.find_root().meta[VERBOSITY] = 2


def verbosity_options(f: Any) -> Any:
    """``-q/--quiet`` and ``-v/--verbose`` (on the group and on every command; ``-q`` wins)."""
    f = click.option("-v", "--verbose", is_flag=True, expose_value=False, callback=_set_verbose,
                     help="Also print the notes of the readers (how each input was interpreted).")(f)
    return click.option("-q", "--quiet", is_flag=True, expose_value=False, callback=_set_quiet,
                        help="Print no warnings, notes, progress or summary (errors, --json and --dry-run "
                             "output still print).")(f)


def add_verbosity(command: click.Command) -> click.Command:
    """Give ``command`` (and, for a group, its subcommands) the ``-q``/``-v`` options when it lacks them."""
    names = {p.name for p in command.params}
    if "quiet" not in names and "verbose" not in names:
        def holder() -> None:
            """Placeholder."""
        verbosity_options(holder)
        command.params.extend(holder.__click_params__[::-1])   # type: ignore[attr-defined]
    for sub in getattr(command, "commands", {}).values():
        add_verbosity(sub)
    return command


def say(text: str, *, err: bool = False) -> None:
    """Echo a summary line (stdout) or a progress line (``err=True``), unless ``-q``."""
    if verbosity() > 0:
        echo(text, err=err)


def echo(text: str, *, err: bool = False, nl: bool = True) -> None:
    """``click.echo`` that turns a failing stream (a full device, a closed pipe) into a user error
    and prints the bytes of non-UTF-8 file names as ``\\xff`` escapes."""
    text = printable(text)
    try:
        click.echo(text, err=err, nl=nl)
    except OSError as exc:
        raise _stream_error(exc, "standard error" if err else "standard output") from None


def printable(text: str) -> str:
    """``text`` with the undecodable bytes of file names (surrogates from ``os.fsdecode``) as ``\\xff``."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def notes(lines: Iterable[str], what: str = "input") -> None:
    """The reader notes of ``what`` on stderr (``-v`` only)."""
    if verbosity() >= 2:
        for line in lines:
            echo(f"note [{what}]: {line}", err=True)


def echo_json(value: Any) -> None:
    from hysupp.records import to_jsonable

    echo(json.dumps(to_jsonable(value), indent=2))


def _show_warning(message: Any, category: type[Warning], filename: str, lineno: int, file: Any = None,
                  line: Any = None) -> None:
    from hysupp.runs.diagnostics import category_label

    if verbosity() == 0:
        return
    label, text = category_label(category), printable(str(message))
    shown = _root_meta().setdefault(SHOWN, set())
    if (label, text) in shown:
        return
    shown.add((label, text))
    try:
        click.echo(f"warning [{label}]: {text}", err=True)
    except OSError:
        pass


# ---------------------------------------------------------------------------------------------- did you mean
def did_you_mean(word: str, choices: Iterable[str], *, n: int = 3) -> list[str]:
    """Close matches of ``word`` among ``choices`` (case-insensitive, ``difflib``), best first."""
    choices = list(choices)
    lowered = {c.lower(): c for c in choices}
    return [lowered[m] for m in difflib.get_close_matches(word.lower(), list(lowered), n=n, cutoff=0.6)]


# ---------------------------------------------------------------------------------------------- errors
def _stream_error(exc: OSError, stream: str) -> UserError:
    _silence_stdout()
    return UserError(f"cannot write to {stream}: {exc.strerror or exc}")


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so that the interpreter's final flush does not fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):   # a test runner's stream has no file descriptor
        pass


def user_error(exc: BaseException) -> UserError | None:
    """The one-line :class:`UserError` for an exception a user can cause, else None (a bug: traceback)."""
    if isinstance(exc, HysuppError):
        return UserError(str(exc))
    if isinstance(exc, MemoryError):
        return UserError(f"not enough memory ({exc or 'MemoryError'}); use a smaller input or crop, a tiled "
                         f"run (--tile), or a machine with more memory")
    if isinstance(exc, UnicodeEncodeError) and "surrogates" in str(exc.reason):
        bad = exc.object if isinstance(exc.object, str) else ""
        shown = bad.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace") if bad else "a name"
        return UserError(f"the file name {shown!r} is not valid UTF-8 and the library reading or writing it "
                         f"(GDAL/rasterio) needs UTF-8 names: rename the file")
    if isinstance(exc, OSError):
        name = exc.filename if exc.filename is not None else None
        where = "" if name is None else f" {os.fsdecode(name)!r}"
        if exc.errno == errno.ENOENT or isinstance(exc, FileNotFoundError):
            return UserError(f"file not found:{where or ' ' + str(exc)}")
        if exc.errno == errno.ELOOP:
            return UserError(f"too many levels of symbolic links (a link loop):{where}")
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return UserError(f"no space left on device{' writing' + where if where else ''}")
        if exc.errno in (errno.EACCES, errno.EPERM):
            return UserError(f"permission denied:{where}")
        if exc.errno in (errno.EPIPE, errno.EIO) and name is None:
            return _stream_error(exc, "standard output")
    return None


class HysuppGroup(click.Group):
    """A click group that turns user errors into one line with exit code 2 (:func:`user_error`),
    prints warnings as ``warning [category]: ...`` on stderr (silenced by ``-q``) and cleans up
    temporary outputs on SIGTERM."""

    def invoke(self, ctx: click.Context) -> Any:
        from hysupp.io.atomic import Terminated, sigterm_cleans_up

        try:
            with warnings.catch_warnings(), sigterm_cleans_up():
                warnings.showwarning = _show_warning
                warnings.filterwarnings("default", category=HysuppWarning)
                warnings.filterwarnings("default", category=RuntimeWarning)
                return super().invoke(ctx)
        except Terminated:
            try:
                click.echo("hysupp: terminated (SIGTERM); temporary outputs removed", err=True)
            finally:
                ctx.exit(128 + 15)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as exc:  # noqa: BLE001 - user faults become one line, bugs keep their traceback
            error = user_error(exc)
            if error is None:
                raise
            raise error from exc


def completion_items(names: Iterable[str], incomplete: str) -> list[Any]:
    """``shell_complete`` helper: the names that start with ``incomplete`` (case-insensitive)."""
    from click.shell_completion import CompletionItem

    low = incomplete.lower()
    return [CompletionItem(n) for n in names if n.lower().startswith(low)]


# ---------------------------------------------------------------------------------------------- completion
def complete_method(tasks: tuple[str, ...] | None = None, *, trainable: bool = False) -> Any:
    """A ``shell_complete`` callback: the names of the registered methods of ``tasks`` (all tasks
    when None; only the trainable networks with ``trainable``)."""

    def complete(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[Any]:
        from hysupp.methods.registry import available

        classes = [c for c in available() if tasks is None or c.task in tasks]
        if trainable:
            classes = [c for c in classes if callable(getattr(c, "train", None))]
        return completion_items([c.name for c in classes], incomplete)

    return complete


def complete_suite(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[Any]:
    """``shell_complete`` callback: the built-in benchmark suites (and ``.toml`` files)."""
    from click.shell_completion import CompletionItem

    from hysupp.bench.suite import available_suites

    names = completion_items([*available_suites(), "list", "report"], incomplete)
    return names + [CompletionItem(incomplete, type="file")] if not names else names


def complete_recipe(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[Any]:
    """``shell_complete`` callback: the simulation recipes."""
    from hysupp.simulate import available_recipes

    return completion_items([r.name for r in available_recipes()], incomplete)


class SingleValuedCommand(click.Command):
    """A command that refuses a single-valued option given twice (``--scale 1 --scale 2``): click
    would keep the last one silently. Flags, counters and ``multiple`` options (``--param``) may
    repeat."""

    def parse_args(self, ctx, args):
        single = {opt: param for param in self.get_params(ctx) if isinstance(param, click.Option)
                  and not (param.multiple or param.is_flag or param.count) for opt in param.opts}
        seen: dict[str, list[str]] = {}
        for arg in args:
            if arg == "--":
                break
            opt = arg.split("=", 1)[0] if arg.startswith("--") else arg
            if opt in single:
                seen.setdefault(single[opt].name, []).append(opt)
        for given in seen.values():
            if len(given) > 1:
                raise click.UsageError(f"{' / '.join(dict.fromkeys(given))} given {len(given)} times: give it once "
                                       f"(only one value is used)", ctx=ctx)
        return super().parse_args(ctx, args)
