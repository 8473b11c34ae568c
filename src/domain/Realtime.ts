import type { AuthenticatedUser } from "./Auth.ts"

/**
 * A client connected for live events, as the hub sees it (src/socket/ implements it over a WebSocket).
 * `send` writes one text frame (bytes shared between recipients); `close` sends the error frame of the
 * code, then closes with its close code.
 */
export interface Peer {
  readonly connectionId: string
  readonly user: AuthenticatedUser
  /** Rooms joined, e.g. `user:<id>`, `org:<id>`, `case:<id>`. */
  readonly rooms: Set<string>
  /** The highest notification id delivered (catch-up and de-duplication); 0n before any. */
  lastNotificationId: bigint
  /** While the handshake replays missed notifications, live ones wait here, then go out in order. */
  held: Array<{ readonly id: bigint; readonly frame: Uint8Array }> | undefined
  readonly send: (frame: Uint8Array) => void
  readonly close: (code: "SESSION_REVOKED" | "USER_INACTIVE" | "TOKEN_EXPIRED" | "SERVER_SHUTDOWN" | "SLOW_CONSUMER") => void
}

/** The rooms a connection may ask for: one case or investigation of its organization. */
export const entityRoom = /^(case|investigation):([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/i
