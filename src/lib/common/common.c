/*
 * common.c - result codes, problem table, error detail, small helpers.
 * The problem table is the single place where a library error becomes an
 * HTTP status and a stable problem type.
 */
#include "common/cf.h"

#include <time.h>

static const cf_problem_info problems[CF_P__COUNT] = {
	[CF_P_NONE] = {CF_P_NONE, 500, "internal", "Internal error"},
	[CF_P_MALFORMED_JSON] = {CF_P_MALFORMED_JSON, 400, "malformed-json", "The body is not valid JSON"},
	[CF_P_DUPLICATE_KEY] = {CF_P_DUPLICATE_KEY, 400, "duplicate-key", "A JSON object repeats a key"},
	[CF_P_UNKNOWN_KEY] = {CF_P_UNKNOWN_KEY, 400, "unknown-key", "The body has a key this route does not accept"},
	[CF_P_MISSING_KEY] = {CF_P_MISSING_KEY, 400, "missing-key", "A required key is missing"},
	[CF_P_WRONG_TYPE] = {CF_P_WRONG_TYPE, 400, "wrong-type", "A value has the wrong JSON type"},
	[CF_P_TOO_DEEP] = {CF_P_TOO_DEEP, 400, "too-deep", "The JSON body is nested too deeply"},
	[CF_P_TOO_LONG] = {CF_P_TOO_LONG, 400, "too-long", "A value is longer than allowed"},
	[CF_P_INVALID_VALUE] = {CF_P_INVALID_VALUE, 400, "invalid-value", "A value is not valid"},
	[CF_P_INVALID_NATIONAL_ID] = {CF_P_INVALID_NATIONAL_ID, 400, "invalid-national-id", "The national identifier is not valid"},
	[CF_P_BODY_TOO_LARGE] = {CF_P_BODY_TOO_LARGE, 413, "body-too-large", "The request body is larger than allowed"},
	[CF_P_UNSUPPORTED_MEDIA_TYPE] = {CF_P_UNSUPPORTED_MEDIA_TYPE, 415, "unsupported-media-type", "The body must be application/json"},
	[CF_P_NOT_FOUND] = {CF_P_NOT_FOUND, 404, "not-found", "Not found"},
	[CF_P_METHOD_NOT_ALLOWED] = {CF_P_METHOD_NOT_ALLOWED, 405, "method-not-allowed", "Method not allowed on this route"},
	[CF_P_UNAUTHENTICATED] = {CF_P_UNAUTHENTICATED, 401, "unauthenticated", "Authentication is required"},
	[CF_P_INVALID_CREDENTIALS] = {CF_P_INVALID_CREDENTIALS, 401, "invalid-credentials", "Invalid credentials"},
	[CF_P_TOKEN_EXPIRED] = {CF_P_TOKEN_EXPIRED, 401, "token-expired", "The token has expired"},
	[CF_P_ACCOUNT_LOCKED] = {CF_P_ACCOUNT_LOCKED, 429, "account-locked", "Too many failed logins; the account is locked for a while"},
	[CF_P_ACCOUNT_BLOCKED] = {CF_P_ACCOUNT_BLOCKED, 403, "account-blocked", "The account is blocked in this organization"},
	[CF_P_FORBIDDEN] = {CF_P_FORBIDDEN, 403, "forbidden", "Not allowed"},
	[CF_P_WRONG_ORGANIZATION] = {CF_P_WRONG_ORGANIZATION, 403, "wrong-organization", "The token acts for another organization"},
	[CF_P_PURPOSE_REQUIRED] = {CF_P_PURPOSE_REQUIRED, 400, "purpose-required", "X-Purpose is required on personal-data calls"},
	[CF_P_PURPOSE_NOT_ALLOWED] = {CF_P_PURPOSE_NOT_ALLOWED, 403, "purpose-not-allowed", "The purpose is not allowed here"},
	[CF_P_FIELD_NOT_GRANTED] = {CF_P_FIELD_NOT_GRANTED, 403, "field-not-granted", "A field is outside the caller's grant"},
	[CF_P_COMMITMENT_REQUIRED] = {CF_P_COMMITMENT_REQUIRED, 403, "commitment-required", "The organization's confidentiality commitment must be accepted first"},
	[CF_P_NO_AGREEMENT] = {CF_P_NO_AGREEMENT, 403, "agreement-required", "No valid sharing agreement covers this access"},
	[CF_P_AGREEMENT_CAP] = {CF_P_AGREEMENT_CAP, 403, "agreement-cap-reached", "The sharing agreement's volume cap is reached"},
	[CF_P_ERASED] = {CF_P_ERASED, 410, "erased", "The subject's data was erased"},
	[CF_P_LEGAL_HOLD] = {CF_P_LEGAL_HOLD, 409, "legal-hold", "A legal hold suspends erasure and disposal"},
	[CF_P_CONFLICT] = {CF_P_CONFLICT, 409, "conflict", "The object already exists"},
	[CF_P_VERSION_CONFLICT] = {CF_P_VERSION_CONFLICT, 409, "version-conflict", "The record changed since the version given"},
	[CF_P_AUDIT_UNAVAILABLE] = {CF_P_AUDIT_UNAVAILABLE, 503, "audit-unavailable", "The audit trail cannot be written; nothing was done"},
	[CF_P_SEALED] = {CF_P_SEALED, 503, "sealed", "The vault is sealed"},
	[CF_P_STORE_UNAVAILABLE] = {CF_P_STORE_UNAVAILABLE, 503, "store-unavailable", "The store is unavailable"},
	[CF_P_INTEGRITY] = {CF_P_INTEGRITY, 500, "integrity-error", "Stored data failed its integrity check"},
	[CF_P_INTERNAL] = {CF_P_INTERNAL, 500, "internal", "Internal error"},
};

const cf_problem_info *cf_problem_get(cf_problem p)
{
	if ((unsigned)p >= CF_P__COUNT || p == CF_P_NONE)
		return &problems[CF_P_INTERNAL];
	return &problems[p];
}

cf_problem cf_problem_for_rc(cf_rc rc)
{
	switch (rc) {
	case CF_EINVAL: return CF_P_INVALID_VALUE;
	case CF_ENOTFOUND: return CF_P_NOT_FOUND;
	case CF_EEXIST: return CF_P_CONFLICT;
	case CF_EDENIED: return CF_P_FORBIDDEN;
	case CF_EUNAUTH: return CF_P_UNAUTHENTICATED;
	case CF_EINTEGRITY: return CF_P_INTEGRITY;
	case CF_ESTORE: return CF_P_STORE_UNAVAILABLE;
	case CF_EAUDIT: return CF_P_AUDIT_UNAVAILABLE;
	case CF_ESEALED: return CF_P_SEALED;
	case CF_ELOCKED: return CF_P_ACCOUNT_LOCKED;
	case CF_ETOOBIG: return CF_P_BODY_TOO_LARGE;
	default: return CF_P_INTERNAL;
	}
}

cf_rc cf_err_set(cf_err *err, cf_rc rc, cf_problem p, const char *fmt, ...)
{
	if (err == NULL)
		return rc;
	err->rc = rc;
	err->problem = (p == CF_P_NONE) ? cf_problem_for_rc(rc) : p;
	err->detail[0] = '\0';
	if (fmt != NULL) {
		va_list ap;
		va_start(ap, fmt);
		(void)vsnprintf(err->detail, sizeof(err->detail), fmt, ap);
		va_end(ap);
	}
	return rc;
}

void cf_err_clear(cf_err *err)
{
	if (err == NULL)
		return;
	err->rc = CF_OK;
	err->problem = CF_P_NONE;
	err->detail[0] = '\0';
}

void cf_err_prefix(cf_err *err, const char *prefix)
{
	char tmp[sizeof(err->detail)];
	size_t pl, dl;

	if (err == NULL || prefix == NULL)
		return;
	memcpy(tmp, err->detail, sizeof(tmp));
	pl = strnlen(prefix, sizeof(tmp) - 3);
	memcpy(err->detail, prefix, pl);
	memcpy(err->detail + pl, ": ", 2);
	dl = strnlen(tmp, sizeof(tmp) - 1);
	if (dl > sizeof(err->detail) - pl - 3)
		dl = sizeof(err->detail) - pl - 3;
	memcpy(err->detail + pl + 2, tmp, dl);
	err->detail[pl + 2 + dl] = '\0';
}

void cf_bug(const char *file, int line, const char *msg)
{
	fprintf(stderr, "coffre: BUG at %s:%d: %s\n", file, line, msg);
	fflush(stderr);
	abort();
}

cf_rc cf_snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= size)
		return CF_ETOOBIG;
	return CF_OK;
}

char *cf_strdup(const char *s)
{
	return s == NULL ? NULL : cf_strndup(s, strlen(s));
}

char *cf_strndup(const char *s, size_t n)
{
	char *p;
	size_t sz;

	if (s == NULL || !cf_size_add(n, 1, &sz))
		return NULL;
	p = malloc(sz);
	if (p == NULL)
		return NULL;
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

void cf_time_format(int64_t us, char out[CF_TIME_STR_LEN])
{
	time_t secs = (time_t)(us / 1000000);
	long micros = (long)(us % 1000000);
	struct tm tm;

	if (micros < 0) {
		micros += 1000000;
		secs -= 1;
	}
	if (gmtime_r(&secs, &tm) == NULL) {
		(void)snprintf(out, CF_TIME_STR_LEN, "1970-01-01T00:00:00.000000Z");
		return;
	}
	{
		char buf[96];
		size_t n;
		(void)snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", tm.tm_year + 1900,
			       tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, micros);
		n = strnlen(buf, CF_TIME_STR_LEN - 1);
		memcpy(out, buf, n);
		out[n] = '\0';
	}
}
