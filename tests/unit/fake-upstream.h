/* SPDX-License-Identifier: MIT */
/* fake-upstream.h — an in-process stand-in for the backend services, for the
 * orchestrator's tests and benchmark: faults the real services cannot be made to produce
 * on demand, chosen by markers in the request body:
 *   "sleep:N"      answer after N ms
 *   "status:N"     answer HTTP N with a problem body
 *   "flaky:NAME:K" answer 503 to the first K calls carrying this marker, then 200
 *   "echo:"        answer 200 with the request body itself
 * POST /completion answers 503 "no backend configured" like the llm service without a
 * backend; every other POST answers 200 with a small JSON object; GET /health/ready 200. */
#pragma once

#include "http-server.h"

int fake_upstream_start(const char *listen, HttpServer **ret);
/* Calls served since start. */
unsigned fake_upstream_calls(void);
