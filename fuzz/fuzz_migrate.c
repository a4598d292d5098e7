/*
 * fuzz_migrate: one source for libFuzzer and AFL++ (afl-clang-fast with
 * -fsanitize=fuzzer).  The input bytes become the CPUs' programs and the
 * schedule (engine/prog/decode.c), run under the controlled scheduler.
 * A report aborts, so the fuzzer keeps the input; `migrace decode INPUT
 * -o FILE.repro` turns it into a repro file (with the same environment).
 *
 * Settings: MIGRACE_REVERT=fix[,fix...]|all|none, MIGRACE_VARIANT,
 * MIGRACE_ARCH, MIGRACE_STRICT=0|1 (or compiled in: MIGRACE_TARGET_*).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <migrace/fixes.h>
#include <migrace/prog.h>
#include <migrace/run.h>

#include "cli_opts.h"

static struct settings settings;

/*
 * Interleaving coverage: one 8-bit counter per (preempted event, resumed
 * event) pair, so a schedule that switches CPUs at a new place is new
 * coverage even when it runs no new code.
 */
#define SWITCH_COUNTERS 8192
/* libFuzzer reads this section as extra coverage counters. */
__attribute__((section("__libfuzzer_extra_counters"), used))
static uint8_t switch_counters[SWITCH_COUNTERS];

static void count_switch(u32 from, u32 to)
{
	u32 h = (from * 0x9e3779b1u) ^ (to + 0x7f4a7c15u + (from << 6));

	switch_counters[h % SWITCH_COUNTERS]++;
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

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[256], fixes[512];

	(void)argc, (void)argv;
	sched_switch_hook = count_switch;
	/* The same checks as `migrace decode` (tools/cli_opts.c). */
	if (cli_env(env_or("MIGRACE_REVERT", MIGRACE_TARGET_REVERT),
		    env_or("MIGRACE_VARIANT", MIGRACE_TARGET_VARIANT),
		    env_or("MIGRACE_ARCH", MIGRACE_TARGET_ARCH),
		    env_or("MIGRACE_STRICT", MIGRACE_TARGET_STRICT),
		    &settings, err, sizeof(err))) {
		fprintf(stderr, "fuzz_migrate: %s\n", err);
		exit(2);
	}
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
	struct strategy st;

	decode_input(data, size, &r);
	r.settings = settings;
	decode_strategy(&r, &st);
	if (run_program(&r.prog, &r.settings, &st, NULL, &res)) {
		fputs(res.report, stderr);
		fprintf(stderr, "trace: %#018llx\n",
			(unsigned long long)res.trace_hash);
		abort();
	}
	return 0;
}
