// SPDX-License-Identifier: MIT
// The TAP-style harness both clients share: check(name, fn) runs and reports a test,
// expect() asserts, done(what) prints the tally and exits with it.
let failed = 0;

export async function check(name, fn) {
  try {
    await fn();
    console.log(`ok - ${name}`);
  } catch (e) {
    failed++;
    console.log(`not ok - ${name}: ${e?.stack ?? e}`);
  }
}

export function expect(cond, what) {
  if (!cond) throw new Error(what);
}

export function done(what) {
  console.log(`${what}: ${failed === 0 ? "all passed" : failed + " failed"}`);
  process.exit(failed === 0 ? 0 : 1);
}
