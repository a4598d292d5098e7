/*
 * KTAP output of the corpus replay.  One top-level test per FILE, each with
 * five subtests:
 *
 *   reproduces     replayed as written, it reports if the file records a
 *                  report ("# BUG: migrace:") or reverts a fix, else it
 *                  runs clean
 *   title          the report has the recorded title, line numbers aside
 *                  (SKIP: none recorded)
 *   trace          the trace hash is the recorded "# trace" (SKIP: none)
 *   fixed          with --revert none the run is clean (SKIP: the file
 *                  reverts no fix)
 *   deterministic  a second replay gives the same trace hash
 *
 * Every FILE is loaded before anything is printed: a bad one is exit 2
 * with one line, as everywhere else.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <migrace/prog.h>
#include <migrace/run.h>

#include "ktap.h"

struct recorded {
	char title[200];
	bool has_title;
	unsigned long long trace;
	bool has_trace;
};

/* The header comments repro_print() writes (the parser skips comments). */
static void read_recorded(const char *text, struct recorded *rec)
{
	const char *p = text;

	memset(rec, 0, sizeof(*rec));
	while (p && *p) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);

		if (n > 16 && !strncmp(p, "# BUG: migrace: ", 16) &&
		    !rec->has_title) {
			size_t t = n - 16 < sizeof(rec->title) - 1 ?
					   n - 16 : sizeof(rec->title) - 1;

			memcpy(rec->title, p + 16, t);
			rec->title[t] = 0;
			rec->has_title = true;
		} else if (n > 8 && !strncmp(p, "# trace ", 8) &&
			   !rec->has_trace) {
			char *end;

			rec->trace = strtoull(p + 8, &end, 16);
			rec->has_trace = end != p + 8;
		}
		p = nl ? nl + 1 : NULL;
	}
}

/* "regressions/flush-tlb-under-ptl": the directory and the stem. */
static void test_name(const char *path, char *out, size_t len)
{
	const char *base = strrchr(path, '/'), *dir = path;
	size_t dlen = 0, blen;

	if (base) {
		const char *d = base;

		while (d > path && d[-1] != '/')
			d--;
		dir = d;
		dlen = (size_t)(base - d);
		base++;
	} else {
		base = path;
	}
	blen = strlen(base);
	if (blen > 6 && !strcmp(base + blen - 6, ".repro"))
		blen -= 6;
	if (dlen)
		snprintf(out, len, "%.*s/%.*s", (int)dlen, dir, (int)blen, base);
	else
		snprintf(out, len, "%.*s", (int)blen, base);
	/* KTAP names stop at '#' (a directive follows) */
	for (char *c = out; *c; c++)
		if (*c == '#' || *c == '\n')
			*c = '_';
}

/*
 * Titles name "file.c:LINE" of a BUG_ON: the line moves with every edit
 * of the file, the place does not.
 */
static bool same_title(const char *a, const char *b)
{
	while (*a && *b) {
		if (a[0] == ':' && b[0] == ':' && a[1] >= '0' && a[1] <= '9' &&
		    b[1] >= '0' && b[1] <= '9') {
			for (a++; *a >= '0' && *a <= '9'; a++)
				;
			for (b++; *b >= '0' && *b <= '9'; b++)
				;
			continue;
		}
		if (*a++ != *b++)
			return false;
	}
	return *a == *b;
}

static int replay(const struct repro *r, const struct settings *set,
		  struct run_result *res)
{
	struct strategy st = { .kind = STRAT_REPLAY, .replay = &r->sched };

	return run_program(&r->prog, set, &st, NULL, res);
}

struct sub {
	int n;
	bool all_ok;
};

static void result(struct sub *s, bool ok, const char *name,
		   const char *skip)
{
	s->n++;
	if (skip) {
		printf("  ok %d %s # SKIP %s\n", s->n, name, skip);
		return;
	}
	printf("  %sok %d %s\n", ok ? "" : "not ", s->n, name);
	s->all_ok &= ok;
}

int repro_ktap(const struct cli_opts *o)
{
	static struct repro r;
	static struct run_result res;
	char err[512];
	int failed = 0;

	for (int i = 0; i < o->nfiles; i++) {
		if (!strcmp(o->files[i], "-")) {
			fprintf(stderr, "migrace: --ktap reads files, not standard input\n");
			return 2;
		}
		if (repro_load(o->files[i], &r, err, sizeof(err)) ||
		    (o->check && repro_check_points(&r, o->files[i], err,
						    sizeof(err)))) {
			fprintf(stderr, "migrace: %s\n", err);
			return 2;
		}
	}
	printf("KTAP version 1\n");
	printf("# migrace repro --ktap: %d file%s\n", o->nfiles,
	       o->nfiles == 1 ? "" : "s");
	printf("1..%d\n", o->nfiles);
	for (int i = 0; i < o->nfiles; i++) {
		struct settings fixed;
		struct recorded rec;
		struct sub s = { 0, true };
		char name[256], *text = NULL;
		size_t len;
		unsigned long long first;
		bool bug;

		test_name(o->files[i], name, sizeof(name));
		if (repro_read_file(o->files[i], REPRO_MAX_BYTES, &text, &len,
				    err, sizeof(err)) ||
		    repro_load(o->files[i], &r, err, sizeof(err))) {
			/* It loaded a moment ago: changed under us. */
			printf("not ok %d %s\n# %s\n", i + 1, name, err);
			free(text);
			failed++;
			continue;
		}
		read_recorded(text, &rec);
		free(text);
		printf("  KTAP version 1\n");
		printf("  # Subtest: %s\n", name);
		printf("  1..5\n");
		bug = replay(&r, &r.settings, &res) != 0;
		first = res.trace_hash;
		printf("  # as written: %s, %llu events, trace %#018llx\n",
		       bug ? res.title : "clean",
		       (unsigned long long)res.steps, first);
		result(&s, bug == (rec.has_title || r.settings.reverted),
		       "reproduces", NULL);
		if (rec.has_title && bug && !same_title(res.title, rec.title))
			printf("  # recorded title: %s\n", rec.title);
		result(&s, bug && same_title(res.title, rec.title), "title",
		       rec.has_title ? NULL : "no title recorded");
		if (rec.has_trace && first != rec.trace)
			printf("  # recorded trace %#018llx\n", rec.trace);
		result(&s, first == rec.trace, "trace",
		       rec.has_trace ? NULL : "no trace recorded");
		fixed = r.settings;
		fixed.reverted = 0;
		if (r.settings.reverted) {
			bool fbug = replay(&r, &fixed, &res) != 0;

			if (fbug)
				printf("  # with --revert none: %s\n", res.title);
			result(&s, !fbug, "fixed", NULL);
		} else {
			result(&s, true, "fixed", "the file reverts no fix");
		}
		replay(&r, &r.settings, &res);
		if (res.trace_hash != first)
			printf("  # second replay: trace %#018llx\n",
			       (unsigned long long)res.trace_hash);
		result(&s, res.trace_hash == first, "deterministic", NULL);
		printf("%sok %d %s\n", s.all_ok ? "" : "not ", i + 1, name);
		failed += !s.all_ok;
	}
	printf("# totals: %d passed, %d failed\n", o->nfiles - failed, failed);
	return failed ? 1 : 0;
}
