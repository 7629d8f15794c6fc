// lib/ has no import cycles: type-only and lazy (import()) imports count too. A module that
// needs something from a module importing it is the sign of a missing third module (see
// lib/conformance/cases.ts) or of registration by side effect (see the table in lib/cli.ts).
import test from 'ava';
import madge from 'madge';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..', '..');

test('lib/ has no import cycles', async (t) => {
  const graph = await madge(join(root, 'lib'), {
    fileExtensions: ['ts'],
    tsConfig: join(root, 'tsconfig.json'),
    detectiveOptions: { ts: { skipTypeImports: false, skipAsyncImports: false } },
  });
  const modules = Object.keys(graph.obj());
  // The graph must be real: every module of lib/ seen, imports resolved ('.js' -> '.ts').
  t.true(
    modules.includes('index.ts') && modules.includes('cli.ts') && modules.includes('conformance/run.ts'),
    modules.join(' '),
  );
  t.true(graph.obj()['index.ts']!.includes('tensor.ts'), JSON.stringify(graph.obj()['index.ts']));
  // madge's resolver does not read package.json "exports" (vega-lite declares its entry only
  // there): a bare package name that node resolves is not a missing module.
  const unresolved = graph.warnings().skipped.filter((name) => {
    if (name.startsWith('.') || name.startsWith('/')) return true;
    try {
      import.meta.resolve(name);
      return false;
    } catch {
      return true;
    }
  });
  t.deepEqual(unresolved, []);
  t.deepEqual(
    graph.circular().map((cycle) => cycle.join(' -> ')),
    [],
  );
});
