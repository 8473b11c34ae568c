import { SqlClient } from "@effect/sql"
import { Clock, Effect, Layer, type Redacted } from "effect"
import { calculateJwkThumbprint, type CryptoKey, exportJWK, exportPKCS8, generateKeyPair, SignJWT } from "jose"
import * as Crypto from "node:crypto"
import { WebSocket } from "ws"
import type { Notification } from "../../src/domain/Notification.ts"
import { InstanceTest, ServerTest, type TestUser } from "./TestApp.ts"
import { openedOrDie, scopedUpgrade, settleUpgrade, textOf, type Upgrade as UpgradeOf, waitUntil as waitOn } from "./WsUpgrade.ts"

/**
 * The signing key of this test file's servers, given to them as JWT_PRIVATE_KEY / JWT_KEY_ID, so that
 * tests can mint any token (expired, wrong claims, another session) the way the server does.
 */
interface SigningKey {
  readonly pem: string
  readonly kid: string
  readonly privateKey: CryptoKey
}

let signingKey: Promise<SigningKey> | undefined
export const testSigningKey = Effect.promise(() =>
  (signingKey ??= generateKeyPair("ES256", { extractable: true }).then(async ({ privateKey, publicKey }) => ({
    pem: await exportPKCS8(privateKey),
    kid: await calculateJwkThumbprint(await exportJWK(publicKey)),
    privateKey
  }))))

/** Another ES256 key: a token signed with it under the server's kid is wrongly signed. */
export const foreignKey = Effect.promise(() => generateKeyPair("ES256").then(({ privateKey }) => privateKey))

/** The environment a server needs to verify the tokens tokenFor mints. */
export const keyConfig = Effect.map(testSigningKey, (key) => ({ JWT_PRIVATE_KEY: key.pem, JWT_KEY_ID: key.kid }))

/** ServerTest with this file's signing key. */
export const RealtimeServer = (overrides: Readonly<Record<string, string>> = {}) =>
  Layer.unwrapEffect(Effect.map(keyConfig, (key) => ServerTest({ ...key, ...overrides })))

/** InstanceTest with this file's signing key (several instances over one database). */
export const RealtimeInstance = (url: Redacted.Redacted<string>, overrides: Readonly<Record<string, string>> = {}) =>
  Layer.unwrapEffect(Effect.map(keyConfig, (key) => InstanceTest(url, { ...key, ...overrides })))

type Subject = Pick<TestUser, "id" | "organizationId" | "role">

/** A new live session of the user, inserted directly (no Argon2), valid for 12 hours of Effect's Clock. */
export const openSession = (user: Pick<TestUser, "id" | "organizationId">) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const at = new Date(yield* Clock.currentTimeMillis)
    const until = new Date(at.getTime() + 12 * 3600_000)
    const [row] = yield* sql<{ readonly id: string }>`
      INSERT INTO auth_sessions (organization_id, user_id, created_at, last_refreshed_at, idle_expires_at, absolute_expires_at, user_agent, ip)
      VALUES (${user.organizationId}, ${user.id}, ${at}, ${at}, ${until}, ${until}, 'vitest', '127.0.0.1')
      RETURNING id`
    return row!.id
  }).pipe(Effect.orDie)

export interface TokenOptions {
  /** The session the token belongs to; default a new one. */
  readonly sessionId?: string
  /** Seconds from now (Effect's Clock) to `exp`; negative: expired that long ago. Default 600 (JWT_ACCESS_TTL). */
  readonly expiresIn?: number
  /** Claims replaced or added; `undefined` removes one. */
  readonly claims?: Readonly<Record<string, unknown>>
  /** Header parameters replaced or added. */
  readonly header?: Readonly<Record<string, unknown>>
  /** Signed with another key (the header still names the server's kid). */
  readonly key?: CryptoKey
}

/** The access token lifetime the servers use (JWT_ACCESS_TTL default): a token never claims a longer one. */
const lifetimeSeconds = 600

/**
 * An access token for the user, as the server signs them (ES256, typ at+jwt, the server's kid, every
 * claim), its times from Effect's Clock (TestClock moves them); `options` bend it.
 */
export const tokenFor = (user: Subject, options: TokenOptions = {}) =>
  Effect.gen(function* () {
    const key = yield* testSigningKey
    const sessionId = options.sessionId ?? (yield* openSession(user))
    const now = Math.floor((yield* Clock.currentTimeMillis) / 1000)
    const exp = now + (options.expiresIn ?? lifetimeSeconds)
    const claims: Record<string, unknown> = {
      iss: "casecore",
      aud: "casecore-api",
      sub: user.id,
      org: user.organizationId,
      sid: sessionId,
      role: user.role,
      jti: Crypto.randomUUID(),
      iat: Math.min(now, exp - lifetimeSeconds + 1),
      exp
    }
    for (const [name, value] of Object.entries(options.claims ?? {})) {
      if (value === undefined) delete claims[name]
      else claims[name] = value
    }
    const header = { alg: "ES256", typ: "at+jwt", kid: key.kid, ...options.header }
    return yield* Effect.promise(() => new SignJWT(claims).setProtectedHeader(header).sign(options.key ?? key.privateKey))
  })

/** Real time, whatever Effect's Clock is (TestClock does not move it, and it does not need moving). */
export const realSleep = (ms: number) => Effect.promise(() => new Promise<void>((resume) => setTimeout(resume, ms)))

/** A frame the server sent (one JSON object per text frame). */
export interface Frame {
  readonly event: string
  readonly id?: string | number
  readonly data?: unknown
}

export interface CloseInfo {
  readonly code: number
  readonly reason: string
  /** Milliseconds from the open to the close. */
  readonly afterMs: number
}

/** A raw WebSocket that records every frame it gets. */
export interface TestSocket {
  readonly ws: WebSocket
  /** Every frame received, in order. */
  readonly frames: Array<Frame>
  /** Text frames that were not a JSON object (none expected). */
  readonly garbage: Array<string>
  readonly send: (frame: unknown) => void
  readonly closed: Promise<CloseInfo>
  /** Run on every frame and at the close. */
  readonly listeners: Set<() => void>
  /** Frames already returned by a wait (a later wait for the same event gets the next one). */
  readonly taken: Set<number>
  /** The close, once it happened. */
  close: CloseInfo | undefined
}

export interface SocketOptions {
  /** Default /ws/notifications. */
  readonly path?: string
  /** `Authorization: Bearer <token>` on the upgrade request. */
  readonly bearer?: string
  /** `?token=` */
  readonly queryToken?: string
  readonly origin?: string
  readonly headers?: Readonly<Record<string, string>>
  /** false: the socket does not answer pings (a dead peer, as far as the server can tell). */
  readonly autoPong?: boolean
}

export type Upgrade = UpgradeOf<TestSocket>

const upgradeOnce = (baseUrl: string, options: SocketOptions) =>
  Effect.async<Upgrade, Error>((resume) => {
    const headers: Record<string, string> = { "user-agent": "vitest", ...options.headers }
    if (options.bearer !== undefined) headers.authorization = `Bearer ${options.bearer}`
    if (options.origin !== undefined) headers.origin = options.origin
    const query = options.queryToken === undefined ? "" : `?token=${encodeURIComponent(options.queryToken)}`
    const ws = new WebSocket(`${baseUrl.replace(/^http/, "ws")}${options.path ?? "/ws/notifications"}${query}`, { headers, perMessageDeflate: false, autoPong: options.autoPong ?? true })
    let openedAt = performance.now()
    const socket: TestSocket = {
      ws,
      frames: [],
      garbage: [],
      send: (frame) => ws.send(typeof frame === "string" ? frame : JSON.stringify(frame)),
      closed: new Promise<CloseInfo>((resolve) =>
        ws.once("close", (code, reason) => {
          socket.close = { code, reason: reason.toString(), afterMs: performance.now() - openedAt }
          resolve(socket.close)
          for (const listener of [...socket.listeners]) listener()
        })),
      listeners: new Set(),
      taken: new Set(),
      close: undefined
    }
    ws.on("error", () => undefined)
    ws.on("message", (data, isBinary) => {
      const text = isBinary ? "" : textOf(data)
      try {
        const value = JSON.parse(text) as unknown
        if (typeof value === "object" && value !== null && typeof (value as Frame).event === "string") socket.frames.push(value as Frame)
        else socket.garbage.push(text)
      } catch {
        socket.garbage.push(text)
      }
      for (const listener of [...socket.listeners]) listener()
    })
    settleUpgrade(ws, socket, () => (openedAt = performance.now()), resume)
    return Effect.sync(() => ws.terminate())
  })

/** An upgrade of `options.path` (default /ws/notifications): the socket, or the HTTP answer that refused it. Terminated with the scope. */
export const upgrade = (baseUrl: string, options: SocketOptions = {}) => scopedUpgrade(upgradeOnce(baseUrl, options))

/** An open raw socket (the test dies if the upgrade is refused). */
export const openSocket = (baseUrl: string, options: SocketOptions = {}) => openedOrDie(upgrade(baseUrl, options))

const summary = (socket: TestSocket) =>
  `frames so far: ${JSON.stringify(socket.frames).slice(0, 1500)}${socket.close === undefined ? "" : `; closed ${socket.close.code} ${socket.close.reason}`}`

/**
 * Waits in real time (setTimeout: TestClock does not hold it) until `check` finds something; fails
 * after `timeoutMs`, or when the socket closes first (unless `acceptClose`).
 */
const waitUntil = <A>(socket: TestSocket, check: () => A | undefined, what: string, timeoutMs: number, acceptClose = false) =>
  waitOn(
    socket.listeners,
    check,
    () => (socket.close !== undefined && !acceptClose ? `the socket closed while waiting for ${what}; ${summary(socket)}` : undefined),
    () => `no ${what} within ${timeoutMs} ms; ${summary(socket)}`,
    timeoutMs
  )

/** The first frame not yet taken that matches; it is taken. */
export const waitForFrame = (socket: TestSocket, predicate: (frame: Frame) => boolean, what = "matching frame", timeoutMs = 5_000) =>
  waitUntil(socket, () => {
    const index = socket.frames.findIndex((frame, i) => !socket.taken.has(i) && predicate(frame))
    if (index === -1) return undefined
    socket.taken.add(index)
    return socket.frames[index]!
  }, what, timeoutMs)

/** The next `event` frame not yet taken. */
export const waitForEvent = (socket: TestSocket, event: string, timeoutMs = 5_000) =>
  waitForFrame(socket, (frame) => frame.event === event, `${event} frame`, timeoutMs)

/** Frames of an event received so far (taken or not). */
export const eventsOf = (socket: TestSocket, event: string) => socket.frames.filter((frame) => frame.event === event)

/** The notifications received so far, in order. */
export const notificationsOf = (socket: TestSocket) =>
  eventsOf(socket, "notification:new").map((frame) => (frame.data as { readonly notification: Notification }).notification)

/** Waits until `count` notifications arrived in all. */
export const waitForNotifications = (socket: TestSocket, count: number, timeoutMs = 10_000) =>
  waitUntil(socket, () => {
    const received = notificationsOf(socket)
    return received.length >= count ? received : undefined
  }, `${count} notifications`, timeoutMs)

/** The data of `connected` (PROTOCOL: Handshake). */
export interface ConnectedData {
  readonly connectionId: string
  readonly userId: string
  readonly organizationId: string
  readonly sessionId: string
  readonly expiresAt: string
  readonly rooms: ReadonlyArray<string>
  readonly recovered?: boolean
}

/** The `connected` frame's data; fails with what came instead (an error frame, a close). */
export const waitForConnect = (socket: TestSocket, timeoutMs = 5_000) =>
  Effect.map(waitForEvent(socket, "connected", timeoutMs), (frame) => frame.data as ConnectedData)

export interface Disconnect extends CloseInfo {
  /** The last `error` frame received before the close, if any. */
  readonly error: { readonly code: string; readonly message: string; readonly id?: string | number } | undefined
}

/** The close (code and reason) and the error frame that announced it. */
export const waitForDisconnect = (socket: TestSocket, timeoutMs = 5_000) =>
  Effect.map(waitUntil(socket, () => socket.close, "close", timeoutMs, true), (close): Disconnect => {
    const error = eventsOf(socket, "error").at(-1)
    return {
      ...close,
      error: error === undefined ? undefined : { ...(error.data as { readonly code: string; readonly message: string }), ...(error.id === undefined ? {} : { id: error.id }) }
    }
  })

/** The error frame's code and message. */
export const errorOf = (frame: Frame) => frame.data as { readonly code: string; readonly message: string }

let requestIds = 0

/** Sends a client event with a fresh id; its one reply (`ack` or `error`). */
export const request = (socket: TestSocket, event: string, data?: unknown, timeoutMs = 5_000) =>
  Effect.suspend(() => {
    const id = `t${++requestIds}`
    socket.send(data === undefined ? { event, id } : { event, id, data })
    return waitForFrame(socket, (frame) => frame.id === id && (frame.event === "ack" || frame.event === "error"), `reply to ${event} (${id})`, timeoutMs)
  })

/** The ack's data of a client event (fails on an error reply). */
export const ack = <A = Record<string, unknown>>(socket: TestSocket, event: string, data?: unknown, timeoutMs = 5_000) =>
  Effect.flatMap(request(socket, event, data, timeoutMs), (reply) =>
    reply.event === "ack" ? Effect.succeed(reply.data as A) : Effect.fail(new Error(`${event} refused: ${JSON.stringify(reply.data)}`)))

export interface ConnectOptions extends SocketOptions {
  /** Where the connect's token goes: the auth object (default), the Authorization header or the query. */
  readonly via?: "auth" | "header" | "query"
  readonly resume?: string
}

/** A socket past its handshake, with the `connected` data. */
export const connectSocket = (baseUrl: string, token: string, options: ConnectOptions = {}) =>
  Effect.gen(function* () {
    const via = options.via ?? "auth"
    const socket = yield* openSocket(baseUrl, {
      ...options,
      ...(via === "header" ? { bearer: token } : {}),
      ...(via === "query" ? { queryToken: token } : {})
    })
    socket.send({
      event: "connect",
      data: {
        ...(via === "auth" ? { auth: { token } } : {}),
        ...(options.resume === undefined ? {} : { resume: { lastNotificationId: options.resume } })
      }
    })
    const connected = yield* waitForConnect(socket)
    return { socket, connected }
  })
