/**
 * The OpenAPI 3.1 description of the HTTP API, served at `/openapi.json` (upstream has none:
 * siderolabs/image-factory#477). A test checks that every registered route is documented here.
 */
import { ERROR_CATALOG } from '../../errors.js';

type Json = Record<string, unknown>;

const text = (description: string): Json => ({
  description,
  content: { 'text/plain': { schema: { type: 'string' } } },
});
const json = (description: string, schema: Json): Json => ({
  description,
  content: { 'application/json': { schema } },
});
const binary = (description: string): Json => ({
  description,
  content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } },
});

const param = (name: string, description: string, example?: string): Json => ({
  name,
  in: 'path',
  required: true,
  description,
  schema: { type: 'string' },
  ...(example ? { example } : {}),
});

const SCHEMATIC = param(
  'schematic',
  'Schematic ID: 64 lowercase hex characters',
  '376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba',
);
const VERSION = param('version', 'Talos version, with or without the leading v', 'v1.10.6');

const errors = (...statuses: number[]): Json =>
  Object.fromEntries(statuses.map((s) => [String(s), { $ref: '#/components/responses/Error' }]));

const schematicBody = {
  required: true,
  description:
    'Schematic as YAML or JSON (Content-Type is ignored; JSON is YAML). Unknown and duplicate keys are rejected.',
  content: {
    'application/yaml': { schema: { $ref: '#/components/schemas/Schematic' } },
    'application/json': { schema: { $ref: '#/components/schemas/Schematic' } },
  },
};

/** Builds the OpenAPI document for a factory of `version`. */
export function openApiDocument(version: string): Json {
  return {
    openapi: '3.1.0',
    info: {
      title: 'image-factory',
      version,
      description:
        'Builds Talos Linux boot assets from schematics on demand. Errors are text/plain `<message>\\n`, or `{"code","message"}` with `Accept: application/json`.',
    },
    paths: {
      '/schematics': {
        post: {
          summary: 'Create a schematic (idempotent); the ID is the sha256 of its canonical YAML',
          requestBody: schematicBody,
          responses: {
            '201': json('Created (or already known)', {
              type: 'object',
              required: ['id', 'schematic'],
              properties: {
                id: { type: 'string', pattern: '^[a-f0-9]{64}$' },
                schematic: { type: 'string' },
              },
            }),
            ...errors(400, 408, 413, 503, 507),
          },
        },
      },
      '/flavor': {
        post: {
          summary: 'Create a schematic through the original Image Service API',
          requestBody: schematicBody,
          responses: {
            '201': json('Created', {
              type: 'object',
              required: ['id'],
              properties: { id: { type: 'string' } },
            }),
            ...errors(400, 408, 413, 503, 507),
          },
        },
      },
      '/schematics/{schematic}': {
        get: {
          summary: 'The canonical YAML of a schematic',
          parameters: [SCHEMATIC],
          responses: {
            '200': {
              description: 'Canonical bytes',
              content: { 'application/yaml': { schema: { type: 'string' } } },
            },
            ...errors(404),
          },
        },
      },
      '/versions': {
        get: {
          summary: 'Offered Talos versions, ascending',
          parameters: [
            {
              name: 'broken',
              in: 'query',
              schema: { type: 'string', enum: ['true'] },
              description: 'List the configured broken versions instead',
            },
          ],
          responses: {
            '200': json('Versions', { type: 'array', items: { type: 'string' } }),
            ...errors(502, 504),
          },
        },
      },
      '/version/{version}/extensions/official': {
        get: {
          summary: 'Official system extensions of a Talos version',
          parameters: [VERSION],
          responses: {
            '200': json('Extensions in catalog order', {
              type: 'array',
              items: {
                type: 'object',
                properties: Object.fromEntries(
                  ['name', 'ref', 'digest', 'author', 'description'].map((k) => [k, { type: 'string' }]),
                ),
              },
            }),
            ...errors(400, 404, 502, 504),
          },
        },
      },
      '/version/{version}/overlays/official': {
        get: {
          summary: 'Official overlays of a Talos version (empty before 1.7)',
          parameters: [VERSION],
          responses: {
            '200': json('Overlays', {
              type: 'array',
              items: {
                type: 'object',
                properties: Object.fromEntries(
                  ['name', 'image', 'ref', 'digest'].map((k) => [k, { type: 'string' }]),
                ),
              },
            }),
            ...errors(400, 404, 502, 504),
          },
        },
      },
      '/image/{schematic}/{version}/{path}': {
        get: {
          summary:
            'A boot asset, built on first request and cached; `<path>.sha256`/`.sha512` give checksum files',
          parameters: [
            SCHEMATIC,
            VERSION,
            param(
              'path',
              'Asset path (kernel-amd64, cmdline-metal-amd64, initramfs-amd64.xz, …), optionally + .sha256/.sha512',
              'initramfs-amd64.xz',
            ),
            {
              name: 'filename',
              in: 'query',
              schema: { type: 'string' },
              description: 'Download filename override',
            },
            { name: 'Range', in: 'header', schema: { type: 'string' }, description: 'A single byte range' },
          ],
          responses: {
            '200': binary('The asset (ETag = its sha256)'),
            '206': binary('A byte range of the asset'),
            '304': { description: 'Not modified (If-None-Match matched)' },
            ...errors(400, 404, 412, 416, 500, 501, 502, 503, 504, 507),
          },
        },
      },
      '/pxe/{schematic}/{version}/{path}': {
        get: {
          summary: 'iPXE script booting this schematic',
          parameters: [SCHEMATIC, VERSION, param('path', '<platform>-<arch>[-secureboot]', 'metal-amd64')],
          responses: { '200': text('iPXE script'), ...errors(400, 404, 502, 503, 507) },
        },
      },
      '/openapi.json': {
        get: { summary: 'This document', responses: { '200': json('OpenAPI 3.1', { type: 'object' }) } },
      },
      '/healthz': { get: { summary: 'Liveness', responses: { '200': { description: 'Alive' } } } },
      '/readyz': {
        get: { summary: 'Readiness', responses: { '200': { description: 'Ready' }, ...errors(503) } },
      },
    },
    components: {
      responses: {
        Error: {
          description: 'An error with a stable code',
          content: {
            'text/plain': { schema: { type: 'string' } },
            'application/json': { schema: { $ref: '#/components/schemas/Error' } },
          },
        },
      },
      schemas: {
        Error: {
          type: 'object',
          required: ['code', 'message'],
          properties: {
            code: { type: 'string', enum: Object.keys(ERROR_CATALOG) },
            message: { type: 'string' },
          },
        },
        Schematic: {
          type: 'object',
          additionalProperties: false,
          properties: {
            overlay: {
              type: 'object',
              additionalProperties: false,
              properties: {
                image: { type: 'string' },
                name: { type: 'string' },
                options: { type: 'object' },
              },
            },
            customization: {
              type: 'object',
              additionalProperties: false,
              properties: {
                embeddedMachineConfiguration: { type: 'string' },
                extraKernelArgs: { type: 'array', items: { type: 'string' } },
                meta: {
                  type: 'array',
                  items: {
                    type: 'object',
                    properties: {
                      key: { type: 'integer', minimum: 0, maximum: 255 },
                      value: { type: 'string' },
                    },
                  },
                },
                systemExtensions: {
                  type: 'object',
                  properties: { officialExtensions: { type: 'array', items: { type: 'string' } } },
                },
                bootloader: { type: 'string', enum: ['none', 'dual-boot', 'sd-boot', 'grub'] },
                secureboot: {
                  type: 'object',
                  properties: {
                    enrollKeys: { type: 'string', enum: ['off', 'manual', 'if-safe', 'force'] },
                    includeWellKnownCertificates: { type: 'boolean' },
                  },
                },
                diskImage: { type: 'object', properties: { sectorSize: { type: 'integer', minimum: 0 } } },
              },
            },
          },
        },
      },
    },
  };
}
