// SPDX-License-Identifier: GPL-2.0
/*
 * mm/migrate.c, Linux 6.0-6.1: remove_migration_ptes(), migrate_folio(),
 * migration_entry_wait() (the parts migrate_device.c uses), and the
 * classic path of seed 002 in its 6.1 form: migrate_pages(),
 * unmap_and_move(), move_to_new_folio(), putback_movable_pages() and
 * the move_pages(2) core, do_pages_move().
 *
 * Fix switches here: young-dirty-entry and anon-exclusive
 * (remove_migration_pte()); migrate-anon-vma-rcu (__unmap_and_move()).
 */
#include <migrace/check.h>
#include <migrace/fixes.h>
#include <migrace/gup.h>
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

/*
 * ---- The classic path: migrate_pages() ----
 *
 * Seed 002's migrate_pages() / unmap_and_move() / move_to_new_page(), in
 * the form Linux 6.1 gives them where they meet the rest of the engine:
 * folios, try_to_migrate() with young/dirty/exclusive migration entries,
 * folio_migrate_mapping() for the swap cache, the anon_vma reference of
 * page_get_anon_vma().
 */

/*
 * Put previously isolated pages back onto the appropriate lists
 * from where they were once taken off for compaction/migration.
 *
 * This function shall be used whenever the isolated pageset has been
 * built from lru, balloon, hugetlbfs page. See isolate_migratepages_range()
 * and isolate_hugetlb().
 */
void putback_movable_pages(struct list_head *l)
{
	struct page *page, *page2;

	list_for_each_entry_safe(page, page2, l, lru) {
		list_del_init(&page->lru);
		putback_lru_page(page);
	}
}

struct page *alloc_migration_target(struct page *page, unsigned long private)
{
	struct migration_target_control *mtc =
		(struct migration_target_control *)private;
	int nid = mtc->nid;

	if (nid == NUMA_NO_NODE)
		nid = page_to_nid(page);
	return __alloc_pages_node(nid, mtc->gfp_mask);
}

/*
 * Move a page to a newly allocated page
 * The page is locked and all ptes have been successfully removed.
 *
 * The new page will have replaced the old page if this function
 * is successful.
 *
 * Return value:
 *   < 0 - error code
 *  MIGRATEPAGE_SUCCESS - success
 */
static int move_to_new_folio(struct folio *dst, struct folio *src,
			     enum migrate_mode mode)
{
	int rc;

	VM_BUG_ON_FOLIO(!folio_test_locked(src), src);
	VM_BUG_ON_FOLIO(!folio_test_locked(dst), dst);

	/*
	 * Anonymous pages without a mapping and the swap cache (whose
	 * a_ops->migrate_folio is migrate_folio()) are all there is here.
	 */
	rc = migrate_folio(folio_mapping(src), dst, src, mode);

	/*
	 * When successful, old pagecache src->mapping must be cleared before
	 * src is freed; but stats require that PageAnon be left as PageAnon.
	 */
	if (rc == MIGRATEPAGE_SUCCESS) {
		if (!folio_test_anon(src))
			WRITE_ONCE(src->page.mapping, NULL);
	}
	return rc;
}

static int __unmap_and_move(struct page *page, struct page *newpage,
			    int force, enum migrate_mode mode)
{
	struct folio *folio = page_folio(page);
	struct folio *dst = page_folio(newpage);
	int rc = -EAGAIN;
	bool page_was_mapped = false;
	struct anon_vma *anon_vma = NULL;

	if (!trylock_page(page)) {
		if (!force || mode == MIGRATE_ASYNC)
			goto out;
		lock_page(page);
	}
	/* No PG_writeback here: swap writes complete before they return. */

	/*
	 * By try_to_migrate(), page->mapcount goes down to 0 here. In this
	 * case, we cannot notice that anon_vma is freed while we migrate a
	 * page.  This get_anon_vma() delays freeing anon_vma pointer until
	 * the end of migration.
	 *
	 * Only page_get_anon_vma() understands the subtleties of
	 * getting a hold on an anon_vma from outside one of its mms.
	 * But if we cannot get anon_vma, then we won't need it anyway,
	 * because that implies that the anon page is no longer mapped
	 * (and cannot be remapped so long as we hold the page lock).
	 *
	 * migrate-anon-vma-rcu reverted: nothing holds the anon_vma, so a
	 * munmap() or exit that unlinks its last VMA while the page is
	 * unmapped frees it under remove_migration_ptes().  (The seed
	 * holds rcu_read_lock() instead; this engine's try_to_migrate()
	 * sleeps on anon_vma->rwsem, so the fix is the later reference.)
	 */
	if (fix_enabled(FIX_MIGRATE_ANON_VMA_RCU) && PageAnon(page))
		anon_vma = page_get_anon_vma(page);

	/*
	 * Block others from accessing the new page when we get around to
	 * establishing additional references. We are usually the only one
	 * holding a reference to newpage at this point.
	 */
	if (unlikely(!trylock_page(newpage)))
		goto out_unlock;

	/*
	 * Corner case handling:
	 * 1. When a new swap-cache page is read into, it is added to the LRU
	 * and treated as swapcache but it has no rmap yet.
	 * Calling try_to_unmap() against a page->mapping==NULL page will
	 * trigger a BUG.  So handle it here.
	 */
	if (!READ_ONCE(page->mapping)) {
		VM_BUG_ON_PAGE(PageAnon(page), page);
	} else if (page_mapped(page)) {
		/* Establish migration ptes */
		if (fix_enabled(FIX_MIGRATE_ANON_VMA_RCU))
			VM_BUG_ON_PAGE(PageAnon(page) && !anon_vma, page);
		try_to_migrate(folio, 0);
		page_was_mapped = true;
	}

	if (!page_mapped(page))
		rc = move_to_new_folio(dst, folio, mode);

	/*
	 * When successful, push newpage to LRU immediately: so that if it
	 * turns out to be an mlocked page, remove_migration_ptes() will
	 * automatically build up the correct newpage->mlock_count for it.
	 */
	if (rc == MIGRATEPAGE_SUCCESS) {
		lru_cache_add(newpage);
		if (page_was_mapped)
			lru_add_drain();
	}

	if (page_was_mapped)
		remove_migration_ptes(folio,
			rc == MIGRATEPAGE_SUCCESS ? dst : folio, false);

	unlock_page(newpage);
out_unlock:
	/* Drop an anon_vma reference if we took one */
	if (anon_vma)
		put_anon_vma(anon_vma);
	unlock_page(page);
out:
	/*
	 * If migration is successful, decrease refcount of the newpage,
	 * which will not free the page because new page owner increased
	 * refcounter.
	 */
	if (rc == MIGRATEPAGE_SUCCESS)
		put_page(newpage);
	return rc;
}

/*
 * Obtain the lock on page, remove all ptes and migrate the page
 * to the newly allocated page in newpage.
 */
static int unmap_and_move(new_page_t get_new_page, free_page_t put_new_page,
			  unsigned long private, struct page *page, int force,
			  enum migrate_mode mode, struct list_head *ret)
{
	int rc = MIGRATEPAGE_SUCCESS;
	struct page *newpage = NULL;

	if (page_count(page) == 1) {
		/* Page was freed from under us. So we are done. */
		ClearPageActive(page);
		ClearPageUnevictable(page);
		goto out;
	}

	newpage = get_new_page(page, private);
	if (!newpage)
		return -ENOMEM;

	newpage->private = 0;
	rc = __unmap_and_move(page, newpage, force, mode);

out:
	if (rc != -EAGAIN) {
		/*
		 * A page that has been migrated has all references
		 * removed and will be freed. A page that has not been
		 * migrated will have kept its references and be restored.
		 */
		list_del_init(&page->lru);
	}

	/*
	 * If migration is successful, releases reference grabbed during
	 * isolation. Otherwise, restore the page to right list unless
	 * we want to retry.
	 */
	if (rc == MIGRATEPAGE_SUCCESS) {
		put_page(page);
	} else {
		if (rc != -EAGAIN)
			list_add_tail(&page->lru, ret);
		if (put_new_page)
			put_new_page(newpage, private);
		else
			put_page(newpage);
	}
	return rc;
}

/*
 * migrate_pages - migrate the pages specified in a list, to the free pages
 *		   supplied as the target for the page migration
 *
 * @from:		The list of pages to be migrated.
 * @get_new_page:	The function used to allocate free pages to be used
 *			as the target of the page migration.
 * @put_new_page:	The function used to free target pages if migration
 *			fails, or NULL if no special handling is necessary.
 * @private:		Private data to be passed on to get_new_page()
 * @mode:		The migration mode that specifies the constraints for
 *			page migration, if any.
 * @nr_succeeded:	The number of pages migrated successfully (or NULL).
 *
 * The function returns after 10 attempts or if no pages are movable any more
 * because the list has become empty or no retryable pages exist any more.
 * It is caller's responsibility to call putback_movable_pages() to return
 * pages to the LRU or free list only if ret != 0.
 *
 * Returns the number of pages that were not migrated, or an error code.
 */
int migrate_pages(struct list_head *from, new_page_t get_new_page,
		  free_page_t put_new_page, unsigned long private,
		  enum migrate_mode mode, unsigned int *nr_succeeded)
{
	int retry = 1;
	int nr_failed = 0;
	int nr_ok = 0;
	int pass = 0;
	struct page *page;
	struct page *page2;
	int rc;
	LIST_HEAD(ret_pages);

	for (pass = 0; pass < 10 && retry; pass++) {
		retry = 0;

		list_for_each_entry_safe(page, page2, from, lru) {
			rc = unmap_and_move(get_new_page, put_new_page,
					    private, page, pass > 2, mode,
					    &ret_pages);
			/*
			 * The rules are:
			 *	Success: page will be freed
			 *	-EAGAIN: stay on the from list
			 *	-ENOMEM: stay on the from list
			 *	Other errno: put on ret_pages list, then
			 *		     spliced back to the from list
			 */
			switch (rc) {
			case -ENOMEM:
				nr_failed++;
				goto out;
			case -EAGAIN:
				retry++;
				break;
			case MIGRATEPAGE_SUCCESS:
				nr_ok++;
				break;
			default:
				/*
				 * Permanent failure (-EBUSY, etc.):
				 * unlike -EAGAIN case, the failed page is
				 * removed from migration page list and not
				 * retried in the next outer loop.
				 */
				nr_failed++;
				break;
			}
		}
	}
	nr_failed += retry;
	rc = nr_failed;
out:
	/*
	 * Put the permanent failure page back to migration list, they
	 * will be put back to the right list by the caller.
	 */
	list_splice(&ret_pages, from);
	if (nr_succeeded)
		*nr_succeeded = nr_ok;
	return rc;
}

/*
 * ---- move_pages(2) ----
 */

/*
 * Resolves the given address to a struct page, isolates it from the LRU and
 * puts it to the given pagelist.
 * Returns:
 *     errno - if the page cannot be found/isolated
 *     0 - when it doesn't have to be migrated because it is already on the
 *         target node
 *     1 - when it has been queued
 */
static int add_page_for_migration(struct mm_struct *mm, unsigned long addr,
				  int node, struct list_head *pagelist,
				  bool migrate_all)
{
	struct vm_area_struct *vma;
	struct page *page;
	int err;

	mmap_read_lock(mm);
	err = -EFAULT;
	vma = vma_lookup(mm, addr);
	if (!vma || !vma_migratable(vma))
		goto out;

	/* FOLL_DUMP to ignore special (like zero) pages */
	page = follow_page(vma, addr, FOLL_GET | FOLL_DUMP);

	err = PTR_ERR(page);
	if (IS_ERR(page))
		goto out;

	err = -ENOENT;
	if (!page)
		goto out;

	err = 0;
	if (page_to_nid(page) == node)
		goto out_putpage;

	err = -EACCES;
	if (page_mapcount(page) > 1 && !migrate_all)
		goto out_putpage;

	err = isolate_lru_page(page);
	if (err)
		goto out_putpage;

	err = 1;
	list_add_tail(&page->lru, pagelist);
out_putpage:
	/*
	 * Either remove the duplicate refcount from
	 * isolate_lru_page() or drop the page ref if it was
	 * not isolated.
	 */
	put_page(page);
out:
	mmap_read_unlock(mm);
	return err;
}

/* Called without the mmap lock: the pages are isolated. */
static int do_move_pages_to_node(struct mm_struct *mm,
				 struct list_head *pagelist, int node)
{
	int err;
	struct migration_target_control mtc = {
		.nid = node,
		.gfp_mask = GFP_HIGHUSER_MOVABLE | __GFP_THISNODE,
	};

	(void)mm;
	err = migrate_pages(pagelist, alloc_migration_target, NULL,
			    (unsigned long)&mtc, MIGRATE_SYNC, NULL);
	if (err)
		putback_movable_pages(pagelist);
	return err;
}

static int move_pages_and_store_status(struct mm_struct *mm, int node,
				       struct list_head *pagelist,
				       int *status, int start, int i,
				       unsigned long nr_pages)
{
	int err;

	if (list_empty(pagelist))
		return 0;

	err = do_move_pages_to_node(mm, pagelist, node);
	if (err) {
		/*
		 * Positive err means the number of failed
		 * pages to migrate.  Since we are going to
		 * abort and return the number of non-migrated
		 * pages, so need to include the rest of the
		 * nr_pages that have not been attempted as
		 * well.
		 */
		if (err > 0)
			err += (int)nr_pages - i - 1;
		return err;
	}
	/* store_status(): the node each queued page was moved to */
	for (int j = start; j < i; j++)
		status[j] = node;
	return 0;
}

/*
 * Migrate an array of page address onto an array of nodes and fill
 * the corresponding array of status.  No lock of @mm is held between the
 * look-ups: the caller may be another process (move_pages(pid, ...)).
 */
int do_pages_move(struct mm_struct *mm, unsigned long nr_pages,
		  const unsigned long *pages, const int *nodes, int *status,
		  int flags)
{
	int current_node = NUMA_NO_NODE;
	LIST_HEAD(pagelist);
	int start = 0, i;
	int err = 0, err1;

	/* lru_cache_disable(): drain every CPU's batch so pages isolate */
	lru_add_drain_all();

	for (i = 0; i < (int)nr_pages; i++) {
		unsigned long addr = pages[i];
		int node = nodes[i];

		err = -ENODEV;
		if (!node_online(node))
			goto out_flush;

		if (current_node == NUMA_NO_NODE) {
			current_node = node;
			start = i;
		} else if (node != current_node) {
			err = move_pages_and_store_status(mm, current_node,
					&pagelist, status, start, i,
					nr_pages);
			if (err)
				goto out;
			start = i;
			current_node = node;
		}

		/*
		 * Errors in the page lookup or isolation are not fatal and we
		 * simply report them via status
		 */
		err = add_page_for_migration(mm, addr, current_node,
					     &pagelist,
					     flags & MPOL_MF_MOVE_ALL);

		if (err > 0) {
			/* The page is successfully queued for migration */
			continue;
		}

		/*
		 * The move_pages() man page does not have an -EEXIST choice,
		 * so use -EFAULT instead.
		 */
		if (err == -EEXIST)
			err = -EFAULT;

		/*
		 * If the page is already on the target node (!err), store the
		 * node, otherwise, store the err.
		 */
		status[i] = err ? err : current_node;

		err = move_pages_and_store_status(mm, current_node, &pagelist,
						  status, start, i, nr_pages);
		if (err)
			goto out;
		current_node = NUMA_NO_NODE;
	}
out_flush:
	/* Make sure we do not overwrite the existing error */
	err1 = move_pages_and_store_status(mm, current_node, &pagelist,
					   status, start, i, nr_pages);
	if (err >= 0)
		err = err1;
out:
	return err;
}
