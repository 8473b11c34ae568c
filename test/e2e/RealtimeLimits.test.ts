import { assert, describe, layer } from "@effect/vitest"
import { Effect } from "effect"
import { send } from "../support/Http.ts"
import { closeOf, openRpc, request as rpcRequest } from "../support/RawRpc.ts"
import { idsOfOneLength, notify } from "../support/RealtimeData.ts"
import {
  ack,
  connectSocket,
  errorOf,
  eventsOf,
  notificationsOf,
  openSocket,
  realSleep,
  RealtimeServer,
  request,
  type TestSocket,
  tokenFor,
  waitForDisconnect,
  waitForEvent,
  waitForNotifications
} from "../support/Sockets.ts"
import { BaseUrl, createOrganization, type TestUser, uniqueSlug } from "../support/TestApp.ts"

const live = { timeout: 120_000, excludeTestServices: true } as const

const connectAs = (user: TestUser) =>
  Effect.gen(function* () {
    const { socket } = yield* connectSocket(yield* BaseUrl, yield* tokenFor(user))
    yield* waitForEvent(socket, "notification:unread_count")
    return socket
  })

/** The socket still serves: a ping is answered. */
const assertServes = (socket: TestSocket) =>
  Effect.gen(function* () {
    assert.isUndefined(socket.close, `closed: ${JSON.stringify(socket.close)}`)
    assert.property(yield* ack(socket, "ping"), "serverTime")
  })

/** The instance still serves HTTP and new sockets. */
const assertInstanceServes = (user: TestUser) =>
  Effect.gen(function* () {
    assert.strictEqual((yield* send("GET", "/healthz")).status, 200)
    yield* assertServes(yield* connectAs(user))
  })

/** A sample of this instance's Prometheus metric (0 when absent). */
const metric = (name: string, labels: string) =>
  Effect.map(send("GET", "/metrics"), (reply) => {
    const line = reply.text.split("\n").find((row) => row.startsWith(`${name}{${labels}}`))
    return line === undefined ? 0 : Number(line.split(" ").at(-1))
  })

describe("realtime: malformed frames and limits", () => {
  layer(RealtimeServer(), live)((it) => {
    it.scoped("frames that are not a JSON object with a string event are answered error BAD_REQUEST, and the socket stays open", () =>
      Effect.gen(function* () {
        const { users } = yield* createOrganization(uniqueSlug("garbage"), ["VIEWER"])
        const socket = yield* connectAs(users.VIEWER)
        const frames = ["this is { not json", "[1,2,3]", "\"a string\"", "42", "null", JSON.stringify({ data: {} }), JSON.stringify({ event: 7 }), ""]
        for (const frame of frames) {
          socket.send(frame)
          const error = yield* waitForEvent(socket, "error")
          assert.strictEqual(errorOf(error).code, "BAD_REQUEST", frame)
        }
        yield* assertServes(socket)
      }))

    it.scoped("a binary frame is answered error BAD_REQUEST, and the socket stays open", () =>
      Effect.gen(function* () {
        const { users } = yield* createOrganization(uniqueSlug("binary"), ["VIEWER"])
        const socket = yield* connectAs(users.VIEWER)
        socket.ws.send(Buffer.from(JSON.stringify({ event: "ping", id: 1 })), { binary: true })
        const error = yield* waitForEvent(socket, "error")
        assert.strictEqual(errorOf(error).code, "BAD_REQUEST")
        assert.deepStrictEqual(eventsOf(socket, "ack"), [], "a binary frame is not handled as an event")
        yield* assertServes(socket)
      }))

    it.scoped("an unknown event is answered error UNKNOWN_EVENT with the frame's id, and the socket stays open", () =>
      Effect.gen(function* () {
        const { users } = yield* createOrganization(uniqueSlug("unknown"), ["VIEWER"])
        const socket = yield* connectAs(users.VIEWER)
        const reply = yield* request(socket, "notifications:explode", {})
        assert.strictEqual(reply.event, "error")
        assert.strictEqual(errorOf(reply).code, "UNKNOWN_EVENT")
        socket.send({ event: "chat:send", data: { message: "hello" } })
        const anonymous = yield* waitForEvent(socket, "error")
        assert.deepStrictEqual([anonymous.id, errorOf(anonymous).code], [undefined, "UNKNOWN_EVENT"], "chat:send is /ws/ai's, not this endpoint's")
        yield* assertServes(socket)
      }))

    it.scoped("a known event whose data fails its schema is answered VALIDATION_ERROR naming the field, and the socket stays open", () =>
      Effect.gen(function* () {
        const { users } = yield* createOrganization(uniqueSlug("invalid"), ["VIEWER"])
        const socket = yield* connectAs(users.VIEWER)
        const cases: ReadonlyArray<readonly [string, unknown, string]> = [
          ["mark_read", { ids: [] }, "ids"],
          ["mark_read", { ids: ["not-an-id"] }, "ids"],
          ["mark_read", { ids: Array.from({ length: 101 }, (_, i) => String(i + 1)) }, "ids"],
          ["mark_read", {}, "ids"],
          ["mark_read", "not an object", ""],
          ["subscribe", { room: 5 }, "room"],
          ["auth:refresh", { token: 5 }, "token"]
        ]
        for (const [event, data, field] of cases) {
          const reply = yield* request(socket, event, data)
          assert.strictEqual(reply.event, "error", `${event} ${JSON.stringify(data)}`)
          assert.strictEqual(errorOf(reply).code, "VALIDATION_ERROR", `${event} ${JSON.stringify(data)}`)
          assert.include(errorOf(reply).message, field)
        }
        yield* assertServes(socket)
      }))

    it.scoped("ping is answered with an ack carrying the server's time", () =>
      Effect.gen(function* () {
        const { users } = yield* createOrganization(uniqueSlug("ping"), ["VIEWER"])
        const socket = yield* connectAs(users.VIEWER)
        const reply = yield* request(socket, "ping")
        assert.strictEqual(reply.event, "ack")
        const { serverTime } = reply.data as { readonly serverTime: string }
        assert.isBelow(Math.abs(Date.parse(serverTime) - Date.now()), 5_000)
      }))

    it.scoped("a 65 KiB frame on /ws/notifications closes the socket with 1009, and the instance keeps serving", () =>
      Effect.gen(function* () {
        const { users } = yield* createOrganization(uniqueSlug("big"), ["VIEWER"])
        const socket = yield* connectAs(users.VIEWER)
        socket.send({ event: "get_recent", id: 1, data: { padding: "x".repeat(65 * 1024) } })
        const close = yield* waitForDisconnect(socket)
        assert.strictEqual(close.code, 1009)
        yield* assertInstanceServes(users.VIEWER)
      }))

    it.scoped("a 65 KiB frame before connect closes the socket with 1009 too", () =>
      Effect.gen(function* () {
        const socket = yield* openSocket(yield* BaseUrl)
        socket.send("x".repeat(65 * 1024 + 1))
        assert.strictEqual((yield* waitForDisconnect(socket)).code, 1009)
      }))

    it.scoped("a 65 KiB frame on /rpc closes the socket with 1009, and the instance keeps serving", () =>
      Effect.gen(function* () {
        const { users } = yield* createOrganization(uniqueSlug("bigrpc"), ["VIEWER"])
        const socket = yield* openRpc(yield* BaseUrl, { token: yield* tokenFor(users.VIEWER) })
        socket.send(rpcRequest(1, "Notifications.List", { limit: 1, padding: "x".repeat(65 * 1024) }))
        assert.strictEqual((yield* closeOf(socket)).code, 1009)
        yield* assertInstanceServes(users.VIEWER)
      }))

    it.scoped("100 frames at once (the burst) from a socket that has rested are all served", () =>
      Effect.gen(function* () {
        const { users } = yield* createOrganization(uniqueSlug("burst"), ["VIEWER"])
        const socket = yield* connectAs(users.VIEWER)
        // The connect frame counts too: a moment's rest refills the bucket to its 100.
        yield* realSleep(200)
        for (let i = 0; i < 100; i++) socket.send({ event: "ping", id: `b${i}` })
        yield* realSleep(1_000)
        assert.strictEqual(eventsOf(socket, "ack").length, 100, JSON.stringify(socket.close))
        assert.isUndefined(socket.close)
      }))

    it.scoped("more than 100 frames at once: error RATE_LIMITED, close 4429", () =>
      Effect.gen(function* () {
        const { users } = yield* createOrganization(uniqueSlug("flood"), ["VIEWER"])
        const socket = yield* connectAs(users.VIEWER)
        for (let i = 0; i < 150; i++) socket.send({ event: "ping", id: `f${i}` })
        const close = yield* waitForDisconnect(socket)
        assert.deepStrictEqual([close.error?.code, close.code, close.reason], ["RATE_LIMITED", 4429, "RATE_LIMITED"])
        assert.isBelow(eventsOf(socket, "ack").length, 150, "not every frame was served")
      }))

    it.scoped("40 frames a second for 3 s (more than the burst, under the rate) are served; 200 a second are closed 4429", () =>
      Effect.gen(function* () {
        const { users } = yield* createOrganization(uniqueSlug("rate"), ["VIEWER"])
        const steady = yield* connectAs(users.VIEWER)
        for (let i = 0; i < 120; i++) {
          steady.send({ event: "ping", id: `s${i}` })
          yield* realSleep(25)
        }
        yield* realSleep(300)
        assert.strictEqual(eventsOf(steady, "ack").length, 120)
        assert.isUndefined(steady.close)
        const fast = yield* connectAs(users.VIEWER)
        for (let i = 0; i < 400 && fast.close === undefined; i++) {
          fast.send({ event: "ping", id: `q${i}` })
          if (i % 10 === 9) yield* realSleep(50)
        }
        const close = yield* waitForDisconnect(fast)
        assert.deepStrictEqual([close.error?.code, close.code], ["RATE_LIMITED", 4429])
      }), 60_000)

    it.scoped("a client that stops reading is closed 4503 SLOW_CONSUMER once more than 1 MiB is queued for it, while the others, of the same user too, keep receiving", () =>
      Effect.gen(function* () {
        const { organizationId, users } = yield* createOrganization(uniqueSlug("slow"), ["VIEWER", "INVESTIGATOR"])
        const slow = yield* connectAs(users.VIEWER)
        const reader = yield* connectAs(users.VIEWER)
        const other = yield* connectAs(users.INVESTIGATOR)
        const closesBefore = yield* metric("ws_slow_consumer_closes_total", "endpoint=\"notifications\"")
        // Ids of one length: what is tested here is the slow consumer, not the ordering of ids 999 -> 1000.
        yield* idsOfOneLength
        slow.ws.pause()
        const body = "x".repeat(4_000)
        const sent: Array<string> = []
        // Large notifications until the server gives up on the socket that does not read (the kernel's
        // buffers take some megabytes first).
        for (let round = 0; round < 60; round++) {
          const ids = yield* Effect.forEach(Array.from({ length: 50 }, (_, i) => i), (i) =>
            notify(organizationId, [users.VIEWER.id], { title: `big ${round}.${i}`, body }), { concurrency: 5 })
          sent.push(...ids.flat())
          if ((yield* metric("ws_slow_consumer_closes_total", "endpoint=\"notifications\"")) > closesBefore) break
        }
        assert.isAbove(yield* metric("ws_slow_consumer_closes_total", "endpoint=\"notifications\""), closesBefore, `no slow-consumer close after ${sent.length} notifications`)
        // Read again within the server's 5 s close handshake: what was queued, then the close.
        slow.ws.resume()
        const close = yield* waitForDisconnect(slow, 10_000)
        assert.deepStrictEqual([close.code, close.reason], [4503, "SLOW_CONSUMER"])
        assert.isBelow(notificationsOf(slow).length, sent.length, "the slow socket did not get everything")
        const received = yield* waitForNotifications(reader, sent.length, 30_000)
        assert.sameMembers(received.map((notification) => notification.id), sent)
        assert.isUndefined(reader.close)
        const [after] = yield* notify(organizationId, [users.INVESTIGATOR.id], { title: "still here" })
        assert.strictEqual((yield* waitForNotifications(other, 1))[0]!.id, after)
        yield* assertServes(other)
      }), 120_000)
  })
})
