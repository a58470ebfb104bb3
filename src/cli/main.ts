#!/usr/bin/env node
/** Command-line entry point: `image-factory [serve|build|import|demo|version] [flags]`. */
import { parseArgs } from 'node:util';
import { loadConfig, type ConfigFlags } from '../config/load.js';
import { FactoryError } from '../errors.js';
import { factoryVersion } from '../version.js';
import { build } from './build.js';
import { demo, parseArches } from './demo.js';
import { importBundle } from './import.js';
import { nodeFlagsFor } from './node-flags.js';
import { serve } from './serve.js';

const USAGE = `usage: image-factory <command> [flags]

commands:
  serve                          run the factory (default)
  build --schematic FILE|ID --version V PATH -o OUT
                                 build one asset offline with the same engine, e.g. PATH=initramfs-amd64.xz
  import DIR|TARBALL             copy a release bundle (OCI layouts) into the configured release source
  demo [--arches amd64,arm64] [--force] [--quiet] [--cache DIR]
                                 build the demo release (Talos-like, from Debian packages) into
                                 <data-dir>/demo-release and print that directory
  node-flags                     print the node flags serve wants (V8 heap sizing: runtime.*), for
                                 \`node $(image-factory node-flags) dist/src/cli/main.js serve\`
  version                        print the version

common flags (each also settable by environment variable):
  --config FILE            YAML or JSON config file  IMAGE_FACTORY_CONFIG
  --data-dir DIR           local state and caches    IMAGE_FACTORY_DATA_DIR     (default ./data)
  --log-level LEVEL        fatal..trace, silent      IMAGE_FACTORY_LOG_LEVEL
serve flags:
  --listen HOST:PORT       listen address            IMAGE_FACTORY_LISTEN       (default 127.0.0.1:8080)
  --external-url URL       public base URL           IMAGE_FACTORY_EXTERNAL_URL
  --external-pxe-url URL   base URL for PXE links    IMAGE_FACTORY_EXTERNAL_PXE_URL
Any config key: IMAGE_FACTORY__<section>__<key>=<value>, e.g. IMAGE_FACTORY__build__maxConcurrency=4
`;

const COMMON = {
  config: { type: 'string' },
  'data-dir': { type: 'string' },
  'log-level': { type: 'string' },
  listen: { type: 'string' },
  'external-url': { type: 'string' },
  'external-pxe-url': { type: 'string' },
} as const;

function flagsOf(values: Record<string, string | boolean | undefined>): ConfigFlags {
  const s = (k: string) => (typeof values[k] === 'string' ? (values[k] as string) : undefined);
  return {
    config: s('config'),
    dataDir: s('data-dir'),
    logLevel: s('log-level'),
    listen: s('listen'),
    externalUrl: s('external-url'),
    externalPxeUrl: s('external-pxe-url'),
  };
}

function usageError(message: string): never {
  throw new FactoryError('CONFIG_INVALID', `${message}\n\n${USAGE}`);
}

async function main(argv: string[]): Promise<number> {
  const first = argv[0];
  const command = first === undefined || first.startsWith('-') ? 'serve' : first;
  const rest = command === first ? argv.slice(1) : argv;
  if (command === 'help' || rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(USAGE);
    return 0;
  }
  switch (command) {
    case 'version':
      process.stdout.write(`image-factory ${factoryVersion()}\n`);
      return 0;
    case 'node-flags': {
      const { values } = parseArgs({ args: rest, options: COMMON, strict: true });
      process.stdout.write(`${nodeFlagsFor(loadConfig(flagsOf(values))).join(' ')}\n`);
      return 0;
    }
    case 'serve': {
      const { values } = parseArgs({ args: rest, options: COMMON, strict: true });
      await serve(flagsOf(values));
      return 0;
    }
    case 'build': {
      const { values, positionals } = parseArgs({
        args: rest,
        options: {
          ...COMMON,
          schematic: { type: 'string' },
          version: { type: 'string' },
          output: { type: 'string', short: 'o' },
        },
        allowPositionals: true,
        strict: true,
      });
      const [path] = positionals;
      if (!values.schematic || !values.version || !values.output || !path || positionals.length !== 1) {
        usageError('build needs --schematic, --version, -o and exactly one asset PATH');
      }
      await build(
        { schematic: values.schematic, version: values.version, path, output: values.output },
        flagsOf(values),
      );
      return 0;
    }
    case 'demo': {
      const { values } = parseArgs({
        args: rest,
        options: {
          ...COMMON,
          arches: { type: 'string' },
          force: { type: 'boolean' },
          quiet: { type: 'boolean' },
          cache: { type: 'string' },
        },
        strict: true,
      });
      const arches = parseArches(values.arches);
      const dir = await demo(flagsOf(values), {
        ...(arches ? { arches } : {}),
        force: values.force === true,
        quiet: values.quiet === true,
        ...(values.cache ? { cacheDir: values.cache } : {}),
      });
      process.stdout.write(`${dir}\n`);
      return 0;
    }
    case 'import': {
      const { values, positionals } = parseArgs({
        args: rest,
        options: COMMON,
        allowPositionals: true,
        strict: true,
      });
      if (positionals.length !== 1 || !positionals[0]) usageError('import needs exactly one DIR or TARBALL');
      const repos = await importBundle(positionals[0], flagsOf(values));
      for (const r of repos) process.stdout.write(`imported ${r.repo}: ${r.tags.join(' ')}\n`);
      return 0;
    }
    default:
      usageError(`unknown command "${command}"`);
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    if (e instanceof FactoryError) process.stderr.write(`image-factory: ${e.message}\n`);
    else if (e instanceof Error && 'code' in e && String(e.code).startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`image-factory: ${e.message}\n\n${USAGE}`);
    } else
      process.stderr.write(`image-factory: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    // 2: the input was wrong (flags, config, schematic, path); 1: the work failed.
    process.exit(e instanceof FactoryError && (e.status < 500 || e.code === 'CONFIG_INVALID') ? 2 : 1);
  },
);
