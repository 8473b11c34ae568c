/**
 * Before anything is measured, each server must do the job once, as the contract says (PROTOCOL.md):
 * the handshake (`connected` with its fields, then `notification:unread_count` equal to the database's
 * count), POST /notifications refused 401 without a token, a targeted POST as ADMIN answered 2xx with
 * `{ ids }`, and its `notification:new` frame on the recipient's socket with the contract's fields. A
 * project that does not serve /ws/notifications or POST /notifications yet fails here, with the reason.
 */
import { io as socketIo } from "socket.io-client"
import { WebSocket } from "ws"
import type { ClientKind, Credential, ServerName } from "./Protocol.ts"

interface Frame {
  readonly event: string
  readonly data: unknown
}

const missing = (server: ServerName, what: string, answer: string) =>
  server === "project"
    ? `the project does not serve ${what} yet: ${answer}. The benchmark drives the project only through its contract (PROTOCOL.md, issue 8: ` +
      `/ws/notifications and POST /notifications); to measure the two peers alone meanwhile: BENCH_SERVERS=ws,socketio npm run bench -- notifications`
    : `${server}: ${what} is missing: ${answer}`

/** Opens a socket, sends `connect`, and hands every frame to `frames` until closed. */
const openJson = (server: ServerName, origin: string, token: string, frames: Array<Frame>) =>
  new Promise<{ close: () => void }>((resolve, reject) => {
    const ws = new WebSocket(`${origin.replace(/^http/, "ws")}/ws/notifications`, { perMessageDeflate: false, handshakeTimeout: 10_000 })
    ws.on("unexpected-response", (request, response) => {
      let body = ""
      response.on("data", (chunk: Buffer) => (body += chunk.toString()))
      response.on("end", () => {
        request.destroy()
        reject(
          new Error(
            response.statusCode === 404
              ? missing(server, "/ws/notifications", `the WebSocket upgrade of GET /ws/notifications answered 404 ${body.slice(0, 200)}`)
              : `${server}: the WebSocket upgrade of GET /ws/notifications answered ${response.statusCode} ${body.slice(0, 200)}`
          )
        )
      })
    })
    ws.on("error", (error) => reject(new Error(`${server}: /ws/notifications: ${error.message}`)))
    ws.on("open", () => {
      ws.send(JSON.stringify({ event: "connect", data: { auth: { token } } }))
      resolve({ close: () => ws.close(1000) })
    })
    ws.on("message", (raw: Buffer) => {
      try {
        frames.push(JSON.parse(raw.toString()) as Frame)
      } catch {
        frames.push({ event: "(not JSON)", data: raw.toString().slice(0, 200) })
      }
    })
    ws.on("close", (code, reason) => frames.push({ event: "(closed)", data: { code, reason: reason.toString() } }))
  })

const openSocketIo = (server: ServerName, origin: string, token: string, frames: Array<Frame>) =>
  new Promise<{ close: () => void }>((resolve, reject) => {
    const socket = socketIo(origin, { transports: ["websocket"], forceNew: true, reconnection: false, auth: { token }, timeout: 10_000 })
    socket.onAny((event: string, data: unknown) => frames.push({ event, data }))
    socket.on("connect_error", (error) => reject(new Error(`${server}: Socket.IO connect_error ${error.message}`)))
    socket.on("connect", () => resolve({ close: () => socket.disconnect() }))
    socket.on("disconnect", (reason) => frames.push({ event: "(closed)", data: { reason } }))
  })

const waitFor = async (frames: ReadonlyArray<Frame>, event: string, what: string, timeoutMs = 10_000) => {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const found = frames.find((f) => f.event === event)
    if (found !== undefined) return found
    const closed = frames.find((f) => f.event === "(closed)" || f.event === "error")
    if (closed !== undefined) throw new Error(`${what}: got ${JSON.stringify(closed).slice(0, 300)} instead of ${event}`)
    if (Date.now() > deadline) throw new Error(`${what}: no ${event} within ${timeoutMs / 1000} s; frames: ${JSON.stringify(frames).slice(0, 300)}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null

export const probe = async (options: {
  readonly server: ServerName
  readonly kind: ClientKind
  readonly origin: string
  readonly member: Credential
  readonly memberToken: () => Promise<string>
  readonly adminToken: () => Promise<string>
  readonly unreadInDatabase: () => Promise<number>
}) => {
  const { server, origin, member } = options
  const fail = (what: string): never => {
    throw new Error(`${server}: ${what}`)
  }
  const frames: Array<Frame> = []
  const socket = await (options.kind === "json" ? openJson : openSocketIo)(server, origin, await options.memberToken(), frames)
  try {
    const connected = await waitFor(frames, "connected", `${server}: the handshake`)
    const fields = ["connectionId", "userId", "organizationId", "sessionId", "expiresAt", "rooms"]
    if (!isObject(connected.data) || fields.some((field) => !(field in (connected.data as object)))) {
      fail(`connected must carry ${fields.join(", ")}; got ${JSON.stringify(connected.data)}`)
    }
    const data = connected.data as Record<string, unknown>
    if (data.userId !== member.userId || data.organizationId !== member.organizationId || data.sessionId !== member.sessionId) {
      fail(`connected names another user, organization or session: ${JSON.stringify(data)}`)
    }
    const count = await waitFor(frames, "notification:unread_count", `${server}: the handshake`)
    const expected = await options.unreadInDatabase()
    if (!isObject(count.data) || count.data.unreadCount !== expected) fail(`notification:unread_count: expected ${expected}, got ${JSON.stringify(count.data)}`)

    const anonymous = await fetch(`${origin}/notifications`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ title: "x", body: "x" }) })
    const anonymousText = await anonymous.text()
    if (anonymous.status === 404) throw new Error(missing(server, "POST /notifications", `it answered 404 ${anonymousText.slice(0, 200)}`))
    if (anonymous.status !== 401) fail(`POST /notifications without a token answered ${anonymous.status} ${anonymousText.slice(0, 200)}, not 401`)

    const title = `[probe:${server}:${Date.now()}]`
    const created = await fetch(`${origin}/notifications`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${await options.adminToken()}` },
      body: JSON.stringify({ userId: member.userId, title, body: "probe" })
    })
    const createdText = await created.text()
    if (created.status < 200 || created.status >= 300) fail(`POST /notifications as ADMIN answered ${created.status} ${createdText.slice(0, 300)}`)
    const ids = (JSON.parse(createdText) as { ids?: unknown }).ids
    if (!Array.isArray(ids) || ids.length !== 1 || typeof ids[0] !== "string") fail(`POST /notifications with a userId must answer { ids: [one decimal string] }; got ${createdText.slice(0, 300)}`)
    const arrived = await waitFor(frames, "notification:new", `${server}: delivery of a targeted notification`)
    const notification = isObject(arrived.data) ? arrived.data.notification : undefined
    if (
      !isObject(notification) || notification.id !== (ids as Array<string>)[0] || notification.title !== title || notification.body !== "probe" ||
      typeof notification.type !== "string" || typeof notification.createdAt !== "string" || Number.isNaN(Date.parse(notification.createdAt)) ||
      notification.readAt !== null
    ) {
      fail(`notification:new must carry { notification: { id: ${JSON.stringify((ids as Array<string>)[0])}, type, title, body, createdAt, readAt: null } }; got ${JSON.stringify(arrived.data).slice(0, 300)}`)
    }
  } finally {
    socket.close()
  }
}
