// SPDX-License-Identifier: GPL-2.0
/*
 * mmu_gather: zap and munmap batch the TLB flush and the freeing of pages
 * and page tables, and run them after the PTL is dropped
 * (tlb_finish_mmu).  mm->tlb_flush_pending tells others a flush is still
 * owed; a nested gather sees it and flushes the whole mm.
 */
#include <migrace/check.h>
#include <migrace/mm.h>
#include <migrace/swap.h>
#include <migrace/tlb.h>

/*
 * mm->tlb_flush_pending is an atomic_t: every increment, decrement and
 * read is a preemption point, so a zap or mprotect on another CPU can run
 * between a pte change and the flush that the counter announces.
 */
void inc_tlb_flush_pending(struct mm_struct *mm)
{
	sched_point(EV_ATOMIC, "inc_tlb_flush_pending", __func__, mm, 0, 0);
	__atomic_add_fetch(&mm->tlb_flush_pending, 1, __ATOMIC_ACQ_REL);
}

void dec_tlb_flush_pending(struct mm_struct *mm)
{
	sched_point(EV_ATOMIC, "dec_tlb_flush_pending", __func__, mm, 0, 0);
	__atomic_sub_fetch(&mm->tlb_flush_pending, 1, __ATOMIC_ACQ_REL);
}

bool mm_tlb_flush_nested(struct mm_struct *mm)
{
	sched_point(EV_ATOMIC, "mm_tlb_flush_nested", __func__, mm, 0, 0);
	return __atomic_load_n(&mm->tlb_flush_pending, __ATOMIC_ACQUIRE) > 1;
}

/*
 * 6.0: called after taking a PTL by zap and mprotect, so that a batched
 * try_to_unmap() flush (TTU_BATCH_FLUSH) is done before the pte is
 * changed again.  The emulated reclaim flushes per pte, so the flag stays
 * clear; the read is still a preemption point, as the kernel's is.
 */
void flush_tlb_batched_pending(struct mm_struct *mm)
{
	sched_point(EV_PTE_READ, "flush_tlb_batched_pending", __func__, mm, 0,
		    0);
	if (READ_ONCE(mm->tlb_flush_batched)) {
		flush_tlb_mm(mm);
		WRITE_ONCE(mm->tlb_flush_batched, false);
	}
}

static void __tlb_reset_range(struct mmu_gather *tlb)
{
	tlb->start = ~0UL;
	tlb->end = 0;
	tlb->need_flush_all = false;
}

static void __tlb_gather_mmu(struct mmu_gather *tlb, struct mm_struct *mm,
			     bool fullmm)
{
	tlb->mm = mm;
	tlb->fullmm = fullmm;
	tlb->nr = 0;
	tlb->nr_tables = 0;
	__tlb_reset_range(tlb);
	inc_tlb_flush_pending(mm);
}

void tlb_gather_mmu(struct mmu_gather *tlb, struct mm_struct *mm)
{
	__tlb_gather_mmu(tlb, mm, false);
}

void tlb_gather_mmu_fullmm(struct mmu_gather *tlb, struct mm_struct *mm)
{
	__tlb_gather_mmu(tlb, mm, true);
}

void __tlb_remove_tlb_entry(struct mmu_gather *tlb, pte_t *ptep,
			    unsigned long addr, const char *func)
{
	(void)ptep, (void)func;
	tlb->start = min(tlb->start, addr);
	tlb->end = max(tlb->end, addr + PAGE_SIZE);
}

bool __tlb_remove_page(struct mmu_gather *tlb, struct page *page)
{
	tlb->pages[tlb->nr++] = page;
	return tlb->nr == MMU_GATHER_BATCH;
}

void tlb_remove_table(struct mmu_gather *tlb, struct pte_table *table)
{
	/* Lockless walkers may cache it: flush its range, free after RCU. */
	tlb->start = min(tlb->start, table->addr);
	tlb->end = max(tlb->end, table->addr + PMD_SIZE);
	if (tlb->nr_tables == MMU_GATHER_BATCH)
		tlb_flush_mmu(tlb);
	tlb->tables[tlb->nr_tables++] = table;
}

/*
 * asm-generic/tlb.h: before the ptes of a VMA are torn down, its user
 * aliases are written back (a no-op on x86).  exit_mmap() did
 * flush_cache_mm() instead.  tlb_end_vma()'s flush at the VMA boundary is
 * left to tlb_finish_mmu(), as before.
 */
void tlb_start_vma(struct mmu_gather *tlb, struct vm_area_struct *vma)
{
	if (tlb->fullmm)
		return;
	flush_cache_range(vma, vma->vm_start, vma->vm_end);
}

void tlb_flush_mmu_tlbonly(struct mmu_gather *tlb)
{
	if (tlb->fullmm || tlb->need_flush_all) {
		flush_tlb_mm(tlb->mm);
	} else if (tlb->end) {
		flush_tlb_mm_range(tlb->mm, tlb->start, tlb->end);
	}
	__tlb_reset_range(tlb);
}

static void pte_table_free_rcu(struct rcu_head *head)
{
	kfree(container_of(head, struct pte_table, rcu));
}

void tlb_flush_mmu(struct mmu_gather *tlb)
{
	tlb_flush_mmu_tlbonly(tlb);
	for (int i = 0; i < tlb->nr_tables; i++)
		call_rcu(&tlb->tables[i]->rcu, pte_table_free_rcu);
	tlb->nr_tables = 0;
	/* free_pages_and_swap_cache() */
	for (int i = 0; i < tlb->nr; i++) {
		struct page *page = tlb->pages[i];

		/* free_swap_cache(): if we are the only user, drop the copy */
		if (PageSwapCache(page) && !page_mapped(page) &&
		    trylock_page(page)) {
			try_to_free_swap(page);
			unlock_page(page);
		}
		put_page(page);
	}
	tlb->nr = 0;
}

void tlb_finish_mmu(struct mmu_gather *tlb)
{
	/*
	 * Another thread batched a flush for this mm and has not done it
	 * yet: what we zapped may still be in its pending range.
	 */
	if (mm_tlb_flush_nested(tlb->mm)) {
		tlb->fullmm = true;
		__tlb_reset_range(tlb);
	}
	tlb_flush_mmu(tlb);
	dec_tlb_flush_pending(tlb->mm);
}
