/* SPDX-License-Identifier: MIT */
/* runtime.h — process-wide state of the vision service: libvips initialised once and
 * sized to the CPU quota, and the gate that bounds how many images are processed at
 * once (each may hold a decoded image and a Tesseract model, so memory is bounded by
 * concurrency, not by the number of connections). */
#pragma once

#include <stdint.h>

#include "macro.h"

/* Tesseract parallelises with OpenMP, whose spinning worker threads on top of ours made
 * OCR 5× slower on 2 CPUs. libgomp reads OMP_THREAD_LIMIT in its constructor, before
 * main(), so when it is unset this sets it to 1 and re-executes the binary (same PID).
 * Returns only if no re-exec was needed or it failed (-errno). */
int vision_runtime_pin_openmp(char **argv);

/* CPUs this process may use: min(affinity mask, cgroup v2 cpu.max quota), at least 1.
 * cpu_max_path NULL = /sys/fs/cgroup/cpu.max. */
unsigned vision_runtime_cpu_quota(const char *cpu_max_path);

/* The gate admits `concurrency` requests at once and malloc gets as many arenas; libvips
 * is only started by vision_runtime_start() (with `threads` as its concurrency), which
 * the first processing slot taken calls. Idempotent. */
int vision_runtime_init(const char *argv0, unsigned threads, unsigned concurrency);
/* VIPS_INIT, untrusted loaders blocked, a small operation cache, vips concurrency set;
 * once, whoever calls first (0, or the -errno of the one attempt, which is not retried). */
int vision_runtime_start(void);
/* 0 not started yet, 1 started, -errno if starting failed (readiness). */
int vision_runtime_started(void);
void vision_runtime_shutdown(void);

/* Waits up to timeout_ms for a processing slot and starts libvips if it is the first:
 * 0, -EBUSY when no slot came free, or vision_runtime_start()'s error (slot released). */
int vision_runtime_acquire(uint64_t timeout_ms);
void vision_runtime_release(void);

/* Returns freed heap to the kernel (after a request that decoded a large image or ran OCR,
 * so a burst does not leave the service at its peak RSS). */
void vision_runtime_trim(void);
