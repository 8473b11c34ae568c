import { Schema } from "effect"
import { CaseId, CategoryId, InvestigationId, NoteId, OrganizationId, RiuId, UserId } from "./Ids.ts"
import { Role } from "./Roles.ts"

/**
 * Rows of the read model as the loaders decode them (layers/LoadersLive.ts): every one carries its
 * organization, the key that keeps one tenant's batch apart from another's. Plain `Schema.Struct`s, not
 * `Schema.Class`: a class row cost about 7 us to decode against 2 us for a struct, some 8 ms of a 500-case
 * `Cases.List` (bench/results/reads-profile.md); nothing needs the rows to be class instances.
 */

export const CaseStatus = Schema.Literal("NEW", "OPEN", "IN_PROGRESS", "PENDING", "CLOSED")
export type CaseStatus = typeof CaseStatus.Type
export const CasePriority = Schema.Literal("LOW", "MEDIUM", "HIGH", "CRITICAL")
export type CasePriority = typeof CasePriority.Type
export const InvestigationStatus = Schema.Literal("OPEN", "ACTIVE", "ON_HOLD", "CLOSED")
export type InvestigationStatus = typeof InvestigationStatus.Type
export const RiuStatus = Schema.Literal("RECEIVED", "TRIAGED", "LINKED", "CLOSED")
export type RiuStatus = typeof RiuStatus.Type
export const RiuKind = Schema.Literal("HOTLINE_REPORT", "WEB_FORM", "DISCLOSURE")
export type RiuKind = typeof RiuKind.Type

export const UserRow = Schema.Struct({
  id: UserId,
  organizationId: OrganizationId,
  displayName: Schema.String,
  role: Role
})
export type UserRow = typeof UserRow.Type

export const OrganizationRow = Schema.Struct({
  id: OrganizationId,
  organizationId: OrganizationId,
  slug: Schema.String,
  name: Schema.String,
  status: Schema.String
})
export type OrganizationRow = typeof OrganizationRow.Type

export const CategoryRow = Schema.Struct({
  id: CategoryId,
  organizationId: OrganizationId,
  name: Schema.String
})
export type CategoryRow = typeof CategoryRow.Type

export const CaseRow = Schema.Struct({
  id: CaseId,
  organizationId: OrganizationId,
  reference: Schema.String,
  title: Schema.String,
  status: CaseStatus,
  priority: CasePriority,
  categoryId: Schema.NullOr(CategoryId),
  createdBy: UserId,
  createdAt: Schema.DateFromSelf
})
export type CaseRow = typeof CaseRow.Type

export const InvestigationRow = Schema.Struct({
  id: InvestigationId,
  organizationId: OrganizationId,
  caseId: CaseId,
  status: InvestigationStatus,
  primaryInvestigatorId: Schema.NullOr(UserId),
  createdAt: Schema.DateFromSelf
})
export type InvestigationRow = typeof InvestigationRow.Type

export const RiuRow = Schema.Struct({
  id: RiuId,
  organizationId: OrganizationId,
  reference: Schema.String,
  kind: RiuKind,
  status: RiuStatus,
  createdAt: Schema.DateFromSelf
})
export type RiuRow = typeof RiuRow.Type

/** A case's link to an RIU, with the RIU. */
export const RiuLinkRow = Schema.Struct({
  organizationId: OrganizationId,
  caseId: CaseId,
  associatedAt: Schema.DateFromSelf,
  riuId: RiuId,
  riuReference: Schema.String,
  riuKind: RiuKind,
  riuStatus: RiuStatus
})
export type RiuLinkRow = typeof RiuLinkRow.Type

/** An RIU's link to a case. */
export const CaseLinkRow = Schema.Struct({
  organizationId: OrganizationId,
  riuId: RiuId,
  caseId: CaseId
})
export type CaseLinkRow = typeof CaseLinkRow.Type

/** A note of a case or of an investigation (`parentId`). */
export const NoteRow = Schema.Struct({
  id: NoteId,
  organizationId: OrganizationId,
  parentId: Schema.String,
  authorId: UserId,
  body: Schema.String,
  createdAt: Schema.DateFromSelf
})
export type NoteRow = typeof NoteRow.Type
