/*
 * note.h - signed checkpoints of the audit trail in the C2SP formats that
 * standard transparency-log tools verify:
 *   c2sp.org/tlog-checkpoint (the body: origin, tree size, root hash) and
 *   c2sp.org/signed-note     (the signature lines, Ed25519, type 0x01).
 *
 * A signed checkpoint looks like this ("—" is U+2014 EM DASH):
 *
 *   <origin>\n
 *   <tree size, decimal, no leading zeros>\n
 *   <base64 of the 32-byte root hash>\n
 *   \n
 *   — <key name> <base64(4-byte key id || 64-byte Ed25519 signature)>\n
 *
 * The signature covers the body up to and including its last newline.
 * Key id = SHA-256(key name || 0x0A || 0x01 || public key)[:4].
 * Verifier key = "<key name>+<key id, 8 lowercase hex>+<base64(0x01 || public key)>",
 * the same string Go's golang.org/x/mod/sumdb/note accepts.
 *
 * Nothing here ever prints the signing key: the signer key string
 * ("PRIVATE+KEY+...") is deliberately not produced.
 */
#ifndef CF_AUDIT_NOTE_H
#define CF_AUDIT_NOTE_H

#include "common/cf.h"
#include "crypto/crypto.h"

/* Longest key name accepted, in bytes (cf_note_verifier.name holds it and a NUL). */
#define CF_NOTE_NAME_MAX 127
/* Longest checkpoint origin accepted, in bytes. */
#define CF_NOTE_ORIGIN_MAX 512
/* Largest signed note cf_checkpoint_verify reads, in bytes. */
#define CF_NOTE_MAX (64 * 1024)
/* Most signature lines cf_checkpoint_verify reads (the spec asks for at least 16; Go allows 100). */
#define CF_NOTE_SIGS_MAX 100

/* A checkpoint signer: a key name and an Ed25519 key pair. Opaque. */
typedef struct cf_note_signer cf_note_signer;

/*
 * Makes a signer from a key name and a 32-byte seed (derived from the root
 * key by the caller; it is copied into guarded memory, the caller keeps
 * ownership of seed). name is the key name, also used as the checkpoint
 * origin by the caller: non-empty, at most CF_NOTE_NAME_MAX bytes of valid
 * UTF-8, with no space (ASCII or Unicode), no '+', no control character
 * (newline included). *out is allocated: free it with cf_note_signer_free.
 * CF_EINVAL for a bad name or a NULL seed, CF_ENOMEM when guarded memory
 * cannot be had.
 */
cf_rc cf_note_signer_new(const char *name, const cf_key *seed, cf_note_signer **out, cf_err *err) CF_MUST_CHECK;

/* Wipes and frees the signer; NULL is fine. */
void cf_note_signer_free(cf_note_signer *s);

/*
 * The verifier key string "name+hex8+base64(0x01||pub)", malloc'd (the
 * caller frees it); NULL on allocation failure or a NULL signer. It is
 * public: publish it so that others can verify the checkpoints.
 */
char *cf_note_verifier_key(const cf_note_signer *s);

/*
 * The signed checkpoint note text for (origin, size, root), malloc'd into
 * *note (the caller frees it). origin: non-empty, at most
 * CF_NOTE_ORIGIN_MAX bytes of valid UTF-8 without control characters
 * (spaces are allowed by the format; '+' too, though not recommended).
 * size: the tree size, >= 0. root: the 32-byte RFC 6962 root hash.
 * CF_EINVAL for a bad argument, CF_ENOMEM, or CF_ECRYPTO if signing fails.
 */
cf_rc cf_checkpoint_sign(const cf_note_signer *s, const char *origin, int64_t size, const uint8_t root[32],
			 char **note, cf_err *err) CF_MUST_CHECK;

/* A parsed verifier key: name (NUL-terminated), key id, Ed25519 public key. */
typedef struct cf_note_verifier {
	char name[128];
	uint8_t key_id[4];
	uint8_t pub[32];
} cf_note_verifier;

/*
 * Parses a verifier key string "name+hex8+base64(0x01||pub)" into *out.
 * Refused (CF_EINVAL): a name that a signer could not have (see
 * cf_note_signer_new), a key id that is not 8 hex digits, key material that
 * is not strict base64 of 33 bytes starting with the Ed25519 type byte
 * 0x01, and a key id that does not match the name and key. Strings over
 * 1024 bytes are refused unread.
 */
cf_rc cf_note_verifier_parse(const char *vkey, cf_note_verifier *out, cf_err *err) CF_MUST_CHECK;

/*
 * Verifies the signed checkpoint note (len bytes, no NUL needed) against v.
 *
 * Format, all of it checked (else CF_EINVAL): at most CF_NOTE_MAX bytes of
 * valid UTF-8 with no control character other than newline; the text is
 * everything up to the last blank line: a non-empty origin line (at most
 * CF_NOTE_ORIGIN_MAX bytes), a decimal tree size without sign or leading
 * zeros that fits in int64_t, the base64 of exactly 32 bytes, then optional
 * non-empty extension lines (ignored); after the blank line, 1 to
 * CF_NOTE_SIGS_MAX signature lines "— <valid key name> <base64 of at least
 * 5 bytes>\n", the last one ending in a newline.
 *
 * Signatures (else CF_EINTEGRITY): lines whose name or key id differ from
 * v's are ignored (other logs, witnesses); every line with v's name and key
 * id must verify (one that does not rejects the whole note), and there must
 * be at least one.
 *
 * On success, *origin (if origin is not NULL) is a malloc'd copy of the
 * origin line, *size (if not NULL) the tree size and root (if not NULL)
 * the root hash. On failure *origin is NULL, *size 0 and root zeroed.
 */
cf_rc cf_checkpoint_verify(const char *note, size_t len, const cf_note_verifier *v, char **origin, int64_t *size,
			   uint8_t root[32], cf_err *err) CF_MUST_CHECK;

#endif
