/*
 * pki.c - the development PKI for `coffre init`, with GnuTLS only: a local
 * CA (ECDSA P-256) that signs one server certificate for localhost,
 * 127.0.0.1 and ::1, written as PEM files.
 *
 * It must never write or keep the CA private key (it is wiped once it has
 * signed), never replace an existing file, never create the server key with
 * wider access than 0600, and never shell out to a certificate tool.
 */
#include "common/cf.h"
#include "pki/pki.h"

#include <errno.h>
#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <limits.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CA_CN "coffre development CA"
#define SERVER_CN "localhost"
#define CA_DAYS (10 * 365 + 2) /* ten years, leap days included */
#define SERVER_DAYS 825	       /* the longest lifetime browsers accept for a server certificate */
#define BACKDATE_S 3600	       /* tolerate a client clock a little behind */
#define SERIAL_LEN 16
#define KEY_ID_MAX 64

enum { F_KEY, F_SERVER, F_CA, F_COUNT };
static const char *const file_names[F_COUNT] = {"server.key", "server.pem", "ca.pem"};
static const mode_t file_modes[F_COUNT] = {0600, 0644, 0644};

/* Runs one GnuTLS step of a certificate build, naming it for the error detail. */
#define STEP(name, expr)                                                                                           \
	do {                                                                                                       \
		*what = (name);                                                                                    \
		r = (expr);                                                                                        \
		if (r < 0)                                                                                         \
			return r;                                                                                  \
	} while (0)

static cf_rc tls_fail(cf_err *err, const char *what, int r)
{
	return cf_err_set(err, CF_ECRYPTO, CF_P_INTERNAL, "development PKI: %s failed: %s", what, gnutls_strerror(r));
}

/* A fresh ECDSA P-256 key from GnuTLS's own RNG (key generation does not use the injected env). */
static int new_key(gnutls_x509_privkey_t *key, const char **what)
{
	int r;

	*key = NULL;
	STEP("key init", gnutls_x509_privkey_init(key));
	STEP("ECDSA P-256 key generation",
	     gnutls_x509_privkey_generate2(*key, GNUTLS_PK_ECDSA, GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0,
					   NULL, 0));
	return 0;
}

/* The fields both certificates share: version, positive random serial, CN, validity, key, key id. */
static int common_fields(const cf_env *env, gnutls_x509_crt_t crt, gnutls_x509_privkey_t key, const char *cn,
			 time_t start, unsigned days, const char **what)
{
	unsigned char serial[SERIAL_LEN];
	unsigned char kid[KEY_ID_MAX];
	size_t kidlen = sizeof(kid);
	int r;

	cf_random(env, serial, sizeof(serial));
	serial[0] = (unsigned char)((serial[0] & 0x7f) | 0x40); /* positive, and no leading zero to strip */
	STEP("certificate version", gnutls_x509_crt_set_version(crt, 3));
	STEP("serial", gnutls_x509_crt_set_serial(crt, serial, sizeof(serial)));
	STEP("common name", gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, cn,
							  (unsigned)strlen(cn)));
	STEP("activation time", gnutls_x509_crt_set_activation_time(crt, start));
	STEP("expiration time", gnutls_x509_crt_set_expiration_time(crt, start + (time_t)days * 86400));
	STEP("public key", gnutls_x509_crt_set_key(crt, key));
	STEP("subject key id", gnutls_x509_crt_get_key_id(crt, GNUTLS_KEYID_USE_SHA1, kid, &kidlen));
	STEP("subject key id", gnutls_x509_crt_set_subject_key_id(crt, kid, kidlen));
	return 0;
}

/* Self-signed CA: CA:TRUE (critical), keyCertSign|cRLSign. */
static int make_ca(const cf_env *env, gnutls_x509_crt_t ca, gnutls_x509_privkey_t cakey, time_t start,
		   const char **what)
{
	int r;

	r = common_fields(env, ca, cakey, CA_CN, start, CA_DAYS, what);
	if (r < 0)
		return r;
	STEP("CA basic constraints", gnutls_x509_crt_set_basic_constraints(ca, 1, -1));
	STEP("CA key usage", gnutls_x509_crt_set_key_usage(ca, GNUTLS_KEY_KEY_CERT_SIGN | GNUTLS_KEY_CRL_SIGN));
	STEP("CA self-signature", gnutls_x509_crt_sign2(ca, ca, cakey, GNUTLS_DIG_SHA256, 0));
	return 0;
}

/* Server leaf: SAN localhost/127.0.0.1/::1, digitalSignature, serverAuth, CA:FALSE, signed by the CA. */
static int make_server(const cf_env *env, gnutls_x509_crt_t crt, gnutls_x509_privkey_t key, gnutls_x509_crt_t ca,
		       gnutls_x509_privkey_t cakey, time_t start, const char **what)
{
	static const unsigned char ip4[4] = {127, 0, 0, 1};
	static const unsigned char ip6[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
	unsigned char aki[KEY_ID_MAX];
	size_t akilen = sizeof(aki);
	int r;

	r = common_fields(env, crt, key, SERVER_CN, start, SERVER_DAYS, what);
	if (r < 0)
		return r;
	STEP("SAN DNS name", gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_DNSNAME, SERVER_CN,
								  (unsigned)strlen(SERVER_CN), GNUTLS_FSAN_SET));
	STEP("SAN IPv4 address", gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_IPADDRESS, ip4, sizeof(ip4),
								      GNUTLS_FSAN_APPEND));
	STEP("SAN IPv6 address", gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_IPADDRESS, ip6, sizeof(ip6),
								      GNUTLS_FSAN_APPEND));
	STEP("server basic constraints", gnutls_x509_crt_set_basic_constraints(crt, 0, -1));
	STEP("server key usage", gnutls_x509_crt_set_key_usage(crt, GNUTLS_KEY_DIGITAL_SIGNATURE));
	STEP("server extended key usage", gnutls_x509_crt_set_key_purpose_oid(crt, GNUTLS_KP_TLS_WWW_SERVER, 0));
	STEP("authority key id", gnutls_x509_crt_get_subject_key_id(ca, aki, &akilen, NULL));
	STEP("authority key id", gnutls_x509_crt_set_authority_key_id(crt, aki, akilen));
	STEP("server signature", gnutls_x509_crt_sign2(crt, ca, cakey, GNUTLS_DIG_SHA256, 0));
	return 0;
}

static cf_rc write_all(int fd, const unsigned char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return CF_EIO;
		}
		buf += n;
		len -= (size_t)n;
	}
	return CF_OK;
}

/* Creates path (O_EXCL, exactly `mode`) holding a then b (b may be empty), synced. */
static cf_rc create_file(const char *path, mode_t mode, const gnutls_datum_t *a, const gnutls_datum_t *b,
			 bool *created, cf_err *err)
{
	int fd;
	cf_rc rc;

	*created = false;
	fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0) {
		if (errno == EEXIST)
			return cf_err_set(err, CF_EEXIST, CF_P_CONFLICT, "development PKI: %s already exists", path);
		return cf_err_set(err, CF_EIO, CF_P_INTERNAL, "development PKI: cannot create %s: %s", path,
				  strerror(errno));
	}
	*created = true;
	if (fchmod(fd, mode) != 0 || write_all(fd, a->data, a->size) != CF_OK ||
	    (b != NULL && write_all(fd, b->data, b->size) != CF_OK) || fsync(fd) != 0) {
		rc = cf_err_set(err, CF_EIO, CF_P_INTERNAL, "development PKI: cannot write %s: %s", path,
				strerror(errno));
		(void)close(fd);
		return rc;
	}
	if (close(fd) != 0)
		return cf_err_set(err, CF_EIO, CF_P_INTERNAL, "development PKI: cannot close %s: %s", path,
				  strerror(errno));
	return CF_OK;
}

static cf_rc sync_dir(const char *dir, cf_err *err)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	cf_rc rc = CF_OK;

	if (fd < 0 || fsync(fd) != 0)
		rc = cf_err_set(err, CF_EIO, CF_P_INTERNAL, "development PKI: cannot sync directory %s: %s", dir,
				strerror(errno));
	if (fd >= 0)
		(void)close(fd);
	return rc;
}

static void free_datum(gnutls_datum_t *d, bool secret)
{
	if (d->data == NULL)
		return;
	if (secret)
		gnutls_memset(d->data, 0, d->size);
	gnutls_free(d->data);
	d->data = NULL;
	d->size = 0;
}

/*
 * Fails with CF_EEXIST before generating anything if any of the three files
 * exists, and removes whatever it created if a later step fails, so that a
 * failed run leaves the directory as it found it.
 */
cf_rc cf_pki_make_dev(const cf_env *env, const char *dir, cf_err *err)
{
	char paths[F_COUNT][PATH_MAX];
	bool created[F_COUNT] = {false, false, false};
	gnutls_x509_privkey_t cakey = NULL, key = NULL;
	gnutls_x509_crt_t ca = NULL, crt = NULL;
	gnutls_datum_t ca_pem = {NULL, 0}, crt_pem = {NULL, 0}, key_pem = {NULL, 0};
	const char *what = "";
	struct stat st;
	time_t start;
	int r;
	cf_rc rc;

	if (env == NULL || dir == NULL || dir[0] == '\0')
		return cf_err_set(err, CF_EINVAL, CF_P_INTERNAL, "development PKI: no directory given");
	for (int i = 0; i < F_COUNT; i++) {
		if (cf_snprintf(paths[i], sizeof(paths[i]), "%s/%s", dir, file_names[i]) != CF_OK)
			return cf_err_set(err, CF_EINVAL, CF_P_INTERNAL, "development PKI: directory path too long");
		if (lstat(paths[i], &st) == 0)
			return cf_err_set(err, CF_EEXIST, CF_P_CONFLICT, "development PKI: %s already exists",
					  paths[i]);
		if (errno != ENOENT)
			return cf_err_set(err, CF_EIO, CF_P_INTERNAL, "development PKI: cannot examine %s: %s",
					  paths[i], strerror(errno));
	}
	start = (time_t)(cf_now_us(env) / 1000000) - BACKDATE_S;

	r = new_key(&cakey, &what);
	if (r >= 0)
		r = new_key(&key, &what);
	if (r >= 0) {
		what = "certificate init";
		r = gnutls_x509_crt_init(&ca);
	}
	if (r >= 0)
		r = gnutls_x509_crt_init(&crt);
	if (r >= 0)
		r = make_ca(env, ca, cakey, start, &what);
	if (r >= 0)
		r = make_server(env, crt, key, ca, cakey, start, &what);
	if (r < 0) {
		rc = tls_fail(err, what, r);
		goto out;
	}
	/* The CA key has signed all it will ever sign. */
	gnutls_x509_privkey_deinit(cakey);
	cakey = NULL;

	what = "PEM export";
	r = gnutls_x509_crt_export2(ca, GNUTLS_X509_FMT_PEM, &ca_pem);
	if (r >= 0)
		r = gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, &crt_pem);
	if (r >= 0)
		r = gnutls_x509_privkey_export2_pkcs8(key, GNUTLS_X509_FMT_PEM, NULL, GNUTLS_PKCS_PLAIN, &key_pem);
	if (r < 0) {
		rc = tls_fail(err, what, r);
		goto out;
	}

	rc = create_file(paths[F_KEY], file_modes[F_KEY], &key_pem, NULL, &created[F_KEY], err);
	if (rc == CF_OK)
		rc = create_file(paths[F_SERVER], file_modes[F_SERVER], &crt_pem, &ca_pem, &created[F_SERVER], err);
	if (rc == CF_OK)
		rc = create_file(paths[F_CA], file_modes[F_CA], &ca_pem, NULL, &created[F_CA], err);
	if (rc == CF_OK)
		rc = sync_dir(dir, err);
out:
	if (rc != CF_OK) {
		for (int i = 0; i < F_COUNT; i++)
			if (created[i])
				(void)unlink(paths[i]);
	}
	free_datum(&key_pem, true);
	free_datum(&crt_pem, false);
	free_datum(&ca_pem, false);
	if (crt != NULL)
		gnutls_x509_crt_deinit(crt);
	if (ca != NULL)
		gnutls_x509_crt_deinit(ca);
	if (key != NULL)
		gnutls_x509_privkey_deinit(key); /* GnuTLS clears key parameters on deinit */
	if (cakey != NULL)
		gnutls_x509_privkey_deinit(cakey);
	return rc;
}
