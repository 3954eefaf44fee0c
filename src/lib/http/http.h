/*
 * http.h - the HTTPS front of the daemon: libmicrohttpd over GnuTLS, TLS 1.2
 * and 1.3 only, no plain-HTTP listener. Routes are declared once in a table
 * (routes.c) that drives dispatch, 405 answers, `coffre routes` and the
 * OpenAPI coverage test. Bodies are capped before they are read, parsed
 * strictly, and answered with RFC 9457 problems on any error. The request
 * log carries route templates, statuses and trace ids, never a body, a
 * token or a path parameter.
 */
#ifndef CF_HTTP_H
#define CF_HTTP_H

#include "common/cf.h"
#include "config/config.h"
#include "vault/vault.h"
#include <jansson.h>

typedef struct cf_server cf_server;

/*
 * Starts serving on cfg->listen with the PEM certificate chain and key in
 * cert_pem/key_pem (copied). Returns once the listener is up.
 */
cf_rc cf_server_start(cf_vault *v, const cf_config *cfg, const char *cert_pem, const char *key_pem, cf_server **out,
		      cf_err *err) CF_MUST_CHECK;
/* Stops accepting, waits up to grace_seconds for requests in flight, then stops. */
void cf_server_stop(cf_server *s, long grace_seconds);

/* The route table as [{"method","path"}] (new reference). */
json_t *cf_http_routes_json(void);

/* The OpenAPI document served at /v1/openapi.json (generated at build time). */
extern const char cf_openapi_json[];
extern const size_t cf_openapi_json_len;

#endif
