import type { RandomCutForest } from '../../rcf/forest.ts';

/** What every action sees: the loaded model and the endpoint name it answers to. */
export interface ServingContext {
  readonly model: RandomCutForest;
  readonly endpointName: string;
}

export interface ServingRequest {
  readonly contentType: string | undefined;
  readonly accept: string | undefined;
  readonly body: Buffer;
}

export interface ServingResponse {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
  readonly headers?: Readonly<Record<string, string>>;
}
