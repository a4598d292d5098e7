// SPDX-License-Identifier: GPL-2.0
/*
 * The stress runtime: the same engine with every emulated CPU on its own
 * pthread, truly concurrent.  The lock code is the controlled mode's
 * (locks.c): a spinlock spins on its atomic, the mmap rwsem and the page
 * lock sleep on a futex until a release wakes them.  A flush IPI is queued
 * to the target CPU, which handles it at its next preemption point with
 * interrupts on, while the sender waits for the acknowledgement (cpu.c).
 * RCU is liburcu (rcu.c, rcu_urcu.c).
 *
 * Preemption points do here what no scheduler decides: they record the
 * event in the CPU's ring (the last events, for reports), handle IPIs,
 * notice that the run is being stopped, and widen race windows.  Seven
 * programs in eight get a plan, PCT's change point in real time: the
 * "high" CPU holds at one point (a release, or any event) drawn over the
 * points it is expected to pass (learned per op kind), the others wait
 * at their start (mostly) or at one of their releases until it gets
 * there, and then run while it holds.  The eighth program gets
 * KCSAN-style delays (short random spins or yields) at any point,
 * likelier after a release.
 *
 * Sleeping without lost wake-ups: a preemption point that names an object
 * remembers it ("watch") with the CPU's wake counter; sched_wake(obj) bumps
 * the counter of every CPU watching @obj.  A waiter that re-checked its
 * condition after the point and found it false sleeps only while the
 * counter is unchanged, so a release between the check and the sleep is
 * never missed.  The sleep is also bounded (10 ms) as a safety net.
 */
#define _GNU_SOURCE
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <migrace/check.h>
#include <migrace/cpu.h>
#include <migrace/prog.h>
#include <migrace/rcu.h>
#include <migrace/run.h>
#include "stress.h"

bool stress_mode;

#define RING 256	/* last events kept per CPU */
#define MAX_HELD 16
#define MAX_HLOCKS 4
#define HOLD_CAP_NS (4 * 1000 * 1000)	/* a hold never lasts longer */
#define HOLD_STALL_NS (200 * 1000)	/* nor this long without the others' events */

struct ring_ev {
	u64 tsc;
	struct trace_ev ev;
};

struct scpu {
	pthread_t thread;
	jmp_buf jb;
	struct rng rng;
	int id;
	/* written by the CPU, read by the watchdog: relaxed atomics */
	u64 nops;		/* ops completed */
	u64 nev;		/* events */
	const char *cur_op;	/* label of the op in progress, or NULL */
	int state;		/* 0 idle, 1 running, 2 finished */
	struct ring_ev ring[RING];
	u32 head;
	struct {
		const void *obj;
		const char *name;
		const char *func;
	} held[MAX_HELD];
	int nheld;
	/* sleeping */
	const void *watch;
	u32 futex;
	u32 snap;
	int sleeping;
	/* harness locks this thread holds (released if it is stopped) */
	int *hlocks[MAX_HLOCKS];
	int nhlocks;
	int rcu_depth;	/* liburcu read-side nesting, unwound if stopped */
	bool after_release;
	u32 go_seen;	/* X.go when the thread was created */
	u64 nwait;	/* waits begun (relaxed atomic): a held CPU's cue */
	/* the targeted holds planned for this program (release numbers) */
	u32 nrel;		/* release points passed */
	u32 wait_at;		/* a low CPU waits for the high one here */
	/* learning: release points per op kind */
	int cur_kind;
	u32 op_rel;
	u32 rel_sum[NR_OP_KINDS], rel_cnt[NR_OP_KINDS];
	u64 op_ev0;		/* nev when the op began */
	u32 ev_sum[NR_OP_KINDS];
};

static struct {
	struct stress_opts o;
	u64 delay_thresh;	/* rng value below which a point delays */
	u64 delay_thresh_rel;	/* the same, at the point after a release */
	int ncpus;
	struct scpu c[NR_CPUS];
	void (*cpu_main)(int cpu);
	int abort;		/* a CPU reported, or the watchdog fired */
	int nrunning;
	int ready;		/* the start gate */
	u32 go;			/* bumped to start a program */
	int quit;
	int nthreads;
	u64 ops_total;
	u64 ev_total;
	/* the merged trace of the last program */
	struct trace_ev *trace;
	int ntrace;
	u64 epoch;		/* per-program seed mixing */
	/* targeted holds: the program, the plan's rng, what was learned */
	const struct program *prog;
	struct rng plan_rng;
	double rel_sum[NR_OP_KINDS], rel_cnt[NR_OP_KINDS];
	double ev_sum[NR_OP_KINDS];
	int hi;			/* the high CPU, or -1 */
	u32 hi_at, hi_n;
	bool hi_any;		/* hi_at counts every event, not releases */
	int hi_reached;
	/* a second change point (PCT depth 3), or hi2 = -1 */
	int hi2;
	u32 hi2_at;
	bool hi2_any;
	int hi2_reached;
	bool uniform;		/* this program: uniform random delays */
} X;

static _Thread_local struct scpu *self;

#define LD(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)
#define ST(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELAXED)

static inline u64 tsc_now(void)
{
#if defined(__x86_64__) || defined(__i386__)
	return __builtin_ia32_rdtsc();
#else
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (u64)ts.tv_sec * 1000000000ULL + (u64)ts.tv_nsec;
#endif
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

static u64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (u64)ts.tv_sec * 1000000000ULL + (u64)ts.tv_nsec;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static long futex(u32 *uaddr, int op, u32 val, const struct timespec *ts)
{
	return syscall(SYS_futex, uaddr, op, val, ts, NULL, 0);
}

static _Thread_local bool is_main;

bool stress_in_cpu(void)
{
	return self != NULL;
}

bool stress_is_main(void)
{
	return is_main;
}

/* ---- stopping a CPU thread: a report, or the run being stopped ---- */

static void stress_exit_cpu(void) __attribute__((noreturn));
static void stress_exit_cpu(void)
{
	struct scpu *s = self;

	while (s->nhlocks)
		stress_harness_unlock(s->hlocks[s->nhlocks - 1]);
	oracle_lock_abandon();
	while (s->rcu_depth) {
		s->rcu_depth--;
		urcu_glue_read_unlock();
	}
	longjmp(s->jb, 1);
}

static inline void check_abort(void)
{
	if (unlikely(__atomic_load_n(&X.abort, __ATOMIC_ACQUIRE)) && self)
		stress_exit_cpu();
}

void stress_abort_cpu(void)
{
	__atomic_store_n(&X.abort, 1, __ATOMIC_RELEASE);
	stress_exit_cpu();
}

/* ---- harness locks (oracle bookkeeping, vivt coherence) ---- */

void stress_harness_lock(int *lock)
{
	struct scpu *s = self;
	unsigned int spins = 0;

	while (__atomic_exchange_n(lock, 1, __ATOMIC_ACQUIRE)) {
		if (s)
			ST(s->nwait, s->nwait + 1);
		while (__atomic_load_n(lock, __ATOMIC_RELAXED)) {
			if (s) {
				stress_handle_ipis();
				check_abort();
			}
			cpu_relax();
			if (++spins % 256 == 0)
				sched_yield();
		}
	}
	if (s && s->nhlocks < MAX_HLOCKS)
		s->hlocks[s->nhlocks++] = lock;
}

void stress_harness_unlock(int *lock)
{
	struct scpu *s = self;

	if (s && s->nhlocks && s->hlocks[s->nhlocks - 1] == lock)
		s->nhlocks--;
	__atomic_store_n(lock, 0, __ATOMIC_RELEASE);
}

/* ---- rcu nesting, for unwinding a stopped CPU ---- */

void stress_rcu_enter(void);
void stress_rcu_exit(void);
void stress_rcu_enter(void)
{
	if (self)
		self->rcu_depth++;
}

void stress_rcu_exit(void)
{
	if (self)
		self->rcu_depth--;
}

/* ---- locks held, for the watchdog ---- */

void stress_lock_held(const void *obj, const char *name, const char *func)
{
	struct scpu *s = self;
	int n;

	if (!s)
		return;
	n = s->nheld;
	if (n < MAX_HELD) {
		ST(s->held[n].obj, obj);
		ST(s->held[n].name, name);
		ST(s->held[n].func, func);
	}
	__atomic_store_n(&s->nheld, n + 1, __ATOMIC_RELEASE);
}

void stress_lock_dropped(const void *obj)
{
	struct scpu *s = self;
	int n;

	if (!s || !s->nheld)
		return;
	n = s->nheld < MAX_HELD ? s->nheld : MAX_HELD;
	/* Locks are mostly dropped in reverse order; find it anyway. */
	for (int i = n - 1; i >= 0; i--) {
		if (LD(s->held[i].obj) != obj)
			continue;
		for (int j = i; j < n - 1; j++) {
			ST(s->held[j].obj, LD(s->held[j + 1].obj));
			ST(s->held[j].name, LD(s->held[j + 1].name));
			ST(s->held[j].func, LD(s->held[j + 1].func));
		}
		break;
	}
	__atomic_store_n(&s->nheld, s->nheld - 1, __ATOMIC_RELEASE);
}

/* ---- preemption points ---- */

/*
 * A delay: a yield, or a spin of a log-uniform length between 0.1 us and
 * 10 us, or up to 1 ms right after a release (long enough for another CPU
 * to run a whole system call inside a window), handling IPIs meanwhile.
 */
static void delay(struct scpu *s, bool long_ok)
{
	u64 r = rng_next(&s->rng);
	double ns;
	u64 until, t;

	if ((r & 7) == 0) {
		sched_yield();
		return;
	}
	/* 10^(2..6) ns after a release, 10^(2..4) ns elsewhere */
	ns = 100.0;
	for (int k = (int)((r >> 8) % (long_ok ? 4 : 2)); k > 0; k--)
		ns *= 10;
	ns *= 1.0 + (double)((r >> 16) % 1000) / 111.0;
	until = now_ns() + (u64)ns;
	do {
		for (int i = 0; i < 16; i++)
			cpu_relax();
		stress_handle_ipis();
		t = now_ns();
	} while (t < until);
}

/*
 * One pass of a hold's wait: relax, take IPIs, notice an abort; every 64
 * passes yield the core (the other CPU threads may need it) and end the
 * wait after HOLD_STALL_NS without progress (the others wait without a
 * wait point: a harness lock, the OS) or at @until.  True: stop waiting.
 * @stall is reset by the caller when it sees progress.
 */
static bool hold_pass(unsigned int spins, u64 *stall, u64 until)
{
	for (int i = 0; i < 16; i++)
		cpu_relax();
	stress_handle_ipis();
	check_abort();
	if (spins % 64 == 63) {
		u64 t = now_ns();

		if (!*stall)
			*stall = t;
		else if (t - *stall > HOLD_STALL_NS)
			return true;
		if (t > until)
			return true;
		sched_yield();
	}
	return false;
}

/*
 * A targeted hold (PCT's change point in real time): this CPU has just
 * released a lock or returned from an op, and stays here, handling IPIs,
 * until the other CPUs have made @n events of progress, have all finished
 * or begun to wait (on something this CPU may hold), or HOLD_CAP_NS.
 */
static void hold(struct scpu *s, u32 n)
{
	u64 nev0[NR_CPUS], nw0[NR_CPUS];
	u64 until = now_ns() + HOLD_CAP_NS, stall = 0, last_prog = 0;

	for (int i = 0; i < X.ncpus; i++) {
		nev0[i] = LD(X.c[i].nev);
		nw0[i] = LD(X.c[i].nwait);
	}
	for (unsigned int spins = 0;; spins++) {
		u64 prog = 0;
		bool all_stopped = true;

		for (int i = 0; i < X.ncpus; i++) {
			struct scpu *t = &X.c[i];

			if (t == s)
				continue;
			prog += LD(t->nev) - nev0[i];
			if (__atomic_load_n(&t->state, __ATOMIC_ACQUIRE) != 2 &&
			    LD(t->nwait) == nw0[i] && !LD(t->sleeping))
				all_stopped = false;
		}
		if (prog >= n || all_stopped)
			break;
		if (prog != last_prog) {
			last_prog = prog;
			stall = 0;
		}
		if (hold_pass(spins, &stall, until))
			break;
	}
}

/*
 * Wait until CPU @t reached its planned point (@reached set), finished,
 * began to wait (on something the waiter may hold), or stalled.
 */
static void wait_point(struct scpu *t, const int *reached)
{
	u64 nw0 = LD(t->nwait), last = LD(t->nev);
	u64 until = now_ns() + HOLD_CAP_NS, stall = 0;

	for (unsigned int spins = 0;; spins++) {
		u64 nev = LD(t->nev);

		if (__atomic_load_n(reached, __ATOMIC_ACQUIRE) ||
		    __atomic_load_n(&t->state, __ATOMIC_ACQUIRE) == 2 ||
		    LD(t->nwait) != nw0 || LD(t->sleeping))
			break;
		if (nev != last) {
			last = nev;
			stall = 0;
		}
		if (hold_pass(spins, &stall, until))
			break;
	}
}

static void ring_add(struct scpu *s, enum ev_kind kind, const char *what,
		     const char *func, const void *obj, unsigned long addr,
		     u64 val)
{
	u32 h = s->head;
	struct ring_ev *r = &s->ring[h % RING];

	ST(r->tsc, tsc_now());
	ST(r->ev.cpu, (u8)s->id);
	ST(r->ev.kind, (u8)kind);
	ST(r->ev.what, what);
	ST(r->ev.func, func);
	ST(r->ev.obj, obj);
	ST(r->ev.addr, addr);
	ST(r->ev.val, val);
	__atomic_store_n(&s->head, h + 1, __ATOMIC_RELEASE);
}

void stress_point(enum ev_kind kind, const char *what, const char *func,
		  const void *obj, unsigned long addr, u64 val)
{
	struct scpu *s = self;

	if (!s)
		return;	/* set-up, teardown, liburcu's callback thread */
	check_abort();
	if (obj) {
		/* Watch @obj: a release from now on is not missed. */
		__atomic_store_n(&s->watch, obj, __ATOMIC_SEQ_CST);
		s->snap = __atomic_load_n(&s->futex, __ATOMIC_SEQ_CST);
	}
	if (kind == EV_OP_BEGIN) {
		ST(s->cur_op, what);
		s->cur_kind = X.prog && s->nops < (u64)X.prog->nops[s->id] ?
			      X.prog->ops[s->id][s->nops].kind : -1;
		s->op_rel = 0;
		s->op_ev0 = s->nev;
	}
	ring_add(s, kind, what, func, obj, addr, val);
	ST(s->nev, s->nev + 1);
	if (kind == EV_OP_END) {
		ST(s->cur_op, NULL);
		ST(s->nops, s->nops + 1);
		if (s->cur_kind >= 0) {
			s->rel_sum[s->cur_kind] += s->op_rel;
			s->ev_sum[s->cur_kind] += (u32)(s->nev - s->op_ev0);
			s->rel_cnt[s->cur_kind]++;
		}
		s->cur_kind = -1;
	}
	stress_handle_ipis();
	if (s->after_release) {
		ST(s->nrel, s->nrel + 1);	/* read by stress_yield() */
		s->op_rel++;
	}
	if (s->wait_at == (s->after_release ? s->nrel : 0) &&
	    (s->wait_at || s->nev == 1)) {
		s->wait_at = UINT32_MAX;
		wait_point(&X.c[X.hi], &X.hi_reached);	/* a low CPU */
	}
	if (s->id == X.hi && (X.hi_any ? s->nev == X.hi_at :
			      s->after_release && s->nrel == X.hi_at)) {
		__atomic_store_n(&X.hi_reached, 1, __ATOMIC_RELEASE);
		if (X.hi2 >= 0)	/* depth 3: until the second CPU's point */
			wait_point(&X.c[X.hi2], &X.hi2_reached);
		else
			hold(s, X.hi_n);
	}
	if (s->id == X.hi2 && (X.hi2_any ? s->nev == X.hi2_at :
			       s->after_release && s->nrel == X.hi2_at)) {
		__atomic_store_n(&X.hi2_reached, 1, __ATOMIC_RELEASE);
		hold(s, X.hi_n);
	}
	/*
	 * Right after a release (an unlock, an op's return) windows open
	 * that other CPUs race into: delays are 8 times likelier there.
	 */
	if (X.uniform &&
	    rng_next(&s->rng) < (s->after_release ? X.delay_thresh_rel :
						    X.delay_thresh))
		delay(s, s->after_release);
	s->after_release = kind == EV_UNLOCK || kind == EV_OP_END;
}

/* The bounded futex sleep of a waiter whose counter has not moved. */
static void sleep_on(struct scpu *s)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };

	__atomic_store_n(&s->sleeping, 1, __ATOMIC_SEQ_CST);
	/* An IPI queued before we slept is handled first. */
	stress_handle_ipis();
	if (__atomic_load_n(&s->futex, __ATOMIC_SEQ_CST) == s->snap &&
	    !__atomic_load_n(&X.abort, __ATOMIC_ACQUIRE))
		futex(&s->futex, FUTEX_WAIT_PRIVATE, s->snap, &ts);
	__atomic_store_n(&s->sleeping, 0, __ATOMIC_SEQ_CST);
}

void stress_block(const void *obj, const char *what, const char *func)
{
	struct scpu *s = self;

	if (!s) {
		report_bug(NULL, 0, "%s() would block on %s outside a run",
			   func, what);
	}
	ring_add(s, EV_WAIT, what, func, obj, 0, 0);
	ST(s->nwait, s->nwait + 1);
	if (__atomic_load_n(&s->watch, __ATOMIC_RELAXED) == obj)
		sleep_on(s);
	/* Watch again: the caller re-checks its condition after this. */
	__atomic_store_n(&s->watch, obj, __ATOMIC_SEQ_CST);
	s->snap = __atomic_load_n(&s->futex, __ATOMIC_SEQ_CST);
	stress_handle_ipis();
	check_abort();
}

void stress_kick(int cpu)
{
	struct scpu *t = &X.c[cpu];

	__atomic_add_fetch(&t->futex, 1, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&t->sleeping, __ATOMIC_SEQ_CST))
		futex(&t->futex, FUTEX_WAKE_PRIVATE, INT_MAX, NULL);
}

void stress_wake(const void *obj)
{
	/* The release that precedes us is ordered before the watch reads. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	for (int i = 0; i < X.ncpus; i++) {
		struct scpu *t = &X.c[i];

		if (t != self && __atomic_load_n(&t->watch, __ATOMIC_SEQ_CST) == obj)
			stress_kick(i);
	}
}

void stress_spin_wait(const void *obj, const char *what, const char *func)
{
	struct scpu *s = self;
	static _Thread_local unsigned int spins;

	if (!s) {
		report_bug(NULL, 0, "%s() would spin on %s outside a run",
			   func, what);
	}
	ST(s->nwait, s->nwait + 1);
	/* Spin with interrupts on: IPIs are handled while spinning. */
	for (int i = 0; i < 32; i++)
		cpu_relax();
	stress_handle_ipis();
	check_abort();
	/* Two cores shared with other work: let a preempted holder run. */
	if (++spins % 64 == 0)
		sched_yield();
}

/*
 * A busy retry (sched_yield_point()): as a fair scheduler would, let the
 * other CPUs run first, until one of them releases a lock or completes an
 * op, all of them finished, or YIELD_NS.  Only yielding the core is not
 * enough: a CPU spinning for a lock the retry loop takes again at once
 * would rarely get it (the spinlocks are test-and-set, not queued).
 * Waiting for a whole op was too much: every user access that faulted
 * retries through here, and those waits were a third of stress's time.
 *
 * A retry right after a handled fault comes here no more (user_access(),
 * __get_user_pages()): counting it as a wait ended every targeted hold as
 * soon as another CPU took an ordinary page fault in the window.
 */
#define YIELD_NS (200 * 1000)

void stress_yield(void)
{
	struct scpu *s = self;
	u64 nops0[NR_CPUS], until;
	u32 nrel0[NR_CPUS];

	if (!s)
		return;
	ST(s->nwait, s->nwait + 1);
	for (int i = 0; i < X.ncpus; i++) {
		nops0[i] = LD(X.c[i].nops);
		nrel0[i] = LD(X.c[i].nrel);
	}
	until = now_ns() + YIELD_NS;
	for (unsigned int spins = 0;; spins++) {
		bool others = false;

		for (int i = 0; i < X.ncpus; i++) {
			struct scpu *t = &X.c[i];

			if (t == s || __atomic_load_n(&t->state, __ATOMIC_ACQUIRE) == 2)
				continue;
			others = true;
			if (LD(t->nops) != nops0[i] || LD(t->nrel) != nrel0[i])
				return;
		}
		if (!others)
			break;
		for (int i = 0; i < 16; i++)
			cpu_relax();
		stress_handle_ipis();
		check_abort();
		if (spins % 64 == 63) {
			if (now_ns() > until)
				break;
			sched_yield();
		}
	}
	sched_yield();
}

void stress_wait_ack(struct cpu *t, u64 seq, const char *func)
{
	struct scpu *s = self;
	unsigned int spins = 0;

	if (s)
		ring_add(s, EV_WAIT, "flush IPI ack", func, t, 0, 0);
	while (__atomic_load_n(&t->ipi_ack, __ATOMIC_ACQUIRE) < seq) {
		/* smp_call_function_many() waits with interrupts on. */
		stress_handle_ipis();
		if (s)
			check_abort();
		cpu_relax();
		if (++spins % 256 == 0)
			sched_yield();
	}
}

/* ---- the run ---- */

/*
 * CPU 0 runs on the main thread; CPUs 1.. have threads that live for the
 * whole stress run: between programs they wait for the next "go"
 * (spinning briefly, then on a futex).  A program thus costs no thread
 * creation, no liburcu registration, and one thread wake-up fewer than
 * with every CPU on its own thread.  (Spinning longer for "go" was
 * slower on the shared 2-core machine: the spinner takes the core the
 * main thread needs for the next set-up.)
 */

static void wait_go(u32 seen)
{
	for (unsigned int spins = 0;
	     __atomic_load_n(&X.go, __ATOMIC_ACQUIRE) == seen; spins++) {
		if (spins < 256) {
			cpu_relax();
			continue;
		}
		futex(&X.go, FUTEX_WAIT_PRIVATE, seen, NULL);
	}
}

static void run_one(struct scpu *s)
{
	struct cpu *c = &cpus[s->id];

	self = s;
	current_cpu = c;
	cpu_ipi_online(c, true);
	/*
	 * The start gate: every CPU begins its program at the same moment,
	 * or wake-up latency alone would keep short programs from ever
	 * overlapping.
	 */
	__atomic_add_fetch(&X.ready, 1, __ATOMIC_ACQ_REL);
	for (unsigned int spins = 0;
	     __atomic_load_n(&X.ready, __ATOMIC_ACQUIRE) < X.ncpus; spins++) {
		cpu_relax();
		if (spins % 1024 == 1023)
			sched_yield();
	}
	if (!setjmp(s->jb))
		X.cpu_main(s->id);
	/* Finished or stopped: flushes sent to us from now on are direct. */
	current_cpu = c;
	cpu_ipi_online(c, false);
	__atomic_store_n(&s->state, 2, __ATOMIC_RELEASE);
	current_cpu = NULL;
	self = NULL;
	if (!__atomic_sub_fetch(&X.nrunning, 1, __ATOMIC_ACQ_REL))
		futex((u32 *)&X.nrunning, FUTEX_WAKE_PRIVATE, INT_MAX, NULL);
}

static void *cpu_thread(void *arg)
{
	struct scpu *s = arg;
	u32 seen = s->go_seen;

	urcu_glue_register();
	for (;;) {
		wait_go(seen);
		seen = __atomic_load_n(&X.go, __ATOMIC_ACQUIRE);
		if (__atomic_load_n(&X.quit, __ATOMIC_ACQUIRE))
			break;
		if (s->id < X.ncpus)
			run_one(s);
	}
	urcu_glue_unregister();
	return NULL;
}

static void lockup_report(int stuck, double secs, char *title, size_t tlen,
			  char *out, size_t len);

/*
 * The watchdog thread: events stop moving on a CPU in an op.  It fires
 * under wd_lock only while the program it watched is still running, so a
 * late verdict never lands on the next program.
 */
static struct {
	pthread_t thread;
	pthread_mutex_t lock;
	bool started;
	u32 running;		/* the program being watched (gen), or 0 */
	u32 fired;		/* the program the watchdog fired on */
	u32 gen;
	char *title, *lockup;
	size_t tlen, len;
} W = { .lock = PTHREAD_MUTEX_INITIALIZER };

static void *watchdog_thread(void *arg)
{
	u64 last_nops[NR_CPUS] = { 0 };
	double last_move[NR_CPUS] = { 0 };
	u32 seen = 0;

	(void)arg;
	for (;;) {
		/* Polls at least twice per watchdog period. */
		long ns = X.o.watchdog < 0.1 ? (long)(X.o.watchdog * 5e8) :
					       50 * 1000 * 1000;
		struct timespec ts = { 0, ns > 100000 ? ns : 100000 };
		double t;
		int stuck = -1;
		u32 gen;

		nanosleep(&ts, NULL);
		if (__atomic_load_n(&X.quit, __ATOMIC_ACQUIRE))
			break;
		/*
		 * The scan holds wd_lock: the main thread clears "running"
		 * under it before it resets the CPUs for the next program.
		 */
		pthread_mutex_lock(&W.lock);
		gen = __atomic_load_n(&W.running, __ATOMIC_ACQUIRE);
		if (!gen) {
			pthread_mutex_unlock(&W.lock);
			continue;
		}
		t = now_s();
		for (int i = 0; i < X.ncpus; i++) {
			struct scpu *s = &X.c[i];
			u64 nops = LD(s->nops);

			if (gen != seen || __atomic_load_n(&s->state, __ATOMIC_ACQUIRE) == 2 ||
			    nops != last_nops[i]) {
				last_nops[i] = nops;
				last_move[i] = t;
			} else if (t - last_move[i] > X.o.watchdog) {
				stuck = i;
			}
		}
		seen = gen;
		if (stuck < 0) {
			pthread_mutex_unlock(&W.lock);
			continue;
		}
		lockup_report(stuck, t - last_move[stuck], W.title, W.tlen,
			      W.lockup, W.len);
		W.fired = gen;
		__atomic_store_n(&X.abort, 1, __ATOMIC_RELEASE);
		for (int i = 0; i < X.ncpus; i++)
			stress_kick(i);
		pthread_mutex_unlock(&W.lock);
		/* Every wait checks the flag: they stop within milliseconds. */
		for (int k = 0; k < 200 && __atomic_load_n(&X.nrunning,
							   __ATOMIC_ACQUIRE); k++) {
			struct timespec w = { 0, 10 * 1000 * 1000 };

			nanosleep(&w, NULL);
		}
		if (__atomic_load_n(&X.nrunning, __ATOMIC_ACQUIRE)) {
			fputs(W.lockup, stdout);
			printf("stress: the stuck CPU threads did not stop; exiting without converting the program to a repro\n");
			fflush(stdout);
			_exit(1);
		}
	}
	return NULL;
}

void stress_init(const struct stress_opts *o)
{
	X.o = *o;
	X.delay_thresh = o->delay <= 0 ? 0 : o->delay >= 1 ? ~0ULL :
			 (u64)(o->delay * 18446744073709551615.0);
	X.delay_thresh_rel = o->delay <= 0 ? 0 : o->delay * 8 >= 1 ? ~0ULL :
			     (u64)(o->delay * 8 * 18446744073709551615.0);
	X.epoch = o->seed;
	X.plan_rng.s = o->seed ^ 0x6a09e667f3bcc909ULL;
	is_main = true;
	stress_mode = true;
	/* set-up and teardown call call_rcu() from the main thread */
	urcu_glue_register();
}

void stress_fini(void)
{
	__atomic_store_n(&X.quit, 1, __ATOMIC_RELEASE);
	__atomic_add_fetch(&X.go, 1, __ATOMIC_ACQ_REL);
	futex(&X.go, FUTEX_WAKE_PRIVATE, INT_MAX, NULL);
	for (int i = 1; i < X.nthreads; i++)
		pthread_join(X.c[i].thread, NULL);
	X.nthreads = 0;
	if (W.started)
		pthread_join(W.thread, NULL);
	W.started = false;
	X.quit = 0;
	urcu_glue_barrier();
	urcu_glue_stop();
	urcu_glue_unregister();
	stress_mode = false;
}

void stress_set_program(const struct program *p)
{
	X.prog = p;
}

/*
 * The release points (or, @all, the events) CPU @c is expected to pass:
 * learned per op kind from the programs run so far.
 */
static u32 expected_points(int c, bool all)
{
	double e = 0;

	for (int i = 0; i < X.prog->nops[c]; i++) {
		int k = X.prog->ops[c][i].kind;

		if (X.rel_cnt[k] < 4)
			e += all ? 40 : 8;
		else
			e += (all ? X.ev_sum[k] : X.rel_sum[k]) / X.rel_cnt[k];
	}
	return e < 1 ? 1 : (u32)(e + 0.5);
}

/*
 * The plan of a program, PCT-like in real time: one CPU (the "high" one)
 * runs to a release point drawn uniformly over the release points it is
 * expected to pass, while the others wait at their start or at one of
 * their own release points; there the high CPU holds until the others
 * have made 2^(0..12) events of progress, or without bound (until they
 * finish or wait).  Then all run free.
 */
/*
 * The plan's draws.  Closer to PCT (where a lower-priority CPU does not
 * run at all before the high one's change point) pays: on a program with
 * the ops of flush-tlb-under-ptl (6 + 6 ops) the median of programs to a
 * find over seeds 1..8 went from 385 to 65 when the others wait at their
 * start in 3 of 4 programs (was 1 of 2), the high CPU's hold is unbounded
 * in 3 of 4 (was 1 of 2) and uniform delays take 1 program in 8 (was 1
 * in 4); device-private-fault-ref's and exclusive-fault-ref's regression
 * programs were found as fast or faster (docs/benchmarks.md).
 */
#define PLAN_UNIFORM_ODDS	8	/* 1 in N: KCSAN-style delays instead */
#define PLAN_UNBOUNDED_ODDS	4	/* N-1 in N: hold until the others stop */
#define PLAN_START_ODDS		4	/* N-1 in N: the others wait at start */
/*
 * 1 in N: a second change point, as PCT with depth 3: the high CPU runs
 * to its point while the others wait at their start, then holds while a
 * second CPU runs to a point of its own, where that one holds while the
 * rest run.  A window that opens in the second CPU only after the first
 * one's early ops ran (it refilled a TLB entry, took a reference) needs
 * it: depth 2 let the first CPU's early ops run only inside the window.
 * (A program explore found for flush-tlb-under-ptl: not in 25,000 runs at
 * depth 2 on each of seeds 1..3; with 1 plan in 3 at depth 3, after 1,983
 * and 3,846 runs on seeds 2, 3.)
 */
#define PLAN_SECOND_ODDS	3

static void plan_holds(int ncpus)
{
	struct rng *r = &X.plan_rng;
	int h;

	X.hi = -1;
	X.hi_reached = 0;
	X.hi2 = -1;
	X.hi2_reached = 0;
	X.uniform = X.delay_thresh != 0;
	if (!X.delay_thresh || !X.prog || ncpus < 2)
		return;
	/* Some programs: KCSAN-style delays instead. */
	if (!rng_below(r, PLAN_UNIFORM_ODDS))
		return;
	X.uniform = false;
	h = (int)rng_below(r, (u32)ncpus);
	X.hi = h;
	/* As PCT's change points: over every event, or over releases only */
	X.hi_any = rng_below(r, 2);
	X.hi_at = 1 + rng_below(r, expected_points(h, X.hi_any));
	X.hi_n = rng_below(r, PLAN_UNBOUNDED_ODDS) ? UINT32_MAX :
		 1u << rng_below(r, 13);
	for (int c = 0; c < ncpus; c++) {
		if (c == h)
			continue;
		X.c[c].wait_at = rng_below(r, PLAN_START_ODDS) ? 0 :
				 1 + rng_below(r, expected_points(c, false));
	}
	if (rng_below(r, PLAN_SECOND_ODDS))
		return;
	X.hi2 = (h + 1 + (int)rng_below(r, (u32)ncpus - 1)) % ncpus;
	X.hi2_any = rng_below(r, 2);
	X.hi2_at = 1 + rng_below(r, expected_points(X.hi2, X.hi2_any));
	X.c[X.hi2].wait_at = 0;
}

void stress_begin(int ncpus)
{
	X.ncpus = ncpus;
	X.abort = 0;
	X.ntrace = 0;
	X.epoch++;
	for (int i = 0; i < ncpus; i++) {
		struct scpu *s = &X.c[i];

		s->id = i;
		s->rng.s = X.epoch * 0x9e3779b97f4a7c15ULL + (u64)i;
		s->nops = s->nev = 0;
		s->cur_op = NULL;
		s->state = 0;
		s->head = 0;
		s->nheld = 0;
		s->watch = NULL;
		s->sleeping = 0;
		s->nhlocks = 0;
		s->rcu_depth = 0;
		s->after_release = false;
		s->nwait = 0;
		s->nrel = 0;
		s->wait_at = UINT32_MAX;
		s->cur_kind = -1;
	}
	plan_holds(ncpus);
}

static int cmp_ring(const void *a, const void *b)
{
	const struct ring_ev *x = a, *y = b;

	return x->tsc < y->tsc ? -1 : x->tsc > y->tsc;
}

/* Merge the rings in time order into the trace report.c reads. */
static void build_trace(void)
{
	static struct ring_ev all[NR_CPUS * RING];
	static struct trace_ev tr[NR_CPUS * RING];
	int n = 0;

	for (int i = 0; i < X.ncpus; i++) {
		struct scpu *s = &X.c[i];
		u32 head = __atomic_load_n(&s->head, __ATOMIC_ACQUIRE);
		u32 first = head > RING ? head - RING : 0;

		for (u32 k = first; k < head; k++) {
			struct ring_ev *r = &s->ring[k % RING];

			all[n].tsc = LD(r->tsc);
			all[n].ev.cpu = LD(r->ev.cpu);
			all[n].ev.kind = LD(r->ev.kind);
			all[n].ev.what = LD(r->ev.what);
			all[n].ev.func = LD(r->ev.func);
			all[n].ev.obj = LD(r->ev.obj);
			all[n].ev.addr = LD(r->ev.addr);
			all[n].ev.val = LD(r->ev.val);
			n++;
		}
	}
	qsort(all, (size_t)n, sizeof(all[0]), cmp_ring);
	for (int i = 0; i < n; i++) {
		tr[i] = all[i].ev;
		tr[i].step = (u32)i;
	}
	X.trace = tr;
	X.ntrace = n;
}

const struct trace_ev *stress_trace(int *n)
{
	*n = X.ntrace;
	return X.trace;
}

u64 stress_ops_done(void)
{
	return __atomic_load_n(&X.ops_total, __ATOMIC_RELAXED);
}

u64 stress_events(void)
{
	return __atomic_load_n(&X.ev_total, __ATOMIC_RELAXED);
}

/* The soft-lockup report: each CPU's op, locks and last events. */
static void lockup_report(int stuck, double secs, char *title, size_t tlen,
			  char *out, size_t len)
{
	size_t off = 0;

#define OUT(...)                                                           \
	do {                                                               \
		if (off < len)                                             \
			off += (size_t)snprintf(out + off, len - off,      \
						__VA_ARGS__);              \
	} while (0)
	snprintf(title, tlen,
		 "soft lockup: CPU#%d stuck for %.3gs in %s", stuck, secs,
		 LD(X.c[stuck].cur_op) ? LD(X.c[stuck].cur_op) : "(no op)");
	OUT("BUG: migrace: %s\n", title);
	for (int i = 0; i < X.ncpus; i++) {
		struct scpu *s = &X.c[i];
		const char *op = LD(s->cur_op);
		int nh = __atomic_load_n(&s->nheld, __ATOMIC_ACQUIRE);
		u32 head = __atomic_load_n(&s->head, __ATOMIC_ACQUIRE);
		u32 first = head > 12 ? head - 12 : 0;

		OUT("CPU %d: %s, %llu ops done, %s\n", i,
		    LD(s->state) == 2 ? "finished its program" :
		    op ? op : "between ops",
		    (unsigned long long)LD(s->nops),
		    LD(s->sleeping) ? "sleeping" : "running");
		OUT("  locks held:");
		if (!nh)
			OUT(" none");
		for (int k = 0; k < nh && k < MAX_HELD; k++)
			OUT(" %s (%s())", LD(s->held[k].name),
			    LD(s->held[k].func));
		OUT("\n  last events:\n");
		for (u32 k = first; k < head; k++) {
			struct ring_ev *r = &s->ring[k % RING];

			OUT("    %-9s %-28s %s() addr=%#lx\n",
			    ev_kind_name(LD(r->ev.kind)), LD(r->ev.what),
			    LD(r->ev.func), LD(r->ev.addr));
		}
	}
#undef OUT
}

int stress_run_cpus(void (*cpu_main)(int cpu), char *title, size_t tlen,
		    char *lockup, size_t len)
{
	int ret = 0;

	X.cpu_main = cpu_main;
	X.nrunning = X.ncpus;
	X.ready = 0;
	current_cpu = NULL;
	for (int i = 0; i < X.ncpus; i++)
		X.c[i].state = 1;
	if (!W.started) {
		if (pthread_create(&W.thread, NULL, watchdog_thread, NULL)) {
			perror("migrace: pthread_create");
			exit(3);
		}
		W.started = true;
	}
	if (!X.nthreads)
		X.nthreads = 1;	/* CPU 0 is this thread */
	for (; X.nthreads < X.ncpus; X.nthreads++) {
		X.c[X.nthreads].go_seen = X.go;
		if (pthread_create(&X.c[X.nthreads].thread, NULL, cpu_thread,
				   &X.c[X.nthreads])) {
			perror("migrace: pthread_create");
			exit(3);
		}
	}
	pthread_mutex_lock(&W.lock);
	W.title = title;
	W.tlen = tlen;
	W.lockup = lockup;
	W.len = len;
	if (!++W.gen)
		W.gen = 1;
	__atomic_store_n(&W.running, W.gen, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&W.lock);
	__atomic_add_fetch(&X.go, 1, __ATOMIC_ACQ_REL);
	if (X.ncpus > 1)
		futex(&X.go, FUTEX_WAKE_PRIVATE, INT_MAX, NULL);
	run_one(&X.c[0]);
	/* The others: spin a little, then sleep until the last one wakes us. */
	for (unsigned int spins = 0;; spins++) {
		int n = __atomic_load_n(&X.nrunning, __ATOMIC_ACQUIRE);

		if (!n)
			break;
		if (spins < 256) {
			cpu_relax();
			continue;
		}
		futex((u32 *)&X.nrunning, FUTEX_WAIT_PRIVATE, (u32)n, NULL);
	}
	pthread_mutex_lock(&W.lock);
	__atomic_store_n(&W.running, 0, __ATOMIC_RELEASE);
	if (W.fired == W.gen)
		ret = 2;	/* the watchdog: its report is written */
	pthread_mutex_unlock(&W.lock);
	/* Every callback of this program runs before the machine is checked. */
	urcu_glue_barrier();
	for (int i = 0; i < X.ncpus; i++) {
		struct scpu *s = &X.c[i];

		X.ops_total += s->nops;
		X.ev_total += s->nev;
		for (int k = 0; k < NR_OP_KINDS; k++) {
			if (!s->rel_cnt[k])
				continue;
			X.rel_sum[k] += s->rel_sum[k];
			X.ev_sum[k] += s->ev_sum[k];
			X.rel_cnt[k] += s->rel_cnt[k];
			s->rel_sum[k] = s->rel_cnt[k] = s->ev_sum[k] = 0;
		}
	}
	if (!ret && X.abort)
		ret = 1;
	if (ret)
		build_trace();	/* only a report reads it */
	return ret;
}
