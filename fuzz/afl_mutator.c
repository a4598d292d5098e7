/*
 * afl_mutator: AFL++'s custom mutator for fuzz_migrate_afl, the same
 * structure-aware mutation libFuzzer's target uses (engine/prog/decode.c,
 * fuzz_mutate() and fuzz_crossover()): a new random program, prog_mutate()
 * steps, a change of the PCT runs, or a cross-over of two inputs' CPUs.
 * Byte mutations of AFL++'s havoc stage still run beside it unless
 * AFL_CUSTOM_MUTATOR_ONLY is set.
 *
 * afl-fuzz loads it itself, so it is built plain (no AFL instrumentation)
 * and position-independent, with the default preset:
 *
 *   AFL_CUSTOM_MUTATOR_LIBRARY=build/migrace-afl-mutator.so \
 *   afl-fuzz -i corpus/fuzz_migrate -o out -x corpus/fuzz_migrate.dict \
 *     -- build-afl/fuzz_migrate_afl
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <migrace/prog.h>
#include <migrace/run.h>

/* Inputs as long as libFuzzer's default for the target (-max_len=256). */
#define MUT_MAX 256

struct mutator {
	struct rng rng;
	u8 out[MUT_MAX];
	char what[64];
};

void *afl_custom_init(void *afl, unsigned int seed);
size_t afl_custom_fuzz(void *data, uint8_t *buf, size_t size,
		       uint8_t **out_buf, uint8_t *add_buf, size_t add_size,
		       size_t max_size);
const char *afl_custom_describe(void *data, size_t max_len);
void afl_custom_deinit(void *data);

void *afl_custom_init(void *afl, unsigned int seed)
{
	struct mutator *m = calloc(1, sizeof(*m));

	(void)afl;
	if (m)
		m->rng.s = seed * 0x9e3779b97f4a7c15ULL + 1;
	return m;
}

size_t afl_custom_fuzz(void *data, uint8_t *buf, size_t size,
		       uint8_t **out_buf, uint8_t *add_buf, size_t add_size,
		       size_t max_size)
{
	struct mutator *m = data;
	size_t max = max_size < MUT_MAX ? max_size : MUT_MAX;
	size_t n;

	/* One in eight a cross-over, as often as libFuzzer's own. */
	n = 0;
	if (add_buf && add_size && !rng_below(&m->rng, 8)) {
		n = fuzz_crossover(buf, size, add_buf, add_size, m->out, max,
				   rng_next(&m->rng));
		strcpy(m->what, "migrace-crossover");
	}
	if (!n) {	/* or the cross-over did not fit */
		n = size < max ? size : max;
		memcpy(m->out, buf, n);
		n = fuzz_mutate(m->out, n, max, rng_next(&m->rng), NULL);
		strcpy(m->what, "migrace-mutate");
	}
	*out_buf = m->out;
	return n;
}

/* The name of the queue entries this mutator made. */
const char *afl_custom_describe(void *data, size_t max_len)
{
	struct mutator *m = data;

	if (max_len < sizeof(m->what))
		m->what[max_len ? max_len - 1 : 0] = 0;
	return m->what;
}

void afl_custom_deinit(void *data)
{
	free(data);
}
