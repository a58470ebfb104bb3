/**
 * A go-yaml v3 compatible YAML emitter plus the go-yaml value rules it shares with the decoder.
 */
export { emitYaml, type EmitOptions } from './emitter.js';
export { go, isZero, type GoField, type GoNode, type GoScalar } from './node.js';
export { keyLess, naturalLess, sortEntries } from './sort.js';
export { formatGoFloat } from './strconv.js';
export { formatRfc3339Nano, parseGoTimestamp, type GoTime } from './timestamp.js';
export {
  isBase60Float,
  isOldBool,
  resolveScalar,
  resolvesToString,
  shortTag,
  TAG,
  type Resolved,
} from './resolve.js';
