import { expect } from 'chai';
import { formatBytes } from './format-bytes.js';

describe('formatBytes', () => {
  it('prints binary units, one word, and - when unknown', () => {
    expect(
      [0, 512, 1023, 1024, 1536, 1536 * 1024, 3 * 1024 ** 3, 5 * 1024 ** 4].map(formatBytes),
    ).to.deep.equal(['0B', '512B', '1023B', '1.0KiB', '1.5KiB', '1.5MiB', '3.0GiB', '5.0TiB']);
    expect([null, undefined, NaN].map(formatBytes)).to.deep.equal(['-', '-', '-']);
  });
});
