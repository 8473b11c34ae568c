import { Cause, ConfigError, Option } from "effect"

const causeMessage = (cause: unknown): string => {
  if (cause instanceof AggregateError && cause.errors.length > 0) return causeMessage(cause.errors[0])
  if (cause instanceof Error) return cause.message || cause.name
  return String(cause)
}

const errorCode = (cause: unknown) =>
  typeof cause === "object" && cause !== null && "code" in cause ? String(cause.code) : undefined

/** A ConfigError as `NAME: what it expects`, one line. */
const configLine = (error: ConfigError.ConfigError): string =>
  ConfigError.reduceWithContext(error, undefined, {
    andCase: (_, left: string, right: string) => `${left}; ${right}`,
    orCase: (_, left: string, right: string) => `${left}; ${right}`,
    invalidDataCase: (_, path, message) => `${path.join("_")}: ${message}`,
    missingDataCase: (_, path, message) => `${path.join("_")}: ${message}`,
    sourceUnavailableCase: (_, path, message) => `${path.join("_")}: ${message}`,
    unsupportedCase: (_, path, message) => `${path.join("_")}: ${message}`
  })

/** One clear line for a failure that stops a command; internals stay out of it. */
export const describeFailure = (cause: Cause.Cause<unknown>): string => {
  const failure = Option.orElse(Cause.failureOption(cause), () => Cause.dieOption(cause))
  if (Option.isNone(failure)) return Cause.isInterruptedOnly(cause) ? "interrupted" : Cause.pretty(cause).split("\n")[0] ?? "failed"
  const error = failure.value
  if (ConfigError.isConfigError(error)) return `configuration error: ${configLine(error)}`
  if (typeof error === "object" && error !== null && "_tag" in error) {
    const tagged = error as { readonly _tag: string; readonly message?: string; readonly cause?: unknown }
    switch (tagged._tag) {
      case "ServeError": {
        const code = errorCode(tagged.cause)
        return code === "EADDRINUSE"
          ? `cannot listen: the port is already in use (set PORT to a free port)`
          : `cannot listen: ${causeMessage(tagged.cause)}`
      }
      case "SqlError":
        return `database error: ${tagged.message ?? "query failed"}${tagged.cause === undefined ? "" : ` (${causeMessage(tagged.cause)})`}`
      default:
        return tagged.message ?? tagged._tag
    }
  }
  return causeMessage(error)
}
