import { SqlClient } from "@effect/sql"
import type { Connection } from "@effect/sql/SqlConnection"
import { Duration, Effect, Option, Schedule } from "effect"

/** Advisory lock keys; one place so no two jobs share a key by accident. */
export const LockKeys = {
  migrations: 724_011_001,
  housekeeping: 724_011_002
} as const

const busy = (error: unknown): error is "busy" => error === "busy"

/** A reserved connection and a poll for the lock on it ("busy" while another session holds it). */
const reserveLockable = (key: number) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const connection = yield* sql.reserve
    const tryLock = connection.execute("SELECT pg_try_advisory_lock($1) AS locked", [key], undefined).pipe(
      Effect.flatMap(([row]) => (row?.locked === true ? Effect.void : Effect.fail("busy" as const)))
    )
    const unlock = connection.execute("SELECT pg_advisory_unlock($1)", [key], undefined).pipe(Effect.ignore)
    return { connection, tryLock, unlock }
  })

/**
 * Runs `use` on a reserved connection holding a session-level advisory lock for its whole run
 * (session level: CREATE INDEX CONCURRENTLY cannot run in a transaction), waiting for the lock. It is
 * polled with pg_try_advisory_lock, never awaited inside a statement: CONCURRENTLY waits for every open
 * transaction, so a waiter blocked in pg_advisory_lock would deadlock with the holder.
 */
export const withSessionLock = <A, E, R>(key: number, use: (connection: Connection) => Effect.Effect<A, E, R>) =>
  Effect.scoped(
    Effect.gen(function* () {
      const { connection, tryLock, unlock } = yield* reserveLockable(key)
      const waitForLock = tryLock.pipe(
        Effect.catchIf(busy, () =>
          Effect.logInfo("waiting for another process that holds the lock").pipe(
            Effect.zipRight(tryLock),
            Effect.retry({ schedule: Schedule.spaced(Duration.millis(250)), while: busy })
          )),
        Effect.catchIf(busy, () => Effect.dieMessage("advisory lock never acquired"))
      )
      yield* Effect.acquireRelease(waitForLock, () => unlock)
      return yield* use(connection)
    })
  )

/** As withSessionLock, but gives up at once (None) when another session holds the lock. */
export const trySessionLock = <A, E, R>(key: number, use: (connection: Connection) => Effect.Effect<A, E, R>) =>
  Effect.scoped(
    Effect.gen(function* () {
      const { connection, tryLock, unlock } = yield* reserveLockable(key)
      const locked = yield* Effect.acquireRelease(
        tryLock.pipe(Effect.as(true), Effect.catchIf(busy, () => Effect.succeed(false))),
        (locked) => (locked ? unlock : Effect.void)
      )
      return locked ? Option.some(yield* use(connection)) : Option.none()
    })
  )
