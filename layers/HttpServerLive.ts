import { HttpServer, HttpServerError } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { Context, Duration, Effect, FiberRef, Layer, LogLevel, Runtime } from "effect"
import * as Http from "node:http"
import type * as Net from "node:net"
import { errorCatalog } from "../src/domain/Errors.ts"
import { Metrics } from "../services/Metrics.ts"
import { stampClient, trustProxyConfig } from "./ClientAddress.ts"
import { httpConfig } from "./HttpConfig.ts"
import { NodeServer, traceIdKey } from "./NodeServer.ts"

type Tracked = Http.IncomingMessage & { [traceIdKey]?: string }

/** Kept from the shutdown budget for closing the pool and stopping the embedded database. */
const stopReserveMs = 3_000

const tooLarge = JSON.stringify({ code: "PAYLOAD_TOO_LARGE", message: "the body is larger than the server accepts" })

/**
 * The project's own node http.Server (DESIGN: layers/HttpServer owns it). Requests go to the platform's
 * handler; in front of it, without building any Effect: the client address is stamped, a declared body
 * over HTTP_MAX_BODY_BYTES is answered 413 before it is read, and every answer is counted and logged
 * with the status actually sent (499: the client went away first). Upgrades belong to layers/SocketsLive.ts.
 *
 * Shutdown is a bounded drain: stop listening; answer what arrives on open connections with
 * `Connection: close`; give idle keep-alive connections a moment to send their next request, then close
 * them; let requests in flight finish; at HTTP_DRAIN_TIMEOUT close whatever is left.
 */
const make = Effect.gen(function* () {
  const config = yield* httpConfig
  const trustProxy = yield* trustProxyConfig
  const metrics = yield* Metrics
  const runtime = yield* Effect.runtime<never>()
  const logRequests = LogLevel.lessThanEqual(yield* FiberRef.get(FiberRef.currentMinimumLogLevel), LogLevel.Info)
  const log = Runtime.runSync(runtime)
  // What is left of SHUTDOWN_TIMEOUT after the connections are closed is for the pool and the database.
  const drainMs = Duration.toMillis(config.shutdownTimeout) - stopReserveMs

  const server = Http.createServer({ keepAliveTimeout: 5_000 })
  const connections = new Set<Net.Socket>()
  const busy = new Set<Net.Socket>()
  let inFlight = 0
  let deadline: number | undefined
  let onIdle: (() => void) | undefined

  const beginShutdown = () => (deadline ??= Date.now() + drainMs)
  const draining = () => deadline !== undefined

  server.on("connection", (socket) => {
    connections.add(socket)
    socket.once("close", () => {
      connections.delete(socket)
      busy.delete(socket)
      onIdle?.()
    })
  })

  const record = (request: Tracked, response: Http.ServerResponse, started: number) => {
    inFlight--
    busy.delete(request.socket)
    const status = response.writableFinished ? response.statusCode : 499
    const seconds = (performance.now() - started) / 1000
    metrics.httpRequests.inc({ method: request.method ?? "GET", status: String(status) })
    metrics.httpDuration.observe({}, seconds)
    if (logRequests) {
      const path = (request.url ?? "/").split("?")[0]
      const traceId = request[traceIdKey]
      log(Effect.logInfo("http").pipe(Effect.annotateLogs({
        method: request.method,
        path,
        status,
        ms: Math.round(seconds * 10_000) / 10,
        ...(traceId === undefined ? {} : { traceId })
      })))
    }
    onIdle?.()
  }

  const front = (handler: (request: Http.IncomingMessage, response: Http.ServerResponse) => void) =>
    (request: Http.IncomingMessage, response: Http.ServerResponse) => {
      const started = performance.now()
      inFlight++
      busy.add(request.socket)
      response.once("close", () => record(request, response, started))
      if (deadline !== undefined) response.shouldKeepAlive = false
      stampClient(request, trustProxy)
      const declared = request.headers["content-length"]
      if (declared !== undefined && Number(declared) > config.maxBodyBytes) {
        response.shouldKeepAlive = false
        response.writeHead(errorCatalog.PAYLOAD_TOO_LARGE.status, { "content-type": "application/json" }).end(tooLarge)
        return
      }
      // A body without a declared length is cut by the platform at the same limit (413): close that
      // connection too, the rest of the body is not wanted.
      response.once("finish", () => {
        if (response.statusCode === errorCatalog.PAYLOAD_TOO_LARGE.status) request.socket.end()
      })
      handler(request, response)
    }

  const drain = Effect.async<void>((resume) => {
    const until = beginShutdown()
    const begun = performance.now()
    log(Effect.logInfo("drain began", { connections: connections.size, inFlight }))
    // Stop accepting, without node's closeIdleConnections(): a request already on its way over an idle
    // keep-alive connection would be reset.
    const netClose = Object.getPrototypeOf(Http.Server.prototype).close as (this: Http.Server) => void
    netClose.call(server)
    const remaining = Math.max(0, until - Date.now())
    const idleGrace = setTimeout(() => {
      for (const socket of connections) if (!busy.has(socket)) socket.destroy()
    }, Math.min(1_000, remaining / 2))
    const cutoff = setTimeout(() => {
      server.closeAllConnections()
      for (const socket of connections) socket.destroy()
      finish("deadline")
    }, remaining)
    const finish = (how: string) => {
      onIdle = undefined
      clearTimeout(idleGrace)
      clearTimeout(cutoff)
      log(Effect.logInfo("drain ended", { how, ms: Math.round(performance.now() - begun), closedConnections: connections.size }))
      resume(Effect.void)
    }
    onIdle = () => {
      if (inFlight === 0 && connections.size === 0) finish("all connections closed")
    }
    onIdle()
  })

  const closers: Array<Effect.Effect<void>> = []
  const shutdown = Effect.suspend(() => {
    const first = deadline === undefined
    beginShutdown()
    return first ? Effect.all([drain, ...closers], { concurrency: "unbounded", discard: true }) : Effect.void
  })

  yield* Effect.acquireRelease(
    Effect.async<void, HttpServerError.ServeError>((resume) => {
      server.once("error", (cause) => resume(Effect.fail(new HttpServerError.ServeError({ cause }))))
      server.listen(config.port, config.host, () => resume(Effect.void))
    }),
    () => shutdown
  )

  const address = server.address() as Net.AddressInfo
  const httpServer = HttpServer.make({
    address: { _tag: "TcpAddress", hostname: address.address === "::" ? "0.0.0.0" : address.address, port: address.port },
    serve: (app, middleware) =>
      Effect.gen(function* () {
        const handler = front(yield* (middleware === undefined ? NodeHttpServer.makeHandler(app) : NodeHttpServer.makeHandler(app, middleware)))
        server.on("request", handler)
        yield* Effect.addFinalizer(() => Effect.sync(() => server.off("request", handler)))
      })
  })
  return { httpServer, node: NodeServer.of({ server, draining, beginShutdown, onShutdown: (close) => void closers.push(close), shutdown }) }
})

/** The HTTP server, its node server (for upgrades) and the platform services requests need. */
export const HttpServerLive = Layer.scopedContext(
  Effect.map(make, ({ httpServer, node }) => Context.make(HttpServer.HttpServer, httpServer).pipe(Context.add(NodeServer, node)))
).pipe(Layer.provideMerge(NodeHttpServer.layerContext))
