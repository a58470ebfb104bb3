/** `image-factory serve`: load config, build the factory, listen until SIGINT/SIGTERM. */
import { loadConfig, type ConfigFlags } from '../config/load.js';
import { createFactory } from '../factory.js';

/** Runs the service; resolves when it has shut down. */
export async function serve(flags: ConfigFlags): Promise<void> {
  const config = loadConfig(flags);
  const factory = await createFactory(config);
  const { url } = await factory.listen();
  factory.app.log.info({ url, dataDir: config.dataDir }, `image-factory listening on ${url}`);
  await new Promise<void>((resolveStop) => {
    const stop = (signal: string) => {
      factory.app.log.info({ signal }, 'shutting down');
      factory.close().then(resolveStop, resolveStop);
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
}
