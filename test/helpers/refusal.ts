import assert from 'node:assert/strict';

/** The error the official client raises for a refused call (its Ghost envelope, mapped). */
export async function refusal(p: Promise<unknown>): Promise<{ name: string; code: string; message: string }> {
  try {
    await p;
  } catch (e) {
    const err = e as { name: string; code: string; message: string };
    return { name: err.name, code: err.code, message: err.message };
  }
  assert.fail('expected a refusal');
}
