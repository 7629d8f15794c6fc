/**
 * `vlv conformance <folder> [--device cpu|cuda]`: checks a reference folder in the golden
 * format (lib/conformance/run.ts); one JSON line per case, exit 1 on any failure.
 */
import { runConformance } from '../conformance/run.js';

export async function run(args: string[]): Promise<number> {
  const folder = args.find((a, i) => !a.startsWith('--') && args[i - 1] !== '--device');
  if (!folder) {
    console.error('usage: vlv conformance <folder>');
    return 2;
  }
  const at = args.indexOf('--device');
  const device = at >= 0 ? args[at + 1] : 'cpu';
  if (device !== 'cpu' && device !== 'cuda') {
    console.error(`vlv conformance: --device takes cpu or cuda, not '${device}'`);
    return 2;
  }
  const results = await runConformance(
    folder,
    (r) =>
      console.log(
        JSON.stringify({
          case: r.case,
          maxAbs: r.maxAbs,
          rel: r.rel,
          tol: r.tol,
          pass: r.pass,
          ...(r.error ? { error: r.error } : {}),
        }),
      ),
    { device },
  );
  const failed = results.filter((r) => !r.pass).length;
  console.error(`${results.length - failed} passed, ${failed} failed`);
  return failed === 0 ? 0 : 1;
}
