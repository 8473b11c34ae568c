import { assert, describe, it } from "@effect/vitest"
import { SqlClient } from "@effect/sql"
import { Cause, Effect, Exit, Layer, TestClock } from "effect"
import { AuditLogLive } from "../../layers/AuditLogLive.ts"
import { AuditLog } from "../../services/AuditLog.ts"
import { TestDatabaseLive } from "../support/TestDatabase.ts"

interface AuditRow {
  readonly organization_id: string | null
  readonly actor_user_id: string | null
  readonly acting_staff_user_id: string | null
  readonly session_id: string | null
  readonly entity_type: string
  readonly entity_id: string | null
  readonly action: string
  readonly changes: unknown
  readonly ip: string | null
  readonly user_agent: string | null
  readonly created_at: Date
}

const insertOrganization = (slug: string) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const [row] = yield* sql<{ id: string }>`INSERT INTO organizations (slug, name) VALUES (${slug}, ${slug}) RETURNING id`
    return row!.id
  })

const rowsWithAction = (action: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql<AuditRow>`
      SELECT organization_id, actor_user_id, acting_staff_user_id, session_id, entity_type, entity_id, action,
        changes, ip, user_agent, created_at
      FROM audit_log WHERE action = ${action}`)

describe("AuditLog", () => {
  it.layer(Layer.provideMerge(AuditLogLive, TestDatabaseLive))((it) => {
    it.effect("records every field of an entry with the time of the Clock", () =>
      Effect.gen(function* () {
        const audit = yield* AuditLog
        const organizationId = yield* insertOrganization("audit-fields")
        const at = new Date("2026-03-14T09:26:53.589Z")
        yield* TestClock.setTime(at.getTime())
        const actorUserId = "7d8f1c52-5b0e-4c49-9a39-0d6f6b1d2c11"
        const actingStaffUserId = "0c1e7f0a-2f7d-4a53-8f4e-6b2d9b7a3e22"
        const sessionId = "5a2b9c3d-1e4f-4a6b-8c7d-9e0f1a2b3c33"
        yield* audit.record({
          organizationId,
          actorUserId,
          actingStaffUserId,
          sessionId,
          entityType: "user",
          entityId: actorUserId,
          action: "auth.login.succeeded",
          changes: { method: "password", attempts: 2, nested: { mfa: false } },
          ip: "203.0.113.7",
          userAgent: "vitest"
        })
        const rows = yield* rowsWithAction("auth.login.succeeded")
        assert.strictEqual(rows.length, 1)
        const { created_at, ...fields } = rows[0]!
        assert.deepStrictEqual(fields, {
          organization_id: organizationId,
          actor_user_id: actorUserId,
          acting_staff_user_id: actingStaffUserId,
          session_id: sessionId,
          entity_type: "user",
          entity_id: actorUserId,
          action: "auth.login.succeeded",
          changes: { method: "password", attempts: 2, nested: { mfa: false } },
          ip: "203.0.113.7",
          user_agent: "vitest"
        })
        assert.strictEqual(created_at.toISOString(), at.toISOString())
      }))

    it.effect("stores absent optional fields as null and changes as an empty object", () =>
      Effect.gen(function* () {
        const audit = yield* AuditLog
        yield* TestClock.setTime(new Date("2026-01-02T03:04:05.000Z").getTime())
        yield* audit.record({ organizationId: null, actorUserId: null, entityType: "system", entityId: null, action: "system.started" })
        const rows = yield* rowsWithAction("system.started")
        assert.strictEqual(rows.length, 1)
        const row = rows[0]!
        assert.deepStrictEqual(
          [row.organization_id, row.actor_user_id, row.acting_staff_user_id, row.session_id, row.entity_id, row.ip, row.user_agent],
          [null, null, null, null, null, null, null]
        )
        assert.deepStrictEqual(row.changes, {})
        assert.strictEqual(row.created_at.toISOString(), "2026-01-02T03:04:05.000Z")
      }))

    it.effect("a record inside a transaction that then fails is rolled back", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const audit = yield* AuditLog
        const organizationId = yield* insertOrganization("audit-rollback")
        const failure = yield* sql.withTransaction(
          Effect.gen(function* () {
            yield* audit.record({ organizationId, actorUserId: null, entityType: "organization", entityId: organizationId, action: "org.renamed" })
            assert.strictEqual((yield* rowsWithAction("org.renamed")).length, 1)
            return yield* Effect.fail("later step failed" as const)
          })
        ).pipe(Effect.flip)
        assert.strictEqual(failure, "later step failed")
        assert.strictEqual((yield* rowsWithAction("org.renamed")).length, 0)
      }))

    it.effect("a failed record dies and rolls back the caller's transaction", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const audit = yield* AuditLog
        const exit = yield* sql.withTransaction(
          Effect.gen(function* () {
            yield* insertOrganization("audit-defect")
            yield* audit.record({ organizationId: null, actorUserId: null, entityType: "", entityId: null, action: "org.created" })
          })
        ).pipe(Effect.exit)
        assert.isTrue(Exit.isFailure(exit) && Cause.isDie(exit.cause))
        const rows = yield* sql<{ id: string }>`SELECT id FROM organizations WHERE slug = 'audit-defect'`
        assert.strictEqual(rows.length, 0)
      }))
  })
})
