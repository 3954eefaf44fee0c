/*
 * cf.h - the vocabulary every coffre module shares: the one result type,
 * the error detail struct, the stable problem types that errors map to,
 * and the injected environment (clock, randomness).
 *
 * Every project .c file includes this header first, so that banned.h
 * is in force after the system headers it needs.
 * This header must never pull in a third-party library header.
 */
#ifndef CF_COMMON_CF_H
#define CF_COMMON_CF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CF_MUST_CHECK __attribute__((warn_unused_result))
#define CF_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define CF_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* One result type across the library. */
typedef enum cf_rc {
	CF_OK = 0,
	CF_ENOMEM,     /* allocation failed */
	CF_EINVAL,     /* bad input from a caller or a client */
	CF_ENOTFOUND,  /* no such object (or not visible to the caller) */
	CF_EEXIST,     /* object already exists */
	CF_EDENIED,    /* authenticated but not allowed */
	CF_EUNAUTH,    /* not authenticated */
	CF_EINTEGRITY, /* ciphertext or stored data failed verification */
	CF_ESTORE,     /* the store failed (I/O, locked, corrupt) */
	CF_EAUDIT,     /* the audit trail could not be written */
	CF_ESEALED,    /* the vault is sealed */
	CF_ELOCKED,    /* account temporarily locked */
	CF_ETOOBIG,    /* input over a configured limit */
	CF_ECRYPTO,    /* a cryptographic primitive failed */
	CF_EINTERNAL,  /* a bug or an impossible state */
	CF_EIO,        /* a file could not be read or written */
} cf_rc;

/*
 * Stable problem types (RFC 9457). Declared once in problem.c's table with
 * their HTTP status, slug and title; the slug is the stable `type`
 * ("urn:coffre:problem:<slug>").
 */
typedef enum cf_problem {
	CF_P_NONE = 0,
	CF_P_MALFORMED_JSON,
	CF_P_DUPLICATE_KEY,
	CF_P_UNKNOWN_KEY,
	CF_P_MISSING_KEY,
	CF_P_WRONG_TYPE,
	CF_P_TOO_DEEP,
	CF_P_TOO_LONG,
	CF_P_INVALID_VALUE,
	CF_P_INVALID_NATIONAL_ID,
	CF_P_BODY_TOO_LARGE,
	CF_P_UNSUPPORTED_MEDIA_TYPE,
	CF_P_NOT_FOUND,
	CF_P_METHOD_NOT_ALLOWED,
	CF_P_UNAUTHENTICATED,
	CF_P_INVALID_CREDENTIALS,
	CF_P_TOKEN_EXPIRED,
	CF_P_ACCOUNT_LOCKED,
	CF_P_ACCOUNT_BLOCKED,
	CF_P_FORBIDDEN,
	CF_P_WRONG_ORGANIZATION,
	CF_P_PURPOSE_REQUIRED,
	CF_P_PURPOSE_NOT_ALLOWED,
	CF_P_FIELD_NOT_GRANTED,
	CF_P_COMMITMENT_REQUIRED,
	CF_P_NO_AGREEMENT,
	CF_P_AGREEMENT_CAP,
	CF_P_ERASED,
	CF_P_LEGAL_HOLD,
	CF_P_CONFLICT,
	CF_P_VERSION_CONFLICT,
	CF_P_AUDIT_UNAVAILABLE,
	CF_P_SEALED,
	CF_P_STORE_UNAVAILABLE,
	CF_P_INTEGRITY,
	CF_P_INTERNAL,
	CF_P__COUNT
} cf_problem;

typedef struct cf_problem_info {
	cf_problem id;
	int status;        /* HTTP status */
	const char *slug;  /* stable, part of the `type` URI */
	const char *title; /* short human summary */
} cf_problem_info;

#define CF_PROBLEM_TYPE_PREFIX "urn:coffre:problem:"

/* The table row for a problem; never NULL (unknown ids map to internal). */
const cf_problem_info *cf_problem_get(cf_problem p);
/* The default problem for a result code when a function set none. */
cf_problem cf_problem_for_rc(cf_rc rc);

/* Error detail, optional everywhere: functions accept a NULL cf_err *. */
typedef struct cf_err {
	cf_rc rc;
	cf_problem problem;
	char detail[256]; /* safe to show a client: never a secret or a personal value */
} cf_err;

/* Records rc/problem/detail in err (if non-NULL) and returns rc. */
cf_rc cf_err_set(cf_err *err, cf_rc rc, cf_problem p, const char *fmt, ...) CF_PRINTF(4, 5);
void cf_err_clear(cf_err *err);
/* Prepends "prefix: " to err->detail (truncating the end if needed). */
void cf_err_prefix(cf_err *err, const char *prefix);

/* Programmer errors abort loudly with file and line. */
#define CF_BUG(msg) cf_bug(__FILE__, __LINE__, (msg))
#define CF_ASSERT(cond) ((cond) ? (void)0 : cf_bug(__FILE__, __LINE__, #cond))
_Noreturn void cf_bug(const char *file, int line, const char *msg);

/*
 * The injected world. Time is microseconds since the Unix epoch (UTC).
 * `random` must fill buf with cryptographically secure bytes in production;
 * tests may inject a deterministic source.
 */
typedef struct cf_env {
	int64_t (*now_us)(void *ctx);
	void *clock_ctx;
	void (*random)(void *ctx, void *buf, size_t len);
	void *rng_ctx;
} cf_env;

static inline int64_t cf_now_us(const cf_env *env) { return env->now_us(env->clock_ctx); }
static inline void cf_random(const cf_env *env, void *buf, size_t len) { env->random(env->rng_ctx, buf, len); }

/* The real clock (CLOCK_REALTIME) and the system CSPRNG (libsodium). */
const cf_env *cf_env_system(void);

/* Checked size arithmetic: false on overflow. */
static inline bool cf_size_add(size_t a, size_t b, size_t *out) { return !__builtin_add_overflow(a, b, out); }
static inline bool cf_size_mul(size_t a, size_t b, size_t *out) { return !__builtin_mul_overflow(a, b, out); }

/* Bounded formatting: CF_OK, or CF_ETOOBIG when truncated. */
cf_rc cf_snprintf(char *buf, size_t size, const char *fmt, ...) CF_PRINTF(3, 4) CF_MUST_CHECK;

/* strdup that aborts never: returns NULL on allocation failure. */
char *cf_strdup(const char *s);
char *cf_strndup(const char *s, size_t n);

/* RFC 3339 UTC timestamp with microseconds: "2026-11-22T19:46:20.123456Z". */
#define CF_TIME_STR_LEN 32
void cf_time_format(int64_t us, char out[CF_TIME_STR_LEN]);

#include "common/banned.h"

#endif
