/*
 * server.c - libmicrohttpd glue: TLS settings, connection limits and
 * timeouts, body accumulation under a cap, security headers, problem
 * answers, draining on stop. Dispatch and handlers are in routes.c.
 */
#include "common/cf.h"
#include "http/http.h"
#include "http/http_int.h"
#include "common/json.h"
#include "common/log.h"
#include "crypto/crypto.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <microhttpd.h>
#include <stdatomic.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

/* TLS 1.2 and 1.3 only, AEAD ciphers, forward secrecy, server's preference. */
#define TLS_PRIORITIES                                                                                               \
	"SECURE128:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:-CIPHER-ALL:+AES-128-GCM:+AES-256-GCM:+CHACHA20-POLY1305:"   \
	"-KX-ALL:+ECDHE-ECDSA:+ECDHE-RSA:-MAC-ALL:+AEAD:%SERVER_PRECEDENCE"

struct cf_server {
	struct MHD_Daemon *d;
	cf_vault *v;
	cf_config cfg;
	char *cert;
	char *key;
	atomic_long in_flight;
};

/* An oversized body up to this many times the cap is read and dropped so that the 413 reaches the client. */
#define DISCARD_FACTOR 4

typedef struct req {
	char *body;
	size_t len, cap;
	size_t discarded; /* bytes of an oversized body thrown away */
	bool too_big;
	int64_t start_us;
	bool answered;
} req;

static int64_t mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Answers may carry personal values: their bytes are zeroed once sent. */
static void wipe_free(void *p)
{
	if (p != NULL)
		cf_wipe_free(p, strlen(p));
}

static void add_common_headers(struct MHD_Response *resp, const char *trace_id, const char *ctype)
{
	MHD_add_response_header(resp, "Content-Type", ctype);
	MHD_add_response_header(resp, "Strict-Transport-Security", "max-age=63072000; includeSubDomains");
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'");
	MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
	if (trace_id != NULL)
		MHD_add_response_header(resp, "X-Request-Id", trace_id);
}

/* Sends `text` (taken, freed by MHD) with status and headers; extra header pairs may follow. */
static enum MHD_Result send_text(struct MHD_Connection *c, unsigned status, char *text, const char *ctype,
				 const char *trace_id, const char *allow)
{
	struct MHD_Response *resp;
	enum MHD_Result r;
	size_t len = text ? strlen(text) : 0;

	resp = MHD_create_response_from_buffer_with_free_callback(len, text ? text : (char *)"", text ? wipe_free : NULL);
	if (resp == NULL) {
		free(text);
		return MHD_NO;
	}
	add_common_headers(resp, trace_id, ctype);
	if (allow != NULL)
		MHD_add_response_header(resp, "Allow", allow);
	r = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	return r;
}

char *cf_http_problem_text(const cf_err *e, const char *trace_id, int *status)
{
	const cf_problem_info *pi = cf_problem_get(e->problem != CF_P_NONE ? e->problem : cf_problem_for_rc(e->rc));
	char type[128];
	json_t *j;
	char *s;

	(void)snprintf(type, sizeof(type), CF_PROBLEM_TYPE_PREFIX "%s", pi->slug);
	j = json_pack("{s:s, s:s, s:i, s:s, s:s?}", "type", type, "title", pi->title, "status", pi->status, "detail",
		      e->detail[0] ? e->detail : pi->title, "trace_id", trace_id);
	s = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	*status = pi->status;
	return s;
}

static enum MHD_Result send_problem(struct MHD_Connection *c, const cf_err *e, const char *trace_id,
				    const char *allow)
{
	int status = 500;
	char *text = cf_http_problem_text(e, trace_id, &status);
	return send_text(c, (unsigned)status, text, "application/problem+json", trace_id, allow);
}

/* W3C traceparent "00-<32 hex>-<16 hex>-<2 hex>"; returns true and the trace id when valid. */
static bool parse_traceparent(const char *tp, char out[33])
{
	bool nonzero = false;
	if (tp == NULL || strlen(tp) < 55 || tp[2] != '-' || tp[35] != '-' || tp[52] != '-')
		return false;
	/* version: two lowercase hex digits, "ff" is forbidden; version 00 is exactly 55 characters */
	if (!isxdigit((unsigned char)tp[0]) || !isxdigit((unsigned char)tp[1]) || isupper((unsigned char)tp[0]) ||
	    isupper((unsigned char)tp[1]) || (tp[0] == 'f' && tp[1] == 'f') ||
	    (tp[0] == '0' && tp[1] == '0' && strlen(tp) != 55))
		return false;
	for (int i = 36; i < 55; i++) {
		char ch = tp[i];
		if (i == 52)
			continue;
		if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f')))
			return false;
	}
	for (int i = 0; i < 32; i++) {
		char ch = tp[3 + i];
		if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f')))
			return false;
		if (ch != '0')
			nonzero = true;
		out[i] = ch;
	}
	out[32] = '\0';
	return nonzero;
}

static void new_trace_id(const cf_env *env, char out[33])
{
	static const char hex[] = "0123456789abcdef";
	uint8_t b[16];
	cf_random(env, b, sizeof(b));
	for (int i = 0; i < 16; i++) {
		out[2 * i] = hex[b[i] >> 4];
		out[2 * i + 1] = hex[b[i] & 15];
	}
	out[32] = '\0';
}

static void client_ip(struct MHD_Connection *c, char *out, size_t size)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci ? ci->client_addr : NULL;

	(void)snprintf(out, size, "unknown");
	if (sa == NULL)
		return;
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, out, (socklen_t)size);
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, out, (socklen_t)size);
}

static const char *query_arg(void *qctx, const char *name)
{
	return MHD_lookup_connection_value(qctx, MHD_GET_ARGUMENT_KIND, name);
}

/* Answers 413 at once: the rest of an oversized body is never read (MHD closes the connection). */
static enum MHD_Result answer_too_big(cf_server *s, struct MHD_Connection *c, const char *method)
{
	char trace[33];
	cf_err e;

	if (!parse_traceparent(MHD_lookup_connection_value(c, MHD_HEADER_KIND, "traceparent"), trace))
		new_trace_id(cf_env_system(), trace);
	cf_err_set(&e, CF_ETOOBIG, CF_P_BODY_TOO_LARGE, "the body is larger than %ld bytes", s->cfg.max_body_bytes);
	cf_log(CF_LOG_INFO, "%s - 413 trace=%s", method, trace);
	return send_problem(c, &e, trace, NULL);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
				  const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
	cf_server *s = cls;
	req *rq = *con_cls;
	cf_http_call call;
	char trace[33], ip[64];
	enum MHD_Result r;

	if (rq == NULL) {
		const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
		rq = calloc(1, sizeof(*rq));
		if (rq == NULL)
			return MHD_NO;
		rq->start_us = mono_us();
		*con_cls = rq;
		atomic_fetch_add(&s->in_flight, 1);
		if (cl != NULL) {
			char *end = NULL;
			unsigned long long n = strtoull(cl, &end, 10);
			if (end == cl || *end != '\0' || n > DISCARD_FACTOR * (unsigned long long)s->cfg.max_body_bytes) {
				/* absurd sizes: answer now, never read (the client may see a reset) */
				rq->too_big = true;
				rq->answered = true;
				return answer_too_big(s, c, method);
			}
			if (n > (unsigned long long)s->cfg.max_body_bytes) {
				const char *expect = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_EXPECT);
				rq->too_big = true;
				/* a client waiting for "100 Continue" has sent nothing yet: refuse before it does */
				if (expect != NULL && strcasecmp(expect, "100-continue") == 0) {
					rq->answered = true;
					return answer_too_big(s, c, method);
				}
				/* otherwise read and drop the body, then answer 413 cleanly */
			}
		}
		return MHD_YES;
	}
	if (*upload_size > 0) {
		size_t n = *upload_size;
		*upload_size = 0;
		if (rq->answered)
			return MHD_YES;
		if (rq->too_big) {
			/* Discarding the rest of an oversized chunked body, up to a bound. */
			rq->discarded += n;
			return rq->discarded > DISCARD_FACTOR * (size_t)s->cfg.max_body_bytes ? MHD_NO : MHD_YES;
		}
		if (rq->len + n > (size_t)s->cfg.max_body_bytes) {
			rq->too_big = true;
			rq->discarded = rq->len + n;
			return MHD_YES;
		}
		if (rq->len + n + 1 > rq->cap) {
			size_t ncap = rq->cap ? rq->cap : 4096;
			char *nb;
			while (ncap < rq->len + n + 1)
				ncap *= 2;
			nb = malloc(ncap);
			if (nb == NULL)
				return MHD_NO;
			if (rq->body != NULL) {
				memcpy(nb, rq->body, rq->len);
				cf_wipe_free(rq->body, rq->cap);
			}
			rq->body = nb;
			rq->cap = ncap;
		}
		memcpy(rq->body + rq->len, upload, n);
		rq->len += n;
		rq->body[rq->len] = '\0';
		return MHD_YES;
	}

	/* The whole request is in. */
	if (!parse_traceparent(MHD_lookup_connection_value(c, MHD_HEADER_KIND, "traceparent"), trace))
		new_trace_id(cf_env_system(), trace);
	client_ip(c, ip, sizeof(ip));
	if (rq->answered)
		return MHD_YES;
	if (rq->too_big) {
		rq->answered = true;
		return answer_too_big(s, c, method);
	}
	memset(&call, 0, sizeof(call));
	call.vault = s->v;
	call.method = method;
	call.url = url;
	call.body = rq->body;
	call.body_len = rq->len;
	call.content_type = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
	call.authorization = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	call.purpose = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Purpose");
	call.agreement = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Agreement");
	call.trace_id = trace;
	call.ip = ip;
	call.query = query_arg;
	call.qctx = c;
	cf_vault_request_begin(s->v);
	cf_http_dispatch(&call);
	cf_vault_request_end(s->v);
	if (call.err.rc != CF_OK) {
		r = send_problem(c, &call.err, trace, call.allow[0] ? call.allow : NULL);
	} else {
		char *text = NULL;
		const char *ctype = "application/json";
		if (call.raw_owned != NULL) {
			text = call.raw_owned;
			call.raw_owned = NULL;
			if (call.ctype != NULL)
				ctype = call.ctype;
		} else if (call.raw != NULL) {
			text = cf_strndup(call.raw, call.raw_len);
		} else if (call.answer != NULL) {
			text = json_dumps(call.answer, JSON_COMPACT);
			cf_json_wipe(call.answer);
		}
		if (call.status == 0)
			call.status = 200;
		r = send_text(c, (unsigned)call.status, text, ctype, trace, NULL);
	}
	{
		int st = call.status;
		if (call.err.rc != CF_OK)
			st = cf_problem_get(call.err.problem != CF_P_NONE ? call.err.problem : cf_problem_for_rc(call.err.rc))->status;
		cf_log(CF_LOG_INFO, "%s %s %d %lldus trace=%s", method, call.route ? call.route : "-", st,
		       (long long)(mono_us() - rq->start_us), trace);
	}
	if (call.answer != NULL)
		json_decref(call.answer);
	free(call.raw_owned);
	return r;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe)
{
	cf_server *s = cls;
	req *rq = *con_cls;
	if (rq == NULL)
		return;
	if (rq->body != NULL)
		cf_wipe_free(rq->body, rq->cap);
	free(rq);
	*con_cls = NULL;
	atomic_fetch_sub(&s->in_flight, 1);
}

static cf_rc parse_listen(const char *listen, struct sockaddr_storage *ss, socklen_t *len, cf_err *err)
{
	char host[128];
	const char *colon = strrchr(listen, ':');
	char *end = NULL;
	long port;
	size_t hl;

	memset(ss, 0, sizeof(*ss));
	if (colon == NULL)
		return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "listen: expected host:port");
	port = strtol(colon + 1, &end, 10);
	if (end == colon + 1 || *end != '\0' || port < 1 || port > 65535)
		return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "listen: port must be 1 to 65535");
	hl = (size_t)(colon - listen);
	if (hl == 0 || hl >= sizeof(host))
		return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "listen: bad host");
	memcpy(host, listen, hl);
	host[hl] = '\0';
	if (host[0] == '[' && hl > 2 && host[hl - 1] == ']') {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
		host[hl - 1] = '\0';
		if (inet_pton(AF_INET6, host + 1, &s6->sin6_addr) != 1)
			return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "listen: bad IPv6 address");
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
		if (inet_pton(AF_INET, host, &s4->sin_addr) != 1)
			return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "listen: bad IPv4 address");
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		*len = sizeof(*s4);
	}
	return CF_OK;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	msg[strcspn(msg, "\n")] = '\0';
	cf_log(CF_LOG_DEBUG, "http: %s", msg);
}

cf_rc cf_server_start(cf_vault *v, const cf_config *cfg, const char *cert_pem, const char *key_pem, cf_server **out,
		      cf_err *err)
{
	struct sockaddr_storage ss;
	socklen_t sl = 0;
	cf_server *s;
	cf_rc rc;
	/*
	 * One thread per connection. A request waits for its audit entry's
	 * sync; with a pool of threads each polling several connections, the
	 * other connections of a waiting thread would wait too (measured: with
	 * 32 connections on 32 pooled threads, two thirds of the threads sat
	 * idle while requests queued behind waiting ones). With a thread each,
	 * every connection's request reaches the writer's next batch, so
	 * batches grow with the load. connection_limit bounds the threads.
	 */
	unsigned flags = MHD_USE_TLS | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL |
			 MHD_USE_ITC | MHD_USE_ERROR_LOG;

	*out = NULL;
	rc = parse_listen(cfg->listen, &ss, &sl, err);
	if (rc != CF_OK)
		return rc;
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "out of memory");
	s->v = v;
	s->cfg = *cfg;
	s->cert = cf_strdup(cert_pem);
	s->key = cf_strdup(key_pem);
	atomic_init(&s->in_flight, 0);
	if (s->cert == NULL || s->key == NULL) {
		rc = cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "out of memory");
		goto fail;
	}
	s->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, s,
				MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
				MHD_OPTION_HTTPS_MEM_CERT, s->cert,
				MHD_OPTION_HTTPS_MEM_KEY, s->key,
				MHD_OPTION_HTTPS_PRIORITIES, TLS_PRIORITIES,
				MHD_OPTION_CONNECTION_LIMIT, (unsigned)cfg->connection_limit,
				MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)cfg->per_ip_connection_limit,
				MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)cfg->connection_timeout_seconds,
				MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024),
				MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned)1,
				MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
				MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
				MHD_OPTION_END);
	if (s->d == NULL) {
		rc = cf_err_set(err, CF_EIO, CF_P_INTERNAL, "cannot listen on %s (address in use, or bad certificate)",
				cfg->listen);
		goto fail;
	}
	*out = s;
	return CF_OK;
fail:
	if (s->key != NULL)
		cf_wipe_free(s->key, strlen(s->key));
	free(s->cert);
	free(s);
	return rc;
}

void cf_server_stop(cf_server *s, long grace_seconds)
{
	int64_t deadline;
	if (s == NULL)
		return;
	MHD_socket ls = MHD_quiesce_daemon(s->d);
	if (ls != MHD_INVALID_SOCKET)
		close(ls);
	deadline = mono_us() + (int64_t)grace_seconds * 1000000;
	while (atomic_load(&s->in_flight) > 0 && mono_us() < deadline) {
		struct timespec ts = {0, 20 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	MHD_stop_daemon(s->d);
	cf_wipe_free(s->key, strlen(s->key));
	free(s->cert);
	free(s);
}
