# shellcheck shell=bash
# service-chaos.sh — issue 23's chaos test with a small N (sourced by run.sh):
# tests/bench/chaos.sh submits asynchronous jobs through the published port while random
# SIGKILLs hit every service and the orchestrator, and fails unless every job was
# accepted and completed (none refused, lost, stuck or failed). The benchmark runs the
# same script with 300 jobs and 12 kills (docs/benchmarks.md).

t_chaos() {
        TOKEN=$IT_TOKEN WAIT=180 "$AI_SEMBLE_ROOT/tests/bench/chaos.sh" 40 4 && wait_ready
}
check "chaos: 40 async jobs while 4 random SIGKILLs hit the services and the orchestrator: none refused, lost, stuck or failed" t_chaos
