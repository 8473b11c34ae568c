import { Schema } from "effect"

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** A UUID with messages of our own (a default message would quote whatever value it got). */
const Uuid = Schema.String.annotations({ message: () => "expected a UUID" }).pipe(
  Schema.pattern(uuidPattern, { message: () => "expected a UUID" }),
  Schema.annotations({ jsonSchema: { type: "string", format: "uuid" } })
)

export const OrganizationId = Uuid.pipe(Schema.brand("OrganizationId"))
export type OrganizationId = typeof OrganizationId.Type
export const UserId = Uuid.pipe(Schema.brand("UserId"))
export type UserId = typeof UserId.Type
export const SessionId = Uuid.pipe(Schema.brand("SessionId"))
export type SessionId = typeof SessionId.Type
export const CaseId = Uuid.pipe(Schema.brand("CaseId"))
export type CaseId = typeof CaseId.Type
export const InvestigationId = Uuid.pipe(Schema.brand("InvestigationId"))
export type InvestigationId = typeof InvestigationId.Type
export const RiuId = Uuid.pipe(Schema.brand("RiuId"))
export type RiuId = typeof RiuId.Type
export const CategoryId = Uuid.pipe(Schema.brand("CategoryId"))
export type CategoryId = typeof CategoryId.Type
export const NoteId = Uuid.pipe(Schema.brand("NoteId"))
export type NoteId = typeof NoteId.Type
