/*
 * The stress runtime's interface to the program runner (engine/prog/run.c)
 * and to the `migrace stress` front end (stress/stress.c).
 */
#ifndef MIGRACE_STRESS_H
#define MIGRACE_STRESS_H

#include <migrace/kernel.h>
#include "sched_core.h"
#include "urcu_glue.h"	/* RCU glue (rcu_urcu.c) */

struct stress_opts {
	double delay;		/* probability of a delay at a preemption point */
	double watchdog;	/* seconds without progress: soft lockup */
	u64 seed;
};

/* Once per `migrace stress` run: stress_mode on, liburcu ready. */
void stress_init(const struct stress_opts *o);
void stress_fini(void);

/* The next program run (the front end): targeted holds are planned on it. */
struct program;
void stress_set_program(const struct program *p);
/* Per program (run.c): the machine is set up, no CPU thread runs. */
void stress_begin(int ncpus);
/*
 * Runs cpu_main(i) on one pthread per CPU, all at once.  0: every CPU
 * finished; 1: a CPU made a report (it is pending in report.c); 2: the
 * watchdog fired (@lockup holds its report; @title its first line).
 */
int stress_run_cpus(void (*cpu_main)(int cpu), char *title, size_t tlen,
		    char *lockup, size_t len);
bool stress_in_cpu(void);
bool stress_is_main(void);	/* the thread that called stress_init() */
void stress_abort_cpu(void) __attribute__((noreturn));
/* The merged event rings of the last program, in time order. */
const struct trace_ev *stress_trace(int *n);

/* Counters for the progress line. */
u64 stress_ops_done(void);
u64 stress_events(void);

/* sched.c hooks (stress_mode set). */
void stress_point(enum ev_kind kind, const char *what, const char *func,
		  const void *obj, unsigned long addr, u64 val);
void stress_block(const void *obj, const char *what, const char *func);
void stress_wake(const void *obj);
void stress_spin_wait(const void *obj, const char *what, const char *func);
void stress_yield(void);
/* Wait for @seq acknowledgements of @t's flush IPIs (cpu.c). */
struct cpu;
void stress_wait_ack(struct cpu *t, u64 seq, const char *func);
void stress_kick(int cpu);

/* The oracle's and the vivt caches' harness locks (held across no wait). */
void stress_harness_lock(int *lock);
void stress_harness_unlock(int *lock);

#endif
