#!/usr/bin/env node
import('../dist/cli.js').then((m) => m.main(process.argv.slice(2))).then(
  (code) => process.exit(code ?? 0),
  (e) => {
    console.error(`vlv: ${e && e.message ? e.message : e}`);
    process.exit(2);
  },
);
