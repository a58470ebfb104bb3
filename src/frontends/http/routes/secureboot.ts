/**
 * `GET /secureboot/signing-cert.pem`: the certificate UKIs, systemd-boot and PK/KEK/db are signed
 * with, as configured (upstream answers 500 when Secure Boot is off; here that is a 404 saying so).
 */
import type { FastifyInstance } from 'fastify';
import { FactoryError } from '../../../errors.js';

/** Registers the Secure Boot routes; `certificatePem` undefined = Secure Boot not configured. */
export function registerSecureBootRoutes(app: FastifyInstance, certificatePem: string | undefined): void {
  app.get('/secureboot/signing-cert.pem', async (_request, reply) => {
    if (certificatePem === undefined) {
      throw new FactoryError('NOT_FOUND', 'secure boot is disabled: this factory has no signing certificate');
    }
    return reply.type('application/x-pem-file').send(certificatePem);
  });
}
