import { HttpServerRequest, Socket } from "@effect/platform"
import { Config, Effect, Exit, Layer, Runtime, Scope } from "effect"
import type * as Http from "node:http"
import type * as Net from "node:net"
import { type WebSocket, WebSocketServer } from "ws"
import { stampClient, trustProxyConfig } from "./ClientAddress.ts"
import { NodeServer } from "./NodeServer.ts"
import { RpcSocket } from "./RpcSocket.ts"

const socketsConfig = Config.all({
  maxPayload: Config.integer("WS_MAX_FRAME_BYTES").pipe(
    Config.validate({ message: "expected a byte count from 1024", validation: (n) => n >= 1024 }),
    Config.withDefault(64 * 1024)
  ),
  allowedOrigins: Config.string("WS_ALLOWED_ORIGINS").pipe(
    Config.withDefault(""),
    Config.map((list) => new Set(list.split(",").map((origin) => origin.trim()).filter((origin) => origin !== "")))
  )
})

/** How long sockets get to answer the close handshake at shutdown before they are dropped. */
const closeGraceMs = 3_000

/** Refuses an upgrade with a plain HTTP answer, before any WebSocket exists. */
const refuse = (socket: Net.Socket, status: number, reason: string) => {
  const body = JSON.stringify({ code: reason, message: reason })
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`)
}

/** The upgraded socket as the HttpServerRequest the RPC protocol's handler expects: it reads `upgrade` and `headers`. */
const upgradedRequest = (request: Http.IncomingMessage, ws: WebSocket) => {
  const headers = new Headers()
  for (const [name, value] of Object.entries(request.headers)) {
    if (typeof value === "string") headers.set(name, value)
  }
  const base = HttpServerRequest.fromWeb(new Request(`http://localhost${request.url ?? "/"}`, { headers }))
  const socket = Socket.fromWebSocket(Effect.succeed(ws as unknown as globalThis.WebSocket))
  return Object.create(base, { upgrade: { value: socket } }) as HttpServerRequest.HttpServerRequest
}

/**
 * The server's `upgrade` event, owned here with one `ws` server (noServer: NodeHttpServer's own would
 * accept 100 MiB frames): the frame limit is ws's maxPayload (a larger frame closes 1009), and before
 * any handshake an unknown path is 404, a disallowed Origin 403, a draining server 503.
 */
export const SocketsLive = Layer.scopedDiscard(
  Effect.gen(function* () {
    const { beginShutdown, draining, onShutdown, server } = yield* NodeServer
    const rpc = yield* RpcSocket
    const config = yield* socketsConfig
    const trustProxy = yield* trustProxyConfig
    const runFork = Runtime.runFork(yield* Effect.runtime<never>())
    const wss = new WebSocketServer({ noServer: true, maxPayload: config.maxPayload, perMessageDeflate: false, clientTracking: false })
    const open = new Set<WebSocket>()

    const serveRpc = (ws: WebSocket, request: Http.IncomingMessage) =>
      Effect.gen(function* () {
        const scope = yield* Scope.make()
        ws.once("close", () => runFork(Scope.close(scope, Exit.void)))
        yield* rpc.httpApp.pipe(
          Effect.provideService(HttpServerRequest.HttpServerRequest, upgradedRequest(request, ws)),
          Scope.extend(scope),
          Effect.catchAllCause((cause) => Effect.logDebug("rpc socket ended", cause))
        )
      })

    const onUpgrade = (request: Http.IncomingMessage, socket: Net.Socket, head: Buffer) => {
      socket.on("error", () => socket.destroy())
      const path = (request.url ?? "/").split("?")[0]
      if (draining()) return refuse(socket, 503, "SERVER_SHUTDOWN")
      const origin = request.headers.origin
      if (origin !== undefined && !config.allowedOrigins.has(origin)) return refuse(socket, 403, "FORBIDDEN")
      if (path !== "/rpc") return refuse(socket, 404, "NOT_FOUND")
      stampClient(request, trustProxy)
      wss.handleUpgrade(request, socket, head, (ws) => {
        // An oversized frame emits 'error' before ws closes with 1009; unhandled, it would kill the process.
        ws.on("error", () => undefined)
        open.add(ws)
        ws.once("close", () => open.delete(ws))
        runFork(serveRpc(ws, request))
      })
    }

    server.on("upgrade", onUpgrade)
    yield* Effect.addFinalizer(() => Effect.sync(() => server.off("upgrade", onUpgrade)))
    // At shutdown: 1001 to every socket, then whatever has not finished its close handshake is dropped.
    onShutdown(
      Effect.gen(function* () {
        const deadline = beginShutdown()
        server.off("upgrade", onUpgrade)
        if (open.size === 0) return
        yield* Effect.logInfo("closing sockets", { sockets: open.size })
        for (const ws of open) ws.close(1001, "SERVER_SHUTDOWN")
        yield* Effect.async<void>((resume) => {
          const check = setInterval(() => open.size === 0 && done(), 50)
          const cutoff = setTimeout(() => done(), Math.max(0, Math.min(closeGraceMs, deadline - Date.now())))
          const done = () => {
            clearInterval(check)
            clearTimeout(cutoff)
            for (const ws of open) ws.terminate()
            resume(Effect.void)
          }
        })
      })
    )
  })
)
