import { Clock, Effect, Layer, Option } from "effect"
import { NotFoundError } from "../src/domain/Errors.ts"
import type { UserId } from "../src/domain/Ids.ts"
import * as Policy from "../src/domain/Policy.ts"
import type { ClientInfo } from "../src/domain/Auth.ts"
import { AuditLog } from "../services/AuditLog.ts"
import { type Administrator, UserAdmin } from "../services/UserAdmin.ts"
import { fromClient } from "./AuditEntries.ts"
import { makeRevoker } from "./sessions/Revoker.ts"
import { makeUserRepository } from "./UserRepository.ts"

export const UserAdminLive = Layer.effect(
  UserAdmin,
  Effect.gen(function* () {
    const audit = yield* AuditLog
    const users = yield* makeUserRepository
    const revoke = yield* makeRevoker

    /** The target user, in the administrator's organization (any organization for the operator). */
    const target = Effect.fnUntraced(function* (by: Administrator, userId: UserId) {
      if (by !== "operator") yield* Policy.isAdmin(by)
      const user = yield* users.find(userId, by === "operator" ? undefined : by.organizationId)
      if (Option.isNone(user)) return yield* new NotFoundError({ message: "no such user" })
      return user.value
    })

    const deactivate = Effect.fn("UserAdmin.deactivate")(function* (by: Administrator, userId: UserId, client: ClientInfo) {
      const user = yield* target(by, userId)
      const at = new Date(yield* Clock.currentTimeMillis)
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
              actorUserId: by === "operator" ? null : by.userId,
              sessionId: by === "operator" ? null : by.sessionId,
              entityType: "user",
              entityId: userId,
              action: "user.deactivated",
              changes: { status: "INACTIVE", sessionsRevoked: revoked }
            }))
          )
      })
    })

    return UserAdmin.of({ deactivate })
  })
)
