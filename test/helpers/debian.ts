/** Moved to the product side (the demo releases): re-exported for the tests. */
export * from '../../src/demo/debian.js';
