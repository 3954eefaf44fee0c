/*
 * store_sql.c - every line of SQL in coffre: the schema (version 1) and the
 * statement catalogue the store prepares. SQL here is constant text; every
 * value reaches SQLite as a bound parameter (?N), so no value can change a
 * statement's meaning and no value appears in an SQLite error message.
 * Never build SQL from a value, never add SQL anywhere else.
 */
#include "common/cf.h"
#include "store/store_impl.h"

/*
 * vault.db, version 1. STRICT tables (types enforced), NOT NULL everywhere
 * a value is required, foreign keys for every reference inside vault.db,
 * an index for every list and every foreign key child column.
 * The audit tables are append-only in SQL too: entries must take the next
 * index, nodes and checkpoints are written once, updates and deletes abort.
 */
const char cf_sti_schema_main_v1[] =
	"CREATE TABLE main.meta ("
	"  key TEXT NOT NULL PRIMARY KEY,"
	"  value TEXT NOT NULL"
	") STRICT, WITHOUT ROWID;"

	"CREATE TABLE main.orgs ("
	"  id TEXT NOT NULL PRIMARY KEY,"
	"  name TEXT NOT NULL,"
	"  created_us INTEGER NOT NULL"
	") STRICT, WITHOUT ROWID;"

	/* AUTOINCREMENT: a user id is never reused, so a stale reference never names someone else. */
	"CREATE TABLE main.users ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  username TEXT NOT NULL UNIQUE,"
	"  pwhash TEXT,"
	"  instance_roles TEXT NOT NULL DEFAULT '[]',"
	"  failed_logins INTEGER NOT NULL DEFAULT 0 CHECK (failed_logins >= 0),"
	"  locked_until_us INTEGER NOT NULL DEFAULT 0,"
	"  created_us INTEGER NOT NULL"
	") STRICT;"

	/*
	 * Delegated administration: an organization's domains of activity and
	 * their subdivisions. A subdivision id is unique in its organization and
	 * stays in the domain it was created in (a trigger refuses the move), so
	 * a member placed in a subdivision of a domain stays inside that domain.
	 */
	"CREATE TABLE main.domains ("
	"  org TEXT NOT NULL REFERENCES orgs(id),"
	"  id TEXT NOT NULL,"
	"  name TEXT NOT NULL,"
	"  contact_email TEXT NULL,"
	"  technical_user INTEGER NULL REFERENCES users(id),"
	"  created_us INTEGER NOT NULL,"
	"  PRIMARY KEY (org, id)"
	") STRICT, WITHOUT ROWID;"
	"CREATE INDEX main.domains_by_technical_user ON domains(technical_user);"

	"CREATE TABLE main.subdivisions ("
	"  org TEXT NOT NULL,"
	"  id TEXT NOT NULL,"
	"  domain TEXT NOT NULL,"
	"  name TEXT NOT NULL,"
	"  blocked INTEGER NOT NULL DEFAULT 0 CHECK (blocked IN (0, 1)),"
	"  collections TEXT NOT NULL,"
	"  created_us INTEGER NOT NULL,"
	"  PRIMARY KEY (org, id),"
	"  FOREIGN KEY (org, domain) REFERENCES domains(org, id)"
	") STRICT, WITHOUT ROWID;"
	"CREATE INDEX main.subdivisions_by_domain ON subdivisions(org, domain, id);"
	"CREATE TRIGGER main.subdivisions_domain_fixed BEFORE UPDATE OF domain ON subdivisions"
	"  WHEN NEW.domain IS NOT OLD.domain"
	"  BEGIN SELECT RAISE(ABORT, 'a subdivision cannot move to another domain'); END;"

	/*
	 * A member's place (domain, subdivision) and admin level are checked in
	 * SQL as far as a row can be: a subdivision needs a domain, a subdivision
	 * manager a subdivision, a local or co-local manager a domain.
	 */
	"CREATE TABLE main.members ("
	"  user_id INTEGER NOT NULL REFERENCES users(id),"
	"  org TEXT NOT NULL REFERENCES orgs(id),"
	"  roles TEXT NOT NULL,"
	"  blocked INTEGER NOT NULL DEFAULT 0 CHECK (blocked IN (0, 1)),"
	"  created_us INTEGER NOT NULL,"
	"  domain TEXT NULL,"
	"  subdivision TEXT NULL,"
	"  admin_level TEXT NULL CHECK (admin_level IN ('local', 'co_local', 'subdivision')),"
	"  language TEXT NULL,"
	"  email TEXT NULL,"
	"  collections TEXT NULL,"
	"  PRIMARY KEY (user_id, org),"
	"  FOREIGN KEY (org, domain) REFERENCES domains(org, id),"
	"  FOREIGN KEY (org, subdivision) REFERENCES subdivisions(org, id),"
	"  CHECK (subdivision IS NULL OR domain IS NOT NULL),"
	"  CHECK (admin_level IS NOT 'subdivision' OR subdivision IS NOT NULL),"
	"  CHECK (admin_level IS NULL OR admin_level = 'subdivision' OR domain IS NOT NULL)"
	") STRICT, WITHOUT ROWID;"
	"CREATE INDEX main.members_by_org ON members(org);"
	"CREATE INDEX main.members_by_domain ON members(org, domain);"
	"CREATE INDEX main.members_by_subdivision ON members(org, subdivision);"

	"CREATE TABLE main.tokens ("
	"  hash TEXT NOT NULL PRIMARY KEY,"
	"  user_id INTEGER NOT NULL REFERENCES users(id),"
	"  org TEXT REFERENCES orgs(id),"
	"  method TEXT NOT NULL,"
	"  created_us INTEGER NOT NULL,"
	"  expires_us INTEGER NOT NULL"
	") STRICT, WITHOUT ROWID;"
	"CREATE INDEX main.tokens_by_expiry ON tokens(expires_us);"
	"CREATE INDEX main.tokens_by_user ON tokens(user_id);"
	"CREATE INDEX main.tokens_by_org ON tokens(org);"

	"CREATE TABLE main.apikeys ("
	"  id TEXT NOT NULL PRIMARY KEY,"
	"  hash TEXT NOT NULL UNIQUE,"
	"  user_id INTEGER NOT NULL REFERENCES users(id),"
	"  org TEXT NOT NULL REFERENCES orgs(id),"
	"  description TEXT NOT NULL,"
	"  created_us INTEGER NOT NULL,"
	"  revoked INTEGER NOT NULL DEFAULT 0 CHECK (revoked IN (0, 1))"
	") STRICT, WITHOUT ROWID;"
	"CREATE INDEX main.apikeys_by_org ON apikeys(org, id);"
	"CREATE INDEX main.apikeys_by_user ON apikeys(user_id);"

	"CREATE TABLE main.collections ("
	"  org TEXT NOT NULL REFERENCES orgs(id),"
	"  name TEXT NOT NULL,"
	"  def TEXT NOT NULL,"
	"  version INTEGER NOT NULL CHECK (version >= 1),"
	"  updated_us INTEGER NOT NULL,"
	"  PRIMARY KEY (org, name)"
	") STRICT, WITHOUT ROWID;"

	"CREATE TABLE main.grants ("
	"  org TEXT NOT NULL REFERENCES orgs(id),"
	"  role TEXT NOT NULL,"
	"  grants TEXT NOT NULL,"
	"  updated_us INTEGER NOT NULL,"
	"  PRIMARY KEY (org, role)"
	") STRICT, WITHOUT ROWID;"

	/*
	 * A subject is found by its blind index until it is erased: erasure
	 * forgets the blind index and the encrypted national identifier (both
	 * NULL from then on, never again set: the CHECK and the trigger) and
	 * keeps the pseudonym, which records, requests and holds still name.
	 * UNIQUE allows several NULLs, so the same person can come back as a
	 * new subject.
	 */
	"CREATE TABLE main.subjects ("
	"  org TEXT NOT NULL REFERENCES orgs(id),"
	"  pseudonym TEXT NOT NULL,"
	"  blind_index TEXT NULL,"
	"  enc_nid BLOB NULL,"
	"  created_us INTEGER NOT NULL,"
	"  erased_us INTEGER NULL,"
	"  PRIMARY KEY (org, pseudonym),"
	"  UNIQUE (org, blind_index),"
	"  CHECK (CASE WHEN erased_us IS NULL THEN blind_index IS NOT NULL AND enc_nid IS NOT NULL"
	"         ELSE blind_index IS NULL AND enc_nid IS NULL END)"
	") STRICT;"
	"CREATE TRIGGER main.subjects_erasure_final BEFORE UPDATE ON subjects"
	"  WHEN OLD.erased_us IS NOT NULL AND (NEW.erased_us IS NOT OLD.erased_us"
	"    OR NEW.blind_index IS NOT NULL OR NEW.enc_nid IS NOT NULL)"
	"  BEGIN SELECT RAISE(ABORT, 'an erased subject cannot be changed'); END;"

	"CREATE TABLE main.records ("
	"  org TEXT NOT NULL,"
	"  collection TEXT NOT NULL,"
	"  id TEXT NOT NULL,"
	"  subject TEXT NOT NULL,"
	"  version INTEGER NOT NULL CHECK (version >= 1),"
	"  created_us INTEGER NOT NULL,"
	"  updated_us INTEGER NOT NULL,"
	"  PRIMARY KEY (org, collection, id),"
	"  FOREIGN KEY (org, collection) REFERENCES collections(org, name),"
	"  FOREIGN KEY (org, subject) REFERENCES subjects(org, pseudonym)"
	") STRICT, WITHOUT ROWID;"
	/*
	 * A subject's records in the order they are listed (the statement names
	 * this index: left to itself, the planner walked the primary key of the
	 * whole organization to avoid a sort; measured 5 s per lookup at a
	 * million records).
	 */
	"CREATE INDEX main.records_by_subject ON records(org, subject, collection, id);"

	/*
	 * Ciphertexts can be large: a rowid table keeps them out of the key
	 * b-tree. Replaced by record_cts in version 3.
	 */
	"CREATE TABLE main.record_fields ("
	"  org TEXT NOT NULL,"
	"  collection TEXT NOT NULL,"
	"  record_id TEXT NOT NULL,"
	"  version INTEGER NOT NULL CHECK (version >= 1),"
	"  field TEXT NOT NULL,"
	"  ct BLOB NOT NULL,"
	"  PRIMARY KEY (org, collection, record_id, version, field),"
	"  FOREIGN KEY (org, collection, record_id) REFERENCES records(org, collection, id)"
	") STRICT;"

	/*
	 * When each version of a record was written (rectification history):
	 * one row per version, removed with the record. The primary key leads
	 * with the foreign key columns, so it is also the child index.
	 */
	"CREATE TABLE main.record_versions ("
	"  org TEXT NOT NULL,"
	"  collection TEXT NOT NULL,"
	"  record_id TEXT NOT NULL,"
	"  version INTEGER NOT NULL CHECK (version >= 1),"
	"  written_us INTEGER NOT NULL,"
	"  PRIMARY KEY (org, collection, record_id, version),"
	"  FOREIGN KEY (org, collection, record_id) REFERENCES records(org, collection, id)"
	") STRICT, WITHOUT ROWID;"

	/*
	 * The audit trail. leaf is the RFC 6962 leaf hash of entry; the three
	 * metadata columns (organization ids and a pseudonym, never a personal
	 * value) exist only to filter lists, each with its index in idx order.
	 */
	"CREATE TABLE main.audit ("
	"  idx INTEGER PRIMARY KEY CHECK (idx >= 0),"
	"  entry BLOB NOT NULL,"
	"  leaf BLOB NOT NULL CHECK (length(leaf) = 32),"
	"  actor_org TEXT NULL,"
	"  resource_org TEXT NULL,"
	"  subject TEXT NULL"
	") STRICT;"
	"CREATE INDEX main.audit_by_actor ON audit(actor_org, idx);"
	"CREATE INDEX main.audit_by_resource ON audit(resource_org, idx);"
	"CREATE INDEX main.audit_by_subject ON audit(resource_org, subject, idx);"
	"CREATE TRIGGER main.audit_append_in_order BEFORE INSERT ON audit"
	"  WHEN NEW.idx IS NOT (SELECT coalesce(max(idx) + 1, 0) FROM audit)"
	"  BEGIN SELECT RAISE(ABORT, 'audit entries are appended in index order'); END;"
	"CREATE TRIGGER main.audit_no_update BEFORE UPDATE ON audit"
	"  BEGIN SELECT RAISE(ABORT, 'audit entries cannot be changed'); END;"
	"CREATE TRIGGER main.audit_no_delete BEFORE DELETE ON audit"
	"  BEGIN SELECT RAISE(ABORT, 'audit entries cannot be deleted'); END;"

	/*
	 * Perfect subtrees of the Merkle tree (level >= 1; level 0 is audit.leaf)
	 * and signed checkpoints. Both are written once: besides refusing UPDATE
	 * and DELETE, an INSERT onto an existing key is refused by a trigger,
	 * because INSERT OR REPLACE deletes the old row without firing a delete
	 * trigger (recursive_triggers is off by default on any connection).
	 */
	"CREATE TABLE main.audit_nodes ("
	"  level INTEGER NOT NULL CHECK (level >= 1 AND level < 64),"
	"  idx INTEGER NOT NULL CHECK (idx >= 0),"
	"  hash BLOB NOT NULL CHECK (length(hash) = 32),"
	"  PRIMARY KEY (level, idx)"
	") STRICT, WITHOUT ROWID;"
	"CREATE TRIGGER main.audit_nodes_written_once BEFORE INSERT ON audit_nodes"
	"  WHEN EXISTS (SELECT 1 FROM audit_nodes WHERE level = NEW.level AND idx = NEW.idx)"
	"  BEGIN SELECT RAISE(ABORT, 'audit nodes are written once'); END;"
	"CREATE TRIGGER main.audit_nodes_no_update BEFORE UPDATE ON audit_nodes"
	"  BEGIN SELECT RAISE(ABORT, 'audit nodes cannot be changed'); END;"
	"CREATE TRIGGER main.audit_nodes_no_delete BEFORE DELETE ON audit_nodes"
	"  BEGIN SELECT RAISE(ABORT, 'audit nodes cannot be deleted'); END;"

	"CREATE TABLE main.checkpoints ("
	"  size INTEGER PRIMARY KEY CHECK (size >= 0),"
	"  root BLOB NOT NULL CHECK (length(root) = 32),"
	"  note TEXT NOT NULL,"
	"  created_us INTEGER NOT NULL"
	") STRICT;"
	"CREATE TRIGGER main.checkpoints_written_once BEFORE INSERT ON checkpoints"
	"  WHEN EXISTS (SELECT 1 FROM checkpoints WHERE size = NEW.size)"
	"  BEGIN SELECT RAISE(ABORT, 'checkpoints are written once'); END;"
	"CREATE TRIGGER main.checkpoints_no_update BEFORE UPDATE ON checkpoints"
	"  BEGIN SELECT RAISE(ABORT, 'checkpoints cannot be changed'); END;"
	"CREATE TRIGGER main.checkpoints_no_delete BEFORE DELETE ON checkpoints"
	"  BEGIN SELECT RAISE(ABORT, 'checkpoints cannot be deleted'); END;"

	/*
	 * Sharing agreements between organizations. A revocation is final: an
	 * UPDATE of a revoked row aborts, and so does an INSERT onto an existing
	 * id (INSERT OR REPLACE would otherwise delete the revoked row without
	 * firing a delete trigger) or an UPDATE of the id (UPDATE OR REPLACE
	 * likewise). Agreements are never deleted. Rowid table: the JSON arrays
	 * and the legal basis make rows too wide for a key b-tree.
	 */
	"CREATE TABLE main.agreements ("
	"  id TEXT NOT NULL PRIMARY KEY,"
	"  provider TEXT NOT NULL REFERENCES orgs(id),"
	"  consumer TEXT NOT NULL REFERENCES orgs(id),"
	"  collection TEXT NOT NULL,"
	"  fields TEXT NOT NULL,"
	"  categories TEXT NOT NULL,"
	"  purposes TEXT NOT NULL,"
	"  legal_basis TEXT NOT NULL,"
	"  valid_from TEXT NOT NULL CHECK (valid_from GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]'),"
	"  valid_until TEXT NOT NULL CHECK (valid_until GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]'),"
	"  max_accesses INTEGER NOT NULL CHECK (max_accesses >= -1),"
	"  accesses INTEGER NOT NULL DEFAULT 0 CHECK (accesses >= 0),"
	"  status TEXT NOT NULL CHECK (status IN ('active', 'suspended', 'revoked')),"
	"  created_us INTEGER NOT NULL,"
	"  changed_us INTEGER NOT NULL,"
	"  CHECK (provider <> consumer)"
	") STRICT;"
	"CREATE INDEX main.agreements_by_pair ON agreements(provider, consumer, collection);"
	"CREATE INDEX main.agreements_by_consumer ON agreements(consumer);"
	"CREATE TRIGGER main.agreements_written_once BEFORE INSERT ON agreements"
	"  WHEN EXISTS (SELECT 1 FROM agreements WHERE id = NEW.id)"
	"  BEGIN SELECT RAISE(ABORT, 'agreements are written once'); END;"
	"CREATE TRIGGER main.agreements_revocation_final BEFORE UPDATE ON agreements"
	"  WHEN OLD.status = 'revoked'"
	"  BEGIN SELECT RAISE(ABORT, 'a revoked agreement cannot be changed'); END;"
	"CREATE TRIGGER main.agreements_id_fixed BEFORE UPDATE OF id ON agreements"
	"  WHEN NEW.id IS NOT OLD.id"
	"  BEGIN SELECT RAISE(ABORT, 'an agreement id cannot be changed'); END;"
	"CREATE TRIGGER main.agreements_no_delete BEFORE DELETE ON agreements"
	"  BEGIN SELECT RAISE(ABORT, 'agreements cannot be deleted'); END;"

	/*
	 * Confidentiality commitments: every version of an organization's text
	 * is kept (written once, never changed or removed), so an acceptance
	 * always names the text that was accepted.
	 */
	"CREATE TABLE main.commitments ("
	"  org TEXT NOT NULL REFERENCES orgs(id),"
	"  version INTEGER NOT NULL CHECK (version >= 1),"
	"  text TEXT NOT NULL,"
	"  created_us INTEGER NOT NULL,"
	"  PRIMARY KEY (org, version)"
	") STRICT;"
	"CREATE TRIGGER main.commitments_written_once BEFORE INSERT ON commitments"
	"  WHEN EXISTS (SELECT 1 FROM commitments WHERE org = NEW.org AND version = NEW.version)"
	"  BEGIN SELECT RAISE(ABORT, 'commitments are written once'); END;"
	"CREATE TRIGGER main.commitments_no_update BEFORE UPDATE ON commitments"
	"  BEGIN SELECT RAISE(ABORT, 'commitments cannot be changed'); END;"
	"CREATE TRIGGER main.commitments_no_delete BEFORE DELETE ON commitments"
	"  BEGIN SELECT RAISE(ABORT, 'commitments cannot be deleted'); END;"

	"CREATE TABLE main.commitment_acceptances ("
	"  user_id INTEGER NOT NULL REFERENCES users(id),"
	"  org TEXT NOT NULL,"
	"  version INTEGER NOT NULL CHECK (version >= 1),"
	"  accepted_us INTEGER NOT NULL,"
	"  PRIMARY KEY (user_id, org, version),"
	"  FOREIGN KEY (org, version) REFERENCES commitments(org, version)"
	") STRICT, WITHOUT ROWID;"
	"CREATE INDEX main.commitment_acceptances_by_commitment ON commitment_acceptances(org, version);"

	/*
	 * Citizens' rights. An erasure request is written once; only its
	 * decision is added later, once (pending -> approved or refused), and
	 * it is never deleted: the request, who made it and why stay. The
	 * written-once trigger also stops INSERT OR REPLACE from deleting a
	 * decided request without a delete trigger firing, and the request's
	 * own columns (its key included) cannot be rewritten.
	 */
	"CREATE TABLE main.erasure_requests ("
	"  org TEXT NOT NULL REFERENCES orgs(id),"
	"  id TEXT NOT NULL,"
	"  subject TEXT NOT NULL,"
	"  status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'refused')),"
	"  request_reason TEXT NULL,"
	"  decision_reason TEXT NULL,"
	"  requested_by TEXT NOT NULL,"
	"  decided_by TEXT NULL,"
	"  requested_us INTEGER NOT NULL,"
	"  decided_us INTEGER NOT NULL DEFAULT 0,"
	"  PRIMARY KEY (org, id),"
	"  FOREIGN KEY (org, subject) REFERENCES subjects(org, pseudonym),"
	"  CHECK ((status = 'pending') = (decided_by IS NULL)),"
	"  CHECK (status <> 'pending' OR (decision_reason IS NULL AND decided_us = 0))"
	") STRICT;"
	"CREATE INDEX main.erasure_requests_by_subject ON erasure_requests(org, subject);"
	"CREATE TRIGGER main.erasure_requests_written_once BEFORE INSERT ON erasure_requests"
	"  WHEN EXISTS (SELECT 1 FROM erasure_requests WHERE org = NEW.org AND id = NEW.id)"
	"  BEGIN SELECT RAISE(ABORT, 'erasure requests are written once'); END;"
	"CREATE TRIGGER main.erasure_requests_decision_final BEFORE UPDATE ON erasure_requests"
	"  WHEN OLD.status <> 'pending'"
	"  BEGIN SELECT RAISE(ABORT, 'a decided erasure request cannot be changed'); END;"
	"CREATE TRIGGER main.erasure_requests_request_fixed BEFORE UPDATE ON erasure_requests"
	"  WHEN NEW.org IS NOT OLD.org OR NEW.id IS NOT OLD.id OR NEW.subject IS NOT OLD.subject"
	"    OR NEW.request_reason IS NOT OLD.request_reason OR NEW.requested_by IS NOT OLD.requested_by"
	"    OR NEW.requested_us IS NOT OLD.requested_us"
	"  BEGIN SELECT RAISE(ABORT, 'an erasure request cannot be rewritten'); END;"
	"CREATE TRIGGER main.erasure_requests_no_delete BEFORE DELETE ON erasure_requests"
	"  BEGIN SELECT RAISE(ABORT, 'erasure requests cannot be deleted'); END;"

	/*
	 * Legal holds on a subject (record NULL) or on one of its records (a
	 * record id, in whichever collection). Released holds are kept: a hold
	 * is written once, only its release is added, once, and it is never
	 * deleted.
	 */
	"CREATE TABLE main.legal_holds ("
	"  org TEXT NOT NULL,"
	"  id TEXT NOT NULL,"
	"  subject TEXT NOT NULL,"
	"  record TEXT NULL,"
	"  reason TEXT NOT NULL,"
	"  by TEXT NOT NULL,"
	"  created_us INTEGER NOT NULL,"
	"  released_us INTEGER NULL,"
	"  PRIMARY KEY (org, id),"
	"  FOREIGN KEY (org, subject) REFERENCES subjects(org, pseudonym)"
	") STRICT;"
	"CREATE INDEX main.legal_holds_by_subject ON legal_holds(org, subject);"
	"CREATE TRIGGER main.legal_holds_written_once BEFORE INSERT ON legal_holds"
	"  WHEN EXISTS (SELECT 1 FROM legal_holds WHERE org = NEW.org AND id = NEW.id)"
	"  BEGIN SELECT RAISE(ABORT, 'legal holds are written once'); END;"
	"CREATE TRIGGER main.legal_holds_release_final BEFORE UPDATE ON legal_holds"
	"  WHEN OLD.released_us IS NOT NULL"
	"  BEGIN SELECT RAISE(ABORT, 'a released legal hold cannot be changed'); END;"
	"CREATE TRIGGER main.legal_holds_hold_fixed BEFORE UPDATE ON legal_holds"
	"  WHEN NEW.org IS NOT OLD.org OR NEW.id IS NOT OLD.id OR NEW.subject IS NOT OLD.subject"
	"    OR NEW.record IS NOT OLD.record OR NEW.reason IS NOT OLD.reason OR NEW.by IS NOT OLD.by"
	"    OR NEW.created_us IS NOT OLD.created_us"
	"  BEGIN SELECT RAISE(ABORT, 'a legal hold cannot be rewritten'); END;"
	"CREATE TRIGGER main.legal_holds_no_delete BEFORE DELETE ON legal_holds"
	"  BEGIN SELECT RAISE(ABORT, 'legal holds cannot be deleted'); END;"

	/*
	 * Disposal records: one per retention sweep batch, naming the records
	 * disposed of (ids and pseudonyms as JSON text, never a value) and the
	 * audit entry that reported them. Written once, never changed, never
	 * deleted; the written-once trigger also stops INSERT OR REPLACE from
	 * deleting one without a delete trigger firing. Rowid table: the
	 * records list makes rows too wide for a key b-tree.
	 */
	"CREATE TABLE main.disposals ("
	"  org TEXT NOT NULL REFERENCES orgs(id),"
	"  id TEXT NOT NULL,"
	"  collection TEXT NOT NULL,"
	"  retention TEXT NOT NULL,"
	"  retention_start TEXT NOT NULL,"
	"  disposed_us INTEGER NOT NULL,"
	"  count INTEGER NOT NULL CHECK (count >= 1),"
	"  records TEXT NOT NULL,"
	"  audit_index INTEGER NOT NULL CHECK (audit_index >= 0),"
	"  PRIMARY KEY (org, id)"
	") STRICT;"
	"CREATE INDEX main.disposals_by_time ON disposals(org, disposed_us);"
	"CREATE TRIGGER main.disposals_written_once BEFORE INSERT ON disposals"
	"  WHEN EXISTS (SELECT 1 FROM disposals WHERE org = NEW.org AND id = NEW.id)"
	"  BEGIN SELECT RAISE(ABORT, 'disposal records are written once'); END;"
	"CREATE TRIGGER main.disposals_no_update BEFORE UPDATE ON disposals"
	"  BEGIN SELECT RAISE(ABORT, 'disposal records cannot be changed'); END;"
	"CREATE TRIGGER main.disposals_no_delete BEFORE DELETE ON disposals"
	"  BEGIN SELECT RAISE(ABORT, 'disposal records cannot be deleted'); END;"

	"PRAGMA main.user_version = 1;";

/*
 * Version 2: a subject's entries are found slice by slice (4,096 entries
 * each, CF_STI_AUDIT_SLICE_BITS): keyed by (organization, subject, idx) the
 * index took each new entry at a random place (its subject's), a random
 * page read and written for every entry appended; keyed by the slice
 * first, the entries of the current slice sit together, and a subject's
 * entries are one lookup per slice.
 */
const char cf_sti_schema_main_v2[] =
	"DROP INDEX main.audit_by_subject;"
	"CREATE INDEX main.audit_by_subject ON audit(resource_org, idx >> " CF_STI_XSTR(CF_STI_AUDIT_SLICE_BITS)
	", subject, idx);"
	"PRAGMA main.user_version = 2;";

/*
 * Version 3: a version's field ciphertexts in one row of record_cts (one
 * blob, store_data.c's packed form), named by its record_versions row,
 * instead of a row per field in record_fields: a create inserted a row and
 * an index entry per field, a read looked each up. record_cts is a rowid
 * table (ciphertexts can be large: a WITHOUT ROWID table would copy them
 * into its interior pages) appended at its end. No foreign key: deleting a
 * blob would then scan record_versions for a reference; the store removes
 * a record's blobs with its versions, and a blob under another version's
 * name fails to decrypt (its ciphertexts' associated data name their
 * record and version). The step runs in three parts around a data move in
 * C (cf_sti_migrate_fields_v3), all in the migration's transaction.
 */
const char cf_sti_schema_main_v3_before[] =
	"CREATE TABLE main.record_cts ("
	"  id INTEGER PRIMARY KEY,"
	"  cts BLOB NOT NULL"
	") STRICT;"
	"ALTER TABLE main.record_versions ADD COLUMN cts_id INTEGER NULL;"
	/* ciphertexts of a version without a time row (not made through the store) keep their version */
	"INSERT INTO main.record_versions (org, collection, record_id, version, written_us)"
	"  SELECT DISTINCT org, collection, record_id, version, 0 FROM main.record_fields WHERE true"
	"  ON CONFLICT DO NOTHING;";
const char cf_sti_schema_main_v3_after[] =
	"DROP TABLE main.record_fields;"
	"PRAGMA main.user_version = 3;";

/*
 * Version 4: the tree's nodes keyed by the order in which appends complete
 * them, pos = (p << 6) + level where p is the index of the entry that
 * completes the node ((index + 1) * 2^level - 1). Keyed (level, index),
 * an append wrote each level's nodes into a page of that level's own
 * part of the table (ten pages or so per batch of entries); in this order
 * the nodes a batch completes sit together at the table's end, and
 * verification reads them in one forward scan in the order it recomputes
 * them. level and idx stay, tied to pos by a CHECK, for whoever inspects
 * the table; the store reads pos and hash. A trail reaches 2^56 entries
 * before pos would leave int64: levels above 56 are refused.
 */
const char cf_sti_schema_main_v4[] =
	"CREATE TABLE main.audit_nodes_by_pos ("
	"  pos INTEGER PRIMARY KEY,"
	"  level INTEGER NOT NULL CHECK (level >= 1 AND level <= 56),"
	"  idx INTEGER NOT NULL CHECK (idx >= 0 AND idx < (1 << (57 - level))),"
	"  hash BLOB NOT NULL CHECK (length(hash) = 32),"
	"  CHECK (pos = ((((idx + 1) << level) - 1) << 6) + level)"
	") STRICT;"
	"INSERT INTO main.audit_nodes_by_pos (pos, level, idx, hash)"
	"  SELECT ((((idx + 1) << level) - 1) << 6) + level, level, idx, hash FROM main.audit_nodes ORDER BY 1;"
	"DROP TABLE main.audit_nodes;"
	"ALTER TABLE main.audit_nodes_by_pos RENAME TO audit_nodes;"
	/* written once, as before: see version 1 */
	"CREATE TRIGGER main.audit_nodes_written_once BEFORE INSERT ON audit_nodes"
	"  WHEN EXISTS (SELECT 1 FROM audit_nodes WHERE pos = NEW.pos)"
	"  BEGIN SELECT RAISE(ABORT, 'audit nodes are written once'); END;"
	"CREATE TRIGGER main.audit_nodes_no_update BEFORE UPDATE ON audit_nodes"
	"  BEGIN SELECT RAISE(ABORT, 'audit nodes cannot be changed'); END;"
	"CREATE TRIGGER main.audit_nodes_no_delete BEFORE DELETE ON audit_nodes"
	"  BEGIN SELECT RAISE(ABORT, 'audit nodes cannot be deleted'); END;"
	"PRAGMA main.user_version = 4;";

/*
 * Version 5: a record's row names its current version's ciphertexts
 * (records.cts_id, as record_versions.cts_id of that version; NULL: no
 * field). A read went from the record's row to its version's row and from
 * there to the blob: three descents of three tables of a million rows,
 * each a random leaf no page cache holds. Now the row names the blob, and
 * record_versions serves the history alone.
 */
const char cf_sti_schema_main_v5[] =
	"ALTER TABLE main.records ADD COLUMN cts_id INTEGER NULL;"
	"UPDATE main.records SET cts_id = (SELECT v.cts_id FROM main.record_versions AS v"
	"  WHERE v.org = records.org AND v.collection = records.collection AND v.record_id = records.id"
	"  AND v.version = records.version);"
	"PRAGMA main.user_version = 5;";

/* The stored nodes in completion order from a position (verification keeps one open). */
const char cf_sti_sql_node_cursor[] = "SELECT pos, hash FROM main.audit_nodes WHERE pos >= ?1 ORDER BY pos";

/* keys.db, version 1: the keystore and nothing else. */
const char cf_sti_schema_ks_v1[] =
	"CREATE TABLE ks.keys ("
	"  kind TEXT NOT NULL,"
	"  org TEXT NOT NULL,"
	"  name TEXT NOT NULL,"
	"  wrapped BLOB NOT NULL,"
	"  created_us INTEGER NOT NULL,"
	"  PRIMARY KEY (kind, org, name)"
	") STRICT;"

	"PRAGMA ks.user_version = 1;";

/*
 * keys.db, version 2: the keys in their primary key's own B-tree (WITHOUT
 * ROWID). In version 1 a lookup went down the primary key's index to a
 * rowid, then down the table to the row: two pages, each at a random
 * place for a random subject. Copied in key order, then the old table
 * dropped (secure_delete, set on the connection, zeroes its freed pages).
 */
const char cf_sti_schema_ks_v2[] =
	"CREATE TABLE ks.keys_v2 ("
	"  kind TEXT NOT NULL,"
	"  org TEXT NOT NULL,"
	"  name TEXT NOT NULL,"
	"  wrapped BLOB NOT NULL,"
	"  created_us INTEGER NOT NULL,"
	"  PRIMARY KEY (kind, org, name)"
	") STRICT, WITHOUT ROWID;"
	"INSERT INTO ks.keys_v2 (kind, org, name, wrapped, created_us)"
	"  SELECT kind, org, name, wrapped, created_us FROM ks.keys ORDER BY kind, org, name;"
	"DROP TABLE ks.keys;"
	"ALTER TABLE ks.keys_v2 RENAME TO keys;"
	"PRAGMA ks.user_version = 2;";

/* The agreement columns in cf_agreement_row order (read_agreement in store_sharing.c). */
#define AGREEMENT_COLUMNS                                                                                   \
	"id, provider, consumer, collection, fields, categories, purposes, legal_basis, valid_from, valid_until," \
	" max_accesses, accesses, status, created_us, changed_us"
/* The erasure request columns in cf_erasure_row order (read_erasure in store_rights.c). */
#define ERASURE_COLUMNS                                                                                     \
	"id, org, subject, status, request_reason, decision_reason, requested_by, decided_by, requested_us,"   \
	" decided_us"
#define AGREEMENT_FILTER_P "(?1 IS NULL OR provider = ?1)"
#define AGREEMENT_FILTER_C "(?2 IS NULL OR consumer = ?2)"
#define AGREEMENT_FILTER_COL "(?3 IS NULL OR collection = ?3)"
#define AGREEMENT_FILTER_ORG "(?4 IS NULL OR provider = ?4 OR consumer = ?4)"

const char *const cf_sti_sql[STI__COUNT] = {
	[STI_BEGIN_READ] = "BEGIN DEFERRED",
	[STI_BEGIN_WRITE] = "BEGIN IMMEDIATE",
	[STI_COMMIT] = "COMMIT",
	[STI_ROLLBACK] = "ROLLBACK",
	/* One savepoint name: savepoints are never nested (cf_tx tracks the one open). */
	[STI_SAVEPOINT] = "SAVEPOINT cf_job",
	[STI_RELEASE] = "RELEASE cf_job",
	[STI_ROLLBACK_TO] = "ROLLBACK TO cf_job",

	[STI_META_GET] = "SELECT value FROM main.meta WHERE key = ?1",
	[STI_META_SET] = "INSERT INTO main.meta (key, value) VALUES (?1, ?2)"
			 " ON CONFLICT (key) DO UPDATE SET value = excluded.value",

	[STI_ORG_INSERT] = "INSERT INTO main.orgs (id, name, created_us) VALUES (?1, ?2, ?3)",
	[STI_ORG_GET] = "SELECT name FROM main.orgs WHERE id = ?1",
	[STI_ORG_LIST] = "SELECT id, name, created_us FROM main.orgs ORDER BY id",

	[STI_USER_INSERT] = "INSERT INTO main.users (username, pwhash, instance_roles, created_us)"
			    " VALUES (?1, ?2, ?3, ?4) RETURNING id",
	[STI_USER_GET] = "SELECT id, username, pwhash, instance_roles, failed_logins, locked_until_us, created_us"
			 " FROM main.users WHERE username = ?1",
	[STI_USER_GET_BY_ID] = "SELECT id, username, pwhash, instance_roles, failed_logins, locked_until_us,"
			       " created_us FROM main.users WHERE id = ?1",
	[STI_USER_SET_LOGIN] = "UPDATE main.users SET failed_logins = ?2, locked_until_us = ?3 WHERE id = ?1",
	[STI_USER_SET_PASSWORD] = "UPDATE main.users SET pwhash = ?2 WHERE id = ?1",
	[STI_USER_LIST_INSTANCE] = "SELECT username, instance_roles, created_us FROM main.users"
				   " WHERE instance_roles <> '[]' ORDER BY username",

	[STI_MEMBER_INSERT] = "INSERT INTO main.members (user_id, org, roles, blocked, created_us)"
			      " VALUES (?1, ?2, ?3, 0, ?4)",
	[STI_MEMBER_GET] = "SELECT user_id, org, roles, blocked, created_us, domain, subdivision, admin_level,"
			   " language, email, collections FROM main.members WHERE user_id = ?1 AND org = ?2",
	[STI_MEMBER_UPDATE] = "UPDATE main.members SET roles = coalesce(?3, roles),"
			      " blocked = CASE WHEN ?4 < 0 THEN blocked ELSE ?4 END"
			      " WHERE user_id = ?1 AND org = ?2",
	[STI_MEMBER_LIST] = "SELECT u.username, m.roles, m.blocked, m.created_us"
			    " FROM main.members AS m JOIN main.users AS u ON u.id = m.user_id"
			    " WHERE m.org = ?1 ORDER BY u.username",

	/* Absent filters are NULL; the org equality leads, on the members_by_org index. */
	[STI_MEMBER_SEARCH] = "SELECT u.username, m.roles, m.blocked, m.domain, m.subdivision, m.admin_level,"
			      " m.language, m.email"
			      " FROM main.members AS m JOIN main.users AS u ON u.id = m.user_id"
			      " WHERE m.org = ?1 AND (?2 IS NULL OR m.domain = ?2)"
			      " AND (?3 IS NULL OR m.subdivision = ?3)"
			      " AND (?4 IS NULL OR instr(lower(u.username), lower(?4)) > 0)"
			      " ORDER BY u.username LIMIT ?5",
	[STI_MEMBER_SET_SCOPE] = "UPDATE main.members SET domain = ?3, subdivision = ?4, admin_level = ?5"
				 " WHERE user_id = ?1 AND org = ?2",
	/* NULL keeps a value, '' clears it. */
	[STI_MEMBER_SET_ATTRIBUTES] = "UPDATE main.members"
				      " SET language = CASE WHEN ?3 IS NULL THEN language ELSE nullif(?3, '') END,"
				      " email = CASE WHEN ?4 IS NULL THEN email ELSE nullif(?4, '') END"
				      " WHERE user_id = ?1 AND org = ?2",
	[STI_MEMBER_SET_COLLECTIONS] = "UPDATE main.members SET collections = ?3 WHERE user_id = ?1 AND org = ?2",
	[STI_MEMBER_DELETE] = "DELETE FROM main.members WHERE user_id = ?1 AND org = ?2",

	[STI_TOKEN_INSERT] = "INSERT INTO main.tokens (hash, user_id, org, method, created_us, expires_us)"
			     " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	[STI_TOKEN_GET] = "SELECT hash, user_id, org, method, created_us, expires_us FROM main.tokens"
			  " WHERE hash = ?1",
	[STI_TOKEN_DELETE] = "DELETE FROM main.tokens WHERE hash = ?1",
	[STI_TOKEN_PURGE] = "DELETE FROM main.tokens WHERE expires_us <= ?1",

	[STI_APIKEY_INSERT] = "INSERT INTO main.apikeys (id, hash, user_id, org, description, created_us, revoked)"
			      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	[STI_APIKEY_GET] = "SELECT id, hash, user_id, org, description, created_us, revoked FROM main.apikeys"
			   " WHERE id = ?1",
	[STI_APIKEY_REVOKE] = "UPDATE main.apikeys SET revoked = 1 WHERE org = ?1 AND id = ?2",
	[STI_APIKEY_LIST] = "SELECT k.id, u.username, k.description, k.created_us, k.revoked"
			    " FROM main.apikeys AS k JOIN main.users AS u ON u.id = k.user_id"
			    " WHERE k.org = ?1 ORDER BY k.id",

	[STI_COLLECTION_PUT] = "INSERT INTO main.collections (org, name, def, version, updated_us)"
			       " VALUES (?1, ?2, ?3, 1, ?4)"
			       " ON CONFLICT (org, name) DO UPDATE SET def = excluded.def,"
			       " version = version + 1, updated_us = excluded.updated_us"
			       " RETURNING version",
	[STI_COLLECTION_GET] = "SELECT def, version FROM main.collections WHERE org = ?1 AND name = ?2",
	[STI_COLLECTION_LIST] = "SELECT name, version, updated_us FROM main.collections WHERE org = ?1"
				" ORDER BY name",

	[STI_GRANTS_PUT] = "INSERT INTO main.grants (org, role, grants, updated_us) VALUES (?1, ?2, ?3, ?4)"
			   " ON CONFLICT (org, role) DO UPDATE SET grants = excluded.grants,"
			   " updated_us = excluded.updated_us",
	[STI_GRANTS_GET] = "SELECT grants FROM main.grants WHERE org = ?1 AND role = ?2",
	[STI_GRANTS_LIST] = "SELECT role, grants FROM main.grants WHERE org = ?1 ORDER BY role",

	/* An erased subject's blind index is NULL and never equal; erased_us says so in words too. */
	[STI_SUBJECT_FIND] = "SELECT pseudonym FROM main.subjects WHERE org = ?1 AND blind_index = ?2"
			     " AND erased_us IS NULL",
	[STI_SUBJECT_INSERT] = "INSERT INTO main.subjects (org, pseudonym, blind_index, enc_nid, created_us)"
			       " VALUES (?1, ?2, ?3, ?4, ?5)",
	[STI_SUBJECT_EXISTS] = "SELECT 1 FROM main.subjects WHERE org = ?1 AND pseudonym = ?2",

	[STI_RECORD_INSERT] = "INSERT INTO main.records (org, collection, id, subject, version, created_us,"
			      " updated_us, cts_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
	[STI_RECORD_GET] = "SELECT subject, version, created_us, updated_us FROM main.records"
			   " WHERE org = ?1 AND collection = ?2 AND id = ?3",
	/* The current version's row and blob in one statement (cts_id set, cts NULL: damage). */
	[STI_RECORD_READ] = "SELECT r.subject, r.version, r.created_us, r.updated_us, r.cts_id, c.cts"
			    " FROM main.records AS r LEFT JOIN main.record_cts AS c ON c.id = r.cts_id"
			    " WHERE r.org = ?1 AND r.collection = ?2 AND r.id = ?3",
	/* The version check and the bump are one statement: no window between them. */
	[STI_RECORD_BUMP] = "UPDATE main.records SET version = ?4, updated_us = ?5, cts_id = ?6"
			    " WHERE org = ?1 AND collection = ?2 AND id = ?3 AND version = ?4 - 1",
	[STI_RECORD_DELETE] = "DELETE FROM main.records WHERE org = ?1 AND collection = ?2 AND id = ?3",
	/* the index is named: without statistics the planner walked the organization's whole primary key */
	[STI_RECORD_LIST_BY_SUBJECT] = "SELECT collection, id, version, created_us, updated_us FROM main.records"
				       " INDEXED BY records_by_subject WHERE org = ?1 AND subject = ?2"
				       " ORDER BY collection, id",
	[STI_CTS_INSERT] = "INSERT INTO main.record_cts (cts) VALUES (?1)",
	/* a blob inserted for a row that was then refused (a taken id, a stale version) */
	[STI_CTS_DELETE_ONE] = "DELETE FROM main.record_cts WHERE id = ?1",
	/* a record's blobs, before its versions (nothing else names them) */
	[STI_CTS_DELETE] = "DELETE FROM main.record_cts WHERE id IN (SELECT cts_id FROM main.record_versions"
			   " WHERE org = ?1 AND collection = ?2 AND record_id = ?3)",
	[STI_VERSION_INSERT] = "INSERT INTO main.record_versions (org, collection, record_id, version, written_us,"
			       " cts_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	[STI_VERSIONS_DELETE] = "DELETE FROM main.record_versions WHERE org = ?1 AND collection = ?2"
				" AND record_id = ?3",
	/* The newest ?4 versions, newest first, each with its blob (NULL: no fields). */
	[STI_RECORD_HISTORY] = "SELECT v.version, v.written_us, c.cts FROM main.record_versions AS v"
			       " LEFT JOIN main.record_cts AS c ON c.id = v.cts_id"
			       " WHERE v.org = ?1 AND v.collection = ?2 AND v.record_id = ?3"
			       " ORDER BY v.version DESC LIMIT ?4",

	[STI_KEY_PUT] = "INSERT INTO ks.keys (kind, org, name, wrapped, created_us) VALUES (?1, ?2, ?3, ?4, ?5)",
	[STI_KEY_GET] = "SELECT wrapped FROM ks.keys WHERE kind = ?1 AND org = ?2 AND name = ?3",
	[STI_KEY_DELETE] = "DELETE FROM ks.keys WHERE kind = ?1 AND org = ?2 AND name = ?3",

	/* The index is the number of entries so far; the trigger refuses anything else. */
	/* idx from the store's cached size; the append_in_order trigger still checks it against the table */
	[STI_AUDIT_APPEND] = "INSERT INTO main.audit (idx, entry, leaf, actor_org, resource_org, subject)"
			     " VALUES (?6, ?1, ?2, ?3, ?4, ?5)",
	[STI_AUDIT_COUNT] = "SELECT coalesce(max(idx) + 1, 0) FROM main.audit",
	[STI_AUDIT_GET] = "SELECT entry, leaf FROM main.audit WHERE idx = ?1",
	[STI_AUDIT_LEAF_GET] = "SELECT leaf FROM main.audit WHERE idx = ?1",
	[STI_AUDIT_NODE_GET] = "SELECT hash FROM main.audit_nodes WHERE pos = ?1",
	[STI_AUDIT_NODE_PUT] = "INSERT INTO main.audit_nodes (pos, level, idx, hash) VALUES (?1, ?2, ?3, ?4)",
	/* Streamed: the rowid range is walked in order, nothing is sorted or collected. */
	[STI_AUDIT_SCAN] = "SELECT idx, entry, leaf FROM main.audit WHERE idx >= ?1 AND idx < ?2 ORDER BY idx",
	[STI_AUDIT_NODES_SCAN] = "SELECT level, idx, hash FROM main.audit_nodes ORDER BY level, idx",
	[STI_AUDIT_LIST] = "SELECT idx, entry FROM main.audit WHERE idx >= ?1 AND idx < ?2 ORDER BY idx LIMIT ?3",
	/*
	 * idx >= ?1 AND idx < ?2 AND (actor_org = ?4 OR resource_org = ?4)
	 * ORDER BY idx LIMIT ?3, written so that its cost follows the limit:
	 * the plain OR makes SQLite collect and sort every match in the range
	 * (a whole organization's history) before applying the limit. Each arm
	 * walks its (org, idx) index in order and stops after ?3 rows; the
	 * union of at most 2 * ?3 indexes is read back in idx order.
	 */
	[STI_AUDIT_LIST_ORG] = "SELECT idx, entry FROM main.audit WHERE idx IN ("
			       " SELECT idx FROM (SELECT idx FROM main.audit"
			       "  WHERE actor_org = ?4 AND idx >= ?1 AND idx < ?2 ORDER BY idx LIMIT ?3)"
			       " UNION"
			       " SELECT idx FROM (SELECT idx FROM main.audit"
			       "  WHERE resource_org = ?4 AND idx >= ?1 AND idx < ?2 ORDER BY idx LIMIT ?3))"
			       " ORDER BY idx LIMIT ?3",
	/* one slice of the trail at a time (?4), as the index is keyed */
	[STI_AUDIT_BY_SUBJECT] = "SELECT idx, entry FROM main.audit WHERE resource_org = ?1"
				 " AND (idx >> " CF_STI_XSTR(CF_STI_AUDIT_SLICE_BITS) ") = ?4"
				 " AND subject = ?2 ORDER BY idx LIMIT ?3",

	[STI_CHECKPOINT_PUT] = "INSERT INTO main.checkpoints (size, root, note, created_us) VALUES (?1, ?2, ?3, ?4)",
	[STI_CHECKPOINT_LATEST] = "SELECT size, root, note FROM main.checkpoints ORDER BY size DESC LIMIT 1",
	[STI_CHECKPOINT_AT_MOST] = "SELECT size, root, note FROM main.checkpoints WHERE size <= ?1"
				   " ORDER BY size DESC LIMIT 1",
	[STI_CHECKPOINT_SCAN] = "SELECT size, root, note FROM main.checkpoints ORDER BY size",

	[STI_AGREEMENT_INSERT] = "INSERT INTO main.agreements (id, provider, consumer, collection, fields, categories,"
				 " purposes, legal_basis, valid_from, valid_until, max_accesses, status, created_us,"
				 " changed_us) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
	[STI_AGREEMENT_GET] = "SELECT " AGREEMENT_COLUMNS " FROM main.agreements WHERE id = ?1",
	[STI_AGREEMENT_EXISTS] = "SELECT 1 FROM main.agreements WHERE id = ?1",
	[STI_AGREEMENT_SET_STATUS] = "UPDATE main.agreements SET status = ?2, changed_us = ?3 WHERE id = ?1",
	/* The cap check and the count are one statement: two readers can never both take the last access. */
	[STI_AGREEMENT_COUNT_ACCESS] = "UPDATE main.agreements SET accesses = accesses + 1"
				       " WHERE id = ?1 AND (max_accesses < 0 OR accesses < max_accesses)"
				       " RETURNING accesses",
	/*
	 * One list, four plans: ?1 provider, ?2 consumer, ?3 collection, ?4 an
	 * organization on either side, each NULL for "any". A "?N IS NULL OR"
	 * term cannot use an index, so the caller picks the statement whose
	 * leading term is a plain equality on an indexed column it was given.
	 */
	[STI_AGREEMENT_LIST] = "SELECT " AGREEMENT_COLUMNS " FROM main.agreements WHERE " AGREEMENT_FILTER_P
			       " AND " AGREEMENT_FILTER_C " AND " AGREEMENT_FILTER_COL " AND " AGREEMENT_FILTER_ORG
			       " ORDER BY created_us, id",
	[STI_AGREEMENT_LIST_PROVIDER] = "SELECT " AGREEMENT_COLUMNS " FROM main.agreements WHERE provider = ?1"
					" AND " AGREEMENT_FILTER_C " AND " AGREEMENT_FILTER_COL
					" AND " AGREEMENT_FILTER_ORG " ORDER BY created_us, id",
	[STI_AGREEMENT_LIST_CONSUMER] = "SELECT " AGREEMENT_COLUMNS " FROM main.agreements WHERE consumer = ?2"
					" AND " AGREEMENT_FILTER_P " AND " AGREEMENT_FILTER_COL
					" AND " AGREEMENT_FILTER_ORG " ORDER BY created_us, id",
	[STI_AGREEMENT_LIST_ORG] = "SELECT " AGREEMENT_COLUMNS " FROM main.agreements"
				   " WHERE (provider = ?4 OR consumer = ?4) AND " AGREEMENT_FILTER_P
				   " AND " AGREEMENT_FILTER_C " AND " AGREEMENT_FILTER_COL " ORDER BY created_us, id",

	/* The next version is computed inside the statement, from the rows the write lock protects. */
	[STI_COMMITMENT_PUT] = "INSERT INTO main.commitments (org, version, text, created_us)"
			       " VALUES (?1, (SELECT coalesce(max(version), 0) + 1 FROM main.commitments WHERE org = ?1),"
			       " ?2, ?3) RETURNING version",
	[STI_COMMITMENT_CURRENT] = "SELECT version, text, created_us FROM main.commitments WHERE org = ?1"
				   " ORDER BY version DESC LIMIT 1",
	/*
	 * Idempotent on the key only: unlike INSERT OR IGNORE, DO NOTHING does
	 * not also skip a row that breaks a NOT NULL or CHECK constraint.
	 */
	[STI_COMMITMENT_ACCEPT] = "INSERT INTO main.commitment_acceptances (user_id, org, version, accepted_us)"
				  " VALUES (?1, ?2, ?3, ?4) ON CONFLICT (user_id, org, version) DO NOTHING",
	[STI_COMMITMENT_ACCEPTED] = "SELECT version, accepted_us FROM main.commitment_acceptances"
				    " WHERE user_id = ?1 AND org = ?2 ORDER BY version DESC LIMIT 1",

	[STI_DOMAIN_PUT] = "INSERT INTO main.domains (org, id, name, created_us) VALUES (?1, ?2, ?3, ?4)"
			   " ON CONFLICT (org, id) DO UPDATE SET name = excluded.name",
	[STI_DOMAIN_GET] = "SELECT d.id, d.name, d.contact_email, u.username"
			   " FROM main.domains AS d LEFT JOIN main.users AS u ON u.id = d.technical_user"
			   " WHERE d.org = ?1 AND d.id = ?2",
	[STI_DOMAIN_LIST] = "SELECT d.id, d.name, d.contact_email, u.username"
			    " FROM main.domains AS d LEFT JOIN main.users AS u ON u.id = d.technical_user"
			    " WHERE d.org = ?1 ORDER BY d.id",
	[STI_DOMAIN_SET_CONTACT] = "UPDATE main.domains SET contact_email = ?3 WHERE org = ?1 AND id = ?2",
	[STI_DOMAIN_SET_TECHNICAL] = "UPDATE main.domains SET technical_user = ?3 WHERE org = ?1 AND id = ?2",
	/* The technical user of a domain is a member of its organization, found by username. */
	[STI_DOMAIN_MEMBER_ID] = "SELECT u.id FROM main.users AS u JOIN main.members AS m ON m.user_id = u.id"
				 " WHERE u.username = ?2 AND m.org = ?1",
	/* A membership that ends takes its technical-user roles in that organization with it. */
	[STI_DOMAIN_CLEAR_TECHNICAL] = "UPDATE main.domains SET technical_user = NULL"
				       " WHERE org = ?1 AND technical_user = ?2",
	/*
	 * Insert, or rename and set collections of the subdivision in the same
	 * domain: the DO UPDATE's WHERE leaves a subdivision of another domain
	 * untouched (no change: the caller reports the refused move).
	 */
	[STI_SUBDIVISION_PUT] = "INSERT INTO main.subdivisions (org, id, domain, name, blocked, collections,"
				" created_us) VALUES (?1, ?2, ?3, ?4, 0, ?5, ?6)"
				" ON CONFLICT (org, id) DO UPDATE SET name = excluded.name,"
				" collections = excluded.collections WHERE subdivisions.domain = excluded.domain",
	[STI_SUBDIVISION_GET] = "SELECT id, domain, name, blocked, collections FROM main.subdivisions"
				" WHERE org = ?1 AND id = ?2",
	[STI_SUBDIVISION_LIST] = "SELECT id, domain, name, blocked, collections FROM main.subdivisions"
				 " WHERE org = ?1 AND (?2 IS NULL OR domain = ?2) ORDER BY id",
	[STI_SUBDIVISION_SET_BLOCKED] = "UPDATE main.subdivisions SET blocked = ?3 WHERE org = ?1 AND id = ?2",
	[STI_SUBDIVISION_DOMAIN] = "SELECT domain FROM main.subdivisions WHERE org = ?1 AND id = ?2",

	/* Erasing again keeps the first time (and the trigger refuses any other change). */
	[STI_SUBJECT_ERASE] = "UPDATE main.subjects SET blind_index = NULL, enc_nid = NULL,"
			      " erased_us = coalesce(erased_us, ?3) WHERE org = ?1 AND pseudonym = ?2",
	[STI_SUBJECT_ERASED] = "SELECT erased_us FROM main.subjects WHERE org = ?1 AND pseudonym = ?2"
			       " AND erased_us IS NOT NULL",

	[STI_ERASURE_INSERT] = "INSERT INTO main.erasure_requests (org, id, subject, status, request_reason,"
			       " requested_by, requested_us) VALUES (?1, ?2, ?3, 'pending', ?4, ?5, ?6)",
	[STI_ERASURE_GET] = "SELECT " ERASURE_COLUMNS " FROM main.erasure_requests WHERE org = ?1 AND id = ?2",
	[STI_ERASURE_EXISTS] = "SELECT 1 FROM main.erasure_requests WHERE org = ?1 AND id = ?2",
	/* The pending check and the decision are one statement: two deciders cannot both win. */
	[STI_ERASURE_DECIDE] = "UPDATE main.erasure_requests SET status = ?3, decision_reason = ?4, decided_by = ?5,"
			       " decided_us = ?6 WHERE org = ?1 AND id = ?2 AND status = 'pending'",
	/* Two plans, as for agreements: the subject's list walks erasure_requests_by_subject. */
	[STI_ERASURE_LIST] = "SELECT " ERASURE_COLUMNS " FROM main.erasure_requests WHERE org = ?1"
			     " ORDER BY requested_us, id",
	[STI_ERASURE_LIST_SUBJECT] = "SELECT " ERASURE_COLUMNS " FROM main.erasure_requests"
				     " WHERE org = ?1 AND subject = ?2 ORDER BY requested_us, id",

	[STI_HOLD_PUT] = "INSERT INTO main.legal_holds (org, id, subject, record, reason, by, created_us)"
			 " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	[STI_HOLD_RELEASE] = "UPDATE main.legal_holds SET released_us = ?3"
			     " WHERE org = ?1 AND id = ?2 AND released_us IS NULL",
	/* ?3 NULL: record = NULL is never true, so only a subject-wide hold answers. */
	[STI_HOLD_ACTIVE] = "SELECT 1 FROM main.legal_holds WHERE org = ?1 AND subject = ?2"
			    " AND released_us IS NULL AND (record IS NULL OR record = ?3) LIMIT 1",
	[STI_HOLD_LIST] = "SELECT id, subject, record, reason, by, created_us, released_us FROM main.legal_holds"
			  " WHERE org = ?1 AND subject = ?2 ORDER BY created_us, id",

	/*
	 * Retention sweeps page through one collection in id order on the
	 * records primary key (?3: the last id of the previous page, '' at the
	 * start). The cut-off column is chosen by picking one of these fixed
	 * statements, never by putting a name into SQL; ?4 is unused without one.
	 */
	[STI_RECORD_SCAN] = "SELECT id, subject, version, created_us, updated_us FROM main.records"
			    " WHERE org = ?1 AND collection = ?2 AND id > ?3 ORDER BY id LIMIT ?5",
	[STI_RECORD_SCAN_CREATED] = "SELECT id, subject, version, created_us, updated_us FROM main.records"
				    " WHERE org = ?1 AND collection = ?2 AND id > ?3 AND created_us < ?4"
				    " ORDER BY id LIMIT ?5",
	[STI_RECORD_SCAN_UPDATED] = "SELECT id, subject, version, created_us, updated_us FROM main.records"
				    " WHERE org = ?1 AND collection = ?2 AND id > ?3 AND updated_us < ?4"
				    " ORDER BY id LIMIT ?5",
	[STI_SUBJECT_RECORD_COUNT] = "SELECT count(*) FROM main.records WHERE org = ?1 AND subject = ?2",
	[STI_COLLECTION_LIST_ALL] = "SELECT org, name, def FROM main.collections ORDER BY org, name",
	[STI_COLLECTION_RECORD_COUNT] = "SELECT count(*) FROM main.records WHERE org = ?1 AND collection = ?2",
	[STI_SUBJECT_LIST] = "SELECT pseudonym, erased_us IS NOT NULL FROM main.subjects WHERE org = ?1 ORDER BY pseudonym",
	[STI_SUBJECT_ENC_NID] = "SELECT enc_nid FROM main.subjects WHERE org = ?1 AND pseudonym = ?2 AND enc_nid IS NOT NULL",
	[STI_DISPOSAL_INSERT] = "INSERT INTO main.disposals (org, id, collection, retention, retention_start,"
				" disposed_us, count, records, audit_index) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
	/* Newest first on disposals_by_time; the id breaks ties so pages are stable. */
	[STI_DISPOSAL_LIST] = "SELECT id, collection, retention, retention_start, disposed_us, count, records,"
			      " audit_index FROM main.disposals WHERE org = ?1"
			      " ORDER BY disposed_us DESC, id DESC LIMIT ?2",
};
