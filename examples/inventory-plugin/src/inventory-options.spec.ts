import { expect } from 'chai';
import path from 'node:path';
import { resolveInventoryOptions } from './inventory-options.js';

describe('resolveInventoryOptions', () => {
  it('prefers options, then INVENTORY_FILE, then inventory.json in the working directory', () => {
    expect(
      resolveInventoryOptions({ file: '/a.json' }, { INVENTORY_FILE: '/b.json' }).file,
    ).to.equal('/a.json');
    expect(resolveInventoryOptions({}, { INVENTORY_FILE: '/b.json' }).file).to.equal('/b.json');
    expect(resolveInventoryOptions({}, { INVENTORY_FILE: '  ' }).file).to.equal(
      path.resolve('inventory.json'),
    );
    expect(resolveInventoryOptions({}, {}).debounce).to.deep.equal({
      quietMs: 500,
      maxWaitMs: 5_000,
    });
  });
});
