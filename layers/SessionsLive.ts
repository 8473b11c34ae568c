import { SqlClient } from "@effect/sql"
import { Clock, Config, Duration, Effect, Layer, Metric, Option, Redacted } from "effect"
import * as Crypto from "node:crypto"
import type { ClientInfo, TokenPair } from "../src/domain/Auth.ts"
import { AuthError, ForbiddenError, NotFoundError, RateLimitedError } from "../src/domain/Errors.ts"
import { type BusEvent, channel } from "../src/domain/Events.ts"
import type { OrganizationId, SessionId, UserId } from "../src/domain/Ids.ts"
import type { Role } from "../src/domain/Roles.ts"
import { type AuditEntry, AuditLog } from "../services/AuditLog.ts"
import { Auth } from "../services/Auth.ts"
import { EventBus } from "../services/EventBus.ts"
import { Jwt } from "../services/Jwt.ts"
import { Passwords } from "../services/Passwords.ts"
import { RateLimiter, type RatePolicy } from "../services/RateLimiter.ts"
import { Sessions } from "../services/Sessions.ts"
import { checkSessionState, sessionError, type SessionState } from "./SessionState.ts"
import { count, logins, refreshes, revocations } from "./Metrics.ts"

const sessionsConfig = Config.all({
  idle: Config.duration("SESSION_IDLE_TIMEOUT").pipe(Config.withDefault(Duration.minutes(30))),
  absolute: Config.duration("SESSION_ABSOLUTE_TIMEOUT").pipe(Config.withDefault(Duration.hours(12))),
  reuseLeeway: Config.duration("REFRESH_REUSE_LEEWAY").pipe(Config.withDefault(Duration.seconds(10))),
  socketGrace: Config.duration("SOCKET_GRACE_PERIOD").pipe(Config.withDefault(Duration.seconds(300))),
  loginFailuresPerAddress: Config.integer("LOGIN_FAILURES_PER_ADDRESS").pipe(Config.withDefault(10)),
  loginFailuresPerAccount: Config.integer("LOGIN_FAILURES_PER_ACCOUNT").pipe(Config.withDefault(10)),
  refreshesPerMinute: Config.integer("REFRESHES_PER_SESSION_PER_MINUTE").pipe(Config.withDefault(30))
})

const authError = (code: AuthError["code"], message: string) => new AuthError({ code, message })
const invalidCredentials = authError(
  "INVALID_CREDENTIALS",
  "invalid email or password (give the organization when the email belongs to several)"
)

const refreshTokenPattern = /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.([A-Za-z0-9_-]{43})$/
const sha256 = (secret: string) => Crypto.createHash("sha256").update(secret).digest()

/** A new refresh token: `<selector>.<secret>`; only SHA-256 of the secret is stored. */
const newRefreshToken = () => {
  const selector = Crypto.randomUUID()
  const secret = Crypto.randomBytes(32).toString("base64url")
  return { selector, token: `${selector}.${secret}`, hash: sha256(secret) }
}

/** A row of auth_refresh(); the columns past `outcome` are set as the outcome needs them. */
type RefreshOutcome =
  | {
      readonly outcome: "ROTATED" | "REPLACED"
      readonly session_id: SessionId
      readonly organization_id: OrganizationId
      readonly user_id: UserId
      readonly role: Role
      readonly display_name: string
      readonly absolute_expires_at: Date
    }
  | { readonly outcome: "REFRESH_TOKEN_REUSED"; readonly session_id: SessionId; readonly organization_id: OrganizationId; readonly user_id: UserId }
  | { readonly outcome: "RATE_LIMITED"; readonly retry_after_seconds: number }
  | { readonly outcome: "INVALID_TOKEN" | "USER_INACTIVE" | "SESSION_REVOKED" | "SESSION_EXPIRED" }


export const SessionsLive = Layer.effect(
  Sessions,
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const jwt = yield* Jwt
    const auth = yield* Auth
    const bus = yield* EventBus
    const audit = yield* AuditLog
    const passwords = yield* Passwords
    const limiter = yield* RateLimiter
    const config = yield* sessionsConfig
    const idleMs = Duration.toMillis(config.idle)
    const absoluteMs = Duration.toMillis(config.absolute)

    // Failures refill slowly per address (an attacker's budget) and faster per account, so a victim
    // is never locked out for more than a minute or so by someone else's guesses.
    const loginPerAddress: RatePolicy = { name: "login-address", burst: config.loginFailuresPerAddress, perSecond: config.loginFailuresPerAddress / 900 }
    const loginPerAccount: RatePolicy = { name: "login-account", burst: config.loginFailuresPerAccount, perSecond: 1 / 60 }

    const now = Effect.map(Clock.currentTimeMillis, (ms) => new Date(ms))

    const tokenPair = Effect.fnUntraced(function* (
      user: { readonly userId: UserId; readonly organizationId: OrganizationId; readonly sessionId: SessionId; readonly role: Role; readonly displayName: string },
      refreshToken: string,
      refreshExpiresAt: Date
    ) {
      const access = yield* jwt.sign(user)
      return {
        accessToken: access.token,
        refreshToken,
        expiresAt: access.expiresAt.toISOString(),
        refreshExpiresAt: refreshExpiresAt.toISOString(),
        user: { id: user.userId, organizationId: user.organizationId, role: user.role, displayName: user.displayName }
      } satisfies TokenPair
    })

    /** Revokes sessions and their live tokens, and announces it, in the caller's transaction. */
    const revokeWhere = Effect.fnUntraced(function* (
      target: { readonly sessionId: SessionId } | { readonly userId: UserId },
      organizationId: OrganizationId,
      userId: UserId,
      reason: string,
      at: Date
    ) {
      const ids = yield* sql<{ id: SessionId }>`
        UPDATE auth_sessions SET revoked_at = ${at}, revoked_reason = ${reason}
         WHERE ${"sessionId" in target ? sql`id = ${target.sessionId}` : sql`user_id = ${target.userId}`}
           AND organization_id = ${organizationId} AND revoked_at IS NULL
        RETURNING id`
      if (ids.length > 0) {
        yield* sql`UPDATE auth_refresh_tokens SET revoked_at = ${at}
                    WHERE session_id = ANY(${ids.map((row) => row.id)}) AND revoked_at IS NULL AND rotated_at IS NULL`
      }
      const event: BusEvent = {
        _tag: "session.revoked",
        organizationId,
        userId,
        sessionId: "sessionId" in target ? target.sessionId : null,
        reason
      }
      yield* bus.publish(event)
      yield* Metric.incrementBy(Metric.tagged(revocations, "reason", reason), ids.length)
      return { event, count: ids.length }
    })

    const auditFrom = (client: ClientInfo, entry: Omit<AuditEntry, "ip" | "userAgent">) =>
      audit.record({ ...entry, ip: client.ip, userAgent: client.userAgent ?? null })

    /** An audit row about a session, by the session's own user (or `actor` acting on it). */
    const auditSession = (
      client: ClientInfo,
      action: string,
      session: { readonly organizationId: string; readonly userId: string; readonly sessionId: string },
      changes: Readonly<Record<string, unknown>> = {},
      entityId: string = session.sessionId
    ) =>
      auditFrom(client, {
        organizationId: session.organizationId,
        actorUserId: session.userId,
        sessionId: session.sessionId,
        entityType: "auth_session",
        entityId,
        action,
        changes
      })


    /** Commit the revocation, then drop what this instance cached (other instances hear the NOTIFY). */
    const revokeAndForget = <E>(work: Effect.Effect<{ readonly event: BusEvent }, E, never>) =>
      sql.withTransaction(work).pipe(
        Effect.catchTag("SqlError", Effect.die),
        Effect.tap(({ event }) => auth.forget(event)),
        Effect.asVoid
      )

    const login = Effect.fn("Sessions.login")(function* (input: Parameters<Sessions["Type"]["login"]>[0], client: ClientInfo) {
      const email = input.email.trim().toLowerCase()
      const organization = input.organization?.trim().toLowerCase()
      const accountKey = `${organization ?? "*"}:${email}`
      yield* limiter.check(loginPerAddress, client.ip)
      yield* limiter.check(loginPerAccount, accountKey)
      const candidates = yield* sql<{
        id: UserId
        organization_id: OrganizationId
        password_hash: string
        role: Role
        status: string
        display_name: string
        organization_status: string
      }>`SELECT u.id, u.organization_id, u.password_hash, u.role, u.status, u.display_name, o.status AS organization_status
           FROM users u JOIN organizations o ON o.id = u.organization_id
          WHERE u.email = ${email} ${organization === undefined ? sql`` : sql`AND o.slug = ${organization}`}
          LIMIT 2`.pipe(Effect.orDie)
      const candidate = candidates.length === 1 ? candidates[0] : undefined
      const verified = candidate === undefined
        ? yield* passwords.verifyDummy(input.password)
        : yield* passwords.verify(candidate.password_hash, input.password)
      const at = yield* now
      if (!verified || candidate === undefined) {
        yield* auditFrom(client, {
          organizationId: candidate?.organization_id ?? null,
          actorUserId: candidate?.id ?? null,
          entityType: "user",
          entityId: candidate?.id ?? null,
          action: "auth.login.failed",
          changes: { email, ...(organization === undefined ? {} : { organization }) }
        })
        yield* limiter.consume(loginPerAddress, client.ip).pipe(Effect.ignore)
        yield* limiter.consume(loginPerAccount, accountKey).pipe(Effect.ignore)
        return yield* invalidCredentials
      }
      if (candidate.status !== "ACTIVE" || candidate.organization_status !== "ACTIVE") {
        yield* auditFrom(client, {
          organizationId: candidate.organization_id,
          actorUserId: candidate.id,
          entityType: "user",
          entityId: candidate.id,
          action: "auth.login.inactive"
        })
        return yield* sessionError("USER_INACTIVE")
      }
      yield* limiter.reset(loginPerAccount, accountKey)
      const refresh = newRefreshToken()
      const absoluteExpiresAt = new Date(at.getTime() + absoluteMs)
      const idleExpiresAt = new Date(Math.min(at.getTime() + idleMs, absoluteExpiresAt.getTime()))
      const sessionId = yield* sql.withTransaction(
        Effect.gen(function* () {
          const [session] = yield* sql<{ id: SessionId }>`
            WITH session AS (
              INSERT INTO auth_sessions (organization_id, user_id, created_at, last_refreshed_at, idle_expires_at, absolute_expires_at, user_agent, ip)
              VALUES (${candidate.organization_id}, ${candidate.id}, ${at}, ${at}, ${idleExpiresAt}, ${absoluteExpiresAt}, ${client.userAgent ?? null}, ${client.ip})
              RETURNING id
            )
            INSERT INTO auth_refresh_tokens (id, session_id, organization_id, user_id, secret_hash, generation, created_at)
            SELECT ${refresh.selector}, id, ${candidate.organization_id}, ${candidate.id}, ${refresh.hash}, 0, ${at} FROM session
            RETURNING session_id AS id`
          yield* auditSession(client, "auth.login.succeeded", { organizationId: candidate.organization_id, userId: candidate.id, sessionId: session!.id })
          return session!.id
        })
      ).pipe(Effect.orDie)
      return yield* tokenPair(
        { userId: candidate.id, organizationId: candidate.organization_id, sessionId, role: candidate.role, displayName: candidate.display_name },
        refresh.token,
        absoluteExpiresAt
      )
    })

    const intervalOf = (duration: Duration.Duration) => `${Duration.toMillis(duration)} milliseconds`

    /** One call of auth_refresh (migrations/0002_refresh_rotation.ts), which holds the whole decision. */
    const refresh = Effect.fn("Sessions.refresh")(function* (refreshToken: Redacted.Redacted<string>, client: ClientInfo) {
      const match = refreshTokenPattern.exec(Redacted.value(refreshToken))
      if (match === null) return yield* authError("INVALID_TOKEN", "malformed refresh token")
      const next = newRefreshToken()
      const at = yield* now
      const [row] = yield* sql<RefreshOutcome>`
        SELECT * FROM auth_refresh(
          ${match[1]!}::uuid, ${sha256(match[2]!)}, ${at}, ${intervalOf(config.idle)}::interval, ${intervalOf(config.reuseLeeway)}::interval,
          ${config.refreshesPerMinute}, ${config.refreshesPerMinute / 60}, ${next.selector}::uuid, ${next.hash},
          ${client.ip}, ${client.userAgent ?? null}, ${channel})`.pipe(Effect.orDie)
      yield* count(refreshes, "outcome", row?.outcome ?? "INVALID_TOKEN")
      switch (row?.outcome) {
        case "ROTATED":
        case "REPLACED":
          return yield* tokenPair(
            { userId: row.user_id, organizationId: row.organization_id, sessionId: row.session_id, role: row.role, displayName: row.display_name },
            next.token,
            row.absolute_expires_at
          )
        case "REFRESH_TOKEN_REUSED":
          yield* count(revocations, "reason", "REUSE_DETECTED")
          yield* auth.forget({ _tag: "session.revoked", organizationId: row.organization_id, userId: row.user_id, sessionId: row.session_id, reason: "REUSE_DETECTED" })
          return yield* authError("REFRESH_TOKEN_REUSED", "this refresh token was already used; the session is revoked")
        case "RATE_LIMITED":
          return yield* new RateLimitedError({ message: "too many refreshes for this session", retryAfterSeconds: row.retry_after_seconds })
        case "USER_INACTIVE":
        case "SESSION_REVOKED":
        case "SESSION_EXPIRED":
          return yield* sessionError(row.outcome)
        default:
          return yield* authError("INVALID_TOKEN", "unknown refresh token")
      }
    })

    const refreshSocket = Effect.fn("Sessions.refreshSocket")(function* (accessToken: string) {
      const claims = yield* jwt.verify(accessToken, { graceSeconds: Duration.toSeconds(config.socketGrace) })
      const at = yield* now
      const [row] = yield* sql<SessionState & { readonly idle_expires_at: Date; readonly role: Role }>`
        SELECT s.revoked_at, s.idle_expires_at, s.absolute_expires_at, u.role, u.status AS user_status, o.status AS organization_status
          FROM auth_sessions s JOIN users u ON u.id = s.user_id JOIN organizations o ON o.id = s.organization_id
         WHERE s.id = ${claims.sid} AND s.user_id = ${claims.sub} AND s.organization_id = ${claims.org}`.pipe(Effect.orDie)
      if (row === undefined) return yield* sessionError("SESSION_REVOKED")
      yield* checkSessionState(row, at)
      // An open socket is activity on the session: it extends the idle expiry like a refresh does.
      yield* sql`UPDATE auth_sessions SET idle_expires_at = ${new Date(Math.min(at.getTime() + idleMs, row.absolute_expires_at.getTime()))}
                  WHERE id = ${claims.sid} AND revoked_at IS NULL`.pipe(Effect.orDie)
      const access = yield* jwt.sign({ userId: claims.sub, organizationId: claims.org, sessionId: claims.sid, role: row.role })
      return { accessToken: access.token, expiresAt: access.expiresAt }
    })

    const sessionOwner = (sessionId: SessionId, organizationId: OrganizationId) =>
      sql<{ user_id: UserId }>`SELECT user_id FROM auth_sessions WHERE id = ${sessionId} AND organization_id = ${organizationId}`.pipe(
        Effect.orDie,
        Effect.map((rows) => Option.fromNullable(rows[0]?.user_id))
      )

    return Sessions.of({
      login: (input, client) =>
        login(input, client).pipe(
          Effect.tapBoth({
            onSuccess: () => count(logins, "outcome", "SUCCEEDED"),
            onFailure: (error) => count(logins, "outcome", error.code)
          })
        ),
      refresh,
      refreshSocket,
      list: Effect.fn("Sessions.list")(function* (user) {
        const at = yield* now
        const rows = yield* sql<{ id: SessionId; created_at: Date; last_refreshed_at: Date }>`
          SELECT id, created_at, last_refreshed_at FROM auth_sessions
           WHERE user_id = ${user.userId} AND organization_id = ${user.organizationId} AND revoked_at IS NULL
             AND absolute_expires_at > ${at} AND idle_expires_at > ${at}
           ORDER BY created_at DESC`.pipe(Effect.orDie)
        return rows.map((row) => ({
          id: row.id,
          createdAt: row.created_at.toISOString(),
          lastRefreshedAt: row.last_refreshed_at.toISOString(),
          current: row.id === user.sessionId
        }))
      }),
      logout: Effect.fn("Sessions.logout")(function* (user, client) {
        yield* revokeAndForget(
          Effect.gen(function* () {
            const revoked = yield* revokeWhere({ sessionId: user.sessionId }, user.organizationId, user.userId, "LOGOUT", yield* now)
            yield* auditSession(client, "auth.logout", user)
            return revoked
          })
        )
      }),
      revoke: Effect.fn("Sessions.revoke")(function* (user, sessionId, client) {
        const owner = yield* sessionOwner(sessionId, user.organizationId)
        if (Option.isNone(owner)) return yield* new NotFoundError({ message: "no such session" })
        if (owner.value !== user.userId && user.role !== "ADMIN") {
          return yield* new ForbiddenError({ message: "only an administrator may revoke another user's session" })
        }
        const reason = owner.value === user.userId ? "REVOKED" : "ADMIN"
        yield* revokeAndForget(
          Effect.gen(function* () {
            const revoked = yield* revokeWhere({ sessionId }, user.organizationId, owner.value, reason, yield* now)
            yield* auditSession(client, "auth.session.revoked", user, { reason, userId: owner.value }, sessionId)
            return revoked
          })
        )
      }),
      revokeAll: Effect.fn("Sessions.revokeAll")(function* (user, client) {
        yield* revokeAndForget(
          Effect.gen(function* () {
            const revoked = yield* revokeWhere({ userId: user.userId }, user.organizationId, user.userId, "REVOKE_ALL", yield* now)
            yield* auditSession(client, "auth.session.revoked_all", user, { sessions: revoked.count }, user.userId)
            return revoked
          })
        )
      }),
      deactivateUser: Effect.fn("Sessions.deactivateUser")(function* (admin, userId, client) {
        if (admin !== "operator" && admin.role !== "ADMIN") {
          return yield* new ForbiddenError({ message: "only an administrator may deactivate users" })
        }
        const [target] = yield* sql<{ organization_id: OrganizationId }>`
          SELECT organization_id FROM users
           WHERE id = ${userId} ${admin === "operator" ? sql`` : sql`AND organization_id = ${admin.organizationId}`}`.pipe(Effect.orDie)
        if (target === undefined) return yield* new NotFoundError({ message: "no such user" })
        const organizationId = target.organization_id
        yield* sql.withTransaction(
          Effect.gen(function* () {
            const at = yield* now
            yield* sql`UPDATE users SET status = 'INACTIVE', updated_at = ${at} WHERE id = ${userId}`
            const { count } = yield* revokeWhere({ userId }, organizationId, userId, "USER_DEACTIVATED", at)
            const event: BusEvent = { _tag: "user.deactivated", organizationId, userId }
            yield* bus.publish(event)
            yield* auditFrom(client, {
              organizationId,
              actorUserId: admin === "operator" ? null : admin.userId,
              sessionId: admin === "operator" ? null : admin.sessionId,
              entityType: "user",
              entityId: userId,
              action: "user.deactivated",
              changes: { status: "INACTIVE", sessionsRevoked: count }
            })
            return event
          })
        ).pipe(Effect.orDie, Effect.flatMap(auth.forget))
      })
    })
  })
)
