/**
 * Intersection-over-union and greedy non-maximum suppression. Detectors fire on many overlapping
 * anchors around each face; NMS keeps the best-scoring box of every cluster.
 */

/** A box as corners: x1, y1 (top-left) and x2, y2 (bottom-right), x2 >= x1, y2 >= y1. */
export type Corners = readonly [number, number, number, number];

export interface Scored {
  readonly box: Corners;
  readonly score: number;
}

/** Area of overlap divided by area of union; 0 for disjoint or empty boxes. */
export function iou(a: Corners, b: Corners): number {
  const w = Math.min(a[2], b[2]) - Math.max(a[0], b[0]);
  const h = Math.min(a[3], b[3]) - Math.max(a[1], b[1]);
  if (w <= 0 || h <= 0) return 0;
  const inter = w * h;
  const union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter;
  return union > 0 ? inter / union : 0;
}

/**
 * Greedy NMS: walks the items from the highest score down and keeps one unless it overlaps an
 * already-kept item by more than `iouThreshold`. Returns the kept items, highest score first; ties
 * keep their input order (the sort is stable), which lets callers rank equal scores themselves.
 * @param limit stop after this many kept items (a cap on work for pathological inputs).
 */
export function nonMaxSuppression<T extends Scored>(items: readonly T[], iouThreshold: number, limit = Infinity): T[] {
  const sorted = [...items].sort((a, b) => b.score - a.score);
  const kept: T[] = [];
  for (const item of sorted) {
    if (kept.length >= limit) break;
    if (kept.every((k) => iou(k.box, item.box) <= iouThreshold)) kept.push(item);
  }
  return kept;
}
