import type { Scope } from "effect"
import type { WebSocket } from "ws"
import type { AuthenticatedUser } from "../domain/Auth.ts"
import type { ErrorCode } from "../domain/Errors.ts"
import type { Peer } from "../domain/Realtime.ts"
import { closeCodeOf, errorFrame } from "./Frames.ts"

export type Endpoint = "notifications" | "ai"

/** Per-socket bounds (PROTOCOL: Transport). */
export interface ConnectionLimits {
  /** Frames per second a socket may send, sustained. */
  readonly framesPerSecond: number
  /** Frames a socket may send at once. */
  readonly frameBurst: number
  /** Bytes queued for a socket that does not read before it is closed 4503. */
  readonly maxBufferedBytes: number
}

/**
 * One socket: a small state object (no fiber, queue or timer of its own while idle). Frames wait in
 * `pending` while a short-lived fiber handles them in order; deadlines are read by the instance's one
 * scheduler; rooms, the registry entry and the gauge are finalizers of `scope`.
 */
export class Connection implements Peer {
  /** Set by the handshake; the hub sees a connection only after it. */
  user!: AuthenticatedUser
  readonly rooms = new Set<string>()
  lastNotificationId = 0n
  held: Array<{ readonly id: bigint; readonly frame: Uint8Array }> | undefined = []
  phase: "awaiting" | "connecting" | "open" | "closed" = "awaiting"
  /** The token of the upgrade request (Authorization header, else `?token=`), until the handshake uses it. */
  upgradeToken: string | undefined
  /** Awaiting: when the handshake times out. Open: when `auth:refresh-needed` is due, and when the token runs out. */
  authDeadline: number
  refreshNeededAt = Number.POSITIVE_INFINITY
  refreshBy = Number.POSITIVE_INFINITY
  /** Answered the last ping sweep. */
  alive = true
  readonly pending: Array<string> = []
  pumping = false
  private tokens: number
  private tokensAt = performance.now()

  constructor(
    readonly connectionId: string,
    readonly ws: WebSocket,
    readonly endpoint: Endpoint,
    readonly scope: Scope.CloseableScope,
    private readonly limits: ConnectionLimits,
    openedAt: number,
    authTimeoutMs: number,
    private readonly onSlowConsumer: () => void
  ) {
    this.authDeadline = openedAt + authTimeoutMs
    this.tokens = limits.frameBurst
  }

  /** One more frame from the client: false once it sends faster than the limit allows. */
  admitFrame(): boolean {
    const now = performance.now()
    this.tokens = Math.min(this.limits.frameBurst, this.tokens + ((now - this.tokensAt) / 1000) * this.limits.framesPerSecond)
    this.tokensAt = now
    if (this.tokens < 1) return false
    this.tokens -= 1
    return true
  }

  /** Writes a text frame, unless the client has stopped reading: then it is closed SLOW_CONSUMER. */
  send(bytes: Uint8Array) {
    if (this.phase === "closed") return
    if (this.ws.bufferedAmount > this.limits.maxBufferedBytes) {
      this.onSlowConsumer()
      return this.close("SLOW_CONSUMER")
    }
    this.ws.send(bytes, { binary: false })
  }

  /**
   * The error frame of the code (unless the client cannot read it), then the close with the code's close code
   * (or `closeCode` where PROTOCOL gives one case of a code its own: FORBIDDEN on auth:refresh is 4403).
   */
  close(code: ErrorCode, message: string = closeMessages[code] ?? code, id?: string | number, closeCode = closeCodeOf(code)) {
    if (this.phase === "closed") return
    if (code !== "SLOW_CONSUMER") this.ws.send(errorFrame(code, message, id), { binary: false })
    this.phase = "closed"
    this.ws.close(closeCode, code)
    // A peer that does not finish the close handshake is dropped.
    setTimeout(() => this.ws.terminate(), 5_000).unref()
  }
}

const closeMessages: Partial<Record<ErrorCode, string>> = {
  SESSION_REVOKED: "the session was revoked",
  USER_INACTIVE: "the user is not active",
  TOKEN_EXPIRED: "the access token expired and was not refreshed",
  SERVER_SHUTDOWN: "the server is shutting down",
  SLOW_CONSUMER: "the client does not read its frames",
  AUTH_TIMEOUT: "no connect frame within 10 s",
  UNAUTHORIZED: "send connect first",
  ALREADY_CONNECTED: "already connected",
  RATE_LIMITED: "too many frames"
}
