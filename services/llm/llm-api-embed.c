/* SPDX-License-Identifier: MIT */
/* llm-api-embed.c — OpenAI's POST /v1/embeddings: {model, input (a string or an array of
 * strings), encoding_format (float | base64), dimensions, user}, routed to the models
 * marked "embeddings" (an OpenAI-compatible backend's /embeddings, Ollama's /api/embed)
 * with the gateway's retries, breakers and fallbacks. The answer is {object: "list", data:
 * [{object: "embedding", index, embedding}], model, usage}; base64 is the vector's
 * little-endian float32 bytes, as OpenAI encodes it. */
#include <endian.h>
#include <openssl/evp.h>
#include <stdio.h>

#include "json-util.h"
#include "llm-api-internal.h"

static int parse_input(json_object *in, ApiRequest *a, json_object **errs) {
        size_t n = json_object_is_type(in, json_type_array) ? json_object_array_length(in) : 1;

        if (!json_object_is_type(in, json_type_string) && !json_object_is_type(in, json_type_array))
                return json_errors_add(errs, "input", "must be a string or an array of strings"), -EINVAL;
        if (n == 0 || n > LLM_API_MAX_INPUTS)
                return json_errors_add(errs, "input", "must hold 1 to %d strings", LLM_API_MAX_INPUTS),
                       -EINVAL;
        a->inputs = calloc(n, sizeof(*a->inputs));
        if (!a->inputs)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                json_object *s =
                        json_object_is_type(in, json_type_array) ? json_object_array_get_idx(in, i) : in;
                char f[LLM_API_FIELD_MAX];

                snprintf(f, sizeof(f), "input[%zu]", i);
                if (!json_object_is_type(s, json_type_string) || json_object_get_string_len(s) == 0)
                        return json_errors_add(
                                       errs,
                                       json_object_is_type(in, json_type_array) ? f : "input",
                                       "must be a non-empty string (token arrays are not supported: send text)"),
                               -EINVAL;
                a->inputs[i] = json_object_get_string(s);
        }
        a->call.n_inputs = n;
        return 0;
}

int llm_api_embed_parse(HttpRequest *req, LlmApi *api, json_object *body, ApiRequest *a) {
        static const char *const known[] = { "model",      "input", "encoding_format",
                                             "dimensions", "user",  "priority",
                                             "task",       NULL };
        _cleanup_json_ json_object *errs = NULL;
        json_object *in = NULL;
        const char *enc = NULL;
        int r;

        if (llm_api_request_start(req, api, body, SHAPE_EMBEDDINGS, known, a, &errs) < 0)
                return -EINVAL;
        (void) json_get_string_bounded(body, "model", true, 1, 200, &errs, &a->model);
        if (!json_object_object_get_ex(body, "input", &in))
                json_errors_add(&errs, "input", "is required");
        else if ((r = parse_input(in, a, &errs)) == -ENOMEM)
                return r;
        if (json_get_string(body, "encoding_format", false, &errs, &enc) > 0) {
                if (streq(enc, "base64"))
                        a->base64 = true;
                else if (!streq(enc, "float"))
                        json_errors_add(&errs, "encoding_format", "must be float or base64");
        }
        if (json_get_int(body, "dimensions", false, 1, 65536, &errs, &a->call.dimensions) > 0)
                a->call.features |= LLM_FEATURE_DIMENSIONS;
        if (json_get_string_bounded(body, "user", false, 1, 256, &errs, &a->call.user) > 0)
                a->call.features |= LLM_FEATURE_USER;
        llm_api_request_hints(body, a, &errs);
        return llm_api_request_end(req, a, errs);
}

/* The vector's float32 bytes, little-endian, in base64. */
static json_object *base64_vector(json_object *v) {
        size_t n = json_object_array_length(v);
        _cleanup_free_ uint32_t *raw = calloc(MAX(n, (size_t) 1), sizeof(*raw));
        _cleanup_free_ char *b64 = malloc(4 * ((n * 4 + 2) / 3) + 1);

        if (!raw || !b64)
                return NULL;
        for (size_t i = 0; i < n; i++) {
                float f = (float) json_object_get_double(json_object_array_get_idx(v, i));
                uint32_t u;

                memcpy(&u, &f, sizeof(u));
                raw[i] = htole32(u);
        }
        (void) EVP_EncodeBlock((unsigned char *) b64, (const unsigned char *) raw, (int) (n * 4));
        return json_object_new_string(b64);
}

static int reply(ApiReply *x, const LlmOutcome *out, const char *reason) {
        _cleanup_json_ json_object *o = json_object_new_object(), *data = json_object_new_array();
        json_object *u = json_object_new_object();

        if (!o || !data || !u) {
                json_object_put(u);
                return -ENOMEM;
        }
        for (size_t i = 0; i < json_object_array_length(x->vectors); i++) {
                json_object *v = json_object_array_get_idx(x->vectors, i), *e = json_object_new_object();

                if (!e || json_object_array_add(data, e) < 0) {
                        json_object_put(e);
                        json_object_put(u);
                        return -ENOMEM;
                }
                json_object_object_add(e, "object", json_object_new_string("embedding"));
                json_object_object_add(e, "index", json_object_new_int64((int64_t) i));
                json_object_object_add(e, "embedding", x->a->base64 ? base64_vector(v) : json_object_get(v));
        }
        json_object_object_add(o, "object", json_object_new_string("list"));
        json_object_object_add(o, "data", TAKE_PTR(data));
        json_object_object_add(o, "model", json_object_new_string(out->used->model->name));
        json_object_object_add(u, "prompt_tokens", json_object_new_int64(out->prompt_tokens));
        json_object_object_add(u, "total_tokens", json_object_new_int64(out->prompt_tokens));
        json_object_object_add(o, "usage", u);
        return http_reply_json(x->req, 200, o);
}

/* Embeddings are one JSON answer, never streamed; the fields are OpenAI's (user,
 * dimensions). */
const ApiFormat llm_api_embed_format = {
        .reply = reply,
        .feature_fields = llm_api_openai_fields,
};
