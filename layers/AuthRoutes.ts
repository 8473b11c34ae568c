import { HttpLayerRouter, HttpRouter, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Effect, Schema } from "effect"
import { LoginRequest, RefreshRequest } from "../src/api/AuthApi.ts"
import { NotFoundError } from "../src/domain/Errors.ts"
import { SessionId, UserId } from "../src/domain/Ids.ts"
import { Auth } from "../services/Auth.ts"
import { Jwt } from "../services/Jwt.ts"
import { Sessions } from "../services/Sessions.ts"
import { clientInfoFromHeaders, decodeBody, handle } from "./HttpSupport.ts"

const noContent = HttpServerResponse.empty({ status: 204 })

/** The HTTP section of shared/PROTOCOL.md for auth, plus the JWKS and user deactivation. */
export const AuthRoutes = HttpLayerRouter.use((router) =>
  Effect.gen(function* () {
    const auth = yield* Auth
    const sessions = yield* Sessions
    const jwt = yield* Jwt

    const request = HttpServerRequest.HttpServerRequest
    const client = Effect.map(request, (req) => clientInfoFromHeaders(req.headers))
    const caller = Effect.flatMap(request, (req) => auth.verifyHeader(req.headers.authorization))
    const pathId = <A>(schema: Schema.Schema<A, string>) =>
      HttpRouter.schemaPathParams(Schema.Struct({ id: schema })).pipe(
        Effect.map(({ id }) => id),
        Effect.mapError(() => new NotFoundError({ message: "no such resource" }))
      )

    yield* router.add("GET", "/.well-known/jwks.json", HttpServerResponse.unsafeJson(jwt.jwks, { headers: { "cache-control": "public, max-age=300" } }))

    yield* router.add("POST", "/auth/login", handle(Effect.gen(function* () {
      const body = yield* decodeBody(LoginRequest)
      return HttpServerResponse.unsafeJson(yield* sessions.login(body, yield* client))
    })))

    yield* router.add("POST", "/auth/refresh", handle(Effect.gen(function* () {
      const body = yield* decodeBody(RefreshRequest)
      return HttpServerResponse.unsafeJson(yield* sessions.refresh(body.refreshToken, yield* client))
    })))

    yield* router.add("POST", "/auth/logout", handle(Effect.gen(function* () {
      yield* sessions.logout(yield* caller, yield* client)
      return noContent
    })))

    yield* router.add("GET", "/auth/sessions", handle(Effect.gen(function* () {
      return HttpServerResponse.unsafeJson({ sessions: yield* sessions.list(yield* caller) })
    })))

    yield* router.add("POST", "/auth/sessions/revoke-all", handle(Effect.gen(function* () {
      yield* sessions.revokeAll(yield* caller, yield* client)
      return noContent
    })))

    yield* router.add("DELETE", "/auth/sessions/:id", handle(Effect.gen(function* () {
      const user = yield* caller
      yield* sessions.revoke(user, yield* pathId(SessionId), yield* client)
      return noContent
    })))

    yield* router.add("POST", "/auth/users/:id/deactivate", handle(Effect.gen(function* () {
      const user = yield* caller
      yield* sessions.deactivateUser(user, yield* pathId(UserId), yield* client)
      return noContent
    })))
  })
)
