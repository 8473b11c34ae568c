import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "@effect/platform"
import { Schema } from "effect"
import { SessionInfo, TokenPair } from "../domain/Auth.ts"
import { Role } from "../domain/Roles.ts"
import { UserId } from "../domain/Ids.ts"
import { BoundedText, Input, Text } from "../domain/Text.ts"
import { Authentication } from "./Authentication.ts"
import { Forbidden, NotFound, RateLimited, Unauthenticated, UserInactive } from "./HttpErrors.ts"

export const LoginRequest = Input({
  email: BoundedText(254),
  password: Schema.Redacted(BoundedText(1024)),
  organization: Schema.optional(BoundedText(63))
})

export const RefreshRequest = Input({
  refreshToken: Schema.Redacted(BoundedText(200))
})

/** Ids in paths are checked by the handler: a malformed one is NOT_FOUND like an unknown one. */
const idParam = HttpApiSchema.param("id", Schema.String)

export class AuthGroup extends HttpApiGroup.make("auth")
  .add(
    HttpApiEndpoint.post("login", "/auth/login")
      .setPayload(LoginRequest)
      .addSuccess(TokenPair)
      .addError(Unauthenticated)
      .addError(UserInactive)
      .addError(RateLimited)
      .annotate(OpenApi.Summary, "Log in: a new session with its access and refresh tokens")
  )
  .add(
    HttpApiEndpoint.post("refresh", "/auth/refresh")
      .setPayload(RefreshRequest)
      .addSuccess(TokenPair)
      .addError(Unauthenticated)
      .addError(UserInactive)
      .addError(RateLimited)
      .annotate(OpenApi.Summary, "Rotate a refresh token: a new pair; the old refresh token is spent")
  )
  .add(
    HttpApiEndpoint.post("logout", "/auth/logout")
      .addSuccess(HttpApiSchema.NoContent)
      .middleware(Authentication)
      .annotate(OpenApi.Summary, "Revoke the current session; its sockets close")
  ) {}

export class SessionsGroup extends HttpApiGroup.make("sessions")
  .add(
    HttpApiEndpoint.get("list", "/auth/sessions")
      .addSuccess(Schema.Struct({ sessions: Schema.Array(SessionInfo) }))
      .annotate(OpenApi.Summary, "The caller's live sessions, newest first")
  )
  .add(
    HttpApiEndpoint.del("revoke")`/auth/sessions/${idParam}`
      .addSuccess(HttpApiSchema.NoContent)
      .addError(Forbidden)
      .addError(NotFound)
      .annotate(OpenApi.Summary, "Revoke one session: the caller's own, or (ADMIN) another user's of the organization")
  )
  .add(
    HttpApiEndpoint.post("revokeAll", "/auth/sessions/revoke-all")
      .addSuccess(HttpApiSchema.NoContent)
      .annotate(OpenApi.Summary, "Revoke every session of the caller, this one included")
  )
  .middleware(Authentication) {}

export const SetRoleRequest = Input({ role: Role })

export class UsersGroup extends HttpApiGroup.make("users")
  .add(
    HttpApiEndpoint.post("deactivate")`/auth/users/${idParam}/deactivate`
      .addSuccess(HttpApiSchema.NoContent)
      .addError(Forbidden)
      .addError(NotFound)
      .annotate(OpenApi.Summary, "ADMIN: deactivate a user of the organization and revoke every session of theirs")
  )
  .add(
    HttpApiEndpoint.post("setRole")`/auth/users/${idParam}/role`
      .setPayload(SetRoleRequest)
      .addSuccess(HttpApiSchema.NoContent)
      .addError(Forbidden)
      .addError(NotFound)
      .annotate(OpenApi.Summary, "ADMIN: change the role of another user of the organization; every session of theirs is revoked")
  )
  .middleware(Authentication) {}

export class OrganizationsGroup extends HttpApiGroup.make("organizations")
  .add(
    HttpApiEndpoint.post("suspend")`/ops/organizations/${idParam}/suspend`
      .addSuccess(HttpApiSchema.NoContent)
      .addError(Forbidden)
      .addError(NotFound)
      .annotate(OpenApi.Summary, "OPS: suspend an organization; every session of it is revoked")
  )
  .add(
    HttpApiEndpoint.post("activate")`/ops/organizations/${idParam}/activate`
      .addSuccess(HttpApiSchema.NoContent)
      .addError(Forbidden)
      .addError(NotFound)
      .annotate(OpenApi.Summary, "OPS: activate a suspended organization again; its old sessions stay revoked")
  )
  .middleware(Authentication) {}

export const SendNotificationRequest = Input({
  userId: Schema.optional(UserId),
  title: BoundedText(200),
  body: Text.pipe(Schema.maxLength(4000, { message: () => "must be at most 4000 characters" })),
  type: Schema.optional(BoundedText(64))
})

export class NotificationsGroup extends HttpApiGroup.make("notifications")
  .add(
    HttpApiEndpoint.post("send", "/notifications")
      .setPayload(SendNotificationRequest)
      .addSuccess(Schema.Struct({ ids: Schema.Array(Schema.String) }))
      .addError(Forbidden)
      .addError(NotFound)
      .annotate(OpenApi.Summary, "ADMIN: a notification to one user of the organization, or to every user of it; the new ids")
  )
  .middleware(Authentication) {}
