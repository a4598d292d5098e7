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
 * starves the CPU it waits for.  Not for the retry after a fault that was
 * handled: that one is a plain sched_point().
 */
void sched_yield_point(const char *what, const char *func);
/*
 * The @nth (1, 2, ...) retry of an access after a fault: the first is the
 * instruction running again, a plain preemption point; from the second
 * on the fault did not fix it, a busy retry (sched_yield_point()).
 */
void sched_retry_point(const char *what, const char *func, int nth);

/* A step bound for waits that poll (livelock detection). */
void sched_livelock_check(const char *what);

/*
 * A spinlock is held by someone else: controlled mode parks the CPU like
 * sched_block(); stress mode spins (the caller re-tries the atomic).
 */
void sched_spin_wait(const void *obj, const char *what, const char *func);

/*
 * Stress mode (engine/sched/stress.c): every CPU on its own pthread.  Set
 * for the whole `migrace stress` run; the controlled scheduler's hooks
 * test it first, so the controlled mode pays one predictable branch.
 */
extern bool stress_mode;
/* Stress mode: locks held by this CPU, for the watchdog's report. */
void stress_lock_held(const void *obj, const char *name, const char *func);
void stress_lock_dropped(const void *obj);
/* Stress mode: handle the flush IPIs queued for this CPU (irqs on). */
void stress_handle_ipis(void);

#endif
