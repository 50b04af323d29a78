import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
// @ts-expect-error: a plain ESM build script without type declarations
import { compileTreeKernel, treeKernelModule } from '../../scripts/build-wasm.mjs';

describe('random cut tree kernel', () => {
  it('the committed WebAssembly is what models/rcf/assembly/tree.ts compiles to (npm run build:wasm)', async () => {
    const committed = readFileSync(new URL('../../models/rcf/tree-wasm.ts', import.meta.url), 'utf8');
    const fresh = treeKernelModule(await compileTreeKernel()) as string;
    assert.equal(committed, fresh, 'models/rcf/tree-wasm.ts is stale: run npm run build:wasm');
  });
});
