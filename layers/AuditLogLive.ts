import { SqlClient } from "@effect/sql"
import { Clock, Effect, Layer } from "effect"
import { AuditLog } from "../services/AuditLog.ts"

export const AuditLogLive: Layer.Layer<AuditLog, never, SqlClient.SqlClient> = Layer.effect(
  AuditLog,
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient

    return AuditLog.of({
      // A lost audit row must fail (and roll back) the caller's transaction, so SqlError is a defect.
      record: Effect.fn("AuditLog.record")(function* (entry) {
        const createdAt = new Date(yield* Clock.currentTimeMillis)
        yield* sql`
          INSERT INTO audit_log (organization_id, actor_user_id, acting_staff_user_id, session_id, entity_type,
            entity_id, action, changes, ip, user_agent, created_at)
          VALUES (${entry.organizationId}, ${entry.actorUserId}, ${entry.actingStaffUserId ?? null},
            ${entry.sessionId ?? null}, ${entry.entityType}, ${entry.entityId}, ${entry.action},
            ${JSON.stringify(entry.changes ?? {})}::jsonb, ${entry.ip ?? null}, ${entry.userAgent ?? null}, ${createdAt})`.pipe(
          Effect.orDie
        )
      })
    })
  })
)
