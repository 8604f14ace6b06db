"""A load test from the standard library: N client threads, each sending requests one after another.

Each client is "closed loop": it sends its next request when the previous answer arrives, the way
a fixed pool of users (or upstream workers) behaves. Throughput is images answered per second of
wall time; latency is measured per request at the client, so it includes queueing, batching,
compute, PNG encoding and the HTTP round trip.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field

import numpy as np


def post(url: str, body, timeout: float = 30.0, raw: bool = False, method: str = "POST") -> tuple[int, dict, float]:
    """Send ``body`` (JSON-encoded unless ``raw`` bytes) → (HTTP status, decoded JSON answer, seconds)."""
    data = body if raw else json.dumps(body).encode("utf-8")
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    start = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, text = response.status, response.read()
    except urllib.error.HTTPError as err:  # 4xx/5xx still carry the server's JSON
        status, text = err.code, err.read()
    seconds = time.perf_counter() - start
    try:
        payload = json.loads(text)
    except json.JSONDecodeError:
        payload = {"error": text.decode("utf-8", "replace")}
    return status, payload, seconds


@dataclass
class LoadResult:
    """What :func:`run_load` saw: per request the status and latency, and the wall time of the whole run."""

    statuses: list = field(default_factory=list)
    latencies: list = field(default_factory=list)  # seconds, same order as statuses
    errors: list = field(default_factory=list)  # (status, message) of every answer that was not 200
    images: int = 0  # images in 200 answers
    wall_seconds: float = 0.0

    @property
    def throughput(self) -> float:
        """Images answered per second of wall time."""
        return self.images / self.wall_seconds if self.wall_seconds > 0 else 0.0

    def percentile_ms(self, q: float) -> float:
        """The q-th percentile (0–100) of the latency of answered-200 requests, in ms."""
        ok = [t for s, t in zip(self.statuses, self.latencies, strict=True) if s == 200]
        return float(np.percentile(ok, q) * 1000) if ok else float("nan")


def run_load(url: str, bodies: list, n_clients: int, timeout: float = 30.0) -> LoadResult:
    """Send every body in ``bodies`` to ``url`` from ``n_clients`` threads sharing the list; wait for all.

    Client c sends bodies c, c + n_clients, c + 2·n_clients, ... in order. Never hangs longer than
    ``timeout`` per request (urllib's socket timeout); a connection failure counts as status 0.
    """
    if not isinstance(n_clients, int) or n_clients < 1:
        raise ValueError(f"n_clients must be an int ≥ 1, got {n_clients!r}")
    result, lock = LoadResult(), threading.Lock()

    def client(c: int) -> None:
        for body in bodies[c::n_clients]:
            try:
                status, payload, seconds = post(url, body, timeout=timeout)
            except OSError as err:  # refused, reset or timed out: the server did not answer
                status, payload, seconds = 0, {"error": f"{type(err).__name__}: {err}"}, timeout
            with lock:
                result.statuses.append(status)
                result.latencies.append(seconds)
                if status == 200:
                    result.images += len(payload.get("images", []))
                else:
                    result.errors.append((status, payload.get("error", "")))

    threads = [threading.Thread(target=client, args=(c,), daemon=True) for c in range(n_clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout * (len(bodies) // n_clients + 2))
    result.wall_seconds = time.perf_counter() - start
    return result
