import { Config, Duration, Effect, Layer, Runtime } from "effect"
import type * as Http from "node:http"
import type * as Net from "node:net"
import { type WebSocket, WebSocketServer } from "ws"
import { addressOf, stampClient, trustProxyConfig } from "./ClientAddress.ts"
import { NodeServer } from "./NodeServer.ts"
import { RpcSocket } from "./RpcSocket.ts"
import type { Endpoint } from "../src/socket/Connection.ts"
import { makeSocketEndpoint } from "../src/socket/SocketEndpoint.ts"

const socketsConfig = Config.all({
  maxPayload: Config.integer("WS_MAX_FRAME_BYTES").pipe(
    Config.validate({ message: "expected a byte count from 1024", validation: (n) => n >= 1024 }),
    Config.withDefault(64 * 1024)
  ),
  allowedOrigins: Config.string("WS_ALLOWED_ORIGINS").pipe(
    Config.withDefault(""),
    Config.map((list) => new Set(list.split(",").map((origin) => origin.trim()).filter((origin) => origin !== "")))
  ),
  maxPerAddress: Config.integer("WS_MAX_SOCKETS_PER_ADDRESS").pipe(Config.withDefault(50)),
  maxBufferedBytes: Config.integer("WS_MAX_BUFFERED_BYTES").pipe(Config.withDefault(1024 * 1024)),
  graceMs: Config.duration("SOCKET_GRACE_PERIOD").pipe(Config.map(Duration.toMillis), Config.withDefault(300_000))
})

/** `Authorization: Bearer <jwt>` on the upgrade request, else `?token=<jwt>` (the URL is never logged). */
const upgradeToken = (request: Http.IncomingMessage) => {
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? "")?.[1]
  if (bearer !== undefined) return bearer
  const query = (request.url ?? "").indexOf("?")
  return query < 0 ? undefined : new URLSearchParams(request.url!.slice(query + 1)).get("token") ?? undefined
}

const endpoints: Readonly<Record<string, Endpoint>> = { "/ws/notifications": "notifications", "/ws/ai": "ai" }

/** How long sockets get to answer the close handshake at shutdown before they are dropped. */
const closeGraceMs = 3_000

/** Refuses an upgrade with a plain HTTP answer, before any WebSocket exists. */
const refuse = (socket: Net.Socket, status: number, reason: string) => {
  const body = JSON.stringify({ code: reason, message: reason })
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`)
}

/**
 * The server's `upgrade` event, owned here with one `ws` server (noServer: NodeHttpServer's own would
 * accept 100 MiB frames): the frame limit is ws's maxPayload (a larger frame closes 1009), and before
 * any handshake an unknown path is 404, a disallowed Origin 403, a draining server 503, an address over
 * its socket cap 429. `/rpc` goes to the RPC protocol; `/ws/notifications` and `/ws/ai` to the socket
 * endpoint (src/socket/SocketEndpoint.ts), whose deadlines one scheduler fiber runs for the instance.
 */
export const SocketsLive = Layer.scopedDiscard(
  Effect.gen(function* () {
    const { beginShutdown, draining, onShutdown, server } = yield* NodeServer
    const rpc = yield* RpcSocket
    const config = yield* socketsConfig
    const sockets = yield* makeSocketEndpoint({
      framesPerSecond: 50,
      frameBurst: 100,
      maxBufferedBytes: config.maxBufferedBytes,
      graceMs: config.graceMs,
      authTimeoutMs: 10_000
    })
    // The one scheduler of the instance: handshake and token deadlines, pings; on Effect's Clock.
    yield* Effect.forkScoped(sockets.run)
    const trustProxy = yield* trustProxyConfig
    const runFork = Runtime.runFork(yield* Effect.runtime<never>())
    const wss = new WebSocketServer({ noServer: true, maxPayload: config.maxPayload, perMessageDeflate: false, clientTracking: false })
    const open = new Set<WebSocket>()
    const perAddress = new Map<string, number>()

    /** The upgrade request's headers as RPC merges them under each call's own (the stamped client included). */
    const headersOf = (request: Http.IncomingMessage): ReadonlyArray<[string, string]> =>
      Object.entries(request.headers).flatMap(([name, value]) => (typeof value === "string" ? [[name, value] as [string, string]] : []))

    const onUpgrade = (request: Http.IncomingMessage, socket: Net.Socket, head: Buffer) => {
      socket.on("error", () => socket.destroy())
      const path = (request.url ?? "/").split("?")[0]
      if (draining()) return refuse(socket, 503, "SERVER_SHUTDOWN")
      const origin = request.headers.origin
      if (origin !== undefined && !config.allowedOrigins.has(origin)) return refuse(socket, 403, "FORBIDDEN")
      const endpoint = endpoints[path ?? ""]
      if (path !== "/rpc" && endpoint === undefined) return refuse(socket, 404, "NOT_FOUND")
      const address = addressOf(request, trustProxy)
      const held = perAddress.get(address) ?? 0
      if (held >= config.maxPerAddress) return refuse(socket, 429, "RATE_LIMITED")
      stampClient(request, trustProxy)
      // Taken from the request now: a closure below that named `request` would keep it (and its headers)
      // alive for the socket's whole life.
      const rpcHeaders = endpoint === undefined ? headersOf(request) : undefined
      const token = endpoint === undefined ? undefined : upgradeToken(request)
      wss.handleUpgrade(request, socket, head, (ws) => {
        // An oversized frame emits 'error' before ws closes with 1009; unhandled, it would kill the process.
        ws.on("error", () => undefined)
        open.add(ws)
        perAddress.set(address, (perAddress.get(address) ?? 0) + 1)
        ws.once("close", () => {
          open.delete(ws)
          const left = (perAddress.get(address) ?? 1) - 1
          if (left === 0) perAddress.delete(address)
          else perAddress.set(address, left)
        })
        if (endpoint === undefined) return runFork(rpc.attach(ws, rpcHeaders ?? []))
        sockets.accept(ws, endpoint, token)
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
        yield* sockets.closeAll
        for (const ws of open) if (ws.readyState === ws.OPEN) ws.close(1001, "SERVER_SHUTDOWN")
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
