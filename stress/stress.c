/*
 * `migrace stress`: the free-running runner.  Random programs from the
 * same generator as explore, each run with every CPU on its own pthread
 * (engine/sched/stress.c), one after another until the duration is over
 * or something is reported.  Between programs the CPU threads are joined
 * and the machine is reset, so the oracles' per-program bookkeeping (end
 * state, leaks, memory contents) holds as in the controlled mode.
 *
 * A report is only useful once it replays: the failing program is handed
 * to the controlled scheduler (PCT and random walk, bounded time) until a
 * schedule gives the same kind of report; that schedule is written as a
 * repro and replayed twice to check it is deterministic.  If no schedule
 * is found, the program is kept (a repro without a schedule) and the
 * report says so.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <migrace/fixes.h>
#include <migrace/prog.h>
#include <migrace/run.h>

#include "../engine/sched/stress.h"
#include "../tools/cli_opts.h"
#include "stress.h"

struct stress_cli {
	int cpus, ops;
	double duration, delay, watchdog, convert;
	u64 seed;
	struct settings set;
	const char *out;	/* a directory */
	const char *program;	/* --program: stress this one program */
	bool quiet;
	bool have_settings;	/* --revert, --variant, --arch or --strict */
};

static int bad(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int bad(const char *fmt, ...)
{
	va_list ap;

	fputs("migrace: stress: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 2;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static bool parse_num(const char *s, double lo, double hi, double *out)
{
	char *end;
	double v;

	if (!s || !*s)
		return false;
	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || v != v || v < lo || v > hi)
		return false;
	*out = v;
	return true;
}

static bool parse_u64(const char *s, u64 *out)
{
	char *end;
	unsigned long long v;

	if (!s || !*s || *s == '-')
		return false;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end)
		return false;
	*out = v;
	return true;
}

static int parse(int argc, char **argv, struct stress_cli *o)
{
	const char *revert = NULL, *variant = NULL, *arch = NULL;
	bool strict = false;
	char err[256];
	double v;

	memset(o, 0, sizeof(*o));
	o->cpus = 2;
	o->ops = 8;
	o->duration = 60;
	o->delay = 0.005;
	o->watchdog = 10;
	o->convert = 30;
	o->seed = 1;
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;

#define NEEDS_VALUE                                                       \
	do {                                                              \
		if (!val)                                                 \
			return bad("%s needs a value", a);                \
		i++;                                                      \
	} while (0)
		if (!strcmp(a, "--cpus")) {
			NEEDS_VALUE;
			if (!parse_num(val, 1, NR_CPUS, &v) || v != (int)v)
				return bad("--cpus %s: expected 1..%d", val, NR_CPUS);
			o->cpus = (int)v;
		} else if (!strcmp(a, "--ops")) {
			NEEDS_VALUE;
			if (!parse_num(val, 1, MAX_OPS, &v) || v != (int)v)
				return bad("--ops %s: expected 1..%d", val, MAX_OPS);
			o->ops = (int)v;
		} else if (!strcmp(a, "--duration")) {
			NEEDS_VALUE;
			if (!parse_num(val, 0.001, 1e7, &o->duration))
				return bad("--duration %s: expected seconds, 0.001..1e7", val);
		} else if (!strcmp(a, "--delay")) {
			NEEDS_VALUE;
			if (!parse_num(val, 0, 1, &o->delay))
				return bad("--delay %s: expected a probability 0..1", val);
		} else if (!strcmp(a, "--watchdog")) {
			NEEDS_VALUE;
			if (!parse_num(val, 0.001, 3600, &o->watchdog))
				return bad("--watchdog %s: expected seconds, 0.001..3600", val);
		} else if (!strcmp(a, "--convert-budget")) {
			NEEDS_VALUE;
			if (!parse_num(val, 0, 3600, &o->convert))
				return bad("--convert-budget %s: expected seconds, 0..3600", val);
		} else if (!strcmp(a, "--seed")) {
			NEEDS_VALUE;
			if (!parse_u64(val, &o->seed))
				return bad("--seed %s: expected an unsigned integer", val);
		} else if (!strcmp(a, "--revert")) {
			NEEDS_VALUE;
			revert = val;
		} else if (!strcmp(a, "--variant")) {
			NEEDS_VALUE;
			variant = val;
		} else if (!strcmp(a, "--arch")) {
			NEEDS_VALUE;
			arch = val;
		} else if (!strcmp(a, "--strict")) {
			strict = true;
		} else if (!strcmp(a, "-o")) {
			NEEDS_VALUE;
			o->out = val;
		} else if (!strcmp(a, "--program")) {
			NEEDS_VALUE;
			o->program = val;
		} else if (!strcmp(a, "-q")) {
			o->quiet = true;
		} else {
			return bad("unknown option '%.60s' (see 'migrace --help')", a);
		}
#undef NEEDS_VALUE
	}
	o->have_settings = revert || variant || arch || strict;
	if (cli_env(revert, variant, arch, strict ? "1" : NULL, &o->set, err,
		    sizeof(err)))
		return bad("%s", err);
	if (o->set.variant != VARIANT_UPSTREAM)
		return bad("--variant rfc-unified is not implemented yet");
	if (o->out) {
		struct stat st;

		if (stat(o->out, &st) || !S_ISDIR(st.st_mode) ||
		    access(o->out, W_OK))
			return bad("-o %s: not a writable directory", o->out);
	}
	return 0;
}

/*
 * The kind of a report: its title with the numbers (addresses, pfns, line
 * numbers, CPU ids) taken out.  Two reports are of the same kind when
 * those agree, or when both are about a hung machine (a soft lockup here,
 * a deadlock or livelock under the controlled scheduler).
 */
static void kind_of(const char *title, char *out, size_t len)
{
	size_t j = 0;

	for (size_t i = 0; title[i] && j + 1 < len; i++) {
		char c = title[i];

		if (c == '0' && title[i + 1] == 'x') {
			i++;
			while (title[i + 1] && strchr("0123456789abcdefABCDEF",
						      title[i + 1]))
				i++;
			out[j++] = '#';
		} else if (c >= '0' && c <= '9') {
			while (title[i + 1] >= '0' && title[i + 1] <= '9')
				i++;
			out[j++] = '#';
		} else {
			out[j++] = c;
		}
	}
	out[j] = 0;
}

static bool hang_kind(const char *t)
{
	return !strncmp(t, "soft lockup", 11) || !strncmp(t, "deadlock", 8) ||
	       !strncmp(t, "livelock", 8);
}

static bool same_kind(const char *a, const char *b)
{
	char ka[200], kb[200];

	if (hang_kind(a) && hang_kind(b))
		return true;
	kind_of(a, ka, sizeof(ka));
	kind_of(b, kb, sizeof(kb));
	return !strcmp(ka, kb);
}

static char *out_path(const struct stress_cli *o, const char *title,
		      const char *suffix, u64 tag)
{
	char name[64];
	const char *dir = o->out ? o->out : "corpus/crashes";
	size_t n;
	char *p;

	if (!o->out) {
		mkdir("corpus", 0777);
		mkdir("corpus/crashes", 0777);
	}
	repro_slug(title, name, sizeof(name));
	n = strlen(dir) + strlen(name) + strlen(suffix) + 40;
	p = malloc(n);
	if (p)
		snprintf(p, n, "%s/stress-%s-%06llx%s.repro", dir, name,
			 (unsigned long long)(tag & 0xffffff), suffix);
	return p;
}

/*
 * The controlled scheduler's turn: PCT at depths 2..4 and random walks,
 * alternating, until a schedule of @r->prog gives a report of the same
 * kind as @title or @budget seconds are spent.
 */
static bool convert(struct repro *r, const char *title, double budget,
		    u64 seed, long *tried)
{
	static struct run_result res;
	struct rng rng = { seed ^ 0x5bd1e995ULL };
	u64 est = 0, est_sync = 0;
	double t0 = now_s();

	*tried = 0;
	while (now_s() - t0 < budget) {
		struct strategy st = {
			.kind = (*tried % 3 == 2) ? STRAT_RANDOM : STRAT_PCT,
			.seed = rng_next(&rng),
			.depth = 2 + (int)(*tried % 3),
			.est_steps = est,
			.est_sync = est_sync,
		};

		(*tried)++;
		if (run_program(&r->prog, &r->settings, &st, NULL, &res) &&
		    same_kind(res.title, title)) {
			r->sched = res.executed;
			snprintf(r->title, sizeof(r->title), "%s", res.title);
			r->trace_hash = res.trace_hash;
			r->has_hash = true;
			return true;
		}
		if (res.steps > est)
			est = res.steps;
		if (res.sync_steps > est_sync)
			est_sync = res.sync_steps;
	}
	return false;
}

/* Replays @r twice: the same report and the same trace both times. */
static bool replays(const struct repro *r)
{
	static struct run_result a, b;
	struct strategy st = { .kind = STRAT_REPLAY, .replay = &r->sched };

	if (!run_program(&r->prog, &r->settings, &st, NULL, &a) ||
	    !run_program(&r->prog, &r->settings, &st, NULL, &b))
		return false;
	return a.trace_hash == b.trace_hash && a.trace_hash == r->trace_hash &&
	       !strcmp(a.title, b.title);
}

struct progress {
	bool on, tty;
	double t0, next;
	int width;
};

static void progress_show(struct progress *p, const struct stress_cli *o,
			  long programs, bool last)
{
	double t = now_s(), el = t - p->t0;
	u64 ops = stress_ops_done();
	int n;

	if (!p->on || (!last && t < p->next))
		return;
	if (last) {
		if (p->tty && p->width)
			fprintf(stderr, "\r%*s\r", p->width, "");
		return;
	}
	p->next = t + (p->tty ? 1.0 : 10.0);
	n = fprintf(stderr, "%sstress: %ld programs, %llu ops, %.0f ops/s, 0 reports, %.0f s elapsed, %.0f s left%s",
		    p->tty ? "\r" : "", programs, (unsigned long long)ops,
		    el > 0 ? ops / el : 0, el,
		    o->duration > el ? o->duration - el : 0,
		    p->tty ? "  " : "\n");
	if (p->tty && n > p->width)
		p->width = n;
}

static void print_program(const struct repro *r)
{
	static struct repro copy;

	copy = *r;
	copy.sched.nseg = 0;
	copy.has_hash = false;
	printf("the program the CPUs were running (settings and ops):\n");
	repro_print(stdout, &copy);
}

int cmd_stress(int argc, char **argv)
{
	struct stress_cli o;
	struct stress_opts so;
	static struct repro r;
	static struct run_result res;
	struct strategy st = { .kind = STRAT_STRESS };
	struct rng prog_rng;
	const struct program *fixed_prog = NULL;
	struct progress pr = { 0 };
	long programs = 0, tried;
	double t0, el;
	char title[200];
	char *path;
	int ret;

	if (parse(argc, argv, &o))
		return 2;
	if (o.program) {
		static struct repro fixed;
		char err[512];

		if (repro_load(o.program, &fixed, err, sizeof(err)))
			return bad("%s", err);
		fixed_prog = &fixed.prog;
		/* The file's settings unless the options name their own. */
		if (!o.have_settings)
			o.set = fixed.settings;
	}
	prog_rng.s = o.seed;
	so.delay = o.delay;
	so.watchdog = o.watchdog;
	so.seed = o.seed;
	stress_init(&so);
	t0 = now_s();
	pr.on = !o.quiet;
	pr.tty = isatty(2);
	pr.t0 = t0;
	pr.next = t0 + (pr.tty ? 1.0 : 10.0);
	for (;;) {
		if (now_s() - t0 >= o.duration)
			break;
		memset(&r, 0, sizeof(r));
		r.settings = o.set;
		if (fixed_prog)
			r.prog = *fixed_prog;
		else
			prog_generate(&r.prog, &prog_rng, o.cpus, o.ops);
		programs++;
		stress_set_program(&r.prog);
		ret = run_program(&r.prog, &r.settings, &st, NULL, &res);
		progress_show(&pr, &o, programs, false);
		if (ret)
			goto found;
	}
	el = now_s() - t0;
	stress_fini();
	progress_show(&pr, &o, programs, true);
	printf("stress: no report in %ld programs, %llu ops, %.0f ops/s, %.1f s (cpus %d, delay %g, seed %llu)\n",
	       programs, (unsigned long long)stress_ops_done(),
	       el > 0 ? stress_ops_done() / el : 0, el, o.cpus, o.delay,
	       (unsigned long long)o.seed);
	return 0;

found:
	el = now_s() - t0;
	stress_fini();	/* the controlled mode from here on */
	progress_show(&pr, &o, programs, true);
	fputs(res.report, stdout);
	print_program(&r);
	printf("stress: reported after %ld programs, %llu ops, %.1f s (cpus %d, delay %g, seed %llu)\n",
	       programs, (unsigned long long)stress_ops_done(), el, o.cpus,
	       o.delay, (unsigned long long)o.seed);
	snprintf(title, sizeof(title), "%s", res.title);
	if (o.cpus < 2) {
		printf("stress: one CPU: nothing to schedule, the program is kept as it is\n");
	} else if (convert(&r, title, o.convert, o.seed, &tried)) {
		bool det = replays(&r);

		path = out_path(&o, r.title, "", r.trace_hash);
		if (!path || repro_save(path, &r)) {
			printf("stress: converted, but cannot write the repro: %s\n",
			       strerror(errno));
			return 1;
		}
		printf("stress: converted to a repro by the controlled scheduler after %ld schedules: %s\n",
		       tried, r.title);
		printf("repro: %s   (migrace repro FILE)%s\n", path,
		       det ? "" : "  -- WARNING: two replays differed");
		printf("stress: the repro %s\n",
		       det ? "replays deterministically (2/2 replays, same trace)"
			   : "does NOT replay deterministically");
		free(path);
		return 1;
	} else {
		printf("stress: not converted: no schedule of this program gave \"%s\" under the controlled scheduler in %.0f s (%ld schedules)\n",
		       title, o.convert, tried);
	}
	snprintf(r.title, sizeof(r.title), "%s", title);
	r.sched.nseg = 0;
	r.has_hash = false;
	path = out_path(&o, title, "-program", 0);
	if (path && !repro_save(path, &r))
		printf("stress: the program is kept (no schedule): %s\n", path);
	free(path);
	return 1;
}
