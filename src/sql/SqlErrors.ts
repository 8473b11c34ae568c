import type { SqlError } from "@effect/sql/SqlError"

const sqlState = (error: unknown): string | undefined => {
  if (typeof error !== "object" || error === null || !("_tag" in error) || error._tag !== "SqlError") return undefined
  const cause = (error as SqlError).cause
  return typeof cause === "object" && cause !== null && "code" in cause && typeof cause.code === "string" ? cause.code : undefined
}

/** 23505: a unique constraint said no. */
export const isUniqueViolation = (error: unknown) => sqlState(error) === "23505"

/** 55P03: lock_timeout expired. */
export const isLockNotAvailable = (error: unknown) => sqlState(error) === "55P03"
