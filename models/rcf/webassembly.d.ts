// The slice of the WebAssembly JS API that tree.ts uses. Node has had it since 8, but @types/node 20 does
// not declare it and the project's lib (ES2023, no DOM) has no other source for it.
declare namespace WebAssembly {
  class Module {
    constructor(bytes: Uint8Array);
  }
  class Memory {
    constructor(descriptor: { initial: number; maximum?: number });
    readonly buffer: ArrayBuffer;
  }
  class Instance {
    constructor(module: Module, imports?: Record<string, Record<string, unknown>>);
    readonly exports: Record<string, unknown>;
  }
}
