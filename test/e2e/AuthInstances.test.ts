import { assert, describe, it } from "@effect/vitest"
import { Context, Duration, Effect, Layer, Redacted, Schedule } from "effect"
import { DatabaseUrl } from "../../layers/Database.ts"
import { Auth } from "../../services/Auth.ts"
import { Sessions } from "../../services/Sessions.ts"
import { createOrganization, InstanceTest, password } from "../support/TestApp.ts"
import { scopedDatabase } from "../support/TestDatabase.ts"

const client = { ip: "198.51.100.77", userAgent: "vitest" }

/** Two server instances over one database: what one revokes, the other must refuse within a second. */
const twoInstances = Effect.gen(function* () {
  const url = Layer.succeed(DatabaseUrl, yield* scopedDatabase())
  const a = yield* Layer.build(InstanceTest().pipe(Layer.provide(url)))
  const b = yield* Layer.build(InstanceTest().pipe(Layer.provide(url)))
  return { a, b }
})

const rejectedWithin = <A, E extends { readonly code: string }>(check: Effect.Effect<A, E>, seconds: number) =>
  Effect.flip(check).pipe(
    Effect.retry(Schedule.spaced(Duration.millis(20)).pipe(Schedule.upTo(Duration.seconds(seconds)))),
    Effect.map((error) => error.code)
  )

describe("auth across instances", () => {
  it.scopedLive("a logout on one instance stops the token on another within a second", () =>
    Effect.gen(function* () {
      const { a, b } = yield* twoInstances
      const { users } = yield* createOrganization("multi").pipe(Effect.provide(a))
      const sessionsA = Context.get(a, Sessions)
      const authB = Context.get(b, Auth)
      const pair = yield* sessionsA.login({ email: users.ADMIN.email, password: Redacted.make(password), organization: "multi" }, client)
      const user = yield* authB.verify(pair.accessToken)
      assert.strictEqual((yield* authB.verify(pair.accessToken)).sessionId, user.sessionId)
      yield* sessionsA.logout(user, client)
      assert.strictEqual(yield* rejectedWithin(authB.verify(pair.accessToken), 1), "SESSION_REVOKED")
    }))

  it.scopedLive("reuse detected on one instance stops the session's token on another within a second", () =>
    Effect.gen(function* () {
      const { a, b } = yield* twoInstances
      const { users } = yield* createOrganization("multi3").pipe(Effect.provide(a))
      const sessionsA = Context.get(a, Sessions)
      const authB = Context.get(b, Auth)
      const r1 = yield* sessionsA.login({ email: users.ADMIN.email, password: Redacted.make(password), organization: "multi3" }, client)
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
      const { a, b } = yield* twoInstances
      const { users } = yield* createOrganization("multi2").pipe(Effect.provide(a))
      const sessionsA = Context.get(a, Sessions)
      const authB = Context.get(b, Auth)
      const login = (email: string) => sessionsA.login({ email, password: Redacted.make(password), organization: "multi2" }, client)
      const viewer = yield* login(users.VIEWER.email)
      yield* authB.verify(viewer.accessToken)
      const admin = yield* authB.verify((yield* login(users.ADMIN.email)).accessToken)
      yield* sessionsA.deactivateUser(admin, users.VIEWER.id, client)
      assert.strictEqual(yield* rejectedWithin(authB.verify(viewer.accessToken), 1), "USER_INACTIVE")
    }))
})
