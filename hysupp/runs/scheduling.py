"""Where the chunks of a tiled run execute: Dask's local threaded scheduler or a ``dask.distributed``
cluster, given as ``scheduler=`` to :func:`hysupp.unmix_tiled` and :func:`hysupp.fuse_tiled`.

``scheduler`` is ``None`` (or ``"threads"``, ``"sync"``...: the local threaded scheduler), a
``distributed.Client``, a cluster (``LocalCluster(n_workers=2)``) or an address ``"tcp://host:8786"``
(reached within :data:`CONNECT_TIMEOUT_S`, else a clear error).

.. warning::
   Give only a scheduler you trust: Dask moves tasks and results between client, scheduler and
   workers as pickles, and unpickling runs code, so a hostile scheduler can run code on this
   machine (and this machine's tasks run on its workers).
:func:`open_client` turns it into a client once per run (and says whether the run must close it);
:func:`compute`, :func:`compute_array` and :func:`dask_scheduler` run work on it;
:func:`scheduler_name` is what the run record shows.

Example
-------
>>> import numpy as np
>>> import dask.array as dsa
>>> client, owned = open_client(None)
>>> client is None, owned, scheduler_name(None)
(True, False, 'threads')
>>> float(compute_array(dsa.ones((2, 3), chunks=2) * 2, None).sum())
12.0
"""

from __future__ import annotations

from typing import Any

import numpy as np

from hysupp.errors import InputError
from hysupp.io.xarray import require

__all__ = ["CONNECT_TIMEOUT_S", "LOCAL", "client_for", "connect", "compute", "compute_array", "dask_scheduler", "open_client", "scheduler_name"]

#: scheduler names that mean Dask's local threaded scheduler
LOCAL = ("threads", "threaded", "sync", "synchronous")
#: seconds to wait for a scheduler given by its address
CONNECT_TIMEOUT_S = 10.0


def client_for(scheduler: Any) -> Any:
    """A ``distributed.Client`` for ``scheduler`` (a Client, a cluster or an address), or None for
    the local threaded scheduler. A cluster or an address gives a *new* client (see :func:`open_client`)."""
    if scheduler is None or scheduler in LOCAL:
        return None
    distributed = require("distributed")
    if isinstance(scheduler, distributed.Client):
        return scheduler
    if hasattr(scheduler, "scheduler_address"):
        return distributed.Client(scheduler)
    if isinstance(scheduler, str):
        return connect(scheduler)
    raise InputError(f"scheduler must be None, 'threads', a distributed Client, a cluster or an address "
                     f"'tcp://host:port', got {scheduler!r}")


def connect(address: str, timeout: float | None = None) -> Any:
    """A ``distributed.Client`` of the scheduler at ``address``, or :class:`~hysupp.errors.InputError`
    when it cannot be reached within ``timeout`` seconds (default :data:`CONNECT_TIMEOUT_S`) or does
    not answer as a Dask scheduler.

    Only connect to a scheduler you trust: Dask sends pickled tasks and results between the client,
    the scheduler and the workers, and unpickling runs code."""
    distributed = require("distributed")
    timeout = CONNECT_TIMEOUT_S if timeout is None else timeout
    client = distributed.Client.__new__(distributed.Client)   # kept, to close it quietly if the connection fails
    try:
        client.__init__(address, set_as_default=False, timeout=timeout)
        return client
    except Exception as exc:  # noqa: BLE001 - OSError/TimeoutError, or garbage from something that is not Dask
        _discard(client)
        raise InputError(f"cannot connect to the Dask scheduler {address!r} within {timeout:g} s "
                         f"({type(exc).__name__}: {str(exc)[:200]}); check the address, that the scheduler runs "
                         f"and that you trust it (Dask ships pickled tasks)") from None


def _discard(client: Any) -> None:
    """Stop a client whose connection failed without waiting on the scheduler (its ``__del__`` would
    otherwise try a graceful close and time out with a traceback at exit)."""
    try:
        client.status = "closed"
        runner = getattr(client, "_loop_runner", None)
        if runner is not None:
            runner.stop()
    except Exception:  # noqa: BLE001 - best effort on a half-built object
        pass


def open_client(scheduler: Any) -> tuple[Any, bool]:
    """(client or None, whether this call created it and the caller must close it)."""
    client = client_for(scheduler)
    return client, client is not None and client is not scheduler


def scheduler_name(scheduler: Any) -> str:
    """``"threads"``, the scheduler's address, or the type name of a scheduler without one."""
    if scheduler is None or isinstance(scheduler, str):
        return scheduler or "threads"
    address = getattr(scheduler, "scheduler_address", None)
    if address is None and getattr(scheduler, "scheduler", None) is not None:
        address = getattr(scheduler.scheduler, "address", None)   # a distributed.Client
    return address or type(scheduler).__name__


def dask_scheduler(client: Any) -> Any:
    """The ``scheduler=`` argument of ``dask.compute`` for ``client`` (None: local threads)."""
    return client if client is not None else "threads"


def compute(tasks: list[Any], client: Any) -> list[Any]:
    """The results of dask collections / delayed ``tasks`` on ``client`` (None: local threads)."""
    import dask

    if client is not None:
        return client.gather(client.compute(tasks))
    return list(dask.compute(*tasks, scheduler="threads"))


def compute_array(array: Any, scheduler: Any = None) -> np.ndarray:
    """A lazy dask array as a NumPy array, computed on ``scheduler`` (threads by default)."""
    client, owned = open_client(scheduler)
    try:
        if client is not None:
            return np.asarray(client.compute(array).result())
        return np.asarray(array.compute(scheduler="threads"))
    finally:
        if owned:
            client.close()
