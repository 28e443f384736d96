import { quoteValue } from './connection.js'

/** What the masker needs from @actions/core. */
export interface SecretSink {
  setSecret(secret: string): void
}

/**
 * Every printable form a secret can take in this action: as given, JSON-escaped (request
 * bodies, error texts), URL-encoded the JS way and the form-encoded way (IMS token request,
 * postgres-url), and brace-quoted (inside a connection string). The runner adds its own
 * encodings (base64, .NET's EscapeDataString, ...) only for the exact strings registered,
 * so each form we produce must be registered too.
 */
export function derivedForms(secret: string): string[] {
  if (!secret) return []
  const forms = new Set<string>([secret])
  const trimmed = secret.trim()
  if (trimmed) forms.add(trimmed)
  forms.add(JSON.stringify(secret).slice(1, -1))
  forms.add(encodeURIComponent(secret))
  forms.add(new URLSearchParams({ v: secret }).toString().slice(2))
  forms.add(quoteValue(secret))
  forms.add(JSON.stringify(quoteValue(secret)).slice(1, -1))
  forms.add(Buffer.from(secret, 'utf8').toString('base64'))
  return [...forms].filter((f) => f.length > 0)
}

/**
 * Registers secrets (and their derived forms) with the runner, and redacts them from any
 * text the action itself prints, so error messages are safe even where the runner does not
 * mask (local runs, tests).
 */
export class Masker {
  private readonly forms = new Set<string>()

  constructor(private readonly sink: SecretSink) {}

  add(secret: string | undefined): void {
    if (!secret) return
    for (const form of derivedForms(secret)) {
      if (this.forms.has(form)) continue
      this.forms.add(form)
      this.sink.setSecret(form)
    }
  }

  /** Replaces every registered form in text with ***, longest first. */
  redact(text: string): string {
    let out = text
    const sorted = [...this.forms].sort((a, b) => b.length - a.length)
    for (const form of sorted) if (out.includes(form)) out = out.split(form).join('***')
    return out
  }

  /** True when a value (such as the connection id) contains a registered secret form. */
  catches(value: string): boolean {
    for (const form of this.forms) if (value.includes(form)) return true
    return false
  }
}
