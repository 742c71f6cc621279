#!/usr/bin/env bash
# build-images.sh — build the five FROM-scratch images for the pod's user.
#
# For each service: stage rootfs/ with the stripped binary, the shared libraries
# `ldd` lists for it (and the loader), containers/<svc>/data/ (copied to /), and the
# host paths listed in containers/<svc>/host-files (data a Debian package ships, such
# as trained OCR models, or a dlopen()ed module with its own ldd closure); then
# `podman build` as the pod's user. An image whose staged content has not changed
# (same hash, recorded as a label) is not rebuilt, so `deploy.sh start` stays fast.
# Usage: build-images.sh [service...]
set -euo pipefail
# shellcheck source=lib/common.sh
. "$(dirname "$0")/lib/common.sh"
# shellcheck source=lib/hostenv.sh
. "$(dirname "$0")/lib/hostenv.sh"

version=$(ai_semble_version)
services=${*:-$AI_SEMBLE_SERVICES}

stage_root() {
        case "$(hostenv_mode)" in
        direct) echo "$AI_SEMBLE_BUILD/images" ;;
        *) echo "$(hostenv_home)/.cache/ai-semble/images" ;;
        esac
}

copy_file() { # src rootfs
        local dst="$2$1"
        install -D -m 0755 "$(readlink -f "$1")" "$dst"
        # Libraries and binaries only need their dynamic symbols at run time.
        strip --strip-unneeded "$dst" 2>/dev/null || true
}

libs_of() { # elf
        ldd "$1" 2>/dev/null | awk '/=> \// { print $3 } /^\t\/.*ld-linux/ { print $1 }'
}

# Paths listed in containers/<svc>/host-files ('#' comments, blank lines ignored).
host_files() { # service
        local f="$AI_SEMBLE_ROOT/containers/$1/host-files"
        [ -f "$f" ] || return 0
        sed 's/#.*//; s/[[:space:]]*$//; /^$/d' "$f"
}

stage() { # service dir
        local svc=$1 dir=$2 bin lib path
        bin="$AI_SEMBLE_BUILD/services/$svc/ai-semble-$svc"
        [ -x "$bin" ] || die "$bin is missing: build first (scripts/setup.sh)"
        rm -rf "$dir"
        mkdir -p "$dir/rootfs/usr/bin" "$dir/rootfs/tmp" "$dir/rootfs/data" "$dir/rootfs/models" "$dir/rootfs/etc"
        install -m 0755 "$bin" "$dir/rootfs/usr/bin/ai-semble-$svc"
        strip "$dir/rootfs/usr/bin/ai-semble-$svc"
        # Every resolved library plus the loader (the line without "=>").
        libs_of "$bin" | while read -r lib; do
                copy_file "$lib" "$dir/rootfs"
        done
        host_files "$svc" | while read -r path; do
                [ -e "$path" ] || die "containers/$svc/host-files: $path does not exist (missing package?)"
                if [ -d "$path" ]; then
                        mkdir -p "$dir/rootfs$path"
                        cp -aL "$path/." "$dir/rootfs$path/"
                else
                        install -D -m 0644 "$(readlink -f "$path")" "$dir/rootfs$path"
                        if file -b "$path" 2>/dev/null | grep -q 'shared object'; then
                                chmod 0755 "$dir/rootfs$path"
                                libs_of "$path" | while read -r lib; do copy_file "$lib" "$dir/rootfs"; done
                        fi
                fi
        done
        if [ -d "$AI_SEMBLE_ROOT/containers/$svc/data" ]; then
                cp -a "$AI_SEMBLE_ROOT/containers/$svc/data/." "$dir/rootfs/"
        fi
        # Podman mounts /etc/hosts and /etc/resolv.conf here; a nobody-less passwd keeps
        # getpwuid() quiet for the service user.
        printf 'root:x:0:0::/:/nonexistent\nai-semble:x:10001:10001::/nonexistent:/nonexistent\n' >"$dir/rootfs/etc/passwd"
        printf 'root:x:0:\nai-semble:x:10001:\n' >"$dir/rootfs/etc/group"
        chmod 1777 "$dir/rootfs/tmp"
        cp "$AI_SEMBLE_ROOT/containers/$svc/Containerfile" "$dir/Containerfile"
}

# What an image is made of, hashed without staging it: the binary, the Containerfile,
# the data files, and each library ldd resolves (path, target, size, mtime).
input_hash() { # service
        local svc=$1 bin
        bin="$AI_SEMBLE_BUILD/services/$svc/ai-semble-$svc"
        [ -x "$bin" ] || die "$bin is missing: build first (scripts/setup.sh)"
        {
                sha256sum "$bin" "$AI_SEMBLE_ROOT/containers/$svc/Containerfile" | cut -d' ' -f1
                [ -d "$AI_SEMBLE_ROOT/containers/$svc/data" ] &&
                        find "$AI_SEMBLE_ROOT/containers/$svc/data" -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum
                libs_of "$bin" | while read -r lib; do
                        printf '%s %s\n' "$lib" "$(stat -L -c '%s %Y' "$lib") $(readlink -f "$lib")"
                done
                host_files "$svc" | while read -r path; do
                        find -L "$path" -printf '%p %s %T@\n' 2>/dev/null
                done
                # The staging rules themselves.
                sha256sum "$0" | cut -d' ' -f1
        } | sha256sum | cut -c1-16
}

hostenv_up
root=$(stage_root)
mkdir -p "$root"
for svc in $services; do
        dir="$root/$svc"
        hash=$(input_hash "$svc")
        image="localhost/ai-semble/$svc"
        have=$(hostenv_exec podman image inspect --format '{{ index .Labels "dev.ai-semble.content" }}' "$image:$version" 2>/dev/null || true)
        if [ "$have" = "$hash" ]; then
                step "image $image:$version is up to date"
                continue
        fi
        step "building image $image:$version"
        stage "$svc" "$dir"
        if [ "$(hostenv_mode)" != direct ]; then
                chown -R "$(hostenv_uid):$(id -g "$AI_SEMBLE_USER")" "$root"
        fi
        hostenv_exec podman build --quiet --no-cache \
                --label "dev.ai-semble.content=$hash" \
                --label "org.opencontainers.image.title=ai-semble-$svc" \
                --label "org.opencontainers.image.version=$version" \
                -t "$image:$version" -t "$image:latest" \
                -f "$dir/Containerfile" "$dir" >/dev/null
        built=1
done
# Untagged layers of replaced images.
[ -z "${built:-}" ] || hostenv_exec podman image prune -f >/dev/null 2>&1 || true
