import { Context, type Effect, type Redacted } from "effect"
import type { AuthenticatedUser, ClientInfo, SessionInfo, TokenPair } from "../src/domain/Auth.ts"
import type { AuthError, ForbiddenError, NotFoundError, RateLimitedError } from "../src/domain/Errors.ts"
import type { SessionId } from "../src/domain/Ids.ts"

export interface LoginInput {
  readonly email: string
  readonly password: Redacted.Redacted<string>
  /** Organization slug; needed only when the email exists in several organizations. */
  readonly organization?: string | undefined
}

/** Sessions (one per login = one refresh-token family) and the tokens they issue. */
export class Sessions extends Context.Tag("casecore/Sessions")<
  Sessions,
  {
    /** Check credentials and open a session: INVALID_CREDENTIALS, USER_INACTIVE, RATE_LIMITED. */
    readonly login: (input: LoginInput, client: ClientInfo) => Effect.Effect<TokenPair, AuthError | RateLimitedError>
    /**
     * Rotate a refresh token (the old one is spent). A spent token presented again revokes the whole
     * session (REFRESH_TOKEN_REUSED), except the immediate predecessor within the leeway.
     */
    readonly refresh: (refreshToken: Redacted.Redacted<string>, client: ClientInfo) => Effect.Effect<TokenPair, AuthError | RateLimitedError>
    /**
     * The socket grace refresh: a new access token for the same user and session from a token that
     * is valid but expired at most the grace period ago, while session and user are active.
     */
    readonly refreshSocket: (accessToken: string) => Effect.Effect<{ readonly accessToken: string; readonly expiresAt: Date }, AuthError>
    /**
     * The same for a socket that holds no token: a new access token for the socket's own user and
     * session while both are active (the socket layer enforces its refreshBy).
     */
    readonly renewSocket: (user: AuthenticatedUser) => Effect.Effect<{ readonly accessToken: string; readonly expiresAt: Date }, AuthError>
    /** The caller's live sessions, newest first. */
    readonly list: (user: AuthenticatedUser) => Effect.Effect<ReadonlyArray<SessionInfo>>
    /** Revoke the caller's current session (logout). */
    readonly logout: (user: AuthenticatedUser, client: ClientInfo) => Effect.Effect<void>
    /** Revoke one session: the caller's own, or (ADMIN) one of a user of the same organization. */
    readonly revoke: (user: AuthenticatedUser, sessionId: SessionId, client: ClientInfo) => Effect.Effect<void, NotFoundError | ForbiddenError>
    /** Revoke every session of the caller, this one included. */
    readonly revokeAll: (user: AuthenticatedUser, client: ClientInfo) => Effect.Effect<void>
  }
>() {}
