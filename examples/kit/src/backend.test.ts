import * as tf from '@tensorflow/tfjs-core';
import { afterEach, describe, expect, it } from 'vitest';
import { pickBackend } from './backend.js';

describe('pickBackend', () => {
  const saved = process.env.SETGEN_BACKEND;
  afterEach(() => {
    if (saved === undefined) delete process.env.SETGEN_BACKEND;
    else process.env.SETGEN_BACKEND = saved;
  });

  it('takes SETGEN_BACKEND when set, and makes it the active backend', async () => {
    process.env.SETGEN_BACKEND = 'cpu';
    expect(await pickBackend()).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
  });

  it('throws, naming the variable, when SETGEN_BACKEND cannot be initialised', async () => {
    process.env.SETGEN_BACKEND = 'no-such-backend';
    await expect(pickBackend()).rejects.toThrow(/SETGEN_BACKEND=no-such-backend/);
  });

  it('without SETGEN_BACKEND: tfjs-node when installed, else wasm', async () => {
    delete process.env.SETGEN_BACKEND;
    const node = await import(/* @vite-ignore */ '@tensorflow/tfjs-node' as string).catch(() => null);
    const expected = node ? 'tensorflow' : 'wasm';
    expect(await pickBackend()).toBe(expected);
    expect(tf.getBackend()).toBe(expected);
  });
});
