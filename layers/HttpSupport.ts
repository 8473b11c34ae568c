import { FileSystem, HttpIncomingMessage, HttpLayerRouter, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Cause, Clock, Config, Effect, Layer, Metric, MetricLabel, Option, ParseResult, Schema } from "effect"
import * as Crypto from "node:crypto"
import type { ClientInfo } from "../src/domain/Auth.ts"
import { httpDuration, httpRequests } from "./Metrics.ts"
import { type ApiError, errorCatalog, ValidationError } from "../src/domain/Errors.ts"

/**
 * Set by the server from the socket (or a trusted proxy), never by the client: read by REST and RPC alike.
 * The name is random per process: RPC merges a call's own headers over the request's (the call's win),
 * so with a name a client could know it would choose its own address for rate limits and the audit log.
 */
const clientAddressHeader = `x-casecore-client-address-${Crypto.randomBytes(16).toString("hex")}`

export const clientInfoFromHeaders = (headers: Readonly<Record<string, string | undefined>>): ClientInfo => ({
  ip: headers[clientAddressHeader] ?? "unknown",
  userAgent: headers["user-agent"]
})

/**
 * Counts every answer by method and status, times it, and logs it without the query string (the
 * platform's own request log is off: a socket's `?token=` must never reach a log).
 */
const measured = <E, R>(effect: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>) =>
  Effect.gen(function* () {
    const request = yield* HttpServerRequest.HttpServerRequest
    const started = yield* Clock.currentTimeMillis
    const path = request.url.split("?")[0] ?? "/"
    const record = (status: number) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        Effect.all([
          Metric.increment(Metric.taggedWithLabels(httpRequests, [MetricLabel.make("method", request.method), MetricLabel.make("status", String(status))])),
          Metric.update(httpDuration, (now - started) / 1000),
          Effect.logInfo("http").pipe(Effect.annotateLogs({ method: request.method, path, status, ms: now - started }))
        ], { discard: true }))
    return yield* effect.pipe(
      Effect.tap((response) => record(response.status)),
      Effect.tapErrorCause(() => record(500))
    )
  })

/**
 * Global middleware: stamps the client address header (TRUST_PROXY: first X-Forwarded-For hop) and caps
 * request bodies (HTTP_MAX_BODY_BYTES): a larger body is refused before it is buffered whole.
 */
export const RequestMiddleware = Layer.unwrapEffect(
  Effect.gen(function* () {
    const trustProxy = yield* Config.boolean("TRUST_PROXY").pipe(Config.withDefault(false))
    const maxBody = yield* Config.integer("HTTP_MAX_BODY_BYTES").pipe(Config.withDefault(1024 * 1024))
    const limit = Option.some(FileSystem.Size(maxBody))
    return HttpLayerRouter.middleware(
      (effect) =>
        effect.pipe(
          measured,
          Effect.provideService(HttpIncomingMessage.MaxBodySize, limit),
          Effect.updateService(HttpServerRequest.HttpServerRequest, (request) => {
            const forwarded = trustProxy ? request.headers["x-forwarded-for"]?.split(",")[0]?.trim() : undefined
            const address = forwarded || Option.getOrElse(request.remoteAddress, () => "unknown")
            return request.modify({ headers: { ...request.headers, [clientAddressHeader]: address } })
          })
        ),
      { global: true }
    )
  })
)

/** `{ code, message }` with the catalog's status; Retry-After for RATE_LIMITED. */
const errorResponse = (error: ApiError) =>
  HttpServerResponse.unsafeJson(
    { code: error.code, message: error.message },
    {
      status: errorCatalog[error.code].status,
      ...(error._tag === "RateLimitedError" ? { headers: { "retry-after": String(error.retryAfterSeconds) } } : {})
    }
  )

/** A request body that does not match its schema: VALIDATION_ERROR naming the field. */
const validationError = (error: ParseResult.ParseError) => {
  const [issue] = ParseResult.ArrayFormatter.formatErrorSync(error)
  const path = issue === undefined || issue.path.length === 0 ? "body" : issue.path.join(".")
  return new ValidationError({ message: `${path}: ${issue?.message ?? "invalid"}` })
}

export const decodeBody = <A, I>(schema: Schema.Schema<A, I>) =>
  HttpServerRequest.schemaBodyJson(schema).pipe(
    Effect.catchTags({
      ParseError: (error) => Effect.fail(validationError(error)),
      RequestError: () => Effect.fail(new ValidationError({ code: "BAD_REQUEST", message: "the body must be a JSON object" }))
    })
  )

/**
 * Runs a handler: typed API errors become their JSON answer; a defect is logged and answered INTERNAL
 * without internals.
 */
export const handle = <E extends ApiError, R>(effect: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>) =>
  effect.pipe(
    Effect.catchAll((error) => Effect.succeed(errorResponse(error))),
    Effect.catchAllCause((cause) =>
      Cause.isInterruptedOnly(cause)
        ? Effect.failCause(cause)
        : Effect.logError("request failed", cause).pipe(
            Effect.as(HttpServerResponse.unsafeJson({ code: "INTERNAL", message: "internal error" }, { status: 500 }))
          )
    )
  )

/** Any other path: the catalog's NOT_FOUND as JSON, like every other error. */
export const NotFoundRoute = HttpLayerRouter.add(
  "*",
  "/*",
  HttpServerResponse.unsafeJson({ code: "NOT_FOUND", message: "no such route" }, { status: errorCatalog.NOT_FOUND.status })
)
