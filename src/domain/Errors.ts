import { Schema } from "effect"

/**
 * The error catalog of shared/PROTOCOL.md: every code the server answers with, its HTTP status, and the
 * WebSocket close code when the error closes a socket. One place; everything else looks codes up here.
 */
export const errorCatalog = {
  UNAUTHORIZED: { status: 401, close: 4401 },
  INVALID_TOKEN: { status: 401, close: 4401 },
  TOKEN_EXPIRED: { status: 401, close: 4401 },
  SESSION_REVOKED: { status: 401, close: 4401 },
  SESSION_EXPIRED: { status: 401, close: 4401 },
  USER_INACTIVE: { status: 403, close: 4401 },
  INVALID_CREDENTIALS: { status: 401, close: undefined },
  REFRESH_TOKEN_REUSED: { status: 401, close: undefined },
  FORBIDDEN: { status: 403, close: undefined },
  NOT_FOUND: { status: 404, close: undefined },
  BAD_REQUEST: { status: 400, close: undefined },
  UNKNOWN_EVENT: { status: 400, close: undefined },
  VALIDATION_ERROR: { status: 400, close: undefined },
  PAYLOAD_TOO_LARGE: { status: 413, close: undefined },
  RATE_LIMITED: { status: 429, close: 4429 },
  AUTH_TIMEOUT: { status: undefined, close: 4408 },
  ALREADY_CONNECTED: { status: undefined, close: 4429 },
  SLOW_CONSUMER: { status: undefined, close: 4503 },
  SKILL_NOT_FOUND: { status: 404, close: undefined },
  SKILL_TIMEOUT: { status: 504, close: undefined },
  ACTION_FAILED: { status: 422, close: undefined },
  CONFLICT: { status: 409, close: undefined },
  AI_UNAVAILABLE: { status: 503, close: undefined },
  INTERNAL: { status: 500, close: undefined },
  UNAVAILABLE: { status: 503, close: 1013 },
  SERVER_SHUTDOWN: { status: 503, close: 1001 }
} as const satisfies Record<string, { readonly status: number | undefined; readonly close: number | undefined }>

export type ErrorCode = keyof typeof errorCatalog

/** Authentication failures; `code` says which. */
export const AuthErrorCode = Schema.Literal(
  "UNAUTHORIZED",
  "INVALID_TOKEN",
  "TOKEN_EXPIRED",
  "SESSION_REVOKED",
  "SESSION_EXPIRED",
  "USER_INACTIVE",
  "INVALID_CREDENTIALS",
  "REFRESH_TOKEN_REUSED"
)
export type AuthErrorCode = typeof AuthErrorCode.Type

/** The one code of an error class, filled in when constructed. */
const fixedCode = <const C extends ErrorCode>(code: C) => Schema.optionalWith(Schema.Literal(code), { default: () => code })

export class AuthError extends Schema.TaggedError<AuthError>()("AuthError", {
  code: AuthErrorCode,
  message: Schema.String
}) {}

export class ForbiddenError extends Schema.TaggedError<ForbiddenError>()("ForbiddenError", {
  code: fixedCode("FORBIDDEN"),
  message: Schema.String
}) {}

export class NotFoundError extends Schema.TaggedError<NotFoundError>()("NotFoundError", {
  code: fixedCode("NOT_FOUND"),
  message: Schema.String
}) {}

export class ValidationError extends Schema.TaggedError<ValidationError>()("ValidationError", {
  code: Schema.optionalWith(Schema.Literal("VALIDATION_ERROR", "BAD_REQUEST"), { default: () => "VALIDATION_ERROR" as const }),
  message: Schema.String
}) {}

export class RateLimitedError extends Schema.TaggedError<RateLimitedError>()("RateLimitedError", {
  code: fixedCode("RATE_LIMITED"),
  message: Schema.String,
  /** Whole seconds until a retry can succeed (the Retry-After header). */
  retryAfterSeconds: Schema.Int
}) {}

/** A dependency (the database) is down or too slow: retry after `retryAfterSeconds`. */
export class UnavailableError extends Schema.TaggedError<UnavailableError>()("UnavailableError", {
  code: fixedCode("UNAVAILABLE"),
  message: Schema.String,
  retryAfterSeconds: Schema.Int
}) {}

export class InternalError extends Schema.TaggedError<InternalError>()("InternalError", {
  code: fixedCode("INTERNAL"),
  message: Schema.String
}) {}

/** Every error a client of the API can receive. */
export const ApiError = Schema.Union(AuthError, ForbiddenError, NotFoundError, ValidationError, RateLimitedError, UnavailableError, InternalError)
export type ApiError = typeof ApiError.Type
