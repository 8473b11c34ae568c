import { RpcSerialization, RpcServer } from "@effect/rpc"
import { Effect, Layer, Option } from "effect"
import { ApiRpcs, AuthMiddleware, AuthRpcs } from "../src/api/Rpc.ts"
import { CurrentUser } from "../src/domain/Auth.ts"
import { Auth } from "../services/Auth.ts"
import { Sessions } from "../services/Sessions.ts"
import { UserAdmin } from "../services/UserAdmin.ts"
import { clientInfoFromHeaders } from "./ClientAddress.ts"
import { RpcSocket } from "./RpcSocket.ts"
import { makeUserRepository } from "./UserRepository.ts"

const AuthMiddlewareLive = Layer.effect(
  AuthMiddleware,
  Effect.map(Auth, (auth) => AuthMiddleware.of(({ headers }) => auth.verifyHeader(headers.authorization)))
)

const AuthHandlers = AuthRpcs.toLayer(
  Effect.gen(function* () {
    const sessions = yield* Sessions
    const admin = yield* UserAdmin
    const users = yield* makeUserRepository
    const withUser = <A, E>(f: (user: CurrentUser["Type"]) => Effect.Effect<A, E>) => Effect.flatMap(CurrentUser, f)
    return {
      "Auth.Login": (payload, { headers }) => sessions.login(payload, clientInfoFromHeaders(headers)),
      "Auth.Refresh": (payload, { headers }) => sessions.refresh(payload.refreshToken, clientInfoFromHeaders(headers)),
      "Auth.Me": () =>
        withUser((user) =>
          Effect.map(users.find(user.userId, user.organizationId), (record) => ({
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

/** POST /rpc: ndjson over HTTP (streaming-capable). */
const RpcHttpRoute = RpcServer.layerHttpRouter({ group: ApiRpcs, path: "/rpc", protocol: "http" }).pipe(
  Layer.provide(RpcSerialization.layerNdjson)
)

/** GET /rpc upgraded to a WebSocket (json): the upgrade itself is layers/SocketsLive.ts's. */
const RpcSocketProtocol = Layer.scoped(
  RpcSocket,
  Effect.gen(function* () {
    const { httpApp, protocol } = yield* RpcServer.makeProtocolWithHttpAppWebsocket
    yield* RpcServer.make(ApiRpcs).pipe(Effect.provideService(RpcServer.Protocol, protocol), Effect.interruptible, Effect.forkScoped)
    return { httpApp }
  })
).pipe(Layer.provide(RpcSerialization.layerJson))

/** The RPC group over HTTP: a route of the router. */
export const RpcHttpLive = RpcHttpRoute.pipe(Layer.provide([AuthHandlers, AuthMiddlewareLive]))

/** The RPC group over WebSocket: the handler layers/SocketsLive.ts hands upgraded /rpc sockets to. */
export const RpcSocketLive = RpcSocketProtocol.pipe(Layer.provide([AuthHandlers, AuthMiddlewareLive]))
