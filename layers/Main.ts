import { HttpLayerRouter, HttpServer } from "@effect/platform"
import { Effect, Layer } from "effect"
import { DatabaseLive } from "./Database.ts"
import { DirectoryLive } from "./DirectoryLive.ts"
import { HealthRoutes } from "./HealthRoutes.ts"
import { HttpServerLive } from "./HttpServer.ts"
import { EventBusLive } from "./Listener.ts"
import { LoggingLive } from "./Logging.ts"
import { PasswordsLive } from "./PasswordsLive.ts"

/** Services that need only the database. */
export const CoreLive = Layer.mergeAll(DirectoryLive, EventBusLive).pipe(Layer.provideMerge(PasswordsLive))

const Routes = Layer.mergeAll(HealthRoutes)

const Banner = Layer.effectDiscard(
  HttpServer.addressFormattedWith((address) => Effect.logInfo(`listening on ${address.replace("0.0.0.0", "localhost")}`))
)

/** The HTTP server with every route; needs the database (migrated) and the core services. */
export const ServerLive = HttpLayerRouter.serve(Routes, { disableListenLog: true }).pipe(
  Layer.merge(Banner),
  Layer.provide(HttpServerLive)
)

/** The one composition root: what `serve` runs once migrations are done. */
export const AppLive = ServerLive.pipe(Layer.provide(CoreLive))

export { DatabaseLive, LoggingLive }
