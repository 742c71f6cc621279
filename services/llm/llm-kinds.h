/* SPDX-License-Identifier: MIT */
/* llm-kinds.h — the backend kinds, one file each, and their lookup by name. Adding a kind
 * is a new llm-<kind>.c defining its LlmProviderOps, its line here and its row in
 * llm-kinds.c (plus the file in meson.build). */
#pragma once

#include "llm-provider.h"

extern const LlmProviderOps llm_ollama_ops;
extern const LlmProviderOps llm_openai_ops;
extern const LlmProviderOps llm_anthropic_ops;

/* The kind named name, NULL when there is none: a backends file naming it is refused. */
const LlmProviderOps *llm_kinds_find(const char *name);
/* "ollama, openai, anthropic" into buf (truncated to size): the names, for messages. */
void llm_kinds_names(char *buf, size_t size);
