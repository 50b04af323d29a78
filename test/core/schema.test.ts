import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { telemetryJsonSchema } from '../../cli/commands/schema.ts';

describe('published JSON Schema', () => {
  it('schemas/telemetry.schema.json is what the contract generates (run `npm run schema` after changing it)', () => {
    // Compared as JSON: the file is formatted by the project's formatter, the generator writes plain JSON.
    const published: unknown = JSON.parse(readFileSync('schemas/telemetry.schema.json', 'utf8'));
    assert.deepEqual(published, JSON.parse(telemetryJsonSchema()));
  });

  it('is a draft-07 object schema that requires the EventBridge source, detail-type and detail', () => {
    const schema = JSON.parse(telemetryJsonSchema()) as { $schema: string; required: string[]; type: string };
    assert.equal(schema.$schema, 'http://json-schema.org/draft-07/schema#');
    assert.equal(schema.type, 'object');
    assert.deepEqual([...schema.required].sort(), ['detail', 'detail-type', 'source']);
  });
});
