"""A signed provenance manifest in the spirit of C2PA (Coalition for Content Provenance and Authenticity).

A manifest binds *claims* about a piece of content (which generator made it, from which checkpoint,
with which prompt and seed) to the content's SHA-256, and signs both. C2PA signs with public-key
certificates, so anyone can verify; this teaching version signs with HMAC-SHA256 (Krawczyk, Bellare
and Canetti, RFC 2104) from Python's standard library,

    tag = HMAC(K, m) = H((K ⊕ opad) ‖ H((K ⊕ ipad) ‖ m)),   H = SHA-256,

so only a holder of the same secret key K can verify (or forge) a signature: it proves integrity
to the key holder, not to the public.

The signed message m is the manifest without its signature, serialised canonically (sorted keys,
no spaces, UTF-8), so that the same manifest always gives the same bytes.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import io
import json

FORMAT = "genai-course-manifest/1"
ALGORITHM = "HMAC-SHA256"


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(_as_bytes(data, "content")).hexdigest()


def canonical_bytes(payload: dict) -> bytes:
    """The bytes that are signed: JSON with sorted keys and no whitespace, UTF-8."""
    try:
        text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as err:
        raise ValueError(
            f"the manifest must hold only JSON values (str, int, float, bool, None, list, dict): {err}"
        ) from None
    return text.encode("utf-8")


def sign_manifest(content: bytes, claims: dict, key: bytes) -> dict:
    """→ {"format", "content": {"sha256", "bytes"}, "claims", "signature": {"algorithm", "value"}}."""
    content, key = _as_bytes(content, "content"), _as_key(key)
    if not isinstance(claims, dict):
        raise TypeError(f"claims must be a dict of JSON values, got {type(claims).__name__}")
    payload = {
        "format": FORMAT,
        "content": {"sha256": sha256_hex(content), "bytes": len(content)},
        "claims": copy.deepcopy(claims),
    }
    tag = hmac.new(key, canonical_bytes(payload), hashlib.sha256).hexdigest()
    return {**payload, "signature": {"algorithm": ALGORITHM, "value": tag}}


def verify_manifest(content: bytes, manifest: dict, key: bytes) -> tuple[bool, str]:
    """(ok, reason). Checks the signature first (was the manifest written by a key holder and left
    unchanged?), then the content hash (is this the content it describes?)."""
    content, key = _as_bytes(content, "content"), _as_key(key)
    problem = _malformed(manifest)
    if problem:
        return False, f"malformed manifest: {problem}"
    payload = {k: v for k, v in manifest.items() if k != "signature"}
    expected = hmac.new(key, canonical_bytes(payload), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, manifest["signature"]["value"]):  # constant time: no timing leak
        return False, "bad signature: the manifest was edited, or signed with a different key"
    if not hmac.compare_digest(sha256_hex(content), manifest["content"]["sha256"]):
        return False, "content mismatch: these bytes are not the content the manifest describes"
    return True, "valid: signed by a holder of this key, and the content matches"


def image_png_bytes(image) -> bytes:
    """An image (3 h w) float in [0, 1] (tensor or array) → the bytes of a PNG file, 8 bits per channel."""
    import numpy as np
    from PIL import Image

    array = np.asarray(image.detach().cpu() if hasattr(image, "detach") else image, dtype=np.float64)
    if array.ndim != 3 or array.shape[0] != 3:
        raise ValueError(f"image must be (3 h w) in [0, 1], got shape {array.shape}")
    pixels = (array.clip(0, 1) * 255).round().astype(np.uint8).transpose(1, 2, 0)  # (h w 3)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def _malformed(manifest) -> str:
    """What is wrong with the manifest's structure, or '' when nothing is."""
    if not isinstance(manifest, dict):
        return f"expected a dict, got {type(manifest).__name__}"
    missing = [k for k in ("format", "content", "claims", "signature") if k not in manifest]
    if missing:
        return f"missing field(s) {missing}"
    if manifest["format"] != FORMAT:
        return f"unknown format {manifest['format']!r}, expected {FORMAT!r}"
    content, signature = manifest["content"], manifest["signature"]
    if not (isinstance(content, dict) and isinstance(content.get("sha256"), str)):
        return "content must be a dict with a hex 'sha256'"
    if not (isinstance(signature, dict) and signature.get("algorithm") == ALGORITHM):
        return f"signature must be a dict with algorithm {ALGORITHM!r}"
    if not isinstance(signature.get("value"), str) or len(signature["value"]) != 64:
        return "signature value must be a 64-character hex string"
    if not isinstance(manifest["claims"], dict):
        return "claims must be a dict"
    return ""


def _as_bytes(data, what: str) -> bytes:
    if isinstance(data, (bytes, bytearray, memoryview)):
        return bytes(data)
    raise TypeError(f"{what} must be bytes (e.g. a file's contents), got {type(data).__name__}")


def _as_key(key) -> bytes:
    if isinstance(key, str):
        raise TypeError("key must be bytes, not str: encode it (key.encode()) or use secrets.token_bytes(32)")
    key = _as_bytes(key, "key")
    if len(key) < 16:
        raise ValueError(
            f"key must be at least 16 bytes (RFC 2104 recommends at least the hash length, 32), got {len(key)}"
        )
    return key
