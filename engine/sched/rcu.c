// SPDX-License-Identifier: GPL-2.0
/*
 * RCU.  Stress mode uses liburcu (urcu-memb, rcu_urcu.c) with real grace
 * periods; the read-side nesting is still counted in struct cpu, for the
 * return-to-user check.
 *
 * RCU for the controlled scheduler.  A callback records, for each CPU that
 * is inside a read-side section when it is queued, the quiescent-state
 * count that CPU must reach; it runs once all of them have.
 */
#include <migrace/cpu.h>
#include <migrace/rcu.h>
#include <migrace/sched.h>
#include "stress.h"

static struct rcu_head *rcu_head_list, **rcu_tail = &rcu_head_list;

void rcu_reset(void)
{
	rcu_head_list = NULL;
	rcu_tail = &rcu_head_list;
}

void stress_rcu_enter(void);
void stress_rcu_exit(void);

void rcu_read_lock(void)
{
	if (stress_mode) {
		urcu_glue_read_lock();
		stress_rcu_enter();
	}
	if (current_cpu)
		current_cpu->rcu_nesting++;
}

void rcu_read_unlock(void)
{
	struct cpu *c = current_cpu;

	if (stress_mode) {
		stress_rcu_exit();
		urcu_glue_read_unlock();
	}
	if (c && --c->rcu_nesting == 0)
		c->rcu_qs++;
}

static void rcu_urcu_cb(void *storage)
{
	struct rcu_head *head = container_of(storage, struct rcu_head, snap);

	head->func(head);
}

void call_rcu(struct rcu_head *head, void (*func)(struct rcu_head *head))
{
	if (stress_mode) {
		/* liburcu's head lives in @snap, unused in this mode. */
		_Static_assert(sizeof(head->snap) >= 2 * sizeof(void *),
			       "room for liburcu's rcu_head");
		head->func = func;
		urcu_glue_call(head->snap, rcu_urcu_cb);
		return;
	}
	head->func = func;
	head->next = NULL;
	for (int i = 0; i < NR_CPUS; i++)
		head->snap[i] = (i < nr_cpus && cpus[i].rcu_nesting) ?
					cpus[i].rcu_qs + 1 : 0;
	*rcu_tail = head;
	rcu_tail = &head->next;
}

bool rcu_pending(void)
{
	if (stress_mode)
		return false;	/* liburcu's thread runs the callbacks */
	return rcu_head_list != NULL;
}

static bool gp_done(const struct rcu_head *h)
{
	for (int i = 0; i < NR_CPUS; i++)
		if (h->snap[i] && cpus[i].rcu_qs < h->snap[i])
			return false;
	return true;
}

void rcu_process_callbacks(bool all)
{
	if (stress_mode) {
		if (all)
			urcu_glue_barrier();	/* rcu_barrier() */
		return;
	}
	/* Callbacks complete in queue order, as grace periods do. */
	while (rcu_head_list && (all || gp_done(rcu_head_list))) {
		struct rcu_head *h = rcu_head_list;

		rcu_head_list = h->next;
		if (!rcu_head_list)
			rcu_tail = &rcu_head_list;
		h->func(h);
	}
}
