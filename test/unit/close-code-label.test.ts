import { describe, expect, it } from 'vitest';
import { closeCodeLabel } from '../../src/metrics/metrics.js';

describe('closeCodeLabel', () => {
  it.each([
    [1000, '1000'], [1006, '1006'], [1008, '1008'], [1011, '1011'], [1015, '1015'],
    [429, '429'], [401, '401'],
    [3000, '3xxx'], [3999, '3xxx'], [4000, '4xxx'], [4321, '4xxx'], [4999, '4xxx'],
    [1016, 'other'], [2000, 'other'], [5000, 'other'], [0, 'other'],
  ])('%i → %s', (code, label) => {
    expect(closeCodeLabel(code)).toBe(label);
  });
});
