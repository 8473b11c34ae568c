import { SqlClient } from "@effect/sql"
import { Effect } from "effect"
import * as Crypto from "node:crypto"

/**
 * A read-heavy dataset for the EXPLAIN test (test/e2e/ReadsExplain.test.ts) and bench/reads: organizations with
 * users, categories, cases, RIUs and their links, investigations with primary investigators, investigation notes
 * and case notes, written by ONE script of `INSERT … SELECT FROM generate_series`, then ANALYZE.
 *
 * Ids are `md5(<kind><n>)::uuid`, so a caller knows them without reading them back (`datasetId`); they are as
 * scattered as random uuids. Row n of a table belongs to organization `n % organizations`, and every reference
 * stays inside its organization (the tenant foreign keys hold); which rows have what (a category, investigations,
 * notes) depends on `n / organizations`, so every organization has the same mix. created_at follows a permutation of the row
 * numbers (uncorrelated with the physical order), two rows per timestamp, so pages depend on the id tie-breaker.
 */
export interface ReadsDatasetOptions {
  readonly organizations: number
  readonly casesPerOrganization: number
  readonly usersPerOrganization: number
  readonly categoriesPerOrganization: number
}

export const defaultReadsDataset: ReadsDatasetOptions = {
  organizations: 50,
  casesPerOrganization: 4_000,
  usersPerOrganization: 40,
  categoriesPerOrganization: 20
}

/** The uuid the dataset gives row `n` of a kind: "org", "user", "cat", "case", "riu", or "inv" with n = "<case>-<0|1>". */
export const datasetId = (kind: string, n: number | string) => {
  const hex = Crypto.createHash("md5").update(`${kind}${n}`).digest("hex")
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}

/** Counts of what the script writes, for reports. */
export const datasetShape = (options: ReadsDatasetOptions) => {
  const O = options.organizations
  const K = options.casesPerOrganization
  // rows k of 0..K-1 (per organization) with k % modulus in the accepted residues
  const perOrg = (modulus: number, accepts: (residue: number) => boolean) =>
    O * Array.from({ length: K }, (_, k) => k).filter((k) => accepts(k % modulus)).length
  return {
    organizations: O,
    users: O * options.usersPerOrganization,
    categories: O * options.categoriesPerOrganization,
    cases: O * K,
    rius: (O * K) / 2,
    riuCaseAssociations: O * K + perOrg(3, (r) => r === 0),
    investigations: perOrg(5, (r) => r < 3) + perOrg(10, (r) => r === 0),
    // two notes on the first investigation of 2 cases in 5, two case notes on 1 case in 4
    investigationNotes: 2 * perOrg(5, (r) => r < 2),
    caseNotes: 2 * perOrg(4, (r) => r === 0)
  }
}

/** The script. Its statements run without statement_timeout (each takes seconds on a small machine). */
export const readsDatasetScript = (options: ReadsDatasetOptions = defaultReadsDataset) => {
  const O = options.organizations
  const U = options.usersPerOrganization
  const C = options.categoriesPerOrganization
  const K = options.casesPerOrganization
  const N = O * K
  const R = N / 2
  for (const [name, value] of Object.entries(options)) {
    if (!Number.isInteger(value) || value < 1) throw new Error(`ReadsDataset: ${name} must be a positive integer`)
  }
  if (K % 2 !== 0 || K < 4) throw new Error("ReadsDataset: casesPerOrganization must be even and at least 4")
  // A user / category / RIU of the same organization as row g of an org-interleaved table.
  const org = (g: string) => `md5('org' || (${g}) % ${O})::uuid`
  // A user of row g's organization, picked by hashing h.
  const user = (g: string, h: string, salt: number) =>
    `md5('user' || (((hashint4((${h}) + ${salt}) & 2147483647) % ${U}) * ${O} + (${g}) % ${O}))::uuid`
  const pick = (g: string, salt: number, values: ReadonlyArray<string>) =>
    `(ARRAY[${values.map((v) => `'${v}'`).join(", ")}])[1 + (hashint4((${g}) + ${salt}) & 2147483647) % ${values.length}]`
  // A permutation of 0..N-1 (a prime step coprime with N), halved: two rows per timestamp.
  const step = [7919, 104729, 1299709].find((p) => N % p !== 0) ?? 15485863
  const createdAt = (g: string, total: number) =>
    `timestamptz '2026-06-01 00:00:00+00' - ((((${g})::bigint * ${step}) % ${total}) / 2) * interval '3 minutes'`
  const tables = "users, categories, cases, rius, riu_case_associations, investigations, investigation_notes, case_notes"
  return `
SET statement_timeout = 0;
-- The rows are consistent by construction: skip the per-row foreign-key triggers where the role may (a superuser:
-- the embedded servers of tests and benches), which are most of the load time.
DO $$ BEGIN SET session_replication_role = replica; EXCEPTION WHEN insufficient_privilege THEN NULL; END $$;
-- Secondary indexes are dropped and built again after the load (several times faster than maintaining them row
-- by row), with their definitions and comments as the index step left them; constraint indexes stay.
CREATE TEMP TABLE reads_dataset_indexes ON COMMIT DROP AS
  SELECT c.relname AS name, pg_get_indexdef(i.indexrelid) AS definition, obj_description(i.indexrelid, 'pg_class') AS comment
    FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
   WHERE i.indrelid = ANY(string_to_array('${tables}', ', ')::regclass[])
     AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid AND k.conrelid = i.indrelid);
DO $$ DECLARE r record; BEGIN
  FOR r IN SELECT name FROM reads_dataset_indexes LOOP EXECUTE format('DROP INDEX %I', r.name); END LOOP;
END $$;
INSERT INTO organizations (id, slug, name)
  SELECT md5('org' || o)::uuid, 'reads-' || o, 'Reads organization ' || o FROM generate_series(0, ${O - 1}) o;
INSERT INTO users (id, organization_id, email, password_hash, display_name, role)
  SELECT md5('user' || u)::uuid, ${org("u")}, 'user' || u || '@reads.test', 'not-a-hash', 'User ' || u,
         (ARRAY['ADMIN', 'INVESTIGATOR', 'INVESTIGATOR', 'VIEWER'])[1 + (u / ${O}) % 4]
    FROM generate_series(0, ${O * U - 1}) u;
INSERT INTO categories (id, organization_id, name)
  SELECT md5('cat' || c)::uuid, ${org("c")}, 'Category ' || c FROM generate_series(0, ${O * C - 1}) c;
INSERT INTO cases (id, organization_id, reference, title, description, status, priority, category_id, created_by, created_at, updated_at)
  SELECT md5('case' || g)::uuid, ${org("g")}, 'C-' || g, 'Case ' || g, 'Description of case ' || g,
         ${pick("g", 1, ["NEW", "OPEN", "OPEN", "IN_PROGRESS", "IN_PROGRESS", "PENDING", "CLOSED", "CLOSED", "CLOSED", "CLOSED"])},
         ${pick("g", 2, ["LOW", "MEDIUM", "MEDIUM", "HIGH", "CRITICAL"])},
         CASE WHEN (g / ${O}) % 10 = 9 THEN NULL ELSE md5('cat' || (((hashint4(g + 3) & 2147483647) % ${C}) * ${O} + g % ${O}))::uuid END,
         ${user("g", "g", 4)}, t.at, t.at
    FROM generate_series(0, ${N - 1}) g, LATERAL (SELECT ${createdAt("g", N)} AS at) t;
INSERT INTO rius (id, organization_id, reference, kind, status, summary, reporter_anonymous, received_at, created_at, created_by)
  SELECT md5('riu' || r)::uuid, ${org("r")}, 'R-' || r, ${pick("r", 5, ["HOTLINE_REPORT", "WEB_FORM", "DISCLOSURE"])},
         ${pick("r", 6, ["RECEIVED", "TRIAGED", "LINKED", "LINKED", "CLOSED"])}, 'Summary of intake ' || r, (r / ${O}) % 4 = 0,
         t.at, t.at, CASE WHEN (r / ${O}) % 5 = 0 THEN NULL ELSE ${user("r", "r", 7)} END
    FROM generate_series(0, ${R - 1}) r, LATERAL (SELECT ${createdAt("r", R)} AS at) t;
INSERT INTO riu_case_associations (organization_id, riu_id, case_id, created_at, created_by)
  SELECT ${org("g")}, md5('riu' || (((g / ${O} / 2 + l.n * ${Math.floor(K / 4)}) % ${K / 2}) * ${O} + g % ${O}))::uuid, md5('case' || g)::uuid,
         timestamptz '2026-06-01 00:00:00+00', ${user("g", "g", 8)}
    FROM generate_series(0, ${N - 1}) g, LATERAL (SELECT n FROM generate_series(0, CASE WHEN (g / ${O}) % 3 = 0 THEN 1 ELSE 0 END) n) l;
INSERT INTO investigations (id, organization_id, case_id, status, primary_investigator_id, created_at, updated_at)
  SELECT md5('inv' || g || '-' || n)::uuid, ${org("g")}, md5('case' || g)::uuid, ${pick("g + n", 9, ["OPEN", "ACTIVE", "ACTIVE", "ON_HOLD", "CLOSED"])},
         CASE WHEN (g / ${O}) % 7 = 3 THEN NULL ELSE ${user("g", "g + n", 10)} END, t.at, t.at
    FROM generate_series(0, ${N - 1}) g, generate_series(0, 1) n, LATERAL (SELECT ${createdAt("g", N)} AS at) t
   WHERE (n = 0 AND (g / ${O}) % 5 < 3) OR (n = 1 AND (g / ${O}) % 10 = 0);
INSERT INTO investigation_notes (organization_id, investigation_id, author_id, body, created_at)
  SELECT ${org("g")}, md5('inv' || g || '-0')::uuid, ${user("g", "g * 2 + m", 11)}, 'Investigation note ' || m || ' of case ' || g,
         ${createdAt("g", N)} + (m + 1) * interval '1 hour'
    FROM generate_series(0, ${N - 1}) g, generate_series(0, 1) m
   WHERE (g / ${O}) % 5 < 2;
INSERT INTO case_notes (organization_id, case_id, author_id, body, created_at)
  SELECT ${org("g")}, md5('case' || g)::uuid, ${user("g", "g * 2 + m", 12)}, 'Case note ' || m || ' of case ' || g,
         ${createdAt("g", N)} + (m + 1) * interval '1 hour'
    FROM generate_series(0, ${N - 1}) g, generate_series(0, 1) m
   WHERE (g / ${O}) % 4 = 0;
DO $$ DECLARE r record; BEGIN
  FOR r IN SELECT * FROM reads_dataset_indexes LOOP
    EXECUTE r.definition;
    IF r.comment IS NOT NULL THEN EXECUTE format('COMMENT ON INDEX %I IS %L', r.name, r.comment); END IF;
  END LOOP;
END $$;
RESET session_replication_role;
ANALYZE organizations, users, categories, cases, rius, riu_case_associations, investigations, investigation_notes, case_notes;
RESET statement_timeout;
`
}

/** Writes the dataset into the (migrated, empty) database of the SqlClient in one round trip. */
export const seedReadsDataset = (options: ReadsDatasetOptions = defaultReadsDataset) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    // No parameters: the simple query protocol runs the whole script in one message.
    yield* sql.unsafe(readsDatasetScript(options)).raw
    return datasetShape(options)
  })
