import { Context, Data, type Effect, type Redacted } from "effect"
import type { OrganizationId, UserId } from "../src/domain/Ids.ts"
import type { Role } from "../src/domain/Roles.ts"

export class DirectoryError extends Data.TaggedError("DirectoryError")<{
  readonly reason: "ORGANIZATION_EXISTS" | "ORGANIZATION_NOT_FOUND" | "USER_EXISTS" | "USER_NOT_FOUND"
  readonly message: string
}> {}

export interface NewUser {
  readonly organizationSlug: string
  readonly email: string
  readonly role: Role
  readonly displayName: string
  readonly password: Redacted.Redacted<string>
}

/** Organizations and users, as operators create them (CLI, seed). */
export class Directory extends Context.Tag("casecore/Directory")<
  Directory,
  {
    /** Create an organization; its slug is unique. */
    readonly createOrganization: (input: { readonly slug: string; readonly name: string }) => Effect.Effect<OrganizationId, DirectoryError>
    /** Create an active user in an organization, with an Argon2id password hash. */
    readonly createUser: (input: NewUser) => Effect.Effect<UserId, DirectoryError>
    /** The id of an organization found by its slug. */
    readonly findOrganization: (slug: string) => Effect.Effect<OrganizationId, DirectoryError>
    /** The id of a user found by organization slug and email. */
    readonly findUser: (input: { readonly organizationSlug: string; readonly email: string }) => Effect.Effect<{ readonly id: UserId; readonly organizationId: OrganizationId }, DirectoryError>
  }
>() {}
