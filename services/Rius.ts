import { Context, type Effect } from "effect"
import type { AuthenticatedUser } from "../src/domain/Auth.ts"
import type { ForbiddenError, ValidationError } from "../src/domain/Errors.ts"
import type { RiuListRequest, RiuPage } from "../src/domain/Reads.ts"

/** RIUs (intake records) of the caller's organization (ADMIN, INVESTIGATOR, VIEWER read them). */
export class Rius extends Context.Tag("casecore/Rius")<
  Rius,
  {
    /** A page, newest first, each RIU with the ids of its cases; a bad cursor is VALIDATION_ERROR. */
    readonly list: (user: AuthenticatedUser, request: RiuListRequest) => Effect.Effect<RiuPage, ForbiddenError | ValidationError>
  }
>() {}
