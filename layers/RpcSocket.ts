import { Context, type Effect } from "effect"
import type { WebSocket } from "ws"

/** The RPC protocol's side of an upgraded /rpc WebSocket (layers/RpcLive.ts), for layers/SocketsLive.ts. */
export class RpcSocket extends Context.Tag("casecore/RpcSocket")<
  RpcSocket,
  {
    /** Serves the socket until it closes; `headers` are the upgrade request's. */
    readonly attach: (ws: WebSocket, headers: ReadonlyArray<[string, string]>) => Effect.Effect<void>
  }
>() {}
