/**
 * User-facing errors. Anything thrown as a {@link UserError} is printed by the CLI as one line
 * `error: <message>` on stderr with a non-zero exit status, never as a stack trace.
 * @module
 */

/** An error caused by the user's input (a flag, a file, a row, a cell), not by a bug. */
export class UserError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UserError";
  }
}
