import { Clock, Effect, Layer, Option } from "effect"
import type { ClientInfo } from "../src/domain/Auth.ts"
import { ForbiddenError, NotFoundError } from "../src/domain/Errors.ts"
import type { OrganizationId, UserId } from "../src/domain/Ids.ts"
import * as Policy from "../src/domain/Policy.ts"
import type { Role } from "../src/domain/Roles.ts"
import { AuditLog } from "../services/AuditLog.ts"
import { type Administrator, UserAdmin } from "../services/UserAdmin.ts"
import { fromClient } from "./AuditEntries.ts"
import { makeRevoker } from "./sessions/Revoker.ts"
import { makeUserRepository } from "./UserRepository.ts"

const actor = (by: Administrator) =>
  by === "operator" ? { actorUserId: null, sessionId: null } : { actorUserId: by.userId, sessionId: by.sessionId }

export const UserAdminLive = Layer.effect(
  UserAdmin,
  Effect.gen(function* () {
    const audit = yield* AuditLog
    const users = yield* makeUserRepository
    const revoke = yield* makeRevoker
    const now = Effect.map(Clock.currentTimeMillis, (ms) => new Date(ms))

    /** The target user, in the administrator's organization (any organization for the operator). */
    const targetUser = Effect.fnUntraced(function* (by: Administrator, userId: UserId) {
      if (by !== "operator") yield* Policy.isAdmin(by)
      const user = yield* users.find(userId, by === "operator" ? undefined : by.organizationId)
      if (Option.isNone(user)) return yield* new NotFoundError({ message: "no such user" })
      return user.value
    })

    /** Organizations are the operator's staff's to suspend: OPS, or the operator at the CLI. */
    const targetOrganization = Effect.fnUntraced(function* (by: Administrator, organizationId: OrganizationId) {
      if (by !== "operator") yield* Policy.isOperator(by)
      const status = yield* users.organizationStatus(organizationId)
      if (Option.isNone(status)) return yield* new NotFoundError({ message: "no such organization" })
      return status.value.status
    })

    const deactivate = Effect.fn("UserAdmin.deactivate")(function* (by: Administrator, userId: UserId, client: ClientInfo) {
      const user = yield* targetUser(by, userId)
      const at = yield* now
      yield* revoke({
        target: { userId },
        organizationId: user.organizationId,
        reason: "USER_DEACTIVATED",
        at,
        event: { _tag: "user.deactivated", organizationId: user.organizationId, userId },
        also: (revoked) =>
          Effect.zipRight(
            users.setStatus(userId, "INACTIVE", at),
            audit.record(fromClient(client, {
              organizationId: user.organizationId,
              ...actor(by),
              entityType: "user",
              entityId: userId,
              action: "user.deactivated",
              changes: { status: "INACTIVE", sessionsRevoked: revoked }
            }))
          )
      })
    })

    const setRole = Effect.fn("UserAdmin.setRole")(function* (by: Administrator, userId: UserId, role: Role, client: ClientInfo) {
      const user = yield* targetUser(by, userId)
      if (by !== "operator" && by.userId === userId) {
        return yield* new ForbiddenError({ message: "an administrator cannot change their own role" })
      }
      if (user.role === role) return
      const at = yield* now
      yield* revoke({
        target: { userId },
        organizationId: user.organizationId,
        reason: "ROLE_CHANGED",
        at,
        event: { _tag: "user.role_changed", organizationId: user.organizationId, userId, role },
        also: (revoked) =>
          Effect.zipRight(
            users.setRole(userId, role, at),
            audit.record(fromClient(client, {
              organizationId: user.organizationId,
              ...actor(by),
              entityType: "user",
              entityId: userId,
              action: "user.role_changed",
              changes: { from: user.role, to: role, sessionsRevoked: revoked }
            }))
          )
      })
    })

    const setOrganizationStatus = (status: "ACTIVE" | "SUSPENDED") =>
      Effect.fnUntraced(function* (by: Administrator, organizationId: OrganizationId, client: ClientInfo) {
        const current = yield* targetOrganization(by, organizationId)
        if (current === status) return
        const at = yield* now
        const entry = (revoked: number) =>
          audit.record(fromClient(client, {
            organizationId,
            ...actor(by),
            entityType: "organization",
            entityId: organizationId,
            action: status === "SUSPENDED" ? "organization.suspended" : "organization.activated",
            changes: { status, sessionsRevoked: revoked }
          }))
        if (status === "ACTIVE") {
          // Sessions revoked at suspension stay revoked: their users log in again.
          return yield* Effect.zipRight(users.setOrganizationStatus(organizationId, status), entry(0))
        }
        yield* revoke({
          target: { organizationId },
          organizationId,
          reason: "ORGANIZATION_SUSPENDED",
          at,
          event: { _tag: "organization.suspended", organizationId },
          also: (revoked) => Effect.zipRight(users.setOrganizationStatus(organizationId, status), entry(revoked))
        })
      })

    return UserAdmin.of({
      deactivate,
      setRole,
      suspendOrganization: Effect.fn("UserAdmin.suspendOrganization")(function* (by, organizationId, client) {
        yield* setOrganizationStatus("SUSPENDED")(by, organizationId, client)
      }),
      activateOrganization: Effect.fn("UserAdmin.activateOrganization")(function* (by, organizationId, client) {
        yield* setOrganizationStatus("ACTIVE")(by, organizationId, client)
      })
    })
  })
)
