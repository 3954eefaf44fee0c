/*
 * http_int.h - one HTTP call as the route handlers see it, independent of
 * libmicrohttpd (so dispatch can be unit-tested without a socket).
 */
#ifndef CF_HTTP_INT_H
#define CF_HTTP_INT_H

#include "common/cf.h"
#include "vault/vault.h"
#include <jansson.h>

#define CF_HTTP_MAX_PARAMS 4

typedef struct cf_http_call {
	/* in */
	cf_vault *vault;
	const char *method;
	const char *url;
	const char *body;
	size_t body_len;
	const char *content_type;
	const char *authorization;
	const char *purpose;
	const char *agreement; /* X-Agreement */
	const char *trace_id;
	const char *ip;
	/* query-string arguments (NULL when absent) */
	const char *(*query)(void *qctx, const char *name);
	void *qctx;
	/* out */
	const char *route;    /* matched route template, for the log */
	int status;           /* success status (200 when 0) */
	json_t *answer;       /* success body, or NULL */
	const char *raw;      /* or a raw body (static) */
	size_t raw_len;
	char *raw_owned;      /* or a raw body the server frees */
	const char *ctype;    /* content type of a raw body (default application/json) */
	cf_err err;           /* err.rc != CF_OK: answer with a problem */
	char allow[64];       /* Allow header for 405 */
} cf_http_call;

void cf_http_dispatch(cf_http_call *call);
/* The problem+json text for an error (malloc'd) and its HTTP status. */
char *cf_http_problem_text(const cf_err *e, const char *trace_id, int *status);

#endif
