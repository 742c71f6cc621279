/* SPDX-License-Identifier: MIT */
/* podman-args.c — quadlet keys → podman CLI options (one table per section kind). */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>

#include "argv-util.h"
#include "error-message.h"
#include "podman-args.h"
#include "unit-names.h"

typedef enum ArgKind {
        ARG_IGNORE,      /* accepted, no podman equivalent needed (generate writes its own) */
        ARG_VALUE,       /* option value */
        ARG_FLAG,        /* boolean: option when true */
        ARG_LIST,        /* option once per blank-separated word */
        ARG_SECOPT,      /* --security-opt prefix+value */
        ARG_SECFLAG,     /* boolean: --security-opt option when true */
        ARG_VOLUME,      /* -v, resolving "X.volume:" to the named volume */
        ARG_POD,         /* --pod, resolving "X.pod" to its PodName */
        ARG_NOTIFY,      /* Notify=true → --sdnotify=container */
        ARG_PODMAN_ARGS, /* split on blanks, appended as they are */
        ARG_IMAGE,       /* positional */
        ARG_EXEC,        /* positional, after the image */
        ARG_NAME,        /* --name (already emitted first) */
        ARG_INSTALL,     /* WantedBy=: generate always writes default.target */
        ARG_SERVICE,     /* [Service] keys handled by podman_args_generate() */
        ARG_DROPIN,      /* a unit setting generate cannot write: a drop-in (podman_args_dropin()) */
} ArgKind;

typedef struct KeyRule {
        const char *section;
        const char *key;
        ArgKind kind;
        const char *option;
} KeyRule;

static const KeyRule container_rules[] = {
        { "Unit", "Description", ARG_IGNORE, NULL },
        { "Unit", "Requires", ARG_DROPIN, NULL },
        { "Unit", "After", ARG_DROPIN, NULL },
        { "Container", "ContainerName", ARG_NAME, "--name" },
        { "Container", "Image", ARG_IMAGE, NULL },
        { "Container", "Pod", ARG_POD, "--pod" },
        { "Container", "User", ARG_VALUE, "--user" },
        { "Container", "ReadOnly", ARG_FLAG, "--read-only" },
        { "Container", "Tmpfs", ARG_VALUE, "--tmpfs" },
        { "Container", "NoNewPrivileges", ARG_SECFLAG, "no-new-privileges" },
        { "Container", "DropCapability", ARG_LIST, "--cap-drop" },
        { "Container", "AddCapability", ARG_LIST, "--cap-add" },
        { "Container", "Volume", ARG_VOLUME, "-v" },
        { "Container", "EnvironmentFile", ARG_VALUE, "--env-file" },
        { "Container", "Environment", ARG_LIST, "--env" },
        { "Container", "Secret", ARG_VALUE, "--secret" },
        { "Container", "LogDriver", ARG_VALUE, "--log-driver" },
        { "Container", "Notify", ARG_NOTIFY, "--sdnotify=container" },
        { "Container", "HealthCmd", ARG_VALUE, "--health-cmd" },
        { "Container", "HealthInterval", ARG_VALUE, "--health-interval" },
        { "Container", "HealthTimeout", ARG_VALUE, "--health-timeout" },
        { "Container", "HealthRetries", ARG_VALUE, "--health-retries" },
        { "Container", "HealthStartPeriod", ARG_VALUE, "--health-start-period" },
        { "Container", "HealthOnFailure", ARG_VALUE, "--health-on-failure" },
        { "Container", "StopTimeout", ARG_VALUE, "--stop-timeout" },
        { "Container", "SeccompProfile", ARG_SECOPT, "seccomp=" },
        { "Container", "SecurityLabelType", ARG_SECOPT, "label=type:" },
        { "Container", "PodmanArgs", ARG_PODMAN_ARGS, NULL },
        { "Container", "Exec", ARG_EXEC, NULL },
        { "Service", "Restart", ARG_SERVICE, NULL },
        { "Service", "TimeoutStartSec", ARG_SERVICE, NULL },
        { "Service", "TimeoutStopSec", ARG_SERVICE, NULL },
        { "Service", "WatchdogSec", ARG_DROPIN, NULL },
        { "Install", "WantedBy", ARG_INSTALL, NULL },
};

static const KeyRule pod_rules[] = {
        { "Unit", "Description", ARG_IGNORE, NULL },  { "Pod", "PodName", ARG_NAME, "--name" },
        { "Pod", "PublishPort", ARG_VALUE, "-p" },    { "Pod", "Network", ARG_VALUE, "--network" },
        { "Pod", "Volume", ARG_VOLUME, "-v" },        { "Pod", "PodmanArgs", ARG_PODMAN_ARGS, NULL },
        { "Install", "WantedBy", ARG_INSTALL, NULL },
};

static const KeyRule volume_rules[] = {
        { "Unit", "Description", ARG_IGNORE, NULL },
        { "Volume", "VolumeName", ARG_IGNORE, NULL }, /* used when a container refers to it */
};

static int unterminated_quote(const UnitFile *u, const UnitEntry *e, char **ret_error) {
        return error_message(
                ret_error, -EINVAL, "%s:%u: %s= has an unterminated quote", u->name, e->line, e->key);
}

static const KeyRule *find_rule(const UnitFile *u, const UnitEntry *e) {
        const KeyRule *rules;
        size_t n;

        switch (u->kind) {
        case UNIT_KIND_CONTAINER:
                rules = container_rules, n = ELEMENTSOF(container_rules);
                break;
        case UNIT_KIND_POD:
                rules = pod_rules, n = ELEMENTSOF(pod_rules);
                break;
        default:
                rules = volume_rules, n = ELEMENTSOF(volume_rules);
                break;
        }
        for (size_t i = 0; i < n; i++)
                if (streq(rules[i].section, e->section) && streq(rules[i].key, e->key))
                        return &rules[i];
        return NULL;
}

int podman_args_expand(const char *value, const char *home, char **ret) {
        _cleanup_free_ char *s = NULL;
        size_t len = 0;
        FILE *f;

        f = open_memstream(&s, &len);
        if (!f)
                return -ENOMEM;
        for (const char *p = value; *p; p++) {
                if (*p != '%') {
                        fputc(*p, f);
                        continue;
                }
                p++;
                if (*p == '%')
                        fputc('%', f);
                else if (*p == 'h' && home)
                        fputs(home, f);
                else {
                        fclose(f);
                        return -EINVAL;
                }
        }
        if (fclose(f) != 0)
                return -ENOMEM;
        *ret = TAKE_PTR(s);
        return 0;
}

int podman_args_parse_seconds(const char *value, unsigned *ret) {
        unsigned long total = 0;
        const char *p = value;
        bool any = false;

        while (*p) {
                unsigned long n, mult = 1;
                char *end;

                while (*p == ' ')
                        p++;
                if (!*p)
                        break;
                if (*p < '0' || *p > '9')
                        return -EINVAL;
                errno = 0;
                n = strtoul(p, &end, 10);
                if (errno != 0 || n > 86400UL * 365)
                        return -ERANGE;
                p = end;
                if (startswith(p, "min"))
                        mult = 60, p += 3;
                else if (startswith(p, "s") && !startswith(p, "sec"))
                        p += 1;
                else if (startswith(p, "sec"))
                        p += 3;
                else if (startswith(p, "h"))
                        mult = 3600, p += 1;
                else if (*p && *p != ' ')
                        return -EINVAL;
                total += n * mult;
                any = true;
        }
        if (!any || total > UINT32_MAX)
                return -EINVAL;
        *ret = (unsigned) total;
        return 0;
}

/* "name.volume:/dst[:opts]" → "<VolumeName>:/dst[:opts]"; anything else unchanged. */
static int resolve_volume(
        const UnitSet *set,
        const UnitFile *u,
        const UnitEntry *e,
        const char *value,
        char **ret,
        char **ret_error) {
        const char *colon = strchr(value, ':');
        _cleanup_free_ char *src = NULL, *name = NULL;
        const UnitFile *vol;
        size_t l;
        int r;

        src = strndup(value, colon ? (size_t) (colon - value) : strlen(value));
        if (!src)
                return -ENOMEM;
        l = strlen(src);
        if (l <= 7 || !streq(src + l - 7, ".volume")) {
                *ret = strdup(value);
                return *ret ? 0 : -ENOMEM;
        }
        vol = unit_set_find(set, src);
        if (!vol || vol->kind != UNIT_KIND_VOLUME)
                return error_message(
                        ret_error,
                        -ENOENT,
                        "%s:%u: %s= refers to '%s', which is not in the quadlet directory",
                        u->name,
                        e->line,
                        e->key,
                        src);
        r = unit_names_volume_name(vol, &name);
        if (r < 0)
                return r;
        if (asprintf(ret, "%s%s", name, colon ? colon : "") < 0)
                return -ENOMEM;
        return 0;
}

static int
resolve_pod(const UnitSet *set, const UnitFile *u, const UnitEntry *e, char **ret, char **ret_error) {
        const UnitFile *pod = unit_set_find(set, e->value);

        if (!pod || pod->kind != UNIT_KIND_POD)
                return error_message(
                        ret_error,
                        -ENOENT,
                        "%s:%u: Pod= refers to '%s', which is not in the quadlet directory",
                        u->name,
                        e->line,
                        e->value);
        return unit_names_pod_name(pod, ret);
}

/* Appends the options for every entry of u; the image and Exec= words go to positional. */
static int translate(
        const UnitSet *set,
        const UnitFile *u,
        const char *home,
        char ***argv,
        char ***positional,
        char **ret_error) {
        const char *image = NULL;
        int r;

        for (size_t i = 0; i < u->n_entries; i++) {
                const UnitEntry *e = &u->entries[i];
                const KeyRule *rule = find_rule(u, e);
                _cleanup_free_ char *value = NULL, *resolved = NULL;

                if (!rule)
                        return error_message(
                                ret_error,
                                -EBADMSG,
                                "%s:%u: key '%s' in section [%s] is not supported by the Podman %s "
                                "translation",
                                u->name,
                                e->line,
                                e->key,
                                e->section,
                                "< 5");
                r = podman_args_expand(e->value, home, &value);
                if (r == -EINVAL)
                        return error_message(
                                ret_error,
                                r,
                                "%s:%u: %s=%s uses a specifier other than %%h or %%%%",
                                u->name,
                                e->line,
                                e->key,
                                e->value);
                if (r < 0)
                        return r;

                switch (rule->kind) {
                case ARG_IGNORE:
                case ARG_SERVICE:
                case ARG_NAME:
                case ARG_DROPIN:
                        break;
                case ARG_INSTALL:
                        if (!streq(value, "default.target"))
                                return error_message(
                                        ret_error,
                                        -EBADMSG,
                                        "%s:%u: WantedBy=%s: podman generate systemd only writes "
                                        "default.target",
                                        u->name,
                                        e->line,
                                        value);
                        break;
                case ARG_VALUE:
                        r = argv_push_many(argv, rule->option, value);
                        break;
                case ARG_FLAG:
                case ARG_SECFLAG:
                case ARG_NOTIFY:
                        r = unit_parse_bool(value);
                        if (r < 0)
                                return error_message(
                                        ret_error,
                                        -EBADMSG,
                                        "%s:%u: %s=%s is not a boolean%s",
                                        u->name,
                                        e->line,
                                        e->key,
                                        value,
                                        rule->kind == ARG_NOTIFY ? " (Notify=healthy needs Podman 5)" : "");
                        if (r == 0)
                                break;
                        if (rule->kind == ARG_SECFLAG)
                                r = argv_push_many(argv, "--security-opt", rule->option);
                        else
                                r = argv_push(argv, rule->option);
                        break;
                case ARG_LIST: {
                        _cleanup_argv_free_ char **words = NULL;
                        r = argv_push_split(&words, value);
                        if (r == -EINVAL)
                                return unterminated_quote(u, e, ret_error);
                        for (size_t j = 0; r >= 0 && words && words[j]; j++)
                                r = argv_push_many(argv, rule->option, words[j]);
                        break;
                }
                case ARG_SECOPT:
                        r = argv_push(argv, "--security-opt");
                        if (r >= 0)
                                r = argv_pushf(argv, "%s%s", rule->option, value);
                        break;
                case ARG_VOLUME:
                        r = resolve_volume(set, u, e, value, &resolved, ret_error);
                        if (r >= 0)
                                r = argv_push_many(argv, rule->option, resolved);
                        break;
                case ARG_POD:
                        r = resolve_pod(set, u, e, &resolved, ret_error);
                        if (r >= 0)
                                r = argv_push_many(argv, rule->option, resolved);
                        break;
                case ARG_PODMAN_ARGS:
                case ARG_EXEC:
                        r = argv_push_split(rule->kind == ARG_EXEC ? positional : argv, value);
                        if (r == -EINVAL)
                                return unterminated_quote(u, e, ret_error);
                        break;
                case ARG_IMAGE:
                        image = e->value;
                        break;
                }
                if (r < 0)
                        return r;
        }

        if (u->kind == UNIT_KIND_CONTAINER) {
                _cleanup_argv_free_ char **exec = TAKE_PTR(*positional);

                if (!image)
                        return error_message(ret_error, -EBADMSG, "%s: [Container] has no Image=", u->name);
                r = argv_push(positional, image);
                for (size_t j = 0; r >= 0 && exec && exec[j]; j++)
                        r = argv_push(positional, exec[j]);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int append_all(char ***argv, char **more) {
        int r = 0;

        for (size_t j = 0; r >= 0 && more && more[j]; j++)
                r = argv_push(argv, more[j]);
        return r;
}

int podman_args_pod_create(const UnitSet *set, const char *home, char ***ret, char **ret_error) {
        _cleanup_argv_free_ char **argv = NULL, **positional = NULL;
        _cleanup_free_ char *name = NULL;
        const UnitFile *pod = unit_set_pod(set);
        int r;

        if (!pod)
                return error_message(ret_error, -ENOENT, "no .pod file in the quadlet directory");
        r = unit_names_pod_name(pod, &name);
        if (r < 0)
                return r;
        r = argv_push_many(&argv, "pod", "create", "--name", name);
        if (r >= 0)
                r = argv_pushf(&argv, "--infra-name=%s-infra", name);
        if (r < 0)
                return r;
        r = translate(set, pod, home, &argv, &positional, ret_error);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(argv);
        return 0;
}

int podman_args_container_create(
        const UnitSet *set, const UnitFile *ctr, const char *home, char ***ret, char **ret_error) {
        _cleanup_argv_free_ char **argv = NULL, **positional = NULL;
        _cleanup_free_ char *name = NULL;
        int r;

        if (ctr->kind != UNIT_KIND_CONTAINER)
                return -EINVAL;
        r = unit_names_container_name(ctr, &name);
        if (r < 0)
                return r;
        r = argv_push_many(&argv, "create", "--name", name);
        if (r < 0)
                return r;
        r = translate(set, ctr, home, &argv, &positional, ret_error);
        if (r < 0)
                return r;
        r = append_all(&argv, positional);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(argv);
        return 0;
}

int podman_args_dropin(const UnitFile *u, char **ret) {
        static const char *const sections[] = { "Unit", "Service" };
        _cleanup_free_ char *s = NULL;
        size_t len = 0;
        bool any = false;
        FILE *f;

        *ret = NULL;
        f = open_memstream(&s, &len);
        if (!f)
                return -ENOMEM;
        fputs("# Written by ai-semble-supervisor install: what podman generate systemd cannot write.\n", f);
        for (size_t k = 0; k < ELEMENTSOF(sections); k++) {
                bool header = false;

                for (size_t i = 0; i < u->n_entries; i++) {
                        const UnitEntry *e = &u->entries[i];
                        const KeyRule *rule = find_rule(u, e);

                        if (!rule || rule->kind != ARG_DROPIN || !streq(e->section, sections[k]))
                                continue;
                        if (!header)
                                fprintf(f, "[%s]\n", sections[k]);
                        header = any = true;
                        fprintf(f, "%s=%s\n", e->key, e->value);
                }
        }
        if (fclose(f) != 0)
                return -ENOMEM;
        if (any)
                *ret = TAKE_PTR(s);
        return 0;
}

typedef struct ServiceSetting {
        const char *key;
        const char *option;
        const char *value;
        const char *from;
} ServiceSetting;

int podman_args_generate(const UnitSet *set, char ***ret, char **ret_error) {
        static const char *const restart_policies[] = { "no",          "on-success",  "on-failure",
                                                        "on-abnormal", "on-watchdog", "on-abort",
                                                        "always" };
        ServiceSetting settings[] = {
                { "Restart", "--restart-policy", NULL, NULL },
                { "TimeoutStartSec", "--start-timeout", NULL, NULL },
                { "TimeoutStopSec", "--stop-timeout", NULL, NULL },
        };
        _cleanup_argv_free_ char **argv = NULL;
        _cleanup_free_ char *name = NULL;
        const UnitFile *pod = unit_set_pod(set);
        int r;

        if (!pod)
                return error_message(ret_error, -ENOENT, "no .pod file in the quadlet directory");

        /* generate applies one value to every unit, so the containers must agree */
        for (size_t i = 0; i < set->n_files; i++) {
                const UnitFile *u = set->files[i];
                for (size_t k = 0; k < ELEMENTSOF(settings); k++) {
                        const char *v = unit_file_get(u, "Service", settings[k].key);
                        if (!v)
                                continue;
                        if (settings[k].value && !streq(settings[k].value, v))
                                return error_message(
                                        ret_error,
                                        -EBADMSG,
                                        "%s: %s=%s differs from %s's %s=%s, but podman generate systemd "
                                        "applies one value to all units",
                                        u->name,
                                        settings[k].key,
                                        v,
                                        settings[k].from,
                                        settings[k].key,
                                        settings[k].value);
                        settings[k].value = v;
                        settings[k].from = u->name;
                }
        }

        r = unit_names_pod_name(pod, &name);
        if (r < 0)
                return r;
        /* Empty prefixes: container units get Quadlet's names (ai-semble-llm.service) and
         * the pod unit is named after the pod (ai-semble.service). */
        r = argv_push_many(
                &argv,
                "generate",
                "systemd",
                "--new",
                "--files",
                "--name",
                "--container-prefix=",
                "--pod-prefix=");
        if (r < 0)
                return r;
        for (size_t k = 0; k < ELEMENTSOF(settings); k++) {
                const char *v = settings[k].value;
                if (!v)
                        continue;
                if (k == 0) {
                        bool ok = false;
                        for (size_t j = 0; j < ELEMENTSOF(restart_policies); j++)
                                ok = ok || streq(v, restart_policies[j]);
                        if (!ok)
                                return error_message(
                                        ret_error,
                                        -EBADMSG,
                                        "%s: Restart=%s is not a restart policy",
                                        settings[k].from,
                                        v);
                        r = argv_push_many(&argv, settings[k].option, v);
                } else {
                        unsigned secs;
                        if (podman_args_parse_seconds(v, &secs) < 0)
                                return error_message(
                                        ret_error,
                                        -EBADMSG,
                                        "%s: %s=%s is not a time span in seconds",
                                        settings[k].from,
                                        settings[k].key,
                                        v);
                        r = argv_push(&argv, settings[k].option);
                        if (r >= 0)
                                r = argv_pushf(&argv, "%u", secs);
                }
                if (r < 0)
                        return r;
        }
        r = argv_push(&argv, name);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(argv);
        return 0;
}

int podman_args_check(const UnitSet *set, const char *home, char **ret_error) {
        _cleanup_argv_free_ char **argv = NULL;
        int r;

        r = podman_args_pod_create(set, home, &argv, ret_error);
        if (r < 0)
                return r;
        for (size_t i = 0; i < set->n_files; i++) {
                const UnitFile *u = set->files[i];
                _cleanup_argv_free_ char **a = NULL, **pos = NULL;

                if (u->kind == UNIT_KIND_CONTAINER)
                        r = podman_args_container_create(set, u, home, &a, ret_error);
                else if (u->kind == UNIT_KIND_VOLUME)
                        r = translate(set, u, home, &a, &pos, ret_error);
                if (r < 0)
                        return r;
        }
        argv = argv_free(argv);
        return podman_args_generate(set, &argv, ret_error);
}
