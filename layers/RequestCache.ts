import { HttpLayerRouter } from "@effect/platform"
import { Duration, Effect, Layer, Request } from "effect"
import { RequestCacheMiddleware } from "../src/api/Rpc.ts"

/**
 * Runs `effect` with a request cache of its own: repeated single lookups within it (from several code
 * paths of one HTTP request or RPC call) are answered once, and the cache is dropped with the request,
 * so no answer outlives it. The process-wide default cache is never switched on: caching is enabled
 * only together with this fresh cache. Coarse loader requests opt out (layers/LoadersLive.ts).
 */
export const withRequestScopedCache = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.flatMap(Request.makeCache({ capacity: 10_000, timeToLive: Duration.minutes(1) }), (cache) =>
    effect.pipe(Effect.withRequestCache(cache), Effect.withRequestCaching(true)))

/** The HTTP side: every route it is provided to runs with a fresh request cache. */
export const RequestCacheHttp = HttpLayerRouter.middleware((httpApp) => withRequestScopedCache(httpApp))

/** The RPC side: a wrapping middleware, so the handler of each call runs with a fresh request cache. */
export const RequestCacheRpc = Layer.succeed(RequestCacheMiddleware, RequestCacheMiddleware.of(({ next }) => withRequestScopedCache(next)))
