/**
 * Loaded before every test file (scripts/run-tests.mjs). fast-check's default size caps generated arrays
 * near ten items even when a property asks for up to hundreds, which would leave reservoirs unfilled and
 * detectors unwarmed; with this, an explicit maximum is honoured.
 */
import fc from 'fast-check';

fc.configureGlobal({ ...fc.readConfigureGlobal(), defaultSizeToMaxWhenMaxSpecified: true });
