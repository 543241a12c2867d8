"""Progress of long loops: one callback, none by default (a library prints nothing).

The caller chooses a callback for a block of code -- ``with reporting(callback):``, or the
``progress=`` argument of :func:`hysupp.unmix`, :func:`hysupp.fuse` and the other runs -- and every
long loop (iterative solvers, network training, full-resolution metrics, bench runs, tiles) reports
through a :func:`tracker`:

.. code-block:: python

    t = tracker("FaSUn", total=T, unit="iteration")
    for k in range(T):
        ...
        t.update(k + 1, objective=lambda: cheap_objective())   # a callable is evaluated only if shown
    t.close()

With no callback, :func:`tracker` returns a shared no-op object: one method call per step, no
clock read. With one, updates are rate-limited (at most one event every ``min_interval`` seconds,
plus the first and the last), so a loop of 10^4 iterations emits a few hundred events at most; the
values in ``info`` are computed only for the events that are emitted. Trackers nest (a bench run
holds a solver's iterations): each event carries its tracker's ``depth``.

A run reports its stages (load, extract, unmix, evaluate...) through :func:`stages` and
:func:`stage`: one tracker of unit ``"stage"`` per run, one step per stage, the stage's name in
``info["stage"]``. :func:`reporting_to` interprets the ``progress=`` argument of the API (None: keep
the callback in effect, none by default; False: silence; True: :class:`TextProgress` on stderr; a
callable: the callback).

The callback receives :class:`ProgressEvent` values. :class:`TextProgress` renders them as
progress bars with an ETA (tqdm) on a terminal; the CLI uses it unless ``--json``, ``-q`` or a
non-terminal output says otherwise.

Example
-------
>>> events = []
>>> with reporting(events.append):
...     t = tracker("demo", total=3, unit="iteration", min_interval=0.0)
...     for k in range(3):
...         t.update(k + 1, objective=lambda: 1.0 / 3)
...     t.close()
>>> [(e.step, e.total, e.done) for e in events]
[(1, 3, False), (2, 3, False), (3, 3, False), (3, 3, True)]
>>> round(events[-2].info["objective"], 3)
0.333
>>> tracker("quiet", total=10).update(1)    # no callback: nothing happens
"""

from __future__ import annotations

import contextlib
import contextvars
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

__all__ = ["ProgressEvent", "TextProgress", "Tracker", "current_callback", "reporting", "reporting_to", "stage",
           "stages", "tracker"]

ProgressCallback = Callable[["ProgressEvent"], Any]

_CALLBACK: contextvars.ContextVar[ProgressCallback | None] = contextvars.ContextVar("hysupp_progress",
                                                                                    default=None)
_DEPTH: contextvars.ContextVar[int] = contextvars.ContextVar("hysupp_progress_depth", default=0)
_STAGES: contextvars.ContextVar["Tracker | None"] = contextvars.ContextVar("hysupp_progress_stages", default=None)

#: default minimum time between two events of one tracker (seconds)
MIN_INTERVAL = 0.1


@dataclass(frozen=True)
class ProgressEvent:
    """One report of a loop: ``step`` of ``total`` (None when unknown) ``unit`` s of ``task`` after
    ``elapsed`` seconds; ``info`` holds cheap extra values (e.g. the current objective); ``done``
    marks the tracker's last event; ``depth`` the nesting level (0: outermost); ``key`` tells the
    trackers apart."""

    task: str
    step: int
    total: int | None
    unit: str
    elapsed: float
    info: dict[str, Any] = field(default_factory=dict)
    done: bool = False
    depth: int = 0
    key: int = 0

    @property
    def eta(self) -> float | None:
        """Seconds left at the mean rate so far (None without a total or before the first step)."""
        if self.total is None or self.step <= 0 or self.elapsed <= 0:
            return None
        return max(0.0, self.elapsed * (self.total - self.step) / self.step)


def current_callback() -> ProgressCallback | None:
    """The callback in effect in this context (None: nobody listens)."""
    return _CALLBACK.get()


@contextlib.contextmanager
def reporting(callback: ProgressCallback | None) -> Iterator[None]:
    """Send the progress of every loop run inside the block to ``callback`` (``None`` silences
    them); the previous callback is restored afterwards."""
    token = _CALLBACK.set(callback)
    try:
        yield
    finally:
        _CALLBACK.reset(token)


@contextlib.contextmanager
def reporting_to(progress: bool | ProgressCallback | None) -> Iterator[None]:
    """The ``progress=`` argument of the runs (:func:`hysupp.unmix`, :func:`hysupp.fuse`, the bench
    runner...) for a block: ``None`` keeps the callback in effect (none by default: nothing is
    printed, and a run inside a bench suite reports to the suite's callback), ``False`` silences
    the block, ``True`` draws :class:`TextProgress` bars on stderr, a callable receives the
    :class:`ProgressEvent` s."""
    if progress is None:
        yield
        return
    if progress is False or progress is True:
        bars = TextProgress() if progress else None
        try:
            with reporting(bars):
                yield
        finally:
            if bars is not None:
                bars.close()
        return
    if not callable(progress):
        from hysupp.errors import ParameterError

        raise ParameterError(f"progress must be None, True, False or a callable receiving ProgressEvent values, "
                             f"got {type(progress).__name__} {progress!r}")
    with reporting(progress):
        yield


class _Null:
    """The tracker handed out when nobody listens: every method is a no-op."""

    __slots__ = ()

    def update(self, step: int, **info: Any) -> None:
        return None

    def close(self, **info: Any) -> None:
        return None

    def __enter__(self) -> "_Null":
        return self

    def __exit__(self, *exc: Any) -> None:
        return None


_NULL = _Null()


class Tracker:
    """Reports one loop to a callback (made by :func:`tracker`; use it as a context manager or call
    :meth:`close`)."""

    _count = 0

    def __init__(self, callback: ProgressCallback, task: str, total: int | None, unit: str,
                 min_interval: float) -> None:
        Tracker._count += 1
        self.key = Tracker._count
        self.callback, self.task, self.total, self.unit = callback, task, total, unit
        self.min_interval = float(min_interval)
        self.start = time.monotonic()
        self.last = -float("inf")
        self.step = 0
        self.closed = False
        self.depth = _DEPTH.get()
        self._token = _DEPTH.set(self.depth + 1)

    def _emit(self, step: int, info: dict[str, Any], done: bool, now: float) -> None:
        values = {k: (v() if callable(v) else v) for k, v in info.items()}
        self.callback(ProgressEvent(self.task, step, self.total, self.unit, now - self.start, values, done,
                                    self.depth, self.key))
        self.last = now

    def update(self, step: int, **info: Any) -> None:
        """The loop has done ``step`` units; ``info`` values may be callables (evaluated only if this
        update is emitted)."""
        self.step = step
        now = time.monotonic()
        if now - self.last >= self.min_interval or (self.total is not None and step >= self.total):
            self._emit(step, info, False, now)

    def close(self, **info: Any) -> None:
        """The loop has ended (at :attr:`step`, which may be short of ``total`` when it converged)."""
        if self.closed:
            return
        self.closed = True
        try:
            _DEPTH.reset(self._token)
        except ValueError:      # closed in another context than it was opened in
            pass
        self._emit(self.step, info, True, time.monotonic())

    def __enter__(self) -> "Tracker":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def tracker(task: str, total: int | None = None, *, unit: str = "iteration",
            min_interval: float = MIN_INTERVAL) -> Tracker | _Null:
    """A progress tracker for one loop of ``total`` ``unit`` s named ``task`` (a method's name, a
    run's label); a shared no-op when no callback is set (see the module docstring)."""
    callback = _CALLBACK.get()
    if callback is None:
        return _NULL
    return Tracker(callback, task, None if total is None else int(total), unit, min_interval)


@contextlib.contextmanager
def stages(task: str) -> Iterator[None]:
    """Report the stages of the block (a run) as one tracker named ``task`` of unit ``"stage"``:
    each :func:`stage` call inside it is one step, with the stage's name in ``info["stage"]``. A
    no-op when nobody listens."""
    t = tracker(task, unit="stage", min_interval=0.0)
    if isinstance(t, _Null):
        yield
        return
    token = _STAGES.set(t)
    try:
        yield
    finally:
        _STAGES.reset(token)
        t.close()


def stage(name: str) -> None:
    """The innermost :func:`stages` block (if any) enters stage ``name``."""
    t = _STAGES.get()
    if t is not None:
        t.update(t.step + 1, stage=name)


def _seconds(t: float) -> str:
    return f"{t:.1f} s" if t < 60 else f"{int(t // 60)} min {t % 60:02.0f} s"


class TextProgress:
    """Progress bars with rate and ETA on a stream (stderr by default), one bar per tracker,
    nested trackers indented below their parent (tqdm). Use it as the callback of
    :func:`reporting` or ``progress=``; call :meth:`close` at the end.

    A tracker of unit ``"stage"`` (:func:`stages`) is drawn as one line ``task: stage [elapsed]``;
    when it closes the line lists the time of each stage. Only the outermost bars stay on the
    screen when they close (``leave_inner=True`` keeps them all). :meth:`write` prints a line
    above the bars."""

    def __init__(self, stream: Any = None, *, leave_inner: bool = False) -> None:
        self.stream = sys.stderr if stream is None else stream
        self.leave_inner = leave_inner
        self.bars: dict[int, Any] = {}
        self.stage_times: dict[int, list[tuple[str, float]]] = {}

    def __call__(self, event: ProgressEvent) -> None:
        from tqdm.auto import tqdm

        bar = self.bars.get(event.key)
        staged = event.unit == "stage"
        if bar is None:
            if event.done and event.step == 0:
                return
            options: dict[str, Any] = {"bar_format": "{desc} [{elapsed}]"} if staged else {}
            if self._columns() == 0:    # a terminal that reports no size (some containers): a fixed width
                options["ncols"] = 80
            else:
                options["dynamic_ncols"] = True
            bar = tqdm(total=event.total, desc=("  " * event.depth) + event.task, unit=event.unit[:4],
                       file=self.stream, position=event.depth, leave=event.depth == 0 or self.leave_inner,
                       mininterval=0.0, miniters=1, **options)
            self.bars[event.key] = bar
        if staged:
            self._stage(bar, event)
        else:
            shown = {k: (f"{v:.4g}" if isinstance(v, float) else v) for k, v in event.info.items() if v is not None}
            if shown:
                bar.set_postfix(shown, refresh=False)
            bar.update(event.step - bar.n)
        if event.done:
            bar.close()
            del self.bars[event.key]
            self.stage_times.pop(event.key, None)

    def _columns(self) -> int | None:
        """The width of the stream's terminal (None: not a terminal)."""
        import os

        try:
            return os.get_terminal_size(self.stream.fileno()).columns
        except (AttributeError, OSError, ValueError):
            return None

    def _stage(self, bar: Any, event: ProgressEvent) -> None:
        times = self.stage_times.setdefault(event.key, [])
        indent = "  " * event.depth
        if "stage" in event.info and not event.done:
            times.append((str(event.info["stage"]), event.elapsed))
            bar.set_description_str(f"{indent}{event.task}: {event.info['stage']}", refresh=False)
        if event.done:
            ends = [t for _, t in times[1:]] + [event.elapsed]
            spent = ", ".join(f"{name} {_seconds(end - start)}" for (name, start), end in zip(times, ends))
            bar.set_description_str(f"{indent}{event.task}: {spent}" if spent else f"{indent}{event.task}",
                                    refresh=False)
        bar.update(event.step - bar.n)

    def write(self, line: str) -> None:
        """Print ``line`` on the stream above the bars."""
        from tqdm.auto import tqdm

        tqdm.write(line, file=self.stream)

    @property
    def active(self) -> bool:
        """Whether a bar is on the screen."""
        return bool(self.bars)

    def close(self) -> None:
        for bar in list(self.bars.values()):
            bar.close()
        self.bars.clear()
        self.stage_times.clear()
