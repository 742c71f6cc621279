/* SPDX-License-Identifier: MIT */
/* runtime.c — see runtime.h. */
#include <malloc.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <time.h>

#include "log.h"
#include "runtime.h"
#include "time-util.h"
/* After macro.h (see decode.h). */
#include <vips/vips.h>

static sem_t gate;
static atomic_bool initialised;

int vision_runtime_pin_openmp(char **argv) {
        if (getenv("OMP_THREAD_LIMIT"))
                return 0;
        if (setenv("OMP_THREAD_LIMIT", "1", 1) < 0)
                return negative_errno();
        execv("/proc/self/exe", argv);
        return negative_errno();
}

unsigned vision_runtime_cpu_quota(const char *cpu_max_path) {
        FILE *f;
        cpu_set_t set;
        unsigned n = 1;
        char quota[32];
        unsigned long long period;

        if (sched_getaffinity(0, sizeof(set), &set) == 0)
                n = MAX(CPU_COUNT(&set), 1);
        /* cgroup v2: "max 100000" (no limit) or "200000 100000" (2 CPUs). */
        f = fopen(cpu_max_path ? cpu_max_path : "/sys/fs/cgroup/cpu.max", "re");
        if (!f)
                return n;
        if (fscanf(f, "%31s %llu", quota, &period) == 2 && !streq(quota, "max") && period > 0) {
                unsigned long long q = strtoull(quota, NULL, 10);
                unsigned cpus = (unsigned) MAX((q + period - 1) / period, 1ULL);
                n = MIN(n, cpus);
        }
        fclose(f);
        return n;
}

/* libvips reports recoverable trouble in hostile files ("error in tile ...") through
 * g_warning: that is the client's problem, answered with a 4xx, not our log's. */
static void
vips_log_handler(const gchar *domain, GLogLevelFlags level, const gchar *message, gpointer userdata) {
        log_debug("%s: %s", strempty(domain), strempty(message));
}

/* What vision_runtime_start() needs, kept by vision_runtime_init(). */
static char vips_argv0[64] = "ai-semble-vision";
static unsigned vips_threads = 1;
static pthread_mutex_t vips_lock = PTHREAD_MUTEX_INITIALIZER;
static int vips_state; /* 0 not started, 1 started, -errno failed or shut down */

int vision_runtime_init(const char *argv0, unsigned threads, unsigned concurrency) {
        if (atomic_load(&initialised))
                return 0;
        /* glibc gives each thread that contends its own arena and keeps what they free:
         * with 16 HTTP threads taking turns at OCR, peak RSS grew to 266 MB over six A4
         * pages; capped to the number of workers it stays at 140 MB. */
        (void) mallopt(M_ARENA_MAX, (int) MAX(concurrency, 1u));
        snprintf(vips_argv0, sizeof(vips_argv0), "%s", argv0 ? argv0 : "ai-semble-vision");
        vips_threads = MAX(threads, 1u);
        if (sem_init(&gate, 0, MAX(concurrency, 1u)) < 0)
                return negative_errno();
        atomic_store(&initialised, true);
        return 0;
}

/* VIPS_INIT registers some 300 operation classes and their GTypes, which costs 3 MB of
 * heap and touched code before any image arrives; an idle service does not pay it. */
static int vips_start_locked(void) {
        if (VIPS_INIT(vips_argv0) != 0)
                return -EIO;
        /* Loaders libvips marks untrusted (ImageMagick, PDF, JPEG 2000 ...) stay off even
         * if a module providing them is installed; we call our five loaders by name anyway. */
        g_log_set_handler(
                "VIPS",
                G_LOG_LEVEL_WARNING | G_LOG_LEVEL_MESSAGE | G_LOG_LEVEL_INFO,
                vips_log_handler,
                NULL);
        vips_block_untrusted_set(TRUE);
        /* The operation cache keeps results (and their pixels) alive: keep it small. */
        vips_cache_set_max(16);
        vips_cache_set_max_mem(16 * 1024 * 1024);
        vips_cache_set_max_files(16);
        vips_concurrency_set((int) vips_threads);
        return 1;
}

int vision_runtime_start(void) {
        int r;

        pthread_mutex_lock(&vips_lock);
        if (vips_state == 0)
                vips_state = vips_start_locked();
        r = vips_state;
        pthread_mutex_unlock(&vips_lock);
        return r < 0 ? r : 0;
}

int vision_runtime_started(void) {
        int r;

        pthread_mutex_lock(&vips_lock);
        r = vips_state;
        pthread_mutex_unlock(&vips_lock);
        return r;
}

void vision_runtime_shutdown(void) {
        if (!atomic_exchange(&initialised, false))
                return;
        sem_destroy(&gate);
        pthread_mutex_lock(&vips_lock);
        if (vips_state > 0) {
                vips_shutdown();
                vips_state = -ESHUTDOWN; /* libvips cannot be started again */
        }
        pthread_mutex_unlock(&vips_lock);
}

int vision_runtime_acquire(uint64_t timeout_ms) {
        struct timespec ts;
        int r;

        ts = timespec_deadline_ms(timeout_ms);
        while (sem_timedwait(&gate, &ts) < 0) {
                if (errno == EINTR)
                        continue;
                return errno == ETIMEDOUT ? -EBUSY : negative_errno();
        }
        r = vision_runtime_start();
        if (r < 0)
                sem_post(&gate);
        return r;
}

void vision_runtime_release(void) {
        sem_post(&gate);
}

void vision_runtime_trim(void) {
        (void) malloc_trim(0);
}
