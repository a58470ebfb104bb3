/** Creating a schematic over HTTP, as a client would, in tests that start a listening factory. */
import assert from 'node:assert/strict';

/** POSTs `yaml` to `<url>/schematics`, asserts the 201 and returns the schematic ID. */
export async function postSchematic(url: string, yaml: string): Promise<string> {
  const res = await fetch(`${url}/schematics`, { method: 'POST', body: yaml });
  assert.equal(res.status, 201, `POST /schematics: ${res.status}`);
  return ((await res.json()) as { id: string }).id;
}
