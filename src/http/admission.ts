/**
 * Admission control: how much GraphQL work the process takes on at once. Two bounds, because one
 * is not enough on a small machine:
 *
 * - **Operations in flight** (`MAX_OPERATIONS_IN_FLIGHT`): a bound on the requests, and on the
 *   request bodies held in memory.
 * - **Cost in flight** (`MAX_COST_IN_FLIGHT`): a bound on the contacts being fetched, parsed and
 *   serialised at once — what actually takes memory and event-loop time. A thousand-contact
 *   operation weighs a thousand (see `src/schema/core/cost.ts`).
 *
 * Both are decided by the edge before anything of the request is read: refusing after the body
 * was read, parsed and validated costs a few milliseconds per thousand-id request, and a burst
 * of them arrives in one event-loop turn. The true cost is known only after validation, so the
 * edge reserves an estimate from the body's size — one contact per `BYTES_PER_CONTACT` bytes, the
 * size of one id in a JSON list — and the operation exchanges it for its true cost just before
 * execution (refused then, after all, only when the true cost is much larger and does not fit).
 *
 * Excess is refused at once (HTTP 503, `OVERLOADED`, `Retry-After`), never queued: a queue in
 * front of a saturated event loop only turns a fast "no" into a slow one, and keeps `/health`
 * waiting behind work nobody will wait for. An operation is always admitted when nothing else is
 * running, so every operation the cost limit allows can run. A request holds its reservation
 * until its response is built (serialising a thousand contacts is work too); the edge frees it
 * whatever the outcome, so no failure can leak it.
 */
export interface AdmissionLimits {
  /** GraphQL requests being handled at once (`MAX_OPERATIONS_IN_FLIGHT`). */
  maxOperations: number;
  /** Summed cost of the operations being handled at once (`MAX_COST_IN_FLIGHT`). */
  maxCost: number;
}

/**
 * One contact id in a JSON list, `"3c90c3cc-0d44-4b50-8888-8dd25736052a",`, is 39 bytes. The
 * estimate errs high (36): an operation whose true cost exceeds its estimate can still be refused
 * after its body was parsed, and the bodies that are expensive to parse are the big lists of ids.
 */
export const BYTES_PER_CONTACT = 36;

/** One admitted GraphQL request. */
export interface AdmissionTicket {
  /** Exchanges the size estimate for the operation's true cost; false when that does not fit. */
  reserve(cost: number): boolean;
  /** The request's work has ended (answered, failed or abandoned): frees its slot and its cost. */
  done(): void;
}

export interface Admission {
  /**
   * A ticket for a new request whose body is `bodyBytes` long (0 when unknown), or which bound is
   * full: every operation slot is taken, or the cost budget cannot hold its estimate.
   */
  enter(bodyBytes: number): AdmissionTicket | 'operations' | 'cost';
}

export function createAdmission(limits: AdmissionLimits): Admission {
  let operations = 0;
  let cost = 0;
  /** Whether `amount` more fits next to what the others hold; anything fits when nothing runs. */
  const fits = (others: number, amount: number) => others === 0 || others + amount <= limits.maxCost;
  return {
    enter(bodyBytes) {
      if (operations >= limits.maxOperations) return 'operations';
      let reserved = Math.floor(bodyBytes / BYTES_PER_CONTACT);
      if (!fits(cost, reserved)) return 'cost';
      operations++;
      cost += reserved;
      let done = false;
      return {
        reserve(amount) {
          if (done) return false;
          if (amount > reserved && !fits(cost - reserved, amount)) return false;
          cost += amount - reserved;
          reserved = amount;
          return true;
        },
        done() {
          if (done) return;
          done = true;
          operations--;
          cost -= reserved;
        },
      };
    },
  };
}

/** Seconds a refused client is asked to wait: long enough for in-flight work to finish on this scale. */
export const OVERLOAD_RETRY_AFTER_SECONDS = 1;
