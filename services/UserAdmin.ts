import { Context, type Effect } from "effect"
import type { AuthenticatedUser, ClientInfo } from "../src/domain/Auth.ts"
import type { ForbiddenError, NotFoundError } from "../src/domain/Errors.ts"
import type { OrganizationId, UserId } from "../src/domain/Ids.ts"
import type { Role } from "../src/domain/Roles.ts"

/** Who administers: an authenticated user (policy-checked), or the operator at the CLI. */
export type Administrator = AuthenticatedUser | "operator"

/**
 * Changes to users and organizations that end sessions. Each commits the change, the revocation of the
 * sessions it affects, its audit row and its bus event in one transaction: every instance refuses the
 * old tokens within a second.
 */
export class UserAdmin extends Context.Tag("casecore/UserAdmin")<
  UserAdmin,
  {
    /** ADMIN of the same organization (or the operator): mark the user INACTIVE and revoke all their sessions. */
    readonly deactivate: (by: Administrator, userId: UserId, client: ClientInfo) => Effect.Effect<void, NotFoundError | ForbiddenError>
    /** ADMIN of the same organization, not for themselves (or the operator): a new role, every session of the user revoked. */
    readonly setRole: (by: Administrator, userId: UserId, role: Role, client: ClientInfo) => Effect.Effect<void, NotFoundError | ForbiddenError>
    /** OPS staff (or the operator): the organization SUSPENDED, every session of it revoked. */
    readonly suspendOrganization: (by: Administrator, organizationId: OrganizationId, client: ClientInfo) => Effect.Effect<void, NotFoundError | ForbiddenError>
    /** OPS staff (or the operator): the organization ACTIVE again; its revoked sessions stay revoked. */
    readonly activateOrganization: (by: Administrator, organizationId: OrganizationId, client: ClientInfo) => Effect.Effect<void, NotFoundError | ForbiddenError>
  }
>() {}
