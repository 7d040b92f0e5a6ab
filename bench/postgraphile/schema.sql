-- Computed columns that give PostGraphile the citizen dashboard over the
-- three stores' tables. Installed into the benchmark database only.
CREATE SCHEMA IF NOT EXISTS postgraphile;

CREATE OR REPLACE FUNCTION postgraphile.citizens_vaccinations(citizen core.citizens)
RETURNS SETOF immunization.vaccination_records
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT r.*
  FROM core.record_links l
  JOIN immunization.vaccination_records r ON r.id = l.record_id
  WHERE l.citizen_id = citizen.id AND l.store = 'immunization' AND l.status = 'LINKED'
    AND r.status = 'VALID'
  ORDER BY r.administered_at, r.id
$$;

CREATE OR REPLACE FUNCTION postgraphile.citizens_test_results(citizen core.citizens)
RETURNS SETOF testing.samples
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT s.*
  FROM core.record_links l
  JOIN testing.samples s ON s.id = l.record_id
  WHERE l.citizen_id = citizen.id AND l.store = 'testing' AND l.status = 'LINKED'
  ORDER BY l.occurred_at DESC, l.record_id DESC
$$;

CREATE OR REPLACE FUNCTION postgraphile.citizens_phone_masked(citizen core.citizens)
RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT left(citizen.phone, 3) || repeat('*', greatest(length(citizen.phone) - 6, 0))
    || right(citizen.phone, 3)
$$;

DO $$
BEGIN
  CREATE TYPE postgraphile.vaccination_status AS (
    doses_received integer,
    primary_series_complete boolean,
    primary_series_completed_on date,
    booster_doses integer
  );
EXCEPTION WHEN duplicate_object THEN NULL;
END $$;

CREATE OR REPLACE FUNCTION postgraphile.citizens_vaccination_status(citizen core.citizens)
RETURNS postgraphile.vaccination_status
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE
  status postgraphile.vaccination_status;
BEGIN
  WITH doses AS (
    SELECT r.administered_at, v.primary_series_doses,
           row_number() OVER (ORDER BY r.administered_at, r.id) AS n
    FROM core.record_links l
    JOIN immunization.vaccination_records r ON r.id = l.record_id
    JOIN immunization.vaccines v ON v.code = r.vaccine_code
    WHERE l.citizen_id = citizen.id AND l.store = 'immunization' AND l.status = 'LINKED'
      AND r.status = 'VALID'
  ), completion AS (
    SELECT min(n) AS n FROM doses WHERE n >= primary_series_doses
  )
  SELECT count(d.n)::integer,
         c.n IS NOT NULL,
         (SELECT (administered_at AT TIME ZONE 'UTC')::date FROM doses WHERE n = c.n),
         count(d.n) FILTER (WHERE d.n > c.n)::integer
  INTO status
  FROM completion c LEFT JOIN doses d ON true
  GROUP BY c.n;
  RETURN status;
END
$$;

COMMENT ON FUNCTION postgraphile.citizens_vaccinations(core.citizens) IS E'@behavior -connection +list';
