/* SPDX-License-Identifier: MIT */
/* llm-tokens.h — token estimates for backends that report no usage, and the /chat
 * context manager that trims history to a model's window. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* An image of a chat message, from an OpenAI-style data: URL; each backend kind sends it
 * in its own format (llm-provider.h). */
typedef struct LlmImage {
        char *media_type; /* image/png, image/jpeg, image/webp, image/gif */
        char *data;       /* base64, as received */
} LlmImage;

/* A call of a tool (function) that an assistant message asked for. */
typedef struct LlmToolCall {
        char *id;
        char *name;
        char *arguments; /* a JSON object, as text */
} LlmToolCall;

typedef struct LlmMessage {
        char *role; /* system, user, assistant, tool */
        char *content;
        LlmImage *images; /* NULL when none */
        size_t n_images;
        LlmToolCall *tool_calls; /* assistant: the calls it asked for; NULL when none */
        size_t n_tool_calls;
        char *tool_call_id; /* tool: the call this message answers */
        char *name;         /* tool: that call's function name */
        bool tool_error;    /* tool: the result is an error (Anthropic's is_error) */
} LlmMessage;

/* The documented estimate: one token per 4 bytes of UTF-8 text, rounded up (BPE
 * tokenizers of current models average 3.5–4.5 bytes per token on English and code;
 * CJK text runs closer to 1–2 bytes per token, so the estimate is low there). */
int64_t llm_tokens_estimate_text(const char *s, size_t len);
/* Text of every message (tool calls' names and arguments included) plus 4 tokens of
 * framing per message and 3 for the reply's start. */
int64_t llm_tokens_estimate_messages(const LlmMessage *m, size_t n);

/* Keeps every system message and, newest first, as many of the others as fit in budget
 * tokens; keep[i] says which survive. The newest message must fit, or -E2BIG. Tool
 * results are never kept without the assistant message that asked for them.
 * ret_dropped: messages left out; ret_tokens: the estimate of what is kept. */
int llm_tokens_trim(
        const LlmMessage *m, size_t n, int64_t budget, bool *keep, size_t *ret_dropped, int64_t *ret_tokens);
