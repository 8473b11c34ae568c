import { FileSystem, HttpIncomingMessage, HttpLayerRouter, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { NodeHttpServerRequest } from "@effect/platform-node"
import { Cause, Effect, FiberRef, Layer, Option } from "effect"
import { errorCatalog } from "../src/domain/Errors.ts"
import { httpConfig } from "./HttpConfig.ts"
import { traceIdKey } from "./NodeServer.ts"

const internal = HttpServerResponse.unsafeJson({ code: "INTERNAL", message: "internal error" }, { status: errorCatalog.INTERNAL.status })

/** A failure no route turned into an answer: a defect, logged once with its cause, answered INTERNAL. */
const answerDefects = <E, R>(effect: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>) =>
  Effect.catchAllCause(effect, (cause) =>
    Cause.isInterruptedOnly(cause) || HttpServerResponse.isServerResponse(Cause.squash(cause))
      ? Effect.failCause(cause)
      : Effect.as(Effect.logError("request failed", cause), internal))

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
  Effect.map(FiberRef.get(FiberRef.currentTracerEnabled), (tracing) =>
    tracing
      ? <E, R>(effect: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>) => traced(answerDefects(effect))
      : answerDefects),
  { global: true }
)

/** HTTP_MAX_BODY_BYTES for bodies read by the platform (a larger declared length never gets this far). */
export const MaxBodySizeLive = Layer.effect(
  HttpIncomingMessage.MaxBodySize,
  Effect.map(httpConfig, (config) => Option.some(FileSystem.Size(config.maxBodyBytes)))
)
