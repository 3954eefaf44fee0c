"""
Self-test of tests/api/rfc6962.py, the independent Python verifier the API
tests use for audit proofs: every transparency-dev inclusion and
consistency vector in tests/vectors/rfc6962 (verdict == not wantErr), the
RFC 6962 test tree's published roots, its generated proofs against the
vectors' own, and every proof of every tree up to 40 entries, tampered
with in each way a proof can be.

Needs no daemon. Run: /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/api/test_rfc6962_vectors.py
"""

import base64
import hashlib
import json
from pathlib import Path

import pytest

import rfc6962

VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "rfc6962"
INCLUSION = sorted((VECTORS / "inclusion").rglob("*.json"))
CONSISTENCY = sorted((VECTORS / "consistency").rglob("*.json"))

# The RFC 6962 reference test tree and its published roots for sizes 0..8.
RFC_LEAVES = [bytes.fromhex(h) for h in (
    "", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f")]
RFC_ROOTS = [bytes.fromhex(h) for h in (
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
)]


def _ids(paths):
    return [str(p.relative_to(VECTORS)) for p in paths]


def _load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def _b64(s):
    return base64.b64decode(s, validate=True)


def _root(s):
    """
    The vectors come from a Go library that takes hashes as byte slices of
    any length: it refuses a leaf or proof hash that is not 32 bytes (so does
    rfc6962.py), but only compares roots, and some vectors use short
    placeholder roots ("don't care") to test exactly that comparison. Such a
    root is mapped to 32 bytes by hashing it with a tag: equal placeholders
    stay equal, different ones stay different, none equals a real root.
    """
    raw = _b64(s)
    if len(raw) == rfc6962.HASH_LEN:
        return raw
    return hashlib.sha256(b"not a 32-byte root:" + raw).digest()


def _proof(v):
    return [] if v is None else [_b64(p) for p in v]


def test_vector_set_is_complete():
    assert len(INCLUSION) == 98
    assert len(CONSISTENCY) == 98
    accepted = sum(not _load(p)["wantErr"] for p in INCLUSION + CONSISTENCY)
    assert accepted == 12


@pytest.mark.parametrize("path", INCLUSION, ids=_ids(INCLUSION))
def test_inclusion_vector(path):
    v = _load(path)
    got = rfc6962.verify_inclusion(v["leafIdx"], v["treeSize"], _b64(v["leafHash"]), _proof(v["proof"]),
                                   _root(v["root"]))
    assert got is (not v["wantErr"]), v["desc"]


@pytest.mark.parametrize("path", CONSISTENCY, ids=_ids(CONSISTENCY))
def test_consistency_vector(path):
    v = _load(path)
    got = rfc6962.verify_consistency(v["size1"], v["size2"], _root(v["root1"]), _root(v["root2"]),
                                     _proof(v["proof"]))
    assert got is (not v["wantErr"]), v["desc"]


def test_rfc_test_tree_roots():
    assert rfc6962.EMPTY_ROOT.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert rfc6962.leaf_hash(b"") == RFC_ROOTS[1]
    for size in range(9):
        assert rfc6962.root_from_leaves(RFC_LEAVES[:size]) == RFC_ROOTS[size]


def test_generated_proofs_match_vectors():
    """Where a happy-path vector is about the RFC test tree, PATH and PROOF give its proof exactly."""
    matched = 0
    for path in INCLUSION:
        v = _load(path)
        size = v["treeSize"]
        if v["wantErr"] or not 1 <= size <= 8 or _b64(v["root"]) != RFC_ROOTS[size]:
            continue
        assert rfc6962.inclusion_path(RFC_LEAVES[:size], v["leafIdx"]) == _proof(v["proof"])
        matched += 1
    for path in CONSISTENCY:
        v = _load(path)
        m, n = v["size1"], v["size2"]
        if v["wantErr"] or not 1 <= m <= n <= 8 or _b64(v["root2"]) != RFC_ROOTS[n]:
            continue
        assert rfc6962.consistency_proof(RFC_LEAVES[:n], m) == _proof(v["proof"])
        matched += 1
    assert matched == 10


def _entries(n):
    return [bytes((i * 31 + j * 7) % 256 for j in range(i % 37)) for i in range(n)]


def _flip(h, bit):
    b = bytearray(h)
    b[bit // 8 % 32] ^= 1 << (bit % 8)
    return bytes(b)


def test_every_tree_to_40():
    entries = _entries(81)  # other sizes reach 2 * 40
    roots = [rfc6962.root_from_leaves(entries[:s]) for s in range(82)]
    leaves = [rfc6962.leaf_hash(e) for e in entries]
    for size in range(1, 41):
        for idx in range(size):
            p = rfc6962.inclusion_path(entries[:size], idx)
            assert rfc6962.verify_inclusion(idx, size, leaves[idx], p, roots[size])
            for i in range(len(p)):
                bad = p[:i] + [_flip(p[i], i * 37 + idx)] + p[i + 1:]
                assert not rfc6962.verify_inclusion(idx, size, leaves[idx], bad, roots[size])
            for d in (idx - 1, idx + 1, -1, size):
                if d != idx:
                    assert not rfc6962.verify_inclusion(d, size, leaves[idx], p, roots[size])
            for s2 in (size - 1, size + 1, size * 2, size // 2):
                if s2 != size and s2 > idx:
                    assert not rfc6962.verify_inclusion(idx, s2, leaves[idx], p, roots[s2])
            assert not rfc6962.verify_inclusion(idx, size, leaves[idx + 1], p, roots[size])
            assert not rfc6962.verify_inclusion(idx, size, leaves[idx], p, roots[size + 1])
            if p:
                assert not rfc6962.verify_inclusion(idx, size, leaves[idx], p[:-1], roots[size])
                assert not rfc6962.verify_inclusion(idx, size, leaves[idx], p[1:], roots[size])
            assert not rfc6962.verify_inclusion(idx, size, leaves[idx], p + [roots[size]], roots[size])
            assert not rfc6962.verify_inclusion(idx, size, leaves[idx], [leaves[idx]] + p, roots[size])
        for m in range(1, size + 1):
            p = rfc6962.consistency_proof(entries[:size], m)
            r1, r2 = roots[m], roots[size]
            assert rfc6962.verify_consistency(m, size, r1, r2, p)
            assert (len(p) == 0) == (m == size)
            for i in range(len(p)):
                bad = p[:i] + [_flip(p[i], i * 41 + m)] + p[i + 1:]
                assert not rfc6962.verify_consistency(m, size, r1, r2, bad)
            if m < size:
                assert not rfc6962.verify_consistency(m, size, r2, r1, p)
                assert not rfc6962.verify_consistency(m + 1, size, roots[m + 1], r2, p)
            if m > 1:
                assert not rfc6962.verify_consistency(m - 1, size, roots[m - 1], r2, p)
            assert not rfc6962.verify_consistency(m, size + 1, r1, roots[size + 1], p)
            assert not rfc6962.verify_consistency(0, size, roots[0], r2, p)
            if p:
                assert not rfc6962.verify_consistency(m, size, r1, r2, p[:-1])
                assert not rfc6962.verify_consistency(m, size, r1, r2, p[1:])
            assert not rfc6962.verify_consistency(m, size, r1, r2, p + [r2])
            assert not rfc6962.verify_consistency(m, size, r1, r2, [r1] + p)


def test_malformed_inputs_are_false_not_errors():
    leaf, root = RFC_ROOTS[1], RFC_ROOTS[1]
    assert rfc6962.verify_inclusion(0, 1, leaf, [], root)
    for args in [
        (0, 0, leaf, [], root),
        (-1, 1, leaf, [], root),
        (0, -1, leaf, [], root),
        (True, 2, leaf, [leaf], root),
        (0, 1.0, leaf, [], root),
        (0, 1, leaf[:31], [], root),
        (0, 1, leaf, [], root[:31]),
        (0, 1, leaf, None, root),
        (0, 1, "a" * 32, [], root),
        (0, 2, leaf, [b"x" * 33], root),
        (0, 2, leaf, [None], root),
    ]:
        assert rfc6962.verify_inclusion(*args) is False, args
    assert rfc6962.verify_consistency(8, 8, RFC_ROOTS[8], RFC_ROOTS[8], [])
    for args in [
        (0, 0, RFC_ROOTS[0], RFC_ROOTS[0], []),
        (0, 8, RFC_ROOTS[0], RFC_ROOTS[8], []),
        (8, 8, RFC_ROOTS[8], RFC_ROOTS[8], [RFC_ROOTS[8]]),
        (8, 8, RFC_ROOTS[8], RFC_ROOTS[7], []),
        (9, 8, RFC_ROOTS[8], RFC_ROOTS[8], []),
        (3, 8, RFC_ROOTS[3], RFC_ROOTS[8], []),
        (3, 8, RFC_ROOTS[3], RFC_ROOTS[8], None),
        (1, 1, b"x" * 12, b"x" * 12, []),
        (-1, 8, RFC_ROOTS[3], RFC_ROOTS[8], []),
    ]:
        assert rfc6962.verify_consistency(*args) is False, args
    with pytest.raises(ValueError):
        rfc6962.inclusion_path(RFC_LEAVES, 8)
    with pytest.raises(ValueError):
        rfc6962.consistency_proof(RFC_LEAVES, 0)
