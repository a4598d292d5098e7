/*
 * The program generator and prog_mutate(): a mutated program is still one
 * the repro parser accepts as printed, keeps its CPUs, stays within the
 * op bound, has at most one exit and that last on its CPU; mutations do
 * change programs, and every kind of change happens (an op inserted, one
 * deleted, a set-up option flipped); a mutated program runs on the fixed
 * engine without a report.
 */
#include "harness.h"
#include "reparse.h"

#include <string.h>

#include <migrace/fixes.h>
#include <migrace/prog.h>
#include <migrace/run.h>
#include <migrace/search.h>

static struct repro ra, rb;
static struct run_result res;


static int total_ops(const struct program *p)
{
	int n = 0;

	for (int c = 0; c < p->ncpus; c++)
		n += p->nops[c];
	return n;
}

static bool exits_well_placed(const struct program *p)
{
	int exits = 0;

	for (int c = 0; c < p->ncpus; c++)
		for (int i = 0; i < p->nops[c]; i++)
			if (p->ops[c][i].kind == OP_EXIT) {
				exits++;
				if (i != p->nops[c] - 1)
					return false;
			}
	return exits <= 1;
}

TEST(mutations_keep_programs_legal)
{
	struct rng g = { 4242 };
	char err[512];
	int changed = 0, grew = 0, shrank = 0, setup = 0;

	for (int it = 0; it < 400; it++) {
		int nops = 1 + rng_below(&g, MAX_OPS);

		memset(&ra, 0, sizeof(ra));
		prog_generate(&ra.prog, &g, 2 + rng_below(&g, 3), nops);
		for (int m = 0; m < 20; m++) {
			struct program before = ra.prog;

			prog_mutate(&ra.prog, &g, nops);
			ASSERT_EQ(ra.prog.ncpus, before.ncpus);
			for (int c = 0; c < ra.prog.ncpus; c++)
				ASSERT_TRUE(ra.prog.nops[c] <= nops);
			if (!exits_well_placed(&ra.prog))
				repro_print(stderr, &ra);
			ASSERT_TRUE(exits_well_placed(&ra.prog));
			err[0] = 0;
			if (reparse(&ra, &rb, err, sizeof(err)))
				TH_LOG("iteration %d/%d: %s", it, m, err);
			ASSERT_EQ(err[0], 0);
			ASSERT_TRUE(repro_equal(&ra, &rb));
			changed += !!memcmp(&before, &ra.prog, sizeof(before));
			grew += total_ops(&ra.prog) > total_ops(&before);
			shrank += total_ops(&ra.prog) < total_ops(&before);
			setup += before.populate != ra.prog.populate ||
				 before.forked != ra.prog.forked ||
				 before.warm != ra.prog.warm;
		}
	}
	/* Some draws change nothing (a swap of an op with itself). */
	ASSERT_TRUE(changed > 400 * 20 * 3 / 4);
	ASSERT_TRUE(grew > 0);
	ASSERT_TRUE(shrank > 0);
	ASSERT_TRUE(setup > 0);
}

TEST(mutated_programs_run_clean_on_the_fixed_engine)
{
	struct rng g = { 99 };
	struct settings s = { 0 };

	for (int it = 0; it < 60; it++) {
		memset(&ra, 0, sizeof(ra));
		prog_generate(&ra.prog, &g, 2, 8);
		for (int m = rng_below(&g, 10); m >= 0; m--)
			prog_mutate(&ra.prog, &g, 8);
		struct strategy st = { .kind = STRAT_PCT,
				       .seed = rng_next(&g), .depth = 3 };

		ASSERT_EQ(run_program(&ra.prog, &s, &st, NULL, &res), 0);
	}
}

/*
 * explore's feedback search, as cmd_explore drives it: programs stay
 * legal, programs whose runs reached new pairs are kept (and so the
 * search mutates some), and one seed gives one sequence of programs.
 */
static u64 search_walk(u64 seed, int nprogs, int *kept, int *legal)
{
	struct rng g = { seed };
	struct settings s = { 0 };
	u64 h = 0;
	char err[512];

	search_init();
	*legal = 0;
	for (int it = 0; it < nprogs; it++) {
		int n = 4;

		memset(&ra, 0, sizeof(ra));
		search_next(&ra.prog, &g, 2, 8);
		*legal += !reparse(&ra, &rb, err, sizeof(err)) &&
			  repro_equal(&ra, &rb);
		for (int k = 0; k < n; k++) {
			struct strategy st = { .kind = STRAT_PCT,
					       .seed = rng_next(&g),
					       .depth = 3 };

			run_program(&ra.prog, &s, &st, NULL, &res);
			h = h * 31 + res.trace_hash;
			if (k + 1 == n)
				n = search_schedules(k + 1, 4);
		}
		search_done(&ra.prog, &g);
	}
	*kept = search_corpus_size();
	search_exit();
	return h;
}

TEST(feedback_search_keeps_programs_and_is_deterministic)
{
	int kept, legal, kept2, legal2;
	u64 a = search_walk(7, 150, &kept, &legal);
	u64 b = search_walk(7, 150, &kept2, &legal2);

	ASSERT_EQ(legal, 150);
	ASSERT_TRUE(kept > 0);
	ASSERT_TRUE(search_features() > 0);
	ASSERT_EQ(a, b);
	ASSERT_EQ(kept, kept2);
}

TEST_MAIN()
