import { Socket } from "@effect/platform"
import { Layer } from "effect"
import { WebSocket } from "ws"
import { type ClientOptions, layerWebSocket } from "./ApiClient.ts"

/** Node has no global WebSocket before v22: the `ws` package's, for the typed client over WebSocket. */
const WebSocketConstructorLive = Layer.succeed(
  Socket.WebSocketConstructor,
  (url: string, protocols?: string | Array<string>) => new WebSocket(url, protocols) as unknown as globalThis.WebSocket
)

/** The typed client over one WebSocket, in Node. */
export const layerWebSocketNode = (options: ClientOptions) => layerWebSocket(options).pipe(Layer.provide(WebSocketConstructorLive))
