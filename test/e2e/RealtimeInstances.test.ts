import { assert, describe, layer } from "@effect/vitest"
import { Context, Effect, Layer, Redacted } from "effect"
import pg from "pg"
import { channel } from "../../src/domain/Events.ts"
import { UserAdmin } from "../../services/UserAdmin.ts"
import { send } from "../support/Http.ts"
import { bulkUsers, postNotification } from "../support/RealtimeData.ts"
import {
  ack,
  connectSocket,
  eventsOf,
  notificationsOf,
  realSleep,
  RealtimeInstance,
  type TestSocket,
  tokenFor,
  waitForDisconnect,
  waitForEvent,
  waitForNotifications
} from "../support/Sockets.ts"
import { BaseUrl, createOrganization, type TestUser, uniqueSlug } from "../support/TestApp.ts"
import { scopedDatabase } from "../support/TestDatabase.ts"

const live = { timeout: 180_000, excludeTestServices: true } as const

type AppContext = Context.Context<Layer.Layer.Success<ReturnType<typeof RealtimeInstance>>>

/** Two instances over one database (the 2,000-socket test needs more than the default 50 sockets per address). */
class Instances extends Context.Tag("test/Instances")<Instances, {
  readonly a: AppContext
  readonly b: AppContext
  readonly databaseUrl: Redacted.Redacted<string>
}>() {}

const InstancesLive = Layer.scoped(
  Instances,
  Effect.gen(function* () {
    const databaseUrl = yield* scopedDatabase()
    const overrides = { WS_MAX_SOCKETS_PER_ADDRESS: "1000" }
    const a = yield* Layer.build(RealtimeInstance(databaseUrl, overrides))
    const b = yield* Layer.build(RealtimeInstance(databaseUrl, overrides))
    return { a, b, databaseUrl }
  })
)

/** Runs on instance A (organizations, tokens and HTTP calls go there unless said otherwise). */
const onA = <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.flatMap(Instances, ({ a }) => Effect.provide(effect, a))
const onB = <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.flatMap(Instances, ({ b }) => Effect.provide(effect, b))

/** A socket of the user on the instance (past its first unread count). */
const connectOn = (instance: "a" | "b", user: Pick<TestUser, "id" | "organizationId" | "role">, sessionId?: string) =>
  Effect.gen(function* () {
    const instances = yield* Instances
    const context = instances[instance]
    const token = yield* Effect.provide(tokenFor(user, sessionId === undefined ? {} : { sessionId }), context)
    const { connected, socket } = yield* connectSocket(Context.get(context, BaseUrl), token)
    yield* waitForEvent(socket, "notification:unread_count")
    return { socket, token, sessionId: connected.sessionId }
  })

/** The socket is closed with the code within `ms` of `started` (performance.now()). */
const assertClosedWithin = (socket: TestSocket, code: string, started: number, ms = 1_000) =>
  Effect.gen(function* () {
    const close = yield* waitForDisconnect(socket, ms + 500)
    const elapsed = performance.now() - started
    assert.deepStrictEqual([close.error?.code, close.code, close.reason], [code, 4401, code])
    assert.isAtMost(elapsed, ms, `closed after ${Math.round(elapsed)} ms`)
  })

const client = { ip: "198.51.100.90", userAgent: "vitest" }

describe("realtime: several instances", () => {
  layer(InstancesLive, live)((it) => {
    it.scoped("two instances deliver each other's notifications and read marks", () =>
      Effect.gen(function* () {
        const { users } = yield* onA(createOrganization(uniqueSlug("twins")))
        const onInstanceA = yield* connectOn("a", users.VIEWER)
        const onInstanceB = yield* connectOn("b", users.VIEWER)
        const [fromA] = yield* onA(postNotification(yield* onA(tokenFor(users.ADMIN)), { userId: users.VIEWER.id, title: "from A", body: "" }))
        const [fromB] = yield* onB(postNotification(yield* onB(tokenFor(users.ADMIN)), { userId: users.VIEWER.id, title: "from B", body: "" }))
        for (const { socket } of [onInstanceA, onInstanceB]) {
          const received = yield* waitForNotifications(socket, 2)
          assert.deepStrictEqual(received.map((notification) => notification.id), [fromA!, fromB!])
        }
        assert.deepStrictEqual(yield* ack(onInstanceB.socket, "mark_read", { ids: [fromA!] }), { unreadCount: 1 })
        const read = yield* waitForEvent(onInstanceA.socket, "notification:read")
        assert.deepStrictEqual(read.data, { ids: [fromA!] })
        yield* realSleep(500)
        for (const { socket } of [onInstanceA, onInstanceB]) assert.strictEqual(notificationsOf(socket).length, 2, "nothing twice")
      }))

    it.scoped("a logout on A closes that session's sockets on B within 1 s (SESSION_REVOKED, 4401); the user's other session stays", () =>
      Effect.gen(function* () {
        const { users } = yield* onA(createOrganization(uniqueSlug("logout"), ["VIEWER"]))
        const revoked = yield* connectOn("b", users.VIEWER)
        const sameSession = yield* connectOn("b", users.VIEWER, revoked.sessionId)
        const otherSession = yield* connectOn("b", users.VIEWER)
        const started = performance.now()
        const logout = yield* onA(send("POST", "/auth/logout", { token: revoked.token }))
        assert.strictEqual(logout.status, 204, logout.text)
        yield* assertClosedWithin(revoked.socket, "SESSION_REVOKED", started)
        yield* assertClosedWithin(sameSession.socket, "SESSION_REVOKED", started)
        yield* realSleep(300)
        assert.isUndefined(otherSession.socket.close)
        assert.property(yield* ack(otherSession.socket, "ping"), "serverTime")
      }))

    it.scoped("deactivating a user on A closes the user's sockets on B within 1 s (USER_INACTIVE, 4401); colleagues stay", () =>
      Effect.gen(function* () {
        const { users } = yield* onA(createOrganization(uniqueSlug("deactivate")))
        const first = yield* connectOn("b", users.VIEWER)
        const second = yield* connectOn("b", users.VIEWER)
        const colleague = yield* connectOn("b", users.INVESTIGATOR)
        const started = performance.now()
        const reply = yield* onA(send("POST", `/auth/users/${users.VIEWER.id}/deactivate`, { token: yield* onA(tokenFor(users.ADMIN)) }))
        assert.strictEqual(reply.status, 204, reply.text)
        yield* assertClosedWithin(first.socket, "USER_INACTIVE", started)
        yield* assertClosedWithin(second.socket, "USER_INACTIVE", started)
        yield* realSleep(300)
        assert.isUndefined(colleague.socket.close)
      }))

    it.scoped("suspending an organization on A closes every socket of it on B within 1 s (USER_INACTIVE, 4401); another organization's stay", () =>
      Effect.gen(function* () {
        const { organizationId, users } = yield* onA(createOrganization(uniqueSlug("suspend")))
        const other = yield* onA(createOrganization(uniqueSlug("unaffected"), ["VIEWER"]))
        const sockets = yield* Effect.all([connectOn("b", users.ADMIN), connectOn("b", users.VIEWER), connectOn("a", users.INVESTIGATOR)])
        const bystander = yield* connectOn("b", other.users.VIEWER)
        const started = performance.now()
        yield* onA(Effect.flatMap(UserAdmin, (admin) => admin.suspendOrganization("operator", organizationId, client)))
        for (const { socket } of sockets) yield* assertClosedWithin(socket, "USER_INACTIVE", started)
        yield* realSleep(300)
        assert.isUndefined(bystander.socket.close)
      }))

    it.scoped("a role changed on A closes the user's sockets on B within 1 s (SESSION_REVOKED, 4401)", () =>
      Effect.gen(function* () {
        const { users } = yield* onA(createOrganization(uniqueSlug("role")))
        const socket = yield* connectOn("b", users.VIEWER)
        const started = performance.now()
        const reply = yield* onA(send("POST", `/auth/users/${users.VIEWER.id}/role`, { token: yield* onA(tokenFor(users.ADMIN)), json: { role: "INVESTIGATOR" } }))
        assert.strictEqual(reply.status, 204, reply.text)
        yield* assertClosedWithin(socket.socket, "SESSION_REVOKED", started)
      }))

    it.scoped("an organization-wide notification to 2,000 users, split over NOTIFYs under 8,000 bytes, reaches each of 200 connected recipients on two instances exactly once", () =>
      Effect.gen(function* () {
        const { databaseUrl } = yield* Instances
        const { organizationId, users } = yield* onA(createOrganization(uniqueSlug("crowd"), ["ADMIN"]))
        const crowd = yield* onA(bulkUsers(organizationId, 1_999))
        const recipients = crowd.slice(0, 200)
        const sockets = yield* Effect.forEach(recipients, (user, i) => connectOn(i % 2 === 0 ? "a" : "b", user), { concurrency: 20 })
        const payloads = yield* listen(databaseUrl)
        const ids = yield* onA(postNotification(yield* onA(tokenFor(users.ADMIN)), { title: "All hands", body: "For everyone" }))
        assert.strictEqual(ids.length, 2_000)
        const received = yield* Effect.forEach(sockets, ({ socket }) => waitForNotifications(socket, 1, 20_000), { concurrency: "unbounded" })
        yield* realSleep(1_500)
        for (const { socket } of sockets) {
          assert.strictEqual(notificationsOf(socket).length, 1, "exactly once")
          assert.deepStrictEqual(eventsOf(socket, "notification:unread_count").at(-1)?.data, { unreadCount: 1 })
        }
        const delivered = received.map(([notification]) => notification!.id)
        assert.strictEqual(new Set(delivered).size, 200, "each recipient got their own notification")
        assert.isTrue(delivered.every((id) => ids.includes(id)))
        const created = payloads.events()
          .map((payload) => ({ bytes: Buffer.byteLength(payload), event: JSON.parse(payload) as { readonly _tag: string; readonly organizationId?: string; readonly items?: ReadonlyArray<readonly [string, string]> } }))
          .filter(({ event }) => event._tag === "notifications.created" && event.organizationId === organizationId)
        assert.isAtLeast(created.length, 2, "the ids were split over several NOTIFYs")
        assert.isTrue(created.every(({ bytes }) => bytes < 8_000), `payload sizes: ${created.map(({ bytes }) => bytes).join(", ")}`)
        const items = created.flatMap(({ event }) => event.items ?? [])
        assert.strictEqual(items.length, 2_000)
        assert.sameMembers(items.map(([, id]) => id), [...ids])
      }), 180_000)
  })
})

/** LISTENs on the events channel for the scope; `events()` is every payload so far. */
const listen = (databaseUrl: Redacted.Redacted<string>) =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const listener = new pg.Client({ connectionString: Redacted.value(databaseUrl) })
      const payloads: Array<string> = []
      listener.on("notification", (message) => payloads.push(message.payload ?? ""))
      listener.on("error", () => undefined)
      await listener.connect()
      await listener.query(`LISTEN ${channel}`)
      return { listener, events: () => [...payloads] }
    }),
    ({ listener }) => Effect.promise(() => listener.end().catch(() => undefined))
  )
