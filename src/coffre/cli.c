/*
 * cli.c - plumbing of the command-line client (see cli.h): argument
 * parsing, connection settings (options, environment, config file), secret
 * and JSON input, the HTTPS request through libcurl, error reporting,
 * human output and the dispatch to the command groups.
 *
 * It must never put a password, a token or a national identifier in a
 * message, never echo an argument it refuses, never follow a redirect and
 * never speak anything but HTTPS with peer and host verification. Buffers
 * that held a secret are wiped before they are freed; so is every jansson
 * allocation, through the allocator installed by cf_cli_dispatch.
 */
#include "common/cf.h"
#include "cli.h"

#include "common/json.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <strings.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#ifndef COFFRE_VERSION
#define COFFRE_VERSION "0.0.0"
#endif

#define CONNECT_TIMEOUT_S 10L
#define TOTAL_TIMEOUT_S 60L
#define MAX_LINE 4096        /* config file line */
#define MAX_SEGMENT 1024     /* one URL path segment before escaping */
#define MAX_HEADER_VALUE 256 /* X-Purpose */
#define ANSWER_DEPTH 64      /* answers wrap client input (itself <= 32 deep) */

/* ------------------------------------------------------------------ */
/* Messages and output                                                  */

/* Frees p after wiping all of its usable bytes: for anything that may have held a secret. */
static void wipe_free(void *p)
{
	if (p == NULL)
		return;
	explicit_bzero(p, malloc_usable_size(p));
	free(p);
}

void cf_cli_secret_free(char *s)
{
	wipe_free(s);
}

void cf_cli_put(FILE *f, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch < 0x20 || ch == 0x7f) {
			fprintf(f, "\\x%02x", ch);
		} else if (ch == 0xc2 && i + 1 < len && (unsigned char)s[i + 1] >= 0x80 &&
			   (unsigned char)s[i + 1] <= 0x9f) {
			/* a C1 control (U+0080..U+009F) some terminals obey */
			fprintf(f, "\\xc2\\x%02x", (unsigned char)s[i + 1]);
			i++;
		} else {
			fputc(ch, f);
		}
	}
}

/* "coffre: <message>" on stderr, the message passed through cf_cli_put. */
static void say(const char *fmt, ...) CF_PRINTF(1, 2);
static void say(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	fputs("coffre: ", stderr);
	cf_cli_put(stderr, buf, strnlen(buf, sizeof(buf)));
	fputc('\n', stderr);
}

/* The words of the command being run, for messages: "org create". */
static void command_name(const cf_cli_ctx *c, char *out, size_t size)
{
	if (c == NULL || c->group == NULL) {
		(void)snprintf(out, size, "<command>");
		return;
	}
	if (c->verb != NULL && c->verb->name != NULL)
		(void)snprintf(out, size, "%s %s", c->group->noun, c->verb->name);
	else
		(void)snprintf(out, size, "%s", c->group->noun);
}

int cf_cli_usage_error(const cf_cli_ctx *c, const char *fmt, ...)
{
	char buf[768], cmd[64];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	command_name(c, cmd, sizeof(cmd));
	say("%s", buf);
	say("try 'coffre %s --help'", cmd);
	return CF_CLI_EXIT_USAGE;
}

int cf_cli_exit_for_rc(cf_rc rc)
{
	switch (rc) {
	case CF_OK: return CF_CLI_EXIT_OK;
	case CF_EINVAL:
	case CF_ETOOBIG: return CF_CLI_EXIT_USAGE;
	default: return CF_CLI_EXIT_IO;
	}
}

int cf_cli_fail(const cf_cli_ctx *c, const cf_err *err)
{
	int ex = cf_cli_exit_for_rc(err->rc);

	if (ex == CF_CLI_EXIT_USAGE)
		return cf_cli_usage_error(c, "%s", err->detail);
	say("%s", err->detail[0] != '\0' ? err->detail : "local failure");
	return ex;
}

int cf_cli_exit_for_status(long status)
{
	if (status >= 200 && status <= 299)
		return CF_CLI_EXIT_OK;
	if (status >= 400 && status <= 499)
		return CF_CLI_EXIT_REFUSED;
	return CF_CLI_EXIT_SERVER; /* 5xx, and anything else a daemon never sends */
}

/* Replaces control characters in place (the line goes to a terminal). */
static void scrub(char *s)
{
	for (unsigned char *p = (unsigned char *)s; *p != '\0'; p++) {
		if (*p < 0x20 || *p == 0x7f)
			*p = '?';
		else if (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
			p[0] = '?';
			p[1] = '?';
			p++;
		}
	}
}

void cf_cli_problem_line(long status, const char *body, size_t len, char *out, size_t size)
{
	json_t *v = NULL;
	const char *type = NULL, *detail = NULL, *slug = NULL;
	size_t plen = strlen(CF_PROBLEM_TYPE_PREFIX);

	if (size == 0)
		return;
	if (body != NULL && len > 0 && cf_json_parse(body, len, ANSWER_DEPTH, &v, NULL) == CF_OK &&
	    json_is_object(v)) {
		type = json_string_value(json_object_get(v, "type"));
		detail = json_string_value(json_object_get(v, "detail"));
		if (detail == NULL || detail[0] == '\0')
			detail = json_string_value(json_object_get(v, "title"));
	}
	if (type != NULL && type[0] != '\0')
		slug = strncmp(type, CF_PROBLEM_TYPE_PREFIX, plen) == 0 && type[plen] != '\0' ? type + plen : type;
	if (slug != NULL && detail != NULL && detail[0] != '\0')
		(void)snprintf(out, size, "coffre: %ld %s: %s", status, slug, detail);
	else if (slug != NULL)
		(void)snprintf(out, size, "coffre: %ld %s", status, slug);
	else
		(void)snprintf(out, size, "coffre: %ld %s", status,
			       status >= 500	 ? "server error (no problem details)"
			       : status >= 400 ? "request refused (no problem details)"
					       : "unexpected answer");
	json_decref(v);
	scrub(out);
}

static void put_scalar(FILE *f, const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_STRING: cf_cli_put(f, json_string_value(v), json_string_length(v)); break;
	case JSON_INTEGER: fprintf(f, "%" JSON_INTEGER_FORMAT, json_integer_value(v)); break;
	case JSON_REAL: fprintf(f, "%.17g", json_real_value(v)); break;
	case JSON_TRUE: fputs("true", f); break;
	case JSON_FALSE: fputs("false", f); break;
	case JSON_NULL: fputs("-", f); break;
	default: {
		char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
		if (s != NULL)
			cf_cli_put(f, s, strlen(s));
		wipe_free(s);
		break;
	}
	}
}

static bool all_scalars(const json_t *arr)
{
	size_t i;
	json_t *e;

	json_array_foreach(arr, i, e) {
		if (json_is_object(e) || json_is_array(e))
			return false;
	}
	return true;
}

void cf_cli_print_object(FILE *f, const json_t *obj, int indent)
{
	const char *key;
	json_t *val;
	json_t *o = (json_t *)obj; /* jansson's iteration API is not const */

	if (!json_is_object(obj))
		return;
	json_object_foreach(o, key, val) {
		fprintf(f, "%*s", indent, "");
		cf_cli_put(f, key, strlen(key));
		if (json_is_object(val)) {
			if (json_object_size(val) == 0) {
				fputs(": {}\n", f);
			} else {
				fputs(":\n", f);
				cf_cli_print_object(f, val, indent + 2);
			}
		} else if (json_is_array(val) && all_scalars(val)) {
			size_t i;
			json_t *e;
			fputs(":", f);
			json_array_foreach(val, i, e) {
				fputs(i == 0 ? " " : ", ", f);
				put_scalar(f, e);
			}
			fputc('\n', f);
		} else if (json_is_array(val)) {
			size_t i;
			json_t *e;
			fputs(":\n", f);
			json_array_foreach(val, i, e) {
				fprintf(f, "%*s- ", indent + 2, "");
				put_scalar(f, e);
				fputc('\n', f);
			}
		} else {
			fputs(": ", f);
			put_scalar(f, val);
			fputc('\n', f);
		}
	}
}

const char *cf_cli_str(const json_t *obj, const char *key)
{
	const json_t *v = json_object_get(obj, key);

	if (v == NULL || json_is_null(v))
		return "-";
	return json_is_string(v) ? json_string_value(v) : "";
}

void cf_cli_print_plain(const cf_cli_ctx *c, const json_t *answer)
{
	cf_cli_print_object(stdout, answer, 0);
}

int cf_cli_pack(const cf_cli_ctx *c, json_t **out, const char *fmt, ...)
{
	json_error_t jerr;
	va_list ap;

	va_start(ap, fmt);
	*out = json_vpack_ex(&jerr, 0, fmt, ap);
	va_end(ap);
	if (*out != NULL)
		return CF_CLI_EXIT_OK;
	if (json_error_code(&jerr) == json_error_out_of_memory) {
		say("out of memory");
		return CF_CLI_EXIT_IO;
	}
	/* jansson's text may quote the value: name the rule only */
	return cf_cli_usage_error(c, "an argument is not valid UTF-8");
}

int cf_cli_string_array(const cf_cli_ctx *c, const char *opt, json_t **out)
{
	const char *const *vals;
	size_t n = cf_cli_opt_all(c, opt, &vals);
	json_t *arr = json_array();

	*out = NULL;
	if (arr == NULL) {
		say("out of memory");
		return CF_CLI_EXIT_IO;
	}
	for (size_t i = 0; i < n; i++) {
		json_t *s = json_string(vals[i]);
		if (s == NULL || json_array_append_new(arr, s) != 0) {
			json_decref(arr);
			return cf_cli_usage_error(c, "--%s: a value is not valid UTF-8", opt);
		}
	}
	*out = arr;
	return CF_CLI_EXIT_OK;
}

/* ------------------------------------------------------------------ */
/* Arguments                                                            */

enum { C_ADDR, C_TOKEN, C_CACERT, C_CONFIG, C_JSON, C_HELP, C__COUNT };

static const cf_cli_option common_opts[C__COUNT] = {
	[C_ADDR] = {"addr", "URL", 0, "daemon address (else COFFRE_ADDR, the config file, " CF_CLI_DEFAULT_ADDR ")"},
	[C_TOKEN] = {"token", "TOKEN", 0,
		     "session token or API key (else COFFRE_TOKEN or the config file, which are better: "
		     "arguments are visible to other local users)"},
	[C_CACERT] = {"cacert", "FILE", 0,
		      "CA certificate of the daemon (else COFFRE_CACERT, the config file, the system CAs)"},
	[C_CONFIG] = {"config", "FILE", 0,
		      "client config file (default $XDG_CONFIG_HOME/coffre/cli.conf or ~/.config/coffre/cli.conf)"},
	[C_JSON] = {"json", NULL, 0,
		    "print the daemon's raw JSON answer (for scripts; on a refusal, the problem document)"},
	[C_HELP] = {"help", NULL, 0, "print this help"},
};

/* True when s looks like an option name worth echoing (never a value typed by mistake). */
static bool printable_name(const char *s, size_t n)
{
	if (n == 0 || n > 32 || !islower((unsigned char)s[0]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!islower((unsigned char)s[i]) && !isdigit((unsigned char)s[i]) && s[i] != '-')
			return false;
	return true;
}

static const cf_cli_option *find_opt(const cf_cli_option *opts, size_t n, const char *name, size_t len, size_t *idx)
{
	for (size_t i = 0; i < n; i++) {
		if (strlen(opts[i].name) == len && memcmp(opts[i].name, name, len) == 0) {
			*idx = i;
			return &opts[i];
		}
	}
	return NULL;
}

cf_rc cf_cli_parse_args(const cf_cli_verb *v, int argc, char **argv, cf_cli_args *out, cf_err *err)
{
	bool only_pos = false;
	bool common_seen[C__COUNT] = {false};

	memset(out, 0, sizeof(*out));
	CF_ASSERT(v->nopts <= CF_CLI_MAX_OPTS && v->npos <= CF_CLI_MAX_POS);
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			break;
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			out->help = true;
			return CF_OK;
		}
	}
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i], *name, *eq, *value = NULL;
		const cf_cli_option *o;
		size_t nlen, idx = 0;
		bool common = false;

		if (!only_pos && strcmp(a, "--") == 0) {
			only_pos = true;
			continue;
		}
		if (only_pos || a[0] != '-' || a[1] == '\0') {
			if (out->npos >= v->npos) {
				if (v->npos == 0)
					return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE,
							  "unexpected argument: this command takes options only");
				return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "too many arguments (expected %s)",
						  v->args);
			}
			out->pos[out->npos++] = a;
			continue;
		}
		if (a[1] != '-')
			return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE,
					  "unknown option (options are long, like --org; -h is --help)");
		name = a + 2;
		eq = strchr(name, '=');
		nlen = eq != NULL ? (size_t)(eq - name) : strlen(name);
		o = find_opt(v->opts, v->nopts, name, nlen, &idx);
		if (o == NULL) {
			o = find_opt(common_opts, C__COUNT, name, nlen, &idx);
			common = true;
		}
		if (o == NULL) {
			if (printable_name(name, nlen))
				return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "unknown option --%.*s", (int)nlen,
						  name);
			return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "unknown option");
		}
		if (o->arg == NULL) {
			if (eq != NULL)
				return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "--%s takes no value", o->name);
		} else if (eq != NULL) {
			value = eq + 1;
		} else if (i + 1 < argc) {
			value = argv[++i];
		} else {
			return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "--%s needs a value (%s)", o->name, o->arg);
		}
		if ((o->flags & CF_CLI_OPT_STDIN_ONLY) && value != NULL && strcmp(value, "-") != 0)
			return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE,
					  "--%s only accepts '-' (read from stdin): such a value is never taken from the "
					  "command line, where ps and the shell history would show it",
					  o->name);
		if (common) {
			if (common_seen[idx])
				return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "--%s given twice", o->name);
			common_seen[idx] = true;
			switch (idx) {
			case C_ADDR: out->addr = value; break;
			case C_TOKEN: out->token = value; break;
			case C_CACERT: out->cacert = value; break;
			case C_CONFIG: out->config = value; break;
			case C_JSON: out->json = true; break;
			default: out->help = true; break;
			}
			continue;
		}
		if (o->arg == NULL)
			value = "";
		if (out->nvals[idx] > 0 && !(o->flags & CF_CLI_OPT_MULTI))
			return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "--%s given twice", o->name);
		if (out->nvals[idx] >= CF_CLI_MAX_VALUES)
			return cf_err_set(err, CF_EINVAL, CF_P_TOO_LONG, "--%s given more than %d times", o->name,
					  CF_CLI_MAX_VALUES);
		out->vals[idx][out->nvals[idx]++] = value;
	}
	if (out->npos < v->npos)
		return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "missing argument (expected %s)", v->args);
	for (size_t k = 0; k < v->nopts; k++)
		if ((v->opts[k].flags & CF_CLI_OPT_REQUIRED) && out->nvals[k] == 0)
			return cf_err_set(err, CF_EINVAL, CF_P_MISSING_KEY, "--%s is required", v->opts[k].name);
	return CF_OK;
}

static size_t opt_index(const cf_cli_verb *v, const char *name)
{
	for (size_t i = 0; i < v->nopts; i++)
		if (strcmp(v->opts[i].name, name) == 0)
			return i;
	CF_BUG("a command asked for an option it does not declare");
}

const char *cf_cli_opt(const cf_cli_ctx *c, const char *name)
{
	size_t i = opt_index(c->verb, name);

	return c->args.nvals[i] == 0 ? NULL : c->args.vals[i][c->args.nvals[i] - 1];
}

size_t cf_cli_opt_all(const cf_cli_ctx *c, const char *name, const char *const **vals)
{
	size_t i = opt_index(c->verb, name);

	*vals = c->args.vals[i];
	return c->args.nvals[i];
}

/* ------------------------------------------------------------------ */
/* Usage                                                                */

static void opt_synopsis(FILE *f, const cf_cli_option *o)
{
	bool req = (o->flags & CF_CLI_OPT_REQUIRED) != 0;

	fprintf(f, " %s--%s%s%s%s", req ? "" : "[", o->name, o->arg ? " " : "", o->arg ? o->arg : "", req ? "" : "]");
	if (o->flags & CF_CLI_OPT_MULTI)
		fprintf(f, " [--%s %s ...]", o->name, o->arg ? o->arg : "");
}

static void opt_line(FILE *f, const cf_cli_option *o)
{
	char left[64];

	(void)snprintf(left, sizeof(left), "--%s%s%s", o->name, o->arg ? " " : "", o->arg ? o->arg : "");
	fprintf(f, "  %-26s %s%s%s\n", left, o->help, (o->flags & CF_CLI_OPT_REQUIRED) ? " (required)" : "",
		(o->flags & CF_CLI_OPT_MULTI) ? " (repeatable)" : "");
}

static void verb_usage(FILE *f, const cf_cli_group *g, const cf_cli_verb *v)
{
	fprintf(f, "usage: coffre %s", g->noun);
	if (v->name != NULL)
		fprintf(f, " %s", v->name);
	if (v->args != NULL)
		fprintf(f, " %s", v->args);
	for (size_t i = 0; i < v->nopts; i++)
		opt_synopsis(f, &v->opts[i]);
	fprintf(f, " [common options]\n\n%s\n", v->summary);
	if (v->nopts > 0) {
		fputs("\nOptions:\n", f);
		for (size_t i = 0; i < v->nopts; i++)
			opt_line(f, &v->opts[i]);
	}
	fputs("\nCommon options:\n", f);
	for (size_t i = 0; i < C__COUNT; i++)
		opt_line(f, &common_opts[i]);
	fputs("\nExit codes: 0 success, 1 refused by the daemon (4xx), 2 usage error, 3 connection or TLS\n"
	      "failure, 4 daemon error (5xx) or unusable answer, 5 local I/O error.\n",
	      f);
}

static void group_usage(FILE *f, const cf_cli_group *g)
{
	fprintf(f, "usage: coffre %s <verb> [options]\n\n%s\n\nVerbs:\n", g->noun, g->summary);
	for (size_t i = 0; i < g->nverbs; i++) {
		char left[64];
		(void)snprintf(left, sizeof(left), "%s%s%s", g->verbs[i].name, g->verbs[i].args ? " " : "",
				  g->verbs[i].args ? g->verbs[i].args : "");
		fprintf(f, "  %-26s %s\n", left, g->verbs[i].summary);
	}
	fprintf(f, "\nRun 'coffre %s <verb> --help' for a verb's options.\n", g->noun);
}

static const cf_cli_group *const groups[] = {
	&cf_cli_group_login,  &cf_cli_group_logout, &cf_cli_group_me,	      &cf_cli_group_health,
	&cf_cli_group_unseal, &cf_cli_group_org,    &cf_cli_group_user,       &cf_cli_group_apikey,
	&cf_cli_group_collection, &cf_cli_group_grant, &cf_cli_group_record, &cf_cli_group_subject,
	&cf_cli_group_audit, &cf_cli_group_agreement, &cf_cli_group_commitment, &cf_cli_group_report,
	&cf_cli_group_export, &cf_cli_group_import, &cf_cli_group_disposal,
};

static bool verbless(const cf_cli_group *g)
{
	return g->nverbs == 1 && g->verbs[0].name == NULL;
}

void cf_cli_usage(FILE *f)
{
	for (size_t i = 0; i < CF_ARRAY_LEN(groups); i++) {
		const cf_cli_group *g = groups[i];
		char verbs[128] = "";
		size_t o = 0;

		for (size_t k = 0; k < g->nverbs && !verbless(g); k++) {
			size_t n = strlen(g->verbs[k].name);
			if (o + n + 2 >= sizeof(verbs))
				break;
			if (k > 0)
				verbs[o++] = '|';
			memcpy(verbs + o, g->verbs[k].name, n);
			o += n;
			verbs[o] = '\0';
		}
		fprintf(f, "  %-11s %-36s %s\n", g->noun, verbs, g->summary);
	}
}

/* ------------------------------------------------------------------ */
/* Local input                                                          */

/*
 * Reads fd to EOF into a malloc'd NUL-terminated buffer of at most cap
 * bytes; grown buffers are wiped, as the content may be secret.
 */
static cf_rc read_fd(int fd, const char *name, size_t cap, char **out, size_t *len, cf_err *err)
{
	char *buf = NULL;
	size_t size = 0, used = 0;
	cf_rc rc = CF_OK;

	*out = NULL;
	*len = 0;
	for (;;) {
		ssize_t n;
		if (used + 1 >= size) {
			size_t nsize;
			char *nbuf;
			if (size > cap) {
				rc = cf_err_set(err, CF_ETOOBIG, CF_P_TOO_LONG, "%s is larger than %zu bytes", name, cap);
				goto out;
			}
			nsize = size == 0 ? 4096 : size * 2;
			if (nsize > cap + 2)
				nsize = cap + 2; /* one byte past the cap tells "too large", one for the NUL */
			nbuf = malloc(nsize);
			if (nbuf == NULL) {
				rc = cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "out of memory reading %s", name);
				goto out;
			}
			if (buf != NULL)
				memcpy(nbuf, buf, used);
			wipe_free(buf);
			buf = nbuf;
			size = nsize;
		}
		n = read(fd, buf + used, size - used - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = cf_err_set(err, CF_EIO, CF_P_INTERNAL, "cannot read %s: %s", name, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		used += (size_t)n;
		if (used > cap) {
			rc = cf_err_set(err, CF_ETOOBIG, CF_P_TOO_LONG, "%s is larger than %zu bytes", name, cap);
			goto out;
		}
	}
	if (buf == NULL) {
		buf = malloc(1);
		if (buf == NULL) {
			rc = cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "out of memory reading %s", name);
			goto out;
		}
	}
	buf[used] = '\0';
	*out = buf;
	*len = used;
	buf = NULL;
out:
	wipe_free(buf);
	return rc;
}

cf_rc cf_cli_read_file(const char *path, size_t cap, char **out, size_t *len, cf_err *err)
{
	int fd;
	cf_rc rc;

	if (strcmp(path, "-") == 0)
		return read_fd(STDIN_FILENO, "stdin", cap, out, len, err);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		*out = NULL;
		*len = 0;
		return cf_err_set(err, CF_EIO, CF_P_INTERNAL, "cannot open %s: %s", path, strerror(errno));
	}
	rc = read_fd(fd, path, cap, out, len, err);
	close(fd);
	return rc;
}

/* Reads one line from stdin byte by byte (no stdio buffer keeps a copy), echo off on a terminal. */
static cf_rc read_stdin_line(const char *what, size_t cap, char **out, cf_err *err)
{
	struct termios old, quiet;
	bool tty = isatty(STDIN_FILENO) == 1, restore = false;
	char *buf = NULL;
	size_t used = 0;
	cf_rc rc = CF_OK;

	*out = NULL;
	buf = malloc(cap + 1);
	if (buf == NULL)
		return cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "out of memory");
	if (tty) {
		char prompt[64];
		(void)snprintf(prompt, sizeof(prompt), "%s: ", what);
		prompt[0] = (char)toupper((unsigned char)prompt[0]);
		fputs(prompt, stderr);
		fflush(stderr);
		if (tcgetattr(STDIN_FILENO, &old) == 0) {
			quiet = old;
			quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
			quiet.c_lflag |= ICANON;
			restore = tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) == 0;
		}
	}
	for (;;) {
		char ch;
		ssize_t n = read(STDIN_FILENO, &ch, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = cf_err_set(err, CF_EIO, CF_P_INTERNAL, "cannot read the %s from stdin: %s", what,
					strerror(errno));
			goto out;
		}
		if (n == 0 || ch == '\n')
			break;
		if (used >= cap) {
			rc = cf_err_set(err, CF_ETOOBIG, CF_P_TOO_LONG, "the %s is longer than %zu bytes", what, cap);
			goto out;
		}
		buf[used++] = ch;
	}
	if (used > 0 && buf[used - 1] == '\r')
		used--;
	buf[used] = '\0';
	if (used == 0) {
		rc = cf_err_set(err, CF_EINVAL, CF_P_MISSING_KEY, "no %s on stdin", what);
		goto out;
	}
	if (memchr(buf, '\0', used) != NULL) {
		rc = cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "the %s holds a NUL byte", what);
		goto out;
	}
	*out = buf;
	buf = NULL;
out:
	if (restore)
		(void)tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
	if (tty)
		fputc('\n', stderr);
	wipe_free(buf);
	return rc;
}

cf_rc cf_cli_read_secret(const char *path, const char *what, size_t cap, char **out, cf_err *err)
{
	char *buf = NULL;
	size_t len = 0;
	cf_rc rc;

	*out = NULL;
	if (path == NULL)
		return read_stdin_line(what, cap, out, err);
	rc = cf_cli_read_file(path, cap + 2, &buf, &len, err); /* +2: a final CR LF */
	if (rc != CF_OK)
		goto out;
	if (len > 0 && buf[len - 1] == '\n')
		len--;
	if (len > 0 && buf[len - 1] == '\r')
		len--;
	buf[len] = '\0';
	if (len == 0) {
		rc = cf_err_set(err, CF_EINVAL, CF_P_MISSING_KEY, "%s: no %s in the file", path, what);
		goto out;
	}
	if (len > cap) {
		rc = cf_err_set(err, CF_ETOOBIG, CF_P_TOO_LONG, "%s: the %s is longer than %zu bytes", path, what, cap);
		goto out;
	}
	if (memchr(buf, '\n', len) != NULL || memchr(buf, '\r', len) != NULL) {
		rc = cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "%s: the file must hold the %s on one line", path,
				what);
		goto out;
	}
	if (memchr(buf, '\0', len) != NULL) {
		rc = cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "%s: the %s holds a NUL byte", path, what);
		goto out;
	}
	*out = buf;
	buf = NULL;
out:
	wipe_free(buf);
	return rc;
}

bool cf_cli_national_id_from_stdin(const cf_cli_ctx *c)
{
	const char *file = cf_cli_opt(c, "national-id-file"), *dash = cf_cli_opt(c, "national-id");

	return (file != NULL && strcmp(file, "-") == 0) || dash != NULL;
}

int cf_cli_national_id(const cf_cli_ctx *c, char **out)
{
	const char *file = cf_cli_opt(c, "national-id-file"), *dash = cf_cli_opt(c, "national-id");
	char *id = NULL;
	size_t start = 0, end;
	cf_err err = {0};
	cf_rc rc;

	*out = NULL;
	if (file != NULL && dash != NULL)
		return cf_cli_usage_error(c, "give --national-id-file FILE or --national-id -, not both");
	if (file == NULL && dash == NULL)
		return cf_cli_usage_error(c, "the national identifier is required: --national-id-file FILE, or "
					     "--national-id - to read it from stdin");
	if (dash != NULL && strcmp(dash, "-") != 0) /* the parser refuses it already; kept as a second lock */
		return cf_cli_usage_error(c, "--national-id only accepts '-' (read it from stdin)");
	rc = cf_cli_read_secret(file, "national identifier", CF_CLI_MAX_NATIONAL_ID, &id, &err);
	if (rc != CF_OK)
		return cf_cli_fail(c, &err);
	end = strlen(id);
	while (start < end && isspace((unsigned char)id[start]))
		start++;
	while (end > start && isspace((unsigned char)id[end - 1]))
		end--;
	memmove(id, id + start, end - start);
	explicit_bzero(id + (end - start), strlen(id) - (end - start));
	if (end == start) {
		cf_cli_secret_free(id);
		return cf_cli_usage_error(c, "the national identifier is empty");
	}
	*out = id;
	return CF_CLI_EXIT_OK;
}

static const char *type_name(json_type t)
{
	switch (t) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "an array";
	default: return "a value";
	}
}

/* Strictly parses text; messages name what and the position, never the content (it may be personal data). */
static cf_rc parse_json_text(const char *what, const char *text, size_t len, json_type want, json_t **out,
			     cf_err *err)
{
	cf_err jerr = {0};
	json_t *v = NULL;

	*out = NULL;
	if (cf_json_parse(text, len, CF_JSON_MAX_DEPTH, &v, &jerr) != CF_OK) {
		const char *slug = cf_problem_get(jerr.problem)->slug;
		json_error_t je;
		json_t *probe;

		if (jerr.rc == CF_ENOMEM)
			return cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "out of memory parsing %s", what);
		if (jerr.problem != CF_P_MALFORMED_JSON || len == 0)
			return cf_err_set(err, CF_EINVAL, jerr.problem, "%s is not acceptable JSON (%s)", what, slug);
		probe = json_loadb(text, len, 0, &je); /* only for the position */
		json_decref(probe);
		return cf_err_set(err, CF_EINVAL, jerr.problem, "%s is not valid JSON (%s at line %d column %d)",
				  what, slug, je.line, je.column);
	}
	if (json_typeof(v) != want) {
		json_decref(v);
		return cf_err_set(err, CF_EINVAL, CF_P_WRONG_TYPE, "%s must be %s", what, type_name(want));
	}
	*out = v;
	return CF_OK;
}

cf_rc cf_cli_json_file(const char *what, const char *path, json_type want, json_t **out, cf_err *err)
{
	char *text = NULL;
	size_t len = 0;
	cf_rc rc;

	*out = NULL;
	rc = cf_cli_read_file(path, CF_CLI_MAX_JSON_INPUT, &text, &len, err);
	if (rc == CF_OK)
		rc = parse_json_text(what, text, len, want, out, err);
	wipe_free(text);
	return rc;
}

cf_rc cf_cli_json_arg(const char *what, const char *arg, json_type want, json_t **out, cf_err *err)
{
	size_t len;

	*out = NULL;
	if (arg[0] == '@')
		return cf_cli_json_file(what, arg + 1, want, out, err);
	len = strlen(arg);
	if (len > CF_CLI_MAX_JSON_INPUT)
		return cf_err_set(err, CF_ETOOBIG, CF_P_TOO_LONG, "%s is larger than %zu bytes", what,
				  CF_CLI_MAX_JSON_INPUT);
	return parse_json_text(what, arg, len, want, out, err);
}

/* ------------------------------------------------------------------ */
/* Connection settings                                                  */

void cf_cli_conf_free(cf_cli_conf *conf)
{
	wipe_free(conf->addr);
	wipe_free(conf->token);
	wipe_free(conf->cacert);
	conf->addr = conf->token = conf->cacert = NULL;
}

static size_t trim_span(const char *s, size_t len, size_t *start)
{
	size_t b = 0, e = len;

	while (b < e && isspace((unsigned char)s[b]))
		b++;
	while (e > b && isspace((unsigned char)s[e - 1]))
		e--;
	*start = b;
	return e - b;
}

/* Parses one `key = value` line (already trimmed, not a comment) into conf. */
static cf_rc conf_line(const char *line, size_t len, const char *origin, int lineno, cf_cli_conf *conf, cf_err *err)
{
	const char *eq = memchr(line, '=', len);
	size_t ks, kl, vs, vl;
	char **slot;

	if (eq == NULL)
		return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "%s:%d: expected key = value", origin, lineno);
	kl = trim_span(line, (size_t)(eq - line), &ks);
	vl = trim_span(eq + 1, len - (size_t)(eq - line) - 1, &vs);
	if (kl == 0)
		return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "%s:%d: expected key = value", origin, lineno);
	if (kl == 4 && memcmp(line + ks, "addr", 4) == 0)
		slot = &conf->addr;
	else if (kl == 5 && memcmp(line + ks, "token", 5) == 0)
		slot = &conf->token;
	else if (kl == 6 && memcmp(line + ks, "cacert", 6) == 0)
		slot = &conf->cacert;
	else if (kl <= 32 && strspn(line + ks, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.") >= kl)
		return cf_err_set(err, CF_EINVAL, CF_P_UNKNOWN_KEY,
				  "%s:%d: unknown key '%.*s' (known: addr, token, cacert)", origin, lineno, (int)kl,
				  line + ks);
	else
		return cf_err_set(err, CF_EINVAL, CF_P_UNKNOWN_KEY, "%s:%d: unknown key (known: addr, token, cacert)",
				  origin, lineno);
	if (vl == 0)
		return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "%s:%d: %.*s has no value", origin, lineno,
				  (int)kl, line + ks);
	if (*slot != NULL)
		return cf_err_set(err, CF_EINVAL, CF_P_DUPLICATE_KEY, "%s:%d: %.*s is set twice", origin, lineno,
				  (int)kl, line + ks);
	*slot = cf_strndup(eq + 1 + vs, vl);
	if (*slot == NULL)
		return cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "out of memory");
	return CF_OK;
}

cf_rc cf_cli_conf_parse(const char *text, size_t len, const char *origin, cf_cli_conf *conf, cf_err *err)
{
	size_t pos = 0;
	int lineno = 0;

	if (memchr(text, '\0', len) != NULL)
		return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "%s: holds a NUL byte", origin);
	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t ll = nl != NULL ? (size_t)(nl - (text + pos)) : len - pos, start, tl;
		cf_rc rc;

		lineno++;
		if (ll > MAX_LINE)
			return cf_err_set(err, CF_EINVAL, CF_P_TOO_LONG, "%s:%d: line longer than %d bytes", origin,
					  lineno, MAX_LINE);
		tl = trim_span(text + pos, ll, &start);
		if (tl > 0 && text[pos + start] != '#') {
			rc = conf_line(text + pos + start, tl, origin, lineno, conf, err);
			if (rc != CF_OK)
				return rc;
		}
		pos += ll + (nl != NULL ? 1 : 0);
	}
	return CF_OK;
}

cf_rc cf_cli_conf_load(const char *path, bool must_exist, cf_cli_conf *conf, cf_err *err)
{
	struct stat st;
	char *text = NULL;
	size_t len = 0;
	int fd;
	cf_rc rc = CF_OK;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		if (errno == ENOENT && !must_exist)
			return CF_OK;
		return cf_err_set(err, CF_EIO, CF_P_INTERNAL, "cannot open the config file %s: %s", path,
				  strerror(errno));
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		rc = cf_err_set(err, CF_EIO, CF_P_INTERNAL, "the config file %s is not a regular file", path);
		goto out;
	}
	rc = read_fd(fd, path, CF_CLI_MAX_CONF, &text, &len, err);
	if (rc != CF_OK)
		goto out;
	rc = cf_cli_conf_parse(text, len, path, conf, err);
	if (rc == CF_OK && conf->token != NULL && (st.st_mode & 077) != 0)
		say("warning: %s holds a token and other users may read it (chmod 600 it)", path);
out:
	wipe_free(text);
	close(fd);
	return rc;
}

/* The first non-empty of the candidates. */
static const char *pick(const char *a, const char *b, const char *c)
{
	if (a != NULL && a[0] != '\0')
		return a;
	if (b != NULL && b[0] != '\0')
		return b;
	if (c != NULL && c[0] != '\0')
		return c;
	return NULL;
}

static bool header_safe(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n == 0 || n > max)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f)
			return false;
	return true;
}

cf_rc cf_cli_check_addr(const char *addr, cf_err *err)
{
	CURLU *u = NULL;
	char *part = NULL;
	cf_rc rc = CF_OK;

	if (strncasecmp(addr, "http://", 7) == 0)
		return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE,
				  "refusing an http:// address: coffre speaks HTTPS only (use https://)");
	if (strncasecmp(addr, "https://", 8) != 0)
		return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE,
				  "the address must be an https:// URL (like " CF_CLI_DEFAULT_ADDR ")");
	u = curl_url();
	if (u == NULL)
		return cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "out of memory");
	if (curl_url_set(u, CURLUPART_URL, addr, 0) != CURLUE_OK) {
		rc = cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "the address is not a valid https:// URL");
		goto out;
	}
	if (curl_url_get(u, CURLUPART_USER, &part, 0) == CURLUE_OK) {
		rc = cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE,
				"the address must not carry credentials (use --token or COFFRE_TOKEN)");
		goto out;
	}
	if (curl_url_get(u, CURLUPART_QUERY, &part, 0) == CURLUE_OK ||
	    curl_url_get(u, CURLUPART_FRAGMENT, &part, 0) == CURLUE_OK) {
		rc = cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "the address must not have a query or a fragment");
		goto out;
	}
out:
	curl_free(part);
	curl_url_cleanup(u);
	return rc;
}

static cf_rc default_conf_path(char *out, size_t size, bool *have, cf_err *err)
{
	const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
	cf_rc rc;

	*have = false;
	if (xdg != NULL && xdg[0] == '/')
		rc = cf_snprintf(out, size, "%s/coffre/cli.conf", xdg);
	else if (home != NULL && home[0] != '\0')
		rc = cf_snprintf(out, size, "%s/.config/coffre/cli.conf", home);
	else
		return CF_OK;
	if (rc != CF_OK)
		return cf_err_set(err, CF_EINVAL, CF_P_TOO_LONG, "the default config file path is too long");
	*have = true;
	return CF_OK;
}

cf_rc cf_cli_conf_resolve(const cf_cli_args *a, cf_cli_conf *out, cf_err *err)
{
	cf_cli_conf file = {0};
	char path[4096];
	const char *addr, *token, *cacert;
	bool have = false;
	size_t n;
	cf_rc rc;

	memset(out, 0, sizeof(*out));
	if (a->config != NULL) {
		rc = cf_cli_conf_load(a->config, true, &file, err);
	} else {
		rc = default_conf_path(path, sizeof(path), &have, err);
		if (rc == CF_OK && have)
			rc = cf_cli_conf_load(path, false, &file, err);
	}
	if (rc != CF_OK)
		goto out;
	addr = pick(a->addr, getenv("COFFRE_ADDR"), file.addr);
	token = pick(a->token, getenv("COFFRE_TOKEN"), file.token);
	cacert = pick(a->cacert, getenv("COFFRE_CACERT"), file.cacert);
	out->addr = cf_strdup(addr != NULL ? addr : CF_CLI_DEFAULT_ADDR);
	out->token = token != NULL ? cf_strdup(token) : NULL;
	out->cacert = cacert != NULL ? cf_strdup(cacert) : NULL;
	if (out->addr == NULL || (token != NULL && out->token == NULL) || (cacert != NULL && out->cacert == NULL)) {
		rc = cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "out of memory");
		goto out;
	}
	n = strlen(out->addr);
	while (n > 8 && out->addr[n - 1] == '/')
		out->addr[--n] = '\0';
	rc = cf_cli_check_addr(out->addr, err);
	if (rc != CF_OK)
		goto out;
	if (out->token != NULL && !header_safe(out->token, 4096)) {
		rc = cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE,
				"the token holds characters a coffre token never has (or is too long)");
		goto out;
	}
out:
	cf_cli_conf_free(&file);
	return rc;
}

cf_rc cf_cli_path(char *out, size_t size, cf_err *err, const char *tmpl, ...)
{
	va_list ap;
	size_t o = 0;
	cf_rc rc = CF_OK;

	va_start(ap, tmpl);
	if (size == 0) {
		rc = cf_err_set(err, CF_EINTERNAL, CF_P_INTERNAL, "no room for the path");
		goto out;
	}
	for (const char *p = tmpl; *p != '\0';) {
		if (p[0] == '{' && p[1] == '}') {
			const char *seg = va_arg(ap, const char *);
			size_t sl = seg != NULL ? strlen(seg) : 0, el;
			char *esc;

			if (sl == 0 || strcmp(seg, ".") == 0 || strcmp(seg, "..") == 0) {
				rc = cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE,
						"a name or identifier is empty, '.' or '..'");
				goto out;
			}
			if (sl > MAX_SEGMENT) {
				rc = cf_err_set(err, CF_EINVAL, CF_P_TOO_LONG,
						"a name or identifier is longer than %d bytes", MAX_SEGMENT);
				goto out;
			}
			esc = curl_easy_escape(NULL, seg, (int)sl);
			if (esc == NULL) {
				rc = cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "out of memory");
				goto out;
			}
			el = strlen(esc);
			if (el >= size - o) {
				curl_free(esc);
				rc = cf_err_set(err, CF_EINVAL, CF_P_TOO_LONG, "the request path is too long");
				goto out;
			}
			memcpy(out + o, esc, el);
			o += el;
			curl_free(esc);
			p += 2;
		} else {
			if (o + 1 >= size) {
				rc = cf_err_set(err, CF_EINVAL, CF_P_TOO_LONG, "the request path is too long");
				goto out;
			}
			out[o++] = *p++;
		}
	}
	out[o] = '\0';
out:
	if (rc != CF_OK && size > 0)
		out[0] = '\0';
	va_end(ap);
	return rc;
}

/* ------------------------------------------------------------------ */
/* HTTPS                                                                */

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *ud)
{
	cf_cli_resp *r = ud;
	size_t n, need;

	if (!cf_size_mul(size, nmemb, &n))
		return 0;
	if (n > CF_CLI_MAX_RESPONSE - r->len) {
		r->too_big = true;
		return 0;
	}
	need = r->len + n + 1;
	if (need > r->cap) {
		size_t ncap = r->cap < 16384 ? 16384 : r->cap;
		char *nb;
		while (ncap < need)
			ncap *= 2;
		if (ncap > CF_CLI_MAX_RESPONSE + 1)
			ncap = CF_CLI_MAX_RESPONSE + 1;
		nb = malloc(ncap);
		if (nb == NULL)
			return 0;
		if (r->body != NULL)
			memcpy(nb, r->body, r->len);
		wipe_free(r->body);
		r->body = nb;
		r->cap = ncap;
	}
	memcpy(r->body + r->len, ptr, n);
	r->len += n;
	r->body[r->len] = '\0';
	return n;
}

/* Appends a header, keeping the list on failure. */
static bool add_header(struct curl_slist **list, const char *h)
{
	struct curl_slist *n = curl_slist_append(*list, h);

	if (n == NULL)
		return false;
	*list = n;
	return true;
}

/* Frees a header list after wiping it: it may hold the token. */
static void free_headers(struct curl_slist *list)
{
	for (struct curl_slist *p = list; p != NULL; p = p->next)
		if (p->data != NULL)
			explicit_bzero(p->data, strlen(p->data));
	curl_slist_free_all(list);
}

static bool is_hex32(const char *s, size_t n)
{
	if (n != 32)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i]))
			return false;
	return true;
}

/* Builds the header list; fails only for lack of memory. */
static bool build_headers(const cf_cli_ctx *c, const char *purpose, bool has_body, struct curl_slist **out)
{
	struct curl_slist *h = NULL;
	char *auth = NULL;
	bool ok = false;

	if (!add_header(&h, "Accept: application/json, application/problem+json") || !add_header(&h, "Expect:"))
		goto out;
	/* a body-less POST gets no Content-Type at all (curl would add a form type) */
	if (!add_header(&h, has_body ? "Content-Type: application/json" : "Content-Type:"))
		goto out;
	if ((c->verb->flags & CF_CLI_VERB_AUTH) && c->conn.token != NULL) {
		size_t n;
		if (!cf_size_add(strlen(c->conn.token), sizeof("Authorization: Bearer "), &n))
			goto out;
		auth = malloc(n);
		if (auth == NULL || cf_snprintf(auth, n, "Authorization: Bearer %s", c->conn.token) != CF_OK ||
		    !add_header(&h, auth))
			goto out;
	}
	if (purpose != NULL) {
		char line[MAX_HEADER_VALUE + 16];
		if (cf_snprintf(line, sizeof(line), "X-Purpose: %s", purpose) != CF_OK || !add_header(&h, line))
			goto out;
	}
	*out = h;
	h = NULL;
	ok = true;
out:
	wipe_free(auth);
	free_headers(h);
	return ok;
}

void cf_cli_resp_free(cf_cli_resp *r)
{
	json_decref(r->json);
	wipe_free(r->body);
	memset(r, 0, sizeof(*r));
}

int cf_cli_request(const cf_cli_ctx *c, const char *method, const char *path, const char *purpose,
		   const json_t *body, cf_cli_resp *r)
{
	CURL *h = NULL;
	struct curl_slist *hdrs = NULL;
	char *url = NULL, *payload = NULL, errbuf[CURL_ERROR_SIZE];
	size_t plen = 0, ulen;
	struct curl_header *xrid = NULL;
	const char *ctype = NULL;
	CURLcode cc = CURLE_OK;
	int ex = CF_CLI_EXIT_OK;

	memset(r, 0, sizeof(*r));
	errbuf[0] = '\0';
	if (purpose != NULL && !header_safe(purpose, MAX_HEADER_VALUE))
		return cf_cli_usage_error(c, "--purpose must be 1 to %d printable ASCII characters", MAX_HEADER_VALUE);
	if (!cf_size_add(strlen(c->conn.addr), strlen(path), &ulen) || !cf_size_add(ulen, 1, &ulen) ||
	    (url = malloc(ulen)) == NULL || cf_snprintf(url, ulen, "%s%s", c->conn.addr, path) != CF_OK) {
		say("out of memory");
		ex = CF_CLI_EXIT_IO;
		goto out;
	}
	if (body != NULL) {
		payload = json_dumps(body, JSON_COMPACT);
		if (payload == NULL) {
			say("out of memory");
			ex = CF_CLI_EXIT_IO;
			goto out;
		}
		plen = strlen(payload);
	}
	if (c->conn.cacert != NULL && access(c->conn.cacert, R_OK) != 0) {
		say("cannot read the CA certificate %s: %s", c->conn.cacert, strerror(errno));
		ex = CF_CLI_EXIT_IO;
		goto out;
	}
	h = curl_easy_init();
	if (h == NULL || !build_headers(c, purpose, body != NULL, &hdrs)) {
		say("out of memory");
		ex = CF_CLI_EXIT_IO;
		goto out;
	}
	/* Every option below is part of the client's security: HTTPS only, verified, bounded. */
	if ((cc = curl_easy_setopt(h, CURLOPT_URL, url)) != CURLE_OK ||
	    (cc = curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https")) != CURLE_OK ||
	    (cc = curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "https")) != CURLE_OK ||
	    (cc = curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L)) != CURLE_OK ||
	    (cc = curl_easy_setopt(h, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2)) != CURLE_OK ||
	    (cc = curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L)) != CURLE_OK ||
	    (cc = curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L)) != CURLE_OK ||
	    (cc = curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, CONNECT_TIMEOUT_S)) != CURLE_OK ||
	    (cc = curl_easy_setopt(h, CURLOPT_TIMEOUT, TOTAL_TIMEOUT_S)) != CURLE_OK ||
	    (cc = curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L)) != CURLE_OK ||
	    (cc = curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)CF_CLI_MAX_RESPONSE)) != CURLE_OK ||
	    (cc = curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body)) != CURLE_OK ||
	    (cc = curl_easy_setopt(h, CURLOPT_WRITEDATA, r)) != CURLE_OK ||
	    (cc = curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf)) != CURLE_OK ||
	    (cc = curl_easy_setopt(h, CURLOPT_USERAGENT, "coffre-cli/" COFFRE_VERSION)) != CURLE_OK ||
	    (cc = curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs)) != CURLE_OK)
		goto curl_failed;
	if (c->conn.cacert != NULL) {
		/* the given CA only: the daemon's certificate is signed by its own CA */
		if ((cc = curl_easy_setopt(h, CURLOPT_CAINFO, c->conn.cacert)) != CURLE_OK ||
		    (cc = curl_easy_setopt(h, CURLOPT_CAPATH, (char *)NULL)) != CURLE_OK)
			goto curl_failed;
	}
	if (strcmp(method, "GET") == 0) {
		cc = curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
	} else {
		if (strcmp(method, "POST") == 0)
			cc = curl_easy_setopt(h, CURLOPT_POST, 1L);
		else
			cc = curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
		if (cc == CURLE_OK && (body != NULL || strcmp(method, "POST") == 0)) {
			cc = curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)plen);
			if (cc == CURLE_OK)
				cc = curl_easy_setopt(h, CURLOPT_POSTFIELDS, payload != NULL ? payload : "");
		}
	}
	if (cc != CURLE_OK)
		goto curl_failed;
	cc = curl_easy_perform(h);
	if (cc != CURLE_OK) {
		if (r->too_big || cc == CURLE_FILESIZE_EXCEEDED) {
			say("the daemon's answer is larger than %zu bytes", CF_CLI_MAX_RESPONSE);
			ex = CF_CLI_EXIT_SERVER;
		} else if (cc == CURLE_OUT_OF_MEMORY || cc == CURLE_WRITE_ERROR) {
			say("out of memory");
			ex = CF_CLI_EXIT_IO;
		} else {
			say("cannot reach %s: %s", c->conn.addr, errbuf[0] != '\0' ? errbuf : curl_easy_strerror(cc));
			ex = CF_CLI_EXIT_CONNECT;
		}
		goto out;
	}
	if (curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status) != CURLE_OK)
		r->status = 0;
	if (curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &ctype) == CURLE_OK && ctype != NULL)
		(void)snprintf(r->content_type, sizeof(r->content_type), "%s", ctype);
	if (curl_easy_header(h, "X-Request-Id", 0, CURLH_HEADER, -1, &xrid) == CURLHE_OK && xrid->value != NULL &&
	    is_hex32(xrid->value, strlen(xrid->value)))
		memcpy(r->trace_id, xrid->value, 33);
	if (r->len > 0 && cf_json_parse(r->body, r->len, ANSWER_DEPTH, &r->json, NULL) != CF_OK)
		r->json = NULL;
	goto out;
curl_failed:
	say("cannot set up the request: %s", curl_easy_strerror(cc));
	ex = cc == CURLE_OUT_OF_MEMORY ? CF_CLI_EXIT_IO : CF_CLI_EXIT_CONNECT;
out:
	if (payload != NULL)
		explicit_bzero(payload, plen);
	free(payload);
	free(url);
	free_headers(hdrs);
	if (h != NULL)
		curl_easy_cleanup(h);
	return ex;
}

int cf_cli_report(const cf_cli_ctx *c, const cf_cli_resp *r)
{
	char line[1024];

	if (r->status >= 200 && r->status <= 299) {
		/* text/plain answers (checkpoints, keys) are printed as they are */
		if (r->len > 0 && r->json == NULL && strncmp(r->content_type, "text/plain", 10) != 0) {
			say("the daemon's answer (status %ld) is not valid JSON", r->status);
			return CF_CLI_EXIT_SERVER;
		}
		return CF_CLI_EXIT_OK;
	}
	cf_cli_problem_line(r->status, r->body, r->len, line, sizeof(line));
	fputs(line, stderr);
	fputc('\n', stderr);
	if (r->status >= 500) {
		const char *tid = r->trace_id[0] != '\0' ? r->trace_id
							  : json_string_value(json_object_get(r->json, "trace_id"));
		if (tid != NULL && is_hex32(tid, strlen(tid)))
			say("trace id %s (quote it to the operator)", tid);
	}
	if (c->args.json && r->json != NULL)
		cf_cli_print_body(r);
	return cf_cli_exit_for_status(r->status);
}

void cf_cli_print_body(const cf_cli_resp *r)
{
	if (r->len == 0)
		return;
	fwrite(r->body, 1, r->len, stdout);
	if (r->body[r->len - 1] != '\n')
		fputc('\n', stdout);
}

int cf_cli_call(const cf_cli_ctx *c, const char *method, const char *path, const char *purpose, const json_t *body,
		cf_cli_printer print)
{
	cf_cli_resp r;
	int ex;

	ex = cf_cli_request(c, method, path, purpose, body, &r);
	if (ex == CF_CLI_EXIT_OK)
		ex = cf_cli_report(c, &r);
	if (ex == CF_CLI_EXIT_OK) {
		if (c->args.json)
			cf_cli_print_body(&r);
		else if (print != NULL) {
			print(c, r.json);
		}
	}
	cf_cli_resp_free(&r);
	return ex;
}

/* ------------------------------------------------------------------ */
/* Dispatch                                                             */

static const cf_cli_group *find_group(const char *noun)
{
	for (size_t i = 0; i < CF_ARRAY_LEN(groups); i++)
		if (strcmp(groups[i]->noun, noun) == 0)
			return groups[i];
	return NULL;
}

int cf_cli_dispatch(int argc, char **argv)
{
	cf_cli_ctx c;
	const cf_cli_group *g;
	cf_err err = {0};
	int first, ex;

	if (argc < 1 || argv[0] == NULL || (g = find_group(argv[0])) == NULL)
		return -1;
	memset(&c, 0, sizeof(c));
	c.group = g;
	if (verbless(g)) {
		c.verb = &g->verbs[0];
		first = 1;
	} else {
		if (argc < 2) {
			group_usage(stderr, g);
			return CF_CLI_EXIT_USAGE;
		}
		if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
			group_usage(stdout, g);
			return fflush(stdout) == 0 ? CF_CLI_EXIT_OK : CF_CLI_EXIT_IO;
		}
		for (size_t i = 0; i < g->nverbs && c.verb == NULL; i++)
			if (strcmp(g->verbs[i].name, argv[1]) == 0)
				c.verb = &g->verbs[i];
		if (c.verb == NULL) {
			if (printable_name(argv[1], strlen(argv[1])))
				say("unknown command 'coffre %s %s'", g->noun, argv[1]);
			else
				say("unknown %s command", g->noun);
			say("try 'coffre %s --help'", g->noun);
			return CF_CLI_EXIT_USAGE;
		}
		first = 2;
	}
	if (cf_cli_parse_args(c.verb, argc - first, argv + first, &c.args, &err) != CF_OK)
		return cf_cli_usage_error(&c, "%s", err.detail);
	if (c.args.help) {
		verb_usage(stdout, g, c.verb);
		return fflush(stdout) == 0 ? CF_CLI_EXIT_OK : CF_CLI_EXIT_IO;
	}
	/* From here on, every jansson buffer may hold a secret or personal data. */
	json_set_alloc_funcs(malloc, wipe_free);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		say("cannot initialize libcurl");
		return CF_CLI_EXIT_IO;
	}
	if (cf_cli_conf_resolve(&c.args, &c.conn, &err) != CF_OK)
		ex = cf_cli_fail(&c, &err);
	else if ((c.verb->flags & CF_CLI_VERB_AUTH) && c.conn.token == NULL)
		ex = cf_cli_usage_error(&c, "no token: run 'coffre login', then set COFFRE_TOKEN (or token in the "
					    "config file, or --token)");
	else
		ex = c.verb->run(&c);
	cf_cli_conf_free(&c.conn);
	curl_global_cleanup();
	if (fflush(stdout) != 0 || ferror(stdout)) {
		say("cannot write the output");
		if (ex == CF_CLI_EXIT_OK)
			ex = CF_CLI_EXIT_IO;
	}
	return ex;
}
