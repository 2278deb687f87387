/**
 * A pause of about `ms`, spread over 50–150 %: a crowd dropped at the same moment comes
 * back spread out, not as one wave.
 */
export function jittered(ms: number, random: () => number = Math.random): number {
  return Math.round(ms * (0.5 + random()));
}
