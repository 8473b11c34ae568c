import { Rpc, RpcGroup, RpcMiddleware } from "@effect/rpc"
import { Schema } from "effect"
import { CurrentUser, SessionInfo, TokenPair, UserSummary } from "../domain/Auth.ts"
import { AuthError, ForbiddenError, NotFoundError, RateLimitedError } from "../domain/Errors.ts"
import { SessionId, UserId } from "../domain/Ids.ts"
import { LoginRequest, RefreshRequest } from "./AuthApi.ts"
import { GetRecentData, MarkReadData } from "./SocketEvents.ts"
import { Notification, NotificationPage } from "../domain/Notification.ts"

/** Turns `Authorization: Bearer` into CurrentUser on every call that needs a caller. */
export class AuthMiddleware extends RpcMiddleware.Tag<AuthMiddleware>()("AuthMiddleware", {
  provides: CurrentUser,
  failure: AuthError,
  requiredForClient: true
}) {}

const Me = Schema.Struct({
  ...UserSummary.fields,
  sessionId: SessionId,
  expiresAt: Schema.String
})

/** The auth procedures: the same operations as the HTTP endpoints, with the same error codes as typed errors. */
export class AuthRpcs extends RpcGroup.make(
  Rpc.make("Auth.Login", { payload: LoginRequest, success: TokenPair, error: Schema.Union(AuthError, RateLimitedError) }),
  Rpc.make("Auth.Refresh", { payload: RefreshRequest, success: TokenPair, error: Schema.Union(AuthError, RateLimitedError) }),
  Rpc.make("Auth.Me", { success: Me }).middleware(AuthMiddleware),
  Rpc.make("Auth.Logout").middleware(AuthMiddleware),
  Rpc.make("Auth.ListSessions", { success: Schema.Struct({ sessions: Schema.Array(SessionInfo) }) }).middleware(AuthMiddleware),
  Rpc.make("Auth.RevokeSession", { payload: { sessionId: SessionId }, error: Schema.Union(NotFoundError, ForbiddenError) }).middleware(AuthMiddleware),
  Rpc.make("Auth.RevokeAll").middleware(AuthMiddleware),
  Rpc.make("Auth.DeactivateUser", { payload: { userId: UserId }, error: Schema.Union(NotFoundError, ForbiddenError) }).middleware(AuthMiddleware)
) {}

/** Notifications of the caller (the same as the socket's events); Stream: the new ones as they are delivered. */
export class NotificationRpcs extends RpcGroup.make(
  Rpc.make("Notifications.List", { payload: GetRecentData, success: NotificationPage }).middleware(AuthMiddleware),
  Rpc.make("Notifications.MarkRead", { payload: MarkReadData, success: Schema.Struct({ unreadCount: Schema.Int }) }).middleware(AuthMiddleware),
  Rpc.make("Notifications.MarkAllRead", { success: Schema.Struct({ unreadCount: Schema.Int }) }).middleware(AuthMiddleware),
  Rpc.make("Notifications.UnreadCount", { success: Schema.Struct({ unreadCount: Schema.Int }) }).middleware(AuthMiddleware),
  Rpc.make("Notifications.Stream", { success: Notification, stream: true }).middleware(AuthMiddleware)
) {}

/** Every procedure of the API (later issues add their groups here). */
export const ApiRpcs = AuthRpcs.merge(NotificationRpcs)
