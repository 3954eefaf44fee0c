/*
 * test_routes.c - HTTP routing without a socket: cf_http_dispatch on calls
 * that are answered before the vault is touched (unknown paths, 405 with
 * its Allow list, malformed paths, body and content-type checks, strict
 * body parsing, the OpenAPI document), the route table's shape, and the
 * RFC 9457 problem text.
 *
 * Every call here has a NULL vault: a case that reached the vault would
 * crash, so each one must be refused (or answered) by the routing layer
 * itself. Never add a case that needs a vault to this file.
 */
#include "common/cf.h"
#include "http/http_int.h"
#include "common/json.h"
#include "http/http.h"

#include <setjmp.h>
#include <cmocka.h>

/* ---- helpers ---------------------------------------------------------- */

/* A call as the server would build it, with a NULL vault. */
static void call_init(cf_http_call *c, const char *method, const char *url)
{
	memset(c, 0, sizeof(*c));
	c->vault = NULL;
	c->method = method;
	c->url = url;
	c->trace_id = "0af7651916cd43dd8448eb211c80319c";
	c->ip = "192.0.2.1";
	/* garbage that dispatch must overwrite */
	c->err.rc = CF_EINTERNAL;
	c->err.problem = CF_P_SEALED;
	memcpy(c->err.detail, "stale", 6);
}

static void expect_not_found(const char *method, const char *url)
{
	cf_http_call c;

	call_init(&c, method, url);
	cf_http_dispatch(&c);
	if (c.err.rc != CF_ENOTFOUND || c.err.problem != CF_P_NOT_FOUND)
		fail_msg("%s %.80s: rc %d problem %d, expected not-found", method, url, (int)c.err.rc,
			 (int)c.err.problem);
	assert_string_equal(c.err.detail, "no such route");
	assert_string_equal(c.allow, "");
	assert_null(c.route);
	assert_null(c.answer);
	assert_null(c.raw);
}

static void expect_405(const char *method, const char *url, const char *allow)
{
	cf_http_call c;
	char detail[64];

	call_init(&c, method, url);
	cf_http_dispatch(&c);
	if (c.err.problem != CF_P_METHOD_NOT_ALLOWED)
		fail_msg("%s %.80s: problem %d, expected method-not-allowed", method, url, (int)c.err.problem);
	assert_int_equal(c.err.rc, CF_EINVAL);
	assert_string_equal(c.allow, allow);
	assert_int_equal(cf_snprintf(detail, sizeof(detail), "%s is not allowed here", method), CF_OK);
	assert_string_equal(c.err.detail, detail);
	assert_null(c.answer);
}

/* An unseal call: no R_UNSEALED flag, so the body checks come before any vault use. */
static void unseal_call(cf_http_call *c, const char *body, const char *ctype)
{
	call_init(c, "POST", "/v1/sys/unseal");
	c->body = body;
	c->body_len = body != NULL ? strlen(body) : 0;
	c->content_type = ctype;
}

static void expect_unseal_refused(const char *body, const char *ctype, cf_problem p)
{
	cf_http_call c;

	unseal_call(&c, body, ctype);
	cf_http_dispatch(&c);
	if (c.err.problem != p)
		fail_msg("unseal body %.60s (%s): problem %d, expected %d", body ? body : "(none)",
			 ctype ? ctype : "(none)", (int)c.err.problem, (int)p);
	assert_int_equal(c.err.rc, CF_EINVAL);
	assert_string_equal(c.route, "/v1/sys/unseal");
	assert_string_equal(c.allow, "");
	assert_null(c.answer);
}

/* ---- not found -------------------------------------------------------- */

static void test_unknown_paths(void **state)
{
	static const char *urls[] = {
		"/",
		"",
		"v1/sys/health",
		"/v1",
		"/v1/",
		"/v2/sys/health",
		"/V1/sys/health",
		"/v1/sys/Health",
		"/v1/nope",
		"/v1/sys/health/extra",
		"/v1/sys",
		"/v1/orgs/x/unknown",
		"/v1/orgs/x/users/bob/extra",
		"/v1/orgs/x/collections/c/records",
		"/v1/sys/health?x=1",
		"/v1/openapi.yaml",
		"/v1/sys/health%2F",
	};
	cf_http_call c;

	for (size_t i = 0; i < CF_ARRAY_LEN(urls); i++) {
		/* GET is the one method every existing read route has */
		if (strcmp(urls[i], "/v1/orgs/x/collections/c/records") == 0) {
			/* this path exists for POST only: GET is a 405 */
			expect_405("GET", urls[i], "POST");
			continue;
		}
		expect_not_found("GET", urls[i]);
		expect_not_found("DELETE", urls[i]);
	}
	/* the error is reset even when a previous dispatch left one */
	call_init(&c, "GET", "/v1/nope");
	cf_http_dispatch(&c);
	assert_int_equal(c.err.problem, CF_P_NOT_FOUND);
}

static void test_malformed_paths(void **state)
{
	char url[3000];

	/* trailing slash */
	expect_not_found("GET", "/v1/sys/health/");
	expect_not_found("GET", "/v1/orgs/");
	expect_not_found("DELETE", "/v1/orgs/x/users/"); /* not a 405 either */
	expect_not_found("GET", "/v1/orgs/x/users/bob/");

	/* empty segments */
	expect_not_found("GET", "//");
	expect_not_found("GET", "///");
	expect_not_found("GET", "//v1/orgs");
	expect_not_found("GET", "/v1//orgs");
	expect_not_found("GET", "/v1/orgs//users");
	expect_not_found("DELETE", "/v1/orgs//users"); /* an empty parameter is no match at all */
	expect_not_found("GET", "/v1/orgs/x/users//");
	expect_not_found("PATCH", "/v1/orgs//collections//records/");

	/* too many segments: 12 is the most a path may have, 13 is refused outright */
	expect_not_found("GET", "/a/b/c/d/e/f/g/h/i/j/k/l");
	expect_not_found("GET", "/a/b/c/d/e/f/g/h/i/j/k/l/m");
	expect_not_found("DELETE", "/v1/orgs/x/collections/c/records/r/a/b/c/d/e/f");
	expect_not_found("DELETE", "/v1/orgs/x/collections/c/records/r/a/b/c/d/e/f/g");

	/* a parameter of 256 bytes matches (a 405 proves it without a vault), 257 does not */
	memcpy(url, "/v1/orgs/", 9);
	memset(url + 9, 'o', 256);
	memcpy(url + 9 + 256, "/users", 7);
	expect_405("DELETE", url, "POST, GET");
	memset(url + 9, 'o', 257);
	memcpy(url + 9 + 257, "/users", 7);
	expect_not_found("DELETE", url);
	expect_not_found("GET", url);
	/* in the last segment too */
	memcpy(url, "/v1/orgs/x/users/", 17);
	memset(url + 17, 'u', 256);
	url[17 + 256] = '\0';
	expect_405("PUT", url, "GET, PATCH, DELETE");
	memset(url + 17, 'u', 257);
	url[17 + 257] = '\0';
	expect_not_found("DELETE", url);

	/* a literal segment over 256 bytes, and a URL over the dispatcher's buffer */
	memcpy(url, "/v1/", 4);
	memset(url + 4, 's', 300);
	url[304] = '\0';
	expect_not_found("GET", url);
	memcpy(url, "/v1/orgs/x/users/", 17);
	memset(url + 17, 'u', 2100);
	url[17 + 2100] = '\0';
	expect_not_found("GET", url);
}

/* ---- method not allowed ------------------------------------------------ */

static void test_method_not_allowed(void **state)
{
	expect_405("DELETE", "/v1/orgs/x/users", "POST, GET");
	expect_405("PUT", "/v1/orgs", "POST, GET");
	expect_405("POST", "/v1/sys/health", "GET");
	expect_405("GET", "/v1/sys/unseal", "POST");
	expect_405("HEAD", "/v1/sys/health", "GET");
	expect_405("POST", "/v1/orgs/acme", "GET");
	expect_405("PUT", "/v1/orgs/acme/users/bob", "GET, PATCH, DELETE");
	expect_405("POST", "/v1/orgs/acme/domains/social", "PUT");
	expect_405("GET", "/v1/agreements/ag_1/revoke", "POST");
	expect_405("DELETE", "/v1/orgs/acme/commitment", "PUT, GET");
	expect_405("GET", "/v1/orgs/acme/api-keys/k1", "DELETE");
	expect_405("DELETE", "/v1/orgs/acme/api-keys", "POST, GET");
	expect_405("POST", "/v1/orgs/acme/collections/c", "PUT, GET");
	expect_405("POST", "/v1/orgs/acme/roles/clerk/grants", "PUT, GET");
	expect_405("PUT", "/v1/orgs/acme/collections/c/records/r", "GET, PATCH, DELETE");
	expect_405("GET", "/v1/orgs/acme/subjects/lookup", "POST");
	expect_405("GET", "/v1/auth/login", "POST");
	expect_405("POST", "/v1/me", "GET");
	/* methods are case-sensitive (RFC 9110) */
	expect_405("get", "/v1/sys/health", "GET");
	expect_405("", "/v1/sys/health", "GET");
}

/* ---- answered or refused before the vault ------------------------------- */

static void test_openapi_served(void **state)
{
	cf_http_call c;

	call_init(&c, "GET", "/v1/openapi.json");
	cf_http_dispatch(&c);
	assert_int_equal(c.err.rc, CF_OK);
	assert_int_equal(c.err.problem, CF_P_NONE);
	assert_string_equal(c.err.detail, "");
	assert_int_equal(c.status, 200);
	assert_string_equal(c.route, "/v1/openapi.json");
	assert_null(c.answer);
	assert_ptr_equal(c.raw, cf_openapi_json);
	assert_int_equal(c.raw_len, cf_openapi_json_len);
	assert_true(c.raw_len > 0);
	/* it is one JSON object */
	{
		json_t *doc = NULL;
		cf_err err = {0};
		assert_int_equal(cf_json_parse(c.raw, c.raw_len, 256, &doc, &err), CF_OK);
		assert_true(json_is_object(doc));
		assert_non_null(json_object_get(doc, "paths"));
		json_decref(doc);
	}
}

static void test_body_checks(void **state)
{
	cf_http_call c;
	char deep[100];

	/* no body */
	unseal_call(&c, NULL, "application/json");
	cf_http_dispatch(&c);
	assert_int_equal(c.err.problem, CF_P_MALFORMED_JSON);
	assert_string_equal(c.err.detail, "a JSON body is required");
	expect_unseal_refused("", "application/json", CF_P_MALFORMED_JSON);

	/* the content type */
	expect_unseal_refused("{}", NULL, CF_P_UNSUPPORTED_MEDIA_TYPE);
	expect_unseal_refused("{}", "text/plain", CF_P_UNSUPPORTED_MEDIA_TYPE);
	expect_unseal_refused("{}", "application/jsonx", CF_P_UNSUPPORTED_MEDIA_TYPE);
	expect_unseal_refused("{}", "application/json-patch+json", CF_P_UNSUPPORTED_MEDIA_TYPE);
	expect_unseal_refused("{}", "application/problem+json", CF_P_UNSUPPORTED_MEDIA_TYPE);
	expect_unseal_refused("{}", "", CF_P_UNSUPPORTED_MEDIA_TYPE);
	unseal_call(&c, "{}", "text/json");
	cf_http_dispatch(&c);
	assert_string_equal(c.err.detail, "Content-Type must be application/json");

	/* accepted content types reach the parser (then the strict unpack: missing key) */
	expect_unseal_refused("{}", "application/json", CF_P_MISSING_KEY);
	expect_unseal_refused("{}", "application/json; charset=utf-8", CF_P_MISSING_KEY);
	expect_unseal_refused("{}", "Application/JSON", CF_P_MISSING_KEY);

	/* strict parsing */
	expect_unseal_refused("{", "application/json", CF_P_MALFORMED_JSON);
	expect_unseal_refused("[]x", "application/json", CF_P_MALFORMED_JSON);
	expect_unseal_refused("{\"passphrase\":\"a\",\"passphrase\":\"b\"}", "application/json", CF_P_DUPLICATE_KEY);
	memset(deep, '[', 33);
	memset(deep + 33, ']', 33);
	deep[66] = '\0';
	expect_unseal_refused(deep, "application/json", CF_P_TOO_DEEP);
	/* and strict unpacking, in the handler before the vault */
	expect_unseal_refused("{\"passphrase\":\"p\",\"extra\":1}", "application/json", CF_P_UNKNOWN_KEY);
	expect_unseal_refused("{\"passphrase\":1}", "application/json", CF_P_WRONG_TYPE);
	expect_unseal_refused("[\"p\"]", "application/json", CF_P_WRONG_TYPE);
	expect_unseal_refused("{\"pass\":\"p\"}", "application/json", CF_P_MISSING_KEY);

	/* the body length given is the one parsed */
	unseal_call(&c, "{}garbage", "application/json");
	c.body_len = 2;
	cf_http_dispatch(&c);
	assert_int_equal(c.err.problem, CF_P_MISSING_KEY);

	/* X-Purpose: at most 64 characters, checked before the handler */
	{
		char purpose[80];
		memset(purpose, 'p', 65);
		purpose[65] = '\0';
		unseal_call(&c, "{}", "application/json");
		c.purpose = purpose;
		cf_http_dispatch(&c);
		assert_int_equal(c.err.rc, CF_EINVAL);
		assert_int_equal(c.err.problem, CF_P_INVALID_VALUE);
		assert_string_equal(c.err.detail, "X-Purpose: at most 64 characters");
		purpose[64] = '\0';
		unseal_call(&c, "{}", "application/json");
		c.purpose = purpose;
		cf_http_dispatch(&c);
		assert_int_equal(c.err.problem, CF_P_MISSING_KEY); /* 64 passes on */
	}
}

/* ---- the route table -------------------------------------------------- */

static bool is_param(const char *seg, size_t len)
{
	if (len < 3 || seg[0] != '{' || seg[len - 1] != '}')
		return false;
	for (size_t i = 1; i + 1 < len; i++)
		if (!((seg[i] >= 'a' && seg[i] <= 'z') || seg[i] == '_'))
			return false;
	return true;
}

static bool is_literal(const char *seg, size_t len)
{
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		char ch = seg[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' || ch == '_'))
			return false;
	}
	return true;
}

static const char *expected_routes[][2] = {
	{"GET", "/v1/sys/health"},
	{"POST", "/v1/sys/unseal"},
	{"GET", "/v1/openapi.json"},
	{"POST", "/v1/auth/login"},
	{"POST", "/v1/auth/logout"},
	{"GET", "/v1/me"},
	{"POST", "/v1/orgs"},
	{"GET", "/v1/orgs"},
	{"GET", "/v1/orgs/{org}"},
	{"POST", "/v1/orgs/{org}/users"},
	{"GET", "/v1/orgs/{org}/users"},
	{"GET", "/v1/orgs/{org}/users/{username}"},
	{"PATCH", "/v1/orgs/{org}/users/{username}"},
	{"POST", "/v1/orgs/{org}/api-keys"},
	{"GET", "/v1/orgs/{org}/api-keys"},
	{"DELETE", "/v1/orgs/{org}/api-keys/{id}"},
	{"GET", "/v1/orgs/{org}/collections"},
	{"PUT", "/v1/orgs/{org}/collections/{name}"},
	{"GET", "/v1/orgs/{org}/collections/{name}"},
	{"PUT", "/v1/orgs/{org}/roles/{role}/grants"},
	{"GET", "/v1/orgs/{org}/roles/{role}/grants"},
	{"POST", "/v1/orgs/{org}/collections/{c}/records"},
	{"GET", "/v1/orgs/{org}/collections/{c}/records/{id}"},
	{"PATCH", "/v1/orgs/{org}/collections/{c}/records/{id}"},
	{"DELETE", "/v1/orgs/{org}/collections/{c}/records/{id}"},
	{"POST", "/v1/orgs/{org}/subjects/lookup"},
};

static void test_routes_table(void **state)
{
	static const char *methods[] = {"GET", "POST", "PUT", "PATCH", "DELETE"};
	json_t *routes = cf_http_routes_json(), *r;
	size_t i, n;

	assert_non_null(routes);
	assert_true(json_is_array(routes));
	n = json_array_size(routes);
	assert_true(n >= CF_ARRAY_LEN(expected_routes));

	json_array_foreach(routes, i, r) {
		const char *m = NULL, *p = NULL;
		cf_err err = {0};
		char names[CF_HTTP_MAX_PARAMS + 1][64];
		int nparams = 0, nseg = 0;
		bool known = false;

		if (cf_json_unpack(&err, "route", r, "{s:s, s:s}", "method", &m, "path", &p) != CF_OK)
			fail_msg("route %zu: %s", i, err.detail);
		for (size_t k = 0; k < CF_ARRAY_LEN(methods); k++)
			known |= strcmp(m, methods[k]) == 0;
		if (!known)
			fail_msg("route %s %s: unknown method", m, p);
		if (strncmp(p, "/v1/", 4) != 0)
			fail_msg("route %s %s: does not start with /v1/", m, p);

		/* every segment a literal or exactly {name}; parameters named once; within the limits */
		for (const char *s = p + 1;;) {
			const char *slash = strchr(s, '/');
			size_t len = slash != NULL ? (size_t)(slash - s) : strlen(s);
			nseg++;
			if (is_param(s, len)) {
				if (nparams == CF_HTTP_MAX_PARAMS)
					fail_msg("route %s %s: too many parameters", m, p);
				assert_true(len - 2 < sizeof(names[0]));
				memcpy(names[nparams], s + 1, len - 2);
				names[nparams][len - 2] = '\0';
				for (int q = 0; q < nparams; q++)
					if (strcmp(names[q], names[nparams]) == 0)
						fail_msg("route %s %s: parameter {%s} twice", m, p, names[q]);
				nparams++;
			} else if (!is_literal(s, len)) {
				fail_msg("route %s %s: segment '%.*s' is neither a literal nor {name}", m, p, (int)len, s);
			}
			if (slash == NULL)
				break;
			s = slash + 1;
		}
		assert_true(nseg <= 12);

		/* no duplicate (method, path) */
		for (size_t j = 0; j < i; j++) {
			json_t *o = json_array_get(routes, j);
			if (strcmp(json_string_value(json_object_get(o, "method")), m) == 0 &&
			    strcmp(json_string_value(json_object_get(o, "path")), p) == 0)
				fail_msg("route %s %s listed twice", m, p);
		}
	}

	/* every route the API documents today is there (new ones may be added) */
	for (size_t k = 0; k < CF_ARRAY_LEN(expected_routes); k++) {
		bool found = false;
		json_array_foreach(routes, i, r) {
			if (strcmp(json_string_value(json_object_get(r, "method")), expected_routes[k][0]) == 0 &&
			    strcmp(json_string_value(json_object_get(r, "path")), expected_routes[k][1]) == 0)
				found = true;
		}
		if (!found)
			fail_msg("route %s %s is missing", expected_routes[k][0], expected_routes[k][1]);
	}
	assert_string_equal(json_string_value(json_object_get(json_array_get(routes, 0), "method")), "GET");
	assert_string_equal(json_string_value(json_object_get(json_array_get(routes, 0), "path")), "/v1/sys/health");
	json_decref(routes);
}

/*
 * Every template, made concrete, dispatches to itself: with a method no
 * route uses, the answer is a 405 listing exactly the methods declared for
 * that template, in table order (so no other template shadows it).
 */
static void test_routes_dispatch_agree(void **state)
{
	json_t *routes = cf_http_routes_json(), *r;
	size_t i;

	json_array_foreach(routes, i, r) {
		const char *p = json_string_value(json_object_get(r, "path"));
		char url[512], allow[64];
		size_t u = 0, a = 0;
		json_t *o;
		size_t j;
		cf_http_call c;

		/* {x} -> "v" */
		for (const char *s = p; *s != '\0'; s++) {
			if (*s == '{') {
				url[u++] = 'v';
				s = strchr(s, '}');
				assert_non_null(s);
				continue;
			}
			url[u++] = *s;
		}
		url[u] = '\0';
		allow[0] = '\0';
		json_array_foreach(routes, j, o) {
			const char *m = json_string_value(json_object_get(o, "method"));
			if (strcmp(json_string_value(json_object_get(o, "path")), p) != 0)
				continue;
			if (a > 0) {
				memcpy(allow + a, ", ", 2);
				a += 2;
			}
			memcpy(allow + a, m, strlen(m) + 1);
			a += strlen(m);
		}
		call_init(&c, "TRACE", url);
		cf_http_dispatch(&c);
		if (c.err.problem != CF_P_METHOD_NOT_ALLOWED || strcmp(c.allow, allow) != 0)
			fail_msg("%s: problem %d allow '%s', expected 405 with '%s'", url, (int)c.err.problem, c.allow,
				 allow);
	}
	json_decref(routes);
}

/* ---- problem text ----------------------------------------------------- */

static void check_problem(const char *text, cf_problem p, const char *detail, const char *trace_id)
{
	const cf_problem_info *pi = cf_problem_get(p);
	json_t *j = NULL, *st = NULL;
	const char *type = NULL, *title = NULL, *d = NULL, *t = NULL;
	char want_type[128];
	cf_err err = {0};

	assert_non_null(text);
	assert_int_equal(cf_json_parse(text, strlen(text), CF_JSON_MAX_DEPTH, &j, &err), CF_OK);
	/* exactly these members (strict unpack) */
	assert_int_equal(cf_json_unpack(&err, "problem", j, "{s:s, s:s, s:o, s:s, s:s}", "type", &type, "title", &title,
					"status", &st, "detail", &d, "trace_id", &t),
			 CF_OK);
	assert_int_equal(cf_snprintf(want_type, sizeof(want_type), "urn:coffre:problem:%s", pi->slug), CF_OK);
	assert_string_equal(type, want_type);
	assert_string_equal(title, pi->title);
	assert_true(json_is_integer(st));
	assert_int_equal(json_integer_value(st), pi->status);
	assert_string_equal(d, detail);
	assert_string_equal(t, trace_id);
	json_decref(j);
}

static void test_problem_text(void **state)
{
	cf_err e = {0};
	int status = 0;
	char *s;

	/* the whole text for one case */
	(void)cf_err_set(&e, CF_ENOTFOUND, CF_P_NOT_FOUND, "no such route");
	s = cf_http_problem_text(&e, "0af7651916cd43dd8448eb211c80319c", &status);
	assert_int_equal(status, 404);
	assert_string_equal(s, "{\"type\":\"urn:coffre:problem:not-found\",\"title\":\"Not found\",\"status\":404,"
			       "\"detail\":\"no such route\",\"trace_id\":\"0af7651916cd43dd8448eb211c80319c\"}");
	free(s);

	/* every problem: its slug, status and title from the table, the detail and the trace id */
	for (int p = 1; p < CF_P__COUNT; p++) {
		(void)cf_err_set(&e, CF_EINVAL, (cf_problem)p, "detail for %d", p);
		status = 0;
		s = cf_http_problem_text(&e, "trace", &status);
		assert_int_equal(status, cf_problem_get((cf_problem)p)->status);
		check_problem(s, (cf_problem)p, e.detail, "trace");
		free(s);
	}

	/* an empty detail: the title stands in */
	(void)cf_err_set(&e, CF_ESEALED, CF_P_SEALED, NULL);
	s = cf_http_problem_text(&e, "t", &status);
	assert_int_equal(status, 503);
	check_problem(s, CF_P_SEALED, "The vault is sealed", "t");
	free(s);

	/* no problem set: the rc's default; nothing at all: internal */
	e.rc = CF_EAUDIT;
	e.problem = CF_P_NONE;
	e.detail[0] = '\0';
	s = cf_http_problem_text(&e, "t", &status);
	assert_int_equal(status, 503);
	check_problem(s, CF_P_AUDIT_UNAVAILABLE, "The audit trail cannot be written; nothing was done", "t");
	free(s);
	e.rc = CF_EINTERNAL;
	s = cf_http_problem_text(&e, "t", &status);
	assert_int_equal(status, 500);
	check_problem(s, CF_P_INTERNAL, "Internal error", "t");
	free(s);
	e.problem = (cf_problem)(CF_P__COUNT + 3);
	s = cf_http_problem_text(&e, "t", &status);
	assert_int_equal(status, 500);
	check_problem(s, CF_P_INTERNAL, "Internal error", "t");
	free(s);

	/* a detail with quotes, backslashes and control characters stays valid JSON */
	(void)cf_err_set(&e, CF_EINVAL, CF_P_INVALID_VALUE, "a \"b\" \\ c\nd\te");
	s = cf_http_problem_text(&e, "t", &status);
	check_problem(s, CF_P_INVALID_VALUE, "a \"b\" \\ c\nd\te", "t");
	free(s);

	/* what dispatch produced goes through unchanged */
	{
		cf_http_call c;
		call_init(&c, "DELETE", "/v1/orgs/x/users");
		cf_http_dispatch(&c);
		s = cf_http_problem_text(&c.err, c.trace_id, &status);
		assert_int_equal(status, 405);
		check_problem(s, CF_P_METHOD_NOT_ALLOWED, "DELETE is not allowed here", c.trace_id);
		free(s);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unknown_paths),
		cmocka_unit_test(test_malformed_paths),
		cmocka_unit_test(test_method_not_allowed),
		cmocka_unit_test(test_openapi_served),
		cmocka_unit_test(test_body_checks),
		cmocka_unit_test(test_routes_table),
		cmocka_unit_test(test_routes_dispatch_agree),
		cmocka_unit_test(test_problem_text),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
