import { Context, type Effect } from "effect"
import type { AuthenticatedUser } from "../src/domain/Auth.ts"
import type { ForbiddenError, NotFoundError } from "../src/domain/Errors.ts"
import type { OrganizationId, UserId } from "../src/domain/Ids.ts"
import type { Notification, NotificationPage } from "../src/domain/Notification.ts"

/** What a new notification says. */
export interface NotificationContent {
  readonly title: string
  readonly body: string
  readonly type?: string | undefined
  readonly entityType?: string | undefined
  readonly entityId?: string | undefined
}

/**
 * Notifications of users: each write commits its rows and its bus events in one transaction, and a
 * user's notification ids grow in commit order (the insert locks the recipients' user rows first),
 * which is what makes catch-up by `id >` exact.
 */
export class Notifications extends Context.Tag("casecore/Notifications")<
  Notifications,
  {
    /** ADMIN: to one user of their organization, or to every user of it; the new ids (decimal strings). */
    readonly send: (
      by: AuthenticatedUser,
      content: NotificationContent & { readonly userId?: UserId | undefined }
    ) => Effect.Effect<ReadonlyArray<string>, ForbiddenError | NotFoundError>
    /** For other modules: notify these users of the organization (those of another are skipped), or all of it. */
    readonly notifyUsers: (
      organizationId: OrganizationId,
      recipients: ReadonlyArray<UserId> | "organization",
      content: NotificationContent
    ) => Effect.Effect<ReadonlyArray<string>>
    /** The user's notifications, newest first, `limit` at a time, before the cursor. */
    readonly list: (user: AuthenticatedUser, page: { readonly limit: number; readonly before?: string | undefined }) => Effect.Effect<NotificationPage>
    /** The unread count and the newest notification id of the user (where a socket's live delivery starts). */
    readonly summary: (user: AuthenticatedUser) => Effect.Effect<{ readonly unreadCount: number; readonly latestId: string | null }>
    /** How many of the user's notifications are unread. */
    readonly unreadCount: (user: AuthenticatedUser) => Effect.Effect<number>
    /** Marks these of the user's notifications read (ids of others are ignored); the unread count after. */
    readonly markRead: (user: AuthenticatedUser, ids: ReadonlyArray<string>) => Effect.Effect<number>
    /** Marks every notification of the user read. */
    readonly markAllRead: (user: AuthenticatedUser) => Effect.Effect<void>
    /** Catch-up: the user's notifications after `afterId`, oldest first, at most `limit`; `complete` when none was left out. */
    readonly since: (
      user: AuthenticatedUser,
      afterId: string,
      limit: number
    ) => Effect.Effect<{ readonly notifications: ReadonlyArray<Notification>; readonly complete: boolean }>
  }
>() {}
