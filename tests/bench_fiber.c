/*
 * bench_fiber: cost of one controlled-mode hand-over (fiber_switch) and,
 * for comparison, of a futex-style baton between two pthreads.
 * Not a test: run by ci/bench.sh.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>

#include "../engine/sched/fiber.h"

#define N 1000000

static struct fiber main_f, a_f;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void a_main(void)
{
	fiber_started(&main_f);
	for (;;)
		fiber_switch(&a_f, &main_f, 0);
}

static atomic_int baton;

static void *other(void *arg)
{
	(void)arg;
	for (int i = 0; i < N; i++) {
		while (atomic_load(&baton) != 1)
			sched_yield();
		atomic_store(&baton, 0);
	}
	return NULL;
}

int main(void)
{
	pthread_t t;
	double t0;

	fiber_init_main(&main_f);
	fiber_make(&a_f, a_main, 64 * 1024);
	t0 = now();
	for (int i = 0; i < N; i++)
		fiber_switch(&main_f, &a_f, 0);
	printf("fiber hand-over: %.0f ns\n",
	       (now() - t0) / (2.0 * N) * 1e9);

	pthread_create(&t, NULL, other, NULL);
	t0 = now();
	for (int i = 0; i < N; i++) {
		atomic_store(&baton, 1);
		while (atomic_load(&baton) != 0)
			sched_yield();
	}
	pthread_join(t, NULL);
	printf("pthread baton (yielding spin) hand-over: %.0f ns\n",
	       (now() - t0) / (2.0 * N) * 1e9);
	return 0;
}
