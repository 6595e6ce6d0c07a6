import { describeBackends, expectNoLeak, randomSet } from '@setgen/testkit';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { chamferDistance } from './chamfer-distance.js';
import { chamferDistanceHost } from './chamfer-host.js';
import { earthMoversDistance } from './earth-movers-distance.js';
import { ConfigError, DataError } from './errors.js';
import { hungarianLoss, hungarianMatching } from './hungarian.js';
import { linearSumAssignment } from './linear-sum-assignment.js';
import { sinkhornDistance } from './sinkhorn-distance.js';
import {
  checkBoolean,
  checkChoice,
  checkInteger,
  checkNumber,
  checkOptions,
  checkPositiveInteger,
  is,
  isTensor,
} from './validate.js';

describe('argument checks', () => {
  it('each check returns the value or throws ConfigError naming the argument and what it got', () => {
    expect(checkChoice('sum', 'reduction', ['mean', 'sum'])).toBe('sum');
    expect(() => checkChoice('max', 'reduction', ['mean', 'sum'])).toThrow(
      new ConfigError(`reduction: expected 'mean' | 'sum', got "max"`),
    );
    expect(checkPositiveInteger(3, 'units')).toBe(3);
    for (const bad of [0, -1, 2.5, '3', Number.NaN, null]) {
      expect(() => checkPositiveInteger(bad, 'units')).toThrow(ConfigError);
    }
    expect(() => checkPositiveInteger('3', 'units')).toThrow(/units: expected an integer >= 1, got "3"/);
    expect(() => checkInteger(11, 'k', 0, 10)).toThrow(/k: expected an integer in \[0, 10\], got 11/);
    expect(checkNumber(0.5, 'p', { min: 0, max: 1 })).toBe(0.5);
    expect(() => checkNumber(Number.NaN, 'beta')).toThrow(/beta: expected a finite number, got NaN/);
    expect(() => checkNumber(Number.POSITIVE_INFINITY, 'beta')).toThrow(ConfigError);
    expect(checkNumber(Number.POSITIVE_INFINITY, 'cap', { infinite: true })).toBe(Number.POSITIVE_INFINITY);
    expect(() => checkNumber(0, 'epsilon', { positive: true })).toThrow(
      /epsilon: expected a finite number > 0/,
    );
    expect(() => checkBoolean('false', 'maximize')).toThrow(/maximize: expected true or false, got "false"/);
    expect(() => checkBoolean(0, 'maximize')).toThrow(ConfigError);
  });

  it('checkOptions refuses unknown keys (suggesting the near one), wrong types and non-objects', () => {
    const spec = { maximize: is.boolean, iterations: is.integer(1) };
    expect(checkOptions(undefined, spec)).toEqual({});
    expect(checkOptions({ maximize: true, iterations: undefined }, spec)).toEqual({ maximize: true });
    expect(() => checkOptions({ maximise: true }, spec, 'f options')).toThrow(
      /f options\.maximise: unknown option \(did you mean 'maximize'\?\); expected 'maximize', 'iterations'/,
    );
    expect(() => checkOptions({ learningrate: 1 }, spec)).toThrow(/options\.learningrate: unknown option;/);
    expect(() => checkOptions({ iterations: '5' }, spec, 'f options')).toThrow(
      /f options\.iterations: expected an integer >= 1, got "5"/,
    );
    expect(() => checkOptions(5, spec)).toThrow(/options: expected an options object, got 5/);
    expect(() => checkOptions([1], spec)).toThrow(ConfigError);
  });
});

describeBackends('options of the ops: typos and wrong types are ConfigErrors naming the key', () => {
  it('isTensor tells tensors from look-alikes', () => {
    const t = tf.scalar(1);
    expect(isTensor(t)).toBe(true);
    expect(isTensor({ shape: [1] })).toBe(false);
    expect(isTensor(null)).toBe(false);
    t.dispose();
  });
  it('linearSumAssignment, the losses, the matchings and the host kernels', async () => {
    const cost = [
      [1, 2],
      [3, 0],
    ];
    expect(() => linearSumAssignment(cost, { maximize: 'false' as unknown as boolean })).toThrow(
      /linearSumAssignment options\.maximize: expected true or false, got "false"/,
    );
    expect(() => linearSumAssignment(cost, { maximise: true } as never)).toThrow(
      /maximise: unknown option \(did you mean 'maximize'\?\)/,
    );
    expect(linearSumAssignment(cost, { maximize: false }).cost).toBe(1);
    const a = randomSet(1, [2, 3, 2]);
    const b = randomSet(2, [2, 3, 2]);
    const before = tf.memory().numTensors;
    const calls: [() => unknown, RegExp][] = [
      [
        () => chamferDistance(a, b, { pointreduction: 'sum' } as never),
        /chamferDistance options\.pointreduction: unknown option \(did you mean 'pointReduction'/,
      ],
      [
        () => chamferDistance(a, b, { reduction: 1 } as never),
        /chamferDistance options\.reduction: expected 'none'/,
      ],
      [() => hungarianLoss(a, b, { pairCost: 'l2' } as never), /hungarianLoss options\.pairCost/],
      [
        () => hungarianMatching(a, b, { reduction: 'sum' } as never),
        /hungarianMatching options\.reduction: unknown option/,
      ],
      [
        () => sinkhornDistance(a, b, { epsilon: 0.1, iteration: 5 } as never),
        /iteration: unknown option \(did you mean 'iterations'/,
      ],
      [
        () => sinkhornDistance(a, b, { epsilon: '0.1' } as never),
        /epsilon: expected a finite number > 0, got "0.1"/,
      ],
      [
        () => sinkhornDistance(a, b, 0.1 as never),
        /sinkhornDistance options: expected an options object, got 0.1/,
      ],
    ];
    for (const [call, message] of calls) {
      expect(call).toThrow(ConfigError);
      expect(call).toThrow(message);
    }
    expect(tf.memory().numTensors).toBe(before);
    const host = { values: new Float32Array([0, 0, 1, 1]), n: 2, d: 2 };
    expect(() => earthMoversDistance(host, host, { methods: 'exact' } as never)).toThrow(
      /did you mean 'method'/,
    );
    expect(() => chamferDistanceHost(host, host, { reduction: 'sum' } as never)).toThrow(ConfigError);
    await expectNoLeak(() => chamferDistance(a, b, { pointreduction: 'sum' } as never));
    tf.dispose([a, b]);
  });

  it("an int32 set is a DataError naming the caller's argument, not an internal op", async () => {
    const a = tf.tensor3d(
      [
        [
          [1, 2],
          [3, 4],
        ],
      ],
      undefined,
      'int32',
    );
    const b = randomSet(3, [1, 2, 2]);
    const before = tf.memory().numTensors;
    expect(() => sinkhornDistance(a, b, { epsilon: 0.1 })).toThrow(
      new DataError(`a: expected a float32 tensor, got dtype int32 (cast it with tf.cast(x, 'float32'))`),
    );
    expect(() => chamferDistance(b, { x: a }, {})).toThrow(/^b\.x: expected a float32 tensor/);
    expect(() => hungarianLoss(a, b)).toThrow(/^pred: expected a float32 tensor, got dtype int32/);
    expect(tf.memory().numTensors).toBe(before);
    await expectNoLeak(() => sinkhornDistance(a, b, { epsilon: 0.1 }));
    tf.dispose([a, b]);
  });
});
