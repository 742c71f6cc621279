/* SPDX-License-Identifier: MIT */
/* nlp-entities.h — rule-based entities: e-mail, URL, date, money and phone for English
 * and Japanese; proper nouns from MeCab's part of speech (Japanese) or capitalised spans
 * (English). */
#pragma once

#include <json-c/json.h>

#include "nlp-tokenize.h"

/* {method:"rules", entities:[{text, type, start, end}]} sorted by start (code points). */
int nlp_entities(const NlpDoc *d, json_object **ret);
