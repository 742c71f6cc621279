/* SPDX-License-Identifier: MIT */
/* apikey.h — API keys: their form ("ais_" + 43 base64url characters of 32 random bytes),
 * their SHA-256 (all the store keeps), their names, and the per-key minute windows of
 * requests and tokens (RPM/TPM) with the bounded label set of the per-key metrics. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "job-store.h"

#define APIKEY_PREFIX "ais_"
#define APIKEY_SECRET_MAX 64       /* "ais_" + 43 + NUL fits */
#define APIKEY_SHOWN_PREFIX_LEN 12 /* "ais_" + 8: enough to tell keys apart in a list */
#define APIKEY_NAME_MAX 64
#define APIKEY_SUB_PREFIX "key:"     /* the principal of a key: "key:<name>" */
#define APIKEY_METRICS_KEYS 50       /* keys with a label of their own; the rest are "other" */
#define APIKEY_METRICS_OTHER "other" /* so no key may have this name */
#define APIKEY_METER_SLOTS 1024

/* Whether a bearer token has the form of a key (not a JWT). */
bool apikey_is_key(const char *token, size_t len);
/* A new random key: its secret (shown once), the prefix for listings and the hash to store. */
int apikey_generate(
        char ret_secret[static APIKEY_SECRET_MAX],
        char ret_prefix[static APIKEY_SHOWN_PREFIX_LEN + 1],
        uint8_t ret_hash[static KEY_HASH_SIZE]);
int apikey_hash(const char *secret, size_t len, uint8_t ret[static KEY_HASH_SIZE]);
/* 1-64 characters of [A-Za-z0-9._-], and not APIKEY_METRICS_OTHER. */
bool apikey_name_valid(const char *name);
/* The key name of principal sub ("key:<name>"), or NULL when sub is not a key's. */
const char *apikey_name_of(const char *sub);

/* ---- minute windows (apikey-meter.c) -------------------------------------------------- */

typedef struct ApiKeyMeter ApiKeyMeter;

typedef struct ApiKeyDecision {
        const char *limit; /* NULL = allowed; else "rpm" or "tpm" */
        int64_t max, remaining;
        unsigned reset_s; /* seconds until the window starts again */
} ApiKeyDecision;

int apikey_meter_new(ApiKeyMeter **ret);
/* The windows as rows of store, shared by the orchestrators of one store. */
void apikey_meter_share(ApiKeyMeter *m, JobStore *store);
void apikey_meter_free(ApiKeyMeter *m);
/* One request of key name at now (Unix seconds) against its rpm and tpm (0 = none): the
 * request is counted when allowed. Thread-safe. */
void apikey_meter_take(
        ApiKeyMeter *m, const char *name, const KeyLimits *limits, double now, ApiKeyDecision *ret);
/* Tokens used by key name's answer at now, for its tpm. */
void apikey_meter_add_tokens(ApiKeyMeter *m, const char *name, int64_t tokens, double now);
/* The metrics label of key name: the name itself for the first APIKEY_METRICS_KEYS keys
 * seen, "other" after that. */
const char *apikey_meter_label(ApiKeyMeter *m, const char *name);
