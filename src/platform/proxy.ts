/**
 * Which proxy a request goes through, from the runner's environment, by the rules of
 * @actions/http-client (lib/proxy.js): HTTPS_PROXY for https targets and HTTP_PROXY for http
 * ones (lower-case names first), NO_PROXY to bypass, loopback never proxied. Pure: no I/O.
 */

/** A proxy taken from the environment. `href` and `authorization` carry the credentials. */
export interface Proxy {
  /**
   * The URL as used: scheme, credentials, host and port (a path, query or fragment is dropped,
   * as @actions/http-client does). Never print it.
   */
  readonly href: string
  /** scheme://host:port, without credentials: safe to print, and what undici is given. */
  readonly display: string
  /** host:port, for messages. */
  readonly host: string
  /** The variable it came from, e.g. HTTPS_PROXY. */
  readonly variable: string
  readonly hasCredentials: boolean
  /**
   * The Proxy-Authorization value, `Basic base64(user:password)` (percent-decoded), whenever a
   * user name or a password is given: a user name alone is sent too, as http-client does.
   * A secret: never print it.
   */
  readonly authorization?: string
}

/** A proxy variable that cannot be used; reported when a request would need it. */
export class ProxyConfigError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'ProxyConfigError'
  }
}

type Scheme = 'https' | 'http'
type Parsed = Proxy | ProxyConfigError | undefined

export interface ProxyConfig {
  readonly https: Parsed
  readonly http: Parsed
  /** The NO_PROXY list as given ('' when unset). */
  readonly noProxy: string
}

type Env = Record<string, string | undefined>

/** The first non-empty of the lower- and upper-case variable (http-client reads them with ||). */
function pick(env: Env, scheme: Scheme): { name: string; value: string } | undefined {
  for (const name of [`${scheme}_proxy`, `${scheme.toUpperCase()}_PROXY`]) {
    const value = env[name]
    if (value) return { name, value }
  }
  return undefined
}

/**
 * http-client parses the value as a URL and, failing that, with http:// added. A URL without a
 * host ("proxy.corp:3128" reads as the scheme "proxy.corp:") is read the second way too.
 */
function parseUrl(value: string): URL | undefined {
  const hasScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(value)
  for (const candidate of hasScheme ? [value] : [value, `http://${value}`]) {
    try {
      const url = new URL(candidate)
      if (url.hostname) return url
    } catch {
      // try the next form
    }
  }
  return undefined
}

/** Percent-decoded, or undefined when a '%' is not the start of an escape. */
function decode(s: string): string | undefined {
  try {
    return decodeURIComponent(s)
  } catch {
    return undefined
  }
}

/**
 * True when an '@' follows the host: a '#', '?' or '/' in the user name or password that is not
 * percent-encoded ends the host part early, so what reads as the host is part of the credentials.
 */
const credentialsCutShort = (url: URL) => `${url.pathname}${url.search}${url.hash}`.includes('@')

function parseProxy(name: string, value: string): Proxy | ProxyConfigError {
  const url = parseUrl(value.trim())
  if (!url)
    return new ProxyConfigError(
      `${name} is not a valid proxy URL (expected http://host:port or http://user:password@host:port)`
    )
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    return new ProxyConfigError(
      `${name} names a ${url.protocol.slice(0, -1)} proxy; only http:// and https:// proxies are supported`
    )
  if (credentialsCutShort(url))
    return new ProxyConfigError(
      `${name} is not a valid proxy URL: percent-encode '#', '?' and '/' in the user name and password (%23, %3F, %2F)`
    )
  const user = decode(url.username)
  const password = decode(url.password)
  if (user === undefined || password === undefined)
    return new ProxyConfigError(
      `${name} is not a valid proxy URL: a '%' in the user name or password must be written %25`
    )
  const port = url.port || (url.protocol === 'https:' ? '443' : '80')
  const host = `${url.hostname}:${port}`
  const given = Boolean(url.username || url.password)
  // Only scheme, credentials, host and port are used; undici refuses a proxy URL with more.
  url.pathname = '/'
  url.search = ''
  url.hash = ''
  return {
    href: url.href,
    display: `${url.protocol}//${host}`,
    host,
    variable: name,
    hasCredentials: given,
    ...(given
      ? { authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` }
      : {})
  }
}

/** Reads the proxy variables. Never throws: a bad value becomes an error for the requests that need it. */
export function proxyConfig(env: Env): ProxyConfig {
  const read = (scheme: Scheme): Parsed => {
    const v = pick(env, scheme)
    return v ? parseProxy(v.name, v.value) : undefined
  }
  return {
    https: read('https'),
    http: read('http'),
    noProxy: env.no_proxy || env.NO_PROXY || ''
  }
}

/** Loopback names as http-client tells them (URL.hostname keeps IPv6 brackets). */
function isLoopback(hostname: string): boolean {
  const h = hostname.toLowerCase()
  return (
    h === 'localhost' ||
    h.startsWith('127.') ||
    h.startsWith('[::1]') ||
    h.startsWith('[0:0:0:0:0:0:0:1]')
  )
}

/**
 * True when the URL goes direct. NO_PROXY is comma-separated; an entry matches the host or
 * host:port exactly, or as a domain suffix ("example.com" and ".example.com" both match
 * "api.example.com"; only the first matches "example.com" itself); "*" matches everything.
 * One addition to http-client: "*.example.com" is read as ".example.com" (http-client never
 * matches it).
 */
export function bypassesProxy(url: URL, noProxy: string): boolean {
  if (!url.hostname) return false
  if (isLoopback(url.hostname)) return true
  if (!noProxy) return false
  const port =
    url.port || (url.protocol === 'https:' ? '443' : url.protocol === 'http:' ? '80' : '')
  const host = url.hostname.toUpperCase()
  const hosts = port ? [host, `${host}:${port}`] : [host]
  for (const raw of noProxy.split(',')) {
    let entry = raw.trim().toUpperCase()
    if (!entry) continue
    if (entry === '*') return true
    if (entry.startsWith('*.')) entry = entry.slice(1)
    const matches = (h: string) =>
      h === entry || h.endsWith(`.${entry}`) || (entry.startsWith('.') && h.endsWith(entry))
    if (hosts.some(matches)) return true
  }
  return false
}

/**
 * The proxy for a URL, or undefined to go direct. Throws ProxyConfigError when the variable
 * that applies cannot be used.
 */
export function proxyFor(url: URL, config: ProxyConfig): Proxy | undefined {
  const scheme = url.protocol === 'https:' ? 'https' : url.protocol === 'http:' ? 'http' : undefined
  if (!scheme) return undefined
  const p = config[scheme]
  if (!p || bypassesProxy(url, config.noProxy)) return undefined
  if (p instanceof ProxyConfigError) throw p
  return p
}

/**
 * The secret forms of proxy credentials in the environment, to mask before anything prints:
 * the value as given, the URL as used, user:password and the password (the user name too when
 * it comes alone: then it is the token), each raw and percent-decoded (the Proxy-Authorization
 * header is base64(decoded user:password), a form the masker derives).
 */
export function proxySecrets(env: Env): string[] {
  return collectProxySecrets(env).all
}

/**
 * The proxy passwords alone (the user name where there is none), as given and decoded: each is
 * redacted as a single secret, so a run of it that a server cut short is redacted too.
 */
export function proxyPasswords(env: Env): string[] {
  return collectProxySecrets(env).passwords
}

function collectProxySecrets(env: Env): { all: string[]; passwords: string[] } {
  const out = new Set<string>()
  const passwords = new Set<string>()
  for (const name of ['https_proxy', 'HTTPS_PROXY', 'http_proxy', 'HTTP_PROXY']) {
    const value = env[name]?.trim()
    if (!value) continue
    const url = parseUrl(value)
    if (!url || credentialsCutShort(url)) {
      // Unusable, but it may still hold credentials; it is never printed anyway. Its part before
      // the last '@' is the likeliest user:password.
      const at = value.lastIndexOf('@')
      if (at === -1) continue
      out.add(value)
      const start = value.indexOf('//')
      const userinfo = value.slice(start === -1 ? 0 : start + 2, at)
      out.add(userinfo)
      if (userinfo.includes(':')) {
        out.add(userinfo.slice(userinfo.indexOf(':') + 1))
        passwords.add(userinfo.slice(userinfo.indexOf(':') + 1))
      }
      continue
    }
    if (!url.username && !url.password) continue
    out.add(value)
    out.add(url.href)
    url.pathname = '/'
    url.search = ''
    url.hash = ''
    out.add(url.href)
    for (const d of [(s: string) => s, (s: string) => decode(s) ?? s]) {
      const password = url.password ? d(url.password) : d(url.username)
      out.add(password)
      passwords.add(password)
      out.add(`${d(url.username)}:${d(url.password)}`)
    }
  }
  const nonEmpty = (set: Set<string>) => [...set].filter((s) => s.length > 0)
  return { all: nonEmpty(out), passwords: nonEmpty(passwords) }
}

/**
 * One line per URL that goes through a proxy, and a note for URLs that NO_PROXY sends direct
 * while a proxy is set, so a user can see the route without the credentials.
 */
export function describeRoutes(urls: string[], config: ProxyConfig): string[] {
  const lines: string[] = []
  for (const u of urls) {
    const url = new URL(u)
    const proxy = proxyFor(url, config)
    const scheme = url.protocol === 'https:' ? 'https' : 'http'
    if (proxy)
      lines.push(`${url.host} is reached through the proxy ${proxy.display} (${proxy.variable})`)
    else if (config[scheme] && !isLoopback(url.hostname))
      lines.push(`${url.host} is reached directly (NO_PROXY)`)
  }
  return lines
}
