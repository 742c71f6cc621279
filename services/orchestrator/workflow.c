/* SPDX-License-Identifier: MIT */
/* workflow.c — workflow definitions: validation (DAG, references) and input resolution. */
#include <ctype.h>
#include <json-c/json_pointer.h>

#include "json-util.h"
#include "macro.h"
#include "workflow.h"

void workflow_free(Workflow *w) {
        if (!w)
                return;
        json_object_put(w->def);
        free(w);
}

int workflow_step_index(const Workflow *w, const char *id) {
        for (size_t i = 0; i < w->n_steps; i++)
                if (w->steps[i].id && id && streq(w->steps[i].id, id))
                        return (int) i;
        return -1;
}

static bool step_id_valid(const char *id) {
        size_t n = strlen(id);

        if (n == 0 || n > WORKFLOW_STEP_ID_MAX)
                return false;
        for (const char *c = id; *c; c++)
                if (!isalnum((unsigned char) *c) && *c != '_' && *c != '-')
                        return false;
        return true;
}

/* Splits "step#/pointer" into the step index and the pointer. */
static int parse_ref(const Workflow *w, const char *ref, int *ret_step, const char **ret_pointer) {
        const char *hash = strchr(ref, '#');
        char id[WORKFLOW_STEP_ID_MAX + 1];
        size_t n;

        if (!hash)
                return -EINVAL;
        n = (size_t) (hash - ref);
        if (n == 0 || n > WORKFLOW_STEP_ID_MAX)
                return -EINVAL;
        memcpy(id, ref, n);
        id[n] = '\0';
        if (hash[1] != '\0' && hash[1] != '/')
                return -EINVAL;
        *ret_step = workflow_step_index(w, id);
        *ret_pointer = hash + 1;
        return *ret_step < 0 ? -ENOENT : 0;
}

static bool is_ref(json_object *o, const char **ret) {
        json_object *v;

        if (!json_object_is_type(o, json_type_object) || json_object_object_length(o) != 1 ||
            !json_object_object_get_ex(o, "$ref", &v) || !json_object_is_type(v, json_type_string))
                return false;
        *ret = json_object_get_string(v);
        return true;
}

/* Is a an ancestor of b (transitively through depends_on)? */
static bool is_ancestor(const Workflow *w, unsigned a, unsigned b, unsigned depth) {
        if (depth > WORKFLOW_MAX_STEPS)
                return false;
        for (size_t k = 0; k < w->steps[b].n_deps; k++)
                if (w->steps[b].deps[k] == a || is_ancestor(w, a, w->steps[b].deps[k], depth + 1))
                        return true;
        return false;
}

static void check_refs(const Workflow *w, unsigned i, json_object *o, json_object **errs, unsigned depth) {
        const char *ref, *pointer;
        int step;

        if (depth > JSON_MAX_DEPTH)
                return;
        if (is_ref(o, &ref)) {
                int r = parse_ref(w, ref, &step, &pointer);

                if (r == -EINVAL)
                        (void) json_errors_add(
                                errs, "", "$ref \"%.80s\" is not \"step#/json/pointer\"", ref);
                else if (r == -ENOENT)
                        (void) json_errors_add(errs, "", "$ref names unknown step in \"%.80s\"", ref);
                else if (!is_ancestor(w, (unsigned) step, i, 0))
                        (void) json_errors_add(
                                errs,
                                "",
                                "$ref to step \"%s\" which is not in its depends_on (directly or "
                                "transitively)",
                                w->steps[step].id);
                return;
        }
        if (json_object_is_type(o, json_type_object)) {
                struct json_object_iterator it = json_object_iter_begin(o), end = json_object_iter_end(o);

                for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it))
                        check_refs(w, i, json_object_iter_peek_value(&it), errs, depth + 1);
        } else if (json_object_is_type(o, json_type_array))
                for (size_t k = 0; k < json_object_array_length(o); k++)
                        check_refs(w, i, json_object_array_get_idx(o, k), errs, depth + 1);
}

/* Errors name the step by index and field: "steps[2].depends_on". */
static int add_step_error(json_object **errs, unsigned i, const char *key, const char *msg) {
        char field[64];

        snprintf(field, sizeof(field), "steps[%u].%s", i, key);
        return json_errors_add(errs, field, "%s", msg);
}

int workflow_parse(json_object *def, Workflow **ret, json_object **errs) {
        _cleanup_(workflow_freep) Workflow *w = NULL;
        json_object *steps = NULL;
        unsigned indegree[WORKFLOW_MAX_STEPS] = {}, queue[WORKFLOW_MAX_STEPS], head = 0, tail = 0, seen = 0;
        size_t n;
        json_object *local_errs = NULL;

        if (json_get_array(def, "steps", true, &local_errs, &steps) <= 0)
                goto invalid;
        n = json_object_array_length(steps);
        if (n == 0 || n > WORKFLOW_MAX_STEPS) {
                (void) json_errors_add(&local_errs, "steps", "must have 1 to %d steps", WORKFLOW_MAX_STEPS);
                goto invalid;
        }
        w = calloc(1, sizeof(Workflow));
        if (!w)
                return -ENOMEM;
        w->def = json_object_get(def);
        w->n_steps = n;

        /* Ids first, so that depends_on and $ref can name later steps. */
        for (unsigned i = 0; i < n; i++) {
                json_object *s = json_object_array_get_idx(steps, i), *v;

                if (!json_object_is_type(s, json_type_object)) {
                        (void) add_step_error(&local_errs, i, "", "must be an object");
                        continue;
                }
                if (!json_object_object_get_ex(s, "id", &v) || !json_object_is_type(v, json_type_string) ||
                    !step_id_valid(json_object_get_string(v))) {
                        (void) add_step_error(
                                &local_errs, i, "id", "must be 1-64 characters of [A-Za-z0-9_-]");
                        continue;
                }
                w->steps[i].id = json_object_get_string(v);
                for (unsigned k = 0; k < i; k++)
                        if (w->steps[k].id && streq(w->steps[k].id, w->steps[i].id))
                                (void) add_step_error(
                                        &local_errs, i, "id", "duplicates an earlier step's id");
        }
        if (local_errs)
                goto invalid;

        for (unsigned i = 0; i < n; i++) {
                json_object *s = json_object_array_get_idx(steps, i), *v, *deps;
                const char *service = NULL, *task = NULL, *on_error = NULL;
                UpstreamService svc;

                if (json_object_object_get_ex(s, "service", &v) && json_object_is_type(v, json_type_string))
                        service = json_object_get_string(v);
                if (json_object_object_get_ex(s, "task", &v) && json_object_is_type(v, json_type_string))
                        task = json_object_get_string(v);
                if (!service || upstream_service_from_string(service, &svc) < 0)
                        (void) add_step_error(
                                &local_errs, i, "service", "must be one of llm, vision, nlp, data");
                else if (!task || !(w->steps[i].task = upstream_task_find(svc, task))) {
                        char names[256], msg[320];

                        upstream_task_names(svc, names, sizeof(names));
                        snprintf(msg, sizeof(msg), "unknown %s task; one of %s", service, names);
                        (void) add_step_error(&local_errs, i, "task", msg);
                }
                if (json_object_object_get_ex(s, "input", &v)) {
                        if (!json_object_is_type(v, json_type_object))
                                (void) add_step_error(&local_errs, i, "input", "must be an object");
                        else
                                w->steps[i].input = v;
                }
                if (json_object_object_get_ex(s, "lock", &v)) {
                        const char *l =
                                json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "";
                        size_t ln = strlen(l);
                        bool ok = ln > 0 && ln <= 128;

                        for (const char *c = l; ok && *c; c++)
                                ok = isalnum((unsigned char) *c) || strchr("._:-", *c);
                        if (ok)
                                w->steps[i].lock = l;
                        else
                                (void) add_step_error(
                                        &local_errs,
                                        i,
                                        "lock",
                                        "must be 1-128 characters of [A-Za-z0-9._:-]");
                }
                if (json_object_object_get_ex(s, "on_error", &v)) {
                        on_error = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "";
                        if (streq(on_error, "continue"))
                                w->steps[i].continue_on_error = true;
                        else if (!streq(on_error, "fail"))
                                (void) add_step_error(
                                        &local_errs, i, "on_error", "must be \"fail\" or \"continue\"");
                }
                if (json_object_object_get_ex(s, "depends_on", &deps)) {
                        if (!json_object_is_type(deps, json_type_array)) {
                                (void) add_step_error(
                                        &local_errs, i, "depends_on", "must be an array of step ids");
                                continue;
                        }
                        for (size_t k = 0; k < json_object_array_length(deps) && k < WORKFLOW_MAX_STEPS;
                             k++) {
                                json_object *d = json_object_array_get_idx(deps, k);
                                int idx = json_object_is_type(d, json_type_string)
                                        ? workflow_step_index(w, json_object_get_string(d))
                                        : -1;
                                char msg[128];

                                if (idx < 0) {
                                        snprintf(
                                                msg,
                                                sizeof(msg),
                                                "names unknown step \"%.64s\"",
                                                json_object_is_type(d, json_type_string)
                                                        ? json_object_get_string(d)
                                                        : "");
                                        (void) add_step_error(&local_errs, i, "depends_on", msg);
                                } else if ((unsigned) idx == i)
                                        (void) add_step_error(
                                                &local_errs,
                                                i,
                                                "depends_on",
                                                "a step cannot depend on itself");
                                else
                                        w->steps[i].deps[w->steps[i].n_deps++] = (unsigned) idx;
                        }
                }
        }
        if (local_errs)
                goto invalid;

        /* Kahn: whatever is left with a nonzero in-degree is on a cycle. */
        for (unsigned i = 0; i < n; i++)
                indegree[i] = (unsigned) w->steps[i].n_deps;
        for (unsigned i = 0; i < n; i++)
                if (indegree[i] == 0)
                        queue[tail++] = i;
        while (head < tail) {
                unsigned s = queue[head++];

                seen++;
                for (unsigned i = 0; i < n; i++)
                        for (size_t k = 0; k < w->steps[i].n_deps; k++)
                                if (w->steps[i].deps[k] == s && --indegree[i] == 0)
                                        queue[tail++] = i;
        }
        if (seen < n) {
                for (unsigned i = 0; i < n; i++)
                        if (indegree[i] > 0) {
                                (void) add_step_error(
                                        &local_errs, i, "depends_on", "is part of a dependency cycle");
                                break;
                        }
                goto invalid;
        }

        for (unsigned i = 0; i < n; i++)
                if (w->steps[i].input) {
                        json_object *step_errs = NULL;

                        check_refs(w, i, w->steps[i].input, &step_errs, 0);
                        for (size_t k = 0; step_errs && k < json_object_array_length(step_errs); k++) {
                                json_object *e = json_object_array_get_idx(step_errs, k), *m;

                                if (json_object_object_get_ex(e, "message", &m))
                                        (void) add_step_error(
                                                &local_errs, i, "input", json_object_get_string(m));
                        }
                        json_object_put(step_errs);
                }
        if (local_errs)
                goto invalid;
        *ret = TAKE_PTR(w);
        return 0;

invalid:
        if (*errs) {
                for (size_t k = 0; k < json_object_array_length(local_errs); k++)
                        json_object_array_add(
                                *errs, json_object_get(json_object_array_get_idx(local_errs, k)));
                json_object_put(local_errs);
        } else
                *errs = local_errs;
        return -EINVAL;
}

static int
resolve(const Workflow *w,
        json_object *in,
        json_object *const *outputs,
        json_object **ret,
        char **ret_error,
        unsigned depth) {
        const char *ref, *pointer;
        int step, r;

        if (depth > JSON_MAX_DEPTH)
                return -ELOOP;
        if (is_ref(in, &ref)) {
                json_object *found = NULL;

                r = parse_ref(w, ref, &step, &pointer);
                if (r < 0 || !outputs[step])
                        return asprintf(ret_error, "$ref \"%s\": no output from that step", ref) < 0
                                ? -ENOMEM
                                : -ENOENT;
                if (json_pointer_get(outputs[step], pointer, &found) < 0)
                        return asprintf(
                                       ret_error,
                                       "$ref \"%s\": the pointer finds nothing in that step's output",
                                       ref) < 0
                                ? -ENOMEM
                                : -ENOENT;
                *ret = json_object_get(found);
                return 0;
        }
        if (json_object_is_type(in, json_type_object)) {
                _cleanup_json_ json_object *o = json_object_new_object();
                struct json_object_iterator it = json_object_iter_begin(in), end = json_object_iter_end(in);

                if (!o)
                        return -ENOMEM;
                for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
                        json_object *v = NULL;

                        r = resolve(w, json_object_iter_peek_value(&it), outputs, &v, ret_error, depth + 1);
                        if (r < 0)
                                return r;
                        json_object_object_add(o, json_object_iter_peek_name(&it), v);
                }
                *ret = TAKE_PTR(o);
                return 0;
        }
        if (json_object_is_type(in, json_type_array)) {
                _cleanup_json_ json_object *a = json_object_new_array();

                if (!a)
                        return -ENOMEM;
                for (size_t k = 0; k < json_object_array_length(in); k++) {
                        json_object *v = NULL;

                        r = resolve(w, json_object_array_get_idx(in, k), outputs, &v, ret_error, depth + 1);
                        if (r < 0)
                                return r;
                        json_object_array_add(a, v);
                }
                *ret = TAKE_PTR(a);
                return 0;
        }
        *ret = json_object_get(in); /* scalars are immutable: share them */
        return 0;
}

int workflow_resolve_input(
        const Workflow *w, size_t i, json_object *const *outputs, json_object **ret, char **ret_error) {
        if (!w->steps[i].input) {
                *ret = json_object_new_object();
                return *ret ? 0 : -ENOMEM;
        }
        return resolve(w, w->steps[i].input, outputs, ret, ret_error, 0);
}
