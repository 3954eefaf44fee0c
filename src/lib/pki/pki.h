/*
 * pki.h - the development PKI made by `coffre init`: a local CA and a
 * server certificate for localhost, 127.0.0.1 and ::1, with GnuTLS.
 * The CA private key is never written: it signs the server certificate and
 * is wiped. The server key file is created 0600.
 */
#ifndef CF_PKI_H
#define CF_PKI_H

#include "common/cf.h"

/*
 * Creates dir/ca.pem, dir/server.pem (leaf then CA) and dir/server.key.
 * ECDSA P-256, SHA-256. CA valid 10 years, server 825 days, both from now
 * (env clock) minus one hour. Fails with CF_EEXIST if any file exists.
 */
cf_rc cf_pki_make_dev(const cf_env *env, const char *dir, cf_err *err) CF_MUST_CHECK;

#endif
