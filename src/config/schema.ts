/**
 * The configuration schema: every knob with its default. Validated once at start; a bad value
 * fails with a message naming the key (see `load.ts`).
 */
import { z } from 'zod';
import { DEFAULT_APPENDIX_COMPRESSION } from '../builders/initramfs/compression.js';
import { parseDuration, parseSize } from './units.js';

const size = (def: string) =>
  z
    .union([z.number(), z.string()])
    .default(def)
    .transform((v, ctx) => {
      const n = parseSize(v);
      if (n === undefined) {
        ctx.addIssue({
          code: 'custom',
          message: `invalid size ${JSON.stringify(v)} (use e.g. 256KiB, 20GiB)`,
        });
        return z.NEVER;
      }
      return n;
    });

const MAX_TIMER_MS = 2 ** 31 - 1;

const duration = (def: string) =>
  z
    .union([z.number(), z.string()])
    .default(def)
    .transform((v, ctx) => {
      const n = parseDuration(v);
      // Node timers overflow past 2^31-1 ms (~24.8 days) and would fire at once.
      if (n !== undefined && n > MAX_TIMER_MS) {
        ctx.addIssue({ code: 'custom', message: `duration ${JSON.stringify(v)} is longer than 24 days` });
        return z.NEVER;
      }
      if (n === undefined) {
        ctx.addIssue({
          code: 'custom',
          message: `invalid duration ${JSON.stringify(v)} (use e.g. 30s, 15m, 1h)`,
        });
        return z.NEVER;
      }
      return n;
    });

/** `HOST:PORT` with an IPv6 host in brackets. */
function isListenAddress(s: string): boolean {
  return (
    /^(\[[0-9a-fA-F:.]+\]|[^:\s[\]]*):\d{1,5}$/.test(s) && Number(s.slice(s.lastIndexOf(':') + 1)) <= 65535
  );
}

const listen = z.string().default('127.0.0.1:8080').refine(isListenAddress, {
  message: 'expected HOST:PORT (e.g. 127.0.0.1:8080, [::1]:8080, 0.0.0.0:80)',
});

const httpUrl = z.string().refine((s) => {
  try {
    const u = new URL(s);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.host !== '';
  } catch {
    return false;
  }
}, 'expected an absolute http(s) URL with a host');

const registryRepo = (registry: string, namespace: string, repository: string) =>
  z
    .strictObject({
      registry: z.string().min(1).default(registry),
      namespace: z.string().default(namespace),
      repository: z.string().min(1).default(repository),
      insecure: z.boolean().default(false),
    })
    .prefault({});

/** The full configuration schema. */
export const configSchema = z
  .strictObject({
    http: z
      .strictObject({
        listen,
        externalURL: httpUrl.optional(),
        externalPXEURL: httpUrl.optional(),
        allowedOrigins: z.array(z.string()).default(['*']),
        bodyLimit: size('256KiB'),
        requestTimeout: duration('30m'),
        /** A request body that sends nothing for this long is answered 408 and its connection closed. */
        bodyIdleTimeout: duration('30s'),
        /** A response the client does not read for this long is cut (its connection is closed). */
        responseIdleTimeout: duration('60s'),
        /** Open client connections at most; more are refused at accept. */
        maxConnections: z.number().int().min(1).default(1024),
        /** On shutdown, in-flight requests get this long; connections still open then are cut. */
        shutdownGracePeriod: duration('30s'),
        /**
         * Behind nginx: the prefix of an `internal` location aliasing the data dir. Cache hits on
         * asset and blob routes then answer with headers and `X-Accel-Redirect`, and nginx sends
         * the file (when the request carries `X-Sendfile-Type: X-Accel-Redirect`). Unset: off.
         */
        accelRedirect: z
          .string()
          .regex(
            /^(\/[A-Za-z0-9._~-]+)+$/,
            'expected a location prefix such as /_factory (no trailing slash, no spaces, ? or #)',
          )
          .refine(
            (s) => !s.split('/').some((seg) => seg === '.' || seg === '..'),
            'must not contain . or .. segments',
          )
          .optional(),
      })
      .prefault({}),
    dataDir: z.string().min(1).default('./data'),
    pxe: z
      .strictObject({
        /** Old UEFI iPXE builds (no LoadFile2) need `initrd=<name>` on the kernel line; BIOS ignores it. */
        uefiInitrdArg: z.boolean().default(true),
      })
      .prefault({}),
    log: z
      .strictObject({
        level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
      })
      .prefault({}),
    schematics: z
      .strictObject({
        store: z.enum(['filesystem', 'registry']).default('filesystem'),
        registry: registryRepo('ghcr.io', 'siderolabs/image-factory', 'schematics'),
        cacheCapacity: z.number().int().min(0).default(100_000),
        cacheMaxBytes: size('64MiB'),
        parsedCacheCapacity: z.number().int().min(0).default(10_000),
        negativeTTL: duration('30s'),
        /** Worker threads that parse schematics off the event loop. */
        parseWorkers: z.number().int().min(1).max(64).default(2),
        /** Parses allowed to wait for a worker; more answer 503 BUSY. */
        parseQueue: z.number().int().min(0).default(64),
        /** Deadline of one parse, queue time included: running → 400 (too complex), queued → 503. */
        parseTimeout: duration('800ms'),
      })
      .prefault({}),
    build: z
      .strictObject({
        /** GRUB module directories; arm64-efi has no Debian amd64 package (grub-efi-arm64-bin:arm64). */
        grubDirs: z
          .strictObject({
            i386Pc: z.string().min(1).optional(),
            x8664Efi: z.string().min(1).optional(),
            arm64Efi: z.string().min(1).optional(),
          })
          .prefault({}),
        minTalosVersion: z.string().default('1.2.0'),
        brokenTalosVersions: z.array(z.string()).default([]),
        maxConcurrency: z.number().int().min(1).max(64).default(2),
        maxQueue: z.number().int().min(0).default(64),
        /** Per extension image: unpacked bytes and archive entries (hostile images are cut off). */
        maxExtensionBytes: size('8GiB'),
        maxExtensionEntries: z.number().int().min(1).default(500_000),
        /** System extensions one build may include (a schematic naming more is a 400 at build time). */
        maxExtensions: z.number().int().min(1).default(64),
        timeout: duration('20m'),
        schematicExtension: z.enum(['schematic', 'flavor']).default('schematic'),
        /** Keep extension bundles, modules.dep layers and microcode archives in the asset cache. */
        reuseIntermediates: z.boolean().default(true),
        /** Initramfs appendix compression; the imager's own is zstdLevel 18, xzPreset "0e". */
        initramfsCompression: z
          .strictObject({
            zstdLevel: z.number().int().min(1).max(19).default(DEFAULT_APPENDIX_COMPRESSION.zstdLevel),
            xzPreset: z
              .string()
              .regex(/^[0-9]e?$/, 'expected an xz preset 0-9, optionally followed by e (e.g. 0e)')
              .default(DEFAULT_APPENDIX_COMPRESSION.xzPreset),
          })
          .prefault({}),
      })
      .prefault({}),
    artifacts: z
      .strictObject({
        /** Where release inputs come from: a registry, or a local OCI layout directory (air-gapped). */
        source: z.enum(['registry', 'oci-layout']).default('registry'),
        layoutDir: z.string().optional(),
        core: z
          .strictObject({
            registry: z.string().min(1).default('ghcr.io'),
            namespace: z.string().default(''),
            insecure: z.boolean().default(false),
            components: z
              .strictObject({
                installerBase: z.string().default('siderolabs/installer-base'),
                installer: z.string().default('siderolabs/installer'),
                imager: z.string().default('siderolabs/imager'),
                extensionManifest: z.string().default('siderolabs/extensions'),
                overlayManifest: z.string().default('siderolabs/overlays'),
              })
              .prefault({}),
          })
          .prefault({}),
        talosVersionRecheckInterval: duration('15m'),
        cacheMaxBytes: size('20GiB'),
        maxManifestSize: size('4MiB'),
        requestTimeout: duration('5m'),
        retries: z.number().int().min(0).max(20).default(4),
      })
      .prefault({}),
    registry: z
      .strictObject({
        /** ECDSA P-256 private key (PEM) signing installer images; unset: one is generated under dataDir. */
        signingKeyPath: z.string().min(1).optional(),
        /** Scale mode: installer images live in this registry and clients are redirected there. */
        external: z
          .strictObject({
            registry: z.string().min(1),
            namespace: z.string().default(''),
            insecure: z.boolean().default(false),
          })
          .optional(),
        /** Largest blob the registry frontend serves or reads out of an installer archive. */
        maxBlobSize: size('16GiB'),
      })
      .prefault({}),
    cache: z
      .strictObject({
        store: z.enum(['filesystem', 'registry']).default('filesystem'),
        maxBytes: size('20GiB'),
        registry: registryRepo('ghcr.io', 'siderolabs/image-factory', 'cache'),
      })
      .prefault({}),
    /** Secure Boot signing; absent (or no key and no `generate`) → `-secureboot` requests answer 400. */
    secureBoot: z
      .strictObject({
        /** UKI / systemd-boot Authenticode key and its certificate (PEM), also signing PK/KEK/db. */
        signingKeyPath: z.string().min(1).optional(),
        signingCertPath: z.string().min(1).optional(),
        signingKeyPassword: z.string().optional(),
        /** RSA key signing the PCR 11 policy (`.pcrsig`); default: the signing key. */
        pcrKeyPath: z.string().min(1).optional(),
        pcrKeyPassword: z.string().optional(),
        /** Without key paths: generate a key pair once and keep it under `<dataDir>/secureboot/`. */
        generate: z.boolean().default(false),
      })
      .optional(),
    /** The Node.js process itself: settings only its launcher can apply (`image-factory node-flags`). */
    runtime: z
      .strictObject({
        /**
         * V8 semi-space size in MiB, pinned at start (min = max); 0 leaves V8 to resize the young
         * generation with the allocation rate, which moves RSS by up to ~30 MiB (see node-flags.ts).
         */
        semiSpaceMiB: z.number().int().min(0).max(256).default(16),
      })
      .prefault({}),
    metrics: z
      .strictObject({
        /** Prometheus `/metrics` listener, apart from the API; empty disables metrics. */
        listen: z
          .string()
          .default('127.0.0.1:2122')
          .refine((s) => s === '' || isListenAddress(s), {
            message: 'expected HOST:PORT (e.g. 127.0.0.1:2122), or empty to disable metrics',
          }),
      })
      .prefault({}),
  })
  .prefault({});

/** Configuration as given (before defaults). */
export type ConfigInput = z.input<typeof configSchema>;
/** Validated configuration with every default filled in. */
export type Config = z.output<typeof configSchema>;
