/**
 * The crowd, as columns (a million shoppers as objects would cost the run its memory):
 * who is a bot, when each arrives, from which address, with which account age, device id
 * and fingerprint. Drawn once from the seed, then shared by the queued and the unqueued run.
 */
import type { SimOptions } from "./options";
import type { Random } from "./random";

export type Crowd = {
  size: number;
  bots: number;
  isBot: Uint8Array;
  /** When the shopper first reaches the door, ms relative to the sale's start (negative: pre-queue). */
  arrivalMs: Float64Array;
  address: Int32Array;
  /** 1: the account is older than the door's minimum age. */
  aged: Uint8Array;
  /** How long before the sale the account was made, seconds (the session's `acct_created`). */
  createdAgoS: Int32Array;
  /** The page's device id (an index; bots draw theirs from a shared farm). */
  device: Int32Array;
  fingerprint: Int32Array;
};

const HOUR_S = 3_600;
const DAY_S = 86_400;

export const shopperId = (i: number) => `shopper-${i}`;
export const deviceId = (crowd: Crowd, i: number) =>
  crowd.isBot[i] ? `bot-device-${crowd.device[i]}` : `device-${crowd.device[i]}`;
export const fingerprintOf = (crowd: Crowd, i: number) =>
  crowd.isBot[i] ? `bot-fp-${crowd.fingerprint[i]}` : `fp-${crowd.fingerprint[i]}`;

export function drawCrowd(options: SimOptions, random: Random, preQueueMs: number): Crowd {
  const { shoppers: size, bots: b, humans: h } = options;
  const bots = Math.round(size * options.botShare);
  const crowd: Crowd = {
    size,
    bots,
    isBot: new Uint8Array(size),
    arrivalMs: new Float64Array(size),
    address: new Int32Array(size),
    aged: new Uint8Array(size),
    createdAgoS: new Int32Array(size),
    device: new Int32Array(size),
    fingerprint: new Int32Array(size),
  };
  const farm = Math.max(1, Math.round(bots * b.devicesPerBot));
  let botsLeft = bots;
  let humanIndex = 0;
  for (let i = 0; i < size; i++) {
    // Exactly `bots` bots, spread at random through the crowd's indices.
    const bot = random.next() * (size - i) < botsLeft;
    crowd.isBot[i] = bot ? 1 : 0;
    if (bot) {
      botsLeft--;
      crowd.arrivalMs[i] = -preQueueMs + random.next() * b.raceMs;
      crowd.address[i] = -1 - random.below(b.addresses);
      crowd.aged[i] = random.chance(b.agedAccounts) ? 1 : 0;
      // A farm makes its accounts in one batch: a month before the sale, or an hour (too new for the door).
      crowd.createdAgoS[i] = crowd.aged[i] ? 30 * DAY_S : HOUR_S;
      crowd.device[i] = random.below(farm);
      crowd.fingerprint[i] = random.below(Math.max(1, b.fingerprints));
    } else {
      crowd.arrivalMs[i] = random.chance(h.early)
        ? -preQueueMs + random.next() * preQueueMs
        : random.exponential(h.surgeMeanSeconds * 1000);
      // Carrier-NAT humans share an address `natSize` at a time; the rest have their own.
      crowd.address[i] = random.chance(h.natShare)
        ? 1_000_000_000 + random.below(Math.ceil((size * h.natShare) / h.natSize))
        : humanIndex;
      crowd.aged[i] = random.chance(h.agedAccounts) ? 1 : 0;
      // People made their accounts on days of their own: between two days and three years ago (or an hour, too new).
      crowd.createdAgoS[i] = crowd.aged[i] ? Math.round((2 + random.next() * 3 * 365) * DAY_S) : HOUR_S;
      crowd.device[i] = humanIndex;
      // Popular phone models: a Zipf-like spread, so a few fingerprints are very common.
      crowd.fingerprint[i] = Math.floor(h.fingerprints * random.next() ** 3);
      humanIndex++;
    }
  }
  return crowd;
}
