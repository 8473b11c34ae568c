import type { Connection } from "@effect/sql/SqlConnection"
import { Data, Duration, Effect, Schedule } from "effect"
import * as Crypto from "node:crypto"
import { isLockNotAvailable } from "../src/sql/SqlErrors.ts"
import { indexSpecs, type IndexSpec, retiredIndexes } from "./IndexSpecs.ts"

export class IndexBuildError extends Data.TaggedError("IndexBuildError")<{ readonly message: string }> {}

export type IndexState = "valid" | "invalid" | "missing" | "outdated"
export type IndexAction = "unchanged" | "created" | "rebuilt" | "replaced"

const identifier = /^[a-z_][a-z0-9_]{0,62}$/

/** The temporary name a changed definition is built under, beside the old index. */
const nextName = (spec: IndexSpec) => `${spec.name.slice(0, 58)}_next`

const createStatement = (spec: IndexSpec, name = spec.name) =>
  `CREATE ${spec.unique === true ? "UNIQUE " : ""}INDEX CONCURRENTLY ${name} ON ${spec.table} USING btree (${spec.columns})${
    spec.where === undefined ? "" : ` WHERE ${spec.where}`
  }`

/** Stored as the index's comment: a changed spec is detected without parsing pg_get_indexdef. */
export const signature = (spec: IndexSpec) =>
  `casecore:${Crypto.createHash("sha256").update(createStatement(spec, "x")).digest("hex").slice(0, 16)}`


interface Existing {
  readonly name: string
  readonly valid: boolean
  readonly comment: string | null
}

const existingIndexes = (connection: Connection) =>
  connection
    .execute(
      `SELECT c.relname AS name, i.indisvalid AS valid, obj_description(c.oid, 'pg_class') AS comment
         FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
        WHERE c.relnamespace = current_schema()::regnamespace AND c.relname = ANY($1)`,
      [indexSpecs.flatMap((spec) => [spec.name, nextName(spec)])],
      undefined
    )
    .pipe(Effect.map((rows) => new Map((rows as ReadonlyArray<Existing>).map((row) => [row.name, row]))))

const stateOf = (spec: IndexSpec, existing: Existing | undefined): IndexState =>
  existing === undefined ? "missing" : !existing.valid ? "invalid" : existing.comment !== signature(spec) ? "outdated" : "valid"

/** Declared indexes and their state in the database (for `migrate status`). */
export const indexStates = (connection: Connection) =>
  Effect.map(existingIndexes(connection), (existing) =>
    indexSpecs.map((spec) => ({ name: spec.name, table: spec.table, state: stateOf(spec, existing.get(spec.name)), serves: spec.serves }))
  )

/**
 * Builds one index without blocking writers. DDL runs under a short lock_timeout and is retried: a
 * CONCURRENTLY build waits for older transactions, but must not queue behind (and so block) writers.
 */
const buildOne = (connection: Connection, spec: IndexSpec, existing: ReadonlyMap<string, Existing>) =>
  Effect.gen(function* () {
    const ddl = (statement: string) =>
      connection.executeRaw(statement, []).pipe(
        Effect.retry({
          schedule: Schedule.exponential(Duration.millis(200)).pipe(Schedule.compose(Schedule.recurs(8))),
          while: isLockNotAvailable
        })
      )
    const comment = (name: string) => ddl(`COMMENT ON INDEX ${name} IS '${signature(spec)}'`)
    const next = nextName(spec)
    const state = stateOf(spec, existing.get(spec.name))
    if (existing.has(next)) yield* ddl(`DROP INDEX CONCURRENTLY IF EXISTS ${next}`)
    switch (state) {
      case "valid":
        return "unchanged" as const
      case "missing":
        yield* ddl(createStatement(spec))
        yield* comment(spec.name)
        return "created" as const
      case "invalid":
        yield* ddl(`DROP INDEX CONCURRENTLY IF EXISTS ${spec.name}`)
        yield* ddl(createStatement(spec))
        yield* comment(spec.name)
        return "rebuilt" as const
      case "outdated":
        // Build the new definition beside the old one, so queries keep an index throughout.
        yield* ddl(createStatement(spec, next))
        yield* ddl(`DROP INDEX CONCURRENTLY IF EXISTS ${spec.name}`)
        yield* ddl(`ALTER INDEX ${next} RENAME TO ${spec.name}`)
        yield* comment(spec.name)
        return "replaced" as const
    }
  }).pipe(Effect.annotateLogs("index", spec.name))

/** The post-migration step: idempotent, outside any transaction, verified with pg_index.indisvalid. */
export const buildIndexes = (connection: Connection) =>
  Effect.gen(function* () {
    const bad = indexSpecs.filter((spec) => !identifier.test(spec.name) || !identifier.test(spec.table))
    if (bad.length > 0) return yield* new IndexBuildError({ message: `invalid index spec names: ${bad.map((s) => s.name).join(", ")}` })
    yield* connection.executeRaw("SET lock_timeout = '2s'", [])
    yield* connection.executeRaw("SET statement_timeout = 0", [])
    // Parallel build workers would take both cores of a small machine from the writers (bench/results/index-build.md).
    yield* connection.executeRaw("SET max_parallel_maintenance_workers = 0", [])
    const badRetired = retiredIndexes.filter((retired) => !identifier.test(retired.name))
    if (badRetired.length > 0) return yield* new IndexBuildError({ message: `invalid retired index name: ${badRetired.map((r) => r.name).join(", ")}` })
    const existing = yield* existingIndexes(connection)
    const results: Array<{ readonly name: string; readonly action: IndexAction }> = []
    for (const spec of indexSpecs) {
      const action = yield* buildOne(connection, spec, existing)
      if (action !== "unchanged") yield* Effect.logInfo(`index ${spec.name}: ${action}`)
      results.push({ name: spec.name, action })
    }
    // Superseded indexes go only after their replacements exist, so a query never loses its index.
    for (const retired of retiredIndexes) {
      yield* connection.executeRaw(`DROP INDEX CONCURRENTLY IF EXISTS ${retired.name}`, []).pipe(
        Effect.retry({ schedule: Schedule.exponential(Duration.millis(200)).pipe(Schedule.compose(Schedule.recurs(8))), while: isLockNotAvailable })
      )
    }
    yield* connection.executeRaw("RESET lock_timeout; RESET statement_timeout; RESET max_parallel_maintenance_workers", [])
    const states = yield* indexStates(connection)
    const broken = states.filter((index) => index.state !== "valid")
    if (broken.length > 0) {
      return yield* new IndexBuildError({ message: `indexes not valid after the build: ${broken.map((i) => `${i.name} (${i.state})`).join(", ")}` })
    }
    return results
  })
