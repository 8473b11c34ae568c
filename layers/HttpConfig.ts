import { Config, Duration } from "effect"

/** A TCP port, where 0 means "any free port". */
export const portConfig = (name: string, fallback: number) =>
  Config.integer(name).pipe(
    Config.validate({ message: "expected a port number from 0 to 65535 (0: any free port)", validation: (n) => n >= 0 && n <= 65_535 }),
    Config.withDefault(fallback)
  )

/** PORT, HOST, the body limit and the connection timeouts of the HTTP server (README: Configuration). */
export const httpConfig = Config.all({
  port: portConfig("PORT", 3000),
  host: Config.string("HOST").pipe(Config.withDefault("0.0.0.0")),
  maxBodyBytes: Config.integer("HTTP_MAX_BODY_BYTES").pipe(
    Config.validate({ message: "expected at least 1024", validation: (n) => n >= 1024 }),
    Config.withDefault(1024 * 1024)
  ),
  shutdownTimeout: Config.duration("SHUTDOWN_TIMEOUT").pipe(
    Config.validate({ message: "expected at least 3 seconds", validation: (d) => Duration.toMillis(d) >= 3_000 }),
    Config.withDefault(Duration.seconds(10))
  )
})

export type HttpConfig = Config.Config.Success<typeof httpConfig>
