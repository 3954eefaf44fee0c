/*
 * merkle.c - RFC 6962 / RFC 9162 Merkle tree hashing for the audit trail:
 * roots, inclusion and consistency proofs computed from the stored hashes
 * of perfect subtrees, their verification, and the incremental builders
 * (an in-memory stack and the store-backed append) that produce those
 * perfect-subtree hashes.
 *
 * The tree shape is the RFC's: a tree of n > 1 leaves splits at k, the
 * largest power of two below n, into a perfect left subtree of k leaves and
 * a right subtree of n - k leaves. Every node of that tree is therefore
 * either a perfect subtree (one fetch) or an incomplete subtree on the right
 * edge, whose hash is folded from the perfect subtrees its size decomposes
 * into (one fetch per set bit).
 *
 * This is the only file that includes nettle. It must never deviate from
 * the RFC's hashing or proof shapes (outside verifiers check them), never
 * accept a proof on a malformed input, and never see anything but hashes.
 */
#include "common/cf.h"
#include "merkle/merkle.h"

#include <nettle/sha2.h>

_Static_assert(CF_MERKLE_HASH_LEN == SHA256_DIGEST_SIZE, "SHA-256 digest size");
_Static_assert(CF_MERKLE_MAX_PROOF >= 64, "a consistency proof in a tree of < 2^63 leaves has at most 64 hashes");

#define HLEN CF_MERKLE_HASH_LEN

void cf_sha256(const void *data, size_t len, uint8_t out[32])
{
	struct sha256_ctx c;

	sha256_init(&c);
	if (len > 0)
		sha256_update(&c, len, data);
	sha256_digest(&c, HLEN, out);
}

void cf_merkle_leaf_hash(const void *data, size_t len, uint8_t out[32])
{
	static const uint8_t prefix = 0x00;
	struct sha256_ctx c;

	sha256_init(&c);
	sha256_update(&c, 1, &prefix);
	if (len > 0)
		sha256_update(&c, len, data);
	sha256_digest(&c, HLEN, out);
}

void cf_merkle_node_hash(const uint8_t left[32], const uint8_t right[32], uint8_t out[32])
{
	static const uint8_t prefix = 0x01;
	struct sha256_ctx c;

	sha256_init(&c);
	sha256_update(&c, 1, &prefix);
	sha256_update(&c, HLEN, left);
	sha256_update(&c, HLEN, right);
	sha256_digest(&c, HLEN, out); /* out may alias left or right: they were consumed above */
}

/* ---- tree shape -------------------------------------------------------- */

static int floor_log2(uint64_t x)
{
	CF_ASSERT(x > 0);
	return 63 - __builtin_clzll(x);
}

/* The RFC's split point: the largest power of two strictly below n (n >= 2). */
static uint64_t split_point(uint64_t n)
{
	CF_ASSERT(n >= 2);
	return UINT64_C(1) << floor_log2(n - 1);
}

static bool is_pow2(uint64_t x)
{
	return x != 0 && (x & (x - 1)) == 0;
}

/*
 * MTH of leaves [start, start + count): a node of the RFC tree, so start is
 * a multiple of the largest power of two not above count and each piece of
 * count's binary decomposition is a perfect, aligned subtree. Fetches one
 * hash per set bit of count and folds them right to left.
 * Fails only with what get returned.
 */
static cf_rc range_hash(cf_merkle_get_fn get, void *ctx, uint64_t start, uint64_t count, uint8_t out[32])
{
	uint8_t pieces[64][HLEN];
	size_t np = 0;
	uint64_t pos = start;
	cf_rc rc = CF_OK;

	CF_ASSERT(count > 0);
	for (int b = 63; b >= 0; b--) {
		uint64_t piece = UINT64_C(1) << b;

		if ((count & piece) == 0)
			continue;
		CF_ASSERT(pos % piece == 0);
		CF_ASSERT(np < CF_ARRAY_LEN(pieces));
		rc = get(ctx, b, (int64_t)(pos >> b), pieces[np]);
		if (rc != CF_OK)
			goto out;
		np++;
		pos += piece;
	}
	for (size_t i = np - 1; i > 0; i--)
		cf_merkle_node_hash(pieces[i - 1], pieces[i], pieces[i - 1]);
	memcpy(out, pieces[0], HLEN);
out:
	return rc;
}

cf_rc cf_merkle_root(int64_t size, cf_merkle_get_fn get, void *ctx, uint8_t out[32])
{
	if (size < 0 || get == NULL || out == NULL)
		return CF_EINVAL;
	if (size == 0) {
		cf_sha256(NULL, 0, out);
		return CF_OK;
	}
	return range_hash(get, ctx, 0, (uint64_t)size, out);
}

/* Writes the top-down collected hashes tmp[0..cnt) into out deepest first, as the RFC lists them. */
static void emit_reversed(const uint8_t tmp[][HLEN], size_t cnt, uint8_t out[][32], size_t *n)
{
	for (size_t i = 0; i < cnt; i++)
		memcpy(out[i], tmp[cnt - 1 - i], HLEN);
	*n = cnt;
}

/*
 * RFC 9162 2.1.3.1 PATH(m, D[n]) unrolled: walk down from the root; at each
 * split the sibling of the side holding the leaf is one proof hash. Once the
 * walk goes left it is inside a perfect subtree, so only the first
 * right-hand sibling can be incomplete: at most 2 * log2(size) fetches.
 */
cf_rc cf_merkle_inclusion_proof(int64_t index, int64_t size, cf_merkle_get_fn get, void *ctx, uint8_t out[][32],
				size_t *n)
{
	uint8_t tmp[CF_MERKLE_MAX_PROOF][HLEN];
	size_t cnt = 0;
	uint64_t off = 0, m, nn;
	cf_rc rc = CF_OK;

	if (n != NULL)
		*n = 0;
	if (size < 1 || index < 0 || index >= size || get == NULL || out == NULL || n == NULL)
		return CF_EINVAL;
	m = (uint64_t)index;
	nn = (uint64_t)size;
	while (nn > 1) {
		uint64_t k = split_point(nn);

		CF_ASSERT(cnt < CF_MERKLE_MAX_PROOF);
		if (m < k) {
			rc = range_hash(get, ctx, off + k, nn - k, tmp[cnt]);
			nn = k;
		} else {
			rc = range_hash(get, ctx, off, k, tmp[cnt]);
			off += k;
			m -= k;
			nn -= k;
		}
		if (rc != CF_OK)
			goto out;
		cnt++;
	}
	emit_reversed(tmp, cnt, out, n);
out:
	return rc;
}

/*
 * RFC 9162 2.1.4.1 SUBPROOF(m, D[n], b) unrolled the same way. The walk
 * ends where m covers the whole current subtree; that subtree's hash is
 * part of the proof only if the walk ever went right (b false), and it is
 * then perfect (m == nn is reached only through a left step with m == k).
 */
cf_rc cf_merkle_consistency_proof(int64_t m, int64_t size, cf_merkle_get_fn get, void *ctx, uint8_t out[][32],
				  size_t *n)
{
	uint8_t tmp[CF_MERKLE_MAX_PROOF][HLEN];
	size_t cnt = 0;
	uint64_t off = 0, mm, nn;
	bool whole = true;
	cf_rc rc = CF_OK;

	if (n != NULL)
		*n = 0;
	if (m < 1 || m > size || get == NULL || out == NULL || n == NULL)
		return CF_EINVAL;
	mm = (uint64_t)m;
	nn = (uint64_t)size;
	while (mm != nn) {
		uint64_t k = split_point(nn);

		CF_ASSERT(cnt < CF_MERKLE_MAX_PROOF);
		if (mm <= k) {
			rc = range_hash(get, ctx, off + k, nn - k, tmp[cnt]);
			nn = k;
		} else {
			rc = range_hash(get, ctx, off, k, tmp[cnt]);
			off += k;
			mm -= k;
			nn -= k;
			whole = false;
		}
		if (rc != CF_OK)
			goto out;
		cnt++;
	}
	if (!whole) {
		CF_ASSERT(cnt < CF_MERKLE_MAX_PROOF && is_pow2(nn));
		rc = range_hash(get, ctx, off, nn, tmp[cnt]);
		if (rc != CF_OK)
			goto out;
		cnt++;
	}
	emit_reversed(tmp, cnt, out, n);
out:
	return rc;
}

/* ---- verification ------------------------------------------------------ */

static bool hash_eq(const uint8_t a[32], const uint8_t b[32])
{
	return memcmp(a, b, HLEN) == 0;
}

/* Shifts fn and sn right together until fn's low bit is set or fn is 0. */
static void shift_to_odd_or_zero(uint64_t *fn, uint64_t *sn)
{
	while ((*fn & 1) == 0 && *fn != 0) {
		*fn >>= 1;
		*sn >>= 1;
	}
}

bool cf_merkle_verify_inclusion(int64_t index, int64_t size, const uint8_t leaf[32], const uint8_t proof[][32],
				size_t n, const uint8_t root[32])
{
	uint8_t r[HLEN];
	uint64_t fn, sn;

	if (index < 0 || size < 1 || index >= size || leaf == NULL || root == NULL)
		return false;
	if (n > CF_MERKLE_MAX_PROOF || (n > 0 && proof == NULL))
		return false;
	fn = (uint64_t)index;
	sn = (uint64_t)size - 1;
	memcpy(r, leaf, HLEN);
	for (size_t i = 0; i < n; i++) {
		if (sn == 0)
			return false; /* more hashes than the path has levels */
		if ((fn & 1) != 0 || fn == sn) {
			cf_merkle_node_hash(proof[i], r, r);
			if ((fn & 1) == 0)
				shift_to_odd_or_zero(&fn, &sn);
		} else {
			cf_merkle_node_hash(r, proof[i], r);
		}
		fn >>= 1;
		sn >>= 1;
	}
	return sn == 0 && hash_eq(r, root);
}

bool cf_merkle_verify_consistency(int64_t m, int64_t size, const uint8_t root1[32], const uint8_t root2[32],
				  const uint8_t proof[][32], size_t n)
{
	uint8_t fr[HLEN], sr[HLEN];
	uint64_t fn, sn;
	size_t i;

	if (m < 1 || size < 1 || m > size || root1 == NULL || root2 == NULL)
		return false;
	if (n > CF_MERKLE_MAX_PROOF || (n > 0 && proof == NULL))
		return false;
	if (m == size)
		return n == 0 && hash_eq(root1, root2);
	if (n == 0)
		return false;
	/* When m is a power of two the old root is itself a node of the new
	 * tree and the proof leaves it out: the path starts from root1. */
	if (is_pow2((uint64_t)m)) {
		memcpy(fr, root1, HLEN);
		i = 0;
	} else {
		memcpy(fr, proof[0], HLEN);
		i = 1;
	}
	memcpy(sr, fr, HLEN);
	fn = (uint64_t)m - 1;
	sn = (uint64_t)size - 1;
	while ((fn & 1) != 0) {
		fn >>= 1;
		sn >>= 1;
	}
	for (; i < n; i++) {
		if (sn == 0)
			return false;
		if ((fn & 1) != 0 || fn == sn) {
			cf_merkle_node_hash(proof[i], fr, fr);
			cf_merkle_node_hash(proof[i], sr, sr);
			if ((fn & 1) == 0)
				shift_to_odd_or_zero(&fn, &sn);
		} else {
			cf_merkle_node_hash(sr, proof[i], sr);
		}
		fn >>= 1;
		sn >>= 1;
	}
	return sn == 0 && hash_eq(fr, root1) && hash_eq(sr, root2);
}

/* ---- building ---------------------------------------------------------- */

void cf_merkle_builder_init(cf_merkle_builder *b)
{
	memset(b, 0, sizeof(*b));
}

/*
 * stack holds one hash per set bit of size, largest subtree first, so the
 * top is the subtree of size's lowest set bit. A push merges the new leaf
 * with the top while the position it lands on is a right child.
 */
void cf_merkle_builder_push(cf_merkle_builder *b, const uint8_t leaf[32], cf_merkle_node_fn on_node, void *ctx)
{
	uint8_t h[HLEN];
	uint64_t pos;
	int top, level = 0;

	CF_ASSERT(b->size >= 0 && b->size < INT64_MAX);
	pos = (uint64_t)b->size;
	top = __builtin_popcountll(pos);
	memcpy(h, leaf, HLEN);
	while ((pos & 1) != 0) {
		top--;
		cf_merkle_node_hash(b->stack[top], h, h);
		level++;
		pos >>= 1;
		if (on_node != NULL)
			on_node(ctx, level, (int64_t)pos, h);
	}
	memcpy(b->stack[top], h, HLEN);
	b->size++;
}

void cf_merkle_builder_root(const cf_merkle_builder *b, uint8_t out[32])
{
	uint8_t h[HLEN];
	int top;

	CF_ASSERT(b->size >= 0);
	top = __builtin_popcountll((uint64_t)b->size);
	if (top == 0) {
		cf_sha256(NULL, 0, out);
		return;
	}
	memcpy(h, b->stack[top - 1], HLEN);
	for (int i = top - 2; i >= 0; i--)
		cf_merkle_node_hash(b->stack[i], h, h);
	memcpy(out, h, HLEN);
}

/*
 * Leaf `index` at (0, index) is a right child exactly while the low bits
 * of index are ones; each such step completes the parent
 * (level + 1, pos >> 1) from the stored left sibling (level, pos - 1).
 */
cf_rc cf_merkle_append(int64_t index, const uint8_t leaf[32], cf_merkle_get_fn get, cf_merkle_put_fn put, void *ctx)
{
	uint8_t h[HLEN], left[HLEN];
	uint64_t pos;
	int level = 0;
	cf_rc rc = CF_OK;

	if (index < 0 || index == INT64_MAX || leaf == NULL || get == NULL || put == NULL)
		return CF_EINVAL;
	pos = (uint64_t)index;
	memcpy(h, leaf, HLEN);
	while ((pos & 1) != 0) {
		rc = get(ctx, level, (int64_t)(pos - 1), left);
		if (rc != CF_OK)
			goto out;
		cf_merkle_node_hash(left, h, h);
		level++;
		pos >>= 1;
		rc = put(ctx, level, (int64_t)pos, h);
		if (rc != CF_OK)
			goto out;
	}
out:
	return rc;
}
