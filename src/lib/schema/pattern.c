/*
 * pattern.c - the POSIX extended regular expressions an organization may
 * declare on a string-like field. A pattern is untrusted input with a cost:
 * glibc expands bounded repetitions and nested '+' into automaton copies, so
 * a 20-byte pattern can take gigabytes to compile or match. Before regcomp
 * sees a pattern, it is scanned: back-references (which make matching
 * exponential) are refused, parentheses must balance (so the pattern cannot
 * close the anchoring group), and the expanded size is bounded.
 * This file must never echo a pattern or a matched value in an error detail.
 */
#include "common/cf.h"
#include "schema/schema_int.h"

#define NEST_MAX 32         /* parenthesis depth */
#define BOUND_MAX 256       /* largest n or m in {n,m} */
#define EXPANSION_MAX 256   /* estimated automaton copies of one pattern */

typedef struct frame {
	size_t sum;         /* size of the completed atoms of this group */
	size_t last;        /* size of the atom a quantifier would apply to */
	bool has_last;      /* the current alternative has an atom */
	bool last_nullable; /* that atom can match the empty string */
	bool alt_nullable;  /* every completed atom of the current alternative can */
	bool nullable;      /* some completed alternative of this group can */
} frame;

static void frame_init(frame *f)
{
	*f = (frame){0, 0, false, false, true, false};
}

/* Index just after the ']' closing the bracket expression opened at p[i], or 0. */
static size_t bracket_end(const char *p, size_t len, size_t i)
{
	size_t k = i + 1;

	if (k < len && p[k] == '^')
		k++;
	if (k < len && p[k] == ']')
		k++; /* a leading ']' is a literal */
	while (k < len) {
		if (p[k] == '[' && k + 1 < len && (p[k + 1] == ':' || p[k + 1] == '.' || p[k + 1] == '=')) {
			char delim = p[k + 1];
			size_t m = k + 2;

			while (m + 1 < len && !(p[m] == delim && p[m + 1] == ']'))
				m++;
			if (m + 1 >= len)
				return 0;
			k = m + 2;
			continue;
		}
		if (p[k] == ']')
			return k + 1;
		k++;
	}
	return 0;
}

/* Parses "{n}", "{n,}" or "{n,m}" at p[i]; false when it is not an interval. */
static bool interval(const char *p, size_t len, size_t i, size_t *min, size_t *factor, size_t *next, bool *too_big)
{
	size_t k = i + 1, n = 0, m = 0, digits = 0;
	bool comma = false, has_m = false;

	*too_big = false;
	while (k < len && p[k] >= '0' && p[k] <= '9') {
		if (++digits > 4)
			*too_big = true;
		else
			n = n * 10 + (size_t)(p[k] - '0');
		k++;
	}
	if (digits == 0)
		return false;
	if (k < len && p[k] == ',') {
		comma = true;
		k++;
		digits = 0;
		while (k < len && p[k] >= '0' && p[k] <= '9') {
			if (++digits > 4)
				*too_big = true;
			else
				m = m * 10 + (size_t)(p[k] - '0');
			k++;
		}
		has_m = digits > 0;
	}
	if (k >= len || p[k] != '}')
		return false;
	if (n > BOUND_MAX || m > BOUND_MAX)
		*too_big = true;
	if (has_m)
		*factor = m > n ? m : n;
	else if (comma)
		*factor = n + 1; /* {n,} is n copies and a star */
	else
		*factor = n;
	if (*factor == 0)
		*factor = 1;
	*min = n;
	*next = k + 1;
	return true;
}

static size_t total(const frame *st, size_t depth)
{
	size_t t = 0;

	for (size_t d = 0; d <= depth; d++)
		t += st[d].sum + st[d].last;
	return t;
}

static void atom(frame *f, size_t size, bool nullable)
{
	f->sum += f->last;
	if (f->has_last)
		f->alt_nullable = f->alt_nullable && f->last_nullable;
	f->last = size;
	f->has_last = true;
	f->last_nullable = nullable;
}

/* Ends the current alternative of f ('|' or ')'). */
static void alternative_end(frame *f)
{
	atom(f, 0, true); /* completes the last atom; an empty atom changes nothing */
	f->nullable = f->nullable || f->alt_nullable;
	f->has_last = false;
	f->alt_nullable = true;
}

/* Refuses (CF_EINVAL) a pattern whose shape would make regcomp or regexec costly or unanchored. */
static cf_rc scan(const char *p, size_t len, size_t *estimate, const char *what, cf_err *err)
{
	frame st[NEST_MAX + 1];
	size_t depth = 0, i = 0;

	frame_init(&st[0]);
	while (i < len) {
		char ch = p[i];
		size_t factor = 1, next = 0, min = 0;
		bool too_big = false;

		switch (ch) {
		case '\\':
			if (i + 1 >= len)
				return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE,
						  "%s: the pattern ends with a backslash", what);
			if (p[i + 1] >= '1' && p[i + 1] <= '9')
				return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE,
						  "%s: back-references are not allowed in a pattern", what);
			atom(&st[depth], 1, false);
			i += 2;
			break;
		case '[':
			next = bracket_end(p, len, i);
			if (next == 0)
				return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE,
						  "%s: the pattern has an unterminated bracket expression", what);
			atom(&st[depth], 1, false);
			i = next;
			break;
		case '(':
			if (depth == NEST_MAX)
				return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE,
						  "%s: the pattern nests parentheses deeper than %d", what, NEST_MAX);
			depth++;
			frame_init(&st[depth]);
			i++;
			break;
		case ')': {
			size_t size;
			bool nullable;

			if (depth == 0)
				return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE,
						  "%s: the pattern has unbalanced parentheses", what);
			alternative_end(&st[depth]);
			size = st[depth].sum;
			nullable = st[depth].nullable;
			depth--;
			atom(&st[depth], size, nullable);
			i++;
			break;
		}
		case '|':
			alternative_end(&st[depth]);
			i++;
			break;
		case '+':
			st[depth].last *= 2; /* glibc copies the operand of '+' */
			i++;
			break;
		case '{':
			if (interval(p, len, i, &min, &factor, &next, &too_big)) {
				if (too_big)
					return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE,
							  "%s: a repetition bound in the pattern is over %d", what,
							  BOUND_MAX);
				/*
				 * glibc's compile time explodes on a bounded repetition of
				 * something that can match the empty string: "(a?){0,256}"
				 * takes seconds. Such a pattern always has a plainer form.
				 */
				if (!st[depth].has_last)
					return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE,
							  "%s: a repetition in the pattern has nothing to repeat", what);
				if (st[depth].last_nullable)
					return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE,
							  "%s: a bounded repetition in the pattern applies to an "
							  "expression that can be empty",
							  what);
				st[depth].last *= factor;
				if (min == 0)
					st[depth].last_nullable = true; /* {0}, {0,} or {0,m} */
				i = next;
			} else {
				atom(&st[depth], 1, false);
				i++;
			}
			break;
		case '*':
		case '?':
			st[depth].last_nullable = true;
			i++;
			break;
		case '^':
		case '$':
			atom(&st[depth], 1, true); /* zero-width: counts as an atom that can be empty */
			i++;
			break;
		default:
			atom(&st[depth], 1, false);
			i++;
			break;
		}
		/* Every step keeps each term at most EXPANSION_MAX * BOUND_MAX: no overflow. */
		if (total(st, depth) > EXPANSION_MAX)
			return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE,
					  "%s: the pattern expands to more than %d elements", what, EXPANSION_MAX);
	}
	if (depth != 0)
		return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "%s: the pattern has unbalanced parentheses",
				  what);
	*estimate = total(st, 0);
	return CF_OK;
}

/* Fails with CF_EINVAL before regcomp runs on anything scan() refuses; on success re must be regfree'd. */
cf_rc cf_schema_pattern_compile(const char *pattern, size_t len, regex_t *re, size_t *budget, const char *what,
				cf_err *err)
{
	char buf[CF_SCHEMA_PATTERN_MAX + 8];
	size_t estimate = 0;
	cf_rc rc;
	int r;

	if (len == 0)
		return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "%s: the pattern is empty", what);
	if (len > CF_SCHEMA_PATTERN_MAX)
		return cf_err_set(err, CF_EINVAL, CF_P_TOO_LONG, "%s: the pattern is longer than %d bytes", what,
				  CF_SCHEMA_PATTERN_MAX);
	if (memchr(pattern, '\0', len) != NULL)
		return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "%s: the pattern contains a NUL byte", what);
	rc = scan(pattern, len, &estimate, what, err);
	if (rc != CF_OK)
		return rc;
	if (estimate > *budget)
		return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE,
				  "%s: the patterns of this collection expand to more than %d elements in all", what,
				  CF_SCHEMA_PATTERN_BUDGET);
	/* len <= CF_SCHEMA_PATTERN_MAX, so the anchored form fits buf. */
	memcpy(buf, "^(", 2);
	memcpy(buf + 2, pattern, len);
	memcpy(buf + 2 + len, ")$", 3);
	/*
	 * Not REG_NOSUB: the match offsets let cf_schema_pattern_match demand a
	 * match of the whole value even if the anchoring were ever escaped.
	 */
	r = regcomp(re, buf, REG_EXTENDED);
	if (r != 0)
		return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE,
				  "%s: the pattern is not a valid POSIX extended regular expression", what);
	*budget -= estimate;
	return CF_OK;
}

bool cf_schema_pattern_match(const regex_t *re, const char *s, size_t len)
{
	regmatch_t m[1];

	if (strlen(s) != len)
		return false;
	if (regexec(re, s, 1, m, 0) != 0)
		return false;
	return m[0].rm_so == 0 && m[0].rm_eo >= 0 && (size_t)m[0].rm_eo == len;
}
