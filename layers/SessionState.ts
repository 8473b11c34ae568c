import { Effect } from "effect"
import { AuthError } from "../src/domain/Errors.ts"
import type { SessionState } from "./SessionRepository.ts"

const messages = {
  USER_INACTIVE: "the user is not active",
  SESSION_REVOKED: "the session was revoked",
  SESSION_EXPIRED: "the session expired"
} as const

/** Why a session may not be used, with one wording wherever it is found out. */
export const sessionError = (code: keyof typeof messages) => new AuthError({ code, message: messages[code] })

/**
 * The one order of the checks (auth_refresh in migrations/0002 follows it too): the user's status first,
 * so a deactivated user hears USER_INACTIVE everywhere, not SESSION_REVOKED; then revocation; then expiry.
 * `idle`: whether the idle expiry counts (it ends refreshes, not access tokens still within their exp).
 */
export const checkSessionState = (row: SessionState, at: Date, options: { readonly idle: boolean }): Effect.Effect<void, AuthError> =>
  row.userStatus !== "ACTIVE" || row.organizationStatus !== "ACTIVE"
    ? sessionError("USER_INACTIVE")
    : row.revokedAt !== null
      ? sessionError("SESSION_REVOKED")
      : at >= row.absoluteExpiresAt || (options.idle && at >= row.idleExpiresAt)
        ? sessionError("SESSION_EXPIRED")
        : Effect.void
