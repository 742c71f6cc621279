/* SPDX-License-Identifier: MIT */
/* orch-fake-upstream LISTEN [SERVICE] — the fake upstream as a process, for the
 * orchestrator's benchmark and host-run checks: its GET /tasks is SERVICE's (nlp when not
 * given). Runs until SIGTERM/SIGINT. */
#include <signal.h>

#include "fake-upstream.h"
#include "log.h"

int main(int argc, char **argv) {
        HttpServer *s = NULL;
        sigset_t mask;
        int sig, r;

        if (argc < 2 || argc > 3) {
                fprintf(stderr, "usage: %s HOST:PORT [llm|vision|nlp|data]\n", argv[0]);
                return 2;
        }
        log_init("fake-upstream");
        log_set_max_level(LOG_WARNING);
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        pthread_sigmask(SIG_BLOCK, &mask, NULL);
        r = fake_upstream_start(argv[1], argc > 2 ? argv[2] : "nlp", &s);
        if (r < 0) {
                fprintf(stderr, "cannot listen on %s: %s\n", argv[1], strerror(-r));
                return 1;
        }
        (void) sigwait(&mask, &sig);
        (void) http_server_shutdown(s);
        http_server_free(s);
        return 0;
}
