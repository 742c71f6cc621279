/* SPDX-License-Identifier: MIT */
/* llm-tools.h — the tool calls of one answer, assembled from the pieces a backend streams
 * (OpenAI's indexed delta.tool_calls, Anthropic's tool_use blocks and input_json_delta,
 * Ollama's whole calls): numbered in the order they begin, an id given where the backend
 * gave none, and at the end each call's arguments checked to be one JSON object. */
#pragma once

#include "llm-provider.h"
#include "llm-text.h"

#define LLM_TOOL_CALLS_MAX 128
#define LLM_TOOL_ARGUMENTS_MAX (1024 * 1024)

typedef struct LlmToolCallText {
        char *id;
        char *name;
        LlmText arguments;
        size_t backend_index; /* the backend's number for the call */
} LlmToolCallText;

typedef struct LlmToolCalls {
        LlmToolCallText *calls;
        size_t n;
} LlmToolCalls;

/* Adds one piece, and rewrites *d as the client is to see it: index is the call's number
 * in this answer; the first piece of a call carries its id (generated when the backend
 * sent none: "call_" and 24 hex digits) and name, later pieces neither. A piece with a new
 * id at a number already used begins a new call (OpenAI-compatible servers that number
 * every call of a parallel batch 0). -EPROTO when a call begins without a name, or there
 * are too many calls or too long arguments; -ENOMEM. */
int llm_tool_calls_add(LlmToolCalls *t, LlmToolDelta *d);
/* Once the answer is complete: -EBADMSG, with error saying which call, when a call's
 * arguments are not one JSON object. Empty arguments become {}. */
int llm_tool_calls_check(LlmToolCalls *t, char *error, size_t size);
void llm_tool_calls_clear(LlmToolCalls *t);
