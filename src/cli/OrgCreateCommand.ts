import { Command, Options } from "@effect/cli"
import { Console, Effect } from "effect"
import { DirectoryCommandLive } from "../../layers/Main.ts"
import { Directory } from "../../services/Directory.ts"
import { Slug } from "../domain/Roles.ts"
import { schemaOption, textOption } from "./CliOptions.ts"

const slug = schemaOption("slug", "<slug>", Slug).pipe(Options.withDescription("a unique short name: lower-case letters, digits and dashes"))
const name = textOption("name", "<name>").pipe(Options.withDescription("the organization's display name"))

/** `org create --slug --name`: prints the new organization's id. */
export const orgCreateCommand = Command.make(
  "create",
  { slug, name },
  Effect.fn("cli.org.create")(function* ({ slug, name }) {
    const directory = yield* Directory
    yield* Console.log(yield* directory.createOrganization({ slug, name }))
  })
).pipe(Command.withDescription("create an organization; prints its id"), Command.provide(DirectoryCommandLive))
