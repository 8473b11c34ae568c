import { Context, type Effect } from "effect"
import type { AuthenticatedUser } from "../src/domain/Auth.ts"
import type { AuthError } from "../src/domain/Errors.ts"

/** Turns a bearer token into the authenticated user. */
export class Auth extends Context.Tag("casecore/Auth")<
  Auth,
  {
    /**
     * Verify an access token and that its session and user are still active. Cached: a bounded cache
     * of verified tokens (never past exp) and of session status, kept exact by the bus's revocation events.
     * `graceSeconds` (sockets): a token that expired at most that long ago is accepted too.
     */
    readonly verify: (token: string, options?: { readonly graceSeconds?: number }) => Effect.Effect<AuthenticatedUser, AuthError>
    /** The `Authorization` header value: UNAUTHORIZED when absent or not `Bearer`. */
    readonly verifyHeader: (authorization: string | undefined) => Effect.Effect<AuthenticatedUser, AuthError>
  }
>() {}
