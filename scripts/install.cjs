#!/usr/bin/env node
// npm install hook: use the prebuilt addon when it loads here, else build from source —
// cmake-js (full build: CPU addon + the CUDA library when nvcc is found), falling back to
// node-gyp (CPU only) when CMake is missing. VLV_BUILD_FROM_SOURCE=1 forces a build;
// VLV_CUDA=OFF|ON|AUTO is passed to CMake.
'use strict';
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const root = path.resolve(__dirname, '..');

function prebuildLoads() {
  try {
    const file = require('node-gyp-build').resolve(root);
    const addon = require(file);
    addon.info();
    console.log(`vlv: using ${path.relative(root, file)}`);
    return true;
  } catch {
    return false;
  }
}

function run(cmd, args) {
  console.log(`vlv: ${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', shell: false });
  return r.status === 0;
}

function which(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

if (process.env.VLV_BUILD_FROM_SOURCE !== '1' && prebuildLoads()) process.exit(0);

const cmakeJs = path.join(path.dirname(require.resolve('cmake-js/package.json')), 'bin', 'cmake-js');
const cuda = process.env.VLV_CUDA ?? 'AUTO';
if (which('cmake') && run(process.execPath, [cmakeJs, 'build', '--out', 'build', `--CDVLV_CUDA=${cuda}`])) process.exit(0);

console.log('vlv: cmake-js build unavailable or failed; trying node-gyp (CPU only)');
// npm sets npm_config_node_gyp to its bundled node-gyp while it runs install scripts.
const nodeGyp = (() => {
  try {
    return require.resolve('node-gyp/bin/node-gyp.js');
  } catch {
    return process.env.npm_config_node_gyp || null;
  }
})();
// Node's own headers, where the distribution ships them, keep node-gyp offline.
const gypArgs = ['rebuild', '-j', '2'];
if (!process.env.npm_config_nodedir && require('node:fs').existsSync('/usr/include/node/node_api.h'))
  gypArgs.push('--nodedir=/usr');
if (nodeGyp && run(process.execPath, [nodeGyp, ...gypArgs])) process.exit(0);
if (!nodeGyp && which('node-gyp') && run('node-gyp', gypArgs)) process.exit(0);
console.error('vlv: could not build the native addon (need CMake or node-gyp, and a C++17 compiler)');
process.exit(1);
