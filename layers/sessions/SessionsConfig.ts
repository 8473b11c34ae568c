import { Config, Duration } from "effect"

/** Session lifetimes and limits (README: Configuration). */
export const sessionsConfig = Config.all({
  idle: Config.duration("SESSION_IDLE_TIMEOUT").pipe(Config.withDefault(Duration.minutes(30))),
  absolute: Config.duration("SESSION_ABSOLUTE_TIMEOUT").pipe(Config.withDefault(Duration.hours(12))),
  reuseLeeway: Config.duration("REFRESH_REUSE_LEEWAY").pipe(Config.withDefault(Duration.seconds(10))),
  socketGrace: Config.duration("SOCKET_GRACE_PERIOD").pipe(Config.withDefault(Duration.seconds(300))),
  loginFailuresPerAddress: Config.integer("LOGIN_FAILURES_PER_ADDRESS").pipe(Config.withDefault(10)),
  loginFailuresPerAccount: Config.integer("LOGIN_FAILURES_PER_ACCOUNT").pipe(
    // ASVS 4.0.3 2.2.1: at most 100 failed attempts per hour per account (the burst plus 60 refilled).
    Config.validate({ message: "expected 1 to 40", validation: (n) => n >= 1 && n <= 40 }),
    Config.withDefault(10)
  ),
  provenAddressWindow: Config.duration("LOGIN_PROVEN_ADDRESS_WINDOW").pipe(Config.withDefault(Duration.days(30))),
  refreshFailuresPerAddress: Config.integer("REFRESH_FAILURES_PER_ADDRESS").pipe(Config.withDefault(30)),
  passwordChecksAtOnce: Config.integer("PASSWORD_CHECKS_AT_ONCE").pipe(Config.withDefault(4)),
  passwordChecksPerAddress: Config.integer("PASSWORD_CHECKS_PER_ADDRESS").pipe(Config.withDefault(2)),
  passwordCheckWait: Config.duration("PASSWORD_CHECK_WAIT").pipe(Config.withDefault(Duration.seconds(2))),
  refreshesPerMinute: Config.integer("REFRESHES_PER_SESSION_PER_MINUTE").pipe(Config.withDefault(30))
}).pipe(Config.map((config) => ({ ...config, idleMs: Duration.toMillis(config.idle), absoluteMs: Duration.toMillis(config.absolute) })))

export type SessionsConfig = Config.Config.Success<typeof sessionsConfig>
