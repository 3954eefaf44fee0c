/*
 * merkle.h - the Merkle tree hashing of coffre's audit trail, exactly as
 * RFC 6962 / RFC 9162 section 2.1 defines it, so that standard
 * transparency-log verifiers check what the API serves:
 *   leaf hash = SHA-256(0x00 || entry bytes)
 *   node hash = SHA-256(0x01 || left || right)
 *   empty tree = SHA-256 of the empty string.
 *
 * The store behind the trail keeps the hash of every PERFECT subtree:
 * node (level L, index i) covers leaves [i * 2^L, (i + 1) * 2^L), and
 * level 0 is the leaf hash. Roots and proofs are computed from O(log size)
 * of those, fetched through a callback; this module never sees the store,
 * the entries or anything personal, only hashes.
 */
#ifndef CF_MERKLE_H
#define CF_MERKLE_H

#include "common/cf.h"

/* Every hash here is a SHA-256 digest. */
#define CF_MERKLE_HASH_LEN 32
/*
 * Capacity of a proof buffer: in a tree of at most INT64_MAX leaves an
 * inclusion proof has at most 63 hashes and a consistency proof at most 64
 * (one per level, plus the old tree's own subtree), so 64 always suffices.
 * Verifiers refuse longer proofs.
 */
#define CF_MERKLE_MAX_PROOF 64

/* Plain SHA-256 of len bytes (data may be NULL when len is 0). */
void cf_sha256(const void *data, size_t len, uint8_t out[32]);

/* RFC 9162 leaf hash of one entry: SHA-256(0x00 || data). */
void cf_merkle_leaf_hash(const void *data, size_t len, uint8_t out[32]);

/* RFC 9162 interior node hash: SHA-256(0x01 || left || right). */
void cf_merkle_node_hash(const uint8_t left[32], const uint8_t right[32], uint8_t out[32]);

/*
 * Fetches the hash of the perfect subtree (level, index) into out.
 * Whatever it returns other than CF_OK is passed back unchanged by the
 * function that called it (typically CF_ESTORE or CF_ENOTFOUND).
 */
typedef cf_rc (*cf_merkle_get_fn)(void *ctx, int level, int64_t index, uint8_t out[32]);

/*
 * Root of the tree of the first `size` leaves (size 0: SHA-256 of the empty
 * string), from O(log size) perfect-subtree fetches (one per set bit of
 * size). Fails with CF_EINVAL for a negative size or a NULL argument, or
 * with whatever `get` returned.
 */
cf_rc cf_merkle_root(int64_t size, cf_merkle_get_fn get, void *ctx, uint8_t out[32]) CF_MUST_CHECK;

/*
 * RFC 9162 2.1.3.1 inclusion proof of leaf `index` in the tree of `size`
 * leaves; *n hashes into out (capacity CF_MERKLE_MAX_PROOF), deepest first.
 * O(log size) fetches (the hash of an incomplete right-edge subtree is
 * built from the perfect subtrees it decomposes into).
 * CF_EINVAL when index >= size or size < 1 (or index < 0, or a NULL
 * argument); otherwise fails only with whatever `get` returned, in which
 * case *n is 0 and out holds nothing to rely on.
 */
cf_rc cf_merkle_inclusion_proof(int64_t index, int64_t size, cf_merkle_get_fn get, void *ctx, uint8_t out[][32],
				size_t *n) CF_MUST_CHECK;

/*
 * RFC 9162 2.1.4.1 consistency proof between sizes m and n
 * (0 < m <= n; m == n gives an empty proof), into out (capacity
 * CF_MERKLE_MAX_PROOF) with its length in *n. CF_EINVAL otherwise (or for
 * a NULL argument); a failure of `get` is passed back, with *n set to 0.
 */
cf_rc cf_merkle_consistency_proof(int64_t m, int64_t size, cf_merkle_get_fn get, void *ctx, uint8_t out[][32],
				  size_t *n) CF_MUST_CHECK;

/*
 * RFC 9162 2.1.3.2 and 2.1.4.2 verification; false on any mismatch or
 * malformed input (negative or out-of-range index or sizes, a NULL hash,
 * a proof longer than CF_MERKLE_MAX_PROOF or NULL with n > 0).
 * Consistency with m == size holds only for an empty proof and equal roots;
 * m == 0 is always refused (nothing to be consistent with).
 */
bool cf_merkle_verify_inclusion(int64_t index, int64_t size, const uint8_t leaf[32], const uint8_t proof[][32],
				size_t n, const uint8_t root[32]);
bool cf_merkle_verify_consistency(int64_t m, int64_t size, const uint8_t root1[32], const uint8_t root2[32],
				  const uint8_t proof[][32], size_t n);

/*
 * Streaming builder over leaves in order: O(log n) memory. stack holds the
 * hashes of the perfect subtrees the first `size` leaves decompose into,
 * largest first. on_node (may be NULL) is told every perfect subtree
 * completed by a push: level >= 1 only (the leaf itself is the caller's).
 */
typedef struct cf_merkle_builder {
	uint8_t stack[64][32];
	int64_t size;
} cf_merkle_builder;
typedef void (*cf_merkle_node_fn)(void *ctx, int level, int64_t index, const uint8_t hash[32]);
void cf_merkle_builder_init(cf_merkle_builder *b);
/* Appends one leaf hash. A builder already holding INT64_MAX leaves is a bug (aborts). */
void cf_merkle_builder_push(cf_merkle_builder *b, const uint8_t leaf[32], cf_merkle_node_fn on_node, void *ctx);
/* Root of the leaves pushed so far (SHA-256 of the empty string when none). */
void cf_merkle_builder_root(const cf_merkle_builder *b, uint8_t out[32]);

/*
 * The perfect subtrees completed when leaf `index` is appended: for each
 * level L >= 1 with (index+1) % 2^L == 0, node (L, (index+1)/2^L - 1) =
 * H(node(L-1, 2j), node(L-1, 2j+1)); fetches left siblings with get (the
 * just-computed right child is carried). Calls put for each, lowest level
 * first; put is never called for level 0 (the caller stores the leaf hash).
 * Fails with CF_EINVAL for a negative index (or INT64_MAX, or a NULL
 * argument), or with the first failure of get or put, after which the
 * nodes already put stay put (each is correct on its own).
 */
typedef cf_rc (*cf_merkle_put_fn)(void *ctx, int level, int64_t index, const uint8_t hash[32]);
cf_rc cf_merkle_append(int64_t index, const uint8_t leaf[32], cf_merkle_get_fn get, cf_merkle_put_fn put,
		       void *ctx) CF_MUST_CHECK;

#endif
