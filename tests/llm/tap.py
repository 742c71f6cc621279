# SPDX-License-Identifier: MIT
"""The TAP-style harness the python service tests share: @check(name) runs a test at
once and reports it, expect() asserts, summary() prints the tally and gives the exit code."""

FAILED = []
PASSED = 0


def check(name):
    def wrap(fn):
        global PASSED
        try:
            fn()
            PASSED += 1
            print(f"ok - {name}", flush=True)
        except Exception as e:  # noqa: BLE001 - report every failure and go on
            FAILED.append(name)
            print(f"not ok - {name}: {type(e).__name__}: {e}", flush=True)
        return fn
    return wrap


def expect(cond, what):
    if not cond:
        raise AssertionError(what)


def summary(what):
    print(f"{what}: {PASSED} passed, {len(FAILED)} failed")
    if FAILED:
        print("failed: " + "; ".join(FAILED))
    return 1 if FAILED else 0
