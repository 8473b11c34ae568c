/** Messages between bench/http.ts and its load generator (bench/http/load.ts), over the fork IPC channel. */

export type Scenario = "healthz" | "sessions" | "refresh"

export interface LoadRequest {
  readonly type: "run"
  readonly origin: string
  readonly scenario: Scenario
  readonly warmupMs: number
  readonly durationMs: number
  /** One per connection: the access token (sessions) or the refresh token to present first (refresh); empty for healthz. */
  readonly tokens: ReadonlyArray<string>
  readonly connections: number
  /** The server's process and, for an embedded database, the postmaster: their CPU time is read around the measured phase. */
  readonly serverPid: number
  readonly postmasterPid: number | undefined
}

export interface LoadResult {
  readonly type: "done"
  /** Answers completed in the measured phase, and its wall time (from its start to the last answer). */
  readonly requests: number
  readonly seconds: number
  readonly p50Ms: number
  readonly p99Ms: number
  readonly meanMs: number
  readonly non2xx: number
  /** Status counts of the measured phase, e.g. { "200": 51234 }. */
  readonly statuses: Readonly<Record<string, number>>
  /** Transport failures (reset, refused) in the whole run; a refresh loop stops at its first failure or non-2xx. */
  readonly errors: number
  readonly firstProblem: string | undefined
  /** Refresh answers with 2xx in warm-up and measured phase together (each one spent a token). */
  readonly refreshed: number
  /** CPU time (ms) over the measured phase: the server process, PostgreSQL (NaN if unknown), this load generator. */
  readonly serverCpuMs: number
  readonly postgresCpuMs: number
  readonly loadCpuMs: number
  /** The refresh token each connection holds at the end (refresh), to continue the chains in the next measurement. */
  readonly tokens: ReadonlyArray<string>
}

export interface LoadFailure {
  readonly type: "error"
  readonly message: string
}
