import { Config, Effect, Layer, Logger, LogLevel } from "effect"

const formatConfig = Config.literal("json", "pretty")("LOG_FORMAT").pipe(
  Config.withDefault(process.stderr.isTTY ? "pretty" : "json")
)

/**
 * LOG_LEVEL and LOG_FORMAT (json in production, pretty in a terminal). Logs go to stderr: stdout
 * carries only what a CLI command prints as its result (an id, a status), so scripts can read it.
 */
export const LoggingLive = Layer.unwrapEffect(
  Effect.gen(function* () {
    const format = yield* formatConfig
    const level = yield* Config.logLevel("LOG_LEVEL").pipe(Config.withDefault(LogLevel.Info))
    const logger = format === "json" ? Logger.withConsoleError(Logger.jsonLogger) : Logger.prettyLogger({ stderr: true })
    return Layer.merge(Logger.replace(Logger.defaultLogger, logger), Logger.minimumLogLevel(level))
  })
)
