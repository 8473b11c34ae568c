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
  /** Where the instance's deadline heap holds this connection (-1: not in it), and for when. */
  heapIndex = -1
  due = Number.POSITIVE_INFINITY
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

  /** The next moment the scheduler must look at this socket: its handshake deadline, else its token's. */
  nextDue(): number {
    if (this.phase === "awaiting") return this.authDeadline
    if (this.phase === "open") return Math.min(this.refreshNeededAt, this.refreshBy)
    return Number.POSITIVE_INFINITY
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

/**
 * The sockets of an instance by their next deadline, soonest first: a binary heap indexed by
 * `Connection.heapIndex`, so a deadline moves or a closed socket leaves in O(log n). The scheduler reads
 * only its top; nothing is scanned per connect.
 */
export class DeadlineHeap {
  private readonly items: Array<Connection> = []

  get size() {
    return this.items.length
  }

  /** The connection due first, if any. */
  peek(): Connection | undefined {
    return this.items[0]
  }

  /** Files the connection under its current `nextDue()` (and drops it when it has none). */
  update(connection: Connection) {
    const due = connection.nextDue()
    const index = connection.heapIndex
    if (!Number.isFinite(due)) {
      if (index >= 0) this.removeAt(index)
      return
    }
    connection.due = due
    if (index < 0) {
      connection.heapIndex = this.items.length
      this.items.push(connection)
      this.up(connection.heapIndex)
    } else {
      this.down(this.up(index))
    }
  }

  remove(connection: Connection) {
    if (connection.heapIndex >= 0) this.removeAt(connection.heapIndex)
  }

  private removeAt(index: number) {
    const items = this.items
    const removed = items[index]!
    const last = items.pop()!
    removed.heapIndex = -1
    if (last === removed) return
    items[index] = last
    last.heapIndex = index
    this.down(this.up(index))
  }

  private swap(i: number, j: number) {
    const items = this.items
    const a = items[i]!
    const b = items[j]!
    items[i] = b
    items[j] = a
    a.heapIndex = j
    b.heapIndex = i
  }

  /** Moves the item at `index` up while it is due before its parent; where it ends. */
  private up(index: number): number {
    while (index > 0) {
      const parent = (index - 1) >> 1
      if (this.items[parent]!.due <= this.items[index]!.due) break
      this.swap(index, parent)
      index = parent
    }
    return index
  }

  private down(index: number) {
    const items = this.items
    for (;;) {
      const left = 2 * index + 1
      if (left >= items.length) return
      const right = left + 1
      const child = right < items.length && items[right]!.due < items[left]!.due ? right : left
      if (items[index]!.due <= items[child]!.due) return
      this.swap(index, child)
      index = child
    }
  }
}
