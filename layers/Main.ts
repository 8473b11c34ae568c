import { HttpLayerRouter, HttpServer } from "@effect/platform"
import { Effect, Layer } from "effect"
import { AuditLogLive } from "./AuditLogLive.ts"
import { AuthLive } from "./AuthLive.ts"
import { AuthRoutes } from "./AuthRoutes.ts"
import { DatabaseLive } from "./Database.ts"
import { DirectoryLive } from "./DirectoryLive.ts"
import { HealthRoutes } from "./HealthRoutes.ts"
import { HousekeepingLive } from "./HousekeepingLive.ts"
import { HttpServerLive } from "./HttpServer.ts"
import { NotFoundRoute, RequestMiddleware } from "./HttpSupport.ts"
import { JwtLive } from "./JwtLive.ts"
import { EventBusLive } from "./Listener.ts"
import { LoggingLive } from "./Logging.ts"
import { MetricsRoute } from "./Metrics.ts"
import { PasswordsLive } from "./PasswordsLive.ts"
import { RateLimiterLive } from "./RateLimiterLive.ts"
import { RpcRoutes } from "./RpcLive.ts"
import { SessionsLive } from "./SessionsLive.ts"
import { WebSocketFrameLimitLive } from "./WebSocketFrameLimit.ts"

/** Services over the database (and the event bus), without HTTP: what the CLI and tests build on. */
export const CoreLive = Layer.mergeAll(SessionsLive, DirectoryLive).pipe(
  Layer.provideMerge(AuthLive),
  Layer.provideMerge(Layer.mergeAll(JwtLive, EventBusLive, AuditLogLive, RateLimiterLive, PasswordsLive))
)

const Routes = Layer.mergeAll(HealthRoutes, MetricsRoute, AuthRoutes, RpcRoutes, NotFoundRoute, RequestMiddleware)

const Banner = Layer.effectDiscard(
  HttpServer.addressFormattedWith((address) => Effect.logInfo(`listening on ${address.replace("0.0.0.0", "localhost")}`))
)

/** The HTTP server (exposed, for its address) with every route and the background jobs; needs CoreLive. */
export const ServerLive = HttpLayerRouter.serve(Routes, { disableListenLog: true, disableLogger: true }).pipe(
  Layer.merge(Banner),
  Layer.merge(HousekeepingLive),
  Layer.merge(WebSocketFrameLimitLive),
  Layer.provideMerge(HttpServerLive)
)

/** The one composition root: what `serve` runs once migrations are done. */
export const AppLive = ServerLive.pipe(Layer.provide(CoreLive))

export { DatabaseLive, LoggingLive }
