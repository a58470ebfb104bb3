/**
 * The OpenAPI 3.1 description of the HTTP API, served at `/openapi.json` (upstream has none:
 * siderolabs/image-factory#477). A test checks that every registered route is documented here.
 */
import { ERROR_CATALOG } from '../../errors.js';
import { REGISTRY_OPENAPI_PATHS } from '../registry/openapi-paths.js';

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

const html = (description: string): Json => ({
  description,
  content: { 'text/html': { schema: { type: 'string' } } },
});

const query = (name: string, description: string, extra: Json = {}): Json => ({
  name,
  in: 'query',
  description,
  schema: { type: 'string' },
  ...extra,
});

/** The web wizard (`src/frontends/ui`): HTML pages whose state is in the query string. */
function uiPaths(): Json {
  return {
    '/': {
      get: {
        summary:
          'The web wizard: every step is this page; the final step (`step=final`) creates the schematic like POST /schematics and lists what this factory can deliver for it — each asset planned (never built) first, linked with its build status at page time and the relative URL of its status stream (`data-status-url`, `GET`/`POST /status/…`), or listed as unavailable with the reason the asset route gives',
        parameters: [
          query('step', 'Step to show', {
            schema: {
              type: 'string',
              enum: ['target', 'version', 'platform', 'board', 'arch', 'extensions', 'customize', 'final'],
            },
          }),
          query('target', 'metal, cloud or sbc'),
          query('version', 'Talos version (without the leading v)', { example: '1.10.6' }),
          query('platform', 'Cloud platform (target cloud)'),
          query('board', 'Overlay name (target sbc)'),
          query('arch', 'amd64 or arm64'),
          query(
            'secureboot',
            'true for Secure Boot assets (offered only when Secure Boot signing is configured)',
          ),
          {
            name: 'extensions',
            in: 'query',
            description: 'Official extension names (repeated)',
            schema: { type: 'array', items: { type: 'string' } },
            style: 'form',
            explode: true,
          },
          query('cmdline', 'Extra kernel arguments, space-separated'),
          query('bootloader', 'auto, dual-boot, sd-boot or grub (Talos ≥ 1.12)'),
          query('overlay-options', 'Overlay options as YAML (target sbc)'),
          query('meta', 'META values, one KEY=VALUE per line'),
          query('q', 'Extension search text'),
          query('schematic-id', 'Pre-fill the wizard from an existing schematic'),
        ],
        responses: {
          '200': html('A wizard page'),
          '400': html('The page of the first step whose choice is invalid, with the reason'),
          '404': html('The first step, saying the schematic-id is unknown'),
          ...errors(502, 504),
        },
      },
    },
    '/ui/static/{file}': {
      get: {
        summary: "The wizard's stylesheet, script and icon (immutable when `v` is the content hash)",
        parameters: [
          param('file', 'wizard.css, wizard.js or favicon.svg', 'wizard.css'),
          query('v', 'Content hash, as the pages link it'),
        ],
        responses: {
          '200': { description: 'The file' },
          '304': { description: 'Not modified (If-None-Match matched)' },
          ...errors(404),
        },
      },
    },
  };
}

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
      '/status/{schematic}/{version}/{path}': {
        get: {
          summary:
            "Where the build of an asset stands: ready (size, sha256), idle, queued (position), building (step, elapsed), failed (the asset route's message). `Accept: text/event-stream` streams changes until ready or failed",
          parameters: [SCHEMATIC, VERSION, param('path', 'Asset path, as for /image', 'metal-amd64.iso')],
          responses: {
            '200': {
              description: 'The status (JSON), or an SSE stream of `status` events',
              content: {
                'application/json': { schema: { $ref: '#/components/schemas/AssetStatus' } },
                'text/event-stream': { schema: { type: 'string' } },
              },
            },
            ...errors(400, 404, 501, 502, 504),
          },
        },
        post: {
          summary: 'Starts building the asset without downloading it',
          parameters: [SCHEMATIC, VERSION, param('path', 'Asset path, as for /image', 'metal-amd64.iso')],
          responses: {
            '202': json('Build started (or already cached); the status now', {
              $ref: '#/components/schemas/AssetStatus',
            }),
            ...errors(400, 404, 501, 502, 503, 504),
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
      ...uiPaths(),
      '/secureboot/signing-cert.pem': {
        get: {
          summary: 'The Secure Boot signing certificate (UKIs, systemd-boot, PK/KEK/db)',
          responses: {
            '200': {
              description: 'PEM certificate',
              content: { 'application/x-pem-file': { schema: { type: 'string' } } },
            },
            ...errors(404),
          },
        },
      },
      '/openapi.json': {
        get: { summary: 'This document', responses: { '200': json('OpenAPI 3.1', { type: 'object' }) } },
      },
      '/healthz': { get: { summary: 'Liveness', responses: { '200': { description: 'Alive' } } } },
      '/readyz': {
        get: { summary: 'Readiness', responses: { '200': { description: 'Ready' }, ...errors(503) } },
      },
      ...REGISTRY_OPENAPI_PATHS,
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
        AssetStatus: {
          type: 'object',
          required: ['state'],
          properties: {
            state: { type: 'string', enum: ['ready', 'idle', 'queued', 'building', 'failed'] },
            size: { type: 'integer' },
            sha256: { type: 'string' },
            position: {
              type: 'integer',
              description: 'Place in the build queue (1 = next; 0 = requested, not queued yet)',
            },
            kind: { type: 'string', description: 'Asset kind being built or waited for' },
            dependency: {
              type: 'string',
              description: 'Set when the asset waits for one it is made from (e.g. an ISO for its initramfs)',
            },
            step: { type: 'string', description: 'The build step, e.g. `initramfs: squash extension 0`' },
            elapsedMs: { type: 'integer' },
            code: { type: 'string' },
            message: { type: 'string' },
          },
        },
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
