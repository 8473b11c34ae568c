import { Context, Schema } from "effect"
import { OrganizationId, SessionId, UserId } from "./Ids.ts"
import { Role } from "./Roles.ts"

/** The claims of an access token (all required). */
export const AccessClaims = Schema.Struct({
  iss: Schema.String,
  aud: Schema.Union(Schema.String, Schema.Array(Schema.String)),
  sub: UserId,
  org: OrganizationId,
  sid: SessionId,
  role: Role,
  jti: Schema.String,
  iat: Schema.Int,
  exp: Schema.Int
})
export type AccessClaims = typeof AccessClaims.Type

/** Who is calling: derived from a verified access token, never from input. */
export interface AuthenticatedUser {
  readonly userId: UserId
  readonly organizationId: OrganizationId
  readonly sessionId: SessionId
  readonly role: Role
  /** When the access token that authenticated the caller expires. */
  readonly expiresAt: Date
}

export class CurrentUser extends Context.Tag("casecore/CurrentUser")<CurrentUser, AuthenticatedUser>() {}

/** Where a request came from, for audit rows and rate limits. */
export interface ClientInfo {
  readonly ip: string
  readonly userAgent: string | undefined
}

export const UserSummary = Schema.Struct({
  id: UserId,
  organizationId: OrganizationId,
  role: Role,
  displayName: Schema.String
})

/** The answer to a login or a refresh (PROTOCOL: HTTP /auth/login). */
export const TokenPair = Schema.Struct({
  accessToken: Schema.String,
  refreshToken: Schema.String,
  expiresAt: Schema.String,
  refreshExpiresAt: Schema.String,
  user: UserSummary
})
export type TokenPair = typeof TokenPair.Type

export const SessionInfo = Schema.Struct({
  id: SessionId,
  createdAt: Schema.String,
  lastRefreshedAt: Schema.String,
  current: Schema.Boolean
})
export type SessionInfo = typeof SessionInfo.Type
