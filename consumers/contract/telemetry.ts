/**
 * The telemetry event contract, defined once. The TypeBox schema below is both the JSON Schema that
 * `npm run schema` publishes (EventBridge schema registry, `schemas/telemetry.schema.json`) and the
 * source of the TypeScript types the pipeline uses.
 */
import { type Static, Type } from '@sinclair/typebox';

export const TELEMETRY_SOURCE = 'iot.fleet';
export const TELEMETRY_DETAIL_TYPE = 'Telemetry';

/** Kinesis accepts partition keys up to 256 characters; device ids are kept well inside that. */
export const DEVICE_ID_PATTERN = '^[A-Za-z0-9._:-]{1,128}$';
/** Bounded so one device cannot grow per-event work or state without limit. */
export const MAX_METRICS_PER_EVENT = 32;
export const METRIC_NAME_PATTERN = '^[A-Za-z][A-Za-z0-9_]{0,63}$';
/** ISO 8601 with an explicit offset; milliseconds optional on the wire. */
export const TIMESTAMP_PATTERN =
  '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d{1,9})?(Z|[+-]\\d{2}:\\d{2})$';

export const TelemetryMetricsSchema = Type.Object(
  {
    temperatureC: Type.Optional(Type.Number({ description: 'Ambient temperature, degrees Celsius.' })),
    humidityPct: Type.Optional(Type.Number({ description: 'Relative humidity, percent.' })),
    batteryV: Type.Optional(Type.Number({ description: 'Battery voltage, volts.' })),
    energyWh: Type.Optional(
      Type.Number({ description: 'Cumulative energy counter, watt-hours. Resets on reboot, may wrap.' }),
    ),
  },
  {
    additionalProperties: Type.Number(),
    propertyNames: { pattern: METRIC_NAME_PATTERN },
    maxProperties: MAX_METRICS_PER_EVENT,
    description: 'Numeric readings by metric name. Unknown metrics are carried through but not windowed.',
  },
);

export const TelemetryDetailSchema = Type.Object(
  {
    deviceId: Type.String({ pattern: DEVICE_ID_PATTERN }),
    seq: Type.Integer({
      minimum: 0,
      maximum: Number.MAX_SAFE_INTEGER,
      description: 'Increases by one per event per device.',
    }),
    ts: Type.String({ pattern: TIMESTAMP_PATTERN, description: 'Device time, ISO 8601 with milliseconds.' }),
    firmware: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    metrics: TelemetryMetricsSchema,
  },
  { additionalProperties: false },
);

/** The EventBridge envelope as EventBridge writes it to a Kinesis target (no input transformer). */
export const TelemetryEventSchema = Type.Object(
  {
    version: Type.Optional(Type.String()),
    id: Type.Optional(Type.String()),
    'detail-type': Type.Literal(TELEMETRY_DETAIL_TYPE),
    source: Type.Literal(TELEMETRY_SOURCE),
    account: Type.Optional(Type.String()),
    time: Type.Optional(Type.String()),
    region: Type.Optional(Type.String()),
    resources: Type.Optional(Type.Array(Type.String())),
    detail: TelemetryDetailSchema,
  },
  { $id: 'https://fleetstream.dev/schemas/telemetry.json', title: 'FleetTelemetry' },
);

export type KnownMetrics = Static<typeof TelemetryMetricsSchema>;
export type TelemetryMetrics = KnownMetrics & { readonly [metric: string]: number | undefined };
export type TelemetryDetail = Omit<Static<typeof TelemetryDetailSchema>, 'metrics'> & {
  metrics: TelemetryMetrics;
};
export type TelemetryEvent = Omit<Static<typeof TelemetryEventSchema>, 'detail'> & {
  detail: TelemetryDetail;
};
