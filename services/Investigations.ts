import { Context, type Effect } from "effect"
import type { AuthenticatedUser } from "../src/domain/Auth.ts"
import type { ForbiddenError, NotFoundError } from "../src/domain/Errors.ts"
import type { InvestigationId } from "../src/domain/Ids.ts"
import type { InvestigationDetail } from "../src/domain/Reads.ts"

/** Investigations of the caller's organization (ADMIN, INVESTIGATOR, VIEWER read them). */
export class Investigations extends Context.Tag("casecore/Investigations")<
  Investigations,
  {
    /** One investigation with its primary investigator and its notes with their authors; another organization's is NOT_FOUND. */
    readonly get: (user: AuthenticatedUser, id: InvestigationId) => Effect.Effect<InvestigationDetail, ForbiddenError | NotFoundError>
  }
>() {}
