/*
 * log.h - the daemon's operational log (stderr, one line per event,
 * RFC 3339 UTC time, level, message). Callers pass only metadata: a log
 * line must never carry a personal value, a national identifier, a
 * password, a token or a key.
 */
#ifndef CF_COMMON_LOG_H
#define CF_COMMON_LOG_H

#include "common/cf.h"

typedef enum cf_log_level { CF_LOG_ERROR, CF_LOG_WARN, CF_LOG_INFO, CF_LOG_DEBUG } cf_log_level;

void cf_log_set_level(cf_log_level lvl);
cf_rc cf_log_level_parse(const char *s, cf_log_level *out) CF_MUST_CHECK;
void cf_log(cf_log_level lvl, const char *fmt, ...) CF_PRINTF(2, 3);

#endif
