/**
 * Kendall's τ-a between two rankings of the same items, O(n log n): τ = 1 − 4·D / (n(n−1)),
 * D the discordant pairs, counted as inversions by merge sort. Ties in `b` count as
 * neither concordant nor discordant only when they are also tied in `a`; the simulation
 * passes distinct ranks, so none occur.
 */
export function kendallTau(a: number[], b: number[]): number {
  const n = a.length;
  if (n < 2) return 1;
  const order = a.map((_, i) => i).sort((x, y) => a[x]! - a[y]! || b[x]! - b[y]!);
  const seq = order.map((i) => b[i]!);
  const discordant = inversions(seq, 0, n, new Array<number>(n));
  return 1 - (4 * discordant) / (n * (n - 1));
}

function inversions(xs: number[], lo: number, hi: number, scratch: number[]): number {
  if (hi - lo < 2) return 0;
  const mid = (lo + hi) >>> 1;
  let count = inversions(xs, lo, mid, scratch) + inversions(xs, mid, hi, scratch);
  let i = lo;
  let j = mid;
  let k = lo;
  while (i < mid && j < hi) {
    if (xs[i]! <= xs[j]!) scratch[k++] = xs[i++]!;
    else {
      count += mid - i;
      scratch[k++] = xs[j++]!;
    }
  }
  while (i < mid) scratch[k++] = xs[i++]!;
  while (j < hi) scratch[k++] = xs[j++]!;
  for (let x = lo; x < hi; x++) xs[x] = scratch[x]!;
  return count;
}
