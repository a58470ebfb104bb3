/** Counts schematic loads and creations. */
import type { SchematicObserver } from '../storage/schematic-service.js';
import type { FactoryMetrics } from './metrics.js';

/** The SchematicService observer feeding the schematic counters. */
export function schematicObserver(metrics: FactoryMetrics): SchematicObserver {
  return {
    loaded() {
      metrics.schematicGet.inc();
    },
    created(_s, isNew) {
      (isNew ? metrics.schematicCreate : metrics.schematicDuplicateCreate).inc();
    },
  };
}
