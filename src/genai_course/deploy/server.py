"""A text-to-image HTTP endpoint from the standard library: a queue, a batching worker, JSON in and out.

``POST /generate`` with ``{"prompts": ["a red circle", ...], "seed": 0, "timeout_ms": 2000}`` answers
``{"images": [<base64 PNG>, ...], "queue_ms", "compute_ms", "batch_images"}``; ``GET /health`` answers
``{"status": "ok", ...}``. Every error is JSON, ``{"error": <what went wrong>, "status": <code>}``.

The mechanics, in three pieces:

- :class:`ThreadingHTTPServer` gives every connection its own thread. A handler thread parses and
  validates the request (4xx on the spot), puts it on the queue and waits for its answer.
- one worker thread owns the model. It takes the oldest request, then keeps taking requests until
  the batch holds ``max_batch`` images or ``max_wait_ms`` has passed since it began collecting, runs
  them as ONE forward pass and hands each request its images. This is the dynamic batching that
  serving systems such as vLLM do at a finer grain {cite}`kwon2023pagedattention`: the model's cost
  grows much more slowly than the batch, so waiting a few milliseconds for company pays.
- a deadline per request: one still queued when its ``timeout_ms`` runs out is answered 504 and
  never computed; a full queue answers 503 at once (back-pressure instead of an ever-longer wait).
  Neither touches the worker, so a timeout never takes the server down.

The model is any ``model_fn(prompts: list[str], seeds: list[int]) -> images (b 3 h w) in [0, 1]``;
:func:`dalle_model` wraps the shipped DALL·E 1 {cite}`ramesh2021dalle`, :func:`stub_model` is a fast
stand-in for tests. Binds 127.0.0.1 only: this is a teaching server, not one to expose.
"""

from __future__ import annotations

import base64
import io
import json
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import torch

ModelFn = Callable[[list, list], torch.Tensor]

MAX_SEED = 2**31 - 1


class RequestError(Exception):
    """A request the server refuses: an HTTP status and a message for the client."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(eq=False)  # compared by identity: the queue removes this very request
class Pending:
    """One queued request: its prompts and seed, when it must be answered by, and (later) its answer."""

    prompts: list
    seed: int
    deadline: float  # time.monotonic() after which it is answered 504 instead of computed
    enqueued: float = field(default_factory=time.monotonic)
    done: threading.Event = field(default_factory=threading.Event)
    images: torch.Tensor | None = None  # (n 3 h w), set by the worker
    error: RequestError | None = None
    queue_ms: float = 0.0
    compute_ms: float = 0.0
    batch_images: int = 0


def row_seeds(seed: int, n: int) -> list[int]:
    """The seed of each of a request's n pictures: the same as ``dalle.text_to_image(prompts, seed)`` uses,
    so a picture depends on its request, never on which other requests shared its batch."""
    from ..dalle.transformer import row_seed

    return [row_seed(seed, i) for i in range(n)]


def dalle_model(device=None, temperature: float = 1.0) -> ModelFn:
    """The shipped DALL·E 1 and VQ-VAE, loaded once, as ``model_fn(prompts, seeds) -> (b 3 32 32)``."""
    from ..dalle.pretrained import load_dalle, load_vqvae
    from ..dalle.transformer import sample_codes
    from ..data.scene_prompts import tokenize
    from ..utils import pick_device

    device = pick_device(device)
    model, vqvae = load_dalle(device), load_vqvae(device)

    @torch.no_grad()
    def model_fn(prompts: list, seeds: list) -> torch.Tensor:
        codes = sample_codes(model, tokenize(prompts), seeds, temperature=temperature)  # (b 8 8)
        images = vqvae.decode(codes.to(vqvae.quantizer.codebook.device))  # (b 3 32 32) in [-1, 1]
        return ((images + 1) / 2).clamp(0, 1).cpu()

    return model_fn


def stub_model(seconds_per_batch: float = 0.0, seconds_per_image: float = 0.0, size: int = 8) -> ModelFn:
    """A stand-in model for tests: grey images whose brightness is the seed mod 256, after a sleep of
    ``seconds_per_batch + seconds_per_image · b`` (the shape of a real model's cost)."""

    def model_fn(prompts: list, seeds: list) -> torch.Tensor:
        time.sleep(seconds_per_batch + seconds_per_image * len(prompts))
        level = torch.tensor([s % 256 for s in seeds], dtype=torch.float32) / 255
        return level.view(-1, 1, 1, 1).expand(len(prompts), 3, size, size).clone()

    return model_fn


def encode_png(image: torch.Tensor) -> str:
    """An image (3 h w) in [0, 1] → base64 text of its PNG file."""
    from PIL import Image

    array = (image.clamp(0, 1) * 255).round().byte().permute(1, 2, 0).numpy()  # (h w 3) uint8
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def decode_png(text: str) -> torch.Tensor:
    """Inverse of :func:`encode_png`: base64 PNG text → (3 h w) float in [0, 1]."""
    import numpy as np
    from PIL import Image

    array = np.array(Image.open(io.BytesIO(base64.b64decode(text))).convert("RGB"))
    return torch.from_numpy(array).permute(2, 0, 1).float() / 255


def scene_grammar_check(prompt: str) -> None:
    """The default prompt validator: the scene grammar's parser (raises ValueError naming the bad word)."""
    from ..data.scene_prompts import parse_prompt

    parse_prompt(prompt)


@dataclass(frozen=True)
class Limits:
    """What the server accepts and how it batches."""

    max_batch: int = 16  # images per forward pass; 1 turns batching off
    max_wait_ms: float = 10.0  # longest a batch waits for company after its first request
    max_prompts: int = 8  # per request
    max_body_bytes: int = 16_384
    max_queue: int = 256  # requests waiting; beyond this, 503 at once
    default_timeout_ms: float = 5_000.0
    max_timeout_ms: float = 60_000.0

    def __post_init__(self):
        for name in ("max_batch", "max_prompts", "max_body_bytes", "max_queue"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be an int ≥ 1, got {value!r}")
        if self.max_prompts > self.max_batch:
            raise ValueError(f"max_prompts ({self.max_prompts}) must be ≤ max_batch ({self.max_batch})")
        if not self.max_wait_ms >= 0:
            raise ValueError(f"max_wait_ms must be ≥ 0, got {self.max_wait_ms!r}")


def parse_request(body: bytes, limits: Limits, validate: Callable[[str], None], prompt_filter=None) -> dict:
    """The JSON body of ``POST /generate`` → ``{"prompts", "seed", "timeout_ms"}``, or RequestError.

    400: not JSON, not an object, or a prompt the ``prompt_filter`` blocks; 422: a field missing, of the
    wrong type or out of range, or a prompt ``validate`` rejects (its message is passed on).
    """
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise RequestError(400, f"body is not valid JSON: {err}") from None
    if not isinstance(data, dict):
        raise RequestError(400, f"body must be a JSON object, got {type(data).__name__}")
    unknown = sorted(set(data) - {"prompts", "seed", "timeout_ms"})
    if unknown:
        raise RequestError(422, f"unknown field(s) {unknown}; expected 'prompts', optional 'seed' and 'timeout_ms'")
    if "prompts" not in data:
        raise RequestError(422, "missing field 'prompts': a list of 1 to N prompt strings")
    prompts = data["prompts"]
    if not isinstance(prompts, list) or not all(isinstance(p, str) for p in prompts):
        raise RequestError(422, f"'prompts' must be a list of strings, got {json.dumps(prompts)[:80]}")
    if not 1 <= len(prompts) <= limits.max_prompts:
        raise RequestError(422, f"'prompts' must hold 1 to {limits.max_prompts} prompts, got {len(prompts)}")
    seed = data.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise RequestError(422, f"'seed' must be an int in [0, {MAX_SEED}], got {seed!r}")
    timeout_ms = data.get("timeout_ms", limits.default_timeout_ms)
    if isinstance(timeout_ms, bool) or not isinstance(timeout_ms, (int, float)):
        raise RequestError(422, f"'timeout_ms' must be a number, got {timeout_ms!r}")
    if not 0 < timeout_ms <= limits.max_timeout_ms:
        raise RequestError(422, f"'timeout_ms' must be in (0, {limits.max_timeout_ms:g}], got {timeout_ms!r}")
    for i, prompt in enumerate(prompts):
        if prompt_filter is not None:  # the policy first: a blocked prompt is refused whatever its grammar
            verdict = prompt_filter(prompt)
            if verdict.blocked:
                raise RequestError(400, f"prompt {i} blocked by the content policy (rule: {verdict.rule})")
        try:
            validate(prompt)
        except ValueError as err:
            raise RequestError(422, f"prompt {i}: {err}") from None
    return {"prompts": prompts, "seed": seed, "timeout_ms": float(timeout_ms)}


def _shape(x) -> str:
    return str(tuple(x.shape)) if isinstance(x, torch.Tensor) else type(x).__name__


class Batcher:
    """The queue and the one worker thread that owns the model (see the module docstring)."""

    def __init__(self, model_fn: ModelFn, limits: Limits):
        self.model_fn, self.limits = model_fn, limits
        self.queue: deque[Pending] = deque()
        self.cond = threading.Condition()
        self.stopping = False
        self.batch_sizes: Counter = Counter()  # images per forward pass → how many passes
        self.thread = threading.Thread(target=self._run, name="batcher", daemon=True)
        self.thread.start()

    def submit(self, item: Pending) -> None:
        with self.cond:
            if self.stopping:
                raise RequestError(503, "server is shutting down")
            if len(self.queue) >= self.limits.max_queue:
                raise RequestError(503, f"server busy: {len(self.queue)} requests already queued; retry later")
            self.queue.append(item)
            self.cond.notify()

    def cancel(self, item: Pending) -> bool:
        """Take a request off the queue (its deadline passed); False when the worker already has it."""
        with self.cond:
            try:
                self.queue.remove(item)
            except ValueError:
                return False
            return True

    def _expire(self, item: Pending, now: float) -> None:
        waited = 1000 * (now - item.enqueued)
        item.error = RequestError(504, f"request timed out after waiting {waited:.0f} ms in the queue")
        item.done.set()

    def _pop_live(self, now: float) -> Pending | None:
        """The oldest queued request still inside its deadline; expired ones on the way are answered 504."""
        while self.queue:
            item = self.queue.popleft()
            if now > item.deadline:
                self._expire(item, now)
            else:
                return item
        return None

    def next_batch(self) -> list[Pending]:
        """Block until a request arrives, then collect until max_batch images or max_wait_ms; [] when stopping."""
        with self.cond:
            first = None
            while first is None:
                if self.stopping:
                    return []
                first = self._pop_live(time.monotonic())
                if first is None:
                    self.cond.wait(timeout=0.1)
            batch, n = [first], len(first.prompts)
            close_at = time.monotonic() + self.limits.max_wait_ms / 1000
            while n < self.limits.max_batch and not self.stopping:
                now = time.monotonic()
                if self.queue:
                    if n + len(self.queue[0].prompts) > self.limits.max_batch:
                        break  # it would overflow the batch: it leads the next one instead
                    item = self._pop_live(now)
                    if item is not None:
                        batch.append(item)
                        n += len(item.prompts)
                    continue
                if now >= close_at:
                    break
                self.cond.wait(timeout=close_at - now)
            return batch

    def _run(self) -> None:
        while True:
            batch = self.next_batch()
            if not batch:
                return
            started = time.monotonic()
            prompts = [p for item in batch for p in item.prompts]
            seeds = [s for item in batch for s in row_seeds(item.seed, len(item.prompts))]
            try:
                images = self.model_fn(prompts, seeds)  # (b 3 h w), b = all images of the batch
                if not isinstance(images, torch.Tensor) or images.dim() != 4 or len(images) != len(prompts):
                    raise ValueError(f"expected images (b 3 h w) with b = {len(prompts)}, got {_shape(images)}")
                error = None
            except Exception as err:  # a failing model answers 500 for this batch; the worker lives on
                images, error = None, RequestError(500, f"model failed: {type(err).__name__}: {err}")
            compute_ms = 1000 * (time.monotonic() - started)
            self.batch_sizes[len(prompts)] += 1
            start = 0
            for item in batch:
                n = len(item.prompts)
                if error is None:
                    item.images = images[start : start + n]
                item.error = error
                item.queue_ms, item.compute_ms, item.batch_images = (
                    1000 * (started - item.enqueued),
                    compute_ms,
                    len(prompts),
                )
                start += n
                item.done.set()

    def stop(self, timeout: float = 5.0) -> None:
        with self.cond:
            self.stopping = True
            while self.queue:
                item = self.queue.popleft()
                item.error = RequestError(503, "server is shutting down")
                item.done.set()
            self.cond.notify_all()
        self.thread.join(timeout)


def _make_handler(batcher: Batcher, limits: Limits, validate, prompt_filter, statuses: Counter, lock):
    class Handler(BaseHTTPRequestHandler):
        server_version = "GenAICourse/1.0"

        def log_message(self, format, *args):  # quiet: the status counter is the log
            pass

        def _send(self, status: int, payload: dict, headers: dict | None = None) -> None:
            body = json.dumps(payload).encode("utf-8")
            with lock:  # counted before the client can see the answer, so a client's next look sees it
                statuses[status] += 1
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(body)

        def _error(self, err: RequestError, headers: dict | None = None) -> None:
            self._send(err.status, {"error": err.message, "status": err.status}, headers)

        def do_GET(self):
            if self.path == "/health":
                queued = len(batcher.queue)
                self._send(200, {"status": "ok", "queued": queued, "max_batch": limits.max_batch})
            elif self.path == "/generate":
                self._error(RequestError(405, "use POST for /generate"), {"Allow": "POST"})
            else:
                self._error(RequestError(404, f"no such path {self.path!r}; try POST /generate or GET /health"))

        def do_POST(self):
            if self.path == "/health":
                self._error(RequestError(405, "use GET for /health"), {"Allow": "GET"})
                return
            if self.path != "/generate":
                self._error(RequestError(404, f"no such path {self.path!r}; try POST /generate or GET /health"))
                return
            try:
                self._send(200, self._generate())
            except RequestError as err:
                self._error(err)

        do_PUT = do_DELETE = do_PATCH = lambda self: self._error(  # noqa: E731
            RequestError(405, f"method {self.command} not allowed"), {"Allow": "GET, POST"}
        )

        def _generate(self) -> dict:
            length = self.headers.get("Content-Length")
            if length is None or not length.isdigit():
                raise RequestError(411, "a Content-Length header is required")
            if int(length) > limits.max_body_bytes:
                self.close_connection = True  # unread body: do not reuse this connection
                raise RequestError(413, f"body of {length} bytes exceeds the limit of {limits.max_body_bytes}")
            request = parse_request(self.rfile.read(int(length)), limits, validate, prompt_filter)
            item = Pending(request["prompts"], request["seed"], time.monotonic() + request["timeout_ms"] / 1000)
            batcher.submit(item)
            if not item.done.wait(timeout=max(0.0, item.deadline - time.monotonic())) and batcher.cancel(item):
                raise RequestError(504, f"request timed out after waiting {request['timeout_ms']:g} ms in the queue")
            if not item.done.wait(timeout=60.0):  # it is being computed: one batch's time at most
                raise RequestError(504, "no answer from the model in time")
            if item.error is not None:
                raise item.error
            return {
                "images": [encode_png(image) for image in item.images],
                "queue_ms": round(item.queue_ms, 2),
                "compute_ms": round(item.compute_ms, 2),
                "batch_images": item.batch_images,
            }

    return Handler


class _Server(ThreadingHTTPServer):
    request_queue_size = 128  # listen backlog: a burst of clients must not overflow the default 5
    daemon_threads = True


class ServerHandle:
    """A running server: ``.url``, ``.stop()``, and counters ``.statuses`` (HTTP code → count) and
    ``.batch_sizes`` (images per forward pass → count). Also a context manager that stops on exit."""

    def __init__(self, httpd: ThreadingHTTPServer, batcher: Batcher, statuses: Counter):
        self.httpd, self.batcher, self.statuses = httpd, batcher, statuses
        host, port = httpd.server_address[:2]
        self.url = f"http://{host}:{port}"
        self.thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    @property
    def batch_sizes(self) -> Counter:
        return self.batcher.batch_sizes

    def stop(self) -> None:
        """Stop accepting, answer anything still queued with 503, and join both threads."""
        self.httpd.shutdown()
        self.httpd.server_close()
        self.batcher.stop()
        self.thread.join(5.0)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def start_server(
    model_fn: ModelFn,
    port: int = 0,
    limits: Limits | None = None,
    validate: Callable[[str], None] = scene_grammar_check,
    prompt_filter=None,
    **limit_overrides,
) -> ServerHandle:
    """Serve ``model_fn`` on 127.0.0.1:``port`` (0: a free port) in background threads; returns the handle.

    ``limits`` or keyword overrides of :class:`Limits` (``max_batch=1`` turns batching off);
    ``validate(prompt)`` raises ValueError for a prompt the model cannot take (422);
    ``prompt_filter(prompt)`` returns a verdict with ``.blocked`` and ``.rule``, e.g. a
    :class:`~genai_course.deploy.guardrails.PromptFilter` (blocked: 400).
    """
    if not callable(model_fn):
        raise TypeError(f"model_fn must be callable (prompts, seeds) -> images, got {type(model_fn).__name__}")
    limits = limits if limits is not None else Limits(**limit_overrides)
    statuses, lock = Counter(), threading.Lock()
    batcher = Batcher(model_fn, limits)
    handler = _make_handler(batcher, limits, validate, prompt_filter, statuses, lock)
    try:
        httpd = _Server(("127.0.0.1", port), handler)
    except OSError:
        batcher.stop()
        raise
    return ServerHandle(httpd, batcher, statuses)
