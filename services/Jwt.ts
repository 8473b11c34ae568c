import { Context, type Effect } from "effect"
import type { AccessClaims } from "../src/domain/Auth.ts"
import type { AuthError } from "../src/domain/Errors.ts"
import type { OrganizationId, SessionId, UserId } from "../src/domain/Ids.ts"
import type { Role } from "../src/domain/Roles.ts"

export interface AccessTokenSubject {
  readonly userId: UserId
  readonly organizationId: OrganizationId
  readonly sessionId: SessionId
  readonly role: Role
}

/** A public key set as served at /.well-known/jwks.json. */
export interface Jwks {
  readonly keys: ReadonlyArray<Readonly<Record<string, unknown>>>
}

/** Signed access tokens (jose; ES256 by default, or EdDSA); time from Effect's Clock. */
export class Jwt extends Context.Tag("casecore/Jwt")<
  Jwt,
  {
    /** The algorithm tokens are signed with (JWT_ALGORITHM). */
    readonly algorithm: "ES256" | "EdDSA"
    /** Sign a new access token for the subject; lifetime from config. */
    readonly sign: (subject: AccessTokenSubject) => Effect.Effect<{ readonly token: string; readonly expiresAt: Date; readonly claims: AccessClaims }>
    /**
     * Verify signature, header (the kid's own algorithm, typ at+jwt, known kid) and every claim; a
     * token issued in the future or living longer than we issue them is INVALID_TOKEN. `graceSeconds` accepts
     * a token that expired at most that long ago (the socket grace refresh); default none beyond the
     * clock tolerance. INVALID_TOKEN or TOKEN_EXPIRED otherwise.
     */
    readonly verify: (token: string, options?: { readonly graceSeconds?: number }) => Effect.Effect<AccessClaims, AuthError>
    /** The public keys that verify tokens (current and previous). */
    readonly jwks: Jwks
    /** Access token lifetime in seconds. */
    readonly lifetimeSeconds: number
  }
>() {}
