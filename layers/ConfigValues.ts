import { Config } from "effect"

/** A TCP port, where 0 means "any free port". */
export const portConfig = (name: string, fallback: number) =>
  Config.integer(name).pipe(
    Config.validate({ message: "expected a port number from 0 to 65535 (0: any free port)", validation: (n) => n >= 0 && n <= 65_535 }),
    Config.withDefault(fallback)
  )
