import { HttpApi, OpenApi } from "@effect/platform"
import { Schema } from "effect"
import { AuthGroup, NotificationsGroup, OrganizationsGroup, SessionsGroup, UsersGroup } from "./AuthApi.ts"
import { BadInput, Internal, PayloadTooLarge, Unavailable } from "./HttpErrors.ts"
import { HealthGroup, JwksGroup, MetricsGroup } from "./OpsApi.ts"
import { CasesGroup, InvestigationsGroup, RiusGroup } from "./ReadApi.ts"

/**
 * `HttpApi.make` makes its own HttpApiDecodeError the API's first error, and an error is encoded by the
 * first schema that matches it: a malformed request would be answered `{ _tag, issues, message }`. The
 * API-wide errors are replaced with BadInput (which encodes the same failures as PROTOCOL's `{ code,
 * message }`) and the errors every route can give; BadInput is then the one that answers, the one
 * OpenAPI documents and the one the typed client decodes.
 */
const withProtocolErrors = <A extends HttpApi.HttpApi.Any>(api: A): A => {
  const copy = function casecore() {}
  Object.setPrototypeOf(copy, Object.getPrototypeOf(api))
  return Object.assign(copy, api, { errorSchema: Schema.Union(PayloadTooLarge, BadInput, Unavailable, Internal) })
}

/** The whole HTTP API (PROTOCOL.md, HTTP): served by layers/HttpApiLive.ts, at /openapi.json and /docs. */
export const Api = withProtocolErrors(
  HttpApi.make("casecore")
    .add(AuthGroup)
    .add(SessionsGroup)
    .add(UsersGroup)
    .add(OrganizationsGroup)
    .add(NotificationsGroup)
    .add(CasesGroup)
    .add(InvestigationsGroup)
    .add(RiusGroup)
    .add(HealthGroup)
    .add(JwksGroup)
    .add(MetricsGroup)
    .annotate(OpenApi.Title, "casecore")
    .annotate(OpenApi.Version, "0.1.0")
    .annotate(OpenApi.Description, "The HTTP surface of the casecore identity and realtime core (PROTOCOL.md). Every error is `{ code, message }`.")
)
