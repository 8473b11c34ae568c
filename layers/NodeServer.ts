import { Context, type Effect } from "effect"
import type * as Http from "node:http"

/** The process's node http.Server, owned by layers/HttpServerLive.ts, and whether it is draining. */
export class NodeServer extends Context.Tag("casecore/NodeServer")<
  NodeServer,
  {
    readonly server: Http.Server
    /** True from the moment a shutdown begins: /readyz answers 503, new sockets are refused. */
    readonly draining: () => boolean
    /**
     * Begins the shutdown (idempotent) and returns its deadline (epoch ms): sockets and HTTP connections
     * must be closed by then, so that the pool and the embedded database still stop within SHUTDOWN_TIMEOUT.
     */
    readonly beginShutdown: () => number
    /** Registers work for the shutdown (closing sockets): run beside the HTTP drain, within the deadline. */
    readonly onShutdown: (close: Effect.Effect<void>) => void
    /**
     * The graceful shutdown: stop accepting, run what was registered and drain HTTP connections, all
     * by the deadline. Run first when the application stops (layers/Main.ts), before any route goes.
     */
    readonly shutdown: Effect.Effect<void>
  }
>() {}

/** Set on the node request by the edge middleware when tracing is on, so the request log line carries the trace id. */
export const traceIdKey = Symbol.for("casecore/traceId")
