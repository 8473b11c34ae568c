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

/**
 * The one order of the checks (auth_refresh in migrations/0002 follows it too): the user's status first,
 * so a deactivated user hears USER_INACTIVE everywhere, not SESSION_REVOKED; then revocation; then expiry.
 */
export const checkSessionState = (row: SessionState, at: Date): Effect.Effect<void, AuthError> =>
  row.user_status !== "ACTIVE" || row.organization_status !== "ACTIVE"
    ? new AuthError({ code: "USER_INACTIVE", message: "the user is not active" })
    : row.revoked_at !== null
      ? new AuthError({ code: "SESSION_REVOKED", message: "the session was revoked" })
      : at >= row.absolute_expires_at || (row.idle_expires_at !== undefined && at >= row.idle_expires_at)
        ? new AuthError({ code: "SESSION_EXPIRED", message: "the session expired" })
        : Effect.void
