/**
 * The Socket.IO 4.8 peer, written the way its users write one: a `Server` on a node:http server, an
 * `io.use` middleware that verifies the token from `socket.handshake.auth` (then the Authorization
 * header, then the query) and checks the session, rooms `user:<id>` and `org:<id>` joined on connection,
 * the unread count read from the database and emitted, and `io.to("user:<id>").emit("notification:new", …)`
 * for every committed row (each recipient has a row, and an id, of their own), then the user's new unread
 * count. Single process, in-memory adapter (no cluster adapter), Socket.IO's defaults otherwise (heartbeat
 * every 25 s). The auth, database and HTTP work is PeerWork.ts, shared with the bare ws peer.
 * Env: as bench/notifications/ws.ts.
 */
import * as Http from "node:http"
import { Server } from "socket.io"
import { stopOn } from "../http/Peer.ts"
import { AuthFailure, connectedData, type LoadedNotification, makePeerWork, type SocketUser, tokenOf } from "./PeerWork.ts"

const work = await makePeerWork("bench-notif-socketio", "bench_socketio_notifications")

interface SocketData {
  user: SocketUser
}

interface ServerToClient {
  connected: (data: { connectionId: string; userId: string; organizationId: string; sessionId: string; expiresAt: string; rooms: Array<string> }) => void
  "notification:unread_count": (data: { unreadCount: number }) => void
  "notification:new": (data: { notification: LoadedNotification["notification"] }) => void
  error: (data: { code: string; message: string }) => void
}

interface ClientToServer {
  ping: (data: unknown, ack?: (reply: { serverTime: string }) => void) => void
}

const server = Http.createServer(work.handleHttp)
const io = new Server<ClientToServer, ServerToClient, Record<string, never>, SocketData>(server, {
  serveClient: false,
  maxHttpBufferSize: Number(process.env.WS_MAX_FRAME_BYTES ?? 64 * 1024)
})

/** Unread count per connected user (a user's count is the same on all their sockets). */
const unread = new Map<string, number>()

io.use((socket, next) => {
  const token = tokenOf(socket.handshake.auth, socket.handshake.headers.authorization, socket.request.url)
  work.authenticate(token).then(
    (user) => {
      socket.data.user = user
      next()
    },
    (cause: unknown) => {
      const code = cause instanceof AuthFailure ? cause.code : "UNAVAILABLE"
      if (!(cause instanceof AuthFailure)) console.error("connect failed", cause)
      next(Object.assign(new Error(code), { data: { code, message: cause instanceof Error ? cause.message : String(cause) } }))
    }
  )
})

io.on("connection", async (socket) => {
  const user = socket.data.user
  socket.join([`user:${user.userId}`, `org:${user.organizationId}`])
  socket.on("disconnect", () => {
    if (!io.sockets.adapter.rooms.has(`user:${user.userId}`)) unread.delete(user.userId)
  })
  socket.on("ping", (_data, ack) => ack?.({ serverTime: new Date().toISOString() }))
  try {
    const count = await work.unreadCount(user.userId)
    if (!socket.connected) return
    unread.set(user.userId, count)
    socket.emit("connected", connectedData(user))
    socket.emit("notification:unread_count", { unreadCount: count })
  } catch (cause) {
    console.error("unread count failed", cause)
    socket.emit("error", { code: "UNAVAILABLE", message: "try again later" })
    socket.disconnect(true)
  }
})

const deliver = (rows: ReadonlyArray<LoadedNotification>) => {
  for (const { userId, notification } of rows) {
    const room = `user:${userId}`
    const count = unread.get(userId)
    if (count === undefined) continue
    io.to(room).emit("notification:new", { notification })
    unread.set(userId, count + 1)
    io.to(room).emit("notification:unread_count", { unreadCount: count + 1 })
  }
}

const stopListening = await work.listen(deliver)

await new Promise<void>((resolve) => server.listen(Number(process.env.PORT ?? 3000), process.env.HOST ?? "127.0.0.1", 511, resolve))
stopOn(async () => {
  io.disconnectSockets(true)
  await io.close()
  await stopListening()
  await work.close()
})
