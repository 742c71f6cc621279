#!/usr/bin/env bash
# tests/hosts/run.sh — the README's commands on pristine systemd hosts.
#
# Each host is a Debian root file system made by debootstrap (systemd, dbus, git and
# nothing of the project), booted with systemd-nspawn --boot so that systemd is PID 1.
# The repository is cloned into it where a root user clones (/root/ai-semble) and, as a
# newcomer would, root runs:
#   deploy.sh start                  the first start on a machine that never saw the project
#   run-tests.sh integration         the integration suite against that pod, from inside
#   deploy.sh start, health, stop    start after the suite's stop
# debian12 (Podman 4.3) gets the podman-generate-systemd units, debian13 (Podman 5.4) the
# Quadlet units. On debian13 an ordinary user with linger then clones the repository,
# starts the last landed version (tests/hosts/upgrade-from) as themself, without root (the
# packages root installed stay), and upgrades it in place to this checkout.
#
# The hosts share this machine's network (apt reaches the archive; a port published
# inside is on this machine's 127.0.0.1), so they run one after the other.
# The bootstrapped trees are cached as tarballs keyed by suite and package list in
# $AI_SEMBLE_HOSTS_CACHE (default /var/cache/ai-semble/hosts), and the packages each
# host downloads in $AI_SEMBLE_HOSTS_CACHE/apt-<suite>: a second run skips debootstrap
# and the downloads, never the installs.
#
# Usage: tests/hosts/run.sh [debian12] [debian13]    (default: both; needs root)
# AI_SEMBLE_HOSTS_KEEP=1 keeps each host's tree (and prints where) for a post-mortem.
# AI_SEMBLE_HOSTS_BENCH='command' runs that command as root in /root/ai-semble after the
# integration suite, with the pod started again and wrk installed (a benchmark measured on
# the pristine host: tests/bench/update-load.sh 60 16, say); its output is printed.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../../scripts/lib/common.sh
. "$here/../../scripts/lib/common.sh"

CACHE=${AI_SEMBLE_HOSTS_CACHE:-/var/cache/ai-semble/hosts}
WORK=${AI_SEMBLE_HOSTS_WORK:-/var/tmp/ai-semble-hosts}
MIRROR=${AI_SEMBLE_DEBIAN_MIRROR:-http://deb.debian.org/debian}
# What a fresh Debian server has: systemd as init, logind sessions, and git to clone with.
BASE_PACKAGES=systemd,systemd-sysv,dbus,libpam-systemd,ca-certificates,git
USER_NAME=alice

hosts=("$@")
[ ${#hosts[@]} -gt 0 ] || hosts=(debian12 debian13)
[ "$(id -u)" -eq 0 ] || die "the pristine hosts need root (debootstrap, systemd-nspawn)"
for t in debootstrap systemd-nspawn nsenter; do
        command -v "$t" >/dev/null || die "$t is missing (scripts/packages/test.txt lists it)"
done

suite_of() {
        case "$1" in
        debian12) echo bookworm ;;
        debian13) echo trixie ;;
        *) return 1 ;;
        esac
}

# The tarball of a bootstrapped suite, made once per machine and package list.
base_tree() { # suite -> path of the tarball
        local suite=$1 key tar tmp
        key=$(printf '%s\n' "$suite" "$BASE_PACKAGES" "$MIRROR" | sha256sum | cut -c1-12)
        tar=$CACHE/$suite-$key.tar
        if [ ! -s "$tar" ]; then
                step "[$suite] debootstrap (cached afterwards as $tar)" >&2
                mkdir -p "$CACHE"
                tmp=$(mktemp -d "$CACHE/.bootstrap-$suite.XXXXXX")
                if ! debootstrap --variant=minbase --include="$BASE_PACKAGES" "$suite" "$tmp" "$MIRROR" \
                        >"$tmp.log" 2>&1; then
                        tail -n 30 "$tmp.log" >&2
                        rm -rf "$tmp" "$tmp.log"
                        return 1
                fi
                chmod 0755 "$tmp" # mktemp made it 0700: the host's / would be root's only
                tar -C "$tmp" -cf "$tar.tmp" . && mv "$tar.tmp" "$tar"
                rm -rf "$tmp" "$tmp.log"
        fi
        echo "$tar"
}

# Only what systemd-nspawn itself needs, written into the test host (never into what the
# project installs), each the answer to an error seen without it. See
# ../shared/notes/pristine-hosts.md.
test_host_settings() { # name dir
        local name=$1 dir=$2
        mkdir -p "$dir/etc/containers/containers.conf.d" "$dir/etc/systemd/user"
        {
                echo "# Written by ai-semble's tests/hosts/run.sh for this nspawn test host only."
                echo "[containers]"
                echo "# nspawn's seccomp filter refuses keyctl: runc (Podman 4.3) says \"unable to join"
                echo "# session keyring\", crun (Podman 5) \"create keyring ...: Operation not permitted\""
                echo "keyring = false"
                if [ "$name" = debian13 ]; then
                        echo "# /proc/sys is read-only: \"crun: open /proc/sys/net/ipv4/ping_group_range\""
                        echo "default_sysctls = []"
                        echo "# nspawn delegates no cgroup controllers: \"controller 'pids' is not available\""
                        echo "pids_limit = 0"
                fi
        } >"$dir/etc/containers/containers.conf.d/90-nspawn-test-host.conf"
        # Podman 5 orders every Quadlet unit after a network-online.target that nothing in
        # the container provides (it shares the machine's network): a 90 s wait each time.
        [ "$name" = debian13 ] && ln -sf /dev/null "$dir/etc/systemd/user/podman-user-wait-network-online.service"
        return 0
}

# The repository as a clone, plus what is not committed yet (a development run).
clone_into() { # dest
        git clone --quiet --no-hardlinks "$AI_SEMBLE_ROOT" "$1" && clone_into_overlay "$1"
}
clone_into_overlay() { # dest
        local f
        git -C "$AI_SEMBLE_ROOT" ls-files -m -o --exclude-standard | while read -r f; do
                [ -e "$AI_SEMBLE_ROOT/$f" ] && install -D "$AI_SEMBLE_ROOT/$f" "$1/$f"
        done
        if [ -n "$(git -C "$AI_SEMBLE_ROOT" status --porcelain)" ]; then
                warn "the checkout has uncommitted changes: copied into the host's clone"
        fi
        return 0
}

LEADER=""
NSPAWN_PID=""

boot() { # name dir log
        local name=$1 dir=$2 log=$3 suite apt env=()
        suite=$(suite_of "$name")
        apt=$CACHE/apt-$suite
        mkdir -p "$apt/partial"
        # systemd 257 refuses the hybrid cgroup layout this machine has.
        [ "$name" = debian13 ] && env=(SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1)
        env "${env[@]}" systemd-nspawn --quiet -D "$dir" --boot --machine="ais-$name" \
                --register=no --keep-unit --console=passive \
                --bind="$apt:/var/cache/apt/archives" </dev/null >"$log" 2>&1 &
        NSPAWN_PID=$!
        LEADER=""
        for _ in $(seq 300); do
                LEADER=$(ps -o pid= --ppid "$NSPAWN_PID" 2>/dev/null | head -n 1 | tr -d ' ')
                if [ -n "$LEADER" ] && [ "$(cat "/proc/$LEADER/comm" 2>/dev/null)" = systemd ]; then
                        break
                fi
                LEADER=""
                kill -0 "$NSPAWN_PID" 2>/dev/null || break
                sleep 0.1
        done
        [ -n "$LEADER" ] || {
                cat "$log" >&2
                return 1
        }
        local state=""
        for _ in $(seq 60); do
                state=$(timeout 10 nsenter -t "$LEADER" -a -- systemctl is-system-running --wait 2>&1)
                case "$state" in
                running) break ;;
                degraded) state=degraded && break ;;
                esac
                sleep 1
        done
        if [ "$state" != running ]; then
                # A pristine host boots clean: a failed unit is a finding, not noise.
                echo "[$name] systemd did not boot clean: '$state'" >&2
                nsenter -t "$LEADER" -a -- systemctl --failed --no-pager >&2
                return 1
        fi
        # nspawn copies this machine's /dev/net/tun, which is 0600 here; on a real host it
        # is 0666, and slirp4netns and pasta open it as the pod's user.
        nsenter -t "$LEADER" -a -- chmod 0666 /dev/net/tun
}

shutdown_host() { # name dir
        [ -n "$NSPAWN_PID" ] || return 0
        nsenter -t "$LEADER" -a -- systemctl poweroff >/dev/null 2>&1 || kill -TERM "$NSPAWN_PID"
        for _ in $(seq 300); do
                kill -0 "$NSPAWN_PID" 2>/dev/null || break
                sleep 0.1
        done
        kill -KILL "$NSPAWN_PID" 2>/dev/null || true
        wait "$NSPAWN_PID" 2>/dev/null
        NSPAWN_PID=""
}

# Runs a command in the host as a login of user (a PAM session, as ssh would open), in
# dir, with at most limit seconds; its output comes back here.
as_login() { # user dir limit command...
        local user=$1 dir=$2 limit=$3
        shift 3
        nsenter -t "$LEADER" -a -- systemd-run --quiet --wait --pipe --collect \
                --uid="$user" -p PAMName=login -p WorkingDirectory="$dir" \
                -p RuntimeMaxSec="$limit" -E CI="${CI:-}" -E TERM=dumb -- /bin/bash -c "$*"
}

# What went wrong, from the host's own journal: root reads every user's lines.
post_mortem() { # name
        echo "--- [$1] units of the pod's users that are not active, and their last journal lines"
        # shellcheck disable=SC2016 # the script runs inside the host
        nsenter -t "$LEADER" -a -- bash -c '
                for u in $(loginctl list-users --no-legend | awk "{ print \$2 }"); do
                        uid=$(id -u "$u")
                        setpriv --reuid="$uid" --regid="$(id -g "$u")" --init-groups env -i \
                                XDG_RUNTIME_DIR=/run/user/$uid systemctl --user list-units --all --plain \
                                --no-legend --no-pager "ai-semble*" | awk "\$3 != \"active\"" |
                                while read -r unit _; do
                                        echo "--- $u: $unit"
                                        journalctl --no-pager -q -n 30 _UID="$uid" USER_UNIT="$unit" + \
                                                _UID="$uid" _SYSTEMD_USER_UNIT="$unit"
                                done
                        # what the services said (warnings and worse) during the step, active or not
                        echo "--- $u: warnings and errors of the ai-semble units in the last 15 minutes"
                        journalctl --no-pager -q -p warning --since -15min _UID="$uid" | grep -a "ai-semble" | tail -n 80
                done' 2>&1 | tail -n 400
}

FAILED_HOSTS=()
RESULTS=()

# What commit's scripts/setup.sh installs when run as root: every list in its
# scripts/packages/ but the tests' (test.txt, *.test.txt), as that version reads them.
old_version_packages() { # commit
        local f
        for f in $(git -C "$AI_SEMBLE_ROOT" ls-tree --name-only "$1" scripts/packages/); do
                case "$(basename "$f")" in
                test.txt | *.test.txt) continue ;;
                esac
                git -C "$AI_SEMBLE_ROOT" show "$1:$f" || return 1
        done | sed 's/#.*//' | tr -s ' \t' '\n' | sed '/^$/d' | sort -u | tr '\n' ' '
}

host_step() { # name what user dir limit command...
        local name=$1 what=$2 t0 rc
        shift 2
        step "[$name] $what"
        t0=$(date +%s)
        as_login "$@"
        rc=$?
        RESULTS+=("$(printf '%-9s %-58s %s (%ss)' "$name" "$what" "$([ $rc = 0 ] && echo ok || echo FAILED)" $(($(date +%s) - t0)))")
        if [ "$rc" -ne 0 ]; then
                echo "[$name] FAILED: $what (exit $rc)" >&2
                post_mortem "$name" >&2
        fi
        return "$rc"
}

run_host() { # name
        local name=$1 suite tar dir t0 uid rc=0
        suite=$(suite_of "$name") || die "unknown host '$name' (debian12, debian13)"
        t0=$(date +%s)
        tar=$(base_tree "$suite") || return 1
        dir=$WORK/$name
        rm -rf "$dir"
        mkdir -p "$dir"
        tar -C "$dir" -xf "$tar" || return 1
        chmod 0755 "$dir"
        test_host_settings "$name" "$dir"
        clone_into "$dir/root/ai-semble" || return 1
        step "[$name] booting $suite with systemd-nspawn"
        boot "$name" "$dir" "$WORK/$name.console.log" || return 1

        host_step "$name" "deploy.sh start (root, first run on a pristine host)" \
                root /root/ai-semble 2400 ./scripts/deploy.sh start || rc=1
        [ "$rc" = 0 ] && { host_step "$name" "run-tests.sh integration (root)" \
                root /root/ai-semble 2400 ./scripts/run-tests.sh integration || rc=1; }
        [ "$rc" = 0 ] && [ -n "${AI_SEMBLE_HOSTS_BENCH:-}" ] && { host_step "$name" "benchmark: $AI_SEMBLE_HOSTS_BENCH" \
                root /root/ai-semble 1800 "DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null && ./scripts/deploy.sh start >/dev/null && $AI_SEMBLE_HOSTS_BENCH" || rc=1; }
        [ "$rc" = 0 ] && { host_step "$name" "deploy.sh start, health, stop (after the suite's stop)" \
                root /root/ai-semble 600 './scripts/deploy.sh start && ./scripts/deploy.sh health >/dev/null && ./scripts/deploy.sh stop' || rc=1; }

        if [ "$rc" = 0 ] && [ "$name" = debian13 ]; then
                # An ordinary user with linger, no root, their own clone: they install the
                # last landed version first, then upgrade to this checkout in place.
                local old home=/home/$USER_NAME
                old=$(sed 's/#.*//' "$here/upgrade-from" | tr -d ' \n')
                nsenter -t "$LEADER" -a -- useradd --create-home --shell /bin/bash "$USER_NAME" &&
                        nsenter -t "$LEADER" -a -- loginctl enable-linger "$USER_NAME" || rc=1
                uid=$(nsenter -t "$LEADER" -a -- id -u "$USER_NAME")
                git clone --quiet --no-hardlinks "$AI_SEMBLE_ROOT" "$dir$home/ai-semble" &&
                        install -D -m 0755 "$here/smoke.sh" "$dir/usr/local/bin/ai-semble-smoke" &&
                        chown -R "$uid:$uid" "$dir$home/ai-semble" || rc=1
                # The packages the last landed version needs, installed by root as its own
                # setup would (alice cannot): it still built on civetweb, for one.
                local pkgs
                pkgs=$(old_version_packages "$old") || rc=1
                [ "$rc" = 0 ] && { host_step "$name" "root installs the packages of ${old:0:12}" \
                        root /root/ai-semble 1200 "DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $pkgs" || rc=1; }
                [ "$rc" = 0 ] && { host_step "$name" "deploy.sh start of ${old:0:12} (the last landed version) as '$USER_NAME'" \
                        "$USER_NAME" "$home/ai-semble" 1800 \
                        "git checkout -q $old && ./scripts/deploy.sh start && ai-semble-smoke" || rc=1; }
                if [ "$rc" = 0 ]; then
                        nsenter -t "$LEADER" -a -- runuser -u "$USER_NAME" -- git -C "$home/ai-semble" checkout -q "$(git -C "$AI_SEMBLE_ROOT" rev-parse HEAD)" &&
                                clone_into_overlay "$dir$home/ai-semble" && chown -R "$uid:$uid" "$dir$home/ai-semble" || rc=1
                fi
                [ "$rc" = 0 ] && { host_step "$name" "deploy.sh start as '$USER_NAME': the upgrade to this checkout" \
                        "$USER_NAME" "$home/ai-semble" 1800 \
                        "./scripts/deploy.sh start && ./scripts/deploy.sh health >/dev/null && ai-semble-smoke && ./scripts/deploy.sh stop" || rc=1; }
        fi

        shutdown_host "$name"
        if [ -n "${AI_SEMBLE_HOSTS_KEEP:-}" ]; then
                echo "[$name] tree kept in $dir"
        else
                rm -rf "$dir"
        fi
        RESULTS+=("$(printf '%-9s %-58s %s (%ss)' "$name" "in all" "$([ $rc = 0 ] && echo passed || echo FAILED)" $(($(date +%s) - t0)))")
        return "$rc"
}

cleanup() { shutdown_host; }
trap cleanup EXIT

for h in "${hosts[@]}"; do
        run_host "$h" || FAILED_HOSTS+=("$h")
done
echo
printf '%s\n' "${RESULTS[@]}"
if [ ${#FAILED_HOSTS[@]} -gt 0 ]; then
        echo "hosts: FAILED on ${FAILED_HOSTS[*]}"
        exit 1
fi
echo "hosts: ${hosts[*]} passed"
