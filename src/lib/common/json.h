/*
 * json.h - strict JSON input for everything that reads untrusted bytes.
 * Duplicate keys, nesting beyond a limit, invalid UTF-8 and NUL bytes are
 * refused before any module sees the value; unpacking is strict (unknown
 * keys are refused) and every failure names a stable problem type.
 */
#ifndef CF_COMMON_JSON_H
#define CF_COMMON_JSON_H

#include "common/cf.h"
#include <jansson.h>

#define CF_JSON_MAX_DEPTH 32

/*
 * Parses exactly `len` bytes into *out (a new reference the caller owns).
 * Fails with CF_EINVAL and one of malformed-json, duplicate-key, too-deep.
 */
cf_rc cf_json_parse(const char *buf, size_t len, int max_depth, json_t **out, cf_err *err) CF_MUST_CHECK;

/*
 * json_unpack_ex with JSON_STRICT, mapping jansson's error to a problem:
 * missing-key, wrong-type or unknown-key. `what` names the object in the
 * error detail (e.g. "login body").
 */
cf_rc cf_json_unpack(cf_err *err, const char *what, json_t *root, const char *fmt, ...) CF_MUST_CHECK;

/*
 * Overwrites every string inside v (recursively) with zeros, for values
 * that held personal data, before the last reference is dropped.
 */
void cf_json_wipe(json_t *v);

/* Compact, sorted-keys serialization into a malloc'd NUL-terminated string. */
char *cf_json_dump_canonical(const json_t *v);

#endif
