/*
 * The scheduler's interface to the runner and to the report printer.
 */
#ifndef MIGRACE_SCHED_CORE_H
#define MIGRACE_SCHED_CORE_H

#include <migrace/sched.h>
#include <migrace/run.h>

struct trace_ev {
	u32 step;
	u8 cpu;
	u8 kind;
	const char *what;
	const char *func;
	const void *obj;
	unsigned long addr;
	u64 val;
};

#define TRACE_MAX (1 << 16)
#define MAX_STEPS 400000

void sched_begin(int ncpus, const struct strategy *st, struct schedule *record,
		 const struct run_options *o);
/* Runs cpu_main(i) on every CPU; 0 when all finished, 1 when aborted. */
int sched_run_cpus(void (*cpu_main)(int cpu));
void sched_end(void);
bool sched_in_cpu(void);
/* From a CPU fiber: leave the run for good (a report was made). */
void sched_abort_cpu(void) __attribute__((noreturn));

u64 sched_hash(void);
u64 sched_steps(void);
u64 sched_sync_steps(void);
u64 sched_preemptions(void);
const struct trace_ev *sched_trace(int *n);
const char *ev_kind_name(int kind);

#endif
