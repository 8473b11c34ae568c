import { RpcSerialization, RpcServer } from "@effect/rpc"
import { HttpLayerRouter } from "@effect/platform"
import { Config, Duration, Effect, Layer, Option, Stream } from "effect"
import { ApiRpcs, AuthMiddleware, AuthRpcs, NotificationRpcs, ReadRpcs } from "../src/api/Rpc.ts"
import { CurrentUser } from "../src/domain/Auth.ts"
import { Auth } from "../services/Auth.ts"
import { Cases } from "../services/Cases.ts"
import { Hub } from "../services/Hub.ts"
import { Investigations } from "../services/Investigations.ts"
import { Loaders } from "../services/Loaders.ts"
import { Notifications } from "../services/Notifications.ts"
import { Rius } from "../services/Rius.ts"
import { Sessions } from "../services/Sessions.ts"
import { UserAdmin } from "../services/UserAdmin.ts"
import { clientInfoFromHeaders } from "./ClientAddress.ts"
import { RequestCacheRpc } from "./RequestCache.ts"
import { boundedPerClient, makeRpcSocketProtocol } from "./RpcProtocols.ts"
import { RpcSocket } from "./RpcSocket.ts"

/** Runs `f` with the caller the auth middleware put in the context. */
const withUser = <A, E>(f: (user: CurrentUser["Type"]) => Effect.Effect<A, E>) => Effect.flatMap(CurrentUser, f)

const AuthMiddlewareLive = Layer.effect(
  AuthMiddleware,
  Effect.map(Auth, (auth) => AuthMiddleware.of(({ headers }) => auth.verifyHeader(headers.authorization)))
)

const AuthHandlers = AuthRpcs.toLayer(
  Effect.gen(function* () {
    const sessions = yield* Sessions
    const admin = yield* UserAdmin
    const loaders = yield* Loaders
    return {
      "Auth.Login": (payload, { headers }) => sessions.login(payload, clientInfoFromHeaders(headers)),
      "Auth.Refresh": (payload, { headers }) => sessions.refresh(payload.refreshToken, clientInfoFromHeaders(headers)),
      "Auth.Me": () =>
        withUser((user) =>
          Effect.map(loaders.user(user.organizationId, user.userId), (record) => ({
            id: user.userId,
            organizationId: user.organizationId,
            role: user.role,
            displayName: Option.match(record, { onNone: () => "", onSome: (row) => row.displayName }),
            sessionId: user.sessionId,
            expiresAt: user.expiresAt.toISOString()
          }))),
      "Auth.Logout": (_, { headers }) => withUser((user) => sessions.logout(user, clientInfoFromHeaders(headers))),
      "Auth.ListSessions": () => withUser((user) => Effect.map(sessions.list(user), (list) => ({ sessions: list }))),
      "Auth.RevokeSession": ({ sessionId }, { headers }) => withUser((user) => sessions.revoke(user, sessionId, clientInfoFromHeaders(headers))),
      "Auth.RevokeAll": (_, { headers }) => withUser((user) => sessions.revokeAll(user, clientInfoFromHeaders(headers))),
      "Auth.DeactivateUser": ({ userId }, { headers }) => withUser((user) => admin.deactivate(user, userId, clientInfoFromHeaders(headers)))
    }
  })
)

const NotificationHandlers = NotificationRpcs.toLayer(
  Effect.gen(function* () {
    const notifications = yield* Notifications
    const hub = yield* Hub
    return {
      "Notifications.List": ({ before, limit }) => withUser((user) => notifications.list(user, { limit: limit ?? 20, before })),
      "Notifications.MarkRead": ({ ids }) => withUser((user) => Effect.map(notifications.markRead(user, ids), (unreadCount) => ({ unreadCount }))),
      "Notifications.MarkAllRead": () => withUser((user) => Effect.as(notifications.markAllRead(user), { unreadCount: 0 })),
      "Notifications.UnreadCount": () => withUser((user) => Effect.map(notifications.unreadCount(user), (unreadCount) => ({ unreadCount }))),
      "Notifications.Stream": () => Stream.unwrap(Effect.map(CurrentUser, hub.notificationsFor))
    }
  })
)

const ReadHandlers = ReadRpcs.toLayer(
  Effect.gen(function* () {
    const cases = yield* Cases
    const investigations = yield* Investigations
    const rius = yield* Rius
    return {
      "Cases.List": (request) => withUser((user) => cases.list(user, request)),
      "Cases.Get": ({ id }) => withUser((user) => Effect.map(cases.get(user, id), (found) => ({ case: found }))),
      "Investigations.Get": ({ id }) => withUser((user) => Effect.map(investigations.get(user, id), (investigation) => ({ investigation }))),
      "Rius.List": (request) => withUser((user) => rius.list(user, request))
    }
  })
)

const Handlers = Layer.mergeAll(AuthHandlers, NotificationHandlers, ReadHandlers, RequestCacheRpc)

/** The procedures the server answers with an Exit: the only calls that take a slot. */
const tags: ReadonlySet<string> = new Set(ApiRpcs.requests.keys())

const rpcLimitsConfig = Config.all({
  maxInFlight: Config.integer("RPC_MAX_IN_FLIGHT").pipe(Config.withDefault(8)),
  maxQueued: Config.integer("RPC_MAX_QUEUED").pipe(Config.withDefault(256)),
  maxBufferedBytes: Config.integer("WS_MAX_BUFFERED_BYTES").pipe(Config.withDefault(1024 * 1024)),
  authDeadlineMs: Config.duration("RPC_AUTH_DEADLINE").pipe(Config.map(Duration.toMillis), Config.withDefault(10_000))
})

/** POST /rpc: ndjson over HTTP (streaming-capable), at most RPC_MAX_IN_FLIGHT calls of one body at a time. */
const RpcHttpRoute = Layer.scopedDiscard(
  Effect.gen(function* () {
    const limits = yield* rpcLimitsConfig
    const router = yield* HttpLayerRouter.HttpRouter
    const { httpApp, protocol } = yield* RpcServer.makeProtocolWithHttpApp
    yield* router.add("POST", "/rpc", httpApp)
    yield* RpcServer.make(ApiRpcs).pipe(
      Effect.provideService(RpcServer.Protocol, boundedPerClient(protocol, limits.maxInFlight, tags)),
      Effect.interruptible,
      Effect.forkScoped
    )
  })
).pipe(Layer.provide(RpcSerialization.layerNdjson))

/**
 * GET /rpc upgraded to a WebSocket (json): the upgrade is layers/SocketsLive.ts's; this is the protocol,
 * with per-socket bounds, and an authentication middleware of its own that tells the protocol when a
 * socket has made an authenticated call (until then its deadline runs).
 */
const RpcSocketProtocol = Layer.scoped(
  RpcSocket,
  Effect.gen(function* () {
    const limits = yield* rpcLimitsConfig
    const auth = yield* Auth
    const { attach, markAuthenticated, protocol } = yield* makeRpcSocketProtocol(limits, tags)
    const middleware = AuthMiddleware.of(({ clientId, headers }) => Effect.tap(auth.verifyHeader(headers.authorization), () => markAuthenticated(clientId)))
    yield* RpcServer.make(ApiRpcs).pipe(
      Effect.provideService(RpcServer.Protocol, protocol),
      Effect.provideService(AuthMiddleware, middleware),
      Effect.interruptible,
      Effect.forkScoped
    )
    return { attach: (ws, headers) => Effect.sync(() => attach(ws, headers)) }
  })
).pipe(Layer.provide(RpcSerialization.layerJson))

/** The RPC group over HTTP: a route of the router. */
export const RpcHttpLive = RpcHttpRoute.pipe(Layer.provide([Handlers, AuthMiddlewareLive]))

/** The RPC group over WebSocket: what layers/SocketsLive.ts hands upgraded /rpc sockets to. */
export const RpcSocketLive = RpcSocketProtocol.pipe(Layer.provide(Handlers))
