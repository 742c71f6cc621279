/* SPDX-License-Identifier: MIT */
/* listen-fds.h — the sockets a service manager passes to a socket-activated service
 * (sd_listen_fds(3)): $LISTEN_PID names the process they are for, $LISTEN_FDS counts them
 * from descriptor 3 on, $LISTEN_FDNAMES names them. systemd documents this protocol for
 * reimplementation, and Podman forwards it into a container; like notify.c, this keeps
 * libsystemd out of the service images. */
#pragma once

#include "macro.h"

#define LISTEN_FDS_START 3

/* As sd_listen_fds(1): how many descriptors were passed to this process (0 if none, or if
 * $LISTEN_PID is another process), each made close-on-exec, and the three variables
 * unset so that children do not see them. *ret_names (may be NULL) gets a copy of
 * $LISTEN_FDNAMES ("a:b:c") or NULL. -EINVAL if the variables are malformed. */
int listen_fds_take(char **ret_names);
/* As sd_is_socket(fd, AF_UNSPEC, SOCK_STREAM, 1): 1 if fd is a listening stream socket,
 * 0 if it is something else, -errno if fd is not open. */
int listen_fds_is_stream_listener(int fd);
