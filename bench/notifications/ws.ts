/**
 * The bare `ws` peer (the floor): a `ws` WebSocketServer (noServer, frame limit, no deflate, no client
 * tracking) on a node:http server, serving the project's JSON protocol on /ws/notifications (PROTOCOL.md):
 * first frame `connect` with the token -> `connected` + `notification:unread_count`; `notification:new`
 * (then the user's new unread count) for every committed row of theirs. Rooms are Maps of Sets; a
 * notification is serialized once and the same buffer written to every connection of its user. The auth,
 * database and HTTP work is PeerWork.ts, shared with the Socket.IO peer.
 * Env: PORT, HOST, DATABASE_URL, DB_POOL_MAX, JWT_PRIVATE_KEY, JWT_ALGORITHM, JWT_KEY_ID, WS_MAX_FRAME_BYTES.
 */
import * as Http from "node:http"
import { WebSocket, WebSocketServer } from "ws"
import { stopOn } from "../http/Peer.ts"
import { AuthFailure, connectedData, type LoadedNotification, makePeerWork, type SocketUser, tokenOf } from "./PeerWork.ts"

const work = await makePeerWork("bench-notif-ws", "bench_ws_notifications")

interface Connection {
  readonly ws: WebSocket
  readonly request: Http.IncomingMessage
  /** "new": waiting for `connect`; "pending": being authenticated; "open". */
  state: "new" | "pending" | "open"
  user: SocketUser | undefined
  deadline: NodeJS.Timeout | undefined
  alive: boolean
}

interface UserRoom {
  readonly connections: Set<Connection>
  unread: number
}

/** Room `user:<id>` (with the user's unread count) and `org:<id>`. */
const users = new Map<string, UserRoom>()
const orgs = new Map<string, Set<Connection>>()
const open = new Set<Connection>()

const frame = (event: string, data: unknown, id?: unknown) => JSON.stringify(id === undefined ? { event, data } : { event, id, data })

const fail = (connection: Connection, code: string, message: string, closeCode: number, id?: unknown) => {
  connection.ws.send(frame("error", { code, message }, id))
  connection.ws.close(closeCode, code)
}

const join = (connection: Connection, user: SocketUser, unread: number) => {
  let room = users.get(user.userId)
  if (room === undefined) users.set(user.userId, (room = { connections: new Set(), unread }))
  room.unread = unread
  room.connections.add(connection)
  let org = orgs.get(user.organizationId)
  if (org === undefined) orgs.set(user.organizationId, (org = new Set()))
  org.add(connection)
  open.add(connection)
}

const leave = (connection: Connection) => {
  open.delete(connection)
  const user = connection.user
  if (user === undefined || connection.state !== "open") return
  const room = users.get(user.userId)
  if (room !== undefined) {
    room.connections.delete(connection)
    if (room.connections.size === 0) users.delete(user.userId)
  }
  const org = orgs.get(user.organizationId)
  if (org !== undefined) {
    org.delete(connection)
    if (org.size === 0) orgs.delete(user.organizationId)
  }
}

const handshake = async (connection: Connection, data: unknown, id: unknown) => {
  connection.state = "pending"
  let user: SocketUser
  let unread: number
  try {
    const auth = typeof data === "object" && data !== null ? (data as { auth?: unknown }).auth : undefined
    user = await work.authenticate(tokenOf(auth, connection.request.headers.authorization, connection.request.url))
    unread = await work.unreadCount(user.userId)
  } catch (cause) {
    if (connection.ws.readyState !== WebSocket.OPEN) return
    if (cause instanceof AuthFailure) return fail(connection, cause.code, cause.message, cause.code === "UNAVAILABLE" ? 1013 : 4401, id)
    console.error("connect failed", cause)
    return fail(connection, "UNAVAILABLE", "try again later", 1013, id)
  }
  if (connection.ws.readyState !== WebSocket.OPEN) return
  clearTimeout(connection.deadline)
  connection.deadline = undefined
  connection.user = user
  connection.state = "open"
  join(connection, user, unread)
  connection.ws.send(frame("connected", connectedData(user), id))
  connection.ws.send(frame("notification:unread_count", { unreadCount: unread }))
}

const onMessage = (connection: Connection, raw: WebSocket.RawData, isBinary: boolean) => {
  if (isBinary) return connection.ws.send(frame("error", { code: "BAD_REQUEST", message: "frames must be text" }))
  let message: unknown
  try {
    message = JSON.parse(raw.toString())
  } catch {
    return connection.ws.send(frame("error", { code: "BAD_REQUEST", message: "a frame must be a JSON object" }))
  }
  if (typeof message !== "object" || message === null || typeof (message as { event?: unknown }).event !== "string") {
    return connection.ws.send(frame("error", { code: "BAD_REQUEST", message: "a frame must be a JSON object with an event" }))
  }
  const { event, data, id } = message as { event: string; data?: unknown; id?: unknown }
  if (event === "connect") {
    if (connection.state !== "new") return fail(connection, "ALREADY_CONNECTED", "already connected", 4429, id)
    return void handshake(connection, data, id)
  }
  if (connection.state !== "open") return fail(connection, "UNAUTHORIZED", "connect first", 4401, id)
  if (event === "ping") return connection.ws.send(frame("ack", { serverTime: new Date().toISOString() }, id))
  connection.ws.send(frame("error", { code: "UNKNOWN_EVENT", message: `unknown event ${event}` }, id))
}

const wss = new WebSocketServer({
  noServer: true,
  maxPayload: Number(process.env.WS_MAX_FRAME_BYTES ?? 64 * 1024),
  perMessageDeflate: false,
  clientTracking: false
})

const server = Http.createServer(work.handleHttp)
server.on("upgrade", (request: Http.IncomingMessage, socket, head) => {
  const path = (request.url ?? "/").split("?")[0]
  if (path !== "/ws/notifications") {
    socket.end("HTTP/1.1 404 Not Found\r\nconnection: close\r\ncontent-length: 0\r\n\r\n")
    return
  }
  wss.handleUpgrade(request, socket, head, (ws) => {
    const connection: Connection = { ws, request, state: "new", user: undefined, deadline: undefined, alive: true }
    // Only until `connect` succeeds: no timer stays on an idle connection.
    connection.deadline = setTimeout(() => fail(connection, "AUTH_TIMEOUT", "no connect within 10 s", 4408), 10_000)
    ws.on("error", () => undefined)
    ws.on("message", (raw, isBinary) => onMessage(connection, raw, isBinary))
    ws.on("pong", () => {
      connection.alive = true
    })
    ws.on("close", () => {
      clearTimeout(connection.deadline)
      leave(connection)
    })
  })
})

/** Each row to every connection of its user: serialized once, the same bytes to each; then the new unread count. */
const deliver = (rows: ReadonlyArray<LoadedNotification>) => {
  for (const { userId, notification } of rows) {
    const room = users.get(userId)
    if (room === undefined) continue
    const bytes = Buffer.from(frame("notification:new", { notification }))
    room.unread++
    const count = Buffer.from(frame("notification:unread_count", { unreadCount: room.unread }))
    for (const connection of room.connections) {
      connection.ws.send(bytes, { binary: false })
      connection.ws.send(count, { binary: false })
    }
  }
}

const stopListening = await work.listen(deliver)

// One sweep for every connection every 30 s: a peer that has not answered the previous ping is terminated.
const sweep = setInterval(() => {
  for (const connection of open) {
    if (!connection.alive) {
      connection.ws.terminate()
      continue
    }
    connection.alive = false
    connection.ws.ping()
  }
}, 30_000)

await new Promise<void>((resolve) => server.listen(Number(process.env.PORT ?? 3000), process.env.HOST ?? "127.0.0.1", 511, resolve))
stopOn(async () => {
  clearInterval(sweep)
  for (const connection of open) connection.ws.terminate()
  server.closeAllConnections()
  await new Promise((resolve) => server.close(resolve))
  await stopListening()
  await work.close()
})
