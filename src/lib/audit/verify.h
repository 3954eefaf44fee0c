/*
 * verify.h - offline verification of the audit trail from storage: every
 * entry's bytes against its leaf hash and its position, every stored tree
 * node, every stored checkpoint's signature and root, and, given one, an
 * older checkpoint kept elsewhere (which catches a rollback of the whole
 * database). It reads only; it names the first bad index it can.
 *
 * The pass runs on two threads (the caller reads the store, a second
 * thread hashes); the verdict and the index it names are those of a
 * single pass in index order.
 */
#ifndef CF_AUDIT_VERIFY_H
#define CF_AUDIT_VERIFY_H

#include "common/cf.h"
#include "audit/note.h"
#include "store/store.h"

typedef struct cf_verify_report {
	bool ok;
	int64_t entries;           /* entries in storage */
	int64_t checkpoints;       /* stored checkpoints checked */
	int64_t latest_checkpoint; /* size of the latest stored checkpoint, -1 when none */
	int64_t external_size;     /* size of the given checkpoint, -1 when none */
	int64_t first_bad_index;   /* -1 when no index can be named */
	char root_hex[65];         /* recomputed root of all entries */
	char problem[512];         /* what is wrong, when !ok */
} cf_verify_report;

/*
 * Verifies the whole trail in one read transaction. key verifies the
 * checkpoints' signatures. external (optional) is a checkpoint note kept
 * outside the data directory. Returns CF_OK when verification ran (the
 * verdict is in rep->ok), an error when it could not run.
 */
cf_rc cf_audit_verify(cf_store *s, const cf_note_verifier *key, const char *external, size_t external_len,
		      cf_verify_report *rep, cf_err *err) CF_MUST_CHECK;

/*
 * FOR TESTS ONLY: entries and bytes of entries per chunk handed from the
 * reading thread to the hashing thread (0 for either: the default), so that
 * tests with small trails cross chunk boundaries. A trail of more entries
 * than a chunk holds is hashed on the second thread, a smaller one inline.
 * Not thread-safe: call it only while no verification runs. Production code
 * never calls it.
 */
void cf_audit_verify_set_chunk_for_tests(size_t entries, size_t bytes);

#endif
