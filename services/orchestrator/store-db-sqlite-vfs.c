/* SPDX-License-Identifier: MIT */
/* store-db-sqlite-vfs.c — the store's SQLite files through a thin layer over the unix VFS
 * that writes a commit's WAL frames with one system call.
 *
 * SQLite writes each WAL frame as two pwrite()s, its 24-byte header and its page: a job's
 * commit of ~10 frames cost ~20 system calls, 3.2 µs a frame on this kind of VM against
 * 0.25 µs a frame in one call. Here the writes of a WAL file that follow each other are
 * gathered in memory and handed to the unix VFS as one write:
 *   - when the page of a commit frame (a frame header with a database size, as the WAL
 *     format defines it) has been gathered: before sqlite3WalFrames() publishes the
 *     commit, and so that a failed write fails the commit, as it did frame by frame;
 *   - before any other operation on the WAL file (a read, a sync, a truncate, its size, a
 *     file control, its close), before a write that does not follow the gathered ones,
 *     and before WAL_GATHER_MAX bytes would be passed;
 *   - and, should anything be left, when the connection's shared-memory barrier runs
 *     (SQLite calls it between the two copies of the WAL-index header it publishes).
 * The bytes in the file and their order are SQLite's; a crash before the write is a crash
 * before the commit. Other files pass through untouched. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "store-db-sqlite.h"

#define WAL_FRAME_HEADER 24
/* At most SQLite's largest page in one write: the unix VFS masks a write's size to 17 bits
 * (it never gets more than a page from SQLite), so 128 KiB would be written as 0 bytes. */
#define WAL_GATHER_MAX (64u * 1024)

typedef struct ShimFile {
        sqlite3_file base;
        sqlite3_file *real; /* the unix VFS's file, in the same allocation */
        bool is_wal;
        struct ShimFile *wal;  /* a database file: its connection's WAL file */
        struct ShimFile *main; /* a WAL file: its database file */
        unsigned char *buf;    /* a WAL file's gathered writes: [off, off + len) */
        size_t len;
        sqlite3_int64 off;
        sqlite3_int64 commit_page_at; /* where the page of the commit frame just seen goes */
} ShimFile;

static sqlite3_vfs shim_vfs;
static const sqlite3_io_methods shim_methods;
static atomic_uint_fast64_t stat_gathered, stat_issued;

static sqlite3_vfs *root(void) {
        return shim_vfs.pAppData;
}

static size_t real_offset(void) {
        return (sizeof(ShimFile) + 15) & ~(size_t) 15;
}

static int flush(ShimFile *f) {
        int rc;

        if (f->len == 0)
                return SQLITE_OK;
        rc = f->real->pMethods->xWrite(f->real, f->buf, (int) f->len, f->off);
        atomic_fetch_add(&stat_issued, 1);
        f->len = 0;
        return rc;
}

/* Big-endian bytes 4-7 of a frame header: the database size after a commit, else 0. */
static bool frame_commits(const unsigned char *h) {
        return (h[4] | h[5] | h[6] | h[7]) != 0;
}

static int wal_write(ShimFile *f, const void *p, int n, sqlite3_int64 off) {
        bool commit_header = n == WAL_FRAME_HEADER && frame_commits(p);
        bool commit_page = off == f->commit_page_at;
        int rc = SQLITE_OK;

        f->commit_page_at = commit_header ? off + n : -1;
        atomic_fetch_add(&stat_gathered, 1);
        if (f->len > 0 && (off != f->off + (sqlite3_int64) f->len || f->len + (size_t) n > WAL_GATHER_MAX))
                rc = flush(f);
        if (rc != SQLITE_OK)
                return rc;
        if ((size_t) n > WAL_GATHER_MAX) {
                atomic_fetch_add(&stat_issued, 1);
                return f->real->pMethods->xWrite(f->real, p, n, off);
        }
        /* A commit frame's header with nothing before it is a checksum rewrite's last
         * write (or a one-frame commit's first): out now, as the commit frame's page. */
        if (f->len == 0) {
                f->off = off;
                commit_page = commit_page || commit_header;
        }
        memcpy(f->buf + f->len, p, (size_t) n);
        f->len += (size_t) n;
        return commit_page ? flush(f) : SQLITE_OK;
}

static int shim_write(sqlite3_file *file, const void *p, int n, sqlite3_int64 off) {
        ShimFile *f = (ShimFile *) file;

        if (f->is_wal)
                return wal_write(f, p, n, off);
        return f->real->pMethods->xWrite(f->real, p, n, off);
}

/* Every other method of a WAL file writes what is gathered first. */
static int flushed(ShimFile *f) {
        return f->is_wal ? flush(f) : SQLITE_OK;
}

static int shim_close(sqlite3_file *file) {
        ShimFile *f = (ShimFile *) file;
        int rc = flushed(f), k;

        if (f->main)
                f->main->wal = NULL;
        if (f->wal)
                f->wal->main = NULL;
        free(f->buf);
        k = f->real->pMethods->xClose(f->real);
        return rc != SQLITE_OK ? rc : k;
}

static int shim_read(sqlite3_file *file, void *p, int n, sqlite3_int64 off) {
        ShimFile *f = (ShimFile *) file;
        int rc = flushed(f);

        return rc != SQLITE_OK ? rc : f->real->pMethods->xRead(f->real, p, n, off);
}

static int shim_truncate(sqlite3_file *file, sqlite3_int64 size) {
        ShimFile *f = (ShimFile *) file;
        int rc = flushed(f);

        return rc != SQLITE_OK ? rc : f->real->pMethods->xTruncate(f->real, size);
}

static int shim_sync(sqlite3_file *file, int flags) {
        ShimFile *f = (ShimFile *) file;
        int rc = flushed(f);

        return rc != SQLITE_OK ? rc : f->real->pMethods->xSync(f->real, flags);
}

static int shim_file_size(sqlite3_file *file, sqlite3_int64 *ret) {
        ShimFile *f = (ShimFile *) file;
        int rc = flushed(f);

        return rc != SQLITE_OK ? rc : f->real->pMethods->xFileSize(f->real, ret);
}

static int shim_file_control(sqlite3_file *file, int op, void *arg) {
        ShimFile *f = (ShimFile *) file;
        int rc = flushed(f);

        return rc != SQLITE_OK ? rc : f->real->pMethods->xFileControl(f->real, op, arg);
}

static int shim_lock(sqlite3_file *file, int level) {
        return ((ShimFile *) file)->real->pMethods->xLock(((ShimFile *) file)->real, level);
}

static int shim_unlock(sqlite3_file *file, int level) {
        return ((ShimFile *) file)->real->pMethods->xUnlock(((ShimFile *) file)->real, level);
}

static int shim_check_reserved(sqlite3_file *file, int *ret) {
        return ((ShimFile *) file)->real->pMethods->xCheckReservedLock(((ShimFile *) file)->real, ret);
}

static int shim_sector_size(sqlite3_file *file) {
        return ((ShimFile *) file)->real->pMethods->xSectorSize(((ShimFile *) file)->real);
}

static int shim_device_characteristics(sqlite3_file *file) {
        return ((ShimFile *) file)->real->pMethods->xDeviceCharacteristics(((ShimFile *) file)->real);
}

static int shim_shm_map(sqlite3_file *file, int page, int size, int extend, void volatile **ret) {
        return ((ShimFile *) file)
                ->real->pMethods->xShmMap(((ShimFile *) file)->real, page, size, extend, ret);
}

static int shim_shm_lock(sqlite3_file *file, int offset, int n, int flags) {
        return ((ShimFile *) file)->real->pMethods->xShmLock(((ShimFile *) file)->real, offset, n, flags);
}

/* The last resort of the list above: a commit's frames reach the file before its header
 * is published (no error can be returned from here; wal_write() flushed them already). */
static void shim_shm_barrier(sqlite3_file *file) {
        ShimFile *f = (ShimFile *) file;

        if (f->wal)
                (void) flush(f->wal);
        f->real->pMethods->xShmBarrier(f->real);
}

static int shim_shm_unmap(sqlite3_file *file, int delete) {
        return ((ShimFile *) file)->real->pMethods->xShmUnmap(((ShimFile *) file)->real, delete);
}

static int shim_fetch(sqlite3_file *file, sqlite3_int64 off, int n, void **ret) {
        return ((ShimFile *) file)->real->pMethods->xFetch(((ShimFile *) file)->real, off, n, ret);
}

static int shim_unfetch(sqlite3_file *file, sqlite3_int64 off, void *p) {
        return ((ShimFile *) file)->real->pMethods->xUnfetch(((ShimFile *) file)->real, off, p);
}

static const sqlite3_io_methods shim_methods = {
        .iVersion = 3,
        .xClose = shim_close,
        .xRead = shim_read,
        .xWrite = shim_write,
        .xTruncate = shim_truncate,
        .xSync = shim_sync,
        .xFileSize = shim_file_size,
        .xLock = shim_lock,
        .xUnlock = shim_unlock,
        .xCheckReservedLock = shim_check_reserved,
        .xFileControl = shim_file_control,
        .xSectorSize = shim_sector_size,
        .xDeviceCharacteristics = shim_device_characteristics,
        .xShmMap = shim_shm_map,
        .xShmLock = shim_shm_lock,
        .xShmBarrier = shim_shm_barrier,
        .xShmUnmap = shim_shm_unmap,
        .xFetch = shim_fetch,
        .xUnfetch = shim_unfetch,
};

/* The unix VFS's file closed again; xClose is not called when pMethods is NULL. */
static int open_failed(ShimFile *f, int rc) {
        if (f->real->pMethods)
                (void) f->real->pMethods->xClose(f->real);
        f->base.pMethods = NULL;
        return rc;
}

static int shim_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *file, int flags, int *ret_flags) {
        ShimFile *f = (ShimFile *) file;
        int rc;

        *f = (ShimFile){ .real = (sqlite3_file *) ((char *) file + real_offset()),
                         .is_wal = flags & SQLITE_OPEN_WAL,
                         .commit_page_at = -1 };
        rc = root()->xOpen(root(), name, f->real, flags, ret_flags);
        if (rc != SQLITE_OK)
                return open_failed(f, rc);
        if (f->real->pMethods->iVersion < 3) /* shim_methods forwards the shm methods */
                return open_failed(f, SQLITE_CANTOPEN);
        if (f->is_wal && !(f->buf = malloc(WAL_GATHER_MAX)))
                return open_failed(f, SQLITE_NOMEM);
        f->base.pMethods = &shim_methods;
        if (f->is_wal && name) {
                ShimFile *db = (ShimFile *) sqlite3_database_file_object(name);

                if (db && db->base.pMethods == &shim_methods) {
                        db->wal = f;
                        f->main = db;
                }
        }
        return SQLITE_OK;
}

static int register_once_rc = SQLITE_ERROR;

static void register_once(void) {
        sqlite3_vfs *unix_vfs = sqlite3_vfs_find(NULL);

        if (!unix_vfs)
                return;
        /* Every method but xOpen is the unix VFS's own: they use no more of their
         * sqlite3_vfs than mxPathname, which the copy keeps. */
        shim_vfs = *unix_vfs;
        shim_vfs.iVersion = MIN(unix_vfs->iVersion, 3);
        shim_vfs.szOsFile = (int) real_offset() + unix_vfs->szOsFile;
        shim_vfs.pNext = NULL;
        shim_vfs.zName = STORE_DB_SQLITE_VFS;
        shim_vfs.pAppData = unix_vfs;
        shim_vfs.xOpen = shim_open;
        register_once_rc = sqlite3_vfs_register(&shim_vfs, 0);
}

int store_db_sqlite_vfs_register(void) {
        static pthread_once_t once = PTHREAD_ONCE_INIT;

        (void) pthread_once(&once, register_once);
        return register_once_rc;
}

void store_db_sqlite_vfs_stats(uint64_t *ret_gathered, uint64_t *ret_issued) {
        *ret_gathered = atomic_load(&stat_gathered);
        *ret_issued = atomic_load(&stat_issued);
}
