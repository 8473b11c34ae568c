import { FileSystem, HttpIncomingMessage, HttpLayerRouter, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { NodeHttpServerRequest } from "@effect/platform-node"
import { Cause, Effect, FiberRef, Layer, Option } from "effect"
import { errorCatalog } from "../src/domain/Errors.ts"
import { isUnavailable } from "../src/sql/SqlErrors.ts"
import { httpConfig } from "./HttpConfig.ts"
import { traceIdKey } from "./NodeServer.ts"

const internal = HttpServerResponse.unsafeJson({ code: "INTERNAL", message: "internal error" }, { status: errorCatalog.INTERNAL.status })

/** How long clients are told to wait while the database is unavailable, and how often that is logged. */
const unavailableRetrySeconds = 2
const unavailableLogEveryMs = 10_000

const unavailable = HttpServerResponse.unsafeJson(
  { code: "UNAVAILABLE", message: "the service is unavailable; retry shortly" },
  { status: errorCatalog.UNAVAILABLE.status, headers: { "retry-after": String(unavailableRetrySeconds) } }
)

/**
 * A failure no route turned into an answer. The database down or too slow is 503 UNAVAILABLE with
 * Retry-After, logged once per interval with how many requests got it (an outage is not a defect per
 * request); any other defect is logged once with its cause and answered INTERNAL without internals.
 */
const makeAnswerDefects = () => {
  let lastLogged = 0
  let unlogged = 0
  const outage = (cause: Cause.Cause<unknown>) =>
    Effect.suspend(() => {
      unlogged++
      const now = Date.now()
      if (now - lastLogged < unavailableLogEveryMs) return Effect.succeed(unavailable)
      const answered = unlogged
      lastLogged = now
      unlogged = 0
      return Effect.as(
        Effect.logWarning("database unavailable: answering 503", { requests: answered, reason: Cause.pretty(cause).split("\n")[0] }),
        unavailable
      )
    })
  return <E, R>(effect: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>) =>
    Effect.catchAllCause(effect, (cause) => {
      const failure = Cause.squash(cause)
      if (Cause.isInterruptedOnly(cause) || HttpServerResponse.isServerResponse(failure)) return Effect.failCause(cause)
      if (isUnavailable(failure)) return outage(cause)
      return Effect.as(Effect.logError("request failed", cause), internal)
    })
}

/**
 * A span per request when tracing is on (the platform's own span is off: it records the query string,
 * which can carry a token), its trace id handed to the request log line.
 */
const traced = <E, R>(effect: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>) =>
  Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) =>
    Effect.withSpan(
      Effect.tap(Effect.currentSpan, (span) =>
        Effect.sync(() => {
          ;(NodeHttpServerRequest.toIncomingMessage(request) as { [traceIdKey]?: string })[traceIdKey] = span.traceId
        })).pipe(Effect.ignore, Effect.zipRight(effect)),
      `http.server ${request.method}`,
      { kind: "server", attributes: { "http.request.method": request.method, "url.path": request.url.split("?")[0] } }
    ))

/** Global middleware of every route: defects answered in the catalog's shape, spans when tracing is on. */
export const EdgeMiddleware = HttpLayerRouter.middleware(
  Effect.map(FiberRef.get(FiberRef.currentTracerEnabled), (tracing) => {
    const answerDefects = makeAnswerDefects()
    return tracing
      ? <E, R>(effect: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>) => traced(answerDefects(effect))
      : answerDefects
  }),
  { global: true }
)

/** HTTP_MAX_BODY_BYTES for bodies read by the platform (a larger declared length never gets this far). */
export const MaxBodySizeLive = Layer.effect(
  HttpIncomingMessage.MaxBodySize,
  Effect.map(httpConfig, (config) => Option.some(FileSystem.Size(config.maxBodyBytes)))
)
