// SPDX-License-Identifier: GPL-2.0
/*
 * Stress mode's RCU: liburcu, the urcu-memb flavour (reader registration,
 * rcu_read_lock/unlock, synchronize_rcu), with call_rcu() and
 * rcu_barrier() on top of it.  Kept in its own file because
 * liburcu's headers define their own struct rcu_head and rcu_* names.
 *
 * ThreadSanitizer cannot see liburcu's grace periods (membarrier and
 * memory barriers in an uninstrumented library): under TSan a reader's
 * unlock releases, and a callback acquires, one sync object, so a
 * callback is ordered after the read sections that ended before it ran.
 */
#include <stddef.h>
#if !defined(__SANITIZE_THREAD__)
#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define MG_TSAN 1
#endif
#endif
#else
#define MG_TSAN 1
#endif
#ifndef MG_TSAN
#define _LGPL_SOURCE	/* the read-side fast paths inline */
#endif
#include <pthread.h>
#include <stdbool.h>
#include <urcu/urcu-memb.h>

#include "urcu_glue.h"

#ifdef MG_TSAN
void __tsan_acquire(void *addr);
void __tsan_release(void *addr);
static char tsan_gp;
#define TSAN_RELEASE(a) __tsan_release(a)
#define TSAN_ACQUIRE(a) __tsan_acquire(a)
#else
#define TSAN_RELEASE(a) ((void)(a))
#define TSAN_ACQUIRE(a) ((void)(a))
#endif

/*
 * Callbacks: liburcu's own call_rcu() thread batches with a 10 ms sleep,
 * which would make the rcu_barrier() between two programs cost more than
 * the program.  So the callbacks are queued here and one worker thread
 * runs each batch after liburcu's synchronize_rcu(): the grace periods
 * are liburcu's, the batching ours.
 */
struct glue_head {
	struct glue_head *next;
	void (*fn)(void *storage);
};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t more, idle;
	struct glue_head *head, **tail;
	bool busy, stop, started;
	pthread_t worker;
} Q = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER,
	PTHREAD_COND_INITIALIZER, NULL, NULL, false, false, false, 0 };

static void run_batch(struct glue_head *g)
{
	urcu_memb_synchronize_rcu();
#ifdef MG_TSAN
	TSAN_ACQUIRE(&tsan_gp);
#endif
	while (g) {
		struct glue_head *next = g->next;

		TSAN_ACQUIRE(g);
		g->fn(g);
		g = next;
	}
}

static void *worker(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&Q.lock);
	for (;;) {
		struct glue_head *g;

		while (!Q.head && !Q.stop)
			pthread_cond_wait(&Q.more, &Q.lock);
		if (!Q.head && Q.stop)
			break;
		g = Q.head;
		Q.head = NULL;
		Q.tail = &Q.head;
		Q.busy = true;
		pthread_mutex_unlock(&Q.lock);
		run_batch(g);
		pthread_mutex_lock(&Q.lock);
		Q.busy = false;
		pthread_cond_broadcast(&Q.idle);
	}
	pthread_mutex_unlock(&Q.lock);
	return NULL;
}

void urcu_glue_register(void)
{
	urcu_memb_register_thread();
}

void urcu_glue_unregister(void)
{
	urcu_memb_unregister_thread();
}

void urcu_glue_read_lock(void)
{
	urcu_memb_read_lock();
}

void urcu_glue_read_unlock(void)
{
#ifdef MG_TSAN
	TSAN_RELEASE(&tsan_gp);
#endif
	urcu_memb_read_unlock();
}

/* @storage: room for the queue link and the function (32 bytes). */
void urcu_glue_call(void *storage, void (*fn)(void *storage))
{
	struct glue_head *g = storage;

	_Static_assert(sizeof(struct glue_head) <= 32, "fits rcu_head.snap");
	g->fn = fn;
	g->next = NULL;
	TSAN_RELEASE(g);
	pthread_mutex_lock(&Q.lock);
	if (!Q.started) {
		Q.tail = &Q.head;
		Q.started = true;
		Q.stop = false;
		pthread_create(&Q.worker, NULL, worker, NULL);
	}
	*Q.tail = g;
	Q.tail = &g->next;
	pthread_cond_signal(&Q.more);
	pthread_mutex_unlock(&Q.lock);
}

/* rcu_barrier(): every callback queued so far has run. */
void urcu_glue_barrier(void)
{
	struct glue_head *g;

	pthread_mutex_lock(&Q.lock);
	while (Q.busy)
		pthread_cond_wait(&Q.idle, &Q.lock);
	g = Q.head;
	Q.head = NULL;
	Q.tail = &Q.head;
	pthread_mutex_unlock(&Q.lock);
	if (g)
		run_batch(g);
}

/* At the end of a stress run: the worker thread exits. */
void urcu_glue_stop(void)
{
	pthread_mutex_lock(&Q.lock);
	if (!Q.started) {
		pthread_mutex_unlock(&Q.lock);
		return;
	}
	Q.stop = true;
	pthread_cond_signal(&Q.more);
	pthread_mutex_unlock(&Q.lock);
	pthread_join(Q.worker, NULL);
	Q.started = false;
}
