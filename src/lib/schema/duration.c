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

/*
 * Calendar arithmetic in UTC over the proleptic Gregorian calendar (Howard
 * Hinnant's days_from_civil / civil_from_days). Years and months move the
 * date and clamp the day to the month's length (31 January + P1M = 28 or
 * 29 February), then weeks, days and the time parts are added exactly.
 */
static int64_t days_from_civil(int64_t y, int64_t m, int64_t d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int64_t *m, int64_t *d)
{
	int64_t era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp + (mp < 10 ? 3 : -9);
	*y = yoe + era * 400 + (*m <= 2);
}

static int64_t month_days(int64_t y, int64_t m)
{
	static const int64_t n[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return (m == 2 && leap) ? 29 : n[m - 1];
}

#define US_PER_DAY INT64_C(86400000000)
#define YEAR_LIMIT 100000 /* far beyond any retention; keeps every product below in range */

cf_rc cf_duration_add(int64_t from_us, const cf_duration *d, int64_t *out_us)
{
	int64_t day, tod, y, m, dd, months, extra_us, r;

	if (d == NULL || out_us == NULL || d->years < 0 || d->months < 0 || d->weeks < 0 || d->days < 0 ||
	    d->hours < 0 || d->minutes < 0 || d->seconds < 0)
		return CF_EINVAL;
	day = from_us / US_PER_DAY;
	tod = from_us % US_PER_DAY;
	if (tod < 0) {
		tod += US_PER_DAY;
		day -= 1;
	}
	civil_from_days(day, &y, &m, &dd);
	months = (int64_t)d->years * 12 + d->months + (m - 1);
	if (months / 12 > YEAR_LIMIT)
		return CF_ETOOBIG;
	y += months / 12;
	m = months % 12 + 1;
	if (dd > month_days(y, m))
		dd = month_days(y, m);
	day = days_from_civil(y, m, dd) + (int64_t)d->weeks * 7 + d->days;
	extra_us = ((int64_t)d->hours * 3600 + (int64_t)d->minutes * 60 + d->seconds) * 1000000;
	if (__builtin_mul_overflow(day, US_PER_DAY, &r) || __builtin_add_overflow(r, tod, &r) ||
	    __builtin_add_overflow(r, extra_us, &r))
		return CF_ETOOBIG;
	*out_us = r;
	return CF_OK;
}

cf_rc cf_date_parse_us(const char *s, int64_t *out_us)
{
	int64_t y, m, d;

	if (s == NULL || strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return CF_EINVAL;
	for (size_t i = 0; i < 10; i++)
		if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
			return CF_EINVAL;
	y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
	m = (s[5] - '0') * 10 + (s[6] - '0');
	d = (s[8] - '0') * 10 + (s[9] - '0');
	if (m < 1 || m > 12 || d < 1 || d > month_days(y, m))
		return CF_EINVAL;
	*out_us = days_from_civil(y, m, d) * US_PER_DAY;
	return CF_OK;
}
