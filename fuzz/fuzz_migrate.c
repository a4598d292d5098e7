/*
 * fuzz_migrate: one source for libFuzzer and AFL++.  The input bytes
 * become the CPUs' programs and the schedule (engine/prog/decode.c), run
 * under the controlled scheduler.  A report aborts, so the fuzzer keeps the
 * input; `migrace decode INPUT -o FILE.repro` turns it into a repro file
 * (with the same environment), `migrace encode` makes inputs from repro
 * files (the seeds in corpus/fuzz_migrate/, dictionary
 * corpus/fuzz_migrate.dict: ci/make-seeds.sh).
 *
 * Built with MIGRACE_AFL_MAIN (the afl and afl-cmplog presets) it has its
 * own main() in AFL++'s persistent mode with a deferred fork server and
 * shared-memory test cases; otherwise libFuzzer's.  Every execution starts
 * from a machine reset in place (run_program()), so executions do not
 * leak into each other (tests/test_fuzz_input.c checks it) and libFuzzer's
 * -fork/-jobs and AFL++'s persistent loop see the same result for the same
 * input.
 *
 * Settings: MIGRACE_REVERT=fix[,fix...]|all|none, MIGRACE_VARIANT,
 * MIGRACE_ARCH, MIGRACE_STRICT=0|1 (or compiled in: MIGRACE_TARGET_*);
 * MIGRACE_INTERLEAVING=0 turns the interleaving coverage off (to measure
 * what it brings).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <migrace/fixes.h>
#include <migrace/prog.h>
#include <migrace/run.h>

#include "cli_opts.h"

static struct settings settings;

/*
 * Interleaving coverage, fed to the fuzzer besides code coverage:
 *  - one counter per (preempted event, resumed event) pair: a schedule
 *    that switches CPUs at a new place;
 *  - one counter per pair of back-to-back accesses to the same shared
 *    object by different CPUs (engine/sched/sched.c, sched_pair_hook):
 *    reads-from edges of PTEs, page flags and counts, and lock hand-overs.
 * So an input that reaches a new interleaving is kept even when it runs
 * no new code.  A counter says whether the pair occurred, not how often:
 * counts, summed over an input's PCT schedules, made one input in four
 * "new" and flooded the corpus the mutator draws from.  libFuzzer reads the counters from their section (it
 * clears them before each execution); AFL++ gets them as edges of its
 * map (cover() below).
 */
#define SWITCH_COUNTERS 4096
#define PAIR_COUNTERS 16384
#define NR_COUNTERS (SWITCH_COUNTERS + PAIR_COUNTERS)
__attribute__((section("__libfuzzer_extra_counters"), used))
static uint8_t interleave_counters[NR_COUNTERS];

#ifdef MIGRACE_AFL_MAIN
/*
 * AFL++: the counters become NR_COUNTERS edges of its own, registered as
 * one more module of sanitizer-coverage guards.  At constructor priority
 * 2, as the compiler's own coverage modules register theirs: before
 * AFL++'s runtime sizes its map (priority 3) and starts the fork server,
 * so the map has room for them.
 */
void __sanitizer_cov_trace_pc_guard_init(uint32_t *start, uint32_t *stop);
void __sanitizer_cov_trace_pc_guard(uint32_t *guard);
static uint32_t afl_guards[NR_COUNTERS];

__attribute__((constructor(2))) static void afl_guards_init(void)
{
	__sanitizer_cov_trace_pc_guard_init(afl_guards,
					    afl_guards + NR_COUNTERS);
}

static void cover(u32 i)
{
	__sanitizer_cov_trace_pc_guard(&afl_guards[i]);
}
#else
static void cover(u32 i)
{
	interleave_counters[i] = 1;	/* seen, not how often */
}
#endif

static u32 mix(u32 a, u32 b)
{
	u32 h = (a * 0x9e3779b1u) ^ (b + 0x7f4a7c15u + (a << 6) + (a >> 2));

	return h ^ (h >> 15);
}

static void count_switch(u32 from, u32 to)
{
	cover(mix(from, to) % SWITCH_COUNTERS);
}

static void count_pair(u32 first, u32 second)
{
	cover(SWITCH_COUNTERS + mix(first ^ 0x5bd1e995u, second) % PAIR_COUNTERS);
}

/*
 * A target built for one setting (ci/oss-fuzz/build.sh: OSS-Fuzz runs a
 * target without our environment) has it compiled in, e.g.
 * -DMIGRACE_TARGET_ARCH='"vivt"'; the environment still overrides it.
 */
#ifndef MIGRACE_TARGET_REVERT
#define MIGRACE_TARGET_REVERT NULL
#endif
#ifndef MIGRACE_TARGET_VARIANT
#define MIGRACE_TARGET_VARIANT NULL
#endif
#ifndef MIGRACE_TARGET_ARCH
#define MIGRACE_TARGET_ARCH NULL
#endif
#ifndef MIGRACE_TARGET_STRICT
#define MIGRACE_TARGET_STRICT NULL
#endif

static const char *env_or(const char *name, const char *built_in)
{
	const char *v = getenv(name);

	return v ? v : built_in;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#ifndef MIGRACE_AFL_MAIN
/*
 * libFuzzer's defaults for this target, put before the command line's own
 * flags (libFuzzer calls this first and reads the flags after; the last
 * of a flag given twice wins, so the command line still decides).
 * libFuzzer grows inputs slowly while it finds new features, and the
 * interleaving counters keep it finding them: inputs then stay at about
 * 20 bytes, too short for the three or four ops of a race.  Without the
 * length control, up to 128 bytes (now 256: four CPUs of eight ops),
 * device-pages-skip-empty took 3,273 to
 * 7,253 executions over seeds 1..3 instead of 68,845 to 92,384
 * (docs/benchmarks.md).  The structure-aware mutator's inputs each run
 * four PCT schedules, and nearly every one reaches a new interleaving
 * counter: libFuzzer's entropic input scheduling, which keeps a frequency
 * for every rare feature, then took most of the time (three times the
 * executions per second without it).  For the same reason a hit count of
 * a block is no feature here (-use_counters=0: how often a loop ran
 * varies with the schedule, and every new count was a new input), and
 * inputs are not replaced by shorter ones with the same features
 * (-reduce_inputs=0: a check of every feature of every execution).
 */
static void default_flags(int *argc, char ***argv)
{
	static const char *const defaults[] = { "-len_control=0",
						"-max_len=256",
						"-entropic=0",
						"-use_counters=0",
						"-reduce_inputs=0" };
	static char *args[256];
	int n = 0;

	if (*argc < 1 || *argc + (int)ARRAY_SIZE(defaults) >= (int)ARRAY_SIZE(args))
		return;
	args[n++] = (*argv)[0];
	for (size_t i = 0; i < ARRAY_SIZE(defaults); i++)
		args[n++] = (char *)defaults[i];
	for (int i = 1; i < *argc; i++)
		args[n++] = (*argv)[i];
	args[n] = NULL;
	*argc = n;
	*argv = args;
}
#endif

static unsigned long inputs;

/*
 * An execution (an input) runs up to four schedules of its program: the
 * fuzzer's executions per second and the schedules per second are both
 * figures of the throughput (docs/benchmarks.md).
 */
static void print_schedules(void)
{
	if (inputs)
		fprintf(stderr, "fuzz_migrate: %lu inputs, %lu schedules (%.2f per input)\n",
			inputs, fuzz_schedules, (double)fuzz_schedules / inputs);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[256], fixes[512];

#ifndef MIGRACE_AFL_MAIN
	default_flags(argc, argv);
#endif
	/* MIGRACE_INTERLEAVING=0: code coverage only (for measurements) */
	if (!getenv("MIGRACE_INTERLEAVING") ||
	    strcmp(getenv("MIGRACE_INTERLEAVING"), "0")) {
		sched_switch_hook = count_switch;
		sched_pair_hook = count_pair;
	}
	/* The same checks as `migrace decode` (tools/cli_opts.c). */
	if (cli_env(env_or("MIGRACE_REVERT", MIGRACE_TARGET_REVERT),
		    env_or("MIGRACE_VARIANT", MIGRACE_TARGET_VARIANT),
		    env_or("MIGRACE_ARCH", MIGRACE_TARGET_ARCH),
		    env_or("MIGRACE_STRICT", MIGRACE_TARGET_STRICT),
		    &settings, err, sizeof(err))) {
		fprintf(stderr, "fuzz_migrate: %s\n", err);
		exit(2);
	}
	atexit(print_schedules);
	fixes_format(settings.reverted, fixes, sizeof(fixes));
	/* In the fuzzer's log: what a crash must be decoded with. */
	fprintf(stderr, "fuzz_migrate: settings: variant %s, arch %s%s, revert %s\n",
		settings.variant == VARIANT_RFC_UNIFIED ? "rfc-unified" : "upstream",
		settings.arch == ARCH_VIVT ? "vivt" : "x86",
		settings.strict ? ", strict" : "", fixes);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct repro r;
	static struct run_result res;

	inputs++;
	decode_input(data, size, &r);
	r.settings = settings;
	/*
	 * Unhashed (a fifth of an execution); a report runs the input again
	 * hashing, the same executions, for the trace line.
	 */
	if (fuzz_run_input(&r, &res, false)) {
		fuzz_run_input(&r, &res, true);
		fputs(res.report, stderr);
		fprintf(stderr, "trace: %#018llx\n",
			(unsigned long long)res.trace_hash);
		abort();
	}
	return 0;
}

#ifndef MIGRACE_AFL_MAIN
/*
 * libFuzzer mutates programs, not bytes (engine/prog/decode.c,
 * fuzz_mutate()): a new random program, prog_mutate() steps, a change of
 * the PCT runs, and for a minority its own byte mutations (with the
 * dictionary).  Only the libFuzzer runtime has LLVMFuzzerMutate(); in
 * tests/fuzz_run it is absent and these hooks are not called.
 */
size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max)
	__attribute__((weak));
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max,
			       unsigned int seed);
size_t LLVMFuzzerCustomCrossOver(const uint8_t *a, size_t na,
				 const uint8_t *b, size_t nb, uint8_t *out,
				 size_t max, unsigned int seed);

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max,
			       unsigned int seed)
{
	return fuzz_mutate(data, size, max, seed,
			   LLVMFuzzerMutate ? LLVMFuzzerMutate : NULL);
}

size_t LLVMFuzzerCustomCrossOver(const uint8_t *a, size_t na,
				 const uint8_t *b, size_t nb, uint8_t *out,
				 size_t max, unsigned int seed)
{
	return fuzz_crossover(a, na, b, nb, out, max, seed);
}
#endif

#ifdef MIGRACE_AFL_MAIN
__AFL_FUZZ_INIT();

/* Outside afl-fuzz: run each FILE argument once (or standard input). */
static int run_files(int argc, char **argv)
{
	static uint8_t buf[1 << 20];

	for (int i = 1; i < argc; i++) {
		FILE *f = fopen(argv[i], "rb");
		size_t n;

		if (!f) {
			fprintf(stderr, "fuzz_migrate: cannot open %s\n", argv[i]);
			return 2;
		}
		n = fread(buf, 1, sizeof(buf), f);
		fclose(f);
		LLVMFuzzerTestOneInput(buf, n);
	}
	return 0;
}

int main(int argc, char **argv)
{
	unsigned char *buf;

	LLVMFuzzerInitialize(&argc, &argv);
	if (argc > 1 && !getenv("__AFL_SHM_ID"))
		return run_files(argc, argv);
	__AFL_INIT();
	buf = __AFL_FUZZ_TESTCASE_BUF;
	while (__AFL_LOOP(100000))
		LLVMFuzzerTestOneInput(buf, __AFL_FUZZ_TESTCASE_LEN);
	return 0;
}
#endif
