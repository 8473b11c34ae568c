import { Clock, Effect, Option } from "effect"
import type { AuthenticatedUser, ClientInfo } from "../../src/domain/Auth.ts"
import { NotFoundError } from "../../src/domain/Errors.ts"
import type { SessionId } from "../../src/domain/Ids.ts"
import * as Policy from "../../src/domain/Policy.ts"
import { AuditLog } from "../../services/AuditLog.ts"
import { sessionEntry } from "../AuditEntries.ts"
import { makeSessionRepository } from "../SessionRepository.ts"
import { makeRevoker } from "./Revoker.ts"

/** Listing and revoking sessions. */
export const makeRevocation = Effect.gen(function* () {
  const audit = yield* AuditLog
  const sessions = yield* makeSessionRepository
  const revoke = yield* makeRevoker
  const now = Effect.map(Clock.currentTimeMillis, (ms) => new Date(ms))

  const list = Effect.fn("Sessions.list")(function* (user: AuthenticatedUser) {
    const rows = yield* sessions.listLive({ userId: user.userId, organizationId: user.organizationId, at: yield* now })
    return rows.map((row) => ({
      id: row.id,
      createdAt: row.createdAt.toISOString(),
      lastRefreshedAt: row.lastRefreshedAt.toISOString(),
      current: row.id === user.sessionId
    }))
  })

  const logout = Effect.fn("Sessions.logout")(function* (user: AuthenticatedUser, client: ClientInfo) {
    yield* revoke({
      target: { sessionId: user.sessionId },
      organizationId: user.organizationId,
      reason: "LOGOUT",
      at: yield* now,
      event: { _tag: "session.revoked", organizationId: user.organizationId, userId: user.userId, sessionId: user.sessionId, reason: "LOGOUT" },
      also: () => audit.record(sessionEntry(client, "auth.logout", user))
    })
  })

  const revokeOne = Effect.fn("Sessions.revoke")(function* (user: AuthenticatedUser, sessionId: SessionId, client: ClientInfo) {
    const owner = yield* sessions.owner(sessionId, user.organizationId)
    if (Option.isNone(owner)) return yield* new NotFoundError({ message: "no such session" })
    const ownerId = owner.value.userId
    yield* Policy.any(Policy.isUser(ownerId), Policy.isAdmin)(user)
    const reason = ownerId === user.userId ? "REVOKED" : "ADMIN"
    yield* revoke({
      target: { sessionId },
      organizationId: user.organizationId,
      reason,
      at: yield* now,
      event: { _tag: "session.revoked", organizationId: user.organizationId, userId: ownerId, sessionId, reason },
      also: () => audit.record(sessionEntry(client, "auth.session.revoked", user, { reason, userId: ownerId }, sessionId))
    })
  })

  const revokeAll = Effect.fn("Sessions.revokeAll")(function* (user: AuthenticatedUser, client: ClientInfo) {
    yield* revoke({
      target: { userId: user.userId },
      organizationId: user.organizationId,
      reason: "REVOKE_ALL",
      at: yield* now,
      event: { _tag: "session.revoked", organizationId: user.organizationId, userId: user.userId, sessionId: null, reason: "REVOKE_ALL" },
      also: (revoked) => audit.record(sessionEntry(client, "auth.session.revoked_all", user, { sessions: revoked }, user.userId))
    })
  })

  return { list, logout, revoke: revokeOne, revokeAll }
})
