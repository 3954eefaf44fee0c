/*
 * vault_auth.c - logins, session tokens and API keys.
 *
 * Passwords are verified with Argon2id outside any store transaction, so a
 * slow hash never holds the store. Unknown users cost the same time as
 * known ones (dummy verify) and get the same answer. Repeated failures lock
 * the account for a while. Tokens and API key secrets are random and only
 * their hashes are stored. Every login, success or failure, is audited.
 */
#include "common/cf.h"
#include "vault/vault_int.h"
#include "common/json.h"
#include "common/log.h"

#define TOKEN_PREFIX "cft_"
#define APIKEY_PREFIX "cfk_"

static cf_rc login_denied(cf_vault *v, json_t *entry, cf_rc rc, cf_problem p, const char *reason,
			  const char *shown, cf_err *err)
{
	rc = vault_deny(v, entry, rc, p, reason, err);
	/* The audit entry keeps the precise reason; the client gets the generic one. */
	if (rc != CF_EAUDIT && shown != NULL)
		cf_err_set(err, rc, p, "%s", shown);
	return rc;
}

cf_rc cf_vault_login(cf_vault *v, cf_request *r, json_t *body, json_t **answer, cf_err *err)
{
	const char *username = NULL, *password = NULL, *org = NULL;
	cf_user_row user = {0};
	cf_member_row member = {0};
	cf_token_row tok = {0};
	char token[96], tokbody[64], exp[CF_TIME_STR_LEN];
	json_t *entry = NULL, *roles = NULL;
	cf_tx *tx = NULL;
	int64_t now;
	bool have_member = false;
	cf_rc rc;

	*answer = NULL;
	rc = cf_json_unpack(err, "login body", body, "{s:s, s:s, s?:s}", "username", &username, "password",
			    &password, "org", &org);
	if (rc != CF_OK)
		return rc;
	if (strlen(password) > 1024)
		return cf_err_set(err, CF_EINVAL, CF_P_TOO_LONG, "password longer than 1024 bytes");

	entry = vault_entry(v, r, "auth.login");
	if (vault_username_valid(username))
		cf_audit_set(entry, "user", username);
	if (org != NULL && vault_org_id_valid(org))
		cf_audit_set_resource(entry, org, NULL, NULL, NULL);
	if (!vault_username_valid(username) || (org != NULL && !vault_org_id_valid(org))) {
		cf_password_dummy_verify(password, strlen(password));
		return login_denied(v, entry, CF_EUNAUTH, CF_P_INVALID_CREDENTIALS, "malformed username or organization",
				    "invalid credentials", err);
	}

	/* Read the user and membership, then verify outside the transaction. */
	rc = cf_store_begin(v->store, false, &tx, err);
	if (rc != CF_OK)
		goto out;
	rc = cf_st_user_get(tx, username, &user, err);
	if (rc == CF_OK && org != NULL) {
		cf_rc mrc = cf_st_member_get(tx, user.id, org, &member, err);
		if (mrc == CF_OK) {
			have_member = true;
			if (member.subdivision != NULL) {
				json_t *sub = NULL;
				if (cf_st_subdivision_get(tx, org, member.subdivision, &sub, NULL) == CF_OK &&
				    json_is_true(json_object_get(sub, "blocked")))
					member.blocked = true; /* a blocked subdivision blocks its members */
				json_decref(sub);
			}
		}
		else if (mrc != CF_ENOTFOUND)
			rc = mrc;
	}
	cf_tx_rollback(tx);
	tx = NULL;
	if (rc == CF_ENOTFOUND || (rc == CF_OK && user.pwhash == NULL)) {
		cf_password_dummy_verify(password, strlen(password));
		rc = login_denied(v, entry, CF_EUNAUTH, CF_P_INVALID_CREDENTIALS, "unknown user", "invalid credentials",
				  err);
		entry = NULL;
		goto out;
	}
	if (rc != CF_OK)
		goto out;

	now = cf_now_us(v->env);
	if (user.locked_until_us > now) {
		rc = login_denied(v, entry, CF_ELOCKED, CF_P_ACCOUNT_LOCKED, "account locked after repeated failures",
				  "too many failed logins; try again later", err);
		entry = NULL;
		goto out;
	}
	if (cf_password_verify(user.pwhash, password, strlen(password)) != CF_OK) {
		int failed = user.failed_logins + 1;
		int64_t until = 0;
		if (failed >= v->cfg.login_max_failures) {
			until = now + (int64_t)v->cfg.login_lockout_seconds * 1000000;
			failed = 0;
			cf_log(CF_LOG_WARN, "login: account locked after %ld failures (trace %s)",
			       v->cfg.login_max_failures, r->trace_id ? r->trace_id : "-");
		}
		if (cf_store_begin(v->store, true, &tx, NULL) == CF_OK) {
			if (cf_st_user_set_login_state(tx, user.id, failed, until, NULL) != CF_OK)
				cf_tx_rollback(tx);
			else if (cf_tx_commit(tx, NULL) != CF_OK)
				cf_log(CF_LOG_ERROR, "login: the failure counter could not be stored");
			tx = NULL;
		}
		rc = login_denied(v, entry, CF_EUNAUTH, CF_P_INVALID_CREDENTIALS, "wrong password",
				  "invalid credentials", err);
		entry = NULL;
		goto out;
	}
	if (org == NULL) {
		roles = json_loads(user.instance_roles ? user.instance_roles : "[]", 0, NULL);
		if (roles == NULL || json_array_size(roles) == 0) {
			rc = login_denied(v, entry, CF_EUNAUTH, CF_P_INVALID_CREDENTIALS,
					  "organization required for this user", "invalid credentials", err);
			entry = NULL;
			goto out;
		}
	} else {
		if (!have_member) {
			rc = login_denied(v, entry, CF_EUNAUTH, CF_P_INVALID_CREDENTIALS, "not a member of the organization",
					  "invalid credentials", err);
			entry = NULL;
			goto out;
		}
		if (member.blocked) {
			rc = login_denied(v, entry, CF_EDENIED, CF_P_ACCOUNT_BLOCKED, "account blocked",
					  "the account is blocked in this organization", err);
			entry = NULL;
			goto out;
		}
		roles = json_loads(member.roles, 0, NULL);
		if (roles == NULL) {
			rc = cf_err_set(err, CF_EINTERNAL, CF_P_INTERNAL, "stored roles unreadable");
			goto out;
		}
	}

	/* Success: a new token, the failure counter reset, the entry, one commit. */
	rc = cf_random_token(v->env, 32, tokbody, sizeof(tokbody));
	if (rc != CF_OK || (rc = cf_snprintf(token, sizeof(token), TOKEN_PREFIX "%s", tokbody)) != CF_OK) {
		rc = cf_err_set(err, CF_EINTERNAL, CF_P_INTERNAL, "cannot make a token");
		goto out;
	}
	cf_hash_secret(token, strlen(token), tok.hash);
	tok.user_id = user.id;
	tok.org = (char *)org;
	memcpy(tok.method, "password", sizeof("password"));
	tok.created_us = now;
	tok.expires_us = now + (int64_t)v->cfg.token_ttl_seconds * 1000000;
	rc = cf_store_begin(v->store, true, &tx, err);
	if (rc != CF_OK)
		goto out;
	if ((rc = cf_st_user_set_login_state(tx, user.id, 0, 0, err)) != CF_OK ||
	    (rc = cf_st_token_insert(tx, &tok, err)) != CF_OK || (rc = cf_st_token_purge_expired(tx, now, err)) != CF_OK)
		goto out;
	json_object_set(json_object_get(entry, "actor"), "roles", roles);
	{
		char aid[32];
		if (vault_user_audit_id(v, user.id, aid) == CF_OK)
			json_object_set_new(json_object_get(entry, "actor"), "user", json_string(aid));
		if (org != NULL)
			json_object_set_new(json_object_get(entry, "actor"), "org", json_string(org));
	}
	cf_audit_outcome(entry, true, NULL);
	rc = vault_audit(tx, entry, err);
	entry = NULL;
	if (rc != CF_OK)
		goto out;
	rc = vault_commit(tx, err);
	tx = NULL;
	if (rc != CF_OK)
		goto out;
	cf_time_format(tok.expires_us, exp);
	*answer = json_pack("{s:s, s:s, s:s, s:s?, s:O}", "token", token, "expires_at", exp, "username", username,
			    "org", org, "roles", roles);
	if (*answer == NULL)
		rc = cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "out of memory");
out:
	cf_wipe(token, sizeof(token));
	cf_wipe(tokbody, sizeof(tokbody));
	cf_tx_rollback(tx);
	json_decref(entry);
	json_decref(roles);
	cf_user_row_release(&user);
	cf_member_row_release(&member);
	return rc;
}

cf_rc cf_vault_logout(cf_vault *v, cf_request *r, cf_err *err)
{
	cf_tx *tx = NULL;
	json_t *entry;
	cf_rc rc;

	if (strcmp(r->who.auth, "password") != 0)
		return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "only session tokens can be logged out");
	rc = cf_store_begin(v->store, true, &tx, err);
	if (rc != CF_OK)
		return rc;
	rc = cf_st_token_delete(tx, r->who.token_hash, err);
	if (rc != CF_OK && rc != CF_ENOTFOUND)
		goto fail;
	entry = vault_entry(v, r, "auth.logout");
	cf_audit_outcome(entry, true, NULL);
	rc = vault_audit(tx, entry, err);
	if (rc != CF_OK)
		goto fail;
	return vault_commit(tx, err);
fail:
	cf_tx_rollback(tx);
	return rc;
}

/* Fills the principal's roles from a membership (or instance roles). */
static cf_rc load_roles(cf_vault *v, cf_tx *tx, cf_principal *p, const cf_user_row *u, const char *org,
			cf_err *err)
{
	cf_member_row m = {0};
	cf_rc rc;

	if (org == NULL) {
		p->roles = json_loads(u->instance_roles ? u->instance_roles : "[]", 0, NULL);
		p->org[0] = '\0';
	} else {
		rc = cf_st_member_get(tx, u->id, org, &m, NULL);
		if (rc == CF_ENOTFOUND)
			return cf_err_set(err, CF_EUNAUTH, CF_P_UNAUTHENTICATED, "the membership no longer exists");
		if (rc != CF_OK)
			return cf_err_set(err, rc, CF_P_NONE, "cannot read the membership");
		if (m.blocked) {
			cf_member_row_release(&m);
			return cf_err_set(err, CF_EDENIED, CF_P_ACCOUNT_BLOCKED, "the account is blocked in this organization");
		}
		if (m.subdivision != NULL) {
			/* a blocked subdivision blocks its members */
			json_t *sub = NULL;
			bool blocked = cf_st_subdivision_get(tx, org, m.subdivision, &sub, NULL) == CF_OK &&
				       json_is_true(json_object_get(sub, "blocked"));
			json_decref(sub);
			if (blocked) {
				cf_member_row_release(&m);
				return cf_err_set(err, CF_EDENIED, CF_P_ACCOUNT_BLOCKED,
						  "the member's subdivision is blocked in this organization");
			}
		}
		p->roles = json_loads(m.roles, 0, NULL);
		memcpy(p->org, org, strlen(org) + 1);
		cf_member_row_release(&m);
	}
	if (p->roles == NULL || !json_is_array(p->roles))
		return cf_err_set(err, CF_EINTERNAL, CF_P_INTERNAL, "stored roles unreadable");
	memcpy(p->username, u->username, strlen(u->username) + 1);
	p->user_id = u->id;
	if (vault_user_audit_id(v, u->id, p->audit_id) != CF_OK)
		p->audit_id[0] = '\0';
	p->is_admin = (org == NULL) && vault_has_role(p, CF_ROLE_ADMIN);
	p->authenticated = true;
	return CF_OK;
}

cf_rc cf_vault_authenticate(cf_vault *v, cf_request *r, const char *bearer, cf_err *err)
{
	cf_principal *p = &r->who;
	cf_user_row u = {0};
	cf_token_row t = {0};
	cf_apikey_row k = {0};
	char hash[CF_HEX256_LEN];
	cf_tx *tx = NULL;
	int64_t now = cf_now_us(v->env);
	cf_rc rc;

	memset(p, 0, sizeof(*p));
	if (bearer == NULL || bearer[0] == '\0' || strlen(bearer) > 256)
		return cf_err_set(err, CF_EUNAUTH, CF_P_UNAUTHENTICATED, "a bearer token or API key is required");
	rc = cf_store_begin(v->store, false, &tx, err);
	if (rc != CF_OK)
		return rc;
	if (strncmp(bearer, TOKEN_PREFIX, strlen(TOKEN_PREFIX)) == 0) {
		cf_hash_secret(bearer, strlen(bearer), hash);
		rc = cf_st_token_get(tx, hash, &t, NULL);
		if (rc == CF_ENOTFOUND) {
			rc = cf_err_set(err, CF_EUNAUTH, CF_P_UNAUTHENTICATED, "unknown or revoked token");
			goto out;
		}
		if (rc != CF_OK) {
			rc = cf_err_set(err, rc, CF_P_NONE, "cannot read the token");
			goto out;
		}
		if (t.expires_us <= now) {
			rc = cf_err_set(err, CF_EUNAUTH, CF_P_TOKEN_EXPIRED, "the token has expired; log in again");
			goto out;
		}
		if ((rc = cf_st_user_get_by_id(tx, t.user_id, &u, err)) != CF_OK)
			goto out;
		rc = load_roles(v, tx, p, &u, t.org, err);
		memcpy(p->auth, "password", sizeof("password"));
		memcpy(p->token_hash, hash, sizeof(hash));
	} else if (strncmp(bearer, APIKEY_PREFIX, strlen(APIKEY_PREFIX)) == 0) {
		/* cfk_<id>_<secret>; the id is "k" + base64url, which may itself hold '_'. */
		const char *sep = strrchr(bearer, '.');
		char id[CF_ID_MAX + 1];
		size_t idlen;
		if (sep == NULL || (idlen = (size_t)(sep - bearer) - strlen(APIKEY_PREFIX)) == 0 || idlen > CF_ID_MAX) {
			rc = cf_err_set(err, CF_EUNAUTH, CF_P_UNAUTHENTICATED, "malformed API key");
			goto out;
		}
		memcpy(id, bearer + strlen(APIKEY_PREFIX), idlen);
		id[idlen] = '\0';
		rc = cf_st_apikey_get(tx, id, &k, NULL);
		cf_hash_secret(bearer, strlen(bearer), hash);
		if (rc != CF_OK || k.revoked || !cf_ct_equal(hash, k.hash, 64)) {
			rc = cf_err_set(err, CF_EUNAUTH, CF_P_UNAUTHENTICATED, "unknown or revoked API key");
			goto out;
		}
		if ((rc = cf_st_user_get_by_id(tx, k.user_id, &u, err)) != CF_OK)
			goto out;
		rc = load_roles(v, tx, p, &u, k.org, err);
		memcpy(p->auth, "api_key", sizeof("api_key"));
	} else {
		rc = cf_err_set(err, CF_EUNAUTH, CF_P_UNAUTHENTICATED, "unknown credential type");
	}
out:
	if (rc == CF_OK && r->keep_tx && r->tx == NULL)
		r->tx = tx; /* the operation goes on reading in it */
	else
		cf_tx_rollback(tx);
	if (rc != CF_OK)
		cf_principal_release(p);
	cf_user_row_release(&u);
	cf_token_row_release(&t);
	cf_apikey_row_release(&k);
	return rc;
}

void cf_request_release(cf_request *r)
{
	cf_tx_rollback(r->tx);
	r->tx = NULL;
	cf_principal_release(&r->who);
}

json_t *cf_vault_me(const cf_request *r)
{
	return json_pack("{s:s, s:s?, s:O, s:s}", "username", r->who.username,
			 "org", r->who.org[0] ? r->who.org : NULL, "roles", r->who.roles, "auth_method", r->who.auth);
}
