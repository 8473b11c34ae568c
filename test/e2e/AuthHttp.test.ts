import { assert, describe, it, layer } from "@effect/vitest"
import { WebSocket } from "ws"
import { Duration, Effect, Schema, TestClock } from "effect"
import { BaseUrl, createOrganization, freshOrganization, password, ServerTest, testStart, type TestUser, uniqueSlug } from "../support/TestApp.ts"
import { type Reply, send } from "../support/Http.ts"

const start = testStart
const exact = { onExcessProperty: "error" } as const

/** The PROTOCOL's login answer, and nothing more. */
const TokenPairBody = Schema.parseJson(
  Schema.Struct({
    accessToken: Schema.String,
    refreshToken: Schema.String,
    expiresAt: Schema.String,
    refreshExpiresAt: Schema.String,
    user: Schema.Struct({ id: Schema.String, organizationId: Schema.String, role: Schema.String, displayName: Schema.String })
  })
)
const ErrorBody = Schema.parseJson(Schema.Struct({ code: Schema.String, message: Schema.String }))
const SessionsBody = Schema.parseJson(
  Schema.Struct({
    sessions: Schema.Array(Schema.Struct({ id: Schema.String, createdAt: Schema.String, lastRefreshedAt: Schema.String, current: Schema.Boolean }))
  })
)
const JwksBody = Schema.parseJson(Schema.Struct({ keys: Schema.Array(Schema.Record({ key: Schema.String, value: Schema.Unknown })) }))




/** The `{ code, message }` of an error answer (exactly those keys), after checking the status. */
const errorOf = (reply: Reply, status: number) =>
  Effect.gen(function* () {
    assert.strictEqual(reply.status, status, reply.text)
    return yield* Schema.decodeUnknown(ErrorBody, exact)(reply.text)
  })

const loginReply = (user: TestUser, pass = password, forwardedFor?: string) =>
  send("POST", "/auth/login", {
    json: { email: user.email, password: pass, organization: user.organization },
    ...(forwardedFor === undefined ? {} : { forwardedFor })
  })

const pairOf = (reply: Reply) =>
  Effect.gen(function* () {
    assert.strictEqual(reply.status, 200, reply.text)
    return yield* Schema.decodeUnknown(TokenPairBody, exact)(reply.text)
  })

const login = (user: TestUser) => Effect.flatMap(loginReply(user), pairOf)

const listSessions = (token: string) =>
  Effect.gen(function* () {
    const reply = yield* send("GET", "/auth/sessions", { token })
    assert.strictEqual(reply.status, 200, reply.text)
    return (yield* Schema.decodeUnknown(SessionsBody, exact)(reply.text)).sessions
  })

const currentSessionId = (token: string) =>
  Effect.map(listSessions(token), (sessions) => {
    const current = sessions.filter((session) => session.current)
    assert.strictEqual(current.length, 1)
    return current[0]!.id
  })

const setup = freshOrganization

describe("auth over HTTP", () => {
  it.layer(ServerTest(), { timeout: 60_000 })((it) => {
    it.effect("POST /auth/login answers exactly the PROTOCOL shape for the user", () =>
      Effect.gen(function* () {
        const users = yield* setup
        const pair = yield* login(users.INVESTIGATOR)
        assert.deepStrictEqual(pair.user, {
          id: users.INVESTIGATOR.id,
          organizationId: users.INVESTIGATOR.organizationId,
          role: "INVESTIGATOR",
          displayName: `INVESTIGATOR of ${users.INVESTIGATOR.organization}`
        })
        assert.strictEqual(pair.expiresAt, new Date(start + 10 * 60_000).toISOString())
        assert.strictEqual(pair.refreshExpiresAt, new Date(start + 12 * 3_600_000).toISOString())
        assert.match(pair.accessToken, /^[\w-]+\.[\w-]+\.[\w-]+$/)
        assert.match(pair.refreshToken, /^[0-9a-f-]{36}\.[\w-]{43}$/)
      }))

    it.effect("a wrong password and an unknown email both get 401 INVALID_CREDENTIALS with the same message", () =>
      Effect.gen(function* () {
        const users = yield* setup
        const wrong = yield* errorOf(yield* loginReply(users.VIEWER, "not the password at all"), 401)
        const unknown = yield* errorOf(yield* loginReply({ ...users.VIEWER, email: "nobody@nowhere.example" }), 401)
        assert.strictEqual(wrong.code, "INVALID_CREDENTIALS")
        assert.deepStrictEqual(unknown, wrong)
      }))

    it.effect("a login body without password is 400 VALIDATION_ERROR naming password", () =>
      Effect.gen(function* () {
        const users = yield* setup
        const error = yield* errorOf(yield* send("POST", "/auth/login", { json: { email: users.ADMIN.email } }), 400)
        assert.strictEqual(error.code, "VALIDATION_ERROR")
        assert.include(error.message, "password")
      }))

    it.effect("a login body that is not JSON is 400 BAD_REQUEST", () =>
      Effect.gen(function* () {
        yield* setup
        const error = yield* errorOf(yield* send("POST", "/auth/login", { raw: "email=a@b.example&password=x" }), 400)
        assert.strictEqual(error.code, "BAD_REQUEST")
      }))

    it.effect("the login of a deactivated user is 403 USER_INACTIVE", () =>
      Effect.gen(function* () {
        const users = yield* setup
        const admin = yield* login(users.ADMIN)
        const deactivated = yield* send("POST", `/auth/users/${users.VIEWER.id}/deactivate`, { token: admin.accessToken })
        assert.strictEqual(deactivated.status, 204, deactivated.text)
        const error = yield* errorOf(yield* loginReply(users.VIEWER), 403)
        assert.strictEqual(error.code, "USER_INACTIVE")
      }))

    it.effect("POST /auth/refresh returns a new refresh token; the old one replayed after 11 s is 401 REFRESH_TOKEN_REUSED", () =>
      Effect.gen(function* () {
        const users = yield* setup
        const first = yield* login(users.INVESTIGATOR)
        const second = yield* pairOf(yield* send("POST", "/auth/refresh", { json: { refreshToken: first.refreshToken } }))
        assert.notStrictEqual(second.refreshToken, first.refreshToken)
        assert.deepStrictEqual(second.user, first.user)
        yield* TestClock.adjust(Duration.seconds(11))
        const error = yield* errorOf(yield* send("POST", "/auth/refresh", { json: { refreshToken: first.refreshToken } }), 401)
        assert.strictEqual(error.code, "REFRESH_TOKEN_REUSED")
      }))

    it.effect("GET /auth/sessions lists the caller's sessions with exactly one current", () =>
      Effect.gen(function* () {
        const users = yield* setup
        const older = yield* login(users.INVESTIGATOR)
        yield* TestClock.adjust(Duration.seconds(1))
        const newer = yield* login(users.INVESTIGATOR)
        yield* login(users.VIEWER)
        const sessions = yield* listSessions(newer.accessToken)
        assert.strictEqual(sessions.length, 2)
        assert.deepStrictEqual(sessions.map((session) => session.current), [true, false])
        assert.strictEqual(sessions[0]!.id, yield* currentSessionId(newer.accessToken))
        assert.strictEqual(sessions[1]!.id, yield* currentSessionId(older.accessToken))
        assert.strictEqual(sessions[1]!.createdAt, new Date(start).toISOString())
      }))

    it.effect("DELETE /auth/sessions/:id of another organization's session is 404 NOT_FOUND and that session keeps working", () =>
      Effect.gen(function* () {
        const users = yield* setup
        const other = (yield* createOrganization(uniqueSlug("other"))).users
        const mine = yield* login(users.ADMIN)
        const theirs = yield* login(other.VIEWER)
        const theirSession = yield* currentSessionId(theirs.accessToken)
        const error = yield* errorOf(yield* send("DELETE", `/auth/sessions/${theirSession}`, { token: mine.accessToken }), 404)
        assert.strictEqual(error.code, "NOT_FOUND")
        assert.strictEqual(yield* currentSessionId(theirs.accessToken), theirSession)
        const refreshed = yield* send("POST", "/auth/refresh", { json: { refreshToken: theirs.refreshToken } })
        assert.strictEqual(refreshed.status, 200, refreshed.text)
      }))

    it.effect("a non-admin revoking a colleague's session is 403 FORBIDDEN", () =>
      Effect.gen(function* () {
        const users = yield* setup
        const investigator = yield* login(users.INVESTIGATOR)
        const viewer = yield* login(users.VIEWER)
        const viewerSession = yield* currentSessionId(viewer.accessToken)
        const error = yield* errorOf(yield* send("DELETE", `/auth/sessions/${viewerSession}`, { token: investigator.accessToken }), 403)
        assert.strictEqual(error.code, "FORBIDDEN")
        assert.strictEqual(yield* currentSessionId(viewer.accessToken), viewerSession)
      }))

    it.effect("POST /auth/logout is 204 and the access token then gets 401 SESSION_REVOKED", () =>
      Effect.gen(function* () {
        const users = yield* setup
        const pair = yield* login(users.VIEWER)
        yield* listSessions(pair.accessToken)
        const logout = yield* send("POST", "/auth/logout", { token: pair.accessToken })
        assert.strictEqual(logout.status, 204)
        assert.strictEqual(logout.text, "")
        const error = yield* errorOf(yield* send("GET", "/auth/sessions", { token: pair.accessToken }), 401)
        assert.strictEqual(error.code, "SESSION_REVOKED")
      }))

    it.effect("POST /auth/sessions/revoke-all is 204 and the tokens of both sessions stop working", () =>
      Effect.gen(function* () {
        const users = yield* setup
        const laptop = yield* login(users.INVESTIGATOR)
        const phone = yield* login(users.INVESTIGATOR)
        assert.strictEqual((yield* listSessions(laptop.accessToken)).length, 2)
        const revoked = yield* send("POST", "/auth/sessions/revoke-all", { token: laptop.accessToken })
        assert.strictEqual(revoked.status, 204)
        for (const pair of [laptop, phone]) {
          const access = yield* errorOf(yield* send("GET", "/auth/sessions", { token: pair.accessToken }), 401)
          assert.strictEqual(access.code, "SESSION_REVOKED")
          const refresh = yield* errorOf(yield* send("POST", "/auth/refresh", { json: { refreshToken: pair.refreshToken } }), 401)
          assert.strictEqual(refresh.code, "SESSION_REVOKED")
        }
      }))

    it.effect("a request without a bearer token is 401 UNAUTHORIZED", () =>
      Effect.gen(function* () {
        yield* setup
        const none = yield* errorOf(yield* send("GET", "/auth/sessions"), 401)
        assert.strictEqual(none.code, "UNAUTHORIZED")
        const basic = yield* errorOf(yield* send("GET", "/auth/sessions", { authorization: "Basic dXNlcjpwYXNz" }), 401)
        assert.strictEqual(basic.code, "UNAUTHORIZED")
      }))

    it.effect("a garbage bearer token is 401 INVALID_TOKEN", () =>
      Effect.gen(function* () {
        yield* setup
        const garbage = yield* errorOf(yield* send("GET", "/auth/sessions", { token: "not-a-jwt" }), 401)
        assert.strictEqual(garbage.code, "INVALID_TOKEN")
        const forged = yield* errorOf(yield* send("GET", "/auth/sessions", { token: "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ4In0.c2ln" }), 401)
        assert.strictEqual(forged.code, "INVALID_TOKEN")
      }))

    it.effect("GET /metrics exposes login outcomes, HTTP answers and the listener in Prometheus text", () =>
      Effect.gen(function* () {
        const users = yield* setup
        const sample = (text: string, series: string) => Number(text.split("\n").find((line) => line.startsWith(`${series} `))?.split(" ")[1] ?? 0)
        const before = (yield* send("GET", "/metrics")).text
        yield* loginReply(users.ADMIN)
        yield* loginReply(users.ADMIN, "not the password at all")
        const reply = yield* send("GET", "/metrics")
        assert.strictEqual(reply.status, 200)
        assert.match(reply.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/)
        assert.include(reply.text, "# TYPE auth_logins_total counter")
        for (const [series, delta] of [
          ['auth_logins_total{outcome="SUCCEEDED"}', 1],
          ['auth_logins_total{outcome="INVALID_CREDENTIALS"}', 1],
          ['http_requests_total{method="POST",status="200"}', 1],
          ['http_requests_total{method="POST",status="401"}', 1]
        ] as const) {
          assert.strictEqual(sample(reply.text, series) - sample(before, series), delta, series)
        }
        assert.strictEqual(sample(reply.text, "eventbus_listener_connected"), 1)
        assert.include(reply.text, 'http_request_duration_seconds_bucket{le="+Inf"}')
      }))

    it.effect("a WebSocket frame over 64 KiB on /rpc closes the socket with 1009 before it is buffered", () =>
      Effect.gen(function* () {
        const baseUrl = yield* BaseUrl
        // Sends one frame; the answer is either the server closing the socket or its first message.
        const send = (frame: string) =>
          Effect.async<{ readonly closed?: number; readonly reply?: string }>((resume) => {
            const socket = new WebSocket(`${baseUrl.replace(/^http/, "ws")}/rpc`)
            socket.on("open", () => socket.send(frame))
            socket.on("message", (data) => {
              resume(Effect.succeed({ reply: String(data) }))
              socket.close()
            })
            socket.on("close", (code) => resume(Effect.succeed({ closed: code })))
            socket.on("error", () => undefined)
          })
        assert.deepStrictEqual(yield* send("x".repeat(65 * 1024)), { closed: 1009 })
        assert.deepStrictEqual(yield* send(JSON.stringify({ _tag: "Ping" })), { reply: JSON.stringify({ _tag: "Pong" }) })
      }))

    it.effect("an unknown route is 404 NOT_FOUND in the error format", () =>
      Effect.gen(function* () {
        yield* setup
        const error = yield* errorOf(yield* send("GET", "/no/such/route"), 404)
        assert.strictEqual(error.code, "NOT_FOUND")
        const post = yield* errorOf(yield* send("POST", "/auth/nothing", { json: {} }), 404)
        assert.strictEqual(post.code, "NOT_FOUND")
      }))

    it.effect("GET /.well-known/jwks.json publishes one public ES256 (P-256) key", () =>
      Effect.gen(function* () {
        yield* setup
        const reply = yield* send("GET", "/.well-known/jwks.json")
        assert.strictEqual(reply.status, 200)
        const { keys } = yield* Schema.decodeUnknown(JwksBody, exact)(reply.text)
        assert.strictEqual(keys.length, 1)
        const key = keys[0]!
        assert.strictEqual(key.kty, "EC")
        assert.strictEqual(key.crv, "P-256")
        assert.strictEqual(key.alg, "ES256")
        assert.isString(key.kid)
        assert.isNotEmpty(key.kid)
        assert.isString(key.x)
        assert.isString(key.y)
        assert.notProperty(key, "d")
      }))

    it.effect("an ADMIN deactivating a user of another organization gets 404 NOT_FOUND and the user stays active", () =>
      Effect.gen(function* () {
        const users = yield* setup
        const other = (yield* createOrganization(uniqueSlug("other"))).users
        const admin = yield* login(users.ADMIN)
        const theirs = yield* login(other.VIEWER)
        const error = yield* errorOf(yield* send("POST", `/auth/users/${other.VIEWER.id}/deactivate`, { token: admin.accessToken }), 404)
        assert.strictEqual(error.code, "NOT_FOUND")
        assert.strictEqual((yield* listSessions(theirs.accessToken)).length, 1)
        yield* login(other.VIEWER)
      }))

    it.effect("after deactivation the user's access token is 403 USER_INACTIVE", () =>
      Effect.gen(function* () {
        const users = yield* setup
        const admin = yield* login(users.ADMIN)
        const target = yield* login(users.INVESTIGATOR)
        yield* listSessions(target.accessToken)
        const deactivated = yield* send("POST", `/auth/users/${users.INVESTIGATOR.id}/deactivate`, { token: admin.accessToken })
        assert.strictEqual(deactivated.status, 204, deactivated.text)
        const error = yield* errorOf(yield* send("GET", "/auth/sessions", { token: target.accessToken }), 403)
        assert.strictEqual(error.code, "USER_INACTIVE")
      }))

    it.effect("after deactivation the user's refresh token is refused", () =>
      Effect.gen(function* () {
        const users = yield* setup
        const admin = yield* login(users.ADMIN)
        const target = yield* login(users.INVESTIGATOR)
        const deactivated = yield* send("POST", `/auth/users/${users.INVESTIGATOR.id}/deactivate`, { token: admin.accessToken })
        assert.strictEqual(deactivated.status, 204, deactivated.text)
        const reply = yield* send("POST", "/auth/refresh", { json: { refreshToken: target.refreshToken } })
        const error = yield* errorOf(reply, 403)
        assert.strictEqual(`${reply.status} ${error.code}`, "403 USER_INACTIVE")
      }))
  })

  // A server of its own, trusting X-Forwarded-For: every guess comes from another address, so what
  // stops the 11th is the account's limit, and the other tests' failures cannot count against it.
  // `layer`, not `it.layer`: the first block's `it.layer` is a method that nests into that block's
  // layer and memo map (the same server), which would defeat the point.
  layer(ServerTest({ TRUST_PROXY: "true" }), { timeout: 60_000 })((it) => {
    it.effect("the 11th failed login for an account is 429 RATE_LIMITED with Retry-After in seconds; other accounts are not held back", () =>
      Effect.gen(function* () {
        const users = yield* setup
        for (let attempt = 1; attempt <= 10; attempt++) {
          const error = yield* errorOf(yield* loginReply(users.VIEWER, "wrong password", `198.51.100.${attempt}`), 401)
          assert.strictEqual(error.code, "INVALID_CREDENTIALS")
        }
        const reply = yield* loginReply(users.VIEWER, "wrong password", "198.51.100.11")
        const error = yield* errorOf(reply, 429)
        assert.strictEqual(error.code, "RATE_LIMITED")
        const retryAfter = reply.headers.get("retry-after")
        assert.match(retryAfter ?? "", /^\d+$/)
        assert.isAtLeast(Number(retryAfter), 1)
        assert.isAtMost(Number(retryAfter), 60)
        const otherAccount = yield* errorOf(yield* loginReply(users.ADMIN, "wrong password", "198.51.100.11"), 401)
        assert.strictEqual(otherAccount.code, "INVALID_CREDENTIALS")
      }))
  })
})
