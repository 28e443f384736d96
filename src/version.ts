/** Sent in the User-Agent header; kept equal to package.json's version by a unit test. */
export const ACTION_NAME = 'aep-postgresql-connection-action'
export const VERSION = '1.0.0'
