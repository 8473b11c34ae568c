import { Data, Either } from "effect"

export class UsageError extends Data.TaggedError("UsageError")<{ readonly message: string }> {}

export interface ParsedArgs {
  readonly words: ReadonlyArray<string>
  readonly options: ReadonlyMap<string, string>
  readonly flags: ReadonlySet<string>
}

/** `word word --option value --flag`: flags are the names listed in `booleanFlags`. */
export const parseArgs = (argv: ReadonlyArray<string>, booleanFlags: ReadonlySet<string>): Either.Either<ParsedArgs, UsageError> => {
  const words: Array<string> = []
  const options = new Map<string, string>()
  const flags = new Set<string>()
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (!arg.startsWith("--")) {
      words.push(arg)
      continue
    }
    const [name = "", inline] = arg.slice(2).split(/=(.*)/s, 2)
    if (booleanFlags.has(name)) {
      flags.add(name)
      continue
    }
    const value = inline ?? argv[++i]
    if (value === undefined || (inline === undefined && value.startsWith("--"))) {
      return Either.left(new UsageError({ message: `--${name} needs a value` }))
    }
    options.set(name, value)
  }
  return Either.right({ words, options, flags })
}

export const required = (args: ParsedArgs, name: string): Either.Either<string, UsageError> => {
  const value = args.options.get(name)
  return value === undefined || value.trim() === ""
    ? Either.left(new UsageError({ message: `missing --${name}` }))
    : Either.right(value.trim())
}

export const usage = `usage: npm run cli -- <command>
  serve                                   migrate, then serve HTTP (demo data on an empty embedded database)
  migrate                                 apply migrations and build the declared indexes
  migrate status [--json]                 applied migrations and every declared index with its state
  seed demo                               load the demo organizations, users and cases
  org create --slug <slug> --name <name>  prints the organization id
  user create --org <slug> --email <email> --role <ADMIN|INVESTIGATOR|VIEWER|OPS> [--name <display name>]
                                          password from stdin (one line) or a prompt; prints the user id
  user deactivate --org <slug> --email <email>
                                          blocks the user and revokes every session`
