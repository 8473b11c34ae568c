import type { ClientInfo } from "../src/domain/Auth.ts"
import type { AuditEntry } from "../services/AuditLog.ts"

/** An audit entry stamped with where the request came from. */
export const fromClient = (client: ClientInfo, entry: Omit<AuditEntry, "ip" | "userAgent">): AuditEntry => ({
  ...entry,
  ip: client.ip,
  userAgent: client.userAgent ?? null
})

/** An audit row about a session, by the session's own user (or `session` naming who acts on it). */
export const sessionEntry = (
  client: ClientInfo,
  action: string,
  session: { readonly organizationId: string; readonly userId: string; readonly sessionId: string },
  changes: Readonly<Record<string, unknown>> = {},
  entityId: string = session.sessionId
): AuditEntry =>
  fromClient(client, {
    organizationId: session.organizationId,
    actorUserId: session.userId,
    sessionId: session.sessionId,
    entityType: "auth_session",
    entityId,
    action,
    changes
  })
