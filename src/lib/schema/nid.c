/*
 * nid.c - the Belgian national register number (rijksregisternummer /
 * numéro de registre national): syntax, plausible birth date and sequence,
 * and the mod-97 check digits. The birth century cannot be read from the
 * number itself, so both the pre-2000 and the 2000+ check are accepted.
 * A national identifier is personal data: this file must never copy one
 * into an error detail or a log, nor keep one beyond the caller's buffer.
 */
#include "common/cf.h"
#include "schema/schema.h"

#define NID_DIGITS 11
#define NID_INPUT_MAX 32 /* bytes, separators included */

static unsigned two(const char *d)
{
	return (unsigned)(d[0] - '0') * 10u + (unsigned)(d[1] - '0');
}

/* Strips the separators and checks every rule; out gets the 11 digits when true. */
static bool normalize(const char *in, char out[CF_NID_LEN])
{
	size_t len, n = 0;
	unsigned long long base;
	unsigned month, day, seq, check;

	if (in == NULL)
		return false;
	len = strnlen(in, NID_INPUT_MAX + 1);
	if (len > NID_INPUT_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		char ch = in[i];

		if (ch == ' ' || ch == '.' || ch == '-')
			continue;
		if (ch < '0' || ch > '9' || n == NID_DIGITS)
			return false;
		out[n++] = ch;
	}
	if (n != NID_DIGITS)
		return false;
	out[n] = '\0';

	month = two(out + 2);
	day = two(out + 4);
	seq = (unsigned)(out[6] - '0') * 100u + two(out + 7);
	check = two(out + 9);
	/* Month 00 = unknown; +20 and +40 are bis numbers (gender unknown / known). */
	if (!(month <= 12 || (month >= 20 && month <= 32) || (month >= 40 && month <= 52)))
		return false;
	if (day > 31)
		return false;
	if (seq < 1 || seq > 998)
		return false;
	base = 0;
	for (size_t i = 0; i < 9; i++)
		base = base * 10u + (unsigned)(out[i] - '0');
	if (check == 97u - (unsigned)(base % 97u))
		return true;
	if (check == 97u - (unsigned)((2000000000ull + base) % 97u))
		return true; /* born in 2000 or later */
	return false;
}

bool cf_nid_be_valid(const char *s)
{
	char d[CF_NID_LEN];

	return normalize(s, d);
}

/* Fails with CF_EINVAL (invalid-national-id) and leaves out all NULs, so no half-copied digits remain. */
cf_rc cf_nid_normalize(const char *in, char out[CF_NID_LEN], cf_err *err)
{
	char d[CF_NID_LEN];

	if (!normalize(in, d)) {
		memset(out, 0, CF_NID_LEN);
		return cf_err_set(err, CF_EINVAL, CF_P_INVALID_NATIONAL_ID,
				  "not a valid Belgian national register number (11 digits, check digits mod 97)");
	}
	memcpy(out, d, CF_NID_LEN);
	return CF_OK;
}
