/*
 * Oracle 1, memory contents.  Every page of the region is split into
 * per-CPU slots and a CPU stores only into its own slot, so the values a
 * load may return are known: each (process, page, slot) is a register
 * whose operations are stores, zaps (MADV_DONTNEED: value 0) and unmaps
 * (value VAL_UNMAPPED: the load must fault).  A load may return the value
 * of any operation still in progress, or of any completed one that no
 * later-starting completed operation has overwritten.  Migration, COW,
 * faults, swap, reclaim and fork must be invisible.
 *
 * MADV_FREE is a store of 0 that may or may not happen, at any time until
 * the page is written again (reclaim may discard a clean lazily-freed
 * page): a "maybe" operation that stays in progress until a write to the
 * page that started after madvise() returned completes, and that never
 * overwrites the values before it.  A store racing with the madvise call
 * may go through a TLB entry the call has not flushed yet, leave the pte
 * clean, and be discarded with the page: it does not close the window.
 * Nothing here knows about any fix.
 */
#include <stdio.h>

#include <migrace/check.h>
#include <migrace/mm.h>
#include <migrace/prog.h>
#include "../sched/sched_core.h"
#include "../sched/stress.h"

#define MAX_ORACLE_OPS 4096
#define MAX_CAND 24
#define LAZYFREE_MAX (NR_CPUS + 1)	/* every CPU's call, and one returned */

struct oop {
	u64 value;
	u64 start, end;	/* end == 0: in progress */
	bool withdrawn;
	bool maybe;	/* may not happen: overwrites nothing */
	bool remap;	/* over the whole page: MADV_DONTNEED, munmap, mmap */
	int orig;	/* fork copy: the parent's op, or -1 */
	const char *what;	/* the program op, for the report title */
};

struct reg {
	int n;
	int cand[MAX_CAND];
	bool overflow;	/* too many candidates: anything is allowed */
};

static struct {
	struct oop ops[MAX_ORACLE_OPS];
	int nops;
	struct reg regs[ORACLE_PROCS][REGION_PAGES][PAGE_SLOTS];
	int pages, slots;
	unsigned int forking[ORACLE_PROCS];	/* children being forked from it */
	/* open MADV_FREE ops + 1, one per call in progress or returned */
	int lazyfree[ORACLE_PROCS][REGION_PAGES][LAZYFREE_MAX];
	u64 lazyfree_ret[ORACLE_PROCS][REGION_PAGES][LAZYFREE_MAX];	/* 0: in progress */
	u64 clock;
} O;

/*
 * The slots in use: one per CPU, and the device's (DEV_SLOT), which
 * device_write stores into.  An op over [slot_lo, slot_hi] covers the
 * used slots in that range: [0, DEV_SLOT] is the whole page.
 */
static bool slot_used(int s)
{
	return s < O.slots || s == DEV_SLOT;
}

#define for_each_slot(s, lo, hi) \
	for (int s = (lo); s <= (hi); s++) if (slot_used(s))

static u64 now(void)
{
	/* Scheduler steps order events; the clock breaks ties. */
	u64 s = sched_steps() * 4;

	if (s <= O.clock)
		s = O.clock + 1;
	O.clock = s;
	return s;
}

static int new_op(u64 value, u64 start, u64 end, int orig, const char *what)
{
	struct oop *o;

	if (O.nops == MAX_ORACLE_OPS)
		return -1;
	o = &O.ops[O.nops];
	o->value = value;
	o->start = start;
	o->end = end;
	o->withdrawn = false;
	o->maybe = false;
	o->remap = false;
	o->orig = orig;
	o->what = what;
	return O.nops++;
}

static void reg_add(struct reg *r, int op)
{
	if (op < 0 || r->n == MAX_CAND) {
		r->overflow = true;
		return;
	}
	r->cand[r->n++] = op;
}

u64 oracle_initial_value(int proc, int page, int slot)
{
	(void)proc;
	return 0x1000000000000000ULL | ((u64)page << 8) | (u64)slot;
}

static void __oracle_reset(int region_pages, int nslots, bool mapped, bool populate)
{
	O.nops = 0;
	O.clock = 0;
	O.pages = region_pages;
	O.slots = nslots;
	memset(O.regs, 0, sizeof(O.regs));
	memset(O.lazyfree, 0, sizeof(O.lazyfree));
	memset(O.lazyfree_ret, 0, sizeof(O.lazyfree_ret));
	for (int p = 0; p < ORACLE_PROCS; p++) {
		O.forking[p] = 0;
		for (int pg = 0; pg < region_pages; pg++)
			for_each_slot(s, 0, DEV_SLOT) {
				u64 v = !mapped ? VAL_UNMAPPED :
					populate && s != DEV_SLOT ?
					oracle_initial_value(p, pg, s) : 0;

				if (p > 0)
					v = VAL_UNMAPPED;	/* no process yet */
				/* completed at set-up */
				reg_add(&O.regs[p][pg][s],
					new_op(v, 0, 1, -1, "set-up"));
			}
	}
	O.clock = 2;
}

static void lazyfree_end_one(int proc, int page, int k)
{
	int h = O.lazyfree[proc][page][k] - 1;

	if (h >= 0) {
		O.ops[h].end = now();
		O.lazyfree[proc][page][k] = 0;
	}
}

/*
 * The windows of the calls that returned: a call still in progress may
 * reach the page after anything that happens now (a swap entry it frees
 * loses a write made since it began).
 */
static void lazyfree_end_returned(int proc, int page)
{
	for (int k = 0; k < LAZYFREE_MAX; k++)
		if (O.lazyfree[proc][page][k] && O.lazyfree_ret[proc][page][k])
			lazyfree_end_one(proc, page, k);
}

static int op_begin(int proc, int page, int npages, int slot_lo,
		    int slot_hi, u64 value, const char *what, bool maybe)
{
	u64 t = now();
	int op = new_op(value, t, 0, -1, what);

	if (op >= 0) {
		O.ops[op].maybe = maybe;
		O.ops[op].remap = !maybe && slot_lo == 0 &&
				  slot_hi == DEV_SLOT;
	}

	/* An op over the whole page replaces what MADV_FREE may do. */
	if (!maybe && slot_lo == 0 && slot_hi == DEV_SLOT)
		for (int pg = page; pg < page + npages && pg < O.pages; pg++)
			lazyfree_end_returned(proc, pg);
	for (int pg = page; pg < page + npages && pg < O.pages; pg++)
		for_each_slot(s, slot_lo, slot_hi) {
			reg_add(&O.regs[proc][pg][s], op);
			/*
			 * The child of a fork in progress gets the parent's
			 * state at some point of the fork: this op may or may
			 * not reach it.
			 */
			for (int child = 0; child < ORACLE_PROCS; child++)
				if (O.forking[proc] & (1u << child)) {
					int c = new_op(value, t, 0, op, what);

					if (c >= 0) {
						O.ops[c].maybe = maybe;
						O.ops[c].remap = op >= 0 &&
							O.ops[op].remap;
					}
					reg_add(&O.regs[child][pg][s], c);
				}
		}
	return op;
}

static int __oracle_op_begin(int proc, int page, int npages, int slot_lo, int slot_hi,
		    u64 value, const char *what)
{
	return op_begin(proc, page, npages, slot_lo, slot_hi, value, what,
			false);
}

/*
 * A zap in progress (MADV_DONTNEED, munmap): until it returns, an agent
 * whose TLB still holds the old translation reads the old page while one
 * that faulted (the device through hmm_range_fault() after the notifier's
 * end, a CPU whose TLB had no entry) stores into the new one, as Linux
 * flushes the TLBs in tlb_finish_mmu(), after
 * mmu_notifier_invalidate_range_end().  Such a store does not overwrite
 * the values before it until the zap ends, which then prunes them.
 */
static bool reg_remap_in_progress(const struct reg *r, int op)
{
	for (int i = 0; i < r->n; i++) {
		const struct oop *o = &O.ops[r->cand[i]];

		if (r->cand[i] != op && o->remap && !o->end)
			return true;
	}
	return false;
}

static void reg_prune(struct reg *r, int op)
{
	const struct oop *b = &O.ops[op];
	bool keep = !b->remap && reg_remap_in_progress(r, op);
	int j = 0;

	for (int i = 0; i < r->n; i++) {
		const struct oop *a = &O.ops[r->cand[i]];

		/*
		 * b completed and started after a completed: a is gone.  A
		 * withdrawn b never happened and overwrites nothing.
		 */
		if (r->cand[i] != op && !b->withdrawn && !b->maybe &&
		    !keep && a->end && a->end < b->start)
			continue;
		if (r->cand[i] == op && b->withdrawn)
			continue;
		r->cand[j++] = r->cand[i];
	}
	r->n = j;
}

static void __oracle_op_end(int handle, bool happened)
{
	struct oop *b;

	if (handle < 0)
		return;
	b = &O.ops[handle];
	b->end = now();
	b->withdrawn = !happened;
	for (int p = 0; p < ORACLE_PROCS; p++)
		for (int pg = 0; pg < O.pages; pg++)
			for (int k = 0; k < LAZYFREE_MAX; k++)
				if (O.lazyfree[p][pg][k] == handle + 1)
					O.lazyfree[p][pg][k] = 0;
	for (int p = 0; p < ORACLE_PROCS; p++)
		for (int pg = 0; pg < O.pages; pg++)
			for_each_slot(s, 0, DEV_SLOT) {
				struct reg *r = &O.regs[p][pg][s];

				for (int i = 0; i < r->n; i++)
					if (r->cand[i] == handle) {
						reg_prune(r, handle);
						break;
					}
			}
}

static void format_val(char *buf, size_t len, u64 v)
{
	if (v == VAL_UNMAPPED)
		snprintf(buf, len, "SIGSEGV");
	else
		snprintf(buf, len, "%#llx", (unsigned long long)v);
}

static void __oracle_check_read(const struct mm_struct *mm, int proc, int page,
		       int slot, u64 got, unsigned long addr, int pfn,
		       const char *how)
{
	struct reg *r = &O.regs[proc][page][slot];
	const struct oop *last = NULL;
	char gs[32], es[256];
	size_t off = 0;

	if (r->overflow)
		return;
	for (int i = 0; i < r->n; i++) {
		const struct oop *o = &O.ops[r->cand[i]];

		if (o->value == got)
			return;
		if (o->end && (!last || o->end > last->end))
			last = o;
	}
	format_val(gs, sizeof(gs), got);
	es[0] = 0;
	for (int i = 0; i < r->n && off < sizeof(es) - 40; i++) {
		char v[32];

		format_val(v, sizeof(v), O.ops[r->cand[i]].value);
		off += snprintf(es + off, sizeof(es) - off, "%s%s",
				i ? " or " : "", v);
	}
	report_detail("CPU %d %s slot %d of %#lx (process %d) %s%s %s, expected %s",
		      smp_processor_id(), got == VAL_UNMAPPED ? "faulted on" : "read",
		      slot, addr, proc, how, how[0] ? ")" : "", gs, es);
	if (pfn >= 0) {
		report_detail("the load was served by pfn %d", pfn);
		report_page(pfn_to_page(pfn));
	}
	if (got == VAL_UNMAPPED)
		report_access_note("-> SIGSEGV");
	else
		report_access_note("[%s, pfn %d] -> %s", how[0] ? how + 1 : "?",
				   pfn, gs);
	if (got == VAL_UNMAPPED)
		report_bug(mm, addr, "unexpected SIGSEGV at %#lx: the mapping is there",
			   addr);
	if (last && last->value == VAL_UNMAPPED)
		report_bug(mm, addr, "access to %#lx succeeded after %s returned",
			   addr, last->what);
	if (last && last->value == 0 && got != 0)
		report_bug(mm, addr, "stale read after %s returned", last->what);
	report_bug(mm, addr, "memory corruption: wrong value read at %#lx", addr);
}

static int __oracle_maybe_begin(int proc, int page, int npages, int slot_lo,
		       int slot_hi, u64 value, const char *what)
{
	return op_begin(proc, page, npages, slot_lo, slot_hi, value, what,
			true);
}

/*
 * A new call replaces the calls that returned (its window covers theirs
 * from now on); the calls still in progress, on other CPUs, stay open:
 * their windows close only after each of them returned.
 */
static int __oracle_lazyfree_begin(int proc, int page, const char *what)
{
	int op, k, slot = -1;

	if (page >= O.pages)
		return -1;
	lazyfree_end_returned(proc, page);
	op = __oracle_maybe_begin(proc, page, 1, 0, DEV_SLOT, 0, what);
	for (k = 0; k < LAZYFREE_MAX && slot < 0; k++)
		if (!O.lazyfree[proc][page][k])
			slot = k;
	if (op >= 0 && slot >= 0) {
		O.lazyfree[proc][page][slot] = op + 1;
		O.lazyfree_ret[proc][page][slot] = 0;
	}
	return op;
}

static void __oracle_lazyfree_returned(int proc, int page, int handle)
{
	if (page >= O.pages || handle < 0)
		return;
	for (int k = 0; k < LAZYFREE_MAX; k++)
		if (O.lazyfree[proc][page][k] == handle + 1)
			O.lazyfree_ret[proc][page][k] = now();
}

/* A write that started after a call returned closes that call's window. */
static void __oracle_page_written(int proc, int page, int write)
{
	if (page >= O.pages || write < 0)
		return;
	for (int k = 0; k < LAZYFREE_MAX; k++) {
		u64 ret = O.lazyfree_ret[proc][page][k];

		if (O.lazyfree[proc][page][k] && ret &&
		    O.ops[write].start > ret)
			lazyfree_end_one(proc, page, k);
	}
}

static void __oracle_fork_begin(int parent, int child)
{
	u64 t = now();

	O.forking[parent] |= 1u << child;
	for (int pg = 0; pg < O.pages; pg++)
		for_each_slot(s, 0, DEV_SLOT) {
			struct reg *src = &O.regs[parent][pg][s];
			struct reg *dst = &O.regs[child][pg][s];

			dst->n = 0;
			dst->overflow = src->overflow;
			for (int i = 0; i < src->n; i++) {
				const struct oop *o = &O.ops[src->cand[i]];

				int c = new_op(o->value, o->start, o->end,
					       src->cand[i], o->what);

				if (c >= 0) {
					O.ops[c].maybe = o->maybe;
					O.ops[c].remap = o->remap;
				}
				reg_add(dst, c);
			}
		}
	(void)t;
}

static void __oracle_fork_end(int parent, int child)
{
	u64 t = now();

	O.forking[parent] &= ~(1u << child);
	/* What was still in flight when fork returned ends there, for the child. */
	for (int pg = 0; pg < O.pages; pg++)
		for_each_slot(s, 0, DEV_SLOT) {
			struct reg *r = &O.regs[child][pg][s];

			for (int i = 0; i < r->n; i++) {
				struct oop *o = &O.ops[r->cand[i]];

				if (!o->end) {
					const struct oop *p = &O.ops[o->orig];

					o->end = p->end ? p->end : t;
				}
			}
		}
}

/*
 * Stress mode: the registers are shared by truly concurrent CPUs; one
 * harness lock orders their updates (the oracle's clock is that order).
 * A CPU may take it around a load and its check (oracle_lock()), so that
 * the load is ordered with the other CPUs' begin and end events.
 */
static int oracle_lock_word;
static _Thread_local int oracle_depth;

void oracle_lock(void)
{
	if (stress_mode && !oracle_depth++)
		stress_harness_lock(&oracle_lock_word);
}

void oracle_unlock(void)
{
	if (stress_mode && !--oracle_depth)
		stress_harness_unlock(&oracle_lock_word);
}

/*
 * A CPU thread stopped in the middle of an op (stress.c): the lock itself
 * was released with its harness locks; the thread runs the next program.
 */
void oracle_lock_abandon(void)
{
	oracle_depth = 0;
}

void oracle_reset(int region_pages, int nslots, bool mapped, bool populate)
{
	oracle_lock();
	__oracle_reset(region_pages, nslots, mapped, populate);
	oracle_unlock();
}

int oracle_op_begin(int proc, int page, int npages, int slot_lo, int slot_hi, u64 value, const char *what)
{
	int ret;

	oracle_lock();
	ret = __oracle_op_begin(proc, page, npages, slot_lo, slot_hi, value, what);
	oracle_unlock();
	return ret;
}

void oracle_op_end(int handle, bool happened)
{
	oracle_lock();
	__oracle_op_end(handle, happened);
	oracle_unlock();
}

void oracle_check_read(const struct mm_struct *mm, int proc, int page, int slot, u64 got, unsigned long addr, int pfn, const char *how)
{
	oracle_lock();
	__oracle_check_read(mm, proc, page, slot, got, addr, pfn, how);
	oracle_unlock();
}

int oracle_maybe_begin(int proc, int page, int npages, int slot_lo, int slot_hi, u64 value, const char *what)
{
	int ret;

	oracle_lock();
	ret = __oracle_maybe_begin(proc, page, npages, slot_lo, slot_hi, value, what);
	oracle_unlock();
	return ret;
}

int oracle_lazyfree_begin(int proc, int page, const char *what)
{
	int ret;

	oracle_lock();
	ret = __oracle_lazyfree_begin(proc, page, what);
	oracle_unlock();
	return ret;
}

void oracle_lazyfree_returned(int proc, int page, int handle)
{
	oracle_lock();
	__oracle_lazyfree_returned(proc, page, handle);
	oracle_unlock();
}

void oracle_page_written(int proc, int page, int write)
{
	oracle_lock();
	__oracle_page_written(proc, page, write);
	oracle_unlock();
}

void oracle_fork_begin(int parent, int child)
{
	oracle_lock();
	__oracle_fork_begin(parent, child);
	oracle_unlock();
}

void oracle_fork_end(int parent, int child)
{
	oracle_lock();
	__oracle_fork_end(parent, child);
	oracle_unlock();
}
