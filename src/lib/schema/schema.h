/*
 * schema.h - collections: typed field declarations, data categories,
 * purposes with their legal basis, retention; and the validation of record
 * values against them. Pure functions over jansson values: no I/O, no keys.
 * Error details name fields and rules, never the offending value (it may be
 * personal data).
 */
#ifndef CF_SCHEMA_H
#define CF_SCHEMA_H

#include "common/cf.h"
#include <jansson.h>

#define CF_NAME_MAX 64         /* identifiers: [a-z][a-z0-9_]{0,63} (collections, fields) */
#define CF_MAX_FIELDS 256
#define CF_MAX_STRING_LEN 65536 /* absolute cap on any string field, max_length or not */

typedef enum cf_field_type {
	CF_FT_STRING,
	CF_FT_INTEGER,
	CF_FT_BOOLEAN,
	CF_FT_DATE,        /* "YYYY-MM-DD", a real calendar date */
	CF_FT_ENUM,        /* one of "values" */
	CF_FT_EMAIL,
	CF_FT_PHONE,       /* optional +, digits and separators, 6-15 digits */
	CF_FT_POSTAL_CODE, /* 3-10 of [A-Za-z0-9 -], at least one digit */
	CF_FT_NATIONAL_ID, /* Belgian national register number, check digits validated */
} cf_field_type;

typedef struct cf_field cf_field;           /* opaque */
typedef struct cf_collection cf_collection; /* opaque */

/* Data categories, a closed list: identity, contact, financial, social, health,
 * judicial, professional, family, housing, education, biometric, location, other. */
bool cf_category_valid(const char *category);
/* Categories the GDPR treats specially (art. 9 and 10): health, judicial, biometric. */
bool cf_category_special(const char *category);
/* [a-z][a-z0-9_]{0,63} */
bool cf_name_valid(const char *name);
/* purpose and role names: [a-z][a-z0-9_-]{0,63} */
bool cf_label_valid(const char *label);

/*
 * Parses a collection definition (the body of PUT .../collections/{name}),
 * strictly: unknown keys, wrong types, unknown field types or categories,
 * bad patterns, enum without values, empty fields or purposes, and invalid
 * retention are refused with CF_EINVAL and a precise problem/detail.
 *
 * Accepted document:
 *   {"fields": {NAME: {"type": T, "category": C, "required": bool?, "max_length": int?,
 *                      "pattern": "POSIX ERE"?, "values": [strings]? (enum only),
 *                      "min": int?, "max": int? (integer only), "description": str?}, ...},
 *    "purposes": {PURPOSE: {"legal_basis": str, "description": str?}, ...},
 *    "retention": "ISO 8601 duration, e.g. P10Y, P6M, P30D, P1Y6M",
 *    "retention_start": "created" | "updated" | DATE_FIELD_NAME (optional, default "created"),
 *    "description": str?}
 * `name` is the collection name (validated with cf_name_valid).
 * On success *out is owned by the caller (cf_collection_free).
 */
cf_rc cf_collection_parse(const char *name, json_t *def, cf_collection **out, cf_err *err) CF_MUST_CHECK;
void cf_collection_free(cf_collection *c);

/* The normalized definition (same shape as accepted, defaults filled in); new reference. */
json_t *cf_collection_to_json(const cf_collection *c);

const char *cf_collection_name(const cf_collection *c);
size_t cf_collection_field_count(const cf_collection *c);
const cf_field *cf_collection_field_at(const cf_collection *c, size_t i); /* declaration order is sorted by name */
const cf_field *cf_collection_field(const cf_collection *c, const char *name); /* NULL if absent */
/* Index of a field by name, or -1. */
long cf_collection_field_index(const cf_collection *c, const char *name);
size_t cf_collection_purpose_count(const cf_collection *c);
const char *cf_collection_purpose_at(const cf_collection *c, size_t i);
/* Returns the legal basis of a declared purpose, or NULL if not declared. */
const char *cf_collection_legal_basis(const cf_collection *c, const char *purpose);
const char *cf_collection_retention(const cf_collection *c);        /* as declared, e.g. "P10Y" */
const char *cf_collection_retention_start(const cf_collection *c);  /* "created", "updated" or a field name */

const char *cf_field_name(const cf_field *f);
cf_field_type cf_field_type_of(const cf_field *f);
const char *cf_field_category(const cf_field *f);
bool cf_field_required(const cf_field *f);
const char *cf_field_type_name(cf_field_type t); /* "string", "national_id", ... */

/*
 * Validates record values (a JSON object FIELD -> value) against the collection.
 * partial=false (create): every required field present. partial=true (patch):
 * only the given fields are checked. Unknown fields, null values, wrong JSON
 * types, over-long strings, pattern mismatches, invalid dates/emails/phones/
 * postal codes/enum values and invalid national identifiers are refused with
 * CF_EINVAL; the detail names the field and the rule, never the value.
 */
cf_rc cf_collection_validate(const cf_collection *c, json_t *fields, bool partial, cf_err *err) CF_MUST_CHECK;

/*
 * Belgian national register number (rijksregisternummer / numéro de registre
 * national): 11 digits YYMMDD SSS CC, separators ' ', '.', '-' allowed in input.
 * Check digits: 97 - (first 9 digits mod 97), or for people born in 2000 or
 * later 97 - ((2 followed by the first 9 digits) mod 97). Month 00 or day 00
 * are allowed (unknown birth date); bis numbers (month + 20 or + 40) too.
 * cf_nid_normalize writes the 11 digits (NUL-terminated) or fails with
 * CF_EINVAL / CF_P_INVALID_NATIONAL_ID.
 */
#define CF_NID_LEN 12
bool cf_nid_be_valid(const char *s);
cf_rc cf_nid_normalize(const char *in, char out[CF_NID_LEN], cf_err *err) CF_MUST_CHECK;

/* ISO 8601 duration (PnYnMnWnDTnHnMnS, integers only; at least one part). */
typedef struct cf_duration {
	int years, months, weeks, days, hours, minutes, seconds;
} cf_duration;
cf_rc cf_duration_parse(const char *s, cf_duration *out) CF_MUST_CHECK;
/*
 * from_us + d in UTC calendar terms: years and months move the date and
 * clamp the day to the month's length (2024-01-31 + P1M = 2024-02-29), then
 * weeks, days, hours, minutes and seconds are added exactly. CF_ETOOBIG when
 * the result does not fit; CF_EINVAL on a negative part.
 */
cf_rc cf_duration_add(int64_t from_us, const cf_duration *d, int64_t *out_us) CF_MUST_CHECK;
/* "YYYY-MM-DD" (a real date) as microseconds at 00:00 UTC that day; CF_EINVAL otherwise. */
cf_rc cf_date_parse_us(const char *s, int64_t *out_us) CF_MUST_CHECK;

#endif
