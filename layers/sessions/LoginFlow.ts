import { SqlClient } from "@effect/sql"
import { Clock, Effect } from "effect"
import type { ClientInfo } from "../../src/domain/Auth.ts"
import { AuthError, RateLimitedError } from "../../src/domain/Errors.ts"
import { AuditLog } from "../../services/AuditLog.ts"
import { Jwt } from "../../services/Jwt.ts"
import { Metrics } from "../../services/Metrics.ts"
import { Passwords } from "../../services/Passwords.ts"
import type { LoginInput } from "../../services/Sessions.ts"
import { fromClient, sessionEntry } from "../AuditEntries.ts"
import { makeSessionRepository } from "../SessionRepository.ts"
import { sessionError } from "../SessionState.ts"
import { makeUserRepository } from "../UserRepository.ts"
import { makeLoginLimits } from "./LoginLimits.ts"
import { makePasswordGate } from "./PasswordGate.ts"
import type { SessionsConfig } from "./SessionsConfig.ts"
import { newRefreshToken, tokenPair } from "./Tokens.ts"

const invalidCredentials = new AuthError({
  code: "INVALID_CREDENTIALS",
  message: "invalid email or password (give the organization when the email belongs to several)"
})

/**
 * Login: the limits are taken first (one statement, shared by every instance), then the password is
 * checked under the gate, then the session, its first refresh token and the audit row commit together.
 */
export const makeLogin = (config: SessionsConfig) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const jwt = yield* Jwt
    const audit = yield* AuditLog
    const passwords = yield* Passwords
    const metrics = yield* Metrics
    const users = yield* makeUserRepository
    const sessions = yield* makeSessionRepository
    const limits = yield* makeLoginLimits(config)
    const gate = yield* makePasswordGate(config)
    const pair = tokenPair(jwt)
    const now = Effect.map(Clock.currentTimeMillis, (ms) => new Date(ms))

    const login = Effect.fn("Sessions.login")(function* (input: LoginInput, client: ClientInfo) {
      const email = input.email.trim().toLowerCase()
      const organization = input.organization?.trim().toLowerCase()
      const attempt = yield* limits.take(client.ip, email, client.userAgent, yield* now)
      if (!attempt.allowed) {
        return yield* new RateLimitedError({
          message: attempt.refusedBy === "account" ? "too many failed logins for this account" : "too many failed logins from this address",
          retryAfterSeconds: attempt.retryAfterSeconds ?? 1
        })
      }
      const candidates = yield* users.loginCandidates(email, organization)
      const candidate = candidates.length === 1 ? candidates[0] : undefined
      const verified = yield* gate(
        client.ip,
        candidate === undefined ? passwords.verifyDummy(input.password) : passwords.verify(candidate.passwordHash, input.password)
      ).pipe(Effect.tapError(() => Effect.flatMap(now, (at) => limits.unused(email, at, attempt.proven))))
      const at = yield* now
      if (!verified || candidate === undefined) {
        yield* audit.record(fromClient(client, {
          organizationId: candidate?.organizationId ?? null,
          actorUserId: candidate?.id ?? null,
          entityType: "user",
          entityId: candidate?.id ?? null,
          action: "auth.login.failed",
          changes: { email, ...(organization === undefined ? {} : { organization }) }
        }))
        return yield* invalidCredentials
      }
      // The password was right: the attempt's tokens go back (for an active user in the session's own
      // transaction: one commit fewer per login, bench/results/auth.md item e).
      const succeeded = limits.succeeded(client.ip, email, candidate.id, at, attempt.proven)
      if (candidate.status !== "ACTIVE" || candidate.organizationStatus !== "ACTIVE") {
        yield* succeeded
        yield* audit.record(fromClient(client, {
          organizationId: candidate.organizationId,
          actorUserId: candidate.id,
          entityType: "user",
          entityId: candidate.id,
          action: "auth.login.inactive"
        }))
        return yield* sessionError("USER_INACTIVE")
      }
      const refresh = newRefreshToken()
      const absoluteExpiresAt = new Date(at.getTime() + config.absoluteMs)
      const idleExpiresAt = new Date(Math.min(at.getTime() + config.idleMs, absoluteExpiresAt.getTime()))
      const sessionId = yield* sql.withTransaction(Effect.gen(function* () {
        yield* succeeded
        const sessionId = yield* sessions.open({
          organizationId: candidate.organizationId,
          userId: candidate.id,
          at,
          idleExpiresAt,
          absoluteExpiresAt,
          userAgent: client.userAgent ?? null,
          ip: client.ip,
          refreshSelector: refresh.selector,
          refreshHash: refresh.hash
        })
        yield* audit.record(sessionEntry(client, "auth.login.succeeded", { organizationId: candidate.organizationId, userId: candidate.id, sessionId }))
        return sessionId
      })).pipe(Effect.orDie)
      const subject = { userId: candidate.id, organizationId: candidate.organizationId, sessionId, role: candidate.role, displayName: candidate.displayName }
      return yield* pair(subject, refresh.token, absoluteExpiresAt)
    })

    return (input: LoginInput, client: ClientInfo) =>
      login(input, client).pipe(
        Effect.tapBoth({
          onSuccess: () => Effect.sync(() => metrics.logins.inc({ outcome: "SUCCEEDED" })),
          onFailure: (error) => Effect.sync(() => metrics.logins.inc({ outcome: error.code }))
        })
      )
  })
