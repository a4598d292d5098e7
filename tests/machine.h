/*
 * Set-up and inspection helpers the unit tests share: a machine with a
 * process, user loads and stores that fault and retry as the program
 * runner does, a look at the page table and the TLBs, and runs of a
 * repro text under the controlled scheduler with their trace.
 *
 *	#include "harness.h"
 *	#include "machine.h"
 *
 * The traced runs (run_traced() and the tr_*() helpers) keep the trace in
 * a large static buffer: a test file that uses them defines MACHINE_TRACE
 * before including this header, and may set TR_LINES (default 8192), the
 * number of trace lines kept.
 */
#ifndef MIGRACE_TEST_MACHINE_H
#define MIGRACE_TEST_MACHINE_H

#ifndef MIGRACE_TEST_HARNESS_H
#error "include harness.h before machine.h"
#endif

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <migrace/cpu.h>
#include <migrace/migrate.h>
#include <migrace/mm.h>
#include <migrace/prog.h>
#include <migrace/run.h>
#include <migrace/tlb.h>

/* ---- the machine and its processes ---- */

/* Process @id with the whole region mapped read-write; NULL on failure. */
static inline struct mm_struct *new_mm(int id)
{
	struct mm_struct *mm = mm_alloc(id);

	if (do_mmap_fixed(mm, REGION_START, REGION_PAGES * PAGE_SIZE,
			  VM_READ | VM_WRITE))
		return NULL;
	return mm;
}

/* A fresh machine of @ncpus CPUs, running on CPU 0, and process 0. */
static inline struct mm_struct *boot(int ncpus)
{
	machine_reset(ncpus);
	current_cpu = &cpus[0];
	return new_mm(0);
}

static inline void on_cpu(int cpu)
{
	current_cpu = &cpus[cpu];
}

/* ---- user accesses ---- */

/*
 * A user load or store as the program runner does it: fault and retry.
 * 0, the VM_FAULT_ERROR result of the fault, or -1 after 10 tries.
 */
static inline int user_access(struct mm_struct *mm, unsigned long addr,
			      int slot, bool write, u64 *val)
{
	for (int tries = 0; tries < 10; tries++) {
		int ret;

		if (!mmu_user_access(mm, addr, slot, write, val))
			return 0;
		ret = do_user_addr_fault(mm, addr, write);
		if (ret & VM_FAULT_ERROR)
			return ret;
	}
	return -1;
}

static inline int load(struct mm_struct *mm, unsigned long addr, int slot,
		       u64 *val)
{
	return user_access(mm, addr, slot, false, val);
}

static inline int store(struct mm_struct *mm, unsigned long addr, int slot,
			u64 val)
{
	return user_access(mm, addr, slot, true, &val);
}

/* ---- page tables and TLBs (no locks unless said) ---- */

static inline pmd_t *pmd_of(struct mm_struct *mm, unsigned long addr)
{
	return pmd_offset(pgd_offset(mm, addr), addr);
}

/* The PTE table covering @addr, NULL if none. */
static inline struct pte_table *table_of(struct mm_struct *mm,
					 unsigned long addr)
{
	pmd_t *pmd = pmd_of(mm, addr);

	return pmd ? pmd->table : NULL;
}

/* The pte slot for @addr, or NULL if no table covers it. */
static inline pte_t *pte_slot(struct mm_struct *mm, unsigned long addr)
{
	struct pte_table *t = table_of(mm, addr);

	return t ? &t->ptes[pte_index(addr)] : NULL;
}

/* The pte for @addr, none if no table covers it. */
static inline pte_t pte_now(struct mm_struct *mm, unsigned long addr)
{
	pte_t *p = pte_slot(mm, addr);

	return p ? *p : __pte(0);
}

/* The page a present pte for @addr maps, NULL if not present. */
static inline struct page *page_at(struct mm_struct *mm, unsigned long addr)
{
	pte_t pte = pte_now(mm, addr);

	return pte_present(pte) ? pfn_to_page(pte_pfn(pte)) : NULL;
}

/* set_pte_at() under the pte lock, without any TLB flush. */
static inline void pte_set_locked(struct mm_struct *mm, unsigned long addr,
				  pte_t v)
{
	spinlock_t *ptl;
	pte_t *p = pte_offset_map_lock(mm, pmd_of(mm, addr), addr, &ptl);

	set_pte_at(mm, addr, p, v);
	pte_unmap_unlock(p, ptl);
}

/* @cpu's TLB entry for @addr in @mm, NULL if it caches none. */
static inline struct tlb_entry *tlb_find(int cpu, const struct mm_struct *mm,
					 unsigned long addr)
{
	for (int i = 0; i < TLB_ENTRIES; i++) {
		struct tlb_entry *e = &cpus[cpu].tlb[i];

		if (e->valid && e->mm == mm && e->vpn == addr >> PAGE_SHIFT)
			return e;
	}
	return NULL;
}

static inline bool tlb_has(int cpu, const struct mm_struct *mm,
			   unsigned long addr)
{
	return tlb_find(cpu, mm, addr) != NULL;
}

/* ---- repro texts ---- */

/* repro_parse() with the error logged; 0 or -1. */
static inline int parse(const char *text, struct repro *r)
{
	char err[256];

	if (repro_parse(text, r, err, sizeof(err))) {
		TH_LOG("repro_parse: %s", err);
		return -1;
	}
	return 0;
}

#ifdef MACHINE_TRACE

/* ---- a run under the controlled scheduler, with its trace ---- */

#ifndef TR_LINES
#define TR_LINES 8192
#endif
#define TR_LEN 256

/* The trace of the last traced run, one event a line. */
static struct {
	int n;
	char line[TR_LINES][TR_LEN];
} tr;

/* Runs @r under @st with the trace kept in tr; run_program()'s result. */
static inline int run_traced_with(const struct repro *r,
				  const struct strategy *st,
				  struct run_result *res)
{
	struct run_options ro = { .trace = true };
	FILE *f = tmpfile();
	int ret;

	if (!f)
		return -1;
	ro.trace_out = f;
	ret = run_program(&r->prog, &r->settings, st, &ro, res);
	rewind(f);
	tr.n = 0;
	while (tr.n < TR_LINES && fgets(tr.line[tr.n], TR_LEN, f)) {
		tr.line[tr.n][strcspn(tr.line[tr.n], "\n")] = 0;
		tr.n++;
	}
	fclose(f);
	return ret;
}

/* Replays repro @text (its own schedule), traced; a report is logged. */
static inline int run_traced(const char *text)
{
	static struct repro rep;
	static struct run_result res;
	struct strategy st = { .kind = STRAT_REPLAY };
	int ret;

	if (parse(text, &rep))
		return -1;
	st.replay = &rep.sched;
	ret = run_traced_with(&rep, &st, &res);
	if (ret)
		TH_LOG("run reported: %s", res.title);
	return ret;
}

/* The CPU that executed trace line @i, -1 if none. */
static inline int tr_cpu(int i)
{
	int c = -1;

	if (i < 0 || i >= tr.n || sscanf(tr.line[i], "%*u CPU%d", &c) != 1)
		return -1;
	return c;
}

/*
 * Index of the first trace event at or after @from executed by @cpu (-1:
 * any) of kind @kind whose name is @what and, if @func is not NULL, whose
 * function is @func; -1 if none.  Lines look like
 *   "    12  CPU1  wait      flush IPI ack   tlb_flush_mmu_tlbonly() addr=..."
 */
static inline int tr_find(int from, int cpu, const char *kind,
			  const char *what, const char *func)
{
	for (int i = from < 0 ? 0 : from; i < tr.n; i++) {
		const char *l = tr.line[i], *rest, *end;
		char k[16];
		int c, off = 0;
		size_t wl = strlen(what);

		if (sscanf(l, "%*u CPU%d %15s %n", &c, k, &off) != 2 || !off)
			continue;
		if ((cpu >= 0 && c != cpu) || strcmp(k, kind))
			continue;
		rest = l + off;
		if (strncmp(rest, what, wl) || rest[wl] != ' ')
			continue;
		if (func) {
			size_t fl = strlen(func);

			end = strstr(rest + wl, "() addr=");
			if (!end || end - (rest + wl) < (long)fl + 1 ||
			    strncmp(end - fl, func, fl) || end[-(long)fl - 1] != ' ')
				continue;
		}
		return i;
	}
	return -1;
}

/* Index of the first event of @cpu after @from, -1 if none. */
static inline int tr_next_of_cpu(int from, int cpu)
{
	for (int i = from + 1; i < tr.n; i++) {
		int c;

		if (sscanf(tr.line[i], "%*u CPU%d", &c) == 1 && c == cpu)
			return i;
	}
	return -1;
}

#endif /* MACHINE_TRACE */


/* ---- a forked process ---- */

/*
 * Process 0 with A0 (the region's first page) = { 0x10, 0x11, 0, ... },
 * forked into process 1: *@shared is the page both now map.  0 or -1.
 */
static inline int boot_and_fork(struct mm_struct **parent,
				struct mm_struct **child, struct page **shared)
{
	unsigned long a0 = REGION_START;

	*parent = boot(2);
	if (!*parent || store(*parent, a0, 0, 0x10) ||
	    store(*parent, a0, 1, 0x11))
		return -1;
	lru_add_drain();
	*shared = page_at(*parent, a0);
	*child = dup_mm(*parent, 1);
	lru_add_drain();
	return *child ? 0 : -1;
}

#endif
