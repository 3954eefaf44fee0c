/*
 * validate.c - record values against their collection: JSON type, string
 * caps, patterns, and the formats of the typed fields (dates, emails,
 * phones, postal codes, enum values, national identifiers).
 * Values are personal data: an error detail names the field and the rule
 * that failed, never the value, and nothing here keeps a copy of one.
 */
#include "common/cf.h"
#include "schema/schema.h"

#include "schema/schema_int.h"

#define EMAIL_MIN 3
#define EMAIL_MAX 254
#define EMAIL_LABEL_MAX 63
#define PHONE_MAX 32 /* bytes, separators included */
#define PHONE_DIGITS_MIN 6
#define PHONE_DIGITS_MAX 15
#define POSTAL_MIN 3
#define POSTAL_MAX 10

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_alnum(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool leap(unsigned y)
{
	return (y % 4u == 0 && y % 100u != 0) || y % 400u == 0;
}

bool cf_schema_date_valid(const char *s, size_t len)
{
	static const unsigned mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	unsigned y = 0, m, d, max;

	if (len != 10 || s[4] != '-' || s[7] != '-')
		return false;
	for (size_t i = 0; i < 10; i++)
		if (i != 4 && i != 7 && !is_digit(s[i]))
			return false;
	for (size_t i = 0; i < 4; i++)
		y = y * 10u + (unsigned)(s[i] - '0');
	m = (unsigned)(s[5] - '0') * 10u + (unsigned)(s[6] - '0');
	d = (unsigned)(s[8] - '0') * 10u + (unsigned)(s[9] - '0');
	if (y < 1 || m < 1 || m > 12 || d < 1)
		return false;
	max = mdays[m - 1];
	if (m == 2 && leap(y))
		max = 29;
	return d <= max;
}

/* local@domain: one '@', printable local part without spaces, dotted domain of LDH labels. */
static bool email_valid(const char *s, size_t len)
{
	const char *at = NULL;
	size_t local_len, dlen, label = 0, dots = 0;
	const char *dom;

	if (len < EMAIL_MIN || len > EMAIL_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '@') {
			if (at != NULL)
				return false;
			at = s + i;
		}
	}
	if (at == NULL)
		return false;
	local_len = (size_t)(at - s);
	if (local_len == 0)
		return false;
	for (size_t i = 0; i < local_len; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch <= 0x20 || ch == 0x7F)
			return false;
	}
	dom = at + 1;
	dlen = len - local_len - 1;
	if (dlen == 0)
		return false;
	for (size_t i = 0; i <= dlen; i++) {
		if (i == dlen || dom[i] == '.') {
			/* label is dom[i - label .. i) */
			if (label == 0 || label > EMAIL_LABEL_MAX || dom[i - label] == '-' || dom[i - 1] == '-')
				return false;
			if (i < dlen)
				dots++;
			label = 0;
			continue;
		}
		if (!is_alnum(dom[i]) && dom[i] != '-')
			return false;
		label++;
	}
	return dots >= 1;
}

/* Optional leading '+', then digits and the separators " .-/()", 6 to 15 digits. */
static bool phone_valid(const char *s, size_t len)
{
	size_t digits = 0, i = 0;

	if (len == 0 || len > PHONE_MAX)
		return false;
	if (s[0] == '+')
		i = 1;
	for (; i < len; i++) {
		char ch = s[i];

		if (is_digit(ch))
			digits++;
		else if (ch != ' ' && ch != '.' && ch != '-' && ch != '/' && ch != '(' && ch != ')')
			return false;
	}
	return digits >= PHONE_DIGITS_MIN && digits <= PHONE_DIGITS_MAX;
}

/* 3 to 10 of [A-Za-z0-9 -], at least one digit. */
static bool postal_valid(const char *s, size_t len)
{
	bool digit = false;

	if (len < POSTAL_MIN || len > POSTAL_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (is_digit(s[i]))
			digit = true;
		else if (!is_alnum(s[i]) && s[i] != ' ' && s[i] != '-')
			return false;
	}
	return digit;
}

/* Checks one present, non-null value; the detail names f, never the value. */
static cf_rc check_value(const cf_field *f, json_t *v, cf_err *err)
{
	const char *s;
	size_t len;

	switch (f->type) {
	case CF_FT_INTEGER: {
		json_int_t n;

		if (!json_is_integer(v))
			return cf_err_set(err, CF_EINVAL, CF_P_WRONG_TYPE, "field '%s' must be an integer", f->name);
		n = json_integer_value(v);
		if (f->has_min && n < f->min)
			return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "field '%s' is below its minimum %lld",
					  f->name, (long long)f->min);
		if (f->has_max && n > f->max)
			return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "field '%s' is above its maximum %lld",
					  f->name, (long long)f->max);
		return CF_OK;
	}
	case CF_FT_BOOLEAN:
		if (!json_is_boolean(v))
			return cf_err_set(err, CF_EINVAL, CF_P_WRONG_TYPE, "field '%s' must be true or false", f->name);
		return CF_OK;
	default:
		break;
	}

	/* Every other type is a JSON string. */
	if (!json_is_string(v))
		return cf_err_set(err, CF_EINVAL, CF_P_WRONG_TYPE, "field '%s' must be a string", f->name);
	s = json_string_value(v);
	len = json_string_length(v);
	if (strlen(s) != len)
		return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "field '%s' contains a NUL byte", f->name);
	if (len > CF_MAX_STRING_LEN)
		return cf_err_set(err, CF_EINVAL, CF_P_TOO_LONG, "field '%s' is longer than %d bytes", f->name,
				  CF_MAX_STRING_LEN);
	if (f->max_length > 0 && cf_schema_utf8_chars(s, len) > f->max_length)
		return cf_err_set(err, CF_EINVAL, CF_P_TOO_LONG, "field '%s' is longer than its max_length %zu",
				  f->name, f->max_length);

	switch (f->type) {
	case CF_FT_DATE:
		if (!cf_schema_date_valid(s, len))
			return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE,
					  "field '%s' must be a calendar date YYYY-MM-DD", f->name);
		break;
	case CF_FT_ENUM: {
		bool found = false;

		for (size_t i = 0; i < f->n_values && !found; i++)
			found = strcmp(f->values[i], s) == 0;
		if (!found)
			return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "field '%s' is not one of its values",
					  f->name);
		break;
	}
	case CF_FT_EMAIL:
		if (!email_valid(s, len))
			return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "field '%s' is not a valid email address",
					  f->name);
		break;
	case CF_FT_PHONE:
		if (!phone_valid(s, len))
			return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE,
					  "field '%s' is not a valid phone number (optional +, 6 to 15 digits)",
					  f->name);
		break;
	case CF_FT_POSTAL_CODE:
		if (!postal_valid(s, len))
			return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE,
					  "field '%s' is not a valid postal code (3 to 10 letters, digits, spaces "
					  "or dashes, with a digit)",
					  f->name);
		break;
	case CF_FT_NATIONAL_ID:
		if (!cf_nid_be_valid(s))
			return cf_err_set(err, CF_EINVAL, CF_P_INVALID_NATIONAL_ID,
					  "field '%s' is not a valid Belgian national register number", f->name);
		break;
	default:
		break;
	}
	if (f->has_re && !cf_schema_pattern_match(&f->re, s, len))
		return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "field '%s' does not match its pattern",
				  f->name);
	return CF_OK;
}

/*
 * Fails with CF_EINVAL on the first problem: unknown keys first (in object
 * order), then declared fields in name order, so the answer is stable.
 */
cf_rc cf_collection_validate(const cf_collection *c, json_t *fields, bool partial, cf_err *err)
{
	const char *key;
	size_t key_len;
	json_t *v;
	cf_rc rc;

	if (!json_is_object(fields))
		return cf_err_set(err, CF_EINVAL, CF_P_WRONG_TYPE, "the record's fields must be a JSON object");
	/* Unknown keys first, so that nothing undeclared is ever looked at further. */
	json_object_keylen_foreach(fields, key, key_len, v) {
		if (strlen(key) != key_len || !cf_name_valid(key))
			return cf_err_set(err, CF_EINVAL, CF_P_UNKNOWN_KEY,
					  "a field name is not declared in collection '%s'", c->name);
		if (cf_collection_field_index(c, key) < 0)
			return cf_err_set(err, CF_EINVAL, CF_P_UNKNOWN_KEY,
					  "field '%s' is not declared in collection '%s'", key, c->name);
	}
	for (size_t i = 0; i < c->n_fields; i++) {
		const cf_field *f = &c->fields[i];

		v = json_object_get(fields, f->name);
		if (v == NULL) {
			if (!partial && f->required)
				return cf_err_set(err, CF_EINVAL, CF_P_MISSING_KEY, "field '%s' is required", f->name);
			continue;
		}
		if (json_is_null(v))
			return cf_err_set(err, CF_EINVAL, CF_P_WRONG_TYPE, "field '%s' must not be null", f->name);
		rc = check_value(f, v, err);
		if (rc != CF_OK)
			return rc;
	}
	return CF_OK;
}
