// Entry for running the CLI from sources (`node --import tsx lib/cli-main.ts ...`); the
// installed `vlv` binary (bin/vlv.js) runs the compiled dist/cli.js the same way.
import { main } from './cli.js';

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(`vlv: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(2);
  },
);
