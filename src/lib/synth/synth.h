/*
 * synth.h - synthetic, format-valid data for non-production environments
 * (`coffre export --pseudonymize`): every identifier becomes a format-valid
 * synthetic one and every personal value a synthetic value of the same type
 * that still validates against its collection.
 *
 * Mapping. Each cf_synth holds a per-export random 32-byte key (from the
 * injected cf_env), never output and wiped when freed. A source value v of
 * type t is mapped through seed = BLAKE2b-256 keyed with that key over
 * (t's name, 0x00, canonical text of v), expanded with libsodium's
 * randombytes_buf_deterministic. So the same (type, value) gives the same
 * synthetic value inside one export (records of one person stay together)
 * and unrelated values in another export. When a candidate equals the source
 * or does not validate, it is re-derived with a 4-byte big-endian counter
 * appended to the seed input, at most 64 times.
 *
 * What is guaranteed: a synthetic value never equals its own source value
 * (impossible cases fail with CF_EINVAL). In a small domain (a short integer
 * range, a 4-digit postal code) it may by chance equal the source value of
 * another record. In cf_synth_dataset, national identifiers are stronger:
 * distinct source identifiers get distinct synthetic ones, and no synthetic
 * identifier equals any source identifier of the dataset.
 *
 * Booleans and enums are NOT derived from the source: they are drawn
 * uniformly at random (env random source), independently of the source
 * value, because any mapping of a type with two (or few) values would reveal
 * the source (the same input always gives the same output). Such a value may
 * therefore equal its source, and is not consistent across records.
 *
 * Caveat: a synthetic national register number is a valid number (random
 * birth date 1930-2019, sequence 001-997); nothing reserves it, so it may be
 * the number of some real person, unrelated to the source.
 *
 * Error details name collections, fields and rules, never a value.
 */
#ifndef CF_SYNTH_H
#define CF_SYNTH_H

#include "common/cf.h"
#include "schema/schema.h"

#include <jansson.h>

#define CF_SYNTH_KEY_LEN 32
#define CF_SYNTH_TRIES 64            /* re-derivations before giving up */
#define CF_SYNTH_PREFIX_MAX 8        /* bytes of an id prefix, [A-Za-z0-9_-] */
#define CF_SYNTH_ID_B64_LEN 22       /* base64url characters after the prefix (128 bits) */
#define CF_SYNTH_ID_SRC_MAX 256      /* bytes of a source opaque id */
#define CF_SYNTH_MAX_COLLECTIONS 1024
#define CF_SYNTH_MAX_SUBJECTS 10000000
#define CF_SYNTH_MAX_RECORDS 100000  /* per subject */

typedef struct cf_synth cf_synth; /* holds the per-export key in sodium_malloc'd memory */

/*
 * Draws a new per-export key from env (which must outlive the cf_synth: it
 * also supplies the random booleans and enum values). Fails with CF_ECRYPTO
 * when libsodium cannot initialise, CF_ENOMEM when guarded memory cannot be
 * had. On success the caller owns *out (cf_synth_free).
 */
cf_rc cf_synth_new(const cf_env *env, cf_synth **out, cf_err *err) CF_MUST_CHECK;
void cf_synth_free(cf_synth *s); /* wipes the key */

/*
 * A synthetic value for field `field` of collection c, given the source value
 * (any JSON scalar of the right type, already valid; it is validated again
 * and refused with CF_EINVAL otherwise). New reference in *out.
 * Strings keep their shape (letters by letters of the same case, digits by
 * digits, other ASCII kept, each non-ASCII character by a lowercase letter);
 * integers are uniform in [min, max] minus the source (undeclared bounds:
 * [0, max(2|v|, 1000)], or [-max(2|v|, 1000), max(2|v|, 1000)] when v < 0);
 * dates are real dates within 1095 days of the source; emails
 * "<10 letters>@example.invalid"; phones "+32 4" + 8 digits; postal codes 4
 * digits (first 1-9).
 * Fails with CF_EINVAL (detail naming the field) for an undeclared field, an
 * integer range holding only the source value, a string with no letter, digit
 * or non-ASCII character (its only form is the source), or when no candidate
 * validates in CF_SYNTH_TRIES tries (e.g. a pattern the same-shape generator
 * cannot meet, or a max_length below the generated email's length).
 */
cf_rc cf_synth_value(cf_synth *s, const cf_collection *c, const char *field, const json_t *src, json_t **out,
		     cf_err *err) CF_MUST_CHECK;

/* A synthetic national identifier (normalized 11 digits) for a source one (any accepted input form; normalized first). */
cf_rc cf_synth_nid(cf_synth *s, const char *src, char out[CF_NID_LEN], cf_err *err) CF_MUST_CHECK;

/*
 * A synthetic opaque id "<prefix>" + 22 base64url chars, the same for the same
 * (prefix, source id) inside one export. prefix is at most 8 chars of
 * [A-Za-z0-9_-] (CF_EINVAL otherwise); src is 1 to CF_SYNTH_ID_SRC_MAX bytes;
 * outsize must hold prefix + 22 + NUL (CF_ETOOBIG otherwise).
 */
cf_rc cf_synth_id(cf_synth *s, const char *prefix, const char *src, char *out, size_t outsize,
		  cf_err *err) CF_MUST_CHECK;

/*
 * The whole dataset: source is {"org": "...", "collections": {NAME: DEF, ...}, "subjects": [{"national_id": "...", "records": [{"collection": NAME, "id": "r_...", "fields": {...}}]}]}
 * → {"format": "coffre-pseudonymized-dataset/1", "pseudonymized": true, "collections": {NAME: DEF (unchanged: schemas are not personal data)}, "subjects": [{"national_id": SYNTH, "records": [{"collection": NAME, "id": SYNTH_ID, "fields": {...synthetic...}}]}]}
 * Fields of type national_id inside records map through cf_synth_nid too, so a record naming the subject's own identifier keeps naming the same (synthetic) person. Subjects are output in a random order (shuffled with the env random source) so position does not link them to the source. Errors name the collection and field, never a value.
 *
 * The source is read strictly (unknown keys, missing keys, wrong types,
 * undeclared collections or fields, invalid values: CF_EINVAL); record
 * fields are validated as a patch would be (a required field may be absent,
 * as in a record written before the field was declared); record ids
 * become "r_" + 22 base64url chars. The org name is not output. A fresh
 * per-export key is drawn from env and wiped before returning. On success
 * the caller owns *out.
 */
cf_rc cf_synth_dataset(const cf_env *env, const json_t *source, json_t **out, cf_err *err) CF_MUST_CHECK;

#endif
