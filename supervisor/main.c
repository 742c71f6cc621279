/* SPDX-License-Identifier: MIT */
/* main.c — ai-semble-supervisor: installs and drives the ai-semble pod under the
 * user's systemd manager (sd-bus only, never systemctl). Parses the command line and
 * the configuration table, dispatches to one verb-*.c per subcommand, maps the result
 * to the exit code: 0 ok, 3 not active/ready (status), 1 any error. */
#include <getopt.h>
#include <stdio.h>

#include "log.h"
#include "pod-services.h"
#include "supervisor.h"

typedef struct Verb {
        const char *name;
        int (*run)(Supervisor *s, int argc, char **argv);
        const char *usage;
} Verb;

static const Verb verbs[] = {
        { "install",
          verb_install,
          "install [--dev]     write the units for the Podman found, reload the manager" },
        { "start",
          verb_start,
          "start               start the pod and every service, wait until they are up" },
        { "stop", verb_stop, "stop                stop every service and the pod" },
        { "restart",
          verb_restart,
          "restart [SERVICE]   restart one service (" AI_SEMBLE_SERVICE_NAMES ") or all" },
        { "status",
          verb_status,
          "status [--json]     unit states and readiness; exit 0 ready, 3 not ready" },
        { "run",
          verb_run,
          "run                 the daemon: watch, heal and alert; HTTP API on SUPERVISOR_LISTEN" },
        { "update",
          verb_update,
          "update [--all] [SERVICE...]  replace the services whose image changed (--all: every one),\n"
          "                      one at a time: drain, new image, canary job, rollback on failure" },
        { "uninstall",
          verb_uninstall,
          "uninstall           stop, remove the installed units, reload the manager" },
        { "security",
          verb_security,
          "security check|apply [DIR]  validate the seccomp profiles (libseccomp) and report SELinux;\n"
          "                      apply also installs them, checks the units, labels for SELinux" },
};

static void help(FILE *f) {
        fprintf(f,
                "Usage: ai-semble-supervisor [--help] [--print-config-markdown] COMMAND [OPTIONS]\n\n"
                "Runs the ai-semble pod under your user's systemd manager.\n\nCommands:\n");
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                fprintf(f, "  %s\n", verbs[i].usage);
        fprintf(f,
                "\nUnits: Podman >= 5 gets Quadlet units (ai-semble-pod.service, "
                "ai-semble-<service>.service);\n"
                "Podman 4 gets 'podman generate systemd' units (ai-semble.service for the pod,\n"
                "ai-semble-<service>.service). The choice is recorded in\n"
                "$XDG_CONFIG_HOME/ai-semble/installed.\n\nEnvironment:\n");
        config_print_help(supervisor_config_table, supervisor_config_table_size, f);
}

static void supervisor_done(Supervisor *s) {
        config_free(supervisor_config_table, supervisor_config_table_size, &s->cfg);
        paths_done(&s->paths);
}

static int run(int argc, char **argv) {
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "dev", no_argument, NULL, 'd' },
                { "json", no_argument, NULL, 'j' },
                { "all", no_argument, NULL, 'a' },
                { "print-config-markdown", no_argument, NULL, 'm' },
                {},
        };
        _cleanup_(supervisor_done) Supervisor s = {};
        _cleanup_free_ char *error = NULL;
        const Verb *verb = NULL;
        int c, r;

        log_init("ai-semble-supervisor");

        /* "+" stops at the verb; its own flags are parsed in a second pass below */
        while ((c = getopt_long(argc, argv, "+h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help(stdout);
                        return 0;
                case 'm':
                        config_print_markdown(supervisor_config_table, supervisor_config_table_size, stdout);
                        return 0;
                default:
                        help(stderr);
                        return -EINVAL;
                }
        if (optind >= argc) {
                help(stderr);
                return -EINVAL;
        }
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                if (streq(verbs[i].name, argv[optind]))
                        verb = &verbs[i];
        if (!verb) {
                fprintf(stderr, "Unknown command '%s'.\n\n", argv[optind]);
                help(stderr);
                return -EINVAL;
        }

        argc -= optind;
        argv += optind;
        optind = 0;
        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help(stdout);
                        return 0;
                case 'd':
                        if (verb->run != verb_install)
                                return log_error_errno(-EINVAL, "--dev only applies to install");
                        s.dev = true;
                        break;
                case 'j':
                        if (verb->run != verb_status)
                                return log_error_errno(-EINVAL, "--json only applies to status");
                        s.json = true;
                        break;
                case 'a':
                        if (verb->run != verb_update)
                                return log_error_errno(-EINVAL, "--all only applies to update");
                        s.all = true;
                        break;
                default:
                        return -EINVAL;
                }

        r = config_load(supervisor_config_table, supervisor_config_table_size, &s.cfg, &error);
        if (r < 0)
                return log_error_errno(r, "Bad configuration: %s", error ? error : strerror(-r));
        log_set_max_level(s.cfg.log_level);

        r = paths_init(&s.paths);
        if (r < 0)
                return log_error_errno(r, "Cannot determine the home directory: %m");
        if (!s.cfg.env_file) {
                s.cfg.env_file = strdup(s.paths.env_file);
                if (!s.cfg.env_file)
                        return log_error_errno(-ENOMEM, "Out of memory");
        } else if (s.cfg.env_file[0] != '/')
                /* cppcheck-suppress memleak ; freed by the _cleanup_ attribute */
                return log_error_errno(
                        -EINVAL, "AI_SEMBLE_ENV_FILE must be an absolute path: %s", s.cfg.env_file);

        return verb->run(&s, argc - optind, argv + optind);
}

int main(int argc, char **argv) {
        int r = run(argc, argv);

        if (r < 0)
                return EXIT_FAILURE;
        return r;
}
