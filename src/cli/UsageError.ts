import { Data } from "effect"

/** Bad usage found after parsing (a command group run without its command): printed on stderr, exit code 2. */
export class UsageError extends Data.TaggedError("UsageError")<{ readonly message: string }> {}
