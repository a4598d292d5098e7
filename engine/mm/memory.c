// SPDX-License-Identifier: GPL-2.0
/*
 * mm/memory.c: page faults and zapping, as of Linux 6.0-6.1.
 *
 * Fix switches here: anon-exclusive (do_wp_page(): before
 * PG_anon_exclusive, the reference count alone decided reuse);
 * exclusive-fault-ref (remove_device_exclusive_entry(): before, the
 * folio was locked without a reference of the fault's own).
 */
#include <migrace/check.h>
#include <migrace/cpu.h>
#include <migrace/fixes.h>
#include <migrace/memremap.h>
#include <migrace/migrate.h>
#include <migrace/mm.h>
#include <migrace/mmu_notifier.h>
#include <migrace/rmap.h>
#include <migrace/swap.h>
#include <migrace/tlb.h>
#include "internal.h"

struct page *vm_normal_page(struct vm_area_struct *vma, unsigned long addr,
			    pte_t pte)
{
	unsigned long pfn = pte_pfn(pte);

	(void)vma, (void)addr;
	if (pte_special(pte) || is_zero_pfn(pfn))
		return NULL;
	if (!pfn_valid(pfn))
		report_bug(vma->vm_mm, addr, "bad pte %#llx at %#lx",
			   (unsigned long long)pte_val(pte), addr);
	return pfn_to_page(pfn);
}

/* ---- anonymous faults ---- */

static int do_anonymous_page(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	struct mm_struct *mm = vma->vm_mm;
	struct page *page;
	pte_t entry;

	if (pte_alloc(mm, vmf->pmd))
		return VM_FAULT_OOM;

	/* Use the zero-page for reads */
	if (!(vmf->flags & FAULT_FLAG_WRITE)) {
		entry = pte_mkspecial(pfn_pte(ZERO_PFN, vma->vm_page_prot));
		vmf->pte = pte_offset_map_lock(mm, vmf->pmd, vmf->address,
					       &vmf->ptl);
		if (!pte_none(ptep_get(vmf->pte)))
			goto unlock;
		goto setpte;
	}

	if (anon_vma_prepare(vma))
		return VM_FAULT_OOM;
	page = alloc_page();
	if (!page)
		return VM_FAULT_OOM;
	clear_highpage(page);
	__SetPageUptodate(page);

	entry = mk_pte(page, vma->vm_page_prot);
	entry = pte_mkyoung(entry);
	if (vma->vm_flags & VM_WRITE)
		entry = pte_mkwrite(pte_mkdirty(entry));

	vmf->pte = pte_offset_map_lock(mm, vmf->pmd, vmf->address, &vmf->ptl);
	if (!pte_none(ptep_get(vmf->pte))) {
		pte_unmap_unlock(vmf->pte, vmf->ptl);
		put_page(page);
		return 0;
	}
	inc_mm_counter(mm);
	page_add_new_anon_rmap(page, vma, vmf->address);
	lru_cache_add_inactive_or_unevictable(page, vma);
setpte:
	set_pte_at(mm, vmf->address, vmf->pte, entry);
	update_mmu_cache(vma, vmf->address, vmf->pte);
unlock:
	pte_unmap_unlock(vmf->pte, vmf->ptl);
	return 0;
}

/* ---- write-protect faults ---- */

static int wp_page_copy(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	struct mm_struct *mm = vma->vm_mm;
	struct page *old_page = vmf->page;
	struct page *new_page;
	struct mmu_notifier_range range;
	pte_t entry;

	if (anon_vma_prepare(vma))
		goto oom;
	new_page = alloc_page();
	if (!new_page)
		goto oom;
	if (is_zero_pfn(pte_pfn(vmf->orig_pte)))
		clear_highpage(new_page);
	else
		copy_user_highpage(new_page, old_page, vmf->address, vma);
	__SetPageUptodate(new_page);

	mmu_notifier_range_init(&range, MMU_NOTIFY_CLEAR, 0, vma, mm,
				vmf->address & PAGE_MASK,
				(vmf->address & PAGE_MASK) + PAGE_SIZE);
	mmu_notifier_invalidate_range_start(&range);

	/* Re-check the pte - we dropped the lock */
	vmf->pte = pte_offset_map_lock(mm, vmf->pmd, vmf->address, &vmf->ptl);
	if (pte_same(ptep_get(vmf->pte), vmf->orig_pte)) {
		if (!old_page)
			inc_mm_counter(mm);
		flush_cache_page(vma, vmf->address, pte_pfn(vmf->orig_pte));
		entry = mk_pte(new_page, vma->vm_page_prot);
		entry = pte_mkyoung(entry);
		if (unlikely(vmf->flags & FAULT_FLAG_UNSHARE)) {
			if (pte_soft_dirty(vmf->orig_pte))
				entry = pte_mksoft_dirty(entry);
			if (pte_uffd_wp(vmf->orig_pte))
				entry = pte_mkuffd_wp(entry);
		} else {
			entry = maybe_mkwrite(pte_mkdirty(entry), vma);
		}
		/*
		 * Clear the pte and flush the TLB before the new page is
		 * visible: no CPU may write the old page afterwards.
		 */
		ptep_clear_flush_notify(vma, vmf->address, vmf->pte);
		page_add_new_anon_rmap(new_page, vma, vmf->address);
		lru_cache_add_inactive_or_unevictable(new_page, vma);
		set_pte_at_notify(mm, vmf->address, vmf->pte, entry);
		update_mmu_cache(vma, vmf->address, vmf->pte);
		if (old_page)
			page_remove_rmap(old_page, vma, false);
		/* Free the old page.. */
		new_page = old_page;
	}
	if (new_page)
		put_page(new_page);
	pte_unmap_unlock(vmf->pte, vmf->ptl);
	mmu_notifier_invalidate_range_only_end(&range);
	if (old_page)
		put_page(old_page);
	return 0;
oom:
	if (old_page)
		put_page(old_page);
	return VM_FAULT_OOM;
}

static int wp_page_reuse(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	pte_t entry;

	flush_cache_page(vma, vmf->address, pte_pfn(vmf->orig_pte));
	entry = pte_mkyoung(vmf->orig_pte);
	entry = maybe_mkwrite(pte_mkdirty(entry), vma);
	/* x86 ptep_set_access_flags(): widening needs no flush */
	set_pte_at(vma->vm_mm, vmf->address, vmf->pte, entry);
	update_mmu_cache(vma, vmf->address, vmf->pte);
	pte_unmap_unlock(vmf->pte, vmf->ptl);
	return 0;
}

/*
 * Called with the PTL held; drops it.  FAULT_FLAG_UNSHARE (a R/O GUP pin
 * of a possibly shared anonymous page) makes the page exclusive, by
 * reuse or by copy, without making the pte writable.
 */
static int do_wp_page(struct vm_fault *vmf)
{
	const bool unshare = vmf->flags & FAULT_FLAG_UNSHARE;
	struct vm_area_struct *vma = vmf->vma;
	struct page *page;

	vmf->page = vm_normal_page(vma, vmf->address, vmf->orig_pte);
	if (!vmf->page) {
		if (unlikely(unshare)) {
			/* No anonymous page -> nothing to do. */
			pte_unmap_unlock(vmf->pte, vmf->ptl);
			return 0;
		}
		/* the zero page */
		pte_unmap_unlock(vmf->pte, vmf->ptl);
		return wp_page_copy(vmf);
	}
	page = vmf->page;
	if (PageAnon(page)) {
		/*
		 * If the page is exclusive to this process we must reuse the
		 * page without further checks.  (Before PG_anon_exclusive,
		 * the reference count alone decided.)
		 */
		if (fix_enabled(FIX_ANON_EXCLUSIVE) && PageAnonExclusive(page))
			goto reuse;
		/*
		 * We have to verify under page lock: these early checks are
		 * just an optimization to avoid locking the page and freeing
		 * the swapcache if there is little hope that we can reuse.
		 */
		if (page_count(page) > 3)
			goto copy;
		if (!PageLRU(page))
			/*
			 * Note: We cannot easily detect+handle references from
			 * remote LRU pagevecs or references to PageLRU() pages.
			 */
			lru_add_drain();
		if (page_count(page) > 1 + PageSwapCache(page))
			goto copy;
		if (!trylock_page(page))
			goto copy;
		if (PageSwapCache(page))
			try_to_free_swap(page);
		if (page_count(page) != 1) {
			unlock_page(page);
			goto copy;
		}
		/*
		 * Ok, we've got the only page reference from our mapping
		 * and the page is locked, it's dark out, and we're wearing
		 * sunglasses. Hit it.
		 */
		page_move_anon_rmap(page, vma);
		unlock_page(page);
reuse:
		if (unlikely(unshare)) {
			pte_unmap_unlock(vmf->pte, vmf->ptl);
			return 0;
		}
		return wp_page_reuse(vmf);
	} else if (unshare) {
		/* No anonymous page -> nothing to do. */
		pte_unmap_unlock(vmf->pte, vmf->ptl);
		return 0;
	}
copy:
	/*
	 * Ok, we need to copy. Oh, well..
	 */
	get_page(page);
	pte_unmap_unlock(vmf->pte, vmf->ptl);
	return wp_page_copy(vmf);
}

/* ---- non-present entries ---- */

static bool should_try_to_free_swap(struct page *page,
				    struct vm_area_struct *vma,
				    unsigned int fault_flags)
{
	if (!PageSwapCache(page))
		return false;
	if (vm_swap_full())
		return true;
	/*
	 * If we want to map a page that's in the swapcache writable, we
	 * have to detect via the refcount if we're really the exclusive
	 * user. Try freeing the swapcache to get rid of the swapcache
	 * reference only in case it's likely that we'll be the exlusive user.
	 */
	return (fault_flags & FAULT_FLAG_WRITE) && page_count(page) == 2;
}

static int do_wp_page(struct vm_fault *vmf);

/* ---- device-exclusive entries ---- */

static void restore_exclusive_pte(struct vm_area_struct *vma,
				  struct page *page, unsigned long address,
				  pte_t *ptep)
{
	pte_t orig = ptep_get(ptep);
	pte_t pte;
	swp_entry_t entry;

	pte = pte_mkold(mk_pte(page, READ_ONCE(vma->vm_page_prot)));
	if (pte_swp_soft_dirty(orig))
		pte = pte_mksoft_dirty(pte);

	entry = pte_to_swp_entry(orig);
	if (pte_swp_uffd_wp(orig))
		pte = pte_mkuffd_wp(pte);
	else if (is_writable_device_exclusive_entry(entry))
		pte = maybe_mkwrite(pte_mkdirty(pte), vma);

	if (fix_enabled(FIX_ANON_EXCLUSIVE))
		VM_BUG_ON(pte_write(pte) &&
			  !(PageAnon(page) && PageAnonExclusive(page)));

	/*
	 * No need to take a page reference as one was already
	 * created when the swap entry was made.
	 */
	if (PageAnon(page))
		page_add_anon_rmap(page, vma, address, RMAP_NONE);
	else
		/*
		 * Currently device exclusive access only supports anonymous
		 * memory so the entry shouldn't point to a filebacked page.
		 */
		WARN_ON_ONCE(1);

	set_pte_at(vma->vm_mm, address, ptep, pte);

	/*
	 * No need to invalidate - it was non-present before. However
	 * secondary CPUs may have mappings that need invalidating.
	 */
	update_mmu_cache(vma, address, ptep);
}

/*
 * Tries to restore an exclusive pte if the page lock can be acquired
 * without sleeping (fork, under the PTL).
 */
int try_restore_exclusive_pte(pte_t *src_pte, struct vm_area_struct *vma,
			      unsigned long addr)
{
	swp_entry_t entry = pte_to_swp_entry(ptep_get(src_pte));
	struct page *page = pfn_swap_entry_to_page(entry);

	if (trylock_page(page)) {
		restore_exclusive_pte(vma, page, addr, src_pte);
		unlock_page(page);
		return 0;
	}

	return -EBUSY;
}

/*
 * Restore a potential device exclusive pte to a working pte entry
 */
static int remove_device_exclusive_entry(struct vm_fault *vmf)
{
	struct folio *folio = page_folio(vmf->page);
	struct vm_area_struct *vma = vmf->vma;
	struct mmu_notifier_range range;

	if (fix_enabled(FIX_EXCLUSIVE_FAULT_REF)) {
		/*
		 * We need a reference to lock the folio because we don't
		 * hold the PTL so a racing thread can remove the
		 * device-exclusive entry and unmap it. If the folio is free
		 * the entry must have been removed already. If it happens
		 * to have already been re-allocated after being freed all
		 * we do is lock and unlock it.
		 */
		if (!get_page_unless_zero(&folio->page))
			return 0;
	}
	/* Before the fix: only the entry's reference, which a zap drops. */
	folio_lock(folio);
	mmu_notifier_range_init_owner(&range, MMU_NOTIFY_EXCLUSIVE, 0, vma,
				vma->vm_mm, vmf->address & PAGE_MASK,
				(vmf->address & PAGE_MASK) + PAGE_SIZE, NULL);
	mmu_notifier_invalidate_range_start(&range);

	vmf->pte = pte_offset_map_lock(vma->vm_mm, vmf->pmd, vmf->address,
				&vmf->ptl);
	if (likely(pte_same(ptep_get(vmf->pte), vmf->orig_pte)))
		restore_exclusive_pte(vma, vmf->page, vmf->address, vmf->pte);

	pte_unmap_unlock(vmf->pte, vmf->ptl);
	folio_unlock(folio);
	if (fix_enabled(FIX_EXCLUSIVE_FAULT_REF))
		folio_put(folio);

	mmu_notifier_invalidate_range_end(&range);
	return 0;
}

/*
 * We enter with non-exclusive mmap_lock (to exclude vma changes,
 * but allow concurrent faults), and pte mapped but not yet locked.
 * We return with pte unmapped and unlocked.
 *
 * We return with the mmap_lock locked or unlocked in the same cases
 * as does filemap_fault().
 */
static int do_swap_page(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	struct page *page = NULL;
	int rmap_flags = RMAP_NONE;
	bool exclusive = false, new_page;
	swp_entry_t entry;
	pte_t pte;
	int ret = 0;

	entry = pte_to_swp_entry(vmf->orig_pte);
	if (unlikely(non_swap_entry(entry))) {
		if (is_migration_entry(entry)) {
			migration_entry_wait(vma->vm_mm, vmf->pmd,
					     vmf->address);
		} else if (is_device_exclusive_entry(entry)) {
			vmf->page = pfn_swap_entry_to_page(entry);
			ret = remove_device_exclusive_entry(vmf);
		} else if (is_device_private_entry(entry) &&
			   fix_enabled(FIX_DEVICE_PRIVATE_FAULT_REF)) {
			vmf->page = pfn_swap_entry_to_page(entry);
			vmf->pte = pte_offset_map_lock(vma->vm_mm, vmf->pmd,
					vmf->address, &vmf->ptl);
			if (unlikely(!pte_same(ptep_get(vmf->pte),
					       vmf->orig_pte))) {
				pte_unmap_unlock(vmf->pte, vmf->ptl);
				return 0;
			}
			if (variant_rfc_unified) {
				/*
				 * Linux 6.16, which the RFC assumes: the
				 * fault also holds the page lock, and the
				 * migration leaves the fault page locked.
				 */
				if (trylock_page(vmf->page)) {
					get_page(vmf->page);
					pte_unmap_unlock(vmf->pte, vmf->ptl);
					check_pgmap_alive(vmf->page->pgmap,
							  "migrate_to_ram");
					ret = vmf->page->pgmap->ops->migrate_to_ram(vmf);
					unlock_page(vmf->page);
					put_page(vmf->page);
				} else {
					pte_unmap_unlock(vmf->pte, vmf->ptl);
				}
				return ret;
			}
			/*
			 * Get a page reference while we know the page can't be
			 * freed.
			 */
			get_page(vmf->page);
			pte_unmap_unlock(vmf->pte, vmf->ptl);
			check_page_pgmap_alive(vmf->page, "migrate_to_ram");
			ret = vmf->page->pgmap->ops->migrate_to_ram(vmf);
			put_page(vmf->page);
		} else if (is_device_private_entry(entry)) {
			/* Before the fix: no reference, no PTL. */
			vmf->page = pfn_swap_entry_to_page(entry);
			sched_point(EV_NOTE, "page->pgmap", __func__, vmf->page,
				    vmf->address, 0);
			check_page_pgmap_alive(vmf->page, "migrate_to_ram");
			ret = vmf->page->pgmap->ops->migrate_to_ram(vmf);
		} else {
			ret = VM_FAULT_SIGBUS;
		}
		return ret;
	}

	page = lookup_swap_cache(entry);
	if (!page) {
		page = read_swap_cache_async(entry, &new_page);
		if (!page) {
			/*
			 * Back out if somebody else faulted in this pte
			 * while we released the pte lock.
			 */
			vmf->pte = pte_offset_map_lock(vma->vm_mm, vmf->pmd,
					vmf->address, &vmf->ptl);
			if (likely(pte_same(ptep_get(vmf->pte),
					    vmf->orig_pte)))
				ret = VM_FAULT_OOM;
			goto unlock;
		}
	}

	lock_page(page);
	/*
	 * Make sure try_to_free_swap or swapoff did not release the
	 * swapcache from under us.  The page pin, and pte_same test
	 * below, are not enough to exclude that.
	 */
	if (unlikely(!PageSwapCache(page) ||
		     page_private(page) != entry.val))
		goto out_page;

	/*
	 * Back out if somebody else already faulted in this pte.
	 */
	vmf->pte = pte_offset_map_lock(vma->vm_mm, vmf->pmd, vmf->address,
				       &vmf->ptl);
	if (unlikely(!pte_same(ptep_get(vmf->pte), vmf->orig_pte)))
		goto out_nomap;

	if (unlikely(!PageUptodate(page))) {
		ret = VM_FAULT_SIGBUS;
		goto out_nomap;
	}

	/*
	 * A swap pte must never point at an anonymous page in the swapcache
	 * that is PG_anon_exclusive.  Sanity check after taking the PT lock
	 * and making sure that nobody concurrently faulted in this page and
	 * set PG_anon_exclusive.
	 */
	BUG_ON(PageAnon(page) && PageAnonExclusive(page));

	/*
	 * Check under PT lock (to protect against concurrent fork() sharing
	 * the swap entry concurrently) for certainly exclusive pages.
	 */
	exclusive = pte_swp_exclusive(vmf->orig_pte);

	/*
	 * Remove the swap entry and conditionally try to free up the swapcache.
	 * We're already holding a reference on the page but haven't mapped it
	 * yet.
	 */
	swap_free(entry);
	if (should_try_to_free_swap(page, vma, vmf->flags))
		try_to_free_swap(page);

	inc_mm_counter(vma->vm_mm);
	/* x86's vm_page_prot has _PAGE_ACCESSED; the emulated one does not */
	pte = pte_mkyoung(mk_pte(page, vma->vm_page_prot));

	/*
	 * Same logic as in do_wp_page(); however, optimize for pages that are
	 * certainly not shared either because we just allocated them without
	 * exposing them to the swapcache or because the swap entry indicates
	 * exclusivity.
	 */
	if (exclusive || page_count(page) == 1) {
		if (vmf->flags & FAULT_FLAG_WRITE) {
			pte = maybe_mkwrite(pte_mkdirty(pte), vma);
			vmf->flags &= ~FAULT_FLAG_WRITE;
		}
		rmap_flags |= RMAP_EXCLUSIVE;
	}
	if (pte_swp_soft_dirty(vmf->orig_pte))
		pte = pte_mksoft_dirty(pte);
	if (pte_swp_uffd_wp(vmf->orig_pte)) {
		pte = pte_mkuffd_wp(pte);
		pte = pte_wrprotect(pte);
	}
	vmf->orig_pte = pte;

	page_add_anon_rmap(page, vma, vmf->address, rmap_flags);

	VM_BUG_ON(!PageAnon(page));
	if (fix_enabled(FIX_ANON_EXCLUSIVE))
		VM_BUG_ON(pte_write(pte) && !PageAnonExclusive(page));
	set_pte_at(vma->vm_mm, vmf->address, vmf->pte, pte);

	unlock_page(page);

	if (vmf->flags & FAULT_FLAG_WRITE) {
		/* do_wp_page() drops the PTL */
		ret |= do_wp_page(vmf);
		if (ret & VM_FAULT_ERROR)
			ret &= VM_FAULT_ERROR;
		goto out;
	}

	/* No need to invalidate - it was non-present before */
	update_mmu_cache(vma, vmf->address, vmf->pte);
unlock:
	pte_unmap_unlock(vmf->pte, vmf->ptl);
out:
	return ret;
out_nomap:
	pte_unmap_unlock(vmf->pte, vmf->ptl);
out_page:
	unlock_page(page);
	put_page(page);
	return ret;
}

static int handle_pte_fault(struct vm_fault *vmf)
{
	struct mm_struct *mm = vmf->vma->vm_mm;
	pte_t entry;

	if (pmd_none(pmdp_get_lockless(vmf->pmd))) {
		vmf->pte = NULL;
	} else {
		vmf->pte = pte_offset_map(vmf->pmd, vmf->address);
		vmf->orig_pte = ptep_get(vmf->pte);
		if (pte_none(vmf->orig_pte))
			vmf->pte = NULL;
	}
	if (!vmf->pte)
		return do_anonymous_page(vmf);
	if (!pte_present(vmf->orig_pte))
		return do_swap_page(vmf);

	vmf->ptl = pte_lockptr(mm, vmf->pmd);
	spin_lock(vmf->ptl);
	entry = vmf->orig_pte;
	if (unlikely(!pte_same(ptep_get(vmf->pte), entry)))
		goto unlock;
	if (vmf->flags & (FAULT_FLAG_WRITE | FAULT_FLAG_UNSHARE)) {
		if (!pte_write(entry))
			return do_wp_page(vmf);
		else if (likely(vmf->flags & FAULT_FLAG_WRITE))
			entry = pte_mkdirty(entry);
	}
	entry = pte_mkyoung(entry);
	if (!pte_same(entry, vmf->orig_pte)) {
		set_pte_at(mm, vmf->address, vmf->pte, entry);
		update_mmu_cache(vmf->vma, vmf->address, vmf->pte);
	}
	/* else: spurious fault; x86 needs no flush for it */
unlock:
	pte_unmap_unlock(vmf->pte, vmf->ptl);
	return 0;
}

int handle_mm_fault(struct vm_area_struct *vma, unsigned long address,
		    unsigned int flags)
{
	struct vm_fault vmf = {
		.vma = vma,
		.address = address & PAGE_MASK,
		.flags = flags,
	};
	pgd_t *pgd = pgd_offset(vma->vm_mm, address);

	vmf.pmd = pmd_alloc(vma->vm_mm, pgd, address);
	if (!vmf.pmd)
		return VM_FAULT_OOM;
	return handle_pte_fault(&vmf);
}

int do_user_addr_fault(struct mm_struct *mm, unsigned long address,
		       bool write)
{
	struct vm_area_struct *vma;
	int ret;

	mmap_read_lock(mm);
	vma = find_vma(mm, address);
	if (!vma || vma->vm_start > address) {
		/* bad_area() */
		mmap_read_unlock(mm);
		if (current_cpu)
			current_cpu->si_code = SI_SEGV_MAPERR;
		return VM_FAULT_SIGSEGV;
	}
	if ((write && !(vma->vm_flags & VM_WRITE)) ||
	    (!write && !(vma->vm_flags & VM_READ))) {
		/* bad_area_access_error() */
		mmap_read_unlock(mm);
		if (current_cpu)
			current_cpu->si_code = SI_SEGV_ACCERR;
		return VM_FAULT_SIGSEGV;
	}
	ret = handle_mm_fault(vma, address,
			      FAULT_FLAG_USER | (write ? FAULT_FLAG_WRITE : 0));
	mmap_read_unlock(mm);
	return ret;
}

/* ---- zap ---- */

static unsigned long zap_pte_range(struct mmu_gather *tlb,
				   struct vm_area_struct *vma, pmd_t *pmd,
				   unsigned long addr, unsigned long end)
{
	struct mm_struct *mm = tlb->mm;
	bool force_flush = false;
	spinlock_t *ptl;
	pte_t *start_pte, *pte;

again:
	start_pte = pte = pte_offset_map_lock(mm, pmd, addr, &ptl);
	flush_tlb_batched_pending(mm);
	arch_enter_lazy_mmu_mode();
	do {
		pte_t ptent = ptep_get(pte);
		struct page *page;
		swp_entry_t entry;

		if (pte_none(ptent))
			continue;

		if (pte_present(ptent)) {
			page = vm_normal_page(vma, addr, ptent);
			ptent = ptep_get_and_clear_full(mm, addr, pte,
							tlb->fullmm);
			tlb_remove_tlb_entry(tlb, pte, addr);
			if (unlikely(!page))
				continue;
			dec_mm_counter(mm);
			page_remove_rmap(page, vma, false);
			if (unlikely(page_mapcount(page) < 0)) {
				report_page(page);
				report_bug(mm, addr, "bad page map: mapcount %d",
					   page_mapcount(page));
			}
			if (unlikely(__tlb_remove_page(tlb, page))) {
				force_flush = true;
				addr += PAGE_SIZE;
				break;
			}
			continue;
		}

		entry = pte_to_swp_entry(ptent);
		if (is_device_private_entry(entry) ||
		    is_device_exclusive_entry(entry)) {
			page = pfn_swap_entry_to_page(entry);
			dec_mm_counter(mm);
			if (is_device_private_entry(entry))
				page_remove_rmap(page, vma, false);
			put_page(page);
		} else if (is_migration_entry(entry)) {
			dec_mm_counter(mm);
		} else if (!non_swap_entry(entry)) {
			/* Genuine swap entry, hence a private anon page */
			free_swap_and_cache(entry);
		}
		/* Not present: no TLB can hold it, so no flush is queued. */
		pte_clear_not_present_full(mm, addr, pte, tlb->fullmm);
	} while (pte++, addr += PAGE_SIZE, addr != end);
	arch_leave_lazy_mmu_mode();

	/* Do the actual TLB flush before dropping ptl */
	if (force_flush)
		tlb_flush_mmu_tlbonly(tlb);
	pte_unmap_unlock(start_pte, ptl);

	if (force_flush) {
		force_flush = false;
		tlb_flush_mmu(tlb);
	}
	if (addr != end)
		goto again;
	return addr;
}

void unmap_page_range(struct mmu_gather *tlb, struct vm_area_struct *vma,
		      unsigned long addr, unsigned long end)
{
	unsigned long next;

	tlb_start_vma(tlb, vma);
	do {
		pgd_t *pgd = pgd_offset(vma->vm_mm, addr);
		pmd_t *pmd;
		unsigned long pmd_end;

		next = pgd_addr_end(addr, end);
		pmd = pmd_offset(pgd, addr);
		if (!pmd)
			continue;
		for (; addr < next; addr = pmd_end, pmd++) {
			pmd_end = pmd_addr_end(addr, next);
			if (pmd_none(pmdp_get_lockless(pmd)))
				continue;
			zap_pte_range(tlb, vma, pmd, addr, pmd_end);
		}
	} while (addr = next, addr != end);
}

void zap_page_range(struct vm_area_struct *vma, unsigned long start,
		    unsigned long size)
{
	struct mmu_notifier_range range;
	struct mmu_gather tlb;
	unsigned long end = start + size;

	lru_add_drain();
	mmu_notifier_range_init(&range, MMU_NOTIFY_CLEAR, 0, vma, vma->vm_mm,
				start, end);
	tlb_gather_mmu(&tlb, vma->vm_mm);
	mmu_notifier_invalidate_range_start(&range);
	unmap_page_range(&tlb, vma, start, end);
	mmu_notifier_invalidate_range_end(&range);
	tlb_finish_mmu(&tlb);
}
