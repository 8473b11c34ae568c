import { Effect } from "effect"
import * as Crypto from "node:crypto"
import type { TokenPair } from "../../src/domain/Auth.ts"
import type { OrganizationId, SessionId, UserId } from "../../src/domain/Ids.ts"
import type { Role } from "../../src/domain/Roles.ts"
import type { Jwt } from "../../services/Jwt.ts"

/** `<selector>.<secret>`: the selector finds the row, only SHA-256 of the secret is stored. */
export const refreshTokenPattern = /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.([A-Za-z0-9_-]{43})$/

export const sha256 = (secret: string) => Crypto.createHash("sha256").update(secret).digest()

export const newRefreshToken = () => {
  const selector = Crypto.randomUUID()
  const secret = Crypto.randomBytes(32).toString("base64url")
  return { selector, token: `${selector}.${secret}`, hash: sha256(secret) }
}

export interface TokenSubject {
  readonly userId: UserId
  readonly organizationId: OrganizationId
  readonly sessionId: SessionId
  readonly role: Role
  readonly displayName: string
}

/** The answer to a login or a refresh: a new access token beside the refresh token. */
export const tokenPair = (jwt: Jwt["Type"]) => Effect.fnUntraced(function* (subject: TokenSubject, refreshToken: string, refreshExpiresAt: Date) {
  const access = yield* jwt.sign(subject)
  return {
    accessToken: access.token,
    refreshToken,
    expiresAt: access.expiresAt.toISOString(),
    refreshExpiresAt: refreshExpiresAt.toISOString(),
    user: { id: subject.userId, organizationId: subject.organizationId, role: subject.role, displayName: subject.displayName }
  } satisfies TokenPair
})

/** A Duration as a PostgreSQL interval literal. */
export const interval = (millis: number) => `${millis} milliseconds`
