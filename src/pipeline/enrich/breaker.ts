// A circuit breaker: after N consecutive failures the LLM is left alone for a cool-down, then one
// probe call decides whether it is back. Keeps a dead server from costing every utterance a timeout.

export type BreakerState = 'closed' | 'open' | 'half_open';

export interface BreakerOptions {
  failureThreshold: number;
  cooldownMs: number;
  /** injectable clock for tests */
  now?: () => number;
}

export interface BreakerSnapshot {
  state: BreakerState;
  consecutiveFailures: number;
  /** when an open breaker will let a probe through (epoch ms), null otherwise */
  retryAt: number | null;
}

export class CircuitBreaker {
  private current: BreakerState = 'closed';
  private failures = 0;
  private openedAt = 0;
  private probeInFlight = false;
  private readonly now: () => number;

  constructor(private readonly options: BreakerOptions) {
    this.now = options.now ?? Date.now;
  }

  /** The state, moving open → half_open once the cool-down has passed. */
  get state(): BreakerState {
    if (this.current === 'open' && this.now() - this.openedAt >= this.options.cooldownMs) {
      this.current = 'half_open';
      this.probeInFlight = false;
    }
    return this.current;
  }

  /**
   * Whether a call may go ahead now. In half_open exactly one caller gets true (the probe) until it
   * reports back with success() or failure().
   */
  tryAcquire(): boolean {
    const state = this.state;
    if (state === 'closed') return true;
    if (state === 'open') return false;
    if (this.probeInFlight) return false;
    this.probeInFlight = true;
    return true;
  }

  success(): void {
    this.failures = 0;
    this.current = 'closed';
    this.probeInFlight = false;
  }

  failure(): void {
    this.failures++;
    if (this.current === 'half_open' || this.failures >= this.options.failureThreshold) {
      this.current = 'open';
      this.openedAt = this.now();
    }
    this.probeInFlight = false;
  }

  /** A call that was let through but never reached the server (dropped, aborted): frees the probe slot. */
  release(): void {
    this.probeInFlight = false;
  }

  snapshot(): BreakerSnapshot {
    const state = this.state;
    return {
      state,
      consecutiveFailures: this.failures,
      retryAt: state === 'open' ? this.openedAt + this.options.cooldownMs : null,
    };
  }
}
