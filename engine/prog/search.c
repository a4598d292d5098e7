/*
 * Feedback-guided program search (explore --search feedback): explore keeps a corpus of programs that reached new
 * interleavings, spends more schedules on them, and mutates them
 * (prog_mutate()) besides drawing fresh random programs.
 *
 * A feature is a pair of back-to-back accesses to one shared object by two
 * different CPUs - a PTE slot, a page's flags and counts, a lock hand-over
 * (the scheduler's sched_pair_hook) - keyed by the points of both events:
 * the reads-from and lock-order edges a race is made of.  Preemption
 * points of their own ((preempted, resumed) pairs) were tried as features
 * too: they keep growing with every schedule and drown the signal.
 *
 * Why (docs/benchmarks.md): once a program has the ops of a race, PCT
 * needs tens of schedules to hit its window, while explore gives each
 * program 4; a program whose first schedules reach a new cross-CPU pair is
 * more likely to have such ops, and gets SCHEDULES_NOVEL.  Measured, it
 * finds the races whose programs are rare faster and the common ones
 * slower (every early program is new and gets 32 schedules), so it is not
 * explore's default.  What is kept only
 * steers what runs next: every run starts from a clean machine, and a
 * report replays from its repro file alone.
 */
#include <string.h>

#include <migrace/prog.h>
#include <migrace/run.h>
#include <migrace/search.h>

#define FEATURE_BITS (1u << 20)
#define CORPUS_MAX 512
/* Schedules for a program whose first ones reached a new feature. */
#define SCHEDULES_NOVEL 32
/* A corpus entry mutated in 1 of MUTATE_ODDS programs, else a fresh one. */
#define MUTATE_ODDS 4

struct entry {
	struct program prog;
	u32 picked;	/* times mutated */
	u32 gain;	/* new features its runs brought */
};

static struct {
	u64 seen[FEATURE_BITS / 64];
	u32 nseen;
	u32 fresh;	/* new features in the current program's runs */
	struct entry corpus[CORPUS_MAX];
	int n;
} G;

static u32 mix(u32 a, u32 b)
{
	u32 h = (a * 0x9e3779b1u) ^ (b + 0x7f4a7c15u + (a << 6) + (a >> 2));

	return h ^ (h >> 15);
}

static void on_pair(u32 first, u32 second)
{
	u32 i = mix(first, second) & (FEATURE_BITS - 1);
	u64 bit = 1ULL << (i & 63);

	if (G.seen[i / 64] & bit)
		return;
	G.seen[i / 64] |= bit;
	G.nseen++;
	G.fresh++;
}

void search_init(void)
{
	memset(&G, 0, sizeof(G));
	sched_pair_hook = on_pair;
}

void search_exit(void)
{
	sched_pair_hook = NULL;
}

u32 search_features(void)
{
	return G.nseen;
}

int search_corpus_size(void)
{
	return G.n;
}

/*
 * Entries that brought more new features and were mutated less are
 * picked more often (the best of four drawn).
 */
static struct entry *pick(struct rng *r)
{
	struct entry *best = &G.corpus[rng_below(r, G.n)];

	for (int k = 0; k < 3; k++) {
		struct entry *c = &G.corpus[rng_below(r, G.n)];

		if ((u64)c->gain * (best->picked + 1) >
		    (u64)best->gain * (c->picked + 1))
			best = c;
	}
	return best;
}

void search_next(struct program *p, struct rng *r, int ncpus, int nops)
{
	struct entry *e;

	G.fresh = 0;
	if (!G.n || rng_below(r, MUTATE_ODDS)) {
		prog_generate(p, r, ncpus, nops);
		return;
	}
	e = pick(r);
	e->picked++;
	*p = e->prog;
	for (int m = 1 + rng_below(r, 4); m > 0; m--)
		prog_mutate(p, r, nops);
}

int search_schedules(int done, int base)
{
	return G.fresh && done == base ? SCHEDULES_NOVEL : done;
}

void search_done(const struct program *p, struct rng *r)
{
	struct entry *e;

	if (!G.fresh)
		return;
	if (G.n < CORPUS_MAX) {
		e = &G.corpus[G.n++];
	} else {
		/* Replace the least useful of four drawn. */
		e = &G.corpus[rng_below(r, G.n)];
		for (int k = 0; k < 3; k++) {
			struct entry *c = &G.corpus[rng_below(r, G.n)];

			if ((u64)c->gain * (e->picked + 1) <
			    (u64)e->gain * (c->picked + 1))
				e = c;
		}
	}
	e->prog = *p;
	e->picked = 0;
	e->gain = G.fresh;
}
