/* SPDX-License-Identifier: MIT */
/* ai-semble-nlp — the text analysis service: POST /process (tokenize, sentiment,
 * keywords, entities, summarize, similarity, analyze) for English and Japanese. */
#include <stddef.h>

#include "log.h"
#include "nlp-process.h"
#include "pod-services.h"
#include "service.h"
#include "version.h"

static NlpConfig config;

#define NLP(field) offsetof(NlpConfig, field)

/* clang-format off */
static const ConfigEntry config_table[] = {
        CONFIG_SIZE("NLP_MAX_TEXT", "128K", 1, 16 * 1024 * 1024, NLP(max_text),
                "Largest \"text\" accepted, in bytes (413 above; the HTTP body limit applies too)."),
        CONFIG_DURATION("NLP_TIME_LIMIT", "10s", 0, 600000, NLP(time_limit_ms),
                "Processing time limit per request (503 when exceeded); 0 = none."),
        CONFIG_STR("NLP_MECAB_RC", "/etc/mecabrc", NLP(mecab_rc),
                "MeCab's resource file (it must exist; the dictionary comes from NLP_MECAB_DICDIR)."),
        CONFIG_STR("NLP_MECAB_DICDIR", "/var/lib/mecab/dic/ipadic-utf8", NLP(mecab_dicdir),
                "MeCab system dictionary directory (Debian's mecab-ipadic-utf8)."),
        CONFIG_STR("NLP_TEXTCAT_CONF", "/usr/share/ai-semble/nlp/fpdb.conf", NLP(textcat_conf),
                "Languages to identify (fpdb.conf format); the image's lists 48 widely written ones."),
        CONFIG_STR("NLP_TEXTCAT_DIR", "/usr/share/libexttextcat", NLP(textcat_dir),
                "libexttextcat's language fingerprints (libexttextcat-data)."),
        CONFIG_STR("NLP_VADER_LEXICON", "/usr/share/ai-semble/nlp/vader_lexicon.txt", NLP(vader_lexicon),
                "VADER's sentiment lexicon (vader_lexicon.txt, MIT)."),
        CONFIG_STR("NLP_JA_SENTIMENT_LEXICON", NULL, NLP(ja_sentiment_lexicon),
                "Japanese polarity lexicon, lines 'base form<TAB>polarity (-4..4)'; unset = Japanese "
                "sentiment goes through NLP_LLM_URL, or answers 501 when that is unset too."),
        CONFIG_URL("NLP_LLM_URL", NULL, NLP(llm_url),
                "The llm service (in the pod http://127.0.0.1:" AI_SEMBLE_PORT_LLM_S ") for Japanese "
                "sentiment when no lexicon is set; unset = off. Optional: readiness does not depend on it."),
        CONFIG_STR("NLP_LLM_MODEL", "auto", NLP(llm_model),
                "Model asked through NLP_LLM_URL (a name from "
                "LLM_BACKENDS_FILE, or auto for the llm's routing)."),
        CONFIG_DURATION("NLP_LLM_TIMEOUT", "20s", 100, 600000, NLP(llm_timeout_ms),
                "Longest wait for the llm service's answer (504 after it)."),
};
/* clang-format on */

static const HttpRoute routes[] = {
        { "POST", "/process", nlp_process_handler, 0, &config },
};

static int setup(ServiceContext *ctx, void *userdata) {
        _cleanup_free_ char *missing = NULL;
        int r;

        r = nlp_process_setup_metrics(service_metrics(ctx));
        if (r < 0)
                return log_error_errno(r, "Failed to register NLP metrics: %m");
        r = nlp_resources_load(&config, &missing);
        if (r < 0)
                return log_error_errno(r, "Failed to load NLP resources: %m");
        if (missing)
                log_warning(
                        "NLP resources not loaded (check %s); the tasks needing them answer 503", missing);
        return 0;
}

static void teardown(void *userdata) {
        nlp_resources_free();
}

static int readiness(json_object *response, bool *ret_ready, void *userdata) {
        return nlp_resources_status(response, ret_ready);
}

static const ServiceDefinition definition = {
        .name = "nlp",
        .version = PROJECT_VERSION,
        .description = "text analysis service",
        .listen_env = "NLP_LISTEN",
        .listen_default = "127.0.0.1:" AI_SEMBLE_PORT_NLP_S,
        .config = config_table,
        .n_config = ELEMENTSOF(config_table),
        .config_data = &config,
        .routes = routes,
        .n_routes = ELEMENTSOF(routes),
        .readiness = readiness,
        .tasks = nlp_process_tasks,
        .setup = setup,
        .teardown = teardown,
};

int main(int argc, char **argv) {
        return service_main(&definition, argc, argv);
}
