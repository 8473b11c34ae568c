import { assert, describe, it } from "@effect/vitest"
import { SqlClient } from "@effect/sql"
import { Duration, Effect, Option, Redacted, TestClock } from "effect"
import { LockKeys, trySessionLock, withSessionLock } from "../../src/sql/AdvisoryLock.ts"
import { sweep } from "../../layers/HousekeepingLive.ts"
import { Sessions } from "../../services/Sessions.ts"
import { ServerTest, createOrganization, password } from "../support/TestApp.ts"

const client = { ip: "198.51.100.90", userAgent: "vitest" }
const options = { batchSize: 2, retention: Duration.days(7), absolute: Duration.hours(12) }

const counts = Effect.flatMap(SqlClient.SqlClient, (sql) =>
  sql<{ sessions: number; tokens: number }>`
    SELECT (SELECT count(*)::int FROM auth_sessions) AS sessions, (SELECT count(*)::int FROM auth_refresh_tokens) AS tokens`
).pipe(Effect.map((rows) => rows[0]!))

describe("housekeeping", () => {
  it.layer(ServerTest(), { timeout: 60_000 })((it) => {
    it.effect("deletes expired sessions and spent tokens in small batches, and keeps live ones", () =>
      Effect.gen(function* () {
        yield* TestClock.setTime(Date.parse("2026-11-01T00:00:00Z"))
        const { users } = yield* createOrganization("tidy")
        const sessions = yield* Sessions
        const login = () => sessions.login({ email: users.ADMIN.email, password: Redacted.make(password), organization: "tidy" }, client)
        let chain = yield* login()
        for (let i = 0; i < 4; i++) chain = yield* sessions.refresh(Redacted.make(chain.refreshToken), client)
        yield* login()
        yield* login()
        assert.deepStrictEqual(yield* counts, { sessions: 3, tokens: 7 })

        assert.deepStrictEqual(yield* sweep(options), { sessions: 0, tokens: 0 })

        // 14 hours later the sessions have expired but are retained; their spent tokens can go.
        yield* TestClock.adjust(Duration.hours(14))
        assert.deepStrictEqual(yield* sweep(options), { sessions: 0, tokens: 4 })
        assert.deepStrictEqual(yield* counts, { sessions: 3, tokens: 3 })

        // Eight days later every one of them is past the retention.
        yield* TestClock.adjust(Duration.days(8))
        const fresh = yield* login()
        assert.deepStrictEqual(yield* sweep(options), { sessions: 3, tokens: 0 })
        assert.deepStrictEqual(yield* counts, { sessions: 1, tokens: 1 })
        assert.isString((yield* sessions.refresh(Redacted.make(fresh.refreshToken), client)).refreshToken)
      }))

    it.effect("a sweep is skipped while another instance holds the housekeeping lock", () =>
      Effect.gen(function* () {
        const inner = yield* withSessionLock(LockKeys.housekeeping, () =>
          trySessionLock(LockKeys.housekeeping, () => sweep(options)))
        assert.isTrue(Option.isNone(inner))
        assert.isTrue(Option.isSome(yield* trySessionLock(LockKeys.housekeeping, () => sweep(options))))
      }))
  })
})
