import { Context, type Effect } from "effect"

export interface AuditEntry {
  readonly organizationId: string | null
  readonly actorUserId: string | null
  readonly actingStaffUserId?: string | null
  readonly sessionId?: string | null
  readonly entityType: string
  readonly entityId: string | null
  /** Dotted verb, e.g. `auth.login.succeeded`. */
  readonly action: string
  /** Never a token, a password or a hash. */
  readonly changes?: Readonly<Record<string, unknown>>
  readonly ip?: string | null
  readonly userAgent?: string | null
}

/** Append-only audit trail; joins the caller's transaction. */
export class AuditLog extends Context.Tag("casecore/AuditLog")<
  AuditLog,
  {
    /** Append one row (time from Clock). */
    readonly record: (entry: AuditEntry) => Effect.Effect<void>
  }
>() {}
