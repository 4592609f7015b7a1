"""Measuring methods the same way in every evaluation: wall time with the device synchronized, the
median of repeated runs, the time per pass of repeated network passes, and peak memory.

Peak memory is what a method needs beyond what was held before it started: on CUDA the allocator's
peak (``torch.cuda.max_memory_allocated``), on the CPU the peak of the process's resident set size,
sampled every millisecond by a thread (so a spike shorter than that can be missed), after freed
memory was handed back to the OS.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

import psutil
import torch
from torch.utils import benchmark

__all__ = ["PeakMemory", "clock", "median_run", "pass_seconds", "timed"]

T = TypeVar("T")


def clock(device: torch.device) -> float:
    """``time.perf_counter()`` once the work queued on ``device`` has finished (CUDA synchronized)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter()


def timed(device: torch.device, fn: Callable[[], T]) -> tuple[T, float]:
    """``fn()`` and its wall seconds, the device synchronized before and after: one call, for work
    that runs once (a set-up, a solve)."""
    start = clock(device)
    value = fn()
    return value, clock(device) - start


def pass_seconds(fn: Callable[[], Any], repeats: int) -> float:
    """Seconds per call of ``fn``, a pass without side effects (a network's forward pass):
    `torch.utils.benchmark.Timer` calls it twice to warm up, then ``repeats`` times back to back,
    with the accelerator synchronized at both clock reads and torch's current number of CPU threads."""
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, got {repeats}")
    timer = benchmark.Timer(stmt="fn()", globals={"fn": fn}, num_threads=torch.get_num_threads())
    return timer.timeit(repeats).mean


def median_run(once: Callable[[], T], repeats: int, key: Callable[[T], float]) -> T:
    """Of ``repeats`` calls of ``once``, the result of median ``key`` (a time; with an even number
    of calls the upper of the two middle ones): the one repeated-timing rule of every solve."""
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, got {repeats}")
    return sorted((once() for _ in range(repeats)), key=key)[repeats // 2]


def _return_freed_memory() -> None:
    """Hand memory freed by earlier work back to the OS (glibc's ``malloc_trim``), so that the next
    method's resident-set growth counts what it allocates rather than what it reuses."""
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):  # not glibc: the measure is a lower bound
        ctypes.CDLL("libc.so.6").malloc_trim(0)


class PeakMemory:
    """Context manager: ``.bytes`` is the peak memory used inside it beyond what was in use before."""

    def __init__(self, device: torch.device):
        self.device, self.bytes = device, 0

    def __enter__(self) -> PeakMemory:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
            self.held = torch.cuda.memory_allocated(self.device)
        else:
            _return_freed_memory()
            self.process = psutil.Process()
            self.held = self.peak = self.process.memory_info().rss
            self.done = threading.Event()
            self.sampler = threading.Thread(target=self._sample, daemon=True)
            self.sampler.start()
        return self

    def _sample(self) -> None:
        while not self.done.wait(0.001):
            self.peak = max(self.peak, self.process.memory_info().rss)

    def __exit__(self, *exc: object) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            self.bytes = torch.cuda.max_memory_allocated(self.device) - self.held
        else:
            self.done.set()
            self.sampler.join()
            self.bytes = max(self.peak, self.process.memory_info().rss) - self.held
