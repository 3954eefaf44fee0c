-- schema.sql - the PostgreSQL baseline's table, shaped like a coffre record:
-- routing columns in clear (id, org, collection, subject, created) and each
-- personal field encrypted on its own with pgcrypto (pgp_sym_encrypt, a
-- passphrase supplied by the client in every statement), plus the index a
-- subject lookup needs. Loaded by bench/pg_baseline.sh after
-- CREATE EXTENSION pgcrypto and pgaudit. Personal values must never be
-- stored here in clear.
CREATE TABLE records (
    id          text        PRIMARY KEY,
    org         text        NOT NULL,
    collection  text        NOT NULL,
    subject     text        NOT NULL,
    created     timestamptz NOT NULL DEFAULT now(),
    first_name  bytea       NOT NULL,
    last_name   bytea       NOT NULL,
    birth_date  bytea       NOT NULL,
    aid_amount  bytea       NOT NULL
);

CREATE INDEX records_org_subject ON records (org, subject);
