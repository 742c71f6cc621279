/* SPDX-License-Identifier: MIT */
/* job-store-replays.c — the webhook signatures accepted by any orchestrator of one store,
 * each until it expires: a delivery replayed to another orchestrator is a replay there
 * too. One statement decides: the insert of a MAC wins, or revives an expired one; a live
 * one changes no row. Expired rows go with job_store_cleanup(). */
#include "job-store-internal.h"

int job_store_replay_remember(JobStore *s, const char *mac, double expires, double now) {
        StoreStmt *st = NULL;
        int r;

        pthread_mutex_lock(&s->lock);
        r =
                prepare(s,
                        "INSERT INTO webhook_replays(mac, expires_at) VALUES(?1, ?2) "
                        "ON CONFLICT(mac) DO UPDATE SET expires_at = excluded.expires_at "
                        "WHERE webhook_replays.expires_at < ?3",
                        &st);
        if (r >= 0) {
                store_bind_text(st, 1, mac);
                store_bind_double(st, 2, expires);
                store_bind_double(st, 3, now);
                r = step_done(st);
        }
        if (r >= 0)
                r = store_db_changes(s->db) == 0; /* remembered and live: a replay */
        store_stmt_finalize(st);
        pthread_mutex_unlock(&s->lock);
        return r;
}
