"""
RFC 9162 (RFC 6962) Merkle tree hashing and proof verification, written
from the RFC's text (sections 2.1.1 to 2.1.4) and nothing else, so that the
API tests check coffre's audit proofs with an implementation that shares no
code or reasoning with the C library's.

Hashes are 32-byte `bytes`. The verifiers return False, never raise, on a
bad proof or a malformed input (wrong types, negative or out-of-range
sizes, a leaf, root or proof hash that is not 32 bytes).

Functions:
  leaf_hash(entry)                                  SHA-256(0x00 || entry)
  node_hash(left, right)                            SHA-256(0x01 || left || right)
  root_from_leaves(entries)                         MTH(D[n]) of the entries (bytes)
  inclusion_path(entries, index)                    PATH(m, D[n])  (2.1.3.1)
  consistency_proof(entries, m)                     PROOF(m, D[n]) (2.1.4.1)
  verify_inclusion(index, size, leaf, proof, root)  2.1.3.2
  verify_consistency(m, n, root1, root2, proof)     2.1.4.2
"""

import hashlib

HASH_LEN = 32


def _sha256(data):
    return hashlib.sha256(data).digest()


EMPTY_ROOT = _sha256(b"")


def leaf_hash(entry):
    """MTH({d(0)}) = HASH(0x00 || d(0))."""
    return _sha256(b"\x00" + bytes(entry))


def node_hash(left, right):
    """HASH(0x01 || left || right)."""
    return _sha256(b"\x01" + bytes(left) + bytes(right))


def _split(n):
    """k: the largest power of two smaller than n (n > 1)."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def _mth(hashes):
    """MTH over leaf hashes already computed."""
    n = len(hashes)
    if n == 0:
        return EMPTY_ROOT
    if n == 1:
        return hashes[0]
    k = _split(n)
    return node_hash(_mth(hashes[:k]), _mth(hashes[k:]))


def root_from_leaves(entries):
    """MTH(D[n]) for the list of entry byte strings (the empty list: SHA-256 of "")."""
    return _mth([leaf_hash(e) for e in entries])


def _path(m, hashes):
    n = len(hashes)
    if n == 1:
        return []
    k = _split(n)
    if m < k:
        return _path(m, hashes[:k]) + [_mth(hashes[k:])]
    return _path(m - k, hashes[k:]) + [_mth(hashes[:k])]


def inclusion_path(entries, index):
    """PATH(m, D[n]): the audit path of entry `index` in the tree of all `entries`."""
    if not 0 <= index < len(entries):
        raise ValueError("index out of range")
    return _path(index, [leaf_hash(e) for e in entries])


def _subproof(m, hashes, b):
    n = len(hashes)
    if m == n:
        return [] if b else [_mth(hashes)]
    k = _split(n)
    if m <= k:
        return _subproof(m, hashes[:k], b) + [_mth(hashes[k:])]
    return _subproof(m - k, hashes[k:], False) + [_mth(hashes[:k])]


def consistency_proof(entries, m):
    """PROOF(m, D[n]) between the first m entries and all of them (0 < m <= n)."""
    if not 0 < m <= len(entries):
        raise ValueError("m out of range")
    return _subproof(m, [leaf_hash(e) for e in entries], True)


def _is_size(v):
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def _is_hash(v):
    return isinstance(v, (bytes, bytearray)) and len(v) == HASH_LEN


def _proof_ok(proof):
    return isinstance(proof, (list, tuple)) and all(_is_hash(p) for p in proof)


def verify_inclusion(index, size, leaf, proof, root):
    """RFC 9162 2.1.3.2: is `leaf` (a leaf hash) entry `index` of the tree of `size` entries with `root`?"""
    if not (_is_size(index) and _is_size(size) and _is_hash(leaf) and _is_hash(root) and _proof_ok(proof)):
        return False
    # 1. leaf_index must be below tree_size.
    if index >= size:
        return False
    # 2.-3.
    fn, sn = index, size - 1
    r = bytes(leaf)
    # 4.
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    # 5.
    return sn == 0 and r == bytes(root)


def verify_consistency(m, n, root1, root2, proof):
    """RFC 9162 2.1.4.2: is the tree of n entries with root2 an append-only extension of the one of m with root1?

    m == n holds only with an empty proof and equal roots; m == 0 is refused
    (an empty tree proves nothing).
    """
    if not (_is_size(m) and _is_size(n) and _is_hash(root1) and _is_hash(root2) and _proof_ok(proof)):
        return False
    if m == 0 or m > n:
        return False
    if m == n:
        return len(proof) == 0 and bytes(root1) == bytes(root2)
    # 1.
    if len(proof) == 0:
        return False
    path = [bytes(p) for p in proof]
    # 2. A power-of-two first tree is itself a node of the second: its root starts the path.
    if m & (m - 1) == 0:
        path = [bytes(root1)] + path
    # 3.-4.
    fn, sn = m - 1, n - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    # 5.
    fr = sr = path[0]
    # 6.
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    # 7.
    return fr == bytes(root1) and sr == bytes(root2) and sn == 0
