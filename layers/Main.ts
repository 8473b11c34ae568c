import { HttpApiSwagger, HttpLayerRouter, HttpMiddleware, HttpServer, HttpServerResponse } from "@effect/platform"
import { Effect, Layer } from "effect"
import { Api } from "../src/api/HttpApi.ts"
import { errorCatalog } from "../src/domain/Errors.ts"
import { AuditLogLive } from "./AuditLogLive.ts"
import { AuthLive } from "./AuthLive.ts"
import { CasesLive } from "./CasesLive.ts"
import { DatabaseConnectionLive, DatabaseLive } from "./DatabaseLive.ts"
import { DirectoryLive } from "./DirectoryLive.ts"
import { EventBusLive } from "./EventBusLive.ts"
import { HousekeepingLive } from "./HousekeepingLive.ts"
import { HubLive } from "./HubLive.ts"
import { HttpApiLive } from "./HttpApiLive.ts"
import { httpConfig } from "./HttpConfig.ts"
import { EdgeMiddleware, MaxBodySizeLive } from "./HttpEdge.ts"
import { HttpServerLive } from "./HttpServerLive.ts"
import { InvestigationsLive } from "./InvestigationsLive.ts"
import { JwtLive } from "./JwtLive.ts"
import { LoadersLive } from "./LoadersLive.ts"
import { LoggingLive } from "./LoggingLive.ts"
import { MetricsLive } from "./MetricsLive.ts"
import { NodeServer } from "./NodeServer.ts"
import { NotificationsLive } from "./NotificationsLive.ts"
import { PasswordsLive } from "./PasswordsLive.ts"
import { RequestCacheHttp } from "./RequestCache.ts"
import { RiusLive } from "./RiusLive.ts"
import { RpcHttpLive, RpcSocketLive } from "./RpcLive.ts"
import { SeedLive } from "./SeedLive.ts"
import { SessionsLive } from "./SessionsLive.ts"
import { SocketsLive } from "./SocketsLive.ts"
import { TracingLive } from "./TracingLive.ts"
import { UserAdminLive } from "./UserAdminLive.ts"

/**
 * The composition root: the one place that wires implementations together. `MainLive` is what
 * `npm start` (src/main.ts), the CLI's `serve`, the test server and the benchmarks build; the smaller
 * layers below are what the other CLI commands need, and nothing more.
 */

/** Organizations and users as operators create them: no LISTEN connection, no signing key. */
export const DirectoryCommandLive = DirectoryLive.pipe(Layer.provideMerge(PasswordsLive), Layer.provideMerge(DatabaseLive))

/** User administration from the CLI: it publishes its events, and opens no LISTEN connection. */
export const AdminCommandLive = UserAdminLive.pipe(
  Layer.provideMerge(DirectoryCommandLive),
  Layer.provide(Layer.mergeAll(AuditLogLive, EventBusLive, MetricsLive).pipe(Layer.provideMerge(MetricsLive))),
  Layer.provide(DatabaseLive)
)

/** The database connection without migrating (migrate, migrate status). */
export const MigrationCommandLive = DatabaseConnectionLive

/** Every service over the migrated database, the demo seed loaded first when it applies. */
const ServicesLive = Layer.mergeAll(SessionsLive, UserAdminLive, HubLive).pipe(
  Layer.provideMerge(Layer.mergeAll(CasesLive, InvestigationsLive, RiusLive).pipe(Layer.provideMerge(LoadersLive))),
  Layer.provideMerge(NotificationsLive),
  Layer.provideMerge(AuthLive),
  Layer.provideMerge(Layer.mergeAll(JwtLive, EventBusLive, AuditLogLive)),
  Layer.provideMerge(Layer.mergeAll(DirectoryLive, MetricsLive)),
  Layer.provideMerge(PasswordsLive),
  Layer.provideMerge(SeedLive.pipe(Layer.provideMerge(DirectoryLive), Layer.provide(PasswordsLive))),
  Layer.provideMerge(DatabaseLive)
)

const NotFoundRoute = HttpLayerRouter.add(
  "*",
  "/*",
  HttpServerResponse.unsafeJson({ code: "NOT_FOUND", message: "no such route" }, { status: errorCatalog.NOT_FOUND.status })
)

const Routes = Layer.mergeAll(
  // Each API request gets a request cache of its own (layers/RequestCache.ts).
  HttpLayerRouter.addHttpApi(Api, { openapiPath: "/openapi.json" }).pipe(Layer.provide(HttpApiLive), Layer.provide(RequestCacheHttp.layer)),
  HttpApiSwagger.layerHttpLayerRouter({ api: Api, path: "/docs" }),
  RpcHttpLive,
  NotFoundRoute,
  EdgeMiddleware
).pipe(Layer.provide(MaxBodySizeLive))

const Banner = Layer.effectDiscard(
  HttpServer.addressFormattedWith((address) => Effect.logInfo(`listening on ${address.replace("0.0.0.0", "localhost")}`))
)

/** HTTP (routes, RPC, sockets) on the project's own node server, the banner and the background jobs. */
const ServerLive = HttpLayerRouter.serve(Routes, { disableListenLog: true, disableLogger: true }).pipe(
  // The platform's per-request span records the query string (a socket's ?token=): the edge makes its own.
  HttpMiddleware.withTracerDisabledWhen(() => true),
  Layer.merge(SocketsLive.pipe(Layer.provide(RpcSocketLive))),
  Layer.merge(Banner),
  Layer.merge(HousekeepingLive),
  Layer.provideMerge(HttpServerLive)
)

/**
 * Built last, so its finalizer runs first when the application stops: the graceful shutdown (sockets
 * closed 1001, HTTP connections drained) happens while every route, the pool and the database are
 * still there.
 */
const ShutdownLive = Layer.scopedDiscard(Effect.flatMap(NodeServer, (node) => Effect.addFinalizer(() => node.shutdown)))

/** The listen settings, read first: a malformed PORT stops the program before any database is started. */
const ListenConfigCheck = Layer.effectDiscard(httpConfig)

/** The whole application: what src/main.ts launches. Its services are exposed for tests and benchmarks. */
export const MainLive = ShutdownLive.pipe(
  Layer.provideMerge(ServerLive),
  Layer.provideMerge(ServicesLive),
  Layer.provide(ListenConfigCheck),
  Layer.provide(TracingLive),
  Layer.provide(LoggingLive)
)

export { LoggingLive }
