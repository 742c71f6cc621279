/* SPDX-License-Identifier: MIT */
/* store-db-pg.c — store-db.h on PostgreSQL through libpq: the ?N of the shared SQL sent as
 * $N, parameters and results as text (blobs as binary parameters and bytea text), the
 * hot statements prepared once per session, and the one SQLSTATE → -errno mapping.
 *
 * A lost connection (the server restarted, a network cut): outside a transaction, a
 * statement first checks the idle connection (a server that shut down has said so and
 * closed it) and reconnects before it sends anything, so nothing is sent twice. When the
 * connection drops while a statement runs, a read (SELECT) is sent again once on a new
 * connection; a write is not: whether the server committed it is unknown, so it fails
 * with -ECONNRESET (the request answers 503, a client retries with its Idempotency-Key)
 * rather than being applied twice. Inside a transaction everything fails with -ECONNRESET
 * until the owner's ROLLBACK (a COMMIT too: its outcome is unknown, never retried), and
 * the next transaction starts on a new connection. */
#include <errno.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "store-db-internal.h"

/* Fixed type OIDs of PostgreSQL's catalog (pg_type.dat). */
#define PG_BOOLOID 16
#define PG_TEXTOID 25

#define PG_CONNECT_TIMEOUT_S "10"

typedef struct PgDb {
        StoreDb base;
        PGconn *conn;
        uint64_t session; /* bumped by each reconnect: statements prepared before are gone */
        unsigned next_name;
        int64_t changes;
        bool closing; /* the server said it ends the session (FATAL while we were idle) */
        bool in_tx;   /* between our BEGIN and COMMIT/ROLLBACK */
        bool broken;  /* the connection was lost inside that transaction */
} PgDb;

typedef struct PgStmt {
        StoreStmt base;
        char *sql; /* with $N */
        bool read_only;
        bool persistent;
        char name[24];
        uint64_t prepared_in; /* session it is prepared in; 0 = none */
        int n_params;
        Oid *types; /* 0: the server infers it; text for a parameter the SQL never names */
        const char **values;
        int *lengths, *formats;
        char (*num)[32];
        PGresult *res;
        int row, n_rows;
        bool ran;
        unsigned char *blob; /* the last bytea decoded */
} PgStmt;

static PgDb *db_of(StoreDb *db) {
        return (PgDb *) db;
}

static PgStmt *st_of(StoreStmt *st) {
        return (PgStmt *) st;
}

static bool pg_claims(const char *location) {
        return strncmp(location, "postgresql://", 13) == 0 || strncmp(location, "postgres://", 11) == 0;
}

static int sqlstate_errno(const char *state) {
        static const struct {
                const char *prefix;
                int r;
        } map[] = {
                { "23", -EEXIST },      /* integrity constraint violation */
                { "40001", -EBUSY },    /* serialization failure */
                { "40P01", -EBUSY },    /* deadlock detected */
                { "55P03", -EBUSY },    /* lock not available */
                { "53100", -ENOSPC },   /* disk full */
                { "53200", -ENOMEM },   /* out of memory */
                { "53300", -EBUSY },    /* too many connections */
                { "08", -ECONNRESET },  /* connection exception */
                { "57P", -ECONNRESET }, /* admin or crash shutdown, cannot connect now */
                { "28", -EACCES },      /* invalid authorization */
                { "42501", -EACCES },   /* insufficient privilege */
                { "3D000", -ENOENT },   /* no such database */
                { "25006", -EACCES },   /* read-only transaction (a standby) */
        };

        if (!state)
                return -EIO;
        for (size_t i = 0; i < ELEMENTSOF(map); i++)
                if (strncmp(state, map[i].prefix, strlen(map[i].prefix)) == 0)
                        return map[i].r;
        return -EIO;
}

/* The errno of a failed result (NULL: the connection's own failure). */
static int result_errno(PgDb *d, const PGresult *res) {
        if (PQstatus(d->conn) != CONNECTION_OK)
                return -ECONNRESET;
        if (!res)
                return -ENOMEM;
        log_debug("PostgreSQL: %s", PQresultErrorMessage(res));
        return sqlstate_errno(PQresultErrorField(res, PG_DIAG_SQLSTATE));
}

/* Notices ("relation ... already exists, skipping" of each start's CREATE ... IF NOT
 * EXISTS), and the error a server sends before it closes an idle session (a shutdown,
 * pg_terminate_backend), which libpq hands here too. */
static void notice_receive(void *userdata, const PGresult *res) {
        PgDb *d = userdata;
        const char *severity = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);

        if (streq_ptr(severity, "FATAL") || streq_ptr(severity, "PANIC"))
                d->closing = true;
        log_debug("PostgreSQL: %s", PQresultErrorMessage(res));
}

static int pg_reset(PgDb *d) {
        PQreset(d->conn);
        d->session++;
        d->in_tx = d->broken = d->closing = false;
        if (PQstatus(d->conn) != CONNECTION_OK) {
                log_debug("PostgreSQL: reconnect failed: %s", PQerrorMessage(d->conn));
                return -ECONNRESET;
        }
        return 0;
}

/* Outside a transaction, before sending: a connection the server closed (it said so and
 * hung up) is replaced now, while nothing of this statement has been sent. */
static int pg_check_idle(PgDb *d) {
        /* PQisBusy() parses what arrived: a FATAL error reaches notice_receive(). */
        if (PQstatus(d->conn) == CONNECTION_OK && PQconsumeInput(d->conn) == 1 && !PQisBusy(d->conn) &&
            !d->closing && PQstatus(d->conn) == CONNECTION_OK)
                return 0;
        return pg_reset(d);
}

static void pg_close(StoreDb *base) {
        PgDb *d = db_of(base);

        PQfinish(d->conn);
        free(d);
}

static int pg_open(const char *url, StoreDb **ret) {
        /* The URL's own connect_timeout, if any, overrides ours (later keywords win). */
        const char *const keys[] = { "connect_timeout", "dbname", NULL };
        const char *const values[] = { PG_CONNECT_TIMEOUT_S, url, NULL };
        PgDb *d = calloc(1, sizeof(PgDb));
        int r;

        if (!d)
                return -ENOMEM;
        d->base.engine = &store_db_pg_engine;
        d->session = 1;
        d->conn = PQconnectdbParams(keys, values, 1);
        if (!d->conn) {
                free(d);
                return -ENOMEM;
        }
        (void) PQsetNoticeReceiver(d->conn, notice_receive, d);
        if (PQstatus(d->conn) != CONNECTION_OK) {
                /* The message names host and user, never the password. */
                log_debug("PostgreSQL: %s", PQerrorMessage(d->conn));
                r = strstr(PQerrorMessage(d->conn), "authentication")       ? -EACCES
                        : strstr(PQerrorMessage(d->conn), "does not exist") ? -ENOENT
                                                                            : -ECONNREFUSED;
                pg_close(&d->base);
                return r;
        }
        *ret = &d->base;
        return 0;
}

static void pg_clear(PgStmt *s) {
        PQclear(s->res);
        s->res = NULL;
        free(s->blob);
        s->blob = NULL;
        s->row = -1;
        s->n_rows = 0;
        s->ran = false;
}

/* Runs a command without parameters or rows (a script, a transaction statement). */
static int pg_command(PgDb *d, const char *sql) {
        PGresult *res;
        int r = 0;

        res = PQexec(d->conn, sql);
        if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK)
                r = result_errno(d, res);
        PQclear(res);
        return r;
}

static int pg_exec(StoreDb *base, const char *script) {
        PgDb *d = db_of(base);
        int r;

        if (d->broken)
                return -ECONNRESET;
        if (!d->in_tx) {
                r = pg_check_idle(d);
                if (r < 0)
                        return r;
        }
        r = pg_command(d, script);
        if (r == -ECONNRESET && d->in_tx)
                d->broken = true;
        return r;
}

static int64_t pg_changes(StoreDb *base) {
        return db_of(base)->changes;
}

static int pg_tx(StoreDb *base, StoreTx op) {
        static const char *const sql[_STORE_TX_MAX] = {
                [STORE_TX_BEGIN] = "BEGIN",        [STORE_TX_COMMIT] = "COMMIT",
                [STORE_TX_ROLLBACK] = "ROLLBACK",  [STORE_TX_SAVEPOINT] = "SAVEPOINT op",
                [STORE_TX_RELEASE] = "RELEASE op", [STORE_TX_ROLLBACK_TO] = "ROLLBACK TO op",
        };
        PgDb *d = db_of(base);
        int r;

        switch (op) {
        case STORE_TX_BEGIN:
                r = pg_exec(base, sql[op]);
                d->in_tx = r >= 0;
                return r;
        case STORE_TX_COMMIT:
        case STORE_TX_ROLLBACK:
                /* A lost COMMIT's outcome is unknown: -ECONNRESET, never sent again. After a
                 * loss the session is replaced even if the socket still looks open, so that
                 * no half-done transaction lives on under the next BEGIN. */
                if (d->broken) {
                        (void) pg_reset(d);
                        return -ECONNRESET;
                }
                r = pg_exec(base, sql[op]);
                d->in_tx = false;
                return r;
        default:
                return pg_exec(base, sql[op]);
        }
}

/* ?N → $N outside quotes; which parameters the SQL names, and the highest. */
static int rewrite(const char *sql, char **ret, bool **ret_named, int *ret_n) {
        size_t len = strlen(sql);
        _cleanup_free_ char *out = malloc(len + 1);
        _cleanup_free_ bool *named = NULL;
        char quote = 0;
        size_t o = 0;
        int n = 0;

        if (!out)
                return -ENOMEM;
        for (size_t i = 0; i < len; i++) {
                char c = sql[i];

                if (quote) {
                        if (c == quote)
                                quote = 0;
                } else if (c == '\'' || c == '"')
                        quote = c;
                else if (c == '?' && sql[i + 1] >= '0' && sql[i + 1] <= '9') {
                        int k = 0;

                        c = '$';
                        for (size_t j = i + 1; sql[j] >= '0' && sql[j] <= '9' && k < 1000; j++)
                                k = k * 10 + (sql[j] - '0');
                        if (k < 1 || k > 999)
                                return -EINVAL;
                        if (k > n) {
                                bool *nn = realloc(named, (size_t) k * sizeof(bool));

                                if (!nn)
                                        return -ENOMEM;
                                memset(nn + n, 0, (size_t) (k - n) * sizeof(bool));
                                named = nn;
                                n = k;
                        }
                        named[k - 1] = true;
                }
                out[o++] = c;
        }
        out[o] = '\0';
        *ret = TAKE_PTR(out);
        *ret_named = TAKE_PTR(named);
        *ret_n = n;
        return 0;
}

static void pg_finalize(StoreStmt *st) {
        PgStmt *s = st_of(st);
        PgDb *d = db_of(st->db);

        pg_clear(s);
        /* Its name dies with the session otherwise; a failure here changes nothing. */
        if (s->prepared_in == d->session && PQstatus(d->conn) == CONNECTION_OK && !d->broken) {
                char sql[48];

                snprintf(sql, sizeof(sql), "DEALLOCATE %s", s->name);
                (void) pg_command(d, sql);
        }
        free(s->sql);
        free(s->types);
        free(s->values);
        free(s->lengths);
        free(s->formats);
        free(s->num);
        free(s);
}

static int pg_prepare(StoreDb *base, const char *sql, unsigned flags, StoreStmt **ret) {
        PgDb *d = db_of(base);
        PgStmt *s = calloc(1, sizeof(PgStmt));
        _cleanup_free_ bool *named = NULL;
        const char *p;
        int r;

        if (!s)
                return -ENOMEM;
        s->base.db = base;
        s->row = -1;
        r = rewrite(sql, &s->sql, &named, &s->n_params);
        if (r < 0) {
                free(s);
                return r;
        }
        for (p = sql; *p == ' ' || *p == '('; p++)
                ;
        s->read_only = strncasecmp(p, "SELECT", 6) == 0;
        s->persistent = flags & STORE_PREPARE_PERSISTENT;
        if (s->persistent)
                snprintf(s->name, sizeof(s->name), "st%u", ++d->next_name);
        if (s->n_params > 0) {
                size_t n = (size_t) s->n_params;

                s->types = calloc(n, sizeof(Oid));
                s->values = calloc(n, sizeof(char *));
                s->lengths = calloc(n, sizeof(int));
                s->formats = calloc(n, sizeof(int));
                s->num = calloc(n, sizeof(*s->num));
                if (!s->types || !s->values || !s->lengths || !s->formats || !s->num) {
                        pg_finalize(&s->base);
                        return -ENOMEM;
                }
                for (size_t i = 0; i < n; i++)
                        s->types[i] = named[i] ? 0 : PG_TEXTOID;
        }
        *ret = &s->base;
        return 0;
}

static void pg_reset_stmt(StoreStmt *st) {
        PgStmt *s = st_of(st);

        pg_clear(s);
        for (int i = 0; i < s->n_params; i++) {
                s->values[i] = NULL;
                s->lengths[i] = s->formats[i] = 0;
        }
}

static void pg_bind(StoreStmt *st, int i, const StoreValue *v) {
        PgStmt *s = st_of(st);

        if (i < 1 || i > s->n_params)
                return;
        i--;
        s->lengths[i] = s->formats[i] = 0;
        switch (v->type) {
        case STORE_VALUE_NULL:
                s->values[i] = NULL;
                break;
        case STORE_VALUE_TEXT:
                s->values[i] = v->text;
                break;
        case STORE_VALUE_INT64:
                snprintf(s->num[i], sizeof(s->num[i]), "%" PRId64, v->i);
                s->values[i] = s->num[i];
                break;
        case STORE_VALUE_DOUBLE:
                /* 17 significant digits: the double comes back as it went in. */
                snprintf(s->num[i], sizeof(s->num[i]), "%.17g", v->d);
                s->values[i] = s->num[i];
                break;
        case STORE_VALUE_BLOB:
                s->values[i] = v->blob.size ? v->blob.data : "";
                s->lengths[i] = (int) v->blob.size;
                s->formats[i] = 1;
                break;
        }
}

/* Sends the statement once (preparing it first in this session when it is kept). */
static int pg_send(PgStmt *s) {
        PgDb *d = db_of(s->base.db);
        PGresult *res;
        int r;

        if (s->persistent && s->prepared_in != d->session) {
                res = PQprepare(d->conn, s->name, s->sql, s->n_params, s->types);
                r = PQresultStatus(res) == PGRES_COMMAND_OK ? 0 : result_errno(d, res);
                PQclear(res);
                if (r < 0)
                        return r;
                s->prepared_in = d->session;
        }
        if (s->persistent)
                res = PQexecPrepared(d->conn, s->name, s->n_params, s->values, s->lengths, s->formats, 0);
        else
                res = PQexecParams(
                        d->conn, s->sql, s->n_params, s->types, s->values, s->lengths, s->formats, 0);
        switch (PQresultStatus(res)) {
        case PGRES_TUPLES_OK:
        case PGRES_COMMAND_OK: {
                const char *cmd = PQcmdStatus(res);

                if (strncmp(cmd, "INSERT", 6) == 0 || strncmp(cmd, "UPDATE", 6) == 0 ||
                    strncmp(cmd, "DELETE", 6) == 0)
                        d->changes = strtoll(PQcmdTuples(res), NULL, 10);
                s->res = res;
                s->n_rows = PQntuples(res);
                return 0;
        }
        default:
                r = result_errno(d, res);
                PQclear(res);
                return r;
        }
}

static int pg_run(PgStmt *s) {
        PgDb *d = db_of(s->base.db);
        bool in_tx = d->in_tx;
        int r;

        if (d->broken)
                return -ECONNRESET;
        if (!in_tx) {
                r = pg_check_idle(d);
                if (r < 0)
                        return r;
        }
        r = pg_send(s);
        if (r != -ECONNRESET)
                return r;
        if (in_tx) {
                d->broken = true;
                return r;
        }
        /* Lost while it ran, outside a transaction: see the top of the file. */
        r = pg_reset(d);
        if (r < 0 || !s->read_only)
                return -ECONNRESET;
        return pg_send(s);
}

static int pg_step(StoreStmt *st) {
        PgStmt *s = st_of(st);

        if (!s->ran) {
                int r = pg_run(s);

                if (r < 0)
                        return r;
                s->ran = true;
        }
        free(s->blob);
        s->blob = NULL;
        if (s->row + 1 < s->n_rows) {
                s->row++;
                return 1;
        }
        s->row = s->n_rows;
        return 0;
}

static bool have_row(PgStmt *s) {
        return s->res && s->row >= 0 && s->row < s->n_rows;
}

static int pg_column_count(StoreStmt *st) {
        PgStmt *s = st_of(st);

        return s->res ? PQnfields(s->res) : 0;
}

static const char *pg_column_name(StoreStmt *st, int col) {
        PgStmt *s = st_of(st);

        return s->res ? PQfname(s->res, col) : NULL;
}

static bool pg_column_is_null(StoreStmt *st, int col) {
        PgStmt *s = st_of(st);

        return !have_row(s) || col >= PQnfields(s->res) || PQgetisnull(s->res, s->row, col);
}

static const char *pg_column_text(StoreStmt *st, int col) {
        PgStmt *s = st_of(st);

        return pg_column_is_null(st, col) ? NULL : PQgetvalue(s->res, s->row, col);
}

static int64_t pg_column_int64(StoreStmt *st, int col) {
        PgStmt *s = st_of(st);
        const char *v = pg_column_text(st, col);

        if (!v)
                return 0;
        if (PQftype(s->res, col) == PG_BOOLOID) /* EXISTS(...), x IS NOT NULL */
                return v[0] == 't';
        return strtoll(v, NULL, 10);
}

static double pg_column_double(StoreStmt *st, int col) {
        const char *v = pg_column_text(st, col);

        return v ? strtod(v, NULL) : 0;
}

/* Valid until the next step, reset or blob of this statement. */
static const void *pg_column_blob(StoreStmt *st, int col, size_t *ret_size) {
        PgStmt *s = st_of(st);
        const char *v = pg_column_text(st, col);
        size_t n = 0;

        free(s->blob);
        s->blob = v ? PQunescapeBytea((const unsigned char *) v, &n) : NULL;
        *ret_size = s->blob ? n : 0;
        return s->blob;
}

/* The channel is one of the store's own names: checked, never quoted from input. */
static bool channel_ok(const char *channel) {
        if (isempty(channel) || strlen(channel) > 63)
                return false;
        for (const char *c = channel; *c; c++)
                if (!((*c >= 'a' && *c <= 'z') || *c == '_' || (c > channel && *c >= '0' && *c <= '9')))
                        return false;
        return true;
}

static int pg_channel_command(StoreDb *base, const char *verb, const char *channel) {
        char sql[96];

        if (!channel_ok(channel))
                return -EINVAL;
        snprintf(sql, sizeof(sql), "%s %s", verb, channel);
        return pg_exec(base, sql);
}

static int pg_notify(StoreDb *base, const char *channel) {
        return pg_channel_command(base, "NOTIFY", channel);
}

static int pg_listen(StoreDb *base, const char *channel) {
        return pg_channel_command(base, "LISTEN", channel);
}

/* Consumes the notifications that arrived: how many. */
static unsigned drain_notifies(PGconn *conn) {
        unsigned n = 0;
        PGnotify *note;

        while ((note = PQnotifies(conn))) {
                PQfreemem(note);
                n++;
        }
        return n;
}

static int pg_wait_notify(StoreDb *base, int timeout_ms) {
        PgDb *d = db_of(base);
        struct pollfd p = { .fd = PQsocket(d->conn), .events = POLLIN };
        unsigned n;
        int k;

        if (PQstatus(d->conn) != CONNECTION_OK || p.fd < 0)
                return -ECONNRESET;
        if (drain_notifies(d->conn) > 0)
                return 1;
        k = poll(&p, 1, timeout_ms);
        if (k < 0)
                return errno == EINTR ? 0 : negative_errno();
        if (k == 0)
                return 0;
        /* Readable: notifications, or the server's goodbye (EOF; a FATAL notice, parsed
         * with the notifications). */
        if (PQconsumeInput(d->conn) != 1)
                return -ECONNRESET;
        n = drain_notifies(d->conn);
        if (PQstatus(d->conn) != CONNECTION_OK || d->closing)
                return -ECONNRESET;
        return n > 0;
}

const StoreDbEngine store_db_pg_engine = {
        .kind = STORE_DB_POSTGRESQL,
        .claims = pg_claims,
        .open = pg_open,
        .close = pg_close,
        .exec = pg_exec,
        .changes = pg_changes,
        .tx = pg_tx,
        .prepare = pg_prepare,
        .finalize = pg_finalize,
        .reset = pg_reset_stmt,
        .bind = pg_bind,
        .step = pg_step,
        .column_count = pg_column_count,
        .column_name = pg_column_name,
        .column_is_null = pg_column_is_null,
        .column_text = pg_column_text,
        .column_int64 = pg_column_int64,
        .column_double = pg_column_double,
        .column_blob = pg_column_blob,
        .notify = pg_notify,
        .listen = pg_listen,
        .wait_notify = pg_wait_notify,
};
