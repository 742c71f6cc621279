/* SPDX-License-Identifier: MIT */
/* job-store-tasks.c — the services' last GET /tasks answers in the service_tasks table of
 * the job store's database. */
#include "job-store-internal.h"
#include "json-util.h"
#include "time-util.h"

int job_store_tasks_save(JobStore *s, const char *service, const char *answer) {
        return job_store_write_one(
                s,
                "INSERT INTO service_tasks(service, answer, saved_at) VALUES(?1, ?2, ?3) ON CONFLICT(service) "
                "DO UPDATE SET answer = excluded.answer, saved_at = excluded.saved_at",
                service,
                answer,
                time_now_s(CLOCK_REALTIME),
                0);
}

int job_store_tasks_load(JobStore *s, json_object **ret) {
        _cleanup_json_ json_object *o = json_object_new_object();
        StoreStmt *st = NULL;
        int rc = 0, r;

        if (!o)
                return -ENOMEM;
        pthread_mutex_lock(&s->lock);
        r = prepare(s, "SELECT service, answer FROM service_tasks ORDER BY service", &st);
        while (r >= 0 && (rc = store_step(st)) > 0)
                r = json_object_object_add(
                            o, store_column_text(st, 0), json_object_new_string(store_column_text(st, 1))) <
                                0
                        ? -ENOMEM
                        : 0;
        if (r >= 0 && rc < 0)
                r = MIN(rc, 0);
        store_stmt_finalize(st);
        pthread_mutex_unlock(&s->lock);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(o);
        return 0;
}
