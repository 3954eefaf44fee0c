/*
 * json.c - strict JSON parsing (see json.h). The depth pre-scan runs on the
 * raw bytes so that a hostile body never reaches the recursive parser with
 * more nesting than allowed.
 */
#include "common/cf.h"
#include "common/json.h"

/* Maximum nesting of the raw bytes, ignoring brackets inside strings. */
static int scan_depth(const char *buf, size_t len, int limit)
{
	int depth = 0;
	bool in_str = false, esc = false;

	for (size_t i = 0; i < len; i++) {
		char c = buf[i];
		if (in_str) {
			if (esc)
				esc = false;
			else if (c == '\\')
				esc = true;
			else if (c == '"')
				in_str = false;
			continue;
		}
		if (c == '"') {
			in_str = true;
		} else if (c == '{' || c == '[') {
			if (++depth > limit)
				return depth;
		} else if (c == '}' || c == ']') {
			depth--;
		}
	}
	return 0;
}

cf_rc cf_json_parse(const char *buf, size_t len, int max_depth, json_t **out, cf_err *err)
{
	json_error_t jerr;
	json_t *v;

	*out = NULL;
	if (buf == NULL || len == 0)
		return cf_err_set(err, CF_EINVAL, CF_P_MALFORMED_JSON, "the body is empty");
	if (scan_depth(buf, len, max_depth) > max_depth)
		return cf_err_set(err, CF_EINVAL, CF_P_TOO_DEEP, "JSON nesting deeper than %d", max_depth);
	v = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (v == NULL) {
		if (json_error_code(&jerr) == json_error_duplicate_key)
			return cf_err_set(err, CF_EINVAL, CF_P_DUPLICATE_KEY, "%s", jerr.text);
		if (json_error_code(&jerr) == json_error_out_of_memory)
			return cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "out of memory");
		return cf_err_set(err, CF_EINVAL, CF_P_MALFORMED_JSON, "%s at line %d column %d", jerr.text,
				  jerr.line, jerr.column);
	}
	*out = v;
	return CF_OK;
}

cf_rc cf_json_unpack(cf_err *err, const char *what, json_t *root, const char *fmt, ...)
{
	json_error_t jerr;
	va_list ap;
	int r;

	if (root == NULL)
		return cf_err_set(err, CF_EINVAL, CF_P_MALFORMED_JSON, "%s: no body", what);
	va_start(ap, fmt);
	r = json_vunpack_ex(root, &jerr, JSON_STRICT, fmt, ap);
	va_end(ap);
	if (r == 0)
		return CF_OK;
	switch (json_error_code(&jerr)) {
	case json_error_item_not_found:
		return cf_err_set(err, CF_EINVAL, CF_P_MISSING_KEY, "%s: %s", what, jerr.text);
	case json_error_wrong_type:
		return cf_err_set(err, CF_EINVAL, CF_P_WRONG_TYPE, "%s: %s", what, jerr.text);
	case json_error_end_of_input_expected:
		return cf_err_set(err, CF_EINVAL, CF_P_UNKNOWN_KEY, "%s: %s", what, jerr.text);
	case json_error_null_value:
		return cf_err_set(err, CF_EINVAL, CF_P_WRONG_TYPE, "%s: %s", what, jerr.text);
	default:
		return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "%s: %s", what, jerr.text);
	}
}

char *cf_json_dump_canonical(const json_t *v)
{
	return json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
}

void cf_json_wipe(json_t *v)
{
	const char *k;
	json_t *x;
	size_t i;

	if (v == NULL)
		return;
	if (json_is_object(v)) {
		json_object_foreach(v, k, x) cf_json_wipe(x);
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, x) cf_json_wipe(x);
	} else if (json_is_string(v)) {
		/* jansson owns a malloc'd copy; zeroing it in place is safe. */
		memset((void *)(uintptr_t)json_string_value(v), 0, json_string_length(v));
	}
}
