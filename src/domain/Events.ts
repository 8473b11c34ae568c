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

export const BusEvent = Schema.Union(SessionRevoked, UserDeactivated, OrganizationSuspended, RoleChanged)
export type BusEvent = typeof BusEvent.Type

/** What a subscriber receives: an event, or word that events may have been missed (re-sync from tables). */
export type BusMessage = { readonly _tag: "Event"; readonly event: BusEvent } | { readonly _tag: "Resync" }

export const BusEventJson = Schema.parseJson(BusEvent)
