-- select.sql - pgbench script: read one random preloaded record by primary
-- key and decrypt every personal field. Preloaded ids are 'r1'..'r<rows>'
-- (pg_baseline.sh passes -D rows=N), so every transaction finds its row.
\set n random(1, :rows)
SELECT id, org, collection, subject, created,
       pgp_sym_decrypt(first_name, 'coffre-bench-passphrase') AS first_name,
       pgp_sym_decrypt(last_name, 'coffre-bench-passphrase') AS last_name,
       pgp_sym_decrypt(birth_date, 'coffre-bench-passphrase') AS birth_date,
       pgp_sym_decrypt(aid_amount, 'coffre-bench-passphrase') AS aid_amount
FROM records
WHERE id = 'r' || :n::text;
