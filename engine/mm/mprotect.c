// SPDX-License-Identifier: GPL-2.0
/*
 * mm/mprotect.c as of Linux 6.0: mprotect(2) between PROT_READ and
 * PROT_READ|PROT_WRITE on private anonymous memory.
 *
 * mprotect_fixup() merges or splits the VMA and sets the new flags under
 * the mmap lock held for write; change_protection() rewrites the ptes
 * under each PTL (change_pte_range()), with mm->tlb_flush_pending raised
 * from before the first pte changes until the TLB flush after the last
 * PTL is dropped, as 6.0 does (no mmu_gather in mprotect before 6.2).
 * Making the VMA writable again lets change_pte_range() map an exclusive
 * anonymous page writable at once when its pte is dirty
 * (can_change_pte_writable()); everything else waits for the write fault.
 *
 * Fix switches here: anon-exclusive (change_pte_range(): a writable
 * migration entry of an anonymous page becomes readable-exclusive, before
 * the fix readable; can_change_pte_writable() needs PG_anon_exclusive,
 * which nothing sets before the fix).
 */
#include <migrace/check.h>
#include <migrace/fixes.h>
#include <migrace/mm.h>
#include <migrace/mmu_notifier.h>
#include <migrace/rmap.h>
#include <migrace/tlb.h>

#define MM_CP_TRY_CHANGE_WRITABLE 0x1

/* No soft-dirty tracking (clear_refs) and no userfaultfd here. */
static bool vma_soft_dirty_enabled(struct vm_area_struct *vma)
{
	(void)vma;
	return false;
}

static bool can_change_pte_writable(struct vm_area_struct *vma,
				    unsigned long addr, pte_t pte)
{
	struct page *page;

	VM_BUG_ON(!(vma->vm_flags & VM_WRITE) || pte_write(pte));

	/* 6.0: only dirty ptes; a clean one takes the write fault */
	if (!pte_dirty(pte))
		return false;

	/* Do we need write faults for softdirty tracking? */
	if (vma_soft_dirty_enabled(vma) && !pte_soft_dirty(pte))
		return false;

	if (!(vma->vm_flags & VM_SHARED)) {
		/*
		 * We can only special-case on exclusive anonymous pages,
		 * because we know that our write-fault handler similarly would
		 * map them writable without any additional checks while holding
		 * the PT lock.
		 */
		page = vm_normal_page(vma, addr, pte);
		if (!page || !PageAnon(page) || !PageAnonExclusive(page))
			return false;
	}
	return true;
}

static unsigned long change_pte_range(struct vm_area_struct *vma, pmd_t *pmd,
				      unsigned long addr, unsigned long end,
				      pgprot_t newprot, unsigned long cp_flags)
{
	struct mm_struct *mm = vma->vm_mm;
	unsigned long pages = 0;
	spinlock_t *ptl;
	pte_t *pte;

	pte = pte_offset_map_lock(mm, pmd, addr, &ptl);
	flush_tlb_batched_pending(mm);
	arch_enter_lazy_mmu_mode();
	do {
		pte_t oldpte = ptep_get(pte);

		if (pte_present(oldpte)) {
			pte_t ptent;

			/*
			 * ptep_modify_prot_start(): take the pte away so the
			 * hardware cannot set accessed/dirty behind our back.
			 */
			oldpte = ptep_get_and_clear(mm, addr, pte);
			ptent = pte_modify(oldpte, newprot);

			/*
			 * In all writable, private mappings, we have to
			 * properly handle COW.  We can sometimes still change
			 * PTEs writable and avoid the write-fault handler, if
			 * a PTE is already dirty and no other COW handling is
			 * required.
			 */
			if ((cp_flags & MM_CP_TRY_CHANGE_WRITABLE) &&
			    !pte_write(ptent) &&
			    can_change_pte_writable(vma, addr, ptent))
				ptent = pte_mkwrite(ptent);
			/* ptep_modify_prot_commit() */
			set_pte_at(mm, addr, pte, ptent);
			pages++;
		} else if (is_swap_pte(oldpte)) {
			swp_entry_t entry = pte_to_swp_entry(oldpte);
			pte_t newpte;

			if (is_writable_migration_entry(entry)) {
				struct page *page = pfn_swap_entry_to_page(entry);

				/*
				 * A protection check is difficult so
				 * just be safe and disable write
				 */
				if (fix_enabled(FIX_ANON_EXCLUSIVE) &&
				    PageAnon(page))
					entry = make_readable_exclusive_migration_entry(
							swp_offset(entry));
				else
					entry = make_readable_migration_entry(
							swp_offset(entry));
				newpte = swp_entry_to_pte(entry);
				if (pte_swp_soft_dirty(oldpte))
					newpte = pte_swp_mksoft_dirty(newpte);
				if (pte_swp_uffd_wp(oldpte))
					newpte = pte_swp_mkuffd_wp(newpte);
			} else if (is_writable_device_private_entry(entry)) {
				/*
				 * We do not preserve soft-dirtiness. See
				 * copy_one_pte() for explanation.
				 */
				entry = make_readable_device_private_entry(
							swp_offset(entry));
				newpte = swp_entry_to_pte(entry);
				if (pte_swp_uffd_wp(oldpte))
					newpte = pte_swp_mkuffd_wp(newpte);
			} else if (is_writable_device_exclusive_entry(entry)) {
				entry = make_readable_device_exclusive_entry(
							swp_offset(entry));
				newpte = swp_entry_to_pte(entry);
				if (pte_swp_soft_dirty(oldpte))
					newpte = pte_swp_mksoft_dirty(newpte);
				if (pte_swp_uffd_wp(oldpte))
					newpte = pte_swp_mkuffd_wp(newpte);
			} else {
				newpte = oldpte;
			}
			if (!pte_same(oldpte, newpte)) {
				set_pte_at(mm, addr, pte, newpte);
				pages++;
			}
		}
	} while (pte++, addr += PAGE_SIZE, addr != end);
	arch_leave_lazy_mmu_mode();
	pte_unmap_unlock(pte - 1, ptl);
	return pages;
}

static unsigned long change_pmd_range(struct vm_area_struct *vma,
				      pgd_t *pgd, unsigned long addr,
				      unsigned long end, pgprot_t newprot,
				      unsigned long cp_flags)
{
	struct mmu_notifier_range range = { 0 };
	unsigned long next, pages = 0;
	bool started = false;
	pmd_t *pmd = pmd_offset(pgd, addr);

	if (!pmd)
		return 0;
	do {
		next = pmd_addr_end(addr, end);
		if (pmd_none(pmdp_get_lockless(pmd)))
			continue;
		/* invoke the mmu notifier if the pmd is populated */
		if (!started) {
			mmu_notifier_range_init(&range,
				MMU_NOTIFY_PROTECTION_VMA, 0, vma, vma->vm_mm,
				addr, end);
			mmu_notifier_invalidate_range_start(&range);
			started = true;
		}
		pages += change_pte_range(vma, pmd, addr, next, newprot,
					  cp_flags);
	} while (pmd++, addr = next, addr != end);
	if (started)
		mmu_notifier_invalidate_range_end(&range);
	return pages;
}

static unsigned long change_protection(struct vm_area_struct *vma,
				       unsigned long start, unsigned long end,
				       pgprot_t newprot,
				       unsigned long cp_flags)
{
	struct mm_struct *mm = vma->vm_mm;
	unsigned long addr = start, next, pages = 0;

	BUG_ON(addr >= end);
	flush_cache_range(vma, addr, end);
	/*
	 * From here until the flush, a CPU may still write through a TLB
	 * entry the ptes no longer allow: a nested mmu_gather
	 * (mm_tlb_flush_nested()) then flushes the whole mm.
	 */
	inc_tlb_flush_pending(mm);
	do {
		next = pgd_addr_end(addr, end);
		if (!READ_ONCE(pgd_offset(mm, addr)->table))
			continue;
		pages += change_pmd_range(vma, pgd_offset(mm, addr), addr,
					  next, newprot, cp_flags);
	} while (addr = next, addr != end);

	/* Only flush the TLB if we actually modified any entries: */
	if (pages)
		flush_tlb_range(vma, start, end);
	dec_tlb_flush_pending(mm);
	return pages;
}

/* vma_wants_manual_pte_write_upgrade() */
static bool vma_wants_manual_pte_write_upgrade(struct vm_area_struct *vma)
{
	/* Shared mappings would ask vma_wants_writenotify(): none here. */
	return !!(vma->vm_flags & VM_WRITE);
}

static int mprotect_fixup(struct vm_area_struct *vma,
			  struct vm_area_struct **pprev, unsigned long start,
			  unsigned long end, unsigned long newflags)
{
	struct mm_struct *mm = vma->vm_mm;
	unsigned long oldflags = vma->vm_flags;
	unsigned long mm_cp_flags = 0;
	unsigned long pgoff;
	int error;

	if (newflags == oldflags) {
		*pprev = vma;
		return 0;
	}

	/*
	 * First try to merge with previous and/or next vma.
	 */
	pgoff = vma->vm_pgoff + ((start - vma->vm_start) >> PAGE_SHIFT);
	*pprev = vma_merge(mm, *pprev, start, end, newflags, vma->anon_vma,
			   pgoff);
	if (*pprev) {
		vma = *pprev;
		goto success;
	}

	*pprev = vma;

	if (start != vma->vm_start) {
		error = split_vma(mm, vma, start);
		if (error)
			return error;
		vma = find_vma(mm, start);
		*pprev = vma;
	}

	if (end != vma->vm_end) {
		error = split_vma(mm, vma, end);
		if (error)
			return error;
	}

success:
	/*
	 * vm_flags and vm_page_prot are protected by the mmap_lock
	 * held in write mode.
	 */
	WRITE_ONCE(vma->vm_flags, newflags);
	vma_set_page_prot(vma);
	if (vma_wants_manual_pte_write_upgrade(vma))
		mm_cp_flags |= MM_CP_TRY_CHANGE_WRITABLE;
	change_protection(vma, start, end, vma->vm_page_prot, mm_cp_flags);
	return 0;
}

/* do_mprotect_pkey() without pkeys, PROT_NONE or PROT_EXEC */
long do_mprotect(struct mm_struct *mm, unsigned long start, size_t len,
		 unsigned long prot)
{
	unsigned long nstart, end, tmp;
	struct vm_area_struct *vma, *prev;
	long error;

	if (start & ~PAGE_MASK)
		return -EINVAL;
	if (!len)
		return 0;
	len = (len + PAGE_SIZE - 1) & PAGE_MASK;
	end = start + len;
	if (end <= start)
		return -ENOMEM;
	if (!(prot & PROT_READ) || (prot & ~(PROT_READ | PROT_WRITE)))
		return -EINVAL;

	mmap_write_lock(mm);
	vma = find_vma_prev(mm, start, &prev);
	error = -ENOMEM;
	if (!vma || vma->vm_start > start)
		goto out;
	if (start > vma->vm_start)
		prev = vma;

	for (nstart = start;;) {
		unsigned long newflags;

		/* Here we know that vma->vm_start <= nstart < vma->vm_end. */
		newflags = VM_READ | ((prot & PROT_WRITE) ? VM_WRITE : 0);
		newflags |= vma->vm_flags & ~(VM_READ | VM_WRITE | VM_EXEC);

		/* newflags >> 4 shift VM_MAY% in place of VM_% */
		if ((newflags & VM_WRITE) && !(vma->vm_flags & VM_MAYWRITE)) {
			error = -EACCES;
			goto out;
		}

		tmp = vma->vm_end;
		if (tmp > end)
			tmp = end;
		error = mprotect_fixup(vma, &prev, nstart, tmp, newflags);
		if (error)
			goto out;
		nstart = tmp;

		if (nstart < prev->vm_end)
			nstart = prev->vm_end;
		if (nstart >= end)
			goto out;

		vma = find_vma(mm, nstart);
		if (!vma || vma->vm_start != nstart) {
			error = -ENOMEM;
			goto out;
		}
	}
out:
	mmap_write_unlock(mm);
	return error;
}
