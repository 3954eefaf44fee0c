/*
 * test_pki.c - the development PKI: the files, their modes, the chain as a
 * GnuTLS client would verify it, every extension the header promises, and
 * the refusals (existing files, missing directory).
 *
 * Must never shell out: certificates are read back with GnuTLS only.
 */
#include "common/cf.h"
#include "pki/pki.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <setjmp.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

/* ---- a controlled world ----------------------------------------------------- */

static int64_t clock_us;

static int64_t test_now(void *ctx)
{
	return clock_us;
}

/* Each call fills its buffer with one byte value, then the next value. */
static void counter_random(void *ctx, void *buf, size_t len)
{
	uint8_t *c = ctx;
	memset(buf, *c, len);
	(*c)++;
}

static uint8_t rng_next;
static const cf_env test_env = {test_now, NULL, counter_random, &rng_next};

/* ---- helpers -------------------------------------------------------------------- */

static void make_dir(char *buf, size_t size)
{
	assert_int_equal(cf_snprintf(buf, size, "/tmp/cf-pki-XXXXXX"), CF_OK);
	assert_non_null(mkdtemp(buf));
}

static void remove_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char p[256];

	assert_non_null(d);
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		assert_int_equal(cf_snprintf(p, sizeof(p), "%s/%s", dir, e->d_name), CF_OK);
		assert_int_equal(unlink(p), 0);
	}
	closedir(d);
	assert_int_equal(rmdir(dir), 0);
}

static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static void path_in(char *out, size_t size, const char *dir, const char *name)
{
	assert_int_equal(cf_snprintf(out, size, "%s/%s", dir, name), CF_OK);
}

static void load(const char *dir, const char *name, gnutls_datum_t *d)
{
	char p[256];
	path_in(p, sizeof(p), dir, name);
	assert_int_equal(gnutls_load_file(p, d), 0);
}

static mode_t mode_of(const char *dir, const char *name)
{
	char p[256];
	struct stat st;
	path_in(p, sizeof(p), dir, name);
	assert_int_equal(stat(p, &st), 0);
	return st.st_mode & 07777;
}

static bool exists(const char *dir, const char *name)
{
	char p[256];
	struct stat st;
	path_in(p, sizeof(p), dir, name);
	return lstat(p, &st) == 0;
}

/* Loads server.pem as a list (leaf, CA) and ca.pem as one certificate. */
static void load_certs(const char *dir, gnutls_x509_crt_t **chain, unsigned *n, gnutls_x509_crt_t *ca)
{
	gnutls_datum_t d;

	load(dir, "server.pem", &d);
	assert_int_equal(gnutls_x509_crt_list_import2(chain, n, &d, GNUTLS_X509_FMT_PEM,
						      GNUTLS_X509_CRT_LIST_FAIL_IF_UNSORTED),
			 0);
	gnutls_free(d.data);
	load(dir, "ca.pem", &d);
	assert_int_equal(gnutls_x509_crt_init(ca), 0);
	assert_int_equal(gnutls_x509_crt_import(*ca, &d, GNUTLS_X509_FMT_PEM), 0);
	gnutls_free(d.data);
}

static void free_certs(gnutls_x509_crt_t *chain, unsigned n, gnutls_x509_crt_t ca)
{
	for (unsigned i = 0; i < n; i++)
		gnutls_x509_crt_deinit(chain[i]);
	gnutls_free(chain);
	gnutls_x509_crt_deinit(ca);
}

/* Verifies chain against ca as a TLS client would, for a hostname or a raw IP. */
static unsigned verify(gnutls_x509_crt_t *chain, unsigned n, gnutls_x509_crt_t ca, gnutls_vdata_types_t type,
		       const void *name, unsigned namelen)
{
	gnutls_x509_trust_list_t tl;
	gnutls_x509_crt_t ca_copy;
	gnutls_datum_t der;
	unsigned status = 0xffffffffu;
	gnutls_typed_vdata_st vd[2] = {
		{type, (unsigned char *)(uintptr_t)name, namelen},
		{GNUTLS_DT_KEY_PURPOSE_OID, (unsigned char *)(uintptr_t)GNUTLS_KP_TLS_WWW_SERVER, 0},
	};

	/* The trust list takes ownership of its CAs: give it a copy. */
	assert_int_equal(gnutls_x509_crt_export2(ca, GNUTLS_X509_FMT_DER, &der), 0);
	assert_int_equal(gnutls_x509_crt_init(&ca_copy), 0);
	assert_int_equal(gnutls_x509_crt_import(ca_copy, &der, GNUTLS_X509_FMT_DER), 0);
	gnutls_free(der.data);
	assert_int_equal(gnutls_x509_trust_list_init(&tl, 0), 0);
	assert_int_equal(gnutls_x509_trust_list_add_cas(tl, &ca_copy, 1, 0), 1);
	assert_int_equal(gnutls_x509_trust_list_verify_crt2(tl, chain, n, vd, 2, 0, &status, NULL), 0);
	gnutls_x509_trust_list_deinit(tl, 1);
	return status;
}

static void get_cn(gnutls_x509_crt_t c, char *buf, size_t size)
{
	assert_int_equal(gnutls_x509_crt_get_dn_by_oid(c, GNUTLS_OID_X520_COMMON_NAME, 0, 0, buf, &size), 0);
}

static int64_t real_now_us(void)
{
	return (int64_t)time(NULL) * 1000000 + 123456; /* sub-second part is dropped by the PKI */
}

/* ---- tests ---------------------------------------------------------------------- */

static void test_files_and_modes(void **state)
{
	char dir[64];
	cf_err err;
	mode_t old = umask(0077); /* the modes must not depend on the umask */

	make_dir(dir, sizeof(dir));
	clock_us = real_now_us();
	rng_next = 0x11;
	assert_int_equal(cf_pki_make_dev(&test_env, dir, &err), CF_OK);
	umask(old);
	assert_int_equal(count_entries(dir), 3);
	assert_int_equal(mode_of(dir, "server.key"), 0600);
	assert_int_equal(mode_of(dir, "server.pem"), 0644);
	assert_int_equal(mode_of(dir, "ca.pem"), 0644);

	/* One private key in the whole directory, PKCS#8, and it is the server's. */
	{
		gnutls_datum_t d;
		load(dir, "server.key", &d);
		assert_memory_equal(d.data, "-----BEGIN PRIVATE KEY-----\n", 28);
		gnutls_free(d.data);
		load(dir, "server.pem", &d);
		assert_null(memmem(d.data, d.size, "PRIVATE KEY", 11));
		gnutls_free(d.data);
		load(dir, "ca.pem", &d);
		assert_null(memmem(d.data, d.size, "PRIVATE KEY", 11));
		gnutls_free(d.data);
	}
	remove_dir(dir);
}

static void test_chain_verifies(void **state)
{
	char dir[64];
	gnutls_x509_crt_t *chain = NULL, ca = NULL;
	unsigned n = 0;
	const unsigned char lo4[4] = {127, 0, 0, 1}, lo6[16] = {[15] = 1};
	const unsigned char other4[4] = {127, 0, 0, 2}, other6[16] = {[15] = 2};

	make_dir(dir, sizeof(dir));
	clock_us = real_now_us();
	rng_next = 0x11;
	assert_int_equal(cf_pki_make_dev(&test_env, dir, NULL), CF_OK);
	load_certs(dir, &chain, &n, &ca);
	assert_int_equal(n, 2);
	/* server.pem is the leaf then exactly ca.pem. */
	assert_true(gnutls_x509_crt_equals(chain[1], ca));
	assert_false(gnutls_x509_crt_equals(chain[0], ca));
	assert_true(gnutls_x509_crt_check_issuer(chain[0], ca));
	assert_true(gnutls_x509_crt_check_issuer(ca, ca));

	/* As a TLS client: name, address and purpose. */
	assert_int_equal(verify(chain, n, ca, GNUTLS_DT_DNS_HOSTNAME, "localhost", 0), 0);
	assert_int_equal(verify(chain, 1, ca, GNUTLS_DT_DNS_HOSTNAME, "localhost", 0), 0); /* leaf alone */
	assert_int_equal(verify(chain, n, ca, GNUTLS_DT_IP_ADDRESS, lo4, 4), 0);
	assert_int_equal(verify(chain, n, ca, GNUTLS_DT_IP_ADDRESS, lo6, 16), 0);
	assert_int_not_equal(verify(chain, n, ca, GNUTLS_DT_DNS_HOSTNAME, "example.com", 0), 0);
	assert_int_not_equal(verify(chain, n, ca, GNUTLS_DT_IP_ADDRESS, other4, 4), 0);

	assert_true(gnutls_x509_crt_check_hostname(chain[0], "localhost"));
	assert_true(gnutls_x509_crt_check_hostname(chain[0], "LOCALHOST"));
	assert_false(gnutls_x509_crt_check_hostname(chain[0], "localhost.example"));
	assert_true(gnutls_x509_crt_check_ip(chain[0], lo4, 4, 0));
	assert_true(gnutls_x509_crt_check_ip(chain[0], lo6, 16, 0));
	assert_false(gnutls_x509_crt_check_ip(chain[0], other4, 4, 0));
	assert_false(gnutls_x509_crt_check_ip(chain[0], other6, 16, 0));
	assert_false(gnutls_x509_crt_check_hostname(ca, "localhost"));

	free_certs(chain, n, ca);
	remove_dir(dir);
}

static void test_another_ca_does_not_verify(void **state)
{
	char d1[64], d2[64];
	gnutls_x509_crt_t *chain1 = NULL, ca1 = NULL, *chain2 = NULL, ca2 = NULL;
	unsigned n1 = 0, n2 = 0;

	make_dir(d1, sizeof(d1));
	make_dir(d2, sizeof(d2));
	clock_us = real_now_us();
	assert_int_equal(cf_pki_make_dev(&test_env, d1, NULL), CF_OK);
	assert_int_equal(cf_pki_make_dev(&test_env, d2, NULL), CF_OK);
	load_certs(d1, &chain1, &n1, &ca1);
	load_certs(d2, &chain2, &n2, &ca2);
	assert_int_equal(verify(chain1, 1, ca1, GNUTLS_DT_DNS_HOSTNAME, "localhost", 0), 0);
	assert_int_not_equal(verify(chain1, 1, ca2, GNUTLS_DT_DNS_HOSTNAME, "localhost", 0), 0);
	assert_int_not_equal(verify(chain2, 1, ca1, GNUTLS_DT_DNS_HOSTNAME, "localhost", 0), 0);
	free_certs(chain1, n1, ca1);
	free_certs(chain2, n2, ca2);
	remove_dir(d1);
	remove_dir(d2);
}

static void test_ca_fields(void **state)
{
	char dir[64], cn[128];
	gnutls_x509_crt_t *chain = NULL, ca = NULL;
	unsigned n = 0, critical = 0, is_ca = 0, usage = 0, bits = 0;
	int pathlen = 0;
	unsigned char serial[32], ski[64];
	size_t serial_len = sizeof(serial), ski_len = sizeof(ski);
	const time_t start = 1767225600 - 3600; /* 2026-01-01T00:00:00Z minus one hour */

	make_dir(dir, sizeof(dir));
	clock_us = (int64_t)1767225600 * 1000000 + 999999;
	rng_next = 0x11; /* CA serial from fill 0x11, server serial from fill 0x12 */
	assert_int_equal(cf_pki_make_dev(&test_env, dir, NULL), CF_OK);
	load_certs(dir, &chain, &n, &ca);

	get_cn(ca, cn, sizeof(cn));
	assert_string_equal(cn, "coffre development CA");
	assert_int_equal(gnutls_x509_crt_get_version(ca), 3);
	assert_int_equal(gnutls_x509_crt_get_basic_constraints(ca, &critical, &is_ca, &pathlen), 1);
	assert_int_equal(is_ca, 1);
	assert_int_equal(critical, 1);
	assert_int_equal(gnutls_x509_crt_get_key_usage(ca, &usage, &critical), 0);
	assert_int_equal(usage, GNUTLS_KEY_KEY_CERT_SIGN | GNUTLS_KEY_CRL_SIGN);
	assert_int_equal(gnutls_x509_crt_get_pk_algorithm(ca, &bits), GNUTLS_PK_ECDSA);
	assert_int_equal(bits, 256);
	assert_int_equal(gnutls_x509_crt_get_signature_algorithm(ca), GNUTLS_SIGN_ECDSA_SHA256);
	assert_int_equal(gnutls_x509_crt_get_activation_time(ca), start);
	assert_int_equal(gnutls_x509_crt_get_expiration_time(ca), start + (time_t)3652 * 86400);
	assert_int_equal(gnutls_x509_crt_get_subject_key_id(ca, ski, &ski_len, &critical), 0);
	assert_int_equal(ski_len, 20);
	/* 16 bytes, positive (top bit clear), from the injected randomness. */
	assert_int_equal(gnutls_x509_crt_get_serial(ca, serial, &serial_len), 0);
	assert_int_equal(serial_len, 16);
	assert_int_equal(serial[0], 0x51);
	for (size_t i = 1; i < 16; i++)
		assert_int_equal(serial[i], 0x11);
	free_certs(chain, n, ca);
	remove_dir(dir);

	/* All-ones randomness still gives a positive 16-byte serial. */
	make_dir(dir, sizeof(dir));
	rng_next = 0xff;
	assert_int_equal(cf_pki_make_dev(&test_env, dir, NULL), CF_OK);
	load_certs(dir, &chain, &n, &ca);
	serial_len = sizeof(serial);
	assert_int_equal(gnutls_x509_crt_get_serial(ca, serial, &serial_len), 0);
	assert_int_equal(serial_len, 16);
	assert_int_equal(serial[0], 0x7f);
	assert_int_equal(serial[15], 0xff);
	free_certs(chain, n, ca);
	remove_dir(dir);
}

static void test_server_fields(void **state)
{
	char dir[64], cn[128], oid[128];
	gnutls_x509_crt_t *chain = NULL, ca = NULL, leaf;
	unsigned n = 0, critical = 0, is_ca = 7, usage = 0, bits = 0;
	int pathlen = 0;
	unsigned char serial[32], aki[64], ski[64], kid_key[64], kid_crt[64];
	size_t serial_len = sizeof(serial), aki_len = sizeof(aki), ski_len = sizeof(ski), oid_len = sizeof(oid);
	size_t kid_key_len = sizeof(kid_key), kid_crt_len = sizeof(kid_crt);
	const time_t start = 1767225600 - 3600;

	make_dir(dir, sizeof(dir));
	clock_us = (int64_t)1767225600 * 1000000;
	rng_next = 0x11;
	assert_int_equal(cf_pki_make_dev(&test_env, dir, NULL), CF_OK);
	load_certs(dir, &chain, &n, &ca);
	leaf = chain[0];

	get_cn(leaf, cn, sizeof(cn));
	assert_string_equal(cn, "localhost");
	assert_int_equal(gnutls_x509_crt_get_version(leaf), 3);
	assert_int_equal(gnutls_x509_crt_get_basic_constraints(leaf, &critical, &is_ca, &pathlen), 0);
	assert_int_equal(is_ca, 0);
	assert_int_equal(gnutls_x509_crt_get_key_usage(leaf, &usage, &critical), 0);
	assert_int_equal(usage, GNUTLS_KEY_DIGITAL_SIGNATURE);
	assert_int_equal(gnutls_x509_crt_get_key_purpose_oid(leaf, 0, oid, &oid_len, &critical), 0);
	assert_string_equal(oid, GNUTLS_KP_TLS_WWW_SERVER);
	oid_len = sizeof(oid);
	assert_int_equal(gnutls_x509_crt_get_key_purpose_oid(leaf, 1, oid, &oid_len, &critical),
			 GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE);
	assert_int_equal(gnutls_x509_crt_get_pk_algorithm(leaf, &bits), GNUTLS_PK_ECDSA);
	assert_int_equal(bits, 256);
	assert_int_equal(gnutls_x509_crt_get_signature_algorithm(leaf), GNUTLS_SIGN_ECDSA_SHA256);
	assert_int_equal(gnutls_x509_crt_get_activation_time(leaf), start);
	assert_int_equal(gnutls_x509_crt_get_expiration_time(leaf), start + (time_t)825 * 86400);
	assert_int_equal(gnutls_x509_crt_get_serial(leaf, serial, &serial_len), 0);
	assert_int_equal(serial_len, 16);
	assert_int_equal(serial[0], 0x52);
	assert_int_equal(serial[15], 0x12);

	/* The leaf's authority key id is the CA's subject key id. */
	assert_int_equal(gnutls_x509_crt_get_authority_key_id(leaf, aki, &aki_len, &critical), 0);
	assert_int_equal(gnutls_x509_crt_get_subject_key_id(ca, ski, &ski_len, &critical), 0);
	assert_int_equal(aki_len, ski_len);
	assert_memory_equal(aki, ski, ski_len);

	/* SAN: exactly DNS:localhost, IP 127.0.0.1, IP ::1, in that order. */
	{
		char san[64];
		size_t san_len;
		unsigned crit;
		san_len = sizeof(san);
		assert_int_equal(gnutls_x509_crt_get_subject_alt_name(leaf, 0, san, &san_len, &crit),
				 GNUTLS_SAN_DNSNAME);
		assert_int_equal(san_len, 9);
		assert_memory_equal(san, "localhost", 9);
		san_len = sizeof(san);
		assert_int_equal(gnutls_x509_crt_get_subject_alt_name(leaf, 1, san, &san_len, &crit),
				 GNUTLS_SAN_IPADDRESS);
		assert_int_equal(san_len, 4);
		assert_memory_equal(san, "\x7f\x00\x00\x01", 4);
		san_len = sizeof(san);
		assert_int_equal(gnutls_x509_crt_get_subject_alt_name(leaf, 2, san, &san_len, &crit),
				 GNUTLS_SAN_IPADDRESS);
		assert_int_equal(san_len, 16);
		assert_memory_equal(san, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\1", 16);
		san_len = sizeof(san);
		assert_int_equal(gnutls_x509_crt_get_subject_alt_name(leaf, 3, san, &san_len, &crit),
				 GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE);
	}

	/* server.key is the leaf's private key. */
	{
		gnutls_datum_t d;
		gnutls_x509_privkey_t key;
		load(dir, "server.key", &d);
		assert_int_equal(gnutls_x509_privkey_init(&key), 0);
		assert_int_equal(gnutls_x509_privkey_import2(key, &d, GNUTLS_X509_FMT_PEM, NULL, 0), 0);
		gnutls_memset(d.data, 0, d.size);
		gnutls_free(d.data);
		assert_int_equal(gnutls_x509_privkey_get_pk_algorithm(key), GNUTLS_PK_ECDSA);
		assert_int_equal(gnutls_x509_privkey_get_key_id(key, GNUTLS_KEYID_USE_SHA1, kid_key, &kid_key_len), 0);
		assert_int_equal(gnutls_x509_crt_get_key_id(leaf, GNUTLS_KEYID_USE_SHA1, kid_crt, &kid_crt_len), 0);
		assert_int_equal(kid_key_len, kid_crt_len);
		assert_memory_equal(kid_key, kid_crt, kid_crt_len);
		/* ...and not the CA's. */
		kid_crt_len = sizeof(kid_crt);
		assert_int_equal(gnutls_x509_crt_get_key_id(ca, GNUTLS_KEYID_USE_SHA1, kid_crt, &kid_crt_len), 0);
		assert_memory_not_equal(kid_key, kid_crt, kid_crt_len);
		gnutls_x509_privkey_deinit(key);
	}
	free_certs(chain, n, ca);
	remove_dir(dir);
}

static void test_second_call_refused(void **state)
{
	char dir[64];
	gnutls_datum_t before[3], after[3];
	static const char *const names[3] = {"server.key", "server.pem", "ca.pem"};
	cf_err err;

	make_dir(dir, sizeof(dir));
	clock_us = real_now_us();
	assert_int_equal(cf_pki_make_dev(&test_env, dir, &err), CF_OK);
	for (int i = 0; i < 3; i++)
		load(dir, names[i], &before[i]);
	assert_int_equal(cf_pki_make_dev(&test_env, dir, &err), CF_EEXIST);
	assert_int_equal(err.rc, CF_EEXIST);
	assert_non_null(strstr(err.detail, "already exists"));
	for (int i = 0; i < 3; i++) {
		load(dir, names[i], &after[i]);
		assert_int_equal(before[i].size, after[i].size);
		assert_memory_equal(before[i].data, after[i].data, before[i].size);
		gnutls_free(before[i].data);
		gnutls_free(after[i].data);
	}
	assert_int_equal(mode_of(dir, "server.key"), 0600);
	remove_dir(dir);
}

/* Any one of the three files already there: refused, and nothing else created. */
static void test_any_existing_file_refused(void **state)
{
	static const char *const names[3] = {"server.key", "server.pem", "ca.pem"};

	for (int i = 0; i < 3; i++) {
		char dir[64], p[256];
		cf_err err;
		int fd;

		make_dir(dir, sizeof(dir));
		path_in(p, sizeof(p), dir, names[i]);
		fd = open(p, O_CREAT | O_EXCL | O_WRONLY, 0600);
		assert_true(fd >= 0);
		assert_int_equal(write(fd, "keep", 4), 4);
		close(fd);
		clock_us = real_now_us();
		assert_int_equal(cf_pki_make_dev(&test_env, dir, &err), CF_EEXIST);
		assert_int_equal(count_entries(dir), 1);
		assert_true(exists(dir, names[i]));
		remove_dir(dir);
	}
	/* A dangling symbolic link counts as existing. */
	{
		char dir[64], p[256];
		make_dir(dir, sizeof(dir));
		path_in(p, sizeof(p), dir, "ca.pem");
		assert_int_equal(symlink("/nonexistent-coffre-target", p), 0);
		assert_int_equal(cf_pki_make_dev(&test_env, dir, NULL), CF_EEXIST);
		assert_int_equal(count_entries(dir), 1);
		remove_dir(dir);
	}
}

static void test_bad_directory(void **state)
{
	cf_err err;

	clock_us = real_now_us();
	assert_int_equal(cf_pki_make_dev(&test_env, "/nonexistent-coffre-dir/pki", &err), CF_EIO);
	assert_int_equal(err.rc, CF_EIO);
	assert_int_equal(cf_pki_make_dev(&test_env, "", &err), CF_EINVAL);
	assert_int_equal(cf_pki_make_dev(&test_env, NULL, &err), CF_EINVAL);
	{
		static char longdir[5000];
		memset(longdir, 'd', sizeof(longdir) - 1);
		assert_int_equal(cf_pki_make_dev(&test_env, longdir, &err), CF_EINVAL);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_files_and_modes),
		cmocka_unit_test(test_chain_verifies),
		cmocka_unit_test(test_another_ca_does_not_verify),
		cmocka_unit_test(test_ca_fields),
		cmocka_unit_test(test_server_fields),
		cmocka_unit_test(test_second_call_refused),
		cmocka_unit_test(test_any_existing_file_refused),
		cmocka_unit_test(test_bad_directory),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
