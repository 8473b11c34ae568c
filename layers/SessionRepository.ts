import { SqlClient, SqlSchema } from "@effect/sql"
import { Effect, Schema } from "effect"
import { OrganizationId, SessionId, UserId } from "../src/domain/Ids.ts"
import { Role } from "../src/domain/Roles.ts"

/** What decides whether a session may be used: its row, its user's and its organization's status. */
export class SessionState extends Schema.Class<SessionState>("SessionState")({
  revokedAt: Schema.NullOr(Schema.DateFromSelf),
  idleExpiresAt: Schema.DateFromSelf,
  absoluteExpiresAt: Schema.DateFromSelf,
  role: Role,
  userStatus: Schema.String,
  organizationStatus: Schema.String
}) {}

export class LiveSession extends Schema.Class<LiveSession>("LiveSession")({
  id: SessionId,
  createdAt: Schema.DateFromSelf,
  lastRefreshedAt: Schema.DateFromSelf
}) {}

const Identity = { sessionId: SessionId, userId: UserId, organizationId: OrganizationId }

const Rotated = Schema.Struct({
  outcome: Schema.Literal("ROTATED", "REPLACED"),
  sessionId: SessionId,
  organizationId: OrganizationId,
  userId: UserId,
  role: Role,
  displayName: Schema.String,
  absoluteExpiresAt: Schema.DateFromSelf
})
const Reused = Schema.Struct({ outcome: Schema.Literal("REFRESH_TOKEN_REUSED"), ...Identity })
const Throttled = Schema.Struct({
  outcome: Schema.Literal("RATE_LIMITED"),
  retryAfterSeconds: Schema.Int,
  /** The session's own refresh allowance, or the address's failed refreshes. */
  refusedBy: Schema.Literal("session", "address")
})
const Refused = Schema.Struct({ outcome: Schema.Literal("INVALID_TOKEN", "USER_INACTIVE", "SESSION_REVOKED", "SESSION_EXPIRED") })

/** One row of auth_refresh_limited() (migrations/0002, 0004, 0005): the whole rotation decision, made in the database. */
export const RefreshOutcome = Schema.Union(Rotated, Reused, Throttled, Refused)
export type RefreshOutcome = typeof RefreshOutcome.Type

export interface RotationRequest {
  readonly failBurst: number
  readonly failRate: number
  readonly selector: string
  readonly secretHash: Uint8Array
  readonly at: Date
  readonly idle: string
  readonly leeway: string
  readonly burst: number
  readonly perSecond: number
  readonly nextSelector: string
  readonly nextHash: Uint8Array
  readonly ip: string
  readonly userAgent: string | null
  readonly channel: string
}

export interface NewSession {
  readonly organizationId: OrganizationId
  readonly userId: UserId
  readonly at: Date
  readonly idleExpiresAt: Date
  readonly absoluteExpiresAt: Date
  readonly userAgent: string | null
  readonly ip: string
  readonly refreshSelector: string
  readonly refreshHash: Uint8Array
}

export type RevocationTarget = { readonly sessionId: SessionId } | { readonly userId: UserId } | { readonly organizationId: OrganizationId }

/** auth_sessions and auth_refresh_tokens; rows decoded with Schema, SqlError a defect (nothing to act on). */
export const makeSessionRepository = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient

  // Every uncached token check runs this one: its row is decoded synchronously (no Effect per field).
  const decodeState = Schema.decodeUnknownEither(SessionState)
  const state = (key: { readonly sessionId: SessionId; readonly userId: UserId; readonly organizationId: OrganizationId }) =>
    Effect.flatMap(
      sql`
      SELECT s.revoked_at AS "revokedAt", s.idle_expires_at AS "idleExpiresAt", s.absolute_expires_at AS "absoluteExpiresAt",
             u.role, u.status AS "userStatus", o.status AS "organizationStatus"
        FROM auth_sessions s JOIN users u ON u.id = s.user_id JOIN organizations o ON o.id = s.organization_id
       WHERE s.id = ${key.sessionId} AND s.user_id = ${key.userId} AND s.organization_id = ${key.organizationId}`,
      ([row]) => (row === undefined ? Effect.succeedNone : Effect.asSome(decodeState(row)))
    )

  const decodeOutcome = Schema.decodeUnknown(RefreshOutcome)
  const rotate = (r: RotationRequest) =>
    sql`
      SELECT outcome, session_id AS "sessionId", organization_id AS "organizationId", user_id AS "userId", role,
             display_name AS "displayName", absolute_expires_at AS "absoluteExpiresAt", retry_after_seconds AS "retryAfterSeconds",
             refused_by AS "refusedBy"
        FROM auth_refresh_limited(${r.failBurst}, ${r.failRate}, ${r.selector}::uuid, ${r.secretHash}, ${r.at}, ${r.idle}::interval,
                                  ${r.leeway}::interval, ${r.burst}, ${r.perSecond}, ${r.nextSelector}::uuid, ${r.nextHash}, ${r.ip},
                                  ${r.userAgent}, ${r.channel})`.pipe(
      Effect.flatMap(([row]) => decodeOutcome(row))
    )

  const listLive = SqlSchema.findAll({
    Request: Schema.Struct({ userId: UserId, organizationId: OrganizationId, at: Schema.DateFromSelf }),
    Result: LiveSession,
    execute: (key) => sql`
      SELECT id, created_at AS "createdAt", last_refreshed_at AS "lastRefreshedAt" FROM auth_sessions
       WHERE user_id = ${key.userId} AND organization_id = ${key.organizationId} AND revoked_at IS NULL
         AND absolute_expires_at > ${key.at} AND idle_expires_at > ${key.at}
       ORDER BY created_at DESC`
  })

  const owner = SqlSchema.findOne({
    Request: Schema.Struct({ sessionId: SessionId, organizationId: OrganizationId }),
    Result: Schema.Struct({ userId: UserId }),
    execute: (key) => sql`SELECT user_id AS "userId" FROM auth_sessions WHERE id = ${key.sessionId} AND organization_id = ${key.organizationId}`
  })

  const states = SqlSchema.findAll({
    Request: Schema.Array(Schema.String),
    Result: Schema.Struct({ sessionId: SessionId, ...SessionState.fields }),
    execute: (ids) => sql`
      SELECT s.id AS "sessionId", s.revoked_at AS "revokedAt", s.idle_expires_at AS "idleExpiresAt",
             s.absolute_expires_at AS "absoluteExpiresAt", u.role, u.status AS "userStatus", o.status AS "organizationStatus"
        FROM auth_sessions s JOIN users u ON u.id = s.user_id JOIN organizations o ON o.id = s.organization_id
       WHERE s.id = ANY(${ids}::uuid[])`
  })

  return {
    /** The states of many sessions in one statement (re-checking every open socket after a gap). */
    states: (sessionIds: ReadonlyArray<string>) => (sessionIds.length === 0 ? Effect.succeed([]) : Effect.orDie(states(sessionIds))),

    /** The state of a session, found by the identity its token claims (all three must match). */
    state: (key: { readonly sessionId: SessionId; readonly userId: UserId; readonly organizationId: OrganizationId }) =>
      Effect.orDie(state(key)),

    /** One call: rotation, replacement within the leeway, reuse detection, the per-session and per-address limits. */
    rotate: (request: RotationRequest) => Effect.orDie(rotate(request)),

    /** A new session and its first refresh token, in one statement. */
    open: (session: NewSession) =>
      Effect.orDie(sql<{ readonly id: SessionId }>`
        WITH session AS (
          INSERT INTO auth_sessions (organization_id, user_id, created_at, last_refreshed_at, idle_expires_at, absolute_expires_at, user_agent, ip)
          VALUES (${session.organizationId}, ${session.userId}, ${session.at}, ${session.at}, ${session.idleExpiresAt},
                  ${session.absoluteExpiresAt}, ${session.userAgent}, ${session.ip})
          RETURNING id
        )
        INSERT INTO auth_refresh_tokens (id, session_id, organization_id, user_id, secret_hash, generation, created_at)
        SELECT ${session.refreshSelector}, id, ${session.organizationId}, ${session.userId}, ${session.refreshHash}, 0, ${session.at} FROM session
        RETURNING session_id AS id`).pipe(Effect.map(([row]) => row!.id)),

    /** An open socket is activity on its session: push the idle expiry like a refresh does. */
    touch: (sessionId: SessionId, idleExpiresAt: Date) =>
      Effect.orDie(sql`UPDATE auth_sessions SET idle_expires_at = ${idleExpiresAt} WHERE id = ${sessionId} AND revoked_at IS NULL`),

    /** The user's sessions that are neither revoked nor expired, newest first. */
    listLive: (key: { readonly userId: UserId; readonly organizationId: OrganizationId; readonly at: Date }) => Effect.orDie(listLive(key)),

    /** Who owns a session of the organization. */
    owner: (sessionId: SessionId, organizationId: OrganizationId) => Effect.orDie(owner({ sessionId, organizationId })),

    /** Revokes the target's live sessions and their live refresh tokens; returns the sessions revoked. */
    revoke: (target: RevocationTarget, organizationId: OrganizationId, reason: string, at: Date) =>
      Effect.gen(function* () {
        const scope = "sessionId" in target
          ? sql`id = ${target.sessionId}`
          : "userId" in target ? sql`user_id = ${target.userId}` : sql`TRUE`
        const ids = yield* sql<{ readonly id: SessionId }>`
          UPDATE auth_sessions SET revoked_at = ${at}, revoked_reason = ${reason}
           WHERE ${scope} AND organization_id = ${organizationId} AND revoked_at IS NULL
          RETURNING id`
        if (ids.length > 0) {
          yield* sql`UPDATE auth_refresh_tokens SET revoked_at = ${at}
                      WHERE session_id = ANY(${ids.map((row) => row.id)}) AND revoked_at IS NULL AND rotated_at IS NULL`
        }
        return ids.length
      }).pipe(Effect.orDie)
  }
})

export type SessionRepository = Effect.Effect.Success<typeof makeSessionRepository>
