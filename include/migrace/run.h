/*
 * Running one program under the controlled scheduler (engine/sched +
 * engine/prog): set-up, the CPUs' programs, end-state checks, teardown.
 */
#ifndef MIGRACE_RUN_H
#define MIGRACE_RUN_H

#include <migrace/prog.h>

/* One seeded generator per run: no global RNG (determinism rule). */
struct rng {
	u64 s;
};

static inline u64 rng_next(struct rng *r)
{
	/* splitmix64 */
	u64 z = (r->s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static inline u32 rng_below(struct rng *r, u32 n)
{
	return n ? (u32)(rng_next(r) % n) : 0;
}

/*
 * STRAT_NONE is the baseline for overhead measurements: no scheduler, no
 * fibers; each CPU's program runs to completion in turn on the calling
 * thread and preemption points do nothing.
 */
/*
 * STRAT_STRESS: every CPU on its own pthread, truly concurrent (stress
 * mode, engine/sched/stress.c); nothing is recorded or replayable.
 */
enum strategy_kind { STRAT_PCT, STRAT_RANDOM, STRAT_REPLAY, STRAT_NONE,
		     STRAT_STRESS };

struct strategy {
	int kind;
	u64 seed;
	int depth;		/* PCT: d (d-1 change points) */
	u64 est_steps;		/* PCT: k, the expected run length */
	u64 est_sync;		/* PCT: expected number of release events */
	const struct schedule *replay;	/* STRAT_REPLAY */
	/*
	 * STRAT_REPLAY: where the schedule ends or stops matching the run,
	 * finish under @cont_kind (STRAT_PCT or STRAT_RANDOM, with @seed,
	 * @depth, @est_steps) instead of running the rest in CPU order.
	 */
	bool cont;
	int cont_kind;
	/*
	 * The caller reads no trace hash (explore's search loop, the fuzz
	 * targets): the run skips hashing its events, a fifth of the cost
	 * of a schedule, keeping them and recording the schedule, so
	 * run_result.trace_hash is 0, run_result.executed is empty and a
	 * report has no diagram.  Such a caller replays a run that
	 * reported (the same events) to get its hash and its diagram.
	 */
	bool no_hash;
};

#define REPORT_LEN 16384

struct run_result {
	bool bug;
	char title[200];
	char report[REPORT_LEN];	/* full text: title, details, diagram */
	u64 trace_hash;
	u64 steps;
	u64 sync_steps;		/* release events: unlocks and op returns */
	u64 preemptions;	/* switches away from a CPU that could run on */
	struct schedule executed;	/* machine form, replays this run */
};

struct run_options {
	bool trace;		/* print every event as it executes */
	FILE *trace_out;
};

/*
 * Called at every context switch with ids of the event the preempted CPU
 * executed last and of the one the resumed CPU executed last: the fuzz
 * target turns these pairs into coverage of interleavings.
 */
extern void (*sched_switch_hook)(u32 from, u32 to);
/*
 * Called when a CPU accesses a shared object (PTE slot, page flags or
 * counts, lock, an mm's page) whose last access was by another CPU, with
 * ids (event kind and point) of that access and of this one: reads-from
 * edges and lock hand-overs, the interleaving coverage of the fuzz target.
 */
extern void (*sched_pair_hook)(u32 first, u32 second);

int run_program(const struct program *p, const struct settings *s,
		const struct strategy *strat, const struct run_options *o,
		struct run_result *res);

/*
 * After a replay: the index of the first "until" segment whose CPU
 * finished its program without reaching the named point, or -1.  (A
 * segment whose CPU blocked ends early by design and is not counted.)
 */
int sched_unreached_segment(void);

/*
 * After a replay with strategy.cont: the event at which the seeded
 * strategy took over, or -1 if the schedule described the whole run.
 */
long long sched_continued_at(void);

/*
 * For unit tests that drive the emulated kernel directly, on one thread
 * and outside any schedule: reset the whole machine, and run @fn with
 * reports caught (returns 1 and fills @title if @fn made a report).
 */
void machine_reset(int ncpus);
int machine_call(void (*fn)(void *arg), void *arg, char *title, size_t len);

#endif
