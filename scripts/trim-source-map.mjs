// @ts-check
/**
 * Keeps only the layer's own sources (`src/`) in the bundle's source map, so that `npm start`
 * can run with `--enable-source-maps` at a small memory cost while log stack traces still name
 * `src/…:line`.
 *
 * Why: the full map of `dist/server.js` covers ~940 bundled files (almost all of them in
 * `node_modules`) with ~400 000 mapping segments. Node reads the whole map at start-up and, at
 * the first stack trace it formats, parses it into one array per segment — ~55 MB of resident
 * memory for a process whose live heap is ~40 MB. Frames inside dependencies are rarely what a
 * log reader needs; ours are. Node resolves a position to the closest segment at or before it,
 * so dropping a dependency's segments would blame the `src/` file bundled before it: each run of
 * dropped segments is replaced by one segment without a source, and frames there keep their
 * position in `dist/server.js`.
 *
 *   node scripts/trim-source-map.mjs dist/server.js.map
 */
import { readFileSync, writeFileSync } from 'node:fs';
import process from 'node:process';

const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const DIGIT = new Map([...BASE64].map((char, i) => [char, i]));

/** @typedef {{ source: number; line: number; column: number; name: number }} Position */

/**
 * One line of `mappings` as absolute segments: [column] or [column, source, line, column, name?].
 * @param {string} line
 * @param {Position} state the previous segment's original position (carried across lines)
 * @returns {number[][]}
 */
function decodeLine(line, state) {
  /** @type {number[][]} */
  const segments = [];
  let column = 0;
  for (const text of line.split(',')) {
    if (text === '') continue;
    const deltas = [];
    let value = 0;
    let shift = 0;
    for (const char of text) {
      const digit = DIGIT.get(char);
      if (digit === undefined) throw new Error(`not a base64 VLQ digit: ${char}`);
      value += (digit & 31) << shift;
      if (digit & 32) {
        shift += 5;
        continue;
      }
      deltas.push(value & 1 ? -(value >>> 1) : value >>> 1);
      value = 0;
      shift = 0;
    }
    column += deltas[0] ?? 0;
    if (deltas.length === 1) {
      segments.push([column]);
      continue;
    }
    state.source += deltas[1] ?? 0;
    state.line += deltas[2] ?? 0;
    state.column += deltas[3] ?? 0;
    if (deltas.length >= 5) {
      state.name += deltas[4] ?? 0;
      segments.push([column, state.source, state.line, state.column, state.name]);
    } else segments.push([column, state.source, state.line, state.column]);
  }
  return segments;
}

/** @param {number} value */
function vlq(value) {
  let rest = value < 0 ? (-value << 1) | 1 : value << 1;
  let out = '';
  do {
    let digit = rest & 31;
    rest >>>= 5;
    if (rest > 0) digit |= 32;
    out += BASE64[digit];
  } while (rest > 0);
  return out;
}

const file = process.argv[2];
if (!file) throw new Error('usage: node scripts/trim-source-map.mjs <file.js.map>');
/** @type {unknown} */
const parsed = JSON.parse(readFileSync(file, 'utf8'));
const map =
  /** @type {{ version: number; sources: string[]; names: string[]; mappings: string; sourcesContent?: unknown }} */ (
    parsed
  );
const ours = (/** @type {string} */ source) => /(^|\/)src\//.test(source) && !source.includes('node_modules/');

/** @type {Map<number, number>} */
const sourceIndex = new Map();
/** @type {Map<number, number>} */
const nameIndex = new Map();
/** @type {string[]} */
const sources = [];
/** @type {string[]} */
const names = [];
const decodeState = { source: 0, line: 0, column: 0, name: 0 };
const encodeState = { source: 0, line: 0, column: 0, name: 0 };
let kept = 0;
let total = 0;
/** Whether the last segment written (on any line) was a source-less one. */
let inGap = false;
const lines = map.mappings.split(';').map((line) => {
  let previousColumn = 0;
  const out = [];
  for (const segment of decodeLine(line, decodeState)) {
    total++;
    const [column = 0, source, originalLine = 0, originalColumn = 0, name] = segment;
    const sourceName = source === undefined ? undefined : map.sources[source];
    if (source === undefined || sourceName === undefined || !ours(sourceName)) {
      if (inGap) continue;
      inGap = true;
      out.push(vlq(column - previousColumn));
      previousColumn = column;
      continue;
    }
    inGap = false;
    kept++;
    let newSource = sourceIndex.get(source);
    if (newSource === undefined) {
      newSource = sources.push(sourceName) - 1;
      sourceIndex.set(source, newSource);
    }
    let text =
      vlq(column - previousColumn) +
      vlq(newSource - encodeState.source) +
      vlq(originalLine - encodeState.line) +
      vlq(originalColumn - encodeState.column);
    previousColumn = column;
    encodeState.source = newSource;
    encodeState.line = originalLine;
    encodeState.column = originalColumn;
    if (name !== undefined) {
      let newName = nameIndex.get(name);
      if (newName === undefined) {
        newName = names.push(map.names[name] ?? '') - 1;
        nameIndex.set(name, newName);
      }
      text += vlq(newName - encodeState.name);
      encodeState.name = newName;
    }
    out.push(text);
  }
  return out.join(',');
});

const { sourcesContent: _unused, ...rest } = map;
writeFileSync(file, JSON.stringify({ ...rest, sources, names, mappings: lines.join(';') }));
process.stderr.write(
  `trim-source-map: kept ${kept} of ${total} segments (${sources.length} of ${map.sources.length} sources from src/)\n`,
);
