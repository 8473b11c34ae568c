import { assert, describe, it } from "@effect/vitest"
import { Context, Duration, Effect, Exit, Layer, Redacted, Schedule, Scope } from "effect"
import * as Fs from "node:fs"
import * as Net from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"
import * as EmbeddedPostgres from "../../layers/EmbeddedPostgres.ts"
import { Auth } from "../../services/Auth.ts"
import { EventBus } from "../../services/EventBus.ts"
import { Sessions } from "../../services/Sessions.ts"
import { createOrganization, InstanceTest, password } from "../support/TestApp.ts"

const client = { ip: "198.51.100.200", userAgent: "vitest" }

const freePort = Effect.async<number>((resume) => {
  const server = Net.createServer().listen(0, "127.0.0.1", () => {
    const { port } = server.address() as Net.AddressInfo
    server.close(() => resume(Effect.succeed(port)))
  })
})

const eventually = <A, E>(check: Effect.Effect<A, E>) =>
  check.pipe(Effect.retry(Schedule.spaced(Duration.millis(100)).pipe(Schedule.upTo(Duration.seconds(20)))))

describe("a database restart", () => {
  it.scopedLive("the instance keeps serving: the listener reconnects, logins and verifications work again", () =>
    Effect.gen(function* () {
      const dataDir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "casecore-restart-"))
      Fs.chmodSync(dataDir, 0o755)
      yield* Effect.addFinalizer(() => Effect.sync(() => Fs.rmSync(dataDir, { recursive: true, force: true })))
      const port = yield* freePort
      const options = { dataDir: Path.join(dataDir, "pg"), port, settings: { fsync: "off" } }
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
