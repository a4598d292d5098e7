/* SPDX-License-Identifier: GPL-2.0 */
/*
 * RCU.  In controlled mode grace periods are tracked by the scheduler (a
 * callback runs once every CPU that was in a read-side section when it was
 * queued has left it), which keeps runs deterministic.
 */
#ifndef MIGRACE_RCU_H
#define MIGRACE_RCU_H

#include <migrace/kernel.h>

struct rcu_head {
	struct rcu_head *next;
	void (*func)(struct rcu_head *head);
	unsigned long snap[4];	/* per-CPU rcu_qs at queue time, +1 if inside */
};

void rcu_read_lock(void);
void rcu_read_unlock(void);
void call_rcu(struct rcu_head *head, void (*func)(struct rcu_head *head));
/* Run the callbacks whose grace period has ended; @all: force (teardown). */
void rcu_process_callbacks(bool all);
bool rcu_pending(void);
void rcu_reset(void);	/* drop every queued callback (new run) */

#endif
