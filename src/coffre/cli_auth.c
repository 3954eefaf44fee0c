/*
 * cli_auth.c - the session and instance commands of the client: login,
 * logout, me, health and unseal.
 *
 * Passwords and the unseal passphrase come from a file or a stdin line,
 * never from argv, and are wiped as soon as the request body is built.
 * Only `login` prints a token: that is its purpose.
 */
#include "common/cf.h"
#include "cli.h"

/* login ------------------------------------------------------------- */

static const cf_cli_option login_opts[] = {
	{"user", "USER", CF_CLI_OPT_REQUIRED, "user name"},
	{"org", "ORG", 0, "organization to act for (omit it for instance users such as admin)"},
	{"password-file", "FILE", 0, "file holding the password on one line (else a line is read from stdin)"},
};

static int run_login(cf_cli_ctx *c)
{
	char *pw = NULL;
	json_t *body = NULL;
	cf_cli_resp r = {0};
	cf_err err = {0};
	const char *token;
	int ex;

	if (cf_cli_read_secret(cf_cli_opt(c, "password-file"), "password", CF_CLI_MAX_SECRET, &pw, &err) != CF_OK)
		return cf_cli_fail(c, &err);
	ex = cf_cli_pack(c, &body, "{s:s, s:s, s:s*}", "username", cf_cli_opt(c, "user"), "password", pw, "org",
			 cf_cli_opt(c, "org"));
	cf_cli_secret_free(pw);
	if (ex != CF_CLI_EXIT_OK)
		return ex;
	ex = cf_cli_request(c, "POST", "/v1/auth/login", NULL, body, &r);
	if (ex == CF_CLI_EXIT_OK)
		ex = cf_cli_report(c, &r);
	if (ex == CF_CLI_EXIT_OK) {
		token = json_string_value(json_object_get(r.json, "token"));
		if (token == NULL) {
			fputs("coffre: the daemon's login answer has no token\n", stderr);
			ex = CF_CLI_EXIT_SERVER;
		} else if (c->args.json) {
			cf_cli_print_body(&r);
		} else {
			cf_cli_put(stdout, token, strlen(token));
			fputc('\n', stdout);
		}
	}
	json_decref(body);
	cf_cli_resp_free(&r);
	return ex;
}

static const cf_cli_verb login_verbs[] = {
	{NULL, NULL, 0,
	 "Logs in and prints the session token (with --json, the whole answer: token, expires_at, username, org, "
	 "roles). Use it as COFFRE_TOKEN. The password is never taken from the command line.",
	 login_opts, CF_ARRAY_LEN(login_opts), 0, run_login},
};

const cf_cli_group cf_cli_group_login = {"login", "log in and print a session token", login_verbs,
					 CF_ARRAY_LEN(login_verbs)};

/* logout ------------------------------------------------------------ */

static void print_logged_out(const cf_cli_ctx *c, const json_t *answer)
{
	puts("logged out: the token is revoked");
}

static int run_logout(cf_cli_ctx *c)
{
	return cf_cli_call(c, "POST", "/v1/auth/logout", NULL, NULL, print_logged_out);
}

static const cf_cli_verb logout_verbs[] = {
	{NULL, NULL, 0, "Revokes the session token in use.", NULL, 0, CF_CLI_VERB_AUTH, run_logout},
};

const cf_cli_group cf_cli_group_logout = {"logout", "revoke the session token", logout_verbs,
					  CF_ARRAY_LEN(logout_verbs)};

/* me ---------------------------------------------------------------- */

static int run_me(cf_cli_ctx *c)
{
	return cf_cli_call(c, "GET", "/v1/me", NULL, NULL, cf_cli_print_plain);
}

static const cf_cli_verb me_verbs[] = {
	{NULL, NULL, 0, "Shows who the token acts as: username, organization, roles, authentication method.",
	 NULL, 0, CF_CLI_VERB_AUTH, run_me},
};

const cf_cli_group cf_cli_group_me = {"me", "show who the token acts as", me_verbs, CF_ARRAY_LEN(me_verbs)};

/* health ------------------------------------------------------------ */

static int run_health(cf_cli_ctx *c)
{
	cf_cli_resp r = {0};
	int ex;

	ex = cf_cli_request(c, "GET", "/v1/sys/health", NULL, NULL, &r);
	if (ex != CF_CLI_EXIT_OK)
		goto out;
	/* a sealed daemon answers 503 with a health document, not a problem */
	if ((r.status == 200 || r.status == 503) && json_is_object(r.json) &&
	    json_is_boolean(json_object_get(r.json, "sealed"))) {
		if (c->args.json)
			cf_cli_print_body(&r);
		else
			cf_cli_print_object(stdout, r.json, 0);
		ex = cf_cli_exit_for_status(r.status);
		goto out;
	}
	ex = cf_cli_report(c, &r);
	if (ex == CF_CLI_EXIT_OK) {
		fputs("coffre: the daemon's health answer is not a health document\n", stderr);
		ex = CF_CLI_EXIT_SERVER;
	}
out:
	cf_cli_resp_free(&r);
	return ex;
}

static const cf_cli_verb health_verbs[] = {
	{NULL, NULL, 0,
	 "Asks the daemon whether it is up and unsealed (no authentication). Exits 0 when up and unsealed, "
	 "4 when sealed.",
	 NULL, 0, 0, run_health},
};

const cf_cli_group cf_cli_group_health = {"health", "check that the daemon is up and unsealed", health_verbs,
					  CF_ARRAY_LEN(health_verbs)};

/* unseal ------------------------------------------------------------ */

static const cf_cli_option unseal_opts[] = {
	{"passphrase-file", "FILE", 0, "file holding the passphrase on one line (else a line is read from stdin)"},
};

static void print_unsealed(const cf_cli_ctx *c, const json_t *answer)
{
	puts("unsealed");
}

static int run_unseal(cf_cli_ctx *c)
{
	char *pp = NULL;
	json_t *body = NULL;
	cf_err err = {0};
	int ex;

	if (cf_cli_read_secret(cf_cli_opt(c, "passphrase-file"), "passphrase", CF_CLI_MAX_SECRET, &pp, &err) !=
	    CF_OK)
		return cf_cli_fail(c, &err);
	ex = cf_cli_pack(c, &body, "{s:s}", "passphrase", pp);
	cf_cli_secret_free(pp);
	if (ex != CF_CLI_EXIT_OK)
		return ex;
	ex = cf_cli_call(c, "POST", "/v1/sys/unseal", NULL, body, print_unsealed);
	json_decref(body);
	return ex;
}

static const cf_cli_verb unseal_verbs[] = {
	{NULL, NULL, 0,
	 "Unseals the vault with its passphrase (no token needed; the passphrase is never taken from the "
	 "command line).",
	 unseal_opts, CF_ARRAY_LEN(unseal_opts), 0, run_unseal},
};

const cf_cli_group cf_cli_group_unseal = {"unseal", "unseal the vault with its passphrase", unseal_verbs,
					  CF_ARRAY_LEN(unseal_verbs)};
