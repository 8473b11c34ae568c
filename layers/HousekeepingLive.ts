import { SqlClient } from "@effect/sql"
import { Clock, Config, Duration, Effect, Layer, Option, Schedule } from "effect"
import { LockKeys, trySessionLock } from "../src/sql/AdvisoryLock.ts"

const housekeepingConfig = Config.all({
  interval: Config.duration("HOUSEKEEPING_INTERVAL").pipe(Config.withDefault(Duration.minutes(10))),
  batchSize: Config.integer("HOUSEKEEPING_BATCH_SIZE").pipe(Config.withDefault(500)),
  /** Revoked and expired sessions are kept this long for the audit trail and "why was I logged out". */
  retention: Config.duration("SESSION_RETENTION").pipe(Config.withDefault(Duration.days(7))),
  /** Spent refresh tokens must outlive their session's absolute lifetime: reuse detection needs them. */
  absolute: Config.duration("SESSION_ABSOLUTE_TIMEOUT").pipe(Config.withDefault(Duration.hours(12)))
})

/** One pass: delete in small batches until nothing is left; returns the rows deleted per table. */
export const sweep = Effect.fn("Housekeeping.sweep")(function* (options: {
  readonly batchSize: number
  readonly retention: Duration.Duration
  readonly absolute: Duration.Duration
}) {
  const sql = yield* SqlClient.SqlClient
  const now = yield* Clock.currentTimeMillis
  const sessionCutoff = new Date(now - Duration.toMillis(options.retention))
  const tokenCutoff = new Date(now - Duration.toMillis(options.absolute) - Duration.toMillis(Duration.hours(1)))
  const drain = (batch: Effect.Effect<ReadonlyArray<unknown>, unknown>) =>
    Effect.iterate({ total: 0, last: -1 }, {
      while: ({ last }) => last !== 0,
      body: ({ total }) => Effect.map(batch, (rows) => ({ total: total + rows.length, last: rows.length }))
    }).pipe(Effect.map(({ total }) => total))
  // Each batch is its own short statement (autocommit): no long lock, no long transaction.
  const sessions = yield* drain(sql`
    DELETE FROM auth_sessions WHERE id IN (
      (SELECT id FROM auth_sessions WHERE absolute_expires_at < ${sessionCutoff} LIMIT ${options.batchSize})
      UNION (SELECT id FROM auth_sessions WHERE revoked_at < ${sessionCutoff} LIMIT ${options.batchSize}))
    RETURNING id`)
  const tokens = yield* drain(sql`
    DELETE FROM auth_refresh_tokens WHERE id IN (
      SELECT id FROM auth_refresh_tokens WHERE rotated_at < ${tokenCutoff} LIMIT ${options.batchSize})
    RETURNING id`)
  return { sessions, tokens }
})

/** Forked in the layer's scope; one instance at a time (advisory lock, try-only: others skip the tick). */
export const HousekeepingLive = Layer.scopedDiscard(
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const config = yield* housekeepingConfig
    const once = trySessionLock(LockKeys.housekeeping, () => sweep(config)).pipe(
      Effect.tap((result) =>
        Option.isSome(result) && result.value.sessions + result.value.tokens > 0 ? Effect.logInfo("housekeeping", result.value) : Effect.void
      ),
      Effect.provideService(SqlClient.SqlClient, sql)
    )
    yield* once.pipe(
      Effect.catchAllCause((cause) => Effect.logWarning("housekeeping failed", cause)),
      Effect.schedule(Schedule.spaced(config.interval)),
      Effect.forkScoped
    )
  })
)
