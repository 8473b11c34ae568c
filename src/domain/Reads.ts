import { Schema } from "effect"
import { CaseId, CategoryId, InvestigationId, NoteId, RiuId, UserId } from "./Ids.ts"
import { CasePriority, CaseStatus, InvestigationStatus, RiuKind, RiuStatus } from "./Records.ts"
import { Role } from "./Roles.ts"

/** The read API's answers (PROTOCOL.md, HTTP: Reads), the same over HTTP and RPC. Times are ISO-8601. */

export const UserView = Schema.Struct({ id: UserId, displayName: Schema.String, role: Role })
export type UserView = typeof UserView.Type

export const NoteView = Schema.Struct({ id: NoteId, body: Schema.String, author: UserView, createdAt: Schema.String })
export type NoteView = typeof NoteView.Type

export const CaseRiuView = Schema.Struct({ id: RiuId, reference: Schema.String, kind: RiuKind, status: RiuStatus, associatedAt: Schema.String })

export const InvestigationSummary = Schema.Struct({ id: InvestigationId, status: InvestigationStatus, primaryInvestigator: Schema.NullOr(UserView) })
export type InvestigationSummary = typeof InvestigationSummary.Type

const caseFields = {
  id: CaseId,
  reference: Schema.String,
  title: Schema.String,
  status: CaseStatus,
  priority: CasePriority,
  createdAt: Schema.String,
  creator: UserView,
  category: Schema.NullOr(Schema.Struct({ id: CategoryId, name: Schema.String })),
  rius: Schema.Array(CaseRiuView)
}

/** A case in a list: creator, category, RIU links and investigations with their primary investigators. */
export const CaseView = Schema.Struct({ ...caseFields, investigations: Schema.Array(InvestigationSummary) })
export type CaseView = typeof CaseView.Type

export const InvestigationWithNotes = Schema.Struct({ ...InvestigationSummary.fields, notes: Schema.Array(NoteView) })

/** One case: the list's tree plus the investigations' notes and the case's own notes, each with its author. */
export const CaseDetail = Schema.Struct({ ...caseFields, investigations: Schema.Array(InvestigationWithNotes), notes: Schema.Array(NoteView) })
export type CaseDetail = typeof CaseDetail.Type

export const InvestigationDetail = Schema.Struct({
  id: InvestigationId,
  caseId: CaseId,
  status: InvestigationStatus,
  primaryInvestigator: Schema.NullOr(UserView),
  notes: Schema.Array(NoteView)
})
export type InvestigationDetail = typeof InvestigationDetail.Type

export const RiuView = Schema.Struct({
  id: RiuId,
  reference: Schema.String,
  kind: RiuKind,
  status: RiuStatus,
  createdAt: Schema.String,
  caseIds: Schema.Array(CaseId)
})
export type RiuView = typeof RiuView.Type

export const CasePage = Schema.Struct({ cases: Schema.Array(CaseView), nextCursor: Schema.NullOr(Schema.String) })
export type CasePage = typeof CasePage.Type

export const RiuPage = Schema.Struct({ rius: Schema.Array(RiuView), nextCursor: Schema.NullOr(Schema.String) })
export type RiuPage = typeof RiuPage.Type

/** Page size: 1..100, 20 when absent. */
export const PageLimit = Schema.Int.pipe(
  Schema.greaterThanOrEqualTo(1, { message: () => "must be at least 1" }),
  Schema.lessThanOrEqualTo(100, { message: () => "must be at most 100" })
).annotations({ message: () => ({ message: "expected an integer from 1 to 100", override: false }) })

/** The opaque `nextCursor` of a previous page; checked by the list (a bad one is VALIDATION_ERROR). */
export const Cursor = Schema.String.pipe(Schema.maxLength(200, { message: () => "not a cursor of this list" }))

export const CaseFilter = {
  status: Schema.optional(CaseStatus),
  priority: Schema.optional(CasePriority),
  categoryId: Schema.optional(CategoryId)
}

export const CaseListRequest = Schema.Struct({ ...CaseFilter, limit: Schema.optional(PageLimit), cursor: Schema.optional(Cursor) })
export type CaseListRequest = typeof CaseListRequest.Type

export const RiuListRequest = Schema.Struct({ status: Schema.optional(RiuStatus), limit: Schema.optional(PageLimit), cursor: Schema.optional(Cursor) })
export type RiuListRequest = typeof RiuListRequest.Type
