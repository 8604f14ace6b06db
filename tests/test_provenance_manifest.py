"""The HMAC-signed provenance manifest: it verifies, and fails for every kind of tampering."""

import copy
import hashlib
import hmac

import pytest
import torch

from genai_course.provenance.manifest import canonical_bytes, image_png_bytes, sign_manifest, verify_manifest

KEY = b"k" * 32
CLAIMS = {
    "generator": {"name": "toy", "version": "1", "checkpoint_sha256": "ab" * 32},
    "prompt": "a red circle",
    "seed": 3,
}


def test_sign_then_verify():
    m = sign_manifest(b"content", CLAIMS, KEY)
    assert m["content"]["sha256"] == hashlib.sha256(b"content").hexdigest() and m["content"]["bytes"] == 7
    assert verify_manifest(b"content", m, KEY) == (
        True,
        "valid: signed by a holder of this key, and the content matches",
    )
    payload = {k: v for k, v in m.items() if k != "signature"}  # the tag is RFC 2104's HMAC of the canonical payload
    assert m["signature"]["value"] == hmac.new(KEY, canonical_bytes(payload), hashlib.sha256).hexdigest()


def test_canonical_bytes_ignore_key_order():
    assert canonical_bytes({"b": 1, "a": [1, 2]}) == canonical_bytes({"a": [1, 2], "b": 1}) == b'{"a":[1,2],"b":1}'


def test_changed_content_edited_manifest_and_wrong_key_fail():
    m = sign_manifest(b"content", CLAIMS, KEY)
    ok, reason = verify_manifest(b"Content", m, KEY)
    assert not ok and "content mismatch" in reason
    edited = copy.deepcopy(m)
    edited["claims"]["seed"] = 4
    ok, reason = verify_manifest(b"content", edited, KEY)
    assert not ok and "bad signature" in reason
    ok, reason = verify_manifest(b"content", m, b"x" * 32)
    assert not ok and "bad signature" in reason
    rehashed = copy.deepcopy(m)  # pointing the manifest at other content breaks the signature too
    rehashed["content"]["sha256"] = hashlib.sha256(b"other").hexdigest()
    assert verify_manifest(b"other", rehashed, KEY)[0] is False


def test_one_pixel_changes_the_png_and_fails_verification():
    image = torch.rand(3, 8, 8, generator=torch.Generator("cpu").manual_seed(0))
    png = image_png_bytes(image)
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and png == image_png_bytes(image.clone())
    m = sign_manifest(png, CLAIMS, KEY)
    touched = image.clone()
    touched[0, 4, 4] = 1.0 - touched[0, 4, 4]
    assert verify_manifest(image_png_bytes(touched), m, KEY)[0] is False
    assert verify_manifest(png, m, KEY)[0] is True


@pytest.mark.parametrize(
    "mutate, match",
    [
        (lambda m: "not a dict", "expected a dict"),
        (lambda m: {k: v for k, v in m.items() if k != "signature"}, "missing field"),
        (lambda m: {**m, "format": "c2pa"}, "unknown format"),
        (lambda m: {**m, "signature": {"algorithm": "RSA", "value": "0" * 64}}, "algorithm"),
        (lambda m: {**m, "signature": {"algorithm": "HMAC-SHA256", "value": "00"}}, "64-character"),
        (lambda m: {**m, "content": "abc"}, "sha256"),
        (lambda m: {**m, "claims": [1]}, "claims"),
    ],
)
def test_malformed_manifests_are_reported_not_raised(mutate, match):
    ok, reason = verify_manifest(b"content", mutate(sign_manifest(b"content", CLAIMS, KEY)), KEY)
    assert not ok and reason.startswith("malformed manifest") and match in reason


def test_bad_arguments_raise_clear_errors():
    with pytest.raises(TypeError, match="encode"):
        sign_manifest(b"x", CLAIMS, "secret")
    with pytest.raises(ValueError, match="16 bytes"):
        sign_manifest(b"x", CLAIMS, b"short")
    with pytest.raises(TypeError, match="content must be bytes"):
        sign_manifest("text", CLAIMS, KEY)
    with pytest.raises(TypeError, match="claims"):
        sign_manifest(b"x", ["not", "a", "dict"], KEY)
    with pytest.raises(ValueError, match="JSON values"):
        sign_manifest(b"x", {"tensor": torch.zeros(1)}, KEY)
    with pytest.raises(ValueError, match=r"\(3 h w\)"):
        image_png_bytes(torch.zeros(8, 8))
