import { Rpc, RpcGroup, RpcMiddleware } from "@effect/rpc"
import { Schema } from "effect"
import { CurrentUser, SessionInfo, TokenPair, UserSummary } from "../domain/Auth.ts"
import { AuthError, ForbiddenError, NotFoundError, RateLimitedError, ValidationError } from "../domain/Errors.ts"
import { CaseId, InvestigationId, SessionId, UserId } from "../domain/Ids.ts"
import { CaseDetail, CaseListRequest, CasePage, InvestigationDetail, RiuListRequest, RiuPage } from "../domain/Reads.ts"
import { LoginRequest, RefreshRequest } from "./AuthApi.ts"
import { GetRecentData, MarkReadData } from "./SocketEvents.ts"
import { Notification, NotificationPage } from "../domain/Notification.ts"

/** Turns `Authorization: Bearer` into CurrentUser on every call that needs a caller. */
export class AuthMiddleware extends RpcMiddleware.Tag<AuthMiddleware>()("AuthMiddleware", {
  provides: CurrentUser,
  failure: AuthError,
  requiredForClient: true
}) {}

/**
 * A request cache for the length of one call, so that single lookups made by several code paths of the
 * call share their answers, and nothing outlives the call (layers/RequestCache.ts).
 */
export class RequestCacheMiddleware extends RpcMiddleware.Tag<RequestCacheMiddleware>()("RequestCacheMiddleware", {
  wrap: true
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
  Rpc.make("Auth.Me", { success: Me }).middleware(AuthMiddleware).middleware(RequestCacheMiddleware),
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

/**
 * The read API (the same as GET /cases, /cases/:id, /investigations/:id, /rius): the caller's organization
 * only; OPS is FORBIDDEN; another organization's id is NOT_FOUND.
 */
export class ReadRpcs extends RpcGroup.make(
  Rpc.make("Cases.List", { payload: CaseListRequest, success: CasePage, error: Schema.Union(ForbiddenError, ValidationError) }),
  Rpc.make("Cases.Get", { payload: { id: CaseId }, success: Schema.Struct({ case: CaseDetail }), error: Schema.Union(ForbiddenError, NotFoundError) }),
  Rpc.make("Investigations.Get", {
    payload: { id: InvestigationId },
    success: Schema.Struct({ investigation: InvestigationDetail }),
    error: Schema.Union(ForbiddenError, NotFoundError)
  }),
  Rpc.make("Rius.List", { payload: RiuListRequest, success: RiuPage, error: Schema.Union(ForbiddenError, ValidationError) })
).middleware(AuthMiddleware).middleware(RequestCacheMiddleware) {}

/** Every procedure of the API (later issues add their groups here). */
export const ApiRpcs = AuthRpcs.merge(NotificationRpcs, ReadRpcs)
