# shellcheck shell=bash
# hostenv.sh — run the pod as an unprivileged user under a real `systemd --user`.
#
# On an ordinary systemd host run by an ordinary user, nothing here does anything:
# hostenv_exec runs the command as it is. Run as root, the pod belongs to a dedicated
# unprivileged user (AI_SEMBLE_USER, default "aisemble"), created if missing. Where
# systemd is not PID 1 (containers, CI VMs), we build what a login would have given
# that user: a private mount namespace with /run/systemd/system (so the manager
# believes it was booted with systemd) and a journald, delegated cgroups, and then
# `systemd --user`. Every later podman, systemctl or journalctl call for that user
# runs inside that namespace (rootless podman pins the namespace of its first call).
# See ../shared/notes/host-without-systemd.md for why each step is needed.

AI_SEMBLE_USER=${AI_SEMBLE_USER:-aisemble}
HOSTENV_STATE=${HOSTENV_STATE:-/run/ai-semble-hostenv}

hostenv_log() { printf '==> %s\n' "$*" >&2; }

# "direct": we are the pod's user on a systemd host; "root-systemd": root on a systemd
# host (use the dedicated user's real login manager); "private": root, no systemd PID 1.
hostenv_mode() {
        if [ "$(id -u)" -ne 0 ]; then
                echo direct
        elif [ -d /run/systemd/system ] && [ ! -e "$HOSTENV_STATE/manager.pid" ]; then
                echo root-systemd
        else
                echo private
        fi
}

hostenv_uid() { id -u "$AI_SEMBLE_USER"; }
hostenv_home() { getent passwd "$AI_SEMBLE_USER" | cut -d: -f6; }

hostenv_ensure_user() {
        if ! id "$AI_SEMBLE_USER" >/dev/null 2>&1; then
                hostenv_log "creating unprivileged user '$AI_SEMBLE_USER' to run the pod rootless"
                useradd --create-home --shell /usr/sbin/nologin --user-group "$AI_SEMBLE_USER"
        fi
        # Rootless podman needs subordinate id ranges; useradd adds them for regular
        # users, but an existing account may lack them.
        if ! grep -q "^$AI_SEMBLE_USER:" /etc/subuid; then
                usermod --add-subuids 200000-265535 --add-subgids 200000-265535 "$AI_SEMBLE_USER"
        fi
        getent group systemd-journal >/dev/null && usermod -a -G systemd-journal "$AI_SEMBLE_USER"
        return 0
}

hostenv_manager_pid() {
        local pid
        pid=$(cat "$HOSTENV_STATE/manager.pid" 2>/dev/null) || return 1
        [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

# The environment a login session gives the user.
hostenv_user_env() {
        local uid home
        uid=$(hostenv_uid)
        home=$(hostenv_home)
        echo HOME="$home" USER="$AI_SEMBLE_USER" LOGNAME="$AI_SEMBLE_USER" \
                XDG_RUNTIME_DIR="/run/user/$uid" DBUS_SESSION_BUS_ADDRESS="unix:path=/run/user/$uid/bus" \
                PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin LANG=C.UTF-8
}

hostenv_start_private() {
        local uid gid home pid cg
        uid=$(hostenv_uid)
        gid=$(id -g "$AI_SEMBLE_USER")
        home=$(hostenv_home)
        hostenv_log "systemd is not PID 1 here: starting a private user manager and journald for '$AI_SEMBLE_USER' (uid $uid)"

        # slirp4netns opens /dev/net/tun as the user; some hosts ship it 0600.
        [ -c /dev/net/tun ] && chmod 0666 /dev/net/tun
        install -d -m 0700 -o "$uid" -g "$gid" "/run/user/$uid"
        install -d -m 0755 "$HOSTENV_STATE"
        # A persistent journal is split per user, which is what `journalctl --user` reads
        # (the runtime journal in /run/log is never split).
        install -d -m 2755 -g systemd-journal /var/log/journal

        # Delegate the user's cgroup subtree in both hierarchies of the hybrid layout.
        for h in systemd unified; do
                [ -d "/sys/fs/cgroup/$h" ] || continue
                cg="/sys/fs/cgroup/$h/user.slice/user-$uid.slice/user@$uid.service"
                mkdir -p "$cg"
                chown -R "$uid:$gid" "$cg"
        done

        # Rootless podman must never have run outside the namespace, or its pause
        # process pins the wrong mount namespace.
        pkill -u "$uid" -f 'catatonit -P' 2>/dev/null || true

        # The launcher moves itself into the delegated cgroups, then becomes the manager.
        # /run/systemd/system only exists inside the namespace, so apt on the host keeps
        # believing (rightly) that systemd is not running.
        # shellcheck disable=SC2016,SC2046 # the script is for the inner shell; the env list splits on purpose
        setsid unshare --mount --propagation private -- /bin/bash -c '
                set -e
                uid=$1 gid=$2 state=$3; shift 3
                mount -t tmpfs -o mode=0755 tmpfs /run/systemd
                # journald removes its runtime journal after the flush to /var only from a
                # tmpfs; where /run is on disk it keeps writing there, unsplit.
                mkdir -p /run/log
                mount -t tmpfs -o mode=0755 tmpfs /run/log
                mount --make-rshared /
                mkdir -p /run/systemd/system
                /lib/systemd/systemd-journald </dev/null >/dev/null 2>&1 &
                echo $! >"$state/journald.pid"
                for i in $(seq 50); do [ -S /run/systemd/journal/socket ] && break; sleep 0.1; done
                # What systemd-journal-flush.service does at boot: move to /var/log/journal.
                journalctl --flush >/dev/null 2>&1 || kill -USR1 "$(cat "$state/journald.pid")"
                for h in systemd unified; do
                        f=/sys/fs/cgroup/$h/user.slice/user-$uid.slice/user@$uid.service/cgroup.procs
                        [ -e "$f" ] && echo $$ >"$f"
                done
                echo $$ >"$state/manager.pid"
                exec setpriv --reuid="$uid" --regid="$gid" --init-groups env -i "$@" /lib/systemd/systemd --user
        ' hostenv "$uid" "$gid" "$HOSTENV_STATE" $(hostenv_user_env) \
                </dev/null >"$HOSTENV_STATE/manager.log" 2>&1 &

        for _ in $(seq 100); do
                if pid=$(hostenv_manager_pid) && [ -S "/run/user/$uid/bus" ] &&
                        hostenv_exec systemctl --user is-system-running >/dev/null 2>&1; then
                        return 0
                fi
                # degraded is fine for us; "starting" is not yet.
                if [ -n "${pid:-}" ] && hostenv_exec systemctl --user is-system-running 2>/dev/null | grep -q degraded; then
                        return 0
                fi
                sleep 0.2
        done
        hostenv_log "the user manager did not come up; its output:"
        cat "$HOSTENV_STATE/manager.log" >&2
        return 1
}

# Make journal files readable by the user (journalctl --user), as a login would via ACLs.
hostenv_journal_perms() {
        local d
        for d in /run/log/journal/*; do
                [ -d "$d" ] || continue
                chgrp -R systemd-journal "$d" 2>/dev/null || true
                chmod -R g+rX "$d" 2>/dev/null || true
        done
}

# crun 1.8 (Debian 12) refuses hybrid cgroups ("cgroups in hybrid mode not supported");
# runc handles them. Only on such hosts, and only if the user chose nothing else.
hostenv_podman_config() {
        local home conf
        [ -d /sys/fs/cgroup/unified ] || return 0
        if [ "$(hostenv_mode)" = direct ]; then home=$HOME; else home=$(hostenv_home); fi
        conf=$home/.config/containers/containers.conf
        [ -e "$conf" ] && return 0
        mkdir -p "$(dirname "$conf")"
        printf '# written by ai-semble: crun 1.8 does not support hybrid cgroups\n[engine]\nruntime = "runc"\n' >"$conf"
        [ "$(hostenv_mode)" = direct ] || chown -R "$AI_SEMBLE_USER:" "$home/.config"
}

# The user's session bus (dbus-user-session), which Podman's systemd cgroup manager and
# the supervisor use. A manager that was already running when the package was installed
# (on a new machine: setup.sh installs it) has not loaded dbus.socket yet; systemctl
# reaches the manager through its private socket meanwhile.
hostenv_ensure_bus() {
        local rt
        if [ "$(hostenv_mode)" = direct ]; then
                rt=${XDG_RUNTIME_DIR:-/run/user/$(id -u)}
        else
                rt=/run/user/$(hostenv_uid)
        fi
        [ -S "$rt/bus" ] && return 0
        hostenv_exec systemctl --user daemon-reload &&
                hostenv_exec systemctl --user start dbus.socket
}

hostenv_up() {
        case "$(hostenv_mode)" in
        direct)
                hostenv_podman_config
                hostenv_ensure_bus
                ;;
        root-systemd)
                hostenv_ensure_user
                hostenv_podman_config
                loginctl enable-linger "$AI_SEMBLE_USER"
                systemctl start "user@$(hostenv_uid).service"
                hostenv_ensure_bus
                ;;
        private)
                hostenv_ensure_user
                hostenv_podman_config
                hostenv_manager_pid >/dev/null || hostenv_start_private
                hostenv_journal_perms
                ;;
        esac
}

# Runs a command as the pod's user, in its manager's namespace when we made one.
hostenv_exec() {
        case "$(hostenv_mode)" in
        direct) "$@" ;;
        root-systemd)
                # In the user's home: root's working directory (a clone in /root, 0700)
                # is not the user's to enter, and podman build would fail on it.
                # shellcheck disable=SC2046
                setpriv --reuid="$(hostenv_uid)" --regid="$(id -g "$AI_SEMBLE_USER")" --init-groups \
                        env -i -C "$(hostenv_home)" $(hostenv_user_env) "$@"
                ;;
        private)
                local pid home
                pid=$(hostenv_manager_pid) || { hostenv_log "no user manager running (run hostenv_up)"; return 1; }
                home=$(hostenv_home)
                # shellcheck disable=SC2046
                nsenter --target "$pid" --mount --wd="$home" -- \
                        setpriv --reuid="$(hostenv_uid)" --regid="$(id -g "$AI_SEMBLE_USER")" --init-groups \
                        env -i $(hostenv_user_env) "$@"
                ;;
        esac
}

# Ends the private manager and journald (the journal files stay in /run/log/journal).
hostenv_down() {
        local pid
        [ "$(hostenv_mode)" = private ] || return 0
        if pid=$(hostenv_manager_pid); then
                kill -TERM "$pid" 2>/dev/null || true
                for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        fi
        pid=$(cat "$HOSTENV_STATE/journald.pid" 2>/dev/null) && kill -TERM "$pid" 2>/dev/null
        rm -f "$HOSTENV_STATE/manager.pid" "$HOSTENV_STATE/journald.pid"
}
