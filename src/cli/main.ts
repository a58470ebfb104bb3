#!/usr/bin/env node
/** Command-line entry point: `image-factory [serve|build|import|version] [flags]`. */
import { parseArgs } from 'node:util';
import { FactoryError } from '../errors.js';
import { factoryVersion } from '../version.js';
import { serve } from './serve.js';

const USAGE = `usage: image-factory <command> [flags]

commands:
  serve     run the factory (default)
  version   print the version

serve flags (each also settable by environment variable):
  --listen HOST:PORT       listen address            IMAGE_FACTORY_LISTEN       (default 127.0.0.1:8080)
  --data-dir DIR           local state and caches    IMAGE_FACTORY_DATA_DIR     (default ./data)
  --config FILE            YAML or JSON config file  IMAGE_FACTORY_CONFIG
  --external-url URL       public base URL           IMAGE_FACTORY_EXTERNAL_URL
  --external-pxe-url URL   base URL for PXE links    IMAGE_FACTORY_EXTERNAL_PXE_URL
  --log-level LEVEL        fatal..trace, silent      IMAGE_FACTORY_LOG_LEVEL
Any config key: IMAGE_FACTORY__<section>__<key>=<value>, e.g. IMAGE_FACTORY__build__maxConcurrency=4
`;

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
    case 'serve': {
      const { values } = parseArgs({
        args: rest,
        options: {
          listen: { type: 'string' },
          'data-dir': { type: 'string' },
          config: { type: 'string' },
          'external-url': { type: 'string' },
          'external-pxe-url': { type: 'string' },
          'log-level': { type: 'string' },
        },
        strict: true,
      });
      await serve({
        listen: values.listen,
        dataDir: values['data-dir'],
        config: values.config,
        externalUrl: values['external-url'],
        externalPxeUrl: values['external-pxe-url'],
        logLevel: values['log-level'],
      });
      return 0;
    }
    default:
      process.stderr.write(`image-factory: unknown command "${command}"\n\n${USAGE}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    if (e instanceof FactoryError) process.stderr.write(`image-factory: ${e.message}\n`);
    else if (e instanceof Error && 'code' in e && String(e.code).startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`image-factory: ${e.message}\n\n${USAGE}`);
    } else process.stderr.write(`image-factory: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  },
);
