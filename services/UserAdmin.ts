import { Context, type Effect } from "effect"
import type { AuthenticatedUser, ClientInfo } from "../src/domain/Auth.ts"
import type { ForbiddenError, NotFoundError } from "../src/domain/Errors.ts"
import type { UserId } from "../src/domain/Ids.ts"

/** Who administers: an authenticated user (policy-checked, own organization only), or the operator at the CLI. */
export type Administrator = AuthenticatedUser | "operator"

/** Changes to users that end their sessions. */
export class UserAdmin extends Context.Tag("casecore/UserAdmin")<
  UserAdmin,
  {
    /** ADMIN of the same organization (or the operator): mark the user INACTIVE and revoke all their sessions. */
    readonly deactivate: (by: Administrator, userId: UserId, client: ClientInfo) => Effect.Effect<void, NotFoundError | ForbiddenError>
  }
>() {}
