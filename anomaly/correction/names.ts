/**
 * Names and codes of the correction loop. The queues are this module's own (the runtime's `fleetstream-dlq`
 * holds rejected records; correction requests and their dead letters are kept apart so an operator can
 * tell "bad input" from "a result that could not heal itself").
 */
import { DEFAULT_NAMES } from '../../consumers/contract/routing.ts';

export const CORRECTION_NAMES = {
  /** Correction requests from the shard workers and the verifier. */
  queue: 'fleetstream-corrections',
  /** Requests the handler could not complete automatically, each with a reason. */
  deadLetterQueue: 'fleetstream-corrections-dlq',
  /** The history table: one row per corrected item, key `id` (created by the pipeline's resources). */
  table: DEFAULT_NAMES.correctionTable,
  bucket: DEFAULT_NAMES.bucket,
} as const;

/** What the correction service publishes (CloudWatch EMF through the Metrics it is given). */
export const CORRECTION_METRICS = {
  requested: 'CorrectionsRequested',
  written: 'CorrectionsWritten',
  /** Requests that ended with a corrected version of their window (what the dashboard charts). */
  corrected: 'CorrectionsCorrected',
  deadLettered: 'CorrectionsDeadLettered',
  failures: 'CorrectionFailures',
  verifiedWindows: 'VerifiedWindows',
  verifierMismatches: 'VerifierMismatches',
  dlqDepth: 'CorrectionDlqDepth',
  rate: 'CorrectionRate',
  loops: 'CorrectionLoops',
} as const;

/** S3 prefix of the DLQ processor's last stop (under the shared `failures/`). */
export const FAILURE_PREFIX = 'failures/corrections/';

/** Why a request went to the correction DLQ. Stable codes: the CLI and alarms group by them. */
export const DeadLetterReason = {
  /** The item already had its one automatic correction, and that correction did not cover this request. */
  AlreadyCorrected: 'ALREADY_CORRECTED',
  /** The result to correct is not (yet) in S3: Firehose may still be buffering it. */
  ResultNotFound: 'RESULT_NOT_FOUND',
  /** The raw archive has no event of the window (or not the request's event): nothing to recalculate from. */
  RawNotFound: 'RAW_NOT_FOUND',
  /** Reading S3, writing the new version or updating the history failed. */
  RecalculationFailed: 'RECALCULATION_FAILED',
  /** The message body is not a correction request this version understands. */
  MalformedRequest: 'MALFORMED_REQUEST',
} as const;
export type DeadLetterReason = (typeof DeadLetterReason)[keyof typeof DeadLetterReason];
