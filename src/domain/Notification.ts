import { Schema } from "effect"

/** A notification as clients see it (PROTOCOL: /ws/notifications); ids are decimal strings. */
export const Notification = Schema.Struct({
  id: Schema.String,
  type: Schema.String,
  title: Schema.String,
  body: Schema.String,
  entityType: Schema.optional(Schema.String),
  entityId: Schema.optional(Schema.String),
  createdAt: Schema.String,
  readAt: Schema.NullOr(Schema.String)
})
export type Notification = typeof Notification.Type

/** A page of a user's notifications, newest first, with the unread count and the next page's cursor. */
export const NotificationPage = Schema.Struct({
  notifications: Schema.Array(Notification),
  unreadCount: Schema.Int,
  nextCursor: Schema.NullOr(Schema.String)
})
export type NotificationPage = typeof NotificationPage.Type
