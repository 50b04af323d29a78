/**
 * Metrics in CloudWatch Embedded Metric Format: a JSON log line that CloudWatch Logs turns into metrics
 * without a PutMetricData call (no extra client, no extra latency on the hot path).
 * Format: https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
 */

export type MetricUnit = 'Count' | 'Milliseconds' | 'Bytes' | 'Count/Second' | 'None';

export interface Metrics {
  /** Adds a value; values of the same metric are summed until `flush`. */
  count(name: string, value?: number, unit?: MetricUnit): void;
  /** Records a gauge or a timing; the last value before `flush` wins. */
  gauge(name: string, value: number, unit?: MetricUnit): void;
  /** Writes one EMF line with every metric recorded since the last flush (nothing when empty). */
  flush(): void;
  /** Metrics with extra dimensions (e.g. per shard), sharing this one's writer. */
  withDimensions(dimensions: Readonly<Record<string, string>>): Metrics;
}

export interface MetricsOptions {
  /** CloudWatch namespace. @default 'Fleetstream' */
  readonly namespace?: string;
  readonly dimensions?: Readonly<Record<string, string>>;
  /** Where the EMF line goes. Lambda: stdout. MultiLang child: stderr (stdout is the protocol). @default process.stderr */
  readonly write?: (line: string) => void;
  /** @default Date.now */
  readonly now?: () => number;
}

/** EMF allows at most 100 metrics per directive; keep well inside it. */
const MAX_METRICS_PER_LINE = 100;

export function createMetrics(options: MetricsOptions = {}): Metrics {
  const namespace = options.namespace ?? 'Fleetstream';
  const write = options.write ?? ((line: string) => process.stderr.write(line));
  const now = options.now ?? Date.now;

  const make = (dimensions: Readonly<Record<string, string>>): Metrics => {
    const values = new Map<string, { value: number; unit: MetricUnit }>();
    const flush = (): void => {
      if (values.size === 0) return;
      const entries = [...values.entries()];
      values.clear();
      for (let i = 0; i < entries.length; i += MAX_METRICS_PER_LINE) {
        const slice = entries.slice(i, i + MAX_METRICS_PER_LINE);
        const line: Record<string, unknown> = {
          _aws: {
            Timestamp: now(),
            CloudWatchMetrics: [
              {
                Namespace: namespace,
                Dimensions: [Object.keys(dimensions)],
                Metrics: slice.map(([name, { unit }]) => ({ Name: name, Unit: unit })),
              },
            ],
          },
          ...dimensions,
        };
        for (const [name, { value }] of slice) line[name] = value;
        write(`${JSON.stringify(line)}\n`);
      }
    };
    return {
      count(name, value = 1, unit = 'Count') {
        const previous = values.get(name);
        values.set(name, { value: (previous?.value ?? 0) + value, unit });
      },
      gauge(name, value, unit = 'None') {
        values.set(name, { value, unit });
      },
      flush,
      withDimensions: (extra) => make({ ...dimensions, ...extra }),
    };
  };
  return make(options.dimensions ?? {});
}
