/*
 * log.c - operational log to stderr. Thread-safe (one fprintf per line,
 * stdio locks the stream). Never given personal values (see log.h).
 */
#include "common/cf.h"
#include "common/log.h"

#include <time.h>

static cf_log_level current = CF_LOG_INFO;
static const char *names[] = {"error", "warn", "info", "debug"};

void cf_log_set_level(cf_log_level lvl) { current = lvl; }

cf_rc cf_log_level_parse(const char *s, cf_log_level *out)
{
	for (size_t i = 0; i < CF_ARRAY_LEN(names); i++) {
		if (strcmp(s, names[i]) == 0) {
			*out = (cf_log_level)i;
			return CF_OK;
		}
	}
	return CF_EINVAL;
}

void cf_log(cf_log_level lvl, const char *fmt, ...)
{
	char ts[CF_TIME_STR_LEN], msg[1024];
	struct timespec now;
	va_list ap;

	if (lvl > current)
		return;
	clock_gettime(CLOCK_REALTIME, &now);
	cf_time_format((int64_t)now.tv_sec * 1000000 + now.tv_nsec / 1000, ts);
	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s %s %s\n", ts, names[lvl], msg);
}
