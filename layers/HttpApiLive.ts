import { HttpApiBuilder, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { SqlClient } from "@effect/sql"
import { Duration, Effect, Layer, Schema } from "effect"
import { Authentication } from "../src/api/Authentication.ts"
import { Api } from "../src/api/HttpApi.ts"
import { CurrentUser } from "../src/domain/Auth.ts"
import { errorCatalog, NotFoundError, type RateLimitedError, type UnavailableError } from "../src/domain/Errors.ts"
import { OrganizationId, SessionId, UserId } from "../src/domain/Ids.ts"
import { Auth } from "../services/Auth.ts"
import { Cases } from "../services/Cases.ts"
import { EventBus } from "../services/EventBus.ts"
import { Investigations } from "../services/Investigations.ts"
import { Jwt } from "../services/Jwt.ts"
import { Metrics } from "../services/Metrics.ts"
import { Notifications } from "../services/Notifications.ts"
import { Rius } from "../services/Rius.ts"
import { Sessions } from "../services/Sessions.ts"
import { UserAdmin } from "../services/UserAdmin.ts"
import { clientInfoFromHeaders } from "./ClientAddress.ts"
import { NodeServer } from "./NodeServer.ts"

const client = Effect.map(HttpServerRequest.HttpServerRequest, (request) => clientInfoFromHeaders(request.headers))

/**
 * The answer as JSON, built here rather than by encoding the endpoint's success schema: on the hottest
 * routes the per-request schema encode was a measurable share of the CPU (bench/results/http.md). The
 * values are the schema's own types, whose JSON is the same; the schema still documents the route and
 * decodes it in the typed client.
 */
const json = (value: unknown) => HttpServerResponse.unsafeJson(value)

/**
 * RATE_LIMITED and UNAVAILABLE carry a Retry-After header, which an HttpApi error schema cannot set:
 * the handler answers them itself (a response as a defect is the platform's way to answer early).
 */
export const retryAfterResponse = (error: RateLimitedError | UnavailableError) =>
  HttpServerResponse.unsafeJson(
    { code: error.code, message: error.message },
    { status: errorCatalog[error.code].status, headers: { "retry-after": String(error.retryAfterSeconds) } }
  )

const answeringRetryAfter = <A, E, R>(effect: Effect.Effect<A, E | RateLimitedError, R>) =>
  Effect.catchTag(effect as Effect.Effect<A, RateLimitedError, R>, "RateLimitedError", (error) => Effect.die(retryAfterResponse(error))) as Effect.Effect<A, Exclude<E, RateLimitedError>, R>

/** A path id: malformed is the same answer as unknown, NOT_FOUND. */
const pathId = <A>(schema: Schema.Schema<A, string>, id: string) =>
  Schema.decodeUnknown(schema)(id).pipe(Effect.mapError(() => new NotFoundError({ message: "no such resource" })))

const AuthenticationLive = Layer.effect(
  Authentication,
  Effect.map(Auth, (auth) =>
    Authentication.of({
      bearer: () => Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) => auth.verifyHeader(request.headers.authorization))
    }))
)

const AuthGroupLive = HttpApiBuilder.group(Api, "auth", (handlers) =>
  Effect.gen(function* () {
    const sessions = yield* Sessions
    return handlers
      .handle("login", ({ payload }) => answeringRetryAfter(Effect.flatMap(client, (info) => Effect.map(sessions.login(payload, info), json))))
      .handle("refresh", ({ payload }) =>
        answeringRetryAfter(Effect.flatMap(client, (info) => Effect.map(sessions.refresh(payload.refreshToken, info), json))))
      .handle("logout", () => Effect.flatMap(Effect.zip(CurrentUser, client), ([user, info]) => sessions.logout(user, info)))
  }))

const SessionsGroupLive = HttpApiBuilder.group(Api, "sessions", (handlers) =>
  Effect.gen(function* () {
    const sessions = yield* Sessions
    return handlers
      .handle("list", () => Effect.map(Effect.flatMap(CurrentUser, sessions.list), (list) => json({ sessions: list })))
      .handle("revoke", ({ path }) =>
        Effect.gen(function* () {
          const sessionId = yield* pathId(SessionId, path.id)
          yield* sessions.revoke(yield* CurrentUser, sessionId, yield* client)
        }))
      .handle("revokeAll", () => Effect.flatMap(Effect.zip(CurrentUser, client), ([user, info]) => sessions.revokeAll(user, info)))
  }))

const UsersGroupLive = HttpApiBuilder.group(Api, "users", (handlers) =>
  Effect.gen(function* () {
    const admin = yield* UserAdmin
    return handlers
      .handle("deactivate", ({ path }) =>
        Effect.gen(function* () {
          const userId = yield* pathId(UserId, path.id)
          yield* admin.deactivate(yield* CurrentUser, userId, yield* client)
        }))
      .handle("setRole", ({ path, payload }) =>
        Effect.gen(function* () {
          const userId = yield* pathId(UserId, path.id)
          yield* admin.setRole(yield* CurrentUser, userId, payload.role, yield* client)
        }))
  }))

const OrganizationsGroupLive = HttpApiBuilder.group(Api, "organizations", (handlers) =>
  Effect.gen(function* () {
    const admin = yield* UserAdmin
    return handlers
      .handle("suspend", ({ path }) =>
        Effect.gen(function* () {
          const organizationId = yield* pathId(OrganizationId, path.id)
          yield* admin.suspendOrganization(yield* CurrentUser, organizationId, yield* client)
        }))
      .handle("activate", ({ path }) =>
        Effect.gen(function* () {
          const organizationId = yield* pathId(OrganizationId, path.id)
          yield* admin.activateOrganization(yield* CurrentUser, organizationId, yield* client)
        }))
  }))

const NotificationsGroupLive = HttpApiBuilder.group(Api, "notifications", (handlers) =>
  Effect.map(Notifications, (notifications) =>
    handlers.handle("send", ({ payload }) =>
      Effect.flatMap(CurrentUser, (user) => Effect.map(notifications.send(user, payload), (ids) => ({ ids }))))))

const CasesGroupLive = HttpApiBuilder.group(Api, "cases", (handlers) =>
  Effect.map(Cases, (cases) =>
    handlers
      .handle("list", ({ urlParams }) => Effect.flatMap(CurrentUser, (user) => Effect.map(cases.list(user, urlParams), json)))
      .handle("get", ({ path }) => Effect.flatMap(CurrentUser, (user) => Effect.map(cases.get(user, path.id), (found) => json({ case: found }))))))

const InvestigationsGroupLive = HttpApiBuilder.group(Api, "investigations", (handlers) =>
  Effect.map(Investigations, (investigations) =>
    handlers.handle("get", ({ path }) =>
      Effect.flatMap(CurrentUser, (user) => Effect.map(investigations.get(user, path.id), (investigation) => json({ investigation }))))))

const RiusGroupLive = HttpApiBuilder.group(Api, "rius", (handlers) =>
  Effect.map(Rius, (rius) =>
    handlers.handle("list", ({ urlParams }) => Effect.flatMap(CurrentUser, (user) => Effect.map(rius.list(user, urlParams), json)))))

const HealthGroupLive = HttpApiBuilder.group(Api, "health", (handlers) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const bus = yield* EventBus
    const node = yield* NodeServer
    const database = sql`SELECT 1`.pipe(Effect.as(true), Effect.timeout(Duration.seconds(2)), Effect.orElseSucceed(() => false))
    const alive = Effect.succeed(json({ status: "ok" }))
    return handlers
      .handle("healthz", () => alive)
      .handle("readyz", () =>
        Effect.gen(function* () {
          const [db, listener] = yield* Effect.all([database, bus.connected], { concurrency: 2 })
          const checks = { database: db, listener }
          if (node.draining()) return yield* Effect.fail({ status: "draining" as const, checks })
          return db && listener ? { status: "ready" as const, checks } : yield* Effect.fail({ status: "not ready" as const, checks })
        }))
  }))

const JwksGroupLive = HttpApiBuilder.group(Api, "jwks", (handlers) =>
  Effect.map(Jwt, (jwt) => {
    const response = HttpServerResponse.unsafeJson(jwt.jwks, { headers: { "cache-control": "public, max-age=300" } })
    return handlers.handle("jwks", () => Effect.succeed(response))
  }))

const MetricsGroupLive = HttpApiBuilder.group(Api, "metrics", (handlers) =>
  Effect.map(Metrics, (metrics) =>
    handlers.handle("metrics", () =>
      Effect.map(metrics.render, ({ body, contentType }) => HttpServerResponse.text(body, { contentType })))))

/** Every group of the declared API, with the bearer middleware. */
export const HttpApiLive = Layer.mergeAll(
  AuthGroupLive,
  SessionsGroupLive,
  UsersGroupLive,
  OrganizationsGroupLive,
  NotificationsGroupLive,
  CasesGroupLive,
  InvestigationsGroupLive,
  RiusGroupLive,
  HealthGroupLive,
  JwksGroupLive,
  MetricsGroupLive
).pipe(Layer.provide(AuthenticationLive))

