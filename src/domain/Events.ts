import { Schema } from "effect"

/** The NOTIFY channel every instance listens on. */
export const channel = "casecore_events"

/** Cross-instance events, sent with pg_notify in the transaction that makes them true. */
export const SessionRevoked = Schema.TaggedStruct("session.revoked", {
  organizationId: Schema.String,
  userId: Schema.String,
  /** null: every session of the user. */
  sessionId: Schema.NullOr(Schema.String),
  reason: Schema.String
})

export const UserDeactivated = Schema.TaggedStruct("user.deactivated", {
  organizationId: Schema.String,
  userId: Schema.String
})

/** Every session of the organization was revoked with it; reactivation does not revive them. */
export const OrganizationSuspended = Schema.TaggedStruct("organization.suspended", {
  organizationId: Schema.String
})

/** The user's sessions were revoked with the change: the old role's tokens stop working. */
export const RoleChanged = Schema.TaggedStruct("user.role_changed", {
  organizationId: Schema.String,
  userId: Schema.String,
  role: Schema.String
})

/**
 * Notifications committed: pairs of recipient and notification id (decimal strings), split over several
 * NOTIFYs of one transaction when long (a payload stays under 8,000 bytes). `at` is the database's
 * clock_timestamp() at publication (the delivery-lag metric starts there).
 */
export const NotificationsCreated = Schema.TaggedStruct("notifications.created", {
  organizationId: Schema.String,
  items: Schema.Array(Schema.Tuple(Schema.String, Schema.String)),
  at: Schema.optional(Schema.String)
})

/** Notifications of a user marked read: these ids, or all of them. */
export const NotificationsRead = Schema.TaggedStruct("notifications.read", {
  organizationId: Schema.String,
  userId: Schema.String,
  ids: Schema.NullOr(Schema.Array(Schema.String))
})

/**
 * The data of the `activity` frame a socket receives (PROTOCOL: Activity): the event below less its tag and
 * organization. src/client/ decodes the frame with it.
 */
export const ActivityData = Schema.Struct({
  room: Schema.String,
  entityType: Schema.String,
  entityId: Schema.String,
  kind: Schema.String,
  actorId: Schema.String,
  at: Schema.String
})

/** A change to a case or an investigation, for the sockets subscribed to its room. */
export const Activity = Schema.TaggedStruct("activity", {
  organizationId: Schema.String,
  ...ActivityData.fields
})
export type Activity = typeof Activity.Type

export const BusEvent = Schema.Union(
  SessionRevoked,
  UserDeactivated,
  OrganizationSuspended,
  RoleChanged,
  NotificationsCreated,
  NotificationsRead,
  Activity
)
export type BusEvent = typeof BusEvent.Type

/** What a subscriber receives: an event, or word that events may have been missed (re-sync from tables). */
export type BusMessage = { readonly _tag: "Event"; readonly event: BusEvent } | { readonly _tag: "Resync" }

export const BusEventJson = Schema.parseJson(BusEvent)
