/*
 * schema.c - collection declarations: the closed lists of field types and
 * data categories, identifier syntax, and the strict parser that turns the
 * body of PUT .../collections/{name} into a cf_collection (and back into its
 * normalized JSON). A declaration is the organization's data inventory, so
 * anything not understood is refused rather than ignored.
 * Error details name keys, fields and rules; they must never repeat a
 * declared value (a description or legal basis may quote anything).
 */
#include "common/cf.h"
#include "schema/schema.h"

#include "common/json.h"
#include "schema/schema_int.h"

#define RETENTION_MAX 64 /* bytes of a retention duration */
#define WHAT_LEN 96      /* "field 'NAME'" and the like, for error details */

/* Which optional keys a field type accepts. */
enum {
	T_STRINGLIKE = 1u << 0, /* max_length, pattern */
	T_ENUM = 1u << 1,       /* values (required) */
	T_INTEGER = 1u << 2,    /* min, max */
};

static const struct {
	const char *name;
	cf_field_type type;
	unsigned flags;
} types[] = {
	{"string", CF_FT_STRING, T_STRINGLIKE},
	{"integer", CF_FT_INTEGER, T_INTEGER},
	{"boolean", CF_FT_BOOLEAN, 0},
	{"date", CF_FT_DATE, 0},
	{"enum", CF_FT_ENUM, T_ENUM},
	{"email", CF_FT_EMAIL, T_STRINGLIKE},
	{"phone", CF_FT_PHONE, T_STRINGLIKE},
	{"postal_code", CF_FT_POSTAL_CODE, T_STRINGLIKE},
	{"national_id", CF_FT_NATIONAL_ID, 0},
};

static const char *const categories[] = {
	"identity", "contact", "financial", "social",    "health",    "judicial", "professional",
	"family",   "housing", "education", "biometric", "location", "other",
};

static const char *const special_categories[] = {"health", "judicial", "biometric"};

/* ---- names, categories, types ---- */

static bool ident_valid(const char *s, size_t len, bool allow_dash)
{
	if (len == 0 || len > CF_NAME_MAX || s[0] < 'a' || s[0] > 'z')
		return false;
	for (size_t i = 1; i < len; i++) {
		char ch = s[i];
		bool ok = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' || (allow_dash && ch == '-');
		if (!ok)
			return false;
	}
	return true;
}

bool cf_name_valid(const char *name)
{
	return name != NULL && ident_valid(name, strnlen(name, CF_NAME_MAX + 1), false);
}

bool cf_label_valid(const char *label)
{
	return label != NULL && ident_valid(label, strnlen(label, CF_NAME_MAX + 1), true);
}

/* The table's own string for a category, so fields can point at it; NULL if unknown. */
static const char *category_lookup(const char *category)
{
	if (category == NULL)
		return NULL;
	for (size_t i = 0; i < CF_ARRAY_LEN(categories); i++)
		if (strcmp(categories[i], category) == 0)
			return categories[i];
	return NULL;
}

bool cf_category_valid(const char *category)
{
	return category_lookup(category) != NULL;
}

bool cf_category_special(const char *category)
{
	if (category == NULL)
		return false;
	for (size_t i = 0; i < CF_ARRAY_LEN(special_categories); i++)
		if (strcmp(special_categories[i], category) == 0)
			return true;
	return false;
}

const char *cf_field_type_name(cf_field_type t)
{
	for (size_t i = 0; i < CF_ARRAY_LEN(types); i++)
		if (types[i].type == t)
			return types[i].name;
	return "unknown";
}

size_t cf_schema_utf8_chars(const char *s, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++)
		if (((unsigned char)s[i] & 0xC0u) != 0x80u)
			n++;
	return n;
}

/* ---- strict parsing helpers ---- */

/*
 * A JSON string without NUL bytes, non-empty when asked, at most max_chars
 * code points; the pointer stays owned by v. Refusals name `what`.
 */
static cf_rc get_string(json_t *v, const char *what, bool nonempty, size_t max_chars, const char **out,
			size_t *out_len, cf_err *err)
{
	const char *s;
	size_t len;

	if (!json_is_string(v))
		return cf_err_set(err, CF_EINVAL, CF_P_WRONG_TYPE, "%s must be a string", what);
	s = json_string_value(v);
	len = json_string_length(v);
	if (strlen(s) != len)
		return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "%s contains a NUL byte", what);
	if (nonempty && len == 0)
		return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "%s must not be empty", what);
	if (len > CF_MAX_STRING_LEN || cf_schema_utf8_chars(s, len) > max_chars)
		return cf_err_set(err, CF_EINVAL, CF_P_TOO_LONG, "%s is longer than %zu characters", what,
				  max_chars);
	*out = s;
	if (out_len != NULL)
		*out_len = len;
	return CF_OK;
}

/* As get_string, into a new allocation the caller owns. */
static cf_rc dup_string(json_t *v, const char *what, bool nonempty, size_t max_chars, char **out, cf_err *err)
{
	const char *s;
	size_t len;
	cf_rc rc;

	rc = get_string(v, what, nonempty, max_chars, &s, &len, err);
	if (rc != CF_OK)
		return rc;
	*out = cf_strndup(s, len);
	if (*out == NULL)
		return cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "out of memory");
	return CF_OK;
}

/* JSON integers only: a real or a boolean is refused (CF_EINVAL, the caller names the key). */
static cf_rc get_int(json_t *v, json_int_t *out)
{
	if (!json_is_integer(v))
		return CF_EINVAL;
	*out = json_integer_value(v);
	return CF_OK;
}

/* ---- freeing ---- */

static void field_release(cf_field *f)
{
	free(f->name);
	free(f->pattern);
	if (f->has_re)
		regfree(&f->re);
	for (size_t i = 0; i < f->n_values; i++)
		free(f->values[i]);
	free(f->values);
	free(f->description);
}

void cf_collection_free(cf_collection *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->n_fields; i++)
		field_release(&c->fields[i]);
	free(c->fields);
	for (size_t i = 0; i < c->n_purposes; i++) {
		free(c->purposes[i].name);
		free(c->purposes[i].legal_basis);
		free(c->purposes[i].description);
	}
	free(c->purposes);
	free(c->name);
	free(c->retention);
	free(c->retention_start);
	free(c->description);
	free(c);
}

/* ---- fields ---- */

/* Allocates f->values (released with f); refuses empty, over-long or repeated values. */
static cf_rc parse_values(cf_field *f, json_t *jv, const char *what, cf_err *err)
{
	size_t n, i;
	json_t *v;
	cf_rc rc = CF_OK;

	if (!json_is_array(jv))
		return cf_err_set(err, CF_EINVAL, CF_P_WRONG_TYPE, "%s: values must be an array of strings", what);
	n = json_array_size(jv);
	if (n == 0)
		return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "%s: values must not be empty", what);
	if (n > CF_SCHEMA_MAX_ENUM_VALUES)
		return cf_err_set(err, CF_EINVAL, CF_P_TOO_LONG, "%s: more than %d values", what,
				  CF_SCHEMA_MAX_ENUM_VALUES);
	f->values = calloc(n, sizeof(*f->values));
	if (f->values == NULL)
		return cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "out of memory");
	json_array_foreach(jv, i, v) {
		char vwhat[WHAT_LEN + 32];

		(void)snprintf(vwhat, sizeof(vwhat), "%s: values[%zu]", what, i);
		rc = dup_string(v, vwhat, true, CF_SCHEMA_ENUM_VALUE_MAX, &f->values[i], err);
		if (rc != CF_OK)
			return rc;
		f->n_values = i + 1;
		if (strlen(f->values[i]) > CF_SCHEMA_ENUM_VALUE_MAX)
			return cf_err_set(err, CF_EINVAL, CF_P_TOO_LONG, "%s is longer than %d bytes", vwhat,
					  CF_SCHEMA_ENUM_VALUE_MAX);
		for (size_t j = 0; j < i; j++)
			if (strcmp(f->values[j], f->values[i]) == 0)
				return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "%s repeats values[%zu]", vwhat,
						  j);
	}
	return CF_OK;
}

/* Parses one field declaration into f (zeroed by the caller; field_release frees it either way). */
static cf_rc parse_field(cf_field *f, const char *name, json_t *def, size_t *budget, cf_err *err)
{
	json_t *jtype = NULL, *jcat = NULL, *jreq = NULL, *jmaxlen = NULL, *jpat = NULL, *jvalues = NULL;
	json_t *jmin = NULL, *jmax = NULL, *jdesc = NULL;
	char what[WHAT_LEN];
	const char *s;
	unsigned flags = 0;
	bool known = false;
	cf_rc rc;

	(void)snprintf(what, sizeof(what), "field '%s'", name);
	f->name = cf_strdup(name);
	if (f->name == NULL)
		return cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "out of memory");
	rc = cf_json_unpack(err, what, def, "{s:o, s:o, s?o, s?o, s?o, s?o, s?o, s?o, s?o}", "type", &jtype,
			    "category", &jcat, "required", &jreq, "max_length", &jmaxlen, "pattern", &jpat,
			    "values", &jvalues, "min", &jmin, "max", &jmax, "description", &jdesc);
	if (rc != CF_OK)
		return rc;

	if (!json_is_string(jtype))
		return cf_err_set(err, CF_EINVAL, CF_P_WRONG_TYPE, "%s: type must be a string", what);
	s = json_string_value(jtype);
	if (strlen(s) != json_string_length(jtype))
		s = ""; /* an embedded NUL never names a type */
	for (size_t i = 0; i < CF_ARRAY_LEN(types); i++) {
		if (strcmp(types[i].name, s) == 0) {
			f->type = types[i].type;
			flags = types[i].flags;
			known = true;
		}
	}
	if (!known)
		return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE,
				  "%s: unknown type (string, integer, boolean, date, enum, email, phone, "
				  "postal_code, national_id)",
				  what);

	if (!json_is_string(jcat))
		return cf_err_set(err, CF_EINVAL, CF_P_WRONG_TYPE, "%s: category must be a string", what);
	f->category = strlen(json_string_value(jcat)) == json_string_length(jcat)
			      ? category_lookup(json_string_value(jcat))
			      : NULL;
	if (f->category == NULL)
		return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "%s: unknown category", what);

	if (jreq != NULL) {
		if (!json_is_boolean(jreq))
			return cf_err_set(err, CF_EINVAL, CF_P_WRONG_TYPE, "%s: required must be true or false", what);
		f->required = json_is_true(jreq);
	}

	if (jmaxlen != NULL) {
		json_int_t v;

		if (!(flags & T_STRINGLIKE))
			return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "%s: max_length does not apply to type %s",
					  what, cf_field_type_name(f->type));
		if (get_int(jmaxlen, &v) != CF_OK)
			return cf_err_set(err, CF_EINVAL, CF_P_WRONG_TYPE, "%s: max_length must be an integer", what);
		if (v < 1 || v > CF_MAX_STRING_LEN)
			return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "%s: max_length must be 1 to %d", what,
					  CF_MAX_STRING_LEN);
		f->max_length = (size_t)v;
	}

	if (jpat != NULL) {
		if (!(flags & T_STRINGLIKE))
			return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "%s: pattern does not apply to type %s",
					  what, cf_field_type_name(f->type));
		if (!json_is_string(jpat))
			return cf_err_set(err, CF_EINVAL, CF_P_WRONG_TYPE, "%s: pattern must be a string", what);
		rc = cf_schema_pattern_compile(json_string_value(jpat), json_string_length(jpat), &f->re, budget, what,
					       err);
		if (rc != CF_OK)
			return rc;
		f->has_re = true;
		f->pattern = cf_strndup(json_string_value(jpat), json_string_length(jpat));
		if (f->pattern == NULL)
			return cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "out of memory");
	}

	if (jvalues != NULL && !(flags & T_ENUM))
		return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "%s: values apply to type enum only", what);
	if (flags & T_ENUM) {
		if (jvalues == NULL)
			return cf_err_set(err, CF_EINVAL, CF_P_MISSING_KEY, "%s: an enum needs values", what);
		rc = parse_values(f, jvalues, what, err);
		if (rc != CF_OK)
			return rc;
	}

	if ((jmin != NULL || jmax != NULL) && !(flags & T_INTEGER))
		return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "%s: min and max apply to type integer only",
				  what);
	if (jmin != NULL) {
		if (get_int(jmin, &f->min) != CF_OK)
			return cf_err_set(err, CF_EINVAL, CF_P_WRONG_TYPE, "%s: min must be an integer", what);
		f->has_min = true;
	}
	if (jmax != NULL) {
		if (get_int(jmax, &f->max) != CF_OK)
			return cf_err_set(err, CF_EINVAL, CF_P_WRONG_TYPE, "%s: max must be an integer", what);
		f->has_max = true;
	}
	if (f->has_min && f->has_max && f->min > f->max)
		return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "%s: min is greater than max", what);

	if (jdesc != NULL) {
		char dwhat[WHAT_LEN + 16];

		(void)snprintf(dwhat, sizeof(dwhat), "%s: description", what);
		rc = dup_string(jdesc, dwhat, false, CF_SCHEMA_DESCRIPTION_MAX, &f->description, err);
		if (rc != CF_OK)
			return rc;
	}
	return CF_OK;
}

static int field_cmp(const void *a, const void *b)
{
	return strcmp(((const cf_field *)a)->name, ((const cf_field *)b)->name);
}

static int purpose_cmp(const void *a, const void *b)
{
	return strcmp(((const cf_purpose *)a)->name, ((const cf_purpose *)b)->name);
}

/* Allocates c->fields (released with c), then sorts them by name for binary search and stable indexes. */
static cf_rc parse_fields(cf_collection *c, json_t *jfields, cf_err *err)
{
	size_t n, budget = CF_SCHEMA_PATTERN_BUDGET, key_len;
	const char *key;
	json_t *v;
	cf_rc rc;

	if (!json_is_object(jfields))
		return cf_err_set(err, CF_EINVAL, CF_P_WRONG_TYPE, "fields must be an object");
	n = json_object_size(jfields);
	if (n == 0)
		return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "fields must declare at least one field");
	if (n > CF_MAX_FIELDS)
		return cf_err_set(err, CF_EINVAL, CF_P_TOO_LONG, "more than %d fields", CF_MAX_FIELDS);
	c->fields = calloc(n, sizeof(*c->fields));
	if (c->fields == NULL)
		return cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "out of memory");
	json_object_keylen_foreach(jfields, key, key_len, v) {
		if (strlen(key) != key_len || !cf_name_valid(key))
			return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE,
					  "a field name does not match [a-z][a-z0-9_]{0,63}");
		c->n_fields++; /* counted first, so that cf_collection_free releases a half-parsed field */
		rc = parse_field(&c->fields[c->n_fields - 1], key, v, &budget, err);
		if (rc != CF_OK)
			return rc;
	}
	qsort(c->fields, c->n_fields, sizeof(*c->fields), field_cmp);
	return CF_OK;
}

/* Allocates c->purposes (released with c), sorted by name. */
static cf_rc parse_purposes(cf_collection *c, json_t *jpurposes, cf_err *err)
{
	size_t n, key_len;
	const char *key;
	json_t *v;
	cf_rc rc;

	if (!json_is_object(jpurposes))
		return cf_err_set(err, CF_EINVAL, CF_P_WRONG_TYPE, "purposes must be an object");
	n = json_object_size(jpurposes);
	if (n == 0)
		return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "purposes must declare at least one purpose");
	if (n > CF_SCHEMA_MAX_PURPOSES)
		return cf_err_set(err, CF_EINVAL, CF_P_TOO_LONG, "more than %d purposes", CF_SCHEMA_MAX_PURPOSES);
	c->purposes = calloc(n, sizeof(*c->purposes));
	if (c->purposes == NULL)
		return cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "out of memory");
	json_object_keylen_foreach(jpurposes, key, key_len, v) {
		cf_purpose *p = &c->purposes[c->n_purposes];
		json_t *jbasis = NULL, *jdesc = NULL;
		char what[WHAT_LEN], swhat[WHAT_LEN + 16];

		if (strlen(key) != key_len || !cf_label_valid(key))
			return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE,
					  "a purpose name does not match [a-z][a-z0-9_-]{0,63}");
		c->n_purposes++;
		p->name = cf_strdup(key);
		if (p->name == NULL)
			return cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "out of memory");
		(void)snprintf(what, sizeof(what), "purpose '%s'", key);
		rc = cf_json_unpack(err, what, v, "{s:o, s?o}", "legal_basis", &jbasis, "description", &jdesc);
		if (rc != CF_OK)
			return rc;
		(void)snprintf(swhat, sizeof(swhat), "%s: legal_basis", what);
		rc = dup_string(jbasis, swhat, true, CF_SCHEMA_LEGAL_BASIS_MAX, &p->legal_basis, err);
		if (rc != CF_OK)
			return rc;
		if (jdesc != NULL) {
			(void)snprintf(swhat, sizeof(swhat), "%s: description", what);
			rc = dup_string(jdesc, swhat, false, CF_SCHEMA_DESCRIPTION_MAX, &p->description, err);
			if (rc != CF_OK)
				return rc;
		}
	}
	qsort(c->purposes, c->n_purposes, sizeof(*c->purposes), purpose_cmp);
	return CF_OK;
}

/* Runs after parse_fields: a retention_start naming a field needs the fields to look it up. */
static cf_rc parse_retention(cf_collection *c, json_t *jret, json_t *jstart, cf_err *err)
{
	const cf_duration *d = &c->retention_d;
	const char *start = "created";
	cf_rc rc;

	rc = dup_string(jret, "retention", true, RETENTION_MAX, &c->retention, err);
	if (rc != CF_OK)
		return rc;
	if (cf_duration_parse(c->retention, &c->retention_d) != CF_OK)
		return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE,
				  "retention must be an ISO 8601 duration such as P10Y, P6M, P30D or P1Y6M");
	if (d->years == 0 && d->months == 0 && d->weeks == 0 && d->days == 0 && d->hours == 0 &&
	    d->minutes == 0 && d->seconds == 0)
		return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "retention must be longer than zero");

	if (jstart != NULL) {
		const cf_field *f;
		size_t len;

		rc = get_string(jstart, "retention_start", true, CF_NAME_MAX, &start, &len, err);
		if (rc != CF_OK)
			return rc;
		if (strcmp(start, "created") != 0 && strcmp(start, "updated") != 0) {
			if (!cf_name_valid(start))
				return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE,
						  "retention_start must be created, updated or a date field");
			f = cf_collection_field(c, start);
			if (f == NULL)
				return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE,
						  "retention_start: field '%s' is not declared", start);
			if (f->type != CF_FT_DATE)
				return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE,
						  "retention_start: field '%s' is not of type date", start);
		}
	}
	c->retention_start = cf_strdup(start);
	if (c->retention_start == NULL)
		return cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "out of memory");
	return CF_OK;
}

/* Allocates *out on success; on failure nothing is left allocated. */
cf_rc cf_collection_parse(const char *name, json_t *def, cf_collection **out, cf_err *err)
{
	json_t *jfields = NULL, *jpurposes = NULL, *jret = NULL, *jstart = NULL, *jdesc = NULL;
	cf_collection *c = NULL;
	cf_rc rc;

	CF_ASSERT(out != NULL);
	*out = NULL;
	if (!cf_name_valid(name)) {
		rc = cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE,
				"the collection name does not match [a-z][a-z0-9_]{0,63}");
		goto out;
	}
	rc = cf_json_unpack(err, "collection", def, "{s:o, s:o, s:o, s?o, s?o}", "fields", &jfields, "purposes",
			    &jpurposes, "retention", &jret, "retention_start", &jstart, "description", &jdesc);
	if (rc != CF_OK)
		goto out;
	c = calloc(1, sizeof(*c));
	if (c == NULL || (c->name = cf_strdup(name)) == NULL) {
		rc = cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "out of memory");
		goto out;
	}
	rc = parse_fields(c, jfields, err);
	if (rc != CF_OK)
		goto out;
	rc = parse_purposes(c, jpurposes, err);
	if (rc != CF_OK)
		goto out;
	rc = parse_retention(c, jret, jstart, err);
	if (rc != CF_OK)
		goto out;
	if (jdesc != NULL) {
		rc = dup_string(jdesc, "description", false, CF_SCHEMA_DESCRIPTION_MAX, &c->description, err);
		if (rc != CF_OK)
			goto out;
	}
	*out = c;
	c = NULL;
out:
	cf_collection_free(c);
	return rc;
}

/* ---- normalized JSON ---- */

/* json_object_set_new that remembers a failure (jansson steals v either way). */
static void put(json_t *o, const char *key, json_t *v, bool *ok)
{
	if (v == NULL || json_object_set_new(o, key, v) != 0)
		*ok = false;
}

static json_t *field_to_json(const cf_field *f)
{
	json_t *o = json_object();
	bool ok = o != NULL;

	if (!ok)
		return NULL;
	put(o, "type", json_string(cf_field_type_name(f->type)), &ok);
	put(o, "category", json_string(f->category), &ok);
	put(o, "required", json_boolean(f->required), &ok);
	if (f->max_length > 0)
		put(o, "max_length", json_integer((json_int_t)f->max_length), &ok);
	if (f->pattern != NULL)
		put(o, "pattern", json_string(f->pattern), &ok);
	if (f->values != NULL) {
		json_t *a = json_array();

		for (size_t i = 0; a != NULL && i < f->n_values; i++)
			if (json_array_append_new(a, json_string(f->values[i])) != 0)
				ok = false;
		put(o, "values", a, &ok);
	}
	if (f->has_min)
		put(o, "min", json_integer(f->min), &ok);
	if (f->has_max)
		put(o, "max", json_integer(f->max), &ok);
	if (f->description != NULL)
		put(o, "description", json_string(f->description), &ok);
	if (!ok) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* New reference, or NULL when out of memory. */
json_t *cf_collection_to_json(const cf_collection *c)
{
	json_t *o = json_object(), *fields = json_object(), *purposes = json_object();
	bool ok = o != NULL && fields != NULL && purposes != NULL;

	for (size_t i = 0; ok && i < c->n_fields; i++)
		put(fields, c->fields[i].name, field_to_json(&c->fields[i]), &ok);
	for (size_t i = 0; ok && i < c->n_purposes; i++) {
		json_t *p = json_object();

		if (p == NULL) {
			ok = false;
			break;
		}
		put(p, "legal_basis", json_string(c->purposes[i].legal_basis), &ok);
		if (c->purposes[i].description != NULL)
			put(p, "description", json_string(c->purposes[i].description), &ok);
		put(purposes, c->purposes[i].name, p, &ok);
	}
	if (!ok) {
		json_decref(o);
		json_decref(fields);
		json_decref(purposes);
		return NULL;
	}
	put(o, "fields", fields, &ok);
	put(o, "purposes", purposes, &ok);
	put(o, "retention", json_string(c->retention), &ok);
	put(o, "retention_start", json_string(c->retention_start), &ok);
	if (c->description != NULL)
		put(o, "description", json_string(c->description), &ok);
	if (!ok) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* ---- accessors ---- */

const char *cf_collection_name(const cf_collection *c)
{
	return c->name;
}

size_t cf_collection_field_count(const cf_collection *c)
{
	return c->n_fields;
}

const cf_field *cf_collection_field_at(const cf_collection *c, size_t i)
{
	return i < c->n_fields ? &c->fields[i] : NULL;
}

long cf_collection_field_index(const cf_collection *c, const char *name)
{
	size_t lo = 0, hi = c->n_fields;

	if (name == NULL)
		return -1;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int r = strcmp(name, c->fields[mid].name);

		if (r == 0)
			return (long)mid;
		if (r < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return -1;
}

const cf_field *cf_collection_field(const cf_collection *c, const char *name)
{
	long i = cf_collection_field_index(c, name);

	return i < 0 ? NULL : &c->fields[i];
}

size_t cf_collection_purpose_count(const cf_collection *c)
{
	return c->n_purposes;
}

const char *cf_collection_purpose_at(const cf_collection *c, size_t i)
{
	return i < c->n_purposes ? c->purposes[i].name : NULL;
}

const char *cf_collection_legal_basis(const cf_collection *c, const char *purpose)
{
	if (purpose == NULL)
		return NULL;
	for (size_t i = 0; i < c->n_purposes; i++)
		if (strcmp(c->purposes[i].name, purpose) == 0)
			return c->purposes[i].legal_basis;
	return NULL;
}

const char *cf_collection_retention(const cf_collection *c)
{
	return c->retention;
}

const char *cf_collection_retention_start(const cf_collection *c)
{
	return c->retention_start;
}

const char *cf_field_name(const cf_field *f)
{
	return f->name;
}

cf_field_type cf_field_type_of(const cf_field *f)
{
	return f->type;
}

const char *cf_field_category(const cf_field *f)
{
	return f->category;
}

bool cf_field_required(const cf_field *f)
{
	return f->required;
}
