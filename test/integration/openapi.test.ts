/** `/openapi.json` documents every route the factory registers (and nothing that does not exist). */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { makeTestFactory, type TestFactory } from '../helpers/factory.js';

describe('/openapi.json', () => {
  let t: TestFactory;
  before(async () => {
    t = await makeTestFactory();
  });
  after(() => t.cleanup());

  it('is OpenAPI 3.1 and covers exactly the registered routes', async () => {
    const res = await t.factory.app.inject('/openapi.json');
    assert.equal(res.statusCode, 200);
    const doc = res.json() as { openapi: string; paths: Record<string, Record<string, unknown>> };
    assert.equal(doc.openapi, '3.1.0');
    // Fastify's route tree (children indented under their prefix); parameter names are compared
    // as placeholders: `/schematics/:id` ~ `/schematics/{schematic}`.
    const generic = (p: string) => p.replace(/:[a-zA-Z]+|\{[a-zA-Z]+\}/g, '{}');
    const stack: string[] = [];
    const registered = new Set<string>();
    for (const line of t.factory.app.printRoutes({ commonPrefix: false }).split('\n')) {
      const m = /^([│ ]*)[├└]── (\S+) \(([^)]+)\)/.exec(line);
      if (!m?.[2] || !m[3]) continue;
      const depth = (m[1] ?? '').length / 4;
      stack.length = depth;
      stack.push(m[2]);
      const methods = m[3].split(',').map((x) => x.trim().toLowerCase());
      if (methods.every((x) => x === 'head' || x === 'options')) continue;
      registered.add(generic(stack.join('')));
    }
    assert.ok(registered.size >= 10, [...registered].join(' '));
    const documented = new Set(Object.keys(doc.paths).map(generic));
    for (const r of registered) assert.ok(documented.has(r), `route ${r} is not documented`);
    for (const d of documented) assert.ok(registered.has(d), `documented path ${d} is not a route`);
  });
});
