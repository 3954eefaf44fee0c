/*
 * cli.h - the coffre command-line client: `coffre <noun> <verb> [options]`.
 * It is an HTTPS client of the daemon like any other, so every call it makes
 * is authenticated and audited by the daemon; it never opens the vault
 * files itself.
 *
 * It must never take a password or a national identifier from argv (they
 * would show in ps and in shell history), never print or log a password, a
 * token (except `login`, whose output is the token, and `apikey create`,
 * whose output is the new key, shown once) or a national identifier, never
 * talk anything but HTTPS with peer and host verification, and never echo
 * a value it refuses: error messages name the option or the rule.
 *
 * Exit codes (every client command):
 *   0  success
 *   1  the server refused the request (4xx)
 *   2  usage error (bad option or argument, bad configuration)
 *   3  connection or TLS failure (daemon unreachable, certificate refused,
 *      timeout)
 *   4  server error (5xx, including 503 sealed / audit-unavailable), or an
 *      answer the client cannot use (not JSON, larger than 16 MiB)
 *   5  local I/O error (a file could not be read, out of memory)
 *
 * Everything below the two entry points is plumbing shared by the
 * cli_*.c command groups and the unit test (tests/unit/test_cli_args.c).
 */
#ifndef CF_COFFRE_CLI_H
#define CF_COFFRE_CLI_H

#include "common/cf.h"

#include <jansson.h>

/* Runs a client command group. argv[0] is the noun (e.g. "org"); returns the process exit code, or -1 when the noun is not a client command. */
int cf_cli_dispatch(int argc, char **argv);
/* Prints the client command groups (one line each: noun, verbs, summary) to f, for the main --help. */
void cf_cli_usage(FILE *f);

/* ------------------------------------------------------------------ */
/* Plumbing shared by the command groups (not used by main.c).         */

enum {
	CF_CLI_EXIT_OK = 0,
	CF_CLI_EXIT_REFUSED = 1,
	CF_CLI_EXIT_USAGE = 2,
	CF_CLI_EXIT_CONNECT = 3,
	CF_CLI_EXIT_SERVER = 4,
	CF_CLI_EXIT_IO = 5,
};

#define CF_CLI_DEFAULT_ADDR "https://127.0.0.1:8443"
#define CF_CLI_MAX_RESPONSE ((size_t)16 * 1024 * 1024) /* answer body cap */
#define CF_CLI_MAX_JSON_INPUT ((size_t)1024 * 1024)    /* --fields, collection and grant files */
#define CF_CLI_MAX_SECRET 1024                        /* password / passphrase bytes */
#define CF_CLI_MAX_NATIONAL_ID 128                    /* national identifier bytes */
#define CF_CLI_MAX_CONF ((size_t)64 * 1024)           /* config file bytes */
#define CF_CLI_MAX_OPTS 8                             /* options per verb (common ones apart) */
#define CF_CLI_MAX_VALUES 32                          /* values of one repeatable option */
#define CF_CLI_MAX_POS 2                              /* positional arguments per verb */

enum {
	CF_CLI_OPT_REQUIRED = 1u,
	CF_CLI_OPT_MULTI = 2u,
	CF_CLI_OPT_STDIN_ONLY = 4u, /* the only value accepted is "-": secrets never come from argv */
};

typedef struct cf_cli_option {
	const char *name; /* without the leading "--" */
	const char *arg;  /* metavariable, or NULL for a flag */
	unsigned flags;   /* CF_CLI_OPT_* */
	const char *help;
} cf_cli_option;

struct cf_cli_ctx;
typedef int (*cf_cli_run_fn)(struct cf_cli_ctx *c);

enum { CF_CLI_VERB_AUTH = 1u /* sends the token */ };

typedef struct cf_cli_verb {
	const char *name;    /* NULL for a noun without verbs (login, health...) */
	const char *args;    /* positional synopsis ("ID"), or NULL */
	size_t npos;         /* exact number of positional arguments */
	const char *summary; /* one sentence for --help */
	const cf_cli_option *opts;
	size_t nopts;
	unsigned flags; /* CF_CLI_VERB_* */
	cf_cli_run_fn run;
} cf_cli_verb;

typedef struct cf_cli_group {
	const char *noun;
	const char *summary;
	const cf_cli_verb *verbs;
	size_t nverbs;
} cf_cli_group;

/* Parsed command line: pointers into argv, nothing owned. */
typedef struct cf_cli_args {
	const char *pos[CF_CLI_MAX_POS];
	size_t npos;
	const char *vals[CF_CLI_MAX_OPTS][CF_CLI_MAX_VALUES];
	size_t nvals[CF_CLI_MAX_OPTS];
	const char *addr, *token, *cacert, *config; /* common options */
	bool json, help;
} cf_cli_args;

/* Connection settings; owned strings, the token wiped when freed. */
typedef struct cf_cli_conf {
	char *addr;
	char *token;
	char *cacert;
} cf_cli_conf;

typedef struct cf_cli_ctx {
	const cf_cli_group *group;
	const cf_cli_verb *verb;
	cf_cli_args args;
	cf_cli_conf conn;
} cf_cli_ctx;

/* The command groups, one per cli_<group>.c file. */
extern const cf_cli_group cf_cli_group_login, cf_cli_group_logout, cf_cli_group_me, cf_cli_group_health,
	cf_cli_group_unseal, cf_cli_group_org, cf_cli_group_user, cf_cli_group_apikey, cf_cli_group_collection,
	cf_cli_group_grant, cf_cli_group_record, cf_cli_group_subject, cf_cli_group_audit,
	cf_cli_group_agreement, cf_cli_group_commitment, cf_cli_group_report, cf_cli_group_export,
	cf_cli_group_import, cf_cli_group_disposal;

/*
 * Parses argv (after noun and verb) against v's options and the common
 * ones. Fails with CF_EINVAL and a message naming the option or the rule,
 * never an argument's value. With --help anywhere (before "--"), only
 * out->help is guaranteed.
 */
cf_rc cf_cli_parse_args(const cf_cli_verb *v, int argc, char **argv, cf_cli_args *out, cf_err *err) CF_MUST_CHECK;
/* The last value of option `name` (declared by the verb), or NULL. */
const char *cf_cli_opt(const cf_cli_ctx *c, const char *name);
/* All values of a repeatable option; *vals points into c. */
size_t cf_cli_opt_all(const cf_cli_ctx *c, const char *name, const char *const **vals);

/* Parses config text (`key = value` lines, full-line `#` comments, keys addr, token, cacert) into conf, which the caller frees even on failure. origin names the file in messages. */
cf_rc cf_cli_conf_parse(const char *text, size_t len, const char *origin, cf_cli_conf *conf, cf_err *err) CF_MUST_CHECK;
/* Reads and parses a config file; a missing file is an error (CF_EIO) only when must_exist. */
cf_rc cf_cli_conf_load(const char *path, bool must_exist, cf_cli_conf *conf, cf_err *err) CF_MUST_CHECK;
/* Resolves each setting: option, else env COFFRE_*, else the config file, else the default; checks addr. Allocates into out (caller frees). */
cf_rc cf_cli_conf_resolve(const cf_cli_args *a, cf_cli_conf *out, cf_err *err) CF_MUST_CHECK;
/* Frees the strings, wiping the token first. */
void cf_cli_conf_free(cf_cli_conf *conf);

/* Checks that addr is an https:// URL without credentials, query or fragment. */
cf_rc cf_cli_check_addr(const char *addr, cf_err *err) CF_MUST_CHECK;
/*
 * Builds a request path from tmpl, replacing each "{}" by the next const
 * char * argument, URL-escaped. Refuses empty, "." and ".." segments.
 */
cf_rc cf_cli_path(char *out, size_t size, cf_err *err, const char *tmpl, ...) CF_MUST_CHECK;

/* Reads a whole file ("-" = stdin) of at most cap bytes into a NUL-terminated malloc'd buffer. */
cf_rc cf_cli_read_file(const char *path, size_t cap, char **out, size_t *len, cf_err *err) CF_MUST_CHECK;
/*
 * Reads one secret line: from path (the file must hold exactly one line),
 * else from stdin (echo off and a prompt on stderr when it is a terminal).
 * Trailing CR/LF removed; empty refused. *out is malloc'd: the caller wipes
 * and frees it with cf_cli_secret_free.
 */
cf_rc cf_cli_read_secret(const char *path, const char *what, size_t cap, char **out, cf_err *err) CF_MUST_CHECK;
/* Wipes and frees a buffer from cf_cli_read_secret / cf_cli_read_file (NULL is fine). */
void cf_cli_secret_free(char *s);
/*
 * Reads the national identifier named by --national-id-file F or
 * --national-id - (stdin; any other value is refused without echoing it),
 * surrounding blanks trimmed. Returns an exit code; on 0 the caller frees
 * *out with cf_cli_secret_free.
 */
int cf_cli_national_id(const cf_cli_ctx *c, char **out);
/* True when --national-id-file / --national-id make the identifier come from stdin. */
bool cf_cli_national_id_from_stdin(const cf_cli_ctx *c);
/*
 * Strictly parses JSON given as an argument: inline text, or @FILE
 * (@- = stdin); its top level must have type `want`. Messages name `what`
 * and the position, never the text. New reference in *out.
 */
cf_rc cf_cli_json_arg(const char *what, const char *arg, json_type want, json_t **out, cf_err *err) CF_MUST_CHECK;
/* Same for a file path ("-" = stdin). */
cf_rc cf_cli_json_file(const char *what, const char *path, json_type want, json_t **out, cf_err *err) CF_MUST_CHECK;

/* Exit code for an HTTP status, and for a local failure. */
int cf_cli_exit_for_status(long status);
int cf_cli_exit_for_rc(cf_rc rc);
/* The one-line message for a refused request: "coffre: <status> <slug>: <detail>", control characters replaced. */
void cf_cli_problem_line(long status, const char *body, size_t len, char *out, size_t size);

/* Prints "coffre: <message>" and the --help hint to stderr; returns CF_CLI_EXIT_USAGE. */
int cf_cli_usage_error(const cf_cli_ctx *c, const char *fmt, ...) CF_PRINTF(2, 3);
/* Prints err's detail to stderr; returns the exit code for err->rc. */
int cf_cli_fail(const cf_cli_ctx *c, const cf_err *err);

/* Writes s (len bytes) to f with control characters replaced: server text never drives the terminal. */
void cf_cli_put(FILE *f, const char *s, size_t len);
/* Prints a JSON object as indented "key: value" lines. */
void cf_cli_print_object(FILE *f, const json_t *obj, int indent);
/* A string member, or "" / "-" for absent or null; never NULL. */
const char *cf_cli_str(const json_t *obj, const char *key);

typedef void (*cf_cli_printer)(const cf_cli_ctx *c, const json_t *answer);
/* A printer for single-object answers: cf_cli_print_object on stdout. */
void cf_cli_print_plain(const cf_cli_ctx *c, const json_t *answer);

/* json_pack that explains its failure (a value not UTF-8: usage; memory: I/O). Returns an exit code; *out is a new reference on 0. */
int cf_cli_pack(const cf_cli_ctx *c, json_t **out, const char *fmt, ...);
/* The values of repeatable option opt as a JSON array of strings. Returns an exit code; *out is a new reference on 0. */
int cf_cli_string_array(const cf_cli_ctx *c, const char *opt, json_t **out);

/*
 * One request: method, path (already escaped), optional X-Purpose and body
 * (borrowed). On success (2xx) prints the answer (raw with --json, else
 * through print; print gets NULL for an empty answer) and returns 0;
 * otherwise prints the reason to stderr and returns the exit code.
 * The body's serialization is wiped after sending.
 */
int cf_cli_call(const cf_cli_ctx *c, const char *method, const char *path, const char *purpose, const json_t *body,
		cf_cli_printer print);

/* An answer: status, raw body (NUL-terminated) and its parse (NULL when empty or not JSON). */
typedef struct cf_cli_resp {
	long status;
	char *body;
	size_t len;
	size_t cap;
	bool too_big;
	json_t *json;
	char content_type[128];
	char trace_id[33];
} cf_cli_resp;

/*
 * Sends one request and collects the answer in *r (the caller frees it
 * with cf_cli_resp_free, even on failure). Returns 0 when an answer came
 * back, whatever its status; else prints the reason and returns 3, 4 or 5.
 */
int cf_cli_request(const cf_cli_ctx *c, const char *method, const char *path, const char *purpose,
		   const json_t *body, cf_cli_resp *r);
/* 0 for a 2xx answer; else prints the problem line (and, with --json, the raw problem to stdout) and returns the exit code. */
int cf_cli_report(const cf_cli_ctx *c, const cf_cli_resp *r);
/* Prints the answer's body as received, with a final newline (for --json). */
void cf_cli_print_body(const cf_cli_resp *r);
/* Wipes and frees the answer (it may hold a token or personal data). */
void cf_cli_resp_free(cf_cli_resp *r);

#endif
