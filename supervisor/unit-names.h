/* SPDX-License-Identifier: MIT */
/* unit-names.h — the systemd unit names each install flavor gives the pod and its
 * containers. Quadlet (Podman >= 5) names them after the files ("ai-semble.pod" →
 * "ai-semble-pod.service", "X.container" → "X.service"); `podman generate systemd
 * --name` (Podman 4) uses "pod-<PodName>.service" and "container-<ContainerName>.service". */
#pragma once

#include "unit-source.h"

typedef enum UnitFlavor {
        UNIT_FLAVOR_QUADLET,
        UNIT_FLAVOR_GENERATED,
        _UNIT_FLAVOR_MAX,
        _UNIT_FLAVOR_INVALID = -EINVAL,
} UnitFlavor;

const char *unit_flavor_to_string(UnitFlavor f);
UnitFlavor unit_flavor_from_string(const char *s);

/* PodName=, or Quadlet's default "systemd-<stem>". */
int unit_names_pod_name(const UnitFile *pod, char **ret);
/* ContainerName=, or Quadlet's default "systemd-<stem>". */
int unit_names_container_name(const UnitFile *ctr, char **ret);
/* VolumeName=, or Quadlet's default "systemd-<stem>". */
int unit_names_volume_name(const UnitFile *vol, char **ret);
int unit_names_pod_unit(const UnitFile *pod, UnitFlavor flavor, char **ret);
int unit_names_container_unit(const UnitFile *ctr, UnitFlavor flavor, char **ret);
/* The short service name used on the command line: the container's stem without the
 * pod's "<stem>-" prefix ("ai-semble-llm" → "llm"). */
int unit_names_service(const UnitFile *pod, const UnitFile *ctr, char **ret);
