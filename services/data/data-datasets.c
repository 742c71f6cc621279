/* SPDX-License-Identifier: MIT */
/* data-datasets.c — stored datasets: each is DATA_DIR/<name>.sqlite holding one
 * `records` table, or DATA_DIR/<owner>/<name>.sqlite for a request that names its owner
 * in X-Dataset-Owner (the orchestrator sends a hash of the caller's principal, so each
 * principal has its own names). Uploads are built in a temporary file and renamed into
 * place, so a dataset is either complete or absent, and survives restarts. */
#include <dirent.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/stat.h>

#include "data-service.h"
#include "data-table.h"
#include "http-query.h"
#include "json-util.h"
#include "service.h"

#define DATASET_SUFFIX ".sqlite"

static void closedirp(DIR **d) {
        if (*d)
                closedir(*d);
}

bool data_dataset_name_valid(const char *name) {
        size_t n = strlen(name);

        if (n == 0 || n > 64 || name[0] == '-' || name[0] == '_')
                return false;
        for (size_t i = 0; i < n; i++)
                if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-", name[i]))
                        return false;
        return true;
}

/* An owner is what the orchestrator derives from a principal: 1-64 lowercase hex digits. */
static bool owner_valid(const char *owner) {
        size_t n = strlen(owner);

        return n > 0 && n <= 64 && strspn(owner, "0123456789abcdef") == n;
}

int data_dataset_dir(HttpRequest *req, const DataConfig *cfg, char **ret, DataError *err) {
        const char *owner = http_request_header(req, DATASET_OWNER_HEADER);

        if (!owner)
                return (*ret = strdup(cfg->dir)) ? 0 : -ENOMEM;
        if (!owner_valid(owner))
                return data_error(err, 400, DATASET_OWNER_HEADER, "must be 1-64 lowercase hex digits");
        return asprintf(ret, "%s/%s", cfg->dir, owner) < 0 ? -ENOMEM : 0;
}

static int dataset_path(const char *dir, const char *name, char **ret) {
        return asprintf(ret, "%s/%s" DATASET_SUFFIX, dir, name) < 0 ? -ENOMEM : 0;
}

int data_dataset_open(const char *dir, const char *name, const char *field, sqlite3 **ret, DataError *err) {
        _cleanup_free_ char *path = NULL;
        sqlite3 *db = NULL;
        int r;

        if (!data_dataset_name_valid(name))
                return data_error(err, 422, field, "dataset names are 1-64 letters, digits, _ and -");
        r = dataset_path(dir, name, &path);
        if (r < 0)
                return r;
        if (access(path, F_OK) < 0)
                return data_error(err, 404, field, "no dataset named '%s'", name);
        if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
                sqlite3_close_v2(db);
                return data_error(err, 503, field, "dataset '%s' cannot be opened", name);
        }
        data_db_harden(db);
        *ret = db;
        return 0;
}

/* {name, rows, columns: [{name, type}], bytes, modified} of an open dataset. */
static int dataset_info(sqlite3 *db, const char *name, const char *path, json_object **ret) {
        _cleanup_json_ json_object *info = json_object_new_object();
        _cleanup_(data_columns_done) DataColumns cols = {};
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        json_object *arr;
        struct stat sb;
        int r;

        if (!info)
                return -ENOMEM;
        r = data_columns_get(db, &cols);
        if (r < 0)
                return r;
        if (sqlite3_prepare_v2(db, "SELECT COUNT(*) FROM records", -1, &st, NULL) != SQLITE_OK ||
            sqlite3_step(st) != SQLITE_ROW)
                return -EIO;
        json_object_object_add(info, "name", json_object_new_string(name));
        json_object_object_add(info, "rows", json_object_new_int64(sqlite3_column_int64(st, 0)));
        arr = json_object_new_array();
        if (!arr)
                return -ENOMEM;
        json_object_object_add(info, "columns", arr);
        for (size_t i = 0; i < cols.n; i++) {
                json_object *c = json_object_new_object();
                if (!c)
                        return -ENOMEM;
                json_object_object_add(c, "name", json_object_new_string(cols.names[i]));
                json_object_object_add(
                        c, "type", json_object_new_string(data_col_type_to_string(cols.types[i])));
                json_object_array_add(arr, c);
        }
        if (stat(path, &sb) >= 0) {
                json_object_object_add(info, "bytes", json_object_new_int64((int64_t) sb.st_size));
                json_object_object_add(info, "modified", json_object_new_int64((int64_t) sb.st_mtime));
        }
        *ret = TAKE_PTR(info);
        return 0;
}

/* DATA_DIR, and the owner's directory in it. */
static int ensure_dir(const DataConfig *cfg, const char *dir, DataError *err) {
        const char *d = cfg->dir;

        for (int i = 0; i < 2; i++, d = dir)
                if (mkdir(d, 0750) < 0 && errno != EEXIST)
                        return data_error(
                                err,
                                503,
                                NULL,
                                "the dataset directory %s (DATA_DIR) cannot be created: %s",
                                d,
                                strerror(errno));
        return 0;
}

/* Spools a text/csv body to fd while scanning it (header, types, row cap, malformed CSV)
 * as it arrives: memory is one read buffer and one record, whatever the upload's size.
 * Replies itself on the client's mistakes and the named caps. */
static int spool_csv(HttpRequest *req, DataService *s, int fd, CsvLoad *scan, DataError *err) {
        _cleanup_free_ char *buf = malloc(DATA_CSV_READ_CHUNK);
        int r;

        if (!buf)
                return -ENOMEM;
        for (;;) {
                ssize_t n = http_request_read_body(req, buf, DATA_CSV_READ_CHUNK);

                if (n == -E2BIG)
                        return data_error(
                                err,
                                413,
                                "body",
                                "a streamed upload is limited to %" PRIu64 " bytes (DATA_MAX_STREAM_BYTES)",
                                s->config.max_stream_bytes);
                if (n == -EIO)
                        return data_error(
                                err,
                                400,
                                "body",
                                "the upload was incomplete: the client went away, sent less than its "
                                "Content-Length or stalled longer than HTTP_REQUEST_TIMEOUT");
                if (n < 0)
                        return (int) n;
                if (n == 0)
                        break;
                r = data_csv_scan_feed(scan, buf, (size_t) n);
                if (r < 0)
                        return r;
                for (ssize_t off = 0; off < n;) {
                        ssize_t w = write(fd, buf + off, (size_t) (n - off));
                        if (w < 0 && errno == EINTR)
                                continue;
                        if (w < 0)
                                return -errno;
                        off += w;
                }
        }
        return data_csv_scan_finish(scan);
}

/* An unnamed file in DATA_DIR for the raw upload: nothing to clean up if we die. A file
 * system without O_TMPFILE gets a named one, unlinked at once. */
static int spool_open(const char *dir, const char *name, unsigned n) {
        _cleanup_free_ char *path = NULL;
        int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);

        if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR))
                return fd < 0 ? -errno : fd;
        if (asprintf(&path, "%s/.%s.%d.%u.csv", dir, name, (int) getpid(), n) < 0)
                return -ENOMEM;
        fd = open(path, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600);
        if (fd < 0)
                return -errno;
        (void) unlink(path);
        return fd;
}

static int disk_error(DataError *err, const DataConfig *cfg, int r) {
        if (r == -ENOSPC || r == -EDQUOT)
                return data_error(
                        err, 507, NULL, "no space left for the dataset in %s (DATA_DIR)", cfg->dir);
        return r;
}

/* Uploads in progress are ".<name>.<pid>.<n>.tmp" (and ".csv" spools where O_TMPFILE is
 * missing); at start none is in progress, so what is left is a crash's: remove it, in
 * dir and (depth 1) in the owners' directories in it. */
static int sweep_dir(int dfd, int depth) {
        _cleanup_(closedirp) DIR *d = fdopendir(dfd);
        struct dirent *de;
        int n = 0;

        if (!d) {
                int r = -errno;
                close(dfd);
                return r;
        }
        while ((de = readdir(d))) {
                size_t len = strlen(de->d_name);

                if (depth == 0 && de->d_type == DT_DIR && owner_valid(de->d_name)) {
                        int fd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                        if (fd >= 0) {
                                int k = sweep_dir(fd, 1);
                                n += MAX(k, 0);
                        }
                        continue;
                }
                if (de->d_name[0] != '.' || len < 5 ||
                    (!streq(de->d_name + len - 4, ".tmp") && !streq(de->d_name + len - 4, ".csv")))
                        continue;
                if (unlinkat(dirfd(d), de->d_name, 0) >= 0)
                        n++;
        }
        return n;
}

int data_datasets_sweep(const DataConfig *cfg) {
        int fd = open(cfg->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        if (fd < 0)
                return errno == ENOENT ? 0 : -errno;
        return sweep_dir(fd, 0);
}

int data_datasets_create(HttpRequest *req, void *userdata) {
        DataService *s = userdata;
        _cleanup_(data_error_done) DataError err = {};
        _cleanup_json_ json_object *body = NULL, *errs = NULL, *info = NULL;
        _cleanup_free_ char *path = NULL, *tmp = NULL, *dir = NULL;
        _cleanup_sqlite_ sqlite3 *db = NULL;
        _cleanup_(data_csv_scan_freep) CsvLoad *scan = NULL;
        _cleanup_close_ int spool = -EBADF;
        static atomic_uint counter;
        const char *name = NULL, *ct = http_request_header(req, "Content-Type");
        json_object *records = NULL, *csv = NULL;
        char namebuf[80], flag[8];
        bool replace = false;
        int r;

        r = data_dataset_dir(req, &s->config, &dir, &err);
        if (r < 0)
                return err.status ? data_reply_error(req, &err) : r;
        if (ct && strncasecmp(ct, "text/csv", 8) == 0) {
                if (http_query_get(http_request_query(req), "name", namebuf, sizeof(namebuf)) <= 0)
                        return http_reply_error(req, 422, "a text/csv upload needs ?name=NAME");
                name = namebuf;
                replace = http_query_get(http_request_query(req), "replace", flag, sizeof(flag)) > 0 &&
                        (streq(flag, "true") || streq(flag, "1"));
        } else if (ct && strncasecmp(ct, "application/json", 16) == 0) {
                /* A JSON tree costs ~10x its text: only text/csv streams. */
                r = http_request_buffer_body(req, s->config.max_json);
                if (r == -E2BIG)
                        return http_reply_error(
                                req,
                                413,
                                "JSON uploads are limited to %" PRIu64
                                " bytes (DATA_MAX_JSON_BODY); send large data as text/csv",
                                s->config.max_json);
                if (r < 0)
                        return r;
                r = http_request_parse_json(req, &body);
                if (r < 0)
                        return 0;
                if (json_get_string(body, "name", true, &errs, &name) < 0 ||
                    json_get_bool(body, "replace", false, &errs, &replace) < 0)
                        return http_reply_validation(req, errs);
                if (json_object_object_get_ex(body, "records", &records) +
                            json_object_object_get_ex(body, "csv", &csv) !=
                    1)
                        return http_reply_error(req, 422, "give exactly one of records or csv");
        } else
                return http_reply_error(
                        req, 415, "upload text/csv (with ?name=) or application/json {name, records|csv}");
        if (!data_dataset_name_valid(name)) {
                data_error(
                        &err,
                        422,
                        "name",
                        "dataset names are 1-64 letters, digits, _ and -, not starting with _ or -");
                return data_reply_error(req, &err);
        }
        if (ensure_dir(&s->config, dir, &err) < 0)
                return data_reply_error(req, &err);
        r = dataset_path(dir, name, &path);
        if (r < 0)
                return r;
        /* Checked before a byte of a streamed body is read; the rename checks again. */
        if (!replace && access(path, F_OK) >= 0)
                return http_reply_error(req, 409, "dataset '%s' exists; pass replace to overwrite it", name);

        if (!body) {
                /* text/csv: scanned while it streams into an unnamed spool file, so a
                 * malformed or oversized upload is refused while it arrives. */
                spool = spool_open(dir, name, atomic_fetch_add(&counter, 1));
                if (spool < 0) {
                        data_error(
                                &err,
                                503,
                                NULL,
                                "cannot write to %s (DATA_DIR): %s",
                                s->config.dir,
                                strerror(-spool));
                        return data_reply_error(req, &err);
                }
                r = data_csv_scan_new(&s->config, "body", &err, &scan);
                if (r >= 0)
                        r = spool_csv(req, s, spool, scan, &err);
                if (r < 0)
                        r = disk_error(&err, &s->config, r);
                if (r < 0)
                        return err.status ? data_reply_error(req, &err) : r;
        }

        if (asprintf(&tmp, "%s/.%s.%d.%u.tmp", dir, name, (int) getpid(), atomic_fetch_add(&counter, 1)) < 0)
                return -ENOMEM;
        (void) unlink(tmp);
        if (sqlite3_open_v2(
                    tmp, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) !=
            SQLITE_OK) {
                (void) unlink(tmp);
                data_error(
                        &err,
                        503,
                        NULL,
                        "cannot create a dataset in %s (DATA_DIR): %s",
                        s->config.dir,
                        sqlite3_errmsg(db));
                return data_reply_error(req, &err);
        }
        data_db_harden(db);
        /* The file is private until renamed: no journal needed, one fsync at the end. */
        (void) sqlite3_exec(db, "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF", NULL, NULL, NULL);
        if (records) {
                if (!json_object_is_type(records, json_type_array))
                        r = data_error(&err, 422, "records", "must be an array of objects");
                else
                        r = data_table_load_records(db, records, &s->config, "records", &err);
        } else if (csv) {
                if (!json_object_is_type(csv, json_type_string))
                        r = data_error(&err, 422, "csv", "must be CSV text");
                else
                        r = data_table_load_csv(
                                db,
                                json_object_get_string(csv),
                                (size_t) json_object_get_string_len(csv),
                                &s->config,
                                "csv",
                                &err);
        } else
                r = data_csv_load_fd(scan, db, spool);
        if (r >= 0) {
                sqlite3_close_v2(TAKE_PTR(db));
                _cleanup_close_ int fd = open(tmp, O_RDONLY | O_CLOEXEC);
                if (fd < 0 || fsync(fd) < 0)
                        r = -errno;
                else if (replace)
                        r = rename(tmp, path) < 0 ? -errno : 0;
                else
                        r = renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE) < 0 ? -errno : 0;
        }
        if (r < 0) {
                sqlite3_close_v2(TAKE_PTR(db));
                (void) unlink(tmp);
                if (r == -EEXIST)
                        return http_reply_error(
                                req, 409, "dataset '%s' exists; pass replace to overwrite it", name);
                r = disk_error(&err, &s->config, r);
                if (err.status)
                        return data_reply_error(req, &err);
                return r;
        }
        r = data_dataset_open(dir, name, "name", &db, &err);
        if (r >= 0)
                r = dataset_info(db, name, path, &info);
        if (r < 0)
                return err.status ? data_reply_error(req, &err) : r;
        {
                char loc[128];
                snprintf(loc, sizeof(loc), "/datasets/%s", name);
                (void) http_reply_add_header(req, "Location", loc);
        }
        return http_reply_json(req, 201, info);
}

int data_datasets_list(HttpRequest *req, void *userdata) {
        DataService *s = userdata;
        _cleanup_(data_error_done) DataError derr = {};
        _cleanup_json_ json_object *reply = json_object_new_object();
        _cleanup_(closedirp) DIR *d = NULL;
        _cleanup_free_ char *dir = NULL;
        json_object *arr = json_object_new_array();
        struct dirent *de;
        int r;

        if (!reply || !arr) {
                json_object_put(arr);
                return -ENOMEM;
        }
        json_object_object_add(reply, "datasets", arr);
        r = data_dataset_dir(req, &s->config, &dir, &derr);
        if (r < 0)
                return derr.status ? data_reply_error(req, &derr) : r;
        d = opendir(dir);
        while (d && (de = readdir(d))) {
                _cleanup_(data_error_done) DataError err = {};
                _cleanup_sqlite_ sqlite3 *db = NULL;
                _cleanup_free_ char *name = NULL, *path = NULL;
                json_object *info = NULL;
                size_t n = strlen(de->d_name), sl = strlen(DATASET_SUFFIX);

                if (n <= sl || !streq(de->d_name + n - sl, DATASET_SUFFIX))
                        continue;
                name = strndup(de->d_name, n - sl);
                if (!name)
                        return -ENOMEM;
                if (!data_dataset_name_valid(name) || dataset_path(dir, name, &path) < 0)
                        continue;
                if (data_dataset_open(dir, name, "name", &db, &err) < 0 ||
                    dataset_info(db, name, path, &info) < 0)
                        continue; /* deleted meanwhile, or not ours */
                json_object_array_add(arr, info);
        }
        return http_reply_json(req, 200, reply);
}

int data_datasets_get(HttpRequest *req, void *userdata) {
        DataService *s = userdata;
        _cleanup_(data_error_done) DataError err = {};
        _cleanup_sqlite_ sqlite3 *db = NULL;
        _cleanup_json_ json_object *info = NULL;
        _cleanup_free_ char *path = NULL, *dir = NULL;
        const char *name = http_request_param(req, "name");
        int r;

        r = data_dataset_dir(req, &s->config, &dir, &err);
        if (r >= 0)
                r = data_dataset_open(dir, name, "name", &db, &err);
        if (r < 0)
                return err.status ? data_reply_error(req, &err) : r;
        r = dataset_path(dir, name, &path);
        if (r >= 0)
                r = dataset_info(db, name, path, &info);
        if (r < 0)
                return r;
        return http_reply_json(req, 200, info);
}

int data_datasets_delete(HttpRequest *req, void *userdata) {
        DataService *s = userdata;
        _cleanup_(data_error_done) DataError err = {};
        _cleanup_free_ char *path = NULL, *dir = NULL;
        const char *name = http_request_param(req, "name");
        int r;

        if (!data_dataset_name_valid(name))
                return http_reply_error(req, 422, "dataset names are 1-64 letters, digits, _ and -");
        r = data_dataset_dir(req, &s->config, &dir, &err);
        if (r < 0)
                return err.status ? data_reply_error(req, &err) : r;
        if (dataset_path(dir, name, &path) < 0)
                return -ENOMEM;
        if (unlink(path) < 0) {
                if (errno == ENOENT)
                        return http_reply_error(req, 404, "no dataset named '%s'", name);
                return -errno;
        }
        {
                _cleanup_json_ json_object *reply = json_object_new_object();
                if (!reply)
                        return -ENOMEM;
                json_object_object_add(reply, "deleted", json_object_new_string(name));
                return http_reply_json(req, 200, reply);
        }
}
