/**
 * The registry frontend's part of `/openapi.json`. The OCI distribution API has its own spec; this
 * documents which of its routes the factory answers and how.
 */
type Json = Record<string, unknown>;

const pathParam = (name: string, description: string, example: string): Json => ({
  name,
  in: 'path',
  required: true,
  description,
  schema: { type: 'string' },
  example,
});

const REPO = [
  pathParam(
    'ns',
    'Installer image (`installer`, `installer-secureboot`, `<platform>-installer[-secureboot]`), or `siderolabs` for the source-image proxy',
    'installer',
  ),
  pathParam(
    'name',
    'Schematic ID, or the proxied release image (`imager`, `installer`, `installer-base`, `extensions`, `overlays`)',
    '376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba',
  ),
];

const ociError = (description: string): Json => ({
  description,
  content: {
    'application/json': {
      schema: {
        type: 'object',
        properties: {
          errors: {
            type: 'array',
            items: {
              type: 'object',
              properties: { code: { type: 'string' }, message: { type: 'string' }, detail: {} },
            },
          },
        },
      },
    },
  },
});

const errors = (statuses: Record<string, string>): Json =>
  Object.fromEntries(Object.entries(statuses).map(([s, d]) => [s, ociError(d)]));

const ping = {
  get: {
    summary: 'Registry API ping (OCI distribution); write methods anywhere under /v2 answer 405 UNSUPPORTED',
    responses: {
      '200': { description: 'Registry API v2 (`Docker-Distribution-API-Version: registry/2.0`)' },
    },
  },
};

/** The registry routes, keyed like `openApiDocument`'s paths. */
export const REGISTRY_OPENAPI_PATHS: Readonly<Record<string, Json>> = {
  '/v2/': ping,
  '/v2': ping,
  '/v2/{ns}/{name}/manifests/{reference}': {
    get: {
      summary:
        'Installer image index (built for amd64 + arm64 on first pull, cosign-signed), a manifest by digest, a signature tag, or a proxied release manifest; `latest` = newest stable version',
      parameters: [
        ...REPO,
        pathParam('reference', 'Talos version tag, `latest`, a digest or `sha256-<hex>.sig`', 'v1.10.6'),
      ],
      responses: {
        '200': { description: 'The manifest (`Docker-Content-Digest`, OCI media type)' },
        '307': { description: 'Scale mode: redirect to the external registry' },
        ...errors({
          '400': 'NAME_INVALID (invalid image)',
          '404': 'NAME_UNKNOWN / MANIFEST_UNKNOWN',
          '405': 'UNSUPPORTED (read-only)',
          '501': 'UNSUPPORTED (an asset kind not implemented yet)',
          '502': 'release source failure',
        }),
      },
    },
  },
  '/v2/{ns}/{name}/blobs/{digest}': {
    get: {
      summary: 'A blob of an installer image or a proxied release image; single byte ranges',
      parameters: [...REPO, pathParam('digest', 'Blob digest', 'sha256:…')],
      responses: {
        '200': { description: 'The blob' },
        '206': { description: 'A byte range of the blob' },
        '307': { description: 'Scale mode: redirect to the external registry' },
        ...errors({ '404': 'BLOB_UNKNOWN', '416': 'RANGE_INVALID' }),
      },
    },
  },
  '/v2/{ns}/{name}/tags/list': {
    get: {
      summary:
        'Offered Talos versions (installer repositories) or the proxied repository tags; `?n=&last=` pages',
      parameters: REPO,
      responses: {
        '200': {
          description: 'Tag list',
          content: {
            'application/json': {
              schema: {
                type: 'object',
                properties: { name: { type: 'string' }, tags: { type: 'array', items: { type: 'string' } } },
              },
            },
          },
        },
        ...errors({ '400': 'NAME_INVALID', '404': 'NAME_UNKNOWN' }),
      },
    },
  },
  '/oci/cosign/signing-key.pub': {
    get: {
      summary: 'Public key verifying installer image signatures (`cosign verify --key`)',
      responses: {
        '200': {
          description: 'ECDSA P-256 public key',
          content: { 'application/x-pem-file': { schema: { type: 'string' } } },
        },
      },
    },
  },
};
