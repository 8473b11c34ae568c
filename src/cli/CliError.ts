import { Data } from "effect"

/** A user error: printed on stderr, exit code 1. */
export class CliError extends Data.TaggedError("CliError")<{ readonly message: string }> {}
