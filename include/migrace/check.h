/*
 * Oracles and reports (engine/check).  Oracles only observe: they are fed
 * by the program runner (op begin/end, values read) and by the emulated
 * kernel's assertions, and they never change emulated state.
 */
#ifndef MIGRACE_CHECK_H
#define MIGRACE_CHECK_H

#include <migrace/kernel.h>

struct mm_struct;

/*
 * Stop the run with a report.  @mm/@addr name the memory the bug is about
 * (the diagram keeps the events that touch it); @mm may be NULL.
 */
void report_bug(const struct mm_struct *mm, unsigned long addr,
		const char *fmt, ...) __attribute__((noreturn, format(printf, 3, 4)));
/*
 * The objects a report is about, named before report_bug(): a detail line
 * describes each, and the diagram keeps every event on it by any CPU (for
 * a page also the pte slots that mapped it, for a pte slot its table's
 * lock, for an anon_vma its root).
 */
enum report_kind {
	RO_PAGE,	/* struct page */
	RO_PTE,		/* pte_t *: one slot of a pte table */
	RO_SPINLOCK,	/* spinlock_t */
	RO_RWSEM,	/* struct rw_semaphore */
	RO_LOCK,	/* a lock of unknown type */
	RO_FREED_LOCK,	/* a lock word inside a freed object */
	RO_PGMAP,	/* struct dev_pagemap */
	RO_ANON_VMA,	/* struct anon_vma */
	RO_RANGE,	/* struct mmu_interval_notifier */
	RO_MM,		/* struct mm_struct */
	RO_OBJECT,	/* anything else: the events on its bytes */
	RO_HELD,	/* report.c: a lock the reporting CPU still holds */
};
#define NR_REPORT_OBJS 8
void report_object(const void *obj, size_t size, enum report_kind kind);
#define report_obj(ptr, kind) report_object((ptr), sizeof(*(ptr)), (kind))
/* The locks the reporting CPU still holds (lock held on return). */
void report_held_locks(void);
/* A lock (or page) a CPU waits on, named by the helper that waits. */
void report_waited_lock(const void *obj, const char *what);
/* What the offending access saw, shown on its line in the diagram. */
void report_access_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Add a detail line to the report being built (before report_bug). */
void report_detail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- oracle 1: memory contents, per (process, page, slot) register ---- */
#define VAL_UNMAPPED (~0ULL)	/* the "value" of an address with no VMA */
#define ORACLE_PROCS 4

void oracle_reset(int region_pages, int nslots, bool mapped, bool populate);
/*
 * An operation that stores @value into the slots [slot_lo, slot_hi] (the
 * CPUs' slots 0..nslots-1 and the device's DEV_SLOT in it; [0, DEV_SLOT]
 * is the whole page) of the
 * pages [page, page + npages) of process @proc.  Returns a handle for
 * oracle_op_end(); @happened false withdraws the value (a write that
 * faulted with SIGSEGV stored nothing).
 */
int oracle_op_begin(int proc, int page, int npages, int slot_lo, int slot_hi,
		    u64 value, const char *what);
void oracle_op_end(int handle, bool happened);
/* Checks a value read (VAL_UNMAPPED for SIGSEGV); reports if impossible. */
void oracle_check_read(const struct mm_struct *mm, int proc, int page,
		       int slot, u64 got, unsigned long addr, int pfn,
		       const char *how);
/*
 * Stress mode: hold the oracle's lock around a load and its check (no-op
 * in controlled mode, where nothing runs between the two).
 */
void oracle_lock(void);
void oracle_unlock(void);
void oracle_lock_abandon(void);	/* stress.c: a stopped CPU thread */

/* Initial value of a slot when the region is populated at set-up. */
u64 oracle_initial_value(int proc, int page, int slot);
/*
 * A store that may or may not reach these registers (e.g. a DMA write
 * through a pin that no longer maps the address): it overwrites nothing.
 */
int oracle_maybe_begin(int proc, int page, int npages, int slot_lo,
		       int slot_hi, u64 value, const char *what);
/*
 * MADV_FREE of @page: each slot may read 0 from now until a write to the
 * page that started after the call returned (oracle_lazyfree_returned())
 * completes (oracle_page_written() with that write's handle).
 */
int oracle_lazyfree_begin(int proc, int page, const char *what);
void oracle_lazyfree_returned(int proc, int page, int handle);
void oracle_page_written(int proc, int page, int write);
void oracle_fork_begin(int parent, int child);
void oracle_fork_end(int parent, int child);

/* ---- oracle 7: accessed/dirty information (engine/check/dirty.c) ---- */
struct page;
extern bool oracle_strict;	/* --strict: A/D bits survive migration */
/*
 * Reclaim frees a clean swap-cache folio whose slot @swap_count swap ptes
 * still reference: its bytes must equal @copy.
 */
void check_clean_folio_dropped(struct page *page, const u64 *copy,
			       unsigned long slot, int swap_count);
/* Every pte update, from the page-table accessors (old and new values). */
void check_pte_update(void *ptep, u64 old, u64 new, unsigned long addr);
/* The page the report is about: its flag and refcount events are shown. */
void report_page(const struct page *page);

/* Report plumbing (engine/check/report.c). */
struct run_result;
void report_begin_run(void);
bool report_pending(void);
void report_finish(struct run_result *res, const char *repro_hint);

#endif
