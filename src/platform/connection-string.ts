/*
 * ODBC-style connection strings (Server=..;Database=..;Password=..), as Adobe's PostgreSQL
 * connector takes them: quoting a value, and splitting a string into keywords. Shared because
 * masking must know every form a password takes inside one.
 */

/**
 * Quotes one connection-string value the way the ODBC driver family behind Adobe's keywords
 * expects: a value holding ; { } = or spaces at either end is wrapped in braces with } doubled.
 */
export function quoteValue(value: string): string {
  return /[;{}=]|^\s|\s$/.test(value) ? `{${value.replace(/}/g, '}}')}}` : value
}

/** Splits a Server=..;Database=.. string (brace quoting understood) into keyword/value pairs. */
export function splitConnectionString(cs: string): Map<string, string> {
  const out = new Map<string, string>()
  let i = 0
  while (i < cs.length) {
    // Empty segments (";;", "; ;") separate nothing; skipping them keeps the next keyword clean.
    if (cs[i] === ';' || /\s/.test(cs[i] as string)) {
      i++
      continue
    }
    const eq = cs.indexOf('=', i)
    if (eq < 0) {
      if (cs.slice(i).trim())
        throw new Error('connection-string has a part without "=" (expected Key=Value;…)')
      break
    }
    const key = cs.slice(i, eq).trim().toLowerCase()
    let j = eq + 1
    let value = ''
    if (cs[j] === '{') {
      j++
      for (;;) {
        if (j >= cs.length)
          throw new Error('connection-string has a "{" value without its closing "}"')
        if (cs[j] === '}') {
          if (cs[j + 1] === '}') {
            value += '}'
            j += 2
            continue
          }
          j++
          break
        }
        value += cs[j]
        j++
      }
      const semi = cs.indexOf(';', j)
      if (cs.slice(j, semi < 0 ? cs.length : semi).trim())
        throw new Error('connection-string has text after a closing "}"')
      i = semi < 0 ? cs.length : semi + 1
    } else {
      const semi = cs.indexOf(';', j)
      value = cs.slice(j, semi < 0 ? cs.length : semi)
      i = semi < 0 ? cs.length : semi + 1
    }
    if (!key) throw new Error('connection-string has an empty keyword')
    out.set(key, value)
  }
  return out
}

/** Keyword/value pairs of a connection string; empty for a string it cannot parse. */
export function splitConnectionStringLoosely(cs: string): Map<string, string> {
  try {
    return splitConnectionString(cs)
  } catch {
    return new Map()
  }
}
