// SPDX-License-Identifier: GPL-2.0
/*
 * The controlled scheduler.  Only one CPU runs at a time; at every
 * preemption point the strategy decides who runs next.  Every decision
 * comes from the strategy's seed or from the replayed schedule, so the same
 * program and the same decisions give the same execution, bit for bit.
 *
 * The executed schedule is recorded as segments "CPU c ran n events"; a
 * new segment starts whenever the running CPU changes.  Replaying those
 * segments makes the same switches at the same events.
 */
#include <stdio.h>
#include <stdlib.h>

#include <migrace/cpu.h>
#include <migrace/check.h>
#include <migrace/rcu.h>
#include "evhash.h"
#include "fiber.h"
#include "sched_core.h"
#include "stress.h"

enum { VCPU_RUNNABLE, VCPU_BLOCKED, VCPU_DONE };

struct vcpu {
	int state;
	const void *wait_obj;
	const char *wait_what;
	const char *wait_func;
	struct fiber fiber;
	int prio;
	/* the last event this CPU executed, for named stops */
	const char *last_what;
	const char *last_func;
	/*
	 * Switched to but no event recorded yet: it must record one before
	 * it can be switched away, so every visit is in the recorded
	 * schedule and replays.
	 */
	bool fresh;
};

static struct {
	bool active;
	int ncpus;
	int cur;		/* running CPU, -1 in main */
	struct vcpu v[NR_CPUS];
	struct fiber main;
	void (*cpu_main)(int cpu);
	bool aborted;
	bool yielding;		/* the running CPU is in a busy retry */
	int low_prio;		/* PCT: next priority for a yielding CPU */

	u64 step;
	u64 hash;
	struct strategy st;
	struct rng rng;
	/* PCT: change point i fires after event change[i] of its class */
	u64 change[8];
	bool change_sync[8];
	bool change_fired[8];
	int nchange;
	/* the earliest change point not yet passed, of each class */
	u64 next_change, next_change_sync;
	/* PCT's choice, until a priority or a CPU's state changes */
	int best;
	u64 nsync;		/* release events so far */
	u64 npreempt;		/* switches away from a runnable CPU */
	bool last_sync;		/* the last event was a release */
	/* replay */
	bool continuing;	/* --continue: the replay ended, cont rules */
	u64 cont_step;		/* the event it ended at */
	int seg;
	u32 seg_done;	/* events (or matches) of the current segment */
	bool seg_started;
	int unreached;	/* first 'until' segment whose CPU ended first */
	/*
	 * 'until' segments that ended early (their CPU blocked or
	 * yielded): each still counts its point, so a point that never
	 * occurs on that CPU is found at the end of the run.
	 */
	struct {
		int seg;
		u32 done;
	} pend[8];
	int npend;
	/* recording */
	struct schedule *rec;
	/* tracing */
	struct trace_ev *trace;
	int ntrace;
	FILE *trace_out;
} S;

static struct trace_ev trace_buf[TRACE_MAX];

/*
 * Interleaving coverage (for the fuzz targets): the last access to each
 * shared object - a PTE slot, a page's flags and counts, a lock, an mm's
 * mapping of one page - by CPU and event.  A table keyed by the object's
 * address is fine here: it only decides which pairs are reported, never
 * what runs.  A generation number empties it at each run.
 */
#define PAIR_SLOTS 1024
#define PAIR_PROBE 8
static struct pair_slot {
	const void *obj;
	unsigned long page;
	const char *what, *func;	/* the last access, hashed on a pair */
	u32 gen;
	u8 kind;
	u8 cpu;
} pair_tab[PAIR_SLOTS];
static u32 pair_gen;

static const char *const kind_names[EV_NR] = {
	[EV_OP_BEGIN] = "op",	 [EV_OP_END] = "ret",	 [EV_LOCK] = "lock",
	[EV_UNLOCK] = "unlock",	 [EV_PTE_READ] = "pte-read",
	[EV_PTE_WRITE] = "pte-write", [EV_TLB] = "tlb", [EV_USER] = "user",
	[EV_ATOMIC] = "atomic",	 [EV_WAIT] = "wait", [EV_NOTE] = "note",
};

const char *ev_kind_name(int kind)
{
	return kind >= 0 && kind < EV_NR ? kind_names[kind] : "?";
}

/* ---- strategies ---- */

static bool runnable(int c)
{
	return S.v[c].state == VCPU_RUNNABLE;
}

static int lowest_runnable(void)
{
	for (int c = 0; c < S.ncpus; c++)
		if (runnable(c))
			return c;
	return -1;
}

/* After a change point fired or passed: where the next ones are. */
static void pct_next_change(void)
{
	S.next_change = S.next_change_sync = UINT64_MAX;
	for (int i = 0; i < S.nchange; i++) {
		if (S.change_fired[i])
			continue;
		if (S.change_sync[i] && S.change[i] >= S.nsync)
			S.next_change_sync = min(S.next_change_sync, S.change[i]);
		else if (!S.change_sync[i] && S.change[i] >= S.step)
			S.next_change = min(S.next_change, S.change[i]);
	}
}

static int pick_pct(int cur)
{
	int best = -1;

	/* Called at every event: the change points are looked at near one. */
	if (S.step >= S.next_change ||
	    (S.last_sync && S.nsync >= S.next_change_sync)) {
		for (int i = 0; i < S.nchange; i++) {
			bool hit = S.change_sync[i] ?
				(S.last_sync && S.change[i] == S.nsync) :
				S.change[i] == S.step;

			if (hit && cur >= 0 && !S.change_fired[i]) {
				S.v[cur].prio = i;	/* below every initial priority */
				S.change_fired[i] = true;
			}
		}
		pct_next_change();
		S.best = -2;
	}
	if (S.yielding && cur >= 0) {
		S.v[cur].prio = --S.low_prio;	/* below everyone */
		S.best = -2;
	}
	if (S.best != -2)
		return S.best;
	for (int c = 0; c < S.ncpus; c++)
		if (runnable(c) && (best < 0 || S.v[c].prio > S.v[best].prio))
			best = c;
	S.best = best;
	return best;
}

static int pick_random(int cur)
{
	int cand[NR_CPUS], n = 0;

	for (int c = 0; c < S.ncpus; c++)
		if (runnable(c))
			cand[n++] = c;
	if (!n)
		return -1;
	/* Keep running for a while on average: windows need a few steps. */
	if (cur >= 0 && runnable(cur) && !S.yielding && rng_below(&S.rng, 8))
		return cur;
	if (S.yielding && n > 1)
		for (int i = 0; i < n; i++)
			if (cand[i] == cur)
				cand[i] = cand[--n];
	return cand[rng_below(&S.rng, n)];
}

static bool seg_complete(const struct segment *sg, int c)
{
	if (!S.seg_started)
		return false;
	switch (sg->kind) {
	case SEG_STEPS:
		return S.seg_done >= sg->count;
	case SEG_UNTIL:
	case SEG_RELEASES:
		return S.seg_done >= (sg->count ? sg->count : 1);
	default:
		(void)c;
		return false;	/* SEG_END: until done or blocked */
	}
}

static bool other_runnable(int cur)
{
	for (int c = 0; c < S.ncpus; c++)
		if (c != cur && runnable(c))
			return true;
	return false;
}

static int pick_pct(int cur);
static void pct_init(int kind, u64 step, u64 sync);
static int pick_random(int cur);

/*
 * `repro --continue`: the recorded schedule ended or stopped describing
 * this run; from here on the seeded strategy decides, so an edited repro
 * still runs to its end, the same way every time.
 */
static int continue_run(int cur)
{
	if (!S.continuing) {
		S.continuing = true;
		S.cont_step = S.step;
		S.rng.s = S.st.seed;
		pct_init(S.st.cont_kind, S.step, S.nsync);
	}
	return S.st.cont_kind == STRAT_PCT ? pick_pct(cur) : pick_random(cur);
}

/*
 * A segment its CPU can no longer run although it is not complete: a
 * recorded step count its CPU blocked or ended before, or a named point
 * its CPU ended without reaching.  (A named point whose CPU blocks ends
 * early by design; "to end" ends with its CPU.)
 */
static bool seg_mismatch(const struct segment *sg)
{
	if (sg->cpu >= S.ncpus)
		return true;
	if (runnable(sg->cpu) || seg_complete(sg, sg->cpu))
		return false;
	if (sg->kind == SEG_STEPS || sg->kind == SEG_RELEASES)
		return true;
	return sg->kind == SEG_UNTIL && S.v[sg->cpu].state == VCPU_DONE;
}

static int pick_replay(int cur)
{
	const struct schedule *sc = S.st.replay;
	/* A busy retry ends the running CPU's turn, as in every strategy. */
	bool yield = S.yielding && cur >= 0 && other_runnable(cur);

	if (S.continuing)
		return continue_run(cur);
	while (sc && S.seg < sc->nseg) {
		const struct segment *sg = &sc->seg[S.seg];

		if (sg->cpu < S.ncpus && runnable(sg->cpu) &&
		    !seg_complete(sg, sg->cpu) && !(yield && sg->cpu == cur))
			return sg->cpu;
		if (S.st.cont && seg_mismatch(sg))
			return continue_run(cur);
		/*
		 * Bookkeeping only, no decision depends on it: a named point
		 * its CPU finished without reaching is a schedule that does
		 * not describe this run (a typo, say), not a clean replay.
		 */
		if (sg->kind == SEG_UNTIL && sg->cpu < S.ncpus &&
		    !seg_complete(sg, sg->cpu)) {
			u32 done = S.seg_started ? S.seg_done : 0;

			if (S.v[sg->cpu].state == VCPU_DONE) {
				if (S.unreached < 0)
					S.unreached = S.seg;
			} else if (S.npend < (int)ARRAY_SIZE(S.pend)) {
				S.pend[S.npend].seg = S.seg;
				S.pend[S.npend++].done = done;
			}
		}
		S.seg++;
		S.seg_done = 0;
		S.seg_started = false;
	}
	if (S.st.cont)
		return continue_run(cur);
	/* Schedule used up: run what is left in CPU order, no preemption. */
	if (cur >= 0 && runnable(cur) && !yield)
		return cur;
	/* A yield passes the turn round-robin, so no CPU starves. */
	if (yield)
		for (int i = 1; i < S.ncpus; i++)
			if (runnable((cur + i) % S.ncpus))
				return (cur + i) % S.ncpus;
	return lowest_runnable();
}

static int pick(int cur)
{
	switch (S.st.kind) {
	case STRAT_PCT:
		return pick_pct(cur);
	case STRAT_RANDOM:
		return pick_random(cur);
	default:
		return pick_replay(cur);
	}
}

/* ---- recording and switching ---- */

static void record(int c)
{
	struct schedule *r = S.rec;

	if (!r)
		return;
	if (!r->nseg || r->seg[r->nseg - 1].cpu != c) {
		if (r->nseg == MAX_SEGS) {
			/* Too long to record: the tail runs unpreempted. */
			return;
		}
		memset(&r->seg[r->nseg], 0, sizeof(r->seg[0]));
		r->seg[r->nseg].cpu = c;
		r->seg[r->nseg].kind = SEG_STEPS;
		r->nseg++;
	}
	r->seg[r->nseg - 1].count++;
}

void (*sched_switch_hook)(u32 from, u32 to);
void (*sched_pair_hook)(u32 first, u32 second);

static u32 ev_id(const char *what, const char *func)
{
	return ev_point_id(what, func);
}

static void switch_to(int next, bool final)
{
	int prev = S.cur;

	/* Which event was preempted, which one resumes: fuzzer coverage. */
	if (sched_switch_hook && prev >= 0 && next >= 0)
		sched_switch_hook(ev_id(S.v[prev].last_what, S.v[prev].last_func),
				  ev_id(S.v[next].last_what, S.v[next].last_func));

	S.cur = next;
	current_cpu = next >= 0 ? &cpus[next] : NULL;
	if (next >= 0)
		S.v[next].fresh = true;
	fiber_switch(&S.v[prev].fiber, next >= 0 ? &S.v[next].fiber : &S.main,
		     final);
	/* resumed */
	S.cur = prev;
	current_cpu = &cpus[prev];
}

static void deadlock(void) __attribute__((noreturn));
static void deadlock(void)
{
	for (int c = 0; c < S.ncpus; c++) {
		struct vcpu *v = &S.v[c];

		if (v->state == VCPU_BLOCKED) {
			report_detail("CPU %d blocked in %s() on %s", c,
				      v->wait_func, v->wait_what);
			report_waited_lock(v->wait_obj, v->wait_what);
		}
	}
	report_bug(NULL, 0, "deadlock: every live CPU is blocked");
}

/* The running CPU cannot go on (blocked or done): run someone else. */
static void yield_blocked(bool final)
{
	int next = pick(S.cur);

	if (next < 0) {
		for (int c = 0; c < S.ncpus; c++)
			if (S.v[c].state == VCPU_BLOCKED)
				deadlock();
		switch_to(-1, true);	/* all done: back to main */
	}
	if (next != S.cur)
		switch_to(next, final);
}

static bool seg_matches(const struct segment *sg, const char *what,
			const char *func)
{
	return !strcmp(sg->what, what) &&
	       (!sg->func[0] || !strcmp(sg->func, func));
}

/*
 * Two accesses to one object by different CPUs with no access in between:
 * a reads-from or write-after edge of a PTE, a page flag or count, a lock
 * hand-over (unlock on one CPU, lock on the next).  Reported by the kind
 * and the point of both events, so a fuzzer keeps an input that reaches a
 * new such pair even when it runs no new code.
 */
static void pair_note(enum ev_kind kind, const char *what, const char *func,
		      const void *obj, unsigned long addr)
{
	unsigned long page = addr >> PAGE_SHIFT;
	u64 key = (u64)(uintptr_t)obj * 0x9e3779b97f4a7c15ULL ^ page;
	struct pair_slot *e = NULL;

	for (int i = 0; i < PAIR_PROBE; i++) {
		struct pair_slot *t = &pair_tab[((key >> 40) + i) & (PAIR_SLOTS - 1)];

		if (t->gen != pair_gen || (t->obj == obj && t->page == page)) {
			e = t;
			break;
		}
	}
	if (!e)		/* full around here: forget the oldest guess */
		e = &pair_tab[(key >> 40) & (PAIR_SLOTS - 1)];
	/* the point ids only for a pair: most accesses make none */
	if (e->gen == pair_gen && e->obj == obj && e->page == page &&
	    e->cpu != S.cur)
		sched_pair_hook(ev_id(e->what, e->func) * 31 + e->kind,
				ev_id(what, func) * 31 + kind);
	e->obj = obj;
	e->page = page;
	e->gen = pair_gen;
	e->what = what;
	e->func = func;
	e->kind = (u8)kind;
	e->cpu = (u8)S.cur;
}

static void trace_add(enum ev_kind kind, const char *what, const char *func,
		      const void *obj, unsigned long addr, u64 val)
{
	int c = S.cur;

	if (!S.st.no_hash)
		S.hash = ev_hash(S.hash, c, kind, what, addr, val);
	/* An unhashed run that reports is replayed for its diagram too. */
	if (!S.st.no_hash && S.ntrace < TRACE_MAX) {
		struct trace_ev *e = &S.trace[S.ntrace++];

		e->step = (u32)S.step;
		e->cpu = (u8)c;
		e->kind = (u8)kind;
		e->what = what;
		e->func = func;
		e->obj = obj;
		e->addr = addr;
		e->val = val;
	}
	if (S.trace_out)
		fprintf(S.trace_out, "%6llu  CPU%d  %-9s %-28s %s() addr=%#lx val=%#llx\n",
			(unsigned long long)S.step, c, ev_kind_name(kind), what,
			func, addr, (unsigned long long)val);
	if (sched_pair_hook && obj)
		pair_note(kind, what, func, obj, addr);
	S.v[c].last_what = what;
	S.v[c].last_func = func;
	S.v[c].fresh = false;
	S.step++;
	S.last_sync = kind == EV_UNLOCK || kind == EV_OP_END;
	S.nsync += S.last_sync;
	record(c);
	for (int i = 0; i < S.npend; i++) {
		const struct segment *sg = &S.st.replay->seg[S.pend[i].seg];

		if (sg->cpu == c && seg_matches(sg, what, func) &&
		    ++S.pend[i].done >= sg->count)
			S.pend[i--] = S.pend[--S.npend];
	}
	if (S.st.kind == STRAT_REPLAY && S.st.replay &&
	    S.seg < S.st.replay->nseg) {
		const struct segment *sg = &S.st.replay->seg[S.seg];

		if (sg->cpu == c) {
			S.seg_started = true;
			if (sg->kind == SEG_STEPS)
				S.seg_done++;
			else if (sg->kind == SEG_UNTIL &&
				 seg_matches(sg, what, func))
				S.seg_done++;
			else if (sg->kind == SEG_RELEASES &&
				 (kind == EV_UNLOCK || kind == EV_OP_END))
				S.seg_done++;
		}
	}
}

void sched_point(enum ev_kind kind, const char *what, const char *func,
		 const void *obj, unsigned long addr, u64 val)
{
	int next;

	if (stress_mode) {
		stress_point(kind, what, func, obj, addr, val);
		return;
	}
	if (!S.active || S.cur < 0)
		return;
	if (!S.v[S.cur].fresh) {
		next = pick(S.cur);
		if (next != S.cur && next >= 0) {
			/* a yield or a block is no preemption */
			if (runnable(S.cur) && !S.yielding)
				S.npreempt++;
			switch_to(next, false);
		}
	}
	S.yielding = false;	/* a yield is one decision, not a state */
	trace_add(kind, what, func, obj, addr, val);
	if (S.step > MAX_STEPS)
		report_bug(NULL, 0,
			   "livelock: no progress after %d steps (CPU%d in %s())",
			   MAX_STEPS, S.cur, func);
	if (rcu_pending())
		rcu_process_callbacks(false);
}

void sched_retry_point(const char *what, const char *func, int nth)
{
	if (nth <= 1)
		sched_point(EV_NOTE, what, func, NULL, 0, 0);
	else
		sched_yield_point(what, func);
}

void sched_yield_point(const char *what, const char *func)
{
	if (stress_mode) {
		stress_point(EV_NOTE, what, func, NULL, 0, 0);
		stress_yield();
		return;
	}
	S.yielding = true;
	sched_point(EV_NOTE, what, func, NULL, 0, 0);
	S.yielding = false;
}

void sched_block(const void *obj, const char *what, const char *func)
{
	struct vcpu *v;

	if (stress_mode) {
		stress_block(obj, what, func);
		return;
	}
	if (!S.active || S.cur < 0) {
		/* Single-threaded set-up/teardown: nobody could wake us. */
		report_bug(NULL, 0, "%s() would block on %s outside a run",
			   func, what);
	}
	v = &S.v[S.cur];
	trace_add(EV_WAIT, what, func, obj, 0, 0);
	v->state = VCPU_BLOCKED;
	S.best = -2;
	v->wait_obj = obj;
	v->wait_what = what;
	v->wait_func = func;
	yield_blocked(false);
}

void sched_wake(const void *obj)
{
	if (stress_mode) {
		stress_wake(obj);
		return;
	}
	if (!S.active)
		return;
	for (int c = 0; c < S.ncpus; c++) {
		struct vcpu *v = &S.v[c];

		if (v->state == VCPU_BLOCKED && v->wait_obj == obj) {
			v->state = VCPU_RUNNABLE;
			S.best = -2;
			v->wait_obj = NULL;
		}
	}
}

void sched_spin_wait(const void *obj, const char *what, const char *func)
{
	if (stress_mode)
		stress_spin_wait(obj, what, func);
	else
		sched_block(obj, what, func);
}

/* Stress mode: the watchdog sees a CPU that makes no progress. */
void sched_livelock_check(const char *what)
{
	if (!stress_mode && S.active && S.step > MAX_STEPS)
		report_bug(NULL, 0, "livelock: %s", what);
}

/* ---- the run ---- */

static void cpu_entry(void)
{
	int c = S.cur;

	fiber_started(&S.main);
	current_cpu = &cpus[c];
	S.cpu_main(c);
	S.v[c].state = VCPU_DONE;
	S.best = -2;
	yield_blocked(true);
	abort();	/* a finished CPU is never resumed */
}

/*
 * PCT's priorities and change points, drawn from S.rng.  @step and @sync
 * are where the strategy takes over: 0 for a run of its own, the replay's
 * end for `repro --continue`.
 */
static void pct_init(int kind, u64 step, u64 sync)
{
	int d = S.st.depth > 0 ? S.st.depth : 3;
	u64 k = S.st.est_steps ? S.st.est_steps : 2000;
	u64 ks = S.st.est_sync ? S.st.est_sync : k / 8 + 1;
	int perm[NR_CPUS];

	if (kind != STRAT_PCT)
		return;
	/* Random distinct initial priorities d .. d+n-1. */
	for (int c = 0; c < S.ncpus; c++)
		perm[c] = c;
	for (int c = S.ncpus - 1; c > 0; c--) {
		int j = rng_below(&S.rng, c + 1), t = perm[c];

		perm[c] = perm[j];
		perm[j] = t;
	}
	for (int c = 0; c < S.ncpus; c++)
		S.v[c].prio = d + perm[c];
	S.best = -2;
	S.nchange = min(d - 1, (int)ARRAY_SIZE(S.change));
	/*
	 * Half the change points fall right after a release (an unlock or
	 * an op return): most races need a preemption there, and there are
	 * far fewer of them than events.
	 */
	for (int i = 0; i < S.nchange; i++) {
		S.change_fired[i] = false;
		S.change_sync[i] = rng_below(&S.rng, 2);
		S.change[i] = (S.change_sync[i] ? sync : step) + 1 +
			      rng_below(&S.rng, (u32)(S.change_sync[i] ? ks : k));
	}
	pct_next_change();
}

void sched_begin(int ncpus, const struct strategy *st, struct schedule *rec,
		 const struct run_options *o)
{
	S.ncpus = ncpus;
	S.st = *st;
	if (!++pair_gen) {
		memset(pair_tab, 0, sizeof(pair_tab));
		pair_gen = 1;
	}
	if (st->kind == STRAT_STRESS) {
		S.step = 0;
		S.hash = 0;
		S.rec = rec;
		if (rec)
			rec->nseg = 0;
		S.trace_out = NULL;
		S.cur = -1;
		stress_begin(ncpus);
		return;
	}
	S.rng.s = st->seed;
	S.step = 0;
	S.hash = 0xcbf29ce484222325ULL;
	S.trace = trace_buf;
	S.ntrace = 0;
	S.trace_out = o && o->trace ? (o->trace_out ? o->trace_out : stdout)
				   : NULL;
	S.rec = rec;
	if (rec)
		rec->nseg = 0;
	S.seg = 0;
	S.seg_done = 0;
	S.seg_started = false;
	S.unreached = -1;
	S.npend = 0;
	S.cur = -1;
	S.aborted = false;
	S.yielding = false;
	S.low_prio = 0;
	S.nsync = 0;
	S.npreempt = 0;
	S.last_sync = false;
	for (int c = 0; c < ncpus; c++) {
		S.v[c].state = VCPU_RUNNABLE;
		S.v[c].wait_obj = NULL;
		S.v[c].last_what = S.v[c].last_func = "";
		S.v[c].fresh = false;
	}
	S.continuing = false;
	S.nchange = 0;
	pct_init(st->kind, 0, 0);
}

int sched_run_cpus(void (*cpu_main)(int cpu))
{
	int first;

	S.cpu_main = cpu_main;
	fiber_init_main(&S.main);
	for (int c = 0; c < S.ncpus; c++)
		fiber_make(&S.v[c].fiber, cpu_entry, 256 * 1024);
	S.active = true;
	first = pick(-1);
	S.cur = first;
	current_cpu = &cpus[first];
	fiber_switch(&S.main, &S.v[first].fiber, 0);
	/* back in main: all done, or a report aborted the run */
	S.cur = -1;
	current_cpu = NULL;
	S.active = false;
	return S.aborted ? 1 : 0;
}

void sched_end(void)
{
	S.active = false;
	S.cur = -1;
	S.trace_out = NULL;
}

bool sched_in_cpu(void)
{
	if (stress_mode)
		return stress_in_cpu();
	return S.active && S.cur >= 0;
}

void sched_abort_cpu(void)
{
	if (stress_mode)
		stress_abort_cpu();
	S.aborted = true;
	switch_to(-1, true);
	abort();
}

long long sched_continued_at(void)
{
	return S.continuing ? (long long)S.cont_step : -1;
}

int sched_unreached_segment(void)
{
	int first = S.unreached;

	for (int i = 0; i < S.npend; i++)
		if (first < 0 || S.pend[i].seg < first)
			first = S.pend[i].seg;
	return first;
}

u64 sched_hash(void)
{
	return S.st.no_hash ? 0 : S.hash;
}

u64 sched_steps(void)
{
	if (stress_mode)
		return 0;	/* the oracle's clock orders events itself */
	return S.step;
}

u64 sched_sync_steps(void)
{
	return S.nsync;
}

u64 sched_preemptions(void)
{
	return S.npreempt;
}

const struct trace_ev *sched_trace(int *n)
{
	if (stress_mode)
		return stress_trace(n);
	*n = S.ntrace;
	return S.trace;
}
