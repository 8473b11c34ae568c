import { Context, type Effect } from "effect"
import type { AuthenticatedUser } from "../src/domain/Auth.ts"
import type { ForbiddenError, NotFoundError, ValidationError } from "../src/domain/Errors.ts"
import type { CaseId } from "../src/domain/Ids.ts"
import type { CaseDetail, CaseListRequest, CasePage } from "../src/domain/Reads.ts"

/** Cases of the caller's organization, read with their relations (ADMIN, INVESTIGATOR, VIEWER). */
export class Cases extends Context.Tag("casecore/Cases")<
  Cases,
  {
    /** A page, newest first, each case with creator, category, RIU links and investigations; a bad cursor is VALIDATION_ERROR. */
    readonly list: (user: AuthenticatedUser, request: CaseListRequest) => Effect.Effect<CasePage, ForbiddenError | ValidationError>
    /** One case with the list's tree, the investigations' notes and its own notes; another organization's is NOT_FOUND. */
    readonly get: (user: AuthenticatedUser, id: CaseId) => Effect.Effect<CaseDetail, ForbiddenError | NotFoundError>
  }
>() {}
