/* SPDX-License-Identifier: MIT */
/* log.c — structured logging: JSON lines on stderr (one write() per line so lines from
 * concurrent threads never interleave) or native journald fields when stderr is the
 * journal stream. sd-journal is loaded with dlopen() only when that is the case (as
 * systemd itself does with optional libraries): in a container stderr is never the
 * journal, so the service images need not carry libsystemd and its dependencies. */
#include <ctype.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>

#include "log.h"
#include "time-util.h"
#include "trace.h"

#define LOG_SERVICE_MAX 64
#define LOG_REQUEST_ID_MAX 128
#define LOG_MESSAGE_MAX 4096

static atomic_int log_max_level = LOG_INFO;
static atomic_bool log_use_journal = false;
static atomic_bool log_use_console = false;
static char log_service[LOG_SERVICE_MAX] = "ai-semble";
static char log_identifier[LOG_SERVICE_MAX + 16] = "ai-semble";
static __thread char log_request_id[LOG_REQUEST_ID_MAX + 1];
static __thread TraceContext log_trace;

static const char *const level_names[] = {
        [LOG_EMERG] = "emerg",     [LOG_ALERT] = "alert",   [LOG_CRIT] = "crit", [LOG_ERR] = "error",
        [LOG_WARNING] = "warning", [LOG_NOTICE] = "notice", [LOG_INFO] = "info", [LOG_DEBUG] = "debug",
};

int log_level_from_string(const char *s) {
        if (isempty(s))
                return -EINVAL;
        if (s[0] >= '0' && s[0] <= '7' && s[1] == '\0')
                return s[0] - '0';
        for (size_t i = 0; i < ELEMENTSOF(level_names); i++)
                if (strcasecmp(s, level_names[i]) == 0)
                        return (int) i;
        if (strcasecmp(s, "err") == 0)
                return LOG_ERR;
        if (strcasecmp(s, "warn") == 0)
                return LOG_WARNING;
        if (strcasecmp(s, "critical") == 0)
                return LOG_CRIT;
        return -EINVAL;
}

void log_set_max_level(int level) {
        atomic_store(&log_max_level, CLAMP(level, LOG_EMERG, LOG_DEBUG));
}

int log_get_max_level(void) {
        return atomic_load(&log_max_level);
}

void log_set_journal(bool on) {
        atomic_store(&log_use_journal, on);
}

/* JOURNAL_STREAM is "dev:ino" of the stream systemd connected; only trust it when it is
 * still our stderr (a child may inherit the variable with a different stderr). */
static bool stderr_is_journal(void) {
        const char *e = getenv("JOURNAL_STREAM");
        unsigned long long dev, ino;
        struct stat st;

        if (isempty(e) || sscanf(e, "%llu:%llu", &dev, &ino) != 2)
                return false;
        if (fstat(STDERR_FILENO, &st) < 0)
                return false;
        return (unsigned long long) st.st_dev == dev && (unsigned long long) st.st_ino == ino;
}

void log_init(const char *service) {
        const char *e;
        int l;

        if (!isempty(service)) {
                snprintf(log_service, sizeof(log_service), "%s", service);
                snprintf(log_identifier, sizeof(log_identifier), "ai-semble-%s", log_service);
        }
        e = getenv("LOG_LEVEL");
        l = log_level_from_string(e);
        log_set_max_level(l >= 0 ? l : LOG_INFO);
        log_set_journal(stderr_is_journal());
        /* A person at a terminal (the supervisor's CLI) reads sentences, not JSON. */
        atomic_store(&log_use_console, !atomic_load(&log_use_journal) && isatty(STDERR_FILENO));
}

static void write_console_line(int level, const char *msg) {
        char line[LOG_MESSAGE_MAX + 32];
        int n;

        n = snprintf(
                line,
                sizeof(line),
                "%s%s\n",
                level <= LOG_WARNING ? (level <= LOG_ERR ? "error: " : "warning: ") : "",
                msg);
        (void) !write(STDERR_FILENO, line, (size_t) MIN(n, (int) sizeof(line) - 1));
}

void log_set_request_id(const char *id) {
        if (!id) {
                log_request_id[0] = '\0';
                return;
        }
        snprintf(log_request_id, sizeof(log_request_id), "%s", id);
}

const char *log_get_request_id(void) {
        return log_request_id[0] ? log_request_id : NULL;
}

void log_set_trace(const TraceContext *t) {
        if (t && t->trace_id[0])
                log_trace = *t;
        else
                log_trace.trace_id[0] = '\0';
}

const TraceContext *log_get_trace(void) {
        return log_trace.trace_id[0] ? &log_trace : NULL;
}

/* ---- growable buffer for one JSON line ---------------------------------------- */

typedef struct LogBuf {
        char *p;
        size_t len, cap;
        bool oom;
        char stack[2048];
} LogBuf;

static void logbuf_put(LogBuf *b, const char *s, size_t n) {
        if (b->oom)
                return;
        if (b->len + n + 1 > b->cap) {
                size_t cap = MAX(b->cap * 2, b->len + n + 1);
                char *np;

                if (b->p == b->stack) {
                        np = malloc(cap);
                        if (np)
                                memcpy(np, b->p, b->len);
                } else
                        np = realloc(b->p, cap);
                if (!np) {
                        b->oom = true;
                        return;
                }
                b->p = np;
                b->cap = cap;
        }
        memcpy(b->p + b->len, s, n);
        b->len += n;
        b->p[b->len] = '\0';
}

static void logbuf_puts(LogBuf *b, const char *s) {
        logbuf_put(b, s, strlen(s));
}

/* Escapes per RFC 8259; bytes >= 0x80 are passed through (messages are UTF-8). */
static void logbuf_put_json_string(LogBuf *b, const char *s) {
        logbuf_put(b, "\"", 1);
        for (const unsigned char *c = (const unsigned char *) s; *c; c++) {
                char esc[8];

                switch (*c) {
                case '"':
                        logbuf_put(b, "\\\"", 2);
                        break;
                case '\\':
                        logbuf_put(b, "\\\\", 2);
                        break;
                case '\n':
                        logbuf_put(b, "\\n", 2);
                        break;
                case '\r':
                        logbuf_put(b, "\\r", 2);
                        break;
                case '\t':
                        logbuf_put(b, "\\t", 2);
                        break;
                default:
                        if (*c < 0x20 || *c == 0x7f) {
                                snprintf(esc, sizeof(esc), "\\u%04x", *c);
                                logbuf_puts(b, esc);
                        } else
                                logbuf_put(b, (const char *) c, 1);
                }
        }
        logbuf_put(b, "\"", 1);
}

static bool extra_field_valid(const char *kv, size_t *ret_keylen) {
        const char *eq = strchr(kv, '=');

        if (!eq || eq == kv || eq - kv > 64)
                return false;
        for (const char *c = kv; c < eq; c++)
                if (!(isupper((unsigned char) *c) || isdigit((unsigned char) *c) || *c == '_'))
                        return false;
        *ret_keylen = (size_t) (eq - kv);
        return true;
}

static void write_json_line(int level, int error, const char *const *extra, const char *msg) {
        LogBuf b = { .p = NULL, .cap = sizeof(b.stack) };
        char ts[80], num[32];
        const char *rid = log_get_request_id();
        uint64_t now = time_now_usec(CLOCK_REALTIME);

        b.p = b.stack;
        b.p[0] = '\0';
        (void) time_format_rfc3339((time_t) (now / 1000000u), (int) (now / 1000u % 1000u), ts, sizeof(ts));
        logbuf_puts(&b, "{\"ts\":\"");
        logbuf_puts(&b, ts);
        logbuf_puts(&b, "\",\"level\":\"");
        logbuf_puts(&b, level_names[CLAMP(level, LOG_EMERG, LOG_DEBUG)]);
        logbuf_puts(&b, "\",\"service\":");
        logbuf_put_json_string(&b, log_service);
        logbuf_puts(&b, ",\"msg\":");
        logbuf_put_json_string(&b, msg);
        if (rid) {
                logbuf_puts(&b, ",\"request_id\":");
                logbuf_put_json_string(&b, rid);
        }
        if (log_trace.trace_id[0]) {
                /* hex ids: nothing to escape */
                logbuf_puts(&b, ",\"trace_id\":\"");
                logbuf_puts(&b, log_trace.trace_id);
                logbuf_puts(&b, "\",\"span_id\":\"");
                logbuf_puts(&b, log_trace.span_id);
                logbuf_puts(&b, "\"");
        }
        if (error != 0) {
                snprintf(num, sizeof(num), ",\"errno\":%d", abs(error));
                logbuf_puts(&b, num);
        }
        for (const char *const *e = extra; e && *e; e++) {
                size_t kl;
                char key[80];

                if (!extra_field_valid(*e, &kl))
                        continue;
                for (size_t i = 0; i < kl; i++)
                        key[i] = (char) tolower((unsigned char) (*e)[i]);
                key[kl] = '\0';
                logbuf_puts(&b, ",");
                logbuf_put_json_string(&b, key);
                logbuf_puts(&b, ":");
                logbuf_put_json_string(&b, *e + kl + 1);
        }
        logbuf_puts(&b, "}\n");

        if (!b.oom) {
                /* One write() per line: atomic for pipes up to PIPE_BUF and never split
                 * between threads for regular files opened O_APPEND. */
                size_t off = 0;
                while (off < b.len) {
                        ssize_t n = write(STDERR_FILENO, b.p + off, b.len - off);
                        if (n < 0) {
                                if (errno == EINTR)
                                        continue;
                                break;
                        }
                        off += (size_t) n;
                }
        }
        if (b.p != b.stack)
                free(b.p);
}

typedef int (*JournalSendv)(const struct iovec *iov, int n);
static JournalSendv journal_sendv;
static pthread_once_t journal_once = PTHREAD_ONCE_INIT;

static void journal_load(void) {
        void *dl = dlopen("libsystemd.so.0", RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);

        if (dl)
                journal_sendv = (JournalSendv) dlsym(dl, "sd_journal_sendv");
}

/* Returns false when sd-journal is unavailable, so the caller falls back to stderr. */
static bool write_journal(
        int level,
        int error,
        const char *file,
        int line,
        const char *func,
        const char *const *extra,
        const char *msg) {
        size_t n_extra = 0, n = 0;
        const char *rid = log_get_request_id();

        (void) pthread_once(&journal_once, journal_load);
        if (!journal_sendv)
                return false;
        for (const char *const *e = extra; e && *e; e++)
                n_extra++;

        struct iovec iov[12 + n_extra];
        char f_msg[LOG_MESSAGE_MAX + 16], f_prio[32], f_svc[LOG_SERVICE_MAX + 16],
                f_rid[LOG_REQUEST_ID_MAX + 16], f_file[256], f_line[32], f_func[160], f_errno[32],
                f_ident[LOG_SERVICE_MAX + 48], f_trace[TRACE_ID_HEX + 16], f_span[TRACE_SPAN_ID_HEX + 16];

#define ADD(buf, ...)                                                                      \
        do {                                                                               \
                int _k = snprintf(buf, sizeof(buf), __VA_ARGS__);                          \
                iov[n++] = (struct iovec){ buf, (size_t) MIN(_k, (int) sizeof(buf) - 1) }; \
        } while (0)
        ADD(f_msg, "MESSAGE=%s", msg);
        ADD(f_prio, "PRIORITY=%d", level);
        ADD(f_svc, "SERVICE=%s", log_service);
        ADD(f_ident, "SYSLOG_IDENTIFIER=%s", log_identifier);
        ADD(f_file, "CODE_FILE=%s", strempty(file));
        ADD(f_line, "CODE_LINE=%d", line);
        ADD(f_func, "CODE_FUNC=%s", strempty(func));
        if (rid)
                ADD(f_rid, "REQUEST_ID=%s", rid);
        if (log_trace.trace_id[0]) {
                ADD(f_trace, "TRACE_ID=%s", log_trace.trace_id);
                ADD(f_span, "SPAN_ID=%s", log_trace.span_id);
        }
        if (error != 0)
                ADD(f_errno, "ERRNO=%d", abs(error));
#undef ADD
        for (const char *const *e = extra; e && *e; e++) {
                size_t kl;
                if (extra_field_valid(*e, &kl))
                        iov[n++] = (struct iovec){ (void *) *e, strlen(*e) };
        }
        (void) journal_sendv(iov, (int) n);
        return true;
}

static void log_write(
        int level,
        int error,
        const char *file,
        int line,
        const char *func,
        const char *const *extra,
        const char *msg) {
        if (atomic_load(&log_use_journal) && write_journal(level, error, file, line, func, extra, msg))
                return;
        if (atomic_load(&log_use_console))
                write_console_line(level, msg);
        else
                write_json_line(level, error, extra, msg);
}

int log_internal(
        int level,
        int error,
        const char *file,
        int line,
        const char *func,
        const char *const *extra,
        const char *format,
        ...) {
        char msg[LOG_MESSAGE_MAX];
        int saved_errno = errno;
        va_list ap;

        if (level > log_get_max_level())
                return error > 0 ? -error : error;

        /* glibc's %m prints strerror(errno): make it the error we were given. */
        if (error != 0)
                errno = abs(error);
        va_start(ap, format);
        vsnprintf(msg, sizeof(msg), format, ap);
        va_end(ap);

        log_write(level, error, file, line, func, extra, msg);

        errno = saved_errno;
        return error > 0 ? -error : error;
}
