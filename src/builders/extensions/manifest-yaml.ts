/**
 * yaml.v3-identical serialisation of the two shapes we write: an extension `manifest.yaml` and the
 * initramfs `extensions.yaml` (talos-imager §2.4, errata E6), through the shared go-yaml emitter
 * with the Go structs' field order and omitempty tags.
 */
import { emitYaml, go, type GoNode } from '../../schematic/goyaml/index.js';
import type { ExtensionManifest, ExtensionMetadata } from './manifest.js';

/** Go `extensions.Metadata`: every field emitted but `extraInfo` (omitempty). */
function metadataNode(m: ExtensionMetadata): GoNode {
  return go.struct([
    go.field('name', go.str(m.name)),
    go.field('version', go.str(m.version)),
    go.field('author', go.str(m.author)),
    go.field('description', go.str(m.description)),
    go.field(
      'compatibility',
      go.struct([go.field('talos', go.struct([go.field('version', go.str(m.compatibility.talos.version))]))]),
    ),
    go.field('extraInfo', go.str(m.extraInfo ?? ''), true),
  ]);
}

/** The bytes yaml.v3 writes for a manifest (struct order; `extraInfo` omitted when empty). */
export function emitManifest(manifest: ExtensionManifest): string {
  return emitYaml(
    go.struct([
      go.field('version', go.str(manifest.version)),
      go.field('metadata', metadataNode(manifest.metadata)),
    ]),
  );
}

/** One `extensions.yaml` layer: the squashfs file name and the extension's metadata. */
export interface ExtensionsLayer {
  image: string;
  metadata: ExtensionMetadata;
}

/** The bytes of `/extensions.yaml` for the given layers, in order. */
export function emitExtensionsConfig(layers: readonly ExtensionsLayer[]): string {
  return emitYaml(
    go.struct([
      go.field(
        'layers',
        go.seq(
          layers.map((l) =>
            go.struct([go.field('image', go.str(l.image)), go.field('metadata', metadataNode(l.metadata))]),
          ),
        ),
      ),
    ]),
  );
}
