import { Schema } from "effect"

export const Role = Schema.Literal("ADMIN", "INVESTIGATOR", "VIEWER", "OPS")
export type Role = typeof Role.Type

export const Slug = Schema.String.pipe(
  Schema.pattern(/^[a-z0-9][a-z0-9-]{1,62}$/, { message: () => "expected lower-case letters, digits and dashes (2-63)" })
)

export const Email = Schema.Trim.pipe(
  Schema.compose(Schema.Lowercase),
  Schema.pattern(/^[^\s@]+@[^\s@]+$/, { message: () => "expected an email address" }),
  Schema.maxLength(254)
)
