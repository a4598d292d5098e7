// SPDX-License-Identifier: GPL-2.0
/*
 * mm/swapfile.c: one swap device.  swap_map[] counts the swap ptes that
 * reference each slot, with SWAP_HAS_CACHE while the swap cache holds
 * a folio for it; a slot is free when its map is 0.  Linux 6.0 shape.
 */
#include <migrace/check.h>
#include <migrace/swap.h>

struct swap_info_struct swap_info;

void swap_reset(void)
{
	memset(&swap_info, 0, sizeof(swap_info));
	spin_lock_init(&swap_info.lock, "si->lock");
	swap_cache_reset();
}

unsigned int nr_swap_slots_used(void)
{
	return READ_ONCE(swap_info.inuse_pages);
}

/* mem_cgroup_swap_full() without a memcg: more than half the slots used. */
bool vm_swap_full(void)
{
	return nr_swap_slots_used() * 2 > SWAP_SLOTS - 1;
}

static unsigned long swp_slot(swp_entry_t entry, const char *func)
{
	unsigned long offset = swp_offset(entry);

	if (swp_type(entry) != SWP_SWAPFILE || !offset || offset >= SWAP_SLOTS)
		report_bug(NULL, 0, "%s: bad swap entry %#lx", func, entry.val);
	return offset;
}

static inline unsigned char swap_count(unsigned char ent)
{
	return ent & ~SWAP_HAS_CACHE;
}

/* si->lock held.  Returns the map value left. */
static unsigned char __swap_entry_free_locked(struct swap_info_struct *si,
					      unsigned long offset,
					      unsigned char usage)
{
	unsigned char count = swap_count(si->swap_map[offset]);
	unsigned char has_cache = si->swap_map[offset] & SWAP_HAS_CACHE;

	if (usage == SWAP_HAS_CACHE) {
		VM_BUG_ON(!has_cache);
		has_cache = 0;
	} else {
		if (!count)
			report_bug(NULL, 0,
				   "swap_free: slot %lu has no swap count left",
				   offset);
		count--;
	}
	usage = count | has_cache;
	WRITE_ONCE(si->swap_map[offset], usage);
	if (!usage)
		WRITE_ONCE(si->inuse_pages, si->inuse_pages - 1);	/* swap_range_free() */
	return usage;
}

static unsigned char __swap_entry_free(swp_entry_t entry, const char *func)
{
	struct swap_info_struct *si = &swap_info;
	unsigned long offset = swp_slot(entry, func);
	unsigned char usage;

	spin_lock(&si->lock);
	usage = __swap_entry_free_locked(si, offset, 1);
	spin_unlock(&si->lock);
	return usage;
}

/* get_swap_pages() for one slot: the swap cache will hold it. */
swp_entry_t folio_alloc_swap(struct folio *folio)
{
	struct swap_info_struct *si = &swap_info;
	swp_entry_t entry = { 0 };

	(void)folio;
	spin_lock(&si->lock);
	for (unsigned long off = 1; off < SWAP_SLOTS; off++) {
		if (si->swap_map[off])
			continue;
		WRITE_ONCE(si->swap_map[off], SWAP_HAS_CACHE);
		WRITE_ONCE(si->inuse_pages, si->inuse_pages + 1);
		entry = swp_entry(SWP_SWAPFILE, off);
		break;
	}
	spin_unlock(&si->lock);
	return entry;
}

/*
 * __swap_duplicate(): @usage 1 adds a swap pte reference, SWAP_HAS_CACHE
 * claims the slot for the swap cache (-EEXIST: someone has; -ENOENT: the
 * slot was freed meanwhile).
 */
static int __swap_duplicate(swp_entry_t entry, unsigned char usage)
{
	struct swap_info_struct *si = &swap_info;
	unsigned long offset = swp_slot(entry, __func__);
	unsigned char count, has_cache;
	int err = 0;

	spin_lock(&si->lock);
	count = swap_count(si->swap_map[offset]);
	has_cache = si->swap_map[offset] & SWAP_HAS_CACHE;
	if (usage == SWAP_HAS_CACHE) {
		if (!has_cache && count)
			has_cache = SWAP_HAS_CACHE;
		else if (has_cache)
			err = -EEXIST;
		else
			err = -ENOENT;
	} else if (count || has_cache) {
		if (count < SWAP_MAP_MAX)
			count += usage;
		else
			err = -ENOMEM;
	} else {
		err = -ENOENT;	/* unused swap entry */
	}
	if (!err)
		WRITE_ONCE(si->swap_map[offset], count | has_cache);
	spin_unlock(&si->lock);
	return err;
}

int swap_duplicate(swp_entry_t entry)
{
	int err = __swap_duplicate(entry, 1);

	if (err == -ENOENT)
		report_bug(NULL, 0, "swap_duplicate: unused swap entry %#lx",
			   entry.val);
	return err;
}

int swapcache_prepare(swp_entry_t entry)
{
	return __swap_duplicate(entry, SWAP_HAS_CACHE);
}

void swap_free(swp_entry_t entry)
{
	__swap_entry_free(entry, __func__);
}

/* The swap cache lets go of the slot. */
void put_swap_page(struct page *page, swp_entry_t entry)
{
	struct swap_info_struct *si = &swap_info;
	unsigned long offset = swp_slot(entry, __func__);

	(void)page;
	spin_lock(&si->lock);
	__swap_entry_free_locked(si, offset, SWAP_HAS_CACHE);
	spin_unlock(&si->lock);
}

int __swap_count(swp_entry_t entry)
{
	return swap_count(READ_ONCE(swap_info.swap_map[swp_slot(entry,
								 __func__)]));
}

/* folio_swapped(): does any swap pte still reference the folio's slot? */
static bool folio_swapped(struct folio *folio)
{
	swp_entry_t entry = { .val = page_private(&folio->page) };
	struct swap_info_struct *si = &swap_info;
	bool ret;

	spin_lock(&si->lock);
	ret = swap_count(si->swap_map[swp_slot(entry, __func__)]) != 0;
	spin_unlock(&si->lock);
	return ret;
}

/*
 * If swap is getting full, or if there are no more mappings of this page,
 * then try_to_free_swap is called to free its swap space.
 */
bool try_to_free_swap(struct page *page)
{
	struct folio *folio = page_folio(page);

	VM_BUG_ON_FOLIO(!folio_test_locked(folio), folio);

	if (!folio_test_swapcache(folio))
		return false;
	if (folio_swapped(folio))
		return false;

	delete_from_swap_cache(folio);
	/* The swap copy is gone: the folio is now the only copy. */
	SetPageDirty(&folio->page);
	return true;
}

#define TTRS_ANYWAY 0x1
#define TTRS_UNMAPPED 0x2
#define TTRS_FULL 0x4

static int __try_to_reclaim_swap(swp_entry_t entry, unsigned long flags)
{
	struct page *page = lookup_swap_cache(entry);
	int ret = 0;

	if (!page)
		return 0;
	/*
	 * We hold a folio lock elsewhere in some callers: trylock only, to
	 * avoid a deadlock.
	 */
	if (trylock_page(page)) {
		if ((flags & TTRS_ANYWAY) ||
		    ((flags & TTRS_UNMAPPED) && !page_mapped(page)) ||
		    ((flags & TTRS_FULL) && vm_swap_full()))
			ret = try_to_free_swap(page);
		unlock_page(page);
	}
	put_page(page);
	return ret ? 1 : -1;
}

/*
 * Free the swap entry like above, but also try to
 * free the page cache entry if it is the last user.
 */
int free_swap_and_cache(swp_entry_t entry)
{
	unsigned char count;

	if (non_swap_entry(entry))
		return 1;
	count = __swap_entry_free(entry, __func__);
	if (count == SWAP_HAS_CACHE)
		__try_to_reclaim_swap(entry, TTRS_UNMAPPED | TTRS_FULL);
	return 1;
}
