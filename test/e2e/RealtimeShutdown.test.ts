import { PgClient } from "@effect/sql-pg"
import { SqlClient } from "@effect/sql"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Redacted } from "effect"
import type { OrganizationId, UserId } from "../../src/domain/Ids.ts"
import { closeOf, openRpc, request as rpcRequest } from "../support/RawRpc.ts"
import { startServer } from "../support/Server.ts"
import { connectSocket, keyConfig, openSocket, tokenFor, waitForDisconnect } from "../support/Sockets.ts"
import { scopedDatabase } from "../support/TestDatabase.ts"

/** An organization with a VIEWER and an INVESTIGATOR, inserted directly into the server's database. */
const seed = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const [organization] = yield* sql<{ readonly id: OrganizationId }>`INSERT INTO organizations (slug, name) VALUES ('drain', 'Drain') RETURNING id`
  const organizationId = organization!.id
  const people = yield* sql<{ readonly id: UserId; readonly role: "VIEWER" | "INVESTIGATOR" }>`
    INSERT INTO users (organization_id, email, password_hash, display_name, role)
    VALUES (${organizationId}, 'viewer@drain.example', 'not-a-hash', 'Viewer', 'VIEWER'),
           (${organizationId}, 'investigator@drain.example', 'not-a-hash', 'Investigator', 'INVESTIGATOR')
    RETURNING id, role`
  return people.map((person) => ({ id: person.id, organizationId, role: person.role }))
}).pipe(Effect.orDie)

describe("realtime: graceful shutdown", () => {
  it.scopedLive("SIGTERM: every socket (connected, still in its handshake, /ws/ai, /rpc) hears SERVER_SHUTDOWN and is closed 1001, and the process exits 0", () =>
    Effect.gen(function* () {
      const url = yield* scopedDatabase()
      const database = yield* Layer.build(PgClient.layer({ url }))
      const users = yield* Effect.provide(seed, database)
      const key = yield* keyConfig
      const server = yield* Effect.acquireRelease(
        Effect.promise(() => startServer({ DATABASE_URL: Redacted.value(url), ...key, LOG_LEVEL: "Info", LOG_FORMAT: "json" })),
        (running) => Effect.sync(() => running.child.kill("SIGKILL"))
      )
      const tokens = yield* Effect.forEach([users[0]!, users[0]!, users[1]!], (user) => Effect.provide(tokenFor(user), database))
      const notifications = yield* Effect.forEach(tokens, (token) => Effect.map(connectSocket(server.baseUrl, token), ({ socket }) => socket))
      const ai = (yield* connectSocket(server.baseUrl, tokens[0]!, { path: "/ws/ai" })).socket
      const handshaking = yield* openSocket(server.baseUrl)
      const rpc = yield* openRpc(server.baseUrl, { token: tokens[0]! })
      rpc.send(rpcRequest(1, "Notifications.UnreadCount"))
      const [answer] = yield* rpc.exits(1)
      assert.strictEqual(answer!.exit?._tag, "Success", JSON.stringify(answer))

      const signalled = Date.now()
      server.child.kill("SIGTERM")
      for (const socket of [...notifications, ai, handshaking]) {
        const close = yield* waitForDisconnect(socket, 10_000)
        assert.deepStrictEqual([close.error?.code, close.code, close.reason], ["SERVER_SHUTDOWN", 1001, "SERVER_SHUTDOWN"])
      }
      const rpcClose = yield* closeOf(rpc, 10_000)
      assert.deepStrictEqual([rpcClose.code, rpcClose.reason], [1001, "SERVER_SHUTDOWN"])
      const code = yield* Effect.promise(() => server.exited)
      assert.strictEqual(code, 0, server.output())
      assert.isBelow(Date.now() - signalled, 10_000)
      assert.include(server.output(), "closing sockets")
    }), { timeout: 120_000 })
})
