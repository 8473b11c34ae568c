import { Effect } from "effect"
import type { AuthenticatedUser } from "./Auth.ts"
import { ForbiddenError } from "./Errors.ts"
import type { Role } from "./Roles.ts"

/**
 * Every role check of the application, as combinators over the authenticated user (never over what a
 * request claims). A policy succeeds when the user may act and fails FORBIDDEN otherwise; callers look
 * the target up in the caller's organization first, so another tenant's id is NOT_FOUND, never FORBIDDEN.
 */
export type Policy = (user: AuthenticatedUser) => Effect.Effect<void, ForbiddenError>

const rule = (allowed: (user: AuthenticatedUser) => boolean, message: string): Policy => (user) =>
  allowed(user) ? Effect.void : Effect.fail(new ForbiddenError({ message }))

/** The user holds one of the roles. */
export const hasRole = (...roles: ReadonlyArray<Role>): Policy =>
  rule((user) => roles.includes(user.role), `this needs the role ${roles.join(" or ")}`)

/** ADMIN: everything in their organization. */
export const isAdmin: Policy = hasRole("ADMIN")

/** OPS: platform operator staff, in the operator's own organization. */
export const isOperator: Policy = hasRole("OPS")

/** ADMIN, INVESTIGATOR and VIEWER read their organization's case data; OPS never does. */
export const readsCaseData: Policy = hasRole("ADMIN", "INVESTIGATOR", "VIEWER")

/** The user is the given one (the owner of a row found in the user's organization). */
export const isUser = (userId: string): Policy => rule((user) => user.userId === userId, "this belongs to another user")

/** The first policy that allows wins; otherwise the last refusal is the answer. */
export const any = (first: Policy, ...rest: ReadonlyArray<Policy>): Policy => (user) =>
  rest.reduce((result, policy) => Effect.orElse(result, () => policy(user)), first(user))

/** Every policy must allow. */
export const all = (...policies: ReadonlyArray<Policy>): Policy => (user) => Effect.forEach(policies, (policy) => policy(user), { discard: true })

/** Runs `effect` only when `policy` allows `user`. */
export const authorize = <A, E, R>(user: AuthenticatedUser, policy: Policy, effect: Effect.Effect<A, E, R>) =>
  Effect.zipRight(policy(user), effect)
