/*
 * report.h - readable Markdown versions of two of coffre's JSON answers:
 * a subject's export (the right of access) and the register of processing
 * activities, for the people who read them (a citizen, a data protection
 * officer, a supervisory authority).
 *
 * Pure functions over jansson values: no I/O, no clock, no keys. They render
 * only what they are given (an absent value shows as an em dash, never as a
 * guess), escape every input string so that it cannot add Markdown
 * structure, and produce the same bytes for the same input whatever the
 * insertion order of its objects (keys are rendered in byte order, arrays
 * in their order).
 */
#ifndef CF_REPORT_H
#define CF_REPORT_H

#include "common/cf.h"
#include <jansson.h>

/* Largest document rendered, in bytes (with its NUL); larger gives NULL. */
#define CF_REPORT_MAX_BYTES ((size_t)64 * 1024 * 1024)

/*
 * The subject export (GET /v1/orgs/{org}/subjects/{pseudonym}/export) as a
 * Markdown document; malloc'd, NUL-terminated; NULL on allocation failure
 * or when `export` is not an object with string "org" and "subject", or
 * when the document would exceed CF_REPORT_MAX_BYTES.
 * The document holds personal data: the caller wipes it before freeing it.
 */
char *cf_report_export_markdown(const json_t *export);

/*
 * The register of processing (GET /v1/reports/processing) as Markdown; same
 * contract; NULL when `reg` is not an object with an array "organizations".
 */
char *cf_report_processing_markdown(const json_t *reg);

#endif
