/*
 * migrace: the command line (see DESIGN.md "Command line" and docs/cli.md).
 * Exit status: 0 nothing found / clean replay, 1 a bug was found or
 * reproduced, 2 bad usage or a bad input file (one line on stderr), 3 the
 * harness itself crashed (a signal, an assertion, a sanitizer report).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <migrace/fixes.h>
#include <migrace/prog.h>
#include <migrace/run.h>
#include <migrace/search.h>

#include "cli_opts.h"
#include "minimize.h"
#include "ktap.h"
#include "../stress/stress.h"

#define EXIT_CRASH 3

/*
 * Sanitizer reports are harness crashes: exit 3, never 1 (which means a
 * kernel bug was found).  The environment can still override these.
 */
const char *__asan_default_options(void);
const char *__ubsan_default_options(void);
const char *__asan_default_options(void)
{
	return "exitcode=3";
}

const char *__ubsan_default_options(void)
{
	return "exitcode=3:print_stacktrace=1";
}

/*
 * Schedules tried per random program.  The program search costs more than
 * the schedule search (docs/benchmarks.md): over seeds 101..120 and 10^5
 * schedules each, 4 found copy-dirty-bit on 7 seeds where 16 found it on
 * 2, and flush-tlb-under-ptl on 2 seeds either way.
 */
#ifndef SCHEDULES_PER_PROGRAM
#define SCHEDULES_PER_PROGRAM 4
#endif

static const char usage_text[] =
	"usage: migrace fixes\n"
	"       migrace explore [--strategy pct|random] [--depth 1..8] [--runs N | --budget SECONDS]\n"
	"                       [--search random|feedback]  (fresh programs; or keep and mutate them)\n"
	"                       [--seed S] [--cpus 2..4] [--ops 1..16] [--revert FIX[,FIX...]|all|none]\n"
	"                       [--variant upstream|rfc-unified] [--arch x86|vivt] [--strict] [-o REPRO]\n"
	"                       [--program REPRO]  (explore the schedules of one program) [-v | -q]\n"
	"                       [--check-determinism]  (run every schedule twice, compare the traces)\n"
	"       migrace repro FILE|- [--revert ...] [--variant ...] [--arch ...] [--strict] [--trace]\n"
	"                            [--check | --no-check]  (named points; checked by default)\n"
	"                            [--continue [--strategy pct|random] [--seed S] [--depth D] [-o REPRO]]\n"
	"                            (finish the run under a seeded strategy where the schedule ends)\n"
	"       migrace repro --ktap FILE...   (KTAP: each file as written, with --revert none, twice)\n"
	"       migrace decode FUZZ_INPUT|- -o REPRO\n"
	"       migrace minimize FILE|- -o OUT [--budget SECONDS] [--seed S] [-v]\n"
	"       migrace encode REPRO|- -o FUZZ_INPUT   (seeds for the fuzz targets)\n"
	"       migrace stress [--cpus 1..4] [--duration SECONDS] [--seed S] [--ops 1..16]\n"
	"                      [--revert ...] [--variant ...] [--arch ...] [--strict] [--delay PROB]\n"
	"                      [--watchdog SECONDS] [--convert-budget SECONDS] [-o DIR] [-q]\n"
	"environment (decode, fuzz targets): MIGRACE_REVERT, MIGRACE_VARIANT, MIGRACE_ARCH, MIGRACE_STRICT\n"
	"exit status: 0 nothing found / clean replay, 1 a bug found or reproduced,\n"
	"             2 bad usage or bad input (one line on stderr), 3 the harness crashed\n";

/* One line, always: scripts and CI read the first line of stderr. */
static int bad(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
#include <stdarg.h>
static int bad(const char *fmt, ...)
{
	va_list ap;

	fputs("migrace: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 2;
}

/*
 * Async-signal-safe and not instrumented: under ASan a call to a noreturn
 * function such as _exit() first unpoisons the stack through
 * pthread_getattr_np(), which can deadlock on a lock the interrupted code
 * holds.  exit_group is a plain system call.
 */
#if defined(__clang__) || defined(__SANITIZE_ADDRESS__)
__attribute__((no_sanitize("address", "undefined")))
#endif
static void crash_handler(int sig)
{
	static const char msg[] =
		"migrace: internal error: the harness crashed (fatal signal); exit status 3, this is not a kernel bug\n";
	ssize_t n = write(2, msg, sizeof(msg) - 1);

	(void)n;
	(void)sig;
	syscall(SYS_exit_group, EXIT_CRASH);
	_exit(EXIT_CRASH);	/* not reached */
}

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MIGRACE_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define MIGRACE_ASAN 1
#endif

static void install_crash_handlers(void)
{
	static char altstack[64 * 1024];
	stack_t ss = { .ss_sp = altstack, .ss_size = sizeof(altstack) };
	struct sigaction sa;
	int sigs[] = { SIGABRT, SIGSEGV, SIGBUS, SIGFPE, SIGILL };

	/* A stack overflow needs a stack to report on. */
	sigaltstack(&ss, NULL);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = crash_handler;
	sa.sa_flags = SA_ONSTACK | SA_RESETHAND;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
#ifdef MIGRACE_ASAN
		/* ASan reports these itself (with exitcode=3). */
		if (sigs[i] != SIGABRT)
			continue;
#endif
		sigaction(sigs[i], &sa, NULL);
	}
}

static double now_s(void)
{
	struct timespec ts;

	/* Only for --budget and progress; never feeds an execution. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmd_fixes(void)
{
	for (int i = 0; i < NR_FIXES; i++)
		printf("%-27s %-10s  %s\n", fix_table[i].name, fix_table[i].date,
		       fix_table[i].title);
	return 0;
}

/* Refuse an output path that cannot be written before spending a run on it. */
static int check_out_path(const char *path)
{
	struct stat st;
	const char *slash = strrchr(path, '/');

	if (!stat(path, &st)) {
		if (S_ISDIR(st.st_mode))
			return bad("-o %s: is a directory", path);
		if (access(path, W_OK))
			return bad("-o %s: %s", path, strerror(errno));
		return 0;
	}
	if (errno != ENOENT)
		return bad("-o %s: %s", path, strerror(errno));
	if (slash) {
		size_t n = slash == path ? 1 : (size_t)(slash - path);
		char *dir = malloc(n + 1);
		int ok;

		if (!dir)
			return bad("-o: out of memory");
		memcpy(dir, path, n);
		dir[n] = 0;
		ok = !stat(dir, &st) && S_ISDIR(st.st_mode) && !access(dir, W_OK);
		free(dir);
		if (!ok)
			return bad("-o %s: its directory does not exist or is not writable",
				   path);
	} else if (access(".", W_OK)) {
		return bad("-o %s: the current directory is not writable", path);
	}
	return 0;
}

/*
 * Progress on stderr: on a terminal one line refreshed about once a
 * second, otherwise a plain line every 10 s.  The wall clock decides only
 * when to print, never what is explored.
 */
struct progress {
	bool on, tty;
	double t0, next;
	int width;
};

static void progress_show(struct progress *p, const struct cli_opts *o,
			  long programs, long schedules, bool last)
{
	double t = now_s(), el = t - p->t0, rate;
	char rem[48] = "";
	int n;

	if (!p->on || (!last && t < p->next))
		return;
	if (last) {
		if (p->tty && p->width)
			fprintf(stderr, "\r%*s\r", p->width, "");
		return;
	}
	p->next = t + (p->tty ? 1.0 : 10.0);
	rate = el > 0 ? schedules / el : 0;
	if (o->budget)
		snprintf(rem, sizeof(rem), ", %.0f s left",
			 o->budget > el ? o->budget - el : 0);
	else if (rate > 0)
		snprintf(rem, sizeof(rem), ", about %.0f s left",
			 (double)(o->runs - (unsigned long long)schedules) / rate);
	n = fprintf(stderr, "%sexplore: %ld programs, %ld schedules, %.0f schedules/s, %.0f s elapsed%s%s",
		    p->tty ? "\r" : "", programs, schedules, rate, el, rem,
		    p->tty ? "  " : "\n");
	if (p->tty && n > p->width)
		p->width = n;
}

/*
 * --check-determinism: the same program under the same strategy must give
 * the same execution, and the schedule recorded from it must replay it.
 * On a divergence both runs are repeated with every event printed, to
 * name the first event where they part.  MIGRACE_SELFTEST_NONDETERMINISM=1
 * gives the second run another seed: a self-test proving the check fires.
 */
static bool nondet_selftest;

static char *trace_text(const struct program *p, const struct settings *s,
			const struct strategy *st, size_t *len)
{
	static struct run_result res;
	struct run_options ro = { .trace = true };
	char *text = NULL;
	FILE *f = open_memstream(&text, len);

	if (!f)
		return NULL;
	ro.trace_out = f;
	run_program(p, s, st, &ro, &res);
	fclose(f);
	return text;
}

static void first_difference(const struct program *p, const struct settings *s,
			     const struct strategy *a, const struct strategy *b)
{
	size_t la, lb;
	char *ta = trace_text(p, s, a, &la), *tb = trace_text(p, s, b, &lb);
	const char *x = ta, *y = tb;

	if (!ta || !tb) {
		free(ta);
		free(tb);
		return;
	}
	while (*x && *y) {
		const char *nx = strchr(x, '\n'), *ny = strchr(y, '\n');
		size_t n = nx ? (size_t)(nx - x) : strlen(x);
		size_t m = ny ? (size_t)(ny - y) : strlen(y);

		if (n != m || memcmp(x, y, n)) {
			printf("first difference:\n  run 1: %.*s\n  run 2: %.*s\n",
			       (int)n, x, (int)m, y);
			break;
		}
		if (!nx || !ny)
			break;
		x = nx + 1;
		y = ny + 1;
	}
	if (!*x != !*y)
		printf("first difference: run %d ends first\n", *x ? 2 : 1);
	free(ta);
	free(tb);
}

/* 0: the same; else prints a report and returns 1. */
static int check_determinism(const struct repro *r, const struct strategy *st,
			     const struct run_result *res1, long programs, int k)
{
	static struct run_result res2, res3;
	struct strategy again = *st;
	struct strategy rep = { .kind = STRAT_REPLAY, .replay = &res1->executed };
	const char *what = NULL;
	bool replayable = res1->executed.nseg < MAX_SEGS;
	int b2, b3 = 0;

	if (nondet_selftest)
		again.seed++;
	b2 = run_program(&r->prog, &r->settings, &again, NULL, &res2);
	if (b2 != res1->bug || res2.trace_hash != res1->trace_hash ||
	    res2.steps != res1->steps) {
		what = "the same strategy and seed ran twice";
	} else if (replayable) {
		b3 = run_program(&r->prog, &r->settings, &rep, NULL, &res3);
		if (b3 != res1->bug || res3.trace_hash != res1->trace_hash)
			what = "the recorded schedule replayed";
	}
	if (!what)
		return 0;
	printf("DETERMINISM: migrace: program %ld schedule %d diverged: %s\n",
	       programs, k, what);
	printf("  run 1: trace %#018llx, %llu events, %s\n",
	       (unsigned long long)res1->trace_hash,
	       (unsigned long long)res1->steps,
	       res1->bug ? res1->title : "clean");
	if (!strcmp(what, "the recorded schedule replayed")) {
		printf("  run 2: trace %#018llx, %llu events, %s\n",
		       (unsigned long long)res3.trace_hash,
		       (unsigned long long)res3.steps, b3 ? res3.title : "clean");
		first_difference(&r->prog, &r->settings, st, &rep);
	} else {
		printf("  run 2: trace %#018llx, %llu events, %s\n",
		       (unsigned long long)res2.trace_hash,
		       (unsigned long long)res2.steps, b2 ? res2.title : "clean");
		first_difference(&r->prog, &r->settings, st, &again);
	}
	return 1;
}

/*
 * The search runs without hashing events or recording the schedule; a run
 * that reported is run again with the same seed, hashing and recording,
 * for its trace line and its repro.  It is the same execution (what every
 * repro file relies on); if it were not, the report found stands and the
 * disagreement is said.
 */
static int rerun_hashed(const struct repro *r, const struct strategy *st0,
			struct run_result *res)
{
	static struct run_result again;
	struct strategy st = *st0;

	/* the same seeded run, hashed and recorded this time */
	st.no_hash = false;
	if (run_program(&r->prog, &r->settings, &st, NULL, &again) &&
	    !strcmp(again.title, res->title)) {
		*res = again;
		return 1;
	}
	fprintf(stderr, "explore: the run that reported did not report the same when run again (nondeterminism: migrace explore --check-determinism)\n");
	return 1;
}

static int cmd_explore(int argc, char **argv)
{
	struct cli_opts o;
	static struct repro r;
	static struct run_result res;
	static struct repro fixed;
	struct rng prog_rng;
	struct settings set;
	struct progress pr = { 0 };
	long programs = 0, schedules = 0;
	u64 typical = 0, typical_sync = 0;
	double t0 = now_s();
	char err[512];
	int ret;

	if (cli_parse(CLI_EXPLORE, argc, argv, &o, err, sizeof(err)))
		return bad("%s", err);
	if (getenv("MIGRACE_SELFTEST_NONDETERMINISM")) {
		if (strcmp(getenv("MIGRACE_SELFTEST_NONDETERMINISM"), "1"))
			return bad("MIGRACE_SELFTEST_NONDETERMINISM must be 1 or unset");
		nondet_selftest = true;
	}
	if (o.out && check_out_path(o.out))
		return 2;
	if (!o.runs && !o.budget)
		o.runs = 1000000;	/* about 15 s */
	prog_rng.s = o.seed;
	set = o.set;
	if (o.program) {
		if (repro_load(o.program, &fixed, err, sizeof(err)))
			return bad("%s", err);
		/* The file's settings, as `repro` takes them; options override. */
		set = fixed.settings;
		if (o.have_revert)
			set.reverted = o.set.reverted;
		if (o.have_variant)
			set.variant = o.set.variant;
		if (o.have_arch)
			set.arch = o.set.arch;
		if (o.set.strict)
			set.strict = true;
	}
	/* --program explores one program: nothing to search. */
	if (o.program)
		o.search = SEARCH_RANDOM;
	if (o.search == SEARCH_FEEDBACK)
		search_init();
	pr.on = !o.quiet && !o.verbose;
	pr.tty = isatty(2);
	pr.t0 = t0;
	pr.next = t0 + (pr.tty ? 1.0 : 10.0);
	for (;;) {
		/*
		 * PCT spreads its change points over the run length it
		 * expects.  A program's first schedule has no measurement
		 * of its own yet: it takes the recent programs' (the lengths
		 * of random programs are alike), not a fixed guess.
		 */
		u64 est = typical, est_sync = typical_sync;

		if ((o.runs && (unsigned long long)schedules >= o.runs) ||
		    (o.budget && now_s() - t0 >= o.budget))
			break;
		memset(&r, 0, sizeof(r));
		r.settings = set;
		if (o.program)
			r.prog = fixed.prog;	/* its schedules only */
		else if (o.search == SEARCH_FEEDBACK)
			search_next(&r.prog, &prog_rng, o.cpus, o.ops);
		else
			prog_generate(&r.prog, &prog_rng, o.cpus, o.ops);
		programs++;
		int nsched = SCHEDULES_PER_PROGRAM;

		for (int k = 0; k < nsched; k++) {
			struct strategy st = {
				.kind = o.strategy,
				.seed = rng_next(&prog_rng),
				.depth = o.depth,
				.est_steps = est,
				.est_sync = est_sync,
				.no_hash = !o.verbose && !o.check_determinism,
			};

			schedules++;
			ret = run_program(&r.prog, &r.settings, &st, NULL, &res);
			if (ret && st.no_hash)
				ret = rerun_hashed(&r, &st, &res);
			if (o.check_determinism &&
			    check_determinism(&r, &st, &res, programs, k)) {
				progress_show(&pr, &o, programs, schedules, true);
				if (o.out) {
					r.sched.nseg = 0;
					r.title[0] = 0;
					r.has_hash = false;
					if (repro_save(o.out, &r))
						return bad("cannot write %s: %s", o.out,
							   strerror(errno));
					printf("program: %s   (migrace explore --program FILE --check-determinism)\n",
					       o.out);
				}
				printf("explore: nondeterminism after %ld programs, %ld schedules (seed %llu)\n",
				       programs, schedules,
				       (unsigned long long)o.seed);
				return 1;
			}
			if (o.verbose)
				printf("program %ld schedule %d: %s, %llu events, trace %#018llx\n",
				       programs, k, ret ? "BUG" : "clean",
				       (unsigned long long)res.steps,
				       (unsigned long long)res.trace_hash);
			progress_show(&pr, &o, programs, schedules, false);
			if (ret) {
				char name[64], *path = NULL;
				size_t plen;

				progress_show(&pr, &o, programs, schedules, true);
				r.sched = res.executed;
				snprintf(r.title, sizeof(r.title), "%s", res.title);
				r.trace_hash = res.trace_hash;
				r.has_hash = true;
				if (o.out) {
					path = strdup(o.out);
				} else {
					repro_slug(res.title, name, sizeof(name));
					mkdir("corpus", 0777);
					mkdir("corpus/crashes", 0777);
					plen = strlen(name) + 64;
					path = malloc(plen);
					if (path)
						snprintf(path, plen,
							 "corpus/crashes/%s-%06llx.repro",
							 name,
							 (unsigned long long)(res.trace_hash & 0xffffff));
				}
				if (!path)
					return bad("out of memory");
				fputs(res.report, stdout);
				if (repro_save(path, &r)) {
					ret = bad("cannot write %s: %s (the bug above was found, its repro is lost)",
						  path, strerror(errno));
					free(path);
					return ret;
				}
				printf("repro: %s   (migrace repro FILE)\n", path);
				printf("trace: %#018llx\n",
				       (unsigned long long)res.trace_hash);
				printf("explore: bug found after %ld programs, %ld schedules, %.1f s (seed %llu)\n",
				       programs, schedules, now_s() - t0,
				       (unsigned long long)o.seed);
				free(path);
				return 1;
			}
			if (!k || res.steps > est)
				est = res.steps;
			if (!k || res.sync_steps > est_sync)
				est_sync = res.sync_steps;
			if (o.runs && (unsigned long long)schedules >= o.runs)
				break;
			if (o.search == SEARCH_FEEDBACK && k + 1 == nsched)
				nsched = search_schedules(k + 1,
							  SCHEDULES_PER_PROGRAM);
		}
		if (o.search == SEARCH_FEEDBACK)
			search_done(&r.prog, &prog_rng);
		typical = (3 * typical + est) / 4;
		typical_sync = (3 * typical_sync + est_sync) / 4;
	}
	progress_show(&pr, &o, programs, schedules, true);
	if (o.verbose && o.search == SEARCH_FEEDBACK)
		printf("search: %u cross-CPU pair features seen, %d programs kept\n",
		       search_features(), search_corpus_size());
	printf("explore: no bug found in %ld programs, %ld schedules, %.1f s (seed %llu)%s\n",
	       programs, schedules, now_s() - t0, (unsigned long long)o.seed,
	       o.check_determinism ? "; every schedule ran twice with the same trace" : "");
	return 0;
}

static int cmd_repro(int argc, char **argv)
{
	struct cli_opts o;
	static struct repro r;
	static struct run_result res;
	struct run_options ro = { 0 };
	struct strategy st = { .kind = STRAT_REPLAY };
	const char *name;
	char err[512];
	long long cont_at;
	int ret, u;

	if (cli_parse(CLI_REPRO, argc, argv, &o, err, sizeof(err)))
		return bad("%s", err);
	if (o.ktap)
		return repro_ktap(&o);
	if (o.out && check_out_path(o.out))
		return 2;
	name = strcmp(o.file, "-") ? o.file : "<stdin>";
	if (repro_load(o.file, &r, err, sizeof(err)))
		return bad("%s", err);
	if (o.check && repro_check_points(&r, name, err, sizeof(err)))
		return bad("%s", err);
	if (o.have_revert)
		r.settings.reverted = o.set.reverted;
	if (o.have_variant)
		r.settings.variant = o.set.variant;
	if (o.have_arch)
		r.settings.arch = o.set.arch;
	if (o.set.strict)
		r.settings.strict = true;
	st.replay = &r.sched;
	if (o.cont) {
		/* The seeded strategy that finishes what the schedule leaves. */
		st.cont = true;
		st.cont_kind = o.strategy;
		st.seed = o.seed;
		st.depth = o.depth;
	}
	ro.trace = o.trace;
	ret = run_program(&r.prog, &r.settings, &st, &ro, &res);
	u = sched_unreached_segment();
	cont_at = sched_continued_at();
	if (!ret && u >= 0 && !o.cont) {
		const struct segment *sg = &r.sched.seg[u];

		/* A point that never occurs is a schedule error, not "clean". */
		return bad("%s: schedule line %u: CPU %d never reached %s%s%s #%u (its program ended first)",
			   name, sg->line, sg->cpu, sg->what,
			   sg->func[0] ? " in " : "", sg->func, sg->count);
	}
	if (ret)
		fputs(res.report, stdout);
	if (o.cont) {
		if (cont_at >= 0)
			printf("continue: the schedule ended at event %lld; %s seed %llu ran the rest\n",
			       cont_at, o.strategy == STRAT_PCT ? "pct" : "random",
			       (unsigned long long)o.seed);
		else
			printf("continue: the schedule described the whole run\n");
	}
	if (o.out) {
		/* The whole run as a machine schedule: it replays as it ran. */
		r.sched = res.executed;
		r.title[0] = 0;
		if (ret)
			snprintf(r.title, sizeof(r.title), "%s", res.title);
		r.trace_hash = res.trace_hash;
		r.has_hash = true;
		if (repro_save(o.out, &r))
			return bad("cannot write %s: %s", o.out, strerror(errno));
		printf("repro: wrote %s   (migrace repro FILE)\n", o.out);
	}
	printf("trace: %#018llx\n", (unsigned long long)res.trace_hash);
	printf("repro: %s: %s (%llu events, %llu preemptions)\n", name,
	       ret ? "bug reproduced" : "clean", (unsigned long long)res.steps,
	       (unsigned long long)res.preemptions);
	return ret ? 1 : 0;
}

static int cmd_minimize(int argc, char **argv)
{
	struct cli_opts o;
	char err[512], cmdline[1024];
	size_t off;
	int ret;

	if (cli_parse(CLI_MINIMIZE, argc, argv, &o, err, sizeof(err)))
		return bad("%s", err);
	if (check_out_path(o.out))
		return 2;
	/* The output's header names the command that made it. */
	off = (size_t)snprintf(cmdline, sizeof(cmdline), "migrace minimize");
	for (int i = 0; i < argc && off < sizeof(cmdline); i++)
		off += (size_t)snprintf(cmdline + off, sizeof(cmdline) - off,
					" %s", argv[i]);
	ret = minimize_run(&o, cmdline, err, sizeof(err));
	if (ret == 2)
		return bad("%s", err);
	if (ret) {
		fprintf(stderr, "migrace: %s\n", err);
		return EXIT_CRASH;
	}
	return 0;
}

static int cmd_decode(int argc, char **argv)
{
	struct cli_opts o;
	static struct repro r;
	struct settings set = { 0 };
	char err[512], *data;
	size_t n;

	if (cli_parse(CLI_DECODE, argc, argv, &o, err, sizeof(err)))
		return bad("%s", err);
	/* The fuzz target's settings come from the environment. */
	if (cli_env(getenv("MIGRACE_REVERT"), getenv("MIGRACE_VARIANT"),
		    getenv("MIGRACE_ARCH"), getenv("MIGRACE_STRICT"), &set, err, sizeof(err)))
		return bad("%s", err);
	if (check_out_path(o.out))
		return 2;
	if (repro_read_file(o.file, 1 << 20, &data, &n, err, sizeof(err)))
		return bad("%s", err);
	decode_input((const u8 *)data, n, &r);
	free(data);
	r.settings = set;
	if (r.pct.on) {
		/*
		 * Run it as the fuzz target did and keep the executed
		 * schedule: the one that reported, or the last.
		 */
		static struct run_result res;

		fuzz_run_input(&r, &res, true);
		r.sched = res.executed;
		if (res.bug)
			snprintf(r.title, sizeof(r.title), "%s", res.title);
		r.trace_hash = res.trace_hash;
		r.has_hash = true;
	}
	if (repro_save(o.out, &r))
		return bad("cannot write %s: %s", o.out, strerror(errno));
	return 0;
}

/*
 * A repro file -> fuzz input bytes (engine/prog/decode.c), the inverse of
 * decode: seeds for the fuzz targets come from repro files.  A schedule
 * written with named points is run once and its executed (machine-form)
 * schedule encoded.  The settings stay out of the bytes: the fuzz targets
 * read them from MIGRACE_REVERT and the others.
 */
static int cmd_encode(int argc, char **argv)
{
	struct cli_opts o;
	static struct repro r;
	static struct run_result res;
	static u8 buf[64 * 1024];
	const char *name;
	char err[512];
	long n;
	FILE *f;

	if (cli_parse(CLI_ENCODE, argc, argv, &o, err, sizeof(err)))
		return bad("%s", err);
	name = strcmp(o.file, "-") ? o.file : "<stdin>";
	if (check_out_path(o.out))
		return 2;
	if (repro_load(o.file, &r, err, sizeof(err)))
		return bad("%s", err);
	if (repro_check_points(&r, name, err, sizeof(err)))
		return bad("%s", err);
	if (r.prog.ncpus < 2)
		return bad("%s: the fuzz input has 2 to 4 CPUs, the file has %d",
			   name, r.prog.ncpus);
	n = encode_input(&r, buf, sizeof(buf));
	if (n < 0) {
		/* Named points: the schedule the replay executed. */
		struct strategy st = { .kind = STRAT_REPLAY, .replay = &r.sched };

		run_program(&r.prog, &r.settings, &st, NULL, &res);
		r.sched = res.executed;
		n = encode_input(&r, buf, sizeof(buf));
	}
	if (n < 0)
		return bad("%s: the schedule is too long to encode", name);
	f = fopen(o.out, "wb");
	if (!f)
		return bad("cannot write %s: %s", o.out, strerror(errno));
	if (fwrite(buf, 1, (size_t)n, f) != (size_t)n || fclose(f)) {
		int e = errno;

		remove(o.out);
		return bad("cannot write %s: %s", o.out, strerror(e));
	}
	return 0;
}

int main(int argc, char **argv)
{
	install_crash_handlers();
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2)
		return bad("missing command (fixes, explore, repro, decode, encode, minimize); see 'migrace --help'");
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
	    !strcmp(argv[1], "help")) {
		fputs(usage_text, stdout);
		return 0;
	}
	if (!strcmp(argv[1], "fixes"))
		return argc == 2 ? cmd_fixes() : bad("fixes takes no arguments");
	if (!strcmp(argv[1], "explore"))
		return cmd_explore(argc - 2, argv + 2);
	if (!strcmp(argv[1], "repro"))
		return cmd_repro(argc - 2, argv + 2);
	if (!strcmp(argv[1], "decode"))
		return cmd_decode(argc - 2, argv + 2);
	if (!strcmp(argv[1], "encode"))
		return cmd_encode(argc - 2, argv + 2);
	if (!strcmp(argv[1], "minimize"))
		return cmd_minimize(argc - 2, argv + 2);
	if (!strcmp(argv[1], "stress"))
		return cmd_stress(argc - 2, argv + 2);
	return bad("unknown command '%.60s' (fixes, explore, repro, decode, encode, minimize, stress); see 'migrace --help'",
		   argv[1]);
}
