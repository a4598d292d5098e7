// SPDX-License-Identifier: GPL-2.0
/*
 * Device Memory Migration functionality: mm/migrate_device.c as of Linux
 * 6.0-6.1.
 *
 * Fix switches (both versions side by side, chosen at run time with
 * --revert; see engine/migrate/fixes.c):
 *   flush-tlb-under-ptl       migrate_vma_collect_pmd()
 *   flush-cache-page          migrate_vma_collect_pmd() (arch vivt only)
 *   copy-dirty-bit            migrate_vma_collect_pmd()
 *   young-dirty-entry         migrate_vma_collect_pmd() (and mm/rmap.c
 *                             try_to_migrate_one(), mm/migrate.c
 *                             remove_migration_pte())
 *   anon-exclusive            migrate_vma_collect_pmd() (and mm/rmap.c,
 *                             mm/memory.c, mm/fork.c, mm/gup.c,
 *                             mm/migrate.c)
 *   device-private-fault-ref  migrate_vma_setup(), migrate_vma_check_page(),
 *                             __migrate_device_pages() (and mm/memory.c
 *                             do_swap_page(), the driver's fault_page)
 *   device-pages-skip-empty   __migrate_device_pages()
 *   cpages-count              migrate_device_unmap()
 * The variant rfc-unified (seed 001, as the patch writes it) rebuilds
 * migrate_vma_setup() on hmm_range_fault() and adds
 * migrate_hmm_range_setup(); upstream and RFC sit side by side there.
 *
 * and one fix that Linux does not have, proposed for a finding of this
 * harness (docs/findings.md):
 *   device-range-anon-vma-ref migrate_device_unmap(),
 *                             remove_device_migration_ptes()
 *
 * The second half runs without the mmap lock: migrate_device_unmap(),
 * __migrate_device_pages(), migrate_device_finalize() serve both the
 * migrate_vma_*() family and migrate_device_range() /
 * migrate_device_pages(), which a driver uses to evict device memory by
 * pfn, and migrate_device_coherent_page().
 */
#include <migrace/check.h>
#include <migrace/fixes.h>
#include <migrace/hmm.h>
#include <migrace/memremap.h>
#include <migrace/migrate.h>
#include <migrace/mm.h>
#include <migrace/mmu_notifier.h>
#include <migrace/page.h>
#include <migrace/rmap.h>
#include <migrace/tlb.h>

struct mm_walk {
	struct vm_area_struct *vma;
	void *private;
};

static int migrate_vma_collect_skip(unsigned long start, unsigned long end,
				    struct mm_walk *walk)
{
	struct migrate_vma *migrate = walk->private;
	unsigned long addr;

	for (addr = start; addr < end; addr += PAGE_SIZE) {
		migrate->dst[migrate->npages] = 0;
		migrate->src[migrate->npages++] = 0;
	}
	return 0;
}

static int migrate_vma_collect_hole(unsigned long start, unsigned long end,
				    __always_unused int depth,
				    struct mm_walk *walk)
{
	struct migrate_vma *migrate = walk->private;
	unsigned long addr;

	/* Only allow populating anonymous memory. */
	if (!vma_is_anonymous(walk->vma))
		return migrate_vma_collect_skip(start, end, walk);

	for (addr = start; addr < end; addr += PAGE_SIZE) {
		migrate->src[migrate->npages] = MIGRATE_PFN_MIGRATE;
		migrate->dst[migrate->npages] = 0;
		migrate->npages++;
		migrate->cpages++;
	}
	return 0;
}

static int migrate_vma_collect_pmd(pmd_t *pmdp, unsigned long start,
				   unsigned long end, struct mm_walk *walk)
{
	struct migrate_vma *migrate = walk->private;
	struct vm_area_struct *vma = walk->vma;
	struct mm_struct *mm = vma->vm_mm;
	unsigned long addr = start, unmapped = 0;
	spinlock_t *ptl;
	pte_t *ptep;

	if (pmd_none(pmdp_get_lockless(pmdp)))
		return migrate_vma_collect_hole(start, end, -1, walk);
	/* No transparent huge pages yet: nothing to split. */
	if (unlikely(pmd_bad(*pmdp)))
		return migrate_vma_collect_skip(start, end, walk);

	ptep = pte_offset_map_lock(mm, pmdp, addr, &ptl);
	arch_enter_lazy_mmu_mode();

	for (; addr < end; addr += PAGE_SIZE, ptep++) {
		unsigned long mpfn = 0, pfn;
		struct page *page;
		swp_entry_t entry;
		pte_t pte;

		pte = ptep_get(ptep);

		if (pte_none(pte)) {
			if (vma_is_anonymous(vma)) {
				mpfn = MIGRATE_PFN_MIGRATE;
				migrate->cpages++;
			}
			goto next;
		}

		if (!pte_present(pte)) {
			/*
			 * Only care about unaddressable device page special
			 * page table entry. Other special swap entries are not
			 * migratable, and we ignore regular swapped page.
			 */
			entry = pte_to_swp_entry(pte);
			if (!is_device_private_entry(entry))
				goto next;

			page = pfn_swap_entry_to_page(entry);
			if (!(migrate->flags &
			      MIGRATE_VMA_SELECT_DEVICE_PRIVATE) ||
			    page->pgmap->owner != migrate->pgmap_owner)
				goto next;

			mpfn = migrate_pfn(page_to_pfn(page)) |
			       MIGRATE_PFN_MIGRATE;
			if (is_writable_device_private_entry(entry))
				mpfn |= MIGRATE_PFN_WRITE;
		} else {
			pfn = pte_pfn(pte);
			if (is_zero_pfn(pfn) &&
			    (migrate->flags & MIGRATE_VMA_SELECT_SYSTEM)) {
				mpfn = MIGRATE_PFN_MIGRATE;
				migrate->cpages++;
				goto next;
			}
			page = vm_normal_page(migrate->vma, addr, pte);
			if (page && !is_zone_device_page(page) &&
			    !(migrate->flags & MIGRATE_VMA_SELECT_SYSTEM))
				goto next;
			else if (page && is_device_coherent_page(page) &&
				 (!(migrate->flags &
				    MIGRATE_VMA_SELECT_DEVICE_COHERENT) ||
				  page->pgmap->owner != migrate->pgmap_owner))
				goto next;
			mpfn = migrate_pfn(pfn) | MIGRATE_PFN_MIGRATE;
			mpfn |= pte_write(pte) ? MIGRATE_PFN_WRITE : 0;
		}

		/* FIXME support THP */
		if (!page || !page->mapping || PageTransCompound(page)) {
			mpfn = 0;
			goto next;
		}

		/*
		 * By getting a reference on the page we pin it and that blocks
		 * any kind of migration. Side effect is that it "freezes" the
		 * pte.
		 *
		 * We drop this reference after isolating the page from the lru
		 * for non device page (device page are not on the lru and thus
		 * can't be dropped from it).
		 */
		get_page(page);

		/*
		 * Optimize for the common case where page is only mapped once
		 * in one process. If we can lock the page, then we can safely
		 * set up a special migration page table entry now.
		 */
		if (trylock_page(page)) {
			bool anon_exclusive = false;
			pte_t swp_pte;

			if (fix_enabled(FIX_ANON_EXCLUSIVE)) {
				/*
				 * Both cases clear the pte: the user's lines of
				 * a virtually indexed cache go back first.
				 * Before flush-cache-page, only the
				 * anon-exclusive case flushed.
				 */
				if (fix_enabled(FIX_FLUSH_CACHE_PAGE))
					flush_cache_page(vma, addr, pte_pfn(pte));
				anon_exclusive = PageAnon(page) &&
						 PageAnonExclusive(page);
				if (anon_exclusive) {
					if (!fix_enabled(FIX_FLUSH_CACHE_PAGE))
						flush_cache_page(vma, addr,
								 pte_pfn(pte));
					pte = ptep_clear_flush(vma, addr, ptep);

					if (page_try_share_anon_rmap(page)) {
						set_pte_at(mm, addr, ptep, pte);
						unlock_page(page);
						put_page(page);
						mpfn = 0;
						goto next;
					}
				} else {
					pte = ptep_get_and_clear(mm, addr, ptep);
				}
			} else {
				pte = ptep_get_and_clear(mm, addr, ptep);
			}

			migrate->cpages++;

			if (fix_enabled(FIX_COPY_DIRTY_BIT)) {
				/* Set the dirty flag on the folio now the pte is gone. */
				if (pte_dirty(pte))
					folio_mark_dirty(page_folio(page));
			}

			/* Setup special migration page table entry */
			if (mpfn & MIGRATE_PFN_WRITE)
				entry = make_writable_migration_entry(
							page_to_pfn(page));
			else if (anon_exclusive)
				entry = make_readable_exclusive_migration_entry(
							page_to_pfn(page));
			else
				entry = make_readable_migration_entry(
							page_to_pfn(page));
			if (fix_enabled(FIX_YOUNG_DIRTY_ENTRY) &&
			    pte_present(pte)) {
				if (pte_young(pte))
					entry = make_migration_entry_young(entry);
				if (pte_dirty(pte))
					entry = make_migration_entry_dirty(entry);
			}
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

			/*
			 * This is like regular unmap: we remove the rmap and
			 * drop page refcount. Page won't be freed, as we took
			 * a reference just above.
			 */
			page_remove_rmap(page, vma, false);
			put_page(page);

			if (pte_present(pte))
				unmapped++;
		} else {
			put_page(page);
			mpfn = 0;
		}

next:
		migrate->dst[migrate->npages] = 0;
		migrate->src[migrate->npages++] = mpfn;
	}
	arch_leave_lazy_mmu_mode();

	/* Only flush the TLB if we actually modified any entries */
	if (fix_enabled(FIX_FLUSH_TLB_UNDER_PTL)) {
		if (unmapped)
			flush_tlb_range(walk->vma, start, end);
		pte_unmap_unlock(ptep - 1, ptl);
	} else {
		pte_unmap_unlock(ptep - 1, ptl);
		if (unmapped)
			flush_tlb_range(walk->vma, start, end);
	}

	return 0;
}

/* walk_page_range() with .pmd_entry and .pte_hole, over one VMA. */
static void migrate_vma_walk(struct migrate_vma *migrate)
{
	struct mm_walk walk = { .vma = migrate->vma, .private = migrate };
	struct mm_struct *mm = migrate->vma->vm_mm;
	unsigned long addr = migrate->start, next;

	for (; addr < migrate->end; addr = next) {
		pmd_t *pmd = pmd_offset(pgd_offset(mm, addr), addr);

		next = pmd_addr_end(addr, migrate->end);
		if (!pmd)
			migrate_vma_collect_hole(addr, next, -1, &walk);
		else
			migrate_vma_collect_pmd(pmd, addr, next, &walk);
	}
}

/*
 * migrate_vma_collect() - collect pages over a range of virtual addresses
 * @migrate: migrate struct containing all migration information
 *
 * This will walk the CPU page table. For each virtual address backed by a
 * valid page, it updates the src array and takes a reference on the page, in
 * order to pin the page until we lock it and unmap it.
 */
static void migrate_vma_collect(struct migrate_vma *migrate)
{
	struct mmu_notifier_range range;

	/*
	 * Note that the pgmap_owner is passed to the mmu notifier callback so
	 * that the registered device driver can skip invalidating device
	 * private page mappings that won't be migrated.
	 */
	mmu_notifier_range_init_owner(&range, MMU_NOTIFY_MIGRATE, 0,
				      migrate->vma, migrate->vma->vm_mm,
				      migrate->start, migrate->end,
				      migrate->pgmap_owner);
	mmu_notifier_invalidate_range_start(&range);

	migrate_vma_walk(migrate);

	mmu_notifier_invalidate_range_end(&range);
	migrate->end = migrate->start + (migrate->npages << PAGE_SHIFT);
}

/*
 * migrate_vma_check_page() - check if page is pinned or not
 * @page: struct page to check
 * @fault_page: the page a CPU fault holds a reference on, or NULL
 *
 * Pinned pages cannot be migrated. This is the same test as in
 * folio_migrate_mapping(), except that here we allow migration of a
 * ZONE_DEVICE page.
 */
static bool migrate_vma_check_page(struct page *page, struct page *fault_page)
{
	/*
	 * One extra ref because caller holds an extra reference, either from
	 * isolate_lru_page() for a regular page, or migrate_vma_collect() for
	 * a device page.
	 */
	int extra = 1;

	/* The faulting thread holds a reference on the page it faulted on. */
	if (fix_enabled(FIX_DEVICE_PRIVATE_FAULT_REF))
		extra += page == fault_page;

	/*
	 * FIXME support THP (transparent huge page), it is bit more complex to
	 * check them than regular pages, because they can be mapped with a pmd
	 * or with a pte (split pte mapping).
	 */
	if (PageCompound(page))
		return false;

	/* Page from ZONE_DEVICE have one extra reference */
	if (is_zone_device_page(page))
		extra++;

	/* For file back page */
	if (page_mapping(page))
		extra += 1 + page_has_private(page);

	if ((page_count(page) - extra) > page_mapcount(page))
		return false;

	return true;
}

/*
 * Unmaps pages for migration. Returns number of source pfns marked as
 * migrating.
 */
/*
 * remove_migration_ptes() for an entry of migrate_device_unmap().  With
 * the proposed device-range-anon-vma-ref fix: drop the anon_vma reference
 * the entry holds, and skip an entry of a pfn range whose page was not
 * mapped (its anon_vma may be gone, and it has no migration entries).
 */
static void remove_device_migration_ptes(struct folio *src,
					 struct folio *dst, unsigned long mpfn)
{
	if (mpfn & MIGRATE_PFN_NO_RMAP)
		return;
	remove_migration_ptes(src, dst, false);
	if (mpfn & MIGRATE_PFN_ANON_REF)
		put_anon_vma(page_anon_vma(&src->page));
}

/*
 * @by_pfn (not in Linux, for the proposed device-range-anon-vma-ref fix):
 * called for a pfn range, without the mmap lock, rather than after
 * migrate_vma_collect() under it.
 */
static unsigned long migrate_device_unmap(unsigned long *src_pfns,
					  unsigned long npages,
					  struct page *fault_page, bool by_pfn)
{
	unsigned long i, restore = 0;
	bool allow_drain = true;
	unsigned long unmapped = 0;

	lru_add_drain();

	for (i = 0; i < npages; i++) {
		struct page *page = migrate_pfn_to_page(src_pfns[i]);
		struct folio *folio;

		if (!page) {
			/*
			 * A hole the driver may populate still migrates:
			 * count it, as cpages did before the refactor.
			 */
			if (fix_enabled(FIX_CPAGES_COUNT) &&
			    (src_pfns[i] & MIGRATE_PFN_MIGRATE))
				unmapped++;
			continue;
		}

		/* ZONE_DEVICE pages are not on LRU */
		if (!is_zone_device_page(page)) {
			if (!PageLRU(page) && allow_drain) {
				/* Drain CPU's lru cache */
				lru_add_drain_all();
				allow_drain = false;
			}

			if (isolate_lru_page(page)) {
				src_pfns[i] &= ~MIGRATE_PFN_MIGRATE;
				restore++;
				continue;
			}

			/* Drop the reference we took in collect */
			put_page(page);
		}

		folio = page_folio(page);
		/*
		 * Proposed by migrace (docs/findings.md), not in Linux: the
		 * migrate_device_range() family runs without the mmap lock,
		 * so once the page is unmapped nothing keeps its anon_vma
		 * alive for remove_migration_ptes().  Hold it, as
		 * migrate_pages() does.
		 */
		if (fix_enabled(FIX_DEVICE_RANGE_ANON_VMA_REF) &&
		    folio_test_anon(folio)) {
			if (folio_get_anon_vma(folio))
				src_pfns[i] |= MIGRATE_PFN_ANON_REF;
			else if (by_pfn)
				src_pfns[i] |= MIGRATE_PFN_NO_RMAP;
		}
		if (folio_mapped(folio))
			try_to_migrate(folio, 0);

		if (page_mapped(page) ||
		    !migrate_vma_check_page(page, fault_page)) {
			if (!is_zone_device_page(page)) {
				get_page(page);
				putback_lru_page(page);
			}

			src_pfns[i] &= ~MIGRATE_PFN_MIGRATE;
			restore++;
			continue;
		}

		unmapped++;
	}

	for (i = 0; i < npages && restore; i++) {
		struct page *page = migrate_pfn_to_page(src_pfns[i]);
		struct folio *folio;

		if (!page || (src_pfns[i] & MIGRATE_PFN_MIGRATE))
			continue;

		folio = page_folio(page);
		remove_device_migration_ptes(folio, folio, src_pfns[i]);

		src_pfns[i] = 0;
		/* Linux 6.16 (the RFC's base): the fault keeps its lock. */
		if (!(variant_rfc_unified && page == fault_page))
			folio_unlock(folio);
		folio_put(folio);
		restore--;
	}

	return unmapped;
}

/*
 * migrate_vma_unmap() - replace page mapping with special migration pte entry
 * @migrate: migrate struct containing all migration information
 *
 * Isolate pages from the LRU and replace mappings (CPU page table pte) with a
 * special migration pte entry and check if it has been pinned. Pinned pages are
 * restored because we cannot migrate them.
 *
 * This is the last step before we call the device driver callback to allocate
 * destination memory and copy contents of original page over to new page.
 */
static void migrate_vma_unmap(struct migrate_vma *migrate)
{
	migrate->cpages = migrate_device_unmap(migrate->src, migrate->npages,
					       migrate->fault_page, false);
}

/**
 * migrate_vma_setup() - prepare to migrate a range of memory
 * @args: contains the vma, start, and pfns arrays for the migration
 *
 * Returns: negative errno on failures, 0 when 0 or more pages were migrated
 * without an error.
 *
 * Collects the pages backing the range, locks them and replaces their
 * mappings by migration entries; pinned pages are restored.  Entries that
 * can migrate have MIGRATE_PFN_MIGRATE set in @args->src, and
 * @args->cpages counts them, holes the driver may populate included.
 */
int migrate_vma_setup(struct migrate_vma *args)
{
	long nr_pages = (args->end - args->start) >> PAGE_SHIFT;
	/* The RFC: the collection is hmm_range_fault()'s walk. */
	struct hmm_range range = {
		.notifier = NULL,
		.start = args->start,
		.end = args->end,
		.migrate = args,
		.hmm_pfns = args->src,
		.default_flags = HMM_PFN_REQ_MIGRATE,
		.dev_private_owner = args->pgmap_owner,
	};
	int ret;

	args->start &= PAGE_MASK;
	args->end &= PAGE_MASK;
	if (!args->vma || is_vm_hugetlb_page(args->vma) ||
	    (args->vma->vm_flags & VM_SPECIAL) || vma_is_dax(args->vma))
		return -EINVAL;
	if (nr_pages <= 0)
		return -EINVAL;
	if (args->start < args->vma->vm_start ||
	    args->start >= args->vma->vm_end)
		return -EINVAL;
	if (args->end <= args->vma->vm_start || args->end > args->vma->vm_end)
		return -EINVAL;
	if (!args->src || !args->dst)
		return -EINVAL;
	if (fix_enabled(FIX_DEVICE_PRIVATE_FAULT_REF)) {
		if (args->fault_page && !is_device_private_page(args->fault_page))
			return -EINVAL;
	} else {
		/* Before the fix there was no fault_page. */
		args->fault_page = NULL;
	}

	memset(args->src, 0, sizeof(*args->src) * nr_pages);
	args->cpages = 0;
	args->npages = 0;

	if (variant_rfc_unified) {
		if (args->flags & MIGRATE_VMA_FAULT)
			range.default_flags |= HMM_PFN_REQ_FAULT;

		ret = hmm_range_fault(&range);

		migrate_hmm_range_setup(&range);

		/* Pages locked and unmapped: stable for the driver's copy. */
		return ret;
	}

	migrate_vma_collect(args);

	if (args->cpages)
		migrate_vma_unmap(args);

	/*
	 * At this point pages are locked and unmapped, and thus they have
	 * stable content and can safely be copied to destination memory that
	 * is allocated by the drivers.
	 */
	return 0;
}

/*
 * This code closely matches the code in:
 *   __handle_mm_fault()
 *     handle_pte_fault()
 *       do_anonymous_page()
 * to map in an anonymous zero page but the struct page will be a ZONE_DEVICE
 * private or coherent page.
 */
static void migrate_vma_insert_page(struct migrate_vma *migrate,
				    unsigned long addr, struct page *page,
				    unsigned long *src)
{
	struct vm_area_struct *vma = migrate->vma;
	struct mm_struct *mm = vma->vm_mm;
	bool flush = false;
	spinlock_t *ptl;
	pte_t entry, orig;
	pgd_t *pgdp;
	pmd_t *pmdp;
	pte_t *ptep;

	/* Only allow populating anonymous memory */
	if (!vma_is_anonymous(vma))
		goto abort;

	pgdp = pgd_offset(mm, addr);
	pmdp = pmd_alloc(mm, pgdp, addr);
	if (!pmdp)
		goto abort;

	if (pmd_trans_huge(READ_ONCE(*pmdp)))
		goto abort;

	/*
	 * Use pte_alloc() instead of pte_alloc_map().  We can't run
	 * pte_offset_map() on pmds where a huge pmd might be created
	 * from a different thread.
	 *
	 * pte_alloc_map() is safe to use under mmap_write_lock(mm) or when
	 * parallel threads are excluded by other means.
	 *
	 * Here we only have mmap_read_lock(mm).
	 */
	if (pte_alloc(mm, pmdp))
		goto abort;

	if (unlikely(anon_vma_prepare(vma)))
		goto abort;
	if (mem_cgroup_charge(page_folio(page), vma->vm_mm, GFP_KERNEL))
		goto abort;

	/*
	 * The memory barrier inside __SetPageUptodate makes sure that
	 * preceding stores to the page contents become visible before
	 * the set_pte_at() write.
	 */
	__SetPageUptodate(page);

	if (is_device_private_page(page)) {
		swp_entry_t swp_entry;

		if (vma->vm_flags & VM_WRITE)
			swp_entry = make_writable_device_private_entry(
						page_to_pfn(page));
		else
			swp_entry = make_readable_device_private_entry(
						page_to_pfn(page));
		entry = swp_entry_to_pte(swp_entry);
	} else {
		if (is_zone_device_page(page) &&
		    !is_device_coherent_page(page))
			goto abort;
		entry = mk_pte(page, vma->vm_page_prot);
		if (vma->vm_flags & VM_WRITE)
			entry = pte_mkwrite(pte_mkdirty(entry));
	}

	ptep = pte_offset_map_lock(mm, pmdp, addr, &ptl);

	if (check_stable_address_space(mm))
		goto unlock_abort;

	orig = ptep_get(ptep);
	if (pte_present(orig)) {
		unsigned long pfn = pte_pfn(orig);

		if (!is_zero_pfn(pfn))
			goto unlock_abort;
		flush = true;
	} else if (!pte_none(orig))
		goto unlock_abort;

	/*
	 * Check for userfaultfd but do not deliver the fault. Instead,
	 * just back off.
	 */
	if (userfaultfd_missing(vma))
		goto unlock_abort;

	inc_mm_counter(mm);
	page_add_new_anon_rmap(page, vma, addr);
	if (!is_zone_device_page(page))
		lru_cache_add_inactive_or_unevictable(page, vma);
	get_page(page);

	if (flush) {
		flush_cache_page(vma, addr, pte_pfn(orig));
		ptep_clear_flush_notify(vma, addr, ptep);
		set_pte_at_notify(mm, addr, ptep, entry);
		update_mmu_cache(vma, addr, ptep);
	} else {
		/* No need to invalidate - it was non-present before */
		set_pte_at(mm, addr, ptep, entry);
		update_mmu_cache(vma, addr, ptep);
	}

	pte_unmap_unlock(ptep, ptl);
	*src = MIGRATE_PFN_MIGRATE;
	return;

unlock_abort:
	pte_unmap_unlock(ptep, ptl);
abort:
	*src &= ~MIGRATE_PFN_MIGRATE;
}

static void __migrate_device_pages(unsigned long *src_pfns,
				   unsigned long *dst_pfns, unsigned long npages,
				   struct migrate_vma *migrate)
{
	struct mmu_notifier_range range;
	unsigned long i;
	bool notified = false;

	for (i = 0; i < npages; i++) {
		struct page *newpage = migrate_pfn_to_page(dst_pfns[i]);
		struct page *page = migrate_pfn_to_page(src_pfns[i]);
		void *mapping;
		int r;

		if (!newpage) {
			src_pfns[i] &= ~MIGRATE_PFN_MIGRATE;
			continue;
		}

		if (!page) {
			unsigned long addr;

			/*
			 * Fixed: an entry that is not migrating is skipped
			 * before the vma is needed; migrate_device_range()
			 * leaves such entries for free device pages.
			 */
			if (fix_enabled(FIX_DEVICE_PAGES_SKIP_EMPTY) &&
			    !(src_pfns[i] & MIGRATE_PFN_MIGRATE))
				continue;

			/*
			 * The only time there is no vma is when called from
			 * migrate_device_coherent_page(). However this isn't
			 * called if the page could not be unmapped.
			 */
			VM_BUG_ON(!migrate);
			addr = migrate->start + i * PAGE_SIZE;
			if (!fix_enabled(FIX_DEVICE_PAGES_SKIP_EMPTY) &&
			    !(src_pfns[i] & MIGRATE_PFN_MIGRATE))
				continue;
			if (!notified) {
				notified = true;

				mmu_notifier_range_init_owner(&range,
					MMU_NOTIFY_MIGRATE, 0, migrate->vma,
					migrate->vma->vm_mm, addr, migrate->end,
					migrate->pgmap_owner);
				mmu_notifier_invalidate_range_start(&range);
			}
			migrate_vma_insert_page(migrate, addr, newpage,
						&src_pfns[i]);
			continue;
		}

		mapping = page_mapping(page);

		if (is_device_private_page(newpage) ||
		    is_device_coherent_page(newpage)) {
			/*
			 * For now only support anonymous memory migrating to
			 * device private or coherent memory.
			 */
			if (mapping) {
				src_pfns[i] &= ~MIGRATE_PFN_MIGRATE;
				continue;
			}
		} else if (is_zone_device_page(newpage)) {
			/*
			 * Other types of ZONE_DEVICE page are not supported.
			 */
			src_pfns[i] &= ~MIGRATE_PFN_MIGRATE;
			continue;
		}

		/* The faulting thread holds one more reference. */
		if (fix_enabled(FIX_DEVICE_PRIVATE_FAULT_REF) && migrate &&
		    migrate->fault_page == page)
			r = migrate_folio_extra(mapping, page_folio(newpage),
						page_folio(page),
						MIGRATE_SYNC_NO_COPY, 1);
		else
			r = migrate_folio(mapping, page_folio(newpage),
					  page_folio(page),
					  MIGRATE_SYNC_NO_COPY);
		if (r != MIGRATEPAGE_SUCCESS)
			src_pfns[i] &= ~MIGRATE_PFN_MIGRATE;
	}

	/*
	 * No need to double call mmu_notifier->invalidate_range() callback as
	 * the above ptep_clear_flush_notify() inside migrate_vma_insert_page()
	 * did already call it.
	 */
	if (notified)
		mmu_notifier_invalidate_range_only_end(&range);
}

/**
 * migrate_device_pages() - migrate meta-data from src page to dst page
 * @src_pfns: src_pfns returned from migrate_device_range()
 * @dst_pfns: array of pfns allocated by the driver to migrate memory to
 * @npages: number of pages in the range
 *
 * Equivalent to migrate_vma_pages(), without a vma.
 */
void migrate_device_pages(unsigned long *src_pfns, unsigned long *dst_pfns,
			  unsigned long npages)
{
	__migrate_device_pages(src_pfns, dst_pfns, npages, NULL);
}

/**
 * migrate_vma_pages() - migrate meta-data from src page to dst page
 * @migrate: migrate struct containing all migration information
 *
 * This migrates struct page meta-data from source struct page to destination
 * struct page. This effectively finishes the migration from source page to the
 * destination page.
 */
void migrate_vma_pages(struct migrate_vma *migrate)
{
	__migrate_device_pages(migrate->src, migrate->dst, migrate->npages,
			       migrate);
}

/*
 * migrate_device_finalize() - complete page migration
 * @src_pfns: src_pfns returned from migrate_device_range()
 * @dst_pfns: array of pfns allocated by the driver to migrate memory to
 * @npages: number of pages in the range
 *
 * Replaces the migration entries with the new page where the migration
 * succeeded, or the old one otherwise; unlocks the pages and puts them
 * back.  The driver's copy must be complete before this.
 */
static void __migrate_device_finalize(unsigned long *src_pfns,
				      unsigned long *dst_pfns,
				      unsigned long npages,
				      struct page *fault_page)
{
	unsigned long i;

	for (i = 0; i < npages; i++) {
		struct folio *dst, *src;
		struct page *newpage = migrate_pfn_to_page(dst_pfns[i]);
		struct page *page = migrate_pfn_to_page(src_pfns[i]);

		if (!page) {
			if (newpage) {
				unlock_page(newpage);
				put_page(newpage);
			}
			continue;
		}

		if (!(src_pfns[i] & MIGRATE_PFN_MIGRATE) || !newpage) {
			if (newpage) {
				unlock_page(newpage);
				put_page(newpage);
			}
			newpage = page;
		}

		src = page_folio(page);
		dst = page_folio(newpage);
		remove_device_migration_ptes(src, dst, src_pfns[i]);
		/* Linux 6.16 (the RFC's base): the fault keeps its lock. */
		if (!(variant_rfc_unified && page == fault_page))
			folio_unlock(src);

		if (is_zone_device_page(page))
			put_page(page);
		else
			putback_lru_page(page);

		if (newpage != page) {
			unlock_page(newpage);
			if (is_zone_device_page(newpage))
				put_page(newpage);
			else
				putback_lru_page(newpage);
		}
	}
}

void migrate_device_finalize(unsigned long *src_pfns,
			     unsigned long *dst_pfns, unsigned long npages)
{
	__migrate_device_finalize(src_pfns, dst_pfns, npages, NULL);
}

/**
 * migrate_vma_finalize() - restore CPU page table entry
 * @migrate: migrate struct containing all migration information
 *
 * This replaces the special migration pte entry with either a mapping to the
 * new page if migration was successful for that page, or to the original page
 * otherwise.
 *
 * This also unlocks the pages and puts them back on the lru, or drops the extra
 * refcount, for device pages.
 */
void migrate_vma_finalize(struct migrate_vma *migrate)
{
	__migrate_device_finalize(migrate->src, migrate->dst, migrate->npages,
				  migrate->fault_page);
}

/**
 * migrate_device_range() - migrate device private pfns to normal memory.
 * @src_pfns: array large enough to hold migrating source device private pfns.
 * @start: starting pfn in the range to migrate.
 * @npages: number of pages to migrate.
 *
 * Like migrate_vma_setup(), but by device pfn rather than by virtual
 * address: a driver going away does not know every mapping of its pages.
 * Pages that are not free are referenced and locked, then unmapped; the
 * driver then allocates destinations, copies, and calls
 * migrate_device_pages() and migrate_device_finalize().
 */
int migrate_device_range(unsigned long *src_pfns, unsigned long start,
			 unsigned long npages)
{
	unsigned long i, pfn;

	for (pfn = start, i = 0; i < npages; pfn++, i++) {
		struct page *page = pfn_to_page(pfn);

		if (!get_page_unless_zero(page)) {
			src_pfns[i] = 0;
			continue;
		}

		if (!trylock_page(page)) {
			src_pfns[i] = 0;
			put_page(page);
			continue;
		}

		src_pfns[i] = migrate_pfn(pfn) | MIGRATE_PFN_MIGRATE;
	}

	migrate_device_unmap(src_pfns, npages, NULL, true);

	return 0;
}

/*
 * Migrate a device coherent page back to normal memory. The caller should have
 * a reference on page which will be copied to the new page if migration is
 * successful or dropped on failure.
 */
int migrate_device_coherent_page(struct page *page)
{
	unsigned long src_pfn, dst_pfn = 0;
	struct page *dpage;

	WARN_ON_ONCE(PageCompound(page));

	lock_page(page);
	src_pfn = migrate_pfn(page_to_pfn(page)) | MIGRATE_PFN_MIGRATE;

	/*
	 * There is no vma and no page table to walk: unmap the page
	 * directly, migrate_vma_setup() would refuse a NULL vma.
	 */
	migrate_device_unmap(&src_pfn, 1, NULL, true);
	if (!(src_pfn & MIGRATE_PFN_MIGRATE))
		return -EBUSY;

	dpage = alloc_page();
	if (dpage) {
		lock_page(dpage);
		dst_pfn = migrate_pfn(page_to_pfn(dpage));
	}

	migrate_device_pages(&src_pfn, &dst_pfn, 1);
	if (src_pfn & MIGRATE_PFN_MIGRATE)
		copy_highpage(dpage, page);
	migrate_device_finalize(&src_pfn, &dst_pfn, 1);

	if (src_pfn & MIGRATE_PFN_MIGRATE)
		return 0;
	return -EBUSY;
}

/*
 * The RFC: hmm_range_fault() with HMM_PFN_REQ_MIGRATE has locked and
 * unmapped the pages it marked HMM_PFN_MIGRATE; turn its output into the
 * migrate_vma src[] entries (in place when hmm_pfns is src) and finish
 * the unmap as migrate_vma_setup() does.
 */
void migrate_hmm_range_setup(struct hmm_range *range)
{
	struct migrate_vma *migrate = range->migrate;

	if (!migrate)
		return;

	migrate->npages = (migrate->end - migrate->start) >> PAGE_SHIFT;
	migrate->cpages = 0;

	for (unsigned long i = 0; i < migrate->npages; i++) {
		unsigned long pfn = range->hmm_pfns[i];

		/* Only entries both valid and marked for migration go. */
		if ((pfn & (HMM_PFN_VALID | HMM_PFN_MIGRATE)) !=
		    (HMM_PFN_VALID | HMM_PFN_MIGRATE)) {
			migrate->src[i] = 0;
			migrate->dst[i] = 0;
			continue;
		}

		migrate->cpages++;

		/* An empty entry or the zero page: valid, migrate, pfn 0. */
		if (pfn == (HMM_PFN_VALID | HMM_PFN_MIGRATE)) {
			migrate->src[i] = MIGRATE_PFN_MIGRATE;
			continue;
		}

		migrate->src[i] = migrate_pfn(page_to_pfn(hmm_pfn_to_page(pfn)))
				  | MIGRATE_PFN_MIGRATE;
		migrate->src[i] |= (pfn & HMM_PFN_WRITE) ? MIGRATE_PFN_WRITE : 0;
	}

	if (migrate->cpages)
		migrate_vma_unmap(migrate);
}
