/** `vlv info [--json]`: what this build is, which backend runs, and why CUDA is off when it is. */
import { info } from '../info.js';

export function run(args: string[]): number {
  const i = info();
  if (args.includes('--json')) {
    console.log(JSON.stringify(i, null, 2));
    return 0;
  }
  console.log(`vlv ${i.version} (${i.flavour} flavour, ${i.buildSystem} build)`);
  console.log(`addon:    ${i.addon}`);
  console.log(`backend:  ${i.backend}`);
  console.log(`simd:     ${i.simd}${i.avx512bf16 ? ' (+avx512bf16)' : ''}`);
  console.log(`threads:  ${i.threads}`);
  if (i.cuda.available) {
    for (const d of i.cuda.devices ?? [])
      console.log(
        `cuda:     ${d.name} (sm_${d.computeCapability.replace('.', '')}, ${(d.totalMemory / 2 ** 30).toFixed(1)} GiB)`,
      );
  } else {
    console.log(`cuda:     off — ${i.cuda.reason}`);
  }
  return 0;
}
