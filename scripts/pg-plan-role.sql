-- The plan role of one environment: pull requests plan with it (PG_PLAN_CONN_STR). It can read
-- that environment's state and take Terraform's lock (advisory locks need no privilege), and
-- nothing else: it can't write or delete state, and it can't read another environment's.
--   psql "$ADMIN_CONN" -v schema=wayshub_production -v role=wayshub_plan_production \
--        -v password="$(openssl rand -hex 24)" -f scripts/pg-plan-role.sql
-- Run it as the owner of the state (the deploy role, which needs CREATEROLE) or an admin, after
-- the first deploy created the schema. Run it again to change the password.
-- The plan then runs with PG_SKIP_SCHEMA_CREATION, PG_SKIP_TABLE_CREATION and
-- PG_SKIP_INDEX_CREATION set to true (the role may not create them; they exist).
\set ON_ERROR_STOP on
SELECT format('CREATE ROLE %I LOGIN PASSWORD %L', :'role', :'password')
  WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'role') \gexec
SELECT format('DO $$ BEGIN RAISE EXCEPTION %L; END $$', format('pg-plan-role: role %s exists with more rights than a plan role; drop it or choose another name', :'role'))
  WHERE EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'role' AND (rolsuper OR rolcreaterole OR rolcreatedb OR rolbypassrls OR rolreplication)) \gexec
SELECT format('ALTER ROLE %I LOGIN PASSWORD %L', :'role', :'password') \gexec
SELECT format('GRANT CONNECT ON DATABASE %I TO %I', current_database(), :'role') \gexec
SELECT format('GRANT USAGE ON SCHEMA %I TO %I', :'schema', :'role') \gexec
SELECT format('GRANT SELECT ON %I.states TO %I', :'schema', :'role') \gexec
