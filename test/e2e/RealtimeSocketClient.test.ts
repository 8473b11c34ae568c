import { assert, describe, layer } from "@effect/vitest"
import { Context, Effect, Exit, Layer, Option, Queue, Scope } from "effect"
import type * as Net from "node:net"
import { type WebSocket, WebSocketServer } from "ws"
import { makeNode } from "../../src/client/NodeNotificationSocket.ts"
import { reconnectDelay, type SocketEvent, staticToken, type TokenProvider } from "../../src/client/NotificationSocket.ts"
import type { OrganizationId } from "../../src/domain/Ids.ts"
import { idsOfOneLength, notify } from "../support/RealtimeData.ts"
import { openSession, realSleep, RealtimeInstance, RealtimeServer, tokenFor } from "../support/Sockets.ts"
import { tcpProxy } from "../support/TcpProxy.ts"
import { BaseUrl, createOrganization, type TestUser, uniqueSlug } from "../support/TestApp.ts"
import { scopedDatabase } from "../support/TestDatabase.ts"

const live = { timeout: 120_000, excludeTestServices: true } as const

const socketUrl = (baseUrl: string) => `${baseUrl.replace(/^http/, "ws")}/ws/notifications`

/** Takes events until one matches (the others are dropped), or fails after `timeoutMs`. */
const nextEvent = <T extends SocketEvent["_tag"]>(events: Queue.Dequeue<SocketEvent>, tag: T, timeoutMs = 5_000) =>
  Effect.gen(function* () {
    for (;;) {
      const event = yield* Queue.take(events)
      if (event._tag === tag) return event as Extract<SocketEvent, { readonly _tag: T }>
    }
  }).pipe(Effect.timeoutFail({ duration: timeoutMs, onTimeout: () => new Error(`no ${tag} event within ${timeoutMs} ms`) }))

/** Every event taken within `ms` (real time). */
const drain = (events: Queue.Dequeue<SocketEvent>, ms: number) =>
  Effect.zipRight(realSleep(ms), Effect.map(Queue.takeAll(events), (chunk) => [...chunk]))

/** A client of `baseUrl` with its event queue (subscribed before it connects). */
const clientOf = (baseUrl: string, tokens: TokenProvider, options: { readonly requestTimeout?: number; readonly initialDelay?: number; readonly maxDelay?: number } = {}) =>
  Effect.gen(function* () {
    const client = yield* makeNode({
      url: socketUrl(baseUrl),
      tokens,
      reconnect: { initialDelay: options.initialDelay ?? 100, maxDelay: options.maxDelay ?? 1_000 },
      ...(options.requestTimeout === undefined ? {} : { requestTimeout: options.requestTimeout })
    })
    const events = yield* client.subscribeEvents
    return { client, events }
  })

/** A stand-in server: `onConnection` gets each socket and the time it opened. */
const fakeServer = (onConnection: (ws: WebSocket, openedAt: number) => void) =>
  Effect.acquireRelease(
    Effect.async<WebSocketServer>((resume) => {
      const server: WebSocketServer = new WebSocketServer({ port: 0, host: "127.0.0.1" }, () => resume(Effect.succeed(server)))
      server.on("connection", (ws) => onConnection(ws, performance.now()))
    }),
    (server) => Effect.async<void>((resume) => {
      for (const client of server.clients) client.terminate()
      server.close(() => resume(Effect.void))
    })
  ).pipe(Effect.map((server) => `http://127.0.0.1:${(server.address() as Net.AddressInfo).port}`))

const connectedFrame = JSON.stringify({
  event: "connected",
  data: { connectionId: "c", userId: "u", organizationId: "o", sessionId: "s", expiresAt: new Date(Date.now() + 600_000).toISOString(), rooms: [] }
})

const expOf = (token: string) => (JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString()) as { readonly exp: number }).exp * 1000

describe("realtime: the socket client", () => {
  layer(RealtimeServer(), live)((it) => {
    const newUser = Effect.suspend(() => createOrganization(uniqueSlug("client"), ["VIEWER"])).pipe(
      Effect.map(({ organizationId, users }) => ({ organizationId, user: users.VIEWER }))
    )

    it.scoped("connects with the provider's token, streams notifications and unread counts, and answers get_recent, mark_read and ping with their acks", () =>
      Effect.gen(function* () {
        const { organizationId, user } = yield* newUser
        const { client, events } = yield* clientOf(yield* BaseUrl, staticToken(yield* tokenFor(user)))
        const connected = yield* client.connected
        assert.strictEqual(connected.userId, user.id)
        assert.strictEqual((yield* nextEvent(events, "Connected")).connected.connectionId, connected.connectionId)
        assert.strictEqual((yield* nextEvent(events, "UnreadCount")).unreadCount, 0)
        const [id] = yield* notify(organizationId, [user.id], { title: "hello", body: "from the server" })
        const received = yield* nextEvent(events, "Notification")
        assert.deepStrictEqual([received.notification.id, received.notification.title, received.notification.body], [id!, "hello", "from the server"])
        assert.strictEqual((yield* nextEvent(events, "UnreadCount")).unreadCount, 1)
        assert.deepStrictEqual(yield* client.lastNotificationId, Option.some(id!))
        const page = yield* client.getRecent({ limit: 5 })
        assert.deepStrictEqual(page.notifications.map((notification) => notification.id), [id!])
        assert.deepStrictEqual(yield* client.markRead([id!]), { unreadCount: 0 })
        assert.deepStrictEqual((yield* nextEvent(events, "Read")).ids, [id!])
        assert.isString((yield* client.ping).serverTime)
      }))

    it.scoped("a refused request fails with SocketError Refused and the catalog's code; the connection stays up", () =>
      Effect.gen(function* () {
        const { user } = yield* newUser
        const { client } = yield* clientOf(yield* BaseUrl, staticToken(yield* tokenFor(user)))
        yield* client.connected
        const invalid = yield* Effect.flip(client.subscribe("lobby"))
        assert.deepStrictEqual([invalid._tag, invalid.reason, invalid.code], ["SocketError", "Refused", "VALIDATION_ERROR"])
        const unknown = yield* Effect.flip(client.subscribe("case:00000000-0000-4000-8000-000000000000"))
        assert.deepStrictEqual([unknown.reason, unknown.code], ["Refused", "NOT_FOUND"])
        const event = yield* Effect.flip(client.request("no_such_event"))
        assert.deepStrictEqual([event.reason, event.code], ["Refused", "UNKNOWN_EVENT"])
        assert.isString((yield* client.ping).serverTime)
      }))

    it.scoped("a request the server does not answer fails with SocketError Timeout", () =>
      Effect.gen(function* () {
        const baseUrl = yield* fakeServer((ws) => ws.once("message", () => ws.send(connectedFrame)))
        const { client } = yield* clientOf(baseUrl, staticToken("any"), { requestTimeout: 300 })
        yield* client.connected
        const started = performance.now()
        const error = yield* Effect.flip(client.ping)
        assert.strictEqual(error.reason, "Timeout")
        assert.isAtLeast(performance.now() - started, 250)
      }))

    it.scoped("reconnects with jittered exponential backoff: each delay within [cap/2, cap], the cap doubling up to maxDelay", () =>
      Effect.gen(function* () {
        const opened: Array<number> = []
        const baseUrl = yield* fakeServer((ws, at) => {
          opened.push(at)
          ws.close(1011, "try again")
        })
        yield* clientOf(baseUrl, staticToken("any"), { initialDelay: 100, maxDelay: 800 })
        yield* realSleep(3_500)
        const gaps = opened.slice(1).map((at, i) => at - opened[i]!)
        assert.isAtLeast(gaps.length, 5, `attempts at ${opened.map(Math.round).join(", ")}`)
        const caps = [100, 200, 400, 800, 800, 800, 800, 800]
        gaps.slice(0, 6).forEach((gap, i) => {
          assert.isAtLeast(gap, caps[i]! / 2, `gap ${i}: ${gap}`)
          // The close handshake and the new connection add a few milliseconds to the delay.
          assert.isAtMost(gap, caps[i]! + 80, `gap ${i}: ${gap}`)
        })
        assert.strictEqual(reconnectDelay(0, 100, 800, 0), 50)
        assert.strictEqual(reconnectDelay(0, 100, 800, 1), 100)
        assert.strictEqual(reconnectDelay(3, 100, 800, 0.5), 600)
        assert.strictEqual(reconnectDelay(40, 100, 800, 1), 800)
      }))

    it.scoped("does not reconnect after a close 4401 INVALID_TOKEN: connected fails with the code", () =>
      Effect.gen(function* () {
        const proxy = yield* tcpProxy(yield* BaseUrl)
        const { client, events } = yield* clientOf(proxy.baseUrl, staticToken("not.a.token"))
        const failure = yield* Effect.flip(client.connected)
        assert.deepStrictEqual([failure.reason, failure.code], ["Closed", "INVALID_TOKEN"])
        const disconnected = yield* nextEvent(events, "Disconnected")
        assert.deepStrictEqual([disconnected.code, disconnected.reason, disconnected.reconnecting], [4401, "INVALID_TOKEN", false])
        yield* realSleep(1_500)
        assert.strictEqual(proxy.accepted(), 1, "one connection only")
      }))

    it.scoped("does not reconnect after a close 4401 UNAUTHORIZED", () =>
      Effect.gen(function* () {
        let connections = 0
        const baseUrl = yield* fakeServer((ws) => {
          connections++
          ws.once("message", () => {
            ws.send(JSON.stringify({ event: "error", data: { code: "UNAUTHORIZED", message: "no token" } }))
            ws.close(4401, "UNAUTHORIZED")
          })
        })
        const { client, events } = yield* clientOf(baseUrl, staticToken("any"))
        assert.strictEqual((yield* Effect.flip(client.connected)).code, "UNAUTHORIZED")
        assert.deepStrictEqual((yield* nextEvent(events, "ServerError")).code, "UNAUTHORIZED")
        assert.isFalse((yield* nextEvent(events, "Disconnected")).reconnecting)
        yield* realSleep(1_000)
        assert.strictEqual(connections, 1)
      }))

    it.scoped("after a network drop it reconnects and resumes: what was created meanwhile arrives once, in order, and connected says recovered", () =>
      Effect.gen(function* () {
        const { organizationId, user } = yield* newUser
        // Ids of one length: what is tested here is the client, not the server's ordering of ids 9 -> 10.
        yield* idsOfOneLength
        const proxy = yield* tcpProxy(yield* BaseUrl)
        const { client, events } = yield* clientOf(proxy.baseUrl, staticToken(yield* tokenFor(user)))
        yield* client.connected
        const [seen] = yield* notify(organizationId, [user.id], { title: "seen" })
        assert.strictEqual((yield* nextEvent(events, "Notification")).notification.id, seen)
        proxy.setRefusing(true)
        proxy.dropAll()
        const dropped = yield* nextEvent(events, "Disconnected")
        assert.isTrue(dropped.reconnecting)
        const missed = yield* Effect.forEach([1, 2, 3], (i) => notify(organizationId, [user.id], { title: `missed ${i}` })).pipe(Effect.map((ids) => ids.flat()))
        yield* realSleep(300)
        proxy.setRefusing(false)
        const again = yield* nextEvent(events, "Connected")
        assert.isTrue(again.connected.recovered)
        const after = yield* drain(events, 800)
        const replayed = after.flatMap((event) => (event._tag === "Notification" ? [event.notification.id] : []))
        assert.deepStrictEqual(replayed, missed)
        assert.deepStrictEqual(yield* client.lastNotificationId, Option.some(missed.at(-1)!))
        assert.isAbove(proxy.accepted(), 2, "it kept trying while refused")
      }))

    it.scoped("after its instance is stopped (1001 SERVER_SHUTDOWN) it reconnects to the replacement and resumes from the last notification seen", () =>
      Effect.gen(function* () {
        const url = yield* scopedDatabase()
        const firstScope = yield* Scope.make()
        const first = yield* Layer.buildWithScope(RealtimeInstance(url), firstScope)
        const { organizationId, users } = yield* createOrganization(uniqueSlug("moving"), ["VIEWER"]).pipe(Effect.provide(first))
        const user: TestUser = users.VIEWER
        const proxy = yield* tcpProxy(Context.get(first, BaseUrl))
        const { client, events } = yield* clientOf(proxy.baseUrl, staticToken(yield* Effect.provide(tokenFor(user), first)))
        yield* client.connected
        const [seen] = yield* notify(organizationId, [user.id], { title: "before" }).pipe(Effect.provide(first))
        assert.strictEqual((yield* nextEvent(events, "Notification")).notification.id, seen)
        yield* Scope.close(firstScope, Exit.void)
        const stopped = yield* nextEvent(events, "Disconnected")
        assert.deepStrictEqual([stopped.code, stopped.reason, stopped.reconnecting], [1001, "SERVER_SHUTDOWN", true])
        const second = yield* Layer.build(RealtimeInstance(url))
        const meanwhile = yield* notify(organizationId as OrganizationId, [user.id], { title: "while moving" }).pipe(Effect.provide(second))
        proxy.setTarget(Context.get(second, BaseUrl))
        const again = yield* nextEvent(events, "Connected", 10_000)
        assert.isTrue(again.connected.recovered)
        assert.deepStrictEqual((yield* nextEvent(events, "Notification")).notification.id, meanwhile[0])
        const [live] = yield* notify(organizationId, [user.id], { title: "after" }).pipe(Effect.provide(second))
        assert.strictEqual((yield* nextEvent(events, "Notification")).notification.id, live)
      }))

    it.scoped("answers auth:refresh-needed with { token } when the provider has a new one", () =>
      Effect.gen(function* () {
        const { user } = yield* newUser
        const sessionId = yield* openSession(user)
        const next = yield* tokenFor(user, { sessionId })
        const short = yield* tokenFor(user, { sessionId, expiresIn: 30 })
        let asked = 0
        const tokens: TokenProvider = {
          token: Effect.succeed(short),
          refresh: Effect.sync(() => {
            asked++
            return Option.some(next)
          })
        }
        const { client, events } = yield* clientOf(yield* BaseUrl, tokens)
        yield* client.connected
        const needed = yield* nextEvent(events, "RefreshNeeded")
        const refreshed = yield* nextEvent(events, "TokenRefreshed")
        assert.isBelow(Date.parse(needed.expiresAt), Date.parse(refreshed.expiresAt))
        assert.strictEqual(refreshed.expiresAt, new Date(expOf(next)).toISOString())
        assert.strictEqual(asked, 1)
      }))

    it.scoped("answers auth:refresh-needed with {} when the provider has none, and connects again with the token the server minted", () =>
      Effect.gen(function* () {
        const { user } = yield* newUser
        const sessionId = yield* openSession(user)
        const short = yield* tokenFor(user, { sessionId, expiresIn: 30 })
        let handedOut = 0
        // Only the first connect may use the provider's token: a later one would be refused (INVALID_TOKEN, final).
        const tokens: TokenProvider = {
          token: Effect.sync(() => (handedOut++ === 0 ? short : "not.a.token")),
          refresh: Effect.succeedNone
        }
        const proxy = yield* tcpProxy(yield* BaseUrl)
        const { client, events } = yield* clientOf(proxy.baseUrl, tokens)
        const first = yield* client.connected
        const refreshed = yield* nextEvent(events, "TokenRefreshed")
        assert.isAbove(Date.parse(refreshed.expiresAt), Date.now() + 500_000)
        yield* realSleep(100)
        proxy.dropAll()
        assert.isTrue((yield* nextEvent(events, "Disconnected")).reconnecting)
        const second = yield* nextEvent(events, "Connected", 10_000)
        assert.strictEqual(second.connected.sessionId, first.sessionId)
        assert.strictEqual(second.connected.expiresAt, refreshed.expiresAt)
        assert.strictEqual(handedOut, 1, "the provider was asked once")
      }))

    it.scoped("close(): the socket closes, no reconnect follows, and requests fail with Closed", () =>
      Effect.gen(function* () {
        const { user } = yield* newUser
        const proxy = yield* tcpProxy(yield* BaseUrl)
        const { client } = yield* clientOf(proxy.baseUrl, staticToken(yield* tokenFor(user)))
        yield* client.connected
        yield* client.close
        assert.strictEqual((yield* Effect.flip(client.ping)).reason, "Closed")
        yield* realSleep(800)
        assert.strictEqual(proxy.accepted(), 1)
      }))
  })
})
