import { assert, describe, it } from "@effect/vitest"
import { Context, Duration, Effect, Exit, Layer, Redacted, Schedule, Scope } from "effect"
import * as EmbeddedPostgres from "../../layers/EmbeddedPostgres.ts"
import { Auth } from "../../services/Auth.ts"
import { EventBus } from "../../services/EventBus.ts"
import { Sessions } from "../../services/Sessions.ts"
import { createOrganization, InstanceTest, password } from "../support/TestApp.ts"
import { restartableServerOptions } from "../support/TestDatabase.ts"

const client = { ip: "198.51.100.200", userAgent: "vitest" }

const eventually = <A, E>(check: Effect.Effect<A, E>) =>
  check.pipe(Effect.retry(Schedule.spaced(Duration.millis(100)).pipe(Schedule.upTo(Duration.seconds(20)))))

describe("a database restart", () => {
  it.scopedLive("the instance keeps serving: the listener reconnects, logins and verifications work again", () =>
    Effect.gen(function* () {
      const options = yield* restartableServerOptions("casecore-restart-")
      const serverScope = yield* Scope.make()
      const first = yield* EmbeddedPostgres.start(options).pipe(Scope.extend(serverScope))
      const app = yield* Layer.build(InstanceTest(first.url))
      const { users } = yield* createOrganization("restart").pipe(Effect.provide(app))
      const sessions = Context.get(app, Sessions)
      const auth = Context.get(app, Auth)
      const bus = Context.get(app, EventBus)
      const login = sessions.login({ email: users.ADMIN.email, password: Redacted.make(password), organization: "restart" }, client)
      const before = yield* login
      yield* auth.verify(before.accessToken)

      yield* Scope.close(serverScope, Exit.void)
      assert.isFalse(yield* eventually(Effect.flatMap(bus.connected, (up) => (up ? Effect.fail("still up") : Effect.succeed(up)))))
      const restarted = yield* Scope.make()
      yield* Effect.addFinalizer(() => Scope.close(restarted, Exit.void))
      yield* EmbeddedPostgres.start(options).pipe(Scope.extend(restarted))

      assert.isTrue(yield* eventually(Effect.flatMap(bus.connected, (up) => (up ? Effect.succeed(up) : Effect.fail("down")))))
      const after = yield* login
      assert.strictEqual((yield* auth.verify(after.accessToken)).userId, users.ADMIN.id)
      const refreshed = yield* sessions.refresh(Redacted.make(before.refreshToken), client)
      yield* sessions.logout(yield* auth.verify(refreshed.accessToken), client)
      assert.strictEqual((yield* Effect.flip(auth.verify(refreshed.accessToken))).code, "SESSION_REVOKED")
    }), { timeout: 120_000 })
})
