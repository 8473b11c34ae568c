import { Data, Deferred, Duration, Effect, Exit, Fiber, FiberId, Option, PubSub, type Queue, Random, Runtime, Schema, type Scope, Stream } from "effect"
import { ActivityData } from "../domain/Events.ts"
import { Notification, NotificationPage } from "../domain/Notification.ts"

/**
 * The part of the WebSocket API the client uses; the browser's `WebSocket` and the `ws` package's both
 * have it (src/client/NodeNotificationSocket.ts gives Node the latter). Text frames arrive as strings.
 */
export interface WebSocketLike {
  addEventListener(type: "open" | "error", listener: () => void): void
  addEventListener(type: "message", listener: (event: { readonly data: unknown }) => void): void
  addEventListener(type: "close", listener: (event: { readonly code: number; readonly reason: string }) => void): void
  send(data: string): void
  close(code?: number, reason?: string): void
}

/** Opens a socket, e.g. `(url) => new WebSocket(url)` in a browser. */
export type WebSocketConstructor = (url: string) => WebSocketLike

/** Where the access tokens come from (the application's login and HTTP/RPC refresh). */
export interface TokenProvider {
  /** The token `connect` sends; asked before every connect and reconnect (unless the socket holds a newer one). */
  readonly token: Effect.Effect<string, unknown>
  /** On `auth:refresh-needed`: a new token is sent as `{ token }`; none sends `{}` and the server mints one for the socket's session. */
  readonly refresh: Effect.Effect<Option.Option<string>, unknown>
}

/** One token for the connects; refreshes are left to the server (`{}`). */
export const staticToken = (token: string): TokenProvider => ({ token: Effect.succeed(token), refresh: Effect.succeedNone })

export interface NotificationSocketOptions {
  /** `ws(s)://host/ws/notifications` */
  readonly url: string
  readonly WebSocket: WebSocketConstructor
  readonly tokens: TokenProvider
  /** The newest notification id already seen: the first connect resumes after it. */
  readonly lastNotificationId?: string
  /** How long a request (and the handshake) may wait for its answer; default 10 s. */
  readonly requestTimeout?: Duration.DurationInput
  /** Reconnect backoff (jittered, doubling from `initialDelay` up to `maxDelay`); `false`: never reconnect. */
  readonly reconnect?: { readonly initialDelay?: Duration.DurationInput; readonly maxDelay?: Duration.DurationInput } | false
  /** Called with every event, beside the stream. */
  readonly onEvent?: (event: SocketEvent) => void
}

/** The data of `connected` (PROTOCOL: Handshake). */
export const Connected = Schema.Struct({
  connectionId: Schema.String,
  userId: Schema.String,
  organizationId: Schema.String,
  sessionId: Schema.String,
  expiresAt: Schema.String,
  rooms: Schema.Array(Schema.String),
  recovered: Schema.optional(Schema.Boolean)
})
export type Connected = typeof Connected.Type

/** The data of `activity`: a change to a subscribed case or investigation. */
export const Activity = ActivityData
export type Activity = typeof Activity.Type

/** What the client reports: server events, and the socket's own ups and downs. */
export type SocketEvent =
  | { readonly _tag: "Connected"; readonly connected: Connected }
  | { readonly _tag: "Disconnected"; readonly code: number; readonly reason: string; readonly reconnecting: boolean }
  | { readonly _tag: "Notification"; readonly notification: Notification }
  | { readonly _tag: "UnreadCount"; readonly unreadCount: number }
  | { readonly _tag: "Read"; readonly ids: ReadonlyArray<string> | "all" }
  | { readonly _tag: "Activity"; readonly activity: Activity }
  | { readonly _tag: "RefreshNeeded"; readonly expiresAt: string; readonly refreshBy: string }
  | { readonly _tag: "TokenRefreshed"; readonly expiresAt: string }
  | { readonly _tag: "ServerError"; readonly code: string; readonly message: string }

/**
 * A request that did not succeed. Refused: the server answered `error` (`code` from the catalog);
 * Timeout: no answer in time; Closed: the socket closed first, or the client stopped; Invalid: the
 * answer broke the protocol.
 */
export class SocketError extends Data.TaggedError("SocketError")<{
  readonly reason: "Refused" | "Timeout" | "Closed" | "Invalid"
  readonly code?: string
  readonly message: string
}> {}

export interface NotificationSocket {
  /** Every event from the moment the stream is run. */
  readonly events: Stream.Stream<SocketEvent>
  /** A subscription that starts at once: nothing after this call is missed. */
  readonly subscribeEvents: Effect.Effect<Queue.Dequeue<SocketEvent>, never, Scope.Scope>
  /** The current connection's `connected`, once its handshake is done; fails once the client has stopped for good. */
  readonly connected: Effect.Effect<Connected, SocketError>
  /** A client event with an id, answered by `ack` (its data) or `error`. */
  readonly request: (event: string, data?: object) => Effect.Effect<unknown, SocketError>
  readonly getRecent: (page?: { readonly limit?: number; readonly before?: string }) => Effect.Effect<NotificationPage, SocketError>
  readonly markRead: (ids: ReadonlyArray<string>) => Effect.Effect<{ readonly unreadCount: number }, SocketError>
  readonly markAllRead: Effect.Effect<{ readonly unreadCount: number }, SocketError>
  /** Join `case:<id>` or `investigation:<id>`. */
  readonly subscribe: (room: string) => Effect.Effect<{ readonly room: string }, SocketError>
  readonly unsubscribe: (room: string) => Effect.Effect<{ readonly room: string }, SocketError>
  readonly ping: Effect.Effect<{ readonly serverTime: string }, SocketError>
  /** The newest notification id seen (or, before any, the newest at the first connect): where the next connect resumes. */
  readonly lastNotificationId: Effect.Effect<Option.Option<string>>
  /** Closes the socket; no reconnect follows. */
  readonly close: Effect.Effect<void>
}

/**
 * The delay before reconnect attempt `attempt` (0-based): half of min(maxMs, initialMs * 2^attempt),
 * plus a random part of up to the other half ("equal jitter": clients that lost one server spread out).
 */
export const reconnectDelay = (attempt: number, initialMs: number, maxMs: number, random: number) => {
  const cap = Math.min(maxMs, initialMs * 2 ** Math.min(attempt, 30))
  return cap / 2 + (cap / 2) * random
}

/** Closes after which reconnecting cannot help: the token is no good, or the client itself is wrong. */
const isFinal = (code: number, reason: string) => (code === 4401 && (reason === "INVALID_TOKEN" || reason === "UNAUTHORIZED")) || code === 4400

/** Auth closes (4401, 4403): the token the socket held is spent; the next connect asks the provider. */
const isAuthClose = (code: number) => code === 4401 || code === 4403

const Envelope = Schema.Struct({ event: Schema.String, id: Schema.optional(Schema.Union(Schema.String, Schema.Number)), data: Schema.optional(Schema.Unknown) })
const ServerErrorData = Schema.Struct({ code: Schema.String, message: Schema.String })
const decodeEnvelope = Schema.decodeUnknownOption(Schema.parseJson(Envelope))
const decodeData = <A, I>(schema: Schema.Schema<A, I>) => Schema.decodeUnknownOption(schema)

const serverEvents: Readonly<Record<string, (data: unknown) => Option.Option<SocketEvent>>> = {
  "notification:new": (data) =>
    Option.map(decodeData(Schema.Struct({ notification: Notification }))(data), ({ notification }) => ({ _tag: "Notification", notification })),
  "notification:unread_count": (data) =>
    Option.map(decodeData(Schema.Struct({ unreadCount: Schema.Number }))(data), ({ unreadCount }) => ({ _tag: "UnreadCount", unreadCount })),
  "notification:read": (data) =>
    Option.map(decodeData(Schema.Struct({ ids: Schema.optional(Schema.Array(Schema.String)), all: Schema.optional(Schema.Boolean) }))(data), (read) => ({
      _tag: "Read",
      ids: read.all === true ? "all" : read.ids ?? []
    })),
  activity: (data) => Option.map(decodeData(Activity)(data), (activity) => ({ _tag: "Activity", activity })),
  "auth:refresh-needed": (data) =>
    Option.map(decodeData(Schema.Struct({ expiresAt: Schema.String, refreshBy: Schema.String }))(data), (times) => ({ _tag: "RefreshNeeded", ...times })),
  "auth:refreshed": (data) =>
    Option.map(decodeData(Schema.Struct({ expiresAt: Schema.String }))(data), ({ expiresAt }) => ({ _tag: "TokenRefreshed", expiresAt })),
  error: (data) => Option.map(decodeData(ServerErrorData)(data), (error) => ({ _tag: "ServerError", ...error }))
}

const RefreshAck = Schema.Struct({ accessToken: Schema.optional(Schema.String), expiresAt: Schema.String })
const UnreadCount = Schema.Struct({ unreadCount: Schema.Number })
const Room = Schema.Struct({ room: Schema.String })
const Pong = Schema.Struct({ serverTime: Schema.String })

interface Close {
  readonly code: number
  readonly reason: string
}

/**
 * A client of `/ws/notifications` (PROTOCOL.md): the handshake with the provider's token, requests
 * answered by `ack`/`error` within a timeout, server events as a stream, reconnects with jittered
 * backoff that resume after the newest notification seen (never after INVALID_TOKEN or UNAUTHORIZED),
 * and `auth:refresh` on `auth:refresh-needed` through the token provider. Browser-safe: the WebSocket
 * constructor is given. Closed with its scope.
 */
export const make = (options: NotificationSocketOptions): Effect.Effect<NotificationSocket, never, Scope.Scope> =>
  Effect.gen(function* () {
    const runFork = Runtime.runFork(yield* Effect.runtime<never>())
    const events = yield* PubSub.unbounded<SocketEvent>()
    const timeout = Duration.decode(options.requestTimeout ?? Duration.seconds(10))
    const backoff = options.reconnect === false
      ? undefined
      : {
        initialMs: Duration.toMillis(Duration.decode(options.reconnect?.initialDelay ?? Duration.millis(500))),
        maxMs: Duration.toMillis(Duration.decode(options.reconnect?.maxDelay ?? Duration.seconds(30)))
      }
    const pending = new Map<string, Deferred.Deferred<unknown, SocketError>>()
    let socket: WebSocketLike | undefined
    let open = false
    let stopped = false
    let nextId = 0
    /** The newest notification id delivered as an event (duplicates are dropped against it). */
    let lastId = options.lastNotificationId === undefined ? undefined : BigInt(options.lastNotificationId)
    /**
     * Where a reconnect resumes when no notification was delivered yet: the newest one get_recent saw
     * after the first connect. (A notification committed in the few milliseconds between that connect
     * and the get_recent, whose live frame is then cut off by a disconnect, would be skipped.)
     */
    let baselineId: bigint | undefined
    /** The expiry of the token the socket holds, and whether an auth:refresh is under way. */
    let expiresAt: string | undefined
    let refreshing = false
    /** A token newer than the provider's: refreshed on this socket; dropped by an auth close. */
    let held: string | undefined
    let ready = yield* Deferred.make<Connected, SocketError>()

    const emit = (event: SocketEvent) => {
      events.unsafeOffer(event)
      options.onEvent?.(event)
    }
    const failPending = (error: SocketError) => {
      for (const deferred of pending.values()) Deferred.unsafeDone(deferred, Exit.fail(error))
      pending.clear()
    }

    const request = (event: string, data: object = {}): Effect.Effect<unknown, SocketError> =>
      Effect.gen(function* () {
        yield* Effect.suspend(() => Deferred.await(ready))
        const ws = socket
        if (ws === undefined || !open) return yield* new SocketError({ reason: "Closed", message: "the socket is not connected" })
        const id = `c${++nextId}`
        const answer = yield* Deferred.make<unknown, SocketError>()
        pending.set(id, answer)
        ws.send(JSON.stringify({ event, id, data }))
        return yield* Deferred.await(answer).pipe(Effect.ensuring(Effect.sync(() => pending.delete(id))))
      }).pipe(
        Effect.timeoutFail({ duration: timeout, onTimeout: () => new SocketError({ reason: "Timeout", message: `no answer to ${event} within ${Duration.format(timeout)}` }) })
      )

    const typed = <A, I>(schema: Schema.Schema<A, I>, event: string, data?: object) =>
      Effect.flatMap(request(event, data), (answer) =>
        Schema.decodeUnknown(schema)(answer).pipe(Effect.mapError(() => new SocketError({ reason: "Invalid", message: `unexpected answer to ${event}` }))))

    /** `auth:refresh` with the provider's token, or `{}`; a failure is the server's to act on (it closes the socket). */
    const refresh = Effect.gen(function* () {
      const next = yield* Effect.orElseSucceed(options.tokens.refresh, () => Option.none<string>())
      const answer = yield* typed(RefreshAck, "auth:refresh", Option.match(next, { onNone: () => ({}), onSome: (token) => ({ token }) }))
      held = answer.accessToken ?? Option.getOrUndefined(next) ?? held
      expiresAt = answer.expiresAt
    }).pipe(Effect.ignore, Effect.ensuring(Effect.sync(() => {
      refreshing = false
    })))

    /** Where live delivery starts when no notification was seen yet: the newest one, so a reconnect resumes after it. */
    const baseline = typed(NotificationPage, "get_recent", { limit: 1 }).pipe(
      Effect.tap((page) =>
        Effect.sync(() => {
          const newest = page.notifications[0]
          if (newest !== undefined) baselineId = BigInt(newest.id)
        })),
      Effect.ignore
    )

    const onFrame = (text: unknown) => {
      if (typeof text !== "string") return
      const envelope = decodeEnvelope(text)
      if (Option.isNone(envelope)) return
      const { data, event, id } = envelope.value
      const waiting = id === undefined ? undefined : pending.get(String(id))
      if (waiting !== undefined && (event === "ack" || event === "error")) {
        pending.delete(String(id))
        const refused = event === "error" ? decodeData(ServerErrorData)(data) : Option.none()
        return void Deferred.unsafeDone(
          waiting,
          event === "ack"
            ? Exit.succeed(data)
            : Exit.fail(new SocketError({ reason: "Refused", message: "refused", ...Option.getOrElse(refused, () => ({})) }))
        )
      }
      if (event === "connected") {
        const connected = decodeData(Connected)(data)
        if (Option.isNone(connected)) return
        open = true
        expiresAt = connected.value.expiresAt
        Deferred.unsafeDone(ready, Exit.succeed(connected.value))
        emit({ _tag: "Connected", connected: connected.value })
        if (lastId === undefined && baselineId === undefined) runFork(baseline)
        return
      }
      const decoded = serverEvents[event]?.(data) ?? Option.none()
      if (Option.isNone(decoded)) return
      const next = decoded.value
      if (next._tag === "Notification") {
        const notificationId = BigInt(next.notification.id)
        // Ids grow per user in commit order: one not above the last seen was delivered already.
        if (lastId !== undefined && notificationId <= lastId) return
        lastId = notificationId
      }
      emit(next)
      // One refresh at a time, and none for a notice about a token already replaced.
      if (next._tag === "RefreshNeeded" && !refreshing && (expiresAt === undefined || next.expiresAt === expiresAt)) {
        refreshing = true
        runFork(refresh)
      }
      if (next._tag === "TokenRefreshed") expiresAt = next.expiresAt
    }

    /** One socket, from open to close: the close it ended with. */
    const session = (token: string) =>
      Effect.async<Close>((resume) => {
        let ws: WebSocketLike
        try {
          ws = options.WebSocket(options.url)
        } catch {
          return resume(Effect.succeed({ code: 1006, reason: "" }))
        }
        socket = ws
        const handshake = setTimeout(() => open || ws.close(4000, "handshake timeout"), Duration.toMillis(timeout))
        ws.addEventListener("open", () => {
          const from = lastId ?? baselineId
          const resumeFrom = from === undefined ? {} : { resume: { lastNotificationId: from.toString() } }
          ws.send(JSON.stringify({ event: "connect", data: { auth: { token }, ...resumeFrom } }))
        })
        ws.addEventListener("message", (event) => onFrame(event.data))
        ws.addEventListener("error", () => undefined)
        ws.addEventListener("close", (event) => {
          clearTimeout(handshake)
          if (socket === ws) socket = undefined
          resume(Effect.succeed({ code: event.code, reason: event.reason }))
        })
        return Effect.sync(() => {
          clearTimeout(handshake)
          ws.close(1000)
        })
      })

    const loop = Effect.gen(function* () {
      for (let attempt = 0; ;) {
        const token = held === undefined ? Option.getRight(yield* Effect.either(options.tokens.token)) : Option.some(held)
        const close = Option.isSome(token) ? yield* session(token.value) : { code: 1006, reason: "the token provider failed" }
        const wasOpen = open
        open = false
        failPending(new SocketError({ reason: "Closed", message: `the socket closed (${close.code} ${close.reason})` }))
        if (wasOpen) {
          attempt = 0
          ready = Deferred.unsafeMake(FiberId.none)
        }
        if (isAuthClose(close.code)) held = undefined
        const reconnecting = backoff !== undefined && !stopped && !isFinal(close.code, close.reason)
        emit({ _tag: "Disconnected", code: close.code, reason: close.reason, reconnecting })
        if (!reconnecting) {
          stopped = true
          const code = close.reason === "" ? {} : { code: close.reason }
          Deferred.unsafeDone(ready, Exit.fail(new SocketError({ reason: "Closed", ...code, message: `closed for good (${close.code} ${close.reason})` })))
          return
        }
        yield* Effect.sleep(Duration.millis(reconnectDelay(attempt++, backoff.initialMs, backoff.maxMs, yield* Random.next)))
      }
    })
    const running = yield* Effect.forkScoped(loop)

    const close = Effect.suspend(() => {
      if (stopped) return Effect.void
      stopped = true
      const error = new SocketError({ reason: "Closed", message: "the client was closed" })
      failPending(error)
      Deferred.unsafeDone(ready, Exit.fail(error))
      open = false
      return Fiber.interrupt(running)
    })
    yield* Effect.addFinalizer(() => close)

    return {
      events: Stream.fromPubSub(events),
      subscribeEvents: PubSub.subscribe(events),
      connected: Effect.suspend(() => Deferred.await(ready)),
      request,
      getRecent: (page = {}) => typed(NotificationPage, "get_recent", page),
      markRead: (ids) => typed(UnreadCount, "mark_read", { ids }),
      markAllRead: typed(UnreadCount, "mark_all_read"),
      subscribe: (room) => typed(Room, "subscribe", { room }),
      unsubscribe: (room) => typed(Room, "unsubscribe", { room }),
      ping: typed(Pong, "ping"),
      lastNotificationId: Effect.sync(() => Option.fromNullable((lastId ?? baselineId)?.toString())),
      close
    }
  })
