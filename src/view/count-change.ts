/** How much a materialization moved the view's counts; the sync report adds these up instead of counting the catalog. */
export interface CountChange {
  /** records, tombstones included */
  records: number;
  /** tombstones */
  deleted: number;
}

export const NO_COUNT_CHANGE: CountChange = { records: 0, deleted: 0 };

export function addCounts(a: CountChange, b: CountChange): CountChange {
  return { records: a.records + b.records, deleted: a.deleted + b.deleted };
}
