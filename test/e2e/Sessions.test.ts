import { assert, describe, it } from "@effect/vitest"
import { SqlClient } from "@effect/sql"
import { Duration, Effect, Redacted, TestClock } from "effect"
import type { TokenPair } from "../../src/domain/Auth.ts"
import { Auth } from "../../services/Auth.ts"
import { Sessions } from "../../services/Sessions.ts"
import { createOrganization, CoreTest, liveTokens, password, type TestUser } from "../support/TestApp.ts"

const client = { ip: "203.0.113.7", userAgent: "vitest" }
const start = Date.parse("2026-11-26T12:00:00Z")

const login = (user: TestUser, pass = password) =>
  Effect.flatMap(Sessions, (sessions) =>
    sessions.login({ email: user.email, password: Redacted.make(pass), organization: user.organization }, client))

const refresh = (pair: TokenPair | string) =>
  Effect.flatMap(Sessions, (sessions) =>
    sessions.refresh(Redacted.make(typeof pair === "string" ? pair : pair.refreshToken), client))

const verify = (pair: TokenPair) => Effect.flatMap(Auth, (auth) => auth.verify(pair.accessToken))

const codeOf = <A, R>(effect: Effect.Effect<A, { readonly code: string }, R>) =>
  Effect.map(Effect.flip(effect), (error) => error.code)

const setup = Effect.gen(function* () {
  yield* TestClock.setTime(start)
  const acme = yield* createOrganization(`acme-${Math.random().toString(36).slice(2, 8)}`)
  return acme.users
})

describe("Sessions", () => {
  it.layer(CoreTest(), { timeout: 60_000 })((it) => {
    it.effect("logs in and the access token verifies into the user", () =>
      Effect.gen(function* () {
        const users = yield* setup
        const pair = yield* login(users.ADMIN)
        const user = yield* verify(pair)
        assert.strictEqual(user.userId, users.ADMIN.id)
        assert.strictEqual(user.organizationId, users.ADMIN.organizationId)
        assert.strictEqual(user.role, "ADMIN")
        assert.strictEqual(pair.expiresAt, new Date(start + 600_000).toISOString())
        assert.match(pair.refreshToken, /^[0-9a-f-]{36}\.[\w-]{43}$/)
      }))

    it.effect("answers an unknown email and a wrong password alike", () =>
      Effect.gen(function* () {
        const users = yield* setup
        const wrong = yield* Effect.flip(login(users.ADMIN, "not the password at all"))
        const unknown = yield* Effect.flip(login({ ...users.ADMIN, email: "nobody@nowhere.example" }))
        assert.strictEqual(wrong.code, "INVALID_CREDENTIALS")
        assert.deepStrictEqual(unknown, wrong)
      }))

    it.effect("rotates R1 to R2; R1 after the leeway revokes the session and R2 stops working", () =>
      Effect.gen(function* () {
        const users = yield* setup
        const r1 = yield* login(users.INVESTIGATOR)
        const r2 = yield* refresh(r1)
        assert.notStrictEqual(r2.refreshToken, r1.refreshToken)
        yield* TestClock.adjust(Duration.seconds(11))
        assert.strictEqual(yield* codeOf(refresh(r1)), "REFRESH_TOKEN_REUSED")
        assert.strictEqual(yield* codeOf(refresh(r2)), "SESSION_REVOKED")
        assert.strictEqual(yield* codeOf(verify(r2)), "SESSION_REVOKED")
      }))

    it.effect("20 concurrent refreshes with one token leave exactly one live token in one family", () =>
      Effect.gen(function* () {
        const users = yield* setup
        const r1 = yield* login(users.VIEWER)
        const results = yield* Effect.all(Array.from({ length: 20 }, () => Effect.either(refresh(r1))), { concurrency: "unbounded" })
        const sessionId = (yield* verify(r1)).sessionId
        assert.strictEqual((yield* liveTokens(sessionId)).length, 1)
        const sql = yield* SqlClient.SqlClient
        const [sessions] = yield* sql<{ count: number }>`SELECT count(*)::int AS count FROM auth_sessions WHERE user_id = ${users.VIEWER.id}`
        assert.strictEqual(sessions?.count, 1)
        assert.isTrue(results.every((result) => result._tag === "Right"))
      }))
  })
})
