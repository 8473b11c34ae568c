import { HttpApiMiddleware, HttpApiSecurity } from "@effect/platform"
import { Schema } from "effect"
import { CurrentUser } from "../domain/Auth.ts"
import { Unauthenticated, UserInactive } from "./HttpErrors.ts"

/** `Authorization: Bearer <access token>` on every route that needs a caller; provides CurrentUser. */
export class Authentication extends HttpApiMiddleware.Tag<Authentication>()("Authentication", {
  provides: CurrentUser,
  failure: Schema.Union(Unauthenticated, UserInactive),
  security: { bearer: HttpApiSecurity.bearer }
}) {}
