// ava config of the GPU tests (npm run test:gpu): the default `npm test` glob (test/**) never
// sees these files.
export default {
  files: ['test-gpu/**/*.test.ts'],
  extensions: { ts: 'module' },
  nodeArguments: ['--import=tsx'],
  workerThreads: false,
  timeout: '5m',
  concurrency: 1,
};
