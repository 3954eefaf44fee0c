/*
 * test_note.c - signed checkpoints (audit/note.h) and Ed25519 (crypto.h
 * "Signatures"), against published vectors:
 *   - RFC 8032 section 7.1 TEST 1 (seed, public key, signature of "");
 *   - golang.org/x/mod sumdb/note note_test.go: the PeterNeumann and
 *     EnochRoot verifier keys, PeterNeumann's signer key (its seed) and
 *     their signatures over the "If you think cryptography..." note,
 *     and the key manglings that Go refuses;
 *   - a real sum.golang.org checkpoint (tree size 31700353, as quoted in
 *     transparency-dev/trillian-tessera internal/parse/parse_test.go),
 *     verified with the sum.golang.org key that Go ships
 *     (src/cmd/go/internal/modfetch/key.go);
 *   - the exact bytes of one of our checkpoints, computed independently
 *     with Python's `cryptography` Ed25519 and hashlib SHA-256.
 *
 * Must never depend on libsodium directly: everything goes through
 * crypto.h and note.h.
 */
#include "common/cf.h"
#include "audit/note.h"

#include "crypto/crypto.h"

#include <setjmp.h>

#include <cmocka.h>

/* ---- vectors ------------------------------------------------------------ */

#define EM "\xe2\x80\x94" /* U+2014 EM DASH */

/* RFC 8032, 7.1, TEST 1. */
static const char *rfc_seed = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
static const char *rfc_pub = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
static const char *rfc_sig = "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e3970"
			     "1cf9b46bd25bf5f0595bbe24655141438e7a100b";

/* golang.org/x/mod/sumdb/note/note_test.go */
static const char *peter_vkey = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
static const char *peter_pub = "1a5cd907143c384c41e830c5bce12aa8817ec5649aaabf2c31388b35b2d744d6";
/* base64 of 0x01 || seed, from "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALV..." */
static const char *peter_skey_b64 = "AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
static const char *enoch_vkey = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop";
static const char *enoch_pub = "3b6a27bcceb6a42d62a3a8d02a6f0d73653215771de243a63ac048a18b59da29";
static const char *go_text = "If you think cryptography is the answer to your problem,\n"
			     "then you don't know what your problem is.\n";
static const char *peter_sig_b64 =
	"x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=";
static const char *enoch_sig_b64 =
	"rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=";

/* sum.golang.org: the key Go ships, and one of its real checkpoints. */
static const char *sumdb_vkey = "sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8";
static const char *sumdb_pub = "ce3372d75ad1ee5ecdaf8727293d4b111d87eb37531d7c86d4d3003f0eb809fc";
static const char *sumdb_note = "go.sum database tree\n"
				"31700353\n"
				"qINS1GRFhWHwdkUeqLEoP4yEMkTBBzxBkGwGQlVlVcs=\n"
				"\n" EM " sum.golang.org "
				"Az3grnmrIUEDFqHzAElIQCPNoRFRAAdFo47fooyWKMHb89k11GJh5zHIfNCOBmwn/"
				"C3YI8oW9/C8DJ87F61QqspBYwM=\n";
static const char *sumdb_root = "a88352d464458561f076451ea8b1283f8c843244c1073c41906c0642556555cb";

/* Ours, computed with Python `cryptography`: seed 00 01 .. 1f, root 20 21 .. 3f, size 123456789. */
#define OUR_NAME "audit.coffre.example/log"
static const char *our_pub = "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8";
static const char *our_vkey = "audit.coffre.example/log+e75d9685+AQOhB7/zzhC+HXDdGOdLwJln5NYwm6UNXx3chmQSVTG4";
static const char *our_note = "audit.coffre.example/log\n"
			      "123456789\n"
			      "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=\n"
			      "\n" EM " audit.coffre.example/log "
			      "512Wha6LXX9ejHJ4bk+DvIPRPy4HqFR21rf428QfrzJ0+qJEy6SUIrz8JGKlvKeGjRwpxzV0ad3oE2vuMHbG"
			      "kEKP+g4=\n";

/* ---- helpers ------------------------------------------------------------ */

static void from_hex(const char *hex, uint8_t *out, size_t n)
{
	assert_int_equal(strlen(hex), 2 * n);
	for (size_t i = 0; i < n; i++) {
		unsigned v = 0;
		assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
}

static cf_key *key_from_hex(const char *hex)
{
	uint8_t b[CF_KEY_LEN];
	cf_key *k;

	from_hex(hex, b, sizeof(b));
	k = cf_key_new_from_bytes(b, sizeof(b));
	assert_non_null(k);
	return k;
}

/* seed 00 01 .. 1f */
static cf_key *our_seed(void)
{
	uint8_t b[CF_KEY_LEN];
	cf_key *k;

	for (size_t i = 0; i < sizeof(b); i++)
		b[i] = (uint8_t)i;
	k = cf_key_new_from_bytes(b, sizeof(b));
	assert_non_null(k);
	return k;
}

static void our_root(uint8_t root[32])
{
	for (size_t i = 0; i < 32; i++)
		root[i] = (uint8_t)(0x20 + i);
}

static cf_note_signer *our_signer(void)
{
	cf_note_signer *s = NULL;
	cf_key *seed = our_seed();

	assert_int_equal(cf_note_signer_new(OUR_NAME, seed, &s, NULL), CF_OK);
	cf_key_free(seed);
	return s;
}

static void our_verifier(cf_note_verifier *v)
{
	assert_int_equal(cf_note_verifier_parse(our_vkey, v, NULL), CF_OK);
}

static cf_rc verify_str(const char *note, const cf_note_verifier *v)
{
	cf_err err = {0};
	int64_t size = -1;
	uint8_t root[32];
	char *origin = (char *)"unset";
	cf_rc rc = cf_checkpoint_verify(note, strlen(note), v, &origin, &size, root, &err);

	if (rc == CF_OK) {
		assert_non_null(origin);
		free(origin);
	} else {
		/* failure leaves nothing behind, and says why */
		uint8_t zero[32] = {0};
		assert_null(origin);
		assert_int_equal(size, 0);
		assert_memory_equal(root, zero, 32);
		assert_int_equal(err.rc, rc);
		assert_true(err.detail[0] != '\0');
	}
	return rc;
}

/* malloc'd copy of s with the first occurrence of from replaced by to (which must occur). */
static char *replace_once(const char *s, const char *from, const char *to)
{
	const char *at = strstr(s, from);
	size_t pre, fl = strlen(from), tl = strlen(to), sl = strlen(s);
	char *r;

	assert_non_null(at);
	pre = (size_t)(at - s);
	r = malloc(sl - fl + tl + 1);
	assert_non_null(r);
	memcpy(r, s, pre);
	memcpy(r + pre, to, tl);
	memcpy(r + pre + tl, at + fl, sl - pre - fl + 1);
	return r;
}

/* malloc'd concatenation of a and b. */
static char *concat(const char *a, const char *b)
{
	size_t al = strlen(a), bl = strlen(b);
	char *r = malloc(al + bl + 1);

	assert_non_null(r);
	memcpy(r, a, al);
	memcpy(r + al, b, bl + 1);
	return r;
}

/* A signature line "— name base64(raw)\n", malloc'd. */
static char *sig_line(const char *name, const uint8_t *raw, size_t rawlen)
{
	char *b64 = NULL, *line;
	size_t n;

	assert_int_equal(cf_b64_encode(raw, rawlen, &b64), CF_OK);
	n = strlen(EM " ") + strlen(name) + 1 + strlen(b64) + 2;
	line = malloc(n);
	assert_non_null(line);
	assert_int_equal(cf_snprintf(line, n, EM " %s %s\n", name, b64), CF_OK);
	free(b64);
	return line;
}

/* The note: body, blank line, a line signed by key under (name, key_id) over body. */
static char *signed_by(const char *body, const cf_sign_key *key, const char *name, const uint8_t key_id[4])
{
	uint8_t raw[4 + CF_SIGN_BYTES];
	char *line, *head, *note;

	memcpy(raw, key_id, 4);
	assert_int_equal(cf_sign(key, body, strlen(body), raw + 4), CF_OK);
	line = sig_line(name, raw, sizeof(raw));
	head = concat(body, "\n");
	note = concat(head, line);
	free(line);
	free(head);
	return note;
}

static cf_sign_key *our_sign_key(void)
{
	cf_key *seed = our_seed();
	cf_sign_key *k = cf_sign_key_from_seed(seed);

	assert_non_null(k);
	cf_key_free(seed);
	return k;
}

/* ---- Ed25519 ------------------------------------------------------------ */

static void test_rfc8032_test1(void **state)
{
	cf_key *seed = key_from_hex(rfc_seed);
	cf_sign_key *k = cf_sign_key_from_seed(seed);
	uint8_t pub[CF_SIGN_PUBLIC_LEN], want_pub[CF_SIGN_PUBLIC_LEN];
	uint8_t sig[CF_SIGN_BYTES], want_sig[CF_SIGN_BYTES];

	assert_non_null(k);
	from_hex(rfc_pub, want_pub, sizeof(want_pub));
	from_hex(rfc_sig, want_sig, sizeof(want_sig));
	cf_sign_key_public(k, pub);
	assert_memory_equal(pub, want_pub, sizeof(pub));

	assert_int_equal(cf_sign(k, NULL, 0, sig), CF_OK);
	assert_memory_equal(sig, want_sig, sizeof(sig));
	assert_int_equal(cf_sign(k, "", 0, sig), CF_OK); /* same message, other pointer */
	assert_memory_equal(sig, want_sig, sizeof(sig));

	assert_true(cf_sign_verify(want_pub, NULL, 0, want_sig));
	assert_true(cf_sign_verify(want_pub, "x", 0, want_sig));
	assert_false(cf_sign_verify(want_pub, "x", 1, want_sig)); /* another message */
	want_sig[0] ^= 0x01;
	assert_false(cf_sign_verify(want_pub, NULL, 0, want_sig));
	want_sig[0] ^= 0x01;
	want_sig[63] ^= 0x80;
	assert_false(cf_sign_verify(want_pub, NULL, 0, want_sig));
	want_sig[63] ^= 0x80;
	want_pub[5] ^= 0x10;
	assert_false(cf_sign_verify(want_pub, NULL, 0, want_sig)); /* another key */

	cf_sign_key_free(k);
	cf_key_free(seed);
}

static void test_sign_refusals(void **state)
{
	cf_sign_key *k = our_sign_key();
	uint8_t pub[CF_SIGN_PUBLIC_LEN], sig[CF_SIGN_BYTES];

	assert_null(cf_sign_key_from_seed(NULL));
	cf_sign_key_free(NULL);
	assert_int_equal(cf_sign(NULL, "m", 1, sig), CF_EINVAL);
	assert_int_equal(cf_sign(k, NULL, 1, sig), CF_EINVAL);
	assert_int_equal(cf_sign(k, "m", 1, NULL), CF_EINVAL);

	cf_sign_key_public(k, pub);
	assert_int_equal(cf_sign(k, "m", 1, sig), CF_OK);
	assert_true(cf_sign_verify(pub, "m", 1, sig));
	assert_false(cf_sign_verify(NULL, "m", 1, sig));
	assert_false(cf_sign_verify(pub, NULL, 1, sig));
	assert_false(cf_sign_verify(pub, "m", 1, NULL));
	assert_false(cf_sign_verify(pub, "n", 1, sig));
	cf_sign_key_free(k);
}

/* ---- Go sumdb/note vectors -------------------------------------------- */

static void test_go_verifier_keys(void **state)
{
	cf_note_verifier v;
	uint8_t pub[32];
	const uint8_t peter_id[4] = {0xc7, 0x4f, 0x20, 0xa3};
	const uint8_t enoch_id[4] = {0xaf, 0x0c, 0xfe, 0x78};
	const uint8_t sumdb_id[4] = {0x03, 0x3d, 0xe0, 0xae};

	assert_int_equal(cf_note_verifier_parse(peter_vkey, &v, NULL), CF_OK);
	assert_string_equal(v.name, "PeterNeumann");
	assert_memory_equal(v.key_id, peter_id, 4);
	from_hex(peter_pub, pub, 32);
	assert_memory_equal(v.pub, pub, 32);

	assert_int_equal(cf_note_verifier_parse(enoch_vkey, &v, NULL), CF_OK);
	assert_string_equal(v.name, "EnochRoot");
	assert_memory_equal(v.key_id, enoch_id, 4);
	from_hex(enoch_pub, pub, 32);
	assert_memory_equal(v.pub, pub, 32);

	/* its key material holds '+' characters: only the first two '+' separate fields */
	assert_int_equal(cf_note_verifier_parse(sumdb_vkey, &v, NULL), CF_OK);
	assert_string_equal(v.name, "sum.golang.org");
	assert_memory_equal(v.key_id, sumdb_id, 4);
	from_hex(sumdb_pub, pub, 32);
	assert_memory_equal(v.pub, pub, 32);

	/* Go's ParseUint accepts upper-case hex: so do we */
	assert_int_equal(cf_note_verifier_parse("PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
						&v, NULL),
			 CF_OK);
	assert_memory_equal(v.key_id, peter_id, 4);
}

/* TestNewVerifier: every proper substring and every one-byte increment is refused. */
static void test_go_verifier_key_manglings(void **state)
{
	cf_note_verifier v;
	cf_err err;
	size_t n = strlen(peter_vkey);
	char buf[128];

	for (size_t i = 0; i <= n; i++) {
		for (size_t j = i + 1; j <= n; j++) {
			if (i == 0 && j == n)
				continue;
			memcpy(buf, peter_vkey + i, j - i);
			buf[j - i] = '\0';
			if (cf_note_verifier_parse(buf, &v, NULL) == CF_OK)
				fail_msg("accepted substring [%zu,%zu)", i, j);
			assert_int_equal(v.name[0], '\0'); /* zeroed on failure */
		}
	}
	memcpy(buf, peter_vkey, n + 1);
	for (size_t i = 0; i < n; i++) {
		buf[i]++;
		if (cf_note_verifier_parse(buf, &v, NULL) == CF_OK)
			fail_msg("accepted increment at %zu", i);
		buf[i]--;
	}
	/* wrong length key, with adjusted key hash */
	assert_int_equal(cf_note_verifier_parse("PeterNeumann+cc469956+"
						"ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==",
						&v, &err),
			 CF_EINVAL);
	assert_non_null(strstr(err.detail, "32-byte"));
	/* unknown algorithm, with adjusted key hash */
	assert_int_equal(
		cf_note_verifier_parse("PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", &v, &err),
		CF_EINVAL);
	assert_non_null(strstr(err.detail, "Ed25519"));
	/* right key, other key id */
	assert_int_equal(
		cf_note_verifier_parse("PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", &v, &err),
		CF_EINVAL);
	assert_non_null(strstr(err.detail, "does not match"));
}

static void test_verifier_key_refusals(void **state)
{
	cf_note_verifier v;
	char longkey[1100];
	cf_err err;

	assert_int_equal(cf_note_verifier_parse(NULL, &v, NULL), CF_EINVAL);
	assert_int_equal(cf_note_verifier_parse(peter_vkey, NULL, NULL), CF_EINVAL);
	assert_int_equal(cf_note_verifier_parse("", &v, NULL), CF_EINVAL);
	assert_int_equal(cf_note_verifier_parse("PeterNeumann", &v, NULL), CF_EINVAL);
	assert_int_equal(cf_note_verifier_parse("PeterNeumann+c74f20a3", &v, NULL), CF_EINVAL);
	assert_int_equal(cf_note_verifier_parse("PeterNeumann+c74f20a3+", &v, NULL), CF_EINVAL);
	assert_int_equal(cf_note_verifier_parse("+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", &v, NULL),
			 CF_EINVAL);
	assert_int_equal(cf_note_verifier_parse("Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
						&v, NULL),
			 CF_EINVAL);
	assert_int_equal(cf_note_verifier_parse("PeterNeumann+0xc74f20+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
						&v, NULL),
			 CF_EINVAL);
	assert_int_equal(cf_note_verifier_parse("PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW\n",
						&v, NULL),
			 CF_EINVAL);
	assert_int_equal(cf_note_verifier_parse("PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW ",
						&v, NULL),
			 CF_EINVAL);
	memset(longkey, 'a', sizeof(longkey) - 1);
	longkey[sizeof(longkey) - 1] = '\0';
	assert_int_equal(cf_note_verifier_parse(longkey, &v, &err), CF_EINVAL);
	assert_int_equal(err.problem, CF_P_TOO_LONG);
}

/*
 * The published signer key's seed gives the published verifier key and,
 * Ed25519 being deterministic, the published signature.
 */
static void test_go_signer_from_published_seed(void **state)
{
	uint8_t *raw = NULL, *want = NULL, sig[CF_SIGN_BYTES];
	size_t rawlen = 0, wantlen = 0;
	cf_key *seed;
	cf_sign_key *k;
	cf_note_signer *s = NULL;
	char *vkey;

	assert_int_equal(cf_b64_decode(peter_skey_b64, strlen(peter_skey_b64), &raw, &rawlen), CF_OK);
	assert_int_equal(rawlen, 33);
	assert_int_equal(raw[0], 0x01);
	seed = cf_key_new_from_bytes(raw + 1, 32);
	assert_non_null(seed);
	cf_wipe_free(raw, rawlen + 1);

	assert_int_equal(cf_note_signer_new("PeterNeumann", seed, &s, NULL), CF_OK);
	vkey = cf_note_verifier_key(s);
	assert_non_null(vkey);
	assert_string_equal(vkey, peter_vkey);
	free(vkey);

	k = cf_sign_key_from_seed(seed);
	assert_non_null(k);
	assert_int_equal(cf_sign(k, go_text, strlen(go_text), sig), CF_OK);
	assert_int_equal(cf_b64_decode(peter_sig_b64, strlen(peter_sig_b64), &want, &wantlen), CF_OK);
	assert_int_equal(wantlen, 4 + CF_SIGN_BYTES);
	assert_memory_equal(want, "\xc7\x4f\x20\xa3", 4);
	assert_memory_equal(sig, want + 4, CF_SIGN_BYTES);

	free(want);
	cf_sign_key_free(k);
	cf_note_signer_free(s);
	cf_key_free(seed);
}

/* TestOpen's note: both published signatures verify under their published keys, over the text only. */
static void test_go_published_signatures(void **state)
{
	const char *vkeys[2] = {peter_vkey, enoch_vkey};
	const char *sigs[2] = {peter_sig_b64, enoch_sig_b64};

	for (size_t i = 0; i < 2; i++) {
		cf_note_verifier v;
		uint8_t *raw = NULL;
		size_t rawlen = 0;

		assert_int_equal(cf_note_verifier_parse(vkeys[i], &v, NULL), CF_OK);
		assert_int_equal(cf_b64_decode(sigs[i], strlen(sigs[i]), &raw, &rawlen), CF_OK);
		assert_int_equal(rawlen, 4 + CF_SIGN_BYTES);
		assert_memory_equal(raw, v.key_id, 4);
		assert_true(cf_sign_verify(v.pub, go_text, strlen(go_text), raw + 4));
		/* the text without its final newline, or with the blank line, is another message */
		assert_false(cf_sign_verify(v.pub, go_text, strlen(go_text) - 1, raw + 4));
		assert_false(cf_sign_verify(v.pub, "If you think cryptography is the answer to your problem,\n"
						   "then you don't know what your problem is.\n\n",
					    strlen(go_text) + 1, raw + 4));
		/* and each key refuses the other's signature */
		if (i == 0) {
			cf_note_verifier e;
			assert_int_equal(cf_note_verifier_parse(enoch_vkey, &e, NULL), CF_OK);
			assert_false(cf_sign_verify(e.pub, go_text, strlen(go_text), raw + 4));
		}
		free(raw);
	}
}

/* That note is a signed note but not a checkpoint: the signature is fine, the format is not. */
static void test_go_note_is_not_a_checkpoint(void **state)
{
	cf_note_verifier v;
	char *head = concat(go_text, "\n" EM " PeterNeumann ");
	char *a = concat(head, peter_sig_b64);
	char *note = concat(a, "\n");

	assert_int_equal(cf_note_verifier_parse(peter_vkey, &v, NULL), CF_OK);
	assert_int_equal(verify_str(note, &v), CF_EINVAL);
	free(head);
	free(a);
	free(note);
}

/* ---- a real checkpoint -------------------------------------------------- */

static void test_sumdb_checkpoint(void **state)
{
	cf_note_verifier v, peter;
	cf_err err = {0};
	char *origin = NULL, *m;
	int64_t size = 0;
	uint8_t root[32], want[32];

	assert_int_equal(cf_note_verifier_parse(sumdb_vkey, &v, NULL), CF_OK);
	assert_int_equal(cf_checkpoint_verify(sumdb_note, strlen(sumdb_note), &v, &origin, &size, root, &err), CF_OK);
	assert_string_equal(origin, "go.sum database tree"); /* an origin with spaces: allowed (SHOULD, not MUST) */
	assert_int_equal(size, 31700353);
	from_hex(sumdb_root, want, 32);
	assert_memory_equal(root, want, 32);
	free(origin);

	/* outputs are optional */
	assert_int_equal(cf_checkpoint_verify(sumdb_note, strlen(sumdb_note), &v, NULL, NULL, NULL, NULL), CF_OK);

	/* one more tree leaf, a different root, another origin: the signature no longer holds */
	m = replace_once(sumdb_note, "31700353", "31700354");
	assert_int_equal(verify_str(m, &v), CF_EINTEGRITY);
	free(m);
	m = replace_once(sumdb_note, "qINS", "qINT");
	assert_int_equal(verify_str(m, &v), CF_EINTEGRITY);
	free(m);
	m = replace_once(sumdb_note, "go.sum database tree", "go.sum database tres");
	assert_int_equal(verify_str(m, &v), CF_EINTEGRITY);
	free(m);

	/* signed by sum.golang.org only: another verifier finds no signature of its own */
	assert_int_equal(cf_note_verifier_parse(peter_vkey, &peter, NULL), CF_OK);
	assert_int_equal(verify_str(sumdb_note, &peter), CF_EINTEGRITY);

	/* a cosigner's line (unknown key) is ignored, before or after */
	{
		char *line = concat(EM " PeterNeumann ", peter_sig_b64);
		char *line_nl = concat(line, "\n");
		char *after = concat(sumdb_note, line_nl);
		char *blank_then_line = concat("\n\n", line_nl);
		char *before = replace_once(sumdb_note, "\n\n", blank_then_line);

		assert_int_equal(verify_str(after, &v), CF_OK);
		assert_int_equal(verify_str(before, &v), CF_OK);
		/* but for Peter, his line is now a known key with a signature that fails: reject */
		assert_int_equal(verify_str(after, &peter), CF_EINTEGRITY);
		free(line);
		free(line_nl);
		free(blank_then_line);
		free(after);
		free(before);
	}
}

/* ---- our checkpoints ------------------------------------------------------ */

static void test_checkpoint_exact_bytes(void **state)
{
	cf_note_signer *s = our_signer();
	uint8_t root[32];
	char *note = NULL, *vkey;
	cf_note_verifier v;
	uint8_t pub[32];

	vkey = cf_note_verifier_key(s);
	assert_non_null(vkey);
	assert_string_equal(vkey, our_vkey);
	free(vkey);
	our_verifier(&v);
	from_hex(our_pub, pub, 32);
	assert_memory_equal(v.pub, pub, 32);

	our_root(root);
	assert_int_equal(cf_checkpoint_sign(s, OUR_NAME, 123456789, root, &note, NULL), CF_OK);
	assert_string_equal(note, our_note);
	free(note);
	cf_note_signer_free(s);
}

static void test_checkpoint_round_trip(void **state)
{
	const int64_t sizes[] = {0, 1, 123456789, INT64_MAX};
	cf_note_signer *s = our_signer();
	cf_note_verifier v;

	our_verifier(&v);
	for (size_t i = 0; i < CF_ARRAY_LEN(sizes); i++) {
		uint8_t root[32], got[32];
		char *note = NULL, *origin = NULL;
		int64_t size = -1;
		char line[32];

		for (size_t j = 0; j < 32; j++)
			root[j] = (uint8_t)(i * 37 + j * 11);
		assert_int_equal(cf_checkpoint_sign(s, "example.org/coffre/audit", sizes[i], root, &note, NULL), CF_OK);
		assert_int_equal(cf_snprintf(line, sizeof(line), "\n%lld\n", (long long)sizes[i]), CF_OK);
		assert_non_null(strstr(note, line));
		assert_int_equal(cf_checkpoint_verify(note, strlen(note), &v, &origin, &size, got, NULL), CF_OK);
		assert_string_equal(origin, "example.org/coffre/audit");
		assert_int_equal(size, sizes[i]);
		assert_memory_equal(got, root, 32);
		free(origin);
		free(note);
	}
	cf_note_signer_free(s);
}

static void test_signer_refusals(void **state)
{
	const char *bad[] = {"", "a b", "a+b", "a\nb", "a\tb", "a\x01" "b", "a\x7f", "a\xc2\xa0" "b" /* NBSP */,
			     "a\xe3\x80\x80" "b" /* ideographic space */, "a\xff" "b", "a\xc0\xae" /* overlong */,
			     "a\xed\xa0\x80" /* surrogate */};
	cf_key *seed = our_seed();
	cf_note_signer *s = (cf_note_signer *)&s;
	char name[200];
	cf_err err;

	for (size_t i = 0; i < CF_ARRAY_LEN(bad); i++) {
		err.rc = CF_OK;
		assert_int_equal(cf_note_signer_new(bad[i], seed, &s, &err), CF_EINVAL);
		assert_null(s);
		assert_int_equal(err.rc, CF_EINVAL);
		assert_int_equal(err.problem, CF_P_INVALID_VALUE);
	}
	assert_int_equal(cf_note_signer_new(NULL, seed, &s, NULL), CF_EINVAL);
	assert_int_equal(cf_note_signer_new("x", NULL, &s, NULL), CF_EINVAL);
	assert_null(s);
	assert_int_equal(cf_note_signer_new("x", seed, NULL, NULL), CF_EINVAL);

	memset(name, 'n', sizeof(name));
	name[CF_NOTE_NAME_MAX] = '\0';
	assert_int_equal(cf_note_signer_new(name, seed, &s, NULL), CF_OK); /* 127 bytes: the longest */
	{
		char *vkey = cf_note_verifier_key(s);
		cf_note_verifier v;
		assert_non_null(vkey);
		assert_int_equal(cf_note_verifier_parse(vkey, &v, NULL), CF_OK);
		assert_string_equal(v.name, name);
		free(vkey);
	}
	cf_note_signer_free(s);
	name[CF_NOTE_NAME_MAX] = 'n';
	name[CF_NOTE_NAME_MAX + 1] = '\0';
	assert_int_equal(cf_note_signer_new(name, seed, &s, NULL), CF_EINVAL);

	/* non-ASCII names are valid UTF-8 names */
	assert_int_equal(cf_note_signer_new("coffre.example/journal-d\xc3\xa9" "cembre", seed, &s, NULL), CF_OK);
	cf_note_signer_free(s);
	cf_note_signer_free(NULL);
	assert_null(cf_note_verifier_key(NULL));
	cf_key_free(seed);
}

static void test_checkpoint_sign_refusals(void **state)
{
	cf_note_signer *s = our_signer();
	uint8_t root[32];
	char *note = (char *)"unset";
	char origin[CF_NOTE_ORIGIN_MAX + 2];
	cf_err err;

	our_root(root);
	assert_int_equal(cf_checkpoint_sign(s, OUR_NAME, -1, root, &note, &err), CF_EINVAL);
	assert_null(note);
	assert_non_null(strstr(err.detail, "negative"));
	assert_int_equal(cf_checkpoint_sign(s, OUR_NAME, INT64_MIN, root, &note, NULL), CF_EINVAL);
	assert_int_equal(cf_checkpoint_sign(s, "", 1, root, &note, NULL), CF_EINVAL);
	assert_int_equal(cf_checkpoint_sign(s, "a\nb", 1, root, &note, NULL), CF_EINVAL);
	assert_int_equal(cf_checkpoint_sign(s, "a\n", 1, root, &note, NULL), CF_EINVAL);
	assert_int_equal(cf_checkpoint_sign(s, "a\rb", 1, root, &note, NULL), CF_EINVAL);
	assert_int_equal(cf_checkpoint_sign(s, "a\xff", 1, root, &note, NULL), CF_EINVAL);
	assert_int_equal(cf_checkpoint_sign(NULL, OUR_NAME, 1, root, &note, NULL), CF_EINVAL);
	assert_int_equal(cf_checkpoint_sign(s, NULL, 1, root, &note, NULL), CF_EINVAL);
	assert_int_equal(cf_checkpoint_sign(s, OUR_NAME, 1, NULL, &note, NULL), CF_EINVAL);
	assert_int_equal(cf_checkpoint_sign(s, OUR_NAME, 1, root, NULL, NULL), CF_EINVAL);
	assert_null(note);

	memset(origin, 'o', sizeof(origin));
	origin[CF_NOTE_ORIGIN_MAX] = '\0';
	assert_int_equal(cf_checkpoint_sign(s, origin, 1, root, &note, NULL), CF_OK);
	free(note);
	origin[CF_NOTE_ORIGIN_MAX] = 'o';
	origin[CF_NOTE_ORIGIN_MAX + 1] = '\0';
	assert_int_equal(cf_checkpoint_sign(s, origin, 1, root, &note, NULL), CF_EINVAL);
	cf_note_signer_free(s);
}

static void test_checkpoint_tampering(void **state)
{
	cf_note_verifier v, other;
	cf_note_signer *o = NULL;
	cf_key *oseed = key_from_hex(rfc_seed);
	char *m, *vk;
	uint8_t *raw = NULL;
	size_t rawlen = 0;
	const char *sig_at;

	our_verifier(&v);
	assert_int_equal(verify_str(our_note, &v), CF_OK);

	/* size, root, origin */
	m = replace_once(our_note, "\n123456789\n", "\n123456780\n");
	assert_int_equal(verify_str(m, &v), CF_EINTEGRITY);
	free(m);
	m = replace_once(our_note, "ICEiIyQl", "ICEiIyQm");
	assert_int_equal(verify_str(m, &v), CF_EINTEGRITY);
	free(m);
	m = replace_once(our_note, "audit.coffre.example/log\n", "audit.coffre.example/loh\n");
	assert_int_equal(verify_str(m, &v), CF_EINTEGRITY);
	free(m);

	/* every single bit of the signature (key id bits excluded: then it is another key's line) */
	sig_at = strstr(our_note, "/log 512W") + 5;
	assert_int_equal(cf_b64_decode(sig_at, strlen(sig_at) - 1, &raw, &rawlen), CF_OK);
	assert_int_equal(rawlen, 68);
	for (size_t bit = 32; bit < 68 * 8; bit++) {
		char *line, *note;
		raw[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		line = sig_line(OUR_NAME, raw, rawlen);
		note = replace_once(our_note, strstr(our_note, EM), line);
		if (verify_str(note, &v) != CF_EINTEGRITY)
			fail_msg("flipped signature bit %zu accepted", bit);
		raw[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		free(line);
		free(note);
	}
	/* a key id bit: the line is another key's, so ours is missing */
	raw[0] ^= 0x01;
	{
		char *line = sig_line(OUR_NAME, raw, rawlen);
		char *note = replace_once(our_note, strstr(our_note, EM), line);
		assert_int_equal(verify_str(note, &v), CF_EINTEGRITY);
		free(line);
		free(note);
	}
	raw[0] ^= 0x01;
	/* our name and key id, but cut short or too long: a failing signature of ours */
	{
		char *line = sig_line(OUR_NAME, raw, 67);
		char *note = replace_once(our_note, strstr(our_note, EM), line);
		assert_int_equal(verify_str(note, &v), CF_EINTEGRITY);
		free(line);
		free(note);
	}
	free(raw);

	/* wrong key: another key under the same name has another key id: no signature of its own */
	assert_int_equal(cf_note_signer_new(OUR_NAME, oseed, &o, NULL), CF_OK);
	vk = cf_note_verifier_key(o);
	assert_non_null(vk);
	assert_int_equal(cf_note_verifier_parse(vk, &other, NULL), CF_OK);
	free(vk);
	assert_memory_not_equal(other.key_id, v.key_id, 4);
	assert_int_equal(verify_str(our_note, &other), CF_EINTEGRITY);
	/* wrong key with our name and key id (a colliding key id): the signature is checked and fails */
	memcpy(other.key_id, v.key_id, 4);
	assert_int_equal(verify_str(our_note, &other), CF_EINTEGRITY);
	/* same key, other name: not our key */
	other = v;
	memcpy(other.name, "audit.coffre.example/lug", sizeof("audit.coffre.example/lug"));
	assert_int_equal(verify_str(our_note, &other), CF_EINTEGRITY);
	/* a verifier struct that is not one */
	memset(&other, 'x', sizeof(other));
	assert_int_equal(cf_checkpoint_verify(our_note, strlen(our_note), &other, NULL, NULL, NULL, NULL), CF_EINVAL);
	memset(&other, 0, sizeof(other));
	assert_int_equal(cf_checkpoint_verify(our_note, strlen(our_note), &other, NULL, NULL, NULL, NULL), CF_EINVAL);
	assert_int_equal(cf_checkpoint_verify(NULL, 0, &v, NULL, NULL, NULL, NULL), CF_EINVAL);
	assert_int_equal(cf_checkpoint_verify(our_note, strlen(our_note), NULL, NULL, NULL, NULL, NULL), CF_EINVAL);

	cf_note_signer_free(o);
	cf_key_free(oseed);
}

/* Signature lines: several, duplicated, ours among others, or only others'. */
static void test_checkpoint_signature_lines(void **state)
{
	cf_note_verifier v, peter;
	const char *ours = strstr(our_note, EM);
	char *witness = concat(EM " PeterNeumann ", peter_sig_b64);
	char *witness_nl = concat(witness, "\n");
	char *m, *m2;
	uint8_t raw[5] = {0xc7, 0x4f, 0x20, 0xa3, 0x00};

	our_verifier(&v);
	assert_int_equal(cf_note_verifier_parse(peter_vkey, &peter, NULL), CF_OK);

	/* ours twice */
	m = concat(our_note, ours);
	assert_int_equal(verify_str(m, &v), CF_OK);
	/* ours, ours, then a failing one of ours: rejected (every line of our key must verify) */
	{
		char *bad = replace_once(ours, "512Wha6L", "512Wha6M"); /* a signature byte, not the key id */
		m2 = concat(m, bad);
		assert_int_equal(verify_str(m2, &v), CF_EINTEGRITY);
		free(m2);
		free(bad);
	}
	free(m);

	/* another key only (same name, another key id): no signature by ours */
	{
		uint8_t fake[68];
		char *line;
		memset(fake, 0x5a, sizeof(fake));
		line = sig_line(OUR_NAME, fake, sizeof(fake));
		m = replace_once(our_note, ours, line);
		assert_int_equal(verify_str(m, &v), CF_EINTEGRITY);
		free(m);
		free(line);
	}
	/* another key only (another name) */
	m = replace_once(our_note, ours, witness_nl);
	assert_int_equal(verify_str(m, &v), CF_EINTEGRITY);
	free(m);
	/* ours between two others */
	m = replace_once(our_note, ours, witness_nl);
	m2 = concat(m, ours);
	free(m);
	m = concat(m2, witness_nl);
	assert_int_equal(verify_str(m, &v), CF_OK);
	/* and for Peter, that PeterNeumann line is a failing signature of his key */
	assert_int_equal(verify_str(m, &peter), CF_EINTEGRITY);
	free(m);
	free(m2);

	/* an unknown key's line of the minimum length (key id + 1 byte) is well formed and ignored */
	{
		char *line = sig_line("witness.example", raw, 5);
		m = concat(our_note, line);
		assert_int_equal(verify_str(m, &v), CF_OK);
		free(m);
		free(line);
		/* 4 bytes is not a signature line */
		line = sig_line("witness.example", raw, 4);
		m = concat(our_note, line);
		assert_int_equal(verify_str(m, &v), CF_EINVAL);
		free(m);
		free(line);
	}

	/* 100 signature lines are read, 101 are not */
	{
		size_t ol = strlen(ours), bl = (size_t)(ours - our_note);
		char *big = malloc(bl + 101 * ol + 1);
		assert_non_null(big);
		memcpy(big, our_note, bl);
		for (size_t i = 0; i < 100; i++)
			memcpy(big + bl + i * ol, ours, ol);
		big[bl + 100 * ol] = '\0';
		assert_int_equal(verify_str(big, &v), CF_OK);
		memcpy(big + bl + 100 * ol, ours, ol + 1);
		assert_int_equal(verify_str(big, &v), CF_EINVAL);
		free(big);
	}
	free(witness);
	free(witness_nl);
}

/* Extension lines are allowed (and ignored), when non-empty and signed. */
static void test_checkpoint_extension_lines(void **state)
{
	cf_note_verifier v;
	cf_sign_key *k = our_sign_key();
	char *note, *origin = NULL;
	int64_t size = 0;

	our_verifier(&v);
	note = signed_by("audit.coffre.example/log\n7\nICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=\nextension one\n"
			 "ext: two\n",
			 k, OUR_NAME, v.key_id);
	assert_int_equal(cf_checkpoint_verify(note, strlen(note), &v, &origin, &size, NULL, NULL), CF_OK);
	assert_string_equal(origin, "audit.coffre.example/log");
	assert_int_equal(size, 7);
	free(origin);
	free(note);

	/* an empty extension line: signed, but not a checkpoint */
	note = signed_by("audit.coffre.example/log\n7\nICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=\n\nextension\n", k,
			 OUR_NAME, v.key_id);
	assert_int_equal(verify_str(note, &v), CF_EINVAL);
	free(note);
	cf_sign_key_free(k);
}

/* Bodies that are signed correctly but are not checkpoints: CF_EINVAL, whatever the signature. */
static void test_checkpoint_malformed_bodies(void **state)
{
	const char *bodies[] = {
		"audit.coffre.example/log\n0123\nICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=\n", /* leading zero */
		"audit.coffre.example/log\n00\nICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=\n",
		"audit.coffre.example/log\n-1\nICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=\n", /* negative */
		"audit.coffre.example/log\n+1\nICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=\n",
		"audit.coffre.example/log\n 1\nICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=\n",
		"audit.coffre.example/log\n1 \nICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=\n",
		"audit.coffre.example/log\n\nICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=\n", /* empty size */
		"audit.coffre.example/log\n0x10\nICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=\n",
		/* > INT64_MAX */
		"audit.coffre.example/log\n9223372036854775808\nICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=\n",
		"audit.coffre.example/log\n18446744073709551616\nICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=\n",
		"audit.coffre.example/log\n1\nICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pg==\n",   /* root of 31 bytes */
		"audit.coffre.example/log\n1\nICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj9A\n",   /* root of 33 bytes */
		"audit.coffre.example/log\n1\nICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8\n",    /* unpadded */
		"audit.coffre.example/log\n1\nICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj9=\n",   /* stray bits */
		"audit.coffre.example/log\n1\nICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=\r\n", /* CR */
		"audit.coffre.example/log\n1\nICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8\n=\n",
		"audit.coffre.example/log\n1\nICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9-j8=\n",   /* base64url */
		"audit.coffre.example/log\n1\n\n",                                               /* no root */
		"audit.coffre.example/log\n1\n",                                                 /* no root line */
		"audit.coffre.example/log\n",                                                    /* origin only */
		"\n1\nICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=\n",                           /* empty origin */
		"1\nICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=\n",                             /* no origin */
		"audit.coffre.example/\x01log\n1\nICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=\n", /* control */
		"audit.coffre.example/\xfflog\n1\nICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=\n", /* not UTF-8 */
	};
	cf_note_verifier v;
	cf_sign_key *k = our_sign_key();
	char origin[CF_NOTE_ORIGIN_MAX + 80];

	our_verifier(&v);
	for (size_t i = 0; i < CF_ARRAY_LEN(bodies); i++) {
		char *note = signed_by(bodies[i], k, OUR_NAME, v.key_id);
		if (verify_str(note, &v) != CF_EINVAL)
			fail_msg("malformed body %zu accepted or misclassified", i);
		free(note);
	}
	/* the largest tree size there is, and the longest origin, are fine */
	{
		char *note = signed_by("audit.coffre.example/log\n9223372036854775807\n"
				       "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=\n",
				       k, OUR_NAME, v.key_id);
		assert_int_equal(verify_str(note, &v), CF_OK);
		free(note);
	}
	memset(origin, 'o', CF_NOTE_ORIGIN_MAX);
	assert_int_equal(cf_snprintf(origin + CF_NOTE_ORIGIN_MAX, sizeof(origin) - CF_NOTE_ORIGIN_MAX,
				     "\n1\nICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=\n"),
			 CF_OK);
	{
		char *note = signed_by(origin, k, OUR_NAME, v.key_id);
		assert_int_equal(verify_str(note, &v), CF_OK);
		free(note);
	}
	origin[0] = 'O';
	memmove(origin + 1, origin, strlen(origin) + 1); /* one byte longer */
	{
		char *note = signed_by(origin, k, OUR_NAME, v.key_id);
		assert_int_equal(verify_str(note, &v), CF_EINVAL);
		free(note);
	}
	cf_sign_key_free(k);
}

/* The envelope: blank line, final newline, signature line syntax, size, encoding. */
static void test_checkpoint_malformed_envelope(void **state)
{
	cf_note_verifier v;
	size_t n = strlen(our_note);
	char *m;
	const char *garbage[] = {
		"",
		"\n",
		"\n\n",
		"hello",
		"hello\n\n",
		"audit.coffre.example/log\n123456789\nICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=\n\n",
		"audit.coffre.example/log\n123456789\nICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=\n\n\n",
		"\xe2\x80\x94 audit.coffre.example/log x\n",
		"\x80\x81\x82\n\n" EM " a AAAAAAA=\n",
	};

	our_verifier(&v);

	/* missing final newline */
	assert_int_equal(cf_checkpoint_verify(our_note, n - 1, &v, NULL, NULL, NULL, NULL), CF_EINVAL);
	/* missing blank line */
	m = replace_once(our_note, "\n\n", "\n");
	assert_int_equal(verify_str(m, &v), CF_EINVAL);
	free(m);
	/* two blank lines */
	m = replace_once(our_note, "\n\n", "\n\n\n");
	assert_int_equal(verify_str(m, &v), CF_EINVAL);
	free(m);
	/* a blank line after the signatures */
	m = concat(our_note, "\n");
	assert_int_equal(verify_str(m, &v), CF_EINVAL);
	free(m);
	/* trailing text after the signatures */
	m = concat(our_note, "Unexpected line.\n");
	assert_int_equal(verify_str(m, &v), CF_EINVAL);
	free(m);
	/* the dash: ASCII hyphens, an en dash, no space, two spaces */
	m = replace_once(our_note, EM " ", "-- ");
	assert_int_equal(verify_str(m, &v), CF_EINVAL);
	free(m);
	m = replace_once(our_note, EM " ", "\xe2\x80\x93 ");
	assert_int_equal(verify_str(m, &v), CF_EINVAL);
	free(m);
	m = replace_once(our_note, EM " ", EM);
	assert_int_equal(verify_str(m, &v), CF_EINVAL);
	free(m);
	m = replace_once(our_note, EM " ", EM "  ");
	assert_int_equal(verify_str(m, &v), CF_EINVAL);
	free(m);
	/* two spaces between name and signature; no signature; bad base64; CR before the newline */
	m = replace_once(our_note, "/log 512W", "/log  512W");
	assert_int_equal(verify_str(m, &v), CF_EINVAL);
	free(m);
	m = replace_once(our_note, strstr(our_note, "512W"), "\n");
	assert_int_equal(verify_str(m, &v), CF_EINVAL);
	free(m);
	m = replace_once(our_note, " 512W", "\n");
	assert_int_equal(verify_str(m, &v), CF_EINVAL);
	free(m);
	m = replace_once(our_note, "512W", "512*");
	assert_int_equal(verify_str(m, &v), CF_EINVAL);
	free(m);
	m = replace_once(our_note, "g4=\n", "g4=\r\n");
	assert_int_equal(verify_str(m, &v), CF_EINVAL);
	free(m);
	m = replace_once(our_note, "g4=\n", "g4\n");
	assert_int_equal(verify_str(m, &v), CF_EINVAL);
	free(m);
	/* a signature line with a name that no key may have */
	m = replace_once(our_note, EM " audit.coffre.example/log ", EM " a+b ");
	assert_int_equal(verify_str(m, &v), CF_EINVAL);
	free(m);
	/* Go's refusals: a control character or a non-UTF-8 byte anywhere */
	m = concat("\x01", our_note);
	assert_int_equal(verify_str(m, &v), CF_EINVAL);
	free(m);
	m = concat("\xff", our_note);
	assert_int_equal(verify_str(m, &v), CF_EINVAL);
	free(m);
	/* a NUL inside (the length says it is part of the note) */
	m = cf_strdup(our_note);
	assert_non_null(m);
	m[5] = '\0';
	assert_int_equal(cf_checkpoint_verify(m, n, &v, NULL, NULL, NULL, NULL), CF_EINVAL);
	free(m);
	/* over the size cap, refused unread */
	{
		cf_err err;
		assert_int_equal(cf_checkpoint_verify(our_note, CF_NOTE_MAX + 1, &v, NULL, NULL, NULL, &err),
				 CF_EINVAL);
		assert_int_equal(err.problem, CF_P_TOO_LONG);
	}
	for (size_t i = 0; i < CF_ARRAY_LEN(garbage); i++) {
		if (verify_str(garbage[i], &v) != CF_EINVAL)
			fail_msg("garbage %zu not refused as malformed", i);
	}
	/* random bytes */
	{
		uint8_t junk[512];
		uint32_t x = 2463534242u;
		for (int round = 0; round < 200; round++) {
			for (size_t i = 0; i < sizeof(junk); i++) {
				x ^= x << 13;
				x ^= x >> 17;
				x ^= x << 5;
				junk[i] = (uint8_t)x;
			}
			cf_rc rc = cf_checkpoint_verify((const char *)junk, sizeof(junk), &v, NULL, NULL, NULL, NULL);
			assert_int_equal(rc, CF_EINVAL);
		}
	}
}

/* Every truncation of a valid checkpoint is refused. */
static void test_checkpoint_truncations(void **state)
{
	cf_note_verifier v;
	size_t n = strlen(our_note);

	our_verifier(&v);
	for (size_t i = 0; i < n; i++) {
		cf_rc rc = cf_checkpoint_verify(our_note, i, &v, NULL, NULL, NULL, NULL);
		if (rc != CF_EINVAL && rc != CF_EINTEGRITY)
			fail_msg("truncation to %zu bytes accepted", i);
	}
	assert_int_equal(cf_checkpoint_verify(our_note, n, &v, NULL, NULL, NULL, NULL), CF_OK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc8032_test1),
		cmocka_unit_test(test_sign_refusals),
		cmocka_unit_test(test_go_verifier_keys),
		cmocka_unit_test(test_go_verifier_key_manglings),
		cmocka_unit_test(test_verifier_key_refusals),
		cmocka_unit_test(test_go_signer_from_published_seed),
		cmocka_unit_test(test_go_published_signatures),
		cmocka_unit_test(test_go_note_is_not_a_checkpoint),
		cmocka_unit_test(test_sumdb_checkpoint),
		cmocka_unit_test(test_checkpoint_exact_bytes),
		cmocka_unit_test(test_checkpoint_round_trip),
		cmocka_unit_test(test_signer_refusals),
		cmocka_unit_test(test_checkpoint_sign_refusals),
		cmocka_unit_test(test_checkpoint_tampering),
		cmocka_unit_test(test_checkpoint_signature_lines),
		cmocka_unit_test(test_checkpoint_extension_lines),
		cmocka_unit_test(test_checkpoint_malformed_bodies),
		cmocka_unit_test(test_checkpoint_malformed_envelope),
		cmocka_unit_test(test_checkpoint_truncations),
	};

	if (cf_crypto_init() != CF_OK)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
