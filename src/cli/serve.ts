/** `image-factory serve`: load config, build the factory, listen until SIGINT/SIGTERM. */
import { loadConfig, type ConfigFlags } from '../config/load.js';
import { createFactory } from '../factory.js';
import { missingNodeFlags } from './node-flags.js';

/** Runs the service; resolves when it has shut down. */
export async function serve(flags: ConfigFlags): Promise<void> {
  const config = loadConfig(flags);
  const factory = await createFactory(config);
  const { url } = await factory.listen();
  factory.app.log.info({ url, dataDir: config.dataDir }, `image-factory listening on ${url}`);
  const missing = missingNodeFlags(config);
  if (missing) factory.app.log.warn({ execArgv: process.execArgv }, missing);
  await new Promise<void>((resolveStop) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) {
        // A second signal means "now": do not wait for downloads still in flight.
        factory.app.log.warn({ signal }, 'second signal: exiting without waiting');
        process.exit(1);
      }
      stopping = true;
      factory.app.log.info({ signal }, 'shutting down (in-flight requests finish; signal again to force)');
      factory.close().then(resolveStop, resolveStop);
    };
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGTERM', () => stop('SIGTERM'));
  });
}
