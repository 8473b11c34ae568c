/**
 * Messages between bench/notifications.ts and its children over the fork IPC channel: the socket load
 * generators (bench/notifications/load.ts, several processes) and the HTTP writer
 * (bench/notifications/writer.ts). Every request carries an `id`, echoed by its reply.
 */

export const serverNames = ["project", "ws", "socketio"] as const
export type ServerName = (typeof serverNames)[number]

/** How a client speaks: the project's JSON protocol (the project and the bare ws peer), or Socket.IO. */
export type ClientKind = "json" | "socketio"

export interface Target {
  readonly kind: ClientKind
  /** http://127.0.0.1:<port> */
  readonly origin: string
}

/** A seeded session: the load generators mint its access tokens themselves, before any timed phase. */
export interface Credential {
  readonly userId: string
  readonly sessionId: string
  readonly organizationId: string
  readonly role: string
}

export type LoaderRequest =
  /** Mints one access token per credential for the next `connectRate` (signing is kept out of the timed window). */
  | { readonly type: "prepare"; readonly id: number; readonly credentials: ReadonlyArray<Credential> }
  | {
    /** Closed loops: connect (open, `connect` with the next prepared token, `connected`, unread count), then close. */
    readonly type: "connectRate"
    readonly id: number
    readonly target: Target
    readonly concurrency: number
    /** Wall-clock ms (performance.timeOrigin + now) when the loops start, the measured window's start and end. */
    readonly startAt: number
    readonly windowStart: number
    readonly windowEnd: number
  }
  | {
    /** Opens one socket per credential (at most `concurrency` handshakes at a time) and keeps them open. */
    readonly type: "open"
    readonly id: number
    readonly target: Target
    readonly credentials: ReadonlyArray<Credential>
    readonly concurrency: number
  }
  /** How many `notification:new` frames arrived since the last `collect` (a counter: no scan while frames arrive). */
  | { readonly type: "progress"; readonly id: number }
  /** Every `notification:new` frame received since the last `collect`, grouped by title; then forgets them. */
  | { readonly type: "collect"; readonly id: number }
  /** Closes every socket opened by `open`. */
  | { readonly type: "closeAll"; readonly id: number }

export interface Problem {
  readonly count: number
  readonly first: string | undefined
}

export type LoaderReply =
  | { readonly type: "prepare"; readonly id: number; readonly tokens: number }
  | {
    readonly type: "connectRate"
    readonly id: number
    /** Connects completed inside the window, their handshake latencies (sorted, ms), all completed, failures. */
    readonly completed: number
    readonly latencies: ReadonlyArray<number>
    readonly total: number
    readonly tokensUsed: number
    readonly wrapped: boolean
    readonly failures: Problem
  }
  | {
    readonly type: "open"
    readonly id: number
    readonly opened: number
    readonly failures: Problem
    readonly seconds: number
    readonly latencies: ReadonlyArray<number>
  }
  | { readonly type: "progress"; readonly id: number; readonly count: number }
  | {
    readonly type: "collect"
    readonly id: number
    /** title -> receive times (wall-clock ms), one per frame; `sockets`: distinct sockets per title. */
    readonly titles: Readonly<Record<string, { readonly times: ReadonlyArray<number>; readonly sockets: number }>>
    /** Sockets closed by the server since the last collect (after their handshake), with the first close. */
    readonly dropped: Problem
    /** max |wall clock − Date.now()| seen, ms: how far this process's clock drifts from the system's. */
    readonly clockSkewMs: number
  }
  | { readonly type: "closeAll"; readonly id: number; readonly closed: number; readonly open: number }
  | { readonly type: "error"; readonly id: number; readonly message: string }

export type WriterRequest =
  | {
    /** One POST /notifications; the reply says when it was sent and answered. */
    readonly type: "post"
    readonly id: number
    readonly origin: string
    readonly token: string
    readonly body: Readonly<Record<string, string>>
  }
  | {
    /**
     * POST /notifications with `userId` to random users at `rate`/s for `durationMs`, open loop (a request is
     * sent on schedule whether or not earlier ones were answered). Title: `<prefix><seq> <send time>`.
     */
    readonly type: "targeted"
    readonly id: number
    readonly origin: string
    readonly token: string
    readonly userIds: ReadonlyArray<string>
    readonly rate: number
    readonly durationMs: number
    readonly prefix: string
    readonly connections: number
  }

export type WriterReply =
  | {
    readonly type: "post"
    readonly id: number
    readonly status: number
    readonly body: string
    readonly sentAt: number
    readonly answeredAt: number
  }
  | {
    readonly type: "targeted"
    readonly id: number
    readonly sent: number
    readonly ok: number
    readonly statuses: Readonly<Record<string, number>>
    readonly errors: Problem
    /** POST round trips (ms, sorted). */
    readonly postLatencies: ReadonlyArray<number>
    /** First notification id of each request by seq ("" when it failed), for commit timestamps. */
    readonly ids: ReadonlyArray<string>
    /** Latest a request went out after its scheduled time (ms): the writer keeping its rate. */
    readonly maxLagMs: number
    readonly seconds: number
    /** Requests the schedule called for; more than `sent` when the writer stopped with 5 s worth of requests unanswered. */
    readonly planned: number
  }
  | { readonly type: "error"; readonly id: number; readonly message: string }

/** performance.timeOrigin + performance.now(): sub-millisecond wall-clock time, comparable across processes. */
export const wallNow = () => performance.timeOrigin + performance.now()

/**
 * The child's side of the IPC channel (the load generators, the writer): every request is handled and
 * answered under its id, a failure as an `error` reply with the stack; the child exits when the benchmark
 * goes away (disconnect) or on SIGINT/SIGTERM. Sends `ready` once it listens.
 */
export const serveRequests = <Request extends { readonly id: number }, Reply>(handle: (request: Request) => Promise<Reply> | Reply) => {
  const reply = (message: Reply | { readonly type: "error"; readonly id: number; readonly message: string }) => process.send?.(message)
  process.on("message", (request: Request) => {
    Promise.resolve()
      .then(() => handle(request))
      .then(reply, (cause: unknown) => reply({ type: "error", id: request.id, message: cause instanceof Error ? (cause.stack ?? cause.message) : String(cause) }))
  })
  process.once("disconnect", () => process.exit(0))
  process.once("SIGINT", () => process.exit(130))
  process.once("SIGTERM", () => process.exit(143))
  process.send?.({ type: "ready" })
}
