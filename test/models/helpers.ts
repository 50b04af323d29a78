/**
 * Shared by the model tests: small trained forests and a SageMaker Runtime client aimed at a local URL.
 */
import { SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { RandomCutForest } from '../../models/rcf/forest.ts';
import { SeededRandom } from '../../models/rcf/random.ts';

export function trainedForest(featureDim = 2): RandomCutForest {
  const forest = new RandomCutForest({
    num_trees: 20,
    num_samples_per_tree: 64,
    feature_dim: featureDim,
    seed: 11,
  });
  const noise = SeededRandom.fromSeed(12);
  for (let i = 0; i < 500; i++) forest.update(Array.from({ length: featureDim }, () => noise.next()));
  return forest;
}

export function runtimeClient(url: string, maxAttempts = 3): SageMakerRuntimeClient {
  return new SageMakerRuntimeClient({
    endpoint: url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    requestHandler: new NodeHttpHandler(),
    maxAttempts,
  });
}

export const TEMPERATURE_SHINGLE = 4;

/** A smooth temperature: what `temperatureForest` has learned as ordinary. */
export const smoothTemperature = (seq: number): number => 21 + Math.sin(seq / 7) * 0.3;

/** A forest that has learned shingles of `smoothTemperature`. */
export function temperatureForest(): RandomCutForest {
  const forest = new RandomCutForest({
    num_trees: 30,
    num_samples_per_tree: 64,
    feature_dim: 1,
    shingle_size: TEMPERATURE_SHINGLE,
    seed: 5,
  });
  for (let seq = TEMPERATURE_SHINGLE; seq < 600; seq++) {
    forest.update(
      Array.from({ length: TEMPERATURE_SHINGLE }, (_, k) =>
        smoothTemperature(seq - TEMPERATURE_SHINGLE + 1 + k),
      ),
    );
  }
  return forest;
}
