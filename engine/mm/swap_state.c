// SPDX-License-Identifier: GPL-2.0
/*
 * mm/swap_state.c: the swap cache.  An XArray under its xa_lock in Linux;
 * here an array indexed by slot under one spinlock.  Lookups take the lock
 * instead of RCU plus a speculative reference (simplified: a lookup can
 * never see a frozen folio, since freezers hold the same lock).
 */
#include <migrace/cacheflush.h>
#include <migrace/check.h>
#include <migrace/migrate.h>
#include <migrace/swap.h>

struct address_space swapper_space = { .name = "swapper_space" };

static struct {
	spinlock_t xa_lock;
	struct page *pages[SWAP_SLOTS];
} swap_cache;

void swap_cache_reset(void)
{
	spin_lock_init(&swap_cache.xa_lock, "swapper_space.i_pages");
	memset(swap_cache.pages, 0, sizeof(swap_cache.pages));
}

void swap_cache_lock(void)
{
	spin_lock(&swap_cache.xa_lock);
}

void swap_cache_unlock(void)
{
	spin_unlock(&swap_cache.xa_lock);
}

/* The xa_lock is held (folio_migrate_mapping()). */
struct page *lookup_swap_cache_locked(swp_entry_t entry)
{
	return swap_cache.pages[swp_offset(entry) % SWAP_SLOTS];
}

void swap_cache_replace_locked(swp_entry_t entry, struct page *page)
{
	swap_cache.pages[swp_offset(entry) % SWAP_SLOTS] = page;
}

const u64 *swap_slot_data(swp_entry_t entry)
{
	return swap_info.data[swp_offset(entry) % SWAP_SLOTS];
}

/* The caller holds a reference it hands over to the swap cache's. */
static void add_to_swap_cache(struct folio *folio, swp_entry_t entry)
{
	unsigned long off = swp_offset(entry);

	VM_BUG_ON_FOLIO(!folio_test_locked(folio), folio);
	VM_BUG_ON_FOLIO(folio_test_swapcache(folio), folio);
	VM_BUG_ON_FOLIO(!folio_test_swapbacked(folio), folio);

	folio_ref_add(folio, 1);
	SetPageSwapCache(&folio->page);
	swap_cache_lock();
	VM_BUG_ON(swap_cache.pages[off]);
	WRITE_ONCE(folio->page.private, entry.val);
	swap_cache.pages[off] = &folio->page;
	swap_cache_unlock();
}

/*
 * This must be called only on folios that have
 * been verified to be in the swap cache.  The xa_lock is held.
 */
void __delete_from_swap_cache(struct folio *folio, swp_entry_t entry)
{
	unsigned long off = swp_offset(entry);

	VM_BUG_ON_FOLIO(!folio_test_locked(folio), folio);
	VM_BUG_ON_FOLIO(!folio_test_swapcache(folio), folio);
	VM_BUG_ON(swap_cache.pages[off] != &folio->page);
	swap_cache.pages[off] = NULL;
	WRITE_ONCE(folio->page.private, 0);
	ClearPageSwapCache(&folio->page);
}

/**
 * add_to_swap - allocate swap space for a folio
 * @folio: folio we want to move to swap
 *
 * Allocate swap space for the folio and add the folio to the
 * swap cache.
 *
 * Context: Caller needs to hold the folio lock.
 * Return: Whether the folio was added to the swap cache.
 */
bool add_to_swap(struct folio *folio)
{
	swp_entry_t entry;

	VM_BUG_ON_FOLIO(!folio_test_locked(folio), folio);
	VM_BUG_ON_FOLIO(!folio_test_uptodate(folio), folio);

	entry = folio_alloc_swap(folio);
	if (!entry.val)
		return false;
	add_to_swap_cache(folio, entry);
	/*
	 * Normally the folio will be dirtied in unmap because its
	 * pte should be dirty. A special case is MADV_FREE page. The
	 * page's pte could have dirty bit cleared but the folio's
	 * SwapBacked flag is still set because clearing the dirty bit
	 * and SwapBacked flag has no lock protected. For such folio,
	 * unmap will not set dirty bit for it, so folio reclaim will
	 * not write the folio out. This can cause data corruption when
	 * the folio is swapped in later. Always setting the dirty flag
	 * for the folio solves the problem.
	 */
	folio_mark_dirty(folio);
	return true;
}

/*
 * This must be called only on folios that have
 * been verified to be in the swap cache and locked.
 * It will never put the folio into the free list,
 * the caller has a reference on the folio.
 */
void delete_from_swap_cache(struct folio *folio)
{
	swp_entry_t entry = { .val = page_private(&folio->page) };

	swap_cache_lock();
	__delete_from_swap_cache(folio, entry);
	swap_cache_unlock();
	put_swap_page(&folio->page, entry);
	folio_ref_sub(folio, 1);
}

/* swap_cache_get_folio(): the folio with a reference, or NULL. */
struct page *lookup_swap_cache(swp_entry_t entry)
{
	struct page *page;

	swap_cache_lock();
	page = swap_cache.pages[swp_offset(entry) % SWAP_SLOTS];
	if (page && !get_page_unless_zero(page))
		page = NULL;
	swap_cache_unlock();
	return page;
}

static void swap_readpage(struct page *page, swp_entry_t entry)
{
	VM_BUG_ON_PAGE(!PageLocked(page), page);
	check_page_alive(page, "swap_readpage");
	cache_phys_write(page_to_pfn(page), -1);
	for (int s = 0; s < PAGE_SLOTS; s++)
		page_data_write(page, s, swap_info.data[swp_offset(entry)][s]);
	SetPageUptodate(page);
	unlock_page(page);	/* the read completes at once */
}

/*
 * Locate a page of swap in physical memory, reserving swap cache space
 * and reading the disk if it is not already cached.
 * A failure return means that either the page allocation failed or that
 * the swap entry is no longer in use.
 */
struct page *read_swap_cache_async(swp_entry_t entry, bool *new_page)
{
	struct page *page;

	*new_page = false;
	for (;;) {
		int err;

		page = lookup_swap_cache(entry);
		if (page)
			return page;
		/* Just skip read ahead for unused swap slot. */
		if (!__swap_count(entry))
			return NULL;
		/*
		 * Get a new page to read into from swap.  Allocate it now,
		 * before marking swap_map SWAP_HAS_CACHE, when -EEXIST will
		 * cause any racers to loop around until we add it to cache.
		 */
		page = alloc_page();
		if (!page)
			return NULL;
		/* Swap entry may have been freed since our caller observed it. */
		err = swapcache_prepare(entry);
		if (!err)
			break;
		put_page(page);
		if (err != -EEXIST)
			return NULL;
		/*
		 * We might race against __delete_from_swap_cache(), and
		 * stumble across a swap_map entry whose SWAP_HAS_CACHE
		 * has not yet been cleared.  Or race against another
		 * read_swap_cache_async(), which has set SWAP_HAS_CACHE
		 * in swap_map, but not yet added its page to swap cache.
		 */
		sched_yield_point("swapcache_prepare -EEXIST", __func__);
	}
	/* The swap entry is ours to swap in. Prepare the new page. */
	__atomic_or_fetch(&page->flags, BIT(PG_locked) | BIT(PG_swapbacked),
			  __ATOMIC_RELAXED);	/* nobody sees it yet */
	add_to_swap_cache(page_folio(page), entry);
	lru_cache_add(page);
	*new_page = true;
	swap_readpage(page, entry);
	return page;
}

/* The folio is locked and clean in the swap cache: write it to its slot. */
int swap_writepage(struct page *page)
{
	swp_entry_t entry = { .val = page_private(page) };

	if (try_to_free_swap(page)) {
		unlock_page(page);
		return 0;
	}
	check_page_alive(page, "swap_writepage");
	sched_point(EV_NOTE, "swap_writepage", __func__, page,
		    page_to_pfn(page), entry.val);
	cache_phys_read(page_to_pfn(page), true);	/* I/O-coherent DMA */
	for (int s = 0; s < PAGE_SLOTS; s++)
		swap_info.data[swp_offset(entry)][s] = page_data_read(page, s);
	unlock_page(page);	/* the write completes at once */
	return 0;
}

/*
 * Teardown only (every process has exited): what reclaim would do over
 * time, drop the unmapped folios the swap cache still holds.
 */
void swap_cache_drain(void)
{
	for (unsigned long off = 1; off < SWAP_SLOTS; off++) {
		struct page *page = lookup_swap_cache(swp_entry(SWP_SWAPFILE,
								  off));

		if (!page)
			continue;
		lock_page(page);
		if (!page_mapped(page) && PageSwapCache(page))
			delete_from_swap_cache(page_folio(page));
		unlock_page(page);
		put_page(page);
	}
}
