/* SPDX-License-Identifier: MIT */
/* podman-api.c — see podman-api.h. */
#include <curl/curl.h>
#include <json-c/json.h>
#include <stdio.h>

#include "json-util.h"
#include "podman-api.h"

#define BODY_MAX (1024 * 1024)

typedef struct Buf {
        char *data;
        size_t len;
} Buf;

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *userdata) {
        Buf *b = userdata;
        size_t n = size * nmemb;
        char *nd;

        if (b->len + n > BODY_MAX)
                return 0;
        nd = realloc(b->data, b->len + n + 1);
        if (!nd)
                return 0;
        b->data = nd;
        memcpy(b->data + b->len, ptr, n);
        b->len += n;
        b->data[b->len] = 0;
        return n;
}

int podman_api_request(
        const char *socket_path,
        const char *method,
        const char *path,
        uint64_t timeout_ms,
        long *ret_code,
        char **ret_body) {
        _cleanup_free_ char *url = NULL;
        CURL *c;
        Buf b = {};
        CURLcode cr;
        long code = 0;

        /* The host part is ignored on a unix socket; Podman wants one all the same. */
        if (asprintf(&url, "http://d%s", path) < 0)
                return -ENOMEM;
        c = curl_easy_init();
        if (!c)
                return -ENOMEM;
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, socket_path);
        if (method)
                curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
        if (method && streq(method, "POST"))
                curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long) timeout_ms);
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        cr = curl_easy_perform(c);
        if (cr == CURLE_OK)
                curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
        curl_easy_cleanup(c);
        if (cr != CURLE_OK) {
                free(b.data);
                return cr == CURLE_OPERATION_TIMEDOUT ? -ETIMEDOUT : -ECONNREFUSED;
        }
        *ret_code = code;
        *ret_body = b.data ? b.data : strdup("");
        return *ret_body ? 0 : -ENOMEM;
}

/* GET path → the string members key and key2 (NULL: none) of its JSON answer. */
static int get_strings(
        const char *socket_path,
        const char *path,
        const char *key,
        char **ret,
        const char *key2,
        char **ret2) {
        _cleanup_free_ char *body = NULL, *a = NULL, *b = NULL;
        _cleanup_json_ json_object *o = NULL;
        json_object *v;
        long code = 0;
        int r;

        r = podman_api_request(socket_path, NULL, path, 10000, &code, &body);
        if (r < 0)
                return r;
        if (code == 404)
                return -ENOENT;
        if (code != 200 || json_parse_strict(body, strlen(body), &o, NULL) < 0 ||
            !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
                return -EPROTO;
        a = strdup(json_object_get_string(v));
        if (!a)
                return -ENOMEM;
        if (key2) {
                if (!json_object_object_get_ex(o, key2, &v) || !json_object_is_type(v, json_type_string))
                        /* cppcheck-suppress memleak ; freed by the _cleanup_ attribute */
                        return -EPROTO;
                b = strdup(json_object_get_string(v));
                if (!b)
                        /* cppcheck-suppress memleak ; freed by the _cleanup_ attribute */
                        return -ENOMEM;
                *ret2 = TAKE_PTR(b);
        }
        *ret = TAKE_PTR(a);
        return 0;
}

int podman_api_container_image(
        const char *socket_path, const char *container, char **ret_id, char **ret_ref) {
        _cleanup_free_ char *path = NULL, *name = curl_easy_escape(NULL, container, 0);

        if (!name || asprintf(&path, "/v4.0.0/libpod/containers/%s/json", name) < 0)
                return -ENOMEM;
        return get_strings(socket_path, path, "Image", ret_id, "ImageName", ret_ref);
}

int podman_api_image_id(const char *socket_path, const char *ref, char **ret_id) {
        _cleanup_free_ char *path = NULL, *name = curl_easy_escape(NULL, ref, 0);

        if (!name || asprintf(&path, "/v4.0.0/libpod/images/%s/json", name) < 0)
                return -ENOMEM;
        return get_strings(socket_path, path, "Id", ret_id, NULL, NULL);
}

int podman_api_image_tag(const char *socket_path, const char *image, const char *repo, const char *tag) {
        _cleanup_free_ char *path = NULL, *body = NULL, *i = curl_easy_escape(NULL, image, 0),
                            *rp = curl_easy_escape(NULL, repo, 0), *t = curl_easy_escape(NULL, tag, 0);
        long code = 0;
        int r;

        if (!i || !rp || !t || asprintf(&path, "/v4.0.0/libpod/images/%s/tag?repo=%s&tag=%s", i, rp, t) < 0)
                return -ENOMEM;
        r = podman_api_request(socket_path, "POST", path, 10000, &code, &body);
        if (r < 0)
                return r;
        return code == 201 || code == 200 ? 0 : code == 404 ? -ENOENT : -EPROTO;
}
