/** Messages between bench/auth.ts and its HTTP client process (bench/auth/client.ts), over the fork IPC channel. */

export type HttpScenario = "login" | "refresh"

export interface LoginCredentials {
  readonly email: string
  readonly password: string
  readonly organization: string
}

export interface RunRequest {
  readonly type: "run"
  readonly scenario: HttpScenario
  readonly origin: string
  /** Run for this long; latencies are recorded only when `record` is set (a warm-up records nothing). */
  readonly durationMs: number
  readonly record: boolean
  /**
   * One entry per client (one keep-alive connection each, closed loop): the refresh token to present
   * first (refresh), or the credentials to log in with (login).
   */
  readonly refreshTokens?: ReadonlyArray<string>
  readonly logins?: ReadonlyArray<LoginCredentials>
  /** The local address each client's connection binds to (127.x.y.z: each client is its own address to the server). */
  readonly localAddresses: ReadonlyArray<string>
}

export interface RunResult {
  readonly type: "done"
  /** Latency (ms) of each answer of the phase (empty unless recorded). */
  readonly latencies: ReadonlyArray<number>
  /** Wall time of the phase, from its start until every client's last answer came. */
  readonly seconds: number
  /** Answers in the phase, all of them 200 (a loop stops at its first other answer or transport failure). */
  readonly answers: number
  /** CPU time (user + system) and event-loop busy time of the client process over the phase (ms). */
  readonly cpuMs: number
  readonly busyMs: number
  /** The refresh token each client holds at the end (refresh), so the chains continue. */
  readonly refreshTokens: ReadonlyArray<string>
  readonly firstProblem: string | undefined
}

export interface ClientFailure {
  readonly type: "error"
  readonly message: string
}

export type ClientMessage = RunResult | ClientFailure
