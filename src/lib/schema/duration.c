/*
 * duration.c - ISO 8601 durations (PnYnMnWnDTnHnMnS) for retention periods.
 * Integers only, designators in order, each at most once, at least one part;
 * no sign, no fractions, at most 9 digits per part so every value fits an int.
 * It must never accept a string it cannot represent exactly.
 */
#include "common/cf.h"
#include "schema/schema.h"

#define DURATION_INPUT_MAX 64
#define PART_DIGITS_MAX 9

/*
 * Reads "<digits><designator>" at s[*i] if the designator is one of
 * allowed[from..]; on success stores the value and returns the index of
 * the designator in allowed (so later designators must come after it).
 * Returns -1 on no number here, -2 on a syntax error.
 */
static int part(const char *s, size_t len, size_t *i, const char *allowed, int from, int *value)
{
	size_t k = *i, digits = 0;
	long v = 0;

	while (k < len && s[k] >= '0' && s[k] <= '9') {
		if (++digits > PART_DIGITS_MAX)
			return -2;
		v = v * 10 + (s[k] - '0');
		k++;
	}
	if (digits == 0)
		return k < len ? -2 : -1;
	if (k >= len)
		return -2;
	for (int d = from; allowed[d] != '\0'; d++) {
		if (allowed[d] == s[k]) {
			*value = (int)v;
			*i = k + 1;
			return d;
		}
	}
	return -2;
}

/* CF_EINVAL on anything outside the grammar above; *out is written only on success. */
cf_rc cf_duration_parse(const char *s, cf_duration *out)
{
	static const char date_des[] = "YMWD";
	static const char time_des[] = "HMS";
	int *date_slot[4], *time_slot[3];
	cf_duration d = {0};
	size_t len, i = 1;
	int next = 0, parts = 0;

	date_slot[0] = &d.years;
	date_slot[1] = &d.months;
	date_slot[2] = &d.weeks;
	date_slot[3] = &d.days;
	time_slot[0] = &d.hours;
	time_slot[1] = &d.minutes;
	time_slot[2] = &d.seconds;
	if (s == NULL || out == NULL)
		return CF_EINVAL;
	len = strnlen(s, DURATION_INPUT_MAX + 1);
	if (len < 3 || len > DURATION_INPUT_MAX || s[0] != 'P')
		return CF_EINVAL;
	while (i < len && s[i] != 'T') {
		int v = 0, r = part(s, len, &i, date_des, next, &v);

		if (r < 0)
			return CF_EINVAL;
		*date_slot[r] = v;
		next = r + 1;
		parts++;
	}
	if (i < len) { /* s[i] == 'T': at least one time part must follow */
		int tparts = 0;

		i++;
		next = 0;
		while (i < len) {
			int v = 0, r = part(s, len, &i, time_des, next, &v);

			if (r < 0)
				return CF_EINVAL;
			*time_slot[r] = v;
			next = r + 1;
			tparts++;
		}
		if (tparts == 0)
			return CF_EINVAL;
		parts += tparts;
	}
	if (parts == 0)
		return CF_EINVAL;
	*out = d;
	return CF_OK;
}
