// SPDX-License-Identifier: GPL-2.0
/*
 * mm/hmm.c: hmm_range_fault() as of Linux 6.16 (no THP, no hugetlb, no
 * P2PDMA here), and the RFC of seed 001, "mm: unified fault and migrate
 * device page paths", as the patch writes it (variant rfc-unified):
 * hmm_want_migrate(), hmm_vma_handle_migrate_prepare(),
 * hmm_vma_walk_split(), hmm_vma_capture_migrate_range(), and its changes
 * to hmm_pfns_fill(), hmm_vma_walk_pmd(), hmm_vma_walk_test() and
 * hmm_range_fault().  Upstream and RFC code sit side by side, chosen by
 * variant_rfc_unified; nothing of the RFC is corrected.
 *
 * The walk reads ptes without the page table lock: the snapshot is only
 * as good as the interval notifier sequence the caller checks afterwards.
 */
#include <migrace/cacheflush.h>
#include <migrace/check.h>
#include <migrace/fixes.h>
#include <migrace/hmm.h>
#include <migrace/memremap.h>
#include <migrace/migrate.h>
#include <migrace/mm.h>
#include <migrace/pagewalk.h>
#include <migrace/rmap.h>
#include <migrace/tlb.h>

#define FAULT_FLAG_REMOTE 0x80

/*
 * Helpers the RFC calls by their Linux 6.16 names; the engine has them
 * under their 6.0 names (docs/porting-a-patch.md).
 */
static inline struct dev_pagemap *page_pgmap(struct page *page)
{
	return page->pgmap;
}

static inline int folio_try_share_anon_rmap_pte(struct folio *folio,
						struct page *page)
{
	(void)folio;
	return page_try_share_anon_rmap(page);
}

static inline void folio_remove_rmap_pte(struct folio *folio,
					 struct page *page,
					 struct vm_area_struct *vma)
{
	(void)folio;
	page_remove_rmap(page, vma, false);
}

struct hmm_vma_walk {
	struct hmm_range *range;
	unsigned long last;
	/* the RFC */
	struct mmu_notifier_range mmu_range;
	struct vm_area_struct *vma;
	unsigned long start;
	unsigned long end;
};

enum {
	HMM_NEED_FAULT = 1 << 0,
	HMM_NEED_WRITE_FAULT = 1 << 1,
	HMM_NEED_ALL_BITS = HMM_NEED_FAULT | HMM_NEED_WRITE_FAULT,
};

/* The RFC: the kinds of page a walk migrates, none if it does not. */
static unsigned long hmm_want_migrate(struct hmm_range *range)
{
	unsigned long minfo;

	if (!variant_rfc_unified)
		return 0;
	minfo = range->migrate ? range->migrate->flags : 0;
	minfo |= (range->default_flags & HMM_PFN_REQ_MIGRATE) ?
		 MIGRATE_VMA_SELECT_SYSTEM : 0;
	return minfo;
}

static int hmm_pfns_fill(unsigned long addr, unsigned long end,
			 struct hmm_vma_walk *hmm_vma_walk,
			 unsigned long cpu_flags)
{
	struct hmm_range *range = hmm_vma_walk->range;
	unsigned long i = (addr - range->start) >> PAGE_SHIFT;

	/* The RFC: an empty anonymous range migrates, as a hole. */
	if (variant_rfc_unified && cpu_flags != HMM_PFN_ERROR)
		if (hmm_want_migrate(range) &&
		    vma_is_anonymous(hmm_vma_walk->vma))
			cpu_flags |= HMM_PFN_VALID | HMM_PFN_MIGRATE;

	for (; addr < end; addr += PAGE_SIZE, i++) {
		range->hmm_pfns[i] &= HMM_PFN_INOUT_FLAGS;
		range->hmm_pfns[i] |= cpu_flags;
	}
	return 0;
}

/*
 * hmm_vma_fault() - fault in a range lacking valid pmd or pte(s)
 *
 * Faults every page of [addr, end) and returns -EBUSY, so that the walk
 * starts again at @addr and reads what the faults installed.
 */
static int hmm_vma_fault(unsigned long addr, unsigned long end,
			 unsigned int required_fault, struct mm_walk *walk)
{
	struct hmm_vma_walk *hmm_vma_walk = walk->private;
	struct vm_area_struct *vma = walk->vma;
	unsigned int fault_flags = FAULT_FLAG_REMOTE;

	WARN_ON_ONCE(!required_fault);
	hmm_vma_walk->last = addr;

	if (required_fault & HMM_NEED_WRITE_FAULT) {
		if (!(vma->vm_flags & VM_WRITE))
			return -EPERM;
		fault_flags |= FAULT_FLAG_WRITE;
	}

	for (; addr < end; addr += PAGE_SIZE)
		if (handle_mm_fault(vma, addr, fault_flags) & VM_FAULT_ERROR)
			return -EFAULT;
	return -EBUSY;
}

static unsigned int hmm_pte_need_fault(const struct hmm_vma_walk *hmm_vma_walk,
				       unsigned long pfn_req_flags,
				       unsigned long cpu_flags)
{
	struct hmm_range *range = hmm_vma_walk->range;

	/*
	 * The per-page request counts only where the mask lets it; the
	 * range's default flags always count.
	 */
	pfn_req_flags &= range->pfn_flags_mask;
	pfn_req_flags |= range->default_flags;

	if (!(pfn_req_flags & HMM_PFN_REQ_FAULT))
		return 0;

	if ((pfn_req_flags & HMM_PFN_REQ_WRITE) &&
	    !(cpu_flags & HMM_PFN_WRITE))
		return HMM_NEED_FAULT | HMM_NEED_WRITE_FAULT;

	if (!(cpu_flags & HMM_PFN_VALID))
		return HMM_NEED_FAULT;
	return 0;
}

static unsigned int
hmm_range_need_fault(const struct hmm_vma_walk *hmm_vma_walk,
		     const unsigned long hmm_pfns[], unsigned long npages,
		     unsigned long cpu_flags)
{
	struct hmm_range *range = hmm_vma_walk->range;
	unsigned int required_fault = 0;
	unsigned long i;

	/* Nothing can ask for a fault: no need to look at each entry. */
	if (!((range->default_flags | range->pfn_flags_mask) &
	      HMM_PFN_REQ_FAULT))
		return 0;

	for (i = 0; i < npages; ++i) {
		required_fault |= hmm_pte_need_fault(hmm_vma_walk, hmm_pfns[i],
						     cpu_flags);
		if (required_fault == HMM_NEED_ALL_BITS)
			return required_fault;
	}
	return required_fault;
}

static int hmm_vma_walk_hole(unsigned long addr, unsigned long end,
			     __always_unused int depth, struct mm_walk *walk)
{
	struct hmm_vma_walk *hmm_vma_walk = walk->private;
	struct hmm_range *range = hmm_vma_walk->range;
	unsigned int required_fault;
	unsigned long i, npages;
	unsigned long *hmm_pfns;

	i = (addr - range->start) >> PAGE_SHIFT;
	npages = (end - addr) >> PAGE_SHIFT;
	hmm_pfns = &range->hmm_pfns[i];
	required_fault =
		hmm_range_need_fault(hmm_vma_walk, hmm_pfns, npages, 0);
	if (!walk->vma) {
		if (required_fault)
			return -EFAULT;
		return hmm_pfns_fill(addr, end, hmm_vma_walk, HMM_PFN_ERROR);
	}
	if (required_fault)
		return hmm_vma_fault(addr, end, required_fault, walk);
	return hmm_pfns_fill(addr, end, hmm_vma_walk, 0);
}

static inline unsigned long pte_to_hmm_pfn_flags(struct hmm_range *range,
						 pte_t pte)
{
	(void)range;
	if (pte_none(pte) || !pte_present(pte))
		return 0;
	return pte_write(pte) ? (HMM_PFN_VALID | HMM_PFN_WRITE) : HMM_PFN_VALID;
}

static int hmm_vma_handle_pte(struct mm_walk *walk, unsigned long addr,
			      unsigned long end, pmd_t *pmdp, pte_t *ptep,
			      unsigned long *hmm_pfn)
{
	struct hmm_vma_walk *hmm_vma_walk = walk->private;
	struct hmm_range *range = hmm_vma_walk->range;
	unsigned long pfn_req_flags = *hmm_pfn;
	unsigned long new_pfn_flags = 0;
	unsigned int required_fault;
	unsigned long cpu_flags;
	pte_t pte = ptep_get(ptep);

	if (pte_none(pte)) {
		required_fault =
			hmm_pte_need_fault(hmm_vma_walk, pfn_req_flags, 0);
		if (required_fault)
			goto fault;
		goto out;
	}

	if (!pte_present(pte)) {
		swp_entry_t entry = pte_to_swp_entry(pte);

		/*
		 * Device-private pages of the caller are not faulted in:
		 * the caller gets their pfn.
		 */
		if (is_device_private_entry(entry) &&
		    page_pgmap(pfn_swap_entry_to_page(entry))->owner ==
		    range->dev_private_owner) {
			cpu_flags = HMM_PFN_VALID;
			if (is_writable_device_private_entry(entry))
				cpu_flags |= HMM_PFN_WRITE;
			new_pfn_flags = swp_offset_pfn(entry) | cpu_flags;
			goto out;
		}

		required_fault =
			hmm_pte_need_fault(hmm_vma_walk, pfn_req_flags, 0);
		if (!required_fault)
			goto out;

		if (!non_swap_entry(entry))
			goto fault;

		if (is_device_private_entry(entry))
			goto fault;

		if (is_device_exclusive_entry(entry))
			goto fault;

		if (is_migration_entry(entry)) {
			pte_unmap(ptep);
			hmm_vma_walk->last = addr;
			migration_entry_wait(walk->mm, pmdp, addr);
			return -EBUSY;
		}

		/* Report error for everything else */
		pte_unmap(ptep);
		return -EFAULT;
	}

	cpu_flags = pte_to_hmm_pfn_flags(range, pte);
	required_fault =
		hmm_pte_need_fault(hmm_vma_walk, pfn_req_flags, cpu_flags);
	if (required_fault)
		goto fault;

	/* No struct page and not the zero page: nothing a device can map. */
	if (!vm_normal_page(walk->vma, addr, pte) &&
	    !is_zero_pfn(pte_pfn(pte))) {
		if (hmm_pte_need_fault(hmm_vma_walk, pfn_req_flags, 0)) {
			pte_unmap(ptep);
			return -EFAULT;
		}
		new_pfn_flags = HMM_PFN_ERROR;
		goto out;
	}

	new_pfn_flags = pte_pfn(pte) | cpu_flags;
out:
	*hmm_pfn = (*hmm_pfn & HMM_PFN_INOUT_FLAGS) | new_pfn_flags;
	return 0;

fault:
	pte_unmap(ptep);
	/* Fault any virtual address we were asked to fault */
	return hmm_vma_fault(addr, end, required_fault, walk);
}

/*
 * The RFC: for an entry the walk resolved, lock the pte again and, if
 * migration is wanted, replace the mapping with a migration entry, as
 * migrate_vma_collect_pmd() does.
 */
static void hmm_vma_handle_migrate_prepare(const struct mm_walk *walk,
					   pmd_t *pmdp, unsigned long addr,
					   unsigned long *hmm_pfn)
{
	struct hmm_vma_walk *hmm_vma_walk = walk->private;
	struct hmm_range *range = hmm_vma_walk->range;
	struct migrate_vma *migrate = range->migrate;
	struct mm_struct *mm = walk->vma->vm_mm;
	struct folio *fault_folio = NULL;
	unsigned long minfo;
	struct dev_pagemap *pgmap;
	bool anon_exclusive;
	struct folio *folio;
	unsigned long pfn;
	struct page *page;
	swp_entry_t entry;
	pte_t pte, swp_pte;
	spinlock_t *ptl;
	bool writable = false;
	pte_t *ptep;

	minfo = hmm_want_migrate(range);
	if (!minfo)
		return;

	fault_folio = (migrate && migrate->fault_page) ?
		      page_folio(migrate->fault_page) : NULL;

	ptep = pte_offset_map_lock(mm, pmdp, addr, &ptl);
	if (!ptep)
		return;

	pte = ptep_get(ptep);

	if (pte_none(pte)) {
		/* migrate without faulting */
		if (vma_is_anonymous(walk->vma))
			*hmm_pfn = HMM_PFN_MIGRATE | HMM_PFN_VALID;
		goto out;
	}

	if (!(*hmm_pfn & HMM_PFN_VALID))
		goto out;

	if (!pte_present(pte)) {
		/* Only a device-private entry migrates from here. */
		entry = pte_to_swp_entry(pte);
		if (!is_device_private_entry(entry))
			goto out;

		/* The owner was checked by hmm_vma_handle_pte() */
		if (!(minfo & MIGRATE_VMA_SELECT_DEVICE_PRIVATE))
			goto out;

		page = pfn_swap_entry_to_page(entry);
		pfn = page_to_pfn(page);
		if (is_writable_device_private_entry(entry))
			writable = true;
	} else {
		pfn = pte_pfn(pte);
		if (is_zero_pfn(pfn) &&
		    (minfo & MIGRATE_VMA_SELECT_SYSTEM)) {
			*hmm_pfn = HMM_PFN_MIGRATE | HMM_PFN_VALID;
			goto out;
		}
		page = vm_normal_page(walk->vma, addr, pte);
		if (page && !is_zone_device_page(page) &&
		    !(minfo & MIGRATE_VMA_SELECT_SYSTEM)) {
			goto out;
		} else if (page && is_device_coherent_page(page)) {
			pgmap = page_pgmap(page);

			if (!(minfo & MIGRATE_VMA_SELECT_DEVICE_COHERENT) ||
			    pgmap->owner != migrate->pgmap_owner)
				goto out;
		}
		writable = pte_write(pte);
	}

	/* FIXME support THP */
	if (!page || !page->mapping || PageTransCompound(page))
		goto out;

	/*
	 * The reference freezes the pte: nothing else migrates the folio
	 * while we hold it.
	 */
	folio = page_folio(page);
	folio_get(folio);

	/*
	 * Only a trylock: two migrations waiting for each other's folio
	 * lock would deadlock, and migration is best effort.  The folio of
	 * a CPU fault is already locked by the fault.
	 */
	if (fault_folio == folio || folio_trylock(folio)) {
		anon_exclusive = folio_test_anon(folio) &&
				 PageAnonExclusive(page);

		flush_cache_page(walk->vma, addr, pfn);

		if (anon_exclusive) {
			pte = ptep_clear_flush(walk->vma, addr, ptep);

			if (folio_try_share_anon_rmap_pte(folio, page)) {
				set_pte_at(mm, addr, ptep, pte);
				folio_unlock(folio);
				folio_put(folio);
				goto out;
			}
		} else {
			pte = ptep_get_and_clear(mm, addr, ptep);
		}

		/* Setup special migration page table entry */
		if (writable)
			entry = make_writable_migration_entry(pfn);
		else if (anon_exclusive)
			entry = make_readable_exclusive_migration_entry(pfn);
		else
			entry = make_readable_migration_entry(pfn);

		swp_pte = swp_entry_to_pte(entry);
		if (pte_present(pte)) {
			if (pte_soft_dirty(pte))
				swp_pte = pte_swp_mksoft_dirty(swp_pte);
			if (pte_uffd_wp(pte))
				swp_pte = pte_swp_mkuffd_wp(swp_pte);
		} else {
			if (pte_swp_soft_dirty(pte))
				swp_pte = pte_swp_mksoft_dirty(swp_pte);
			if (pte_swp_uffd_wp(pte))
				swp_pte = pte_swp_mkuffd_wp(swp_pte);
		}

		set_pte_at(mm, addr, ptep, swp_pte);
		folio_remove_rmap_pte(folio, page, walk->vma);
		folio_put(folio);
		*hmm_pfn |= HMM_PFN_MIGRATE;

		if (pte_present(pte))
			flush_tlb_range(walk->vma, addr, addr + PAGE_SIZE);
	} else {
		folio_put(folio);
	}
out:
	pte_unmap_unlock(ptep, ptl);
}

/*
 * The RFC: split a huge pmd before migrating its pages.  The emulated mm
 * has no transparent huge pages, so pmd_trans_huge() is false and only
 * the first check of the RFC's function is reachable.
 */
static int hmm_vma_walk_split(pmd_t *pmdp, unsigned long addr,
			      struct mm_walk *walk)
{
	spinlock_t *ptl;

	(void)addr;
	ptl = pte_lockptr(walk->mm, pmdp);	/* pmd_lock() */
	spin_lock(ptl);
	if (unlikely(!pmd_trans_huge(*pmdp))) {
		spin_unlock(ptl);
		return 0;
	}
	BUG();	/* no THP: the folio split of the RFC is not ported */
}

/*
 * The RFC: from .test_walk, remember the one VMA a migration covers and
 * start its MMU_NOTIFY_MIGRATE invalidation (ended by hmm_range_fault()).
 */
static int hmm_vma_capture_migrate_range(unsigned long start,
					 unsigned long end,
					 struct mm_walk *walk)
{
	struct hmm_vma_walk *hmm_vma_walk = walk->private;
	struct hmm_range *range = hmm_vma_walk->range;

	if (!hmm_want_migrate(range))
		return 0;

	if (hmm_vma_walk->vma && (hmm_vma_walk->vma != walk->vma))
		return -ERANGE;

	hmm_vma_walk->vma = walk->vma;
	hmm_vma_walk->start = start;
	hmm_vma_walk->end = end;

	if (end - start > range->end - range->start)
		return -ERANGE;

	if (!hmm_vma_walk->mmu_range.owner) {
		mmu_notifier_range_init_owner(&hmm_vma_walk->mmu_range,
					      MMU_NOTIFY_MIGRATE, 0, walk->vma,
					      walk->vma->vm_mm, start, end,
					      range->dev_private_owner);
		mmu_notifier_invalidate_range_start(&hmm_vma_walk->mmu_range);
	}

	return 0;
}

static int hmm_vma_walk_pmd(pmd_t *pmdp, unsigned long start,
			    unsigned long end, struct mm_walk *walk)
{
	struct hmm_vma_walk *hmm_vma_walk = walk->private;
	struct hmm_range *range = hmm_vma_walk->range;
	unsigned long *hmm_pfns =
		&range->hmm_pfns[(start - range->start) >> PAGE_SHIFT];
	unsigned long npages = (end - start) >> PAGE_SHIFT;
	unsigned long addr = start;
	pte_t *ptep;
	pmd_t pmd;

again:
	pmd = pmdp_get_lockless(pmdp);
	if (pmd_none(pmd))
		return hmm_vma_walk_hole(start, end, -1, walk);

	/* The RFC: split a huge pmd first (unreachable without THP). */
	if (hmm_want_migrate(range) && pmd_trans_huge(pmd)) {
		int r;

		r = hmm_vma_walk_split(pmdp, addr, walk);
		if (r) {
			/* Split not successful, skip */
			return hmm_pfns_fill(start, end, hmm_vma_walk,
					     HMM_PFN_ERROR);
		}

		/* Split successful or "again", reloop */
		hmm_vma_walk->last = addr;
		return -EBUSY;
	}

	if (pmd_bad(pmd)) {
		if (hmm_range_need_fault(hmm_vma_walk, hmm_pfns, npages, 0))
			return -EFAULT;
		return hmm_pfns_fill(start, end, hmm_vma_walk, HMM_PFN_ERROR);
	}

	ptep = pte_offset_map(pmdp, addr);
	if (!ptep)
		goto again;
	for (; addr < end; addr += PAGE_SIZE, ptep++, hmm_pfns++) {
		int r;

		r = hmm_vma_handle_pte(walk, addr, end, pmdp, ptep, hmm_pfns);
		if (r) {
			/* hmm_vma_handle_pte() did pte_unmap() */
			return r;
		}

		if (variant_rfc_unified)
			hmm_vma_handle_migrate_prepare(walk, pmdp, addr,
						       hmm_pfns);
	}
	pte_unmap(ptep - 1);
	return 0;
}

static int hmm_vma_walk_test(unsigned long start, unsigned long end,
			     struct mm_walk *walk)
{
	struct hmm_vma_walk *hmm_vma_walk = walk->private;
	struct hmm_range *range = hmm_vma_walk->range;
	struct vm_area_struct *vma = walk->vma;

	if (variant_rfc_unified) {
		int r;

		r = hmm_vma_capture_migrate_range(start, end, walk);
		if (r)
			return r;
	}

	if (!(vma->vm_flags & (VM_IO | VM_PFNMAP)) &&
	    vma->vm_flags & VM_READ)
		return 0;

	/*
	 * A vma without struct pages, or one that cannot be read (HMM
	 * assumes no write without read), cannot be mirrored: a fault asked
	 * for there is a hard failure, otherwise its entries are errors.
	 */
	if (hmm_range_need_fault(hmm_vma_walk,
				 range->hmm_pfns +
					 ((start - range->start) >> PAGE_SHIFT),
				 (end - start) >> PAGE_SHIFT, 0))
		return -EFAULT;

	hmm_pfns_fill(start, end, hmm_vma_walk, HMM_PFN_ERROR);

	/* Skip this vma and continue processing the next vma. */
	return 1;
}

static const struct mm_walk_ops hmm_walk_ops = {
	.pmd_entry = hmm_vma_walk_pmd,
	.pte_hole = hmm_vma_walk_hole,
	.test_walk = hmm_vma_walk_test,
};

/*
 * hmm_range_fault - try to fault some address in a virtual address range
 * @range: argument structure
 *
 * Returns 0 on success or one of these errors:
 * -EINVAL:	Invalid arguments or mm or virtual address is in an invalid vma
 * -ENOMEM:	Out of memory.
 * -EPERM:	Invalid permission (e.g., asking for write and range is read
 *		only).
 * -EBUSY:	The range has been invalidated and the caller needs to wait
 *		for the invalidation to finish.
 * -EFAULT:	A page was requested to be valid and could not be made valid
 *		ie it has no backing VMA or it is illegal to access
 * -ERANGE:	(the RFC) The range crosses multiple VMAs, or space for
 *		hmm_pfns array is too low.
 *
 * Like get_user_pages() without the references: what it returns is valid
 * until the interval notifier says otherwise.  In the RFC, with
 * HMM_PFN_REQ_MIGRATE and range->migrate set, the entries it marks
 * HMM_PFN_MIGRATE are locked and unmapped for migration, and the caller
 * goes on with migrate_hmm_range_setup().
 */
int hmm_range_fault(struct hmm_range *range)
{
	struct hmm_vma_walk hmm_vma_walk = {
		.range = range,
		.last = range->start,
	};
	bool is_fault_path = !!range->notifier;
	struct mm_struct *mm;
	int ret;

	if (!variant_rfc_unified) {
		mm = range->notifier->mm;
		mmap_assert_locked(mm);

		do {
			/* If range is no longer valid force retry. */
			if (mmu_interval_check_retry(range->notifier,
						     range->notifier_seq))
				return -EBUSY;
			ret = walk_page_range(mm, hmm_vma_walk.last,
					      range->end, &hmm_walk_ops,
					      &hmm_vma_walk);
			/*
			 * On -EBUSY the entries below .last hold their
			 * output and the others their input: walk again
			 * from .last.
			 */
		} while (ret == -EBUSY);
		return ret;
	}

	/*
	 * The RFC: a device fault has a notifier and no vma yet; the
	 * migrate_vma_setup() path has a vma and no notifier.
	 */
	mm = is_fault_path ? range->notifier->mm : range->migrate->vma->vm_mm;
	mmap_assert_locked(mm);

	do {
		/* If range is no longer valid force retry. */
		if (is_fault_path &&
		    mmu_interval_check_retry(range->notifier,
					     range->notifier_seq)) {
			ret = -EBUSY;
			break;
		}

		ret = walk_page_range(mm, hmm_vma_walk.last, range->end,
				      &hmm_walk_ops, &hmm_vma_walk);
	} while (ret == -EBUSY);

	if (hmm_want_migrate(range) && range->migrate &&
	    hmm_vma_walk.mmu_range.owner) {
		/* The migrate_vma path has these set already. */
		if (is_fault_path) {
			range->migrate->vma = hmm_vma_walk.vma;
			range->migrate->start = range->start;
			range->migrate->end = hmm_vma_walk.end;
		}
		mmu_notifier_invalidate_range_end(&hmm_vma_walk.mmu_range);
	}

	return ret;
}
