/*
 * note.c - the audit trail's signed checkpoints: C2SP tlog-checkpoint
 * bodies signed as C2SP signed notes with Ed25519, byte-compatible with
 * Go's golang.org/x/mod/sumdb/note so that standard transparency-log
 * verifiers and witnesses can check them.
 *
 * It must never include <sodium.h> (signing goes through crypto.h), never
 * print or return the signing key in any form, and never accept a
 * checkpoint that is not exactly in the format: a verifier that is lenient
 * about the text it trusts is one that can be made to trust two texts.
 */
#include "common/cf.h"
#include "audit/note.h"

#include "crypto/crypto.h"
#include "merkle/merkle.h" /* cf_sha256, for key ids */

#include <inttypes.h>

/* c2sp.org/signed-note signature type of Ed25519. */
#define SIG_TYPE_ED25519 0x01
#define KEY_ID_LEN 4
#define HASH_LEN 32
/* base64 of 32 bytes: 44 characters, one '=' of padding. */
#define ROOT_B64_LEN 44
/* A signature line's payload for our key type: key id || Ed25519 signature. */
#define SIG_RAW_LEN (KEY_ID_LEN + CF_SIGN_BYTES)
/* base64 of those 68 bytes: 92 characters, no padding. */
#define SIG_B64_LEN 92
/* Shortest decoded signature a well-formed line may carry (Go's rule: a key id and at least one byte). */
#define SIG_RAW_MIN (KEY_ID_LEN + 1)
/* U+2014 EM DASH then a space: the start of every signature line. */
#define SIG_PREFIX "\xe2\x80\x94 "
#define SIG_PREFIX_LEN 4
/* A verifier key is a name (<= 127 bytes), 8 hex digits and 44 base64 characters: far below this. */
#define VKEY_MAX 1024
/* Decimal digits of INT64_MAX. */
#define SIZE_DIGITS_MAX 19

_Static_assert(sizeof(((cf_note_verifier *)0)->name) == CF_NOTE_NAME_MAX + 1, "verifier name buffer");
_Static_assert(sizeof(((cf_note_verifier *)0)->pub) == CF_SIGN_PUBLIC_LEN, "verifier public key size");

struct cf_note_signer {
	char *name; /* NUL-terminated, validated */
	size_t namelen;
	cf_sign_key *key;
	uint8_t pub[CF_SIGN_PUBLIC_LEN];
	uint8_t key_id[KEY_ID_LEN];
};

/* ---- text rules --------------------------------------------------------- */

/*
 * Decodes one UTF-8 sequence at p (n bytes available) into *cp; answers its
 * length, or 0 when it is not valid UTF-8 (truncated, overlong, surrogate,
 * beyond U+10FFFF): the same sequences Go's utf8.DecodeRune refuses.
 */
static size_t utf8_decode(const unsigned char *p, size_t n, uint32_t *cp)
{
	uint32_t c, min;
	size_t len, i;

	if (n == 0)
		return 0;
	c = p[0];
	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
		c &= 0x1f;
		min = 0x80;
	} else if ((c & 0xf0) == 0xe0) {
		len = 3;
		c &= 0x0f;
		min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		c &= 0x07;
		min = 0x10000;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (uint32_t)(p[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

/* Go's unicode.IsSpace: what a key name may not contain besides '+'. */
static bool is_unicode_space(uint32_t c)
{
	switch (c) {
	case '\t':
	case '\n':
	case '\v':
	case '\f':
	case '\r':
	case ' ':
	case 0x85:
	case 0xa0:
	case 0x1680:
	case 0x2028:
	case 0x2029:
	case 0x202f:
	case 0x205f:
	case 0x3000:
		return true;
	default:
		return c >= 0x2000 && c <= 0x200a;
	}
}

/*
 * A key name: 1..max bytes of valid UTF-8, no Unicode space, no '+' (the
 * signed-note rules), and no control character (which no note may hold).
 */
static bool valid_name(const char *s, size_t len, size_t max)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, n;
	uint32_t c = 0;

	if (len == 0 || len > max)
		return false;
	while (i < len) {
		n = utf8_decode(p + i, len - i, &c);
		if (n == 0 || c < 0x20 || c == 0x7f || c == '+' || is_unicode_space(c))
			return false;
		i += n;
	}
	return true;
}

/* Valid UTF-8 with no ASCII control character other than newline (when allowed). */
static bool valid_text(const char *s, size_t len, bool newline_ok)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, n;
	uint32_t c = 0;

	while (i < len) {
		n = utf8_decode(p + i, len - i, &c);
		if (n == 0 || (c < 0x20 && !(c == '\n' && newline_ok)))
			return false;
		i += n;
	}
	return true;
}

/* key id = SHA-256(name || 0x0A || 0x01 || public key)[:4] (c2sp.org/signed-note, Ed25519). */
static void key_id_of(const char *name, size_t namelen, const uint8_t pub[CF_SIGN_PUBLIC_LEN],
		      uint8_t out[KEY_ID_LEN])
{
	uint8_t buf[CF_NOTE_NAME_MAX + 2 + CF_SIGN_PUBLIC_LEN];
	uint8_t h[HASH_LEN];

	CF_ASSERT(namelen <= CF_NOTE_NAME_MAX);
	memcpy(buf, name, namelen);
	buf[namelen] = '\n';
	buf[namelen + 1] = SIG_TYPE_ED25519;
	memcpy(buf + namelen + 2, pub, CF_SIGN_PUBLIC_LEN);
	cf_sha256(buf, namelen + 2 + CF_SIGN_PUBLIC_LEN, h);
	memcpy(out, h, KEY_ID_LEN);
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Exactly 8 hex digits (either case, as Go's strconv.ParseUint accepts) into 4 big-endian bytes. */
static bool parse_key_id(const char *s, size_t len, uint8_t out[KEY_ID_LEN])
{
	size_t i;

	if (len != 2 * KEY_ID_LEN)
		return false;
	for (i = 0; i < KEY_ID_LEN; i++) {
		int hi = hex_digit(s[2 * i]), lo = hex_digit(s[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return false;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}

/* A tree size: decimal digits only, no sign, no leading zero (except "0" itself), within int64_t. */
static bool parse_size(const char *s, size_t len, int64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (len == 0 || len > SIZE_DIGITS_MAX || (s[0] == '0' && len > 1))
		return false;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0'); /* at most 19 digits: cannot wrap */
	}
	if (v > (uint64_t)INT64_MAX)
		return false;
	*out = (int64_t)v;
	return true;
}

/* Appends n bytes at *off; the caller sized dst beforehand, so overrunning it is a bug. */
static void put(char *dst, size_t cap, size_t *off, const void *src, size_t n)
{
	CF_ASSERT(*off <= cap && n <= cap - *off);
	memcpy(dst + *off, src, n);
	*off += n;
}

/* ---- signer ------------------------------------------------------------- */

/* Allocates *out (free with cf_note_signer_free); the seed stays the caller's. */
cf_rc cf_note_signer_new(const char *name, const cf_key *seed, cf_note_signer **out, cf_err *err)
{
	cf_note_signer *s = NULL;
	size_t namelen;
	cf_rc rc;

	if (out == NULL)
		return cf_err_set(err, CF_EINVAL, CF_P_INTERNAL, "note signer: no output");
	*out = NULL;
	if (name == NULL || seed == NULL)
		return cf_err_set(err, CF_EINVAL, CF_P_INTERNAL, "note signer: no name or no seed");
	namelen = strnlen(name, CF_NOTE_NAME_MAX + 1);
	if (!valid_name(name, namelen, CF_NOTE_NAME_MAX))
		return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE,
				  "note signer: the key name must be 1 to %d bytes of UTF-8 without spaces, '+' or "
				  "control characters",
				  CF_NOTE_NAME_MAX);
	s = calloc(1, sizeof(*s));
	if (s == NULL) {
		rc = cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "note signer: out of memory");
		goto out;
	}
	s->name = cf_strndup(name, namelen);
	s->namelen = namelen;
	s->key = cf_sign_key_from_seed(seed);
	if (s->name == NULL || s->key == NULL) {
		rc = cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "note signer: out of memory or guarded memory");
		goto out;
	}
	cf_sign_key_public(s->key, s->pub);
	key_id_of(s->name, s->namelen, s->pub, s->key_id);
	*out = s;
	s = NULL;
	rc = CF_OK;
out:
	cf_note_signer_free(s);
	return rc;
}

void cf_note_signer_free(cf_note_signer *s)
{
	if (s == NULL)
		return;
	cf_sign_key_free(s->key);
	free(s->name);
	free(s);
}

/* Allocates the result (the caller frees it); NULL on allocation failure. */
char *cf_note_verifier_key(const cf_note_signer *s)
{
	uint8_t typed[1 + CF_SIGN_PUBLIC_LEN];
	char *hex = NULL, *b64 = NULL, *res = NULL;
	size_t hexlen, b64len, total, off = 0;

	if (s == NULL)
		return NULL;
	typed[0] = SIG_TYPE_ED25519;
	memcpy(typed + 1, s->pub, CF_SIGN_PUBLIC_LEN);
	if (cf_hex_encode(s->key_id, KEY_ID_LEN, &hex) != CF_OK || cf_b64_encode(typed, sizeof(typed), &b64) != CF_OK)
		goto out;
	hexlen = strlen(hex);
	b64len = strlen(b64);
	/* name + '+' + hex + '+' + base64 + NUL; name <= 127 bytes, so this cannot overflow. */
	total = s->namelen + 1 + hexlen + 1 + b64len + 1;
	res = malloc(total);
	if (res == NULL)
		goto out;
	put(res, total, &off, s->name, s->namelen);
	put(res, total, &off, "+", 1);
	put(res, total, &off, hex, hexlen);
	put(res, total, &off, "+", 1);
	put(res, total, &off, b64, b64len);
	put(res, total, &off, "", 1);
out:
	free(hex);
	free(b64);
	return res;
}

/* ---- signing ------------------------------------------------------------ */

/*
 * Allocates *note (the caller frees it). The body is exactly the three
 * tlog-checkpoint lines with no extension line; the one signature line is
 * ours. Fails before allocating on any bad argument.
 */
cf_rc cf_checkpoint_sign(const cf_note_signer *s, const char *origin, int64_t size, const uint8_t root[32],
			 char **note, cf_err *err)
{
	char size_str[SIZE_DIGITS_MAX + 2];
	char *root_b64 = NULL, *sig_b64 = NULL, *buf = NULL;
	uint8_t raw[SIG_RAW_LEN];
	size_t originlen, sizelen, bodylen, total = 0, off = 0;
	cf_rc rc;

	if (note == NULL)
		return cf_err_set(err, CF_EINVAL, CF_P_INTERNAL, "checkpoint: no output");
	*note = NULL;
	if (s == NULL || origin == NULL || root == NULL)
		return cf_err_set(err, CF_EINVAL, CF_P_INTERNAL, "checkpoint: no signer, origin or root");
	originlen = strnlen(origin, CF_NOTE_ORIGIN_MAX + 1);
	if (originlen == 0 || originlen > CF_NOTE_ORIGIN_MAX || !valid_text(origin, originlen, false))
		return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE,
				  "checkpoint: the origin must be 1 to %d bytes of UTF-8 without control characters",
				  CF_NOTE_ORIGIN_MAX);
	if (size < 0)
		return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "checkpoint: the tree size is negative");
	rc = cf_snprintf(size_str, sizeof(size_str), "%" PRId64, size);
	if (rc != CF_OK)
		return cf_err_set(err, CF_EINTERNAL, CF_P_INTERNAL, "checkpoint: tree size formatting");
	sizelen = strlen(size_str);

	rc = cf_b64_encode(root, HASH_LEN, &root_b64);
	if (rc != CF_OK) {
		cf_err_set(err, rc, CF_P_INTERNAL, "checkpoint: out of memory");
		goto out;
	}
	CF_ASSERT(strlen(root_b64) == ROOT_B64_LEN);

	/* body: origin \n size \n root \n; then \n, then "— " name " " base64(sig) \n, then NUL. */
	bodylen = originlen + 1 + sizelen + 1 + ROOT_B64_LEN + 1;
	/* origin <= 512 and name <= 127 bytes: these sums cannot overflow. */
	total = bodylen + 1 + SIG_PREFIX_LEN + s->namelen + 1 + SIG_B64_LEN + 1 + 1;
	buf = malloc(total);
	if (buf == NULL) {
		rc = cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "checkpoint: out of memory");
		goto out;
	}
	put(buf, total, &off, origin, originlen);
	put(buf, total, &off, "\n", 1);
	put(buf, total, &off, size_str, sizelen);
	put(buf, total, &off, "\n", 1);
	put(buf, total, &off, root_b64, ROOT_B64_LEN);
	put(buf, total, &off, "\n", 1);
	CF_ASSERT(off == bodylen);

	memcpy(raw, s->key_id, KEY_ID_LEN);
	rc = cf_sign(s->key, buf, bodylen, raw + KEY_ID_LEN);
	if (rc != CF_OK) {
		cf_err_set(err, rc, CF_P_INTERNAL, "checkpoint: signing failed");
		goto out;
	}
	rc = cf_b64_encode(raw, sizeof(raw), &sig_b64);
	if (rc != CF_OK) {
		cf_err_set(err, rc, CF_P_INTERNAL, "checkpoint: out of memory");
		goto out;
	}
	CF_ASSERT(strlen(sig_b64) == SIG_B64_LEN);
	put(buf, total, &off, "\n", 1);
	put(buf, total, &off, SIG_PREFIX, SIG_PREFIX_LEN);
	put(buf, total, &off, s->name, s->namelen);
	put(buf, total, &off, " ", 1);
	put(buf, total, &off, sig_b64, SIG_B64_LEN);
	put(buf, total, &off, "\n", 1);
	put(buf, total, &off, "", 1);
	CF_ASSERT(off == total);
	*note = buf;
	buf = NULL;
	rc = CF_OK;
out:
	free(buf);
	free(root_b64);
	free(sig_b64);
	return rc;
}

/* ---- verifier keys ------------------------------------------------------ */

/* Fills *out only on success; on failure it is zeroed. */
cf_rc cf_note_verifier_parse(const char *vkey, cf_note_verifier *out, cf_err *err)
{
	const char *plus1, *plus2, *hex, *b64;
	size_t vlen, namelen, hexlen, b64len, rawlen = 0;
	uint8_t *raw = NULL;
	uint8_t id[KEY_ID_LEN], want[KEY_ID_LEN];
	cf_rc rc;

	if (out == NULL)
		return cf_err_set(err, CF_EINVAL, CF_P_INTERNAL, "verifier key: no output");
	memset(out, 0, sizeof(*out));
	if (vkey == NULL)
		return cf_err_set(err, CF_EINVAL, CF_P_INTERNAL, "verifier key: none given");
	vlen = strnlen(vkey, VKEY_MAX + 1);
	if (vlen > VKEY_MAX)
		return cf_err_set(err, CF_EINVAL, CF_P_TOO_LONG, "verifier key: longer than %d bytes", VKEY_MAX);

	/* name + key id + key material; base64 may itself hold '+', so only the first two count. */
	plus1 = memchr(vkey, '+', vlen);
	plus2 = plus1 == NULL ? NULL : memchr(plus1 + 1, '+', vlen - (size_t)(plus1 + 1 - vkey));
	if (plus2 == NULL) {
		rc = cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "verifier key: not of the form name+keyid+key");
		goto out;
	}
	namelen = (size_t)(plus1 - vkey);
	hex = plus1 + 1;
	hexlen = (size_t)(plus2 - hex);
	b64 = plus2 + 1;
	b64len = vlen - (size_t)(b64 - vkey);
	if (!valid_name(vkey, namelen, CF_NOTE_NAME_MAX)) {
		rc = cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE,
				"verifier key: the name must be 1 to %d bytes of UTF-8 without spaces, '+' or control "
				"characters",
				CF_NOTE_NAME_MAX);
		goto out;
	}
	if (!parse_key_id(hex, hexlen, id)) {
		rc = cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "verifier key: the key id is not 8 hex digits");
		goto out;
	}
	rc = cf_b64_decode(b64, b64len, &raw, &rawlen);
	if (rc == CF_ENOMEM) {
		cf_err_set(err, rc, CF_P_INTERNAL, "verifier key: out of memory");
		goto out;
	}
	if (rc != CF_OK || rawlen != 1 + CF_SIGN_PUBLIC_LEN) {
		rc = cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE,
				"verifier key: the key is not base64 of a type byte and a 32-byte public key");
		goto out;
	}
	if (raw[0] != SIG_TYPE_ED25519) {
		rc = cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "verifier key: the key type is not Ed25519 (0x01)");
		goto out;
	}
	key_id_of(vkey, namelen, raw + 1, want);
	if (memcmp(id, want, KEY_ID_LEN) != 0) {
		rc = cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE,
				"verifier key: the key id does not match the name and key");
		goto out;
	}
	memcpy(out->name, vkey, namelen);
	out->name[namelen] = '\0';
	memcpy(out->key_id, id, KEY_ID_LEN);
	memcpy(out->pub, raw + 1, CF_SIGN_PUBLIC_LEN);
	rc = CF_OK;
out:
	free(raw);
	return rc;
}

/* ---- verification ------------------------------------------------------- */

/* The line starting at *pos in [s, s+end): its length without the newline; *pos moves past it. */
static bool next_line(const char *s, size_t end, size_t *pos, const char **line, size_t *linelen)
{
	const char *nl;

	if (*pos >= end)
		return false;
	nl = memchr(s + *pos, '\n', end - *pos);
	if (nl == NULL)
		return false;
	*line = s + *pos;
	*linelen = (size_t)(nl - *line);
	*pos = (size_t)(nl - s) + 1;
	return true;
}

/*
 * The checkpoint text, [0, textlen), which ends in a newline: origin, size,
 * root, then non-empty extension lines. Outputs are written only when all
 * of it is well formed.
 */
static cf_rc parse_body(const char *text, size_t textlen, const char **origin, size_t *originlen, int64_t *size,
			uint8_t root[HASH_LEN], cf_err *err)
{
	const char *line = NULL;
	size_t linelen = 0, pos = 0, rawlen = 0;
	uint8_t *raw = NULL;
	cf_rc rc;

	if (!next_line(text, textlen, &pos, &line, &linelen) || linelen == 0 || linelen > CF_NOTE_ORIGIN_MAX) {
		rc = cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "checkpoint: the origin line is empty or too long");
		goto out;
	}
	*origin = line;
	*originlen = linelen;
	if (!next_line(text, textlen, &pos, &line, &linelen) || !parse_size(line, linelen, size)) {
		rc = cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE,
				"checkpoint: the tree size line is not a decimal int64 without sign or leading zeros");
		goto out;
	}
	if (!next_line(text, textlen, &pos, &line, &linelen) || linelen != ROOT_B64_LEN) {
		rc = cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE,
				"checkpoint: the root hash line is not base64 of 32 bytes");
		goto out;
	}
	rc = cf_b64_decode(line, linelen, &raw, &rawlen);
	if (rc == CF_ENOMEM) {
		cf_err_set(err, rc, CF_P_INTERNAL, "checkpoint: out of memory");
		goto out;
	}
	if (rc != CF_OK || rawlen != HASH_LEN) {
		rc = cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE,
				"checkpoint: the root hash line is not base64 of 32 bytes");
		goto out;
	}
	memcpy(root, raw, HASH_LEN);
	while (next_line(text, textlen, &pos, &line, &linelen)) {
		if (linelen == 0) {
			rc = cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "checkpoint: an extension line is empty");
			goto out;
		}
	}
	rc = CF_OK;
out:
	free(raw);
	return rc;
}

/*
 * Reads every signature line in [s, s+len) (which ends in a newline) and
 * checks those of v's key against text. Malformed lines are CF_EINVAL; a
 * bad signature by v's key, or none at all, CF_EINTEGRITY.
 */
static cf_rc check_signatures(const char *s, size_t len, const char *text, size_t textlen, const cf_note_verifier *v,
			      size_t vnamelen, cf_err *err)
{
	const char *line = NULL, *name, *sp, *b64;
	size_t linelen = 0, pos = 0, namelen, b64len, rawlen = 0, count = 0;
	uint8_t *raw = NULL;
	bool verified = false;
	cf_rc rc;

	while (next_line(s, len, &pos, &line, &linelen)) {
		free(raw);
		raw = NULL;
		if (++count > CF_NOTE_SIGS_MAX) {
			rc = cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "checkpoint: more than %d signature lines",
					CF_NOTE_SIGS_MAX);
			goto out;
		}
		if (linelen < SIG_PREFIX_LEN || memcmp(line, SIG_PREFIX, SIG_PREFIX_LEN) != 0) {
			rc = cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE,
					"checkpoint: a signature line does not start with an em dash and a space");
			goto out;
		}
		name = line + SIG_PREFIX_LEN;
		sp = memchr(name, ' ', linelen - SIG_PREFIX_LEN);
		if (sp == NULL) {
			rc = cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE,
					"checkpoint: a signature line has no signature");
			goto out;
		}
		namelen = (size_t)(sp - name);
		b64 = sp + 1;
		b64len = linelen - SIG_PREFIX_LEN - namelen - 1;
		if (!valid_name(name, namelen, CF_NOTE_MAX)) {
			rc = cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE,
					"checkpoint: a signature line has an invalid key name");
			goto out;
		}
		rc = b64len == 0 ? CF_EINVAL : cf_b64_decode(b64, b64len, &raw, &rawlen);
		if (rc == CF_ENOMEM) {
			cf_err_set(err, rc, CF_P_INTERNAL, "checkpoint: out of memory");
			goto out;
		}
		if (rc != CF_OK || rawlen < SIG_RAW_MIN) {
			rc = cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE,
					"checkpoint: a signature is not base64 of a key id and a signature");
			goto out;
		}
		if (namelen != vnamelen || memcmp(name, v->name, namelen) != 0 ||
		    memcmp(raw, v->key_id, KEY_ID_LEN) != 0)
			continue; /* another key: a witness, another log, a rotated key */
		if (rawlen != SIG_RAW_LEN || !cf_sign_verify(v->pub, text, textlen, raw + KEY_ID_LEN)) {
			rc = cf_err_set(err, CF_EINTEGRITY, CF_P_INTEGRITY,
					"checkpoint: a signature by the verifier's key does not verify");
			goto out;
		}
		verified = true;
	}
	if (!verified) {
		rc = cf_err_set(err, CF_EINTEGRITY, CF_P_INTEGRITY, "checkpoint: no signature by the verifier's key");
		goto out;
	}
	rc = CF_OK;
out:
	free(raw);
	return rc;
}

/* Allocates *origin on success (the caller frees it). */
cf_rc cf_checkpoint_verify(const char *note, size_t len, const cf_note_verifier *v, char **origin, int64_t *size,
			   uint8_t root[32], cf_err *err)
{
	const char *org = NULL;
	size_t orglen = 0, split, textlen, vnamelen, i;
	int64_t sz = 0;
	uint8_t rt[HASH_LEN];
	bool found = false;
	cf_rc rc;

	if (origin != NULL)
		*origin = NULL;
	if (size != NULL)
		*size = 0;
	if (root != NULL)
		memset(root, 0, HASH_LEN);
	if (note == NULL || v == NULL)
		return cf_err_set(err, CF_EINVAL, CF_P_INTERNAL, "checkpoint: no note or no verifier");
	vnamelen = strnlen(v->name, sizeof(v->name));
	if (vnamelen == 0 || vnamelen >= sizeof(v->name))
		return cf_err_set(err, CF_EINVAL, CF_P_INTERNAL, "checkpoint: the verifier has no valid name");
	if (len > CF_NOTE_MAX)
		return cf_err_set(err, CF_EINVAL, CF_P_TOO_LONG, "checkpoint: the note is longer than %d bytes",
				  CF_NOTE_MAX);
	if (!valid_text(note, len, true))
		return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE,
				  "checkpoint: the note is not UTF-8 without control characters");

	/* The text ends at the last blank line (signed-note): text = [0, split], signatures after split + 2. */
	split = 0;
	for (i = len; i >= 2; i--) {
		if (note[i - 2] == '\n' && note[i - 1] == '\n') {
			split = i - 2;
			found = true;
			break;
		}
	}
	if (!found)
		return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE,
				  "checkpoint: no blank line between the text and the signatures");
	textlen = split + 1;
	if (textlen + 1 >= len || note[len - 1] != '\n')
		return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE,
				  "checkpoint: the signature lines are missing or do not end in a newline");

	rc = parse_body(note, textlen, &org, &orglen, &sz, rt, err);
	if (rc != CF_OK)
		return rc;
	rc = check_signatures(note + textlen + 1, len - textlen - 1, note, textlen, v, vnamelen, err);
	if (rc != CF_OK)
		return rc;

	if (origin != NULL) {
		*origin = cf_strndup(org, orglen);
		if (*origin == NULL)
			return cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "checkpoint: out of memory");
	}
	if (size != NULL)
		*size = sz;
	if (root != NULL)
		memcpy(root, rt, HASH_LEN);
	return CF_OK;
}
