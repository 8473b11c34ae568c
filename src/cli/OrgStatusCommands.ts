import { Command, Options } from "@effect/cli"
import { Console, Effect } from "effect"
import { AdminCommandLive } from "../../layers/Main.ts"
import { Directory } from "../../services/Directory.ts"
import { UserAdmin } from "../../services/UserAdmin.ts"
import { Slug } from "../domain/Roles.ts"
import { schemaOption } from "./CliOptions.ts"

const slug = schemaOption("slug", "<slug>", Slug).pipe(Options.withDescription("the organization's slug"))
const operator = { ip: "cli", userAgent: "casecore-cli" }

/** `org suspend --slug`: the organization SUSPENDED and every session of it revoked. */
export const orgSuspendCommand = Command.make(
  "suspend",
  { slug },
  Effect.fn("cli.org.suspend")(function* ({ slug }) {
    const organizationId = yield* (yield* Directory).findOrganization(slug)
    yield* (yield* UserAdmin).suspendOrganization("operator", organizationId, operator)
    yield* Console.log(`suspended ${slug} (${organizationId}); every session revoked`)
  })
).pipe(Command.withDescription("suspend an organization and revoke every session of it"), Command.provide(AdminCommandLive))

/** `org activate --slug`: the organization ACTIVE again; sessions revoked at suspension stay revoked. */
export const orgActivateCommand = Command.make(
  "activate",
  { slug },
  Effect.fn("cli.org.activate")(function* ({ slug }) {
    const organizationId = yield* (yield* Directory).findOrganization(slug)
    yield* (yield* UserAdmin).activateOrganization("operator", organizationId, operator)
    yield* Console.log(`activated ${slug} (${organizationId}); its users log in again`)
  })
).pipe(Command.withDescription("activate a suspended organization (old sessions stay revoked)"), Command.provide(AdminCommandLive))
