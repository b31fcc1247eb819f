import { createHash } from 'node:crypto';
// Renamed: the bundle's banner declares its own `createRequire` (see package.json's build script).
import { createRequire as requireFrom } from 'node:module';
import { Worker } from 'node:worker_threads';

/**
 * The GraphiQL page, built once, off the event loop, and served compressed and cacheable.
 *
 * The page is self-hosted (Yoga's default loads GraphiQL from a CDN, which fails offline and
 * behind strict corporate networks): ~9 MB of HTML with GraphiQL, Monaco and their workers
 * inlined. Rendered per request, as Yoga does, it cost ~300 ms of the event loop each time; and
 * loading its module puts ~30 MB of strings into the heap. So a worker thread loads the module,
 * renders the page once and compresses it (gzip, then brotli), and hands back the bytes; the
 * server's own thread never parses the module. The first visitors get whichever accepted form is
 * ready (gzip first, ~2.4 MB; brotli ~1.9 MB). Every answer carries a weak ETag and
 * `Cache-Control: no-cache`: a browser keeps the page and revalidates it on each visit — a
 * bodiless 304 while the page is unchanged, the new page once a deploy changed it.
 *
 * The page carries no data (it is the same for everyone), so it is served without a caller token:
 * a browser navigation cannot send a custom header (see docs/operations.md).
 */
export interface GraphiQLRequest {
  acceptEncoding: string | null | undefined;
  ifNoneMatch: string | null | undefined;
}

/** Options of `renderGraphiQL` (`@graphql-yoga/render-graphiql`); JSON, so that a worker can take them. */
export type GraphiQLOptions = Record<string, unknown>;

/** Whether a request asks for the GraphiQL page rather than a GraphQL result (Yoga's own test). */
export function isGraphiQLRequest(method: string | undefined, accept: string | null | undefined): boolean {
  return method === 'GET' && !!accept?.includes('text/html');
}

type Encoding = 'br' | 'gzip' | 'identity';
/** A form of the page, as a response body. */
type Body = Uint8Array<ArrayBuffer>;

interface Page {
  /** Once the page is rendered: its ETag. */
  etag: Promise<string>;
  /** Forms already built. */
  ready: Partial<Record<Encoding, Body>>;
  /** Every form, as it is built. */
  forms: Record<Encoding, Promise<Body>>;
}

export function createGraphiQLPage(options: GraphiQLOptions): (request: GraphiQLRequest) => Promise<Response> {
  let building: Page | undefined;

  function build(): Page {
    const forms = renderInWorker(options);
    const page: Page = {
      etag: forms.identity.then(
        (identity) => `W/"${createHash('sha256').update(identity).digest('base64url').slice(0, 27)}"`,
      ),
      ready: {},
      forms,
    };
    for (const encoding of ['identity', 'gzip', 'br'] as const) {
      forms[encoding].then(
        (body) => (page.ready[encoding] = body),
        // A failed build (short of a broken install it cannot fail) is tried again next time.
        () => building === page && (building = undefined),
      );
    }
    return page;
  }

  return async (request) => {
    const page = (building ??= build());
    const etag = await page.etag;
    const headers: Record<string, string> = {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-cache',
      etag,
      vary: 'accept-encoding',
    };
    if (matchesEtag(request.ifNoneMatch, etag)) return new Response(null, { status: 304, headers });
    const accepted = acceptedEncodings(request.acceptEncoding);
    // The best accepted form that is ready, else the one built first (gzip), else the page as is.
    const encoding: Encoding =
      accepted.find((e) => page.ready[e]) ?? (accepted.includes('gzip') ? 'gzip' : (accepted[0] ?? 'identity'));
    const body = page.ready[encoding] ?? (await page.forms[encoding]);
    if (encoding !== 'identity') headers['content-encoding'] = encoding;
    return new Response(body, { headers });
  };
}

/**
 * The worker's script: CommonJS (an `eval` worker), loading the module by the path resolved here.
 * Brotli at quality 5: about 2.0 MB in a second or two; quality 11 would save 0.3 MB more in 40 s.
 */
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const zlib = require('node:zlib');
// On Linux a priority is per thread, and pid 0 is this one: the server's own thread comes first.
if (process.platform === 'linux') require('node:os').setPriority(19);
const { renderGraphiQL } = require(workerData.module);
const send = (encoding, buffer) => {
  const body = new Uint8Array(buffer);
  parentPort.postMessage({ encoding, body }, [body.buffer]);
};
const page = Buffer.from(renderGraphiQL(workerData.options), 'utf8');
send('identity', page);
send('gzip', zlib.gzipSync(page, { level: 6 }));
send('br', zlib.brotliCompressSync(page, {
  params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 5, [zlib.constants.BROTLI_PARAM_SIZE_HINT]: page.length },
}));
`;

function renderInWorker(options: GraphiQLOptions): Record<Encoding, Promise<Body>> {
  const settle = {} as Record<Encoding, { resolve: (body: Body) => void; reject: (error: unknown) => void }>;
  const forms = {} as Record<Encoding, Promise<Body>>;
  for (const encoding of ['identity', 'gzip', 'br'] as const) {
    forms[encoding] = new Promise((resolve, reject) => (settle[encoding] = { resolve, reject }));
    // Handled by whoever awaits it; a form nobody asked for must not be an unhandled rejection.
    forms[encoding].catch(() => undefined);
  }
  let worker: Worker;
  try {
    const module = requireFrom(import.meta.url).resolve('@graphql-yoga/render-graphiql');
    worker = new Worker(WORKER, { eval: true, workerData: { module, options } });
  } catch (error) {
    for (const { reject } of Object.values(settle)) reject(error);
    return forms;
  }
  worker.on('message', ({ encoding, body }: { encoding: Encoding; body: Body }) => settle[encoding].resolve(body));
  worker.on('error', (error) => {
    for (const { reject } of Object.values(settle)) reject(error);
  });
  worker.on('exit', (code) => {
    // After every form was sent these rejections are no-ops.
    for (const { reject } of Object.values(settle)) reject(new Error(`the GraphiQL worker exited with ${code}`));
  });
  return forms;
}

/** The compressed encodings a client accepts, best first: `br`, `gzip` (with q > 0; `*` counts). */
function acceptedEncodings(header: string | null | undefined): ('br' | 'gzip')[] {
  if (!header) return [];
  const q = new Map<string, number>();
  for (const part of header.split(',')) {
    const [name = '', ...params] = part.trim().toLowerCase().split(';');
    const weight = params.map((p) => /^\s*q=([0-9.]+)\s*$/.exec(p)?.[1]).find((v) => v !== undefined);
    q.set(name.trim(), weight === undefined ? 1 : Number(weight));
  }
  const accepts = (name: string) => (q.get(name) ?? q.get('*') ?? 0) > 0;
  return (['br', 'gzip'] as const).filter(accepts);
}

/** `If-None-Match` with the weak comparison RFC 9110 asks for a GET. */
function matchesEtag(header: string | null | undefined, etag: string): boolean {
  if (!header) return false;
  const opaque = (tag: string) => tag.trim().replace(/^W\//, '');
  return header.split(',').some((tag) => tag.trim() === '*' || opaque(tag) === opaque(etag));
}
