/*
 * test_nid.c - Belgian national register number: known answers computed
 * outside coffre (Python: 97 - int(first9) % 97, and 97 - int("2" + first9) % 97),
 * a second independent computation digit by digit, and every refused shape.
 */
#include "common/cf.h"
#include "schema/schema.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

/* Check digits computed digit by digit (Horner mod 97), with or without the "2" prefix. */
static unsigned ref_check(const char *first9, bool born2000)
{
	unsigned r = born2000 ? 2u : 0u;

	for (int i = 0; i < 9; i++)
		r = (r * 10u + (unsigned)(first9[i] - '0')) % 97u;
	return 97u - r;
}

static void build(const char *first9, bool born2000, char out[CF_NID_LEN])
{
	unsigned c = ref_check(first9, born2000);

	memcpy(out, first9, 9);
	out[9] = (char)('0' + c / 10u);
	out[10] = (char)('0' + c % 10u);
	out[11] = '\0';
}

static void test_reference_matches_known_answers(void **state)
{
	(void)state;
	/* Known answers from an independent Python computation. */
	assert_int_equal(ref_check("850730033", false), 28);
	assert_int_equal(ref_check("850730033", true), 57);
	assert_int_equal(ref_check("000125567", false), 48);
	assert_int_equal(ref_check("000125567", true), 77);
	assert_int_equal(ref_check("000000001", false), 96);
	assert_int_equal(ref_check("000000001", true), 28);
	assert_int_equal(ref_check("450000001", true), 3);
}

static void test_valid(void **state)
{
	static const struct {
		const char *in;
		const char *norm;
	} ok[] = {
		{"85073003328", "85073003328"},     /* born 1985 */
		{"85.07.30-033.28", "85073003328"}, /* the printed form */
		{"85 07 30 033 28", "85073003328"},
		{"8 5 0 7 3 0 0 3 3 2 8", "85073003328"},
		{"8 5 0 7 3 0 0 3 3 2 8           ", "85073003328"}, /* 32 bytes: at the cap */
		{"93021412366", "93021412366"},
		{"71010100112", "71010100112"},
		{"99123199841", "99123199841"}, /* sequence 998 */
		{"45000000171", "45000000171"}, /* month 00, day 00: birth date unknown */
		{"85213000557", "85213000557"}, /* bis number, month + 20 */
		{"85423000708", "85423000708"}, /* bis number, month + 40 */
		{"00012556777", "00012556777"}, /* born 2000: valid only with the "2" prefix */
		{"00.01.25-567.77", "00012556777"},
		{"17072228176", "17072228176"}, /* born 2017 */
		{"06010112309", "06010112309"}, /* born 2006 */
		{"08022900119", "08022900119"}, /* born 2008-02-29 */
		{"00000000196", "00000000196"}, /* all unknown, sequence 001 */
		{"00012556748", "00012556748"}, /* same digits, pre-2000 check: the century is not known */
		{"85073003357", "85073003357"}, /* pre-2000 digits with the 2000+ check: accepted too */
	};

	(void)state;
	for (size_t i = 0; i < CF_ARRAY_LEN(ok); i++) {
		char out[CF_NID_LEN];
		cf_err err;

		cf_err_clear(&err);
		if (!cf_nid_be_valid(ok[i].in))
			fail_msg("expected valid: case %zu", i);
		assert_int_equal(cf_nid_normalize(ok[i].in, out, &err), CF_OK);
		assert_string_equal(out, ok[i].norm);
		assert_int_equal(err.rc, CF_OK);
	}
}

static void test_two_thousand_needs_prefix(void **state)
{
	(void)state;
	/* Check digits 77 only fit 2000125567; 48 is the pre-2000 answer. */
	assert_int_not_equal(ref_check("000125567", false), 77);
	assert_true(cf_nid_be_valid("00012556777"));
	assert_false(cf_nid_be_valid("00012556778"));
	assert_false(cf_nid_be_valid("00012556776"));
}

static void test_invalid(void **state)
{
	static const char *const bad[] = {
		"85073003329",             /* wrong check digits */
		"85073003327",             /* wrong check digits */
		"00012556778",             /* wrong check digits, 2000+ */
		"8507300332",              /* 10 digits */
		"850730033280",            /* 12 digits */
		"85O73003328",             /* letter O */
		"85073003328x",            /* trailing letter */
		"85/07/30-033.28",         /* '/' is not a separator */
		"+85073003328",            /* sign */
		"85_07_30_033_28",         /* '_' is not a separator */
		"",                        /* empty */
		"...........",             /* separators only */
		"85133003370",             /* month 13 (check digits right) */
		"85193003315",             /* month 19 */
		"85333003316",             /* month 33 */
		"85393003358",             /* month 39 */
		"85533003359",             /* month 53 */
		"85073203365",             /* day 32 */
		"85073000061",             /* sequence 000 */
		"85073099932",             /* sequence 999 */
		"8 5 0 7 3 0 0 3 3 2 8            ", /* 33 bytes of input: over the cap */
		"\xef\xbc\x98" "5073003328", /* fullwidth digit eight */
		"85073003328\n",           /* newline */
		"8507300332 8 0",          /* 12 digits with separators */
	};

	(void)state;
	for (size_t i = 0; i < CF_ARRAY_LEN(bad); i++) {
		char out[CF_NID_LEN];
		cf_err err;

		cf_err_clear(&err);
		if (cf_nid_be_valid(bad[i]))
			fail_msg("expected invalid: case %zu", i);
		assert_int_equal(cf_nid_normalize(bad[i], out, &err), CF_EINVAL);
		assert_int_equal(err.rc, CF_EINVAL);
		assert_int_equal(err.problem, CF_P_INVALID_NATIONAL_ID);
		assert_string_equal(out, ""); /* nothing half-copied */
		/* the detail never repeats the input */
		assert_null(strstr(err.detail, "8507"));
	}
	assert_false(cf_nid_be_valid(NULL));
	{
		char out[CF_NID_LEN];

		assert_int_equal(cf_nid_normalize(NULL, out, NULL), CF_EINVAL);
	}
}

/* The rule-breaking cases above are wrong only in the rule they name. */
static void test_invalid_cases_have_right_check_digits(void **state)
{
	static const char *const first9[] = {"851330033", "851930033", "853330033", "853930033",
					     "855330033", "850732033", "850730000", "850730999"};
	static const char *const full[] = {"85133003370", "85193003315", "85333003316", "85393003358",
					   "85533003359", "85073203365", "85073000061", "85073099932"};

	(void)state;
	for (size_t i = 0; i < CF_ARRAY_LEN(first9); i++) {
		char n[CF_NID_LEN];

		build(first9[i], false, n);
		assert_string_equal(n, full[i]);
	}
}

/* Every day of every month for both centuries, built with the reference. */
static void test_generated(void **state)
{
	static const char *const months[] = {"00", "01", "06", "12", "20", "21", "32", "40", "45", "52"};
	static const char *const bad_months[] = {"13", "19", "33", "39", "53", "99"};
	char first9[10], n[CF_NID_LEN];

	(void)state;
	for (size_t m = 0; m < CF_ARRAY_LEN(months); m++) {
		for (unsigned d = 0; d <= 31; d++) {
			for (int century = 0; century < 2; century++) {
				(void)snprintf(first9, sizeof(first9), "%02u%s%02u%03u", 60u + d, months[m], d,
					       1u + d * 31u);
				build(first9, century == 1, n);
				if (!cf_nid_be_valid(n))
					fail_msg("generated valid number refused: month %s day %u", months[m], d);
				/* every other check digit pair is refused, unless it is the other century's */
				for (unsigned c = 0; c <= 99; c++) {
					unsigned c0 = ref_check(first9, false), c1 = ref_check(first9, true);
					char alt[CF_NID_LEN];

					memcpy(alt, first9, 9);
					alt[9] = (char)('0' + c / 10u);
					alt[10] = (char)('0' + c % 10u);
					alt[11] = '\0';
					assert_int_equal(cf_nid_be_valid(alt), c == c0 || c == c1);
				}
			}
		}
	}
	for (size_t m = 0; m < CF_ARRAY_LEN(bad_months); m++) {
		(void)snprintf(first9, sizeof(first9), "70%s15123", bad_months[m]);
		build(first9, false, n);
		assert_false(cf_nid_be_valid(n));
		build(first9, true, n);
		assert_false(cf_nid_be_valid(n));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reference_matches_known_answers),
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_two_thousand_needs_prefix),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_invalid_cases_have_right_check_digits),
		cmocka_unit_test(test_generated),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
