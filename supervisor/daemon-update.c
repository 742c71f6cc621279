/* SPDX-License-Identifier: MIT */
/* daemon-update.c — the daemon's Update method on the user bus (only the user's own
 * processes reach it): the update runs on a thread of its own, so that the event loop keeps
 * watching, healing and feeding the watchdog; its end comes back to the loop through an
 * eventfd, which answers the call. */
#include <sys/eventfd.h>

#include "argv-util.h"
#include "daemon.h"
#include "log.h"
#include "update.h"

static void *update_thread(void *userdata) {
        Daemon *d = userdata;
        UpdateRequest req = { .services = d->update.services, .all = d->update.all };
        char *summary = NULL;

        d->update.result = update_run(d, &req, &summary);
        d->update.summary = summary;
        (void) eventfd_write(d->update.done_fd, 1);
        return NULL;
}

static int on_update_done(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Daemon *d = userdata;
        _cleanup_free_ char *fallback = NULL;
        eventfd_t v;
        int r = d->update.result;

        (void) eventfd_read(fd, &v);
        (void) pthread_join(d->update.thread, NULL);
        if (!d->update.summary && asprintf(&fallback, "the update failed: %s\n", strerror(-r)) < 0)
                fallback = NULL;
        if (r < 0)
                log_warning("Update finished with errors: %s", strerror(-r));
        else
                log_info("Update finished");
        (void) sd_bus_reply_method_return(
                d->update.call, "bs", r >= 0, d->update.summary ? d->update.summary : strempty(fallback));
        d->update.call = sd_bus_message_unref(d->update.call);
        d->update.services = argv_free(d->update.services);
        free(d->update.summary);
        d->update.summary = NULL;
        d->update.running = false;
        return 0;
}

static int method_update(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Daemon *d = userdata;
        _cleanup_argv_free_ char **services = NULL;
        int all = 0, r;

        r = sd_bus_message_read_strv(m, &services);
        if (r >= 0)
                r = sd_bus_message_read(m, "b", &all);
        if (r < 0)
                return r;
        if (d->update.running)
                return sd_bus_error_set(
                        error, SUPERVISOR_BUS_NAME ".Busy", "An update is already under way.");
        for (size_t i = 0; services && services[i]; i++)
                if (manifest_find_service(&d->mf, services[i]) < 0)
                        return sd_bus_error_setf(
                                error, SD_BUS_ERROR_INVALID_ARGS, "No such service: %s", services[i]);
        d->update.services = services && services[0] ? TAKE_PTR(services) : NULL;
        d->update.all = all;
        d->update.call = sd_bus_message_ref(m);
        d->update.running = true;
        r = -pthread_create(&d->update.thread, NULL, update_thread, d);
        if (r < 0) {
                d->update.running = false;
                d->update.call = sd_bus_message_unref(d->update.call);
                d->update.services = argv_free(d->update.services);
                return r;
        }
        log_info("Update requested by the bus (%s)", all ? "every service" : "services with a new image");
        return 1; /* answered by on_update_done() */
}

static const sd_bus_vtable vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD("Update", "asb", "bs", method_update, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END,
};

int daemon_update_attach(Daemon *d) {
        int r;

        d->update.done_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (d->update.done_fd < 0)
                return negative_errno();
        r = sd_event_add_io(d->event, &d->update.done_source, d->update.done_fd, EPOLLIN, on_update_done, d);
        if (r >= 0)
                r = sd_bus_add_object_vtable(
                        d->bus, &d->update.slot, SUPERVISOR_BUS_PATH, SUPERVISOR_BUS_NAME, vtable, d);
        if (r >= 0)
                r = sd_bus_request_name(d->bus, SUPERVISOR_BUS_NAME, 0);
        return r;
}

void daemon_update_done(Daemon *d) {
        if (d->update.running) {
                (void) pthread_join(d->update.thread, NULL);
                d->update.call = sd_bus_message_unref(d->update.call);
                d->update.services = argv_free(d->update.services);
                free(d->update.summary);
                d->update.running = false;
        }
        d->update.done_source = sd_event_source_unref(d->update.done_source);
        d->update.slot = sd_bus_slot_unref(d->update.slot);
        if (d->update.done_fd > 0)
                (void) close(d->update.done_fd);
}
