// The version has one source, package.json; the bundler inlines it at build time.
import pkg from '../../package.json' with { type: 'json' }

/** Sent in the User-Agent header as `<name>/<version>`. */
export const ACTION_NAME: string = pkg.name
export const VERSION: string = pkg.version
