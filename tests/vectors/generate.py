#!/usr/bin/env python3
"""Independent generator of ShareThings encryption format v2 test vectors.

Written from docs/protocol.md ("Client-side encryption (format v2)", "Items on the wire",
"Sealed control messages") alone, with Python's standard library (PBKDF2, HMAC, and HKDF
spelled out from RFC 5869) plus the `cryptography` package for AES-256-GCM, so the web
client's two implementations (Web Crypto and pure JS), the Rust protocol crate and the CLI
are checked against code that shares nothing with them.

Usage: python3 generate.py > format-v2.json   (output is deterministic: fixed IVs)
"""

import base64
import hashlib
import hmac
import json
import sys

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

ITERATIONS = 600_000
CHUNK_SIZE = 256 * 1024
MAX_UNACKED_CHUNKS = 8
MAX_ITEM_BYTES = 2**40


def hkdf_sha256(ikm: bytes, salt: bytes, info: bytes, length: int) -> bytes:
    """RFC 5869 extract-then-expand; an empty salt means HashLen zero bytes."""
    prk = hmac.new(salt or b"\x00" * 32, ikm, hashlib.sha256).digest()
    out, block, counter = b"", b"", 1
    while len(out) < length:
        block = hmac.new(prk, block + info + bytes([counter]), hashlib.sha256).digest()
        out += block
        counter += 1
    return out[:length]


def derive(passphrase: str, session_id: str) -> dict:
    salt = ("sharethings/v2/" + session_id).encode("utf-8")
    master = hashlib.pbkdf2_hmac("sha256", passphrase.encode("utf-8"), salt, ITERATIONS, 32)
    enc_key = hkdf_sha256(master, b"", b"sharethings/v2/enc", 32)
    auth_key = hkdf_sha256(master, b"", b"sharethings/v2/auth", 32)
    mac = hmac.new(auth_key, ("verifier:" + session_id).encode("utf-8"), hashlib.sha256).digest()
    return {
        "master": master.hex(),
        "encKey": enc_key.hex(),
        "authKey": auth_key.hex(),
        "fingerprint": {"v": 2, "mac": base64.b64encode(mac).decode("ascii")},
    }


def seal(key_hex: str, iv: bytes, plaintext: bytes, aad: str) -> dict:
    ct = AESGCM(bytes.fromhex(key_hex)).encrypt(iv, plaintext, aad.encode("utf-8"))
    return {"iv": iv.hex(), "aad": aad, "plaintext": plaintext.hex(), "ciphertext": ct.hex()}


def controls(key_hex: str, content_id: str) -> list:
    """Sealed control messages and an offer (docs/protocol.md, "Sealed control messages" and
    "Late joiners choose"): each under its own control id, AAD `<id>:meta`, zero chunks."""
    messages = [
        {"kind": "resend", "contentId": content_id, "fromChunk": 2, "ranges": [[2, 3], [5, 9]]},
        {"kind": "cancel", "contentId": content_id, "reason": "unreadable"},
        {"kind": "clear", "at": 1767225600000},
        {"kind": "progress", "contentId": content_id, "have": 48},
        {"kind": "file", "name": "report.pdf", "mime": "application/pdf", "size": 1000,
         "senderName": "Laptop", "createdAt": 1767225600000, "offered": True},
    ]
    out = []
    for n, msg in enumerate(messages):
        control_id = "%032x" % (0xC0DE0000 + n)
        plaintext = json.dumps(msg, separators=(",", ":")).encode("utf-8")
        out.append(seal(key_hex, bytes(range(40 + n, 52 + n)), plaintext, control_id + ":meta"))
    return out


def chunking() -> dict:
    """How items are cut (docs/protocol.md, "Items on the wire" and "Receiving"): for each
    size, totalChunks = max(1, ceil(size / 256 KiB)), the last chunk's length, and whether a
    receiver accepts the item (size at most 2^40 and that exact count)."""
    sizes = [0, 1, CHUNK_SIZE - 1, CHUNK_SIZE, CHUNK_SIZE + 1, 2 * CHUNK_SIZE, 1_000_000,
             MAX_ITEM_BYTES, MAX_ITEM_BYTES + 1]
    items = []
    for size in sizes:
        total = max(1, -(-size // CHUNK_SIZE))
        last = size - (total - 1) * CHUNK_SIZE
        items.append({"size": size, "totalChunks": total, "lastChunkBytes": last,
                      "accepted": size <= MAX_ITEM_BYTES})
    return {"chunkSize": CHUNK_SIZE, "maxUnackedChunks": MAX_UNACKED_CHUNKS,
            "maxItemBytes": MAX_ITEM_BYTES, "items": items}


def main() -> None:
    cases = []
    for session_id, passphrase in [
        ("quiet-harbor-17", "correct horse battery staple"),
        ("Café ☕ ünïcode", "pässphrase with spaces & emoji 🔑"),
    ]:
        keys = derive(passphrase, session_id)
        content_id = "6f1c2a9e-3b4d-4e5f-8a7b-9c0d1e2f3a4b"
        meta = json.dumps(
            {"kind": "file", "name": "report.pdf", "mime": "application/pdf", "size": 1000},
            separators=(",", ":"),
        ).encode("utf-8")
        chunk = bytes((i * 7 + 3) % 256 for i in range(1000))
        cases.append(
            {
                "sessionId": session_id,
                "passphrase": passphrase,
                "iterations": ITERATIONS,
                **keys,
                "contentId": content_id,
                "metadata": seal(keys["encKey"], bytes(range(12)), meta, content_id + ":meta"),
                "chunk": seal(
                    keys["encKey"], bytes(range(100, 112)), chunk, content_id + ":1:3"
                ),
                "controls": controls(keys["encKey"], content_id),
            }
        )
    vectors = {"format": 2, "chunking": chunking(), "cases": cases}
    json.dump(vectors, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
