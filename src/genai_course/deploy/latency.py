"""Timing a model the way a latency budget needs it: many calls, the median and the tail.

- :func:`percentile`: the nearest-rank percentile, the one serving dashboards report: an actual
  measured time, never an interpolation between two.
- :func:`measure_latency`: call a function ``repeats`` times after ``warmup`` untimed calls →
  :class:`Latency` (every time, p50, p95, mean).
- :func:`batching_sweep`: one batch of b requests per call, for several b → per-request latency
  (everyone in a batch waits for the whole batch) and throughput (requests answered per second).

Times are wall-clock seconds from ``time.perf_counter``; on a GPU each call is bracketed by
``torch.cuda.synchronize`` (through :func:`genai_course.utils.timer`), so queued kernels are counted.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ..utils import timer


def percentile(times: Sequence[float], q: float) -> float:
    """Nearest-rank q-th percentile (0 < q ≤ 100): the ⌈q/100 · n⌉-th smallest of the n times."""
    values = sorted(float(t) for t in times)
    if not values:
        raise ValueError("need at least one time to take a percentile of")
    if not 0 < q <= 100:
        raise ValueError(f"q must be in (0, 100] (a percentage), got {q}")
    rank = math.ceil(q / 100 * len(values))  # 1-based: the smallest value with at least q % of the times ≤ it
    return values[rank - 1]


@dataclass
class Latency:
    """The measured times of repeated calls (seconds), with the summaries a budget is written in (ms)."""

    times: list[float]

    @property
    def p50_ms(self) -> float:
        return percentile(self.times, 50) * 1000

    @property
    def p95_ms(self) -> float:
        return percentile(self.times, 95) * 1000

    @property
    def mean_ms(self) -> float:
        return sum(self.times) / len(self.times) * 1000

    def __repr__(self) -> str:
        return f"Latency(n={len(self.times)}, p50={self.p50_ms:.1f} ms, p95={self.p95_ms:.1f} ms)"


def measure_latency(fn: Callable[[], object], repeats: int = 10, warmup: int = 1) -> Latency:
    """Call ``fn()`` ``warmup`` times untimed (first calls pay for allocation and caches), then time
    ``repeats`` calls one by one → :class:`Latency`."""
    if not callable(fn):
        raise TypeError(f"fn must be a callable taking no arguments, got {type(fn).__name__}")
    if repeats < 1 or warmup < 0:
        raise ValueError(f"need repeats ≥ 1 and warmup ≥ 0, got repeats={repeats}, warmup={warmup}")
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        with timer() as elapsed:
            fn()
        times.append(elapsed())
    return Latency(times)


def batching_sweep(
    run_batch: Callable[[int], object], batch_sizes: Sequence[int], repeats: int = 3, warmup: int = 1
) -> list[dict]:
    """Time ``run_batch(b)`` (serve b requests at once) for each b → rows of
    ``{"batch": b, "latency_ms": p50 per call, "throughput": b / p50 requests per second}``."""
    rows = []
    for b in batch_sizes:
        if not isinstance(b, int) or b < 1:
            raise ValueError(f"batch sizes must be positive integers, got {b!r}")
        lat = measure_latency(lambda b=b: run_batch(b), repeats, warmup)
        rows.append({"batch": b, "latency_ms": lat.p50_ms, "throughput": b / (lat.p50_ms / 1000)})
    return rows
