/*
 * The fuzz input format (engine/prog/decode.c) and the fuzz targets'
 * contract: any bytes decode to a program the repro parser accepts as
 * printed, encode_input() inverts decode_input(), the streams are
 * independent (a change to one CPU's ops or to the schedule leaves the
 * rest as decoded before), the seed corpus has every op kind and is what
 * ci/make-seeds.sh makes today, and the machine resets in place: the same
 * input run twice in one process, with other inputs between, gives the
 * same result (what libFuzzer's -fork/-jobs and AFL++'s persistent loop
 * rely on).
 */
#include "harness.h"
#include "reparse.h"

#include <dirent.h>
#include <string.h>

#include <migrace/fixes.h>
#include <migrace/prog.h>
#include <migrace/run.h>

#ifndef MIGRACE_SOURCE_DIR
#define MIGRACE_SOURCE_DIR "."
#endif

static struct repro ra, rb;
static struct run_result res;
static u8 buf[1 << 16], buf2[1 << 16];

static void fill(struct rng *g, u8 *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		u32 v = (u32)rng_next(g);

		/* more separators and record leads than uniform bytes give */
		b[i] = (v >> 8) % 8 ? (u8)v : (v >> 16) % 2 ? 0xff : 0x80 | (v >> 20) % 24;
	}
}


TEST(any_bytes_decode_to_a_legal_program)
{
	struct rng g = { 12345 };
	char err[512];

	for (int it = 0; it < 3000; it++) {
		size_t n = rng_below(&g, 200);

		fill(&g, buf, n);
		decode_input(buf, n, &ra);
		ASSERT_TRUE(ra.prog.ncpus >= 2 && ra.prog.ncpus <= 4);
		err[0] = 0;
		if (reparse(&ra, &rb, err, sizeof(err)))
			TH_LOG("input %d: %s", it, err);
		ASSERT_EQ(err[0], 0);
		ASSERT_TRUE(repro_equal(&ra, &rb));
	}
}

TEST(encode_inverts_decode)
{
	struct rng g = { 777 };

	for (int it = 0; it < 2000; it++) {
		long n;

		memset(&ra, 0, sizeof(ra));
		prog_generate(&ra.prog, &g, 2 + rng_below(&g, 3),
			      1 + rng_below(&g, MAX_OPS));
		for (int i = rng_below(&g, 40); i > 0; i--) {
			struct segment *sg = &ra.sched.seg[ra.sched.nseg++];

			sg->cpu = rng_below(&g, ra.prog.ncpus);
			sg->kind = rng_below(&g, 3) ? SEG_STEPS :
				   rng_below(&g, 2) ? SEG_RELEASES : SEG_END;
			sg->count = sg->kind == SEG_END ? 0 :
				    1 + rng_below(&g, 1000);
		}
		n = encode_input(&ra, buf, sizeof(buf));
		ASSERT_TRUE(n > 0);
		decode_input(buf, (size_t)n, &rb);
		ASSERT_TRUE(repro_equal(&ra, &rb));
	}
}

/* PCT mode: the runs' fields survive encode and decode as they are. */
TEST(encode_inverts_decode_pct)
{
	struct rng g = { 31337 };
	static const u64 ests[] = { 128, 256, 384, 512, 768, 1024, 1536, 2048 };

	for (int it = 0; it < 1000; it++) {
		long n;

		memset(&ra, 0, sizeof(ra));
		prog_generate(&ra.prog, &g, 2 + rng_below(&g, 3), 8);
		ra.pct.on = true;
		ra.pct.seed = rng_next(&g) & 0xfefefefe;	/* 0xff: 0xfe */
		ra.pct.depth = 1 + rng_below(&g, 4);
		ra.pct.schedules = 1 + rng_below(&g, 4);
		ra.pct.est_steps = ests[rng_below(&g, 8)];
		n = encode_input(&ra, buf, sizeof(buf));
		ASSERT_TRUE(n > 0);
		decode_input(buf, (size_t)n, &rb);
		ASSERT_TRUE(repro_equal(&ra, &rb));
		ASSERT_TRUE(rb.pct.on);
		ASSERT_EQ(rb.pct.seed, ra.pct.seed);
		ASSERT_EQ(rb.pct.depth, ra.pct.depth);
		ASSERT_EQ(rb.pct.schedules, ra.pct.schedules);
		ASSERT_EQ(rb.pct.est_steps, ra.pct.est_steps);
	}
}

/*
 * The custom mutators' outputs fit, decode to legal programs and are
 * what they encode (a mutated input re-encodes to itself); from an empty
 * input they make programs.
 */
TEST(mutators_make_legal_inputs)
{
	struct rng g = { 2024 };
	size_t n = 0, m;
	int with_ops = 0;
	char err[512];

	for (int it = 0; it < 3000; it++) {
		if (rng_below(&g, 3)) {
			n = fuzz_mutate(buf, n, 256, rng_next(&g), NULL);
		} else {
			fill(&g, buf2, rng_below(&g, 120));
			n = fuzz_crossover(buf, n, buf2, rng_below(&g, 120),
					   buf, 256, rng_next(&g)) ?: n;
		}
		ASSERT_TRUE(n <= 256);
		decode_input(buf, n, &ra);
		err[0] = 0;
		if (reparse(&ra, &rb, err, sizeof(err)))
			TH_LOG("mutation %d: %s", it, err);
		ASSERT_EQ(err[0], 0);
		ASSERT_TRUE(ra.pct.on);
		m = (size_t)encode_input(&ra, buf2, sizeof(buf2));
		ASSERT_EQ(m, n);
		ASSERT_EQ(memcmp(buf, buf2, n), 0);
		for (int c = 0; c < ra.prog.ncpus; c++)
			with_ops += ra.prog.nops[c] > 0;
	}
	ASSERT_TRUE(with_ops > 3000);
}

/* Which CPU stream a byte of an encoded input belongs to (-1: header). */
static int stream_at(const u8 *b, size_t n, size_t at)
{
	int tag = -1;

	for (size_t i = 0; i + 1 < n && i < at; i++)
		if (b[i] == 0xff && b[i + 1] >= 0xf8) {
			if (i + 1 >= at)
				return -2;	/* the separator itself */
			tag = b[i + 1] & 7;
			i += 1;
		}
	return tag;
}

TEST(streams_are_independent)
{
	struct rng g = { 4242 };

	for (int it = 0; it < 1000; it++) {
		long n;
		size_t at;
		int s;

		memset(&ra, 0, sizeof(ra));
		prog_generate(&ra.prog, &g, 2 + rng_below(&g, 3), 8);
		for (int i = 1 + rng_below(&g, 10); i > 0; i--) {
			struct segment *sg = &ra.sched.seg[ra.sched.nseg++];

			sg->cpu = rng_below(&g, ra.prog.ncpus);
			sg->kind = SEG_STEPS;
			sg->count = 1 + rng_below(&g, 100);
		}
		n = encode_input(&ra, buf, sizeof(buf));
		ASSERT_TRUE(n > 4);
		decode_input(buf, (size_t)n, &ra);	/* the decoded form */
		/* insert one byte (not a separator) inside one stream */
		at = 2 + rng_below(&g, (u32)n - 2);
		s = stream_at(buf, (size_t)n, at);
		if (s < 0 || buf[at - 1] == 0xff)
			continue;
		memcpy(buf2, buf, at);
		buf2[at] = (u8)rng_below(&g, 0xff);
		memcpy(buf2 + at + 1, buf + at, (size_t)n - at);
		decode_input(buf2, (size_t)n + 1, &rb);
		ASSERT_EQ(rb.prog.ncpus, ra.prog.ncpus);
		for (int c = 0; c < ra.prog.ncpus; c++) {
			if (c == s)
				continue;
			/* the other CPUs' ops are as they were */
			ASSERT_EQ(rb.prog.nops[c], ra.prog.nops[c]);
			ASSERT_EQ(memcmp(rb.prog.ops[c], ra.prog.ops[c],
					 sizeof(struct op) * ra.prog.nops[c]), 0);
		}
		if (s < 4) {
			ASSERT_EQ(rb.sched.nseg, ra.sched.nseg);
			ASSERT_EQ(memcmp(rb.sched.seg, ra.sched.seg,
					 sizeof(struct segment) * ra.sched.nseg), 0);
		} else {
			ASSERT_TRUE(memcmp(rb.prog.ops, ra.prog.ops,
					   sizeof(ra.prog.ops)) == 0);
		}
		/* truncation keeps a prefix of the last stream's records */
		decode_input(buf, (size_t)n - 1, &rb);
		ASSERT_EQ(rb.prog.ncpus, ra.prog.ncpus);
		ASSERT_EQ(rb.prog.nops[0] <= ra.prog.nops[0], 1);
	}
}

/* Reads every seed file; calls fn on each. */
static int for_each_seed(void (*fn)(const char *name, const u8 *b, size_t n,
				    void *arg), void *arg)
{
	const char *dir = MIGRACE_SOURCE_DIR "/corpus/fuzz_migrate";
	DIR *d = opendir(dir);
	struct dirent *e;
	int count = 0;

	if (!d)
		return -1;
	while ((e = readdir(d))) {
		char path[4096];
		FILE *f;
		size_t n;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		f = fopen(path, "rb");
		if (!f)
			continue;
		n = fread(buf, 1, sizeof(buf), f);
		fclose(f);
		fn(e->d_name, buf, n, arg);
		count++;
	}
	closedir(d);
	return count;
}

static void kinds_of(const char *name, const u8 *b, size_t n, void *arg)
{
	bool *seen = arg;

	decode_input(b, n, &ra);
	for (int c = 0; c < ra.prog.ncpus; c++)
		for (int i = 0; i < ra.prog.nops[c]; i++)
			seen[ra.prog.ops[c][i].kind] = true;
}

TEST(seed_corpus_has_every_op_kind)
{
	bool seen[NR_OP_KINDS] = { false };

	ASSERT_TRUE(for_each_seed(kinds_of, seen) > 0);
	for (int k = 0; k < NR_OP_KINDS; k++) {
		if (!seen[k])
			TH_LOG("no seed in corpus/fuzz_migrate has op %s: add corpus/fuzz_seeds/%s.repro and run ci/make-seeds.sh",
			       op_name(k), op_name(k));
		ASSERT_TRUE(seen[k]);
	}
}

/*
 * A seed made from corpus/fuzz_seeds/<op>.repro, corpus/regressions/<fix>.repro
 * or corpus/reports/<fix>.repro still encodes that file's program (the
 * schedule of a report is the executed one, so only programs compare).
 */
static void seed_current(const char *name, const u8 *b, size_t n, void *arg)
{
	static const struct {
		const char *prefix, *dir;
	} from[] = {
		{ "seed-", "fuzz_seeds" },
		{ "regression-", "regressions" },
		{ "report-", "reports" },
	};
	int *stale = arg;
	char path[4096], err[512];
	size_t i, pl = 0;

	for (i = 0; i < ARRAY_SIZE(from); i++) {
		pl = strlen(from[i].prefix);
		if (!strncmp(name, from[i].prefix, pl))
			break;
	}
	if (i == ARRAY_SIZE(from)) {
		TH_LOG("corpus/fuzz_migrate/%s: not made by ci/make-seeds.sh",
		       name);
		(*stale)++;
		return;
	}
	snprintf(path, sizeof(path), "%s/corpus/%s/%s.repro",
		 MIGRACE_SOURCE_DIR, from[i].dir, name + pl);
	decode_input(b, n, &ra);
	if (repro_load(path, &rb, err, sizeof(err))) {
		TH_LOG("%s: %s", name, err);
		(*stale)++;
		return;
	}
	rb.settings = ra.settings;
	/* A report's schedule, or a named-point one, encodes as executed. */
	if (i >= 1)
		rb.sched = ra.sched;
	if (ra.pct.on || !repro_equal(&ra, &rb)) {
		TH_LOG("corpus/fuzz_migrate/%s is stale: run ci/make-seeds.sh",
		       name);
		(*stale)++;
	}
}

TEST(seed_corpus_is_current)
{
	int stale = 0;

	ASSERT_TRUE(for_each_seed(seed_current, &stale) > 0);
	ASSERT_EQ(stale, 0);
}

/* @reverted: reports (which abort the run half-way) must not leak either */
static u64 run_once(const u8 *b, size_t n, unsigned long reverted, bool *bug)
{
	struct strategy st;

	decode_input(b, n, &ra);
	ra.settings.reverted = reverted;
	decode_strategy(&ra, &st);
	*bug = run_program(&ra.prog, &ra.settings, &st, NULL, &res) != 0;
	return res.trace_hash;
}

TEST(same_input_twice_in_one_process)
{
	struct rng g = { 99 };
	static u8 other[512];
	int bugs = 0, clean = 0;

	for (int it = 0; it < 200; it++) {
		size_t n = 20 + rng_below(&g, 120), m = rng_below(&g, 300);
		bool bug1, bug2, bug3;
		u64 h1, h2;

		fill(&g, buf, n);
		fill(&g, other, m);
		unsigned long rev = it % 2 ? (1UL << NR_FIXES) - 1 : 0;

		h1 = run_once(buf, n, rev, &bug1);
		run_once(other, m, rev, &bug3);	/* another input in between */
		h2 = run_once(buf, n, rev, &bug2);
		ASSERT_EQ(h1, h2);
		ASSERT_EQ(bug1, bug2);
		bugs += bug1;
		clean += !bug1;
	}
	/* both paths ran: a finished run and one a report cut short */
	TH_LOG("%d runs reported, %d clean", bugs, clean);
	ASSERT_TRUE(bugs > 0 && clean > 0);
}

TEST_MAIN()
