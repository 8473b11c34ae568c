import { SqlClient } from "@effect/sql"
import { assert, describe, it } from "@effect/vitest"
import { Context, Duration, Effect, Exit, Fiber, Layer, Redacted, Schedule, Scope } from "effect"
import pg from "pg"
import * as EmbeddedPostgres from "../../layers/EmbeddedPostgres.ts"
import { EventBus } from "../../services/EventBus.ts"
import { idsOfOneLength, notify } from "../support/RealtimeData.ts"
import { connectSocket, eventsOf, notificationsOf, realSleep, RealtimeInstance, tokenFor, waitForEvent, waitForNotifications } from "../support/Sockets.ts"
import { BaseUrl, createOrganization, type TestUser } from "../support/TestApp.ts"
import { restartableServerOptions } from "../support/TestDatabase.ts"

const eventually = <A, E>(check: Effect.Effect<A, E>) =>
  check.pipe(Effect.retry(Schedule.spaced(Duration.millis(50)).pipe(Schedule.upTo(Duration.seconds(30)))))

/** The committed notification ids of a user, read with a connection of the test's own (not the instance's pool). */
const committedIds = (url: Redacted.Redacted<string>, userId: string) =>
  Effect.promise(async () => {
    const client = new pg.Client({ connectionString: Redacted.value(url) })
    await client.connect()
    try {
      return (await client.query<{ id: string }>("SELECT id::text AS id FROM notifications WHERE user_id = $1 ORDER BY notifications.id", [userId])).rows.map((row) => row.id)
    } finally {
      await client.end()
    }
  })

/**
 * An instance over an embedded PostgreSQL of its own, three sockets (two of one user), writers that
 * notify both users as fast as the database lets them; PostgreSQL is stopped for ~2 s (the listener's
 * retries spread out meanwhile) and started again, so that some commits happen while the instance's
 * pool is back but its listener is not (their NOTIFY is lost: only the re-sync can deliver them).
 * `writeWhileDown`: the writers keep trying while the database is down (requests keep coming in
 * production), or pause until it is back.
 */
const restartScenario = (writeWhileDown: boolean) =>
  Effect.gen(function* () {
    const options = yield* restartableServerOptions("casecore-realtime-restart-")
    const serverScope = yield* Scope.make()
    const first = yield* EmbeddedPostgres.start(options).pipe(Scope.extend(serverScope))
    const app = yield* Layer.build(RealtimeInstance(first.url))
    const bus = Context.get(app, EventBus)
    const { organizationId, users } = yield* createOrganization("restart", ["VIEWER", "INVESTIGATOR"]).pipe(Effect.provide(app))
    const recipients = [users.VIEWER, users.INVESTIGATOR]
    // Ids of one length: what is tested here is the restart, not the ordering of ids 99 -> 100.
    yield* Effect.provide(idsOfOneLength, app)
    const baseUrl = Context.get(app, BaseUrl)
    const sockets = yield* Effect.forEach([users.VIEWER, users.VIEWER, users.INVESTIGATOR], (user) =>
      Effect.gen(function* () {
        const { socket } = yield* connectSocket(baseUrl, yield* Effect.provide(tokenFor(user), app))
        yield* waitForEvent(socket, "notification:unread_count")
        return { user, socket }
      }))

    let writing = true
    let databaseDown = false
    const missedByListener: Array<string> = []
    const writer = (user: TestUser) =>
      Effect.gen(function* () {
        for (let i = 0; writing; i++) {
          if (databaseDown && !writeWhileDown) {
            yield* realSleep(10)
            continue
          }
          const listening = yield* bus.connected
          // Disconnected: a write stuck in the instance must not hold up the test (it is reported below).
          const exit = yield* notify(organizationId, [user.id], { title: `n${i}` }).pipe(Effect.provide(app), Effect.disconnect, Effect.timeout("2 seconds"), Effect.exit)
          if (Exit.isSuccess(exit) && !listening && !(yield* bus.connected)) missedByListener.push(...exit.value)
          yield* realSleep(Exit.isSuccess(exit) ? 20 : 50)
        }
      })
    const writers = yield* Effect.forEach(recipients, (user) => Effect.fork(writer(user)))
    yield* realSleep(500)

    databaseDown = true
    yield* Scope.close(serverScope, Exit.void)
    yield* eventually(Effect.flatMap(bus.connected, (up) => (up ? Effect.fail("still listening") : Effect.void)))
    yield* realSleep(2_000)
    const restarted = yield* Scope.make()
    yield* Effect.addFinalizer(() => Scope.close(restarted, Exit.void))
    const second = yield* EmbeddedPostgres.start(options).pipe(Scope.extend(restarted))
    databaseDown = false
    yield* eventually(Effect.flatMap(bus.connected, (up) => (up ? Effect.void : Effect.fail("not listening"))))
    yield* realSleep(1_500)
    writing = false
    yield* Effect.forEach(writers, Fiber.join, { discard: true })

    const serving = yield* Effect.flatMap(SqlClient.SqlClient, (sql) => sql`SELECT 1 AS one`).pipe(Effect.provide(app), Effect.timeout("5 seconds"), Effect.exit)
    assert.isTrue(Exit.isSuccess(serving), `the instance answers a statement after the restart: ${Exit.isFailure(serving) ? String(serving.cause).split("\n")[0] : ""}`)

    const expected = new Map<string, ReadonlyArray<string>>()
    for (const user of recipients) expected.set(user.id, yield* committedIds(second.url, user.id))
    for (const { socket, user } of sockets) yield* waitForNotifications(socket, expected.get(user.id)!.length, 15_000).pipe(Effect.ignore)
    yield* realSleep(1_000)
    for (const { socket, user } of sockets) {
      const ids = expected.get(user.id)!
      const got = notificationsOf(socket).map((notification) => notification.id)
      const missing = ids.filter((id) => !got.includes(id))
      const twice = got.filter((id, i) => got.indexOf(id) !== i)
      assert.deepStrictEqual(got, ids, `every committed notification of ${user.role}, once, in order; missing ${missing.join(",")}; twice ${twice.join(",")}; missed by the listener ${missedByListener.join(",")}`)
      assert.deepStrictEqual(eventsOf(socket, "notification:unread_count").at(-1)?.data, { unreadCount: ids.length })
      assert.isUndefined(socket.close)
    }
    assert.isAbove(expected.get(users.VIEWER.id)!.length, 10)
    assert.isAbove(missedByListener.length, 0, "some notifications were committed while the listener was down (their NOTIFY was lost)")
  })

describe("realtime: a database restart", () => {
  it.scopedLive("a PostgreSQL restart in the middle: every socket gets every notification committed before, while the listener was down, and after, exactly once and in order", () =>
    restartScenario(false), { timeout: 120_000 })

  it.scopedLive("writes that fail while PostgreSQL is down do not stop the instance: after the restart every socket still gets every committed notification, once and in order", () =>
    restartScenario(true), { timeout: 120_000 })
})
