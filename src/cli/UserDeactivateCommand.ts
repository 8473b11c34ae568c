import { Command } from "@effect/cli"
import { Console, Effect } from "effect"
import { AdminCommandLive } from "../../layers/Main.ts"
import { Directory } from "../../services/Directory.ts"
import { UserAdmin } from "../../services/UserAdmin.ts"
import { emailOption, orgOption } from "./CliOptions.ts"

/** `user deactivate`: the user becomes INACTIVE and every session of theirs is revoked. */
export const userDeactivateCommand = Command.make(
  "deactivate",
  { org: orgOption, email: emailOption },
  Effect.fn("cli.user.deactivate")(function* ({ org, email }) {
    const directory = yield* Directory
    const userAdmin = yield* UserAdmin
    const user = yield* directory.findUser({ organizationSlug: org, email })
    yield* userAdmin.deactivate("operator", user.id, { ip: "cli", userAgent: "casecore-cli" })
    yield* Console.log(`deactivated ${email} (${user.id}); every session revoked`)
  })
).pipe(Command.withDescription("mark a user INACTIVE and revoke every session"), Command.provide(AdminCommandLive))
