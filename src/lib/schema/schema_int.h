/*
 * schema_int.h - the bodies of the schema module's opaque structs and the
 * helpers its files share. Private to src/lib/schema: no other module may
 * include it (they go through schema.h).
 */
#ifndef CF_SCHEMA_INT_H
#define CF_SCHEMA_INT_H

#include "common/cf.h"
#include "schema/schema.h"

#include <jansson.h>
#include <regex.h>

#define CF_SCHEMA_PATTERN_MAX 512     /* bytes of a declared pattern */
#define CF_SCHEMA_DESCRIPTION_MAX 1000 /* characters */
#define CF_SCHEMA_LEGAL_BASIS_MAX 500  /* characters */
#define CF_SCHEMA_MAX_PURPOSES 64
#define CF_SCHEMA_MAX_ENUM_VALUES 256
#define CF_SCHEMA_ENUM_VALUE_MAX 256   /* bytes of one enum value */

struct cf_field {
	char *name;
	cf_field_type type;
	const char *category; /* points into the static category table */
	bool required;
	size_t max_length;    /* in characters; 0 = not declared */
	char *pattern;        /* as declared (unanchored); NULL = none */
	regex_t re;           /* "^(" pattern ")$", valid when has_re */
	bool has_re;
	char **values;        /* enum only, declaration order */
	size_t n_values;
	bool has_min, has_max;
	json_int_t min, max;  /* integer only */
	char *description;
};

typedef struct cf_purpose {
	char *name;
	char *legal_basis;
	char *description; /* NULL = none */
} cf_purpose;

struct cf_collection {
	char *name;
	cf_field *fields; /* sorted by name */
	size_t n_fields;
	cf_purpose *purposes; /* sorted by name */
	size_t n_purposes;
	char *retention;       /* as declared */
	cf_duration retention_d;
	char *retention_start; /* "created", "updated" or a date field's name */
	char *description;     /* NULL = none */
};

/* Number of UTF-8 code points in s[0..len) (continuation bytes not counted). */
size_t cf_schema_utf8_chars(const char *s, size_t len);

/* Estimated automaton size all the patterns of one collection may add up to. */
#define CF_SCHEMA_PATTERN_BUDGET 2048

/*
 * Compiles a declared pattern into re, anchored; on success the caller owns
 * re (regfree). Refuses (CF_EINVAL, invalid-value) patterns over
 * CF_SCHEMA_PATTERN_MAX bytes, with back-references, unbalanced parentheses
 * or a repetition blow-up that would let one declaration exhaust memory or
 * CPU, and charges the pattern's estimated size to *budget (refused when it
 * would go below zero). `what` names the field.
 */
cf_rc cf_schema_pattern_compile(const char *pattern, size_t len, regex_t *re, size_t *budget, const char *what,
				cf_err *err) CF_MUST_CHECK;
/* True when the whole of s[0..len) (no NUL inside) matches the compiled pattern. */
bool cf_schema_pattern_match(const regex_t *re, const char *s, size_t len);

/* "YYYY-MM-DD", a real calendar date, year 0001-9999. */
bool cf_schema_date_valid(const char *s, size_t len);

#endif
