import { assert, describe, layer } from "@effect/vitest"
import { Effect } from "effect"
import { send } from "../support/Http.ts"
import { notify } from "../support/RealtimeData.ts"
import {
  ack,
  connectSocket,
  errorOf,
  foreignKey,
  openSession,
  openSocket,
  realSleep,
  RealtimeServer,
  tokenFor,
  type TestSocket,
  upgrade,
  waitForConnect,
  waitForDisconnect,
  waitForEvent
} from "../support/Sockets.ts"
import { BaseUrl, createOrganization, uniqueSlug } from "../support/TestApp.ts"

const live = { timeout: 120_000, excludeTestServices: true } as const

/** A socket that sends `connect` with this data (the token elsewhere, or nowhere). */
const connectWith = (socket: TestSocket, data: unknown) => socket.send({ event: "connect", data })

/** Asserts the handshake was refused with `code`: its error frame, then the close with `closeCode` and the code as reason. */
const assertRefused = (socket: TestSocket, code: string, closeCode: number) =>
  Effect.gen(function* () {
    const close = yield* waitForDisconnect(socket)
    assert.strictEqual(close.error?.code, code, JSON.stringify(socket.frames))
    assert.strictEqual(close.code, closeCode)
    assert.strictEqual(close.reason, code)
    assert.isUndefined(socket.frames.find((frame) => frame.event === "connected"), "no connected frame before a refusal")
  })

describe("realtime: the handshake", () => {
  layer(RealtimeServer({ WS_ALLOWED_ORIGINS: "https://app.example" }), live)((it) => {
    it.scoped("connect with the token in its auth object: connected with the caller's identity, rooms and expiry, then the unread count", () =>
      Effect.gen(function* () {
        const { organizationId, users } = yield* createOrganization(uniqueSlug("hello"), ["VIEWER"])
        const sessionId = yield* openSession(users.VIEWER)
        const token = yield* tokenFor(users.VIEWER, { sessionId })
        const exp = JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString()) as { readonly exp: number }
        const { connected, socket } = yield* connectSocket(yield* BaseUrl, token)
        assert.strictEqual(connected.userId, users.VIEWER.id)
        assert.strictEqual(connected.organizationId, organizationId)
        assert.strictEqual(connected.sessionId, sessionId)
        assert.strictEqual(connected.expiresAt, new Date(exp.exp * 1000).toISOString())
        assert.match(connected.connectionId, /\S/)
        assert.deepStrictEqual([...connected.rooms].sort(), [`org:${organizationId}`, `user:${users.VIEWER.id}`].sort())
        const count = yield* waitForEvent(socket, "notification:unread_count")
        assert.deepStrictEqual(count.data, { unreadCount: 0 })
        assert.strictEqual(socket.frames.indexOf(count), 1, "the unread count follows connected")
      }))

    it.scoped("the token may come from the Authorization header of the upgrade request instead", () =>
      Effect.gen(function* () {
        const { users } = yield* createOrganization(uniqueSlug("header"), ["VIEWER"])
        const { connected } = yield* connectSocket(yield* BaseUrl, yield* tokenFor(users.VIEWER), { via: "header" })
        assert.strictEqual(connected.userId, users.VIEWER.id)
      }))

    it.scoped("the token may come from ?token= instead", () =>
      Effect.gen(function* () {
        const { users } = yield* createOrganization(uniqueSlug("query"), ["VIEWER"])
        const { connected } = yield* connectSocket(yield* BaseUrl, yield* tokenFor(users.VIEWER), { via: "query" })
        assert.strictEqual(connected.userId, users.VIEWER.id)
      }))

    it.scoped("the auth object's token wins over the header's and the query's; the header's wins over the query's", () =>
      Effect.gen(function* () {
        const { users } = yield* createOrganization(uniqueSlug("priority"))
        const baseUrl = yield* BaseUrl
        const [admin, investigator, viewer] = yield* Effect.all([tokenFor(users.ADMIN), tokenFor(users.INVESTIGATOR), tokenFor(users.VIEWER)])
        const all = yield* openSocket(baseUrl, { bearer: investigator, queryToken: viewer })
        connectWith(all, { auth: { token: admin! } })
        assert.strictEqual((yield* waitForConnect(all)).userId, users.ADMIN.id)
        const headerAndQuery = yield* openSocket(baseUrl, { bearer: investigator, queryToken: viewer })
        connectWith(headerAndQuery, {})
        assert.strictEqual((yield* waitForConnect(headerAndQuery)).userId, users.INVESTIGATOR.id)
      }))

    it.scoped("the first token present is the one used: an invalid one in the auth object is refused though the header's is valid, and so is an invalid header before a valid query", () =>
      Effect.gen(function* () {
        const { users } = yield* createOrganization(uniqueSlug("first"), ["VIEWER"])
        const baseUrl = yield* BaseUrl
        const token = yield* tokenFor(users.VIEWER)
        const auth = yield* openSocket(baseUrl, { bearer: token, queryToken: token })
        connectWith(auth, { auth: { token: "not.a.token" } })
        yield* assertRefused(auth, "INVALID_TOKEN", 4401)
        const header = yield* openSocket(baseUrl, { bearer: "not.a.token", queryToken: token })
        connectWith(header, {})
        yield* assertRefused(header, "INVALID_TOKEN", 4401)
      }))

    it.scoped("no token anywhere: error UNAUTHORIZED, close 4401", () =>
      Effect.gen(function* () {
        const socket = yield* openSocket(yield* BaseUrl)
        connectWith(socket, {})
        yield* assertRefused(socket, "UNAUTHORIZED", 4401)
      }))

    it.scoped("a malformed token: error INVALID_TOKEN, close 4401", () =>
      Effect.gen(function* () {
        const baseUrl = yield* BaseUrl
        for (const token of ["garbage", "a.b.c", "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.AAAA", "Bearer"]) {
          const socket = yield* openSocket(baseUrl)
          connectWith(socket, { auth: { token } })
          const close = yield* waitForDisconnect(socket)
          assert.deepStrictEqual([close.error?.code, close.code, close.reason], ["INVALID_TOKEN", 4401, "INVALID_TOKEN"], token)
        }
      }))

    it.scoped("a token signed with another key under the server's kid: error INVALID_TOKEN, close 4401", () =>
      Effect.gen(function* () {
        const { users } = yield* createOrganization(uniqueSlug("forged"), ["VIEWER"])
        const token = yield* tokenFor(users.VIEWER, { key: yield* foreignKey })
        const socket = yield* openSocket(yield* BaseUrl)
        connectWith(socket, { auth: { token } })
        yield* assertRefused(socket, "INVALID_TOKEN", 4401)
      }))

    it.scoped("a token with a wrong iss, aud, typ or alg, an unknown kid, or a missing sid, sub or exp: error INVALID_TOKEN, close 4401", () =>
      Effect.gen(function* () {
        const { users } = yield* createOrganization(uniqueSlug("claims"), ["VIEWER"])
        const baseUrl = yield* BaseUrl
        const variants = [
          { claims: { iss: "someone-else" } },
          { claims: { aud: "another-api" } },
          { header: { typ: "JWT" } },
          { header: { kid: "no-such-key" } },
          { claims: { sid: undefined } },
          { claims: { sub: undefined } },
          { claims: { exp: undefined } }
        ]
        for (const variant of variants) {
          const socket = yield* openSocket(baseUrl)
          connectWith(socket, { auth: { token: yield* tokenFor(users.VIEWER, variant) } })
          const close = yield* waitForDisconnect(socket)
          assert.deepStrictEqual([close.error?.code, close.code, close.reason], ["INVALID_TOKEN", 4401, "INVALID_TOKEN"], JSON.stringify(variant))
        }
      }))

    it.scoped("a token that expired less than the grace period ago is accepted, auth:refresh-needed follows at once, and auth:refresh {} mints a new token", () =>
      Effect.gen(function* () {
        const { users } = yield* createOrganization(uniqueSlug("grace"), ["VIEWER"])
        const token = yield* tokenFor(users.VIEWER, { expiresIn: -120 })
        const exp = (JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString()) as { readonly exp: number }).exp * 1000
        const { connected, socket } = yield* connectSocket(yield* BaseUrl, token)
        assert.strictEqual(connected.expiresAt, new Date(exp).toISOString())
        const needed = yield* waitForEvent(socket, "auth:refresh-needed")
        assert.deepStrictEqual(needed.data, { expiresAt: new Date(exp).toISOString(), refreshBy: new Date(exp + 300_000).toISOString() })
        const renewed = yield* ack<{ readonly accessToken: string; readonly expiresAt: string }>(socket, "auth:refresh", {})
        assert.isAbove(Date.parse(renewed.expiresAt), Date.now() + 500_000)
        const refreshed = yield* waitForEvent(socket, "auth:refreshed")
        assert.deepStrictEqual(refreshed.data, { expiresAt: renewed.expiresAt })
        const again = yield* connectSocket(yield* BaseUrl, renewed.accessToken)
        assert.strictEqual(again.connected.sessionId, connected.sessionId)
      }))

    it.scoped("a token that expires within 60 s, or expired within the grace period: connected comes first, then exactly one auth:refresh-needed", () =>
      Effect.gen(function* () {
        const { users } = yield* createOrganization(uniqueSlug("order"), ["VIEWER"])
        for (const expiresIn of [30, -120]) {
          const { socket } = yield* connectSocket(yield* BaseUrl, yield* tokenFor(users.VIEWER, { expiresIn }))
          yield* waitForEvent(socket, "auth:refresh-needed")
          yield* realSleep(300)
          const events = socket.frames.map((frame) => frame.event)
          assert.deepStrictEqual(events, ["connected", "notification:unread_count", "auth:refresh-needed"], `token expiring in ${expiresIn} s`)
        }
      }))

    it.scoped("a token that expired more than the grace period ago: error TOKEN_EXPIRED, close 4401", () =>
      Effect.gen(function* () {
        const { users } = yield* createOrganization(uniqueSlug("stale"), ["VIEWER"])
        const socket = yield* openSocket(yield* BaseUrl)
        connectWith(socket, { auth: { token: yield* tokenFor(users.VIEWER, { expiresIn: -301 - 10 }) } })
        yield* assertRefused(socket, "TOKEN_EXPIRED", 4401)
      }))

    it.scoped("a token of a session that was logged out: error SESSION_REVOKED, close 4401", () =>
      Effect.gen(function* () {
        const { users } = yield* createOrganization(uniqueSlug("revoked"), ["VIEWER"])
        const token = yield* tokenFor(users.VIEWER)
        const logout = yield* send("POST", "/auth/logout", { token })
        assert.strictEqual(logout.status, 204, logout.text)
        const socket = yield* openSocket(yield* BaseUrl)
        connectWith(socket, { auth: { token } })
        yield* assertRefused(socket, "SESSION_REVOKED", 4401)
      }))

    it.scoped("any event before connect: error UNAUTHORIZED, close 4401", () =>
      Effect.gen(function* () {
        const { users } = yield* createOrganization(uniqueSlug("early"), ["VIEWER"])
        const socket = yield* openSocket(yield* BaseUrl, { bearer: yield* tokenFor(users.VIEWER) })
        socket.send({ event: "get_recent", id: 1, data: {} })
        yield* assertRefused(socket, "UNAUTHORIZED", 4401)
      }))

    it.scoped("a second connect: error ALREADY_CONNECTED, close 4429", () =>
      Effect.gen(function* () {
        const { users } = yield* createOrganization(uniqueSlug("twice"), ["VIEWER"])
        const token = yield* tokenFor(users.VIEWER)
        const { socket } = yield* connectSocket(yield* BaseUrl, token)
        connectWith(socket, { auth: { token } })
        const close = yield* waitForDisconnect(socket)
        assert.deepStrictEqual([close.error?.code, close.code, close.reason], ["ALREADY_CONNECTED", 4429, "ALREADY_CONNECTED"])
      }))

    it.scoped("a connect whose data fails its schema: error VALIDATION_ERROR naming the field, close 4400", () =>
      Effect.gen(function* () {
        const socket = yield* openSocket(yield* BaseUrl)
        connectWith(socket, { auth: { token: 42 } })
        const close = yield* waitForDisconnect(socket)
        assert.deepStrictEqual([close.error?.code, close.code], ["VALIDATION_ERROR", 4400])
        assert.include(close.error?.message, "auth.token")
      }))

    it.scoped("the unread count at connect is the user's: unread notifications only, not another user's", () =>
      Effect.gen(function* () {
        const { organizationId, users } = yield* createOrganization(uniqueSlug("count"), ["VIEWER", "INVESTIGATOR"])
        yield* notify(organizationId, [users.VIEWER.id], { title: "one" })
        yield* notify(organizationId, [users.VIEWER.id], { title: "two" })
        const [third] = yield* notify(organizationId, [users.VIEWER.id], { title: "three" })
        yield* notify(organizationId, [users.INVESTIGATOR.id], { title: "someone else's" })
        const token = yield* tokenFor(users.VIEWER)
        const first = yield* connectSocket(yield* BaseUrl, token)
        assert.deepStrictEqual((yield* waitForEvent(first.socket, "notification:unread_count")).data, { unreadCount: 3 })
        assert.deepStrictEqual(yield* ack(first.socket, "mark_read", { ids: [third!] }), { unreadCount: 2 })
        const second = yield* connectSocket(yield* BaseUrl, token)
        assert.deepStrictEqual((yield* waitForEvent(second.socket, "notification:unread_count")).data, { unreadCount: 2 })
      }))

    it.scoped("an Origin outside WS_ALLOWED_ORIGINS is refused 403 before the upgrade on /ws/notifications, /ws/ai and /rpc; an allowed Origin and none are accepted", () =>
      Effect.gen(function* () {
        const baseUrl = yield* BaseUrl
        for (const path of ["/ws/notifications", "/ws/ai", "/rpc"]) {
          const refused = yield* upgrade(baseUrl, { path, origin: "https://evil.example" })
          assert.strictEqual(refused._tag, "Refused", path)
          if (refused._tag === "Refused") {
            assert.strictEqual(refused.status, 403, path)
            assert.strictEqual((JSON.parse(refused.body) as { readonly code: string }).code, "FORBIDDEN")
          }
          assert.strictEqual((yield* upgrade(baseUrl, { path, origin: "https://app.example" }))._tag, "Open", path)
          assert.strictEqual((yield* upgrade(baseUrl, { path }))._tag, "Open", path)
        }
      }))

    it.scoped("an unknown WebSocket path is refused 404 before the upgrade", () =>
      Effect.gen(function* () {
        const baseUrl = yield* BaseUrl
        for (const path of ["/ws/nothing", "/ws", "/socket.io/", "/ws/notifications/extra"]) {
          const refused = yield* upgrade(baseUrl, { path })
          assert.strictEqual(refused._tag, "Refused", path)
          if (refused._tag === "Refused") {
            assert.strictEqual(refused.status, 404, path)
            assert.strictEqual((JSON.parse(refused.body) as { readonly code: string }).code, "NOT_FOUND")
          }
        }
      }))

    it.scoped("a refused connect that carried an id gets its error reply with the same id, whatever the code", () =>
      Effect.gen(function* () {
        const { users } = yield* createOrganization(uniqueSlug("ids"), ["VIEWER"])
        const baseUrl = yield* BaseUrl
        const cases = [
          { id: "no-token", data: {} },
          { id: "malformed", data: { auth: { token: "garbage" } } },
          { id: "expired", data: { auth: { token: yield* tokenFor(users.VIEWER, { expiresIn: -400 }) } } },
          { id: "invalid-data", data: { auth: { token: 42 } } }
        ]
        const replies: Array<readonly [string, string | number | undefined, string]> = []
        for (const { data, id } of cases) {
          const socket = yield* openSocket(baseUrl)
          socket.send({ event: "connect", id, data })
          const error = yield* waitForEvent(socket, "error")
          replies.push([id, error.id, errorOf(error).code])
        }
        assert.deepStrictEqual(replies, [
          ["no-token", "no-token", "UNAUTHORIZED"],
          ["malformed", "malformed", "INVALID_TOKEN"],
          ["expired", "expired", "TOKEN_EXPIRED"],
          ["invalid-data", "invalid-data", "VALIDATION_ERROR"]
        ])
      }))
  })
})
