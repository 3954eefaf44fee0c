/*
 * vault_core.c - creating, opening, sealing and unsealing a vault; the key
 * hierarchy (root key -> organization keys -> subject data keys); audit and
 * identifier helpers shared by the other vault files.
 *
 * Keys: the root key never leaves guarded memory and is never written in
 * clear except in development mode's key file. Organization keys are
 * wrapped by the root key in the keystore (keys.db) with AD naming the
 * organization, so a wrapped key moved to another organization fails.
 */
#include "common/cf.h"
#include "vault/vault_int.h"
#include "common/json.h"
#include "common/log.h"
#include "pki/pki.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#define ROOT_KEY_FILE "root.key"
#define SEAL_FILE "seal.json"
#define ORG_KEY_AD "coffre/v1/org-kek/"
#define BIDX_CONTEXT "cfbidx01"
#define CKPT_CONTEXT "cfckpt01"
#define USER_CONTEXT "cfuser01"
#define KDF_BIDX 1
#define KDF_CKPT 2
#define KDF_USER 3

cf_rc cf_vault_path(const char *dir, const char *name, char *out, size_t outsize)
{
	return cf_snprintf(out, outsize, "%s/%s", dir, name);
}

void cf_principal_release(cf_principal *p)
{
	if (p == NULL)
		return;
	json_decref(p->roles);
	memset(p, 0, sizeof(*p));
}

bool vault_org_id_valid(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n == 0 || n > 64 || !(s[0] >= 'a' && s[0] <= 'z'))
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
			return false;
	}
	return true;
}

bool vault_username_valid(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n == 0 || n > CF_USERNAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.' ||
		      c == '@'))
			return false;
	}
	return true;
}

cf_rc vault_new_id(cf_vault *v, const char *prefix, char out[CF_ID_MAX + 1])
{
	char tok[48];
	cf_rc rc = cf_random_token(v->env, 16, tok, sizeof(tok));
	if (rc != CF_OK)
		return rc;
	return cf_snprintf(out, CF_ID_MAX + 1, "%s%s", prefix, tok);
}

/*
 * Ids of records and subjects, 16 bytes:
 *   2 bytes  shared by every id made in the same 64-second window: a keyed
 *            hash of the window (so an id tells nothing of when it was made
 *            to anyone without the root key);
 *   2 bytes  the millisecond within the window, plus a keyed offset of the
 *            window (mod 2^16): ids of one window ascend as they are made
 *            (with at most one wrap), and the value alone is no time either;
 *   12 bytes random (96 bits).
 * Ids of one window sit side by side in every index keyed by them, in the
 * order they were made: a create appends to the pages the creates just
 * before it dirtied. With the window alone, the ids of a minute (up to a
 * few hundred thousand at full speed) were spread at random over its part
 * of each index: each create of a batch dirtied a page of its own in the
 * records, their by-subject index and their versions (two thirds of the
 * pages a batch wrote to the log). Who sees two ids of the same window
 * learns which was made first, and how many milliseconds apart.
 */
#define ID_WINDOW_US (64 * 1000000LL)
#define ID_SHARED_BYTES 2
#define ID_TICK_BYTES 2
#define ID_BYTES 16

/* The published key, or NULL (sealed): no lock (see vault_int.h). */
static const cf_key *published(_Atomic(cf_key *) *slot)
{
	return atomic_load_explicit(slot, memory_order_acquire);
}

cf_rc vault_new_local_id(cf_vault *v, const cf_env *env, const char *prefix, char out[CF_ID_MAX + 1])
{
	char hex[CF_HEX256_LEN], label[40], tok[48];
	uint8_t head[ID_SHARED_BYTES + ID_TICK_BYTES], keyed[ID_SHARED_BYTES + ID_TICK_BYTES];
	int64_t now = cf_now_us(env);
	const cf_key *uk = published(&v->user_key);
	unsigned tick;
	cf_rc rc;

	if (uk == NULL)
		return CF_ESEALED;
	if (now < 0)
		now = 0;
	(void)snprintf(label, sizeof(label), "window:%lld", (long long)(now / ID_WINDOW_US));
	cf_blind_index(uk, "ids/window", label, strlen(label), hex);
	for (size_t i = 0; i < sizeof(keyed); i++) {
		char two[3] = {hex[2 * i], hex[2 * i + 1], '\0'};
		keyed[i] = (uint8_t)strtoul(two, NULL, 16);
	}
	tick = ((unsigned)((now % ID_WINDOW_US) / 1000) + ((unsigned)keyed[2] << 8 | keyed[3])) & 0xffffu;
	head[0] = keyed[0];
	head[1] = keyed[1];
	head[2] = (uint8_t)(tick >> 8);
	head[3] = (uint8_t)tick;
	rc = cf_prefixed_token(env, head, sizeof(head), ID_BYTES, tok, sizeof(tok));
	if (rc != CF_OK)
		return rc;
	return cf_snprintf(out, CF_ID_MAX + 1, "%s%s", prefix, tok);
}

bool vault_has_role(const cf_principal *p, const char *role)
{
	size_t i;
	json_t *r;
	json_array_foreach(p->roles, i, r)
	{
		if (json_is_string(r) && strcmp(json_string_value(r), role) == 0)
			return true;
	}
	return false;
}

bool vault_is_member(const cf_request *r, const char *org)
{
	return r->who.authenticated && r->who.org[0] != '\0' && strcmp(r->who.org, org) == 0;
}

void vault_actor(const cf_request *r, cf_actor *a)
{
	memset(a, 0, sizeof(*a));
	a->trace_id = r->trace_id;
	a->ip = r->ip;
	if (r->who.authenticated) {
		a->user = r->who.audit_id[0] ? r->who.audit_id : r->who.username;
		a->org = r->who.org[0] ? r->who.org : NULL;
		a->roles = r->who.roles;
		a->auth = r->who.auth;
	}
}

json_t *vault_entry(cf_vault *v, const cf_request *r, const char *action)
{
	cf_actor a;
	json_t *e;
	vault_actor(r, &a);
	e = cf_audit_entry_new(v->env, &a, action);
	if (e != NULL && r->purpose != NULL)
		cf_audit_set(e, "purpose", r->purpose);
	return e;
}

cf_rc vault_audit(cf_tx *tx, json_t *entry, cf_err *err)
{
	cf_rc rc = cf_audit_append(tx, entry, NULL, err);
	json_decref(entry);
	return rc;
}

cf_rc vault_commit(cf_tx *tx, cf_err *err)
{
	cf_err cerr = {0};
	if (cf_tx_commit(tx, &cerr) != CF_OK) {
		cf_log(CF_LOG_ERROR, "audit: commit failed: %s", cerr.detail);
		return cf_err_set(err, CF_EAUDIT, CF_P_AUDIT_UNAVAILABLE, "the audit trail cannot be written");
	}
	return CF_OK;
}

cf_rc vault_deny(cf_vault *v, json_t *entry, cf_rc rc, cf_problem problem, const char *reason, cf_err *err)
{
	cf_rc arc;

	cf_audit_outcome(entry, false, reason);
	arc = cf_trail_submit(v->trail, entry, NULL, NULL, NULL, err);
	if (arc != CF_OK)
		return cf_err_set(err, CF_EAUDIT, CF_P_AUDIT_UNAVAILABLE, "the audit trail cannot be written");
	return cf_err_set(err, rc, problem, "%s", reason);
}

cf_rc vault_user_audit_id(cf_vault *v, int64_t user_id, char out[32])
{
	char hex[CF_HEX256_LEN], label[32];
	const cf_key *uk = published(&v->user_key);

	if (uk == NULL)
		return CF_ESEALED;
	(void)snprintf(label, sizeof(label), "user:%lld", (long long)user_id);
	cf_blind_index(uk, "audit/user", label, strlen(label), hex);
	(void)snprintf(out, 32, "u_%.24s", hex);
	return CF_OK;
}

bool cf_vault_audit_healthy(cf_vault *v, char *detail, size_t size)
{
	return cf_trail_healthy(v->trail, detail, size);
}

void cf_vault_request_begin(cf_vault *v)
{
	cf_trail_request_begin(v->trail);
}

void cf_vault_request_end(cf_vault *v)
{
	cf_trail_request_end(v->trail);
}

/*
 * Keeps the verifier key in the store, so that `coffre audit verify` can
 * check signatures offline. It is public; an operator who fears that the
 * database itself was rewritten passes the key kept elsewhere (--key).
 */
static void remember_verifier_key(cf_vault *v)
{
	char *key = cf_trail_verifier_key(v->trail), *have = NULL;
	cf_tx *tx = NULL;

	if (key == NULL || cf_store_begin(v->store, true, &tx, NULL) != CF_OK) {
		free(key);
		return;
	}
	if (cf_st_meta_get(tx, "audit_verifier_key", &have, NULL) == CF_OK && strcmp(have, key) == 0) {
		cf_tx_rollback(tx);
	} else if (cf_st_meta_set(tx, "audit_verifier_key", key, NULL) != CF_OK || cf_tx_commit(tx, NULL) != CF_OK) {
		cf_log(CF_LOG_WARN, "audit: the verifier key could not be stored");
	}
	free(have);
	free(key);
}

/*
 * Publishes the root (taken) and the keys that hang off it (v->mu held,
 * the vault sealed): the user key first, then the root, so that whoever
 * sees the vault unsealed sees both.
 */
static cf_rc root_ready(cf_vault *v, cf_key *root, cf_err *err)
{
	cf_key *seed = cf_key_derive(root, KDF_CKPT, CKPT_CONTEXT);
	cf_key *uk = cf_key_derive(root, KDF_USER, USER_CONTEXT);
	cf_note_signer *signer = NULL;
	cf_rc rc;

	if (seed == NULL || uk == NULL) {
		cf_key_free(seed);
		cf_key_free(uk);
		cf_key_free(root);
		return cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "out of memory");
	}
	atomic_store_explicit(&v->user_key, uk, memory_order_release);
	atomic_store_explicit(&v->root, root, memory_order_release);
	rc = cf_note_signer_new(v->origin, seed, &signer, err);
	cf_key_free(seed);
	if (rc != CF_OK)
		return rc;
	if (v->trail != NULL)
		cf_trail_set_signer(v->trail, signer);
	else
		cf_note_signer_free(signer);
	return CF_OK;
}

/* Wraps a fresh organization key under the root key and stores it. */
cf_rc vault_org_keys_create(cf_vault *v, cf_tx *tx, const char *org, cf_err *err)
{
	char ad[128];
	cf_key *kek = NULL;
	uint8_t *wrapped = NULL;
	size_t wlen = 0;
	cf_rc rc;

	const cf_key *root = published(&v->root);

	if ((rc = cf_snprintf(ad, sizeof(ad), ORG_KEY_AD "%s", org)) != CF_OK)
		return cf_err_set(err, rc, CF_P_INTERNAL, "organization id too long");
	if (root == NULL)
		return cf_err_set(err, CF_ESEALED, CF_P_SEALED, "the vault is sealed");
	kek = cf_key_new_random(v->env);
	if (kek == NULL) {
		rc = cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "out of memory");
		goto out;
	}
	rc = cf_key_wrap(v->env, root, kek, ad, &wrapped, &wlen);
	if (rc != CF_OK) {
		cf_err_set(err, rc, CF_P_INTERNAL, "cannot wrap the organization key");
		goto out;
	}
	rc = cf_st_key_put(tx, "org", org, "kek", wrapped, wlen, cf_now_us(v->env), err);
out:
	cf_key_free(kek);
	free(wrapped);
	return rc;
}

static org_keys *find_org_keys(org_keys *k, const char *org)
{
	for (; k != NULL; k = k->next) {
		if (strcmp(k->org, org) == 0)
			return k;
	}
	return NULL;
}

cf_rc vault_org_keys_get(cf_vault *v, cf_tx *tx, const char *org, const cf_key **kek, const cf_key **bidx,
			 cf_err *err)
{
	char ad[128];
	uint8_t *wrapped = NULL;
	size_t wlen = 0;
	const cf_key *root = published(&v->root);
	org_keys *k;
	cf_key *unwrapped = NULL;
	cf_rc rc = CF_OK;

	if (root == NULL)
		return cf_err_set(err, CF_ESEALED, CF_P_SEALED, "the vault is sealed");
	k = find_org_keys(atomic_load_explicit(&v->keys, memory_order_acquire), org);
	if (k != NULL) {
		*kek = k->kek;
		*bidx = k->bidx;
		return CF_OK;
	}
	/* the first use since the unseal: loaded once, under mu, then published */
	pthread_mutex_lock(&v->mu);
	if ((k = find_org_keys(atomic_load_explicit(&v->keys, memory_order_relaxed), org)) != NULL)
		goto found;
	if ((rc = cf_snprintf(ad, sizeof(ad), ORG_KEY_AD "%s", org)) != CF_OK)
		goto out;
	rc = cf_st_key_get(tx, "org", org, "kek", &wrapped, &wlen, err);
	if (rc != CF_OK)
		goto out;
	rc = cf_key_unwrap(root, wrapped, wlen, ad, &unwrapped);
	if (rc != CF_OK) {
		rc = cf_err_set(err, CF_EINTEGRITY, CF_P_INTEGRITY, "the organization key failed its integrity check");
		goto out;
	}
	k = calloc(1, sizeof(*k));
	if (k == NULL) {
		rc = cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "out of memory");
		goto out;
	}
	memcpy(k->org, org, strlen(org) + 1);
	k->kek = unwrapped;
	unwrapped = NULL;
	k->bidx = cf_key_derive(k->kek, KDF_BIDX, BIDX_CONTEXT);
	if (k->bidx == NULL) {
		cf_key_free(k->kek);
		free(k);
		rc = cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "out of memory");
		goto out;
	}
	k->next = atomic_load_explicit(&v->keys, memory_order_relaxed);
	atomic_store_explicit(&v->keys, k, memory_order_release);
found:
	*kek = k->kek;
	*bidx = k->bidx;
out:
	pthread_mutex_unlock(&v->mu);
	cf_key_free(unwrapped);
	free(wrapped);
	return rc;
}

/* At close, when no request runs any more. */
static void drop_keys(cf_vault *v)
{
	org_keys *k = atomic_exchange(&v->keys, NULL), *n;
	for (; k != NULL; k = n) {
		n = k->next;
		cf_key_free(k->kek);
		cf_key_free(k->bidx);
		free(k);
	}
	cf_key_free(atomic_exchange(&v->root, NULL));
	cf_key_free(atomic_exchange(&v->user_key, NULL));
}

static cf_rc write_file_excl(const char *path, const char *data, size_t len, mode_t mode, cf_err *err)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	size_t off = 0;
	cf_rc rc = CF_OK;

	if (fd < 0)
		return cf_err_set(err, errno == EEXIST ? CF_EEXIST : CF_EIO, CF_P_INTERNAL, "%s: %s", path,
				  strerror(errno));
	while (off < len) {
		ssize_t n = write(fd, data + off, len - off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = cf_err_set(err, CF_EIO, CF_P_INTERNAL, "%s: %s", path, strerror(errno));
			break;
		}
		off += (size_t)n;
	}
	if (rc == CF_OK && fsync(fd) != 0)
		rc = cf_err_set(err, CF_EIO, CF_P_INTERNAL, "%s: %s", path, strerror(errno));
	close(fd);
	return rc;
}

static cf_rc read_small_file(const char *path, char **out, cf_err *err)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL;
	size_t n;
	cf_rc rc = CF_OK;

	*out = NULL;
	if (f == NULL)
		return cf_err_set(err, CF_EIO, CF_P_INTERNAL, "%s: %s", path, strerror(errno));
	buf = calloc(1, 65536);
	if (buf == NULL) {
		rc = cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "out of memory");
		goto out;
	}
	n = fread(buf, 1, 65535, f);
	if (ferror(f) || n == 65535) {
		rc = cf_err_set(err, CF_EIO, CF_P_INTERNAL, "%s: unreadable or too large", path);
		goto out;
	}
	*out = buf;
	buf = NULL;
out:
	free(buf);
	fclose(f);
	return rc;
}

static cf_rc create_admin(cf_vault *v, char *password, size_t pwsize, cf_err *err)
{
	char hash[CF_PWHASH_STR_LEN];
	cf_tx *tx = NULL;
	int64_t uid = 0;
	cf_rc rc;
	json_t *entry;
	cf_request r = {0};

	rc = cf_random_token(v->env, 18, password, pwsize);
	if (rc != CF_OK)
		return cf_err_set(err, rc, CF_P_INTERNAL, "cannot make the administrator password");
	rc = cf_password_hash(password, strlen(password), hash);
	if (rc != CF_OK)
		return cf_err_set(err, rc, CF_P_INTERNAL, "cannot hash the administrator password");
	rc = cf_store_begin(v->store, true, &tx, err);
	if (rc != CF_OK)
		return rc;
	rc = cf_st_user_insert(tx, "admin", hash, "[\"admin\"]", cf_now_us(v->env), &uid, err);
	if (rc != CF_OK)
		goto fail;
	rc = cf_st_meta_set(tx, "seal_mode", v->mode == CF_SEAL_DEV_KEYFILE ? "dev-keyfile" : "passphrase", err);
	if (rc != CF_OK)
		goto fail;
	{
		char inst[48], origin[96];
		if ((rc = cf_random_token(v->env, 12, inst, sizeof(inst))) != CF_OK)
			goto fail;
		(void)snprintf(origin, sizeof(origin), "coffre.local/%s", inst);
		if ((rc = cf_st_meta_set(tx, "audit_origin", origin, err)) != CF_OK)
			goto fail;
	}
	r.ip = "local";
	r.trace_id = NULL;
	entry = vault_entry(v, &r, "vault.init");
	cf_audit_set(entry, "reason", "instance administrator 'admin' created");
	cf_audit_outcome(entry, true, NULL);
	rc = vault_audit(tx, entry, err);
	if (rc != CF_OK)
		goto fail;
	cf_wipe(hash, sizeof(hash));
	return cf_tx_commit(tx, err);
fail:
	cf_wipe(hash, sizeof(hash));
	cf_tx_rollback(tx);
	return rc;
}

cf_rc cf_vault_init(const char *dir, cf_seal_mode mode, const char *passphrase, size_t passlen, const char *listen,
		    const cf_env *env, char *admin_password, size_t pwsize, cf_err *err)
{
	char path[PATH_MAX];
	cf_vault v;
	cf_key *root = NULL;
	char *sealdoc = NULL;
	FILE *f;
	cf_rc rc;

	memset(&v, 0, sizeof(v));
	/* missing parents are created (0700), like mkdir -p */
	{
		char parent[PATH_MAX];
		size_t n = strlen(dir);
		if (n == 0 || n >= sizeof(parent))
			return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "data directory path empty or too long");
		memcpy(parent, dir, n + 1);
		for (size_t i = 1; i < n; i++) {
			if (parent[i] != '/')
				continue;
			parent[i] = '\0';
			if (mkdir(parent, 0700) != 0 && errno != EEXIST)
				return cf_err_set(err, CF_EIO, CF_P_INTERNAL, "%s: %s", parent, strerror(errno));
			parent[i] = '/';
		}
	}
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return cf_err_set(err, CF_EIO, CF_P_INTERNAL, "%s: %s", dir, strerror(errno));
	if (chmod(dir, 0700) != 0)
		return cf_err_set(err, CF_EIO, CF_P_INTERNAL, "%s: %s", dir, strerror(errno));
	if ((rc = cf_vault_path(dir, "vault.db", path, sizeof(path))) != CF_OK)
		return cf_err_set(err, rc, CF_P_INTERNAL, "data directory path too long");
	if (access(path, F_OK) == 0)
		return cf_err_set(err, CF_EEXIST, CF_P_CONFLICT, "%s already holds a vault", dir);

	root = cf_key_new_random(env);
	if (root == NULL)
		return cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "out of memory");
	if (mode == CF_SEAL_DEV_KEYFILE) {
		if ((rc = cf_vault_path(dir, ROOT_KEY_FILE, path, sizeof(path))) != CF_OK)
			goto out;
		rc = cf_root_key_write_file(path, root, err);
	} else {
		rc = cf_root_key_seal(env, root, passphrase, passlen, &sealdoc, err);
		if (rc != CF_OK)
			goto out;
		if ((rc = cf_vault_path(dir, SEAL_FILE, path, sizeof(path))) != CF_OK)
			goto out;
		rc = write_file_excl(path, sealdoc, strlen(sealdoc), 0600, err);
	}
	if (rc != CF_OK)
		goto out;

	if ((rc = cf_vault_path(dir, "coffre.conf", path, sizeof(path))) != CF_OK)
		goto out;
	{
		int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd < 0) {
			rc = cf_err_set(err, CF_EIO, CF_P_INTERNAL, "%s: %s", path, strerror(errno));
			goto out;
		}
		f = fdopen(fd, "w");
		if (f == NULL) {
			close(fd);
			rc = cf_err_set(err, CF_EIO, CF_P_INTERNAL, "%s: %s", path, strerror(errno));
			goto out;
		}
		cf_config_write_template(f, listen);
		if (fclose(f) != 0) {
			rc = cf_err_set(err, CF_EIO, CF_P_INTERNAL, "%s: write failed", path);
			goto out;
		}
	}

	if ((rc = cf_vault_path(dir, "tls", path, sizeof(path))) != CF_OK)
		goto out;
	if (mkdir(path, 0700) != 0 && errno != EEXIST) {
		rc = cf_err_set(err, CF_EIO, CF_P_INTERNAL, "%s: %s", path, strerror(errno));
		goto out;
	}
	rc = cf_pki_make_dev(env, path, err);
	if (rc != CF_OK)
		goto out;

	/* The instance store and the administrator. */
	memcpy(v.dir, dir, strlen(dir) + 1);
	cf_config_defaults(&v.cfg);
	v.env = env;
	v.mode = mode;
	pthread_mutex_init(&v.mu, NULL);
	rc = cf_store_open(dir, env, NULL, &v.store, err);
	if (rc != CF_OK)
		goto out_mu;
	v.root = root;
	rc = create_admin(&v, admin_password, pwsize, err);
	v.root = NULL;
	cf_store_close(v.store);
out_mu:
	pthread_mutex_destroy(&v.mu);
out:
	cf_key_free(root);
	if (sealdoc != NULL)
		cf_wipe_free(sealdoc, strlen(sealdoc));
	return rc;
}

cf_rc cf_vault_open(const char *dir, const cf_config *cfg, const cf_env *env, cf_vault **out, cf_err *err)
{
	char path[PATH_MAX];
	cf_store_options so = {0};
	cf_vault *v;
	cf_rc rc;

	*out = NULL;
	v = calloc(1, sizeof(*v));
	if (v == NULL)
		return cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "out of memory");
	if (strlen(dir) >= sizeof(v->dir)) {
		free(v);
		return cf_err_set(err, CF_EINVAL, CF_P_INTERNAL, "data directory path too long");
	}
	memcpy(v->dir, dir, strlen(dir) + 1);
	v->cfg = *cfg;
	v->env = env;
	pthread_mutex_init(&v->mu, NULL);
	pthread_mutex_init(&v->sweep_mu, NULL);
	pthread_cond_init(&v->sweep_cv, NULL);
	if ((v->defs = vault_defs_new()) == NULL) {
		rc = cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "out of memory");
		goto fail;
	}

	if ((rc = cf_vault_path(dir, "vault.db", path, sizeof(path))) != CF_OK || access(path, F_OK) != 0) {
		rc = cf_err_set(err, CF_ENOTFOUND, CF_P_INTERNAL, "%s holds no vault (run coffre init)", dir);
		goto fail;
	}
	so.busy_timeout_ms = (int)cfg->store_busy_timeout_ms;
	so.sync_full = true;
	so.own_trail = true; /* one daemon per data directory */
	/* one reader per request thread: reads never wait for the audit writer's commit and sync */
	so.readers = cfg->threads < CF_STORE_MAX_READERS ? (int)cfg->threads : CF_STORE_MAX_READERS;
	rc = cf_store_open(dir, env, &so, &v->store, err);
	if (rc != CF_OK)
		goto fail;
	{
		cf_tx *tx = NULL;
		char *origin = NULL;
		cf_trail_options to = {0};
		if ((rc = cf_store_begin(v->store, false, &tx, err)) != CF_OK)
			goto fail;
		rc = cf_st_meta_get(tx, "audit_origin", &origin, err);
		cf_tx_rollback(tx);
		if (rc != CF_OK || strlen(origin) >= sizeof(v->origin)) {
			free(origin);
			rc = cf_err_set(err, CF_EINTEGRITY, CF_P_INTEGRITY, "the vault has no audit origin");
			goto fail;
		}
		memcpy(v->origin, origin, strlen(origin) + 1);
		free(origin);
		if (cfg->environment == CF_ENV_PRODUCTION) {
			/* test data never reaches production: a vault that imported a dataset stays out of it */
			char *mark = NULL;
			if ((rc = cf_store_begin(v->store, false, &tx, err)) != CF_OK)
				goto fail;
			rc = cf_st_meta_get(tx, "test_data", &mark, NULL);
			cf_tx_rollback(tx);
			free(mark);
			if (rc != CF_ENOTFOUND) {
				rc = cf_err_set(err, CF_EDENIED, CF_P_FORBIDDEN,
						"%s holds test data (an imported dataset): refused in production", dir);
				goto fail;
			}
		}
		to.wait_timeout_ms = (int)cfg->store_busy_timeout_ms;
		to.checkpoint_interval_ms = (int)cfg->audit_checkpoint_interval_ms;
		to.max_batch = (int)cfg->audit_max_batch;
		to.commit_delay_us = (int)cfg->audit_commit_delay_us;
		rc = cf_trail_start(v->store, env, &to, v->origin, &v->trail, err);
		if (rc != CF_OK)
			goto fail;
	}

	if ((rc = cf_vault_path(dir, ROOT_KEY_FILE, path, sizeof(path))) != CF_OK)
		goto fail;
	if (access(path, F_OK) == 0) {
		v->mode = CF_SEAL_DEV_KEYFILE;
		if (cfg->environment == CF_ENV_PRODUCTION) {
			rc = cf_err_set(err, CF_EDENIED, CF_P_FORBIDDEN,
					"%s: the development key file is refused in production", path);
			goto fail;
		}
		cf_key *root = NULL;
		rc = cf_root_key_read_file(path, &root, err);
		if (rc != CF_OK)
			goto fail;
		pthread_mutex_lock(&v->mu);
		rc = root_ready(v, root, err);
		pthread_mutex_unlock(&v->mu);
		if (rc != CF_OK)
			goto fail;
		remember_verifier_key(v);
	} else {
		v->mode = CF_SEAL_PASSPHRASE;
	}
	*out = v;
	return CF_OK;
fail:
	cf_vault_close(v);
	return rc;
}

void cf_vault_close(cf_vault *v)
{
	if (v == NULL)
		return;
	vault_sweeper_stop(v);
	cf_trail_stop(v->trail);
	v->trail = NULL;
	pthread_mutex_lock(&v->mu);
	drop_keys(v);
	pthread_mutex_unlock(&v->mu);
	cf_store_close(v->store);
	vault_defs_free(v->defs);
	pthread_mutex_destroy(&v->mu);
	pthread_mutex_destroy(&v->sweep_mu);
	pthread_cond_destroy(&v->sweep_cv);
	free(v);
}

bool cf_vault_sealed(cf_vault *v)
{
	return published(&v->root) == NULL;
}

cf_rc cf_vault_unseal(cf_vault *v, const char *pass, size_t passlen, cf_err *err)
{
	char path[PATH_MAX];
	char *doc = NULL;
	cf_key *root = NULL;
	cf_rc rc;

	if (!cf_vault_sealed(v))
		return CF_OK;
	if ((rc = cf_vault_path(v->dir, SEAL_FILE, path, sizeof(path))) != CF_OK)
		return cf_err_set(err, rc, CF_P_INTERNAL, "path too long");
	rc = read_small_file(path, &doc, err);
	if (rc != CF_OK)
		return rc;
	rc = cf_root_key_unseal(doc, pass, passlen, &root, err);
	cf_wipe_free(doc, strlen(doc));
	if (rc != CF_OK) {
		if (rc == CF_EUNAUTH)
			return cf_err_set(err, CF_EUNAUTH, CF_P_INVALID_CREDENTIALS, "wrong passphrase");
		return rc;
	}
	pthread_mutex_lock(&v->mu);
	if (published(&v->root) == NULL) {
		rc = root_ready(v, root, err); /* takes root */
		root = NULL;
	}
	pthread_mutex_unlock(&v->mu);
	cf_key_free(root);
	if (rc == CF_OK) {
		remember_verifier_key(v);
		cf_log(CF_LOG_INFO, "vault unsealed");
	}
	return rc;
}
