/*
 * vault_retention.c - retention: the sweeper that disposes of records whose
 * retention has ended, and the disposal records it leaves.
 *
 * A collection declares its retention (an ISO 8601 duration) and where it
 * runs from: the record's creation, its last update, or a date field (a
 * case's closing date). A record expires at start + retention, in UTC
 * calendar terms; a record whose date field is empty has not started its
 * retention. A legal hold on the record or on its subject suspends its
 * disposal until released. Each batch of disposals is one transaction with
 * one audit entry and one disposal record (ids and pseudonyms, never a
 * value); secure_delete zeroes the freed pages. A subject left with no
 * record in the organization is forgotten as by an erasure: its data key
 * is destroyed and its identifier and blind index cleared.
 *
 * The sweeper reads the clock it was given (cf_env), never the system's:
 * tests move time, not the data. It must never dispose of a held record,
 * of a record changed since it was examined, or without its audit entry.
 */
#include "common/cf.h"
#include "vault/vault_int.h"
#include "common/json.h"
#include "common/log.h"

#define SCAN_PAGE 500
#define US_PER_S INT64_C(1000000)
#define SLACK_US (INT64_C(86400) * US_PER_S) /* the prefilter errs on the side of looking */

/* A lower bound of the duration in microseconds (a month is at least 28 days, a year 365). */
static int64_t duration_floor_us(const cf_duration *d)
{
	int64_t days = (int64_t)d->years * 365 + (int64_t)d->months * 28 + (int64_t)d->weeks * 7 + d->days;
	return (days * 86400 + (int64_t)d->hours * 3600 + (int64_t)d->minutes * 60 + d->seconds) * US_PER_S;
}

typedef struct sweep {
	cf_vault *v;
	const char *org;
	const cf_collection *coll;
	const char *retention;
	const char *start; /* "created", "updated" or a date field */
	cf_duration d;
	int64_t now;
	int64_t disposed;
	int64_t held;
} sweep;

/*
 * When the record's retention started: CF_OK with *start_us, CF_ENOTFOUND
 * when it has not (an empty date field) or cannot be known any more (the
 * subject was erased: the records are unreadable already).
 */
static cf_rc retention_start(sweep *s, cf_tx *tx, json_t *item, int64_t *start_us, cf_err *err)
{
	const char *id = json_string_value(json_object_get(item, "id"));
	const char *subject = json_string_value(json_object_get(item, "subject"));
	cf_record_row row = {0};
	cf_field_ct *cts = NULL;
	cf_key *dek = NULL;
	json_t *fields = NULL, *val;
	bool *allowed = NULL;
	long idx;
	size_t n = 0;
	cf_rc rc;

	if (strcmp(s->start, "created") == 0 || strcmp(s->start, "updated") == 0) {
		*start_us = json_integer_value(json_object_get(item, s->start[0] == 'c' ? "created_us" : "updated_us"));
		return CF_OK;
	}
	idx = cf_collection_field_index(s->coll, s->start);
	if (idx < 0 || id == NULL || subject == NULL)
		return cf_err_set(err, CF_EINTERNAL, CF_P_INTERNAL, "retention start field not declared");
	rc = vault_subject_key(s->v, tx, s->org, subject, &dek, err);
	if (rc == CF_ENOTFOUND)
		return CF_ENOTFOUND;
	if (rc != CF_OK)
		goto out;
	if ((rc = cf_st_record_get(tx, s->org, cf_collection_name(s->coll), id, &row, &cts, &n, err)) != CF_OK)
		goto out;
	allowed = calloc(cf_collection_field_count(s->coll), sizeof(*allowed));
	if (allowed == NULL) {
		rc = cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "out of memory");
		goto out;
	}
	allowed[idx] = true;
	if ((rc = vault_open_fields(s->coll, dek, &row, cts, n, allowed, &fields, err)) != CF_OK)
		goto out;
	val = json_object_get(fields, s->start);
	if (val == NULL || !json_is_string(val))
		rc = CF_ENOTFOUND;
	else if (cf_date_parse_us(json_string_value(val), start_us) != CF_OK)
		rc = cf_err_set(err, CF_EINTEGRITY, CF_P_INTEGRITY, "field '%s' holds no date", s->start);
out:
	cf_json_wipe(fields);
	json_decref(fields);
	free(allowed);
	cf_field_cts_free(cts, n);
	cf_key_free(dek);
	return rc;
}

/* Forgets a subject left with no record (and no hold): its key, identifier and blind index. */
static cf_rc forget_if_empty(sweep *s, cf_tx *tx, const char *subject, bool *forgotten, cf_err *err)
{
	int64_t count = 0, erased = 0;
	cf_rc rc;

	*forgotten = false;
	if ((rc = cf_st_subject_record_count(tx, s->org, subject, &count, err)) != CF_OK)
		return rc;
	if (count > 0 || cf_st_subject_erased(tx, s->org, subject, &erased, NULL) == CF_OK)
		return CF_OK;
	rc = cf_st_hold_active(tx, s->org, subject, NULL, err);
	if (rc == CF_OK)
		return CF_OK; /* a hold on the subject keeps it */
	if (rc != CF_ENOTFOUND)
		return rc;
	rc = vault_subject_shred(tx, s->org, subject, s->now, err);
	if (rc == CF_OK)
		*forgotten = true;
	return rc;
}

/* The audit entry of a batch: the sweeper acts for the instance, on one collection of one organization. */
static json_t *disposal_entry(sweep *s, const char *id, int64_t count)
{
	cf_actor a = {.auth = "system", .ip = "local"};
	json_t *e = cf_audit_entry_new(s->v->env, &a, "retention.dispose");
	char reason[160];

	if (e == NULL)
		return NULL;
	cf_audit_set_resource(e, s->org, cf_collection_name(s->coll), NULL, NULL);
	cf_audit_set(e, "disposal", id);
	(void)snprintf(reason, sizeof(reason), "retention %s from %s ended", s->retention, s->start);
	cf_audit_set(e, "reason", reason);
	json_object_set_new(e, "count", json_integer(count));
	cf_audit_outcome(e, true, NULL);
	return e;
}

/*
 * Disposes of the records in `due` ([{"id","subject","version","expired_us"}])
 * in one transaction, skipping any changed since they were examined or held
 * meanwhile (the next sweep looks again).
 */
static cf_rc dispose_batch(sweep *s, json_t *due, cf_err *err)
{
	json_t *done = json_array(), *item, *entry = NULL;
	const char *coll = cf_collection_name(s->coll);
	char id[CF_ID_MAX + 1];
	cf_disposal_row d = {0};
	char *records = NULL;
	int64_t idx = -1;
	cf_tx *tx = NULL;
	size_t i;
	cf_rc rc;

	if (done == NULL)
		return cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "out of memory");
	if ((rc = cf_store_begin(s->v->store, true, &tx, err)) != CF_OK)
		goto out;
	json_array_foreach(due, i, item)
	{
		const char *rid = json_string_value(json_object_get(item, "id"));
		const char *subject = json_string_value(json_object_get(item, "subject"));
		cf_record_row row = {0};
		cf_field_ct *cts = NULL;
		size_t n = 0;

		rc = cf_st_record_get(tx, s->org, coll, rid, &row, &cts, &n, err);
		cf_field_cts_free(cts, n);
		if (rc == CF_ENOTFOUND)
			continue;
		if (rc != CF_OK)
			goto out;
		if (row.version != json_integer_value(json_object_get(item, "version")))
			continue;
		rc = cf_st_hold_active(tx, s->org, subject, rid, err);
		if (rc == CF_OK) {
			s->held++;
			continue;
		}
		if (rc != CF_ENOTFOUND)
			goto out;
		if ((rc = cf_st_record_delete(tx, s->org, coll, rid, err)) != CF_OK)
			goto out;
		json_array_append_new(done, json_pack("{s:s, s:s, s:O}", "id", rid, "subject", subject, "expired_us",
						      json_object_get(item, "expired_us")));
	}
	if (json_array_size(done) == 0) {
		rc = CF_OK;
		goto out;
	}
	/* subjects left with nothing in the organization */
	json_array_foreach(done, i, item)
	{
		bool forgotten = false;
		rc = forget_if_empty(s, tx, json_string_value(json_object_get(item, "subject")), &forgotten, err);
		if (rc != CF_OK)
			goto out;
		if (forgotten)
			json_object_set_new(item, "subject_forgotten", json_true());
	}
	if ((rc = vault_new_id(s->v, "d_", id)) != CF_OK)
		goto out;
	entry = disposal_entry(s, id, (int64_t)json_array_size(done));
	records = json_dumps(done, JSON_COMPACT);
	if (entry == NULL || records == NULL) {
		rc = cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "out of memory");
		goto out;
	}
	if ((rc = cf_audit_append(tx, entry, &idx, err)) != CF_OK)
		goto out;
	memcpy(d.org, s->org, strlen(s->org) + 1);
	memcpy(d.id, id, strlen(id) + 1);
	memcpy(d.collection, coll, strlen(coll) + 1);
	d.retention = s->retention;
	d.retention_start = s->start;
	d.disposed_us = s->now;
	d.count = (int64_t)json_array_size(done);
	d.records_json = records;
	d.audit_index = idx;
	if ((rc = cf_st_disposal_insert(tx, &d, err)) != CF_OK)
		goto out;
	rc = vault_commit(tx, err);
	tx = NULL;
	if (rc == CF_OK) {
		s->disposed += d.count;
		cf_log(CF_LOG_INFO, "retention: %lld record(s) of %s/%s disposed of (disposal %s, audit entry %lld)",
		       (long long)d.count, s->org, coll, id, (long long)idx);
	}
out:
	if (tx != NULL)
		cf_tx_rollback(tx);
	free(records);
	json_decref(entry);
	json_decref(done);
	return rc;
}

/* One collection: pages through its records, keeps the expired ones not held, disposes of them in batches. */
static cf_rc sweep_collection(sweep *s, cf_err *err)
{
	const char *column = NULL;
	int64_t before = 0;
	char after[CF_ID_MAX + 1] = "";
	json_t *page = NULL, *due = NULL, *item;
	size_t batch = (size_t)s->v->cfg.retention_batch, i;
	cf_rc rc = CF_OK;

	if (strcmp(s->start, "created") == 0 || strcmp(s->start, "updated") == 0) {
		column = s->start;
		before = s->now - duration_floor_us(&s->d) + SLACK_US;
	}
	for (;;) {
		cf_tx *tx = NULL;
		size_t n;

		json_decref(page);
		page = NULL;
		due = json_array();
		if (due == NULL)
			return cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "out of memory");
		if ((rc = cf_store_begin(s->v->store, false, &tx, err)) != CF_OK)
			break;
		rc = cf_st_record_scan(tx, s->org, cf_collection_name(s->coll), column, before, after, SCAN_PAGE, &page,
				       err);
		json_array_foreach(rc == CF_OK ? page : NULL, i, item)
		{
			int64_t start = 0, expiry = 0;
			cf_rc r2 = retention_start(s, tx, item, &start, err);
			if (r2 == CF_ENOTFOUND)
				continue;
			if (r2 == CF_OK)
				r2 = cf_duration_add(start, &s->d, &expiry);
			if (r2 == CF_ETOOBIG)
				continue; /* ends beyond any representable date */
			if (r2 != CF_OK) {
				rc = r2;
				break;
			}
			if (expiry > s->now)
				continue;
			json_array_append_new(due, json_pack("{s:O, s:O, s:O, s:I}", "id", json_object_get(item, "id"),
							     "subject", json_object_get(item, "subject"), "version",
							     json_object_get(item, "version"), "expired_us",
							     (json_int_t)expiry));
		}
		cf_tx_rollback(tx);
		if (rc != CF_OK)
			break;
		n = json_array_size(page);
		if (n > 0) {
			const char *last = json_string_value(json_object_get(json_array_get(page, n - 1), "id"));
			if (last == NULL || strlen(last) >= sizeof(after)) {
				rc = cf_err_set(err, CF_EINTEGRITY, CF_P_INTEGRITY, "a record id is not readable");
				break;
			}
			memcpy(after, last, strlen(last) + 1);
		}
		for (i = 0; i < json_array_size(due) && rc == CF_OK; i += batch) {
			json_t *slice = json_array();
			for (size_t k = i; k < i + batch && k < json_array_size(due); k++)
				json_array_append(slice, json_array_get(due, k));
			rc = dispose_batch(s, slice, err);
			json_decref(slice);
		}
		json_decref(due);
		due = NULL;
		if (rc != CF_OK || n < SCAN_PAGE)
			break;
	}
	json_decref(due);
	json_decref(page);
	return rc;
}

cf_rc cf_vault_retention_sweep(cf_vault *v, int64_t *disposed, cf_err *err)
{
	json_t *colls = NULL, *item;
	cf_tx *tx = NULL;
	int64_t total = 0, held = 0;
	size_t i;
	cf_rc rc;

	if (disposed != NULL)
		*disposed = 0;
	if (cf_vault_sealed(v))
		return cf_err_set(err, CF_ESEALED, CF_P_SEALED, "the vault is sealed");
	if ((rc = cf_store_begin(v->store, false, &tx, err)) != CF_OK)
		return rc;
	rc = cf_st_collection_list_all(tx, &colls, err);
	cf_tx_rollback(tx);
	if (rc != CF_OK)
		return rc;
	json_array_foreach(colls, i, item)
	{
		const char *org = json_string_value(json_object_get(item, "org"));
		const char *name = json_string_value(json_object_get(item, "name"));
		json_t *def = json_loads(json_string_value(json_object_get(item, "def")), 0, NULL);
		cf_collection *c = NULL;
		sweep s = {.v = v, .org = org, .now = cf_now_us(v->env)};

		rc = (def != NULL && org != NULL && name != NULL) ? cf_collection_parse(name, def, &c, err) : CF_EINTEGRITY;
		json_decref(def);
		if (rc == CF_OK) {
			s.coll = c;
			s.retention = cf_collection_retention(c);
			s.start = cf_collection_retention_start(c);
			rc = cf_duration_parse(s.retention, &s.d);
		}
		if (rc == CF_OK)
			rc = sweep_collection(&s, err);
		total += s.disposed;
		held += s.held;
		cf_collection_free(c);
		if (rc != CF_OK) {
			cf_log(CF_LOG_ERROR, "retention: sweeping %s/%s failed: %s", org ? org : "?", name ? name : "?",
			       err ? err->detail : "error");
			break;
		}
	}
	json_decref(colls);
	if (held > 0)
		cf_log(CF_LOG_INFO, "retention: %lld expired record(s) kept under a legal hold", (long long)held);
	if (disposed != NULL)
		*disposed = total;
	return rc;
}

/* ---- the background sweeper ---- */

static void *sweeper_main(void *arg)
{
	cf_vault *v = arg;
	struct timespec until;

	pthread_mutex_lock(&v->sweep_mu);
	while (!v->sweep_stop) {
		pthread_mutex_unlock(&v->sweep_mu);
		if (!cf_vault_sealed(v)) {
			cf_err err = {0};
			/* a failed sweep logged why and changed nothing it could not finish; the next one retries */
			if (cf_vault_retention_sweep(v, NULL, &err) != CF_OK && err.rc == CF_ESEALED)
				cf_log(CF_LOG_INFO, "retention: sealed, sweep skipped");
		}
		pthread_mutex_lock(&v->sweep_mu);
		v->sweeps++;
		pthread_cond_broadcast(&v->sweep_cv);
		if (v->sweep_stop)
			break;
		clock_gettime(CLOCK_REALTIME, &until);
		/* sealed: look again soon, so that unsealing starts the sweeps */
		until.tv_sec += cf_vault_sealed(v) ? 1 : (time_t)v->cfg.retention_sweep_interval_seconds;
		(void)pthread_cond_timedwait(&v->sweep_cv, &v->sweep_mu, &until);
	}
	pthread_mutex_unlock(&v->sweep_mu);
	return NULL;
}

cf_rc cf_vault_sweeper_start(cf_vault *v, cf_err *err)
{
	if (v->sweeper_running)
		return CF_OK;
	v->sweep_stop = false;
	if (pthread_create(&v->sweeper, NULL, sweeper_main, v) != 0)
		return cf_err_set(err, CF_EINTERNAL, CF_P_INTERNAL, "cannot start the retention sweeper");
	v->sweeper_running = true;
	return CF_OK;
}

void vault_sweeper_stop(cf_vault *v)
{
	if (!v->sweeper_running)
		return;
	pthread_mutex_lock(&v->sweep_mu);
	v->sweep_stop = true;
	pthread_cond_broadcast(&v->sweep_cv);
	pthread_mutex_unlock(&v->sweep_mu);
	pthread_join(v->sweeper, NULL);
	v->sweeper_running = false;
}

int64_t cf_vault_retention_sweeps(cf_vault *v)
{
	int64_t n;
	pthread_mutex_lock(&v->sweep_mu);
	n = v->sweeps;
	pthread_mutex_unlock(&v->sweep_mu);
	return n;
}

/* ---- disposal records ---- */

cf_rc cf_vault_disposal_list(cf_vault *v, cf_request *r, const char *org, json_t **answer, cf_err *err)
{
	json_t *entry = vault_entry(v, r, "disposal.list"), *list = NULL, *item;
	cf_tx *tx = NULL;
	size_t i;
	cf_rc rc;

	*answer = NULL;
	cf_audit_set_resource(entry, vault_org_id_valid(org) ? org : NULL, NULL, NULL, NULL);
	if (r->who.org[0] == '\0' || strcmp(r->who.org, org) != 0)
		return vault_deny(v, entry, CF_EDENIED, r->who.org[0] ? CF_P_WRONG_ORGANIZATION : CF_P_FORBIDDEN,
				  "only the organization's data protection officer and auditors read its disposal records",
				  err);
	if (!vault_has_role(&r->who, "dpo") && !vault_has_role(&r->who, CF_ROLE_AUDITOR))
		return vault_deny(v, entry, CF_EDENIED, CF_P_FORBIDDEN,
				  "only the organization's data protection officer and auditors read its disposal records",
				  err);
	if ((rc = cf_store_begin(v->store, false, &tx, err)) != CF_OK)
		goto out;
	rc = cf_st_disposal_list(tx, org, 1000, &list, err);
	cf_tx_rollback(tx);
	if (rc != CF_OK)
		goto out;
	/* times as the rest of the API writes them */
	json_array_foreach(list, i, item)
	{
		char when[CF_TIME_STR_LEN];
		json_t *recs = json_object_get(item, "records"), *rec;
		size_t k;
		cf_time_format(json_integer_value(json_object_get(item, "disposed_us")), when);
		json_object_set_new(item, "disposed_at", json_string(when));
		json_object_del(item, "disposed_us");
		json_array_foreach(recs, k, rec)
		{
			cf_time_format(json_integer_value(json_object_get(rec, "expired_us")), when);
			json_object_set_new(rec, "expired_at", json_string(when));
			json_object_del(rec, "expired_us");
		}
	}
	cf_audit_outcome(entry, true, NULL);
	rc = cf_trail_submit(v->trail, entry, NULL, NULL, NULL, err);
	entry = NULL;
	if (rc == CF_OK)
		*answer = json_pack("{s:s, s:O}", "org", org, "disposals", list);
out:
	json_decref(entry);
	json_decref(list);
	return rc;
}
