/**
 * The noise of every micro-batch (the VAE posterior sample, the timesteps, the training noise)
 * comes from the engine's Philox stream under a seed derived from the run seed and the
 * micro-batch's number: no RNG state to carry, and a resumed run draws exactly what an
 * uninterrupted one would have.
 */

const MASK64 = (1n << 64n) - 1n;

/** splitmix64's finaliser. */
function mix64(x: bigint): bigint {
  x = (x + 0x9e3779b97f4a7c15n) & MASK64;
  x = ((x ^ (x >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK64;
  x = ((x ^ (x >> 27n)) * 0x94d049bb133111ebn) & MASK64;
  return x ^ (x >> 31n);
}

/** The Philox seed of micro-batch `index` (0-based over the run) of a run seeded `seed`: a safe integer. */
export function microBatchSeed(seed: number, index: number): number {
  const x = mix64((BigInt(seed) << 32n) ^ mix64(BigInt(index)));
  return Number(x >> 11n); // 53 bits
}
