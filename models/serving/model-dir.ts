/**
 * A model directory as SageMaker provides it: the model artifact (model.tar.gz) extracted into
 * /opt/ml/model. Ours holds one file, `model.json`, a forest snapshot (rcf/serialize.ts).
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SnapshotError } from '../../consumers/contract/errors.ts';
import type { RandomCutForest } from '../rcf/forest.ts';
import { deserializeForest, serializeForest } from '../rcf/serialize.ts';

export const MODEL_FILE = 'model.json';
/** Where SageMaker extracts the model artifact inside the inference container. */
export const SAGEMAKER_MODEL_DIR = '/opt/ml/model';

export async function loadModel(dir: string): Promise<RandomCutForest> {
  const path = join(dir, MODEL_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    throw new SnapshotError(`cannot read model file ${path}`, { cause });
  }
  return deserializeForest(text);
}

export async function saveModel(dir: string, forest: RandomCutForest): Promise<string> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, MODEL_FILE);
  await writeFile(path, serializeForest(forest));
  return path;
}
