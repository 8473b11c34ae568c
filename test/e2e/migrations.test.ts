import { assert, describe, it } from "@effect/vitest"
import { SqlClient } from "@effect/sql"
import { PgClient } from "@effect/sql-pg"
import { Effect, Redacted } from "effect"
import { migrate } from "../../migrations/Migrate.ts"
import { indexSpecs } from "../../migrations/IndexSpecs.ts"
import { migrations } from "../../migrations/index.ts"
import { runCli } from "../support/Cli.ts"
import { scopedDatabase, TestDatabaseLive } from "../support/TestDatabase.ts"

const designTables = [
  "organizations", "users", "auth_sessions", "auth_refresh_tokens", "categories", "cases", "rius",
  "riu_case_associations", "investigations", "investigation_notes", "audit_log", "notifications", "campaigns",
  "campaign_assignments", "impersonation_sessions", "implementation_projects", "health_scores",
  "ai_conversations", "ai_messages", "ai_actions"
]

const invalidate = (name: string) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    yield* sql`UPDATE pg_index SET indisvalid = false WHERE indexrelid = ${name}::regclass`
  })

const indexValidity = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const rows = yield* sql<{ name: string; valid: boolean }>`
    SELECT c.relname AS name, i.indisvalid AS valid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
    WHERE c.relname = ANY(${indexSpecs.map((spec) => spec.name)})`
  return new Map(rows.map((row) => [row.name, row.valid]))
})

describe("migrations", () => {
  it.layer(TestDatabaseLive)((it) => {
    it.effect("creates every table of the design", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const rows = yield* sql<{ name: string }>`SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public'`
        const present = new Set(rows.map((row) => row.name))
        assert.deepStrictEqual(designTables.filter((table) => !present.has(table)), [])
      }))

    it.effect("builds at least 40 declared indexes, all valid", () =>
      Effect.gen(function* () {
        const validity = yield* indexValidity
        assert.isAtLeast(indexSpecs.length, 40)
        assert.strictEqual(validity.size, indexSpecs.length)
        assert.isTrue([...validity.values()].every((valid) => valid))
      }))

    it.effect("no index of auth_sessions covers a column a rotation updates, so refreshes are HOT updates", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        // The columns auth_refresh() (migrations/0002) and the socket refresh update on every use.
        const rotated = ["current_generation", "last_refreshed_at", "idle_expires_at", "refresh_allowance"]
        const rows = yield* sql<{ index: string; definition: string }>`
          SELECT c.relname AS index, pg_get_indexdef(i.indexrelid) AS definition
            FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
           WHERE i.indrelid = 'auth_sessions'::regclass`
        const covering = rows.filter((row) => rotated.some((column) => row.definition.includes(column)))
        assert.deepStrictEqual(covering, [])
        const [options] = yield* sql<{ options: Array<string> | null }>`SELECT reloptions AS options FROM pg_class WHERE oid = 'auth_sessions'::regclass`
        assert.include(options?.options ?? [], "fillfactor=80")
      }))

    it.effect("a second run changes nothing", () =>
      Effect.gen(function* () {
        const { applied, indexes } = yield* migrate()
        assert.deepStrictEqual(applied, [])
        assert.deepStrictEqual(indexes.filter((index) => index.action !== "unchanged"), [])
      }))

    it.effect("rebuilds an index left INVALID", () =>
      Effect.gen(function* () {
        yield* invalidate("ix_cases_org_status_created")
        assert.isFalse((yield* indexValidity).get("ix_cases_org_status_created"))
        const { indexes } = yield* migrate()
        assert.deepStrictEqual(indexes.filter((index) => index.action !== "unchanged"), [{ name: "ix_cases_org_status_created", action: "rebuilt" }])
        assert.isTrue((yield* indexValidity).get("ix_cases_org_status_created"))
      }))

    it.effect("replaces an index whose declared definition changed", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        yield* sql`COMMENT ON INDEX ix_notifications_user_unread IS 'casecore:0000000000000000'`
        const { indexes } = yield* migrate()
        assert.deepStrictEqual(indexes.filter((index) => index.action !== "unchanged"), [{ name: "ix_notifications_user_unread", action: "replaced" }])
        assert.isTrue((yield* indexValidity).get("ix_notifications_user_unread"))
      }))

    it.effect("an index built before issue 9 gets its keyset definition and a superseded one is dropped after its replacement exists", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        // The state of a database indexed by the previous release: the old definition under the same name, and the
        // old priority index under its retired name.
        yield* sql`DROP INDEX ix_cases_org_created`
        yield* sql`CREATE INDEX ix_cases_org_created ON cases (organization_id, created_at DESC)`
        yield* sql`COMMENT ON INDEX ix_cases_org_created IS 'casecore:0000000000000000'`
        yield* sql`CREATE INDEX ix_cases_org_priority_status ON cases (organization_id, priority, status)`
        const { indexes } = yield* migrate()
        assert.deepStrictEqual(indexes.filter((index) => index.action !== "unchanged"), [{ name: "ix_cases_org_created", action: "replaced" }])
        const rows = yield* sql<{ name: string; definition: string }>`
          SELECT c.relname AS name, pg_get_indexdef(c.oid) AS definition FROM pg_class c
           WHERE c.relname IN ('ix_cases_org_created', 'ix_cases_org_priority_status')`
        assert.deepStrictEqual(rows.map((row) => row.name), ["ix_cases_org_created"])
        assert.include(rows[0]?.definition ?? "", "(organization_id, created_at DESC, id DESC)")
      }))

    it.effect("refuses a database that applied a migration this code does not know", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        yield* sql`INSERT INTO effect_sql_migrations (migration_id, name) VALUES (99, 'from_the_future')`
        const error = yield* Effect.flip(migrate())
        assert.strictEqual(error._tag, "MigrationStateError")
        assert.include(error.message, "99_from_the_future")
        yield* sql`DELETE FROM effect_sql_migrations WHERE migration_id = 99`
      }))
  })

  it.scoped("refuses a history where an applied migration has another name", () =>
    Effect.gen(function* () {
      const url = yield* scopedDatabase("template0")
      const run = <A, E>(effect: Effect.Effect<A, E, SqlClient.SqlClient>) => Effect.provide(effect, PgClient.layer({ url }))
      yield* run(Effect.flatMap(SqlClient.SqlClient, (sql) =>
        sql`CREATE TABLE effect_sql_migrations (migration_id integer primary key, created_at timestamptz not null default now(), name text not null)`.pipe(
          Effect.zipRight(sql`INSERT INTO effect_sql_migrations (migration_id, name) VALUES (1, 'renamed'), (2, 'later')`))))
      const error = yield* Effect.flip(run(migrate()))
      assert.include(error.message, "1_renamed in the database but 1_core_schema in the code")
      assert.include(error.message, "2_later")
    }))

  it.scoped("two processes migrating at once both succeed and the work is done once", () =>
    Effect.gen(function* () {
      const url = yield* scopedDatabase("template0")
      const env = { DATABASE_URL: Redacted.value(url) }
      const [a, b] = yield* Effect.promise(() => Promise.all([runCli(["migrate"], { env }), runCli(["migrate"], { env })]))
      assert.deepStrictEqual([a.code, b.code], [0, 0], `${a.stderr}\n${b.stderr}`)
      const outputs = [a.stdout, b.stdout]
      assert.strictEqual(outputs.filter((out) => out.includes("migrations applied: 1_core_schema, 2_refresh_rotation, 3_hot_sessions, 4_refresh_leeway, 5_login_limits, 6_admin_changes")).length, 1)
      assert.strictEqual(outputs.filter((out) => out.includes("migrations applied: none pending")).length, 1)
      const status = yield* Effect.promise(() => runCli(["migrate", "status", "--json"], { env }))
      const parsed = JSON.parse(status.stdout) as { applied: Array<unknown>; indexes: Array<{ state: string }> }
      assert.strictEqual(parsed.applied.length, migrations.length)
      assert.isTrue(parsed.indexes.every((index) => index.state === "valid"))
    }), { timeout: 60_000 })
})
