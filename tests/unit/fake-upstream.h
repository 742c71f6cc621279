/* SPDX-License-Identifier: MIT */
/* fake-upstream.h — an in-process stand-in for the backend services, for the
 * orchestrator's tests and benchmark: faults the real services cannot be made to produce
 * on demand, chosen by markers in the request body:
 *   "sleep:N"      answer after N ms
 *   "status:N"     answer HTTP N with a problem body
 *   "flaky:NAME:K" answer 503 to the first K calls carrying this marker, then 200
 *   "echo:"        answer 200 with the request body itself
 * POST /completion answers 503 "no backend configured" like the llm service without a
 * backend; every other POST answers 200 with a small JSON object.
 *
 * Each instance is one service (llm, vision, nlp or data): its GET /tasks lists what the
 * real one does, plus what fake_upstream_add_task() added. Every instance also has:
 *   POST /v1/chat/completions  {"stream": true} → three SSE chunks, a usage chunk (7 prompt,
 *                              3 completion tokens) and [DONE]; after the first it waits
 *                              for fake_upstream_release() (10 s at most), "gap:N" waits N
 *                              ms between chunks instead, "big:N" sends N chunks of 1000
 *                              characters more before the usage; else JSON with usage 7 + 5
 *   GET /v1/models             {"object": "list", "data": [{"id": "fake"}]}
 *   POST /datasets?name=N      a streamed body counted and dropped (nothing kept but the
 *                              name of a complete upload); GET /datasets, GET and DELETE
 *                              /datasets/{name} */
#pragma once

#include "http-server.h"

int fake_upstream_start(const char *listen, const char *service, HttpServer **ret);
/* Calls of the work routes served since start (GET /tasks and /health/ready are not counted). */
unsigned fake_upstream_calls(void);
/* service's GET /tasks answer (owned by the caller), for tests without a server. */
char *fake_upstream_tasks(const char *service);
/* Adds a task (one JSON object of GET /tasks) to what service lists from now on. */
int fake_upstream_add_task(const char *service, const char *task_json);
/* Streams: begun, finished (all chunks sent), broken off (a write failed: the orchestrator
 * went away). Uploads: completed, broken off (the body was cut short), and the bytes the
 * last one carried. */
typedef struct FakeUpstreamStats {
        unsigned streams_begun, streams_finished, streams_broken;
        unsigned uploads_completed, uploads_broken;
        uint64_t last_upload_bytes;
} FakeUpstreamStats;
void fake_upstream_stats(FakeUpstreamStats *ret);
/* Lets the streams waiting after their first chunk go on. */
void fake_upstream_release(void);
