/* SPDX-License-Identifier: MIT */
/* unit-names.c — unit names per install flavor, derived from the quadlet files. */
#include <stdio.h>

#include "unit-names.h"

static const char *const flavor_table[_UNIT_FLAVOR_MAX] = {
        [UNIT_FLAVOR_QUADLET] = "quadlet",
        [UNIT_FLAVOR_GENERATED] = "generated",
};

const char *unit_flavor_to_string(UnitFlavor f) {
        return f >= 0 && f < _UNIT_FLAVOR_MAX ? flavor_table[f] : NULL;
}

UnitFlavor unit_flavor_from_string(const char *s) {
        for (int i = 0; s && i < _UNIT_FLAVOR_MAX; i++)
                if (streq(flavor_table[i], s))
                        return (UnitFlavor) i;
        return _UNIT_FLAVOR_INVALID;
}

static int name_or_default(const UnitFile *u, const char *section, const char *key, char **ret) {
        const char *v = unit_file_get(u, section, key);
        _cleanup_free_ char *stem = NULL;
        char *s;

        if (v)
                s = strdup(v);
        else {
                stem = unit_file_stem(u);
                if (!stem || asprintf(&s, "systemd-%s", stem) < 0)
                        return -ENOMEM;
        }
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

int unit_names_pod_name(const UnitFile *pod, char **ret) {
        if (pod->kind != UNIT_KIND_POD)
                return -EINVAL;
        return name_or_default(pod, "Pod", "PodName", ret);
}

int unit_names_container_name(const UnitFile *ctr, char **ret) {
        if (ctr->kind != UNIT_KIND_CONTAINER)
                return -EINVAL;
        return name_or_default(ctr, "Container", "ContainerName", ret);
}

int unit_names_volume_name(const UnitFile *vol, char **ret) {
        if (vol->kind != UNIT_KIND_VOLUME)
                return -EINVAL;
        return name_or_default(vol, "Volume", "VolumeName", ret);
}

/* Quadlet names a unit after its file (X.pod → X-pod.service, X.container →
 * X.service); podman generate systemd, run with empty prefixes, after the pod or
 * container it creates. */
static int unit_name(
        const UnitFile *u,
        UnitFlavor flavor,
        const char *quadlet_suffix,
        int (*name_of)(const UnitFile *u, char **ret),
        char **ret) {
        _cleanup_free_ char *base = NULL;
        char *s;
        int r;

        switch (flavor) {
        case UNIT_FLAVOR_QUADLET:
                base = unit_file_stem(u);
                if (!base)
                        return -ENOMEM;
                break;
        case UNIT_FLAVOR_GENERATED:
                r = name_of(u, &base);
                if (r < 0)
                        return r;
                quadlet_suffix = "";
                break;
        default:
                return -EINVAL;
        }
        if (asprintf(&s, "%s%s.service", base, quadlet_suffix) < 0)
                return -ENOMEM;
        *ret = s;
        return 0;
}

int unit_names_pod_unit(const UnitFile *pod, UnitFlavor flavor, char **ret) {
        if (pod->kind != UNIT_KIND_POD)
                return -EINVAL;
        return unit_name(pod, flavor, "-pod", unit_names_pod_name, ret);
}

int unit_names_container_unit(const UnitFile *ctr, UnitFlavor flavor, char **ret) {
        if (ctr->kind != UNIT_KIND_CONTAINER)
                return -EINVAL;
        return unit_name(ctr, flavor, "", unit_names_container_name, ret);
}

int unit_names_service(const UnitFile *pod, const UnitFile *ctr, char **ret) {
        _cleanup_free_ char *pod_stem = NULL, *stem = NULL;
        const char *rest;
        size_t l;
        char *s;

        pod_stem = unit_file_stem(pod);
        stem = unit_file_stem(ctr);
        if (!pod_stem || !stem)
                return -ENOMEM;
        l = strlen(pod_stem);
        rest = strncmp(stem, pod_stem, l) == 0 && stem[l] == '-' && stem[l + 1] ? stem + l + 1 : stem;
        s = strdup(rest);
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}
