// SPDX-License-Identifier: GPL-2.0
/*
 * RCU for the controlled scheduler.  A callback records, for each CPU that
 * is inside a read-side section when it is queued, the quiescent-state
 * count that CPU must reach; it runs once all of them have.
 */
#include <migrace/cpu.h>
#include <migrace/rcu.h>
#include <migrace/sched.h>

static struct rcu_head *rcu_head_list, **rcu_tail = &rcu_head_list;

void rcu_reset(void)
{
	rcu_head_list = NULL;
	rcu_tail = &rcu_head_list;
}

void rcu_read_lock(void)
{
	if (current_cpu)
		current_cpu->rcu_nesting++;
}

void rcu_read_unlock(void)
{
	struct cpu *c = current_cpu;

	if (c && --c->rcu_nesting == 0)
		c->rcu_qs++;
}

void call_rcu(struct rcu_head *head, void (*func)(struct rcu_head *head))
{
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
	/* Callbacks complete in queue order, as grace periods do. */
	while (rcu_head_list && (all || gp_done(rcu_head_list))) {
		struct rcu_head *h = rcu_head_list;

		rcu_head_list = h->next;
		if (!rcu_head_list)
			rcu_tail = &rcu_head_list;
		h->func(h);
	}
}
