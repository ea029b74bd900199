#!/usr/bin/env python3
"""Independent generator of ShareThings format v3 test vectors.

Written from docs/protocol.md ("Format v3: random room keys, admission by members, signed
items") alone, so that the web client (Web Crypto and pure JS), the Rust protocol crate and
the CLI are checked against code that shares nothing with them:

- `cryptography` for AES-256-GCM, HKDF-SHA256, PBKDF2-HMAC-SHA256 and Ed25519;
- libsodium's ristretto255 (`crypto_core_ristretto255_from_hash`,
  `crypto_scalarmult_ristretto255`) through ctypes: PyNaCl, the usual binding, does not
  expose ristretto255, and Debian's python3-nacl brings the library (libsodium23);
- CPace (CPACE-RISTR255-SHA512, draft-irtf-cfrg-cpace-21) composed here from those group
  operations and SHA-512, and checked, before anything is written, against the draft's own
  ristretto255 test vectors (its Appendix B.3), quoted below.

Usage: python3 generate_v3.py > format-v3.json   (deterministic: fixed seeds, scalars, IVs)
"""

import base64
import ctypes
import ctypes.util
import hashlib
import hmac
import json
import sys
import unicodedata

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

VERSION = 3
PBKDF2_ITERATIONS = 600_000
CHUNK_SIZE = 256 * 1024
PAD_BLOCK = 256
MIN_ITEM_PADDED = 256
MAX_ITEM_BYTES = 2**40
REPLAY_WINDOW = 4096
AT = 1767225600000  # 2026-01-01T00:00:00Z in ms, every timestamp below

# ---------------------------------------------------------------- encodings (Notation)


def leb128(n: int) -> bytes:
    out = b""
    while True:
        byte, n = n & 0x7F, n >> 7
        out += bytes([byte | (0x80 if n else 0)])
        if not n:
            return out


def as_bytes(x) -> bytes:
    """An lv_cat part: bytes as they are, strings as UTF-8, integers as decimal digits."""
    if isinstance(x, bytes):
        return x
    if isinstance(x, bool):
        raise TypeError("no booleans in lv_cat")
    if isinstance(x, int):
        return str(x).encode("ascii")
    return x.encode("utf-8")


def lv(x) -> bytes:
    data = as_bytes(x)
    return leb128(len(data)) + data


def lv_cat(*parts) -> bytes:
    return b"".join(lv(p) for p in parts)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def compact(value) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def sha512(data: bytes) -> bytes:
    return hashlib.sha512(data).digest()


def hkdf(ikm: bytes, salt: bytes, info: bytes, length: int = 32) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=info).derive(ikm)


def hmac256(key: bytes, message: bytes) -> bytes:
    return hmac.new(key, message, hashlib.sha256).digest()


def aead(key: bytes, iv: bytes, plaintext: bytes, aad: bytes) -> bytes:
    return AESGCM(key).encrypt(iv, plaintext, aad)


# ---------------------------------------------------------------- ristretto255 (libsodium)


def load_sodium():
    name = ctypes.util.find_library("sodium") or "libsodium.so.23"
    lib = ctypes.CDLL(name)
    if lib.sodium_init() < 0:
        raise RuntimeError("sodium_init failed")
    return lib


SODIUM = load_sodium()


def element_derivation(uniform: bytes) -> bytes:
    """RFC 9496's one-way map from 64 uniform bytes to an encoded ristretto255 element."""
    assert len(uniform) == 64
    out = ctypes.create_string_buffer(32)
    SODIUM.crypto_core_ristretto255_from_hash(out, uniform)
    return out.raw


def scalar_mult_vfy(scalar: bytes, point: bytes) -> bytes:
    """encode(y * decode(X)), or G.I (32 zero bytes) when X does not decode or y*X is G.I."""
    out = ctypes.create_string_buffer(32)
    if SODIUM.crypto_scalarmult_ristretto255(out, scalar, point) != 0:
        return bytes(32)
    return out.raw


# ---------------------------------------------------------------- CPace (draft-irtf-cfrg-cpace-21)

DSI = b"CPaceRistretto255"
SHA512_BLOCK = 128


def generator_string(prs: bytes, ci: bytes, sid: bytes) -> bytes:
    zpad = max(0, SHA512_BLOCK - 1 - len(lv(prs)) - len(lv(DSI)))
    return lv_cat(DSI, prs, bytes(zpad), ci, sid)


def calculate_generator(prs: bytes, ci: bytes, sid: bytes) -> dict:
    gen_str = generator_string(prs, ci, sid)
    gen_hash = sha512(gen_str)
    return {"string": gen_str, "hash": gen_hash, "g": element_derivation(gen_hash)}


def isk(sid: bytes, k: bytes, ya_pub: bytes, ad_a: bytes, yb_pub: bytes, ad_b: bytes) -> bytes:
    """Initiator-responder mode: transcript_ir(Ya, ADa, Yb, ADb) = lv_cat(Ya, ADa) || lv_cat(Yb, ADb)."""
    return sha512(lv_cat(DSI + b"_ISK", sid, k) + lv_cat(ya_pub, ad_a) + lv_cat(yb_pub, ad_b))


def confirmation(sid: bytes, key: bytes, y_pub: bytes, ad: bytes) -> bytes:
    """The draft's explicit key confirmation (its section "Key confirmation"):
    mac_key = SHA-512("CPaceMac" || sid || ISK), T = HMAC-SHA256(mac_key, lv_cat(Y, AD))."""
    mac_key = sha512(b"CPaceMac" + sid + key)
    return hmac256(mac_key, lv_cat(y_pub, ad))


def check_against_the_draft() -> dict:
    """draft-irtf-cfrg-cpace-21, Appendix B.3 "Test vector for CPace using group ristretto255
    and hash SHA-512" (B.3.1 generator, B.3.2-B.3.5 messages, K and ISK in the
    initiator-responder setting, B.3.9-B.3.10 valid and invalid scalar_mult_vfy inputs), and
    Appendix A's lv_cat test vector. These published values are quoted, not derived here."""
    d = {
        "citation": "draft-irtf-cfrg-cpace-21, Appendix A.1 (lv_cat) and Appendix B.3 (ristretto255, SHA-512)",
        "lvCat": {"parts": ["31323334", "35", "", "363738"], "encoded": "043132333401350003363738"},
        "PRS": "50617373776f7264",
        "CI": "0b415f696e69746961746f720b425f726573706f6e646572",
        "sid": "7e4b4791d6a8ef019b936c79fb7f2c57",
        "generatorHash": "da6d3ddc8802fca9058755ffd3ebde08a9c2c74945901a258482a288"
                         "b6663af06bf645c93cd1c51512307199c80e84908916d983b34af772"
                         "05f90851a657ee27",
        "g": "222b6b195fe84b1652badb6f6a3ae3d24341e7306967f0b8115b40d5698c7e56",
        "ADa": "414461",
        "ya": "da3d23700a9e5699258aef94dc060dfda5ebb61f02a5ea77fad53f4ff0976d08",
        "Ya": "d6bac480f2c386c394efc7c47adb9925dcd2630b64f240c50f8d0eec482b9157",
        "ADb": "414462",
        "yb": "d2316b454718c35362d83d69df6320f38578ed5984651435e2949762d900b80d",
        "Yb": "3ea7e0b19560d7c0b0f5734f63b955286dfa8232b5ebe63324e2d9e7433f7258",
        "K": "80b69a8a76457ab6a4d7f887a4bf6b55a2f80ac19c333f917a05fc9887c8b40f",
        "ISK_IR": "b69effbf61b51d56401c0f65601abe428de8206feaaf0e32198896dc"
                  "ae7b35cd2b38950a39dfd5d4a79164614c2984f7daa460b588c1e80c"
                  "3fa2068af7900447",
        "scalarMult": {
            "s": "7cd0e075fa7955ba52c02759a6c90dbbfc10e6d40aea8d283e407d88cf538a05",
            "X": "2c3c6b8c4f3800e7aef6864025b4ed79bd599117e427c41bd47d93d654b4a51c",
            "sX": "7c13645fe790a468f62c39beb7388e541d8405d1ade69d1778c5fe3e7f6b600e",
            "invalid": ["2b3c6b8c4f3800e7aef6864025b4ed79bd599117e427c41bd47d93d654b4a51c",
                        "0000000000000000000000000000000000000000000000000000000000000000"],
        },
    }
    h = bytes.fromhex
    assert lv_cat(*(h(p) for p in d["lvCat"]["parts"])).hex() == d["lvCat"]["encoded"]
    assert leb128(127) == b"\x7f" and leb128(128) == b"\x80\x01"
    gen = calculate_generator(h(d["PRS"]), h(d["CI"]), h(d["sid"]))
    assert len(gen["string"]) == 170, "ZPAD of 100 bytes"
    assert gen["hash"].hex() == d["generatorHash"]
    assert gen["g"].hex() == d["g"]
    ya_pub = scalar_mult_vfy(h(d["ya"]), gen["g"])
    yb_pub = scalar_mult_vfy(h(d["yb"]), gen["g"])
    assert ya_pub.hex() == d["Ya"] and yb_pub.hex() == d["Yb"]
    k = scalar_mult_vfy(h(d["ya"]), yb_pub)
    assert k == scalar_mult_vfy(h(d["yb"]), ya_pub) and k.hex() == d["K"]
    assert isk(h(d["sid"]), k, ya_pub, h(d["ADa"]), yb_pub, h(d["ADb"])).hex() == d["ISK_IR"]
    sm = d["scalarMult"]
    assert scalar_mult_vfy(h(sm["s"]), h(sm["X"])).hex() == sm["sX"]
    for bad in sm["invalid"]:
        assert scalar_mult_vfy(h(sm["s"]), h(bad)) == bytes(32)
    return d


# ---------------------------------------------------------------- devices, room secret, keys


class Device:
    def __init__(self, seed: bytes, name: str):
        self.seed = seed
        self.key = Ed25519PrivateKey.from_private_bytes(seed)
        self.pk = self.key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self.id = b64url(self.pk)
        self.name = name

    def sign(self, message: bytes) -> bytes:
        return self.key.sign(message)


def room_secret(session_id: str, passphrase: str, room_key: bytes, creator: Device) -> dict:
    epoch = sha256(lv_cat("sharethings/v3/epoch", creator.pk))[:16]
    nfc = unicodedata.normalize("NFC", passphrase)
    salt = ("sharethings/v3/pake/" + session_id).encode("utf-8")
    prs = PBKDF2HMAC(algorithm=hashes.SHA256(), length=32, salt=salt,
                     iterations=PBKDF2_ITERATIONS).derive(nfc.encode("utf-8"))
    keys = {}
    for label in ("content", "access", "safety"):
        info = lv_cat("sharethings/v3/" + label, session_id)
        keys[label] = {"info": info.hex(), "key": hkdf(room_key, epoch, info).hex()}
    return {
        "sessionId": session_id,
        "roomKey": room_key.hex(),
        "creatorSeed": creator.seed.hex(),
        "creatorPk": creator.pk.hex(),
        "creatorDevice": creator.id,
        "epochInput": lv_cat("sharethings/v3/epoch", creator.pk).hex(),
        "epoch": epoch.hex(),
        "passphrase": passphrase,
        "passphraseNfc": nfc,
        "pakeSalt": salt.decode("utf-8"),
        "iterations": PBKDF2_ITERATIONS,
        "prs": prs.hex(),
        "keys": keys,
    }


def card(device: Device, epoch: bytes, at: int) -> dict:
    message = lv_cat("sharethings/v3/card", epoch, device.pk, device.name, at)
    return {"device": device.id, "name": device.name, "at": at, "sig": b64(device.sign(message))}


def record(device: Device, by: Device, epoch: bytes, at: int) -> dict:
    message = lv_cat("sharethings/v3/admitted", epoch, device.pk, device.name, by.pk, at)
    return {"device": device.id, "name": device.name, "by": by.id, "at": at,
            "sig": b64(by.sign(message))}


def signed_vector(kind: str, obj: dict, device: Device, message: bytes) -> dict:
    return {"kind": kind, "json": obj, "signedMessage": message.hex(), "signerPk": device.pk.hex()}


# ---------------------------------------------------------------- join proof


def join_vector(session_id: str, access_key: bytes) -> dict:
    """The proof is over the nonce's 16 bytes (not the b64 text the challenge ack carries)."""
    nonce = bytes(range(200, 216))
    message = lv_cat("sharethings/v3/join", session_id, nonce)
    return {"nonce": b64(nonce), "message": message.hex(), "access": b64(access_key),
            "proof": b64(hmac256(access_key, message))}


# ---------------------------------------------------------------- inbox authority


def inbox_vector(session_id: str, creator: Device) -> dict:
    """The creator's signatures that let the server empty its inbox, delete another's item
    from it, or let any member do both; each over one nonce of the server's."""
    nonce = bytes(range(216, 232))
    actions = []
    for action in (["clear"], ["delete", "item-é-1"], ["policy", "anyone"], ["policy", "creator"]):
        message = lv_cat("sharethings/v3/inbox", session_id, nonce, *action)
        actions.append({"action": action, "message": message.hex(),
                        "sig": b64(creator.sign(message))})
    return {"nonce": b64(nonce), "ownerPk": b64(creator.pk), "actions": actions}


# ---------------------------------------------------------------- admission run


def admission(room: dict, applicant: Device, member: Device, creator: Device) -> dict:
    session_id = room["sessionId"]
    epoch, prs = bytes.fromhex(room["epoch"]), bytes.fromhex(room["prs"])
    ci = lv_cat("sharethings/v3/admit", session_id)
    sid = bytes(range(0x50, 0x60))
    ad_a, ad_b = "AAAAAAAAAAAAAAAAAAAA", "BBBBBBBBBBBBBBBBBBBB"  # the two clientIds
    ya = bytes.fromhex("0a" * 31 + "05")  # fixed scalars below 2^252
    yb = bytes.fromhex("0b" * 31 + "07")
    gen = calculate_generator(prs, ci, sid)
    ya_pub, yb_pub = scalar_mult_vfy(ya, gen["g"]), scalar_mult_vfy(yb, gen["g"])
    k = scalar_mult_vfy(ya, yb_pub)
    assert k == scalar_mult_vfy(yb, ya_pub) and k != bytes(32)
    key = isk(sid, k, ya_pub, ad_a.encode(), yb_pub, ad_b.encode())
    ta = confirmation(sid, key, ya_pub, ad_a.encode())
    tb = confirmation(sid, key, yb_pub, ad_b.encode())
    admit_key = hkdf(key, sid, b"sharethings/v3/admit")

    # The applicant cannot sign a card yet (the epoch comes from creatorPk, which only step 4
    # brings): it names its device and proves it holds the key, bound to this run.
    claim = lv_cat("sharethings/v3/applicant", session_id, sid, applicant.pk, applicant.name)
    step3_plain = compact({"device": applicant.id, "name": applicant.name,
                           "sig": b64(applicant.sign(claim))})
    step3_aad = lv_cat("sharethings/v3/admit/applicant", session_id, sid)
    step3_iv = bytes(range(0x30, 0x3C))
    step3_sealed = aead(admit_key, step3_iv, step3_plain, step3_aad)
    bundle = {
        "roomKey": b64(bytes.fromhex(room["roomKey"])),
        "creatorPk": b64(bytes.fromhex(room["creatorPk"])),
        "prs": b64(prs),
        "cards": [card(creator, epoch, AT), card(member, epoch, AT + 1)],
        "admitted": record(applicant, member, epoch, AT + 4),
    }
    step4_plain = compact(bundle)
    step4_aad = lv_cat("sharethings/v3/admit/bundle", session_id, sid)
    step4_iv = bytes(range(0x40, 0x4C))
    step4_sealed = aead(admit_key, step4_iv, step4_plain, step4_aad)
    # A wrong passphrase: same run, the member's prs from another passphrase. Tb no longer
    # verifies for the applicant, nor Ta for the member.
    wrong_prs = hashlib.sha256(b"not the passphrase").digest()
    wrong_g = calculate_generator(wrong_prs, ci, sid)["g"]
    wrong_yb_pub = scalar_mult_vfy(yb, wrong_g)
    wrong_k = scalar_mult_vfy(yb, ya_pub)
    wrong_tb = confirmation(sid, isk(sid, wrong_k, ya_pub, ad_a.encode(), wrong_yb_pub,
                                     ad_b.encode()), wrong_yb_pub, ad_b.encode())
    return {
        "suite": "CPACE-RISTR255-SHA512",
        "mode": "initiator-responder, explicit key confirmation",
        "DSI": DSI.hex(),
        "PRS": prs.hex(),
        "CI": ci.hex(),
        "sid": sid.hex(),
        "ADa": ad_a,
        "ADb": ad_b,
        "generatorString": gen["string"].hex(),
        "generatorHash": gen["hash"].hex(),
        "g": gen["g"].hex(),
        "ya": ya.hex(),
        "Ya": ya_pub.hex(),
        "yb": yb.hex(),
        "Yb": yb_pub.hex(),
        "K": k.hex(),
        "transcript": (lv_cat(ya_pub, ad_a) + lv_cat(yb_pub, ad_b)).hex(),
        "ISK": key.hex(),
        "macKey": sha512(b"CPaceMac" + sid + key).hex(),
        "Ta": ta.hex(),
        "Tb": tb.hex(),
        "admitKey": admit_key.hex(),
        "steps": [
            {"step": 1, "data": {"sid": b64(sid), "Ya": b64(ya_pub)}},
            {"step": 0, "data": {"waitMs": 4000}},
            {"step": 2, "data": {"Yb": b64(yb_pub), "Tb": b64(tb)}},
            {"step": 3, "data": {"Ta": b64(ta), "iv": b64(step3_iv), "sealed": b64(step3_sealed)},
             "plaintext": step3_plain.decode("utf-8"), "aad": step3_aad.hex(),
             "signedMessage": claim.hex()},
            {"step": 4, "data": {"iv": b64(step4_iv), "sealed": b64(step4_sealed)},
             "plaintext": step4_plain.decode("utf-8"), "aad": step4_aad.hex()},
        ],
        "wrongPassphrase": {"PRS": wrong_prs.hex(), "Yb": wrong_yb_pub.hex(),
                            "Tb": wrong_tb.hex(), "applicantAccepts": wrong_tb == tb},
    }


# ---------------------------------------------------------------- padding and chunking


def padme(length: int) -> int:
    if length < 2:
        return length
    e = length.bit_length() - 1
    s = e.bit_length()  # floor(log2 E) + 1
    mask = (1 << (e - s)) - 1
    return (length + mask) & ~mask


def padded_size(size: int) -> int:
    return max(MIN_ITEM_PADDED, padme(size))


def chunk_count(size: int) -> int:
    return -(-padded_size(size) // CHUNK_SIZE)


def pad_json(value) -> bytes:
    data = compact(value)
    return data + b" " * (-len(data) % PAD_BLOCK)


def padding_table() -> dict:
    padme_sizes = [0, 1, 2, 3, 4, 7, 8, 9, 15, 16, 17, 100, 255, 256, 257, 600, 1000, 1023,
                   1024, 1025, 65535, 65536, 65537, 1_000_000, CHUNK_SIZE, CHUNK_SIZE + 1,
                   10**9, 2**32 + 1, MAX_ITEM_BYTES - 1, MAX_ITEM_BYTES]
    items = []
    for size in [0, 1, 255, 256, 257, 600, CHUNK_SIZE - 1, CHUNK_SIZE, CHUNK_SIZE + 1,
                 CHUNK_SIZE + 100, 3 * CHUNK_SIZE, 200 * 1024 * 1024, MAX_ITEM_BYTES,
                 MAX_ITEM_BYTES + 1]:
        padded, total = padded_size(size), chunk_count(size)
        items.append({"size": size, "padded": padded, "totalChunks": total,
                      "lastChunkBytes": padded - (total - 1) * CHUNK_SIZE,
                      "accepted": size <= MAX_ITEM_BYTES})
    json_lengths = [{"json": n, "padded": n + (-n % PAD_BLOCK)} for n in (1, 255, 256, 257, 700)]
    return {"chunkSize": CHUNK_SIZE, "padBlock": PAD_BLOCK, "minItemPadded": MIN_ITEM_PADDED,
            "maxItemBytes": MAX_ITEM_BYTES, "replayWindow": REPLAY_WINDOW,
            "padme": [{"size": n, "padded": padme(n)} for n in padme_sizes],
            "items": items, "json": json_lengths}


# ---------------------------------------------------------------- sealed items and controls


def blob_signature(device: Device, aad: bytes, iv: bytes, sealed: bytes) -> tuple:
    message = lv_cat("sharethings/v3/sig", sha256(aad), sha256(iv + sealed))
    return message, device.sign(message)


def seal_content(room: dict, device: Device, content_id: str, seq: int, total: int,
                 plaintext: bytes, iv: bytes) -> dict:
    epoch = bytes.fromhex(room["epoch"])
    key = bytes.fromhex(room["keys"]["content"]["key"])
    aad = lv_cat("sharethings/v3/meta", epoch, content_id, device.pk, seq, total)
    sealed = aead(key, iv, plaintext, aad)
    message, sig = blob_signature(device, aad, iv, sealed)
    return {
        "envelope": {"contentId": content_id, "format": VERSION, "totalChunks": total,
                     "iv": b64(iv), "by": device.id, "seq": seq, "sig": b64(sig)},
        "plaintext": plaintext.hex(),
        "aad": aad.hex(),
        "data": sealed.hex(),
        "signedMessage": message.hex(),
    }


def seal_chunk(room: dict, device: Device, content_id: str, index: int, total: int,
               plaintext: bytes, iv: bytes) -> dict:
    epoch = bytes.fromhex(room["epoch"])
    key = bytes.fromhex(room["keys"]["content"]["key"])
    aad = lv_cat("sharethings/v3/chunk", epoch, content_id, device.pk, index, total)
    sealed = aead(key, iv, plaintext, aad)
    message, sig = blob_signature(device, aad, iv, sealed)
    return {
        "envelope": {"contentId": content_id, "chunkIndex": index, "totalChunks": total,
                     "iv": b64(iv), "sig": b64(sig)},
        "plaintext": plaintext.hex(),
        "aad": aad.hex(),
        "encryptedData": sealed.hex(),
        "signedMessage": message.hex(),
    }


def item_vector(room: dict, sender: Device, content_id: str, seq: int, meta: dict,
                body: bytes, pinned_chunks: list, iv_base: int) -> dict:
    size = len(body)
    assert meta["size"] == size
    padded, total = padded_size(size), chunk_count(size)
    whole = body + bytes(padded - size)
    chunks = []
    for index in pinned_chunks:
        plain = whole[index * CHUNK_SIZE:(index + 1) * CHUNK_SIZE]
        chunks.append(seal_chunk(room, sender, content_id, index, total, plain,
                                 bytes(range(iv_base + 1 + index, iv_base + 13 + index))))
    return {
        "meta": meta,
        "size": size,
        "padded": padded,
        "totalChunks": total,
        "content": seal_content(room, sender, content_id, seq, total, pad_json(meta),
                                bytes(range(iv_base, iv_base + 12))),
        "chunks": chunks,
    }


def items(room: dict, sender: Device) -> list:
    text = "Hello from v3 ☕".encode("utf-8")
    big = bytes((i * 13 + 5) % 256 for i in range(CHUNK_SIZE + 100))
    return [
        item_vector(room, sender, "%032x" % 0x17E0001, 7,
                    {"kind": "text", "name": "Text", "mime": "text/plain;charset=utf-8",
                     "size": len(text), "createdAt": AT},
                    text, [0], 0x60),
        item_vector(room, sender, "%032x" % 0x17E0002, 8,
                    {"kind": "file", "name": "report.pdf", "mime": "application/pdf",
                     "size": 600, "createdAt": AT},
                    bytes((i * 7 + 3) % 256 for i in range(600)), [0], 0x70),
        # Two chunks: only the last (8192 bytes: 100 of content, then zeros) is pinned.
        item_vector(room, sender, "%032x" % 0x17E0003, 9,
                    {"kind": "file", "name": "big.bin", "mime": "application/octet-stream",
                     "size": len(big), "createdAt": AT},
                    big, [1], 0x80),
    ]


def controls(room: dict, creator: Device, member: Device, applicant: Device) -> list:
    epoch = bytes.fromhex(room["epoch"])
    item_id = "%032x" % 0x17E0001
    messages = [
        (member, {"kind": "hello", "clientId": "BBBBBBBBBBBBBBBBBBBB",
                  "card": card(member, epoch, AT + 1)}),
        (member, {"kind": "roster", "cards": [card(creator, epoch, AT), card(member, epoch, AT + 1)],
                  "admitted": [record(applicant, member, epoch, AT + 4)]}),
        (member, {"kind": "admitted", "record": record(applicant, member, epoch, AT + 4)}),
        (member, {"kind": "admission-failed", "at": AT + 5}),
        (member, {"kind": "resend", "contentId": item_id, "fromChunk": 2,
                  "ranges": [[2, 3], [5, 9]]}),
        (member, {"kind": "progress", "contentId": item_id, "have": 48}),
        (creator, {"kind": "cancel", "contentId": item_id, "reason": "cancelled"}),
        (creator, {"kind": "clear", "at": AT + 6}),
        (creator, {"kind": "policy", "anyoneMayClear": True}),
        (member, {"kind": "file", "name": "report.pdf", "mime": "application/pdf",
                  "size": 600, "createdAt": AT, "offered": True}),
    ]
    out = []
    for n, (sender, message) in enumerate(messages):
        control_id = "%032x" % (0xC0DE0000 + n)
        sealed = seal_content(room, sender, control_id, 100 + n, 0, pad_json(message),
                              bytes(range(0x90 + n, 0x9C + n)))
        out.append({"kind": message["kind"], "message": message, "sender": sender.id, **sealed})
    return out


# ---------------------------------------------------------------- safety code and invite


def safety_code(room: dict, devices: list) -> dict:
    pks = sorted(d.pk for d in devices)
    message = lv_cat("sharethings/v3/safety", *pks)
    h = hmac256(bytes.fromhex(room["keys"]["safety"]["key"]), message)
    groups = ["%05d" % (int.from_bytes(h[4 * i:4 * i + 4], "big") % 100000) for i in range(6)]
    return {"devices": [d.id for d in devices], "message": message.hex(), "hmac": h.hex(),
            "groups": groups, "code": " ".join(groups)}


def invite(room: dict, host: str) -> dict:
    secret = bytes.fromhex(room["roomKey"]) + bytes.fromhex(room["creatorPk"])
    with_prs = secret + bytes.fromhex(room["prs"])
    from urllib.parse import quote
    s = quote(room["sessionId"], safe="")
    return {
        "withoutPrs": {"secret": secret.hex(), "link": "https://%s/#s=%s&k=%s" % (host, s, b64url(secret))},
        "withPrs": {"secret": with_prs.hex(), "link": "https://%s/#s=%s&k=%s" % (host, s, b64url(with_prs))},
    }


# ---------------------------------------------------------------- the file


def main() -> None:
    draft = check_against_the_draft()
    creator = Device(bytes(range(1, 33)), "Laptop")
    member = Device(bytes(range(33, 65)), "Phone ☎")
    applicant = Device(bytes(range(65, 97)), "nas")
    # An NFD passphrase (e + U+0301): NFC makes it "Café …", so it must derive the same prs
    # as the NFC form typed on another keyboard.
    room = room_secret("Café ☕ room", "Cafe\u0301 crème sky lantern", bytes(range(0xA0, 0xC0)),
                       creator)
    epoch = bytes.fromhex(room["epoch"])
    access_key = bytes.fromhex(room["keys"]["access"]["key"])
    cards = []
    for device, at in ((creator, AT), (member, AT + 1), (applicant, AT + 3)):
        c = card(device, epoch, at)
        cards.append(signed_vector("card", c, device, lv_cat(
            "sharethings/v3/card", epoch, device.pk, device.name, at)))
    rec = record(applicant, member, epoch, AT + 4)
    records = [signed_vector("admitted", rec, member, lv_cat(
        "sharethings/v3/admitted", epoch, applicant.pk, applicant.name, member.pk, AT + 4))]
    vectors = {
        "format": VERSION,
        "generator": "tests/vectors/generate_v3.py",
        "lv": [{"parts": [p.hex() for p in parts], "encoded": lv_cat(*parts).hex()}
               for parts in ([b""], [b"sharethings/v3/join", b"s"], [bytes(127)], [bytes(128)],
                             [bytes(300)])],
        "decimal": {"value": 42, "lv": lv(42).hex()},
        "devices": [{"name": d.name, "seed": d.seed.hex(), "pk": d.pk.hex(), "id": d.id}
                    for d in (creator, member, applicant)],
        "room": room,
        "join": join_vector(room["sessionId"], access_key),
        "inbox": inbox_vector(room["sessionId"], creator),
        "cards": cards,
        "records": records,
        "admission": admission(room, applicant, member, creator),
        "padding": padding_table(),
        "items": items(room, member),
        "controls": controls(room, creator, member, applicant),
        "safety": safety_code(room, [member, applicant, creator]),
        "invite": invite(room, "pi.local"),
        "cpaceDraft": draft,
    }
    json.dump(vectors, sys.stdout, indent=1, ensure_ascii=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
