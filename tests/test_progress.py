"""The progress hook (hysupp.progress): one callback, none by default, rate-limited, lazy info."""

from __future__ import annotations

import io

import pytest

from hysupp.progress import ProgressEvent, TextProgress, current_callback, reporting, tracker


def test_no_callback_means_a_shared_no_op():
    assert current_callback() is None
    t1, t2 = tracker("a", total=5), tracker("b")
    assert t1 is t2
    calls = []
    t1.update(1, objective=lambda: calls.append(1))
    t1.close()
    assert calls == []          # lazy info never evaluated when nobody listens


def test_events_first_last_and_done():
    events = []
    with reporting(events.append):
        with tracker("solver", total=4, min_interval=3600.0) as t:
            for k in range(4):
                t.update(k + 1, objective=float(k))
    # rate-limited: the first update and the one reaching the total, then the closing event
    assert [(e.step, e.done) for e in events] == [(1, False), (4, False), (4, True)]
    assert all(e.task == "solver" and e.total == 4 and e.unit == "iteration" for e in events)
    assert events[1].info == {"objective": 3.0}
    assert current_callback() is None    # restored


def test_lazy_info_only_for_emitted_events():
    events, evaluated = [], []

    def objective():
        evaluated.append(1)
        return 0.5

    with reporting(events.append):
        t = tracker("x", total=1000, min_interval=3600.0)
        for k in range(1000):
            t.update(k + 1, objective=objective)
        t.close()
    assert len(evaluated) == 2 and len(events) == 3


def test_nested_trackers_carry_their_depth_and_distinct_keys():
    events = []
    with reporting(events.append):
        with tracker("bench", total=2, unit="run", min_interval=0.0) as outer:
            for r in range(2):
                with tracker("FaSUn", total=3, min_interval=0.0) as inner:
                    for k in range(3):
                        inner.update(k + 1)
                outer.update(r + 1)
    depths = {(e.task, e.depth) for e in events}
    assert depths == {("bench", 0), ("FaSUn", 1)}
    assert len({e.key for e in events if e.task == "FaSUn"}) == 2


def test_eta_from_the_mean_rate():
    e = ProgressEvent("t", step=25, total=100, unit="iteration", elapsed=10.0)
    assert e.eta == pytest.approx(30.0)
    assert ProgressEvent("t", 0, 100, "iteration", 1.0).eta is None
    assert ProgressEvent("t", 5, None, "iteration", 1.0).eta is None


def test_text_progress_draws_a_bar_with_eta():
    pytest.importorskip("tqdm")
    out = io.StringIO()
    bars = TextProgress(out)
    with reporting(bars):
        with tracker("FCLS", total=50, min_interval=0.0) as t:
            for k in range(50):
                t.update(k + 1, objective=1.0 / (k + 1))
    bars.close()
    text = out.getvalue()
    assert "FCLS" in text and "50/50" in text and "objective" in text and "<" in text   # elapsed<remaining


def test_text_progress_on_a_terminal_that_reports_no_size():
    """Some containers give a pty of 0 x 0: the bars fall back to 80 columns instead of vanishing."""
    pytest.importorskip("tqdm")
    pty = pytest.importorskip("pty")
    import os

    try:
        leader, follower = pty.openpty()
    except OSError as exc:
        pytest.skip(f"no pty: {exc}")
    with os.fdopen(follower, "w") as stream:
        bars = TextProgress(stream)
        with reporting(bars):
            with tracker("sized", total=3, min_interval=0.0) as t:
                for k in range(3):
                    t.update(k + 1)
        bars.close()
        stream.flush()
        text = os.read(leader, 65536).decode(errors="replace")
    os.close(leader)
    assert "sized" in text and "3/3" in text
