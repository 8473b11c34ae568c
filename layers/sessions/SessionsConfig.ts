import { Config, Duration } from "effect"

/** Session lifetimes and limits (README: Configuration). */
export const sessionsConfig = Config.all({
  idle: Config.duration("SESSION_IDLE_TIMEOUT").pipe(Config.withDefault(Duration.minutes(30))),
  absolute: Config.duration("SESSION_ABSOLUTE_TIMEOUT").pipe(Config.withDefault(Duration.hours(12))),
  reuseLeeway: Config.duration("REFRESH_REUSE_LEEWAY").pipe(Config.withDefault(Duration.seconds(10))),
  socketGrace: Config.duration("SOCKET_GRACE_PERIOD").pipe(Config.withDefault(Duration.seconds(300))),
  loginFailuresPerAddress: Config.integer("LOGIN_FAILURES_PER_ADDRESS").pipe(Config.withDefault(10)),
  loginFailuresPerAccount: Config.integer("LOGIN_FAILURES_PER_ACCOUNT").pipe(Config.withDefault(10)),
  refreshesPerMinute: Config.integer("REFRESHES_PER_SESSION_PER_MINUTE").pipe(Config.withDefault(30))
}).pipe(Config.map((config) => ({ ...config, idleMs: Duration.toMillis(config.idle), absoluteMs: Duration.toMillis(config.absolute) })))

export type SessionsConfig = Config.Config.Success<typeof sessionsConfig>
