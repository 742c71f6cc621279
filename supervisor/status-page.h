/* SPDX-License-Identifier: MIT */
/* status-page.h — the status page served at GET / (status-page.c). */
#pragma once

extern const char status_page_html[];
