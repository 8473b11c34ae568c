import { assert, describe, it, layer } from "@effect/vitest"
import { SqlClient } from "@effect/sql"
import { Duration, Effect, Layer, Option, Redacted, TestClock } from "effect"
import { ApiClient, type ClientOptions, layerHttp } from "../../src/client/ApiClient.ts"
import { layerWebSocketNode } from "../../src/client/NodeApiClient.ts"
import type { TokenPair } from "../../src/domain/Auth.ts"
import { Auth } from "../../services/Auth.ts"
import { Sessions } from "../../services/Sessions.ts"
import { BaseUrl, createOrganization, freshOrganization, password, ServerTest, testStart, type TestUser, uniqueSlug } from "../support/TestApp.ts"

const start = testStart
const accessLifetime = Duration.minutes(10)

const overHttp = (options: Omit<ClientOptions, "baseUrl"> = {}) =>
  Layer.unwrapEffect(Effect.map(BaseUrl, (baseUrl) => layerHttp({ baseUrl, ...options })))
const overWebSocket = Layer.unwrapEffect(Effect.map(BaseUrl, (baseUrl) => layerWebSocketNode({ baseUrl })))

const login = (user: TestUser, pass = password) =>
  Effect.flatMap(ApiClient, (client) => client.login({ email: user.email, password: pass, organization: user.organization }))

/** A session opened beside the client (another device), through the service. */
const loginElsewhere = (user: TestUser) =>
  Effect.gen(function* () {
    const sessions = yield* Sessions
    const pair = yield* sessions.login(
      { email: user.email, password: Redacted.make(password), organization: user.organization },
      { ip: "203.0.113.9", userAgent: "another device" }
    )
    return { pair, sessionId: (yield* verify(pair)).sessionId }
  })

const verify = (pair: TokenPair) => Effect.flatMap(Auth, (auth) => auth.verify(pair.accessToken))

const heldTokens = Effect.flatMap(ApiClient, (client) => client.tokens).pipe(Effect.map(Option.getOrThrow))

/** The session's generation and how many refresh tokens it has issued (one per login or refresh). */
const sessionRow = (sessionId: string) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const [row] = yield* sql<{ generation: number; issued: number }>`
      SELECT s.current_generation AS generation, (SELECT count(*)::int FROM auth_refresh_tokens t WHERE t.session_id = s.id) AS issued
        FROM auth_sessions s WHERE s.id = ${sessionId}`
    assert.isDefined(row)
    return row!
  })

const setup = freshOrganization

/**
 * Lets the access token expire while the client believes it good (its clock is behind): with an
 * accurate clock the client never sends a token it knows is expired, so only this way does the server
 * answer TOKEN_EXPIRED.
 */
const expireBehindClientsBack = (pair: TokenPair) =>
  Effect.gen(function* () {
    yield* TestClock.adjust(Duration.sum(accessLifetime, Duration.seconds(31)))
    yield* Effect.flatMap(ApiClient, (api) => api.setTokens(Option.some({ ...pair, expiresAt: new Date(start + 3_600_000).toISOString() })))
  })

describe("auth over RPC", () => {
  it.layer(ServerTest(), { timeout: 60_000 })((it) => {
    /** The checks that must hold over either transport. */
    const transportChecks = (transport: string, client: typeof overWebSocket) => {
      it.effect(`${transport}: Auth.Me after login returns the logged-in user`, () =>
        Effect.gen(function* () {
          const users = yield* setup
          const pair = yield* login(users.INVESTIGATOR)
          const me = yield* Effect.flatMap(ApiClient, (api) => api.call((rpc) => rpc.Auth.Me()))
          assert.deepStrictEqual(me, {
            id: users.INVESTIGATOR.id,
            organizationId: users.INVESTIGATOR.organizationId,
            role: "INVESTIGATOR",
            displayName: `INVESTIGATOR of ${users.INVESTIGATOR.organization}`,
            sessionId: (yield* verify(pair)).sessionId,
            expiresAt: pair.expiresAt
          })
        }).pipe(Effect.provide(client)))

      it.effect(`${transport}: Auth.ListSessions lists the caller's sessions with only the client's marked current`, () =>
        Effect.gen(function* () {
          const users = yield* setup
          const elsewhere = yield* loginElsewhere(users.VIEWER)
          yield* TestClock.adjust(Duration.seconds(1))
          const pair = yield* login(users.VIEWER)
          const { sessions } = yield* Effect.flatMap(ApiClient, (api) => api.call((rpc) => rpc.Auth.ListSessions()))
          assert.deepStrictEqual(
            sessions.map((session) => [session.id, session.current]),
            [[(yield* verify(pair)).sessionId, true], [elsewhere.sessionId, false]]
          )
        }).pipe(Effect.provide(client)))

      it.effect(`${transport}: Auth.RevokeSession of another organization's session fails with NotFoundError and the session lives on`, () =>
        Effect.gen(function* () {
          const users = yield* setup
          const other = (yield* createOrganization(uniqueSlug("other"))).users
          const theirs = yield* loginElsewhere(other.ADMIN)
          yield* login(users.ADMIN)
          const error = yield* Effect.flip(Effect.flatMap(ApiClient, (api) => api.call((rpc) => rpc.Auth.RevokeSession({ sessionId: theirs.sessionId }))))
          assert.strictEqual(error._tag, "NotFoundError")
          assert.strictEqual((yield* verify(theirs.pair)).sessionId, theirs.sessionId)
        }).pipe(Effect.provide(client)))

      it.effect(`${transport}: a call's own headers cannot choose the client address that rate limits and the audit log use`, () =>
        Effect.gen(function* () {
          const users = yield* setup
          const api = yield* ApiClient
          yield* api.rpc.Auth.Login(
            { email: users.VIEWER.email, password: Redacted.make(password), organization: users.VIEWER.organization },
            { headers: { "x-casecore-client-address": "198.51.100.77" } }
          )
          const sql = yield* SqlClient.SqlClient
          const rows = yield* sql<{ ip: string }>`
            SELECT ip FROM audit_log WHERE organization_id = ${users.VIEWER.organizationId} AND action = 'auth.login.succeeded'`
          assert.deepStrictEqual(rows.map((row) => row.ip), ["127.0.0.1"])
        }).pipe(Effect.provide(client)))
    }

    // No nested `describe` here: its body runs after the whole file was read, when `it.effect` (one
    // object that every `it.layer` block reassigns) may belong to the other block's server.
    transportChecks("over HTTP", overHttp())
    transportChecks("over WebSocket", overWebSocket)

    it.effect("Auth.RevokeSession of a colleague's session by a non-admin fails with ForbiddenError", () =>
      Effect.gen(function* () {
        const users = yield* setup
        const colleague = yield* loginElsewhere(users.ADMIN)
        yield* login(users.VIEWER)
        const error = yield* Effect.flip(Effect.flatMap(ApiClient, (api) => api.call((rpc) => rpc.Auth.RevokeSession({ sessionId: colleague.sessionId }))))
        assert.strictEqual(error._tag, "ForbiddenError")
        assert.strictEqual((yield* verify(colleague.pair)).sessionId, colleague.sessionId)
      }).pipe(Effect.provide(overHttp())))

    it.effect("a call before login fails with AuthError UNAUTHORIZED", () =>
      Effect.gen(function* () {
        yield* setup
        const error = yield* Effect.flip(Effect.flatMap(ApiClient, (api) => api.call((rpc) => rpc.Auth.Me())))
        assert.strictEqual(error._tag, "AuthError")
        assert.strictEqual(error._tag === "AuthError" ? error.code : undefined, "UNAUTHORIZED")
      }).pipe(Effect.provide(overHttp())))

    it.effect("a wrong password fails login with AuthError INVALID_CREDENTIALS and holds no tokens", () =>
      Effect.gen(function* () {
        const users = yield* setup
        const error = yield* Effect.flip(login(users.VIEWER, "not the password"))
        assert.strictEqual(error._tag, "AuthError")
        assert.strictEqual(error._tag === "AuthError" ? error.code : undefined, "INVALID_CREDENTIALS")
        assert.isTrue(Option.isNone(yield* Effect.flatMap(ApiClient, (api) => api.tokens)))
      }).pipe(Effect.provide(overHttp())))

    it.effect("refreshes proactively within 30 s of the access token's expiry", () =>
      Effect.gen(function* () {
        const users = yield* setup
        const pair = yield* login(users.INVESTIGATOR)
        const { sessionId } = yield* verify(pair)
        yield* TestClock.adjust(Duration.sum(Duration.minutes(9), Duration.seconds(45)))
        const me = yield* Effect.flatMap(ApiClient, (api) => api.call((rpc) => rpc.Auth.Me()))
        const held = yield* heldTokens
        assert.notStrictEqual(held.refreshToken, pair.refreshToken)
        assert.strictEqual(held.expiresAt, new Date(start + Duration.toMillis(accessLifetime) + 585_000).toISOString())
        assert.strictEqual(me.expiresAt, held.expiresAt)
        assert.strictEqual(me.sessionId, sessionId)
        assert.deepStrictEqual(yield* sessionRow(sessionId), { generation: 1, issued: 2 })
      }).pipe(Effect.provide(overHttp())))

    it.effect("a TOKEN_EXPIRED answer makes the client refresh and retry the call once", () =>
      Effect.gen(function* () {
        const users = yield* setup
        const api = yield* ApiClient
        const pair = yield* login(users.INVESTIGATOR)
        const { sessionId } = yield* verify(pair)
        yield* expireBehindClientsBack(pair)
        const refused = yield* Effect.flip(api.rpc.Auth.Me())
        assert.strictEqual(refused._tag === "AuthError" ? refused.code : refused._tag, "TOKEN_EXPIRED")
        const me = yield* api.call((rpc) => rpc.Auth.Me())
        assert.strictEqual(me.sessionId, sessionId)
        assert.notStrictEqual((yield* heldTokens).refreshToken, pair.refreshToken)
        assert.deepStrictEqual(yield* sessionRow(sessionId), { generation: 1, issued: 2 })
      }).pipe(Effect.provide(overHttp({ refreshAhead: 0 }))))

    it.effect("two concurrent calls with an expiring token refresh it once", () =>
      Effect.gen(function* () {
        const users = yield* setup
        const api = yield* ApiClient
        const pair = yield* login(users.VIEWER)
        const { sessionId } = yield* verify(pair)
        yield* TestClock.adjust(Duration.sum(Duration.minutes(9), Duration.seconds(45)))
        const [me, list] = yield* Effect.all([api.call((rpc) => rpc.Auth.Me()), api.call((rpc) => rpc.Auth.ListSessions())], {
          concurrency: "unbounded"
        })
        assert.strictEqual(me.sessionId, sessionId)
        assert.deepStrictEqual(list.sessions.map((session) => session.id), [sessionId])
        assert.deepStrictEqual(yield* sessionRow(sessionId), { generation: 1, issued: 2 })
      }).pipe(Effect.provide(overHttp())))

    it.effect("two concurrent calls refused with TOKEN_EXPIRED refresh once", () =>
      Effect.gen(function* () {
        const users = yield* setup
        const api = yield* ApiClient
        const pair = yield* login(users.VIEWER)
        const { sessionId } = yield* verify(pair)
        yield* expireBehindClientsBack(pair)
        const [me, list] = yield* Effect.all([api.call((rpc) => rpc.Auth.Me()), api.call((rpc) => rpc.Auth.ListSessions())], {
          concurrency: "unbounded"
        })
        assert.strictEqual(me.sessionId, sessionId)
        assert.deepStrictEqual(list.sessions.map((session) => session.id), [sessionId])
        assert.deepStrictEqual(yield* sessionRow(sessionId), { generation: 1, issued: 2 })
      }).pipe(Effect.provide(overHttp({ refreshAhead: 0 }))))
  })

  // A server of its own: the failed logins below would otherwise use up the address's budget that
  // every other test's login shares. `layer`, not `it.layer`: the block's `it.layer` method nests
  // into the block above (its layer and memo map, hence its server and limiter).
  layer(ServerTest(), { timeout: 60_000 })((it) => {
    it.effect("too many failed Auth.Login calls fail with RateLimitedError", () =>
      Effect.gen(function* () {
        const users = yield* setup
        for (let attempt = 1; attempt <= 10; attempt++) {
          const error = yield* Effect.flip(login(users.VIEWER, "wrong password"))
          assert.strictEqual(error._tag === "AuthError" ? error.code : error._tag, "INVALID_CREDENTIALS")
        }
        const limited = yield* Effect.flip(login(users.VIEWER, "wrong password"))
        assert.strictEqual(limited._tag, "RateLimitedError")
        const retryAfter = limited._tag === "RateLimitedError" ? limited.retryAfterSeconds : 0
        assert.isAtLeast(retryAfter, 1)
        assert.isAtMost(retryAfter, 900)
      }).pipe(Effect.provide(overHttp())))
  })
})
