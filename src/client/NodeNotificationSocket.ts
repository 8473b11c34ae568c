import { WebSocket } from "ws"
import { make, type NotificationSocketOptions, type WebSocketConstructor } from "./NotificationSocket.ts"

/** Node has no global WebSocket before v22: the `ws` package's (text frames arrive as strings). */
export const nodeWebSocket: WebSocketConstructor = (url) => new WebSocket(url, { perMessageDeflate: false })

/** The notification socket client, in Node. */
export const makeNode = (options: Omit<NotificationSocketOptions, "WebSocket">) => make({ ...options, WebSocket: nodeWebSocket })
