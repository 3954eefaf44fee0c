/*
 * bench_gen.c - fills a benchmark vault with generated records (never
 * shipped: generated on each run). It opens the data directory while the
 * daemon is stopped and loads the records through the vault's dataset
 * import, in batches, acting as the organization's security manager: the
 * same code path (subject found or created with its own data key, every
 * field sealed under it, one audit entry per batch) as `coffre import`.
 * Then it writes the record ids, one per line, for the load generator.
 *
 * Subject i has national identifier bench_nid(i) (the same formula is in
 * bench/wrk/common.lua), so lookups and writes can name subjects that
 * exist or that do not.
 *
 * Usage: bench_gen --data DIR --org ORG --collection NAME --def FILE
 *                  --records N [--first I] [--batch B] --ids OUT
 */
#include "common/cf.h"
#include "common/json.h"
#include "config/config.h"
#include "schema/schema.h"
#include "store/store.h"
#include "vault/vault_int.h"

#include <getopt.h>
#include <time.h>

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A valid Belgian national register number for subject i (born before 2000; 33 million distinct). */
static void bench_nid(long i, char out[CF_NID_LEN])
{
	long seq = 1 + i % 997, r = i / 997;
	long dd = 1 + r % 28, mm = 1 + (r / 28) % 12, yy = (r / (28 * 12)) % 100;
	long first9 = ((yy * 100 + mm) * 100 + dd) * 1000 + seq;
	(void)snprintf(out, CF_NID_LEN, "%09ld%02ld", first9, 97 - first9 % 97);
}

static const char *const FIRST[] = {"Jeanne", "Luc", "Fatima", "Pieter", "Anne", "Mehmet", "Sofie", "Karim"};
static const char *const LAST[] = {"Dupont", "Peeters", "Janssens", "El Amrani", "Maes", "Lambert", "Dubois"};
static const char *const KIND[] = {"ris", "emergency", "housing"};

/* The fields of record i: the shape of tests/api's social_aid collection. */
static json_t *record_fields(long i)
{
	char birth[11], notes[96];
	(void)snprintf(birth, sizeof(birth), "19%02ld-%02ld-%02ld", 30 + i % 60, 1 + i % 12, 1 + i % 28);
	(void)snprintf(notes, sizeof(notes), "follow-up interview %ld, documents received", i % 1000);
	return json_pack("{s:s, s:s, s:s, s:s, s:I, s:s}", "first_name", FIRST[i % 8], "last_name", LAST[i % 7],
			 "birth_date", birth, "aid_kind", KIND[i % 3], "aid_amount", (json_int_t)(500 + i % 1500), "notes",
			 notes);
}

static int usage(void)
{
	fprintf(stderr, "usage: bench_gen --data DIR --org ORG --collection NAME --def FILE --records N "
			"[--first I] [--batch B] --ids OUT\n");
	return 2;
}

/* Writes every record id of the collection, one per line. */
static int write_ids(cf_vault *v, const char *org, const char *coll, const char *path)
{
	char after[CF_ID_MAX + 1] = "";
	FILE *f = fopen(path, "we");
	long n = 0;

	if (f == NULL) {
		perror(path);
		return 5;
	}
	for (;;) {
		cf_tx *tx = NULL;
		json_t *page = NULL, *it;
		cf_err err = {0};
		size_t i;
		if (cf_store_begin(v->store, false, &tx, &err) != CF_OK ||
		    cf_st_record_scan(tx, org, coll, NULL, 0, after, 10000, &page, &err) != CF_OK) {
			fprintf(stderr, "bench_gen: listing ids: %s\n", err.detail);
			cf_tx_rollback(tx);
			fclose(f);
			return 5;
		}
		cf_tx_rollback(tx);
		json_array_foreach(page, i, it) {
			const char *id = json_string_value(json_object_get(it, "id"));
			fprintf(f, "%s\n", id);
			memcpy(after, id, strlen(id) + 1);
			n++;
		}
		i = json_array_size(page);
		json_decref(page);
		if (i < 10000)
			break;
	}
	if (fclose(f) != 0) {
		perror(path);
		return 5;
	}
	fprintf(stderr, "bench_gen: %ld ids written to %s\n", n, path);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {{"data", required_argument, NULL, 'd'},
					     {"org", required_argument, NULL, 'o'},
					     {"collection", required_argument, NULL, 'c'},
					     {"def", required_argument, NULL, 'f'},
					     {"records", required_argument, NULL, 'n'},
					     {"first", required_argument, NULL, 'i'},
					     {"batch", required_argument, NULL, 'b'},
					     {"ids", required_argument, NULL, 'w'},
					     {NULL, 0, NULL, 0}};
	const char *dir = NULL, *org = NULL, *coll = NULL, *defpath = NULL, *ids = NULL;
	long records = 0, first = 0, batch = 20000;
	cf_config cfg;
	cf_vault *v = NULL;
	cf_request r;
	cf_err err = {0};
	json_t *def = NULL;
	double t0;
	int c, rc = 0;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 'o': org = optarg; break;
		case 'c': coll = optarg; break;
		case 'f': defpath = optarg; break;
		case 'n': records = strtol(optarg, NULL, 10); break;
		case 'i': first = strtol(optarg, NULL, 10); break;
		case 'b': batch = strtol(optarg, NULL, 10); break;
		case 'w': ids = optarg; break;
		default: return usage();
		}
	}
	if (dir == NULL || org == NULL || coll == NULL || defpath == NULL || ids == NULL || records < 0 || first < 0 ||
	    batch < 1 || batch > 100000)
		return usage();
	def = json_load_file(defpath, 0, NULL);
	if (def == NULL) {
		fprintf(stderr, "bench_gen: %s: not a JSON file\n", defpath);
		return 2;
	}
	cf_config_defaults(&cfg);
	if (cf_vault_open(dir, &cfg, cf_env_system(), &v, &err) != CF_OK) {
		fprintf(stderr, "bench_gen: %s\n", err.detail);
		json_decref(def);
		return 5;
	}
	memset(&r, 0, sizeof(r));
	r.who.authenticated = true;
	memcpy(r.who.username, "bench_gen", sizeof("bench_gen"));
	(void)snprintf(r.who.org, sizeof(r.who.org), "%s", org);
	r.who.roles = json_pack("[s]", CF_ROLE_SECURITY_MANAGER);
	memcpy(r.who.auth, "password", sizeof("password"));
	memcpy(r.who.audit_id, "u_000000000000000000000000", sizeof("u_000000000000000000000000"));
	r.ip = "local";
	t0 = now_s();
	for (long done = 0; done < records && rc == 0;) {
		long n = records - done < batch ? records - done : batch;
		json_t *subjects = json_array(), *body, *answer = NULL;
		for (long k = 0; k < n; k++) {
			char nid[CF_NID_LEN];
			bench_nid(first + done + k, nid);
			json_array_append_new(subjects, json_pack("{s:s, s:[{s:s, s:o}]}", "national_id", nid, "records",
								  "collection", coll, "fields",
								  record_fields(first + done + k)));
		}
		body = json_pack("{s:s, s:b, s:{s:O}, s:o}", "format", "coffre-pseudonymized-dataset/1", "pseudonymized", 1,
				 "collections", coll, def, "subjects", subjects);
		if (cf_vault_dataset_import(v, &r, org, body, &answer, &err) != CF_OK) {
			fprintf(stderr, "bench_gen: import: %s\n", err.detail);
			rc = 5;
		}
		json_decref(body);
		json_decref(answer);
		done += n;
		fprintf(stderr, "bench_gen: %s/%s: %ld/%ld records (%.0f/s)\n", org, coll, done, records,
			(double)done / (now_s() - t0));
	}
	if (rc == 0)
		rc = write_ids(v, org, coll, ids);
	cf_principal_release(&r.who);
	cf_vault_close(v);
	json_decref(def);
	return rc;
}
