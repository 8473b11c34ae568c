import { SqlClient } from "@effect/sql"
import type { Connection } from "@effect/sql/SqlConnection"
import { Effect } from "effect"

/** Advisory lock keys; one place so no two jobs share a key by accident. */
export const LockKeys = {
  migrations: 724_011_001,
  housekeeping: 724_011_002
} as const

/**
 * Runs `use` on a reserved connection that holds a session-level advisory lock for its whole run.
 * Session level (not transaction level) because CREATE INDEX CONCURRENTLY cannot run in a transaction.
 */
export const withSessionLock = <A, E, R>(key: number, use: (connection: Connection) => Effect.Effect<A, E, R>) =>
  Effect.scoped(
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const connection = yield* sql.reserve
      yield* Effect.acquireRelease(
        connection.execute("SELECT pg_advisory_lock($1)", [key], undefined),
        () => connection.execute("SELECT pg_advisory_unlock($1)", [key], undefined).pipe(Effect.ignore)
      )
      return yield* use(connection)
    })
  )
