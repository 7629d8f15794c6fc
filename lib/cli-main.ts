/** Runs the CLI from the TypeScript sources (`node --import tsx lib/cli-main.ts <command>`). */
import { main } from './cli.js';

process.exitCode = await main(process.argv.slice(2));
