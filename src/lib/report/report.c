/*
 * report.c - Markdown renderings of the subject export and of the register
 * of processing activities (see report.h).
 *
 * Everything is written into one growable buffer. Export values are
 * personal data, so the buffer never leaves a copy of them behind: it grows
 * by a fresh allocation, and the old block is wiped before it is freed;
 * values are escaped or serialized straight into it (numbers through
 * jansson's dump callback), never through a temporary string.
 *
 * This module must never invent a value (an absent one shows as an em
 * dash), never let an input string add Markdown structure, never depend on
 * the insertion order of an object, and never do I/O or read the clock.
 */
#include "common/cf.h"
#include "report/report.h"

#include <sodium.h>
#include <strings.h>
#include <time.h>

#define DASH "\xe2\x80\x94"  /* U+2014 EM DASH: no value */
#define SEP " \xc2\xb7 "     /* U+00B7 MIDDLE DOT between the parts of a line */
#define INITIAL_CAP ((size_t)4096)
/* The buffer may hold one byte more than a document: the final blank line that finish() removes. */
#define BUF_MAX (CF_REPORT_MAX_BYTES + 1)
/* Flags of jansson's own serialization, for numbers and nested values. */
#define DUMP_FLAGS (JSON_ENCODE_ANY | JSON_COMPACT | JSON_SORT_KEYS)

typedef struct md {
	char *p;     /* NUL-terminated once anything was written */
	size_t len;  /* bytes written, without the NUL */
	size_t cap;  /* bytes allocated at p */
	bool failed; /* sticky: out of memory, over the size cap, or jansson failed */
} md;

/* One member of an object, for rendering members in byte order of their keys. */
typedef struct member {
	const char *key;
	size_t klen;
	const json_t *val;
} member;

/* ---- the buffer -------------------------------------------------------- */

/*
 * Makes room for `extra` more bytes and a NUL. Never realloc: the old block
 * may hold personal data, so it is copied into a new one and wiped before
 * it is freed. Fails (stickily) out of memory or past BUF_MAX.
 */
static bool reserve(md *b, size_t extra)
{
	size_t need, cap;
	char *n;

	if (b->failed)
		return false;
	if (!cf_size_add(b->len, extra, &need) || !cf_size_add(need, 1, &need) || need > BUF_MAX)
		goto fail;
	if (need <= b->cap)
		return true;
	cap = b->cap > 0 ? b->cap : INITIAL_CAP;
	while (cap < need) {
		if (!cf_size_mul(cap, 2, &cap))
			goto fail;
	}
	if (cap > BUF_MAX)
		cap = BUF_MAX;
	n = malloc(cap);
	if (n == NULL)
		goto fail;
	if (b->p != NULL) {
		memcpy(n, b->p, b->len + 1);
		sodium_memzero(b->p, b->cap);
		free(b->p);
	} else {
		n[0] = '\0';
	}
	b->p = n;
	b->cap = cap;
	return true;
fail:
	b->failed = true;
	return false;
}

static void put_n(md *b, const char *s, size_t n)
{
	if (!reserve(b, n))
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void put(md *b, const char *s)
{
	put_n(b, s, strlen(s));
}

static void put_repeat(md *b, char c, size_t n)
{
	if (!reserve(b, n))
		return;
	memset(b->p + b->len, c, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void putf(md *b, const char *fmt, ...) CF_PRINTF(2, 3);

/* Formats straight into the buffer (measured first), so nothing is copied elsewhere. */
static void putf(md *b, const char *fmt, ...)
{
	va_list ap, again;
	int n;

	va_start(ap, fmt);
	va_copy(again, ap);
	n = vsnprintf(NULL, 0, fmt, ap);
	if (n < 0) {
		b->failed = true;
	} else if (reserve(b, (size_t)n)) {
		(void)vsnprintf(b->p + b->len, b->cap - b->len, fmt, again);
		b->len += (size_t)n;
	}
	va_end(again);
	va_end(ap);
}

/*
 * The finished document, or NULL (the buffer wiped and freed) if anything
 * failed or it is over CF_REPORT_MAX_BYTES. Blocks end with a blank line;
 * the document ends with one newline.
 */
static char *finish(md *b)
{
	if (!b->failed && reserve(b, 0)) {
		while (b->len >= 2 && b->p[b->len - 1] == '\n' && b->p[b->len - 2] == '\n')
			b->len--;
		b->p[b->len] = '\0';
		if (b->len < CF_REPORT_MAX_BYTES)
			return b->p;
	}
	if (b->p != NULL) {
		sodium_memzero(b->p, b->cap);
		free(b->p);
	}
	b->p = NULL;
	return NULL;
}

/* ---- escaping ---------------------------------------------------------- */

/*
 * Characters that would start Markdown syntax anywhere on a line: the
 * brief's list, and ~ (GFM strikethrough).
 */
static bool special(unsigned char c)
{
	return c != '\0' && strchr("\\`*_[]<>#|~", c) != NULL;
}

/*
 * Where a value that begins a line's content (right after a list marker,
 * leading blanks removed) would start a block of its own: a list marker
 * (- + or "12." "12)"), a thematic break or a setext underline (- =).
 * Returns the index of the byte to backslash-escape, or n if there is none.
 */
static size_t block_start(const char *s, size_t n)
{
	size_t d;

	if (n == 0)
		return n;
	if (s[0] == '-' || s[0] == '+' || s[0] == '=')
		return 0;
	for (d = 0; d < n && d < 10 && s[d] >= '0' && s[d] <= '9'; d++)
		;
	if (d > 0 && d < n && (s[d] == '.' || s[d] == ')'))
		return d;
	return n;
}

static bool blank(char c)
{
	return c == ' ' || (unsigned char)c < 0x20 || c == 0x7f; /* control bytes are written as spaces */
}

/*
 * Whether s[i] starts or completes a GFM extended autolink ("scheme://" or
 * "www."). Such a link runs to the next space and swallows the backslashes
 * of the escapes inside it, which would let a later * or _ act as
 * emphasis; escaping its ':' or '.' keeps it plain text.
 */
static bool autolink_at(const char *s, size_t n, size_t i)
{
	if (s[i] == ':')
		return n - i > 2 && s[i + 1] == '/' && s[i + 2] == '/';
	return s[i] == '.' && i >= 3 && strncasecmp(s + i - 3, "www", 3) == 0;
}

/*
 * Writes n bytes of an input string so that they cannot add structure: the
 * characters of special() get a backslash, CR, LF and every other control
 * byte become a space (so a value never starts a line, ends a table row or
 * reaches a terminal as an escape sequence), and autolink_at() applies.
 * `lead`: the value begins a line's content, so its leading blanks are
 * dropped and block_start() applies too.
 */
static void esc(md *b, const char *s, size_t n, bool lead)
{
	size_t mark, from = 0, i;

	/* Markdown drops them anyway, but four or more would open a code block */
	while (lead && n > 0 && blank(s[0])) {
		s++;
		n--;
	}
	mark = lead ? block_start(s, n) : n;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		bool ctl = c < 0x20 || c == 0x7f;

		if (!ctl && !special(c) && i != mark && !autolink_at(s, n, i))
			continue;
		put_n(b, s + from, i - from);
		if (ctl) {
			put(b, " ");
		} else {
			put(b, "\\");
			put_n(b, s + i, 1);
		}
		from = i + 1;
	}
	put_n(b, s + from, n - from);
}

typedef struct dump_ctx {
	md *b;
	bool lead;
} dump_ctx;

/* jansson's serialization, escaped as it arrives: no temporary copy of the value. */
static int dump_cb(const char *buffer, size_t size, void *data)
{
	dump_ctx *d = data;

	if (size == 0)
		return 0;
	esc(d->b, buffer, size, d->lead);
	d->lead = false;
	return d->b->failed ? -1 : 0;
}

/* ---- values ------------------------------------------------------------ */

static const json_t *get(const json_t *o, const char *key)
{
	return json_is_object(o) ? json_object_get(o, key) : NULL;
}

static bool present(const json_t *v)
{
	return v != NULL && !json_is_null(v);
}

static bool nonempty_array(const json_t *v)
{
	return json_is_array(v) && json_array_size(v) > 0;
}

/*
 * Any JSON value as text: strings escaped, booleans yes/no, absent or null
 * as an em dash, numbers (and nested values) as jansson writes them.
 */
static void put_val(md *b, const json_t *v, bool lead)
{
	dump_ctx d = {b, lead};

	if (!present(v))
		put(b, DASH);
	else if (json_is_string(v))
		esc(b, json_string_value(v), json_string_length(v), lead);
	else if (json_is_true(v))
		put(b, "yes");
	else if (json_is_false(v))
		put(b, "no");
	else if (json_dump_callback(v, dump_cb, &d, DUMP_FLAGS) != 0)
		b->failed = true;
}

/* The items of an array separated by ", "; an em dash when empty or absent. */
static void put_list(md *b, const json_t *v)
{
	size_t i;

	if (!json_is_array(v)) {
		put_val(b, v, false);
		return;
	}
	if (json_array_size(v) == 0) {
		put(b, DASH);
		return;
	}
	for (i = 0; i < json_array_size(v); i++) {
		if (i > 0)
			put(b, ", ");
		put_val(b, json_array_get(v, i), false);
	}
}

/*
 * Microseconds since the epoch as "YYYY-MM-DDTHH:MM:SSZ" (UTC); 0 or null
 * (never happened) as an em dash; anything that is not a time in years
 * 0000-9999 exactly as given.
 */
static void put_us(md *b, const json_t *v)
{
	struct tm tm;
	json_int_t us, secs;
	time_t t;

	if (!json_is_integer(v) || json_integer_value(v) == 0) {
		put_val(b, json_is_integer(v) ? NULL : v, false);
		return;
	}
	us = json_integer_value(v);
	secs = us / 1000000;
	if (us % 1000000 < 0)
		secs -= 1;
	t = (time_t)secs;
	if (gmtime_r(&t, &tm) == NULL || tm.tm_year < -1900 || tm.tm_year > 9999 - 1900) {
		put_val(b, v, false);
		return;
	}
	putf(b, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
	     tm.tm_sec);
}

static int member_cmp(const void *a, const void *b)
{
	const member *x = a, *y = b;
	int c = memcmp(x->key, y->key, x->klen < y->klen ? x->klen : y->klen);

	if (c != 0)
		return c;
	return x->klen < y->klen ? -1 : x->klen > y->klen;
}

/*
 * The members of an object in byte order of their keys (so that the output
 * never depends on insertion order), in a malloc'd array the caller frees;
 * *out is NULL for an empty object or a non-object. Fails (marking the
 * buffer) only when the array cannot be allocated.
 */
static bool sorted_members(md *b, const json_t *obj, member **out, size_t *n)
{
	json_t *o = (json_t *)(uintptr_t)obj; /* jansson's iterators take a non-const object; nothing is changed */
	size_t count = json_is_object(obj) ? json_object_size(obj) : 0, bytes, i = 0;
	member *m;
	void *it;

	*out = NULL;
	*n = 0;
	if (count == 0)
		return true;
	if (!cf_size_mul(count, sizeof(*m), &bytes) || (m = malloc(bytes)) == NULL) {
		b->failed = true;
		return false;
	}
	for (it = json_object_iter(o); it != NULL && i < count; it = json_object_iter_next(o, it)) {
		m[i].key = json_object_iter_key(it);
		m[i].klen = json_object_iter_key_len(it);
		m[i].val = json_object_iter_value(it);
		i++;
	}
	qsort(m, i, sizeof(*m), member_cmp);
	*out = m;
	*n = i;
	return true;
}

/* One table cell: " value |". */
static void cell(md *b, const json_t *v)
{
	put(b, " ");
	put_val(b, v, false);
	put(b, " |");
}

static void cell_us(md *b, const json_t *v)
{
	put(b, " ");
	put_us(b, v);
	put(b, " |");
}

static void cell_list(md *b, const json_t *v)
{
	put(b, " ");
	put_list(b, v);
	put(b, " |");
}

/* What an agreement shares: its fields, then its categories if it names any. */
static void cell_shared(md *b, const json_t *rec)
{
	const json_t *f = get(rec, "fields"), *c = get(rec, "categories");

	put(b, " ");
	if (nonempty_array(f))
		put_list(b, f);
	if (nonempty_array(c)) {
		put(b, nonempty_array(f) ? "; categories: " : "categories: ");
		put_list(b, c);
	}
	if (!nonempty_array(f) && !nonempty_array(c))
		put(b, DASH);
	put(b, " |");
}

/* "Retention: P10Y from closed_on", when the retention is given. */
static void retention_line(md *b, const json_t *o)
{
	const json_t *r = get(o, "retention"), *start = get(o, "retention_start");

	if (!present(r))
		return;
	put(b, "Retention: ");
	put_val(b, r, false);
	if (present(start)) {
		put(b, " from ");
		put_val(b, start, false);
	}
	put(b, "\n\n");
}

/*
 * A text verbatim in a fenced code block. The fence is one backtick longer
 * than the longest run of backticks in the text (at least three), so no
 * line of the text can close it.
 */
static void fenced(md *b, const char *s, size_t n)
{
	size_t run = 0, longest = 0, i, from = 0;

	for (i = 0; i < n; i++) {
		run = s[i] == '`' ? run + 1 : 0;
		if (run > longest)
			longest = run;
	}
	put_repeat(b, '`', longest >= 3 ? longest + 1 : 3);
	put(b, "\n");
	for (i = 0; i < n; i++) {
		if (s[i] != '\0')
			continue;
		put_n(b, s + from, i - from);
		put(b, " "); /* a NUL would end the document */
		from = i + 1;
	}
	put_n(b, s + from, n - from);
	if (n > 0 && s[n - 1] != '\n')
		put(b, "\n");
	put_repeat(b, '`', longest >= 3 ? longest + 1 : 3);
	put(b, "\n\n");
}

/* ---- the subject export ------------------------------------------------ */

static void export_fields(md *b, const json_t *fields)
{
	member *m = NULL;
	size_t n = 0, i;

	if (!json_is_object(fields))
		return;
	if (json_object_size(fields) == 0) {
		put(b, "No field.\n\n");
		return;
	}
	if (!sorted_members(b, fields, &m, &n))
		return;
	put(b, "| Field | Category | Value |\n| --- | --- | --- |\n");
	for (i = 0; i < n; i++) {
		const json_t *f = m[i].val;
		put(b, "| ");
		esc(b, m[i].key, m[i].klen, false);
		put(b, " |");
		cell(b, get(f, "category"));
		cell(b, json_is_object(f) ? get(f, "value") : f);
		put(b, "\n");
	}
	put(b, "\n");
	free(m);
}

static void export_purposes(md *b, const json_t *purposes)
{
	size_t i;

	if (!json_is_array(purposes))
		return;
	put(b, "Purposes and legal bases:\n\n");
	if (json_array_size(purposes) == 0) {
		put(b, "None.\n\n");
		return;
	}
	for (i = 0; i < json_array_size(purposes); i++) {
		const json_t *p = json_array_get(purposes, i);
		put(b, "- ");
		if (json_is_object(p)) {
			put_val(b, get(p, "purpose"), true);
			put(b, ": ");
			put_val(b, get(p, "legal_basis"), false);
		} else {
			put_val(b, p, true);
		}
		put(b, "\n");
	}
	put(b, "\n");
}

static void export_recipients(md *b, const json_t *recipients)
{
	size_t i;

	if (!json_is_array(recipients))
		return;
	put(b, "Recipients:\n\n");
	if (json_array_size(recipients) == 0) {
		put(b, "No organization receives this record.\n\n");
		return;
	}
	for (i = 0; i < json_array_size(recipients); i++) {
		const json_t *r = json_array_get(recipients, i);
		put(b, "- Organization: ");
		put_val(b, get(r, "organization"), false);
		put(b, SEP "agreement: ");
		put_val(b, get(r, "agreement"), false);
		put(b, SEP "fields: ");
		put_list(b, get(r, "fields"));
		if (nonempty_array(get(r, "categories"))) {
			put(b, SEP "categories: ");
			put_list(b, get(r, "categories"));
		}
		put(b, SEP "purposes: ");
		put_list(b, get(r, "purposes"));
		put(b, SEP "legal basis: ");
		put_val(b, get(r, "legal_basis"), false);
		put(b, SEP "status: ");
		put_val(b, get(r, "status"), false);
		put(b, "\n");
	}
	put(b, "\n");
}

static bool is_version_1(const json_t *h)
{
	const json_t *v = get(h, "version");
	return json_is_integer(v) && json_integer_value(v) == 1;
}

/*
 * One row per changed field of every version, in the history's order; the
 * values of version 1 are the record's creation, so they have no "before".
 */
static void export_history(md *b, const json_t *history)
{
	bool corrected = false;
	size_t i, j;

	put(b, "Corrections:\n\n");
	for (i = 0; json_is_array(history) && i < json_array_size(history); i++)
		corrected = corrected || !is_version_1(json_array_get(history, i));
	if (!corrected) {
		put(b, "No correction.\n\n");
		return;
	}
	put(b, "| Version | When | Field | Before | After |\n| --- | --- | --- | --- | --- |\n");
	for (i = 0; i < json_array_size(history); i++) {
		const json_t *h = json_array_get(history, i);
		member *m = NULL;
		size_t n = 0;

		if (!sorted_members(b, get(h, "changes"), &m, &n))
			return;
		for (j = 0; j < n; j++) {
			put(b, "|");
			cell(b, get(h, "version"));
			cell(b, get(h, "at"));
			put(b, " ");
			esc(b, m[j].key, m[j].klen, false);
			put(b, " |");
			cell(b, is_version_1(h) ? NULL : get(m[j].val, "from"));
			cell(b, get(m[j].val, "to"));
			put(b, "\n");
		}
		free(m);
	}
	put(b, "\n");
}

static void export_record(md *b, const json_t *r)
{
	const json_t *created = get(r, "created_at"), *updated = get(r, "updated_at");

	put(b, "### ");
	put_val(b, get(r, "collection"), false);
	put(b, " " DASH " record ");
	put_val(b, get(r, "id"), false);
	if (present(get(r, "version"))) {
		put(b, " (version ");
		put_val(b, get(r, "version"), false);
		put(b, ")");
	}
	put(b, "\n\n");
	if (present(created) || present(updated)) {
		put(b, "Created at ");
		put_val(b, created, false);
		put(b, SEP "updated at ");
		put_val(b, updated, false);
		put(b, "\n\n");
	}
	export_fields(b, get(r, "fields"));
	export_purposes(b, get(r, "purposes"));
	retention_line(b, r);
	export_recipients(b, get(r, "recipients"));
	export_history(b, get(r, "history"));
}

static void export_records(md *b, const json_t *records)
{
	size_t i;

	if (!json_is_array(records))
		return;
	put(b, "## Records\n\n");
	if (json_array_size(records) == 0) {
		put(b, "None.\n\n");
		return;
	}
	for (i = 0; i < json_array_size(records); i++)
		export_record(b, json_array_get(records, i));
}

static void export_erasures(md *b, const json_t *list)
{
	size_t i;

	if (!json_is_array(list))
		return;
	put(b, "## Erasure requests\n\n");
	if (json_array_size(list) == 0) {
		put(b, "None.\n\n");
		return;
	}
	put(b, "| Request | Status | Requested by | Requested at | Request reason | Decided by | Decided at | Decision "
	       "reason |\n| --- | --- | --- | --- | --- | --- | --- | --- |\n");
	for (i = 0; i < json_array_size(list); i++) {
		const json_t *e = json_array_get(list, i);
		put(b, "|");
		cell(b, get(e, "id"));
		cell(b, get(e, "status"));
		cell(b, get(e, "requested_by"));
		cell_us(b, get(e, "requested_us"));
		cell(b, get(e, "request_reason"));
		cell(b, get(e, "decided_by"));
		cell_us(b, get(e, "decided_us"));
		cell(b, get(e, "decision_reason"));
		put(b, "\n");
	}
	put(b, "\n");
}

static void export_holds(md *b, const json_t *list)
{
	size_t i;

	if (!json_is_array(list))
		return;
	put(b, "## Legal holds\n\n");
	if (json_array_size(list) == 0) {
		put(b, "None.\n\n");
		return;
	}
	put(b, "| Hold | Record | Reason | Placed by | Placed at | Released at |\n| --- | --- | --- | --- | --- | --- |\n");
	for (i = 0; i < json_array_size(list); i++) {
		const json_t *h = json_array_get(list, i);
		put(b, "|");
		cell(b, get(h, "id"));
		cell(b, get(h, "record"));
		cell(b, get(h, "reason"));
		cell(b, get(h, "by"));
		cell_us(b, get(h, "created_us"));
		cell_us(b, get(h, "released_us"));
		put(b, "\n");
	}
	put(b, "\n");
}

static void access_row(md *b, const json_t *e)
{
	const json_t *who = get(e, "who"), *what = get(e, "what"), *why = get(e, "why");
	const json_t *basis = get(why, "legal_basis"), *agreement = get(why, "agreement"), *reason = get(e, "reason");

	put(b, "|");
	cell(b, get(e, "index"));
	cell(b, get(e, "when"));
	cell(b, get(who, "org"));
	cell(b, get(who, "role"));
	cell(b, get(e, "action"));
	cell(b, get(what, "collection"));
	cell(b, get(what, "record"));
	cell_list(b, get(what, "fields"));
	cell(b, get(why, "purpose"));
	put(b, " ");
	if (present(basis))
		put_val(b, basis, false);
	if (present(agreement)) {
		put(b, present(basis) ? SEP "agreement " : "agreement ");
		put_val(b, agreement, false);
	}
	if (!present(basis) && !present(agreement))
		put(b, DASH);
	put(b, " |");
	put(b, " ");
	put_val(b, get(e, "outcome"), false);
	if (present(reason)) {
		put(b, ": ");
		put_val(b, reason, false);
	}
	put(b, " |\n");
}

static void export_access(md *b, const json_t *report)
{
	const json_t *entries = get(report, "entries"), *checkpoint = get(report, "checkpoint");
	const json_t *size = get(report, "tree_size");
	size_t i;

	if (!json_is_object(report))
		return;
	put(b, "## Who accessed this data\n\n");
	if (json_is_array(entries) && json_array_size(entries) == 0)
		put(b, "No access recorded.\n\n");
	if (nonempty_array(entries)) {
		put(b, "| # | When | Organization | Role | Action | Collection | Record | Fields | Purpose | Legal basis / "
		       "agreement | Outcome |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n");
		for (i = 0; i < json_array_size(entries); i++)
			access_row(b, json_array_get(entries, i));
		put(b, "\n");
	}
	if (!json_is_string(checkpoint))
		return;
	put(b, "Each line has a receipt in the JSON export (the entry bytes and an inclusion proof), verifiable "
	       "against the signed checkpoint");
	if (present(size)) {
		put(b, " of tree size ");
		put_val(b, size, false);
	}
	put(b, ":\n\n");
	fenced(b, json_string_value(checkpoint), json_string_length(checkpoint));
}

char *cf_report_export_markdown(const json_t *export)
{
	const json_t *org = get(export, "org"), *subject = get(export, "subject"), *at = get(export, "exported_at");
	md b = {0};

	if (!json_is_string(org) || !json_is_string(subject))
		return NULL;
	put(&b, "# Personal data held about subject ");
	put_val(&b, subject, false);
	put(&b, "\n\nOrganization: ");
	put_val(&b, org, false);
	if (present(at)) {
		put(&b, SEP "exported at ");
		put_val(&b, at, false);
	}
	put(&b, "\n\n");
	export_records(&b, get(export, "records"));
	export_erasures(&b, get(export, "erasure_requests"));
	export_holds(&b, get(export, "legal_holds"));
	export_access(&b, get(export, "access_report"));
	return finish(&b);
}

/* ---- the register of processing ---------------------------------------- */

static void register_instance(md *b, const json_t *instance)
{
	const json_t *storage = get(instance, "storage"), *measures = get(instance, "security_measures");
	member *m = NULL;
	size_t n = 0, i;

	if (!json_is_object(instance))
		return;
	put(b, "## Storage and security measures\n\n");
	if (json_is_object(storage)) {
		put(b, "Storage:\n\n");
		if (json_object_size(storage) == 0)
			put(b, "None.\n");
		if (!sorted_members(b, storage, &m, &n))
			return;
		for (i = 0; i < n; i++) {
			put(b, "- ");
			esc(b, m[i].key, m[i].klen, true);
			put(b, ": ");
			put_val(b, m[i].val, false);
			put(b, "\n");
		}
		put(b, "\n");
		free(m);
	}
	if (json_is_array(measures)) {
		put(b, "Security measures:\n\n");
		if (json_array_size(measures) == 0)
			put(b, "None.\n");
		for (i = 0; i < json_array_size(measures); i++) {
			put(b, "- ");
			put_val(b, json_array_get(measures, i), true);
			put(b, "\n");
		}
		put(b, "\n");
	}
}

/* Whether the array holds a value equal to v. */
static bool array_has(const json_t *a, const json_t *v)
{
	size_t i;

	for (i = 0; json_is_array(a) && i < json_array_size(a); i++) {
		if (json_equal(json_array_get(a, i), v))
			return true;
	}
	return false;
}

/* "Categories: a, b, health (special category)": the categories, then special ones not listed among them. */
static void register_categories(md *b, const json_t *c)
{
	const json_t *cats = get(c, "categories"), *special_cats = get(c, "special_categories");
	bool any = false;
	size_t i;

	if (!json_is_array(cats) && !json_is_array(special_cats))
		return;
	put(b, "Categories: ");
	for (i = 0; json_is_array(cats) && i < json_array_size(cats); i++) {
		const json_t *x = json_array_get(cats, i);
		put(b, any ? ", " : "");
		put_val(b, x, false);
		if (array_has(special_cats, x))
			put(b, " (special category)");
		any = true;
	}
	for (i = 0; json_is_array(special_cats) && i < json_array_size(special_cats); i++) {
		const json_t *x = json_array_get(special_cats, i);
		if (array_has(cats, x))
			continue;
		put(b, any ? ", " : "");
		put_val(b, x, false);
		put(b, " (special category)");
		any = true;
	}
	if (!any)
		put(b, DASH);
	put(b, "\n\n");
}

static void register_fields(md *b, const json_t *fields)
{
	size_t i;

	if (!json_is_array(fields))
		return;
	if (json_array_size(fields) == 0) {
		put(b, "No field declared.\n\n");
		return;
	}
	put(b, "| Field | Type | Category | Required |\n| --- | --- | --- | --- |\n");
	for (i = 0; i < json_array_size(fields); i++) {
		const json_t *f = json_array_get(fields, i);
		put(b, "|");
		cell(b, get(f, "name"));
		cell(b, get(f, "type"));
		put(b, " ");
		put_val(b, get(f, "category"), false);
		if (json_is_true(get(f, "special")))
			put(b, " (special category)");
		put(b, " |");
		cell(b, get(f, "required"));
		put(b, "\n");
	}
	put(b, "\n");
}

static void register_purposes(md *b, const json_t *purposes)
{
	size_t i;

	if (!json_is_array(purposes))
		return;
	if (json_array_size(purposes) == 0) {
		put(b, "No purpose declared.\n\n");
		return;
	}
	put(b, "| Purpose | Legal basis | Description |\n| --- | --- | --- |\n");
	for (i = 0; i < json_array_size(purposes); i++) {
		const json_t *p = json_array_get(purposes, i);
		put(b, "|");
		cell(b, get(p, "purpose"));
		cell(b, get(p, "legal_basis"));
		cell(b, get(p, "description"));
		put(b, "\n");
	}
	put(b, "\n");
}

/* "from A until B", "from A", "until B" or an em dash. */
static void cell_validity(md *b, const json_t *r)
{
	const json_t *from = get(r, "valid_from"), *until = get(r, "valid_until");

	put(b, " ");
	if (present(from)) {
		put(b, "from ");
		put_val(b, from, false);
	}
	if (present(until)) {
		put(b, present(from) ? " until " : "until ");
		put_val(b, until, false);
	}
	if (!present(from) && !present(until))
		put(b, DASH);
	put(b, " |");
}

static void register_recipients(md *b, const json_t *recipients)
{
	size_t i;

	if (!json_is_array(recipients))
		return;
	put(b, "Recipients:\n\n");
	if (json_array_size(recipients) == 0) {
		put(b, "No recipient.\n\n");
		return;
	}
	put(b, "| Organization | Agreement | Reference | Fields | Purposes | Legal basis | Status | Valid |\n"
	       "| --- | --- | --- | --- | --- | --- | --- | --- |\n");
	for (i = 0; i < json_array_size(recipients); i++) {
		const json_t *r = json_array_get(recipients, i);
		put(b, "|");
		cell(b, get(r, "organization"));
		cell(b, get(r, "agreement"));
		cell(b, get(r, "reference"));
		cell_shared(b, r);
		cell_list(b, get(r, "purposes"));
		cell(b, get(r, "legal_basis"));
		cell(b, get(r, "status"));
		cell_validity(b, r);
		put(b, "\n");
	}
	put(b, "\n");
}

static void register_collection(md *b, const json_t *c)
{
	const json_t *v;

	put(b, "### ");
	put_val(b, get(c, "name"), false);
	put(b, "\n\n");
	if (present(v = get(c, "description"))) {
		put(b, "Description: ");
		put_val(b, v, false);
		put(b, "\n\n");
	}
	if (present(v = get(c, "version"))) {
		put(b, "Schema version: ");
		put_val(b, v, false);
		put(b, "\n\n");
	}
	if (present(v = get(c, "records"))) {
		put(b, "Records held: ");
		put_val(b, v, false);
		put(b, "\n\n");
	}
	register_categories(b, c);
	register_fields(b, get(c, "fields"));
	register_purposes(b, get(c, "purposes"));
	retention_line(b, c);
	register_recipients(b, get(c, "recipients"));
}

static void register_received(md *b, const json_t *received)
{
	size_t i;

	if (!json_is_array(received))
		return;
	put(b, "### Data received from other organizations\n\n");
	if (json_array_size(received) == 0) {
		put(b, "None.\n\n");
		return;
	}
	put(b, "| Provider | Collection | Agreement | Fields | Purposes | Legal basis | Status |\n"
	       "| --- | --- | --- | --- | --- | --- | --- |\n");
	for (i = 0; i < json_array_size(received); i++) {
		const json_t *r = json_array_get(received, i);
		put(b, "|");
		cell(b, get(r, "provider"));
		cell(b, get(r, "collection"));
		cell(b, get(r, "agreement"));
		cell_shared(b, r);
		cell_list(b, get(r, "purposes"));
		cell(b, get(r, "legal_basis"));
		cell(b, get(r, "status"));
		put(b, "\n");
	}
	put(b, "\n");
}

static void register_org(md *b, const json_t *o)
{
	const json_t *name = get(o, "name"), *contact = get(o, "contact"), *colls = get(o, "collections");
	size_t i;

	put(b, "## ");
	if (present(name)) {
		put_val(b, name, false);
		put(b, " (");
		put_val(b, get(o, "id"), false);
		put(b, ")");
	} else {
		put_val(b, get(o, "id"), false);
	}
	put(b, "\n\n");
	if (present(contact)) {
		put(b, "Contact: ");
		put_val(b, contact, false);
		put(b, "\n\n");
	}
	if (!nonempty_array(colls))
		put(b, "No collection declared.\n\n");
	for (i = 0; json_is_array(colls) && i < json_array_size(colls); i++)
		register_collection(b, json_array_get(colls, i));
	register_received(b, get(o, "received"));
}

char *cf_report_processing_markdown(const json_t *reg)
{
	const json_t *orgs = get(reg, "organizations"), *instance = get(reg, "instance");
	const json_t *at = get(reg, "generated_at"), *env = get(instance, "environment");
	md b = {0};
	size_t i;

	if (!json_is_array(orgs))
		return NULL;
	put(&b, "# Register of processing activities\n\n");
	if (present(at) || present(env)) {
		put(&b, "Generated at ");
		put_val(&b, at, false);
		put(&b, SEP "environment ");
		put_val(&b, env, false);
		put(&b, "\n\n");
	}
	register_instance(&b, instance);
	if (json_array_size(orgs) == 0)
		put(&b, "No organization.\n\n");
	for (i = 0; i < json_array_size(orgs); i++)
		register_org(&b, json_array_get(orgs, i));
	return finish(&b);
}
