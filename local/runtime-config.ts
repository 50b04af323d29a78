/** The runtime configuration that points workers at the embedded stack and the resources it created. */
import type { RuntimeConfig } from '../consumers/runtimes/runtime.ts';
import type { EnsuredResources } from './resources.ts';
import type { LocalStack } from './stack.ts';

export function localRuntimeConfig(stack: LocalStack, resources: EnsuredResources): RuntimeConfig {
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
  };
}
