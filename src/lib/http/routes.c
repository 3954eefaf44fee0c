/*
 * routes.c - the route table and its handlers. Each handler unpacks path
 * parameters and hands the parsed body to the vault, which authorizes,
 * audits and answers. Authentication, body parsing, content type and the
 * sealed state are checked here once, from the table's flags.
 */
#include "common/cf.h"
#include "http/http.h"
#include "http/http_int.h"
#include "common/json.h"
#include "common/log.h"
#include "report/report.h"

enum {
	R_AUTH = 1u << 0,     /* a bearer token or API key is required */
	R_BODY = 1u << 1,     /* a JSON body is required */
	R_UNSEALED = 1u << 2, /* refused with 503 while sealed */
	R_KEEP_TX = 1u << 3,  /* the operation reads in authentication's transaction (cf_request.keep_tx) */
};

typedef struct hctx {
	cf_http_call *call;
	cf_vault *v;
	cf_request *r;
	json_t *body;
	const char *p[CF_HTTP_MAX_PARAMS];
} hctx;

typedef cf_rc (*handler_fn)(hctx *h, json_t **answer, int *status, cf_err *err);

static const char *Q(hctx *h, const char *name);

typedef struct route {
	const char *method;
	const char *path;
	handler_fn fn;
	unsigned flags;
} route;

#define V h->v
#define R h->r
#define P(i) h->p[i]

static cf_rc h_health(hctx *h, json_t **a, int *st, cf_err *err)
{
	char detail[256];
	bool sealed = cf_vault_sealed(V);
	bool audit_ok = cf_vault_audit_healthy(V, detail, sizeof(detail));
	const char *status = sealed ? "sealed" : audit_ok ? "ok" : "audit-unavailable";

	*a = json_pack("{s:s, s:b, s:s, s:{s:s, s:s*}, s:{s:I}}", "status", status, "sealed", sealed, "version",
		       COFFRE_VERSION, "audit", "status", audit_ok ? "ok" : "unavailable", "detail", audit_ok ? NULL : detail,
		       "retention", "sweeps", (json_int_t)cf_vault_retention_sweeps(V));
	*st = (sealed || !audit_ok) ? 503 : 200;
	return CF_OK;
}

static cf_rc h_unseal(hctx *h, json_t **a, int *st, cf_err *err)
{
	const char *pass = NULL;
	cf_rc rc = cf_json_unpack(err, "unseal body", h->body, "{s:s}", "passphrase", &pass);
	if (rc != CF_OK)
		return rc;
	rc = cf_vault_unseal(V, pass, strlen(pass), err);
	if (rc == CF_OK)
		*a = json_pack("{s:b}", "sealed", false);
	return rc;
}

static cf_rc h_openapi(hctx *h, json_t **a, int *st, cf_err *err)
{
	h->call->raw = cf_openapi_json;
	h->call->raw_len = cf_openapi_json_len;
	return CF_OK;
}

static cf_rc h_login(hctx *h, json_t **a, int *st, cf_err *err) { return cf_vault_login(V, R, h->body, a, err); }

static cf_rc h_logout(hctx *h, json_t **a, int *st, cf_err *err)
{
	*st = 204;
	return cf_vault_logout(V, R, err);
}

static cf_rc h_me(hctx *h, json_t **a, int *st, cf_err *err)
{
	*a = cf_vault_me(R);
	return CF_OK;
}

static cf_rc h_org_create(hctx *h, json_t **a, int *st, cf_err *err)
{
	*st = 201;
	return cf_vault_org_create(V, R, h->body, a, err);
}
static cf_rc h_org_list(hctx *h, json_t **a, int *st, cf_err *err) { return cf_vault_org_list(V, R, a, err); }
static cf_rc h_org_get(hctx *h, json_t **a, int *st, cf_err *err) { return cf_vault_org_get(V, R, P(0), a, err); }
static cf_rc h_user_add(hctx *h, json_t **a, int *st, cf_err *err)
{
	*st = 201;
	return cf_vault_user_add(V, R, P(0), h->body, a, err);
}
static cf_rc h_user_list(hctx *h, json_t **a, int *st, cf_err *err)
{
	return cf_vault_user_list(V, R, P(0), Q(h, "domain"), Q(h, "subdivision"), Q(h, "q"), a, err);
}
static cf_rc h_user_get(hctx *h, json_t **a, int *st, cf_err *err)
{
	return cf_vault_user_get(V, R, P(0), P(1), a, err);
}
static cf_rc h_user_patch(hctx *h, json_t **a, int *st, cf_err *err)
{
	return cf_vault_user_patch(V, R, P(0), P(1), h->body, a, err);
}
static cf_rc h_apikey_create(hctx *h, json_t **a, int *st, cf_err *err)
{
	*st = 201;
	return cf_vault_apikey_create(V, R, P(0), h->body, a, err);
}
static cf_rc h_apikey_list(hctx *h, json_t **a, int *st, cf_err *err)
{
	return cf_vault_apikey_list(V, R, P(0), a, err);
}
static cf_rc h_apikey_revoke(hctx *h, json_t **a, int *st, cf_err *err)
{
	*st = 204;
	return cf_vault_apikey_revoke(V, R, P(0), P(1), err);
}
static cf_rc h_coll_put(hctx *h, json_t **a, int *st, cf_err *err)
{
	return cf_vault_collection_put(V, R, P(0), P(1), h->body, a, err);
}
static cf_rc h_coll_list(hctx *h, json_t **a, int *st, cf_err *err)
{
	return cf_vault_collection_list(V, R, P(0), a, err);
}
static cf_rc h_coll_get(hctx *h, json_t **a, int *st, cf_err *err)
{
	return cf_vault_collection_get(V, R, P(0), P(1), a, err);
}
static cf_rc h_grants_put(hctx *h, json_t **a, int *st, cf_err *err)
{
	return cf_vault_grants_put(V, R, P(0), P(1), h->body, a, err);
}
static cf_rc h_grants_get(hctx *h, json_t **a, int *st, cf_err *err)
{
	return cf_vault_grants_get(V, R, P(0), P(1), a, err);
}
static cf_rc h_record_create(hctx *h, json_t **a, int *st, cf_err *err)
{
	*st = 201;
	return cf_vault_record_create(V, R, P(0), P(1), h->body, a, err);
}
static cf_rc h_record_get(hctx *h, json_t **a, int *st, cf_err *err)
{
	return cf_vault_record_get(V, R, P(0), P(1), P(2), a, err);
}
static cf_rc h_record_patch(hctx *h, json_t **a, int *st, cf_err *err)
{
	return cf_vault_record_patch(V, R, P(0), P(1), P(2), h->body, a, err);
}
static cf_rc h_record_delete(hctx *h, json_t **a, int *st, cf_err *err)
{
	*st = 204;
	return cf_vault_record_delete(V, R, P(0), P(1), P(2), err);
}
static cf_rc h_lookup(hctx *h, json_t **a, int *st, cf_err *err)
{
	return cf_vault_subject_lookup(V, R, P(0), h->body, a, err);
}

static const char *Q(hctx *h, const char *name)
{
	return h->call->query ? h->call->query(h->call->qctx, name) : NULL;
}

static cf_rc text_answer(hctx *h, char *text)
{
	h->call->raw_owned = text;
	h->call->ctype = "text/plain; charset=utf-8";
	return CF_OK;
}

static cf_rc h_instance_user_add(hctx *h, json_t **a, int *st, cf_err *err)
{
	*st = 201;
	return cf_vault_instance_user_add(V, R, h->body, a, err);
}
static cf_rc h_audit_checkpoint(hctx *h, json_t **a, int *st, cf_err *err)
{
	char *note = NULL;
	cf_rc rc = cf_vault_audit_checkpoint(V, R, &note, err);
	return rc == CF_OK ? text_answer(h, note) : rc;
}
static cf_rc h_audit_key(hctx *h, json_t **a, int *st, cf_err *err)
{
	char *key = NULL, *line = NULL;
	cf_rc rc = cf_vault_audit_key(V, R, &key, err);
	if (rc != CF_OK)
		return rc;
	line = malloc(strlen(key) + 2);
	if (line == NULL) {
		free(key);
		return cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "out of memory");
	}
	memcpy(line, key, strlen(key));
	memcpy(line + strlen(key), "\n", 2);
	free(key);
	return text_answer(h, line);
}
static cf_rc h_audit_entries(hctx *h, json_t **a, int *st, cf_err *err)
{
	return cf_vault_audit_entries(V, R, Q(h, "start"), Q(h, "end"), a, err);
}
static cf_rc h_audit_inclusion(hctx *h, json_t **a, int *st, cf_err *err)
{
	return cf_vault_audit_inclusion(V, R, Q(h, "index"), Q(h, "tree_size"), a, err);
}
static cf_rc h_audit_consistency(hctx *h, json_t **a, int *st, cf_err *err)
{
	return cf_vault_audit_consistency(V, R, Q(h, "first"), Q(h, "second"), a, err);
}
static cf_rc h_access_log(hctx *h, json_t **a, int *st, cf_err *err)
{
	return cf_vault_subject_access_log(V, R, P(0), P(1), a, err);
}

static cf_rc h_agreement_create(hctx *h, json_t **a, int *st, cf_err *err)
{
	*st = 201;
	return cf_vault_agreement_create(V, R, h->body, a, err);
}
static cf_rc h_agreement_list(hctx *h, json_t **a, int *st, cf_err *err)
{
	return cf_vault_agreement_list(V, R, NULL, a, err);
}
static cf_rc h_org_agreements(hctx *h, json_t **a, int *st, cf_err *err)
{
	return cf_vault_agreement_list(V, R, P(0), a, err);
}
static cf_rc h_agreement_get(hctx *h, json_t **a, int *st, cf_err *err)
{
	return cf_vault_agreement_get(V, R, P(0), a, err);
}
static cf_rc h_agreement_suspend(hctx *h, json_t **a, int *st, cf_err *err)
{
	return cf_vault_agreement_set_status(V, R, P(0), "suspended", a, err);
}
static cf_rc h_agreement_resume(hctx *h, json_t **a, int *st, cf_err *err)
{
	return cf_vault_agreement_set_status(V, R, P(0), "active", a, err);
}
static cf_rc h_agreement_revoke(hctx *h, json_t **a, int *st, cf_err *err)
{
	return cf_vault_agreement_set_status(V, R, P(0), "revoked", a, err);
}
static cf_rc h_user_delete(hctx *h, json_t **a, int *st, cf_err *err)
{
	*st = 204;
	return cf_vault_user_delete(V, R, P(0), P(1), err);
}
static cf_rc h_domain_put(hctx *h, json_t **a, int *st, cf_err *err)
{
	return cf_vault_domain_put(V, R, P(0), P(1), h->body, a, err);
}
static cf_rc h_domain_list(hctx *h, json_t **a, int *st, cf_err *err)
{
	return cf_vault_domain_list(V, R, P(0), a, err);
}
static cf_rc h_domain_contact(hctx *h, json_t **a, int *st, cf_err *err)
{
	return cf_vault_domain_contact(V, R, P(0), P(1), h->body, a, err);
}
static cf_rc h_domain_technical(hctx *h, json_t **a, int *st, cf_err *err)
{
	return cf_vault_domain_technical(V, R, P(0), P(1), h->body, a, err);
}
static cf_rc h_subdivision_put(hctx *h, json_t **a, int *st, cf_err *err)
{
	return cf_vault_subdivision_put(V, R, P(0), P(1), P(2), h->body, a, err);
}
static cf_rc h_manager_put(hctx *h, json_t **a, int *st, cf_err *err)
{
	return cf_vault_manager_put(V, R, P(0), P(1), P(2), h->body, a, err);
}
static cf_rc h_manager_remove(hctx *h, json_t **a, int *st, cf_err *err)
{
	*st = 204;
	return cf_vault_manager_remove(V, R, P(0), P(1), P(2), err);
}
static cf_rc h_erasure_request(hctx *h, json_t **a, int *st, cf_err *err)
{
	*st = 201;
	return cf_vault_erasure_request(V, R, P(0), P(1), h->body, a, err);
}
static cf_rc h_erasure_list(hctx *h, json_t **a, int *st, cf_err *err)
{
	return cf_vault_erasure_list(V, R, P(0), P(1), a, err);
}
static cf_rc h_erasure_approve(hctx *h, json_t **a, int *st, cf_err *err)
{
	return cf_vault_erasure_decide(V, R, P(0), P(1), P(2), true, h->body, a, err);
}
static cf_rc h_erasure_refuse(hctx *h, json_t **a, int *st, cf_err *err)
{
	return cf_vault_erasure_decide(V, R, P(0), P(1), P(2), false, h->body, a, err);
}
static cf_rc h_hold_put(hctx *h, json_t **a, int *st, cf_err *err)
{
	*st = 201;
	return cf_vault_hold_put(V, R, P(0), P(1), h->body, a, err);
}
static cf_rc h_hold_release(hctx *h, json_t **a, int *st, cf_err *err)
{
	return cf_vault_hold_release(V, R, P(0), P(1), P(2), a, err);
}
static cf_rc h_subject_export(hctx *h, json_t **a, int *st, cf_err *err)
{
	const char *format = Q(h, "format");
	json_t *doc = NULL;
	char *text;
	cf_rc rc;

	/* the vault checks the format after the caller (a refusal says who may, not what is wrong) */
	rc = cf_vault_subject_export(V, R, P(0), P(1), format, &doc, err);
	if (rc != CF_OK || format == NULL || strcmp(format, "markdown") != 0) {
		*a = doc;
		return rc;
	}
	/* the readable document: the same content, rendered; both copies wiped */
	text = cf_report_export_markdown(doc);
	cf_json_wipe(doc);
	json_decref(doc);
	if (text == NULL)
		return cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "out of memory");
	h->call->raw_owned = text;
	h->call->ctype = "text/markdown; charset=utf-8";
	return CF_OK;
}
static cf_rc h_disposal_list(hctx *h, json_t **a, int *st, cf_err *err)
{
	return cf_vault_disposal_list(V, R, P(0), a, err);
}
static cf_rc h_dataset_export(hctx *h, json_t **a, int *st, cf_err *err)
{
	return cf_vault_dataset_export(V, R, P(0), Q(h, "pseudonymize"), a, err);
}
static cf_rc h_dataset_import(hctx *h, json_t **a, int *st, cf_err *err)
{
	*st = 201;
	return cf_vault_dataset_import(V, R, P(0), h->body, a, err);
}
static cf_rc h_report_processing(hctx *h, json_t **a, int *st, cf_err *err)
{
	return cf_vault_report_processing(V, R, Q(h, "org"), a, err);
}
static cf_rc h_report_flows(hctx *h, json_t **a, int *st, cf_err *err)
{
	return cf_vault_report_flows(V, R, Q(h, "from"), Q(h, "to"), a, err);
}
static cf_rc h_commitment_put(hctx *h, json_t **a, int *st, cf_err *err)
{
	return cf_vault_commitment_put(V, R, P(0), h->body, a, err);
}
static cf_rc h_commitment_get(hctx *h, json_t **a, int *st, cf_err *err)
{
	return cf_vault_commitment_get(V, R, P(0), a, err);
}
static cf_rc h_my_commitment(hctx *h, json_t **a, int *st, cf_err *err)
{
	return cf_vault_my_commitment(V, R, a, err);
}
static cf_rc h_commitment_accept(hctx *h, json_t **a, int *st, cf_err *err)
{
	return cf_vault_commitment_accept(V, R, h->body, a, err);
}

/* Every route the daemon serves; the OpenAPI document must list exactly these. */
static const route routes[] = {
	{"GET", "/v1/sys/health", h_health, 0},
	{"POST", "/v1/sys/unseal", h_unseal, R_BODY},
	{"GET", "/v1/openapi.json", h_openapi, 0},
	{"POST", "/v1/auth/login", h_login, R_BODY | R_UNSEALED},
	{"POST", "/v1/auth/logout", h_logout, R_AUTH | R_UNSEALED},
	{"GET", "/v1/me", h_me, R_AUTH | R_UNSEALED},
	{"POST", "/v1/orgs", h_org_create, R_AUTH | R_BODY | R_UNSEALED},
	{"GET", "/v1/orgs", h_org_list, R_AUTH | R_UNSEALED},
	{"GET", "/v1/orgs/{org}", h_org_get, R_AUTH | R_UNSEALED},
	{"POST", "/v1/orgs/{org}/users", h_user_add, R_AUTH | R_BODY | R_UNSEALED},
	{"GET", "/v1/orgs/{org}/users", h_user_list, R_AUTH | R_UNSEALED},
	{"GET", "/v1/orgs/{org}/users/{username}", h_user_get, R_AUTH | R_UNSEALED},
	{"PATCH", "/v1/orgs/{org}/users/{username}", h_user_patch, R_AUTH | R_BODY | R_UNSEALED},
	{"DELETE", "/v1/orgs/{org}/users/{username}", h_user_delete, R_AUTH | R_UNSEALED},
	{"GET", "/v1/orgs/{org}/domains", h_domain_list, R_AUTH | R_UNSEALED},
	{"PUT", "/v1/orgs/{org}/domains/{domain}", h_domain_put, R_AUTH | R_BODY | R_UNSEALED},
	{"PUT", "/v1/orgs/{org}/domains/{domain}/contact", h_domain_contact, R_AUTH | R_BODY | R_UNSEALED},
	{"PUT", "/v1/orgs/{org}/domains/{domain}/technical-user", h_domain_technical, R_AUTH | R_BODY | R_UNSEALED},
	{"PUT", "/v1/orgs/{org}/domains/{domain}/subdivisions/{subdivision}", h_subdivision_put,
	 R_AUTH | R_BODY | R_UNSEALED},
	{"PUT", "/v1/orgs/{org}/domains/{domain}/managers/{username}", h_manager_put, R_AUTH | R_BODY | R_UNSEALED},
	{"DELETE", "/v1/orgs/{org}/domains/{domain}/managers/{username}", h_manager_remove, R_AUTH | R_UNSEALED},
	{"POST", "/v1/orgs/{org}/api-keys", h_apikey_create, R_AUTH | R_BODY | R_UNSEALED},
	{"GET", "/v1/orgs/{org}/api-keys", h_apikey_list, R_AUTH | R_UNSEALED},
	{"DELETE", "/v1/orgs/{org}/api-keys/{id}", h_apikey_revoke, R_AUTH | R_UNSEALED},
	{"GET", "/v1/orgs/{org}/collections", h_coll_list, R_AUTH | R_UNSEALED},
	{"PUT", "/v1/orgs/{org}/collections/{name}", h_coll_put, R_AUTH | R_BODY | R_UNSEALED},
	{"GET", "/v1/orgs/{org}/collections/{name}", h_coll_get, R_AUTH | R_UNSEALED},
	{"PUT", "/v1/orgs/{org}/roles/{role}/grants", h_grants_put, R_AUTH | R_BODY | R_UNSEALED},
	{"GET", "/v1/orgs/{org}/roles/{role}/grants", h_grants_get, R_AUTH | R_UNSEALED},
	{"POST", "/v1/orgs/{org}/collections/{c}/records", h_record_create, R_AUTH | R_BODY | R_UNSEALED | R_KEEP_TX},
	{"GET", "/v1/orgs/{org}/collections/{c}/records/{id}", h_record_get, R_AUTH | R_UNSEALED | R_KEEP_TX},
	{"PATCH", "/v1/orgs/{org}/collections/{c}/records/{id}", h_record_patch, R_AUTH | R_BODY | R_UNSEALED | R_KEEP_TX},
	{"DELETE", "/v1/orgs/{org}/collections/{c}/records/{id}", h_record_delete, R_AUTH | R_UNSEALED | R_KEEP_TX},
	{"POST", "/v1/orgs/{org}/subjects/lookup", h_lookup, R_AUTH | R_BODY | R_UNSEALED | R_KEEP_TX},
	{"GET", "/v1/orgs/{org}/subjects/{pseudonym}/access-log", h_access_log, R_AUTH | R_UNSEALED},
	{"POST", "/v1/users", h_instance_user_add, R_AUTH | R_BODY | R_UNSEALED},
	{"GET", "/v1/audit/checkpoint", h_audit_checkpoint, R_AUTH | R_UNSEALED},
	{"GET", "/v1/audit/key", h_audit_key, R_AUTH | R_UNSEALED},
	{"GET", "/v1/audit/entries", h_audit_entries, R_AUTH | R_UNSEALED},
	{"GET", "/v1/audit/proofs/inclusion", h_audit_inclusion, R_AUTH | R_UNSEALED},
	{"GET", "/v1/audit/proofs/consistency", h_audit_consistency, R_AUTH | R_UNSEALED},
	{"POST", "/v1/agreements", h_agreement_create, R_AUTH | R_BODY | R_UNSEALED},
	{"GET", "/v1/agreements", h_agreement_list, R_AUTH | R_UNSEALED},
	{"GET", "/v1/agreements/{id}", h_agreement_get, R_AUTH | R_UNSEALED},
	{"POST", "/v1/agreements/{id}/suspend", h_agreement_suspend, R_AUTH | R_UNSEALED},
	{"POST", "/v1/agreements/{id}/resume", h_agreement_resume, R_AUTH | R_UNSEALED},
	{"POST", "/v1/agreements/{id}/revoke", h_agreement_revoke, R_AUTH | R_UNSEALED},
	{"GET", "/v1/orgs/{org}/agreements", h_org_agreements, R_AUTH | R_UNSEALED},
	{"GET", "/v1/reports/flows", h_report_flows, R_AUTH | R_UNSEALED},
	{"GET", "/v1/orgs/{org}/subjects/{pseudonym}/export", h_subject_export, R_AUTH | R_UNSEALED},
	{"GET", "/v1/orgs/{org}/disposals", h_disposal_list, R_AUTH | R_UNSEALED},
	{"GET", "/v1/orgs/{org}/dataset", h_dataset_export, R_AUTH | R_UNSEALED},
	{"POST", "/v1/orgs/{org}/dataset", h_dataset_import, R_AUTH | R_BODY | R_UNSEALED},
	{"GET", "/v1/reports/processing", h_report_processing, R_AUTH | R_UNSEALED},
	{"POST", "/v1/orgs/{org}/subjects/{pseudonym}/erasure-requests", h_erasure_request, R_AUTH | R_BODY | R_UNSEALED},
	{"GET", "/v1/orgs/{org}/subjects/{pseudonym}/erasure-requests", h_erasure_list, R_AUTH | R_UNSEALED},
	{"POST", "/v1/orgs/{org}/subjects/{pseudonym}/erasure-requests/{id}/approve", h_erasure_approve,
	 R_AUTH | R_BODY | R_UNSEALED},
	{"POST", "/v1/orgs/{org}/subjects/{pseudonym}/erasure-requests/{id}/refuse", h_erasure_refuse,
	 R_AUTH | R_BODY | R_UNSEALED},
	{"POST", "/v1/orgs/{org}/subjects/{pseudonym}/holds", h_hold_put, R_AUTH | R_BODY | R_UNSEALED},
	{"POST", "/v1/orgs/{org}/subjects/{pseudonym}/holds/{id}/release", h_hold_release, R_AUTH | R_UNSEALED},
	{"PUT", "/v1/orgs/{org}/commitment", h_commitment_put, R_AUTH | R_BODY | R_UNSEALED},
	{"GET", "/v1/orgs/{org}/commitment", h_commitment_get, R_AUTH | R_UNSEALED},
	{"GET", "/v1/me/commitment", h_my_commitment, R_AUTH | R_UNSEALED},
	{"POST", "/v1/me/commitment/accept", h_commitment_accept, R_AUTH | R_BODY | R_UNSEALED},
};

json_t *cf_http_routes_json(void)
{
	json_t *a = json_array();
	for (size_t i = 0; i < CF_ARRAY_LEN(routes); i++)
		json_array_append_new(a, json_pack("{s:s, s:s}", "method", routes[i].method, "path", routes[i].path));
	return a;
}

#define MAX_SEGMENTS 12
#define MAX_SEGMENT_LEN 256

/* Splits "/a/b/c" into segments pointing into buf. Returns the count, or -1 when malformed. */
static int split_path(const char *path, char *buf, size_t bufsize, const char *seg[MAX_SEGMENTS])
{
	size_t len = strlen(path);
	int n = 0;
	char *p;

	if (len == 0 || len >= bufsize || path[0] != '/')
		return -1;
	memcpy(buf, path, len + 1);
	p = buf + 1;
	while (*p != '\0') {
		char *slash = strchr(p, '/');
		if (n == MAX_SEGMENTS)
			return -1;
		seg[n++] = p;
		if (slash == NULL)
			break;
		*slash = '\0';
		p = slash + 1;
		if (*p == '\0')
			return -1; /* trailing slash */
	}
	return n;
}

/* Matches url segments against a route template; fills params. */
static bool match(const char *tmpl, const char *useg[], int un, const char *params[CF_HTTP_MAX_PARAMS])
{
	char tbuf[256];
	const char *tseg[MAX_SEGMENTS];
	int tn = split_path(tmpl, tbuf, sizeof(tbuf), tseg), np = 0;

	if (tn != un)
		return false;
	for (int i = 0; i < tn; i++) {
		if (tseg[i][0] == '{') {
			if (useg[i][0] == '\0' || strlen(useg[i]) > MAX_SEGMENT_LEN || np == CF_HTTP_MAX_PARAMS)
				return false;
			params[np++] = useg[i];
		} else if (strcmp(tseg[i], useg[i]) != 0) {
			return false;
		}
	}
	return true;
}

static bool bearer_of(const char *authz, const char **out)
{
	*out = NULL;
	if (authz == NULL)
		return false;
	if (strncasecmp(authz, "Bearer ", 7) != 0)
		return false;
	authz += 7;
	while (*authz == ' ')
		authz++;
	*out = authz;
	return true;
}

static bool is_json_type(const char *ct)
{
	size_t n = strlen("application/json");
	if (ct == NULL || strncasecmp(ct, "application/json", n) != 0)
		return false;
	return ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ';
}

void cf_http_dispatch(cf_http_call *call)
{
	char ubuf[2048];
	const char *useg[MAX_SEGMENTS];
	const route *rt = NULL;
	hctx h;
	cf_request req;
	json_t *answer = NULL;
	int un, status = 0;
	size_t allow_len = 0;
	cf_rc rc;

	memset(&h, 0, sizeof(h));
	memset(&req, 0, sizeof(req));
	cf_err_clear(&call->err);
	un = split_path(call->url, ubuf, sizeof(ubuf), useg);
	if (un < 0) {
		cf_err_set(&call->err, CF_ENOTFOUND, CF_P_NOT_FOUND, "no such route");
		return;
	}
	call->allow[0] = '\0';
	for (size_t i = 0; i < CF_ARRAY_LEN(routes); i++) {
		const char *params[CF_HTTP_MAX_PARAMS] = {0};
		if (!match(routes[i].path, useg, un, params))
			continue;
		if (strcmp(routes[i].method, call->method) == 0) {
			rt = &routes[i];
			memcpy(h.p, params, sizeof(params));
			break;
		}
		if (allow_len + strlen(routes[i].method) + 3 < sizeof(call->allow)) {
			if (allow_len > 0) {
				memcpy(call->allow + allow_len, ", ", 2);
				allow_len += 2;
			}
			memcpy(call->allow + allow_len, routes[i].method, strlen(routes[i].method) + 1);
			allow_len += strlen(routes[i].method);
		}
	}
	if (rt == NULL) {
		if (allow_len > 0)
			cf_err_set(&call->err, CF_EINVAL, CF_P_METHOD_NOT_ALLOWED, "%s is not allowed here", call->method);
		else
			cf_err_set(&call->err, CF_ENOTFOUND, CF_P_NOT_FOUND, "no such route");
		return;
	}
	call->allow[0] = '\0';
	call->route = rt->path;

	if ((rt->flags & R_UNSEALED) && cf_vault_sealed(call->vault)) {
		cf_err_set(&call->err, CF_ESEALED, CF_P_SEALED, "the vault is sealed; an operator must unseal it");
		return;
	}
	if (rt->flags & R_BODY) {
		if (call->body_len == 0) {
			cf_err_set(&call->err, CF_EINVAL, CF_P_MALFORMED_JSON, "a JSON body is required");
			return;
		}
		if (!is_json_type(call->content_type)) {
			cf_err_set(&call->err, CF_EINVAL, CF_P_UNSUPPORTED_MEDIA_TYPE, "Content-Type must be application/json");
			return;
		}
		if (cf_json_parse(call->body, call->body_len, CF_JSON_MAX_DEPTH, &h.body, &call->err) != CF_OK)
			return;
	}
	req.ip = call->ip;
	req.trace_id = call->trace_id;
	req.purpose = (call->purpose != NULL && call->purpose[0] != '\0') ? call->purpose : NULL;
	req.agreement = (call->agreement != NULL && call->agreement[0] != '\0') ? call->agreement : NULL;
	if (req.agreement != NULL && strlen(req.agreement) > 64) {
		cf_err_set(&call->err, CF_EINVAL, CF_P_INVALID_VALUE, "X-Agreement: at most 64 characters");
		goto out;
	}
	if (req.purpose != NULL && strlen(req.purpose) > 64) {
		cf_err_set(&call->err, CF_EINVAL, CF_P_INVALID_VALUE, "X-Purpose: at most 64 characters");
		goto out;
	}
	if (rt->flags & R_AUTH) {
		const char *bearer = NULL;
		if (!bearer_of(call->authorization, &bearer)) {
			cf_err_set(&call->err, CF_EUNAUTH, CF_P_UNAUTHENTICATED, "Authorization: Bearer <token> is required");
			goto out;
		}
		req.keep_tx = (rt->flags & R_KEEP_TX) != 0;
		if (cf_vault_authenticate(call->vault, &req, bearer, &call->err) != CF_OK)
			goto out;
	}
	h.call = call;
	h.v = call->vault;
	h.r = &req;
	rc = rt->fn(&h, &answer, &status, &call->err);
	if (rc != CF_OK) {
		if (call->err.rc == CF_OK)
			cf_err_set(&call->err, rc, CF_P_NONE, NULL);
		json_decref(answer);
		goto out;
	}
	cf_err_clear(&call->err);
	call->answer = answer;
	call->status = status ? status : 200;
out:
	json_decref(h.body);
	cf_request_release(&req);
}
