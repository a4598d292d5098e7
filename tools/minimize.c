/*
 * migrace minimize FILE -o OUT [--budget S] [--seed S] [-v]
 *
 * Delta debugging of a repro that reports a bug: fewer CPUs, fewer ops,
 * fewer set-up options and simpler op arguments, then the fewest
 * preemptions, while the replay keeps reporting the same bug (the same
 * title once addresses, pfns and counts are masked: the report kind and
 * where it was made).  When the input runs clean with every fix in place
 * (a regression), every step keeps that too, so the result is still a
 * regression of the same fix.
 *
 * A smaller program rarely fails under the old schedule as written (the
 * event counts of its segments shift), so each candidate program that
 * does not fail under the adapted schedule gets a short schedule search
 * of its own: PCT runs of depth 1 to 3 from seeds derived from --seed.
 * The program search is what costs (docs/benchmarks.md); the schedule
 * search for one program is cheap.  Every decision is drawn from --seed,
 * so two runs with the same input and budget give the same output unless
 * the budget cuts one short.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <migrace/fixes.h>
#include <migrace/prog.h>
#include <migrace/run.h>

#include "cli_opts.h"
#include "minimize.h"
/* sched_trace(): the events of the last run, to name schedule points */
#include "../engine/sched/sched_core.h"

/*
 * Schedules tried for one candidate program before it is given up: a
 * short search first, longer ones while the budget lasts (a race that
 * needs a narrow window: the program of device-private-fault-ref with one
 * page instead of four takes about 5,000 PCT schedules).
 */
static const int search_sizes[] = { 96, 1024, 8192 };
#define SEARCH_SCHEDULES 96

struct mctx {
	struct settings set;
	bool need_clean;	/* the input is clean with every fix in place */
	char key[200];		/* the masked title to keep */
	double deadline;
	u64 seed;
	bool verbose;
	long runs;
	int search;		/* schedules per candidate program */
	u64 max_pre;		/* the input's preemptions: never more */
};

static struct run_result res;

static double now_s(void)
{
	struct timespec ts;

	/* Only for --budget: never feeds an execution. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static bool out_of_time(const struct mctx *m)
{
	return now_s() >= m->deadline;
}

/*
 * The report kind and location: the title with its numbers masked, except
 * source line numbers ("memory.c:212") and the digits of names ("p1",
 * "MADV_DONTNEED").  A CPU number is masked: dropping a CPU renumbers.
 */
void minimize_title_key(const char *title, char *out, size_t len)
{
	size_t j = 0;

	for (size_t i = 0; title[i] && j + 4 < len;) {
		char c = title[i];
		bool digit = c >= '0' && c <= '9';
		char prev = i ? title[i - 1] : ' ';
		bool after_name = (prev >= 'a' && prev <= 'z') ||
				  (prev >= 'A' && prev <= 'Z') || prev == '_';
		bool after_cpu = i >= 3 && !strncmp(title + i - 3, "CPU", 3);

		if (c == '0' && (title[i + 1] == 'x' || title[i + 1] == 'X')) {
			i += 2;
			while ((title[i] >= '0' && title[i] <= '9') ||
			       (title[i] >= 'a' && title[i] <= 'f') ||
			       (title[i] >= 'A' && title[i] <= 'F'))
				i++;
			out[j++] = '#';
			continue;
		}
		if (digit && prev != ':' && (!after_name || after_cpu) &&
		    !(prev >= '0' && prev <= '9')) {
			while (title[i] >= '0' && title[i] <= '9')
				i++;
			out[j++] = '#';
			continue;
		}
		out[j++] = c;
		i++;
	}
	out[j] = 0;
}

static int nr_ops(const struct program *p)
{
	int n = 0;

	for (int c = 0; c < p->ncpus; c++)
		n += p->nops[c];
	return n;
}

/* A candidate must still be a file the parser takes, unchanged. */
static bool well_formed(const struct repro *r)
{
	static struct repro back;
	char *buf = NULL, err[256];
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	bool ok;

	if (!f)
		return false;
	repro_print(f, r);
	if (fclose(f)) {
		free(buf);
		return false;
	}
	ok = !repro_parse_buf(buf, len, "candidate", &back, err, sizeof(err)) &&
	     repro_equal(r, &back);
	free(buf);
	return ok;
}

static bool same_bug(const struct mctx *m)
{
	char key[200];

	if (!res.bug)
		return false;
	minimize_title_key(res.title, key, sizeof(key));
	return !strcmp(key, m->key);
}

/*
 * Does @p under @s report the bug (and, for a regression, run clean with
 * every fix in place)?  On success *@pre holds the preemptions it made.
 */
static bool replays(struct mctx *m, const struct program *p,
		    const struct schedule *s, u64 *pre)
{
	struct strategy st = { .kind = STRAT_REPLAY, .replay = s };
	struct settings fixed = m->set;
	u64 n;

	m->runs++;
	run_program(p, &m->set, &st, NULL, &res);
	if (!same_bug(m))
		return false;
	n = res.preemptions;
	if (m->need_clean) {
		fixed.reverted = 0;
		m->runs++;
		if (run_program(p, &fixed, &st, NULL, &res))
			return false;
	}
	if (pre)
		*pre = n;
	return true;
}

static u64 mix(u64 a, u64 b)
{
	struct rng r = { a ^ (b * 0x9e3779b97f4a7c15ULL) };

	return rng_next(&r);
}

/* A schedule of @p that reports the bug, by PCT; its executed form. */
static bool search(struct mctx *m, const struct program *p, u64 tag,
		   struct schedule *out)
{
	static struct schedule empty, found;
	struct strategy base = { .kind = STRAT_REPLAY, .replay = &empty };
	u64 est, est_sync, pre;

	/* The run length PCT spreads its change points over. */
	m->runs++;
	run_program(p, &m->set, &base, NULL, &res);
	est = res.steps;
	est_sync = res.sync_steps;
	for (int k = 0; k < m->search && !out_of_time(m); k++) {
		struct strategy st = {
			.kind = STRAT_PCT,
			.seed = mix(mix(m->seed, tag), (u64)k),
			.depth = 1 + k % 3,
			.est_steps = est,
			.est_sync = est_sync,
		};

		m->runs++;
		run_program(p, &m->set, &st, NULL, &res);
		if (!same_bug(m) || res.preemptions > m->max_pre)
			continue;
		found = res.executed;
		if (replays(m, p, &found, &pre) && pre <= m->max_pre) {
			*out = found;
			return true;
		}
	}
	return false;
}

/* Merge neighbouring segments of one CPU that count plain events. */
static void sched_normalize(struct schedule *s)
{
	int j = 0;

	for (int i = 0; i < s->nseg; i++) {
		if (j && s->seg[j - 1].cpu == s->seg[i].cpu &&
		    s->seg[j - 1].kind == SEG_STEPS &&
		    s->seg[i].kind == SEG_STEPS) {
			s->seg[j - 1].count += s->seg[i].count;
			continue;
		}
		s->seg[j++] = s->seg[i];
	}
	s->nseg = j;
}

struct state {
	struct program prog;
	struct schedule sched;
	u64 pre;
};

/*
 * Try @cand (a smaller program; @cs its schedule adapted from the current
 * one).  The adapted schedule first, then a search.  Adopt it on success.
 */
static bool try_program(struct mctx *m, struct state *cur,
			const struct program *cand, struct schedule *cs,
			u64 tag)
{
	static struct repro r;
	static struct schedule found;
	u64 pre;

	if (out_of_time(m))
		return false;
	memset(&r, 0, sizeof(r));
	r.settings = m->set;
	r.prog = *cand;
	sched_normalize(cs);
	r.sched = *cs;
	if (!well_formed(&r))
		return false;
	if (replays(m, cand, cs, &pre) && pre <= m->max_pre) {
		cur->prog = *cand;
		cur->sched = *cs;
		cur->pre = pre;
		return true;
	}
	if (!search(m, cand, tag, &found))
		return false;
	replays(m, cand, &found, &pre);
	cur->prog = *cand;
	cur->sched = found;
	cur->pre = pre;
	return true;
}

static bool drop_cpus(struct mctx *m, struct state *cur)
{
	static struct program cand;
	static struct schedule cs;
	bool changed = false;

	for (int c = cur->prog.ncpus - 1; c >= 0 && cur->prog.ncpus > 1; c--) {
		bool bad_slot = false;
		int j = 0;

		cand = cur->prog;
		for (int d = c; d + 1 < cand.ncpus; d++) {
			cand.nops[d] = cand.nops[d + 1];
			memcpy(cand.ops[d], cand.ops[d + 1], sizeof(cand.ops[d]));
		}
		cand.ncpus--;
		cand.nops[cand.ncpus] = 0;
		/* "slot S" names a CPU: renumber it, or give up */
		for (int d = 0; d < cand.ncpus; d++)
			for (int i = 0; i < cand.nops[d]; i++) {
				struct op *op = &cand.ops[d][i];

				if (!(op_sigs[op->kind].args & OPA_SLOT))
					continue;
				if (op->slot == c)
					bad_slot = true;
				else if (op->slot > c && op->slot < NR_CPUS)
					op->slot--;
			}
		if (bad_slot)
			continue;
		for (int i = 0; i < cur->sched.nseg; i++) {
			struct segment sg = cur->sched.seg[i];

			if (sg.cpu == c)
				continue;
			if (sg.cpu > c)
				sg.cpu--;
			cs.seg[j++] = sg;
		}
		cs.nseg = j;
		if (try_program(m, cur, &cand, &cs, 0x100 + (u64)c)) {
			changed = true;
			if (m->verbose)
				fprintf(stderr, "minimize: dropped CPU %d\n", c);
		}
	}
	return changed;
}

static bool drop_ops(struct mctx *m, struct state *cur)
{
	static struct program cand;
	static struct schedule cs;
	bool changed = false;

	for (int c = cur->prog.ncpus - 1; c >= 0; c--)
		for (int i = cur->prog.nops[c] - 1; i >= 0; i--) {
			char txt[96];

			if (i >= cur->prog.nops[c])
				continue;
			cand = cur->prog;
			op_format(&cand.ops[c][i], txt, sizeof(txt));
			prog_del_op(&cand, c, i);
			cs = cur->sched;
			if (try_program(m, cur, &cand, &cs,
					0x200 + (u64)c * MAX_OPS + (u64)i)) {
				changed = true;
				if (m->verbose)
					fprintf(stderr, "minimize: dropped CPU %d op %d %s\n",
						c, i, txt);
			}
		}
	return changed;
}

static bool drop_setup(struct mctx *m, struct state *cur)
{
	static struct program cand;
	static struct schedule cs;
	bool changed = false;

	for (int o = 0; o < 4; o++) {
		bool *f;

		cand = cur->prog;
		f = o == 0 ? &cand.swapped : o == 1 ? &cand.warm :
		    o == 2 ? &cand.forked : &cand.populate;
		if (!*f)
			continue;
		*f = false;
		cs = cur->sched;
		if (try_program(m, cur, &cand, &cs, 0x300 + (u64)o)) {
			changed = true;
			if (m->verbose)
				fprintf(stderr, "minimize: dropped a set-up option (%d)\n", o);
		}
	}
	return changed;
}

/*
 * Fewer reverted fixes: a find made with several reverted names the ones
 * it needs.  (A regression reverts one fix, which it needs.)
 */
static bool drop_reverts(struct mctx *m, struct state *cur)
{
	static struct schedule cs;
	bool changed = false;

	for (int f = 0; f < NR_FIXES; f++) {
		unsigned long old = m->set.reverted;

		if (!(old & (1UL << f)) || !(old & ~(1UL << f)))
			continue;
		m->set.reverted = old & ~(1UL << f);
		cs = cur->sched;
		if (try_program(m, cur, &cur->prog, &cs, 0x500 + (u64)f)) {
			changed = true;
			if (m->verbose)
				fprintf(stderr, "minimize: %s need not be reverted\n",
					fix_table[f].name);
		} else {
			m->set.reverted = old;
		}
	}
	return changed;
}

/* Simpler arguments: one page, no driver choices, fewer flags. */
static bool simplify_args(struct mctx *m, struct state *cur)
{
	static struct program cand;
	static struct schedule cs;
	bool changed = false;
	u64 tag = 0x1000;

	for (int c = 0; c < cur->prog.ncpus; c++)
		for (int i = 0; i < cur->prog.nops[c]; i++) {
			for (int v = 0; v < 37; v++) {
				struct op *op;
				const struct op *o = &cur->prog.ops[c][i];

				cand = cur->prog;
				op = &cand.ops[c][i];
				tag++;
				switch (v) {
				case 0:
					op->npages = 1;
					break;
				case 1:
					op->npages = o->npages > 1 ? o->npages - 1 : 1;
					break;
				case 2:
					op->decline = 0;
					break;
				case 3:
					op->failcopy = 0;
					break;
				case 4:
					op->spare = 0;
					break;
				case 5:
					op->mem = 0;
					break;
				case 6:
					op->slot = NR_CPUS;
					break;
				case 7:
					op->proc = 0;
					break;
				case 36:
					/* the first page out */
					if (o->npages > 1) {
						op->page = o->page + 1;
						op->npages = o->npages - 1;
						op->decline = o->decline >> 1;
						op->failcopy = o->failcopy >> 1;
					}
					break;
				default:
					/* one bit less of a mask or a flag set */
					if (v < 16)
						op->decline &= (u8)~(1u << (v - 8));
					else if (v < 24)
						op->failcopy &= (u8)~(1u << (v - 16));
					else if (v < 32)
						op->spare &= (u8)~(1u << (v - 24));
					else if (v < 35)
						op->flags &= (u8)~(1u << (v - 32));
					break;
				}
				if (!memcmp(op, o, sizeof(*op)))
					continue;
				cs = cur->sched;
				if (try_program(m, cur, &cand, &cs, tag)) {
					changed = true;
					if (m->verbose) {
						char txt[96];

						op_format(op, txt, sizeof(txt));
						fprintf(stderr, "minimize: CPU %d op %d is now %s\n",
							c, i, txt);
					}
				}
			}
		}
	return changed;
}

/* The schedule: a shorter prefix, fewer segments, fewer preemptions. */
static void shrink_schedule(struct mctx *m, struct state *cur)
{
	static struct schedule cs, found;
	static struct schedule empty;
	struct strategy base = { .kind = STRAT_REPLAY, .replay = &empty };
	u64 pre, est;
	bool changed = true;

	m->runs++;
	run_program(&cur->prog, &m->set, &base, NULL, &res);
	est = res.steps;
	/* A schedule with fewer preemptions, from scratch. */
	for (int k = 0; k < 4 * SEARCH_SCHEDULES && cur->pre > 1 &&
	     !out_of_time(m); k++) {
		struct strategy st = {
			.kind = STRAT_PCT,
			.seed = mix(mix(m->seed, 0x400), (u64)k),
			.depth = 1 + k % 2,
			.est_steps = est,
		};

		m->runs++;
		run_program(&cur->prog, &m->set, &st, NULL, &res);
		if (!same_bug(m) || res.preemptions >= cur->pre)
			continue;
		found = res.executed;
		if (replays(m, &cur->prog, &found, &pre) && pre < cur->pre) {
			cur->sched = found;
			cur->pre = pre;
		}
	}
	while (changed && !out_of_time(m)) {
		changed = false;
		/* the shortest prefix: the rest runs in CPU order */
		for (int l = 0; l < cur->sched.nseg; l++) {
			cs = cur->sched;
			cs.nseg = l;
			if (replays(m, &cur->prog, &cs, &pre) &&
			    pre <= cur->pre) {
				cur->sched = cs;
				cur->pre = pre;
				changed = true;
				break;
			}
		}
		/* each segment out: its CPU's turn goes to the next one */
		for (int i = cur->sched.nseg - 1; i >= 0 && !out_of_time(m); i--) {
			if (i >= cur->sched.nseg)
				continue;
			cs = cur->sched;
			memmove(&cs.seg[i], &cs.seg[i + 1],
				(size_t)(cs.nseg - i - 1) * sizeof(cs.seg[0]));
			cs.nseg--;
			sched_normalize(&cs);
			if (replays(m, &cur->prog, &cs, &pre) &&
			    pre <= cur->pre) {
				cur->sched = cs;
				cur->pre = pre;
				changed = true;
			}
		}
	}
}

/*
 * The schedule in words: "run 0 until pte_unmap_unlock in
 * migrate_vma_collect_pmd #1" instead of "run 0 18", where the named point
 * makes the very same run (same trace hash).  A segment is named after the
 * last event its CPU executed in it, counted from the segment's start.
 */
static void name_points(struct mctx *m, struct state *cur)
{
	static struct repro r;
	static struct trace_ev ev[TRACE_MAX];
	struct strategy st = { .kind = STRAT_REPLAY };
	int n;
	const struct trace_ev *t;
	u64 hash;
	char err[256];

	st.replay = &cur->sched;
	m->runs++;
	run_program(&cur->prog, &m->set, &st, NULL, &res);
	hash = res.trace_hash;
	t = sched_trace(&n);
	memcpy(ev, t, (size_t)n * sizeof(ev[0]));
	for (int i = 0; i < cur->sched.nseg && !out_of_time(m); i++) {
		struct segment sg = cur->sched.seg[i];
		int c = sg.cpu, first = 0, last, k, j;

		if (sg.kind != SEG_STEPS)
			continue;
		/* this CPU's events before the segment (no early block) */
		for (j = 0; j < i; j++)
			if (cur->sched.seg[j].cpu == c &&
			    cur->sched.seg[j].kind == SEG_STEPS)
				first += (int)cur->sched.seg[j].count;
		last = first + (int)sg.count - 1;
		/* the last one: the point */
		for (j = 0, k = -1; j < n; j++)
			if (ev[j].cpu == c && ++k == last)
				break;
		/* the run ended in it (the report): "to end" */
		if (j == n || i == cur->sched.nseg - 1) {
			memset(&r, 0, sizeof(r));
			r.settings = m->set;
			r.prog = cur->prog;
			r.sched = cur->sched;
			memset(&r.sched.seg[i], 0, sizeof(r.sched.seg[i]));
			r.sched.seg[i].cpu = (u8)c;
			r.sched.seg[i].kind = SEG_END;
			st.replay = &r.sched;
			m->runs++;
			run_program(&r.prog, &m->set, &st, NULL, &res);
			if (res.trace_hash == hash && same_bug(m)) {
				cur->sched = r.sched;
				continue;
			}
			if (j == n)
				continue;
		}
		if (strlen(ev[j].what) >= SEG_NAME_LEN ||
		    strlen(ev[j].func) >= SEG_NAME_LEN)
			continue;
		/* an op boundary reads best alone: "return madvise" */
		for (int with_func = strcmp(ev[j].func, "program") ? 1 : 0;
		     with_func >= 0; with_func--) {
			const struct trace_ev *p = &ev[j];
			u32 count = 0;

			/* occurrences in the segment: events first..last */
			for (int e = 0, idx = -1; e < n; e++) {
				if (ev[e].cpu != c || ++idx < first)
					continue;
				if (idx > last)
					break;
				count += !strcmp(ev[e].what, p->what) &&
					 (!with_func || !strcmp(ev[e].func, p->func));
			}
			memset(&r, 0, sizeof(r));
			r.settings = m->set;
			r.prog = cur->prog;
			r.sched = cur->sched;
			memset(&r.sched.seg[i], 0, sizeof(r.sched.seg[i]));
			r.sched.seg[i].cpu = (u8)c;
			r.sched.seg[i].kind = SEG_UNTIL;
			r.sched.seg[i].count = count;
			snprintf(r.sched.seg[i].what, SEG_NAME_LEN, "%s", p->what);
			if (with_func)
				snprintf(r.sched.seg[i].func, SEG_NAME_LEN, "%s",
					 p->func);
			if (!well_formed(&r) ||
			    repro_check_points(&r, "minimized", err, sizeof(err)))
				continue;
			st.replay = &r.sched;
			m->runs++;
			run_program(&r.prog, &m->set, &st, NULL, &res);
			if (res.trace_hash != hash || !same_bug(m))
				continue;
			cur->sched = r.sched;
			break;
		}
	}
}

static void describe(char *buf, size_t len, const struct program *p, u64 pre,
		     int nseg, unsigned long reverted)
{
	int nfix = __builtin_popcountl(reverted);

	snprintf(buf, len, "%d reverted fix%s, %d op%s on %d CPU%s, setup%s%s%s%s%s, %llu preemption%s, %d schedule segment%s",
		 nfix, nfix == 1 ? "" : "es",
		 nr_ops(p), nr_ops(p) == 1 ? "" : "s", p->ncpus,
		 p->ncpus == 1 ? "" : "s", p->populate ? " populate" : "",
		 p->forked ? " fork" : "", p->warm ? " warm" : "",
		 p->swapped ? " swapped" : "",
		 p->populate || p->forked || p->warm || p->swapped ? "" : " (none)",
		 (unsigned long long)pre, pre == 1 ? "" : "s", nseg,
		 nseg == 1 ? "" : "s");
}

/* Comment lines of the input's header worth keeping (not the generated). */
static void keep_header(FILE *f, const char *text)
{
	static const char *const drop[] = {
		"# migrace repro (replay", "# BUG: migrace:", "# trace ",
		"# minimized by:", "# minimized from:", "#            to:",
	};
	const char *p = text;

	while (*p) {
		const char *e = strchr(p, '\n');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		bool keep = true;

		if (p[0] != '#') {
			/* the header ends at the first item */
			size_t k = strspn(p, " \t\r");

			if (k < n)
				break;
			keep = false;
		}
		for (size_t i = 0; keep && i < sizeof(drop) / sizeof(drop[0]); i++)
			if (!strncmp(p, drop[i], strlen(drop[i])))
				keep = false;
		if (keep)
			fprintf(f, "%.*s\n", (int)n, p);
		if (!e)
			break;
		p = e + 1;
	}
}

static int write_out(const char *path, const char *text, const char *cmdline,
		     const char *from, const char *to, const struct repro *r)
{
	size_t plen = strlen(path) + 8;
	char *tmp = malloc(plen);
	FILE *f;
	int err = 0;

	if (!tmp)
		return ENOMEM;
	snprintf(tmp, plen, "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f) {
		err = errno;
		free(tmp);
		return err;
	}
	keep_header(f, text);
	fprintf(f, "# minimized by: %s\n", cmdline);
	fprintf(f, "# minimized from: %s\n", from);
	fprintf(f, "#            to: %s\n", to);
	repro_print(f, r);
	if (fflush(f) || ferror(f))
		err = errno ? errno : EIO;
	if (fclose(f) && !err)
		err = errno ? errno : EIO;
	if (!err && rename(tmp, path))
		err = errno;
	if (err)
		remove(tmp);
	free(tmp);
	return err;
}

int minimize_run(const struct cli_opts *o, const char *cmdline, char *err,
		 size_t errlen)
{
	static struct repro in, out;
	static struct state cur;
	struct mctx m = { 0 };
	const char *name = strcmp(o->file, "-") ? o->file : "<stdin>";
	char *text = NULL, from[256], to[256];
	size_t len;
	double t0 = now_s(), budget;
	int e;

	if (repro_read_file(o->file, REPRO_MAX_BYTES, &text, &len, err, errlen))
		return 2;
	if (repro_parse_buf(text, len, name, &in, err, errlen)) {
		free(text);
		return 2;
	}
	if (repro_check_points(&in, name, err, errlen)) {
		free(text);
		return 2;
	}
	if (in.settings.variant != VARIANT_UPSTREAM) {
		snprintf(err, errlen, "%s: variant rfc-unified is not implemented yet",
			 name);
		free(text);
		return 2;
	}
	m.set = in.settings;
	m.seed = o->seed;
	m.verbose = o->verbose;
	budget = o->budget ? o->budget : 30;
	/* The program first; a fifth of the budget stays for the schedule. */
	m.deadline = t0 + 0.8 * budget;
	{
		struct strategy st = { .kind = STRAT_REPLAY, .replay = &in.sched };

		run_program(&in.prog, &in.settings, &st, NULL, &res);
		if (!res.bug) {
			snprintf(err, errlen, "%s: the replay reports nothing: nothing to minimize",
				 name);
			free(text);
			return 2;
		}
		minimize_title_key(res.title, m.key, sizeof(m.key));
		cur.pre = res.preemptions;
		m.max_pre = cur.pre;
		if (in.settings.reverted) {
			struct settings fixed = in.settings;

			fixed.reverted = 0;
			m.need_clean = !run_program(&in.prog, &fixed, &st, NULL,
						    &res);
		}
	}
	cur.prog = in.prog;
	cur.sched = in.sched;
	describe(from, sizeof(from), &cur.prog, cur.pre, cur.sched.nseg,
		 in.settings.reverted);

	for (size_t s = 0; s < sizeof(search_sizes) / sizeof(search_sizes[0]) &&
	     !out_of_time(&m); s++) {
		m.search = search_sizes[s];
		for (int round = 0; round < 4 && !out_of_time(&m); round++) {
			bool changed = false;

			changed |= drop_reverts(&m, &cur);
			changed |= drop_cpus(&m, &cur);
			changed |= drop_ops(&m, &cur);
			changed |= drop_setup(&m, &cur);
			changed |= simplify_args(&m, &cur);
			if (!changed)
				break;
		}
	}
	m.deadline = t0 + budget;
	shrink_schedule(&m, &cur);
	name_points(&m, &cur);

	/* The result, replayed once more as it will be written. */
	memset(&out, 0, sizeof(out));
	out.settings = m.set;
	out.prog = cur.prog;
	out.sched = cur.sched;
	if (!replays(&m, &out.prog, &out.sched, &cur.pre)) {
		/* cannot happen: every state adopted was replayed */
		snprintf(err, errlen, "%s: internal error: the minimized repro does not replay",
			 name);
		free(text);
		return 3;
	}
	{
		struct strategy st = { .kind = STRAT_REPLAY, .replay = &out.sched };

		run_program(&out.prog, &out.settings, &st, NULL, &res);
	}
	snprintf(out.title, sizeof(out.title), "%s", res.title);
	out.trace_hash = res.trace_hash;
	out.has_hash = true;
	describe(to, sizeof(to), &cur.prog, cur.pre, cur.sched.nseg,
		 m.set.reverted);
	e = write_out(o->out, text, cmdline, from, to, &out);
	free(text);
	if (e) {
		snprintf(err, errlen, "cannot write %s: %s", o->out, strerror(e));
		return 2;
	}
	fputs(res.report, stdout);
	printf("minimize: %s -> %s in %.1f s, %ld runs\n", name, o->out,
	       now_s() - t0, m.runs);
	printf("minimize: from %s\n", from);
	printf("minimize:   to %s\n", to);
	return 0;
}
