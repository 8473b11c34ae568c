import { HelpDoc, Options, ValidationError } from "@effect/cli"
import { Effect, ParseResult, Schema } from "effect"
import { Email, Role, Slug } from "../domain/Roles.ts"

/**
 * A text option decoded with a schema. `Options.withSchema` reports only the schema's message; this
 * one names the option, so a script's author sees which value was refused (bad usage, exit 2).
 */
export const schemaOption = <A>(name: string, pseudoName: string, schema: Schema.Schema<A, string>) =>
  Options.text(name).pipe(
    Options.withPseudoName(pseudoName),
    Options.mapEffect((value) =>
      Schema.decode(schema)(value).pipe(
        Effect.mapError((error) => {
          const [issue] = ParseResult.ArrayFormatter.formatErrorSync(error)
          return ValidationError.invalidValue(HelpDoc.p(`--${name}: ${issue?.message ?? "invalid value"}`))
        })
      )
    )
  )

const NonEmptyText = Schema.Trim.pipe(Schema.nonEmptyString({ message: () => "expected a non-empty value" }))

/** `--<name> <text>`, trimmed, not empty. */
export const textOption = (name: string, pseudoName: string) => schemaOption(name, pseudoName, NonEmptyText)

/** `--org <slug>`: the organization a user command acts in. */
export const orgOption = schemaOption("org", "<slug>", Slug).pipe(Options.withDescription("the organization's slug"))

/** `--email <email>`, trimmed and lower-cased. */
export const emailOption = schemaOption("email", "<email>", Email).pipe(Options.withDescription("the user's email address"))

/** `--role <ADMIN|INVESTIGATOR|VIEWER|OPS>`. */
export const roleOption = schemaOption(
  "role",
  `<${Role.literals.join("|")}>`,
  Schema.compose(Schema.String, Role.annotations({ message: () => ({ message: `expected one of ${Role.literals.join(", ")}`, override: true }) }), { strict: false })
).pipe(Options.withDescription("the user's role"))
