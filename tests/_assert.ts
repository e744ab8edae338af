/**
 * Assertions for tests, on top of node:assert/strict (std/assert is not reachable here).
 * @module
 */
import assert from "node:assert/strict";

/** Asserts deep strict equality. */
export function assertEquals<T>(actual: unknown, expected: T, message?: string): void {
  assert.deepStrictEqual(actual, expected, message);
}

/** Asserts `actual` matches `re`. */
export function assertMatch(actual: string, re: RegExp, message?: string): void {
  assert.match(actual, re, message);
}

/** Asserts `actual` does not match `re`. */
export function assertNotMatch(actual: string, re: RegExp, message?: string): void {
  assert.doesNotMatch(actual, re, message);
}

/** Asserts a truthy value. */
export function assertOk(value: unknown, message?: string): asserts value {
  assert.ok(value, message);
}

/** Asserts `fn` throws an error whose message matches `re`; returns the error. */
export function assertThrows(fn: () => unknown, re?: RegExp): Error {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof Error, "expected an error to be thrown");
  if (re) assert.match(caught.message, re);
  return caught;
}

/** Asserts a promise rejects with an error whose message matches `re`; returns the error. */
export async function assertRejects(fn: () => Promise<unknown>, re?: RegExp): Promise<Error> {
  let caught: unknown;
  try {
    await fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof Error, "expected a rejection");
  if (re) assert.match(caught.message, re);
  return caught;
}
