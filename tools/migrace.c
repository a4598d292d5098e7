/*
 * migrace: the command line (see DESIGN.md "Command line").
 * Exit status: 0 nothing found / clean replay, 1 a bug was found or
 * reproduced, 2 bad usage or a bad input file.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <migrace/fixes.h>
#include <migrace/prog.h>
#include <migrace/run.h>

static int usage(const char *why)
{
	if (why)
		fprintf(stderr, "migrace: %s\n", why);
	fprintf(stderr,
		"usage: migrace fixes\n"
		"       migrace explore [--strategy pct|random] [--depth D] [--runs N | --budget SECONDS]\n"
		"                       [--seed S] [--cpus N] [--ops N] [--revert FIX[,FIX...]|all|none]\n"
		"                       [--variant upstream|rfc-unified] [--arch x86|vivt] [--strict] [-o REPRO]\n"
		"                       [--program REPRO]  (explore the schedules of one program) [-v]\n"
		"       migrace repro FILE [--revert ...] [--variant ...] [--arch ...] [--trace]\n"
		"       migrace decode FUZZ_INPUT -o REPRO\n"
		"       migrace minimize FILE -o OUT\n"
		"       migrace stress [--cpus N] [--duration SECONDS] [--seed S] [--revert ...]\n");
	return 2;
}

struct opts {
	int strategy;
	int depth;
	long runs;
	double budget;
	u64 seed;
	int cpus;
	int ops;
	bool have_revert, have_variant, have_arch;
	struct settings set;
	bool trace;
	bool verbose;
	const char *out;
	const char *file;
	const char *program;
};

static int parse_u64(const char *s, u64 *v)
{
	char *end;

	errno = 0;
	*v = strtoull(s, &end, 0);
	return errno || *end || !*s ? -1 : 0;
}

static int parse_opts(int argc, char **argv, struct opts *o, bool want_file)
{
	memset(o, 0, sizeof(*o));
	o->strategy = STRAT_PCT;
	o->depth = 3;
	o->cpus = 2;
	o->ops = 4;
	o->seed = 1;
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		u64 n;

#define NEED_ARG() do { if (!v) return usage("missing option argument"); i++; } while (0)
		if (!strcmp(a, "--strategy")) {
			NEED_ARG();
			if (!strcmp(v, "pct"))
				o->strategy = STRAT_PCT;
			else if (!strcmp(v, "random"))
				o->strategy = STRAT_RANDOM;
			else
				return usage("--strategy takes pct or random");
		} else if (!strcmp(a, "--depth") || !strcmp(a, "--runs") ||
			   !strcmp(a, "--seed") || !strcmp(a, "--cpus") ||
			   !strcmp(a, "--ops") || !strcmp(a, "--budget") ||
			   !strcmp(a, "--duration")) {
			NEED_ARG();
			if (parse_u64(v, &n))
				return usage("option needs a number");
			if (!strcmp(a, "--depth"))
				o->depth = (int)n;
			else if (!strcmp(a, "--runs"))
				o->runs = (long)n;
			else if (!strcmp(a, "--seed"))
				o->seed = n;
			else if (!strcmp(a, "--cpus"))
				o->cpus = (int)n;
			else if (!strcmp(a, "--ops"))
				o->ops = (int)n;
			else
				o->budget = (double)n;
		} else if (!strcmp(a, "--revert")) {
			NEED_ARG();
			if (fixes_parse(v, &o->set.reverted))
				return usage("--revert: unknown fix (see `migrace fixes`)");
			o->have_revert = true;
		} else if (!strcmp(a, "--variant")) {
			NEED_ARG();
			if (!strcmp(v, "upstream"))
				o->set.variant = VARIANT_UPSTREAM;
			else if (!strcmp(v, "rfc-unified"))
				return usage("--variant rfc-unified is not implemented yet");
			else
				return usage("--variant takes upstream or rfc-unified");
			o->have_variant = true;
		} else if (!strcmp(a, "--arch")) {
			NEED_ARG();
			if (!strcmp(v, "x86"))
				o->set.arch = ARCH_X86;
			else if (!strcmp(v, "vivt"))
				return usage("--arch vivt is not implemented yet");
			else
				return usage("--arch takes x86 or vivt");
			o->have_arch = true;
		} else if (!strcmp(a, "--strict")) {
			o->set.strict = true;
		} else if (!strcmp(a, "--trace")) {
			o->trace = true;
		} else if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
			o->verbose = true;
		} else if (!strcmp(a, "--program")) {
			NEED_ARG();
			o->program = v;
		} else if (!strcmp(a, "-o")) {
			NEED_ARG();
			o->out = v;
		} else if (a[0] == '-') {
			fprintf(stderr, "migrace: unknown option %s\n", a);
			return 2;
		} else if (want_file && !o->file) {
			o->file = a;
		} else {
			return usage("unexpected argument");
		}
	}
	if (o->cpus < 2 || o->cpus > NR_CPUS)
		return usage("--cpus must be 2..4");
	if (o->ops < 1 || o->ops > MAX_OPS)
		return usage("--ops must be 1..16");
	if (o->depth < 1 || o->depth > 8)
		return usage("--depth must be 1..8");
	if (o->set.strict)
		fprintf(stderr, "migrace: note: --strict (accessed/dirty preservation) has no checks yet\n");
	return 0;
}

static double now_s(void)
{
	struct timespec ts;

	/* Only to stop at --budget; never feeds an execution. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmd_fixes(void)
{
	for (int i = 0; i < NR_FIXES; i++)
		printf("%-26s %s  %s\n", fix_table[i].name, fix_table[i].date,
		       fix_table[i].title);
	return 0;
}

static void slug(const char *title, char *out, size_t len)
{
	size_t j = 0;

	for (size_t i = 0; title[i] && j + 1 < len && j < 40; i++) {
		char c = title[i];

		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
			out[j++] = c;
		else if (c >= 'A' && c <= 'Z')
			out[j++] = (char)(c - 'A' + 'a');
		else if (j && out[j - 1] != '-')
			out[j++] = '-';
		if (c == ':' || c == '(')
			break;
	}
	while (j && out[j - 1] == '-')
		j--;
	out[j] = 0;
}

static int cmd_explore(int argc, char **argv)
{
	struct opts o;
	static struct repro r;
	static struct run_result res;
	struct rng prog_rng;
	long programs = 0, schedules = 0;
	double t0 = now_s();
	int ret = parse_opts(argc, argv, &o, false);

	if (ret)
		return ret;
	static struct repro fixed;

	if (!o.runs && !o.budget)
		o.runs = 1000000;	/* about 15 s */
	prog_rng.s = o.seed;
	if (o.program) {
		char err[256];

		if (repro_load(o.program, &fixed, err, sizeof(err))) {
			fprintf(stderr, "migrace: %s\n", err);
			return 2;
		}
		if (!o.have_revert)
			o.set.reverted = fixed.settings.reverted;
	}
	for (;;) {
		u64 est = 0, est_sync = 0;

		if ((o.runs && schedules >= o.runs) ||
		    (o.budget && now_s() - t0 >= o.budget))
			break;
		memset(&r, 0, sizeof(r));
		r.settings = o.set;
		if (o.program)
			r.prog = fixed.prog;	/* its schedules only */
		else
			prog_generate(&r.prog, &prog_rng, o.cpus, o.ops);
		programs++;
		for (int k = 0; k < 16; k++) {
			struct strategy st = {
				.kind = o.strategy,
				.seed = rng_next(&prog_rng),
				.depth = o.depth,
				.est_steps = est,
				.est_sync = est_sync,
			};

			schedules++;
			ret = run_program(&r.prog, &r.settings, &st, NULL, &res);
			if (o.verbose)
				printf("program %ld schedule %d: %s, %llu events, trace %#018llx\n",
				       programs, k, ret ? "BUG" : "clean",
				       (unsigned long long)res.steps,
				       (unsigned long long)res.trace_hash);
			if (ret) {
				char path[256], name[64];

				r.sched = res.executed;
				snprintf(r.title, sizeof(r.title), "%s", res.title);
				r.trace_hash = res.trace_hash;
				r.has_hash = true;
				if (o.out) {
					snprintf(path, sizeof(path), "%s", o.out);
				} else {
					slug(res.title, name, sizeof(name));
					mkdir("corpus", 0777);
					mkdir("corpus/crashes", 0777);
					snprintf(path, sizeof(path),
						 "corpus/crashes/%s-%06llx.repro",
						 name,
						 (unsigned long long)(res.trace_hash & 0xffffff));
				}
				fputs(res.report, stdout);
				if (repro_save(path, &r))
					fprintf(stderr, "migrace: cannot write %s\n", path);
				printf("repro: %s   (migrace repro FILE)\n", path);
				printf("trace: %#018llx\n",
				       (unsigned long long)res.trace_hash);
				printf("explore: bug found after %ld programs, %ld schedules, %.1f s (seed %llu)\n",
				       programs, schedules, now_s() - t0,
				       (unsigned long long)o.seed);
				return 1;
			}
			if (res.steps > est)
				est = res.steps;
			if (res.sync_steps > est_sync)
				est_sync = res.sync_steps;
			if ((o.runs && schedules >= o.runs))
				break;
		}
	}
	printf("explore: no bug found in %ld programs, %ld schedules, %.1f s (seed %llu)\n",
	       programs, schedules, now_s() - t0, (unsigned long long)o.seed);
	return 0;
}

static int cmd_repro(int argc, char **argv)
{
	struct opts o;
	static struct repro r;
	static struct run_result res;
	struct run_options ro = { 0 };
	struct strategy st = { .kind = STRAT_REPLAY };
	char err[256];
	int ret = parse_opts(argc, argv, &o, true);

	if (ret)
		return ret;
	if (!o.file)
		return usage("repro needs a FILE");
	if (repro_load(o.file, &r, err, sizeof(err))) {
		fprintf(stderr, "migrace: %s\n", err);
		return 2;
	}
	if (r.settings.variant != VARIANT_UPSTREAM && !o.have_variant) {
		fprintf(stderr, "migrace: %s: variant rfc-unified is not implemented yet\n",
			o.file);
		return 2;
	}
	if (r.settings.arch != ARCH_X86 && !o.have_arch) {
		fprintf(stderr, "migrace: %s: arch vivt is not implemented yet\n",
			o.file);
		return 2;
	}
	if (o.have_revert)
		r.settings.reverted = o.set.reverted;
	if (o.have_variant)
		r.settings.variant = o.set.variant;
	if (o.have_arch)
		r.settings.arch = o.set.arch;
	if (o.set.strict)
		r.settings.strict = true;
	st.replay = &r.sched;
	ro.trace = o.trace;
	ret = run_program(&r.prog, &r.settings, &st, &ro, &res);
	if (ret)
		fputs(res.report, stdout);
	printf("trace: %#018llx\n", (unsigned long long)res.trace_hash);
	printf("repro: %s: %s (%llu events)\n", o.file,
	       ret ? "bug reproduced" : "clean", (unsigned long long)res.steps);
	return ret ? 1 : 0;
}

static int cmd_decode(int argc, char **argv)
{
	struct opts o;
	static struct repro r;
	static u8 buf[1 << 16];
	size_t n;
	FILE *f;
	int ret = parse_opts(argc, argv, &o, true);

	if (ret)
		return ret;
	if (!o.file || !o.out)
		return usage("decode needs FUZZ_INPUT and -o REPRO");
	f = fopen(o.file, "rb");
	if (!f) {
		fprintf(stderr, "migrace: %s: %s\n", o.file, strerror(errno));
		return 2;
	}
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	decode_input(buf, n, &r);
	/* The fuzz target's settings come from the environment. */
	if (getenv("MIGRACE_REVERT") &&
	    fixes_parse(getenv("MIGRACE_REVERT"), &r.settings.reverted)) {
		fprintf(stderr, "migrace: MIGRACE_REVERT: unknown fix\n");
		return 2;
	}
	if (r.pct.on) {
		/* Run it as the fuzz target did and keep the executed schedule. */
		static struct run_result res;
		struct strategy st;

		decode_strategy(&r, &st);
		run_program(&r.prog, &r.settings, &st, NULL, &res);
		r.sched = res.executed;
		if (res.bug)
			snprintf(r.title, sizeof(r.title), "%s", res.title);
		r.trace_hash = res.trace_hash;
		r.has_hash = true;
	}
	if (repro_save(o.out, &r)) {
		fprintf(stderr, "migrace: cannot write %s\n", o.out);
		return 2;
	}
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2)
		return usage(NULL);
	if (!strcmp(argv[1], "fixes"))
		return argc == 2 ? cmd_fixes() : usage("fixes takes no arguments");
	if (!strcmp(argv[1], "explore"))
		return cmd_explore(argc - 2, argv + 2);
	if (!strcmp(argv[1], "repro"))
		return cmd_repro(argc - 2, argv + 2);
	if (!strcmp(argv[1], "decode"))
		return cmd_decode(argc - 2, argv + 2);
	if (!strcmp(argv[1], "minimize") || !strcmp(argv[1], "stress")) {
		fprintf(stderr, "migrace: '%s' is not implemented yet\n", argv[1]);
		return 2;
	}
	return usage("unknown command");
}
