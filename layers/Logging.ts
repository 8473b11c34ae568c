import { Config, Effect, Layer, Logger, LogLevel } from "effect"

const formatConfig = Config.literal("json", "pretty")("LOG_FORMAT").pipe(
  Config.withDefault(process.stdout.isTTY ? "pretty" : "json")
)

/** LOG_LEVEL and LOG_FORMAT (json in production, pretty in a terminal). */
export const LoggingLive = Layer.unwrapEffect(
  Effect.gen(function* () {
    const format = yield* formatConfig
    const level = yield* Config.logLevel("LOG_LEVEL").pipe(Config.withDefault(LogLevel.Info))
    return Layer.merge(format === "json" ? Logger.json : Logger.pretty, Logger.minimumLogLevel(level))
  })
)
