// SPDX-License-Identifier: GPL-2.0
/*
 * mm/vmscan.c: page reclaim for anonymous memory, Linux 6.0 shape:
 * shrink_folio_list() with folio_check_references(), add_to_swap(),
 * try_to_unmap(), pageout() and __remove_mapping().
 *
 * Simplified: one LRU list (PG_active marks the active pages) scanned
 * whole by each reclaim pass; try_to_unmap() flushes per pte rather
 * than batching with TTU_BATCH_FLUSH; swap writes complete at once.
 */
#include <migrace/check.h>
#include <migrace/cpu.h>
#include <migrace/gup.h>
#include <migrace/migrate.h>
#include <migrace/rmap.h>
#include <migrace/swap.h>
#include "internal.h"

enum folio_references {
	FOLIOREF_RECLAIM,
	FOLIOREF_RECLAIM_CLEAN,
	FOLIOREF_KEEP,
	FOLIOREF_ACTIVATE,
};

static enum folio_references folio_check_references(struct folio *folio)
{
	int referenced_ptes, referenced_folio;
	unsigned long vm_flags;

	referenced_ptes = folio_referenced(folio, 1, &vm_flags);
	referenced_folio = folio_test_clear_referenced(folio);

	/* rmap lock contention: rotate */
	if (referenced_ptes == -1)
		return FOLIOREF_KEEP;

	if (referenced_ptes) {
		/*
		 * All mapped folios start out with page table
		 * references from the instantiating fault, so we need
		 * to look twice if a mapped file/anon folio is used more
		 * than once.
		 *
		 * Mark it and spare it for another trip around the
		 * inactive list.  Another page table reference will
		 * lead to its activation.
		 *
		 * Note: the mark is set for activated folios as well
		 * so that recently deactivated but used folios are
		 * quickly recovered.
		 */
		SetPageReferenced(&folio->page);
		if (referenced_folio || referenced_ptes > 1)
			return FOLIOREF_ACTIVATE;
		return FOLIOREF_KEEP;
	}
	return FOLIOREF_RECLAIM;
}

/* Check if a folio is "freeable": the isolation and the cache references. */
static bool is_page_cache_freeable(struct folio *folio)
{
	return folio_ref_count(folio) == 2;
}

typedef enum {
	PAGE_KEEP,
	PAGE_ACTIVATE,
	PAGE_SUCCESS,
	PAGE_CLEAN,
} pageout_t;

/*
 * pageout is called by shrink_folio_list() for each dirty folio.
 * Calls ->writepage().
 */
static pageout_t pageout(struct folio *folio, void *mapping)
{
	/*
	 * If the folio is dirty, only perform writeback if that write
	 * will be non-blocking.  To prevent this allocation from being
	 * stalled by pagecache activity.  But note that there may be
	 * stalls if we need to run get_block().  We could test
	 * PagePrivate for that.
	 */
	if (!is_page_cache_freeable(folio))
		return PAGE_KEEP;
	if (mapping != &swapper_space)
		return PAGE_ACTIVATE;
	if (folio_test_clear_dirty(folio)) {	/* folio_clear_dirty_for_io() */
		swap_writepage(&folio->page);	/* unlocks the folio */
		return PAGE_SUCCESS;
	}
	return PAGE_CLEAN;
}

/*
 * Same as remove_mapping, but if the folio is removed from the mapping, it
 * gets returned with a refcount of 0.
 */
static int __remove_mapping(void *mapping, struct folio *folio)
{
	swp_entry_t swap;

	BUG_ON(!folio_test_locked(folio));
	BUG_ON(mapping != folio_mapping(folio));

	swap_cache_lock();
	/*
	 * The non racy check for a busy folio.
	 *
	 * Must be careful with the order of the tests. When someone has
	 * a ref to the folio, it may be possible that they dirty it then
	 * drop the reference. So if the dirty flag is tested before the
	 * refcount here, then the following race may occur:
	 *
	 * get_user_pages(&page);
	 * [user mapping goes away]
	 * write_to(page);
	 *				!folio_test_dirty(folio)    [good]
	 * folio_set_dirty(folio);
	 * folio_put(folio);
	 *				!refcount(folio)   [good, discard it]
	 *
	 * [oops, our write_to data is lost]
	 *
	 * Reversing the order of the tests ensures such a situation cannot
	 * escape unnoticed. The smp_rmb is needed to ensure the folio->flags
	 * load is not satisfied before that of folio->_refcount.
	 */
	if (!folio_ref_freeze(folio, 2))
		goto cannot_free;
	if (unlikely(folio_test_dirty(folio))) {
		folio_ref_unfreeze(folio, 2);
		goto cannot_free;
	}

	swap.val = page_private(&folio->page);
	/* Oracle 7: a clean folio is dropped only if its copy is current. */
	check_clean_folio_dropped(&folio->page, swap_slot_data(swap),
				  swp_offset(swap), __swap_count(swap));
	__delete_from_swap_cache(folio, swap);
	swap_cache_unlock();
	put_swap_page(&folio->page, swap);
	return 1;

cannot_free:
	swap_cache_unlock();
	return 0;
}

/* free_unref_page_list() for folios whose references were frozen to 0 */
static void free_frozen_folio(struct folio *folio)
{
	ClearPageActive(&folio->page);
	free_unref_page(&folio->page);
}

/*
 * shrink_folio_list() returns the number of reclaimed pages; the folios
 * it keeps are left on @folio_list with their isolation reference.
 */
static unsigned long shrink_folio_list(struct list_head *folio_list,
				       bool ignore_references)
{
	LIST_HEAD(ret_folios);
	unsigned long nr_reclaimed = 0;

	while (!list_empty(folio_list)) {
		enum folio_references references = FOLIOREF_RECLAIM;
		struct folio *folio;
		void *mapping;

		folio = page_folio(list_first_entry(folio_list, struct page,
						    lru));
		list_del_init(&folio->page.lru);

		if (!folio_trylock(folio))
			goto keep;

		VM_BUG_ON_FOLIO(folio_test_active(folio), folio);

		if (!ignore_references)
			references = folio_check_references(folio);

		switch (references) {
		case FOLIOREF_ACTIVATE:
			goto activate_locked;
		case FOLIOREF_KEEP:
			goto keep_locked;
		case FOLIOREF_RECLAIM:
		case FOLIOREF_RECLAIM_CLEAN:
			; /* try to reclaim the folio below */
		}

		/*
		 * Anonymous process memory has backing store?
		 * Try to allocate it some swap space here.
		 * Lazyfree folio could be freed directly
		 */
		if (folio_test_anon(folio) && folio_test_swapbacked(folio)) {
			if (!folio_test_swapcache(folio)) {
				if (folio_maybe_dma_pinned(folio))
					goto keep_locked;
				if (!add_to_swap(folio))
					goto activate_locked;
			}
		}

		/*
		 * The folio is mapped into the page tables of one or more
		 * processes. Try to unmap it here.
		 */
		if (folio_mapped(folio)) {
			try_to_unmap(folio, TTU_BATCH_FLUSH);
			if (folio_mapped(folio))
				goto activate_locked;
		}

		mapping = folio_mapping(folio);
		if (folio_test_dirty(folio)) {
			if (references == FOLIOREF_RECLAIM_CLEAN)
				goto keep_locked;

			switch (pageout(folio, mapping)) {
			case PAGE_KEEP:
				goto keep_locked;
			case PAGE_ACTIVATE:
				goto activate_locked;
			case PAGE_SUCCESS:
				if (folio_test_dirty(folio))
					goto keep;
				/*
				 * A synchronous write - probably a ramdisk.  Go
				 * ahead and try to reclaim the folio.
				 */
				if (!folio_trylock(folio))
					goto keep;
				if (folio_test_dirty(folio))
					goto keep_locked;
				mapping = folio_mapping(folio);
				fallthrough;
			case PAGE_CLEAN:
				; /* try to free the folio below */
			}
		}

		if (folio_test_anon(folio) && !folio_test_swapbacked(folio)) {
			/* follow __remove_mapping for reference */
			if (!folio_ref_freeze(folio, 1))
				goto keep_locked;
			/*
			 * The folio has only one reference left, which is
			 * from the isolation. After the caller puts the
			 * folio back on the lru and drops the reference, the
			 * folio will be freed anyway. It doesn't matter
			 * which lru it goes on. So we don't bother checking
			 * the dirty flag here.
			 */
		} else if (!mapping || !__remove_mapping(mapping, folio)) {
			goto keep_locked;
		}

		folio_unlock(folio);
		free_frozen_folio(folio);
		nr_reclaimed++;
		continue;

activate_locked:
		/* Not a candidate for swapping, so reclaim swap space. */
		if (folio_test_swapcache(folio) && vm_swap_full())
			try_to_free_swap(&folio->page);
		VM_BUG_ON_FOLIO(folio_test_active(folio), folio);
		SetPageActive(&folio->page);
keep_locked:
		folio_unlock(folio);
keep:
		list_add(&folio->page.lru, &ret_folios);
	}
	/* 'folio_list' is always empty here */
	while (!list_empty(&ret_folios)) {
		struct page *page = list_first_entry(&ret_folios, struct page,
						     lru);

		list_move_tail(&page->lru, folio_list);
	}
	return nr_reclaimed;
}

/*
 * isolate_lru_folios(): take every folio off the LRU, with a reference,
 * onto @inactive or @active.
 */
static void isolate_lru_folios(struct list_head *inactive,
			       struct list_head *active)
{
	struct page *page, *next;

	spin_lock(&lruvec.lru_lock);
	list_for_each_entry_safe(page, next, &lruvec.list, lru) {
		/* folio_try_get(): a folio being freed is skipped */
		if (!get_page_unless_zero(page))
			continue;
		ClearPageLRU(page);
		list_del_init(&page->lru);
		list_add_tail(&page->lru, PageActive(page) ? active : inactive);
	}
	spin_unlock(&lruvec.lru_lock);
}

/* shrink_active_list(): anon folios are deactivated, referenced or not. */
static void shrink_active_list(struct list_head *active)
{
	struct page *page;
	unsigned long vm_flags;

	list_for_each_entry(page, active, lru) {
		if (page_mapped(page))
			folio_referenced(page_folio(page), 0, &vm_flags);
		ClearPageActive(page);
	}
	putback_lru_list(active);
}

/* One pass over the LRU: the "reclaim" op and direct reclaim. */
unsigned long shrink_all_lru(void)
{
	LIST_HEAD(inactive);
	LIST_HEAD(active);
	unsigned long nr;

	lru_add_drain();
	isolate_lru_folios(&inactive, &active);
	shrink_active_list(&active);
	nr = shrink_folio_list(&inactive, false);
	putback_lru_list(&inactive);
	return nr;
}

/* MADV_PAGEOUT: reclaim exactly these isolated folios, references or not. */
unsigned long reclaim_pages(struct list_head *folio_list)
{
	unsigned long nr;
	struct page *page;

	list_for_each_entry(page, folio_list, lru)
		ClearPageActive(page);
	nr = shrink_folio_list(folio_list, true);
	putback_lru_list(folio_list);
	return nr;
}

/* Direct reclaim from the page allocator (PF_MEMALLOC against recursion). */
unsigned long try_to_free_pages(void)
{
	static bool in_reclaim[NR_CPUS + 1];
	int cpu = current_cpu ? current_cpu->id : NR_CPUS;
	unsigned long nr;

	if (in_reclaim[cpu])
		return 0;
	in_reclaim[cpu] = true;
	nr = shrink_all_lru();
	in_reclaim[cpu] = false;
	return nr;
}
