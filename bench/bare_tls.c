/*
 * bare_tls.c - the ceiling of coffre's HTTP benchmark: a bare
 * libmicrohttpd + GnuTLS server that answers every request with the same
 * fixed 300-byte JSON body, with coffre's TLS priorities, MHD flags and
 * connection options (src/lib/http/server.c), so that the only difference
 * from coffre is the work coffre does per request.
 * It must never route, parse, authenticate or touch data: any work here
 * lowers the ceiling and flatters coffre. It uses only libmicrohttpd,
 * GnuTLS and libc.
 *
 * Usage: bare_tls --listen 127.0.0.1:PORT --cert server.pem --key server.key [--threads N]
 * Prints "listening" on stdout once bound, runs until SIGTERM/SIGINT, exits 0.
 * Bad arguments: message on stderr, exit 2. Runtime failure: exit 1.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <gnutls/gnutls.h>
#include <limits.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* Copied verbatim from src/lib/http/server.c: keep the two in step. */
/* TLS 1.2 and 1.3 only, AEAD ciphers, forward secrecy, server's preference. */
#define TLS_PRIORITIES                                                                                               \
	"SECURE128:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:-CIPHER-ALL:+AES-128-GCM:+AES-256-GCM:+CHACHA20-POLY1305:"   \
	"-KX-ALL:+ECDHE-ECDSA:+ECDHE-RSA:-MAC-ALL:+AEAD:%SERVER_PRECEDENCE"

/* The connection options coffre runs with in the benchmark: limits as
 * bench/run.py configures them (connection_limit = per_ip_connection_limit =
 * 1024, every wrk connection comes from 127.0.0.1; coffre's defaults, 256 and
 * 32, would refuse a large -c), coffre's default timeout and thread count,
 * and server.c's per-connection memory. */
#define CONNECTION_LIMIT 1024u
#define PER_IP_CONNECTION_LIMIT 1024u
#define CONNECTION_TIMEOUT_S 30u
#define CONNECTION_MEMORY ((size_t)(64 * 1024))
#define DEFAULT_THREADS 4L
#define MAX_THREADS 256L /* same cap as coffre's "threads" setting */

#define MAX_PEM_BYTES ((size_t)1 << 20) /* a certificate chain or key file larger than 1 MiB is refused */
#define EXIT_USAGE 2

/* A record-shaped answer, exactly 300 bytes (checked at compile time). */
static const char BODY[] = "{\"id\":\"r_0123456789abcdef01234567\",\"org\":\"cpas\",\"collection\":\"social_aid\","
			   "\"subject\":\"s_0123456789abcdef01234567\",\"created\":\"2026-01-01T00:00:00Z\","
			   "\"fields\":{\"first_name\":\"Jeanne\",\"last_name\":\"Dupont\",\"birth_date\":\"1980-04-01\","
			   "\"aid_amount\":\"1234.56\"},\"pad\":\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}";
_Static_assert(sizeof(BODY) - 1 == 300, "the benchmark body must be exactly 300 bytes");

/* Marks a connection whose request headers have been seen (second phase). */
static int seen_marker;

/* MHD's messages go to stderr only until the daemon is up (they explain a
 * failed start); under load they would be noise (resets by the client). */
static atomic_bool daemon_up;

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	(void)cls;
	if (atomic_load(&daemon_up))
		return;
	(void)fputs("bare_tls: mhd: ", stderr);
	(void)vfprintf(stderr, fmt, ap);
}

/* Two phases as MHD expects: headers first (remember the connection), then
 * any body is dropped, then the shared response is queued. */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
				  const char *version, const char *upload_data, size_t *upload_data_size,
				  void **con_cls)
{
	struct MHD_Response *resp = cls;
	(void)url;
	(void)method;
	(void)version;
	(void)upload_data;

	if (*con_cls == NULL) {
		*con_cls = &seen_marker;
		return MHD_YES;
	}
	if (*upload_data_size != 0) {
		*upload_data_size = 0;
		return MHD_YES;
	}
	return MHD_queue_response(c, MHD_HTTP_OK, resp);
}

static void usage(FILE *f)
{
	(void)fputs("usage: bare_tls --listen 127.0.0.1:PORT --cert server.pem --key server.key [--threads N]\n"
		    "  --listen  numeric IPv4 address and port (or [IPv6]:PORT)\n"
		    "  --threads worker threads, 1..256 (default 4, as coffre)\n",
		    f);
}

/* Whole-string decimal in [lo, hi]; false on anything else. */
static bool parse_long(const char *s, long lo, long hi, long *out)
{
	char *end = NULL;
	long v;

	if (s == NULL || s[0] < '0' || s[0] > '9') /* strtol would accept blanks and signs */
		return false;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
		return false;
	*out = v;
	return true;
}

/* "A.B.C.D:PORT" or "[v6]:PORT", numeric only (no name resolution). */
static bool parse_listen(const char *s, struct sockaddr_storage *ss, bool *v6)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *colon, *hs;
	size_t hl;
	long port;

	memset(ss, 0, sizeof(*ss));
	colon = strrchr(s, ':');
	if (colon == NULL || !parse_long(colon + 1, 1, 65535, &port))
		return false;
	hs = s;
	hl = (size_t)(colon - s);
	if (hl >= 2 && s[0] == '[' && s[hl - 1] == ']') {
		hs = s + 1;
		hl -= 2;
		*v6 = true;
	} else {
		*v6 = false;
	}
	if (hl == 0 || hl >= sizeof(host))
		return false;
	memcpy(host, hs, hl);
	host[hl] = '\0';
	if (*v6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
		if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1)
			return false;
		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)port);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)ss;
		if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
			return false;
		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)port);
	}
	return true;
}

/* Reads a whole PEM file into a new NUL-terminated buffer (caller frees;
 * the key's buffer is wiped before it is freed). Refuses empty, oversized
 * or NUL-containing files. Returns NULL after printing why. */
static char *read_pem(const char *path, size_t *len_out)
{
	FILE *f;
	char *buf = NULL;
	size_t n;
	bool ok = false;

	f = fopen(path, "rb");
	if (f == NULL) {
		(void)fprintf(stderr, "bare_tls: cannot open %s: %s\n", path, strerror(errno));
		return NULL;
	}
	buf = malloc(MAX_PEM_BYTES + 1);
	if (buf == NULL) {
		(void)fputs("bare_tls: out of memory\n", stderr);
		goto out;
	}
	n = fread(buf, 1, MAX_PEM_BYTES + 1, f);
	if (ferror(f)) {
		(void)fprintf(stderr, "bare_tls: cannot read %s\n", path);
		goto out;
	}
	if (n == 0 || n > MAX_PEM_BYTES) {
		(void)fprintf(stderr, "bare_tls: %s is empty or larger than %zu bytes\n", path, MAX_PEM_BYTES);
		goto out;
	}
	if (memchr(buf, '\0', n) != NULL) {
		(void)fprintf(stderr, "bare_tls: %s is not a PEM file (contains NUL bytes)\n", path);
		goto out;
	}
	buf[n] = '\0';
	*len_out = n;
	ok = true;
out:
	if (fclose(f) != 0 && ok) {
		(void)fprintf(stderr, "bare_tls: cannot close %s\n", path);
		ok = false;
	}
	if (!ok && buf != NULL) {
		explicit_bzero(buf, MAX_PEM_BYTES + 1);
		free(buf);
		buf = NULL;
	}
	return buf;
}

/* Loads the pair into throw-away GnuTLS credentials so that a bad
 * certificate, a bad key or a mismatched pair is refused as a bad argument
 * (exit 2) rather than found by MHD as a start failure. */
static bool check_pair(const char *cert, size_t cert_len, const char *key, size_t key_len)
{
	gnutls_certificate_credentials_t cred = NULL;
	gnutls_datum_t c, k;
	int e;

	if (cert_len > UINT_MAX || key_len > UINT_MAX)
		return false;
	e = gnutls_certificate_allocate_credentials(&cred);
	if (e != GNUTLS_E_SUCCESS) {
		(void)fprintf(stderr, "bare_tls: gnutls: %s\n", gnutls_strerror(e));
		return false;
	}
	c.data = (unsigned char *)(uintptr_t)cert;
	c.size = (unsigned)cert_len;
	k.data = (unsigned char *)(uintptr_t)key;
	k.size = (unsigned)key_len;
	e = gnutls_certificate_set_x509_key_mem(cred, &c, &k, GNUTLS_X509_FMT_PEM);
	gnutls_certificate_free_credentials(cred);
	if (e < 0) {
		(void)fprintf(stderr, "bare_tls: the certificate and key are not a usable PEM pair: %s\n",
			      gnutls_strerror(e));
		return false;
	}
	return true;
}

int main(int argc, char **argv)
{
	const char *listen_arg = NULL, *cert_path = NULL, *key_path = NULL;
	long threads = DEFAULT_THREADS;
	struct sockaddr_storage ss;
	bool v6 = false;
	char *cert = NULL, *key = NULL;
	size_t cert_len = 0, key_len = 0;
	struct MHD_Response *resp = NULL;
	struct MHD_Daemon *d = NULL;
	sigset_t set;
	int sig = 0, rc = 1, e;
	unsigned flags = MHD_USE_TLS | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC | MHD_USE_ERROR_LOG;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char **dst = NULL;
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(stdout);
			return 0;
		}
		if (strcmp(a, "--listen") == 0)
			dst = &listen_arg;
		else if (strcmp(a, "--cert") == 0)
			dst = &cert_path;
		else if (strcmp(a, "--key") == 0)
			dst = &key_path;
		else if (strcmp(a, "--threads") != 0) {
			(void)fprintf(stderr, "bare_tls: unknown argument '%s'\n", a);
			usage(stderr);
			return EXIT_USAGE;
		}
		if (i + 1 >= argc) {
			(void)fprintf(stderr, "bare_tls: %s needs a value\n", a);
			return EXIT_USAGE;
		}
		if (dst == NULL) {
			if (!parse_long(argv[i + 1], 1, MAX_THREADS, &threads)) {
				(void)fprintf(stderr, "bare_tls: --threads must be an integer in 1..%ld\n", MAX_THREADS);
				return EXIT_USAGE;
			}
		} else {
			if (*dst != NULL) {
				(void)fprintf(stderr, "bare_tls: %s given twice\n", a);
				return EXIT_USAGE;
			}
			*dst = argv[i + 1];
		}
		i++;
	}
	if (listen_arg == NULL || cert_path == NULL || key_path == NULL) {
		(void)fputs("bare_tls: --listen, --cert and --key are required\n", stderr);
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!parse_listen(listen_arg, &ss, &v6)) {
		(void)fprintf(stderr, "bare_tls: --listen must be a numeric IPv4:PORT or [IPv6]:PORT, port 1..65535\n");
		return EXIT_USAGE;
	}
	if (v6)
		flags |= MHD_USE_IPv6;
	cert = read_pem(cert_path, &cert_len);
	if (cert == NULL) {
		rc = EXIT_USAGE;
		goto out;
	}
	key = read_pem(key_path, &key_len);
	if (key == NULL || !check_pair(cert, cert_len, key, key_len)) {
		rc = EXIT_USAGE;
		goto out;
	}

	/* Signals are taken by sigwait in this thread only: block them before MHD
	 * starts its threads (they inherit the mask). Writes to closed sockets
	 * must not kill the process. */
	if (sigemptyset(&set) != 0 || sigaddset(&set, SIGTERM) != 0 || sigaddset(&set, SIGINT) != 0) {
		(void)fputs("bare_tls: cannot build the signal set\n", stderr);
		goto out;
	}
	e = pthread_sigmask(SIG_BLOCK, &set, NULL);
	if (e != 0) {
		(void)fprintf(stderr, "bare_tls: pthread_sigmask: %s\n", strerror(e));
		goto out;
	}
	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR) {
		(void)fprintf(stderr, "bare_tls: cannot ignore SIGPIPE: %s\n", strerror(errno));
		goto out;
	}

	/* One response shared by every connection: MHD reference-counts it. */
	resp = MHD_create_response_from_buffer(sizeof(BODY) - 1, (void *)BODY, MHD_RESPMEM_PERSISTENT);
	if (resp == NULL) {
		(void)fputs("bare_tls: cannot create the response\n", stderr);
		goto out;
	}
	if (MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json") != MHD_YES) {
		(void)fputs("bare_tls: cannot set the content type\n", stderr);
		goto out;
	}

	d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, resp,
			     MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL, /* first, or MHD warns */
			     MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
			     MHD_OPTION_HTTPS_MEM_CERT, cert,
			     MHD_OPTION_HTTPS_MEM_KEY, key,
			     MHD_OPTION_HTTPS_PRIORITIES, TLS_PRIORITIES,
			     MHD_OPTION_THREAD_POOL_SIZE, (unsigned)threads,
			     MHD_OPTION_CONNECTION_LIMIT, CONNECTION_LIMIT,
			     MHD_OPTION_PER_IP_CONNECTION_LIMIT, PER_IP_CONNECTION_LIMIT,
			     MHD_OPTION_CONNECTION_TIMEOUT, CONNECTION_TIMEOUT_S,
			     MHD_OPTION_CONNECTION_MEMORY_LIMIT, CONNECTION_MEMORY,
			     MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned)1,
			     MHD_OPTION_END);
	if (d == NULL) {
		(void)fprintf(stderr, "bare_tls: cannot listen on %s (address in use, or bad certificate/key)\n",
			      listen_arg);
		goto out;
	}
	atomic_store(&daemon_up, true);
	if (puts("listening") == EOF || fflush(stdout) != 0) {
		(void)fputs("bare_tls: cannot write to stdout\n", stderr);
		goto out;
	}

	do {
		e = sigwait(&set, &sig);
		if (e != 0) {
			(void)fprintf(stderr, "bare_tls: sigwait: %s\n", strerror(e));
			goto out;
		}
	} while (sig != SIGTERM && sig != SIGINT);
	rc = 0;
out:
	if (d != NULL)
		MHD_stop_daemon(d);
	if (resp != NULL)
		MHD_destroy_response(resp);
	if (key != NULL) {
		explicit_bzero(key, key_len);
		free(key);
	}
	free(cert);
	return rc;
}
