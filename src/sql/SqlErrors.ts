import type { SqlError } from "@effect/sql/SqlError"

const sqlState = (error: unknown): string | undefined => {
  if (typeof error !== "object" || error === null || !("_tag" in error) || error._tag !== "SqlError") return undefined
  const cause = (error as SqlError).cause
  const code = typeof cause === "object" && cause !== null && "code" in cause ? cause.code : undefined
  // A SQLSTATE is five characters; node's own codes (ECONNREFUSED) are not.
  return typeof code === "string" && /^[0-9A-Z]{5}$/.test(code) ? code : undefined
}

/** 23505: a unique constraint said no. */
export const isUniqueViolation = (error: unknown) => sqlState(error) === "23505"

/** 55P03: lock_timeout expired. */
export const isLockNotAvailable = (error: unknown) => sqlState(error) === "55P03"

const causeOf = (error: unknown): unknown =>
  typeof error === "object" && error !== null && "_tag" in error && error._tag === "SqlError" ? (error as SqlError).cause : undefined

/** Node's socket errors and node-postgres's own, when the server cannot be reached or went away. */
const connectionMessages = /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|the database system is (starting up|shutting down)/

/**
 * The database is down or too slow, rather than the statement wrong: connection failures (class 08),
 * shutdowns and restarts (57P01-57P03), too many connections (53300), a statement timeout (57014), or
 * a connection that could not be made or was lost. Answered 503 UNAVAILABLE with Retry-After.
 */
export const isUnavailable = (error: unknown): boolean => {
  const state = sqlState(error)
  if (state !== undefined) return state.startsWith("08") || state.startsWith("57P0") || state === "53300" || state === "57014"
  const cause = causeOf(error)
  const message = cause instanceof Error ? `${cause.message} ${(cause as { code?: unknown }).code ?? ""}` : ""
  return connectionMessages.test(message)
}
