import { RpcSerialization, RpcServer } from "@effect/rpc"
import { SqlClient } from "@effect/sql"
import { Effect, Layer } from "effect"
import { ApiRpcs, AuthMiddleware, AuthRpcs } from "../src/api/Rpc.ts"
import { CurrentUser } from "../src/domain/Auth.ts"
import { Auth } from "../services/Auth.ts"
import { Sessions } from "../services/Sessions.ts"
import { clientInfoFromHeaders } from "./HttpSupport.ts"

const AuthMiddlewareLive = Layer.effect(
  AuthMiddleware,
  Effect.map(Auth, (auth) => AuthMiddleware.of(({ headers }) => auth.verifyHeader(headers.authorization)))
)

const AuthHandlers = AuthRpcs.toLayer(
  Effect.gen(function* () {
    const sessions = yield* Sessions
    const sql = yield* SqlClient.SqlClient
    return {
      "Auth.Login": (payload, { headers }) => sessions.login(payload, clientInfoFromHeaders(headers)),
      "Auth.Refresh": (payload, { headers }) => sessions.refresh(payload.refreshToken, clientInfoFromHeaders(headers)),
      "Auth.Me": () =>
        Effect.gen(function* () {
          const user = yield* CurrentUser
          const [row] = yield* sql<{ display_name: string }>`SELECT display_name FROM users WHERE id = ${user.userId}`.pipe(Effect.orDie)
          return {
            id: user.userId,
            organizationId: user.organizationId,
            role: user.role,
            displayName: row?.display_name ?? "",
            sessionId: user.sessionId,
            expiresAt: user.expiresAt.toISOString()
          }
        }),
      "Auth.Logout": (_, { headers }) => Effect.flatMap(CurrentUser, (user) => sessions.logout(user, clientInfoFromHeaders(headers))),
      "Auth.ListSessions": () => Effect.flatMap(CurrentUser, (user) => Effect.map(sessions.list(user), (list) => ({ sessions: list }))),
      "Auth.RevokeSession": ({ sessionId }, { headers }) =>
        Effect.flatMap(CurrentUser, (user) => sessions.revoke(user, sessionId, clientInfoFromHeaders(headers))),
      "Auth.RevokeAll": (_, { headers }) => Effect.flatMap(CurrentUser, (user) => sessions.revokeAll(user, clientInfoFromHeaders(headers))),
      "Auth.DeactivateUser": ({ userId }, { headers }) =>
        Effect.flatMap(CurrentUser, (user) => sessions.deactivateUser(user, userId, clientInfoFromHeaders(headers)))
    }
  })
)

/** POST /rpc (ndjson, streaming-capable) and GET /rpc upgraded to a WebSocket (json). */
export const RpcRoutes = Layer.mergeAll(
  RpcServer.layerHttpRouter({ group: ApiRpcs, path: "/rpc", protocol: "http" }).pipe(Layer.provide(RpcSerialization.layerNdjson)),
  RpcServer.layerHttpRouter({ group: ApiRpcs, path: "/rpc", protocol: "websocket" }).pipe(Layer.provide(RpcSerialization.layerJson))
).pipe(Layer.provide([AuthHandlers, AuthMiddlewareLive]))
