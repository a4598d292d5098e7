/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Swap (include/linux/swap.h): one small swap device with real bytes, the
 * swap cache, and reclaim (mm/vmscan.c).
 *
 * The device is a "fast" block device, not SWP_SYNCHRONOUS_IO: swap-in
 * always goes through the swap cache.  Reads and writes complete at once
 * (no PG_writeback window): see docs/architecture.md.
 */
#ifndef MIGRACE_SWAP_H
#define MIGRACE_SWAP_H

#include <migrace/mm.h>

#define SWAP_SLOTS 24		/* slot 0 is the header, never used */
#define SWAP_HAS_CACHE 0x40	/* swap_map: the swap cache holds the slot */
#define SWAP_MAP_MAX 0x3e

struct swap_info_struct {
	spinlock_t lock;
	unsigned char swap_map[SWAP_SLOTS];
	unsigned int inuse_pages;
	u64 data[SWAP_SLOTS][PAGE_SLOTS];	/* the device's contents */
};

extern struct swap_info_struct swap_info;

void swap_reset(void);
unsigned int nr_swap_slots_used(void);
bool vm_swap_full(void);

/* mm/swapfile.c */
swp_entry_t folio_alloc_swap(struct folio *folio);
int swapcache_prepare(swp_entry_t entry);
int swap_duplicate(swp_entry_t entry);
void swap_free(swp_entry_t entry);
int free_swap_and_cache(swp_entry_t entry);
bool try_to_free_swap(struct page *page);
int __swap_count(swp_entry_t entry);

/* mm/swap_state.c */
void swap_cache_reset(void);
/* Teardown: drop every unmapped folio the swap cache still holds. */
void swap_cache_drain(void);
bool add_to_swap(struct folio *folio);
void delete_from_swap_cache(struct folio *folio);
void __delete_from_swap_cache(struct folio *folio, swp_entry_t entry);
void put_swap_page(struct page *page, swp_entry_t entry);
struct page *lookup_swap_cache(swp_entry_t entry);
struct page *read_swap_cache_async(swp_entry_t entry, bool *new_page);
int swap_writepage(struct page *page);
/* The slot's bytes, for oracle 7 (harness instrumentation, not kernel). */
const u64 *swap_slot_data(swp_entry_t entry);
void swap_cache_lock(void);
struct page *lookup_swap_cache_locked(swp_entry_t entry);
void swap_cache_replace_locked(swp_entry_t entry, struct page *page);
void swap_cache_unlock(void);

/* mm/vmscan.c */
unsigned long shrink_all_lru(void);		/* the reclaim op */
unsigned long reclaim_pages(struct list_head *folio_list);
unsigned long try_to_free_pages(void);	/* direct reclaim */
int folio_referenced(struct folio *folio, int is_locked,
		     unsigned long *vm_flags);

/* mm/rmap.c */
bool try_to_unmap(struct folio *folio, int flags);

/* mm/swap.c */
void mark_page_lazyfree(struct page *page);
void deactivate_page(struct page *page);
void putback_lru_list(struct list_head *list);

#endif
