/*
 * Running one program: set up the machine, run each CPU's ops under the
 * controlled scheduler, feed the oracles, check the end state (oracle 8),
 * tear down and check for leaks.
 */
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>

#include <migrace/check.h>
#include <migrace/cpu.h>
#include <migrace/dmirror.h>
#include <migrace/fixes.h>
#include <migrace/gup.h>
#include <migrace/migrate.h>
#include <migrace/mm.h>
#include <migrace/rcu.h>
#include <migrace/swap.h>
#include <migrace/run.h>
#include <migrace/tlb.h>
#include "../sched/sched_core.h"
#include "../sched/stress.h"


_Static_assert(MEM_PRIVATE == DMIRROR_MEM_PRIVATE &&
	       MEM_COHERENT == DMIRROR_MEM_COHERENT,
	       "the program's memory kinds are the driver's");

static struct {
	const struct program *prog;
	struct mm_struct *mms[MAX_PROCS];
	int nprocs;		/* ids handed out (a fork reserves one) */
	struct dmirror_device mdevice;
	struct dmirror dmirrors[MAX_PROCS];
	u64 seq[NR_CPUS];
	char label[NR_CPUS][MAX_OPS][96];
	char ret_label[NR_CPUS][MAX_OPS][48];
	/* the op each label was made from: unchanged ops keep theirs */
	struct op label_op[NR_CPUS][MAX_OPS];
	bool label_made[NR_CPUS][MAX_OPS];
	/* oracle 5: one pin per CPU, process and page */
	struct pin {
		bool held;
		bool coherent;	/* must agree with the process's mapping */
		bool wrote;	/* DMA wrote through it: dirty on unpin */
		u8 flags;
		u32 epoch;
		struct page *page;
	} pins[NR_CPUS][MAX_PROCS][REGION_PAGES];
	/*
	 * Bumped when an op that replaces the mapping of a page starts
	 * (munmap, mmap, MADV_DONTNEED): a pin taken before no longer has
	 * to agree with the process (the documented exceptions).
	 */
	u32 remap_epoch[MAX_PROCS][REGION_PAGES];
	int remap_inflight[MAX_PROCS][REGION_PAGES];
	/* exit: the process is killed, its threads make no more calls */
	bool exited[MAX_PROCS];
	jmp_buf jb;
} M;

static bool jb_armed;

void run_abort(void) __attribute__((noreturn));
void run_abort(void)
{
	if (sched_in_cpu())
		sched_abort_cpu();
	if (!jb_armed) {
		struct run_result *r = calloc(1, sizeof(*r));

		report_finish(r, NULL);
		fputs(r->report, stderr);
		abort();
	}
	longjmp(M.jb, 1);
}

void machine_reset(int ncpus)
{
	fixes_reverted = 0;
	arena_reset();
	rcu_reset();
	page_alloc_reset();
	lru_reset();
	swap_reset();
	cpus_reset(ncpus);
	cache_reset(false);
	report_begin_run();
}

int machine_call(void (*fn)(void *arg), void *arg, char *title, size_t len)
{
	static struct run_result r;
	struct cpu *saved = current_cpu;

	jb_armed = true;
	if (setjmp(M.jb)) {
		jb_armed = false;
		current_cpu = saved;
		report_finish(&r, NULL);
		snprintf(title, len, "%s", r.title);
		report_begin_run();
		return 1;
	}
	fn(arg);
	jb_armed = false;
	return 0;
}

static void check_return_to_user(const char *op)
{
	struct cpu *c = current_cpu;

	if (c->locks_held) {
		report_held_locks();
		report_bug(NULL, 0, "lock held on return to user space after %s",
			   op);
	}
	if (c->notifier_ranges)
		report_bug(NULL, 0,
			   "mmu_notifier_invalidate_range_start() without its end on return to user space after %s",
			   op);
	if (c->irqs_off || c->rcu_nesting)
		report_bug(NULL, 0,
			   "returned to user space after %s with irqs off or in an RCU read section",
			   op);
}

/*
 * One user load or store, faulting as needed.  Returns 0, or the
 * VM_FAULT_* error that ended it.
 */
static int user_access(struct mm_struct *mm, unsigned long addr, int slot,
		       bool write, u64 *val)
{
	for (int tries = 0;; tries++) {
		int ret;

		if (tries)
			sched_retry_point("fault retry", "user", tries);
		if (!mmu_user_access(mm, addr, slot, write, val))
			return 0;
		ret = do_user_addr_fault(mm, addr, write);
		if (ret & (VM_FAULT_SIGSEGV | VM_FAULT_SIGBUS))
			return ret;
		if (ret & VM_FAULT_OOM)
			return ret;
		/* Stress mode: the watchdog judges progress by the clock. */
		if (tries > 200 && !stress_mode) {
			if (!nr_free_pages())
				return VM_FAULT_OOM;
			report_bug(mm, addr,
				   "livelock: %s at %#lx faults forever",
				   write ? "store" : "load", addr);
		}
	}
}

/* The slot a load reads: a CPU's, the device's, or the reader's own. */
static int read_slot(const struct op *op, int own)
{
	if (op->slot < M.prog->ncpus || op->slot == DEV_SLOT)
		return op->slot;
	return own;
}

/*
 * A user access and its check: in stress mode the oracle's lock is held
 * from before the access (its faults included) to the check, so the
 * other CPUs' operations begin and end before or after it, never between
 * the access and its check; in controlled mode nothing runs between the
 * two anyway.  Deadlock-free: the lock is only taken with no emulated
 * lock held, and nobody holding an emulated lock waits for it.
 */
static void do_read(struct mm_struct *mm, const struct op *op, int cpu)
{
	unsigned long addr = op_addr(op);
	int slot = read_slot(op, cpu);
	u64 val = 0;
	int ret;

	oracle_lock();
	ret = user_access(mm, addr, slot, false, &val);
	if (ret & VM_FAULT_OOM) {
		oracle_unlock();
		return;
	}
	if (ret & VM_FAULT_SIGBUS)
		report_bug(mm, addr, "SIGBUS on a load from %#lx", addr);
	if (ret)
		val = VAL_UNMAPPED;
	oracle_check_read(mm, op->proc, op->page, slot, val, addr,
			  ret ? -1 : (int)current_cpu->last_pfn,
			  ret ? "" :
			  current_cpu->last_tlb_hit ? "(TLB hit" : "(page walk");
	oracle_unlock();
}

static void do_write(struct mm_struct *mm, const struct op *op, int cpu)
{
	unsigned long addr = op_addr(op);
	u64 val = ((u64)(cpu + 1) << 48) | ((u64)op->proc << 40) | ++M.seq[cpu];
	int h = oracle_op_begin(op->proc, op->page, 1, cpu, cpu, val, "write");
	int ret;

	oracle_lock();
	ret = user_access(mm, addr, cpu, true, &val);

	if (ret & VM_FAULT_SIGBUS)
		report_bug(mm, addr, "SIGBUS on a store to %#lx", addr);
	/* SI_SEGV_ACCERR: mapped read-only (mprotect), nothing stored */
	if ((ret & VM_FAULT_SIGSEGV) && current_cpu->si_code == SI_SEGV_MAPERR)
		oracle_check_read(mm, op->proc, op->page, cpu, VAL_UNMAPPED,
				  addr, -1, "");
	oracle_unlock();
	oracle_op_end(h, ret == 0);
	/* The page is dirty now: MADV_FREE can no longer discard it. */
	if (ret == 0)
		oracle_page_written(op->proc, op->page, h);
}

/*
 * ---- device accesses through the mirror (oracle 1: the device is one
 * more agent; it stores into DEV_SLOT) ----
 * The driver calls back under its mutex with the page its device page
 * table entry maps: the access and its check happen there, with no
 * preemption point between them, so a device entry that went stale
 * (its page is no longer what the CPU maps, or is freed) shows mid-run.
 * The device is I/O-coherent, as a pin's DMA is.
 */
struct dev_io {
	struct dmirror_access a;
	struct mm_struct *mm;
	const struct op *op;
	unsigned long addr;
	int slot;
	u64 val;
	bool done;
};

static void device_load(struct dmirror_access *a, struct page *page,
			unsigned long entry)
{
	struct dev_io *io = container_of(a, struct dev_io, a);
	u64 val;

	sched_point(EV_USER, "device load", "device_read", io->mm, io->addr,
		    entry);
	check_page_alive(page, "device load through the mirror");
	cache_phys_read(page_to_pfn(page), true);
	val = page_data_read(page, io->slot);
	io->done = true;
	oracle_check_read(io->mm, io->op->proc, io->op->page, io->slot, val,
			  io->addr, (int)page_to_pfn(page),
			  (entry & DPT_ATOMIC) ? "(device, atomic" :
						 "(device mirror");
}

static void device_store(struct dmirror_access *a, struct page *page,
			 unsigned long entry)
{
	struct dev_io *io = container_of(a, struct dev_io, a);

	sched_point(EV_USER, "device store", "device_write", io->mm, io->addr,
		    io->val);
	(void)entry;
	check_page_alive(page, "device store through the mirror");
	cache_phys_write(page_to_pfn(page), DEV_SLOT);
	page_data_write(page, DEV_SLOT, io->val);
	io->done = true;
}

static void do_device_read(struct mm_struct *mm, const struct op *op, int cpu)
{
	struct dev_io io = {
		.a = { .write = false, .fn = device_load },
		.mm = mm, .op = op, .addr = op_addr(op),
		.slot = read_slot(op, DEV_SLOT),
	};

	(void)cpu;
	/* As do_read(): in stress mode the access and its check are atomic. */
	oracle_lock();
	dmirror_device_access(&M.dmirrors[op->proc], io.addr, &io.a);
	oracle_unlock();
}

static void do_device_write(struct mm_struct *mm, const struct op *op,
			    int cpu)
{
	struct dev_io io = {
		.a = { .write = true, .fn = device_store },
		.mm = mm, .op = op, .addr = op_addr(op), .slot = DEV_SLOT,
		.val = ((u64)(cpu + 1) << 48) | ((u64)op->proc << 40) |
		       BIT(39) | ++M.seq[cpu],
	};
	int h = oracle_op_begin(op->proc, op->page, 1, DEV_SLOT, DEV_SLOT,
				io.val, "device_write()");

	oracle_lock();
	dmirror_device_access(&M.dmirrors[op->proc], io.addr, &io.a);
	oracle_unlock();
	/*
	 * Not oracle_page_written(): the kernel learns of a write from the
	 * pte's dirty bit, which a device store through the mirror does not
	 * set, so a lazily freed page may still be discarded.
	 */
	oracle_op_end(h, io.done);
}

/*
 * Atomics: stress mode runs the CPUs' ops truly concurrently.  In-flight
 * first, then the epoch: do_pin() reads the epoch, then in-flight, so a
 * pin that sees the new epoch also sees the remap in flight (the other
 * order let a pin taken while an mmap began count as coherent with the
 * mapping the mmap then replaced: a false "stale read" in stress).
 */
static void remap_begin(int proc, int page, int npages)
{
	for (int pg = page; pg < page + npages && pg < REGION_PAGES; pg++) {
		__atomic_add_fetch(&M.remap_inflight[proc][pg], 1,
				   __ATOMIC_ACQ_REL);
		__atomic_add_fetch(&M.remap_epoch[proc][pg], 1, __ATOMIC_ACQ_REL);
	}
}

static void remap_end(int proc, int page, int npages)
{
	for (int pg = page; pg < page + npages && pg < REGION_PAGES; pg++)
		__atomic_sub_fetch(&M.remap_inflight[proc][pg], 1,
				   __ATOMIC_ACQ_REL);
}

/* ---- oracle 5: pins (FOLL_PIN users doing DMA) ---- */

static bool pin_coherent(const struct pin *pn, int proc, int page)
{
	return pn->coherent &&
	       pn->epoch == __atomic_load_n(&M.remap_epoch[proc][page],
					    __ATOMIC_ACQUIRE);
}

static void do_pin(struct mm_struct *mm, const struct op *op, int cpu)
{
	struct pin *pn = &M.pins[cpu][op->proc][op->page];
	unsigned long addr = op_addr(op);
	unsigned int gup_flags = 0;
	u32 epoch = __atomic_load_n(&M.remap_epoch[op->proc][op->page],
				    __ATOMIC_ACQUIRE);
	bool quiet = !__atomic_load_n(&M.remap_inflight[op->proc][op->page],
				      __ATOMIC_ACQUIRE);
	struct page *page;
	long ret;

	if (pn->held)
		return;		/* one pin per CPU and page */
	if (op->flags & PIN_WRITE)
		gup_flags |= FOLL_WRITE;
	if (op->flags & PIN_LONGTERM)
		gup_flags |= FOLL_LONGTERM;
	if (op->flags & PIN_FAST)
		ret = pin_user_pages_fast(mm, addr, 1, gup_flags, &page);
	else
		ret = pin_user_pages_remote(mm, addr, 1, gup_flags, &page);
	if (ret != 1)
		return;
	pn->held = true;
	pn->page = page;
	pn->flags = op->flags;
	pn->wrote = false;
	pn->epoch = epoch;
	/*
	 * Anonymous memory only: Linux 6.0 pins the shared zero page R/O
	 * without unsharing it, a documented limitation.
	 */
	pn->coherent = quiet && PageAnon(page);
}

static void do_pin_write(struct mm_struct *mm, const struct op *op, int cpu)
{
	struct pin *pn = &M.pins[cpu][op->proc][op->page];
	unsigned long addr = op_addr(op);
	u64 val = ((u64)(cpu + 1) << 48) | ((u64)op->proc << 40) |
		  ++M.seq[cpu];
	int h;

	/* A legal pinner writes only through a FOLL_WRITE pin. */
	if (!pn->held || !(pn->flags & PIN_WRITE))
		return;
	/*
	 * In stress mode an munmap must not complete between the check
	 * and the begin: a definite store that starts after it would hide
	 * it from the oracle.
	 */
	oracle_lock();
	if (pin_coherent(pn, op->proc, op->page))
		h = oracle_op_begin(op->proc, op->page, 1, cpu, cpu, val,
				    "pin_write()");
	else
		h = oracle_maybe_begin(op->proc, op->page, 1, cpu, cpu, val,
				       "pin_write()");
	oracle_unlock();
	sched_point(EV_USER, "dma store", "pin_write", mm, addr, val);
	check_page_alive(pn->page, "DMA store through a pin");
	cache_phys_write(page_to_pfn(pn->page), cpu);	/* I/O-coherent */
	page_data_write(pn->page, cpu, val);
	pn->wrote = true;
	oracle_op_end(h, true);
}

static void do_pin_read(struct mm_struct *mm, const struct op *op, int cpu)
{
	struct pin *pn = &M.pins[cpu][op->proc][op->page];
	unsigned long addr = op_addr(op);
	int slot = read_slot(op, cpu);
	u64 val;

	if (!pn->held)
		return;
	oracle_lock();
	sched_point(EV_USER, "dma load", "pin_read", mm, addr, 0);
	check_page_alive(pn->page, "DMA load through a pin");
	cache_phys_read(page_to_pfn(pn->page), true);	/* I/O-coherent */
	val = page_data_read(pn->page, slot);
	if (pin_coherent(pn, op->proc, op->page))
		oracle_check_read(mm, op->proc, op->page, slot, val, addr,
				  (int)page_to_pfn(pn->page), "(through a pin");
	oracle_unlock();
}

static void unpin(struct pin *pn)
{
	if (!pn->held)
		return;
	unpin_user_pages_dirty_lock(&pn->page, 1, pn->wrote);
	pn->held = false;
}

/*
 * MADV_DONTNEED stores 0; MADV_FREE may store 0 until the page is written
 * again; MADV_COLD and MADV_PAGEOUT must be invisible.
 */
static void do_madvise_op(struct mm_struct *mm, const struct op *op)
{
	unsigned long addr = op_addr(op);
	struct madvise_zapped z = { 0 };
	bool dontneed = op->advice == MADV_DONTNEED;
	bool lazyfree = op->advice == MADV_FREE;
	int h[REGION_PAGES];

	if (dontneed)
		remap_begin(op->proc, op->page, op->npages);
	/* Pages outside any VMA are not zapped: withdraw those afterwards. */
	for (int i = 0; i < op->npages; i++) {
		int pg = op->page + i;

		h[i] = -1;
		if (dontneed)
			h[i] = oracle_op_begin(op->proc, pg, 1, 0,
					       DEV_SLOT, 0,
					       "madvise(MADV_DONTNEED)");
		else if (lazyfree)
			h[i] = oracle_lazyfree_begin(op->proc, pg,
						     "madvise(MADV_FREE)");
	}
	do_madvise(mm, addr, (unsigned long)op->npages << PAGE_SHIFT,
		   op->advice, &z);
	for (int i = 0; i < op->npages; i++) {
		unsigned long a = addr + ((unsigned long)i << PAGE_SHIFT);
		bool zapped = false;

		for (int k = 0; k < z.n; k++)
			zapped |= a >= z.start[k] && a < z.end[k];
		if (dontneed) {
			oracle_op_end(h[i], zapped);
		} else if (lazyfree && zapped) {
			oracle_lazyfree_returned(op->proc, op->page + i,
						 h[i]);
		} else if (lazyfree) {
			oracle_op_end(h[i], false);	/* no VMA: withdrawn */
		}
	}
	if (dontneed)
		remap_end(op->proc, op->page, op->npages);
}

/*
 * move_pages(2) on the op's process from whichever CPU runs it: the
 * caller holds nothing of the target's but what do_pages_move() takes.
 */
static void do_move_pages_op(struct mm_struct *mm, const struct op *op)
{
	unsigned long pages[REGION_PAGES];
	int nodes[REGION_PAGES], status[REGION_PAGES];

	for (int i = 0; i < op->npages; i++) {
		pages[i] = op_addr(op) + ((unsigned long)i << PAGE_SHIFT);
		nodes[i] = op->node;
		status[i] = 0;
	}
	do_pages_move(mm, op->npages, pages, nodes, status,
		      (op->flags & MOVE_ALL) ? MPOL_MF_MOVE_ALL :
					       MPOL_MF_MOVE);
}

static void do_fork(int proc)
{
	int child;
	struct mm_struct *mm;

	/* Stress mode: two CPUs may fork at once; each gets its own id. */
	child = __atomic_fetch_add(&M.nprocs, 1, __ATOMIC_ACQ_REL);
	if (child >= MAX_PROCS) {
		__atomic_store_n(&M.nprocs, MAX_PROCS, __ATOMIC_RELEASE);
		return;
	}
	oracle_fork_begin(proc, child);
	mm = dup_mm(M.mms[proc], child);
	if (mm && dmirror_init(&M.dmirrors[child], &M.mdevice, mm))
		mm = NULL;
	oracle_fork_end(proc, child);
	/*
	 * Other CPUs' ops on the child start only now: in stress mode its
	 * registers are complete before anyone can reach them.
	 */
	if (mm)
		__atomic_store_n(&M.mms[child], mm, __ATOMIC_RELEASE);
}

/*
 * exit_group(): every thread of the process is killed and makes no more
 * system calls; the process's mm_users reference goes.  The address space
 * is torn down (exit_mmap()) by the last mmput(): here, or when a thread
 * still in a call of that process returns, or when a driver that holds
 * mmget() (a migration) finishes.  Pins stay: their pages live until
 * unpin, but they no longer have to agree with any mapping.
 */
static void do_exit(struct mm_struct *mm, int proc)
{
	WRITE_ONCE(M.exited[proc], true);
	remap_begin(proc, 0, REGION_PAGES);
	mmput(mm);
	remap_end(proc, 0, REGION_PAGES);
}

/*
 * Ops a thread of the process runs: system calls and user accesses.  A
 * thread in a call holds the mm (mm_users), so exit_mmap() cannot run
 * under it.  The driver's ops (migrations, DMA through pins, unbind) and
 * reclaim are not the process's threads: the driver takes mmget() itself.
 */
static bool thread_op(int kind)
{
	switch (kind) {
	case OP_MIGRATE_TO_DEVICE:
	case OP_MIGRATE_TO_SYSTEM:
	case OP_PIN_READ:
	case OP_PIN_WRITE:
	case OP_UNPIN:
	case OP_UNBIND:
	case OP_RECLAIM:
	case OP_DEVICE_EXCLUSIVE:
	case OP_DEVICE_READ:
	case OP_DEVICE_WRITE:
		return false;
	}
	return true;
}

static void exec_op(int cpu, int i)
{
	const struct op *op = &M.prog->ops[cpu][i];
	unsigned long addr = op_addr(op);
	long len = (long)op->npages << PAGE_SHIFT;
	struct mm_struct *mm;
	bool thread;
	int h;

	sched_point(EV_OP_BEGIN, M.label[cpu][i], "program", NULL, addr, 0);
	/* Shared state is read only after a preemption point. */
	mm = __atomic_load_n(&M.mms[op->proc], __ATOMIC_ACQUIRE);
	if (!mm)
		goto out;	/* no such process (yet) */
	thread = thread_op(op->kind);
	if (thread) {
		/*
		 * The thread's own reference, held since it was created: taken
		 * before the test of exited, and only while the mm has users,
		 * so that under stress an exit() between the two can neither
		 * tear the mm down under this call nor be missed by it.
		 */
		if (!__mmget_not_zero(mm))
			goto out;	/* torn down: killed */
		if (READ_ONCE(M.exited[op->proc])) {
			/* killed: -ESRCH, nothing to check (no event: as before) */
			if (!__atomic_sub_fetch(&mm->mm_users, 1, __ATOMIC_ACQ_REL))
				exit_mmap(mm);
			goto out;
		}
	}
	switch (op->kind) {
	case OP_READ:
		do_read(mm, op, cpu);
		break;
	case OP_WRITE:
		do_write(mm, op, cpu);
		break;
	case OP_MADVISE:
		do_madvise_op(mm, op);
		break;
	case OP_RECLAIM:
		shrink_all_lru();
		break;
	case OP_MUNMAP:
		remap_begin(op->proc, op->page, op->npages);
		h = oracle_op_begin(op->proc, op->page, op->npages, 0,
				    DEV_SLOT, VAL_UNMAPPED, "munmap()");
		oracle_op_end(h, do_munmap_syscall(mm, addr, len) == 0);
		remap_end(op->proc, op->page, op->npages);
		break;
	case OP_MMAP:
		remap_begin(op->proc, op->page, op->npages);
		h = oracle_op_begin(op->proc, op->page, op->npages, 0,
				    DEV_SLOT, 0, "mmap()");
		oracle_op_end(h, do_mmap_fixed(mm, addr, len,
					       VM_READ | VM_WRITE) == 0);
		remap_end(op->proc, op->page, op->npages);
		break;
	case OP_PIN:
		do_pin(mm, op, cpu);
		break;
	case OP_PIN_READ:
		do_pin_read(mm, op, cpu);
		break;
	case OP_PIN_WRITE:
		do_pin_write(mm, op, cpu);
		break;
	case OP_UNPIN:
		unpin(&M.pins[cpu][op->proc][op->page]);
		break;
	case OP_FORK:
		do_fork(op->proc);
		break;
	case OP_MIGRATE_TO_DEVICE:
		dmirror_migrate_to_device(&M.dmirrors[op->proc], addr,
					  op->npages, op_mem(op), op->decline,
					  op->failcopy,
					  op->flags & MIGRATE_FAULT);
		break;
	case OP_MIGRATE_TO_SYSTEM:
		dmirror_migrate_to_system(&M.dmirrors[op->proc], addr,
					  op->npages, op_mem(op), op->decline,
					  op->failcopy);
		break;
	case OP_UNBIND:
		/*
		 * Unbind waits for the device's pages to be unpinned: a
		 * thread does not hold a short-term pin on device memory
		 * across the call that waits for it (it would wait for
		 * itself), so this CPU's own DMA completes first.
		 */
		for (int p = 0; p < MAX_PROCS; p++)
			for (int pg = 0; pg < REGION_PAGES; pg++)
				if (M.pins[cpu][p][pg].held &&
				    is_zone_device_page(M.pins[cpu][p][pg].page))
					unpin(&M.pins[cpu][p][pg]);
		dmirror_device_remove(&M.mdevice, op->spare);
		break;
	case OP_MOVE_PAGES:
		do_move_pages_op(mm, op);
		break;
	case OP_COMPACT:
		compact_node(op->node);
		break;
	case OP_MPROTECT:
		/* Invisible to the memory contents: no oracle bookkeeping. */
		do_mprotect(mm, addr, len, op->prot);
		break;
	case OP_EXIT:
		do_exit(mm, op->proc);
		break;
	case OP_DEVICE_EXCLUSIVE:
		dmirror_exclusive(&M.dmirrors[op->proc], addr, op->npages);
		break;
	case OP_DEVICE_READ:
		do_device_read(mm, op, cpu);
		break;
	case OP_DEVICE_WRITE:
		do_device_write(mm, op, cpu);
		break;
	}
	if (thread) {
		/* A killed thread exits on its way back to user space. */
		if (READ_ONCE(M.exited[op->proc]))
			mmput(mm);
		else if (!__atomic_sub_fetch(&mm->mm_users, 1, __ATOMIC_ACQ_REL))
			exit_mmap(mm);	/* stress: exit() ran since the test */
	}
out:
	sched_point(EV_OP_END, M.ret_label[cpu][i], "program", mm, addr, 0);
	check_return_to_user(M.label[cpu][i]);
}

static void cpu_main(int cpu)
{
	for (int i = 0; i < M.prog->nops[cpu]; i++)
		exec_op(cpu, i);
	/* The pins still held are released when the program ends. */
	for (int p = 0; p < MAX_PROCS; p++)
		for (int pg = 0; pg < REGION_PAGES; pg++)
			unpin(&M.pins[cpu][p][pg]);
	check_return_to_user("the program's end");
}

/* ---- set-up ---- */

static void setup(const struct program *p)
{
	struct mm_struct *mm;

	M.nprocs = 1;
	memset(M.mms, 0, sizeof(M.mms));
	memset(M.pins, 0, sizeof(M.pins));
	memset(M.remap_epoch, 0, sizeof(M.remap_epoch));
	memset(M.remap_inflight, 0, sizeof(M.remap_inflight));
	memset(M.exited, 0, sizeof(M.exited));
	memset(M.seq, 0, sizeof(M.seq));
	dmirror_device_init(&M.mdevice);
	mm = mm_alloc(0);
	M.mms[0] = mm;
	dmirror_init(&M.dmirrors[0], &M.mdevice, mm);
	if (do_mmap_fixed(mm, REGION_START, REGION_PAGES * PAGE_SIZE,
			  VM_READ | VM_WRITE))
		report_bug(NULL, 0, "set-up: mmap failed");
	/* Set-up runs as CPU 0 outside the schedule. */
	current_cpu = &cpus[0];
	if (p->populate) {
		for (int pg = 0; pg < REGION_PAGES; pg++)
			for (int s = 0; s < p->ncpus; s++) {
				u64 v = oracle_initial_value(0, pg, s);

				if (user_access(mm, REGION_START + pg * PAGE_SIZE,
						s, true, &v))
					report_bug(NULL, 0, "set-up: store failed");
			}
	}
	lru_add_drain();
	/* Memory pressure before the programs start: the region is on swap. */
	if (p->swapped)
		do_madvise(mm, REGION_START, REGION_PAGES * PAGE_SIZE,
			   MADV_PAGEOUT, NULL);
	if (p->forked)
		do_fork(0);
	for (int i = 0; i < M.nprocs; i++) {
		if (!M.mms[i])
			continue;
		tlb_forget_mm(M.mms[i]);
		M.mms[i]->cpumask = 0;
	}
	/* Warm: each CPU has recently loaded the region, as a running process's would. */
	if (p->warm) {
		for (int c = 0; c < p->ncpus; c++) {
			current_cpu = &cpus[c];
			for (int pg = 0; pg < REGION_PAGES; pg++) {
				u64 v;

				if (user_access(mm, REGION_START + pg * PAGE_SIZE,
						c, false, &v))
					report_bug(NULL, 0, "set-up: load failed");
			}
		}
	}
	current_cpu = NULL;
	for (int c = 0; c < p->ncpus; c++)
		for (int i = 0; i < p->nops[c]; i++) {
			if (M.label_made[c][i] &&
			    !memcmp(&M.label_op[c][i], &p->ops[c][i],
				    sizeof(p->ops[c][i])))
				continue;
			op_format(&p->ops[c][i], M.label[c][i],
				  sizeof(M.label[c][i]));
			snprintf(M.ret_label[c][i], sizeof(M.ret_label[c][i]),
				 "return %s", op_name(p->ops[c][i].kind));
			M.label_op[c][i] = p->ops[c][i];
			M.label_made[c][i] = true;
		}
}

/* ---- oracle 8: the end state ---- */

static void check_end_state(void)
{
	for (unsigned long pfn = 0; pfn < MAX_PFN; pfn++)
		if (__test_page_flag(pfn_to_page(pfn), PG_locked)) {
			report_page(pfn_to_page(pfn));
			report_bug(NULL, 0, "pfn %lu left locked after every CPU returned",
				   pfn);
		}
	for (int i = 0; i < M.nprocs; i++) {
		struct mm_struct *mm = M.mms[i];

		pmd_t *pmd = NULL;

		if (!mm)
			continue;
		for (unsigned long a = TASK_UNMAPPED_BASE; a < TASK_SIZE;
		     a += PAGE_SIZE) {
			unsigned long d = M.dmirrors[i].pt[(a - TASK_UNMAPPED_BASE) >>
							   PAGE_SHIFT];
			pte_t pte = { 0 };

			/* once per pmd: the same entry for all its pages */
			if (!(a & ~PMD_MASK))
				pmd = pmd_offset(&mm->pgd[pgd_index(a)], a);
			if (pmd && pmd->table)
				pte = pmd->table->ptes[pte_index(a)];
			if (is_swap_pte(pte) &&
			    is_migration_entry(pte_to_swp_entry(pte)))
				report_bug(mm, a,
					   "migration entry left behind at %#lx (process %d)",
					   a, i);
			if (d) {
				unsigned long dpfn = dpt_pfn(d), cpfn = ~0UL;
				bool excl = false;

				if (pte_present(pte))
					cpfn = pte_pfn(pte);
				else if (is_swap_pte(pte) &&
					 is_pfn_swap_entry(pte_to_swp_entry(pte))) {
					cpfn = swp_offset_pfn(pte_to_swp_entry(pte));
					excl = is_device_exclusive_entry(
						pte_to_swp_entry(pte));
				}
				if (cpfn != dpfn ||
				    ((d & DPT_ATOMIC) && !excl)) {
					/* the mirror and what keeps it coherent */
					report_obj(&M.dmirrors[i].notifier,
						   RO_RANGE);
					report_obj(&M.dmirrors[i].mutex,
						   RO_RWSEM);
					if (pfn_valid(dpfn))
						report_page(pfn_to_page(dpfn));
				}
				if (cpfn != dpfn)
					report_bug(mm, a,
						   "device page table maps %#lx to pfn %lu, the CPU page table does not (process %d)",
						   a, dpfn, i);
				/* Atomic access is exclusive: the CPU must fault. */
				if ((d & DPT_ATOMIC) && !excl)
					report_bug(mm, a,
						   "device page table maps %#lx atomic (pfn %lu), but the CPU maps it without a device-exclusive entry (process %d)",
						   a, dpfn, i);
			}
		}
	}
}

static void check_pgmap_balanced(const struct dev_pagemap *pgmap)
{
	if (pgmap->ref != (pgmap->dead ? 0 : 1))
		report_obj(pgmap, RO_PGMAP);
	if (pgmap->ref != (pgmap->dead ? 0 : 1))
		report_bug(NULL, 0,
			   "dev_pagemap references unbalanced: %d after every process exited (expected %d)",
			   pgmap->ref, pgmap->dead ? 0 : 1);
}

static void teardown_and_check_leaks(void)
{
	for (int i = 0; i < M.nprocs; i++) {
		if (!M.mms[i])
			continue;
		/* the processes still alive exit now */
		if (!M.exited[i])
			mmput(M.mms[i]);
		if (!M.mms[i]->dead)
			report_obj(M.mms[i], RO_MM);
		if (!M.mms[i]->dead)
			report_bug(NULL, 0,
				   "process %d: mm_users %d after every CPU returned, the mm was never torn down",
				   i, M.mms[i]->mm_users);
		mmu_interval_notifier_remove(&M.dmirrors[i].notifier);
		tlb_forget_mm(M.mms[i]);
	}
	for (int c = 0; c <= NR_CPUS; c++)
		lru_add_drain_cpu(c);
	swap_cache_drain();
	for (unsigned long off = 1; off < SWAP_SLOTS; off++)
		if (swap_info.swap_map[off])
			report_bug(NULL, 0,
				   "swap slot %lu leaked: swap_map %#x after every process exited",
				   off, swap_info.swap_map[off]);
	rcu_process_callbacks(true);
	for (unsigned long pfn = 1; pfn < MAX_PFN; pfn++) {
		struct page *page = pfn_to_page(pfn);

		if (!__test_page_flag(page, PG_buddy) ||
		    __page_count(page) != 0)
			report_page(page);
		if (!__test_page_flag(page, PG_buddy))
			report_bug(NULL, 0,
				   "pfn %lu leaked: refcount %d mapcount %d after every process exited",
				   pfn, __page_count(page), __page_mapcount(page));
		if (__page_count(page) != 0)
			report_bug(NULL, 0, "free pfn %lu has refcount %d", pfn,
				   __page_count(page));
	}
	/*
	 * Every device page came back: the pgmap holds its initial
	 * reference only, or none once memunmap_pages() ran.
	 */
	check_pgmap_balanced(&M.mdevice.pagemap);
	check_pgmap_balanced(&M.mdevice.cpagemap);
	if (__page_count(pfn_to_page(ZERO_PFN)) != 1)
		report_page(pfn_to_page(ZERO_PFN));
	if (__page_count(pfn_to_page(ZERO_PFN)) != 1)
		report_bug(NULL, 0, "zero page refcount %d, expected 1",
			   __page_count(pfn_to_page(ZERO_PFN)));
}

int run_program(const struct program *p, const struct settings *s,
		const struct strategy *strat, const struct run_options *o,
		struct run_result *res)
{
	res->bug = false;
	res->title[0] = 0;
	res->report[0] = 0;
	M.prog = p;
	machine_reset(p->ncpus);
	fixes_reverted = s->reverted;
	variant_rfc_unified = s->variant == VARIANT_RFC_UNIFIED;
	cache_reset(s->arch == ARCH_VIVT);
	oracle_strict = s->strict;
	oracle_reset(REGION_PAGES, p->ncpus, true, p->populate);
	/* an unhashed run is replayed if it reports: nothing to record */
	res->executed.nseg = 0;
	sched_begin(p->ncpus, strat, strat->no_hash ? NULL : &res->executed, o);

	jb_armed = true;
	if (setjmp(M.jb))
		goto reported;
	setup(p);
	if (strat->kind == STRAT_NONE) {
		for (int c = 0; c < p->ncpus; c++) {
			current_cpu = &cpus[c];
			cpu_main(c);
		}
	} else if (strat->kind == STRAT_STRESS) {
		int r = stress_run_cpus(cpu_main, res->title,
					sizeof(res->title), res->report,
					sizeof(res->report));

		if (r == 2) {	/* the watchdog: its report is written */
			current_cpu = NULL;
			res->bug = true;
			goto out;
		}
		if (r)
			goto reported;
	} else if (sched_run_cpus(cpu_main)) {
		goto reported;
	}
	current_cpu = NULL;
	check_end_state();
	teardown_and_check_leaks();
	goto out;

reported:
	current_cpu = NULL;
	report_finish(res, NULL);
out:
	jb_armed = false;
	res->trace_hash = sched_hash();
	res->steps = sched_steps();
	res->sync_steps = sched_sync_steps();
	res->preemptions = sched_preemptions();
	sched_end();
	return res->bug;
}
