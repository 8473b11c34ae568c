import { HttpApiError, HttpApiSchema, HttpServerError } from "@effect/platform"
import { Schema } from "effect"
import {
  AuthError,
  type ErrorCode,
  errorCatalog,
  ForbiddenError,
  InternalError,
  NotFoundError,
  RateLimitedError,
  UnavailableError,
  ValidationError
} from "../domain/Errors.ts"

/**
 * The errors of the HTTP API as PROTOCOL.md puts them on the wire: `{ "code", "message" }` with the
 * catalog's status (the default HttpApi encoding would add `_tag` and other fields). Each schema's type
 * is the domain error, so handlers fail with domain errors and the typed client decodes them back.
 */
const body = <C extends ErrorCode>(codes: ReadonlyArray<C>) => Schema.Struct({ code: Schema.Literal(...codes), message: Schema.String })

const wire = <Self extends { readonly code: string; readonly message: string }, C extends Self["code"] & ErrorCode>(
  identifier: string,
  error: Schema.Schema<Self, any>,
  codes: readonly [C, ...Array<C>],
  make: (body: { readonly code: C; readonly message: string }) => Self,
  description: string
): Schema.Schema<Self, { readonly code: C; readonly message: string }> =>
  Schema.transform(
    body(codes),
    Schema.typeSchema(error).pipe(Schema.filter((e) => (codes as ReadonlyArray<string>).includes(e.code))),
    { strict: false, decode: make, encode: (e) => ({ code: e.code as C, message: e.message }) }
  ).annotations({ identifier, description, ...HttpApiSchema.annotations({ status: errorCatalog[codes[0]].status! }) })

export const Unauthenticated = wire(
  "Unauthenticated",
  AuthError,
  ["UNAUTHORIZED", "INVALID_TOKEN", "TOKEN_EXPIRED", "SESSION_REVOKED", "SESSION_EXPIRED", "INVALID_CREDENTIALS", "REFRESH_TOKEN_REUSED"],
  (b) => new AuthError(b),
  "No valid credentials: a missing, invalid or expired token, a revoked or expired session, wrong credentials, a reused refresh token"
)

export const UserInactive = wire("UserInactive", AuthError, ["USER_INACTIVE"], (b) => new AuthError(b), "The user or their organization is not active")

export const Forbidden = wire("Forbidden", ForbiddenError, ["FORBIDDEN"], (b) => new ForbiddenError(b), "The role may not do this in the organization")

export const NotFound = wire("NotFound", NotFoundError, ["NOT_FOUND"], (b) => new NotFoundError(b), "No such resource in the caller's organization")

/** Answered by the handler with a Retry-After header (layers/HttpApiLive.ts); this documents and decodes it. */
export const RateLimited = wire(
  "RateLimited",
  RateLimitedError,
  ["RATE_LIMITED"],
  (b) => new RateLimitedError({ ...b, retryAfterSeconds: 1 }),
  "Too many attempts; retry after the Retry-After header's seconds"
)

export const Unavailable = wire(
  "Unavailable",
  UnavailableError,
  ["UNAVAILABLE"],
  (b) => new UnavailableError({ ...b, retryAfterSeconds: 1 }),
  "A dependency (the database) is down or too slow; retry after the Retry-After header's seconds"
)

export const Internal = wire("Internal", InternalError, ["INTERNAL"], (b) => new InternalError(b), "A defect; the message carries no internals")

/** The platform's failure when a body grows past HTTP_MAX_BODY_BYTES while it is read. */
const isBodyTooLarge = (u: unknown): u is HttpServerError.RequestError =>
  HttpServerError.isServerError(u) && u._tag === "RequestError" && u.cause instanceof Error && u.cause.message === "maxBytes exceeded"

/**
 * A body over HTTP_MAX_BODY_BYTES: answered before it is read when its Content-Length says so
 * (layers/HttpServerLive.ts), otherwise once it grows past the limit (the connection is then closed).
 */
export const PayloadTooLarge = Schema.transform(body(["PAYLOAD_TOO_LARGE"]), Schema.declare(isBodyTooLarge), {
  strict: false,
  decode: () => new HttpServerError.RequestError({ request: undefined as never, reason: "Decode", description: "body too large" }),
  encode: () => ({ code: "PAYLOAD_TOO_LARGE" as const, message: "the body is larger than the server accepts" })
}).annotations({
  identifier: "PayloadTooLarge",
  description: "The body exceeds HTTP_MAX_BODY_BYTES",
  ...HttpApiSchema.annotations({ status: 413 })
})

const maxMessage = 200

/**
 * One line about what is wrong, never the offending value (a password or token must not come back in
 * an answer), and short however large the input was.
 */
export const validationMessage = (path: ReadonlyArray<PropertyKey>, message: string) => {
  const where = path.length === 0 ? "body" : path.map(String).join(".")
  const what = message.split(", actual ")[0]!.split("\n")[0]!
  return `${where}: ${what}`.slice(0, maxMessage)
}

type BadInputError = ValidationError | HttpApiError.HttpApiDecodeError | HttpServerError.RequestError

const isBadInput = (u: unknown): u is BadInputError =>
  u instanceof ValidationError || u instanceof HttpApiError.HttpApiDecodeError ||
  (HttpServerError.isServerError(u) && u._tag === "RequestError" && !isBodyTooLarge(u))

const toBody = (error: BadInputError): { readonly code: "VALIDATION_ERROR" | "BAD_REQUEST"; readonly message: string } => {
  if (error instanceof ValidationError) return { code: error.code, message: error.message }
  if (error instanceof HttpApiError.HttpApiDecodeError) {
    const [issue] = error.issues
    return { code: "VALIDATION_ERROR", message: validationMessage(issue?.path ?? [], issue?.message ?? "invalid") }
  }
  return { code: "BAD_REQUEST", message: "the body must be JSON" }
}

/**
 * 400 for every malformed request: a body that is not JSON (BAD_REQUEST), or a body, path or query that
 * fails its schema (VALIDATION_ERROR, `path: reason`). It replaces HttpApi's own HttpApiDecodeError
 * encoding (src/api/HttpApi.ts).
 */
export const BadInput = Schema.transform(body(["VALIDATION_ERROR", "BAD_REQUEST"]), Schema.declare(isBadInput), {
  strict: false,
  decode: (b): BadInputError => new ValidationError(b),
  encode: toBody
}).annotations({
  identifier: "BadRequest",
  description: "A body that is not JSON (BAD_REQUEST), or input that fails its schema (VALIDATION_ERROR, message `path: reason`)",
  ...HttpApiSchema.annotations({ status: 400 })
})
