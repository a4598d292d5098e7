// SPDX-License-Identifier: GPL-2.0
/*
 * mm/gup.c, Linux 6.0: get_user_pages() and pin_user_pages() (the slow
 * path: follow_page_pte(), faultin_page() with FAULT_FLAG_UNSHARE) and
 * GUP-fast (lockless_pages_from_mm(), gup_pte_range()).
 *
 * Fix switches here: anon-exclusive (gup_must_unshare(): before
 * PG_anon_exclusive, a R/O pin did not unshare a shared anon page).
 * FOLL_LONGTERM migrates device-coherent pages out first
 * (check_and_migrate_movable_pages() -> migrate_device_coherent_page(),
 * as 6.1 has it), and GUP-fast leaves such pages to the slow path.
 * Simplified: there is no ZONE_MOVABLE or CMA to migrate out of, so
 * that is all FOLL_LONGTERM does; GUP-fast holds the emulated RCU
 * read lock besides disabling interrupts, since the emulated RCU does not
 * treat an irq-off region as a read-side section.
 */
#include <migrace/cacheflush.h>
#include <migrace/check.h>
#include <migrace/cpu.h>
#include <migrace/fixes.h>
#include <migrace/gup.h>
#include <migrace/migrate.h>
#include <migrace/rcu.h>

/*
 * Pinning a page that a fork child may still share would let the two
 * drift apart on the next COW: a pinned anonymous page is exclusive.
 */
static void sanity_check_pinned_pages(struct page **pages,
				      unsigned long npages)
{
	if (!fix_enabled(FIX_ANON_EXCLUSIVE))
		return;	/* nothing tracks exclusivity before the fix */
	for (unsigned long i = 0; i < npages; i++) {
		struct page *page = pages[i];

		if (!PageAnon(page))
			continue;
		VM_BUG_ON_PAGE(!PageAnonExclusive(page), page);
	}
}

/* FOLL_GET: one reference; FOLL_PIN: GUP_PIN_COUNTING_BIAS of them. */
static bool try_grab_page(struct page *page, unsigned int flags)
{
	if (WARN_ON_ONCE(page_count(page) <= 0))
		return false;
	if (flags & FOLL_GET)
		get_page(page);
	else if (flags & FOLL_PIN)
		folio_ref_add(page_folio(page), GUP_PIN_COUNTING_BIAS);
	return true;
}

/*
 * May this page be pinned for an indefinite time?  Coherent device memory
 * must always allow eviction; the zero page may always be pinned.
 */
static bool is_longterm_pinnable_page(struct page *page)
{
	if (is_zero_pfn(page_to_pfn(page)))
		return true;
	return !is_device_coherent_page(page);
}

/* try_grab_folio(): GUP-fast, where the page may be freed under us. */
static struct folio *try_grab_folio(struct page *page, unsigned int flags)
{
	/* A long-term pin of an unpinnable page is the slow path's job. */
	if ((flags & FOLL_PIN) && unlikely((flags & FOLL_LONGTERM) &&
					   !is_longterm_pinnable_page(page)))
		return NULL;
	if (!get_page_unless_zero(page))
		return NULL;
	if (flags & FOLL_PIN)
		folio_ref_add(page_folio(page), GUP_PIN_COUNTING_BIAS - 1);
	return page_folio(page);
}

static void gup_put_folio(struct folio *folio, unsigned int flags)
{
	if (flags & FOLL_PIN)
		folio_put_refs(folio, GUP_PIN_COUNTING_BIAS);
	else
		folio_put(folio);
}

void unpin_user_page(struct page *page)
{
	gup_put_folio(page_folio(page), FOLL_PIN);
}

/**
 * unpin_user_pages_dirty_lock() - release and optionally dirty gup-pinned pages
 * @pages:  array of pages to be maybe marked dirty, and definitely released.
 * @npages: number of pages in the @pages array.
 * @make_dirty: whether to mark the pages dirty
 */
void unpin_user_pages_dirty_lock(struct page **pages, unsigned long npages,
				 bool make_dirty)
{
	for (unsigned long i = 0; i < npages; i++) {
		struct page *page = pages[i];

		/*
		 * Checking PageDirty at this point may race with
		 * clear_page_dirty_for_io(), but that's OK: the page lock
		 * below makes set_page_dirty() safe.
		 */
		if (make_dirty && !PageDirty(page)) {
			lock_page(page);
			set_page_dirty(page);
			unlock_page(page);
		}
		unpin_user_page(page);
	}
}

/*
 * Indicates for which pages that are write-protected in the page table,
 * whether GUP has to trigger unsharing via FAULT_FLAG_UNSHARE such that the
 * GUP pin will remain consistent with the pages mapped into the page tables
 * of the MM.
 */
static bool gup_must_unshare(unsigned int flags, struct page *page)
{
	if (!fix_enabled(FIX_ANON_EXCLUSIVE))
		return false;	/* before: a R/O pin took the page as it was */
	/*
	 * FOLL_WRITE is implicitly handled correctly as the page table entry
	 * has to be writable -- and if it references (part of) an anonymous
	 * folio, that part is required to be marked exclusive.
	 */
	if ((flags & (FOLL_WRITE | FOLL_PIN)) != FOLL_PIN)
		return false;
	/*
	 * Note: PageAnon(page) is stable until the page is actually getting
	 * freed.
	 */
	if (!PageAnon(page))
		return false;
	return !PageAnonExclusive(page);
}

#define ERR_UNSHARE ((struct page *)-1L)	/* ERR_PTR(-EMLINK) */

static struct page *follow_page_pte(struct vm_area_struct *vma,
				    unsigned long address, pmd_t *pmd,
				    unsigned int flags)
{
	struct mm_struct *mm = vma->vm_mm;
	struct page *page;
	spinlock_t *ptl;
	pte_t *ptep, pte;

	ptep = pte_offset_map_lock(mm, pmd, address, &ptl);
	pte = ptep_get(ptep);
	if (!pte_present(pte))
		goto no_page;
	if ((flags & FOLL_WRITE) && !pte_write(pte)) {
		pte_unmap_unlock(ptep, ptl);
		return NULL;
	}
	page = vm_normal_page(vma, address, pte);
	if (!page) {
		if (flags & FOLL_DUMP) {
			/* Avoid special (like zero) pages in core dumps */
			page = ERR_PTR(-EFAULT);
			goto out;
		}
		if (!is_zero_pfn(pte_pfn(pte)))
			goto no_page;
		page = pfn_to_page(pte_pfn(pte));
	}
	if (!pte_write(pte) && gup_must_unshare(flags, page)) {
		page = ERR_UNSHARE;
		goto out;
	}
	if (fix_enabled(FIX_ANON_EXCLUSIVE))
		VM_BUG_ON_PAGE((flags & FOLL_PIN) && PageAnon(page) &&
			       !PageAnonExclusive(page), page);

	/* try_grab_page() does nothing unless FOLL_GET or FOLL_PIN is set. */
	if (unlikely(!try_grab_page(page, flags))) {
		page = NULL;
		goto out;
	}
	if (flags & FOLL_TOUCH) {
		if ((flags & FOLL_WRITE) && !pte_dirty(pte) && !PageDirty(page))
			set_page_dirty(page);
		SetPageReferenced(page);	/* mark_page_accessed() */
	}
out:
	pte_unmap_unlock(ptep, ptl);
	return page;
no_page:
	pte_unmap_unlock(ptep, ptl);
	/* no_page_table(): a hole of an anonymous VMA would read as zero */
	if (pte_none(pte) && (flags & FOLL_DUMP))
		return ERR_PTR(-EFAULT);
	return NULL;
}

struct page *follow_page(struct vm_area_struct *vma, unsigned long address,
			 unsigned int foll_flags)
{
	struct mm_struct *mm = vma->vm_mm;
	pmd_t *pmd;

	if (foll_flags & FOLL_PIN)
		return NULL;
	pmd = pmd_offset(pgd_offset(mm, address), address);
	if (!pmd || pmd_none(pmdp_get_lockless(pmd)))
		return (foll_flags & FOLL_DUMP) ? ERR_PTR(-EFAULT) : NULL;
	return follow_page_pte(vma, address, pmd, foll_flags);
}

static int faultin_page(struct vm_area_struct *vma, unsigned long address,
			unsigned int flags, bool unshare)
{
	unsigned int fault_flags = 0;
	int ret;

	if (flags & FOLL_WRITE)
		fault_flags |= FAULT_FLAG_WRITE;
	if (unshare) {
		fault_flags |= FAULT_FLAG_UNSHARE;
		/* FAULT_FLAG_WRITE and FAULT_FLAG_UNSHARE are incompatible */
		VM_BUG_ON(fault_flags & FAULT_FLAG_WRITE);
	}
	ret = handle_mm_fault(vma, address, fault_flags);
	if (ret & VM_FAULT_ERROR)
		return -EFAULT;
	return 0;
}

static int check_vma_flags(struct vm_area_struct *vma, unsigned int gup_flags)
{
	if (vma->vm_flags & (VM_IO | VM_PFNMAP))
		return -EFAULT;
	if ((gup_flags & FOLL_WRITE) && !(vma->vm_flags & VM_WRITE))
		return -EFAULT;
	if (!(gup_flags & FOLL_WRITE) && !(vma->vm_flags & VM_READ))
		return -EFAULT;
	return 0;
}

/* mmap_lock held for read.  Returns the number of pages taken, or -errno. */
static long __get_user_pages(struct mm_struct *mm, unsigned long start,
			     unsigned long nr_pages, unsigned int gup_flags,
			     struct page **pages)
{
	long i = 0;

	for (; nr_pages; nr_pages--, start += PAGE_SIZE) {
		struct vm_area_struct *vma = find_vma(mm, start);
		int tries = 0;
		struct page *page;

		if (!vma || vma->vm_start > start ||
		    check_vma_flags(vma, gup_flags))
			return i ? i : -EFAULT;
		for (;;) {
			pmd_t *pmd = pmd_offset(pgd_offset(mm, start), start);

			page = NULL;
			if (pmd && !pmd_none(pmdp_get_lockless(pmd)))
				page = follow_page_pte(vma, start, pmd,
						       gup_flags | FOLL_TOUCH);
			if (page && page != ERR_UNSHARE)
				break;
			if (faultin_page(vma, start, gup_flags,
					 page == ERR_UNSHARE))
				return i ? i : -EFAULT;
			/* Stress mode: the watchdog judges by the clock. */
			if (++tries > 200 && !stress_mode) {
				if (!nr_free_pages())
					return i ? i : -ENOMEM;
				report_bug(mm, start,
					   "livelock: get_user_pages() at %#lx faults forever",
					   start);
			}
			/* cond_resched() in the kernel */
			sched_retry_point("gup retry", __func__, tries);
		}
		/* The kernel's view of the page must see the user's stores. */
		flush_anon_page(vma, page, start);
		flush_dcache_page(page);
		pages[i++] = page;
	}
	return i;
}

/*
 * Check whether all pages are pinnable; if so return 0.  Otherwise migrate
 * the ones that are not (here: device-coherent pages) out, unpin every
 * page, and return -EAGAIN so that the caller looks them up again, or
 * -errno if a migration failed.
 */
static long check_and_migrate_movable_pages(unsigned long nr_pages,
					    struct page **pages,
					    unsigned int gup_flags)
{
	bool coherent_pages = false;
	unsigned long i;
	long ret = 0;

	for (i = 0; i < nr_pages; i++) {
		struct folio *folio = page_folio(pages[i]);

		/* The driver must stay able to evict it: move it out first. */
		if (is_device_coherent_page(&folio->page)) {
			/* Looked up again after the migration. */
			pages[i] = NULL;
			coherent_pages = true;

			/* A pinned page does not migrate: keep a plain reference. */
			if (gup_flags & FOLL_PIN) {
				get_page(&folio->page);
				unpin_user_page(&folio->page);
			}

			ret = migrate_device_coherent_page(&folio->page);
			if (ret)
				goto unpin_pages;

			continue;
		}
		/* folio_is_longterm_pinnable(): nothing else to move here. */
	}

	if (!coherent_pages)
		return 0;

unpin_pages:
	/* The coherent entries were already released (NULL). */
	for (i = 0; i < nr_pages; i++) {
		if (!pages[i])
			continue;

		if (gup_flags & FOLL_PIN)
			unpin_user_page(pages[i]);
		else
			put_page(pages[i]);
	}

	return ret ? ret : -EAGAIN;
}

/*
 * The mmap lock is taken here for the whole of it: the callers of the
 * kernel's version hold it (pin_user_pages_remote()) or take it around
 * it (__gup_longterm_unlocked()).
 */
static long __gup_longterm_locked(struct mm_struct *mm, unsigned long start,
				  unsigned long nr_pages, unsigned int flags,
				  struct page **pages)
{
	long rc, nr_pinned_pages;

	mmap_read_lock(mm);
	if (!(flags & FOLL_LONGTERM)) {
		rc = __get_user_pages(mm, start, nr_pages, flags, pages);
		mmap_read_unlock(mm);
		return rc;
	}

	/* FOLL_LONGTERM comes with FOLL_PIN: the check below relies on it. */
	if (WARN_ON(!(flags & FOLL_PIN))) {
		mmap_read_unlock(mm);
		return -EINVAL;
	}
	do {
		nr_pinned_pages = __get_user_pages(mm, start, nr_pages, flags,
						   pages);
		if (nr_pinned_pages <= 0) {
			rc = nr_pinned_pages;
			break;
		}
		rc = check_and_migrate_movable_pages(nr_pinned_pages, pages,
						     flags);
	} while (rc == -EAGAIN);
	mmap_read_unlock(mm);

	return rc ? rc : nr_pinned_pages;
}

/*
 * get_user_pages_remote() for a caller that holds the mmap lock already,
 * as the kernel's callers do (make_device_exclusive_range()).
 */
long __get_user_pages_locked(struct mm_struct *mm, unsigned long start,
			     unsigned long nr_pages, unsigned int gup_flags,
			     struct page **pages)
{
	return __get_user_pages(mm, start, nr_pages, gup_flags | FOLL_GET,
				pages);
}

long get_user_pages_remote(struct mm_struct *mm, unsigned long start,
			   unsigned long nr_pages, unsigned int gup_flags,
			   struct page **pages)
{
	return __gup_longterm_locked(mm, start, nr_pages, gup_flags | FOLL_GET,
				     pages);
}

long pin_user_pages_remote(struct mm_struct *mm, unsigned long start,
			   unsigned long nr_pages, unsigned int gup_flags,
			   struct page **pages)
{
	WRITE_ONCE(mm->has_pinned, true);	/* mm_set_has_pinned_flag() */
	return __gup_longterm_locked(mm, start, nr_pages, gup_flags | FOLL_PIN,
				     pages);
}

/* ---- GUP-fast ---- */

static void gup_pte_range(struct mm_struct *mm, pmd_t pmd, unsigned long addr,
			  unsigned long end, unsigned int flags,
			  struct page **pages, int *nr)
{
	struct pte_table *t = pmd.table;
	pte_t *ptep = &t->ptes[pte_index(addr)];

	do {
		pte_t pte;
		struct page *page;
		struct folio *folio;

		/* ptep_get_lockless() */
		sched_point(EV_PTE_READ, "ptep_get_lockless", __func__, ptep,
			    addr, 0);
		if (kobj_freed(t))
			report_bug(mm, addr,
				   "use-after-free: GUP-fast read a freed pte table");
		pte.pte = __atomic_load_n(&ptep->pte, __ATOMIC_ACQUIRE);

		/* pte_access_permitted() */
		if (!pte_present(pte) ||
		    ((flags & FOLL_WRITE) && !pte_write(pte)))
			return;
		if (pte_special(pte))
			return;
		page = pfn_to_page(pte_pfn(pte));

		folio = try_grab_folio(page, flags);
		if (!folio)
			return;

		sched_point(EV_PTE_READ, "ptep_get_lockless", __func__, ptep,
			    addr, 0);
		if (unlikely(pte_val(pte) != __atomic_load_n(&ptep->pte,
							     __ATOMIC_ACQUIRE))) {
			gup_put_folio(folio, flags);
			return;
		}
		if (!pte_write(pte) && gup_must_unshare(flags, page)) {
			gup_put_folio(folio, flags);
			return;
		}
		SetPageReferenced(page);	/* folio_set_referenced() */
		pages[(*nr)++] = page;
	} while (ptep++, addr += PAGE_SIZE, addr != end);
}

static void gup_pgd_range(struct mm_struct *mm, unsigned long addr,
			  unsigned long end, unsigned int flags,
			  struct page **pages, int *nr)
{
	unsigned long next;

	for (; addr != end; addr = next) {
		struct pmd_table *pmdt = READ_ONCE(mm->pgd[pgd_index(addr)].table);
		pmd_t pmd;
		int before = *nr;

		next = pmd_addr_end(addr, end);
		if (!pmdt)
			return;
		pmd = pmdp_get_lockless(&pmdt->pmds[pmd_index(addr)]);
		if (pmd_none(pmd))
			return;
		gup_pte_range(mm, pmd, addr, next, flags, pages, nr);
		if (*nr - before != (int)((next - addr) >> PAGE_SHIFT))
			return;
	}
}

static unsigned long lockless_pages_from_mm(struct mm_struct *mm,
					    unsigned long start,
					    unsigned long end,
					    unsigned int gup_flags,
					    struct page **pages)
{
	unsigned int seq = 0;
	int nr_pinned = 0;

	/*
	 * Disable interrupts. The nested form is used, in order to allow
	 * full, general purpose use of this routine.
	 *
	 * With interrupts disabled, we block page table pages from being
	 * freed from under us. See struct mmu_table_batch comments in
	 * include/asm-generic/tlb.h for more details.
	 *
	 * We do not adopt an rcu_read_lock() here as we also want to block
	 * IPIs that come from THPs splitting.
	 */
	if (gup_flags & FOLL_PIN) {
		sched_point(EV_ATOMIC, "raw_read_seqcount", __func__,
			    &mm->write_protect_seq, start, 0);
		seq = READ_ONCE(mm->write_protect_seq);
		if (seq & 1)
			return 0;
	}
	local_irq_disable();
	rcu_read_lock();
	gup_pgd_range(mm, start, end, gup_flags, pages, &nr_pinned);
	rcu_read_unlock();
	local_irq_enable();

	/*
	 * When pinning pages for DMA there could be a concurrent write protect
	 * from fork() via copy_page_range(), in this case always fail fast GUP.
	 */
	if (gup_flags & FOLL_PIN) {
		sched_point(EV_ATOMIC, "read_seqcount_retry", __func__,
			    &mm->write_protect_seq, start, seq);
		if (READ_ONCE(mm->write_protect_seq) != seq) {
			for (int i = 0; i < nr_pinned; i++)
				unpin_user_page(pages[i]);
			return 0;
		}
		sanity_check_pinned_pages(pages, nr_pinned);
	}
	return nr_pinned;
}

int pin_user_pages_fast(struct mm_struct *mm, unsigned long start,
			int nr_pages, unsigned int gup_flags,
			struct page **pages)
{
	unsigned long end = start + ((unsigned long)nr_pages << PAGE_SHIFT);
	unsigned long nr_pinned;
	long ret;

	gup_flags |= FOLL_PIN;
	WRITE_ONCE(mm->has_pinned, true);	/* mm_set_has_pinned_flag() */
	nr_pinned = lockless_pages_from_mm(mm, start, end, gup_flags, pages);
	if (nr_pinned == (unsigned long)nr_pages || (gup_flags & FOLL_FAST_ONLY))
		return (int)nr_pinned;

	/* Slow path: try to get the remaining pages with get_user_pages */
	start += nr_pinned << PAGE_SHIFT;
	ret = __gup_longterm_locked(mm, start, nr_pages - nr_pinned, gup_flags,
				    pages + nr_pinned);
	if (ret < 0) {
		/*
		 * The caller has to unpin the pages we already pinned so
		 * returning -errno is not an option
		 */
		if (nr_pinned)
			return (int)nr_pinned;
		return (int)ret;
	}
	return (int)(ret + nr_pinned);
}
