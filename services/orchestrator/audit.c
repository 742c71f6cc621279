/* SPDX-License-Identifier: MIT */
/* audit.c — the audit table (created with the job store's schema, job-store-schema.c):
 * insert, query and pruning on the job store's connection, and the journald form of a
 * record. Every statement runs under the job store's lock through job_store_with_db(), so
 * the database keeps one writer. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "audit.h"
#include "json-util.h"
#include "log.h"
#include "macro.h"
#include "time-util.h"
#include "trace.h"

/* Rows are queued by the request threads and written by one thread in a transaction per
 * batch: a commit per request behind the job store's lock cost a third of a cheap POST's
 * throughput. A batch goes out every AUDIT_FLUSH_MS or at AUDIT_BATCH rows; past
 * AUDIT_QUEUE_MAX queued rows the request thread writes the queue itself (backpressure,
 * nothing is dropped). GET /audit and the stop flush first. */
#define AUDIT_FLUSH_MS 20
#define AUDIT_BATCH 256
#define AUDIT_QUEUE_MAX 16384

typedef struct AuditPending {
        struct AuditPending *next;
        double time;
        int result;
        char actor[160], role[16], action[32], target[192], request_id[129], remote_addr[64];
} AuditPending;

struct AuditLog {
        JobStore *store;
        StoreStmt *insert;

        pthread_mutex_t lock; /* the queue */
        pthread_cond_t cond;
        AuditPending *head, **tail;
        size_t n_pending;
        bool stopping;
        pthread_mutex_t flush_lock; /* one batch at a time, so rows keep their order */
        pthread_t thread;
        bool thread_started;
};

static int open_locked(StoreDb *db, void *userdata) {
        AuditLog *a = userdata;

        return store_db_prepare(
                db,
                "INSERT INTO audit(time, actor, role, action, target, result, request_id, "
                "remote_addr) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                STORE_PREPARE_PERSISTENT,
                &a->insert);
}

static void *writer_thread(void *userdata);

int audit_open(JobStore *store, AuditLog **ret) {
        AuditLog *a = calloc(1, sizeof(AuditLog));
        int r;

        if (!a)
                return -ENOMEM;
        a->store = store;
        a->tail = &a->head;
        pthread_mutex_init(&a->lock, NULL);
        pthread_cond_init(&a->cond, NULL);
        pthread_mutex_init(&a->flush_lock, NULL);
        r = job_store_with_db(store, open_locked, a);
        if (r >= 0) {
                r = -pthread_create(&a->thread, NULL, writer_thread, a);
                a->thread_started = r >= 0;
        }
        if (r < 0) {
                audit_free(a);
                return r;
        }
        *ret = a;
        return 0;
}

typedef struct BatchArgs {
        AuditLog *a;
        AuditPending *rows;
} BatchArgs;

static int write_row(StoreStmt *st, const AuditPending *p) {
        int r;

        store_stmt_reset(st);
        store_bind_double(st, 1, p->time);
        store_bind_text(st, 2, p->actor);
        store_bind_text(st, 3, p->role);
        store_bind_text(st, 4, p->action);
        store_bind_text(st, 5, p->target[0] ? p->target : NULL);
        store_bind_int64(st, 6, p->result);
        store_bind_text(st, 7, p->request_id[0] ? p->request_id : NULL);
        store_bind_text(st, 8, p->remote_addr[0] ? p->remote_addr : NULL);
        r = store_step(st);
        store_stmt_reset(st);
        return MIN(r, 0);
}

static int batch_locked(StoreDb *db, void *userdata) {
        BatchArgs *b = userdata;
        int r;

        r = store_db_begin(db);
        for (const AuditPending *p = b->rows; r >= 0 && p; p = p->next)
                r = write_row(b->a->insert, p);
        if (r >= 0)
                r = store_db_commit(db);
        if (r < 0)
                (void) store_db_rollback(db);
        return r;
}

/* Writes everything queued so far in one transaction; returns the rows written. */
static int flush(AuditLog *a) {
        AuditPending *rows;
        size_t n;
        int r;

        pthread_mutex_lock(&a->flush_lock);
        pthread_mutex_lock(&a->lock);
        rows = a->head;
        n = a->n_pending;
        a->head = NULL;
        a->tail = &a->head;
        a->n_pending = 0;
        pthread_mutex_unlock(&a->lock);
        r = rows ? job_store_with_db(a->store, batch_locked, &(BatchArgs){ a, rows }) : 0;
        pthread_mutex_unlock(&a->flush_lock);
        while (rows) {
                AuditPending *next = rows->next;

                free(rows);
                rows = next;
        }
        return r < 0 ? r : (int) MIN(n, (size_t) INT_MAX);
}

int audit_flush(AuditLog *a) {
        return flush(a);
}

static void *writer_thread(void *userdata) {
        AuditLog *a = userdata;

        pthread_mutex_lock(&a->lock);
        while (!a->stopping) {
                struct timespec ts = timespec_deadline_ms(AUDIT_FLUSH_MS);
                int n, r;

                while (!a->stopping && a->n_pending < AUDIT_BATCH)
                        if (pthread_cond_timedwait(&a->cond, &a->lock, &ts) != 0)
                                break;
                if (a->n_pending == 0)
                        continue;
                n = (int) a->n_pending;
                pthread_mutex_unlock(&a->lock);
                r = flush(a);
                if (r < 0)
                        log_warning_errno(r, "Failed to write %d audit rows: %m", n);
                pthread_mutex_lock(&a->lock);
        }
        pthread_mutex_unlock(&a->lock);
        return NULL;
}

void audit_free(AuditLog *a) {
        int r;

        if (!a)
                return;
        if (a->thread_started) {
                pthread_mutex_lock(&a->lock);
                a->stopping = true;
                pthread_cond_broadcast(&a->cond);
                pthread_mutex_unlock(&a->lock);
                pthread_join(a->thread, NULL);
        }
        r = a->insert ? flush(a) : 0;
        if (r < 0)
                log_warning_errno(r, "Failed to write the last audit rows: %m");
        store_stmt_finalize(a->insert);
        pthread_mutex_destroy(&a->flush_lock);
        pthread_cond_destroy(&a->cond);
        pthread_mutex_destroy(&a->lock);
        free(a);
}

int audit_write(AuditLog *a, const AuditRecord *rec) {
        AuditPending *p = calloc(1, sizeof(AuditPending));
        bool full;

        if (!p)
                return -ENOMEM;
        p->time = rec->time > 0 ? rec->time : time_now_s(CLOCK_REALTIME);
        p->result = rec->result;
        snprintf(p->actor, sizeof(p->actor), "%s", rec->actor ?: "anonymous");
        snprintf(p->role, sizeof(p->role), "%s", rec->role ?: "none");
        snprintf(p->action, sizeof(p->action), "%s", rec->action ?: "unknown");
        snprintf(p->target, sizeof(p->target), "%s", strempty(rec->target));
        snprintf(p->request_id, sizeof(p->request_id), "%s", strempty(rec->request_id));
        snprintf(p->remote_addr, sizeof(p->remote_addr), "%s", strempty(rec->remote_addr));
        pthread_mutex_lock(&a->lock);
        *a->tail = p;
        a->tail = &p->next;
        full = ++a->n_pending >= AUDIT_QUEUE_MAX;
        if (a->n_pending >= AUDIT_BATCH)
                pthread_cond_signal(&a->cond);
        pthread_mutex_unlock(&a->lock);
        if (full) {
                int r = flush(a); /* the writer is behind: this thread waits its turn */
                return r < 0 ? r : 0;
        }
        return 0;
}

bool audit_journal_copies(int result, const TraceContext *t) {
        return result >= 400 || !t || trace_sampled(t);
}

void audit_journal(const AuditRecord *rec) {
        char actor[160], role[32], action[64], target[192], result[32], addr[80];
        const char *fields[] = { actor, role, action, target, result, addr, "MESSAGE_ID=" AUDIT_MESSAGE_ID,
                                 NULL };

        if (!audit_journal_copies(rec->result, log_get_trace()))
                return;

        /* REQUEST_ID= is added by the log layer from the request's thread. */
        snprintf(actor, sizeof(actor), "AUDIT_ACTOR=%s", rec->actor ?: "anonymous");
        snprintf(role, sizeof(role), "AUDIT_ROLE=%s", rec->role ?: "none");
        snprintf(action, sizeof(action), "AUDIT_ACTION=%s", rec->action ?: "unknown");
        snprintf(target, sizeof(target), "AUDIT_TARGET=%s", strempty(rec->target));
        snprintf(result, sizeof(result), "AUDIT_RESULT=%d", rec->result);
        snprintf(addr, sizeof(addr), "AUDIT_REMOTE_ADDR=%s", strempty(rec->remote_addr));
        /* NOTICE: kept at the default LOG_LEVEL (info) and at notice. */
        log_fields(
                LOG_NOTICE,
                fields,
                "audit: %s (%s) %s %s -> %d",
                rec->actor ?: "anonymous",
                rec->role ?: "none",
                rec->action ?: "unknown",
                rec->target && *rec->target ? rec->target : "-",
                rec->result);
}

typedef struct QueryArgs {
        const AuditQuery *q;
        json_object *records;
        int64_t last_id;
        bool more;
} QueryArgs;

static json_object *column_string(StoreStmt *st, int col) {
        const char *v = store_column_text(st, col);

        return v ? json_object_new_string(v) : NULL;
}

static int query_locked(StoreDb *db, void *userdata) {
        QueryArgs *qa = userdata;
        _cleanup_stmt_ StoreStmt *st = NULL;
        unsigned n = 0;
        int rc, r;

        r = store_db_prepare(
                db,
                "SELECT id, time, actor, role, action, target, result, request_id, remote_addr FROM audit "
                "WHERE (CAST(?1 AS TEXT) IS NULL OR actor = ?1) AND (CAST(?2 AS TEXT) IS NULL OR action = ?2) "
                "AND time >= ?3 AND (CAST(?4 AS BIGINT) = 0 OR id < ?4) ORDER BY id DESC LIMIT ?5",
                0,
                &st);
        if (r < 0)
                return r;
        store_bind_text(st, 1, qa->q->actor);
        store_bind_text(st, 2, qa->q->action);
        store_bind_double(st, 3, qa->q->since);
        store_bind_int64(st, 4, qa->q->cursor);
        store_bind_int64(st, 5, (int64_t) qa->q->limit + 1);
        while ((rc = store_step(st)) > 0) {
                json_object *o;
                char t[32];

                if (n == qa->q->limit) {
                        qa->more = true;
                        break;
                }
                o = json_object_new_object();
                if (!o) {
                        r = -ENOMEM;
                        break;
                }
                job_format_time(store_column_double(st, 1), t);
                json_object_object_add(o, "id", json_object_new_int64(store_column_int64(st, 0)));
                json_object_object_add(o, "time", json_object_new_string(t));
                json_object_object_add(o, "actor", column_string(st, 2));
                json_object_object_add(o, "role", column_string(st, 3));
                json_object_object_add(o, "action", column_string(st, 4));
                json_object_object_add(o, "target", column_string(st, 5));
                json_object_object_add(o, "result", json_object_new_int(store_column_int64(st, 6)));
                json_object_object_add(o, "request_id", column_string(st, 7));
                json_object_object_add(o, "remote_addr", column_string(st, 8));
                if (json_object_array_add(qa->records, o) < 0) {
                        json_object_put(o);
                        r = -ENOMEM;
                        break;
                }
                qa->last_id = store_column_int64(st, 0);
                n++;
        }
        if (r >= 0 && rc < 0)
                r = rc;
        return r;
}

int audit_query_json(AuditLog *a, const AuditQuery *q, json_object **ret) {
        _cleanup_json_ json_object *o = json_object_new_object(), *records = json_object_new_array();
        QueryArgs qa = { .q = q, .records = records };
        int r;

        if (!o || !records)
                return -ENOMEM;
        r = flush(a); /* what was queued before this request is in the answer */
        if (r < 0)
                return r;
        r = job_store_with_db(a->store, query_locked, &qa);
        if (r < 0)
                return r;
        json_object_object_add(o, "records", TAKE_PTR(records));
        if (qa.more) {
                char c[32];

                snprintf(c, sizeof(c), "%" PRId64, qa.last_id);
                json_object_object_add(o, "next_cursor", json_object_new_string(c));
        } else
                json_object_object_add(o, "next_cursor", NULL);
        *ret = TAKE_PTR(o);
        return 0;
}

typedef struct PruneArgs {
        double cutoff;
        unsigned deleted;
} PruneArgs;

static int prune_locked(StoreDb *db, void *userdata) {
        PruneArgs *p = userdata;
        _cleanup_stmt_ StoreStmt *st = NULL;
        int r;

        r = store_db_prepare(db, "DELETE FROM audit WHERE time < ?1", 0, &st);
        if (r >= 0) {
                store_bind_double(st, 1, p->cutoff);
                r = store_step(st);
        }
        if (r < 0)
                return r;
        p->deleted = (unsigned) store_db_changes(db);
        return 0;
}

int audit_prune(AuditLog *a, uint64_t age_ms, unsigned *ret_deleted) {
        PruneArgs p = { .cutoff = time_now_s(CLOCK_REALTIME) - (double) age_ms / 1000.0 };
        int r;

        r = flush(a);
        if (r < 0)
                return r;
        r = job_store_with_db(a->store, prune_locked, &p);
        if (r >= 0 && ret_deleted)
                *ret_deleted = p.deleted;
        return r;
}

static bool digits(const char *s, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (s[i] < '0' || s[i] > '9')
                        return false;
        return true;
}

static int num(const char *s, size_t n) {
        int v = 0;

        for (size_t i = 0; i < n; i++)
                v = v * 10 + (s[i] - '0');
        return v;
}

int audit_parse_time(const char *s, double *ret) {
        struct tm tm = {};
        double frac = 0;
        int offset = 0;
        time_t t;
        const char *p;

        /* YYYY-MM-DDTHH:MM:SS */
        if (!s || strlen(s) < 20 || !digits(s, 4) || s[4] != '-' || !digits(s + 5, 2) || s[7] != '-' ||
            !digits(s + 8, 2) || (s[10] != 'T' && s[10] != 't') || !digits(s + 11, 2) || s[13] != ':' ||
            !digits(s + 14, 2) || s[16] != ':' || !digits(s + 17, 2))
                return -EINVAL;
        tm.tm_year = num(s, 4) - 1900;
        tm.tm_mon = num(s + 5, 2) - 1;
        tm.tm_mday = num(s + 8, 2);
        tm.tm_hour = num(s + 11, 2);
        tm.tm_min = num(s + 14, 2);
        tm.tm_sec = num(s + 17, 2);
        if (tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 ||
            tm.tm_sec > 60)
                return -EINVAL;
        p = s + 19;
        if (*p == '.') {
                double scale = 0.1;

                if (!digits(++p, 1))
                        return -EINVAL;
                for (; *p >= '0' && *p <= '9'; p++, scale /= 10)
                        frac += (*p - '0') * scale;
        }
        if (*p == 'Z' || *p == 'z')
                p++;
        else if ((*p == '+' || *p == '-') && digits(p + 1, 2) && p[3] == ':' && digits(p + 4, 2)) {
                int h = num(p + 1, 2), m = num(p + 4, 2);

                if (h > 23 || m > 59)
                        return -EINVAL;
                offset = (*p == '-' ? -1 : 1) * (h * 3600 + m * 60);
                p += 6;
        } else
                return -EINVAL;
        if (*p)
                return -EINVAL;
        t = timegm(&tm);
        if (t == (time_t) -1)
                return -EINVAL;
        *ret = (double) (t - offset) + frac;
        return 0;
}
