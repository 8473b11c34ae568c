import { SqlClient, SqlSchema } from "@effect/sql"
import { Effect, Schema } from "effect"
import { OrganizationId, UserId } from "../src/domain/Ids.ts"
import { Role } from "../src/domain/Roles.ts"

/** A user who may be logging in: everything login decides on. */
export class LoginCandidate extends Schema.Class<LoginCandidate>("LoginCandidate")({
  id: UserId,
  organizationId: OrganizationId,
  passwordHash: Schema.String,
  role: Role,
  status: Schema.String,
  displayName: Schema.String,
  organizationStatus: Schema.String
}) {}

export class UserRecord extends Schema.Class<UserRecord>("UserRecord")({
  id: UserId,
  organizationId: OrganizationId,
  role: Role,
  status: Schema.String,
  displayName: Schema.String
}) {}

/** users (with their organization's status where a decision needs it). */
export const makeUserRepository = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient

  const candidates = SqlSchema.findAll({
    Request: Schema.Struct({ email: Schema.String, organization: Schema.optional(Schema.String) }),
    Result: LoginCandidate,
    execute: ({ email, organization }) => sql`
      SELECT u.id, u.organization_id AS "organizationId", u.password_hash AS "passwordHash", u.role, u.status,
             u.display_name AS "displayName", o.status AS "organizationStatus"
        FROM users u JOIN organizations o ON o.id = u.organization_id
       WHERE u.email = ${email} ${organization === undefined ? sql`` : sql`AND o.slug = ${organization}`}
       LIMIT 2`
  })

  const find = SqlSchema.findOne({
    Request: Schema.Struct({ userId: UserId, organizationId: Schema.optional(OrganizationId) }),
    Result: UserRecord,
    execute: ({ organizationId, userId }) => sql`
      SELECT id, organization_id AS "organizationId", role, status, display_name AS "displayName" FROM users
       WHERE id = ${userId} ${organizationId === undefined ? sql`` : sql`AND organization_id = ${organizationId}`}`
  })

  const organizationStatus = SqlSchema.findOne({
    Request: OrganizationId,
    Result: Schema.Struct({ status: Schema.String }),
    execute: (organizationId) => sql`SELECT status FROM organizations WHERE id = ${organizationId}`
  })

  return {
    /** Users with this email (in this organization, when given); more than one means the login is ambiguous. */
    loginCandidates: (email: string, organization: string | undefined) =>
      Effect.orDie(candidates(organization === undefined ? { email } : { email, organization })),
    /** A user, in the given organization when one is given (operators act across organizations). */
    find: (userId: UserId, organizationId?: OrganizationId) =>
      Effect.orDie(find(organizationId === undefined ? { userId } : { userId, organizationId })),
    setStatus: (userId: UserId, status: "ACTIVE" | "INACTIVE", at: Date) =>
      Effect.orDie(sql`UPDATE users SET status = ${status}, updated_at = ${at} WHERE id = ${userId}`),
    setRole: (userId: UserId, role: Role, at: Date) =>
      Effect.orDie(sql`UPDATE users SET role = ${role}, updated_at = ${at} WHERE id = ${userId}`),
    /** An organization's status, locked for the caller's transaction. */
    organizationStatus: (organizationId: OrganizationId) =>
      Effect.orDie(organizationStatus(organizationId)),
    setOrganizationStatus: (organizationId: OrganizationId, status: "ACTIVE" | "SUSPENDED") =>
      Effect.orDie(sql`UPDATE organizations SET status = ${status} WHERE id = ${organizationId}`)
  }
})

export type UserRepository = Effect.Effect.Success<typeof makeUserRepository>
