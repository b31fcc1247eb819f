import { context, type Context as TraceContext } from '@opentelemetry/api';
import { Cancellation, type CancelSignal } from '../transport/cancel.js';
import type { BudgetCall, Permit } from '../transport/budget.js';
import {
  TelliBudgetError,
  TelliContractError,
  TelliError,
  TelliNetworkError,
  TelliTimeoutError,
} from '../transport/errors.js';
import type { CallOptions, TelliClientHooks } from '../transport/transport.js';
import { TELLI_BATCH_LIMIT, V1_ENDPOINTS, type ContactResult, type V1Reads } from './v1-reads.js';

type Results = Map<string, ContactResult>;

/**
 * How long a collecting batch waits behind the calls ahead of it before it goes anyway:
 * HOLD_FACTOR × the smoothed duration of recent calls, but at least MIN_HOLD_MS (see `#holdMs`).
 */
const MIN_HOLD_MS = 20;
const HOLD_FACTOR = 3;
/** The duration estimate before any call has finished: a remote telli, not loopback. */
const INITIAL_ESTIMATE_MS = 100;
/**
 * Partial calls a key may have in flight before new ids collect instead of going out. With one,
 * an operation that arrives just after a call left waits for that call and then its own: at 4 to
 * 16 concurrent operations against a telli 20 ms away that halved throughput (`npm run bench`,
 * the sweep). With four, up to four concurrent operations per key never wait for each other,
 * while under load a call still carries the ids of every operation that arrived during a quarter
 * of a round trip (0.3 calls per operation at 32 connections on loopback, 0.03 at 256 connections
 * 20 ms away).
 */
export const PARTIAL_CALLS_IN_FLIGHT = 4;

/**
 * Group commit of `get-contacts-batch` reads across GraphQL requests, per API key.
 *
 * Why: with one telli call per single-contact operation, that call cost the layer more CPU than
 * the whole rest of the request, and every operation was a call against telli's undocumented
 * rate limits; telli's batch read takes 1000 ids, so 32 concurrent single-contact operations can
 * share one or two calls (docs/performance.md has the calls per operation the bench measures).
 *
 * How, for each API key (never across keys):
 *
 * - **Few calls in flight: the read goes out at once**, alone. An idle server adds no latency,
 *   and no timer is armed; nor does a key with fewer than PARTIAL_CALLS_IN_FLIGHT calls going.
 * - **PARTIAL_CALLS_IN_FLIGHT calls in flight: new ids collect** in the key's open batch instead
 *   of starting calls of their own. When one of the calls ahead of it settles, the open batch goes
 *   out with all the ids that arrived meanwhile — under load, a few calls per telli round trip
 *   instead of one per operation. This is the group commit of databases: the writers that arrive
 *   while the log is busy share the next flush.
 * - **A full batch (1000 ids) goes out at once**: waiting cannot make it cheaper, and it holds
 *   nothing back, so a large operation's chunks still travel in parallel.
 * - **A call that is late does not stall the key**: the open batch waits at most HOLD_FACTOR × the
 *   smoothed duration of recent calls (at least MIN_HOLD_MS), then goes anyway. Without this, one
 *   hung call (an attempt timeout is seconds) would hold every operation of the key for as long;
 *   with it, a hang costs the others at most a few round trips. In steady state the bound is
 *   never reached.
 * - An id already on its way (collecting, or in a call in flight) is joined, not asked again.
 * - **With a telli budget, a batch keeps collecting until its slot comes** (`slot`): it takes its
 *   slot in the budget as it would go out, and is sent only when the slot is there, with every id
 *   that arrived meanwhile (up to 1000). So while the budget holds calls back, the operations of
 *   that time share one call per slot instead of queueing calls of a few ids each. A batch
 *   refused a slot (deadline) answers its ids with the budget's error; telli never saw it.
 *
 * Per caller — a caller is one `getContactsBatch` call, i.e. one per-request loader batch:
 *
 * - **Outcomes are per id**: each caller reads its own ids from the shared answer. A call that
 *   fails as a whole (HTTP error, network, unreadable body) fails the ids of the callers it
 *   carried — each of them would have had that call fail alone too — and never anyone else's.
 * - **Giving up is per caller**: a caller whose signal fires (deadline, client gone) gets
 *   UPSTREAM_TIMEOUT for its own pending ids at once; its ids leave a batch that is still
 *   collecting (unless another caller wants them too). A call in flight is aborted only when every
 *   caller it carries has left.
 * - **Retries serve the callers still waiting**: the call's deadline is the latest deadline among
 *   them, read anew before every retry, so one caller's short budget does not stop the retry
 *   another caller can still use, and a retry is never started for nobody.
 * - **A malformed item fails only its own caller**: telli's answer is mapped by id, so a broken
 *   contact fails its id alone. An entry that cannot be attributed to an id, though, makes every
 *   id the answer has no entry for ambiguous (`TelliContractError.ambiguous`): in a call shared by
 *   several callers, one caller's broken contact would fail another caller's absent ids. So each
 *   caller's ambiguous ids are asked again in a call of its own, and get exactly the outcome they
 *   would have had alone. This costs extra calls only when telli breaks its contract.
 *
 * The call sends the request id, and is a span in the trace, of the operation that opened the batch.
 */
export class GroupCommit {
  readonly #keys = new Map<string, KeyReads>();
  /** Smoothed duration of recent calls, send to settle (queueing at the limiter and retries included). */
  #estimateMs = INITIAL_ESTIMATE_MS;

  constructor(
    private readonly inner: Pick<V1Reads, 'getContactsBatch'>,
    private readonly hooks: Pick<TelliClientHooks, 'onSharedBatch'> = {},
    /** Told every answer (for the contact cache). */
    private readonly onAnswer?: (apiKey: string, ids: readonly string[], results: Results, call: SentCall) => void,
    /** PARTIAL_CALLS_IN_FLIGHT, unless a test looks at one call at a time. */
    private readonly partialCalls = PARTIAL_CALLS_IN_FLIGHT,
    /** The telli budget's slot for a batch call (`budget.ts`), taken before its ids are final. */
    private readonly slot?: (apiKey: string, call: BudgetCall) => Promise<Permit>,
  ) {}

  /**
   * Fills `out` with the results for `ids` (lower-case) and resolves with it. `ids` may repeat.
   * Never rejects: a failure is an id's result.
   *
   * `versions` (the Redis contact cache, `redis-cache.ts`): the version of each id the caller saw
   * before asking. A call already sent for an older version may have read telli before a change
   * another instance made since, so it is not joined (as after `forget`); a batch still
   * collecting reads telli later, so it is joined and carries the newer version.
   */
  read(
    apiKey: string,
    ids: readonly string[],
    out: Results,
    call: CallOptions,
    versions?: ReadonlyMap<string, string>,
  ): Promise<Results> {
    const signal = call.signal;
    if (signal?.aborted) {
      // A caller that has already given up never waits, and starts nothing.
      const failure = new TelliTimeoutError(V1_ENDPOINTS.contactsBatch, 0);
      for (const id of ids) out.set(id, failure);
      return Promise.resolve(out);
    }
    let reads = this.#keys.get(apiKey);
    if (!reads) {
      reads = new KeyReads(apiKey);
      this.#keys.set(apiKey, reads);
    }
    const ask = new Ask(this, out, call, signal);
    for (const id of ids) {
      let batch = reads.byId.get(id);
      const version = versions?.get(id);
      if (batch?.sent && version !== undefined && batch.versions?.get(id) !== version) {
        this.forget(apiKey, id);
        batch = undefined;
      }
      if (batch) {
        if (!batch.sent) batch.ids.set(id, (batch.ids.get(id) ?? 0) + 1);
      } else {
        batch = reads.open ??= new Batch(reads, call.requestId);
        batch.ids.set(id, 1);
        reads.byId.set(id, batch);
      }
      // Not sent yet, so it reads telli after every caller's lookup: the newest version they saw holds.
      if (version !== undefined && !batch.sent) {
        const versions = (batch.versions ??= new Map());
        if (Number(version) >= Number(versions.get(id) ?? -1)) versions.set(id, version);
      }
      ask.want(batch, id);
      if (batch === reads.open && batch.ids.size >= TELLI_BATCH_LIMIT) this.#send(batch);
    }
    const open = reads.open;
    if (open) {
      if (reads.holding < this.partialCalls) this.#send(open);
      else open.timer ??= this.#armHold(open);
    }
    return ask.wait();
  }

  /**
   * After a write to `id` (lower-case) for this key: a call in flight for it may have read telli
   * before the write, so later callers do not join it, and its answer for `id` is not cached. A
   * batch still collecting is kept: it reads telli after the write.
   */
  forget(apiKey: string, id: string): void {
    const reads = this.#keys.get(apiKey);
    const batch = reads?.byId.get(id);
    if (!reads || !batch?.sent) return;
    reads.byId.delete(id);
    (batch.forgotten ??= new Set()).add(id);
  }

  /** `forget` for every API key (a webhook names the contact, not whose key read it). */
  forgetForEveryKey(id: string): void {
    for (const apiKey of this.#keys.keys()) this.forget(apiKey, id);
  }

  /** `ask` leaves `batch`, where it wanted `ids`. */
  leave(batch: Batch, ask: Ask, ids: readonly string[]): void {
    batch.asks.delete(ask);
    const reads = batch.reads;
    if (!batch.sent) {
      for (const id of ids) {
        const wanted = (batch.ids.get(id) ?? 1) - 1;
        if (wanted > 0) {
          batch.ids.set(id, wanted);
          continue;
        }
        batch.ids.delete(id);
        if (reads.byId.get(id) === batch) reads.byId.delete(id);
      }
      if (batch.ids.size === 0) {
        clearTimeout(batch.timer);
        if (reads.open === batch) reads.open = undefined;
        // Waiting for its slot for nobody: it gives the wait up (and settles with no ids).
        if (batch.awaitingSlot) batch.signal.abort();
        this.#forgetIfIdle(reads);
      }
    } else if (!batch.settled && batch.asks.size === 0) {
      // Abandoned by every caller: a new caller must start afresh, not join an aborted call.
      for (const id of batch.ids.keys()) if (reads.byId.get(id) === batch) reads.byId.delete(id);
      batch.signal.abort();
    }
  }

  #send(batch: Batch): void {
    const reads = batch.reads;
    if (batch.awaitingSlot) {
      // Full while it waited for its slot: new ids start the next batch.
      if (reads.open === batch && batch.ids.size >= TELLI_BATCH_LIMIT) reads.open = undefined;
      return;
    }
    clearTimeout(batch.timer);
    // A full batch could not have waited for more ids, so it holds nothing back either.
    batch.holds = !batch.isolated && batch.ids.size < TELLI_BATCH_LIMIT;
    if (batch.holds) reads.holding++;
    reads.inFlight++;
    if (this.slot && !batch.permit) {
      // Counted as in flight from now on; still open to new ids until the slot is there.
      batch.awaitingSlot = true;
      if (reads.open === batch && batch.ids.size >= TELLI_BATCH_LIMIT) reads.open = undefined;
      const call: BudgetCall = {
        signal: batch.signal,
        // The latest deadline among the callers still waiting, read when the slot is known.
        get deadline() {
          return batch.deadline;
        },
        onSlot: (at) => this.#refuseBefore(batch, at),
      };
      this.slot(reads.apiKey, call).then(
        (permit) => {
          batch.awaitingSlot = false;
          if (batch.ids.size > 0) {
            batch.permit = permit;
            this.#go(batch);
            return;
          }
          // Every caller left while it waited (or was refused at once): nothing to send.
          batch.sent = true;
          this.#settle(batch, [], new Map());
        },
        (error: unknown) => {
          batch.awaitingSlot = false;
          if (reads.open === batch) reads.open = undefined;
          batch.sent = true;
          const failure = error instanceof TelliError ? error : new TelliTimeoutError(V1_ENDPOINTS.contactsBatch, 0);
          const ids = [...batch.ids.keys()];
          this.#settle(batch, ids, new Map(ids.map((id) => [id, failure])));
        },
      );
      return;
    }
    this.#go(batch);
  }

  /** The call goes out with the ids it has now (counted in flight by `#send`). */
  #go(batch: Batch): void {
    const reads = batch.reads;
    if (reads.open === batch) reads.open = undefined;
    batch.sent = true;
    const ids = [...batch.ids.keys()];
    batch.sentAt = performance.now();
    batch.sentAtEpoch = Date.now();
    batch.callers = batch.asks.size;
    this.hooks.onSharedBatch?.({ ids: ids.length, callers: batch.callers, waitedMs: batch.sentAt - batch.openedAt });
    // In the trace of the operation that opened the batch: sent from another call's answer or a
    // timer, the call would otherwise be parented to whichever operation that was.
    const sent = context.with(batch.trace, () => this.inner.getContactsBatch(ids, batch));
    sent.then(
      (results) => this.#settle(batch, ids, results),
      () => this.#settle(batch, ids, new Map(ids.map((id) => [id, new TelliNetworkError(batch.endpoint, 'UNKNOWN')]))),
    );
  }

  #settle(batch: Batch, ids: readonly string[], results: Results): void {
    batch.settled = true;
    const reads = batch.reads;
    reads.inFlight--;
    if (batch.holds) reads.holding--;
    // An aborted call says nothing about telli's speed.
    // (Nor does a batch refused its slot in the budget: it never went out.)
    if (!batch.signal.aborted && batch.sentAt > 0) this.#observe(performance.now() - batch.sentAt);
    let ambiguous = false;
    for (const id of ids) {
      if (reads.byId.get(id) === batch) reads.byId.delete(id);
      if (isAmbiguous(results.get(id))) ambiguous = true;
    }
    // The open batch was waiting for exactly this: send it before answering anyone.
    if (reads.open && reads.holding < this.partialCalls) this.#send(reads.open);
    const forgotten = batch.forgotten;
    // An isolated re-ask is in no `byId`, so `forget` cannot mark it: its answer may predate a
    // write, and stays out of the cache (it only happens when telli breaks its contract).
    if (!batch.isolated)
      this.onAnswer?.(reads.apiKey, forgotten ? ids.filter((id) => !forgotten.has(id)) : ids, results, batch);
    // Several callers (even if some have left since): any of their items may be the culprit.
    if (ambiguous && batch.callers > 1) this.#isolate(batch, results);
    for (const ask of batch.asks) ask.deliver(batch, results);
    this.#forgetIfIdle(reads);
  }

  /**
   * The batch's slot is at `at`: a caller whose deadline comes first is answered now with the
   * budget's error (TELLI_BUDGET_EXHAUSTED), not at its deadline; the others wait for the slot.
   */
  #refuseBefore(batch: Batch, at: number): void {
    for (const ask of [...batch.asks]) {
      const deadline = ask.call.deadline;
      if (deadline === undefined || deadline > at) continue;
      const seconds = Math.max(1, Math.ceil((at - Date.now()) / 1000));
      ask.refuse(batch, new TelliBudgetError(V1_ENDPOINTS.contactsBatch, 'budget', seconds));
    }
  }

  /** Asks each caller's ambiguous ids again, alone (see the class comment). */
  #isolate(batch: Batch, results: Results): void {
    for (const ask of batch.asks) {
      const broken = ask.take(batch, (id) => isAmbiguous(results.get(id)));
      if (broken.length === 0) continue;
      const alone = new Batch(batch.reads, ask.call.requestId);
      alone.isolated = true;
      for (const id of broken) alone.ids.set(id, 1);
      for (const id of broken) ask.want(alone, id);
      this.#send(alone);
    }
  }

  #armHold(batch: Batch): ReturnType<typeof setTimeout> {
    const timer = setTimeout(() => {
      if (!batch.sent && batch.ids.size > 0) this.#send(batch);
    }, this.#holdMs());
    timer.unref();
    return timer;
  }

  #holdMs(): number {
    return Math.max(MIN_HOLD_MS, HOLD_FACTOR * this.#estimateMs);
  }

  #observe(durationMs: number): void {
    // A hung call is an outlier, not a new normal: each sample moves the estimate by at most
    // ×1.6, so a real slowdown is followed within a few calls and one timeout barely counts.
    const sample = Math.min(durationMs, 4 * this.#estimateMs);
    this.#estimateMs += 0.2 * (sample - this.#estimateMs);
  }

  #forgetIfIdle(reads: KeyReads): void {
    // Forwarded-key mode sees keys from callers: keep state only while a key has reads going.
    if (reads.inFlight === 0 && !reads.open && reads.byId.size === 0 && this.#keys.get(reads.apiKey) === reads) {
      this.#keys.delete(reads.apiKey);
    }
  }
}

/** What the cache learns of a call along with its answer. */
export interface SentCall {
  /** The version of each id its callers saw before asking (the Redis cache only). */
  readonly versions: ReadonlyMap<string, string> | undefined;
  /** When it went out (epoch ms). */
  readonly sentAtEpoch: number;
}

/** One API key's reads right now. */
class KeyReads {
  /** id → the batch (collecting, or in flight) that will answer it. */
  readonly byId = new Map<string, Batch>();
  /** The batch collecting ids while partial calls are in flight. */
  open: Batch | undefined = undefined;
  /** Partial calls in flight (full and isolated ones excepted): at PARTIAL_CALLS_IN_FLIGHT, `open` collects. */
  holding = 0;
  /** Calls in flight. */
  inFlight = 0;

  constructor(readonly apiKey: string) {}
}

/** One `get-contacts-batch` call to be (or being) made for one key; also its call options. */
class Batch implements CallOptions, SentCall {
  /** The ids, each with how many callers want it (counted only while collecting). */
  readonly ids = new Map<string, number>();
  readonly asks = new Set<Ask>();
  /** Fires when every caller has left the call in flight. */
  readonly signal = new Cancellation();
  readonly apiKey: string;
  readonly endpoint = V1_ENDPOINTS.contactsBatch;
  readonly openedAt = performance.now();
  /** The OpenTelemetry context of the operation that opened the batch (a no-op when tracing is off). */
  readonly trace: TraceContext = context.active();
  sentAt = 0;
  sentAtEpoch = 0;
  /** See `GroupCommit.read`'s `versions`. */
  versions: Map<string, string> | undefined = undefined;
  /** Callers waiting when the call went out. */
  callers = 0;
  sent = false;
  settled = false;
  /** Sent partial: the key's open batch waits for it. */
  holds = false;
  /** A re-ask for one caller (see `#isolate`): outside the key's group commit. */
  isolated = false;
  /** Waiting for its slot in the telli budget: counted in flight, still collecting ids. */
  awaitingSlot = false;
  /** Its slot in the telli budget, for the call's first attempt (`CallOptions.permit`). */
  permit: Permit | undefined = undefined;
  /** Ids `GroupCommit.forget` took from this call in flight: their answer is not cached. */
  forgotten: Set<string> | undefined = undefined;
  timer: ReturnType<typeof setTimeout> | undefined = undefined;

  constructor(
    readonly reads: KeyReads,
    readonly requestId: string | undefined,
  ) {
    this.apiKey = reads.apiKey;
  }

  /** The latest deadline among the callers still waiting: read by the client before each retry. */
  get deadline(): number | undefined {
    let latest: number | undefined;
    for (const ask of this.asks) {
      const deadline = ask.call.deadline;
      if (deadline === undefined) return undefined;
      if (latest === undefined || deadline > latest) latest = deadline;
    }
    return latest;
  }
}

/** One caller waiting for its ids from one or more batches. */
class Ask {
  /** The batches this caller still waits on, with the ids it wants from each. */
  readonly #parts = new Map<Batch, string[]>();
  #resolve: ((out: Results) => void) | undefined;
  readonly #onAbort = () => this.#leave();

  constructor(
    private readonly commit: GroupCommit,
    private readonly out: Results,
    readonly call: CallOptions,
    private readonly signal: CancelSignal | undefined,
  ) {}

  want(batch: Batch, id: string): void {
    const ids = this.#parts.get(batch);
    if (ids) ids.push(id);
    else {
      this.#parts.set(batch, [id]);
      batch.asks.add(this);
    }
  }

  /** Removes and returns the ids this caller wants from `batch` that match `pick`. */
  take(batch: Batch, pick: (id: string) => boolean): string[] {
    const ids = this.#parts.get(batch);
    if (!ids) return [];
    const taken = ids.filter(pick);
    if (taken.length > 0)
      this.#parts.set(
        batch,
        ids.filter((id) => !pick(id)),
      );
    return taken;
  }

  wait(): Promise<Results> {
    if (this.#parts.size === 0) return Promise.resolve(this.out);
    return new Promise<Results>((resolve) => {
      this.#resolve = resolve;
      this.signal?.addEventListener('abort', this.#onAbort, { once: true });
    });
  }

  /** Answers this caller's ids in `batch` with `error`, and leaves the batch. */
  refuse(batch: Batch, error: TelliError): void {
    const ids = this.#parts.get(batch);
    if (!ids) return;
    this.#parts.delete(batch);
    for (const id of ids) this.out.set(id, error);
    this.commit.leave(batch, this, ids);
    if (this.#parts.size === 0) this.#finish();
  }

  deliver(batch: Batch, results: Results): void {
    const ids = this.#parts.get(batch);
    if (!ids) return;
    this.#parts.delete(batch);
    for (const id of ids) this.out.set(id, results.get(id) ?? null);
    if (this.#parts.size === 0) this.#finish();
  }

  #leave(): void {
    const failure = new TelliTimeoutError(V1_ENDPOINTS.contactsBatch, 0);
    for (const [batch, ids] of this.#parts) {
      for (const id of ids) this.out.set(id, failure);
      this.commit.leave(batch, this, ids);
    }
    this.#parts.clear();
    this.#finish();
  }

  #finish(): void {
    this.signal?.removeEventListener('abort', this.#onAbort);
    this.#resolve?.(this.out);
    this.#resolve = undefined;
  }
}

const isAmbiguous = (result: ContactResult | undefined) => result instanceof TelliContractError && result.ambiguous;
