/*
 * bench_overhead: cost of the controlled scheduler against running the same
 * programs unscheduled (each CPU's ops to completion in turn, preemption
 * points inert).  DESIGN.md's target is at most 3x.  Not a test: run by
 * ci/bench.sh.
 */
#include <stdio.h>
#include <time.h>

#include <migrace/run.h>

#define PROGRAMS 20000

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double time_runs(int kind, unsigned long long *events)
{
	static struct program p;
	static struct run_result res;
	struct settings set = { 0 };
	struct rng r = { 12345 };
	double t0 = now();

	*events = 0;
	for (int i = 0; i < PROGRAMS; i++) {
		struct strategy st = { .kind = kind, .seed = i + 1, .depth = 3 };

		prog_generate(&p, &r, 2, 4);
		run_program(&p, &set, &st, NULL, &res);
		*events += res.steps;
	}
	return now() - t0;
}

int main(void)
{
	unsigned long long ev_none, ev_pct, ev_rand;
	double none = time_runs(STRAT_NONE, &ev_none);
	double pct = time_runs(STRAT_PCT, &ev_pct);
	double rnd = time_runs(STRAT_RANDOM, &ev_rand);

	printf("%d programs: unscheduled %.2f s, PCT %.2f s (%.2fx, %llu events), random %.2f s (%.2fx, %llu events)\n",
	       PROGRAMS, none, pct, pct / none, ev_pct, rnd, rnd / none,
	       ev_rand);
	return 0;
}
