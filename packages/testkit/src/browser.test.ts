// The comparison the browser suites rely on: it must fail on every kind of disagreement.
import { expect, it } from 'vitest';
import { compareBackends } from './browser.js';
import type { BackendResult } from './browser-page.js';

const wasm: BackendResult = {
  backend: 'wasm',
  ready: true,
  cases: { a: { values: { out: [1, 2, Number.NaN], 'info.kernel': [1] }, leaked: 0, ms: 1 } },
};
const withValues = (values: Record<string, number[]>, extra = {}): BackendResult => ({
  backend: 'webgl',
  ready: true,
  cases: { a: { values, leaked: 0, ms: 1, ...extra } },
});
const tolerance = { atol: 1e-3, rtol: 0 };

it('passes within the tolerance (NaN where wasm has NaN; info.* not compared)', () => {
  const { failures, worst } = compareBackends(
    wasm,
    withValues({ out: [1.0005, 2, Number.NaN], 'info.kernel': [0] }),
    tolerance,
  );
  expect(failures).toEqual([]);
  expect(worst?.ratio).toBeCloseTo(0.5, 3);
});

it('fails on a value out of tolerance, a NaN, a leak, an error, a missing output or case, no backend', () => {
  expect(compareBackends(wasm, withValues({ out: [1.002, 2, Number.NaN] }), tolerance).failures).toHaveLength(
    1,
  );
  expect(
    compareBackends(wasm, withValues({ out: [1, Number.NaN, Number.NaN] }), tolerance).failures,
  ).toHaveLength(1);
  expect(compareBackends(wasm, withValues({ out: [1, 2, 3] }), tolerance).failures).toHaveLength(1);
  expect(
    compareBackends(wasm, withValues({ out: [1, 2, Number.NaN] }, { leaked: 2 }), tolerance).failures[0],
  ).toMatch(/2 tensors left/);
  expect(compareBackends(wasm, withValues({}, { error: 'DataError: x' }), tolerance).failures[0]).toMatch(
    /DataError/,
  );
  expect(compareBackends(wasm, withValues({ out: [1, 2] }), tolerance).failures[0]).toMatch(
    /2 values, 3 expected/,
  );
  expect(compareBackends(wasm, { backend: 'webgl', ready: true, cases: {} }, tolerance).failures[0]).toMatch(
    /not run/,
  );
  expect(
    compareBackends(wasm, { backend: 'webgpu', ready: false, error: 'no adapter', cases: {} }, tolerance)
      .failures[0],
  ).toMatch(/not initialised \(no adapter\)/);
});
