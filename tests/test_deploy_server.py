"""The batching HTTP server: good requests are answered, bad ones get the right 4xx, timeouts do not kill it.

Every server binds a fresh port (port 0) and is stopped by its context manager; every client call has
a socket timeout, so a broken server fails a test instead of hanging it.
"""

import threading
import time
import urllib.request

import pytest
import torch

from genai_course.deploy.guardrails import PromptFilter
from genai_course.deploy.load_test import post, run_load
from genai_course.deploy.server import Limits, decode_png, encode_png, row_seeds, start_server, stub_model

TIMEOUT = 10.0


def generate(server, body, **kwargs):
    return post(server.url + "/generate", body, timeout=TIMEOUT, **kwargs)


@pytest.fixture
def server():
    with start_server(stub_model(seconds_per_batch=0.02), max_batch=16, max_wait_ms=20, max_prompts=4) as handle:
        yield handle


def test_good_request_answers_images_and_timings(server):
    status, payload, _ = generate(server, {"prompts": ["a red circle", "two blue squares"], "seed": 3})
    assert status == 200, payload
    assert len(payload["images"]) == 2 and payload["batch_images"] >= 2
    assert payload["compute_ms"] > 0 and payload["queue_ms"] >= 0
    image = decode_png(payload["images"][1])
    assert image.shape == (3, 8, 8)
    assert abs(image[0, 0, 0].item() - (row_seeds(3, 2)[1] % 256) / 255) < 1e-6  # the stub paints its seed


def test_png_roundtrip_is_exact_on_8_bit_values():
    image = torch.randint(0, 256, (3, 5, 7)).float() / 255
    assert torch.equal(decode_png(encode_png(image)), image)


def test_health(server):
    status, payload, _ = post(server.url + "/health", None, timeout=TIMEOUT, method="GET")
    assert status == 200 and payload["status"] == "ok" and payload["max_batch"] == 16


def test_concurrent_requests_are_batched(server):
    bodies = [{"prompts": ["a red circle"], "seed": i} for i in range(32)]
    result = run_load(server.url + "/generate", bodies, n_clients=16, timeout=TIMEOUT)
    assert result.statuses == [200] * 32 and result.images == 32
    assert max(server.batch_sizes) > 1  # 16 clients at once: some forward passes served several requests
    assert sum(k * v for k, v in server.batch_sizes.items()) == 32


@pytest.mark.parametrize(
    "body, status, words",
    [
        (b"{not json", 400, "not valid JSON"),
        (b"[1, 2]", 400, "JSON object"),
        (b'{"seed": 1}', 422, "missing field 'prompts'"),
        (b'{"prompts": "a red circle"}', 422, "list of strings"),
        (b'{"prompts": [1]}', 422, "list of strings"),
        (b'{"prompts": []}', 422, "1 to 4 prompts"),
        (
            b'{"prompts": ["a red circle", "a red circle", "a red circle", "a red circle", "a red circle"]}',
            422,
            "1 to 4",
        ),
        (b'{"prompts": ["a red banana"]}', 422, "unknown word 'banana'"),
        (b'{"prompts": ["red circle a"]}', 422, "must start with a count"),
        (b'{"prompts": ["a red circle"], "seed": -1}', 422, "'seed'"),
        (b'{"prompts": ["a red circle"], "seed": true}', 422, "'seed'"),
        (b'{"prompts": ["a red circle"], "timeout_ms": "soon"}', 422, "'timeout_ms'"),
        (b'{"prompts": ["a red circle"], "colour": "red"}', 422, "unknown field"),
    ],
)
def test_bad_requests_get_clear_4xx(server, body, status, words):
    got, payload, _ = generate(server, body, raw=True)
    assert got == status, payload
    assert words in payload["error"] and payload["status"] == status


def test_body_too_large_path_and_method(server):
    got, payload, _ = generate(server, b" " * 20_000, raw=True)
    assert got == 413 and "exceeds the limit" in payload["error"]
    got, payload, _ = post(server.url + "/nowhere", {"prompts": ["a red circle"]}, timeout=TIMEOUT)
    assert got == 404 and "no such path" in payload["error"]
    got, payload, _ = post(server.url + "/generate", None, timeout=TIMEOUT, method="GET")
    assert got == 405 and "POST" in payload["error"]
    got, payload, _ = post(server.url + "/generate", {"prompts": ["a red circle"]}, timeout=TIMEOUT, method="PUT")
    assert got == 405


def test_malformed_burst_does_not_disturb_good_requests(server):
    good = [{"prompts": ["a red circle"], "seed": i} for i in range(12)]
    results = {}

    def bad_client():
        results["bad"] = [generate(server, b"{oops", raw=True)[0] for _ in range(12)]

    thread = threading.Thread(target=bad_client)
    thread.start()
    ok = run_load(server.url + "/generate", good, n_clients=6, timeout=TIMEOUT)
    thread.join(TIMEOUT)
    assert results["bad"] == [400] * 12
    assert ok.statuses == [200] * 12


def test_timeout_answers_504_and_server_keeps_serving():
    with start_server(stub_model(seconds_per_batch=1.5), max_batch=1, max_wait_ms=0, max_prompts=1) as server:
        slow = threading.Thread(target=generate, args=(server, {"prompts": ["a red circle"]}))
        slow.start()  # occupies the worker for 1.5 s
        time.sleep(0.2)
        start = time.monotonic()
        status, payload, _ = generate(server, {"prompts": ["a red circle"], "timeout_ms": 50})
        assert status == 504 and "timed out" in payload["error"]
        assert time.monotonic() - start < 1.0  # answered at its deadline, not after the slow batch
        slow.join(TIMEOUT)
        status, payload, _ = generate(server, {"prompts": ["a blue square"]})
        assert status == 200 and len(payload["images"]) == 1
        assert server.statuses[504] == 1 and server.statuses[200] == 2


def test_full_queue_answers_503():
    with start_server(stub_model(seconds_per_batch=1.0), max_batch=1, max_queue=1, max_prompts=1) as server:
        threads = [threading.Thread(target=generate, args=(server, {"prompts": ["a red circle"]})) for _ in range(2)]
        for t in threads:
            t.start()
            time.sleep(0.2)  # one in the worker, one in the queue
        status, payload, _ = generate(server, {"prompts": ["a red circle"]})
        for t in threads:
            t.join(TIMEOUT)
        assert status == 503 and "busy" in payload["error"]


def test_model_error_is_500_and_worker_survives():
    calls = []

    def flaky(prompts, seeds):
        calls.append(len(prompts))
        if len(calls) == 1:
            raise RuntimeError("out of memory")
        return torch.zeros(len(prompts), 3, 4, 4)

    with start_server(flaky, max_batch=1, max_prompts=1) as server:
        status, payload, _ = generate(server, {"prompts": ["a red circle"]})
        assert status == 500 and "out of memory" in payload["error"]
        assert generate(server, {"prompts": ["a red circle"]})[0] == 200


def test_model_returning_the_wrong_shape_is_500():
    with start_server(lambda prompts, seeds: torch.zeros(1, 3, 4, 4), max_batch=4, max_prompts=4) as server:
        status, payload, _ = generate(server, {"prompts": ["a red circle", "a blue square"]})
        assert status == 500 and "b = 2" in payload["error"]


def test_prompt_filter_blocks_with_400():
    def allow_all(prompt):
        return None

    with start_server(stub_model(), validate=allow_all, prompt_filter=PromptFilter()) as server:
        status, payload, _ = generate(server, {"prompts": ["a red circle", "a red g u n"]})
        assert status == 400 and "prompt 1 blocked" in payload["error"] and "gun" in payload["error"]
        assert generate(server, {"prompts": ["a red circle"]})[0] == 200


def test_stop_frees_the_port_and_rejects_bad_limits():
    server = start_server(stub_model())
    url = server.url
    server.stop()
    with pytest.raises(OSError):
        urllib.request.urlopen(url + "/health", timeout=2)
    with pytest.raises(ValueError, match="max_prompts"):
        Limits(max_batch=2, max_prompts=4)
    with pytest.raises(TypeError, match="model_fn"):
        start_server("dalle")


def test_real_dalle_batched_equals_unbatched():
    """One real-model test: the shipped DALL·E answers, and a picture does not depend on its batch-mates."""
    from genai_course.dalle import text_to_image
    from genai_course.deploy.server import dalle_model

    prompts = ["a red circle", "two large green triangles", "a small blue square on the left"]
    bodies = [{"prompts": [p], "seed": 7} for p in prompts] + [{"prompts": prompts, "seed": 7}]
    answers = [None] * len(bodies)

    def client(i):
        answers[i] = generate(server, bodies[i])

    with start_server(dalle_model("cpu"), max_batch=16, max_wait_ms=300) as server:
        threads = [threading.Thread(target=client, args=(i,)) for i in range(len(bodies))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30.0)
        sizes = server.batch_sizes
    assert [a[0] for a in answers] == [200] * 4
    assert max(sizes) > 1  # some requests shared a forward pass
    for body, (_, payload, _) in zip(bodies, answers, strict=True):
        served = torch.stack([decode_png(text) for text in payload["images"]])
        direct = text_to_image(body["prompts"], seed=7, device="cpu")
        assert (served - direct).abs().max().item() <= 1 / 255 + 1e-6  # PNG keeps 8 bits
