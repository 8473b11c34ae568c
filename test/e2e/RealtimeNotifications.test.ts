import { SqlClient } from "@effect/sql"
import { assert, describe, layer } from "@effect/vitest"
import { Context, Deferred, Effect, Fiber, Layer, Option, Stream } from "effect"
import { ApiClient, layerHttp } from "../../src/client/ApiClient.ts"
import { layerWebSocketNode } from "../../src/client/NodeApiClient.ts"
import type { Notification } from "../../src/domain/Notification.ts"
import { Hub } from "../../services/Hub.ts"
import { send } from "../support/Http.ts"
import { createCase, createInvestigation, idsCrossingDigits, notify, postNotification } from "../support/RealtimeData.ts"
import {
  ack,
  connectSocket,
  errorOf,
  eventsOf,
  notificationsOf,
  realSleep,
  RealtimeServer,
  request,
  type TestSocket,
  tokenFor,
  waitForEvent,
  waitForFrame,
  waitForNotifications
} from "../support/Sockets.ts"
import { BaseUrl, createOrganization, type TestUser, uniqueSlug } from "../support/TestApp.ts"

const live = { timeout: 120_000, excludeTestServices: true } as const

/** How long "nothing arrives" is watched for: far above a delivery here (a few ms). */
const quietMs = 600

const connectAs = (user: TestUser, options: { readonly resume?: string } = {}) =>
  Effect.gen(function* () {
    const { connected, socket } = yield* connectSocket(yield* BaseUrl, yield* tokenFor(user), options)
    yield* waitForEvent(socket, "notification:unread_count")
    return { connected, socket }
  })

const idsOf = (notifications: ReadonlyArray<Notification>) => notifications.map((notification) => notification.id)

const unreadCounts = (socket: TestSocket) => eventsOf(socket, "notification:unread_count").map((frame) => (frame.data as { readonly unreadCount: number }).unreadCount)

/** Notifications to one user, one transaction each, in order; their ids. */
const notifyMany = (user: TestUser, count: number, title = "n") =>
  Effect.forEach(Array.from({ length: count }, (_, i) => i), (i) => notify(user.organizationId, [user.id], { title: `${title} ${i}` })).pipe(
    Effect.map((ids) => ids.flat())
  )

describe("realtime: /ws/notifications", () => {
  layer(RealtimeServer(), live)((it) => {
    it.scoped("a notification reaches every connection of its user, with its unread count, and nobody else", () =>
      Effect.gen(function* () {
        const { users } = yield* createOrganization(uniqueSlug("fanout"))
        const elsewhere = yield* createOrganization(uniqueSlug("elsewhere"), ["VIEWER"])
        const first = yield* connectAs(users.VIEWER)
        const second = yield* connectAs(users.VIEWER)
        const bystanders = yield* Effect.all([connectAs(users.INVESTIGATOR), connectAs(users.ADMIN), connectAs(elsewhere.users.VIEWER)])
        const [id] = yield* postNotification(yield* tokenFor(users.ADMIN), { userId: users.VIEWER.id, title: "Case assigned", body: "Case C-1 is yours", type: "CASE_ASSIGNED" })
        assert.match(id!, /^[1-9][0-9]*$/)
        for (const { socket } of [first, second]) {
          const [notification] = yield* waitForNotifications(socket, 1)
          assert.deepStrictEqual({ ...notification!, createdAt: "" }, {
            id: id!,
            type: "CASE_ASSIGNED",
            title: "Case assigned",
            body: "Case C-1 is yours",
            createdAt: "",
            readAt: null
          })
          assert.isFalse(Number.isNaN(Date.parse(notification!.createdAt)))
          const count = yield* waitForEvent(socket, "notification:unread_count")
          assert.deepStrictEqual(count.data, { unreadCount: 1 })
        }
        yield* realSleep(quietMs)
        for (const { socket } of bystanders) assert.deepStrictEqual(eventsOf(socket, "notification:new"), [])
        for (const { socket } of [first, second]) assert.strictEqual(notificationsOf(socket).length, 1, "exactly once per connection")
      }))

    it.scoped("an organization-wide notification reaches each user of the organization once, and no one of another", () =>
      Effect.gen(function* () {
        const { users } = yield* createOrganization(uniqueSlug("orgwide"))
        const elsewhere = yield* createOrganization(uniqueSlug("elsewhere"), ["ADMIN"])
        const members = yield* Effect.all([connectAs(users.ADMIN), connectAs(users.INVESTIGATOR), connectAs(users.VIEWER)])
        const outsider = yield* connectAs(elsewhere.users.ADMIN)
        const ids = yield* postNotification(yield* tokenFor(users.ADMIN), { title: "Maintenance", body: "Tonight" })
        assert.strictEqual(ids.length, 3)
        const received = yield* Effect.forEach(members, ({ socket }) => waitForNotifications(socket, 1))
        assert.sameMembers(received.map(([notification]) => notification!.id), [...ids])
        yield* realSleep(quietMs)
        for (const { socket } of members) assert.strictEqual(notificationsOf(socket).length, 1)
        assert.deepStrictEqual(eventsOf(outsider.socket, "notification:new"), [])
      }))

    it.scoped("a delivered notification is counted in ws_deliveries_total and its lag, from the database's clock at the write, observed in ws_delivery_lag_seconds", () =>
      Effect.gen(function* () {
        const { users } = yield* createOrganization(uniqueSlug("lag"), ["ADMIN", "VIEWER"])
        const { socket } = yield* connectAs(users.VIEWER)
        const sample = (name: string) =>
          Effect.map(send("GET", "/metrics"), (reply) => Number(reply.text.split("\n").find((row) => row.startsWith(`${name} `))?.split(" ")[1] ?? "0"))
        const before = { deliveries: yield* sample("ws_deliveries_total"), count: yield* sample("ws_delivery_lag_seconds_count"), sum: yield* sample("ws_delivery_lag_seconds_sum") }
        yield* postNotification(yield* tokenFor(users.ADMIN), { userId: users.VIEWER.id, title: "Lag", body: "measured" })
        yield* waitForNotifications(socket, 1)
        yield* waitForEvent(socket, "notification:unread_count")
        assert.isAtLeast((yield* sample("ws_deliveries_total")) - before.deliveries, 2, "notification:new and its unread count")
        assert.strictEqual((yield* sample("ws_delivery_lag_seconds_count")) - before.count, 1)
        const lag = (yield* sample("ws_delivery_lag_seconds_sum")) - before.sum
        assert.isTrue(Number.isFinite(lag) && lag >= 0 && lag < 5, `lag ${lag} s`)
      }))

    it.scoped("mark_read on one connection: its ack carries the unread count, and every other connection of the user gets notification:read and the new count", () =>
      Effect.gen(function* () {
        const { users } = yield* createOrganization(uniqueSlug("markread"), ["VIEWER", "INVESTIGATOR"])
        const ids = yield* notifyMany(users.VIEWER, 3)
        const reader = yield* connectAs(users.VIEWER)
        const watcher = yield* connectAs(users.VIEWER)
        const bystander = yield* connectAs(users.INVESTIGATOR)
        assert.deepStrictEqual(yield* ack(reader.socket, "mark_read", { ids: [ids[0]!, ids[1]!] }), { unreadCount: 1 })
        const read = yield* waitForEvent(watcher.socket, "notification:read")
        assert.sameMembers([...(read.data as { readonly ids: ReadonlyArray<string> }).ids], [ids[0]!, ids[1]!])
        const count = yield* waitForEvent(watcher.socket, "notification:unread_count")
        assert.deepStrictEqual(count.data, { unreadCount: 1 })
        assert.deepStrictEqual(yield* ack(watcher.socket, "mark_all_read", {}), { unreadCount: 0 })
        const all = yield* waitForFrame(reader.socket, (frame) => frame.event === "notification:read" && (frame.data as { readonly all?: boolean }).all === true, "notification:read all")
        assert.deepStrictEqual(all.data, { all: true })
        yield* waitForFrame(reader.socket, (frame) => frame.event === "notification:unread_count" && (frame.data as { readonly unreadCount: number }).unreadCount === 0, "count 0")
        yield* realSleep(quietMs)
        assert.deepStrictEqual(eventsOf(bystander.socket, "notification:read"), [])
        const page = yield* ack<{ readonly notifications: ReadonlyArray<Notification> }>(reader.socket, "get_recent", {})
        assert.isTrue(page.notifications.every((notification) => notification.readAt !== null))
      }))

    it.scoped("mark_read ignores ids of other users: nothing of theirs is marked, and the answer reveals nothing of them", () =>
      Effect.gen(function* () {
        const { users } = yield* createOrganization(uniqueSlug("others"), ["VIEWER", "INVESTIGATOR"])
        const [theirs] = yield* notifyMany(users.INVESTIGATOR, 1)
        const [mine] = yield* notifyMany(users.VIEWER, 1)
        const viewer = yield* connectAs(users.VIEWER)
        const investigator = yield* connectAs(users.INVESTIGATOR)
        assert.deepStrictEqual(yield* ack(viewer.socket, "mark_read", { ids: [theirs!] }), { unreadCount: 1 })
        assert.deepStrictEqual(yield* ack(viewer.socket, "mark_read", { ids: [theirs!, mine!] }), { unreadCount: 0 })
        yield* realSleep(quietMs)
        assert.deepStrictEqual(eventsOf(investigator.socket, "notification:read"), [])
        const page = yield* ack<{ readonly notifications: ReadonlyArray<Notification>; readonly unreadCount: number }>(investigator.socket, "get_recent", {})
        assert.strictEqual(page.unreadCount, 1)
        assert.isNull(page.notifications[0]!.readAt)
      }))

    it.scoped("get_recent pages newest first with a keyset cursor: 20 by default, then until nextCursor is null", () =>
      Effect.gen(function* () {
        const { users } = yield* createOrganization(uniqueSlug("paging"), ["VIEWER"])
        const boundary = yield* idsCrossingDigits(12)
        const ids = yield* notifyMany(users.VIEWER, 25)
        assert.include(ids, boundary, "the page spans ids of two lengths")
        const newestFirst = [...ids].reverse()
        const { socket } = yield* connectAs(users.VIEWER)
        type Page = { readonly notifications: ReadonlyArray<Notification>; readonly unreadCount: number; readonly nextCursor: string | null }
        const first = yield* ack<Page>(socket, "get_recent", {})
        assert.deepStrictEqual(idsOf(first.notifications), newestFirst.slice(0, 20))
        assert.strictEqual(first.unreadCount, 25)
        assert.isString(first.nextCursor)
        const last = yield* ack<Page>(socket, "get_recent", { before: first.nextCursor })
        assert.deepStrictEqual(idsOf(last.notifications), newestFirst.slice(20))
        assert.isNull(last.nextCursor)
        const pages: Array<string> = []
        let cursor: string | null | undefined
        do {
          const page: Page = yield* ack<Page>(socket, "get_recent", cursor === undefined ? { limit: 10 } : { limit: 10, before: cursor })
          assert.isAtMost(page.notifications.length, 10)
          pages.push(...idsOf(page.notifications))
          cursor = page.nextCursor
        } while (cursor !== null)
        assert.deepStrictEqual(pages, newestFirst)
        const exact = yield* ack<Page>(socket, "get_recent", { limit: 25 })
        assert.strictEqual(exact.notifications.length, 25)
        assert.isNull(exact.nextCursor, "no next page when the last one is full")
      }))

    it.scoped("get_recent with a limit out of 1..100 or a cursor that is not an id: VALIDATION_ERROR naming the field; the socket stays open", () =>
      Effect.gen(function* () {
        const { users } = yield* createOrganization(uniqueSlug("badpage"), ["VIEWER"])
        const { socket } = yield* connectAs(users.VIEWER)
        for (const [data, field] of [[{ limit: 0 }, "limit"], [{ limit: 101 }, "limit"], [{ limit: 2.5 }, "limit"], [{ before: "abc" }, "before"], [{ before: 12 }, "before"]] as const) {
          const reply = yield* request(socket, "get_recent", data)
          assert.strictEqual(reply.event, "error", JSON.stringify(data))
          assert.strictEqual(errorOf(reply).code, "VALIDATION_ERROR")
          assert.include(errorOf(reply).message, field)
        }
        assert.isUndefined(socket.close)
        assert.property(yield* ack(socket, "get_recent", { limit: 1 }), "notifications")
      }))

    it.scoped("resume: the missed notifications are replayed oldest first before live ones, and connected says recovered: true", () =>
      Effect.gen(function* () {
        const { users } = yield* createOrganization(uniqueSlug("resume"), ["VIEWER"])
        const first = yield* connectAs(users.VIEWER)
        const boundary = yield* idsCrossingDigits(3)
        const seen = yield* notifyMany(users.VIEWER, 2, "seen")
        yield* waitForNotifications(first.socket, 2)
        first.socket.ws.terminate()
        const missed = yield* notifyMany(users.VIEWER, 3, "missed")
        assert.include(missed, boundary, "the replayed ids span two lengths")
        const { connected, socket } = yield* connectSocket(yield* BaseUrl, yield* tokenFor(users.VIEWER), { resume: seen[1]! })
        assert.isTrue(connected.recovered)
        const replayed = yield* waitForNotifications(socket, 3)
        assert.deepStrictEqual(idsOf(replayed), missed)
        const [next] = yield* notifyMany(users.VIEWER, 1, "live")
        const all = yield* waitForNotifications(socket, 4)
        assert.deepStrictEqual(idsOf(all), [...missed, next!])
        const order = socket.frames.map((frame) => frame.event)
        assert.deepStrictEqual(order.slice(0, 2), ["connected", "notification:unread_count"])
        yield* realSleep(quietMs)
        assert.strictEqual(notificationsOf(socket).length, 4, "nothing twice")
      }))

    it.scoped("resume with nothing missed: recovered: true and no replay", () =>
      Effect.gen(function* () {
        const { users } = yield* createOrganization(uniqueSlug("uptodate"), ["VIEWER"])
        const last = (yield* notifyMany(users.VIEWER, 2)).at(-1)!
        const { connected, socket } = yield* connectSocket(yield* BaseUrl, yield* tokenFor(users.VIEWER), { resume: last })
        assert.isTrue(connected.recovered)
        yield* realSleep(quietMs)
        assert.deepStrictEqual(notificationsOf(socket), [])
      }))

    it.scoped("resume after more than 100 missed: the 100 oldest after the id are replayed and connected says recovered: false", () =>
      Effect.gen(function* () {
        const { users } = yield* createOrganization(uniqueSlug("toomany"), ["VIEWER"])
        const boundary = yield* idsCrossingDigits(60)
        const [before] = yield* notifyMany(users.VIEWER, 1, "before")
        const missed = yield* notifyMany(users.VIEWER, 130, "missed")
        assert.include(missed, boundary, "the missed ids span two lengths")
        const { connected, socket } = yield* connectSocket(yield* BaseUrl, yield* tokenFor(users.VIEWER), { resume: before! })
        assert.isFalse(connected.recovered)
        const replayed = yield* waitForNotifications(socket, 100)
        assert.deepStrictEqual(idsOf(replayed), missed.slice(0, 100))
        yield* realSleep(quietMs)
        assert.strictEqual(notificationsOf(socket).length, 100)
        const reload = yield* ack<{ readonly notifications: ReadonlyArray<Notification> }>(socket, "get_recent", { limit: 100 })
        assert.deepStrictEqual(idsOf(reload.notifications), [...missed].reverse().slice(0, 100))
      }))

    it.scoped("a user's ids follow commit order: a second write waits on the first's lock, so resume replays both, and live delivery sends them in order", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const { organizationId, users } = yield* createOrganization(uniqueSlug("order"), ["VIEWER", "INVESTIGATOR"])
        const [baseline] = yield* notifyMany(users.VIEWER, 1, "baseline")
        const watcher = yield* connectAs(users.VIEWER)
        const firstId = yield* Deferred.make<string>()
        const release = yield* Deferred.make<void>()
        const first = yield* sql.withTransaction(Effect.gen(function* () {
          const [id] = yield* notify(organizationId, [users.VIEWER.id], { title: "first, committed late" })
          yield* Deferred.succeed(firstId, id!)
          yield* Deferred.await(release)
          return id!
        })).pipe(Effect.fork)
        const a = yield* Deferred.await(firstId)
        const second = yield* notify(organizationId, [users.VIEWER.id], { title: "second" }).pipe(Effect.fork)
        const waiting = yield* Effect.repeat(
          Effect.zipLeft(
            sql<{ readonly n: number }>`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query ILIKE '%INSERT INTO notifications%'`,
            realSleep(20)
          ),
          { until: ([row]) => row!.n > 0, times: 250 }
        )
        assert.strictEqual(waiting[0]!.n, 1, "the second insert waits on the user row the first one locked")
        // Meanwhile a notification of another user takes an id above the first's and commits.
        const [other] = yield* notify(organizationId, [users.INVESTIGATOR.id], { title: "someone else's" })
        assert.isTrue(BigInt(other!) > BigInt(a))
        assert.isNull(second.unsafePoll(), "the second write has not committed")
        assert.deepStrictEqual(notificationsOf(watcher.socket), [])
        yield* Deferred.succeed(release, undefined)
        assert.strictEqual(yield* Fiber.join(first), a)
        const [b] = yield* Fiber.join(second)
        assert.isTrue(BigInt(b!) > BigInt(other!), "the second write got its id after the first committed")
        assert.deepStrictEqual(idsOf(yield* waitForNotifications(watcher.socket, 2)), [a, b!])
        const resumed = yield* connectSocket(yield* BaseUrl, yield* tokenFor(users.VIEWER), { resume: baseline! })
        assert.isTrue(resumed.connected.recovered)
        assert.deepStrictEqual(idsOf(yield* waitForNotifications(resumed.socket, 2)), [a, b!])
      }))

    it.scoped("notifications to one user committed together are all delivered live, in id order, even when their ids cross a digit boundary (999 -> 1000)", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const { organizationId, users } = yield* createOrganization(uniqueSlug("together"), ["VIEWER"])
        const watcher = yield* connectAs(users.VIEWER)
        const boundary = yield* idsCrossingDigits(2)
        const ids = yield* sql.withTransaction(
          Effect.forEach([1, 2, 3, 4], (i) => notify(organizationId, [users.VIEWER.id], { title: `together ${i}` }))
        ).pipe(Effect.map((lists) => lists.flat()))
        assert.include(ids, boundary)
        const received = yield* waitForNotifications(watcher.socket, 4, 3_000).pipe(Effect.either)
        yield* realSleep(quietMs)
        assert.deepStrictEqual(idsOf(notificationsOf(watcher.socket)), ids, received._tag === "Left" ? received.left.message : "")
      }))

    it.scoped("activity published with Hub.publishActivity reaches the sockets subscribed to the room, not the others; unsubscribe stops it", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const hub = yield* Hub
        const { organizationId, users } = yield* createOrganization(uniqueSlug("activity"), ["ADMIN", "VIEWER"])
        const caseId = yield* createCase(organizationId, users.ADMIN.id)
        const investigationId = yield* createInvestigation(organizationId, caseId)
        const subscriber = yield* connectAs(users.VIEWER)
        const bystander = yield* connectAs(users.ADMIN)
        assert.deepStrictEqual(yield* ack(subscriber.socket, "subscribe", { room: `case:${caseId}` }), { room: `case:${caseId}` })
        assert.deepStrictEqual(yield* ack(subscriber.socket, "subscribe", { room: `investigation:${investigationId}` }), { room: `investigation:${investigationId}` })
        const activity = (room: string, entityType: string, entityId: string, kind: string) => ({
          room,
          entityType,
          entityId,
          kind,
          actorId: users.ADMIN.id,
          at: new Date().toISOString()
        })
        const onCase = activity(`case:${caseId}`, "case", caseId, "note_added")
        yield* sql.withTransaction(hub.publishActivity({ organizationId, ...onCase }))
        assert.deepStrictEqual((yield* waitForEvent(subscriber.socket, "activity")).data, onCase)
        const onInvestigation = activity(`investigation:${investigationId}`, "investigation", investigationId, "assigned")
        yield* sql.withTransaction(hub.publishActivity({ organizationId, ...onInvestigation }))
        assert.deepStrictEqual((yield* waitForEvent(subscriber.socket, "activity")).data, onInvestigation)
        assert.deepStrictEqual(yield* ack(subscriber.socket, "unsubscribe", { room: `case:${caseId}` }), { room: `case:${caseId}` })
        yield* sql.withTransaction(hub.publishActivity({ organizationId, ...activity(`case:${caseId}`, "case", caseId, "status_changed") }))
        yield* realSleep(quietMs)
        assert.strictEqual(eventsOf(subscriber.socket, "activity").length, 2, "nothing after unsubscribe")
        assert.deepStrictEqual(eventsOf(bystander.socket, "activity"), [])
      }))

    it.scoped("subscribe: VALIDATION_ERROR for a room that is not case:<id> or investigation:<id>, NOT_FOUND for an unknown case; the socket stays open", () =>
      Effect.gen(function* () {
        const { users } = yield* createOrganization(uniqueSlug("rooms"), ["VIEWER"])
        const { socket } = yield* connectAs(users.VIEWER)
        for (const room of [`user:${users.VIEWER.id}`, `org:${users.VIEWER.organizationId}`, "case:42", "lobby"]) {
          const reply = yield* request(socket, "subscribe", { room })
          assert.deepStrictEqual([reply.event, errorOf(reply).code], ["error", "VALIDATION_ERROR"], room)
        }
        const unknown = yield* request(socket, "subscribe", { room: "case:00000000-0000-4000-8000-000000000000" })
        assert.deepStrictEqual([unknown.event, errorOf(unknown).code], ["error", "NOT_FOUND"])
        assert.isUndefined(socket.close)
      }))

    it.scoped("organization A never receives B's notifications or activity, cannot subscribe to B's case or investigation (NOT_FOUND), and cannot read or mark B's notifications", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const hub = yield* Hub
        const a = yield* createOrganization(uniqueSlug("tenant-a"), ["ADMIN"])
        const b = yield* createOrganization(uniqueSlug("tenant-b"), ["ADMIN", "VIEWER"])
        const bCase = yield* createCase(b.organizationId, b.users.ADMIN.id)
        const bInvestigation = yield* createInvestigation(b.organizationId, bCase)
        const socketA = yield* connectAs(a.users.ADMIN)
        const socketB = yield* connectAs(b.users.VIEWER)
        for (const room of [`case:${bCase}`, `investigation:${bInvestigation}`]) {
          const reply = yield* request(socketA.socket, "subscribe", { room })
          assert.deepStrictEqual([reply.event, errorOf(reply).code], ["error", "NOT_FOUND"], room)
        }
        assert.deepStrictEqual(yield* ack(socketB.socket, "subscribe", { room: `case:${bCase}` }), { room: `case:${bCase}` })
        const ids = yield* postNotification(yield* tokenFor(b.users.ADMIN), { title: "B only", body: "for B" })
        const event = { room: `case:${bCase}`, entityType: "case", entityId: bCase, kind: "note_added", actorId: b.users.ADMIN.id, at: new Date().toISOString() }
        yield* sql.withTransaction(hub.publishActivity({ organizationId: b.organizationId, ...event }))
        yield* waitForNotifications(socketB.socket, 1)
        yield* waitForEvent(socketB.socket, "activity")
        const bViewerId = notificationsOf(socketB.socket)[0]!.id
        assert.include(ids, bViewerId)
        // A marks B's notification: nothing of B's changes, and A's answer is A's own count.
        assert.deepStrictEqual(yield* ack(socketA.socket, "mark_read", { ids: [bViewerId] }), { unreadCount: 0 })
        yield* realSleep(quietMs)
        assert.deepStrictEqual(socketA.socket.frames.filter((frame) => ["notification:new", "activity", "notification:read"].includes(frame.event)), [])
        assert.deepStrictEqual(unreadCounts(socketA.socket), [0])
        const pageA = yield* ack<{ readonly notifications: ReadonlyArray<Notification> }>(socketA.socket, "get_recent", {})
        assert.deepStrictEqual(pageA.notifications, [])
        const pageB = yield* ack<{ readonly notifications: ReadonlyArray<Notification>; readonly unreadCount: number }>(socketB.socket, "get_recent", {})
        assert.strictEqual(pageB.unreadCount, 1)
        assert.isNull(pageB.notifications[0]!.readAt)
      }))

    const streamsANewNotification = <E>(client: (baseUrl: string) => Layer.Layer<ApiClient, E>) =>
      Effect.gen(function* () {
        const { organizationId, users } = yield* createOrganization(uniqueSlug("stream"), ["VIEWER"])
        const token = yield* tokenFor(users.VIEWER)
        const far = new Date(Date.now() + 3600_000).toISOString()
        const api = Context.get(yield* Layer.build(client(yield* BaseUrl)), ApiClient)
        yield* api.setTokens(Option.some({
          accessToken: token,
          refreshToken: "unused",
          expiresAt: far,
          refreshExpiresAt: far,
          user: { id: users.VIEWER.id, organizationId, role: "VIEWER", displayName: "viewer" }
        }))
        const first = yield* api.rpc.Notifications.Stream().pipe(Stream.take(1), Stream.runCollect, Effect.fork)
        // The stream is live once the server runs its handler: notify until one arrives.
        const sent: Array<string> = []
        for (let i = 0; i < 50 && first.unsafePoll() === null; i++) {
          sent.push(...(yield* notify(organizationId, [users.VIEWER.id], { title: `streamed ${i}`, body: "over RPC" })))
          yield* realSleep(100)
        }
        const [notification] = yield* Fiber.join(first)
        assert.isDefined(notification)
        assert.include(sent, notification!.id)
        assert.strictEqual(notification!.body, "over RPC")
        assert.isNull(notification!.readAt)
      })

    it.scoped("Notifications.Stream over RPC (POST /rpc, ndjson) yields a new notification of the caller", () =>
      streamsANewNotification((baseUrl) => layerHttp({ baseUrl })))

    it.scoped("Notifications.Stream over RPC (/rpc WebSocket) yields a new notification of the caller", () =>
      streamsANewNotification((baseUrl) => layerWebSocketNode({ baseUrl })))
  })
})
