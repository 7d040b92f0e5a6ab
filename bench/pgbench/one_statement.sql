-- The dashboard's reads as one statement returning the citizen and three JSON lists.
-- :citizens is passed with -D; bench.citizen_ids maps 1..N to citizen IDs.
\set n random(1, :citizens)
SELECT c.id, c.full_name, c.date_of_birth, c.phone,
  (SELECT json_agg(d ORDER BY d.administered_at, d.id) FROM (
     SELECT r.id, r.dose_number, r.administered_at, r.site_name,
            v.code, v.name, v.primary_series_doses
     FROM core.record_links l
     JOIN immunization.vaccination_records r ON r.id = l.record_id
     JOIN immunization.vaccines v ON v.code = r.vaccine_code
     WHERE l.citizen_id = c.id AND l.store = 'immunization' AND l.status = 'LINKED'
       AND r.status = 'VALID') d) AS vaccinations,
  (SELECT json_agg(t) FROM (
     SELECT s.id, s.test_type, s.pooled, s.result, s.collected_at, s.resulted_at
     FROM core.record_links l
     JOIN testing.samples s ON s.id = l.record_id
     WHERE l.citizen_id = c.id AND l.store = 'testing' AND l.status = 'LINKED'
     ORDER BY l.occurred_at DESC, l.record_id DESC
     LIMIT 6) t) AS test_results,
  (SELECT json_agg(k) FROM (
     SELECT ci.id, ci.checked_in_at, ci.method, v.name, v.kind
     FROM core.check_ins ci
     JOIN core.venues v ON v.id = ci.venue_id
     WHERE ci.citizen_id = c.id
     ORDER BY ci.checked_in_at DESC, ci.id DESC
     LIMIT 11) k) AS check_ins
FROM bench.citizen_ids b
JOIN core.citizens c ON c.id = b.id
WHERE b.n = :n;
