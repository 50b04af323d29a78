/** The runtime configuration that points workers at the embedded stack and the resources it created. */
import type { ModelRuntimeConfig, RuntimeConfig } from '../consumers/runtimes/runtime.ts';
import type { EnsuredResources } from './resources.ts';
import type { LocalStack } from './stack.ts';

export function localRuntimeConfig(
  stack: LocalStack,
  resources: EnsuredResources,
  model?: ModelRuntimeConfig,
): RuntimeConfig {
  const { names } = resources;
  return {
    region: stack.region,
    streamName: names.stream,
    leaseTableName: names.leaseTable,
    bucket: names.bucket,
    resultsDeliveryStream: names.resultsDeliveryStream,
    rawDeliveryStream: names.rawDeliveryStream,
    dlqUrl: resources.dlqUrl,
    endpoints: { ...stack.endpoints },
    ...(model === undefined ? {} : { model }),
  };
}

/**
 * The same configuration as the environment a worker process reads (`runtimeConfigFromEnv`), plus the
 * stack's credentials: what a test or benchmark passes to a spawned worker or MultiLang child.
 */
export function localWorkerEnv(stack: LocalStack, resources: EnsuredResources): Record<string, string> {
  const config = localRuntimeConfig(stack, resources);
  const env: Record<string, string> = {
    AWS_REGION: config.region,
    AWS_ACCESS_KEY_ID: stack.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: stack.credentials.secretAccessKey,
    FLEETSTREAM_STREAM: config.streamName,
    FLEETSTREAM_LEASE_TABLE: config.leaseTableName,
    FLEETSTREAM_BUCKET: config.bucket,
    FLEETSTREAM_RESULTS_STREAM: config.resultsDeliveryStream,
    FLEETSTREAM_RAW_STREAM: config.rawDeliveryStream,
  };
  if (config.dlqUrl !== undefined) env.FLEETSTREAM_DLQ_URL = config.dlqUrl;
  for (const service of ['kinesis', 'dynamodb', 's3', 'firehose', 'sqs'] as const) {
    const endpoint = config.endpoints[service];
    if (endpoint !== undefined) env[`FLEETSTREAM_ENDPOINT_${service.toUpperCase()}`] = endpoint;
  }
  return env;
}
