/**
 * A binary min-heap of (deadline, device) pairs in typed arrays: which device's open windows are due
 * for idle closing next. Ties break on the device number so the order is fully determined by content.
 */
import { resize } from './window-pool.ts';

export class IdleQueue {
  private deadlines = new Float64Array(1024);
  private devices = new Int32Array(1024);
  private size = 0;

  get length(): number {
    return this.size;
  }

  peekDeadline(): number {
    return this.size === 0 ? Number.POSITIVE_INFINITY : (this.deadlines[0] as number);
  }

  push(deadline: number, device: number): void {
    if (this.size === this.deadlines.length) {
      this.deadlines = resize(this.deadlines, this.size * 2);
      this.devices = resize(this.devices, this.size * 2);
    }
    let i = this.size++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(deadline, device, this.deadlines[parent] as number, this.devices[parent] as number))
        break;
      this.deadlines[i] = this.deadlines[parent] as number;
      this.devices[i] = this.devices[parent] as number;
      i = parent;
    }
    this.deadlines[i] = deadline;
    this.devices[i] = device;
  }

  /** Removes the earliest entry and returns its device. Only call when not empty. */
  pop(): number {
    const top = this.devices[0] as number;
    const last = --this.size;
    const deadline = this.deadlines[last] as number;
    const device = this.devices[last] as number;
    let i = 0;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= last) break;
      const right = child + 1;
      if (
        right < last &&
        this.less(
          this.deadlines[right] as number,
          this.devices[right] as number,
          this.deadlines[child] as number,
          this.devices[child] as number,
        )
      ) {
        child = right;
      }
      if (!this.less(this.deadlines[child] as number, this.devices[child] as number, deadline, device)) break;
      this.deadlines[i] = this.deadlines[child] as number;
      this.devices[i] = this.devices[child] as number;
      i = child;
    }
    this.deadlines[i] = deadline;
    this.devices[i] = device;
    return top;
  }

  clear(): void {
    this.size = 0;
  }

  private less(d1: number, v1: number, d2: number, v2: number): boolean {
    return d1 < d2 || (d1 === d2 && v1 < v2);
  }
}
