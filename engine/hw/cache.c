// SPDX-License-Identifier: GPL-2.0
/*
 * Data caches of arch vivt (include/migrace/cacheflush.h says where the
 * kernel's hooks are).  The model, and why:
 *
 * - Each CPU has CACHE_LINES write-back lines, looked up by (mm, virtual
 *   address, slot): a user store goes into the storing CPU's line, a user
 *   load of the same (mm, address) on that CPU hits it.  A line records the
 *   page the store was translated to, and a write-back goes there.
 * - Between CPUs the caches are coherent, as SMP hardware keeps them by
 *   physical address: a load, or a kernel read of a page, on one CPU sees a
 *   dirty line another CPU holds for that page and slot (the owner writes it
 *   back), and a store supersedes the other CPUs' lines for the slot.  So a
 *   store racing with the kernel on another CPU is never lost to the cache;
 *   races stay what they are on x86.
 * - What is not coherent is a CPU with itself across aliases, which is what
 *   virtual indexing means and what the kernel's flush_cache_*() are for:
 *   the kernel's copy of a page (its own mapping) on the CPU that stored
 *   through a user address does not see that line, nor does a user load
 *   through another address of the same page.  A line whose (mm, address)
 *   now translates to another page is dropped when found: its store was
 *   for a page the address no longer maps, which the kernel must have
 *   flushed before changing the translation.  Freeing or initialising a
 *   page drops the lines for it (their data belonged to a dead page).
 * - Devices (DMA through a pin, swap I/O) are I/O-coherent: they see every
 *   CPU's lines.
 *
 * Hence a store is lost exactly when the kernel copies, frees or remaps a
 * page without the flush cachetlb.rst asks for, on a CPU that still holds
 * the line.  On x86 nothing here runs.
 */
#include <migrace/cacheflush.h>
#include <migrace/cpu.h>
#include <migrace/sched.h>
#include "../sched/stress.h"

bool arch_vivt;

/*
 * Stress mode: the coherence protocol is one bus lock (the lines of every
 * CPU are looked at by a snoop).  Never held across a preemption point.
 */
static int bus;

static void bus_lock(void)
{
	if (stress_mode)
		stress_harness_lock(&bus);
}

static void bus_unlock(void)
{
	if (stress_mode)
		stress_harness_unlock(&bus);
}

void cache_reset(bool vivt)
{
	arch_vivt = vivt;
	for (int i = 0; i < NR_CPUS; i++) {
		memset(cpus[i].dcache, 0, sizeof(cpus[i].dcache));
		cpus[i].dcache_next = 0;
	}
}

static void line_writeback(struct cache_line *l)
{
	struct page *page = pfn_to_page(l->pfn);

	/* A freed page's lines were dropped when it was freed. */
	if (!__test_page_flag(page, PG_buddy))
		page_data_write(page, l->slot, l->val);
	l->valid = false;
}

static struct cache_line *line_lookup(struct cpu *c,
				      const struct mm_struct *mm,
				      unsigned long addr, int slot)
{
	for (int i = 0; i < CACHE_LINES; i++) {
		struct cache_line *l = &c->dcache[i];

		if (l->valid && l->mm == mm && l->addr == addr &&
		    l->slot == slot)
			return l;
	}
	return NULL;
}

/* Another CPU asks for @pfn's @slot (-1: every slot): write back and drop. */
static void snoop(struct cpu *skip, unsigned long pfn, int slot,
		  bool writeback)
{
	for (int i = 0; i < nr_cpus; i++) {
		struct cpu *c = &cpus[i];

		if (c == skip)
			continue;
		for (int j = 0; j < CACHE_LINES; j++) {
			struct cache_line *l = &c->dcache[j];

			if (!l->valid || l->pfn != pfn ||
			    (slot >= 0 && l->slot != slot))
				continue;
			if (writeback)
				line_writeback(l);
			else
				l->valid = false;
		}
	}
}

bool cache_user_load(struct cpu *c, const struct mm_struct *mm,
		     unsigned long addr, int slot, unsigned long pfn, u64 *val)
{
	struct cache_line *l;

	if (!arch_vivt)
		return false;
	addr &= PAGE_MASK;
	bus_lock();
	l = line_lookup(c, mm, addr, slot);
	if (l && l->pfn == pfn) {
		*val = l->val;
		bus_unlock();
		return true;
	}
	if (l)
		l->valid = false;	/* remapped under it: the store is lost */
	snoop(c, pfn, slot, true);
	bus_unlock();
	return false;
}

void cache_user_store(struct cpu *c, const struct mm_struct *mm,
		      unsigned long addr, int slot, unsigned long pfn, u64 val)
{
	struct cache_line *l;

	if (!arch_vivt)
		return;
	addr &= PAGE_MASK;
	bus_lock();
	l = line_lookup(c, mm, addr, slot);
	if (!l) {
		l = &c->dcache[c->dcache_next];
		c->dcache_next = (c->dcache_next + 1) % CACHE_LINES;
		if (l->valid)
			line_writeback(l);	/* eviction */
	}
	/* The other CPUs' copies of this slot are older: superseded. */
	snoop(c, pfn, slot, false);
	*l = (struct cache_line){ .mm = mm, .addr = addr, .pfn = pfn,
				  .val = val, .slot = slot, .valid = true };
	bus_unlock();
}

void __flush_cache_mm_range(const struct mm_struct *mm, unsigned long start,
			    unsigned long end, const char *what,
			    const char *func)
{
	sched_point(EV_TLB, what, func, mm, start, end);
	if (!arch_vivt)
		return;
	bus_lock();
	for (int i = 0; i < nr_cpus; i++)
		for (int j = 0; j < CACHE_LINES; j++) {
			struct cache_line *l = &cpus[i].dcache[j];

			if (l->valid && l->mm == mm &&
			    (!end || (l->addr >= start && l->addr < end)))
				line_writeback(l);
		}
	bus_unlock();
}

void cache_phys_read(unsigned long pfn, bool dma)
{
	if (arch_vivt) {
		bus_lock();
		snoop(dma ? NULL : current_cpu, pfn, -1, true);
		bus_unlock();
	}
}

void cache_phys_write(unsigned long pfn, int slot)
{
	if (arch_vivt) {
		bus_lock();
		snoop(NULL, pfn, slot, false);
		bus_unlock();
	}
}

int cache_dirty_lines(unsigned long pfn)
{
	int n = 0;

	for (int i = 0; i < NR_CPUS; i++)
		for (int j = 0; j < CACHE_LINES; j++)
			n += cpus[i].dcache[j].valid &&
			     cpus[i].dcache[j].pfn == pfn;
	return n;
}
