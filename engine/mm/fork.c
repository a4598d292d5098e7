// SPDX-License-Identifier: GPL-2.0
/*
 * fork(): dup_mmap() and copy_page_range() (kernel/fork.c, mm/memory.c).
 * Anonymous pages become shared (no longer PageAnonExclusive), writable
 * ptes are write-protected in parent and child, possibly pinned pages are
 * copied for the child, and swap, migration and device-private entries
 * are copied as the kernel copies them.
 *
 * Fix switches here: anon-exclusive (copy_present_pte()).
 */
#include <migrace/check.h>
#include <migrace/fixes.h>
#include <migrace/gup.h>
#include <migrace/migrate.h>
#include <migrace/mm.h>
#include <migrace/mmu_notifier.h>
#include <migrace/rmap.h>
#include <migrace/swap.h>
#include <migrace/tlb.h>
#include "internal.h"

/*
 * 0: copied; -EBUSY: a device-exclusive entry whose page is locked (fork
 * fails); -ENOENT: a device-exclusive entry restored, copy the present pte.
 */
static int copy_nonpresent_pte(struct mm_struct *dst_mm,
				struct mm_struct *src_mm, pte_t *dst_pte,
				pte_t *src_pte, struct vm_area_struct *src_vma,
				unsigned long addr, pte_t pte)
{
	unsigned long vm_flags = src_vma->vm_flags;
	swp_entry_t entry = pte_to_swp_entry(pte);
	struct page *page;

	if (likely(!non_swap_entry(entry))) {
		swap_duplicate(entry);
		/* Mark the swap entry as shared. */
		if (pte_swp_exclusive(ptep_get(src_pte))) {
			pte = pte_swp_clear_exclusive(ptep_get(src_pte));
			set_pte_at(src_mm, addr, src_pte, pte);
		}
	} else if (is_migration_entry(entry)) {
		inc_mm_counter(dst_mm);
		if (!is_readable_migration_entry(entry) &&
		    is_cow_mapping(vm_flags)) {
			/*
			 * COW mappings require pages in both parent and
			 * child to be set to read.
			 */
			entry = make_readable_migration_entry(swp_offset(entry));
			pte = swp_entry_to_pte(entry);
			if (pte_swp_soft_dirty(ptep_get(src_pte)))
				pte = pte_swp_mksoft_dirty(pte);
			set_pte_at(src_mm, addr, src_pte, pte);
		}
	} else if (is_device_private_entry(entry)) {
		page = pfn_swap_entry_to_page(entry);
		get_page(page);
		inc_mm_counter(dst_mm);
		/* Cannot fail as these pages cannot get pinned. */
		BUG_ON(page_try_dup_anon_rmap(page, false, src_vma));
		if (is_writable_device_private_entry(entry) &&
		    is_cow_mapping(vm_flags)) {
			entry = make_readable_device_private_entry(
				swp_offset(entry));
			pte = swp_entry_to_pte(entry);
			set_pte_at(src_mm, addr, src_pte, pte);
		}
	} else if (is_device_exclusive_entry(entry)) {
		/*
		 * Make device exclusive entries present by restoring the
		 * original entry then copying as for a present pte. Device
		 * exclusive entries currently only support private writable
		 * (ie. COW) mappings.
		 */
		VM_BUG_ON(!is_cow_mapping(src_vma->vm_flags));
		if (try_restore_exclusive_pte(src_pte, src_vma, addr))
			return -EBUSY;
		return -ENOENT;
	}
	set_pte_at(dst_mm, addr, dst_pte, pte);
	return 0;
}

/*
 * The parent's anonymous page may be pinned: give the child its own copy
 * now, so the pinned page is never replaced by a later COW in the parent.
 * -EAGAIN: the caller must allocate *@prealloc (outside the locks) first.
 */
static int copy_present_page(struct vm_area_struct *dst_vma,
			     struct vm_area_struct *src_vma, pte_t *dst_pte,
			     unsigned long addr, struct page **prealloc,
			     struct page *page)
{
	struct page *new_page = *prealloc;
	pte_t pte;

	if (!new_page)
		return -EAGAIN;
	/*
	 * We have a prealloc page, all good!  Take it
	 * over and copy the page & arm it.
	 */
	*prealloc = NULL;
	copy_user_highpage(new_page, page, addr, src_vma);
	__SetPageUptodate(new_page);
	page_add_new_anon_rmap(new_page, dst_vma, addr);
	lru_cache_add_inactive_or_unevictable(new_page, dst_vma);
	inc_mm_counter(dst_vma->vm_mm);

	/* All done, just insert the new page copy in the child */
	pte = mk_pte(new_page, dst_vma->vm_page_prot);
	pte = maybe_mkwrite(pte_mkdirty(pte), dst_vma);
	set_pte_at(dst_vma->vm_mm, addr, dst_pte, pte);
	return 0;
}

static int copy_present_pte(struct vm_area_struct *dst_vma,
			    struct vm_area_struct *src_vma, pte_t *dst_pte,
			    pte_t *src_pte, unsigned long addr, pte_t pte,
			    struct page **prealloc)
{
	struct mm_struct *src_mm = src_vma->vm_mm;
	unsigned long vm_flags = src_vma->vm_flags;
	struct page *page = vm_normal_page(src_vma, addr, pte);

	if (page && PageAnon(page)) {
		if (fix_enabled(FIX_ANON_EXCLUSIVE)) {
			/*
			 * If this page may have been pinned by the parent
			 * process, copy the page immediately for the child so
			 * that we'll always guarantee the pinned page won't be
			 * randomly replaced in the future.
			 */
			get_page(page);
			if (unlikely(page_try_dup_anon_rmap(page, false,
							    src_vma))) {
				/* Page maybe pinned, we have to copy. */
				put_page(page);
				return copy_present_page(dst_vma, src_vma,
							 dst_pte, addr,
							 prealloc, page);
			}
		} else {
			if (unlikely(page_needs_cow_for_dma(src_vma, page)))
				return copy_present_page(dst_vma, src_vma,
							 dst_pte, addr,
							 prealloc, page);
			get_page(page);
			page_dup_rmap(page);
		}
		inc_mm_counter(dst_vma->vm_mm);
	}
	/*
	 * If it's a COW mapping, write protect it both in the parent and
	 * the child.
	 */
	if (is_cow_mapping(vm_flags) && pte_write(pte)) {
		ptep_set_wrprotect(src_mm, addr, src_pte);
		pte = pte_wrprotect(pte);
	}
	pte = pte_mkold(pte);
	set_pte_at(dst_vma->vm_mm, addr, dst_pte, pte);
	return 0;
}

static int copy_pte_range(struct vm_area_struct *dst_vma,
			  struct vm_area_struct *src_vma, pmd_t *dst_pmd,
			  pmd_t *src_pmd, unsigned long addr,
			  unsigned long end)
{
	struct mm_struct *dst_mm = dst_vma->vm_mm;
	struct mm_struct *src_mm = src_vma->vm_mm;
	spinlock_t *src_ptl, *dst_ptl;
	pte_t *src_pte, *dst_pte;
	struct page *prealloc = NULL;
	int ret = 0;

	if (pte_alloc(dst_mm, dst_pmd))
		return -ENOMEM;
again:
	dst_pte = pte_offset_map_lock(dst_mm, dst_pmd, addr, &dst_ptl);
	src_pte = pte_offset_map(src_pmd, addr);
	src_ptl = pte_lockptr(src_mm, src_pmd);
	spin_lock(src_ptl);	/* spin_lock_nested */
	for (; addr != end; src_pte++, dst_pte++, addr += PAGE_SIZE) {
		pte_t pte = ptep_get(src_pte);

		if (pte_none(pte))
			continue;
		if (!pte_present(pte)) {
			ret = copy_nonpresent_pte(dst_mm, src_mm, dst_pte,
						  src_pte, src_vma, addr, pte);
			if (ret == -EBUSY)
				break;
			if (!ret)
				continue;
			/*
			 * Device exclusive entry restored, continue by copying
			 * the now present pte.
			 */
			WARN_ON_ONCE(ret != -ENOENT);
			ret = 0;
			pte = ptep_get(src_pte);
		}
		/* copy_present_pte() will clear `*prealloc' if consumed */
		ret = copy_present_pte(dst_vma, src_vma, dst_pte, src_pte,
				       addr, pte, &prealloc);
		if (unlikely(ret == -EAGAIN))
			break;
	}
	spin_unlock(src_ptl);
	pte_unmap_unlock(dst_pte, dst_ptl);
	if (ret == -EAGAIN) {
		/* page_copy_prealloc(), with no lock held */
		prealloc = alloc_page();
		if (!prealloc)
			return -ENOMEM;
		ret = 0;
		goto again;
	}
	if (unlikely(prealloc))
		put_page(prealloc);
	return ret;
}

static int copy_page_range(struct vm_area_struct *dst_vma,
			   struct vm_area_struct *src_vma)
{
	struct mm_struct *src_mm = src_vma->vm_mm;
	unsigned long addr = src_vma->vm_start, end = src_vma->vm_end;
	struct mmu_notifier_range range;
	int ret = 0;

	if (!src_vma->anon_vma)
		return 0;	/* nothing faulted in yet */
	mmu_notifier_range_init(&range, MMU_NOTIFY_PROTECTION_PAGE, 0,
				src_vma, src_mm, addr, end);
	mmu_notifier_invalidate_range_start(&range);
	/*
	 * GUP-fast pins back off while the parent's ptes are being write-
	 * protected (raw_write_seqcount_begin()).
	 */
	sched_point(EV_ATOMIC, "raw_write_seqcount_begin", __func__,
		    &src_mm->write_protect_seq, addr, 0);
	WRITE_ONCE(src_mm->write_protect_seq, src_mm->write_protect_seq + 1);
	while (addr < end && !ret) {
		unsigned long next = pmd_addr_end(addr, end);
		pmd_t *src_pmd = pmd_offset(pgd_offset(src_mm, addr), addr);
		pmd_t *dst_pmd;

		if (src_pmd && !pmd_none(pmdp_get_lockless(src_pmd))) {
			dst_pmd = pmd_alloc(dst_vma->vm_mm,
					    pgd_offset(dst_vma->vm_mm, addr),
					    addr);
			ret = copy_pte_range(dst_vma, src_vma, dst_pmd,
					     src_pmd, addr, next);
		}
		addr = next;
	}
	sched_point(EV_ATOMIC, "raw_write_seqcount_end", __func__,
		    &src_mm->write_protect_seq, addr, 0);
	WRITE_ONCE(src_mm->write_protect_seq, src_mm->write_protect_seq + 1);
	mmu_notifier_invalidate_range_end(&range);
	return ret;
}

struct mm_struct *dup_mm(struct mm_struct *oldmm, int child_id)
{
	struct mm_struct *mm = mm_alloc(child_id);
	int ret = 0;

	mmap_write_lock(oldmm);
	flush_cache_mm(oldmm);
	for (int i = 0; i < oldmm->nr_vmas && !ret; i++) {
		struct vm_area_struct *mpnt = oldmm->vmas[i];
		struct vm_area_struct *tmp = kzalloc(sizeof(*tmp));

		*tmp = *mpnt;
		tmp->vm_mm = mm;
		tmp->anon_vma = NULL;
		INIT_LIST_HEAD(&tmp->anon_vma_chain);
		ret = anon_vma_fork(tmp, mpnt);
		if (ret) {
			kfree(tmp);
			break;
		}
		mm->vmas[mm->nr_vmas++] = tmp;
		ret = copy_page_range(tmp, mpnt);
	}
	/* Write-protected ptes may still be writable in some CPU's TLB. */
	flush_tlb_mm(oldmm);
	mmap_write_unlock(oldmm);
	if (ret) {
		exit_mmap(mm);
		return NULL;
	}
	return mm;
}

/* ---- mm_users (kernel/fork.c) ---- */

/* atomic_inc_not_zero(&mm->mm_users) */
bool mmget_not_zero(struct mm_struct *mm)
{
	sched_point(EV_ATOMIC, "mmget_not_zero", __func__, mm, 0, 0);
	return __mmget_not_zero(mm);
}

/* The same without a preemption point: the harness's own reference. */
bool __mmget_not_zero(struct mm_struct *mm)
{
	int old = __atomic_load_n(&mm->mm_users, __ATOMIC_ACQUIRE);

	do {
		if (!old)
			return false;
	} while (!__atomic_compare_exchange_n(&mm->mm_users, &old, old + 1,
					      false, __ATOMIC_ACQ_REL,
					      __ATOMIC_ACQUIRE));
	return true;
}

/* The last user tears the address space down (__mmput()). */
void mmput(struct mm_struct *mm)
{
	might_sleep_check("mmput", __func__);
	sched_point(EV_ATOMIC, "mmput", __func__, mm, 0, 0);
	if (__atomic_sub_fetch(&mm->mm_users, 1, __ATOMIC_ACQ_REL) == 0)
		exit_mmap(mm);
}
