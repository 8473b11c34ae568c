import { Command, Options } from "@effect/cli"
import { Console, Effect, Option } from "effect"
import { DirectoryCommandLive } from "../../layers/Main.ts"
import { Directory } from "../../services/Directory.ts"
import { emailOption, orgOption, roleOption, textOption } from "./CliOptions.ts"
import { readNewPassword } from "./NewPassword.ts"

const name = textOption("name", "<name>").pipe(
  Options.withDescription("the display name (default: the part of the email before @)"),
  Options.optional
)

/** `user create`: the password comes from stdin or a hidden prompt, never argv; prints the new user's id. */
export const userCreateCommand = Command.make(
  "create",
  { org: orgOption, email: emailOption, role: roleOption, name },
  Effect.fn("cli.user.create")(function* ({ org, email, role, name }) {
    // Before the database starts: a short password is refused at once, and no log line cuts into the prompt.
    const password = yield* readNewPassword
    const id = yield* Effect.flatMap(Directory, (directory) =>
      directory.createUser({
        organizationSlug: org,
        email,
        role,
        displayName: Option.getOrElse(name, () => email.split("@")[0]!),
        password
      })).pipe(Effect.provide(DirectoryCommandLive))
    yield* Console.log(id)
  })
).pipe(Command.withDescription("create a user (password from stdin, one line, or a hidden prompt); prints its id"))
