"""Where a batch's instances run: behind one small interface, a local process pool or Ray.

    executor = make_executor("local", workers=2)          # or "ray", "ray://HOST:10001"
    future = executor.submit(task)                        # concurrent.futures.Future[InstanceResult]
    executor.events()                                     # [BatchEvent] the workers reported since
    executor.cancel()                                     # in-flight instances stop (containers removed)
    executor.close()

The driver (swebench_runner.runner) decides what to submit and when; an executor only runs
`task.run_instance` somewhere and carries its progress events back.

- `local`: a pool of `workers` processes (spawned, not forked: the driver holds threads and Docker
  connections). Workers ignore Ctrl-C (the driver decides), turn SIGTERM into KeyboardInterrupt so
  that an instance unwinds and removes its container, and get SIGTERM when the driver dies
  (Linux), so a killed run leaves no worker behind.
- `ray[://ADDRESS]`: one Ray task per instance (1 CPU each). `ray` starts a local Ray instance
  with `workers` CPUs; `ray://HOST:PORT` connects to a cluster through the Ray client, whose nodes
  each need Docker, patchwright, and the same --mirrors/--specs paths. Needs `patchwright[ray]`.
"""

from __future__ import annotations

import ctypes
import logging
import multiprocessing
import os
import queue as queue_mod
import signal
import sys
from abc import ABC, abstractmethod
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any

from sandbox.errors import UserError

from .events import BatchEvent
from .task import InstanceResult, InstanceTask, run_instance

MAX_EVENTS = 500
"""Events taken per poll (the rest wait for the next one)."""


class Executor(ABC):
    """Runs instances somewhere; see the module's docstring."""

    name: str
    workers: int

    @abstractmethod
    def submit(self, task: InstanceTask) -> Future:
        """Start one instance; the future's result is an InstanceResult."""

    @abstractmethod
    def events(self) -> list[BatchEvent]:
        """The progress events reported by the workers since the last call (never blocks)."""

    @abstractmethod
    def cancel(self) -> None:
        """Stop the instances in flight: each unwinds (its container removed) and is lost."""

    @abstractmethod
    def close(self) -> None:
        """Release the workers (waits for nothing still running: cancel first)."""

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def parse_executor(spec: str) -> tuple[str, str | None]:
    """(`local` or `ray`, the Ray address or None); a UserError for anything else."""
    spec = (spec or "local").strip()
    if spec in ("local", "ray"):
        return spec, None
    if spec.startswith("ray://") and len(spec) > len("ray://"):
        return "ray", spec
    raise UserError(f"unknown --executor {spec!r}: use local, ray, or ray://HOST:PORT")


def make_executor(spec: str, workers: int) -> Executor:
    """`local` (the default), `ray` (a local Ray instance) or `ray://ADDRESS` (a Ray cluster)."""
    kind, address = parse_executor(spec)
    return LocalPool(workers) if kind == "local" else RayExecutor(address, workers)


# -- the local process pool -------------------------------------------------------------------------

_events: Any = None
_busy = False
_terminated = False


def _on_term(signum, frame):
    global _terminated
    _terminated = True
    if _busy:  # unwind the instance (its container is removed on the way out), then exit
        raise KeyboardInterrupt
    sys.exit(0)


def _init_worker(events) -> None:
    global _events
    _events = events
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _on_term)
    if sys.platform.startswith("linux"):
        try:  # SIGTERM when the driver dies, even by SIGKILL
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
        except OSError:
            pass


def _report(event: BatchEvent) -> None:
    try:
        _events.put_nowait(event)
    except Exception:  # progress must never break a run
        pass


def _pool_run(task: InstanceTask) -> InstanceResult:
    global _busy
    _busy = True
    try:
        return run_instance(task, _report)
    finally:
        _busy = False
        if _terminated:  # the driver is gone or cancelling: do not wait for more work
            os._exit(143)


class LocalPool(Executor):
    name = "local"

    def __init__(self, workers: int):
        self.workers = max(1, workers)
        ctx = multiprocessing.get_context("spawn")
        self._queue = ctx.Queue()
        self._pool = ProcessPoolExecutor(self.workers, mp_context=ctx, initializer=_init_worker,
                                         initargs=(self._queue,))

    def submit(self, task: InstanceTask) -> Future:
        return self._pool.submit(_pool_run, task)

    def events(self) -> list[BatchEvent]:
        out: list[BatchEvent] = []
        while len(out) < MAX_EVENTS:
            try:
                out.append(self._queue.get_nowait())
            except (queue_mod.Empty, OSError, ValueError):
                break
        return out

    def cancel(self) -> None:
        for p in list((getattr(self._pool, "_processes", None) or {}).values()):
            if p.is_alive():
                p.terminate()  # SIGTERM: the instance unwinds and removes its container
        self._pool.shutdown(wait=True, cancel_futures=True)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._queue.close()
        self._queue.join_thread()


# -- Ray ----------------------------------------------------------------------------------------------

def _ray_run(task: InstanceTask, events) -> InstanceResult:
    def report(event: BatchEvent) -> None:
        try:
            events.put_nowait(event)
        except Exception:  # progress must never break a run
            pass

    return run_instance(task, report)


class RayExecutor(Executor):
    name = "ray"

    def __init__(self, address: str | None, workers: int):
        try:
            # ray is optional and loads slowly: imported when the Ray executor runs
            # ray is optional and loads slowly: imported when the Ray executor runs
            import ray
            from ray.util.queue import Queue
        except ImportError:
            raise UserError("--executor ray needs Ray: pip install 'patchwright[ray]'") from None
        self.workers = max(1, workers)
        self.address = address
        self._ray = ray
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # no usage report leaves the machine unasked
        try:
            if address:
                ray.init(address=address, log_to_driver=False, logging_level=logging.ERROR)
            else:
                ray.init(num_cpus=self.workers, include_dashboard=False, log_to_driver=False,
                         logging_level=logging.ERROR)
        except Exception as exc:
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
            raise UserError(f"cannot start Ray{' at ' + address if address else ''}: {first}") from None
        self._queue = Queue()
        self._remote = ray.remote(num_cpus=1, max_retries=0)(_ray_run)
        self._refs: set = set()
        """The instances in flight."""

    def submit(self, task: InstanceTask) -> Future:
        ref = self._remote.remote(task, self._queue)
        self._refs.add(ref)
        fut = ref.future()
        fut.add_done_callback(lambda _f: self._refs.discard(ref))
        return fut

    def events(self) -> list[BatchEvent]:
        out: list[BatchEvent] = []
        while len(out) < MAX_EVENTS:
            try:
                out.append(self._queue.get_nowait())
            except Exception:  # Empty, or the queue's actor is gone
                break
        return out

    def cancel(self) -> None:
        refs = list(self._refs)
        for ref in refs:
            try:
                self._ray.cancel(ref)  # KeyboardInterrupt in the task: it unwinds and removes its container
            except Exception:
                pass
        for ref in refs:
            try:
                self._ray.get(ref, timeout=60)
            except Exception:  # cancelled, or failed: either way it is over
                pass
        self._refs.clear()

    def close(self) -> None:
        self._ray.shutdown()
