// Number formatting and word ordering shared by the webview's panels.
import type { WordScore } from '../src/protocol/events';

export const pct = (x: number | undefined): string => (x === undefined || Number.isNaN(x) ? '–' : `${(x * 100).toFixed(1)}%`);

export const margin = (x: number): string => `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(3)}`;

/** The weaker of the two margins (the one that decides pass/fail first). */
export function weakerMargin(s: WordScore | undefined): number {
  if (!s) return Number.POSITIVE_INFINITY;
  return s.logitMargin === undefined ? s.clipMargin : Math.min(s.clipMargin, s.logitMargin);
}

export type SortMode = 'file' | 'weakest';

/** Row order: file order, or weakest margin first with unscored words last (ties keep file order). */
export function orderRows<T extends { index: number; score: WordScore | undefined }>(rows: T[], mode: SortMode): T[] {
  if (mode === 'file') return rows;
  return [...rows].sort((a, b) => weakerMargin(a.score) - weakerMargin(b.score) || a.index - b.index);
}
