-- insert.sql - pgbench script: one new record per transaction, every
-- personal field encrypted with pgp_sym_encrypt under a literal passphrase.
-- Ids are 'i<client>_<n>': :n is this client's own counter (pg_baseline.sh
-- passes -D n=0), so ids never collide between clients or with the
-- preloaded 'r<n>' rows.
\set n :n + 1
\set day random(0, 36524)
\set cents random(0, 500000)
INSERT INTO records (id, org, collection, subject, created, first_name, last_name, birth_date, aid_amount)
VALUES ('i' || :client_id::text || '_' || :n::text, 'cpas', 'social_aid',
        's' || :client_id::text || '_' || :n::text, now(),
        pgp_sym_encrypt('First' || :n::text, 'coffre-bench-passphrase'),
        pgp_sym_encrypt('Last' || :client_id::text, 'coffre-bench-passphrase'),
        pgp_sym_encrypt(to_char(date '1920-01-01' + :day::int, 'YYYY-MM-DD'), 'coffre-bench-passphrase'),
        pgp_sym_encrypt(to_char(:cents::int / 100.0, 'FM999990.00'), 'coffre-bench-passphrase'));
