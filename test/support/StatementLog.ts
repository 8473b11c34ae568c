import { Statement } from "@effect/sql"
import { Context, Effect, FiberRef, FiberRefs, Option } from "effect"
import { CurrentUser } from "../../src/domain/Auth.ts"

/** One statement as the application sent it to PostgreSQL. */
export interface RecordedStatement {
  /** The SQL text with $n placeholders. */
  readonly sql: string
  readonly params: ReadonlyArray<unknown>
  /** The authenticated caller whose request ran it, when it ran inside one (HTTP route or RPC call). */
  readonly userId: string | undefined
}

/**
 * Records every statement the application runs, with its SQL text and parameters: an @effect/sql
 * statement transformer (Statement.setTransformer), a fiber ref that every fiber of the application
 * inherits when `layer` is given to ServerTest (second argument). Nothing of the application changes:
 * the transformer returns each statement as it is. What ran through `pg` directly (the LISTEN client)
 * is not recorded.
 */
export const makeStatementLog = () => {
  let recording: Array<RecordedStatement> | undefined

  const layer = Statement.setTransformer((statement, _sql, fiberRefs) =>
    Effect.sync(() => {
      if (recording === undefined) return statement
      const [sql, params] = statement.compile()
      const context = FiberRefs.getOrDefault(fiberRefs, FiberRef.currentContext)
      const user = Context.getOption(context, CurrentUser)
      recording.push({ sql, params, userId: Option.isSome(user) ? user.value.userId : undefined })
      return statement
    }))

  /** Runs `effect` and returns its result with the statements run meanwhile (by anyone). */
  const during = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
    Effect.acquireUseRelease(
      Effect.sync(() => {
        const statements: Array<RecordedStatement> = []
        recording = statements
        return statements
      }),
      (statements) => Effect.map(effect, (result) => [result, [...statements] as ReadonlyArray<RecordedStatement>] as const),
      () => Effect.sync(() => {
        recording = undefined
      })
    )

  return { layer, during }
}

export type StatementLog = ReturnType<typeof makeStatementLog>
