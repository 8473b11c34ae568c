import { Effect } from "effect"
import { AuthError } from "../src/domain/Errors.ts"

/** What decides whether a session may be used (the columns of auth_sessions, users and organizations). */
export interface SessionState {
  readonly revoked_at: Date | null
  readonly absolute_expires_at: Date
  /** Checked when present: idle expiry ends refreshes, not access tokens still within their exp. */
  readonly idle_expires_at?: Date
  readonly user_status: string
  readonly organization_status: string
}

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
 */
export const checkSessionState = (row: SessionState, at: Date): Effect.Effect<void, AuthError> =>
  row.user_status !== "ACTIVE" || row.organization_status !== "ACTIVE"
    ? sessionError("USER_INACTIVE")
    : row.revoked_at !== null
      ? sessionError("SESSION_REVOKED")
      : at >= row.absolute_expires_at || (row.idle_expires_at !== undefined && at >= row.idle_expires_at)
        ? sessionError("SESSION_EXPIRED")
        : Effect.void
