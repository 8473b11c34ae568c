import { SqlClient } from "@effect/sql"
import { Clock, Effect, Layer } from "effect"
import type { AuthenticatedUser } from "../src/domain/Auth.ts"
import { NotFoundError } from "../src/domain/Errors.ts"
import type { OrganizationId, UserId } from "../src/domain/Ids.ts"
import * as Policy from "../src/domain/Policy.ts"
import { EventBus } from "../services/EventBus.ts"
import { type NotificationContent, Notifications } from "../services/Notifications.ts"
import { makeNotificationRepository, toNotification } from "./NotificationRepository.ts"

export const NotificationsLive = Layer.effect(
  Notifications,
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const bus = yield* EventBus
    const repository = yield* makeNotificationRepository
    const now = Effect.map(Clock.currentTimeMillis, (ms) => new Date(ms))

    /** Rows and their events in one statement: the events reach every instance at commit, or never; delivered through the NOTIFY on every instance, this one included. */
    const create = (organizationId: OrganizationId, recipients: ReadonlyArray<UserId> | "organization", content: NotificationContent) =>
      Effect.flatMap(now, (at) => repository.insert(organizationId, recipients, content, at))

    const markRead = (user: AuthenticatedUser, ids: ReadonlyArray<string> | undefined) =>
      sql.withTransaction(
        Effect.gen(function* () {
          const changed = yield* repository.markRead(user.userId, user.organizationId, ids, yield* now)
          if (changed.length === 0) return
          yield* bus.publish({ _tag: "notifications.read", organizationId: user.organizationId, userId: user.userId, ids: ids === undefined ? null : changed })
        })
      ).pipe(Effect.catchTag("SqlError", Effect.die))

    const unreadCount = (user: AuthenticatedUser) =>
      Effect.map(repository.unreadCounts([user.userId]), (counts) => counts.get(user.userId) ?? 0)

    return Notifications.of({
      send: Effect.fn("Notifications.send")(function* (by, content) {
        yield* Policy.isAdmin(by)
        const recipients = content.userId === undefined ? "organization" as const : [content.userId]
        const ids = yield* create(by.organizationId, recipients, content)
        if (content.userId !== undefined && ids.length === 0) return yield* new NotFoundError({ message: "no such user" })
        return ids
      }),
      notifyUsers: Effect.fn("Notifications.notifyUsers")(function* (organizationId, recipients, content) {
        if (recipients !== "organization" && recipients.length === 0) return []
        return yield* create(organizationId, recipients, content)
      }),
      list: Effect.fn("Notifications.list")(function* (user, page) {
        const [rows, unread] = yield* Effect.all([
          repository.page(user.userId, user.organizationId, page.limit, page.before),
          unreadCount(user)
        ], { concurrency: 2 })
        const shown = rows.slice(0, page.limit)
        return {
          notifications: shown.map(toNotification),
          unreadCount: unread,
          nextCursor: rows.length > page.limit ? shown.at(-1)?.id ?? null : null
        }
      }),
      summary: Effect.fn("Notifications.summary")(function* (user) {
        return yield* repository.summary(user.userId, user.organizationId)
      }),
      unreadCount: Effect.fn("Notifications.unreadCount")(function* (user) {
        return yield* unreadCount(user)
      }),
      markRead: Effect.fn("Notifications.markRead")(function* (user, ids) {
        yield* markRead(user, ids)
        return yield* unreadCount(user)
      }),
      markAllRead: Effect.fn("Notifications.markAllRead")(function* (user) {
        yield* markRead(user, undefined)
      }),
      since: Effect.fn("Notifications.since")(function* (user, afterId, limit) {
        const rows = yield* repository.after(user.userId, user.organizationId, afterId, limit + 1)
        return { notifications: rows.slice(0, limit).map(toNotification), complete: rows.length <= limit }
      })
    })
  })
)
