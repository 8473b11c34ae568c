import { assert, describe, layer } from "@effect/vitest"
import { Clock, Effect, TestClock } from "effect"
import {
  ack,
  connectSocket,
  eventsOf,
  openSession,
  openSocket,
  realSleep,
  RealtimeServer,
  tokenFor,
  waitForDisconnect,
  waitForEvent
} from "../support/Sockets.ts"
import { BaseUrl, createOrganization, testStart, uniqueSlug } from "../support/TestApp.ts"

/**
 * The socket deadlines run on one scheduler fiber per instance, on Effect's Clock: this server runs
 * under TestClock (no excludeTestServices), so TestClock.adjust moves them while the sockets' I/O
 * happens in real time (the waits of test/support/Sockets.ts use setTimeout).
 */

/** The clock at testStart, unless an earlier test of the file already moved it further. */
const atTestStart = Effect.gen(function* () {
  if ((yield* Clock.currentTimeMillis) < testStart) yield* TestClock.setTime(testStart)
})

/**
 * Moves TestClock forward in steps of at most 5 s, with a little real time between them: the ping
 * sweep (every 30 s of the clock) needs the client's pong to arrive before the next one.
 */
const advance = (seconds: number) =>
  Effect.gen(function* () {
    for (let left = seconds; left > 0; left -= 5) {
      yield* TestClock.adjust(`${Math.min(5, left)} seconds`)
      yield* realSleep(15)
    }
    yield* realSleep(100)
  })

const expOf = (token: string) => (JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString()) as { readonly exp: number }).exp * 1000

describe("realtime: deadlines and the token lifecycle (TestClock)", () => {
  layer(RealtimeServer(), { timeout: 120_000 })((it) => {
    it.scoped("a socket that sends no connect is closed 4408 AUTH_TIMEOUT 10 s after it opened, not before", () =>
      Effect.gen(function* () {
        yield* atTestStart
        const socket = yield* openSocket(yield* BaseUrl)
        yield* realSleep(50)
        yield* advance(9)
        assert.isUndefined(socket.close, "still open after 9 s")
        yield* advance(1)
        const close = yield* waitForDisconnect(socket)
        assert.deepStrictEqual([close.error?.code, close.code, close.reason], ["AUTH_TIMEOUT", 4408, "AUTH_TIMEOUT"])
      }))

    it.scoped("a socket that connected in time outlives the handshake deadline", () =>
      Effect.gen(function* () {
        yield* atTestStart
        const { users } = yield* createOrganization(uniqueSlug("intime"), ["VIEWER"])
        const { socket } = yield* connectSocket(yield* BaseUrl, yield* tokenFor(users.VIEWER))
        yield* advance(60)
        assert.isUndefined(socket.close)
        assert.property(yield* ack(socket, "ping"), "serverTime")
      }))

    it.scoped("the ping sweep every 30 s terminates a peer that did not answer the previous one; a peer that answers stays", () =>
      Effect.gen(function* () {
        yield* atTestStart
        const { users } = yield* createOrganization(uniqueSlug("sweep"), ["VIEWER"])
        const baseUrl = yield* BaseUrl
        const alive = yield* connectSocket(baseUrl, yield* tokenFor(users.VIEWER))
        const dead = yield* connectSocket(baseUrl, yield* tokenFor(users.VIEWER), { autoPong: false })
        let pings = 0
        dead.socket.ws.on("ping", () => pings++)
        yield* advance(65)
        const close = yield* waitForDisconnect(dead.socket)
        assert.strictEqual(close.code, 1006, "terminated, no close handshake")
        assert.isAtLeast(pings, 1)
        assert.isUndefined(alive.socket.close)
        assert.property(yield* ack(alive.socket, "ping"), "serverTime")
      }))

    it.scoped("auth:refresh-needed comes 60 s before the token expires, with expiresAt and refreshBy (expiry + SOCKET_GRACE_PERIOD)", () =>
      Effect.gen(function* () {
        yield* atTestStart
        const { users } = yield* createOrganization(uniqueSlug("notice"), ["VIEWER"])
        const token = yield* tokenFor(users.VIEWER)
        const exp = expOf(token)
        const { socket } = yield* connectSocket(yield* BaseUrl, token)
        const opened = yield* Clock.currentTimeMillis
        yield* advance((exp - 60_000 - opened) / 1000 - 1)
        assert.deepStrictEqual(eventsOf(socket, "auth:refresh-needed"), [], "nothing a second before")
        yield* advance(1)
        const needed = yield* waitForEvent(socket, "auth:refresh-needed")
        assert.deepStrictEqual(needed.data, { expiresAt: new Date(exp).toISOString(), refreshBy: new Date(exp + 300_000).toISOString() })
        yield* advance(30)
        assert.strictEqual(eventsOf(socket, "auth:refresh-needed").length, 1, "said once")
      }))

    it.scoped("auth:refresh with a new token of the same session: ack { expiresAt }, auth:refreshed, and the deadlines follow the new token", () =>
      Effect.gen(function* () {
        yield* atTestStart
        const { users } = yield* createOrganization(uniqueSlug("newtoken"), ["VIEWER"])
        const sessionId = yield* openSession(users.VIEWER)
        const token = yield* tokenFor(users.VIEWER, { sessionId, expiresIn: 90 })
        const { socket } = yield* connectSocket(yield* BaseUrl, token)
        yield* advance(30)
        yield* waitForEvent(socket, "auth:refresh-needed")
        const next = yield* tokenFor(users.VIEWER, { sessionId })
        const answer = yield* ack(socket, "auth:refresh", { token: next })
        assert.deepStrictEqual(answer, { expiresAt: new Date(expOf(next)).toISOString() })
        assert.deepStrictEqual((yield* waitForEvent(socket, "auth:refreshed")).data, answer)
        // Past the old token's refreshBy (expiry + 300 s) the socket stays open: the new one counts.
        yield* advance(90 + 300 + 10)
        assert.isUndefined(socket.close, "open past the old refreshBy")
        const now = yield* Clock.currentTimeMillis
        yield* advance((expOf(next) - 60_000 - now) / 1000)
        const again = yield* waitForEvent(socket, "auth:refresh-needed")
        assert.deepStrictEqual(again.data, { expiresAt: new Date(expOf(next)).toISOString(), refreshBy: new Date(expOf(next) + 300_000).toISOString() })
      }))

    it.scoped("auth:refresh with {}: ack { accessToken, expiresAt }, a token of the socket's own session minted by the server", () =>
      Effect.gen(function* () {
        yield* atTestStart
        const { users } = yield* createOrganization(uniqueSlug("minted"), ["VIEWER"])
        const token = yield* tokenFor(users.VIEWER, { expiresIn: 90 })
        const { connected, socket } = yield* connectSocket(yield* BaseUrl, token)
        yield* advance(30)
        yield* waitForEvent(socket, "auth:refresh-needed")
        const answer = yield* ack<{ readonly accessToken: string; readonly expiresAt: string }>(socket, "auth:refresh", {})
        const now = yield* Clock.currentTimeMillis
        assert.strictEqual(Date.parse(answer.expiresAt), now + 600_000)
        assert.strictEqual(expOf(answer.accessToken), Date.parse(answer.expiresAt))
        assert.deepStrictEqual((yield* waitForEvent(socket, "auth:refreshed")).data, { expiresAt: answer.expiresAt })
        const other = yield* connectSocket(yield* BaseUrl, answer.accessToken)
        assert.strictEqual(other.connected.sessionId, connected.sessionId)
        assert.strictEqual(other.connected.userId, users.VIEWER.id)
        yield* advance(90 + 300 + 10)
        assert.isUndefined(socket.close, "open past the old refreshBy")
      }))

    it.scoped("a socket that is not refreshed by refreshBy gets error TOKEN_EXPIRED and is closed 4401, not a second before", () =>
      Effect.gen(function* () {
        yield* atTestStart
        const { users } = yield* createOrganization(uniqueSlug("lapsed"), ["VIEWER"])
        const token = yield* tokenFor(users.VIEWER, { expiresIn: 90 })
        const { socket } = yield* connectSocket(yield* BaseUrl, token)
        const opened = yield* Clock.currentTimeMillis
        yield* advance((expOf(token) + 300_000 - opened) / 1000 - 1)
        assert.isUndefined(socket.close, "open a second before refreshBy")
        assert.strictEqual(eventsOf(socket, "auth:refresh-needed").length, 1)
        yield* advance(1)
        const close = yield* waitForDisconnect(socket)
        assert.deepStrictEqual([close.error?.code, close.code, close.reason], ["TOKEN_EXPIRED", 4401, "TOKEN_EXPIRED"])
      }))

    it.scoped("auth:refresh with another user's token: error FORBIDDEN, close 4403", () =>
      Effect.gen(function* () {
        yield* atTestStart
        const { users } = yield* createOrganization(uniqueSlug("other"), ["VIEWER", "INVESTIGATOR"])
        const { socket } = yield* connectSocket(yield* BaseUrl, yield* tokenFor(users.VIEWER))
        socket.send({ event: "auth:refresh", id: "r1", data: { token: yield* tokenFor(users.INVESTIGATOR) } })
        const close = yield* waitForDisconnect(socket)
        assert.deepStrictEqual([close.error?.code, close.error?.id, close.code, close.reason], ["FORBIDDEN", "r1", 4403, "FORBIDDEN"])
      }))

    it.scoped("auth:refresh with a token of another session of the same user: error FORBIDDEN, close 4403", () =>
      Effect.gen(function* () {
        yield* atTestStart
        const { users } = yield* createOrganization(uniqueSlug("session"), ["VIEWER"])
        const { socket } = yield* connectSocket(yield* BaseUrl, yield* tokenFor(users.VIEWER))
        socket.send({ event: "auth:refresh", id: "r2", data: { token: yield* tokenFor(users.VIEWER) } })
        const close = yield* waitForDisconnect(socket)
        assert.deepStrictEqual([close.error?.code, close.error?.id, close.code, close.reason], ["FORBIDDEN", "r2", 4403, "FORBIDDEN"])
      }))
  })
})
