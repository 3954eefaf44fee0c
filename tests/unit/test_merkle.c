/*
 * test_merkle.c - the RFC 6962 / RFC 9162 Merkle module: SHA-256 and the
 * RFC test tree's published roots, every transparency-dev inclusion and
 * consistency vector, roots and proofs from a store of perfect-subtree
 * hashes checked against the RFC's own recursive definitions (MTH, PATH,
 * PROOF, written out naively here) for every tree up to 300 leaves, the
 * ways a proof can be tampered with, the refusals, the number of fetches
 * at a million leaves, and proofs at the largest size the API allows.
 *
 * Vectors are read from $CF_VECTORS/rfc6962 (CMake sets CF_VECTORS), else
 * from tests/vectors beside this file. The naive model hashes with
 * cf_sha256 and explicit 0x00/0x01 prefixes, not with the functions under
 * test. This test must never use nettle directly.
 */
#include "common/cf.h"
#include "merkle/merkle.h"

#include <dirent.h>
#include <jansson.h>
#include <setjmp.h>
#include <sodium.h>
#include <sys/stat.h>

#include <cmocka.h>

#define HL CF_MERKLE_HASH_LEN

/* ---- helpers ---------------------------------------------------------- */

static void hex_to_bytes(const char *hex, uint8_t *out, size_t len)
{
	size_t got = 0;

	assert_int_equal(sodium_hex2bin(out, len, hex, strlen(hex), NULL, &got, NULL), 0);
	assert_int_equal(got, len);
}

static void assert_hash_hex(const uint8_t h[HL], const char *hex)
{
	uint8_t want[HL];

	hex_to_bytes(hex, want, HL);
	assert_memory_equal(h, want, HL);
}

/* The naive model's hashes, spelled out from RFC 9162 2.1.1 over cf_sha256. */
static void model_leaf(const void *data, size_t len, uint8_t out[HL])
{
	uint8_t buf[256];

	assert_true(len < sizeof(buf));
	buf[0] = 0x00;
	if (len > 0)
		memcpy(buf + 1, data, len);
	cf_sha256(buf, len + 1, out);
}

static void model_node(const uint8_t l[HL], const uint8_t r[HL], uint8_t out[HL])
{
	uint8_t buf[1 + 2 * HL];

	buf[0] = 0x01;
	memcpy(buf + 1, l, HL);
	memcpy(buf + 1 + HL, r, HL);
	cf_sha256(buf, sizeof(buf), out);
}

static int64_t model_split(int64_t n)
{
	int64_t k = 1;

	while (k * 2 < n)
		k *= 2;
	return k;
}

/*
 * RFC 9162 2.1.1 MTH over the leaf hashes lh[start, start + n). The leaf
 * hashes themselves come from model_leaf over the entries.
 */
static void model_mth(const uint8_t (*lh)[HL], int64_t start, int64_t n, uint8_t out[HL])
{
	uint8_t l[HL], r[HL];
	int64_t k;

	if (n == 0) {
		cf_sha256(NULL, 0, out);
		return;
	}
	if (n == 1) {
		memcpy(out, lh[start], HL);
		return;
	}
	k = model_split(n);
	model_mth(lh, start, k, l);
	model_mth(lh, start + k, n - k, r);
	model_node(l, r, out);
}

typedef struct hlist {
	uint8_t h[CF_MERKLE_MAX_PROOF + 2][HL];
	size_t n;
} hlist;

static uint8_t *hlist_next(hlist *p)
{
	assert_true(p->n < CF_ARRAY_LEN(p->h));
	return p->h[p->n++];
}

/* RFC 9162 2.1.3.1 PATH(m, D[start:start+n]). */
static void model_path(const uint8_t (*lh)[HL], int64_t m, int64_t start, int64_t n, hlist *out)
{
	int64_t k;

	if (n == 1)
		return;
	k = model_split(n);
	if (m < k) {
		model_path(lh, m, start, k, out);
		model_mth(lh, start + k, n - k, hlist_next(out));
	} else {
		model_path(lh, m - k, start + k, n - k, out);
		model_mth(lh, start, k, hlist_next(out));
	}
}

/* RFC 9162 2.1.4.1 SUBPROOF(m, D[start:start+n], b). */
static void model_subproof(const uint8_t (*lh)[HL], int64_t m, int64_t start, int64_t n, bool b, hlist *out)
{
	int64_t k;

	if (m == n) {
		if (!b)
			model_mth(lh, start, n, hlist_next(out));
		return;
	}
	k = model_split(n);
	if (m <= k) {
		model_subproof(lh, m, start, k, b, out);
		model_mth(lh, start + k, n - k, hlist_next(out));
	} else {
		model_subproof(lh, m - k, start + k, n - k, false, out);
		model_mth(lh, start, k, hlist_next(out));
	}
}

/* ---- an in-memory store of perfect-subtree hashes --------------------- */

#define ST_LEVELS 10 /* 2^9 = 512 > ST_LEAVES */
#define ST_LEAVES 300

typedef struct mstore {
	uint8_t h[ST_LEVELS][ST_LEAVES][HL];
	bool have[ST_LEVELS][ST_LEAVES];
	int64_t visible;  /* get refuses nodes reaching past this many leaves */
	unsigned fetches;
	unsigned puts;
	unsigned fail_after; /* 0: never; else the fail_after-th call fails */
	unsigned calls;
} mstore;

static bool st_in_range(const mstore *s, int level, int64_t index)
{
	return level >= 0 && level < ST_LEVELS && index >= 0 && index < ST_LEAVES &&
	       ((index + 1) << level) <= s->visible;
}

static cf_rc st_get(void *ctx, int level, int64_t index, uint8_t out[32])
{
	mstore *s = ctx;

	s->fetches++;
	if (s->fail_after != 0 && ++s->calls >= s->fail_after)
		return CF_ESTORE;
	if (!st_in_range(s, level, index) || !s->have[level][index])
		return CF_ENOTFOUND;
	memcpy(out, s->h[level][index], HL);
	return CF_OK;
}

static cf_rc st_put(void *ctx, int level, int64_t index, const uint8_t hash[32])
{
	mstore *s = ctx;

	if (s->fail_after != 0 && ++s->calls >= s->fail_after)
		return CF_ESTORE;
	/* Only level >= 1, only completed nodes, each exactly once. */
	if (level < 1 || !st_in_range(s, level, index) || s->have[level][index])
		return CF_EINTERNAL;
	memcpy(s->h[level][index], hash, HL);
	s->have[level][index] = true;
	s->puts++;
	return CF_OK;
}

typedef struct node_log {
	mstore *st;
	unsigned bad; /* calls that were out of range, level 0, or repeated */
} node_log;

static void on_node(void *ctx, int level, int64_t index, const uint8_t hash[32])
{
	node_log *nl = ctx;

	if (st_put(nl->st, level, index, hash) != CF_OK)
		nl->bad++;
}

/* Entry i of the synthetic log: varied lengths, including the empty entry. */
static size_t entry_bytes(int64_t i, uint8_t *buf, size_t cap)
{
	size_t len = (size_t)(i % 37);

	assert_true(len <= cap);
	for (size_t j = 0; j < len; j++)
		buf[j] = (uint8_t)((uint64_t)i * 31u + j * 7u);
	return len;
}

/* ---- known answers ---------------------------------------------------- */

static void test_sha256_known_answers(void **state)
{
	uint8_t h[HL];

	cf_sha256(NULL, 0, h);
	assert_hash_hex(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	cf_sha256("abc", 3, h); /* FIPS 180-2 appendix B.1 */
	assert_hash_hex(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	cf_sha256("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56, h); /* B.2 */
	assert_hash_hex(h, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

/* The RFC 6962 reference test tree: 8 leaves, published roots for each size. */
static const char *const rfc_leaves_hex[8] = {
	"", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f",
};
static const char *const rfc_roots_hex[9] = {
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
	"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
	"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
	"aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
	"d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
	"4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
	"76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
	"ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
	"5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
};

/* Fills st with the RFC test tree (all 8 leaves appended through cf_merkle_append). */
static void rfc_tree_store(mstore *st, cf_merkle_builder *b, uint8_t roots[9][HL])
{
	memset(st, 0, sizeof(*st));
	cf_merkle_builder_init(b);
	cf_merkle_builder_root(b, roots[0]);
	for (int64_t i = 0; i < 8; i++) {
		uint8_t entry[16], leaf[HL];
		size_t len = strlen(rfc_leaves_hex[i]) / 2;

		if (len > 0)
			hex_to_bytes(rfc_leaves_hex[i], entry, len);
		cf_merkle_leaf_hash(entry, len, leaf);
		memcpy(st->h[0][i], leaf, HL);
		st->have[0][i] = true;
		st->visible = i + 1;
		assert_int_equal(cf_merkle_append(i, leaf, st_get, st_put, st), CF_OK);
		cf_merkle_builder_push(b, leaf, NULL, NULL);
		cf_merkle_builder_root(b, roots[i + 1]);
	}
}

static void test_rfc6962_test_tree(void **state)
{
	mstore *st = calloc(1, sizeof(*st));
	cf_merkle_builder b;
	uint8_t roots[9][HL], h[HL];

	assert_non_null(st);
	rfc_tree_store(st, &b, roots);
	for (int64_t s = 0; s <= 8; s++) {
		assert_hash_hex(roots[s], rfc_roots_hex[s]);
		st->visible = s;
		assert_int_equal(cf_merkle_root(s, st_get, st, h), CF_OK);
		assert_hash_hex(h, rfc_roots_hex[s]);
	}
	/* The empty entry's leaf hash and one interior node, by hand. */
	cf_merkle_leaf_hash(NULL, 0, h);
	assert_hash_hex(h, "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d");
	assert_memory_equal(st->h[1][0], roots[2], HL);
	assert_true(st->have[3][0]);
	assert_hash_hex(st->h[3][0], rfc_roots_hex[8]);
	free(st);
}

/* ---- the transparency-dev vectors -------------------------------------- */

typedef struct vec_stats {
	unsigned inclusion, consistency, accepted, matched_proofs;
	mstore *rfc;            /* the RFC test tree, to compare generated proofs with the vectors' */
	uint8_t rfc_roots[9][HL];
} vec_stats;

static void vectors_dir(char *out, size_t cap)
{
	const char *env = getenv("CF_VECTORS");
	const char *file = __FILE__;
	const char *tail = "unit/test_merkle.c";
	size_t fl = strlen(file), tl = strlen(tail);

	if (env != NULL && env[0] != '\0') {
		assert_int_equal(cf_snprintf(out, cap, "%s/rfc6962", env), CF_OK);
		return;
	}
	assert_true(fl >= tl && strcmp(file + fl - tl, tail) == 0);
	assert_int_equal(cf_snprintf(out, cap, "%.*svectors/rfc6962", (int)(fl - tl), file), CF_OK);
}

/*
 * Decodes one base64 hash. Returns its decoded length (any length up to
 * 64 bytes; -1 when it is not base64 at all), the bytes in raw.
 */
static int decode_b64(const char *b64, uint8_t raw[64])
{
	size_t got = 0;
	const char *end = NULL;

	if (sodium_base642bin(raw, 64, b64, strlen(b64), NULL, &got, &end, sodium_base64_VARIANT_ORIGINAL) != 0)
		return -1;
	if (end != b64 + strlen(b64))
		return -1;
	return (int)got;
}

/*
 * The vectors come from a Go library whose verifier takes hashes as byte
 * slices of any length. It refuses a leaf hash or proof hash that is not
 * 32 bytes (so do we: a wire decoder refuses it before verification, the
 * verdict is false), but it only compares roots, and some vectors use short
 * placeholder roots ("don't care") to test exactly that comparison. Such a
 * root is mapped to 32 bytes by hashing it with a tag: equal placeholders
 * stay equal, different ones stay different, and none can equal a real
 * root, so every vector's verdict means what it meant.
 */
static bool decode_root(const char *b64, uint8_t out[HL])
{
	uint8_t raw[64], tagged[96];
	static const char tag[] = "not a 32-byte root:";
	int len = decode_b64(b64, raw);

	if (len < 0)
		return false;
	if (len == HL) {
		memcpy(out, raw, HL);
		return true;
	}
	memcpy(tagged, tag, sizeof(tag) - 1);
	memcpy(tagged + sizeof(tag) - 1, raw, (size_t)len);
	cf_sha256(tagged, sizeof(tag) - 1 + (size_t)len, out);
	return true;
}

static bool decode_hash(const char *b64, uint8_t out[HL])
{
	uint8_t raw[64];

	if (decode_b64(b64, raw) != HL)
		return false;
	memcpy(out, raw, HL);
	return true;
}

/* proof: JSON null (no hashes) or an array of base64 hashes. false when malformed. */
static bool decode_proof(json_t *proof, uint8_t out[CF_MERKLE_MAX_PROOF][HL], size_t *n)
{
	size_t i;
	json_t *v;

	*n = 0;
	if (json_is_null(proof))
		return true;
	if (!json_is_array(proof) || json_array_size(proof) > CF_MERKLE_MAX_PROOF)
		return false;
	json_array_foreach(proof, i, v)
	{
		if (!json_is_string(v) || !decode_hash(json_string_value(v), out[i]))
			return false;
	}
	*n = json_array_size(proof);
	return true;
}

/*
 * Numbers are decoded as reals: two vectors give an index of 2^64 - 1 (the
 * Go library's indices are uint64), which jansson's integers cannot hold.
 * vec_int turns them back into int64_t, exactly.
 */
static json_t *load_json(const char *path)
{
	json_error_t jerr;
	json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES | JSON_DECODE_INT_AS_REAL, &jerr);

	if (root == NULL)
		print_error("%s: %s\n", path, jerr.text);
	assert_non_null(root);
	return root;
}

/*
 * A size or index from a vector. false when it lies beyond int64_t: the API
 * cannot be asked about such a tree (its decoder refuses the number), so the
 * verdict is false. Every value in range is small, and must be exact.
 */
static bool vec_int(const json_t *v, int64_t *out)
{
	double d;

	assert_true(json_is_real(v));
	d = json_real_value(v);
	if (d >= 9223372036854775808.0 || d < -9223372036854775808.0)
		return false;
	assert_true(d > -9007199254740992.0 && d < 9007199254740992.0); /* 2^53: exact in a double */
	*out = (int64_t)d;
	assert_true((double)*out == d);
	return true;
}

static void check_inclusion_vector(const char *path, vec_stats *vs)
{
	json_t *root = load_json(path), *proof = NULL, *jidx = NULL, *jsize = NULL;
	json_error_t jerr;
	int64_t idx = 0, size = 0;
	const char *root_b64 = NULL, *leaf_b64 = NULL, *desc = NULL;
	int want_err = 0;
	uint8_t r[HL], leaf[HL], p[CF_MERKLE_MAX_PROOF][HL];
	size_t n = 0;
	bool got = false;

	if (json_unpack_ex(root, &jerr, JSON_STRICT, "{s:o, s:o, s:s, s:s, s:o, s:s, s:b}", "leafIdx", &jidx,
			   "treeSize", &jsize, "root", &root_b64, "leafHash", &leaf_b64, "proof", &proof, "desc", &desc,
			   "wantErr", &want_err) != 0) {
		print_error("%s: %s\n", path, jerr.text);
		fail();
	}
	if (vec_int(jidx, &idx) && vec_int(jsize, &size) && decode_root(root_b64, r) && decode_hash(leaf_b64, leaf) &&
	    decode_proof(proof, p, &n))
		got = cf_merkle_verify_inclusion(idx, size, leaf, (const uint8_t(*)[32])p, n, r);
	if (got != !want_err) {
		print_error("%s (%s): verify gave %d, wantErr %d\n", path, desc, got, want_err);
		fail();
	}
	vs->inclusion++;
	if (got) {
		vs->accepted++;
		/* Where the vector is about the RFC test tree, our proof must be the vector's, hash for hash. */
		if (size >= 1 && size <= 8 && memcmp(r, vs->rfc_roots[size], HL) == 0) {
			uint8_t mine[CF_MERKLE_MAX_PROOF][HL];
			size_t mn = 0;

			vs->rfc->visible = size;
			assert_int_equal(cf_merkle_inclusion_proof(idx, size, st_get, vs->rfc, mine, &mn),
					 CF_OK);
			assert_int_equal(mn, n);
			assert_memory_equal(mine, p, n * HL);
			vs->matched_proofs++;
		}
	}
	json_decref(root);
}

static void check_consistency_vector(const char *path, vec_stats *vs)
{
	json_t *root = load_json(path), *proof = NULL, *js1 = NULL, *js2 = NULL;
	json_error_t jerr;
	int64_t s1 = 0, s2 = 0;
	const char *r1_b64 = NULL, *r2_b64 = NULL, *desc = NULL;
	int want_err = 0;
	uint8_t r1[HL], r2[HL], p[CF_MERKLE_MAX_PROOF][HL];
	size_t n = 0;
	bool got = false;

	if (json_unpack_ex(root, &jerr, JSON_STRICT, "{s:o, s:o, s:s, s:s, s:o, s:s, s:b}", "size1", &js1, "size2",
			   &js2, "root1", &r1_b64, "root2", &r2_b64, "proof", &proof, "desc", &desc, "wantErr",
			   &want_err) != 0) {
		print_error("%s: %s\n", path, jerr.text);
		fail();
	}
	if (vec_int(js1, &s1) && vec_int(js2, &s2) && decode_root(r1_b64, r1) && decode_root(r2_b64, r2) &&
	    decode_proof(proof, p, &n))
		got = cf_merkle_verify_consistency(s1, s2, r1, r2, (const uint8_t(*)[32])p, n);
	if (got != !want_err) {
		print_error("%s (%s): verify gave %d, wantErr %d\n", path, desc, got, want_err);
		fail();
	}
	vs->consistency++;
	if (got) {
		vs->accepted++;
		if (s1 >= 1 && s2 <= 8 && memcmp(r1, vs->rfc_roots[s1], HL) == 0 &&
		    memcmp(r2, vs->rfc_roots[s2], HL) == 0) {
			uint8_t mine[CF_MERKLE_MAX_PROOF][HL];
			size_t mn = 0;

			vs->rfc->visible = s2;
			assert_int_equal(cf_merkle_consistency_proof(s1, s2, st_get, vs->rfc, mine, &mn),
					 CF_OK);
			assert_int_equal(mn, n);
			assert_memory_equal(mine, p, n * HL);
			vs->matched_proofs++;
		}
	}
	json_decref(root);
}

/* Every *.json under dir, recursively; `inclusion` picks the checker. */
static void walk_vectors(const char *dir, bool inclusion, vec_stats *vs)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (d == NULL)
		print_error("cannot open vector directory %s\n", dir);
	assert_non_null(d);
	while ((e = readdir(d)) != NULL) {
		char path[1024];
		struct stat sb;
		size_t nl = strlen(e->d_name);

		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		assert_int_equal(cf_snprintf(path, sizeof(path), "%s/%s", dir, e->d_name), CF_OK);
		assert_int_equal(stat(path, &sb), 0);
		if (S_ISDIR(sb.st_mode))
			walk_vectors(path, inclusion, vs);
		else if (nl > 5 && strcmp(e->d_name + nl - 5, ".json") == 0) {
			if (inclusion)
				check_inclusion_vector(path, vs);
			else
				check_consistency_vector(path, vs);
		}
	}
	closedir(d);
}

static void test_transparency_dev_vectors(void **state)
{
	char base[512], dir[640];
	vec_stats vs;
	cf_merkle_builder b;

	memset(&vs, 0, sizeof(vs));
	vs.rfc = calloc(1, sizeof(*vs.rfc));
	assert_non_null(vs.rfc);
	rfc_tree_store(vs.rfc, &b, vs.rfc_roots);
	vectors_dir(base, sizeof(base));
	assert_int_equal(cf_snprintf(dir, sizeof(dir), "%s/inclusion", base), CF_OK);
	walk_vectors(dir, true, &vs);
	assert_int_equal(cf_snprintf(dir, sizeof(dir), "%s/consistency", base), CF_OK);
	walk_vectors(dir, false, &vs);
	/* The copied set: 98 of each; a missing directory must not pass quietly. */
	assert_int_equal(vs.inclusion, 98);
	assert_int_equal(vs.consistency, 98);
	assert_int_equal(vs.accepted, 12);
	assert_int_equal(vs.matched_proofs, 10);
	free(vs.rfc);
}

/* ---- every tree up to 300 leaves against the RFC definitions ----------- */

typedef struct small_world {
	mstore st;      /* filled by cf_merkle_append */
	mstore from_builder; /* filled by the builder's on_node */
	uint8_t lh[ST_LEAVES + 2][HL];
	uint8_t roots[ST_LEAVES + 2][HL]; /* model roots of sizes 0..301 */
} small_world;

static void flip_bit(uint8_t h[HL], size_t bit)
{
	h[(bit / 8) % HL] ^= (uint8_t)(1u << (bit % 8));
}

static void check_inclusion_all(small_world *w, int64_t size)
{
	for (int64_t idx = 0; idx < size; idx++) {
		uint8_t p[CF_MERKLE_MAX_PROOF + 1][HL];
		size_t n = 99;
		hlist want = {.n = 0};
		const uint8_t(*cp)[32] = (const uint8_t(*)[32])p;
		const uint8_t *root = w->roots[size], *leaf = w->lh[idx];

		w->st.visible = size;
		assert_int_equal(cf_merkle_inclusion_proof(idx, size, st_get, &w->st, p, &n), CF_OK);
		model_path(w->lh, idx, 0, size, &want);
		assert_int_equal(n, want.n);
		assert_memory_equal(p, want.h, n * HL);
		assert_true(cf_merkle_verify_inclusion(idx, size, leaf, cp, n, root));

		/* A flipped bit anywhere in any hash. */
		for (size_t i = 0; i < n; i++) {
			size_t bit = (i * 37 + (size_t)idx) % 256;

			flip_bit(p[i], bit);
			assert_false(cf_merkle_verify_inclusion(idx, size, leaf, cp, n, root));
			flip_bit(p[i], bit);
		}
		/* Another index of the same tree: a different path. */
		for (int64_t d = idx - 2; d <= idx + 2; d++)
			if (d != idx && d >= 0 && d < size)
				assert_false(cf_merkle_verify_inclusion(d, size, leaf, cp, n, root));
		assert_false(cf_merkle_verify_inclusion(-1, size, leaf, cp, n, root));
		assert_false(cf_merkle_verify_inclusion(size, size, leaf, cp, n, root));
		/* Another size, even with that size's true root. */
		{
			int64_t sizes[] = {size - 1, size + 1, size * 2, size / 2, size + 2};

			for (size_t i = 0; i < CF_ARRAY_LEN(sizes); i++) {
				int64_t s2 = sizes[i];

				if (s2 == size || s2 <= idx || s2 > ST_LEAVES + 1)
					continue;
				assert_false(cf_merkle_verify_inclusion(idx, s2, leaf, cp, n, w->roots[s2]));
			}
		}
		/* Another leaf or another root. */
		assert_false(cf_merkle_verify_inclusion(idx, size, w->lh[idx + 1], cp, n, root));
		assert_false(cf_merkle_verify_inclusion(idx, size, leaf, cp, n, w->roots[size + 1]));
		/* Truncated, extended at either end. */
		if (n > 0)
			assert_false(cf_merkle_verify_inclusion(idx, size, leaf, cp, n - 1, root));
		if (n > 0)
			assert_false(cf_merkle_verify_inclusion(idx, size, leaf, cp + 1, n - 1, root));
		memcpy(p[n], root, HL);
		assert_false(cf_merkle_verify_inclusion(idx, size, leaf, cp, n + 1, root));
		memmove(p[1], p[0], n * HL);
		memcpy(p[0], leaf, HL);
		assert_false(cf_merkle_verify_inclusion(idx, size, leaf, cp, n + 1, root));
	}
}

static void check_consistency_all(small_world *w, int64_t size)
{
	for (int64_t m = 1; m <= size; m++) {
		uint8_t p[CF_MERKLE_MAX_PROOF + 1][HL];
		size_t n = 99;
		hlist want = {.n = 0};
		const uint8_t(*cp)[32] = (const uint8_t(*)[32])p;
		const uint8_t *r1 = w->roots[m], *r2 = w->roots[size];

		w->st.visible = size;
		assert_int_equal(cf_merkle_consistency_proof(m, size, st_get, &w->st, p, &n), CF_OK);
		model_subproof(w->lh, m, 0, size, true, &want);
		assert_int_equal(n, want.n);
		assert_memory_equal(p, want.h, n * HL);
		assert_true(cf_merkle_verify_consistency(m, size, r1, r2, cp, n));
		assert_int_equal(n == 0, m == size);

		for (size_t i = 0; i < n; i++) {
			size_t bit = (i * 41 + (size_t)m) % 256;

			flip_bit(p[i], bit);
			assert_false(cf_merkle_verify_consistency(m, size, r1, r2, cp, n));
			flip_bit(p[i], bit);
		}
		if (m < size) {
			assert_false(cf_merkle_verify_consistency(m, size, r2, r1, cp, n));
			assert_false(cf_merkle_verify_consistency(m, size, w->roots[m - 1], r2, cp, n));
			assert_false(cf_merkle_verify_consistency(m, size, r1, w->roots[size + 1], cp, n));
		} else {
			assert_false(cf_merkle_verify_consistency(m, size, r1, w->roots[size - 1], cp, n));
		}
		/* Other sizes, with their true roots. */
		if (m > 1)
			assert_false(cf_merkle_verify_consistency(m - 1, size, w->roots[m - 1], r2, cp, n));
		if (m < size)
			assert_false(cf_merkle_verify_consistency(m + 1, size, w->roots[m + 1], r2, cp, n));
		assert_false(cf_merkle_verify_consistency(m, size + 1, r1, w->roots[size + 1], cp, n));
		if (size - 1 >= m)
			assert_false(cf_merkle_verify_consistency(m, size - 1, r1, w->roots[size - 1], cp, n));
		assert_false(cf_merkle_verify_consistency(0, size, w->roots[0], r2, cp, n));
		assert_false(cf_merkle_verify_consistency(size + 1, size, w->roots[size + 1], r2, cp, n));
		/* Truncated, extended at either end. */
		if (n > 0) {
			assert_false(cf_merkle_verify_consistency(m, size, r1, r2, cp, n - 1));
			assert_false(cf_merkle_verify_consistency(m, size, r1, r2, cp + 1, n - 1));
		}
		memcpy(p[n], r2, HL);
		assert_false(cf_merkle_verify_consistency(m, size, r1, r2, cp, n + 1));
		memmove(p[1], p[0], n * HL);
		memcpy(p[0], r1, HL);
		assert_false(cf_merkle_verify_consistency(m, size, r1, r2, cp, n + 1));
	}
}

static void test_every_tree_to_300(void **state)
{
	small_world *w = calloc(1, sizeof(*w));
	cf_merkle_builder b;
	node_log nl;
	unsigned total_puts = 0;

	assert_non_null(w);
	for (int64_t i = 0; i < ST_LEAVES + 2; i++) {
		uint8_t e[64];

		model_leaf(e, entry_bytes(i, e, sizeof(e)), w->lh[i]);
	}
	for (int64_t s = 0; s < ST_LEAVES + 2; s++)
		model_mth(w->lh, 0, s, w->roots[s]);
	cf_merkle_builder_init(&b);
	nl.st = &w->from_builder;
	nl.bad = 0;
	for (int64_t i = 0; i < ST_LEAVES; i++) {
		uint8_t e[64], leaf[HL], h[HL];
		int64_t size = i + 1;
		unsigned before = w->st.puts, expect = 0;

		/* The module's leaf hash is the model's. */
		cf_merkle_leaf_hash(e, entry_bytes(i, e, sizeof(e)), leaf);
		assert_memory_equal(leaf, w->lh[i], HL);
		memcpy(w->st.h[0][i], leaf, HL);
		w->st.have[0][i] = true;
		w->st.visible = size;
		assert_int_equal(cf_merkle_append(i, leaf, st_get, st_put, &w->st), CF_OK);
		for (int64_t q = size; q % 2 == 0; q /= 2)
			expect++;
		assert_int_equal(w->st.puts - before, expect);
		total_puts += expect;
		w->from_builder.visible = size;
		cf_merkle_builder_push(&b, leaf, on_node, &nl);
		assert_int_equal(nl.bad, 0);
		assert_int_equal(b.size, size);

		/* (a) three roots agree. */
		cf_merkle_builder_root(&b, h);
		assert_memory_equal(h, w->roots[size], HL);
		w->st.fetches = 0;
		assert_int_equal(cf_merkle_root(size, st_get, &w->st, h), CF_OK);
		assert_memory_equal(h, w->roots[size], HL);
		assert_int_equal(w->st.fetches, (unsigned)__builtin_popcountll((uint64_t)size));
		/* (b), (d) inclusion; (c), (d) consistency up to 130. */
		check_inclusion_all(w, size);
		if (size <= 130)
			check_consistency_all(w, size);
	}
	/* The builder's nodes are exactly the appended ones: every perfect subtree, level >= 1. */
	assert_int_equal(total_puts, ST_LEAVES - 4); /* 300 - popcount(300): 300 = 256 + 32 + 8 + 4 */
	assert_int_equal(w->from_builder.puts, total_puts);
	for (int l = 1; l < ST_LEVELS; l++)
		for (int64_t j = 0; j < ST_LEAVES; j++) {
			bool complete = ((j + 1) << l) <= ST_LEAVES;

			assert_int_equal(w->st.have[l][j], complete);
			assert_int_equal(w->from_builder.have[l][j], complete);
			if (complete) {
				uint8_t h[HL];

				model_mth(w->lh, j << l, (int64_t)1 << l, h);
				assert_memory_equal(w->st.h[l][j], h, HL);
				assert_memory_equal(w->from_builder.h[l][j], h, HL);
			}
		}
	free(w);
}

/* ---- refusals ---------------------------------------------------------- */

static void test_generation_refusals(void **state)
{
	mstore *st = calloc(1, sizeof(*st));
	cf_merkle_builder b;
	uint8_t roots[9][HL], h[HL], p[CF_MERKLE_MAX_PROOF][HL];
	size_t n;

	assert_non_null(st);
	rfc_tree_store(st, &b, roots);
	st->visible = 8;
	assert_int_equal(cf_merkle_root(-1, st_get, st, h), CF_EINVAL);
	assert_int_equal(cf_merkle_root(8, NULL, st, h), CF_EINVAL);
	assert_int_equal(cf_merkle_root(8, st_get, st, NULL), CF_EINVAL);

	n = 7;
	assert_int_equal(cf_merkle_inclusion_proof(8, 8, st_get, st, p, &n), CF_EINVAL);
	assert_int_equal(n, 0);
	assert_int_equal(cf_merkle_inclusion_proof(0, 0, st_get, st, p, &n), CF_EINVAL);
	assert_int_equal(cf_merkle_inclusion_proof(-1, 8, st_get, st, p, &n), CF_EINVAL);
	assert_int_equal(cf_merkle_inclusion_proof(0, -5, st_get, st, p, &n), CF_EINVAL);
	assert_int_equal(cf_merkle_inclusion_proof(INT64_MAX, INT64_MAX, st_get, st, p, &n), CF_EINVAL);
	assert_int_equal(cf_merkle_inclusion_proof(0, 8, NULL, st, p, &n), CF_EINVAL);
	assert_int_equal(cf_merkle_inclusion_proof(0, 8, st_get, st, NULL, &n), CF_EINVAL);
	assert_int_equal(cf_merkle_inclusion_proof(0, 8, st_get, st, p, NULL), CF_EINVAL);
	/* The single-leaf tree: an empty proof, not a refusal. */
	n = 7;
	st->visible = 1;
	assert_int_equal(cf_merkle_inclusion_proof(0, 1, st_get, st, p, &n), CF_OK);
	assert_int_equal(n, 0);
	st->visible = 8;

	n = 7;
	assert_int_equal(cf_merkle_consistency_proof(0, 8, st_get, st, p, &n), CF_EINVAL);
	assert_int_equal(n, 0);
	assert_int_equal(cf_merkle_consistency_proof(0, 0, st_get, st, p, &n), CF_EINVAL);
	assert_int_equal(cf_merkle_consistency_proof(-1, 8, st_get, st, p, &n), CF_EINVAL);
	assert_int_equal(cf_merkle_consistency_proof(9, 8, st_get, st, p, &n), CF_EINVAL);
	assert_int_equal(cf_merkle_consistency_proof(2, 1, st_get, st, p, &n), CF_EINVAL);
	assert_int_equal(cf_merkle_consistency_proof(1, 8, NULL, st, p, &n), CF_EINVAL);
	assert_int_equal(cf_merkle_consistency_proof(1, 8, st_get, st, NULL, &n), CF_EINVAL);
	assert_int_equal(cf_merkle_consistency_proof(1, 8, st_get, st, p, NULL), CF_EINVAL);
	n = 7;
	assert_int_equal(cf_merkle_consistency_proof(8, 8, st_get, st, p, &n), CF_OK);
	assert_int_equal(n, 0);

	assert_int_equal(cf_merkle_append(-1, roots[1], st_get, st_put, st), CF_EINVAL);
	assert_int_equal(cf_merkle_append(INT64_MAX, roots[1], st_get, st_put, st), CF_EINVAL);
	assert_int_equal(cf_merkle_append(3, NULL, st_get, st_put, st), CF_EINVAL);
	assert_int_equal(cf_merkle_append(3, roots[1], NULL, st_put, st), CF_EINVAL);
	assert_int_equal(cf_merkle_append(3, roots[1], st_get, NULL, st), CF_EINVAL);
	/* An even index completes nothing: no fetch, no put. */
	st->fetches = 0;
	st->puts = 0;
	assert_int_equal(cf_merkle_append(8, roots[1], st_get, st_put, st), CF_OK);
	assert_int_equal(st->fetches, 0);
	assert_int_equal(st->puts, 0);
	free(st);
}

/* Which operation fail_each_fetch runs. */
enum op { OP_ROOT, OP_INCLUSION, OP_CONSISTENCY };

static cf_rc run_op(enum op op, mstore *st, size_t *n)
{
	uint8_t h[HL], p[CF_MERKLE_MAX_PROOF][HL];

	switch (op) {
	case OP_ROOT:
		return cf_merkle_root(7, st_get, st, h);
	case OP_INCLUSION:
		return cf_merkle_inclusion_proof(0, 7, st_get, st, p, n);
	case OP_CONSISTENCY:
		return cf_merkle_consistency_proof(3, 7, st_get, st, p, n);
	}
	return CF_EINTERNAL;
}

/* Runs op once to count its fetches, then makes each fetch fail in turn. */
static void fail_each_fetch(enum op op, mstore *st, unsigned want_fetches)
{
	size_t n = 99;

	st->fail_after = 0;
	st->fetches = 0;
	assert_int_equal(run_op(op, st, &n), CF_OK);
	assert_int_equal(st->fetches, want_fetches);
	for (unsigned k = 1; k <= want_fetches; k++) {
		st->fail_after = k;
		st->calls = 0;
		n = 99;
		assert_int_equal(run_op(op, st, &n), CF_ESTORE);
		if (op != OP_ROOT)
			assert_int_equal(n, 0);
	}
	st->fail_after = 0;
}

/* A failing store is reported as it failed, at every point of every operation, and leaves no proof. */
static void test_store_failures_propagate(void **state)
{
	mstore *st = calloc(1, sizeof(*st));
	cf_merkle_builder b;
	uint8_t roots[9][HL], p[CF_MERKLE_MAX_PROOF][HL];
	size_t n = 99;

	assert_non_null(st);
	rfc_tree_store(st, &b, roots);
	st->visible = 7;
	fail_each_fetch(OP_ROOT, st, 3);        /* (2,0), (1,2), leaf 6 */
	fail_each_fetch(OP_INCLUSION, st, 4);   /* leaf 1, (1,1), and the right edge 4..6 as (1,2) + leaf 6 */
	fail_each_fetch(OP_CONSISTENCY, st, 5); /* leaf 2, leaf 3, (1,0), and (1,2) + leaf 6 */
	/* A node missing from the store (ENOTFOUND here) is passed back too. */
	st->have[1][1] = false;
	assert_int_equal(cf_merkle_inclusion_proof(0, 7, st_get, st, p, &n), CF_ENOTFOUND);
	assert_int_equal(n, 0);

	/* append: leaf 7 completes (1,3), (2,1), (3,0): 3 fetches and 3 puts, interleaved. */
	for (unsigned k = 1; k <= 6; k++) {
		memset(st, 0, sizeof(*st));
		rfc_tree_store(st, &b, roots);
		for (int l = 1; l <= 3; l++)
			memset(st->have[l], 0, sizeof(st->have[l]));
		for (int64_t i = 0; i < 7; i++)
			assert_int_equal(cf_merkle_append(i, st->h[0][i], st_get, st_put, st), CF_OK);
		st->puts = 0;
		st->fail_after = k;
		st->calls = 0;
		assert_int_equal(cf_merkle_append(7, st->h[0][7], st_get, st_put, st), CF_ESTORE);
		assert_int_equal(st->puts, (k - 1) / 2); /* the nodes completed before the failure stay */
		assert_false(st->have[3][0]);
	}
	free(st);
}

static void test_verify_refusals(void **state)
{
	mstore *st = calloc(1, sizeof(*st));
	cf_merkle_builder b;
	uint8_t roots[9][HL], p[CF_MERKLE_MAX_PROOF + 1][HL], leaf[HL];
	const uint8_t(*cp)[32] = (const uint8_t(*)[32])p;
	size_t n = 0;

	assert_non_null(st);
	rfc_tree_store(st, &b, roots);
	memcpy(leaf, st->h[0][2], HL);
	st->visible = 8;
	assert_int_equal(cf_merkle_inclusion_proof(2, 8, st_get, st, p, &n), CF_OK);
	assert_int_equal(n, 3);
	assert_true(cf_merkle_verify_inclusion(2, 8, leaf, cp, n, roots[8]));
	assert_false(cf_merkle_verify_inclusion(2, 8, NULL, cp, n, roots[8]));
	assert_false(cf_merkle_verify_inclusion(2, 8, leaf, NULL, n, roots[8]));
	assert_false(cf_merkle_verify_inclusion(2, 8, leaf, cp, n, NULL));
	assert_false(cf_merkle_verify_inclusion(2, 0, leaf, cp, n, roots[8]));
	assert_false(cf_merkle_verify_inclusion(2, -8, leaf, cp, n, roots[8]));
	assert_false(cf_merkle_verify_inclusion(INT64_MIN, 8, leaf, cp, n, roots[8]));
	assert_false(cf_merkle_verify_inclusion(2, 8, leaf, cp, CF_MERKLE_MAX_PROOF + 1, roots[8]));
	assert_false(cf_merkle_verify_inclusion(2, 8, leaf, cp, SIZE_MAX, roots[8]));
	/* Size 1: the leaf is the root, the proof empty, and nothing else. */
	assert_true(cf_merkle_verify_inclusion(0, 1, roots[1], NULL, 0, roots[1]));
	assert_false(cf_merkle_verify_inclusion(0, 1, roots[1], cp, 1, roots[1]));
	assert_false(cf_merkle_verify_inclusion(0, 1, roots[2], NULL, 0, roots[1]));
	/* An empty tree includes nothing, even its own root as a leaf. */
	assert_false(cf_merkle_verify_inclusion(0, 0, roots[0], NULL, 0, roots[0]));

	assert_int_equal(cf_merkle_consistency_proof(3, 8, st_get, st, p, &n), CF_OK);
	assert_true(cf_merkle_verify_consistency(3, 8, roots[3], roots[8], cp, n));
	assert_false(cf_merkle_verify_consistency(3, 8, NULL, roots[8], cp, n));
	assert_false(cf_merkle_verify_consistency(3, 8, roots[3], NULL, cp, n));
	assert_false(cf_merkle_verify_consistency(3, 8, roots[3], roots[8], NULL, n));
	assert_false(cf_merkle_verify_consistency(3, 8, roots[3], roots[8], cp, 0));
	assert_false(cf_merkle_verify_consistency(3, 8, roots[3], roots[8], cp, CF_MERKLE_MAX_PROOF + 1));
	assert_false(cf_merkle_verify_consistency(-3, 8, roots[3], roots[8], cp, n));
	assert_false(cf_merkle_verify_consistency(3, -8, roots[3], roots[8], cp, n));
	/* m == 0 is refused even with the empty tree's root and an empty proof; m == n needs equal roots. */
	assert_false(cf_merkle_verify_consistency(0, 0, roots[0], roots[0], NULL, 0));
	assert_false(cf_merkle_verify_consistency(0, 8, roots[0], roots[8], NULL, 0));
	assert_true(cf_merkle_verify_consistency(8, 8, roots[8], roots[8], NULL, 0));
	assert_false(cf_merkle_verify_consistency(8, 8, roots[8], roots[7], NULL, 0));
	assert_false(cf_merkle_verify_consistency(8, 8, roots[8], roots[8], cp, 1));
	/* A power-of-two m: the proof omits the old root, and must not start with it either. */
	assert_int_equal(cf_merkle_consistency_proof(4, 8, st_get, st, p, &n), CF_OK);
	assert_int_equal(n, 1);
	assert_true(cf_merkle_verify_consistency(4, 8, roots[4], roots[8], cp, n));
	memmove(p[1], p[0], HL);
	memcpy(p[0], roots[4], HL);
	assert_false(cf_merkle_verify_consistency(4, 8, roots[4], roots[8], cp, 2));
	free(st);
}

/* ---- fetch counts at a million leaves ----------------------------------- */

typedef struct synth {
	unsigned fetches;
	int64_t size;
	bool bad;
} synth;

/* Any hash will do: only the number of fetches, and that each is a real perfect subtree, matter. */
static cf_rc synth_get(void *ctx, int level, int64_t index, uint8_t out[32])
{
	synth *s = ctx;
	int64_t pair[2] = {level, index};

	s->fetches++;
	if (level < 0 || level > 62 || index < 0 || index > (s->size >> level) - 1)
		s->bad = true;
	cf_sha256(pair, sizeof(pair), out);
	return CF_OK;
}

static int ceil_log2(int64_t n)
{
	int l = 0;

	while (((int64_t)1 << l) < n)
		l++;
	return l;
}

static void test_fetch_counts(void **state)
{
	static const int64_t sizes[] = {1000000, 1048575, 1048576, 1048577, 999999, 524289};
	uint8_t p[CF_MERKLE_MAX_PROOF][HL], h[HL];
	size_t n;
	unsigned worst_incl = 0, worst_cons = 0;

	for (size_t si = 0; si < CF_ARRAY_LEN(sizes); si++) {
		int64_t size = sizes[si];
		unsigned cap = (unsigned)(2 * ceil_log2(size) + 2);
		synth s = {.size = size};

		assert_int_equal(cf_merkle_root(size, synth_get, &s, h), CF_OK);
		assert_int_equal(s.fetches, (unsigned)__builtin_popcountll((uint64_t)size));
		for (int64_t idx = 0; idx < size; idx += 997) {
			int64_t ids[2] = {idx, size - 1 - idx};

			for (int j = 0; j < 2; j++) {
				s.fetches = 0;
				assert_int_equal(cf_merkle_inclusion_proof(ids[j], size, synth_get, &s, p, &n), CF_OK);
				assert_true(s.fetches <= cap);
				assert_true(n <= (size_t)ceil_log2(size));
				if (s.fetches > worst_incl)
					worst_incl = s.fetches;
				s.fetches = 0;
				assert_int_equal(cf_merkle_consistency_proof(ids[j] + 1, size, synth_get, &s, p, &n),
						 CF_OK);
				assert_true(s.fetches <= cap);
				assert_true(n <= (size_t)ceil_log2(size) + 1);
				if (s.fetches > worst_cons)
					worst_cons = s.fetches;
			}
		}
		assert_false(s.bad);
	}
	/* The bounds are met, and approached (at 1048575 = 2^20 - 1 the right edge has 20 pieces). */
	assert_true(worst_incl >= 30);
	assert_true(worst_cons >= 30);
	print_message("worst fetches: inclusion %u, consistency %u\n", worst_incl, worst_cons);
}

/* ---- the largest sizes: a store where every leaf is the same ------------ */

/* With equal leaves the perfect subtree at level L has one hash z[L], whatever its index. */
typedef struct uniform {
	uint8_t z[64][HL];
	int64_t size;
	bool bad;
} uniform;

static cf_rc uniform_get(void *ctx, int level, int64_t index, uint8_t out[32])
{
	uniform *u = ctx;

	if (level < 0 || level > 62 || index < 0 || index > (u->size >> level) - 1)
		u->bad = true;
	else
		memcpy(out, u->z[level], HL);
	return u->bad ? CF_EINTERNAL : CF_OK;
}

static void test_largest_sizes(void **state)
{
	uniform *u = calloc(1, sizeof(*u));
	uint8_t p[CF_MERKLE_MAX_PROOF][HL], root[HL], r1[HL];
	const uint8_t(*cp)[32] = (const uint8_t(*)[32])p;
	size_t n;
	static const int64_t sizes[] = {INT64_MAX, INT64_MAX - 1, (int64_t)1 << 62, ((int64_t)1 << 62) + 1, 3};
	static const int64_t picks[] = {0, 1, 2, (int64_t)1 << 61, ((int64_t)1 << 62) - 1, (int64_t)1 << 62,
					INT64_MAX - 2, INT64_MAX - 1};

	assert_non_null(u);
	cf_merkle_leaf_hash("same", 4, u->z[0]);
	for (int l = 1; l < 64; l++)
		cf_merkle_node_hash(u->z[l - 1], u->z[l - 1], u->z[l]);
	for (size_t si = 0; si < CF_ARRAY_LEN(sizes); si++) {
		int64_t size = sizes[si];

		u->size = size;
		assert_int_equal(cf_merkle_root(size, uniform_get, u, root), CF_OK);
		for (size_t pi = 0; pi < CF_ARRAY_LEN(picks); pi++) {
			int64_t idx = picks[pi];

			if (idx >= size)
				continue;
			assert_int_equal(cf_merkle_inclusion_proof(idx, size, uniform_get, u, p, &n), CF_OK);
			assert_true(n <= 63);
			assert_true(cf_merkle_verify_inclusion(idx, size, u->z[0], cp, n, root));
			assert_false(cf_merkle_verify_inclusion(idx, size, u->z[1], cp, n, root));

			assert_int_equal(cf_merkle_consistency_proof(idx + 1, size, uniform_get, u, p, &n), CF_OK);
			assert_true(n <= CF_MERKLE_MAX_PROOF);
			u->size = idx + 1;
			assert_int_equal(cf_merkle_root(idx + 1, uniform_get, u, r1), CF_OK);
			u->size = size;
			assert_true(cf_merkle_verify_consistency(idx + 1, size, r1, root, cp, n));
			if (n > 0)
				assert_false(cf_merkle_verify_consistency(idx + 1, size, r1, root, cp, n - 1));
		}
	}
	/* The longest proofs: 63 hashes for inclusion, 64 for consistency (m = 3 or 2^62 + 1 of INT64_MAX). */
	u->size = INT64_MAX;
	assert_int_equal(cf_merkle_inclusion_proof(0, INT64_MAX, uniform_get, u, p, &n), CF_OK);
	assert_int_equal(n, 63);
	assert_int_equal(cf_merkle_consistency_proof(((int64_t)1 << 62) + 1, INT64_MAX, uniform_get, u, p, &n), CF_OK);
	assert_int_equal(n, 64);
	assert_int_equal(cf_merkle_consistency_proof(3, INT64_MAX, uniform_get, u, p, &n), CF_OK);
	assert_int_equal(n, 64);
	assert_false(u->bad);

	/* The builder at its capacity: 63 levels on the stack. */
	{
		cf_merkle_builder b;
		uint8_t h[HL];

		cf_merkle_builder_init(&b);
		for (int l = 62; l >= 0; l--)
			memcpy(b.stack[62 - l], u->z[l], HL);
		b.size = INT64_MAX;
		cf_merkle_builder_root(&b, h);
		assert_int_equal(cf_merkle_root(INT64_MAX, uniform_get, u, root), CF_OK);
		assert_memory_equal(h, root, HL);
	}
	free(u);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sha256_known_answers),
		cmocka_unit_test(test_rfc6962_test_tree),
		cmocka_unit_test(test_transparency_dev_vectors),
		cmocka_unit_test(test_every_tree_to_300),
		cmocka_unit_test(test_generation_refusals),
		cmocka_unit_test(test_store_failures_propagate),
		cmocka_unit_test(test_verify_refusals),
		cmocka_unit_test(test_fetch_counts),
		cmocka_unit_test(test_largest_sizes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
