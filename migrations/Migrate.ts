import { SqlClient } from "@effect/sql"
import * as Migrator from "@effect/sql/Migrator"
import { Data, Effect } from "effect"
import { LockKeys, withSessionLock } from "../src/sql/AdvisoryLock.ts"
import { buildIndexes } from "./ConcurrentIndexes.ts"
import { loader, migrations } from "./index.ts"

export class MigrationStateError extends Data.TaggedError("MigrationStateError")<{ readonly message: string }> {}

const migrationsTable = "effect_sql_migrations"

export interface AppliedMigration {
  readonly id: number
  readonly name: string
  readonly appliedAt: Date
}

export const appliedMigrations = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const [exists] = yield* sql<{ present: boolean }>`SELECT to_regclass(${migrationsTable}) IS NOT NULL AS present`
  if (exists?.present !== true) return []
  const rows = yield* sql<{ migration_id: number; name: string; created_at: Date }>`
    SELECT migration_id, name, created_at FROM ${sql(migrationsTable)} ORDER BY migration_id`.withoutTransform
  return rows.map((row): AppliedMigration => ({ id: row.migration_id, name: row.name, appliedAt: row.created_at }))
})

/**
 * The Migrator silently skips a migration whose id is below the highest applied one, and keeps no
 * record of what it does not know: both mean the code and the database disagree, so stop instead.
 */
const checkHistory = (applied: ReadonlyArray<AppliedMigration>) => {
  const known = new Map(migrations.map(([id, name]) => [id, name]))
  const problems: Array<string> = []
  for (const row of applied) {
    const name = known.get(row.id)
    if (name === undefined) problems.push(`the database has applied migration ${row.id}_${row.name}, which this code does not know`)
    else if (name !== row.name) problems.push(`migration ${row.id} is ${row.id}_${row.name} in the database but ${row.id}_${name} in the code`)
  }
  const highest = Math.max(0, ...applied.map((row) => row.id))
  const appliedIds = new Set(applied.map((row) => row.id))
  for (const [id, name] of migrations) {
    if (id < highest && !appliedIds.has(id)) {
      problems.push(`migration ${id}_${name} is not applied but ${highest} is: it would be skipped`)
    }
  }
  return problems.length === 0 ? Effect.void : new MigrationStateError({ message: problems.join("; ") })
}

/**
 * Applies pending migrations, then builds the declared indexes concurrently, all under one advisory
 * lock: a second process waits, then finds nothing to do.
 */
export const migrate = Effect.fn("Migrations.migrate")(function* () {
  return yield* withSessionLock(LockKeys.migrations, (connection) =>
    Effect.gen(function* () {
      yield* checkHistory(yield* appliedMigrations)
      const applied = yield* Migrator.make({})({ loader, table: migrationsTable })
      const indexes = yield* buildIndexes(connection)
      return { applied, indexes }
    })
  )
})
