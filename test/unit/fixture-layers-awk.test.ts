/**
 * Unit tests for the fixture init's extensions.yaml reader (test/fixtures/assets/layers.awk), run
 * with the host's busybox awk — the same busybox-static build the fixture initramfs carries.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { stringify } from 'yaml';
import { run } from '../fixtures/exec.js';
import { ASSETS_DIR } from '../fixtures/initramfs.js';

const AWK = path.join(ASSETS_DIR, 'layers.awk');

/** Runs the reader on `yaml` and returns [image, name, version] rows. */
async function layers(yaml: string): Promise<string[][]> {
  const { stdout } = await run('busybox', ['awk', '-f', AWK], { input: yaml, timeoutMs: 10_000 });
  return stdout
    .toString('utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => l.split('\t'));
}

const META = {
  layers: [
    {
      image: '0.sqsh',
      metadata: {
        name: 'gvisor',
        version: '20230807.0',
        author: 'Sidero Labs',
        description: 'name: not-a-key\nversion: decoy\n',
        compatibility: { talos: { version: '>= v1.0.0' } },
      },
    },
    {
      image: '1.sqsh',
      metadata: { name: 'schematic', version: 'abc', author: 'Image Factory', description: '' },
    },
    {
      image: 'modules.dep.sqsh',
      metadata: { name: 'modules.dep', version: '6.1.54-talos', author: 'Talos Machinery' },
    },
  ],
};
const EXPECTED = [
  ['0.sqsh', 'gvisor', '20230807.0'],
  ['1.sqsh', 'schematic', 'abc'],
  ['modules.dep.sqsh', 'modules.dep', '6.1.54-talos'],
];

test('reads the yaml.v3 style Talos writes (4-space indent, quoted numbers, block scalars)', async () => {
  const yaml = `layers:
    - image: 0.sqsh
      metadata:
        name: gvisor
        version: "20230807.0"
        author: Sidero Labs
        description: |
            name: not-a-key
            version: decoy
        compatibility:
            talos:
                version: '>= v1.0.0'
    - image: 1.sqsh
      metadata:
        name: schematic
        version: abc
        author: Image Factory
        description: ""
    - image: modules.dep.sqsh
      metadata:
        name: modules.dep
        version: 6.1.54-talos
        author: Talos Machinery
`;
  assert.deepEqual(await layers(yaml), EXPECTED);
});

test('reads eemeli/yaml output (2-space indent) and zero-indent sequences', async () => {
  assert.deepEqual(await layers(stringify(META)), EXPECTED);
  assert.deepEqual(await layers(stringify(META, { indentSeq: false })), EXPECTED);
  assert.deepEqual(await layers(stringify(META, { indent: 4 })), EXPECTED);
});

test('key order inside an item does not matter; CRLF and comments are tolerated', async () => {
  const yaml =
    "# generated\r\nlayers:\r\n  - metadata:\r\n      version: '1'\r\n      name: a\r\n    image: x.sqsh\r\n";
  assert.deepEqual(await layers(yaml), [['x.sqsh', 'a', '1']]);
});

test('no layers key or an empty file gives no rows', async () => {
  assert.deepEqual(await layers(''), []);
  assert.deepEqual(await layers('other:\n  - image: 0.sqsh\n'), []);
  assert.deepEqual(await layers('layers: []\n'), []);
});
