/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Preemption points.  Every place where a real CPU could be interrupted and
 * another CPU could observe shared state calls sched_point() *before* the
 * shared access: a lock, an atomic, a page-table entry read or write, a TLB
 * fill or flush.  In controlled mode the scheduler may run another CPU
 * there; in stress mode the point may delay.  The event is also recorded in
 * the trace, which is what reports and named schedules are made of.
 */
#ifndef MIGRACE_SCHED_H
#define MIGRACE_SCHED_H

#include <migrace/kernel.h>

enum ev_kind {
	EV_OP_BEGIN,	/* a program op starts (what = op name) */
	EV_OP_END,	/* a program op returns ("return <op>") */
	EV_LOCK,	/* lock acquired next (spinlock, rwsem, page lock) */
	EV_UNLOCK,
	EV_PTE_READ,	/* page-table entry read (READ_ONCE) */
	EV_PTE_WRITE,	/* page-table entry write / clear / cmpxchg */
	EV_TLB,		/* TLB fill, local flush, shootdown */
	EV_USER,	/* a user load or store instruction */
	EV_ATOMIC,	/* refcount, mapcount, page flag update */
	EV_WAIT,	/* the CPU blocks (lock held, IPI not acked, ...) */
	EV_NOTE,	/* no shared access: marks a step for reports */
	EV_NR
};

void sched_point(enum ev_kind kind, const char *what, const char *func,
		 const void *obj, unsigned long addr, u64 val);

/*
 * Block the current CPU until sched_wake(obj).  Callers re-check their
 * condition in a loop; a wake-up may be spurious.
 */
void sched_block(const void *obj, const char *what, const char *func);
void sched_wake(const void *obj);

/*
 * A busy retry (a fault that made no progress): the strategies let the
 * other CPUs run first, as a fair scheduler would, so a retry loop never
 * starves the CPU it waits for.
 */
void sched_yield_point(const char *what, const char *func);

/* A step bound for waits that poll (livelock detection). */
void sched_livelock_check(const char *what);

#endif
