/** What a step did (or, in a dry run, would do): the `operation` output of both actions. */
export type Operation =
  | 'created'
  | 'updated'
  | 'unchanged'
  | 'deleted'
  | 'absent'
  | 'would-create'
  | 'would-update'
  | 'would-delete'
