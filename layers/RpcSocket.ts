import type { HttpApp } from "@effect/platform"
import { Context, type Scope } from "effect"

/** The RPC protocol's handler of one upgraded /rpc WebSocket (layers/RpcLive.ts), for layers/SocketsLive.ts. */
export class RpcSocket extends Context.Tag("casecore/RpcSocket")<
  RpcSocket,
  { readonly httpApp: HttpApp.Default<never, Scope.Scope> }
>() {}
