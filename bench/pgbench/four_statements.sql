-- The dashboard's reads as four statements: citizen, vaccinations, tests, check-ins.
-- :citizens is passed with -D; bench.citizen_ids maps 1..N to citizen IDs.
\set n random(1, :citizens)
SELECT c.id, c.full_name, c.date_of_birth, c.phone
FROM core.citizens c
WHERE c.id = (SELECT id FROM bench.citizen_ids WHERE n = :n);
SELECT r.id, r.dose_number, r.administered_at, r.site_name,
       v.code, v.name, v.primary_series_doses
FROM core.record_links l
JOIN immunization.vaccination_records r ON r.id = l.record_id
JOIN immunization.vaccines v ON v.code = r.vaccine_code
WHERE l.citizen_id = (SELECT id FROM bench.citizen_ids WHERE n = :n)
  AND l.store = 'immunization' AND l.status = 'LINKED' AND r.status = 'VALID'
ORDER BY r.administered_at, r.id;
SELECT s.id, s.test_type, s.pooled, s.result, s.collected_at, s.resulted_at
FROM core.record_links l
JOIN testing.samples s ON s.id = l.record_id
WHERE l.citizen_id = (SELECT id FROM bench.citizen_ids WHERE n = :n)
  AND l.store = 'testing' AND l.status = 'LINKED'
ORDER BY l.occurred_at DESC, l.record_id DESC
LIMIT 6;
SELECT ci.id, ci.checked_in_at, ci.method, v.name, v.kind
FROM core.check_ins ci
JOIN core.venues v ON v.id = ci.venue_id
WHERE ci.citizen_id = (SELECT id FROM bench.citizen_ids WHERE n = :n)
ORDER BY ci.checked_in_at DESC, ci.id DESC
LIMIT 11;
