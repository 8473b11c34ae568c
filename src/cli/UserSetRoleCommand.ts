import { Command } from "@effect/cli"
import { Console, Effect } from "effect"
import { AdminCommandLive } from "../../layers/Main.ts"
import { Directory } from "../../services/Directory.ts"
import { UserAdmin } from "../../services/UserAdmin.ts"
import { emailOption, orgOption, roleOption } from "./CliOptions.ts"

/** `user set-role`: a new role; every session of the user is revoked (their tokens carry the old one). */
export const userSetRoleCommand = Command.make(
  "set-role",
  { org: orgOption, email: emailOption, role: roleOption },
  Effect.fn("cli.user.setRole")(function* ({ email, org, role }) {
    const directory = yield* Directory
    const userAdmin = yield* UserAdmin
    const user = yield* directory.findUser({ organizationSlug: org, email })
    yield* userAdmin.setRole("operator", user.id, role, { ip: "cli", userAgent: "casecore-cli" })
    yield* Console.log(`${email} (${user.id}) is now ${role}; every session revoked`)
  })
).pipe(Command.withDescription("change a user's role and revoke every session of theirs"), Command.provide(AdminCommandLive))
