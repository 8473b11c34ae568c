import { Context } from "effect"
import type * as Http from "node:http"

/** The process's node http.Server, owned by layers/HttpServerLive.ts, and whether it is draining. */
export class NodeServer extends Context.Tag("casecore/NodeServer")<
  NodeServer,
  {
    readonly server: Http.Server
    /** True from the moment a shutdown begins: /readyz answers 503, new sockets are refused. */
    readonly draining: () => boolean
  }
>() {}

/** Set on the node request by the edge middleware when tracing is on, so the request log line carries the trace id. */
export const traceIdKey = Symbol.for("casecore/traceId")
