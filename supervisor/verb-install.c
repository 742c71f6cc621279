/* SPDX-License-Identifier: MIT */
/* verb-install.c — `install [--dev]`: picks the flavor from Podman's version, writes the
 * units from the quadlet files, records them in the manifest and reloads the manager. */
#include <openssl/evp.h>
#include <stdio.h>
#include <sys/stat.h>

#include "argv-util.h"
#include "log.h"
#include "podman.h"
#include "security-apply.h"
#include "security-seccomp.h"
#include "security-selinux.h"
#include "supervisor.h"
#include "unit-install.h"

/* Removes the files of an earlier install that the new one does not write again
 * (e.g. after a Podman upgrade changed the flavor). */
static void remove_stale(const Manifest *old, const Manifest *new) {
        for (size_t i = 0; old->files && old->files[i]; i++) {
                bool keep = false;
                for (size_t j = 0; new->files &&new->files[j]; j++)
                        keep = keep || streq(old->files[i], new->files[j]);
                if (!keep && unlink(old->files[i]) < 0 && errno != ENOENT)
                        log_warning_errno(errno, "Cannot remove stale %s: %m", old->files[i]);
        }
}

#define SUPERVISOR_UNIT "ai-semble-supervisor.service"

/* The daemon's own unit: Type=notify with a watchdog, restarted on failure, and the
 * hardening a user manager can apply (seccomp-based; no mount namespaces, which would
 * need user namespaces the host may not grant). */
int supervisor_unit_text(const char *exe, const char *pod_unit, const char *syscall_filter, char **ret) {
        _cleanup_free_ char *filter = NULL;

        /* An allowlist derived by strace (security/seccomp/supervisor.json); systemd adds
         * execve, exit*, rt_sigreturn and the time/sleep calls itself. Without it, the
         * systemd groups a service daemon needs. */
        if (syscall_filter) {
                if (asprintf(&filter, "SystemCallFilter=%s\nSystemCallErrorNumber=EPERM\n", syscall_filter) <
                    0)
                        filter = NULL;
        } else
                filter = strdup(
                        "SystemCallFilter=@system-service\nSystemCallFilter=~@privileged @resources\n");
        if (!filter)
                return -ENOMEM;
        return asprintf(
                       ret,
                       "# Written by ai-semble-supervisor install\n"
                       "[Unit]\n"
                       "Description=ai-semble supervisor: monitoring, self-healing and alerts\n"
                       "After=%s\n"
                       "\n"
                       "[Service]\n"
                       "Type=notify\n"
                       "NotifyAccess=main\n"
                       "ExecStart=%s run\n"
                       "EnvironmentFile=-%%h/.config/ai-semble/supervisor.env\n"
                       "WatchdogSec=10s\n"
                       "Restart=on-failure\n"
                       "RestartSec=2s\n"
                       "TimeoutStopSec=10s\n"
                       "UMask=0077\n"
                       "NoNewPrivileges=yes\n"
                       "LockPersonality=yes\n"
                       "MemoryDenyWriteExecute=yes\n"
                       "RestrictRealtime=yes\n"
                       "RestrictSUIDSGID=yes\n"
                       "RestrictNamespaces=yes\n"
                       "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6\n"
                       "SystemCallArchitectures=native\n"
                       "%s"
                       "\n"
                       "[Install]\n"
                       "WantedBy=default.target\n",
                       pod_unit,
                       exe,
                       filter) < 0
                ? -ENOMEM
                : 0;
}

/* The names of AI_SEMBLE_SECCOMP_DIR/supervisor.json, validated; NULL (systemd's
 * groups) with a warning when there is no such profile. */
static int supervisor_filter(const Supervisor *s, char **ret) {
        _cleanup_(seccomp_profile_info_done) SeccompProfileInfo info = {};
        _cleanup_free_ char *path = NULL;
        int r;

        *ret = NULL;
        if (asprintf(&path, "%s/supervisor.json", s->cfg.seccomp_dir) < 0)
                return log_error_errno(-ENOMEM, "Out of memory");
        r = seccomp_profile_check(path, &info);
        if (r == -ENOENT && !info.bad_name) {
                log_warning(
                        "No %s: the supervisor's unit filters system calls by systemd's groups only", path);
                return 0;
        }
        if (r < 0)
                return log_error_errno(
                        r,
                        "seccomp profile %s is invalid: %s: %m",
                        path,
                        info.bad_name ? info.bad_name : "(see error)");
        r = seccomp_apply_syscall_filter(path, ret);
        if (r < 0)
                return log_error_errno(r, "Cannot read the system calls of %s: %m", path);
        log_info("%s: SystemCallFilter= allows %zu system calls", path, info.n_allowed);
        return 0;
}

static int write_supervisor_unit(const Supervisor *s, const char *filter, Manifest *mf) {
        _cleanup_free_ char *exe = NULL, *text = NULL, *path = NULL, *tmp = NULL;
        FILE *f;
        char buf[4096];
        ssize_t n;
        int r;

        n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
        if (n < 0)
                return negative_errno();
        buf[n] = 0;
        exe = strdup(buf);
        if (!exe)
                return -ENOMEM;
        r = supervisor_unit_text(exe, mf->pod_unit, filter, &text);
        if (r < 0)
                return r;
        if (asprintf(&path, "%s/" SUPERVISOR_UNIT, s->paths.unit_dir) < 0 ||
            asprintf(&tmp, "%s.tmp", path) < 0)
                return -ENOMEM;
        r = paths_mkdir_p(s->paths.unit_dir, 0755);
        if (r < 0)
                return r;
        f = fopen(tmp, "we");
        if (!f)
                return negative_errno();
        r = fputs(text, f) < 0 ? -EIO : 0;
        if (fclose(f) != 0 && r >= 0)
                r = -EIO;
        if (r < 0)
                return r;
        if (rename(tmp, path) < 0)
                return negative_errno();
        return argv_push(&mf->files, path);
}

/* What the units are made of: the flavor, Podman's version, the supervisor's own unit
 * (binary and system call filter) and every rewritten source file (publish list, env
 * file and SELinux types are in their text). Equal digests write equal units. */
static int inputs_digest(
        UnitFlavor flavor,
        const PodmanVersion *v,
        const char *filter,
        const InstallSource *src,
        char **ret) {
        static const char hex[] = "0123456789abcdef";
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int n = 0;
        EVP_MD_CTX *c = EVP_MD_CTX_new();
        char head[128], exe[4096], *out;
        ssize_t l;
        bool ok;

        if (!c)
                return -ENOMEM;
        l = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
        exe[l > 0 ? l : 0] = '\0';
        snprintf(
                head,
                sizeof(head),
                "%s %u.%u.%u\n",
                unit_flavor_to_string(flavor),
                v->major,
                v->minor,
                v->patch);
        ok = EVP_DigestInit_ex(c, EVP_sha256(), NULL) == 1 && EVP_DigestUpdate(c, head, strlen(head)) == 1 &&
                EVP_DigestUpdate(c, exe, strlen(exe) + 1) == 1 &&
                EVP_DigestUpdate(c, strempty(filter), strlen(strempty(filter)) + 1) == 1;
        for (size_t i = 0; ok && i < src->set->n_files; i++)
                ok = EVP_DigestUpdate(c, src->set->files[i]->name, strlen(src->set->files[i]->name) + 1) ==
                                1 &&
                        EVP_DigestUpdate(c, src->texts[i], strlen(src->texts[i]) + 1) == 1;
        ok = ok && EVP_DigestFinal_ex(c, md, &n) == 1;
        EVP_MD_CTX_free(c);
        if (!ok)
                return -EIO;
        out = malloc(2 * n + 1);
        if (!out)
                return -ENOMEM;
        for (unsigned i = 0; i < n; i++) {
                out[2 * i] = hex[md[i] >> 4];
                out[2 * i + 1] = hex[md[i] & 15];
        }
        out[2 * n] = '\0';
        *ret = out;
        return 0;
}

/* The installed units are what this install would write, and all of them are there. */
static bool install_current(const Manifest *old, const char *inputs) {
        if (old->flavor < 0 || !old->inputs || !streq(old->inputs, inputs) || !old->files)
                return false;
        for (size_t i = 0; old->files[i]; i++)
                if (access(old->files[i], F_OK) < 0)
                        return false;
        return true;
}

int verb_install(Supervisor *s, int argc, char **argv) {
        _cleanup_(unit_manager_freep) UnitManager *m = NULL;
        _cleanup_(install_source_done) InstallSource src = {};
        _cleanup_(manifest_done) Manifest mf = { .flavor = _UNIT_FLAVOR_INVALID };
        _cleanup_(manifest_done) Manifest old = { .flavor = _UNIT_FLAVOR_INVALID };
        _cleanup_free_ char *error = NULL, *filter = NULL, *inputs = NULL;
        SelinuxState se;
        SelinuxPlan plan;
        PodmanVersion v;
        UnitFlavor flavor;
        int r;

        if (argc > 0)
                return log_error_errno(-EINVAL, "install takes no arguments besides --dev");

        /* fail before writing anything when the units could not be used anyway */
        r = supervisor_open_manager(&m);
        if (r < 0)
                return r;

        r = podman_version_detect(s->cfg.podman, &v, &error);
        if (r < 0)
                return log_error_errno(
                        r,
                        "Cannot determine the Podman version with '%s version': %s",
                        s->cfg.podman,
                        error ? error : strerror(-r));
        flavor = podman_version_at_least(&v, 5, 0) ? UNIT_FLAVOR_QUADLET : UNIT_FLAVOR_GENERATED;
        log_info(
                "Podman %u.%u.%u%s: installing %s units",
                v.major,
                v.minor,
                v.patch,
                v.prerelease ? " (pre-release)" : "",
                flavor == UNIT_FLAVOR_QUADLET ? "Quadlet" : "podman generate systemd");

        InstallOptions o = {
                .source_dir = s->cfg.quadlet_dir,
                .publish = s->cfg.publish,
                .dev = s->dev,
                .env_file = s->cfg.env_file,
                .podman = s->cfg.podman,
                .home = s->paths.home,
                .quadlet_dir = s->paths.quadlet_dir,
                .unit_dir = s->paths.unit_dir,
        };
        /* everything that can refuse the install before anything is written */
        r = supervisor_filter(s, &filter);
        if (r < 0)
                return r;
        selinux_state_get(&se);
        plan = selinux_plan(&se);
        if (plan.kind == SELINUX_PLAN_MODULE_MISSING)
                return log_error_errno(-ENOENT, "%s (type %s is unknown)", plan.message, se.missing_type);
        o.selinux_domains = plan.kind == SELINUX_PLAN_LABEL;
        log_info("%s", plan.message);

        /* The units name the profiles, and Podman 4.3's `podman create` opens them at once:
         * they go in first. A profile that does not load stops the install here. */
        r = security_install_profiles(s, s->cfg.seccomp_dir, false);
        if (r < 0)
                return r;

        r = unit_install_load(&o, &src, &error);
        if (r < 0)
                return log_error_errno(
                        r,
                        "Cannot load the quadlet files from %s: %s",
                        s->cfg.quadlet_dir,
                        error ? error : strerror(-r));

        r = unit_install_ensure_env_file(s->cfg.env_file);
        if (r < 0)
                return log_error_errno(r, "Cannot create the environment file %s: %m", s->cfg.env_file);
        if (r > 0)
                log_notice(
                        "Created an empty %s; put the services' settings and secrets there",
                        s->cfg.env_file);

        r = inputs_digest(flavor, &v, filter, &src, &inputs);
        if (r < 0)
                return log_error_errno(r, "Cannot digest the install's inputs: %m");
        if (manifest_read(s->paths.manifest, &old) >= 0 && install_current(&old, inputs)) {
                /* a second start, or an update that changed no unit: nothing is stopped */
                log_info("The installed %s units are up to date", unit_flavor_to_string(flavor));
                return 0;
        }
        /* a running pod would be torn down under systemd's feet by the temporary pod */
        if (old.flavor >= 0) {
                log_info("Stopping the installed units first");
                (void) supervisor_stop_all(s, m, &old);
        }

        r = unit_install_manifest(src.set, flavor, &mf);
        if (r < 0)
                return log_error_errno(r, "Cannot derive the unit names: %m");
        mf.inputs = TAKE_PTR(inputs);
        if (flavor == UNIT_FLAVOR_QUADLET)
                r = unit_install_quadlet(&o, &src, &mf, &error);
        else
                r = unit_install_generated(&o, &src, &mf, &error);
        if (r < 0)
                return log_error_errno(r, "Install failed: %s", error ? error : strerror(-r));

        r = write_supervisor_unit(s, filter, &mf);
        if (r < 0)
                return log_error_errno(r, "Cannot write %s: %m", SUPERVISOR_UNIT);

        if (old.flavor >= 0)
                remove_stale(&old, &mf);
        r = paths_mkdir_p(s->paths.state_dir, 0700);
        if (r >= 0)
                r = manifest_write(s->paths.manifest, &mf);
        if (r < 0)
                return log_error_errno(r, "Cannot write %s: %m", s->paths.manifest);

        free(error);
        error = NULL;
        r = unit_manager_reload(m, &error);
        if (r < 0)
                return log_error_errno(
                        r,
                        "Units written, but the manager's Reload failed: %s",
                        error ? error : strerror(-r));

        for (size_t i = 0; mf.files && mf.files[i]; i++)
                log_info("Wrote %s", mf.files[i]);
        log_info(
                "Installed %s units: %s and %zu services; start them with 'ai-semble-supervisor start'",
                unit_flavor_to_string(flavor),
                mf.pod_unit,
                argv_length(mf.units));
        return 0;
}
