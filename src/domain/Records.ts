import { Schema } from "effect"
import { CaseId, CategoryId, InvestigationId, NoteId, OrganizationId, RiuId, UserId } from "./Ids.ts"
import { Role } from "./Roles.ts"

/**
 * Rows of the read model as the loaders decode them (layers/LoadersLive.ts): every one carries its
 * organization, the key that keeps one tenant's batch apart from another's.
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

export class UserRow extends Schema.Class<UserRow>("UserRow")({
  id: UserId,
  organizationId: OrganizationId,
  displayName: Schema.String,
  role: Role
}) {}

export class OrganizationRow extends Schema.Class<OrganizationRow>("OrganizationRow")({
  id: OrganizationId,
  organizationId: OrganizationId,
  slug: Schema.String,
  name: Schema.String,
  status: Schema.String
}) {}

export class CategoryRow extends Schema.Class<CategoryRow>("CategoryRow")({
  id: CategoryId,
  organizationId: OrganizationId,
  name: Schema.String
}) {}

export class CaseRow extends Schema.Class<CaseRow>("CaseRow")({
  id: CaseId,
  organizationId: OrganizationId,
  reference: Schema.String,
  title: Schema.String,
  status: CaseStatus,
  priority: CasePriority,
  categoryId: Schema.NullOr(CategoryId),
  createdBy: UserId,
  createdAt: Schema.DateFromSelf
}) {}

export class InvestigationRow extends Schema.Class<InvestigationRow>("InvestigationRow")({
  id: InvestigationId,
  organizationId: OrganizationId,
  caseId: CaseId,
  status: InvestigationStatus,
  primaryInvestigatorId: Schema.NullOr(UserId),
  createdAt: Schema.DateFromSelf
}) {}

export class RiuRow extends Schema.Class<RiuRow>("RiuRow")({
  id: RiuId,
  organizationId: OrganizationId,
  reference: Schema.String,
  kind: RiuKind,
  status: RiuStatus,
  createdAt: Schema.DateFromSelf
}) {}

/** A case's link to an RIU, with the RIU. */
export class RiuLinkRow extends Schema.Class<RiuLinkRow>("RiuLinkRow")({
  organizationId: OrganizationId,
  caseId: CaseId,
  associatedAt: Schema.DateFromSelf,
  riuId: RiuId,
  riuReference: Schema.String,
  riuKind: RiuKind,
  riuStatus: RiuStatus
}) {}

/** An RIU's link to a case. */
export class CaseLinkRow extends Schema.Class<CaseLinkRow>("CaseLinkRow")({
  organizationId: OrganizationId,
  riuId: RiuId,
  caseId: CaseId
}) {}

/** A note of a case or of an investigation (`parentId`). */
export class NoteRow extends Schema.Class<NoteRow>("NoteRow")({
  id: NoteId,
  organizationId: OrganizationId,
  parentId: Schema.String,
  authorId: UserId,
  body: Schema.String,
  createdAt: Schema.DateFromSelf
}) {}
