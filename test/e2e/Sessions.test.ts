import { assert, describe, it } from "@effect/vitest"
import { SqlClient } from "@effect/sql"
import { Duration, Effect, Redacted, TestClock } from "effect"
import type { TokenPair } from "../../src/domain/Auth.ts"
import { Auth } from "../../services/Auth.ts"
import { EventBus } from "../../services/EventBus.ts"
import { Sessions } from "../../services/Sessions.ts"
import { UserAdmin } from "../../services/UserAdmin.ts"
import { ServerTest, createOrganization, freshOrganization, liveTokens, password, testStart, type TestUser, uniqueSlug } from "../support/TestApp.ts"

// A client address per test: the per-address login budget is shared by the whole file's server.
let addresses = 0
let client = { ip: "198.51.100.0", userAgent: "vitest" }
const start = testStart

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
  client = { ip: `198.51.100.${++addresses}`, userAgent: "vitest" }
  return yield* freshOrganization
})

describe("Sessions", () => {
  it.layer(ServerTest(), { timeout: 60_000 })((it) => {
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

    it.effect("predecessor within the leeway gets a fresh pair that replaces the current token", () =>
      Effect.gen(function* () {
        const users = yield* setup
        const r1 = yield* login(users.ADMIN)
        const r2 = yield* refresh(r1)
        yield* TestClock.adjust(Duration.seconds(5))
        const r3 = yield* refresh(r1)
        const sessionId = (yield* verify(r3)).sessionId
        assert.strictEqual((yield* liveTokens(sessionId)).length, 1)
        yield* TestClock.adjust(Duration.seconds(20))
        const r4 = yield* refresh(r3)
        assert.notStrictEqual(r4.refreshToken, r3.refreshToken)
        assert.strictEqual(yield* codeOf(refresh(r2)), "REFRESH_TOKEN_REUSED")
      }))

    it.effect("two holders alternating within the leeway are detected as reuse once the first window has passed", () =>
      Effect.gen(function* () {
        const users = yield* setup
        const r1 = yield* login(users.ADMIN)
        const r2 = yield* refresh(r1) // holder B; holder A keeps r1, whose window opens now
        yield* TestClock.adjust(Duration.seconds(3))
        const r3 = yield* refresh(r1) // A, 3 s into the window: replaces r2
        yield* TestClock.adjust(Duration.seconds(3))
        const r4 = yield* refresh(r2) // B, displaced at 3 s: its window is r1's, 6 s old
        yield* TestClock.adjust(Duration.seconds(3))
        yield* refresh(r3) // A, 9 s: still inside the first window
        yield* TestClock.adjust(Duration.seconds(3))
        assert.strictEqual(yield* codeOf(refresh(r4)), "REFRESH_TOKEN_REUSED") // 12 s: past it, whatever the displacements
      }))

    it.effect("a token two generations back is reuse even inside the leeway", () =>
      Effect.gen(function* () {
        const users = yield* setup
        const r1 = yield* login(users.ADMIN)
        const r2 = yield* refresh(r1)
        const r3 = yield* refresh(r2)
        assert.strictEqual(yield* codeOf(refresh(r1)), "REFRESH_TOKEN_REUSED")
        assert.strictEqual(yield* codeOf(refresh(r3)), "SESSION_REVOKED")
      }))

    it.effect("a refresh racing a logout never leaves a usable token", () =>
      Effect.gen(function* () {
        const users = yield* setup
        const sessions = yield* Sessions
        for (let round = 0; round < 10; round++) {
          const r1 = yield* login(users.VIEWER)
          const user = yield* verify(r1)
          const [refreshed] = yield* Effect.all([Effect.either(refresh(r1)), sessions.logout(user, client)], { concurrency: 2 })
          assert.strictEqual(yield* codeOf(verify(r1)), "SESSION_REVOKED")
          if (refreshed._tag === "Right") {
            assert.strictEqual(yield* codeOf(verify(refreshed.right)), "SESSION_REVOKED")
            assert.strictEqual(yield* codeOf(refresh(refreshed.right)), "SESSION_REVOKED")
          } else {
            assert.strictEqual(refreshed.left.code, "SESSION_REVOKED")
          }
        }
      }))

    it.effect("TOKEN_EXPIRED just past exp plus the 30 s tolerance, accepted just before", () =>
      Effect.gen(function* () {
        const users = yield* setup
        const pair = yield* login(users.ADMIN)
        yield* TestClock.adjust(Duration.seconds(600 + 29))
        assert.strictEqual((yield* verify(pair)).userId, users.ADMIN.id)
        yield* TestClock.adjust(Duration.seconds(2))
        assert.strictEqual(yield* codeOf(verify(pair)), "TOKEN_EXPIRED")
      }))

    it.effect("the socket grace refresh works at exp+299 s and fails at exp+301 s", () =>
      Effect.gen(function* () {
        const users = yield* setup
        const sessions = yield* Sessions
        const pair = yield* login(users.ADMIN)
        yield* TestClock.adjust(Duration.seconds(600 + 299))
        const renewed = yield* sessions.refreshSocket(pair.accessToken)
        assert.strictEqual(renewed.expiresAt.getTime(), start + (600 + 299 + 600) * 1000)
        assert.strictEqual((yield* Effect.flatMap(Auth, (auth) => auth.verify(renewed.accessToken))).sessionId, (yield* verify({ ...pair, accessToken: renewed.accessToken })).sessionId)
        yield* TestClock.adjust(Duration.seconds(2))
        assert.strictEqual(yield* codeOf(sessions.refreshSocket(pair.accessToken)), "TOKEN_EXPIRED")
      }))

    it.effect("the socket grace refresh fails for a revoked session and for an inactive user", () =>
      Effect.gen(function* () {
        const users = yield* setup
        const sessions = yield* Sessions
        const revoked = yield* login(users.INVESTIGATOR)
        yield* sessions.logout(yield* verify(revoked), client)
        const other = yield* login(users.VIEWER)
        const admin = yield* verify(yield* login(users.ADMIN))
        yield* (yield* UserAdmin).deactivate(admin, users.VIEWER.id, client)
        yield* TestClock.adjust(Duration.seconds(700))
        assert.strictEqual(yield* codeOf(sessions.refreshSocket(revoked.accessToken)), "SESSION_REVOKED")
        assert.strictEqual(yield* codeOf(sessions.refreshSocket(other.accessToken)), "USER_INACTIVE")
      }))

    it.effect("the grace refresh is not accepted as an access token by ordinary verification", () =>
      Effect.gen(function* () {
        const users = yield* setup
        const pair = yield* login(users.ADMIN)
        yield* TestClock.adjust(Duration.seconds(600 + 120))
        assert.strictEqual(yield* codeOf(verify(pair)), "TOKEN_EXPIRED")
      }))

    it.effect("idle expiry: no refresh for 30 minutes ends the session", () =>
      Effect.gen(function* () {
        const users = yield* setup
        const r1 = yield* login(users.ADMIN)
        yield* TestClock.adjust(Duration.minutes(29))
        const r2 = yield* refresh(r1)
        yield* TestClock.adjust(Duration.minutes(30))
        assert.strictEqual(yield* codeOf(refresh(r2)), "SESSION_EXPIRED")
      }))

    it.effect("absolute expiry: rotation never extends the session past 12 hours", () =>
      Effect.gen(function* () {
        const users = yield* setup
        let pair = yield* login(users.ADMIN)
        assert.strictEqual(pair.refreshExpiresAt, new Date(start + 12 * 3600_000).toISOString())
        // Refresh every 20 minutes until 11:20, then at 11:45 and 11:55: that access token outlives the session.
        for (const minutes of [...Array.from({ length: 34 }, () => 20), 25, 10]) {
          yield* TestClock.adjust(Duration.minutes(minutes))
          pair = yield* refresh(pair)
          assert.strictEqual(pair.refreshExpiresAt, new Date(start + 12 * 3600_000).toISOString())
        }
        yield* TestClock.adjust(Duration.minutes(6))
        assert.strictEqual(yield* codeOf(refresh(pair)), "SESSION_EXPIRED")
        assert.strictEqual(yield* codeOf(verify(pair)), "SESSION_EXPIRED")
      }))

    it.effect("an inactive user is blocked at login, refresh and use", () =>
      Effect.gen(function* () {
        const users = yield* setup
        const sql = yield* SqlClient.SqlClient
        const bus = yield* EventBus
        const pair = yield* login(users.INVESTIGATOR)
        yield* sql`UPDATE users SET status = 'SUSPENDED' WHERE id = ${users.INVESTIGATOR.id}`
        yield* bus.deliverLocally({ _tag: "user.deactivated", organizationId: users.INVESTIGATOR.organizationId, userId: users.INVESTIGATOR.id })
        assert.strictEqual(yield* codeOf(login(users.INVESTIGATOR)), "USER_INACTIVE")
        assert.strictEqual(yield* codeOf(refresh(pair)), "USER_INACTIVE")
        assert.strictEqual(yield* codeOf(verify(pair)), "USER_INACTIVE")
      }))

    it.effect("deactivating a user revokes every session at once", () =>
      Effect.gen(function* () {
        const users = yield* setup
        const a = yield* login(users.VIEWER)
        const b = yield* login(users.VIEWER)
        yield* verify(a)
        const admin = yield* verify(yield* login(users.ADMIN))
        yield* (yield* UserAdmin).deactivate(admin, users.VIEWER.id, client)
        assert.strictEqual(yield* codeOf(verify(a)), "USER_INACTIVE")
        assert.strictEqual(yield* codeOf(refresh(b)), "USER_INACTIVE")
        const sql = yield* SqlClient.SqlClient
        const rows = yield* sql<{ revoked_reason: string }>`SELECT revoked_reason FROM auth_sessions WHERE user_id = ${users.VIEWER.id}`
        assert.deepStrictEqual(rows.map((row) => row.revoked_reason), ["USER_DEACTIVATED", "USER_DEACTIVATED"])
      }))

    it.effect("only an ADMIN of the same organization may deactivate a user", () =>
      Effect.gen(function* () {
        const users = yield* setup
        const other = (yield* createOrganization(uniqueSlug("other"))).users
        const investigator = yield* verify(yield* login(users.INVESTIGATOR))
        const foreignAdmin = yield* verify(yield* login(other.ADMIN))
        assert.strictEqual(yield* codeOf((yield* UserAdmin).deactivate(investigator, users.VIEWER.id, client)), "FORBIDDEN")
        assert.strictEqual(yield* codeOf((yield* UserAdmin).deactivate(foreignAdmin, users.VIEWER.id, client)), "NOT_FOUND")
        yield* verify(yield* login(users.VIEWER))
      }))

    it.effect("logout, revoke-one and revoke-all each stop the affected tokens at once", () =>
      Effect.gen(function* () {
        const users = yield* setup
        const sessions = yield* Sessions
        const first = yield* login(users.ADMIN)
        const second = yield* login(users.ADMIN)
        const third = yield* login(users.ADMIN)
        const fourth = yield* login(users.ADMIN)
        const firstUser = yield* verify(first)
        yield* verify(second)
        yield* sessions.logout(firstUser, client)
        assert.strictEqual(yield* codeOf(verify(first)), "SESSION_REVOKED")
        const secondUser = yield* verify(second)
        const thirdUser = yield* verify(third)
        yield* sessions.revoke(secondUser, thirdUser.sessionId, client)
        assert.strictEqual(yield* codeOf(verify(third)), "SESSION_REVOKED")
        assert.strictEqual(yield* codeOf(refresh(third)), "SESSION_REVOKED")
        assert.strictEqual((yield* verify(fourth)).userId, users.ADMIN.id)
        yield* sessions.revokeAll(secondUser, client)
        assert.strictEqual(yield* codeOf(verify(second)), "SESSION_REVOKED")
        assert.strictEqual(yield* codeOf(verify(fourth)), "SESSION_REVOKED")
        assert.strictEqual(yield* codeOf(refresh(fourth)), "SESSION_REVOKED")
      }))

    it.effect("a user of organization A can neither list nor revoke a session of organization B", () =>
      Effect.gen(function* () {
        const users = yield* setup
        const other = (yield* createOrganization(uniqueSlug("b"))).users
        const sessions = yield* Sessions
        const mine = yield* verify(yield* login(users.ADMIN))
        const theirs = yield* login(other.ADMIN)
        const theirUser = yield* verify(theirs)
        const listed = yield* sessions.list(mine)
        assert.isFalse(listed.some((session) => session.id === theirUser.sessionId))
        assert.strictEqual(yield* codeOf(sessions.revoke(mine, theirUser.sessionId, client)), "NOT_FOUND")
        assert.strictEqual((yield* verify(theirs)).sessionId, theirUser.sessionId)
      }))

    it.effect("ten failed logins for an account, then RATE_LIMITED; the owner is locked out for a minute at most", () =>
      Effect.gen(function* () {
        const users = yield* setup
        for (let i = 0; i < 10; i++) assert.strictEqual(yield* codeOf(login(users.VIEWER, "wrong password number x")), "INVALID_CREDENTIALS")
        const attacker = yield* Effect.flip(login(users.VIEWER, "wrong password number y"))
        assert.strictEqual(attacker._tag, "RateLimitedError")
        client = { ip: "192.0.2.200", userAgent: "the owner's browser" }
        const owner = yield* Effect.flip(login(users.VIEWER))
        assert.isTrue(owner._tag === "RateLimitedError" && owner.retryAfterSeconds >= 1 && owner.retryAfterSeconds <= 60)
        yield* TestClock.adjust(Duration.seconds(owner._tag === "RateLimitedError" ? owner.retryAfterSeconds : 60))
        assert.strictEqual((yield* verify(yield* login(users.VIEWER))).userId, users.VIEWER.id)
      }))

    it.effect("ten failed logins from one address across accounts, then RATE_LIMITED for that address", () =>
      Effect.gen(function* () {
        const users = yield* setup
        const targets = [users.ADMIN, users.INVESTIGATOR, users.VIEWER]
        for (let i = 0; i < 10; i++) {
          assert.strictEqual(yield* codeOf(login(targets[i % 3]!, "guess number one two")), "INVALID_CREDENTIALS")
        }
        const limited = yield* Effect.flip(login(users.ADMIN))
        assert.isTrue(limited._tag === "RateLimitedError" && limited.retryAfterSeconds > 60)
      }))

    it.effect("more than 30 refreshes a minute for one session are RATE_LIMITED, then allowed again", () =>
      Effect.gen(function* () {
        const users = yield* setup
        let pair = yield* login(users.INVESTIGATOR)
        for (let i = 0; i < 30; i++) pair = yield* refresh(pair)
        const limited = yield* Effect.flip(refresh(pair))
        assert.isTrue(limited._tag === "RateLimitedError" && limited.retryAfterSeconds === 2)
        yield* TestClock.adjust(Duration.seconds(2))
        assert.isString((yield* refresh(pair)).refreshToken)
      }))

    it.effect("writes audit rows for login, failure, refresh, reuse, logout and revocation without secrets", () =>
      Effect.gen(function* () {
        const users = yield* setup
        const sessions = yield* Sessions
        yield* Effect.either(login(users.ADMIN, "wrong password for audit"))
        const r1 = yield* login(users.ADMIN)
        const r2 = yield* refresh(r1)
        yield* TestClock.adjust(Duration.seconds(30))
        yield* Effect.either(refresh(r1))
        const other = yield* login(users.ADMIN)
        yield* sessions.logout(yield* verify(other), client)
        const sql = yield* SqlClient.SqlClient
        const rows = yield* sql<{ action: string; ip: string; changes: unknown; session_id: string | null }>`
          SELECT action, ip, changes, session_id FROM audit_log WHERE actor_user_id = ${users.ADMIN.id} ORDER BY id`
        assert.deepStrictEqual(rows.map((row) => row.action), [
          "auth.login.failed", "auth.login.succeeded", "auth.refresh", "auth.refresh.reuse_detected", "auth.login.succeeded", "auth.logout"
        ])
        assert.isTrue(rows.every((row) => row.ip === client.ip))
        const dump = JSON.stringify(rows)
        for (const secret of [r1.refreshToken, r2.refreshToken, r1.accessToken, password, r1.refreshToken.split(".")[1]!]) {
          assert.notInclude(dump, secret)
        }
      }))
  })
})
