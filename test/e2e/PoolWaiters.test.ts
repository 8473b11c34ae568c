import { assert, describe, layer } from "@effect/vitest"
import { SqlClient } from "@effect/sql"
import { Duration, Effect, Fiber, Layer } from "effect"
import { TestDatabaseLive } from "../support/TestDatabase.ts"
import { TestConfig } from "../support/TestApp.ts"

/**
 * pg-pool handed each freed connection to the next queued callback, and sql-pg's callback of an
 * interrupted query released it synchronously: thousands of interrupted waiters made one recursive
 * chain and the process died with "Maximum call stack size exceeded" (issue 7, item 0). The patch in
 * src/sql/patches keeps waiters on a FIFO of permits, the pool's size, instead (each freed permit goes
 * to the oldest waiter: Effect's Semaphore woke every waiter on each release).
 */
const Pool = TestDatabaseLive.pipe(Layer.provide(TestConfig({ DB_POOL_MAX: "2" })))

/** Both connections busy for a while, so that everything started meanwhile has to wait. */
const holdPool = Effect.flatMap(SqlClient.SqlClient, (sql) =>
  Effect.fork(Effect.all([sql`SELECT pg_sleep(0.4)`, sql`SELECT pg_sleep(0.4)`], { concurrency: 2 })))

/** Starts `count` waiters, interrupts them while they wait, then lets the holders finish. */
const interruptWaiters = <A, E>(count: number, waiter: Effect.Effect<A, E>) =>
  Effect.gen(function* () {
    const holders = yield* holdPool
    yield* Effect.sleep(Duration.millis(100))
    const waiters = yield* Effect.fork(Effect.forEach(Array.from({ length: count }), () => waiter, { concurrency: "unbounded", discard: true }))
    yield* Effect.sleep(Duration.millis(100))
    yield* Fiber.interrupt(waiters)
    yield* Fiber.join(holders)
  })

/** Every connection of the pool still serves: 4 sleeps of 0.2 s on 2 connections take about 0.4 s. */
const poolServesFully = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const started = Date.now()
  const rows = yield* Effect.forEach(Array.from({ length: 4 }), () => sql`SELECT pg_sleep(0.2), 1 AS one`, { concurrency: 4 }).pipe(
    Effect.timeout(Duration.seconds(5))
  )
  assert.strictEqual(rows.length, 4)
  assert.isBelow(Date.now() - started, 1_500)
})

describe("the pool under interrupted waiters", () => {
  layer(Pool, { timeout: 60_000, excludeTestServices: true })((it) => {
    it.effect("survives thousands of interrupted queries waiting for a connection", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        yield* interruptWaiters(5_000, sql`SELECT 1`)
        yield* poolServesFully
      }))

    it.effect("serves waiters in the order they came, and loses no permit to waiters interrupted just as connections free up", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        // Order: with both connections busy, 6 queries of 0.1 s queued one after another are served two at a time in
        // that order, so they finish in pairs 0.1 s apart: {0, 1}, then {2, 3}, then {4, 5}.
        const order: Array<number> = []
        const holders = yield* holdPool
        yield* Effect.sleep(Duration.millis(100))
        const queued = yield* Effect.fork(Effect.forEach([0, 1, 2, 3, 4, 5], (i) =>
          Effect.zipRight(
            Effect.sleep(Duration.millis(5 * i)),
            Effect.tap(sql`SELECT pg_sleep(0.1), ${i}::int AS i`, () => Effect.sync(() => order.push(i)))
          ), { concurrency: "unbounded", discard: true }))
        yield* Fiber.join(holders)
        yield* Fiber.join(queued)
        assert.deepStrictEqual(order.slice(0, 2).sort(), [0, 1], `finished in the order ${order.join(", ")}`)
        assert.deepStrictEqual(order.slice(2, 4).sort(), [2, 3], `finished in the order ${order.join(", ")}`)
        assert.deepStrictEqual(order.slice(4).sort(), [4, 5], `finished in the order ${order.join(", ")}`)
        // Interrupted in the same turn as the holders finish: some were just handed a permit.
        for (let attempt = 0; attempt < 5; attempt++) {
          const busy = yield* holdPool
          yield* Effect.sleep(Duration.millis(100))
          const waiters = yield* Effect.fork(Effect.forEach(Array.from({ length: 300 }), () => sql`SELECT 1`, { concurrency: "unbounded", discard: true }))
          yield* Fiber.join(busy)
          yield* Fiber.interrupt(waiters)
        }
        yield* poolServesFully
      }))

    it.effect("loses no connection to interrupted transactions waiting for one", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        yield* interruptWaiters(200, sql.withTransaction(sql`SELECT 1`))
        yield* poolServesFully
      }))

    it.effect("loses no connection to interrupted reservations waiting for one", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        yield* interruptWaiters(1_000, Effect.scoped(Effect.flatMap(sql.reserve, (connection) => connection.execute("SELECT 1", [], undefined))))
        yield* poolServesFully
      }))
  })
})
