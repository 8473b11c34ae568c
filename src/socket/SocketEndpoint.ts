import { Cause, Clock, Duration, Effect, Either, Exit, Option, ParseResult, Queue, Runtime, Schema, Scope } from "effect"
import * as Crypto from "node:crypto"
import type { WebSocket } from "ws"
import { AuthRefreshData, ConnectData, EmptyData, GetRecentData, MarkReadData, RoomData } from "../../src/api/SocketEvents.ts"
import { AuthError, type ErrorCode, ForbiddenError, NotFoundError, ValidationError } from "../domain/Errors.ts"
import { entityRoom } from "../domain/Realtime.ts"
import { isUnavailable } from "../sql/SqlErrors.ts"
import { Auth } from "../../services/Auth.ts"
import { Hub } from "../../services/Hub.ts"
import { Metrics } from "../../services/Metrics.ts"
import { Notifications } from "../../services/Notifications.ts"
import { Sessions } from "../../services/Sessions.ts"
import { Connection, type ConnectionLimits, DeadlineHeap, type Endpoint } from "./Connection.ts"
import { errorFrame, frame, parseEnvelope } from "./Frames.ts"

export interface SocketSettings extends ConnectionLimits {
  /** How long after expiry a socket may refresh its token (SOCKET_GRACE_PERIOD). */
  readonly graceMs: number
  /** No connect frame by then: 4408. */
  readonly authTimeoutMs: number
}

/** A client event's answer: data for the ack, or a failure with a catalog code. */
type Reply = Effect.Effect<unknown, AuthError | ForbiddenError | NotFoundError | ValidationError>

const refreshNoticeMs = 60_000

/** Read through a function: the phase changes while an effect waits (a close arrives meanwhile). */
const closed = (connection: Connection) => connection.phase === "closed"
const pingEveryMs = 30_000

/** `field: reason` for the first issue of a client event's data, never the value it got. */
const invalid = (error: ParseResult.ParseError) => {
  const [issue] = ParseResult.ArrayFormatter.formatErrorSync(error)
  const where = issue === undefined || issue.path.length === 0 ? "data" : issue.path.map(String).join(".")
  return new ValidationError({ message: `${where}: ${issue?.message ?? "invalid"}`.slice(0, 200) })
}

const decodeData = <A, I>(schema: Schema.Schema<A, I>, data: unknown) =>
  Schema.decodeUnknown(schema)(data ?? {}).pipe(Effect.mapError(invalid))

/** Synchronous: the handshake of every socket runs it. */
const decodeConnect = Schema.decodeUnknownEither(ConnectData)

/**
 * The socket endpoints (`/ws/notifications`, `/ws/ai`): the handshake, the client events, the token
 * lifecycle and the limits of PROTOCOL.md, over connections that hold no fiber while idle. `tick` is
 * run by the instance's one scheduler.
 */
export const makeSocketEndpoint = (settings: SocketSettings) =>
  Effect.gen(function* () {
    const auth = yield* Auth
    const sessions = yield* Sessions
    const notifications = yield* Notifications
    const hub = yield* Hub
    const metrics = yield* Metrics
    const runtime = yield* Effect.runtime<never>()
    const runFork = Runtime.runFork(runtime)
    const runSync = Runtime.runSync(runtime)
    // Effect's Clock, read synchronously (TestClock in tests).
    const clock = yield* Effect.clock
    const nowMs = () => clock.unsafeCurrentTimeMillis()
    const connections = new Set<Connection>()
    const deadlines = new DeadlineHeap()
    const graceSeconds = settings.graceMs / 1000
    let lastPing = 0
    // When the scheduler wakes next; a deadline before it wakes it early (a sliding queue of one).
    let wakeAt = Number.POSITIVE_INFINITY
    const pokes = yield* Queue.sliding<void>(1)

    /** Files the connection under its next deadline; wakes the scheduler only when that comes before its next wake-up. */
    const reschedule = (connection: Connection) => {
      deadlines.update(connection)
      if (connection.heapIndex >= 0 && connection.due < wakeAt) {
        wakeAt = connection.due
        Queue.unsafeOffer(pokes, undefined)
      }
    }

    const ack = (connection: Connection, id: string | number | undefined, data: unknown) => {
      if (id !== undefined) connection.send(frame("ack", data, id))
    }
    const refuse = (connection: Connection, code: ErrorCode, message: string, id?: string | number) => {
      metrics.wsFramesRefused.inc({ endpoint: connection.endpoint, code })
      connection.send(errorFrame(code, message, id))
    }

    /** When the token needs refreshing and when it is too late, from its expiry. */
    const schedule = (connection: Connection, expiresAt: Date) => {
      connection.refreshNeededAt = expiresAt.getTime() - refreshNoticeMs
      connection.refreshBy = expiresAt.getTime() + settings.graceMs
      reschedule(connection)
    }

    const refreshNeeded = (connection: Connection) => {
      connection.refreshNeededAt = Number.POSITIVE_INFINITY
      connection.send(frame("auth:refresh-needed", {
        expiresAt: connection.user.expiresAt.toISOString(),
        refreshBy: new Date(connection.refreshBy).toISOString()
      }))
    }

    /** A failure of the handshake or of a refresh: the code's close (4401 for auth, 1013 when the database is down). */
    const closeOn = (connection: Connection, cause: Cause.Cause<AuthError>, id: string | number | undefined) => {
      const failure = Cause.failureOption(cause)
      if (Option.isSome(failure)) return connection.close(failure.value.code, failure.value.message, id)
      if (isUnavailable(Cause.squash(cause))) {
        connection.send(errorFrame("UNAVAILABLE", "the service is unavailable; retry shortly", id))
        connection.phase = "closed"
        return connection.ws.close(1013, "UNAVAILABLE")
      }
      runFork(Effect.logError("socket handshake failed", cause))
      connection.close("INTERNAL", "internal error", id)
    }

    const handshake = (connection: Connection, data: unknown, id: string | number | undefined) =>
      Effect.gen(function* () {
        connection.phase = "connecting"
        const decoded = decodeConnect(data ?? {})
        if (Either.isLeft(decoded)) {
          metrics.wsConnects.inc({ endpoint: connection.endpoint, outcome: "VALIDATION_ERROR" })
          connection.send(errorFrame("VALIDATION_ERROR", invalid(decoded.left).message, id))
          connection.phase = "closed"
          return connection.ws.close(4400, "VALIDATION_ERROR")
        }
        const token = decoded.right.auth?.token ?? connection.upgradeToken
        connection.upgradeToken = undefined
        if (token === undefined) {
          metrics.wsConnects.inc({ endpoint: connection.endpoint, outcome: "UNAUTHORIZED" })
          return connection.close("UNAUTHORIZED", "no token: give it in connect's auth, the Authorization header or ?token=", id)
        }
        const verified = yield* Effect.exit(auth.verify(token, { graceSeconds }))
        if (Exit.isFailure(verified)) {
          const code = Option.match(Cause.failureOption(verified.cause), { onNone: () => "INTERNAL", onSome: (error) => error.code })
          metrics.wsConnects.inc({ endpoint: connection.endpoint, outcome: code })
          return closeOn(connection, verified.cause, id)
        }
        if (closed(connection)) return
        const user = verified.value
        connection.user = user
        yield* hub.register(connection)
        connection.phase = "open"
        const resume = decoded.right.resume?.lastNotificationId
        const connected = (extra: Readonly<Record<string, unknown>>) =>
          connection.send(frame("connected", {
            connectionId: connection.connectionId,
            userId: user.userId,
            organizationId: user.organizationId,
            sessionId: user.sessionId,
            expiresAt: user.expiresAt.toISOString(),
            rooms: [...connection.rooms],
            ...extra
          }, id))
        if (connection.endpoint === "notifications") {
          const summary = yield* notifications.summary(user)
          const replay = resume === undefined ? undefined : yield* notifications.since(user, resume, 100)
          // Live delivery starts above the last replayed id, else above the newest committed one (never above
          // it: a resume id from the future must not hide what comes next).
          const latest = BigInt(summary.latestId ?? "0")
          const replayed = replay?.notifications.at(-1)?.id
          connection.lastNotificationId = replayed !== undefined ? BigInt(replayed) : resume !== undefined && BigInt(resume) < latest ? BigInt(resume) : latest
          connected(replay === undefined ? {} : { recovered: replay.complete })
          connection.send(frame("notification:unread_count", { unreadCount: summary.unreadCount }))
          for (const notification of replay?.notifications ?? []) connection.send(frame("notification:new", { notification }))
        } else {
          connected({})
        }
        yield* hub.release(connection)
        metrics.wsConnects.inc({ endpoint: connection.endpoint, outcome: "CONNECTED" })
        // Deadlines start after `connected` (the scheduler must not send auth:refresh-needed first); a token
        // already inside its notice window (or expired inside the grace window) hears it now, once.
        schedule(connection, user.expiresAt)
        if (connection.refreshNeededAt <= nowMs()) refreshNeeded(connection)
      })

    /** `auth:refresh`: a new token of the same user and session, or `{}` to have one minted until refreshBy. */
    const refresh = (connection: Connection, data: unknown) =>
      Effect.gen(function* () {
        const { token } = yield* decodeData(AuthRefreshData, data)
        if (token !== undefined) {
          const next = yield* auth.verify(token)
          if (next.userId !== connection.user.userId || next.sessionId !== connection.user.sessionId) {
            return yield* new ForbiddenError({ message: "the token is of another user or session" })
          }
          return { user: next, accessToken: undefined }
        }
        if ((yield* Clock.currentTimeMillis) >= connection.refreshBy) {
          return yield* new AuthError({ code: "TOKEN_EXPIRED", message: "the access token expired and was not refreshed" })
        }
        const renewed = yield* sessions.renewSocket(connection.user)
        return { user: { ...connection.user, expiresAt: renewed.expiresAt }, accessToken: renewed.accessToken }
      }).pipe(
        Effect.map(({ accessToken, user }) => {
          connection.user = user
          schedule(connection, user.expiresAt)
          const expiresAt = user.expiresAt.toISOString()
          connection.send(frame("auth:refreshed", { expiresAt }))
          return accessToken === undefined ? { expiresAt } : { accessToken, expiresAt }
        })
      )

    /** The events of `/ws/notifications` beside connect, auth:refresh and ping. */
    const notificationEvents: Readonly<Record<string, (connection: Connection, data: unknown) => Reply>> = {
      get_recent: (connection, data) =>
        Effect.flatMap(decodeData(GetRecentData, data), (page) =>
          notifications.list(connection.user, { limit: page.limit ?? 20, before: page.before })),
      mark_read: (connection, data) =>
        Effect.flatMap(decodeData(MarkReadData, data), ({ ids }) =>
          Effect.map(notifications.markRead(connection.user, ids), (unreadCount) => ({ unreadCount }))),
      mark_all_read: (connection, data) =>
        Effect.zipRight(decodeData(EmptyData, data), Effect.as(notifications.markAllRead(connection.user), { unreadCount: 0 })),
      subscribe: (connection, data) =>
        Effect.gen(function* () {
          const { room } = yield* decodeData(RoomData, data)
          if (!entityRoom.test(room)) return yield* new ValidationError({ message: "room: expected case:<id> or investigation:<id>" })
          const name = room.toLowerCase()
          if (!(yield* hub.roomExists(connection.user.organizationId, name))) return yield* new NotFoundError({ message: "no such case or investigation" })
          yield* hub.join(connection, name)
          return { room: name }
        }),
      unsubscribe: (connection, data) =>
        Effect.gen(function* () {
          const { room } = yield* decodeData(RoomData, data)
          const name = room.toLowerCase()
          if (name.startsWith("case:") || name.startsWith("investigation:")) yield* hub.leave(connection, name)
          return { room: name }
        })
    }

    const common: Readonly<Record<string, (connection: Connection, data: unknown) => Reply>> = {
      ping: () => Effect.map(Clock.currentTimeMillis, (ms) => ({ serverTime: new Date(ms).toISOString() })),
      "auth:refresh": refresh
    }

    /** One client frame, after the handshake: its event's handler, answered by ack or error (never a close, but for a second connect and auth:refresh's own codes). */
    const handle = (connection: Connection, text: string) => {
      const envelope = parseEnvelope(text)
      if (envelope === undefined) return Effect.sync(() => refuse(connection, "BAD_REQUEST", "a frame is a JSON object with a string event"))
      const { data, event, id } = envelope
      if (connection.phase === "awaiting") {
        if (event !== "connect") {
          return Effect.sync(() => {
            metrics.wsConnects.inc({ endpoint: connection.endpoint, outcome: "UNAUTHORIZED" })
            connection.close("UNAUTHORIZED", "send connect first", id)
          })
        }
        return handshake(connection, data, id)
      }
      if (event === "connect") return Effect.sync(() => connection.close("ALREADY_CONNECTED", "already connected", id))
      const handler = common[event] ?? (connection.endpoint === "notifications" ? notificationEvents[event] : undefined)
      if (handler === undefined) return Effect.sync(() => refuse(connection, "UNKNOWN_EVENT", `unknown event: ${event.slice(0, 64)}`, id))
      return handler(connection, data).pipe(
        Effect.matchCauseEffect({
          onSuccess: (answer) => Effect.sync(() => ack(connection, id, answer)),
          onFailure: (cause) =>
            Effect.sync(() => {
              const failure = Cause.failureOption(cause)
              if (Option.isSome(failure)) {
                const error = failure.value
                // auth:refresh with another user's or session's token closes 4403; a refresh refused for the session closes 4401.
                if (event === "auth:refresh" && error instanceof ForbiddenError) return connection.close("FORBIDDEN", error.message, id, 4403)
                if (event === "auth:refresh" && error instanceof AuthError) return connection.close(error.code, error.message, id)
                return refuse(connection, error.code, error.message, id)
              }
              if (Cause.isInterruptedOnly(cause)) return
              if (isUnavailable(Cause.squash(cause))) return refuse(connection, "UNAVAILABLE", "the service is unavailable; retry shortly", id)
              runFork(Effect.logError("socket event failed", cause))
              refuse(connection, "INTERNAL", "internal error", id)
            })
        })
      )
    }

    /** Handles the pending frames in order; the fiber ends when none is left. */
    const pump = (connection: Connection): Effect.Effect<void> =>
      Effect.suspend(() => {
        const text = connection.pending.shift()
        if (text === undefined || connection.phase === "closed") {
          connection.pending.length = 0
          connection.pumping = false
          return Effect.void
        }
        return Effect.zipRight(handle(connection, text), pump(connection))
      })

    /** The connection's finalizer: out of its rooms, the registry, the deadlines and the gauge. */
    const unregister = (connection: Connection) =>
      Effect.zipRight(hub.unregister(connection), Effect.sync(() => {
        connections.delete(connection)
        deadlines.remove(connection)
        metrics.wsConnections.dec({ endpoint: connection.endpoint })
      }))

    /** Takes over an upgraded socket. `upgradeToken`: from the Authorization header, else `?token=`. */
    const accept = (ws: WebSocket, endpoint: Endpoint, upgradeToken: string | undefined) => {
      // The scope and its finalizer in one synchronous run: no fiber of its own per connection.
      const scope: Scope.CloseableScope = runSync(Effect.tap(Scope.make(), (scope) =>
        Scope.addFinalizer(scope, Effect.suspend((): Effect.Effect<void> => unregister(connection)))))
      const connection: Connection = new Connection(Crypto.randomUUID(), ws, endpoint, scope, settings, nowMs(), settings.authTimeoutMs, () =>
        metrics.wsSlowConsumers.inc({ endpoint }))
      connection.upgradeToken = upgradeToken
      connections.add(connection)
      reschedule(connection)
      metrics.wsConnections.inc({ endpoint })
      ws.on("pong", () => {
        connection.alive = true
      })
      ws.on("message", (data, isBinary) => {
        connection.alive = true
        if (connection.phase === "closed") return
        if (!connection.admitFrame()) {
          metrics.wsFramesRefused.inc({ endpoint, code: "RATE_LIMITED" })
          return connection.close("RATE_LIMITED")
        }
        if (isBinary) return refuse(connection, "BAD_REQUEST", "frames are UTF-8 text")
        connection.pending.push(Array.isArray(data) ? Buffer.concat(data).toString("utf8") : Buffer.from(data as ArrayBuffer).toString("utf8"))
        if (connection.pumping) return
        connection.pumping = true
        runFork(pump(connection))
      })
      ws.once("close", (code) => {
        connection.phase = "closed"
        deadlines.remove(connection)
        metrics.wsCloses.inc({ endpoint, code: String(code) })
        runFork(Scope.close(scope, Exit.void))
      })
    }

    /** A socket whose deadline has come: the handshake's (4408), the token's notice, or its end (4401). */
    const due = (connection: Connection, now: number) => {
      if (connection.phase === "awaiting") {
        if (now < connection.authDeadline) return
        metrics.wsConnects.inc({ endpoint: connection.endpoint, outcome: "AUTH_TIMEOUT" })
        return connection.close("AUTH_TIMEOUT")
      }
      if (connection.phase !== "open") return
      if (now >= connection.refreshBy) return connection.close("TOKEN_EXPIRED")
      if (now >= connection.refreshNeededAt) refreshNeeded(connection)
    }

    /** Every socket pinged; one that did not answer the last ping is dropped. */
    const sweep = () => {
      for (const connection of connections) {
        if (!connection.alive) {
          connection.phase = "closed"
          deadlines.remove(connection)
          connection.ws.terminate()
          continue
        }
        connection.alive = false
        connection.ws.ping()
      }
    }

    /** The deadlines that have come (soonest first, from the heap), the ping sweep every 30 s; when it is next needed. */
    const tick = (now: number) => {
      for (let top = deadlines.peek(); top !== undefined && top.due <= now; top = deadlines.peek()) {
        due(top, now)
        // Its next deadline, or out of the heap (closed, or handshaking: the handshake ends in a close or a schedule).
        deadlines.update(top)
      }
      if (connections.size > 0 && now - lastPing >= pingEveryMs) {
        lastPing = now
        sweep()
      }
      return Math.min(deadlines.peek()?.due ?? Number.POSITIVE_INFINITY, connections.size > 0 ? lastPing + pingEveryMs : Number.POSITIVE_INFINITY)
    }

    /**
     * The instance's one scheduler, on Effect's Clock (TestClock moves it): it sleeps until the soonest
     * deadline of any socket or the next ping sweep, or until a sooner deadline is filed (`reschedule`);
     * nothing per idle connection, and nothing scanned per connect.
     */
    const run = Effect.gen(function* () {
      for (;;) {
        const now = yield* Clock.currentTimeMillis
        const next = tick(now)
        wakeAt = next
        const wake = Queue.take(pokes)
        yield* Number.isFinite(next) ? Effect.raceFirst(Effect.sleep(Duration.millis(Math.max(1, next - now))), wake) : wake
      }
    })

    /** Every socket told SERVER_SHUTDOWN and closed 1001, a batch at a time (the event loop breathes between). */
    const closeAll = Effect.gen(function* () {
      const all = [...connections]
      for (let i = 0; i < all.length; i += 500) {
        for (const connection of all.slice(i, i + 500)) connection.close("SERVER_SHUTDOWN")
        yield* Effect.yieldNow()
      }
    })

    return { accept, run, closeAll }
  })
