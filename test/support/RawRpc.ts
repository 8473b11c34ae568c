import { Effect } from "effect"
import * as Http from "node:http"
import { WebSocket } from "ws"
import { openedOrDie, scopedUpgrade, settleUpgrade, textOf, type Upgrade as UpgradeOf, waitUntil as waitOn } from "./WsUpgrade.ts"

/** A message the RPC server sends (json serialization: one per text frame, or one per ndjson line). */
export interface ServerMessage {
  readonly _tag: string
  readonly requestId?: string
  readonly exit?: {
    readonly _tag: "Success" | "Failure"
    readonly value?: unknown
    readonly cause?: { readonly _tag: string; readonly error?: { readonly _tag?: string; readonly code?: string; readonly retryAfterSeconds?: number }; readonly defect?: unknown }
  }
  readonly defect?: unknown
}

/** An RPC call as the client encodes it. */
export const request = (id: string | number, tag: string, payload: unknown = {}, headers: ReadonlyArray<[string, string]> = []) => ({
  _tag: "Request",
  id: String(id),
  tag,
  payload,
  headers
})

/** The error code of a failed Exit (`Fail` with a tagged error), if any. */
export const failureCode = (message: ServerMessage) => (message.exit?._tag === "Failure" ? message.exit.cause?.error?.code : undefined)

export interface CloseEvent {
  readonly code: number
  readonly reason: string
  /** Milliseconds from the open to the close. */
  readonly afterMs: number
}

/** An open /rpc WebSocket that records what the server sends. */
export interface RawSocket {
  readonly ws: WebSocket
  readonly messages: Array<ServerMessage>
  /** Frames that were not JSON (none expected). */
  readonly garbage: Array<string>
  readonly send: (message: unknown) => void
  /** Resolves with the first message matching, or fails after `timeoutMs`. */
  readonly waitFor: (predicate: (message: ServerMessage) => boolean, timeoutMs?: number) => Effect.Effect<ServerMessage, Error>
  /** Resolves once `count` Exit messages arrived, or fails after `timeoutMs`. */
  readonly exits: (count: number, timeoutMs?: number) => Effect.Effect<ReadonlyArray<ServerMessage>, Error>
  /** The close, once it happened. */
  readonly closed: Promise<CloseEvent>
}

export interface OpenOptions {
  readonly token?: string
  readonly forwardedFor?: string
  /** Appended to /rpc as is (`?token=...`). */
  readonly query?: string
}

/** The outcome of an upgrade: a socket, or the HTTP status that refused it. */
export type Upgrade = UpgradeOf<RawSocket>

const connect = (baseUrl: string, options: OpenOptions) =>
  Effect.async<Upgrade, Error>((resume) => {
    const headers: Record<string, string> = { "user-agent": "vitest" }
    if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`
    if (options.forwardedFor !== undefined) headers["x-forwarded-for"] = options.forwardedFor
    const ws = new WebSocket(`${baseUrl.replace(/^http/, "ws")}/rpc${options.query ?? ""}`, { headers, perMessageDeflate: false })
    const messages: Array<ServerMessage> = []
    const garbage: Array<string> = []
    const listeners = new Set<() => void>()
    let openedAt = 0
    const closed = new Promise<CloseEvent>((resolve) =>
      ws.once("close", (code, reason) => {
        resolve({ code, reason: reason.toString(), afterMs: performance.now() - openedAt })
        for (const listener of listeners) listener()
      })
    )
    ws.on("error", () => undefined)
    ws.on("message", (data) => {
      const text = textOf(data)
      try {
        messages.push(JSON.parse(text) as ServerMessage)
      } catch {
        garbage.push(text)
      }
      for (const listener of listeners) listener()
    })
    const waitUntil = <A>(check: () => A | undefined, what: string, timeoutMs: number) =>
      waitOn(
        listeners,
        check,
        () => (ws.readyState === WebSocket.CLOSED ? `socket closed while waiting for ${what}; ${messages.length} messages so far` : undefined),
        () => `no ${what} within ${timeoutMs} ms; ${messages.length} messages so far`,
        timeoutMs
      )
    const socket: RawSocket = {
      ws,
      messages,
      garbage,
      send: (message) => ws.send(typeof message === "string" ? message : JSON.stringify(message)),
      waitFor: (predicate, timeoutMs = 10_000) => waitUntil(() => messages.find(predicate), "matching message", timeoutMs),
      exits: (count, timeoutMs = 30_000) =>
        waitUntil(() => {
          const exits = messages.filter((message) => message._tag === "Exit")
          return exits.length >= count ? exits : undefined
        }, `${count} Exit messages`, timeoutMs),
      closed
    }
    settleUpgrade(ws, socket, () => (openedAt = performance.now()), resume)
    return Effect.sync(() => ws.terminate())
  })

/** Upgrades GET /rpc; the socket, if opened, is terminated when the scope closes. */
export const upgradeRpc = (baseUrl: string, options: OpenOptions = {}) => scopedUpgrade(connect(baseUrl, options))

/** An open /rpc socket (fails the test if the upgrade is refused). */
export const openRpc = (baseUrl: string, options: OpenOptions = {}) => openedOrDie(upgradeRpc(baseUrl, options))

/** Waits for the close, or fails after `timeoutMs`. */
export const closeOf = (socket: RawSocket, timeoutMs = 15_000) =>
  Effect.promise(() => socket.closed).pipe(
    Effect.timeoutFail({ duration: timeoutMs, onTimeout: () => new Error(`the socket was not closed within ${timeoutMs} ms`) })
  )

/** POST /rpc with ndjson lines; the answer's messages (one per line). */
export const postRpc = (baseUrl: string, lines: ReadonlyArray<unknown>, forwardedFor?: string) =>
  Effect.promise(async (signal) => {
    const headers: Record<string, string> = { "content-type": "application/ndjson", "user-agent": "vitest" }
    if (forwardedFor !== undefined) headers["x-forwarded-for"] = forwardedFor
    const body = lines.map((line) => `${JSON.stringify(line)}\n`).join("")
    const response = await fetch(`${baseUrl}/rpc`, { method: "POST", headers, body, signal })
    const text = await response.text()
    const messages = text
      .split("\n")
      .filter((line) => line.trim() !== "")
      .map((line) => JSON.parse(line) as ServerMessage)
    return { status: response.status, messages }
  })

/**
 * POST /rpc with ndjson lines over node:http, then destroys the connection as soon as the body is
 * handed to the socket, without reading any answer. Resolves with the bytes sent.
 */
export const postRpcAndHangUp = (baseUrl: string, lines: ReadonlyArray<unknown>, forwardedFor?: string) =>
  Effect.async<number>((resume) => {
    const body = Buffer.from(lines.map((line) => `${JSON.stringify(line)}\n`).join(""))
    const headers: Http.OutgoingHttpHeaders = { "content-type": "application/ndjson", "content-length": body.length }
    if (forwardedFor !== undefined) headers["x-forwarded-for"] = forwardedFor
    const req = Http.request(`${baseUrl}/rpc`, { method: "POST", headers })
    req.on("error", () => undefined)
    req.end(body, () => {
      req.destroy()
      resume(Effect.succeed(body.length))
    })
  })
