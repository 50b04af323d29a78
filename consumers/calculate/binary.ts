/** Little-endian binary writer/reader for state snapshots: no per-field allocation, bounds-checked reads. */
import { SnapshotError } from '../contract/errors.ts';

export class BinaryWriter {
  private buffer: Buffer;
  private view: DataView;
  private offset = 0;

  constructor(initialBytes = 4096) {
    this.buffer = Buffer.allocUnsafe(initialBytes);
    this.view = new DataView(this.buffer.buffer, this.buffer.byteOffset, this.buffer.byteLength);
  }

  private ensure(bytes: number): void {
    if (this.offset + bytes <= this.buffer.byteLength) return;
    let size = this.buffer.byteLength * 2;
    while (size < this.offset + bytes) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buffer.copy(next, 0, 0, this.offset);
    this.buffer = next;
    this.view = new DataView(next.buffer, next.byteOffset, next.byteLength);
  }

  u8(value: number): void {
    this.ensure(1);
    this.view.setUint8(this.offset, value);
    this.offset += 1;
  }

  u32(value: number): void {
    this.ensure(4);
    this.view.setUint32(this.offset, value, true);
    this.offset += 4;
  }

  i32(value: number): void {
    this.ensure(4);
    this.view.setInt32(this.offset, value, true);
    this.offset += 4;
  }

  f64(value: number): void {
    this.ensure(8);
    this.view.setFloat64(this.offset, value, true);
    this.offset += 8;
  }

  string(value: string): void {
    const bytes = Buffer.byteLength(value, 'utf8');
    if (bytes > 0xffff) throw new SnapshotError(`string of ${bytes} bytes is too long for a snapshot`);
    this.ensure(2 + bytes);
    this.view.setUint16(this.offset, bytes, true);
    this.buffer.write(value, this.offset + 2, 'utf8');
    this.offset += 2 + bytes;
  }

  finish(): Uint8Array {
    return this.buffer.subarray(0, this.offset);
  }
}

export class BinaryReader {
  private readonly view: DataView;
  private readonly bytes: Buffer;
  private offset = 0;

  constructor(data: Uint8Array) {
    this.bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    this.view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  }

  get done(): boolean {
    return this.offset >= this.bytes.byteLength;
  }

  private need(bytes: number): void {
    if (this.offset + bytes > this.bytes.byteLength) throw new SnapshotError('snapshot is truncated');
  }

  u8(): number {
    this.need(1);
    return this.view.getUint8(this.offset++);
  }

  u32(): number {
    this.need(4);
    const value = this.view.getUint32(this.offset, true);
    this.offset += 4;
    return value;
  }

  i32(): number {
    this.need(4);
    const value = this.view.getInt32(this.offset, true);
    this.offset += 4;
    return value;
  }

  f64(): number {
    this.need(8);
    const value = this.view.getFloat64(this.offset, true);
    this.offset += 8;
    return value;
  }

  string(): string {
    this.need(2);
    const length = this.view.getUint16(this.offset, true);
    this.need(2 + length);
    const value = this.bytes.toString('utf8', this.offset + 2, this.offset + 2 + length);
    this.offset += 2 + length;
    return value;
  }
}
