/*
 * AFL++'s custom mutator (fuzz/afl_mutator.c), loaded as afl-fuzz loads
 * it: dlopen() of the module, its afl_custom_* symbols.  Chains of
 * mutations and cross-overs stay within the size AFL++ allows, are never
 * empty, decode to programs the engine runs, and are not all alike.
 */
#define _GNU_SOURCE
#include "harness.h"

#include <dlfcn.h>
#include <stdint.h>

#include <migrace/prog.h>
#include <migrace/run.h>

typedef void *(*init_fn)(void *afl, unsigned int seed);
typedef size_t (*fuzz_fn)(void *data, uint8_t *buf, size_t size,
			  uint8_t **out, uint8_t *add, size_t add_size,
			  size_t max);
typedef void (*deinit_fn)(void *data);

static void *module;
static init_fn m_init;
static fuzz_fn m_fuzz;
static deinit_fn m_deinit;

static int load(void)
{
	if (module)
		return 0;
	module = dlopen(MIGRACE_AFL_MUTATOR, RTLD_NOW | RTLD_LOCAL);
	if (!module) {
		printf("# dlopen: %s\n", dlerror());
		return -1;
	}
	m_init = (init_fn)dlsym(module, "afl_custom_init");
	m_fuzz = (fuzz_fn)dlsym(module, "afl_custom_fuzz");
	m_deinit = (deinit_fn)dlsym(module, "afl_custom_deinit");
	return m_init && m_fuzz && m_deinit && dlsym(module, "afl_custom_describe") ?
		0 : -1;
}

TEST(loads_with_every_symbol)
{
	ASSERT_EQ(load(), 0);
}

/*
 * From AFL++'s one-byte seed, 3,000 steps: each output is the next input,
 * every fourth step with the previous output as the splice partner.
 */
TEST(chains_stay_in_bounds_and_run)
{
	static uint8_t cur[1 << 12], prev[1 << 12];
	static struct repro r;
	static struct run_result res;
	size_t n = 1, np = 0, max, distinct = 0;
	uint64_t last_hash = 0;
	void *m;

	ASSERT_EQ(load(), 0);
	m = m_init(NULL, 7);
	ASSERT_TRUE(m != NULL);
	cur[0] = 0;
	for (int i = 0; i < 3000; i++) {
		uint8_t *out = NULL;
		uint64_t h = 1469598103934665603ULL;
		size_t k;

		/* AFL++'s max_size varies; keep some steps tight */
		max = i % 7 ? sizeof(cur) : 16;
		k = m_fuzz(m, cur, n, &out, i % 4 ? NULL : prev,
			   i % 4 ? 0 : np, max);
		ASSERT_TRUE(out != NULL);
		ASSERT_TRUE(k >= 1 && k <= max);
		memcpy(prev, cur, n);
		np = n;
		memcpy(cur, out, k);
		n = k;
		for (size_t j = 0; j < n; j++)
			h = (h ^ cur[j]) * 1099511628211ULL;
		distinct += h != last_hash;
		last_hash = h;
		/* every hundredth output runs, as the target would run it */
		if (i % 100 == 0) {
			decode_input(cur, n, &r);
			ASSERT_TRUE(r.prog.ncpus >= 1 && r.prog.ncpus <= NR_CPUS);
			fuzz_run_input(&r, &res, false);
			ASSERT_EQ(res.bug, false);
		}
	}
	/* mutations mutate: most steps change the input */
	ASSERT_TRUE(distinct > 1500);
	m_deinit(m);
}

TEST_MAIN()
