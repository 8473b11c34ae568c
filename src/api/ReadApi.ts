import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "@effect/platform"
import { Schema } from "effect"
import { CaseId, InvestigationId } from "../domain/Ids.ts"
import { CaseDetail, CaseFilter, CasePage, Cursor, InvestigationDetail, PageLimit, RiuPage } from "../domain/Reads.ts"
import { RiuStatus } from "../domain/Records.ts"
import { Authentication } from "./Authentication.ts"
import { BadInput, Forbidden, NotFound } from "./HttpErrors.ts"

const limit = Schema.optional(Schema.NumberFromString.pipe(Schema.compose(PageLimit)).annotations({ message: () => "expected an integer from 1 to 100" }))
const cursor = Schema.optional(Cursor)

/** Query of GET /cases. */
export const CaseListParams = Schema.Struct({ ...CaseFilter, limit, cursor })
/** Query of GET /rius. */
export const RiuListParams = Schema.Struct({ status: Schema.optional(RiuStatus), limit, cursor })

/** A malformed id in a path is VALIDATION_ERROR; a well-formed unknown one (or another organization's) NOT_FOUND. */
const caseIdParam = HttpApiSchema.param("id", CaseId)
const investigationIdParam = HttpApiSchema.param("id", InvestigationId)

const readers = "ADMIN, INVESTIGATOR and VIEWER of the organization; OPS is FORBIDDEN"

export class CasesGroup extends HttpApiGroup.make("cases")
  .add(
    HttpApiEndpoint.get("list", "/cases")
      .setUrlParams(CaseListParams)
      .addSuccess(CasePage)
      .addError(BadInput)
      .addError(Forbidden)
      .annotate(OpenApi.Summary, `Cases newest first (keyset pages: cursor = the previous page's nextCursor), each with creator, category, RIU links and investigations; ${readers}`)
  )
  .add(
    HttpApiEndpoint.get("get")`/cases/${caseIdParam}`
      .addSuccess(Schema.Struct({ case: CaseDetail }))
      .addError(Forbidden)
      .addError(NotFound)
      .annotate(OpenApi.Summary, `One case with its tree, the investigations' notes and its own notes; ${readers}`)
  )
  .middleware(Authentication) {}

export class InvestigationsGroup extends HttpApiGroup.make("investigations")
  .add(
    HttpApiEndpoint.get("get")`/investigations/${investigationIdParam}`
      .addSuccess(Schema.Struct({ investigation: InvestigationDetail }))
      .addError(Forbidden)
      .addError(NotFound)
      .annotate(OpenApi.Summary, `One investigation with its primary investigator and notes; ${readers}`)
  )
  .middleware(Authentication) {}

export class RiusGroup extends HttpApiGroup.make("rius")
  .add(
    HttpApiEndpoint.get("list", "/rius")
      .setUrlParams(RiuListParams)
      .addSuccess(RiuPage)
      .addError(BadInput)
      .addError(Forbidden)
      .annotate(OpenApi.Summary, `RIUs (intake records) newest first (keyset pages), each with the ids of its cases; ${readers}`)
  )
  .middleware(Authentication) {}
