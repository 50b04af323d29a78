/**
 * A circuit breaker for the model endpoint. closed → (N consecutive failures) → open → (cool-down elapsed)
 * → half-open: exactly one probe goes out; its success closes the breaker, its failure re-opens it for
 * another cool-down. While open nothing is sent, so a slow or broken endpoint costs the stream nothing but
 * the model's opinion.
 */
import { ConfigError } from '../../consumers/contract/errors.ts';

/** Milliseconds since some fixed origin. Injected so tests control time. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

export type BreakerState = 'closed' | 'open' | 'half-open';

export interface CircuitBreakerOptions {
  /**
   * Consecutive failed or timed-out calls that open the breaker.
   * @default 5
   */
  readonly failureThreshold?: number;
  /**
   * How long the breaker stays open before one probe is allowed, in milliseconds.
   * @default 30_000
   */
  readonly cooldownMs?: number;
}

export class CircuitBreaker {
  readonly failureThreshold: number;
  readonly cooldownMs: number;
  private readonly clock: Clock;
  private current: 'closed' | 'open' | 'half-open' = 'closed';
  private consecutiveFailures = 0;
  private openedAt = 0;
  private probeInFlight = false;

  constructor(options: CircuitBreakerOptions = {}, clock: Clock = systemClock) {
    this.failureThreshold = options.failureThreshold ?? 5;
    this.cooldownMs = options.cooldownMs ?? 30_000;
    if (!Number.isInteger(this.failureThreshold) || this.failureThreshold < 1) {
      throw new ConfigError('failureThreshold must be a positive integer');
    }
    if (!(this.cooldownMs >= 0)) throw new ConfigError('cooldownMs must be >= 0');
    this.clock = clock;
  }

  /** The state as a caller would find it now (an open breaker whose cool-down has passed reads half-open). */
  get state(): BreakerState {
    if (this.current === 'open' && this.clock.now() - this.openedAt >= this.cooldownMs) return 'half-open';
    return this.current;
  }

  /** Asks to make a call. False means skip it: the breaker is open, or a half-open probe is already out. */
  tryAcquire(): boolean {
    const state = this.state;
    if (state === 'closed') return true;
    if (state === 'open' || this.probeInFlight) return false;
    this.current = 'half-open';
    this.probeInFlight = true;
    return true;
  }

  onSuccess(): void {
    this.consecutiveFailures = 0;
    this.probeInFlight = false;
    this.current = 'closed';
  }

  onFailure(): void {
    this.probeInFlight = false;
    if (this.current === 'half-open') {
      this.trip();
      return;
    }
    this.consecutiveFailures++;
    if (this.current === 'closed' && this.consecutiveFailures >= this.failureThreshold) this.trip();
  }

  private trip(): void {
    this.current = 'open';
    this.openedAt = this.clock.now();
    this.consecutiveFailures = 0;
  }
}
