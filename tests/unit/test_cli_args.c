/*
 * test_cli_args.c - the command-line client's local half: argument
 * parsing, config file, settings precedence, address and path checks,
 * secret and JSON input, error lines, exit codes and dispatch up to the
 * network. No daemon is needed: the only connection attempted is to a
 * closed local port (exit code 3).
 *
 * The client lives in src/coffre (not in the library the unit tests link
 * against), so its sources are included here.
 */
#include "../../src/coffre/cli.c"
#include "../../src/coffre/cli_apikey.c"
#include "../../src/coffre/cli_auth.c"
#include "../../src/coffre/cli_collection.c"
#include "../../src/coffre/cli_grant.c"
#include "../../src/coffre/cli_org.c"
#include "../../src/coffre/cli_record.c"
#include "../../src/coffre/cli_subject.c"
#include "../../src/coffre/cli_audit.c"
#include "../../src/coffre/cli_sharing.c"
#include "../../src/coffre/cli_user.c"
#include "../../src/coffre/cli_lifecycle.c"

#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

static char tmpdir[256];

/* Writes content to tmpdir/name; returns the path in a static buffer per slot. */
static const char *write_tmp(const char *name, const char *content, size_t len)
{
	static char paths[8][512];
	static int slot;
	char *p = paths[slot++ % 8];
	int fd;

	assert_int_equal(cf_snprintf(p, 512, "%s/%s", tmpdir, name), CF_OK);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, content, len), (ssize_t)len);
	close(fd);
	return p;
}

static const char *write_tmp_str(const char *name, const char *content)
{
	return write_tmp(name, content, strlen(content));
}

/* Captures what fd (1 or 2) receives between begin and end. */
typedef struct capture {
	int fd, saved;
	char path[512];
} capture;

static void capture_begin(capture *cap, int fd)
{
	int tfd;

	fflush(stdout);
	fflush(stderr);
	cap->fd = fd;
	assert_int_equal(cf_snprintf(cap->path, sizeof(cap->path), "%s/capture.%d", tmpdir, fd), CF_OK);
	tfd = open(cap->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(tfd >= 0);
	cap->saved = dup(fd);
	assert_true(cap->saved >= 0);
	assert_true(dup2(tfd, fd) >= 0);
	close(tfd);
}

/* Ends the capture; returns the malloc'd text (the caller frees). */
static char *capture_end(capture *cap)
{
	char *text = NULL;
	size_t len = 0;
	cf_err err = {0};

	fflush(stdout);
	fflush(stderr);
	assert_true(dup2(cap->saved, cap->fd) >= 0);
	close(cap->saved);
	assert_int_equal(cf_cli_read_file(cap->path, 1 << 20, &text, &len, &err), CF_OK);
	return text;
}

static int setup(void **state)
{
	char tmpl[] = "/tmp/cf_cli_test.XXXXXX";

	assert_non_null(mkdtemp(tmpl));
	memcpy(tmpdir, tmpl, sizeof(tmpl));
	setenv("HOME", tmpdir, 1);
	unsetenv("XDG_CONFIG_HOME");
	unsetenv("COFFRE_ADDR");
	unsetenv("COFFRE_TOKEN");
	unsetenv("COFFRE_CACERT");
	return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static int teardown(void **state)
{
	curl_global_cleanup();
	return nftw(tmpdir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* ------------------------------------------------------------------ */
/* Config file                                                          */

static void test_conf_parse_ok(void **state)
{
	const char text[] = "# client settings\n"
			    "\n"
			    "  addr =   https://vault.example:8443  \r\n"
			    "token=cft_abc#not-a-comment\n"
			    "\t# indented comment\n"
			    "cacert = /etc/coffre/ca.pem"; /* no final newline */
	cf_cli_conf conf = {0};
	cf_err err = {0};

	assert_int_equal(cf_cli_conf_parse(text, sizeof(text) - 1, "f", &conf, &err), CF_OK);
	assert_string_equal(conf.addr, "https://vault.example:8443");
	assert_string_equal(conf.token, "cft_abc#not-a-comment");
	assert_string_equal(conf.cacert, "/etc/coffre/ca.pem");
	cf_cli_conf_free(&conf);
	assert_null(conf.addr);
	assert_null(conf.token);
}

static void test_conf_parse_empty(void **state)
{
	cf_cli_conf conf = {0};
	cf_err err = {0};

	assert_int_equal(cf_cli_conf_parse("", 0, "f", &conf, &err), CF_OK);
	assert_int_equal(cf_cli_conf_parse("#\n\n   \n", 7, "f", &conf, &err), CF_OK);
	assert_null(conf.addr);
	assert_null(conf.token);
	assert_null(conf.cacert);
}

/* Parses text and expects refusal with exactly `detail`. */
static void conf_refused(const char *text, size_t len, cf_problem p, const char *detail)
{
	cf_cli_conf conf = {0};
	cf_err err = {0};

	assert_int_equal(cf_cli_conf_parse(text, len, "cli.conf", &conf, &err), CF_EINVAL);
	assert_int_equal(err.problem, p);
	assert_string_equal(err.detail, detail);
	cf_cli_conf_free(&conf);
}

static void test_conf_parse_refused(void **state)
{
	char longline[MAX_LINE + 16];

	conf_refused("addr = https://a\n# x\nbogus = 1\n", 31, CF_P_UNKNOWN_KEY,
		     "cli.conf:3: unknown key 'bogus' (known: addr, token, cacert)");
	conf_refused("Token = x\n", 10, CF_P_UNKNOWN_KEY,
		     "cli.conf:1: unknown key 'Token' (known: addr, token, cacert)");
	/* a key that does not look like a name is not echoed */
	conf_refused("cft secret = x\n", 15, CF_P_UNKNOWN_KEY, "cli.conf:1: unknown key (known: addr, token, cacert)");
	conf_refused("cft_0123456789abcdef\n", 21, CF_P_INVALID_VALUE, "cli.conf:1: expected key = value");
	conf_refused(" = x\n", 5, CF_P_INVALID_VALUE, "cli.conf:1: expected key = value");
	conf_refused("\ntoken =  \n", 11, CF_P_INVALID_VALUE, "cli.conf:2: token has no value");
	conf_refused("addr = https://a\naddr = https://b\n", 34, CF_P_DUPLICATE_KEY, "cli.conf:2: addr is set twice");
	conf_refused("addr = a\0b\n", 11, CF_P_INVALID_VALUE, "cli.conf: holds a NUL byte");
	memset(longline, 'x', sizeof(longline));
	memcpy(longline, "token = ", 8);
	conf_refused(longline, sizeof(longline), CF_P_TOO_LONG, "cli.conf:1: line longer than 4096 bytes");
}

static void test_conf_load(void **state)
{
	const char *p = write_tmp_str("a.conf", "addr = https://h:1\ntoken = t1\n");
	char missing[600];
	cf_cli_conf conf = {0};
	cf_err err = {0};

	assert_int_equal(cf_cli_conf_load(p, true, &conf, &err), CF_OK);
	assert_string_equal(conf.addr, "https://h:1");
	assert_string_equal(conf.token, "t1");
	cf_cli_conf_free(&conf);

	assert_int_equal(cf_snprintf(missing, sizeof(missing), "%s/nope.conf", tmpdir), CF_OK);
	assert_int_equal(cf_cli_conf_load(missing, false, &conf, &err), CF_OK);
	assert_null(conf.addr);
	assert_int_equal(cf_cli_conf_load(missing, true, &conf, &err), CF_EIO);
	assert_non_null(strstr(err.detail, "cannot open the config file"));
	assert_int_equal(cf_cli_conf_load(tmpdir, true, &conf, &err), CF_EIO); /* a directory */
	assert_non_null(strstr(err.detail, "not a regular file"));
}

/* ------------------------------------------------------------------ */
/* Settings precedence                                                  */

static void test_resolve_precedence(void **state)
{
	cf_cli_args a;
	cf_cli_conf out = {0};
	cf_err err = {0};
	char dir[600];
	const char *conf;

	/* nothing anywhere: default address, no token */
	memset(&a, 0, sizeof(a));
	assert_int_equal(cf_cli_conf_resolve(&a, &out, &err), CF_OK);
	assert_string_equal(out.addr, CF_CLI_DEFAULT_ADDR);
	assert_null(out.token);
	assert_null(out.cacert);
	cf_cli_conf_free(&out);

	/* the default config file under $HOME/.config */
	assert_int_equal(cf_snprintf(dir, sizeof(dir), "%s/.config", tmpdir), CF_OK);
	assert_int_equal(mkdir(dir, 0700), 0);
	assert_int_equal(cf_snprintf(dir, sizeof(dir), "%s/.config/coffre", tmpdir), CF_OK);
	assert_int_equal(mkdir(dir, 0700), 0);
	write_tmp_str(".config/coffre/cli.conf", "addr = https://file:1/\ntoken = file-token\ncacert = /file/ca\n");
	assert_int_equal(cf_cli_conf_resolve(&a, &out, &err), CF_OK);
	assert_string_equal(out.addr, "https://file:1"); /* trailing slash dropped */
	assert_string_equal(out.token, "file-token");
	assert_string_equal(out.cacert, "/file/ca");
	cf_cli_conf_free(&out);

	/* the environment beats the file; an empty variable counts as unset */
	setenv("COFFRE_ADDR", "https://env:2", 1);
	setenv("COFFRE_TOKEN", "env-token", 1);
	setenv("COFFRE_CACERT", "", 1);
	assert_int_equal(cf_cli_conf_resolve(&a, &out, &err), CF_OK);
	assert_string_equal(out.addr, "https://env:2");
	assert_string_equal(out.token, "env-token");
	assert_string_equal(out.cacert, "/file/ca");
	cf_cli_conf_free(&out);

	/* options beat the environment */
	a.addr = "https://opt:3";
	a.token = "opt-token";
	a.cacert = "/opt/ca";
	assert_int_equal(cf_cli_conf_resolve(&a, &out, &err), CF_OK);
	assert_string_equal(out.addr, "https://opt:3");
	assert_string_equal(out.token, "opt-token");
	assert_string_equal(out.cacert, "/opt/ca");
	cf_cli_conf_free(&out);

	/* XDG_CONFIG_HOME (absolute) replaces ~/.config; --config replaces both */
	memset(&a, 0, sizeof(a));
	unsetenv("COFFRE_ADDR");
	unsetenv("COFFRE_TOKEN");
	unsetenv("COFFRE_CACERT");
	setenv("XDG_CONFIG_HOME", tmpdir, 1);
	assert_int_equal(cf_cli_conf_resolve(&a, &out, &err), CF_OK);
	assert_string_equal(out.addr, CF_CLI_DEFAULT_ADDR); /* tmpdir/coffre/cli.conf does not exist */
	cf_cli_conf_free(&out);
	setenv("XDG_CONFIG_HOME", "relative/dir", 1); /* ignored, as the XDG spec says */
	assert_int_equal(cf_cli_conf_resolve(&a, &out, &err), CF_OK);
	assert_string_equal(out.addr, "https://file:1");
	cf_cli_conf_free(&out);
	unsetenv("XDG_CONFIG_HOME");
	conf = write_tmp_str("explicit.conf", "addr = https://explicit:4\n");
	a.config = conf;
	assert_int_equal(cf_cli_conf_resolve(&a, &out, &err), CF_OK);
	assert_string_equal(out.addr, "https://explicit:4");
	assert_null(out.token);
	cf_cli_conf_free(&out);

	/* refusals: http, a broken file, a token that could inject a header */
	a.config = NULL;
	a.addr = "http://opt:3";
	assert_int_equal(cf_cli_conf_resolve(&a, &out, &err), CF_EINVAL);
	assert_string_equal(err.detail, "refusing an http:// address: coffre speaks HTTPS only (use https://)");
	cf_cli_conf_free(&out);
	a.addr = NULL;
	a.token = "abc\r\nX-Evil: 1";
	assert_int_equal(cf_cli_conf_resolve(&a, &out, &err), CF_EINVAL);
	assert_null(strstr(err.detail, "abc"));
	cf_cli_conf_free(&out);
	a.token = NULL;
	a.config = write_tmp_str("bad.conf", "addr = https://x\nkey = v\n");
	assert_int_equal(cf_cli_conf_resolve(&a, &out, &err), CF_EINVAL);
	assert_non_null(strstr(err.detail, "bad.conf:2: unknown key 'key'"));
	cf_cli_conf_free(&out);

	unlink(write_tmp(".config/coffre/cli.conf", "", 0));
}

/* ------------------------------------------------------------------ */
/* Address and path                                                     */

static void test_check_addr(void **state)
{
	cf_err err = {0};

	assert_int_equal(cf_cli_check_addr("https://127.0.0.1:8443", &err), CF_OK);
	assert_int_equal(cf_cli_check_addr("HTTPS://vault.example", &err), CF_OK);
	assert_int_equal(cf_cli_check_addr("https://[::1]:8443/prefix", &err), CF_OK);

	assert_int_equal(cf_cli_check_addr("http://127.0.0.1:8443", &err), CF_EINVAL);
	assert_string_equal(err.detail, "refusing an http:// address: coffre speaks HTTPS only (use https://)");
	assert_int_equal(cf_cli_check_addr("127.0.0.1:8443", &err), CF_EINVAL);
	assert_string_equal(err.detail, "the address must be an https:// URL (like https://127.0.0.1:8443)");
	assert_int_equal(cf_cli_check_addr("ftp://h", &err), CF_EINVAL);
	assert_int_equal(cf_cli_check_addr("https://u:secret@h", &err), CF_EINVAL);
	assert_string_equal(err.detail, "the address must not carry credentials (use --token or COFFRE_TOKEN)");
	assert_null(strstr(err.detail, "secret"));
	assert_int_equal(cf_cli_check_addr("https://h/?a=1", &err), CF_EINVAL);
	assert_string_equal(err.detail, "the address must not have a query or a fragment");
	assert_int_equal(cf_cli_check_addr("https://h/#f", &err), CF_EINVAL);
	assert_int_equal(cf_cli_check_addr("https://", &err), CF_EINVAL);
	assert_string_equal(err.detail, "the address is not a valid https:// URL");
}

static void test_path(void **state)
{
	char out[64];
	cf_err err = {0};

	assert_int_equal(cf_cli_path(out, sizeof(out), &err, "/v1/orgs"), CF_OK);
	assert_string_equal(out, "/v1/orgs");
	assert_int_equal(cf_cli_path(out, sizeof(out), &err, "/v1/orgs/{}/users/{}", "cpas", "a b/c?d"), CF_OK);
	assert_string_equal(out, "/v1/orgs/cpas/users/a%20b%2Fc%3Fd");
	assert_int_equal(cf_cli_path(out, sizeof(out), &err, "/x/{}", "\xc3\xa9%"), CF_OK);
	assert_string_equal(out, "/x/%C3%A9%25");
	assert_int_equal(cf_cli_path(out, sizeof(out), &err, "/x/{}", "a.b_c-d~"), CF_OK);
	assert_string_equal(out, "/x/a.b_c-d~");

	assert_int_equal(cf_cli_path(out, sizeof(out), &err, "/x/{}", ".."), CF_EINVAL);
	assert_string_equal(err.detail, "a name or identifier is empty, '.' or '..'");
	assert_string_equal(out, "");
	assert_int_equal(cf_cli_path(out, sizeof(out), &err, "/x/{}", "."), CF_EINVAL);
	assert_int_equal(cf_cli_path(out, sizeof(out), &err, "/x/{}", ""), CF_EINVAL);
	assert_int_equal(cf_cli_path(out, sizeof(out), &err, "/x/{}", "0123456789012345678901234567890123456789"
									  "0123456789012345678901234"),
			 CF_EINVAL);
	assert_string_equal(err.detail, "the request path is too long");
	assert_int_equal(cf_cli_path(out, 8, &err, "/v1/orgs/x"), CF_EINVAL); /* literal part too long */
	assert_string_equal(out, "");
}

/* ------------------------------------------------------------------ */
/* Arguments                                                            */

static int run_nothing(cf_cli_ctx *c)
{
	return 0;
}

static const cf_cli_option test_opts[] = {
	{"org", "ORG", CF_CLI_OPT_REQUIRED, "organization"},
	{"role", "ROLE", CF_CLI_OPT_MULTI, "role"},
	{"national-id", "-", CF_CLI_OPT_STDIN_ONLY, "stdin"},
	{"force", NULL, 0, "a flag"},
};
static const cf_cli_verb test_verb = {"do", "A B", 2, "Does.", test_opts, CF_ARRAY_LEN(test_opts), 0, run_nothing};
static const cf_cli_verb test_verb0 = {"list", NULL, 0, "Lists.", test_opts, 1, 0, run_nothing};

/* Parses a NULL-terminated list of arguments against v. */
static cf_rc parse(const cf_cli_verb *v, cf_cli_args *a, cf_err *err, ...)
{
	char *argv[32];
	int argc = 0;
	va_list ap;

	va_start(ap, err);
	for (char *s; (s = va_arg(ap, char *)) != NULL && argc < 32;)
		argv[argc++] = s;
	va_end(ap);
	return cf_cli_parse_args(v, argc, argv, a, err);
}

static void test_args_ok(void **state)
{
	cf_cli_args a;
	cf_err err = {0};

	assert_int_equal(parse(&test_verb, &a, &err, "x", "--org", "cpas", "--role=agent", "--role", "auditor", "-",
			       "--force", "--json", "--addr=https://h", "--token", "t", "--cacert", "ca", "--config", "cf",
			       "--national-id", "-", NULL),
			 CF_OK);
	assert_int_equal(a.npos, 2);
	assert_string_equal(a.pos[0], "x");
	assert_string_equal(a.pos[1], "-");
	assert_int_equal(a.nvals[0], 1);
	assert_string_equal(a.vals[0][0], "cpas");
	assert_int_equal(a.nvals[1], 2);
	assert_string_equal(a.vals[1][0], "agent");
	assert_string_equal(a.vals[1][1], "auditor");
	assert_int_equal(a.nvals[2], 1);
	assert_int_equal(a.nvals[3], 1);
	assert_true(a.json);
	assert_false(a.help);
	assert_string_equal(a.addr, "https://h");
	assert_string_equal(a.token, "t");
	assert_string_equal(a.cacert, "ca");
	assert_string_equal(a.config, "cf");

	/* "--" ends options: what follows is positional, even "--help" */
	assert_int_equal(parse(&test_verb, &a, &err, "--org", "o", "--", "--help", "-x", NULL), CF_OK);
	assert_false(a.help);
	assert_string_equal(a.pos[0], "--help");
	assert_string_equal(a.pos[1], "-x");
	/* an option value may look like an option */
	assert_int_equal(parse(&test_verb, &a, &err, "--org", "--json", "a", "b", NULL), CF_OK);
	assert_string_equal(a.vals[0][0], "--json");
	assert_false(a.json);
	/* --help or -h anywhere wins over errors */
	assert_int_equal(parse(&test_verb, &a, &err, "--bogus", "-h", NULL), CF_OK);
	assert_true(a.help);
	assert_int_equal(parse(&test_verb, &a, &err, "--help", NULL), CF_OK);
	assert_true(a.help);
}

static void args_refused(const cf_cli_verb *v, const char *detail, ...)
{
	char *argv[32];
	int argc = 0;
	cf_cli_args a;
	cf_err err = {0};
	va_list ap;

	va_start(ap, detail);
	for (char *s; (s = va_arg(ap, char *)) != NULL && argc < 32;)
		argv[argc++] = s;
	va_end(ap);
	assert_int_equal(cf_cli_parse_args(v, argc, argv, &a, &err), CF_EINVAL);
	assert_string_equal(err.detail, detail);
}

static void test_args_refused(void **state)
{
	args_refused(&test_verb, "--org is required", "a", "b", NULL);
	args_refused(&test_verb, "missing argument (expected A B)", "--org", "o", "a", NULL);
	args_refused(&test_verb, "too many arguments (expected A B)", "--org", "o", "a", "b", "c", NULL);
	args_refused(&test_verb0, "unexpected argument: this command takes options only", "--org", "o", "x", NULL);
	args_refused(&test_verb, "unknown option --bogus", "--bogus", "a", "b", NULL);
	args_refused(&test_verb, "unknown option --bogus", "--bogus=1", NULL);
	/* an "option" that looks like a value typed by mistake is not echoed */
	args_refused(&test_verb, "unknown option", "--85073003328", NULL);
	args_refused(&test_verb, "unknown option", "--Secret", NULL);
	args_refused(&test_verb, "unknown option (options are long, like --org; -h is --help)", "-o", "x", NULL);
	args_refused(&test_verb, "--org needs a value (ORG)", "a", "b", "--org", NULL);
	args_refused(&test_verb, "--org given twice", "--org", "a", "--org", "b", NULL);
	args_refused(&test_verb, "--json given twice", "--json", "--json", NULL);
	args_refused(&test_verb, "--token given twice", "--token", "a", "--token=b", NULL);
	args_refused(&test_verb, "--force takes no value", "--force=yes", NULL);
	args_refused(&test_verb, "--json takes no value", "--json=1", NULL);
	args_refused(&test_verb,
		     "--national-id only accepts '-' (read from stdin): such a value is never taken from the command "
		     "line, where ps and the shell history would show it",
		     "--national-id", "85073003328", NULL);
	args_refused(&test_verb,
		     "--national-id only accepts '-' (read from stdin): such a value is never taken from the command "
		     "line, where ps and the shell history would show it",
		     "--national-id=85073003328", NULL);
}

static void test_args_repeat_cap(void **state)
{
	char *argv[2 * CF_CLI_MAX_VALUES + 8];
	int argc = 0;
	cf_cli_args a;
	cf_err err = {0};

	argv[argc++] = "--org";
	argv[argc++] = "o";
	argv[argc++] = "a";
	argv[argc++] = "b";
	for (int i = 0; i <= CF_CLI_MAX_VALUES; i++) {
		argv[argc++] = "--role";
		argv[argc++] = "r";
	}
	assert_int_equal(cf_cli_parse_args(&test_verb, argc - 2, argv, &a, &err), CF_OK);
	assert_int_equal(a.nvals[1], CF_CLI_MAX_VALUES);
	assert_int_equal(cf_cli_parse_args(&test_verb, argc, argv, &a, &err), CF_EINVAL);
	assert_string_equal(err.detail, "--role given more than 32 times");
}

static void test_opt_accessors(void **state)
{
	cf_cli_ctx c;
	cf_err err = {0};
	const char *const *vals;

	memset(&c, 0, sizeof(c));
	c.verb = &test_verb;
	assert_int_equal(parse(&test_verb, &c.args, &err, "--org", "o1", "a", "b", "--role", "r1", "--role", "r2", NULL),
			 CF_OK);
	assert_string_equal(cf_cli_opt(&c, "org"), "o1");
	assert_string_equal(cf_cli_opt(&c, "role"), "r2");
	assert_null(cf_cli_opt(&c, "force"));
	assert_int_equal(cf_cli_opt_all(&c, "role", &vals), 2);
	assert_string_equal(vals[0], "r1");
	assert_string_equal(vals[1], "r2");
}

/* ------------------------------------------------------------------ */
/* Exit codes and error lines                                           */

static void test_exit_codes(void **state)
{
	assert_int_equal(cf_cli_exit_for_status(200), 0);
	assert_int_equal(cf_cli_exit_for_status(201), 0);
	assert_int_equal(cf_cli_exit_for_status(204), 0);
	assert_int_equal(cf_cli_exit_for_status(400), 1);
	assert_int_equal(cf_cli_exit_for_status(401), 1);
	assert_int_equal(cf_cli_exit_for_status(409), 1);
	assert_int_equal(cf_cli_exit_for_status(499), 1);
	assert_int_equal(cf_cli_exit_for_status(500), 4);
	assert_int_equal(cf_cli_exit_for_status(503), 4);
	assert_int_equal(cf_cli_exit_for_status(302), 4);
	assert_int_equal(cf_cli_exit_for_status(0), 4);
	assert_int_equal(cf_cli_exit_for_rc(CF_OK), 0);
	assert_int_equal(cf_cli_exit_for_rc(CF_EINVAL), 2);
	assert_int_equal(cf_cli_exit_for_rc(CF_ETOOBIG), 2);
	assert_int_equal(cf_cli_exit_for_rc(CF_EIO), 5);
	assert_int_equal(cf_cli_exit_for_rc(CF_ENOMEM), 5);
}

static void problem_is(long status, const char *body, const char *want)
{
	char line[256];

	cf_cli_problem_line(status, body, body != NULL ? strlen(body) : 0, line, sizeof(line));
	assert_string_equal(line, want);
}

static void test_problem_line(void **state)
{
	problem_is(404,
		   "{\"type\":\"urn:coffre:problem:not-found\",\"title\":\"Not found\",\"status\":404,"
		   "\"detail\":\"no such record\",\"trace_id\":\"0123456789abcdef0123456789abcdef\"}",
		   "coffre: 404 not-found: no such record");
	problem_is(403, "{\"type\":\"urn:coffre:problem:wrong-organization\",\"title\":\"Other org\"}",
		   "coffre: 403 wrong-organization: Other org");
	problem_is(409, "{\"type\":\"urn:coffre:problem:conflict\",\"detail\":\"\"}", "coffre: 409 conflict");
	problem_is(400, "{\"type\":\"about:blank\",\"detail\":\"x\"}", "coffre: 400 about:blank: x");
	problem_is(503, "{\"type\":\"urn:coffre:problem:sealed\",\"detail\":\"sealed\"}", "coffre: 503 sealed: sealed");
	problem_is(502, "<html>bad gateway</html>", "coffre: 502 server error (no problem details)");
	problem_is(404, NULL, "coffre: 404 request refused (no problem details)");
	problem_is(418, "[1,2]", "coffre: 418 request refused (no problem details)");
	/* the daemon's text never drives the terminal */
	problem_is(400, "{\"type\":\"urn:coffre:problem:x\\u001b[31m\",\"detail\":\"a\\nb\\u009bc\\u007f\"}",
		   "coffre: 400 x?[31m: a?b??c?");
}

static void test_put_and_print(void **state)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	json_t *obj;
	cf_err err = {0};

	assert_non_null(f);
	{
		const char *raw = "a\x1b[31mb\tc\xc2\x9b"
				  "d\xc3\xa9\x7f";
		cf_cli_put(f, raw, strlen(raw));
	}
	fclose(f);
	assert_string_equal(buf, "a\\x1b[31mb\\x09c\\xc2\\x9bd\xc3\xa9\\x7f");
	free(buf);

	{
		const char *text = "{\"id\":\"r_1\",\"version\":2,\"ok\":true,\"org\":null,\"roles\":[\"a\",\"b\"],"
				   "\"fields\":{\"name\":\"Ann\",\"addr\":{\"city\":\"N\"},\"e\":{}},"
				   "\"grants\":[{\"c\":1}],\"none\":[]}";
		assert_int_equal(cf_json_parse(text, strlen(text), 32, &obj, &err), CF_OK);
	}
	f = open_memstream(&buf, &len);
	assert_non_null(f);
	cf_cli_print_object(f, obj, 0);
	fclose(f);
	assert_string_equal(buf, "id: r_1\n"
				 "version: 2\n"
				 "ok: true\n"
				 "org: -\n"
				 "roles: a, b\n"
				 "fields:\n"
				 "  name: Ann\n"
				 "  addr:\n"
				 "    city: N\n"
				 "  e: {}\n"
				 "grants:\n"
				 "  - {\"c\":1}\n"
				 "none:\n");
	free(buf);
	assert_string_equal(cf_cli_str(obj, "id"), "r_1");
	assert_string_equal(cf_cli_str(obj, "org"), "-");
	assert_string_equal(cf_cli_str(obj, "missing"), "-");
	assert_string_equal(cf_cli_str(obj, "version"), "");
	json_decref(obj);
}

/* ------------------------------------------------------------------ */
/* Local input                                                          */

static void secret_ok(const char *content, size_t len, const char *want)
{
	const char *p = write_tmp("secret", content, len);
	char *s = NULL;
	cf_err err = {0};

	assert_int_equal(cf_cli_read_secret(p, "password", 16, &s, &err), CF_OK);
	assert_string_equal(s, want);
	cf_cli_secret_free(s);
}

static void secret_refused(const char *content, size_t len, cf_rc rc, const char *detail_end)
{
	const char *p = write_tmp("secret", content, len);
	char *s = NULL;
	cf_err err = {0};
	size_t dl, el = strlen(detail_end);

	assert_int_equal(cf_cli_read_secret(p, "password", 16, &s, &err), rc);
	assert_null(s);
	dl = strlen(err.detail);
	assert_true(dl >= el);
	assert_string_equal(err.detail + dl - el, detail_end);
}

static void test_read_secret(void **state)
{
	char *s = NULL;
	cf_err err = {0};
	char missing[600];

	secret_ok("correct horse\n", 14, "correct horse");
	secret_ok("pw\r\n", 4, "pw");
	secret_ok("no newline", 10, "no newline");
	secret_ok(" spaces kept  \n", 15, " spaces kept  ");
	secret_ok("0123456789abcdef\n", 17, "0123456789abcdef"); /* exactly the cap */
	secret_refused("", 0, CF_EINVAL, "no password in the file");
	secret_refused("\n", 1, CF_EINVAL, "no password in the file");
	secret_refused("a\nb\n", 4, CF_EINVAL, "the file must hold the password on one line");
	secret_refused("a\rb", 3, CF_EINVAL, "the file must hold the password on one line");
	secret_refused("a\0b\n", 4, CF_EINVAL, "the password holds a NUL byte");
	secret_refused("0123456789abcdefX\n", 18, CF_ETOOBIG, "the password is longer than 16 bytes");
	secret_refused("0123456789abcdef0123456789\n", 27, CF_ETOOBIG, "is larger than 18 bytes");
	assert_int_equal(cf_snprintf(missing, sizeof(missing), "%s/none", tmpdir), CF_OK);
	assert_int_equal(cf_cli_read_secret(missing, "password", 16, &s, &err), CF_EIO);
	assert_null(s);
	assert_non_null(strstr(err.detail, "cannot open"));
}

static void test_read_file(void **state)
{
	char big[5000];
	const char *p;
	char *text = NULL;
	size_t len = 0;
	cf_err err = {0};

	memset(big, 'z', sizeof(big));
	p = write_tmp("big", big, sizeof(big));
	assert_int_equal(cf_cli_read_file(p, sizeof(big), &text, &len, &err), CF_OK);
	assert_int_equal(len, sizeof(big));
	assert_int_equal(text[len], '\0');
	assert_memory_equal(text, big, sizeof(big));
	cf_cli_secret_free(text);
	assert_int_equal(cf_cli_read_file(p, sizeof(big) - 1, &text, &len, &err), CF_ETOOBIG);
	assert_null(text);
	p = write_tmp("empty", "", 0);
	assert_int_equal(cf_cli_read_file(p, 10, &text, &len, &err), CF_OK);
	assert_int_equal(len, 0);
	assert_string_equal(text, "");
	cf_cli_secret_free(text);
}

static void test_json_arg(void **state)
{
	json_t *v = NULL;
	cf_err err = {0};
	char deep[80];
	const char *p;

	assert_int_equal(cf_cli_json_arg("--fields", "{\"a\":1,\"b\":{\"c\":[true]}}", JSON_OBJECT, &v, &err), CF_OK);
	assert_int_equal(json_integer_value(json_object_get(v, "a")), 1);
	json_decref(v);

	assert_int_equal(cf_cli_json_arg("--fields", "{\"name\":\"Ann\",\"name\":\"Bob\"}", JSON_OBJECT, &v, &err),
			 CF_EINVAL);
	assert_null(v);
	assert_int_equal(err.problem, CF_P_DUPLICATE_KEY);
	assert_string_equal(err.detail, "--fields is not acceptable JSON (duplicate-key)");

	assert_int_equal(cf_cli_json_arg("--fields", "{\"name\": Ann}", JSON_OBJECT, &v, &err), CF_EINVAL);
	assert_int_equal(err.problem, CF_P_MALFORMED_JSON);
	assert_string_equal(err.detail, "--fields is not valid JSON (malformed-json at line 1 column 12)");
	assert_null(strstr(err.detail, "Ann"));

	assert_int_equal(cf_cli_json_arg("--fields", "", JSON_OBJECT, &v, &err), CF_EINVAL);
	assert_string_equal(err.detail, "--fields is not acceptable JSON (malformed-json)");

	assert_int_equal(cf_cli_json_arg("--fields", "[1]", JSON_OBJECT, &v, &err), CF_EINVAL);
	assert_int_equal(err.problem, CF_P_WRONG_TYPE);
	assert_string_equal(err.detail, "--fields must be an object");

	memset(deep, '[', 33);
	memset(deep + 33, ']', 33);
	deep[66] = '\0';
	assert_int_equal(cf_cli_json_arg("the grants file", deep, JSON_ARRAY, &v, &err), CF_EINVAL);
	assert_int_equal(err.problem, CF_P_TOO_DEEP);
	assert_string_equal(err.detail, "the grants file is not acceptable JSON (too-deep)");

	p = write_tmp("fields.json", "{\"x\":\"y\"}\n", 10);
	{
		char arg[600];
		assert_int_equal(cf_snprintf(arg, sizeof(arg), "@%s", p), CF_OK);
		assert_int_equal(cf_cli_json_arg("--fields", arg, JSON_OBJECT, &v, &err), CF_OK);
		assert_string_equal(json_string_value(json_object_get(v, "x")), "y");
		json_decref(v);
		assert_int_equal(cf_cli_json_file("the grants file", p, JSON_ARRAY, &v, &err), CF_EINVAL);
		assert_string_equal(err.detail, "the grants file must be an array");
	}
	assert_int_equal(cf_cli_json_arg("--fields", "@/nonexistent/f.json", JSON_OBJECT, &v, &err), CF_EIO);
}

/* ------------------------------------------------------------------ */
/* Dispatch (no daemon: nothing here reaches the network but exit 3)    */

/* Runs the client on a NULL-terminated argument list; captures stdout and stderr. */
static int run(char **out, char **errout, ...)
{
	char *argv[40];
	int argc = 0, ex;
	capture co, ce;
	va_list ap;

	va_start(ap, errout);
	for (char *s; (s = va_arg(ap, char *)) != NULL && argc < 40;)
		argv[argc++] = s;
	va_end(ap);
	capture_begin(&co, 1);
	capture_begin(&ce, 2);
	ex = cf_cli_dispatch(argc, argv);
	*errout = capture_end(&ce);
	*out = capture_end(&co);
	return ex;
}

static void test_dispatch_help(void **state)
{
	char *o, *e;

	assert_int_equal(run(&o, &e, "init", "--data", "x", NULL), -1);
	free(o), free(e);
	assert_int_equal(run(&o, &e, "org", NULL), 2);
	assert_non_null(strstr(e, "usage: coffre org <verb>"));
	free(o), free(e);
	assert_int_equal(run(&o, &e, "org", "--help", NULL), 0);
	assert_non_null(strstr(o, "  create ID "));
	assert_non_null(strstr(o, "  list "));
	assert_non_null(strstr(o, "  show ID "));
	free(o), free(e);
	assert_int_equal(run(&o, &e, "record", "create", "--help", NULL), 0);
	assert_non_null(strstr(o, "usage: coffre record create --org ORG --collection NAME --purpose PURPOSE "));
	for (size_t i = 0; i < CF_ARRAY_LEN(record_create_opts); i++) {
		char flag[64];
		assert_int_equal(cf_snprintf(flag, sizeof(flag), "  --%s ", record_create_opts[i].name), CF_OK);
		assert_non_null(strstr(o, flag));
	}
	assert_non_null(strstr(o, "  --json "));
	assert_non_null(strstr(o, "Exit codes: 0 success, 1 refused"));
	assert_string_equal(e, "");
	free(o), free(e);
	assert_int_equal(run(&o, &e, "login", "-h", NULL), 0);
	assert_non_null(strstr(o, "usage: coffre login --user USER [--org ORG] [--password-file FILE]"));
	free(o), free(e);
	assert_int_equal(run(&o, &e, "org", "bogus", NULL), 2);
	assert_non_null(strstr(e, "coffre: unknown command 'coffre org bogus'"));
	free(o), free(e);
	assert_int_equal(run(&o, &e, "org", "85073003328", NULL), 2);
	assert_null(strstr(e, "85073003328"));
	free(o), free(e);

	/* every verb of every group answers --help */
	for (size_t g = 0; g < CF_ARRAY_LEN(groups); g++) {
		for (size_t v = 0; v < groups[g]->nverbs; v++) {
			const char *verb = groups[g]->verbs[v].name;
			char *argv[3] = {(char *)groups[g]->noun, verb != NULL ? (char *)verb : "--help", "--help"};
			capture co;
			int ex;
			capture_begin(&co, 1);
			ex = cf_cli_dispatch(verb != NULL ? 3 : 2, argv);
			o = capture_end(&co);
			assert_int_equal(ex, 0);
			assert_non_null(strstr(o, "usage: coffre "));
			free(o);
		}
	}
}

static void test_usage_lines(void **state)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	size_t lines = 0;

	assert_non_null(f);
	cf_cli_usage(f);
	fclose(f);
	for (size_t i = 0; i < len; i++)
		lines += buf[i] == '\n';
	assert_int_equal(lines, CF_ARRAY_LEN(groups));
	assert_non_null(strstr(buf, "  org         create|list|show "));
	assert_non_null(strstr(buf, "  user        add|list|show|block|unblock|roles "));
	assert_non_null(strstr(buf, "  record      create|get|update|delete "));
	assert_non_null(strstr(buf, "  login "));
	assert_non_null(strstr(buf, "  unseal "));
	free(buf);
}

static void test_dispatch_refusals(void **state)
{
	char *o, *e;
	const char *nid = write_tmp_str("nid", "85073003328\n");
	const char *nofile = "/nonexistent/pw";
	/* a closed port: nothing below may get that far except where exit 3 is expected */
	char *addr = "--addr=https://127.0.0.1:1";

	/* a national identifier on the command line is refused and never echoed */
	assert_int_equal(run(&o, &e, "subject", "lookup", "--org", "o", "--purpose", "p", "--national-id", "85073003328",
			     NULL),
			 2);
	assert_null(strstr(e, "85073003328"));
	assert_non_null(strstr(e, "--national-id only accepts '-'"));
	assert_string_equal(o, "");
	free(o), free(e);
	assert_int_equal(run(&o, &e, "subject", "lookup", "--org", "o", "--purpose", "p", "--token", "t", addr, NULL), 2);
	assert_non_null(strstr(e, "the national identifier is required"));
	free(o), free(e);
	assert_int_equal(run(&o, &e, "subject", "lookup", "--org", "o", "--purpose", "p", "--token", "t", addr,
			     "--national-id-file", nid, "--national-id", "-", NULL),
			 2);
	assert_non_null(strstr(e, "not both"));
	free(o), free(e);

	/* no token */
	assert_int_equal(run(&o, &e, "me", addr, NULL), 2);
	assert_non_null(strstr(e, "coffre: no token"));
	free(o), free(e);
	/* http refused before any connection */
	assert_int_equal(run(&o, &e, "health", "--addr", "http://127.0.0.1:1", NULL), 2);
	assert_non_null(strstr(e, "refusing an http:// address"));
	free(o), free(e);
	/* bad --fields fail locally, without the content */
	assert_int_equal(run(&o, &e, "record", "create", "--org", "o", "--collection", "c", "--purpose", "p",
			     "--national-id-file", nid, "--fields", "{\"name\":\"Ann\",\"name\":\"Bob\"}", "--token", "t",
			     addr, NULL),
			 2);
	assert_non_null(strstr(e, "coffre: --fields is not acceptable JSON (duplicate-key)"));
	assert_null(strstr(e, "Ann"));
	free(o), free(e);
	assert_int_equal(run(&o, &e, "record", "create", "--org", "o", "--collection", "c", "--purpose", "p",
			     "--national-id", "-", "--fields", "@-", "--token", "t", addr, NULL),
			 2);
	assert_non_null(strstr(e, "cannot both come from stdin"));
	free(o), free(e);
	assert_int_equal(run(&o, &e, "record", "update", "r1", "--org", "o", "--collection", "c", "--purpose", "p",
			     "--fields", "{}", "--version", "0", "--token", "t", addr, NULL),
			 2);
	assert_non_null(strstr(e, "--version must be a positive integer"));
	free(o), free(e);
	assert_int_equal(run(&o, &e, "record", "get", "r1", "--org", "o", "--collection", "c", "--purpose", "a\nb",
			     "--token", "t", addr, NULL),
			 2);
	assert_non_null(strstr(e, "--purpose must be 1 to 256 printable ASCII characters"));
	free(o), free(e);
	assert_int_equal(run(&o, &e, "record", "get", "..", "--org", "o", "--collection", "c", "--purpose", "p",
			     "--token", "t", addr, NULL),
			 2);
	free(o), free(e);
	assert_int_equal(run(&o, &e, "collection", "apply", "--org", "o", "-", "--token", "t", addr, NULL), 2);
	assert_non_null(strstr(e, "--name is required when the definition comes from stdin"));
	free(o), free(e);
	assert_int_equal(run(&o, &e, "collection", "apply", "--org", "o", "/nonexistent/x.json", "--token", "t", addr,
			     NULL),
			 5);
	free(o), free(e);
	assert_int_equal(run(&o, &e, "login", "--user", "u", "--password-file", nofile, addr, NULL), 5);
	assert_non_null(strstr(e, "cannot open /nonexistent/pw"));
	free(o), free(e);
	assert_int_equal(run(&o, &e, "org", "create", "\xff", "--name", "n", "--token", "t", addr, NULL), 2);
	assert_non_null(strstr(e, "not valid UTF-8"));
	free(o), free(e);
	assert_int_equal(run(&o, &e, "org", "list", "--config", "/nonexistent/cli.conf", NULL), 5);
	free(o), free(e);

	/* a closed port is a connection failure, and the token never shows */
	assert_int_equal(run(&o, &e, "org", "list", "--token", "cft_topsecret", addr, NULL), 3);
	assert_non_null(strstr(e, "coffre: cannot reach https://127.0.0.1:1"));
	assert_null(strstr(e, "topsecret"));
	assert_string_equal(o, "");
	free(o), free(e);
	assert_int_equal(run(&o, &e, "subject", "lookup", "--org", "o", "--purpose", "p", "--token", "t", addr,
			     "--national-id-file", nid, NULL),
			 3);
	assert_null(strstr(e, "85073003328"));
	free(o), free(e);
	assert_int_equal(run(&o, &e, "health", addr, "--cacert", "/nonexistent/ca.pem", NULL), 5);
	assert_non_null(strstr(e, "cannot read the CA certificate"));
	free(o), free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_conf_parse_ok),	   cmocka_unit_test(test_conf_parse_empty),
		cmocka_unit_test(test_conf_parse_refused), cmocka_unit_test(test_conf_load),
		cmocka_unit_test(test_resolve_precedence), cmocka_unit_test(test_check_addr),
		cmocka_unit_test(test_path),		   cmocka_unit_test(test_args_ok),
		cmocka_unit_test(test_args_refused),	   cmocka_unit_test(test_args_repeat_cap),
		cmocka_unit_test(test_opt_accessors),	   cmocka_unit_test(test_exit_codes),
		cmocka_unit_test(test_problem_line),	   cmocka_unit_test(test_put_and_print),
		cmocka_unit_test(test_read_secret),	   cmocka_unit_test(test_read_file),
		cmocka_unit_test(test_json_arg),	   cmocka_unit_test(test_dispatch_help),
		cmocka_unit_test(test_usage_lines),	   cmocka_unit_test(test_dispatch_refusals),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
