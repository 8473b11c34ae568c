import { assert, describe, it } from "@effect/vitest"
import { Context, Duration, Effect, Layer, Redacted, Schedule } from "effect"
import { Auth } from "../../services/Auth.ts"
import { Sessions } from "../../services/Sessions.ts"
import { UserAdmin } from "../../services/UserAdmin.ts"
import { createOrganization, InstanceTest, password } from "../support/TestApp.ts"
import { scopedDatabase } from "../support/TestDatabase.ts"

const client = { ip: "198.51.100.77", userAgent: "vitest" }

/**
 * Two server instances over one database and an organization: sessions on A, verification on B; what
 * A revokes, B must refuse within a second.
 */
const twoInstances = (slug: string) =>
  Effect.gen(function* () {
    const url = yield* scopedDatabase()
    const a = yield* Layer.build(InstanceTest(url))
    const b = yield* Layer.build(InstanceTest(url))
    const { users } = yield* createOrganization(slug).pipe(Effect.provide(a))
    const sessionsA = Context.get(a, Sessions)
    const login = (email: string) => sessionsA.login({ email, password: Redacted.make(password), organization: slug }, client)
    return { users, sessionsA, adminA: Context.get(a, UserAdmin), authB: Context.get(b, Auth), login }
  })

const rejectedWithin = <A, E extends { readonly code: string }>(check: Effect.Effect<A, E>, seconds: number) =>
  Effect.flip(check).pipe(
    Effect.retry(Schedule.spaced(Duration.millis(20)).pipe(Schedule.upTo(Duration.seconds(seconds)))),
    Effect.map((error) => error.code)
  )

describe("auth across instances", () => {
  it.scopedLive("a logout on one instance stops the token on another within a second", () =>
    Effect.gen(function* () {
      const { authB, login, sessionsA, users } = yield* twoInstances("multi")
      const pair = yield* login(users.ADMIN.email)
      const user = yield* authB.verify(pair.accessToken)
      assert.strictEqual((yield* authB.verify(pair.accessToken)).sessionId, user.sessionId)
      yield* sessionsA.logout(user, client)
      assert.strictEqual(yield* rejectedWithin(authB.verify(pair.accessToken), 1), "SESSION_REVOKED")
    }))

  it.scopedLive("reuse detected on one instance stops the session's token on another within a second", () =>
    Effect.gen(function* () {
      const { authB, login, sessionsA, users } = yield* twoInstances("multi3")
      const r1 = yield* login(users.ADMIN.email)
      const r2 = yield* sessionsA.refresh(Redacted.make(r1.refreshToken), client)
      yield* authB.verify(r2.accessToken)
      // Within the leeway the predecessor is accepted; two generations back it is reuse.
      const r3 = yield* sessionsA.refresh(Redacted.make(r2.refreshToken), client)
      const reused = yield* Effect.flip(sessionsA.refresh(Redacted.make(r1.refreshToken), client))
      assert.strictEqual(reused.code, "REFRESH_TOKEN_REUSED")
      assert.strictEqual(yield* rejectedWithin(authB.verify(r3.accessToken), 1), "SESSION_REVOKED")
    }))

  it.scopedLive("a user deactivated on one instance is refused on another within a second", () =>
    Effect.gen(function* () {
      const { adminA, authB, login, users } = yield* twoInstances("multi2")
      const viewer = yield* login(users.VIEWER.email)
      yield* authB.verify(viewer.accessToken)
      const admin = yield* authB.verify((yield* login(users.ADMIN.email)).accessToken)
      yield* adminA.deactivate(admin, users.VIEWER.id, client)
      assert.strictEqual(yield* rejectedWithin(authB.verify(viewer.accessToken), 1), "USER_INACTIVE")
    }))
})
