// SPDX-License-Identifier: GPL-2.0
/*
 * mm/madvise.c, Linux 6.0: MADV_DONTNEED, MADV_FREE, MADV_COLD and
 * MADV_PAGEOUT on anonymous memory, under mmap_lock held for read.
 */
#include <migrace/check.h>
#include <migrace/migrate.h>
#include <migrace/mm.h>
#include <migrace/mmu_notifier.h>
#include <migrace/swap.h>
#include <migrace/tlb.h>

typedef void (*pte_range_fn)(struct mmu_gather *tlb,
			     struct vm_area_struct *vma, pmd_t *pmd,
			     unsigned long addr, unsigned long end,
			     void *private);

/* walk_page_range() with only a .pmd_entry, over one VMA's range */
static void walk_pmd_range(struct mmu_gather *tlb, struct vm_area_struct *vma,
			   unsigned long addr, unsigned long end,
			   pte_range_fn fn, void *private)
{
	struct mm_struct *mm = vma->vm_mm;
	unsigned long next;

	for (; addr < end; addr = next) {
		pmd_t *pmd = pmd_offset(pgd_offset(mm, addr), addr);

		next = pmd_addr_end(addr, end);
		if (!pmd || pmd_none(pmdp_get_lockless(pmd)))
			continue;
		fn(tlb, vma, pmd, addr, next, private);
	}
}

/* ---- MADV_COLD, MADV_PAGEOUT ---- */

struct madvise_walk_private {
	struct list_head page_list;
	bool pageout;
};

static void madvise_cold_or_pageout_pte_range(struct mmu_gather *tlb,
					      struct vm_area_struct *vma,
					      pmd_t *pmd, unsigned long addr,
					      unsigned long end, void *private)
{
	struct madvise_walk_private *p = private;
	struct mm_struct *mm = tlb->mm;
	pte_t *orig_pte, *pte, ptent;
	spinlock_t *ptl;
	struct page *page;

	orig_pte = pte = pte_offset_map_lock(vma->vm_mm, pmd, addr, &ptl);
	arch_enter_lazy_mmu_mode();
	for (; addr < end; pte++, addr += PAGE_SIZE) {
		ptent = ptep_get(pte);

		if (pte_none(ptent))
			continue;
		if (!pte_present(ptent))
			continue;

		page = vm_normal_page(vma, addr, ptent);
		if (!page || is_zone_device_page(page))
			continue;

		/*
		 * Do not interfere with other mappings of this page and
		 * non-LRU page.
		 */
		if (!PageLRU(page) || page_mapcount(page) != 1)
			continue;

		if (pte_young(ptent)) {
			ptent = ptep_get_and_clear_full(mm, addr, pte,
							tlb->fullmm);
			ptent = pte_mkold(ptent);
			set_pte_at(mm, addr, pte, ptent);
			tlb_remove_tlb_entry(tlb, pte, addr);
		}

		/*
		 * We are deactivating a page for accelerating reclaiming.
		 * VM couldn't reclaim the page unless we clear PG_young.
		 * As a side effect, it makes confuse idle-page tracking
		 * because they will miss recent referenced history.
		 */
		ClearPageReferenced(page);
		if (p->pageout) {
			if (!isolate_lru_page(page)) {
				if (PageUnevictable(page))
					putback_lru_page(page);
				else
					list_add(&page->lru, &p->page_list);
			}
		} else {
			deactivate_page(page);
		}
	}
	arch_leave_lazy_mmu_mode();
	pte_unmap_unlock(orig_pte, ptl);
	if (p->pageout)
		reclaim_pages(&p->page_list);
}

static void madvise_cold_or_pageout(struct vm_area_struct *vma,
				    unsigned long start, unsigned long end,
				    bool pageout)
{
	struct madvise_walk_private walk_private = { .pageout = pageout };
	struct mmu_gather tlb;

	INIT_LIST_HEAD(&walk_private.page_list);
	lru_add_drain();
	tlb_gather_mmu(&tlb, vma->vm_mm);
	tlb_start_vma(&tlb, vma);
	walk_pmd_range(&tlb, vma, start, end,
		       madvise_cold_or_pageout_pte_range, &walk_private);
	tlb_finish_mmu(&tlb);
}

/* ---- MADV_FREE ---- */

static void madvise_free_pte_range(struct mmu_gather *tlb,
				   struct vm_area_struct *vma, pmd_t *pmd,
				   unsigned long addr, unsigned long end,
				   void *private)
{
	struct mm_struct *mm = tlb->mm;
	pte_t *orig_pte, *pte, ptent;
	spinlock_t *ptl;
	struct page *page;

	(void)private;
	orig_pte = pte = pte_offset_map_lock(mm, pmd, addr, &ptl);
	arch_enter_lazy_mmu_mode();
	for (; addr != end; pte++, addr += PAGE_SIZE) {
		ptent = ptep_get(pte);

		if (pte_none(ptent))
			continue;
		/*
		 * If the pte has swp_entry, just clear page table to
		 * prevent swap-in which is more expensive rather than
		 * (page allocation + zeroing).
		 */
		if (!pte_present(ptent)) {
			swp_entry_t entry;

			entry = pte_to_swp_entry(ptent);
			if (!non_swap_entry(entry)) {
				dec_mm_counter(mm);
				free_swap_and_cache(entry);
				pte_clear_not_present_full(mm, addr, pte,
							   tlb->fullmm);
			}
			continue;
		}

		page = vm_normal_page(vma, addr, ptent);
		if (!page || is_zone_device_page(page))
			continue;

		if (PageSwapCache(page) || PageDirty(page)) {
			if (!trylock_page(page))
				continue;
			/*
			 * If page is shared with others, we couldn't clear
			 * PG_dirty of the page.
			 */
			if (page_mapcount(page) != 1) {
				unlock_page(page);
				continue;
			}

			if (PageSwapCache(page) && !try_to_free_swap(page)) {
				unlock_page(page);
				continue;
			}

			ClearPageDirty(page);
			unlock_page(page);
		}

		if (pte_young(ptent) || pte_dirty(ptent)) {
			/*
			 * Some of architecture(ex, PPC) don't update TLB
			 * with set_pte_at and tlb_remove_tlb_entry so for
			 * the portability, remap the pte with old|clean
			 * after pte clearing.
			 */
			ptent = ptep_get_and_clear_full(mm, addr, pte,
							tlb->fullmm);

			ptent = pte_mkold(ptent);
			ptent = pte_mkclean(ptent);
			set_pte_at(mm, addr, pte, ptent);
			tlb_remove_tlb_entry(tlb, pte, addr);
		}
		mark_page_lazyfree(page);
	}
	arch_leave_lazy_mmu_mode();
	pte_unmap_unlock(orig_pte, ptl);
}

static void madvise_free_single_vma(struct vm_area_struct *vma,
				    unsigned long start, unsigned long end)
{
	struct mm_struct *mm = vma->vm_mm;
	struct mmu_notifier_range range;
	struct mmu_gather tlb;

	mmu_notifier_range_init(&range, MMU_NOTIFY_CLEAR, 0, vma, mm, start,
				end);
	lru_add_drain();
	tlb_gather_mmu(&tlb, mm);
	mmu_notifier_invalidate_range_start(&range);
	tlb_start_vma(&tlb, vma);
	walk_pmd_range(&tlb, vma, start, end, madvise_free_pte_range, NULL);
	mmu_notifier_invalidate_range_end(&range);
	tlb_finish_mmu(&tlb);
}

long do_madvise(struct mm_struct *mm, unsigned long start, size_t len,
		int behavior, struct madvise_zapped *zapped)
{
	unsigned long end = start + len;
	long unmapped_error = 0;

	if (behavior != MADV_DONTNEED && behavior != MADV_FREE &&
	    behavior != MADV_COLD && behavior != MADV_PAGEOUT)
		return -EINVAL;
	mmap_read_lock(mm);
	while (start < end) {
		struct vm_area_struct *vma = find_vma(mm, start);
		unsigned long s, e;

		if (!vma || vma->vm_start >= end)
			break;
		if (vma->vm_start > start)
			unmapped_error = -ENOMEM;
		s = max(start, vma->vm_start);
		e = min(end, vma->vm_end);
		switch (behavior) {
		case MADV_DONTNEED:
			zap_page_range(vma, s, e - s);
			break;
		case MADV_FREE:
			madvise_free_single_vma(vma, s, e);
			break;
		case MADV_COLD:
			madvise_cold_or_pageout(vma, s, e, false);
			break;
		case MADV_PAGEOUT:
			madvise_cold_or_pageout(vma, s, e, true);
			break;
		}
		/* for the harness: what was covered, under mmap_lock */
		if (zapped && zapped->n < MAX_VMAS) {
			zapped->start[zapped->n] = s;
			zapped->end[zapped->n++] = e;
		}
		start = e;
	}
	mmap_read_unlock(mm);
	return unmapped_error;
}
