"""An independent C2SP signed-note / tlog-checkpoint verifier for the tests,
written from the specifications (c2sp.org/signed-note, c2sp.org/tlog-checkpoint),
with Ed25519 from python3-cryptography. It shares no code with coffre."""

import base64
import hashlib

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey


def parse_verifier_key(vkey):
    """name+hex8+base64(0x01||pub) -> (name, key_id bytes, public key bytes)."""
    name, hexid, b64 = vkey.strip().split("+", 2)
    raw = base64.b64decode(b64, validate=True)
    assert raw[0] == 0x01 and len(raw) == 33, "not an Ed25519 verifier key"
    pub = raw[1:]
    kid = hashlib.sha256(name.encode() + b"\n" + raw).digest()[:4]
    assert kid.hex() == hexid, "key id does not match the key"
    return name, kid, pub


def verify_checkpoint(note, vkey):
    """Returns (origin, size, root bytes) or raises AssertionError."""
    name, kid, pub = parse_verifier_key(vkey)
    text = note if isinstance(note, str) else note.decode("utf-8")
    assert text.endswith("\n")
    body, sep, sigs = text.rpartition("\n\n")
    assert sep, "no blank line between body and signatures"
    body += "\n"
    lines = body.split("\n")[:-1]
    assert len(lines) >= 3, "a checkpoint body has at least three lines"
    origin, size_s, root_b64 = lines[0], lines[1], lines[2]
    assert size_s.isdigit() and (size_s == "0" or not size_s.startswith("0"))
    root = base64.b64decode(root_b64, validate=True)
    assert len(root) == 32
    ok = False
    for line in sigs.rstrip("\n").split("\n"):
        assert line.startswith("\u2014 "), f"bad signature line {line!r}"
        sname, sig_b64 = line[2:].rsplit(" ", 1)
        sig = base64.b64decode(sig_b64, validate=True)
        if sname != name or sig[:4] != kid:
            continue
        try:
            Ed25519PublicKey.from_public_bytes(pub).verify(sig[4:], body.encode("utf-8"))
        except InvalidSignature as e:
            raise AssertionError("signature does not verify") from e
        ok = True
    assert ok, "no signature by this key"
    return origin, int(size_s), root
