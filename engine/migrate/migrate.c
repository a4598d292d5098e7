// SPDX-License-Identifier: GPL-2.0
/*
 * mm/migrate.c (the parts migrate_device.c uses), Linux 6.0-6.1:
 * remove_migration_ptes(), migrate_folio(), migration_entry_wait().
 *
 * Fix switches here: young-dirty-entry and anon-exclusive
 * (remove_migration_pte()).
 */
#include <migrace/check.h>
#include <migrace/fixes.h>
#include <migrace/swap.h>
#include <migrace/memremap.h>
#include <migrace/migrate.h>
#include <migrace/mm.h>
#include <migrace/rmap.h>
#include <migrace/tlb.h>

/*
 * Restore a potential migration pte to a working pte entry
 */
static bool remove_migration_pte(struct folio *folio,
				 struct vm_area_struct *vma,
				 unsigned long addr, void *old)
{
	struct folio *src = old;
	struct mm_struct *mm = vma->vm_mm;
	struct page *new = folio_page(folio, 0);
	int rmap_flags = RMAP_NONE;
	spinlock_t *ptl;
	pmd_t *pmd;
	pte_t *ptep, pte, orig;
	swp_entry_t entry;

	pmd = pmd_offset(pgd_offset(mm, addr), addr);
	if (!pmd || pmd_none(pmdp_get_lockless(pmd)))
		return true;
	ptep = pte_offset_map_lock(mm, pmd, addr, &ptl);
	orig = ptep_get(ptep);
	if (!is_swap_pte(orig))
		goto unlock;
	entry = pte_to_swp_entry(orig);
	if (!is_migration_entry(entry) ||
	    swp_offset_pfn(entry) != page_to_pfn(&src->page))
		goto unlock;

	folio_get(folio);
	pte = mk_pte(new, READ_ONCE(vma->vm_page_prot));
	if (pte_swp_soft_dirty(orig))
		pte = pte_mksoft_dirty(pte);
	if (fix_enabled(FIX_YOUNG_DIRTY_ENTRY)) {
		/* x86's vm_page_prot has _PAGE_ACCESSED; the emulated one not */
		pte = pte_mkyoung(pte);
		if (!is_migration_entry_young(entry))
			pte = pte_mkold(pte);
		if (folio_test_dirty(folio) && is_migration_entry_dirty(entry))
			pte = pte_mkdirty(pte);
	} else {
		pte = pte_mkold(pte);
	}
	if (is_writable_migration_entry(entry))
		pte = maybe_mkwrite(pte, vma);
	else if (pte_swp_uffd_wp(orig))
		pte = __pte(pte_val(pte) | _PAGE_UFFD_WP);

	if (fix_enabled(FIX_ANON_EXCLUSIVE) && folio_test_anon(folio) &&
	    !is_readable_migration_entry(entry))
		rmap_flags |= RMAP_EXCLUSIVE;

	if (unlikely(is_device_private_page(new))) {
		if (pte_write(pte))
			entry = make_writable_device_private_entry(
				page_to_pfn(new));
		else
			entry = make_readable_device_private_entry(
				page_to_pfn(new));
		pte = swp_entry_to_pte(entry);
		if (pte_swp_soft_dirty(orig))
			pte = pte_swp_mksoft_dirty(pte);
		if (pte_swp_uffd_wp(orig))
			pte = pte_swp_mkuffd_wp(pte);
	}

	page_add_anon_rmap(new, vma, addr, rmap_flags);
	set_pte_at(mm, addr, ptep, pte);
	/* No need to invalidate - it was non-present before */
	update_mmu_cache(vma, addr, ptep);
unlock:
	pte_unmap_unlock(ptep, ptl);
	return true;
}

/*
 * Get rid of all migration entries and replace them by
 * references to the indicated page.
 */
void remove_migration_ptes(struct folio *src, struct folio *dst, bool locked)
{
	struct rmap_walk_control rwc = {
		.rmap_one = remove_migration_pte,
		.arg = src,
	};

	if (locked)
		rmap_walk_locked(dst, &rwc);
	else
		rmap_walk(dst, &rwc);
}

/*
 * Something used the pte of a page under migration.  Wait for the
 * migration to finish (the page to be unlocked), then let the fault retry.
 */
void migration_entry_wait(struct mm_struct *mm, pmd_t *pmd,
			  unsigned long address)
{
	spinlock_t *ptl;
	pte_t *ptep, pte;
	swp_entry_t entry;
	struct page *page;

	ptep = pte_offset_map_lock(mm, pmd, address, &ptl);
	pte = ptep_get(ptep);
	if (!is_swap_pte(pte))
		goto out;
	entry = pte_to_swp_entry(pte);
	if (!is_migration_entry(entry))
		goto out;
	page = pfn_swap_entry_to_page(entry);
	/*
	 * migration_entry_wait_on_locked(): the entry pins nothing, but the
	 * migrating thread holds the page lock until the entry is gone.
	 */
	pte_unmap_unlock(ptep, ptl);
	wait_on_page_locked(page);
	return;
out:
	pte_unmap_unlock(ptep, ptl);
}

static int folio_expected_refs(void *mapping, struct folio *folio)
{
	int refs = 1;

	if (!mapping)
		return refs;
	refs += 1;	/* the mapping's (swap cache's) reference */
	if (page_has_private(&folio->page))
		refs++;
	return refs;
}

/*
 * Replace the page in the mapping.
 *
 * The number of remaining references must be:
 * 1 for anonymous pages without a mapping
 * 2 for pages with a mapping
 * 3 for pages with a mapping and PagePrivate/PagePrivate2 set.
 */
static int folio_migrate_mapping(void *mapping, struct folio *newfolio,
				 struct folio *folio, int extra_count)
{
	int expected_count = folio_expected_refs(mapping, folio) + extra_count;
	swp_entry_t entry;
	bool dirty;

	if (!mapping) {
		/* Anonymous page without mapping */
		if (folio_ref_count(folio) != expected_count)
			return -EAGAIN;
		/* No turning back from here */
		newfolio->page.index = folio->page.index;
		WRITE_ONCE(newfolio->page.mapping, folio->page.mapping);
		if (folio_test_swapbacked(folio))
			SetPageSwapBacked(&newfolio->page);
		return MIGRATEPAGE_SUCCESS;
	}
	if (mapping != &swapper_space)
		return -EAGAIN;	/* no file pages in the emulation */

	entry.val = page_private(&folio->page);
	swap_cache_lock();
	if (!folio_ref_freeze(folio, expected_count)) {
		swap_cache_unlock();
		return -EAGAIN;
	}
	if (lookup_swap_cache_locked(entry) != &folio->page) {
		folio_ref_unfreeze(folio, expected_count);
		swap_cache_unlock();
		return -EAGAIN;
	}

	/*
	 * Now we know that no one else is looking at the folio:
	 * no turning back from here.
	 */
	newfolio->page.index = folio->page.index;
	WRITE_ONCE(newfolio->page.mapping, folio->page.mapping);
	folio_ref_add(newfolio, 1); /* add cache reference */
	SetPageSwapBacked(&newfolio->page);
	SetPageSwapCache(&newfolio->page);
	WRITE_ONCE(newfolio->page.private, entry.val);

	/* Move dirty while page refs frozen and newpage not yet exposed */
	dirty = folio_test_dirty(folio);
	if (dirty) {
		ClearPageDirty(&folio->page);
		SetPageDirty(&newfolio->page);
	}
	swap_cache_replace_locked(entry, &newfolio->page);

	/*
	 * Drop cache reference from old page by unfreezing
	 * to one less reference.
	 * We know this isn't the last reference.
	 */
	folio_ref_unfreeze(folio, expected_count - 1);
	swap_cache_unlock();
	return MIGRATEPAGE_SUCCESS;
}

static void folio_migrate_flags(struct folio *newfolio, struct folio *folio)
{
	if (folio_test_dirty(folio)) {
		ClearPageDirty(&folio->page);
		folio_mark_dirty(newfolio);
	}
	if (folio_test_uptodate(folio))
		SetPageUptodate(&newfolio->page);
	if (folio_test_active(folio))
		SetPageActive(&newfolio->page);
	if (folio_test_swapcache(folio))
		ClearPageSwapCache(&folio->page);
	WRITE_ONCE(folio->page.private, 0);
}

int migrate_folio_extra(void *mapping, struct folio *dst, struct folio *src,
			enum migrate_mode mode, int extra_count)
{
	int rc;

	BUG_ON(folio_test_locked(src) == 0);
	rc = folio_migrate_mapping(mapping, dst, src, extra_count);
	if (rc != MIGRATEPAGE_SUCCESS)
		return rc;
	if (mode != MIGRATE_SYNC_NO_COPY)
		copy_highpage(&dst->page, &src->page);
	folio_migrate_flags(dst, src);
	return MIGRATEPAGE_SUCCESS;
}

int migrate_folio(void *mapping, struct folio *dst, struct folio *src,
		  enum migrate_mode mode)
{
	return migrate_folio_extra(mapping, dst, src, mode, 0);
}
