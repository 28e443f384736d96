/*
 * Text from Flow Service's live connection spec as it is printed: apart from the referee
 * (connection-spec.ts), so that the session can give the referee output.ts's guarded path without
 * loading it (referee.ts).
 */

/** Control, invisible-format and line/paragraph-separator characters. */
export const UNPRINTABLE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u

/**
 * Text from the spec as printed: on one line, with control, invisible and line-separator
 * characters written as \uXXXX and the legacy `##[` command marker broken, so a served value can
 * neither start a new log line nor be read as a workflow command.
 */
export function specText(text: string): string {
  return text
    .replace(
      new RegExp(UNPRINTABLE.source, 'gu'),
      (c) => `\\u${(c.codePointAt(0) ?? 0).toString(16).padStart(4, '0')}`
    )
    .replace(/##\[/g, '## [')
}
