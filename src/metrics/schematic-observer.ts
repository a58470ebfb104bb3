/** Counts schematic loads and creations, and tells an asset request which extensions it serves. */
import type { SchematicObserver } from '../storage/schematic-service.js';
import type { FactoryMetrics } from './metrics.js';
import type { MetricsContext } from './request-context.js';

/** The SchematicService observer feeding the schematic counters. */
export function schematicObserver(metrics: FactoryMetrics, context: MetricsContext): SchematicObserver {
  return {
    loaded(s) {
      metrics.schematicGet.inc();
      const ctx = context.current();
      if (ctx) ctx.extensions = s.schematic.customization.systemExtensions?.officialExtensions ?? [];
    },
    created(_s, isNew) {
      (isNew ? metrics.schematicCreate : metrics.schematicDuplicateCreate).inc();
    },
  };
}
