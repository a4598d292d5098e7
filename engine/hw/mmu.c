// SPDX-License-Identifier: GPL-2.0
/*
 * The MMU, as x86 hardware behaves: a user load or store looks up the TLB
 * first; a hit never looks at the page table (that is how a stale TLB
 * entry becomes visible).  On a miss the hardware walker reads the page
 * tables without locks, under RCU as far as table freeing is concerned,
 * sets the accessed bit - and on a store the dirty bit - atomically in the
 * PTE, then fills the TLB.  A store through an entry whose dirty bit is
 * not yet set walks again to set it.
 *
 * Arch vivt puts a data cache between the access and memory (cache.c).
 *
 * The whole instruction runs with "interrupts off": a shootdown that
 * arrives meanwhile is acknowledged once the access has completed.
 */
#include <migrace/check.h>
#include <migrace/cpu.h>
#include <migrace/rcu.h>
#include <migrace/sched.h>
#include <migrace/tlb.h>

static struct tlb_entry *tlb_lookup(struct cpu *c, const struct mm_struct *mm,
				    unsigned long vpn)
{
	for (int i = 0; i < TLB_ENTRIES; i++) {
		struct tlb_entry *e = &c->tlb[i];

		if (e->valid && e->mm == mm && e->vpn == vpn)
			return e;
	}
	return NULL;
}

static struct tlb_entry *tlb_fill(struct cpu *c, struct mm_struct *mm,
				  unsigned long vpn, pte_t pte)
{
	struct tlb_entry *e = tlb_lookup(c, mm, vpn);

	sched_point(EV_TLB, "tlb fill", "hw walker", mm, vpn << PAGE_SHIFT,
		    pte_val(pte));
	if (!e) {
		e = &c->tlb[c->tlb_next];
		c->tlb_next = (c->tlb_next + 1) % TLB_ENTRIES;
	}
	e->mm = mm;
	e->vpn = vpn;
	e->pfn = pte_pfn(pte);
	e->writable = pte_write(pte);
	e->dirty = pte_dirty(pte);
	e->valid = true;
	return e;
}

static void check_table(const void *table, struct mm_struct *mm,
			unsigned long addr, const char *level)
{
	if (kobj_freed(table))
		report_bug(mm, addr,
			   "use-after-free: hardware walker read a freed %s table",
			   level);
}

/* Walk, set A/D, fill.  NULL: the access must fault. */
static struct tlb_entry *hw_walk(struct cpu *c, struct mm_struct *mm,
				 unsigned long addr, bool write)
{
	struct pmd_table *pmdt;
	struct pte_table *ptet;
	pte_t *ptep, pte, new;

	if (addr < TASK_UNMAPPED_BASE || addr >= TASK_SIZE)
		return NULL;
	for (;;) {
		pmdt = READ_ONCE(mm->pgd[pgd_index(addr)].table);
		if (!pmdt)
			return NULL;
		check_table(pmdt, mm, addr, "pmd");
		sched_point(EV_PTE_READ, "walk pmd", "hw walker", mm, addr, 0);
		ptet = READ_ONCE(pmdt->pmds[pmd_index(addr)].table);
		if (!ptet)
			return NULL;
		check_table(ptet, mm, addr, "pte");
		ptep = &ptet->ptes[pte_index(addr)];
		sched_point(EV_PTE_READ, "walk pte", "hw walker", ptep, addr, 0);
		check_table(ptet, mm, addr, "pte");
		pte.pte = __atomic_load_n(&ptep->pte, __ATOMIC_ACQUIRE);
		if (!pte_present(pte) || (write && !pte_write(pte)))
			return NULL;
		new = pte_mkyoung(pte);
		if (write)
			new = __pte(pte_val(new) | _PAGE_DIRTY);
		if (pte_val(new) != pte_val(pte)) {
			sched_point(EV_PTE_WRITE, "hw set accessed/dirty",
				    "hw walker", ptep, addr, pte_val(new));
			check_table(ptet, mm, addr, "pte");
			if (!__atomic_compare_exchange_n(&ptep->pte, &pte.pte,
							 new.pte, false,
							 __ATOMIC_ACQ_REL,
							 __ATOMIC_ACQUIRE))
				continue;	/* changed under us: walk again */
		}
		return tlb_fill(c, mm, addr >> PAGE_SHIFT, new);
	}
}

int mmu_user_access(struct mm_struct *mm, unsigned long addr, int slot,
		    bool write, u64 *val)
{
	struct cpu *c = current_cpu;
	struct tlb_entry *e;
	struct page *page;
	int ret = -EFAULT;

	sched_point(EV_USER, write ? "user store" : "user load", "user", mm,
		    addr, write ? *val : 0);
	/*
	 * A CPU running in @mm is in mm_cpumask() (x86 sets it at
	 * switch_mm()), so a flush racing with this walk waits for us.
	 */
	if (!(READ_ONCE(mm->cpumask) & BIT(c->id)))
		__atomic_or_fetch(&mm->cpumask, BIT(c->id), __ATOMIC_RELAXED);
	local_irq_disable();
	rcu_read_lock();
	c->last_tlb_hit = false;
	e = tlb_lookup(c, mm, addr >> PAGE_SHIFT);
	if (e && (!write || (e->writable && e->dirty))) {
		c->last_tlb_hit = true;
	} else if (e && write && !e->writable) {
		e = NULL;	/* protection fault */
	} else {
		e = hw_walk(c, mm, addr, write);
	}
	if (!e) {
		/* x86: a page fault drops the faulting address's TLB entry. */
		struct tlb_entry *old = tlb_lookup(c, mm, addr >> PAGE_SHIFT);

		if (old)
			old->valid = false;
		goto out;
	}
	c->last_pfn = e->pfn;
	page = pfn_to_page(e->pfn);
	if (__test_page_flag(page, PG_buddy))
		report_bug(mm, addr,
			   "use-after-free: user %s at %#lx reached free pfn %lu through the %s",
			   write ? "store" : "load", addr, e->pfn,
			   c->last_tlb_hit ? "TLB" : "page table");
	/* arch vivt: through the CPU's cache (engine/hw/cache.c). */
	if (write) {
		if (arch_vivt)
			cache_user_store(c, mm, addr, slot, e->pfn, *val);
		else
			page_data_write(page, slot, *val);
	} else if (!cache_user_load(c, mm, addr, slot, e->pfn, val)) {
		*val = page_data_read(page, slot);
	}
	ret = 0;
out:
	rcu_read_unlock();
	local_irq_enable();
	return ret;
}
