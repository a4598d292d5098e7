/*
 * Swap (engine/mm/swapfile.c, swap_state.c, vmscan.c, madvise.c and the
 * swap paths of memory.c, rmap.c, migrate.c, migrate_device.c): swap-out
 * and swap-in, the swap cache and its counts, reclaim and the
 * accessed/dirty bits it relies on, MADV_FREE, migration of swap-cache
 * folios, young/dirty carried through a declined device migration, and
 * oracle 7 (a clean folio dropped from the swap cache must equal its
 * slot).
 *
 * Everything runs on one thread, outside any schedule: nothing here may
 * wait on a lock.
 */
#include "harness.h"

#include <migrace/check.h>
#include <migrace/dmirror.h>
#include <migrace/fixes.h>
#include <migrace/migrate.h>
#include <migrace/swap.h>

#include "machine.h"

#define A0 REGION_START
#define A1 (REGION_START + 1 * PAGE_SIZE)
#define A2 (REGION_START + 2 * PAGE_SIZE)
#define A3 (REGION_START + 3 * PAGE_SIZE)

/* ---- helpers ---- */

static swp_entry_t entry_at(struct mm_struct *mm, unsigned long addr)
{
	return pte_to_swp_entry(pte_now(mm, addr));
}

static unsigned char swap_map_of(swp_entry_t entry)
{
	return swap_info.swap_map[swp_offset(entry)];
}

/* A genuine swap pte (not present, not a migration/device entry)? */
static bool is_swapped(struct mm_struct *mm, unsigned long addr)
{
	pte_t pte = pte_now(mm, addr);

	return is_swap_pte(pte) && !non_swap_entry(pte_to_swp_entry(pte));
}

/*
 * @mm with p0 = { 0x11, 0, 0, 0x33, 0... } at A0, swapped out with
 * MADV_PAGEOUT; the page it had in *@page (freed).  0 or -1.
 */
static int swapped_out(struct mm_struct *mm, struct page **page)
{
	if (!mm || store(mm, A0, 0, 0x11) || store(mm, A0, 3, 0x33))
		return -1;
	lru_add_drain();
	if (page)
		*page = page_at(mm, A0);
	if (do_madvise(mm, A0, PAGE_SIZE, MADV_PAGEOUT, NULL))
		return -1;
	return is_swapped(mm, A0) ? 0 : -1;
}

/* The swap cache's folio for @entry, without keeping a reference. */
static struct page *cached(swp_entry_t entry)
{
	struct page *page = lookup_swap_cache(entry);

	if (page)
		put_page(page);
	return page;
}

static struct dmirror_device mdevice;
static struct dmirror dmirror;

static int dmirror_setup(struct mm_struct *mm)
{
	dmirror_device_init(&mdevice);
	return dmirror_init(&dmirror, &mdevice, mm);
}

static unsigned long dpt_idx(unsigned long addr)
{
	return (addr - TASK_UNMAPPED_BASE) >> PAGE_SHIFT;
}

/* One reclaim pass, for machine_call(). */
static void reclaim_pass(void *arg)
{
	(void)arg;
	shrink_all_lru();
}

/* ---- 1. swap-out ---- */

TEST(pageout_writes_slot_and_frees_page)
{
	struct mm_struct *mm = boot(2);
	struct page *page;
	unsigned long nfree;
	swp_entry_t entry;
	const u64 *data;
	pte_t pte;

	ASSERT_TRUE(mm != NULL);
	ASSERT_EQ(store(mm, A0, 0, 0x11), 0);
	ASSERT_EQ(store(mm, A0, 3, 0x33), 0);
	ASSERT_EQ(store(mm, A1, 0, 0x44), 0);
	lru_add_drain();
	page = page_at(mm, A0);
	ASSERT_TRUE(PageLRU(page));
	ASSERT_FALSE(PageSwapCache(page));
	ASSERT_EQ(nr_swap_slots_used(), 0);
	nfree = nr_free_pages();

	ASSERT_EQ(do_madvise(mm, A0, PAGE_SIZE, MADV_PAGEOUT, NULL), 0);

	pte = pte_now(mm, A0);
	ASSERT_FALSE(pte_present(pte));
	ASSERT_TRUE(is_swap_pte(pte));
	entry = pte_to_swp_entry(pte);
	ASSERT_FALSE(non_swap_entry(entry));
	ASSERT_EQ(swp_type(entry), SWP_SWAPFILE);
	ASSERT_TRUE(swp_offset(entry) >= 1 && swp_offset(entry) < SWAP_SLOTS);
	/* The page was PG_anon_exclusive: so is the swap pte. */
	ASSERT_TRUE(pte_swp_exclusive(pte));
	/* The slot holds the bytes, every slot of them. */
	data = swap_slot_data(entry);
	for (int s = 0; s < PAGE_SLOTS; s++)
		ASSERT_EQ(data[s], s == 0 ? 0x11 : s == 3 ? 0x33 : 0);
	/* The page is freed and has left the swap cache. */
	ASSERT_TRUE(PageBuddy(page));
	ASSERT_EQ(page_count(page), 0);
	ASSERT_EQ(nr_free_pages(), nfree + 1);
	ASSERT_EQ(cached(entry), NULL);
	/* One slot, one swap pte referencing it, no cache. */
	ASSERT_EQ(nr_swap_slots_used(), 1);
	ASSERT_EQ(__swap_count(entry), 1);
	ASSERT_EQ(swap_map_of(entry), 1);
	ASSERT_EQ(mm->rss_anon, 1);	/* A1 only */
	ASSERT_FALSE(tlb_has(0, mm, A0));
	/* The neighbour is untouched. */
	ASSERT_TRUE(pte_present(pte_now(mm, A1)));
	ASSERT_EQ(page_at(mm, A1)->data[0], 0x44);
}

/* ---- 2. swap-in, read fault ---- */

TEST(read_fault_swaps_in_readonly_clean_and_cached)
{
	struct mm_struct *mm = boot(2);
	struct page *page;
	unsigned long nfree;
	swp_entry_t entry;
	pte_t pte;
	u64 v = 0;

	ASSERT_EQ(swapped_out(mm, NULL), 0);
	entry = entry_at(mm, A0);
	nfree = nr_free_pages();

	ASSERT_EQ(load(mm, A0, 3, &v), 0);
	ASSERT_EQ(v, 0x33);
	ASSERT_EQ(load(mm, A0, 0, &v), 0);
	ASSERT_EQ(v, 0x11);

	pte = pte_now(mm, A0);
	ASSERT_TRUE(pte_present(pte));
	ASSERT_FALSE(pte_write(pte));	/* a read fault maps read-only */
	ASSERT_FALSE(pte_dirty(pte));
	page = page_at(mm, A0);
	ASSERT_EQ(nr_free_pages(), nfree - 1);
	ASSERT_FALSE(PageDirty(page));
	ASSERT_TRUE(PageUptodate(page));
	ASSERT_TRUE(PageAnon(page));
	ASSERT_TRUE(PageSwapBacked(page));
	/* The swap pte was exclusive: RMAP_EXCLUSIVE. */
	ASSERT_TRUE(PageAnonExclusive(page));
	ASSERT_EQ(page_mapcount(page), 1);
	ASSERT_FALSE(PageLocked(page));
	/* Still in the swap cache, which keeps the slot (count 0). */
	ASSERT_TRUE(PageSwapCache(page));
	ASSERT_EQ(page_private(page), entry.val);
	ASSERT_EQ(cached(entry), page);
	ASSERT_EQ(nr_swap_slots_used(), 1);
	ASSERT_EQ(__swap_count(entry), 0);
	ASSERT_EQ(swap_map_of(entry), SWAP_HAS_CACHE);
	ASSERT_EQ(mm->rss_anon, 1);
	/* References: the mapping, the swap cache (and the LRU batch). */
	lru_add_drain();
	ASSERT_TRUE(PageLRU(page));
	ASSERT_EQ(page_count(page), 2);
}

/* ---- 3. swap-in, write fault ---- */

/*
 * Linux 6.0 should_try_to_free_swap(): a write fault frees the swap
 * cache only if page_count() == 2 (ours + the swap cache's).  A page
 * just read in also has the LRU batch's reference: count 3, the slot
 * stays (with SWAP_HAS_CACHE only); the exclusive swap pte still lets
 * the fault map the page writable and dirty at once.
 */
TEST(write_fault_on_fresh_swapin_keeps_cache_and_maps_writable)
{
	struct mm_struct *mm = boot(2);
	struct page *page;
	swp_entry_t entry;
	pte_t pte;

	ASSERT_EQ(swapped_out(mm, NULL), 0);
	entry = entry_at(mm, A0);

	ASSERT_EQ(store(mm, A0, 1, 0x77), 0);
	pte = pte_now(mm, A0);
	ASSERT_TRUE(pte_present(pte));
	ASSERT_TRUE(pte_write(pte));
	ASSERT_TRUE(pte_dirty(pte));
	page = page_at(mm, A0);
	ASSERT_TRUE(PageAnonExclusive(page));
	ASSERT_EQ(page->data[0], 0x11);
	ASSERT_EQ(page->data[1], 0x77);
	ASSERT_EQ(page->data[3], 0x33);
	/* Kept in the swap cache: the folio itself is not dirty. */
	ASSERT_TRUE(PageSwapCache(page));
	ASSERT_EQ(page_private(page), entry.val);
	ASSERT_FALSE(PageDirty(page));
	ASSERT_EQ(nr_swap_slots_used(), 1);
	ASSERT_EQ(__swap_count(entry), 0);
	ASSERT_EQ(swap_map_of(entry), SWAP_HAS_CACHE);
	lru_add_drain();
	ASSERT_EQ(page_count(page), 2);
}

/*
 * The folio already in the swap cache (readahead): the fault's reference
 * plus the cache's make 2, so the write fault frees the swap copy, the
 * folio becomes the only copy (dirty) and is mapped writable.
 */
TEST(write_fault_on_readahead_folio_frees_the_slot)
{
	struct mm_struct *mm = boot(2);
	struct page *page;
	unsigned long nfree;
	swp_entry_t entry;
	bool new_page = false;
	pte_t pte;
	u64 v = 0;

	ASSERT_EQ(swapped_out(mm, NULL), 0);
	entry = entry_at(mm, A0);
	page = read_swap_cache_async(entry, &new_page);
	ASSERT_TRUE(page != NULL);
	ASSERT_TRUE(new_page);
	ASSERT_FALSE(PageLocked(page));	/* the read completed */
	lru_add_drain();
	ASSERT_EQ(page_count(page), 2);
	put_page(page);
	ASSERT_EQ(page_count(page), 1);	/* the swap cache's */
	ASSERT_EQ(page_mapcount(page), 0);
	ASSERT_EQ(swap_map_of(entry), 1 | SWAP_HAS_CACHE);
	nfree = nr_free_pages();

	ASSERT_EQ(store(mm, A0, 1, 0x78), 0);
	ASSERT_EQ(page_at(mm, A0), page);
	ASSERT_EQ(nr_free_pages(), nfree);
	pte = pte_now(mm, A0);
	ASSERT_TRUE(pte_write(pte));
	ASSERT_TRUE(pte_dirty(pte));
	ASSERT_TRUE(PageAnonExclusive(page));
	/* try_to_free_swap(): out of the swap cache, slot free, dirty. */
	ASSERT_FALSE(PageSwapCache(page));
	ASSERT_EQ(page_private(page), 0);
	ASSERT_TRUE(PageDirty(page));
	ASSERT_EQ(cached(entry), NULL);
	ASSERT_EQ(nr_swap_slots_used(), 0);
	ASSERT_EQ(swap_map_of(entry), 0);
	ASSERT_EQ(page_count(page), 1);
	ASSERT_EQ(load(mm, A0, 3, &v), 0);
	ASSERT_EQ(v, 0x33);
}

/* ---- 4. the swap cache shared by a parent and its child ---- */

TEST(swap_cache_hit_shares_the_page_after_fork)
{
	struct mm_struct *parent = boot(2), *child;
	struct page *old, *page;
	unsigned long nfree;
	swp_entry_t entry;
	u64 v = 0;

	ASSERT_TRUE(parent != NULL);
	ASSERT_EQ(store(parent, A0, 0, 0x40), 0);
	ASSERT_EQ(store(parent, A0, 5, 0x45), 0);
	lru_add_drain();
	old = page_at(parent, A0);
	child = dup_mm(parent, 1);
	ASSERT_TRUE(child != NULL);
	lru_add_drain();
	ASSERT_EQ(page_mapcount(old), 2);

	/*
	 * Mapped twice: MADV_PAGEOUT leaves it alone.  Reclaim keeps it
	 * while the parent's pte is young, then swaps it out of both.
	 */
	ASSERT_EQ(do_madvise(parent, A0, PAGE_SIZE, MADV_PAGEOUT, NULL), 0);
	ASSERT_EQ(page_at(parent, A0), old);
	ASSERT_EQ(shrink_all_lru(), 0);
	ASSERT_EQ(page_at(parent, A0), old);
	ASSERT_EQ(shrink_all_lru(), 1);
	ASSERT_TRUE(PageBuddy(old));
	ASSERT_TRUE(is_swapped(parent, A0));
	ASSERT_TRUE(is_swapped(child, A0));
	entry = entry_at(parent, A0);
	ASSERT_EQ(entry_at(child, A0).val, entry.val);
	/* Shared: neither swap pte is exclusive. */
	ASSERT_FALSE(pte_swp_exclusive(pte_now(parent, A0)));
	ASSERT_FALSE(pte_swp_exclusive(pte_now(child, A0)));
	ASSERT_EQ(nr_swap_slots_used(), 1);
	ASSERT_EQ(__swap_count(entry), 2);
	ASSERT_EQ(swap_slot_data(entry)[5], 0x45);

	/* The parent reads it in. */
	ASSERT_EQ(load(parent, A0, 5, &v), 0);
	ASSERT_EQ(v, 0x45);
	page = page_at(parent, A0);
	ASSERT_TRUE(page != NULL);
	ASSERT_EQ(__swap_count(entry), 1);
	ASSERT_TRUE(PageSwapCache(page));
	ASSERT_FALSE(PageAnonExclusive(page));
	nfree = nr_free_pages();

	/* The child finds the same page in the swap cache. */
	on_cpu(1);
	ASSERT_EQ(load(child, A0, 0, &v), 0);
	ASSERT_EQ(v, 0x40);
	on_cpu(0);
	ASSERT_EQ(page_at(child, A0), page);
	ASSERT_EQ(nr_free_pages(), nfree);
	ASSERT_EQ(__swap_count(entry), 0);
	ASSERT_EQ(swap_map_of(entry), SWAP_HAS_CACHE);
	ASSERT_EQ(nr_swap_slots_used(), 1);
	ASSERT_EQ(page_mapcount(page), 2);
	ASSERT_FALSE(PageAnonExclusive(page));
	ASSERT_FALSE(pte_write(pte_now(parent, A0)));
	ASSERT_FALSE(pte_write(pte_now(child, A0)));
	lru_add_drain_all();
	ASSERT_EQ(page_count(page), 3);	/* two mappings + the cache */

	/* A write from the child copies: the page is shared. */
	on_cpu(1);
	ASSERT_EQ(store(child, A0, 0, 0x50), 0);
	on_cpu(0);
	ASSERT_NE(page_at(child, A0), page);
	ASSERT_EQ(page->data[0], 0x40);
	ASSERT_EQ(load(parent, A0, 0, &v), 0);
	ASSERT_EQ(v, 0x40);
}

/* ---- 5. reclaim: references, writeback, clean drop ---- */

TEST(reclaim_keeps_young_writes_back_dirty_drops_clean)
{
	struct mm_struct *mm = boot(2);
	struct page *page, *in;
	u64 before[PAGE_SLOTS];
	swp_entry_t entry;
	char title[256];
	u64 v = 0;

	ASSERT_TRUE(mm != NULL);
	ASSERT_EQ(store(mm, A0, 0, 0x51), 0);
	ASSERT_EQ(store(mm, A0, 7, 0x57), 0);
	lru_add_drain();
	page = page_at(mm, A0);
	ASSERT_TRUE(pte_young(pte_now(mm, A0)));
	ASSERT_FALSE(PageReferenced(page));

	/* First pass: the young pte spares it (FOLIOREF_KEEP), made old. */
	ASSERT_EQ(shrink_all_lru(), 0);
	ASSERT_EQ(page_at(mm, A0), page);
	ASSERT_FALSE(pte_young(pte_now(mm, A0)));
	ASSERT_TRUE(pte_dirty(pte_now(mm, A0)));
	ASSERT_TRUE(PageReferenced(page));
	ASSERT_FALSE(PageActive(page));
	ASSERT_FALSE(PageSwapCache(page));
	ASSERT_EQ(nr_swap_slots_used(), 0);

	/*
	 * Second pass: swap slot, unmap (the pte's dirty bit moves to the
	 * folio), writeback, free.
	 */
	memcpy(before, page->data, sizeof(before));
	ASSERT_EQ(machine_call(reclaim_pass, NULL, title,
			       sizeof(title)), 0);
	ASSERT_TRUE(PageBuddy(page));
	ASSERT_TRUE(is_swapped(mm, A0));
	entry = entry_at(mm, A0);
	ASSERT_EQ(memcmp(swap_slot_data(entry), before, sizeof(before)), 0);
	ASSERT_EQ(__swap_count(entry), 1);
	ASSERT_EQ(swap_map_of(entry), 1);

	/* A read swap-in: clean, in the swap cache, young (hw). */
	ASSERT_EQ(load(mm, A0, 7, &v), 0);
	ASSERT_EQ(v, 0x57);
	in = page_at(mm, A0);
	ASSERT_TRUE(PageSwapCache(in));
	ASSERT_FALSE(PageDirty(in));
	ASSERT_TRUE(pte_young(pte_now(mm, A0)));
	ASSERT_FALSE(pte_dirty(pte_now(mm, A0)));

	/* Young: kept on the first pass. */
	ASSERT_EQ(shrink_all_lru(), 0);
	ASSERT_EQ(page_at(mm, A0), in);
	ASSERT_FALSE(pte_young(pte_now(mm, A0)));
	ASSERT_TRUE(PageSwapCache(in));
	ASSERT_EQ(swap_map_of(entry), SWAP_HAS_CACHE);

	/*
	 * Old now: unmapped back to its swap entry, and, still clean, dropped
	 * without a writeback (oracle 7 checks the slot is current).
	 */
	ASSERT_EQ(machine_call(reclaim_pass, NULL, title,
			       sizeof(title)), 0);
	ASSERT_TRUE(PageBuddy(in));
	ASSERT_TRUE(is_swapped(mm, A0));
	ASSERT_EQ(entry_at(mm, A0).val, entry.val);	/* the same slot */
	ASSERT_TRUE(pte_swp_exclusive(pte_now(mm, A0)));
	ASSERT_EQ(swap_map_of(entry), 1);
	ASSERT_EQ(nr_swap_slots_used(), 1);
	ASSERT_EQ(cached(entry), NULL);
	ASSERT_EQ(memcmp(swap_slot_data(entry), before, sizeof(before)), 0);
	ASSERT_EQ(load(mm, A0, 0, &v), 0);
	ASSERT_EQ(v, 0x51);
}

/*
 * A clean swap-cache folio is dropped without writeback: make the page
 * differ from its slot without dirtying anything, and reclaim must not
 * write the page's bytes to the slot (it drops it and oracle 7 reports
 * the difference); a dirty one is written back.
 */
static void pageout_a0(void *arg)
{
	do_madvise(arg, A0, PAGE_SIZE, MADV_PAGEOUT, NULL);
}

TEST(reclaim_does_not_write_back_a_clean_folio)
{
	struct mm_struct *mm = boot(2);
	struct page *page;
	swp_entry_t entry;
	char title[256] = "";
	u64 v = 0;

	ASSERT_EQ(swapped_out(mm, NULL), 0);
	entry = entry_at(mm, A0);
	ASSERT_EQ(load(mm, A0, 0, &v), 0);
	page = page_at(mm, A0);
	ASSERT_FALSE(PageDirty(page) || pte_dirty(pte_now(mm, A0)));
	/* Behind the kernel's back: no pte or folio dirty bit. */
	page->data[6] = 0x66;
	ASSERT_EQ(machine_call(pageout_a0, mm, title, sizeof(title)), 1);
	ASSERT_SUBSTR(title, "data loss");
	ASSERT_EQ(swap_slot_data(entry)[6], 0);
}

/* ---- 6. MADV_FREE ---- */

TEST(madv_free_clean_page_is_discarded_by_reclaim)
{
	struct mm_struct *mm = boot(2);
	struct page *page, *keep;
	pte_t pte;
	u64 v = 1;

	ASSERT_TRUE(mm != NULL);
	ASSERT_EQ(store(mm, A0, 0, 0x61), 0);
	ASSERT_EQ(store(mm, A1, 0, 0x71), 0);
	lru_add_drain();
	page = page_at(mm, A0);
	keep = page_at(mm, A1);

	ASSERT_EQ(do_madvise(mm, A0, PAGE_SIZE, MADV_FREE, NULL), 0);
	pte = pte_now(mm, A0);
	ASSERT_TRUE(pte_present(pte));
	ASSERT_FALSE(pte_dirty(pte));
	ASSERT_FALSE(pte_young(pte));
	ASSERT_FALSE(PageSwapBacked(page));
	ASSERT_FALSE(PageDirty(page));
	ASSERT_FALSE(tlb_has(0, mm, A0));

	/* Lazily freed and clean: discarded, no swap. */
	ASSERT_EQ(shrink_all_lru(), 1);	/* A1 is young: kept */
	ASSERT_TRUE(pte_none(pte_now(mm, A0)));
	ASSERT_TRUE(PageBuddy(page));
	ASSERT_EQ(nr_swap_slots_used(), 0);
	ASSERT_EQ(mm->rss_anon, 1);
	ASSERT_EQ(page_at(mm, A1), keep);
	ASSERT_EQ(load(mm, A0, 0, &v), 0);
	ASSERT_EQ(v, 0);
	ASSERT_EQ(load(mm, A1, 0, &v), 0);
	ASSERT_EQ(v, 0x71);
}

TEST(madv_free_then_write_survives_reclaim)
{
	struct mm_struct *mm = boot(2);
	struct page *page;
	int passes = 0;
	u64 v = 0;

	ASSERT_TRUE(mm != NULL);
	ASSERT_EQ(store(mm, A0, 0, 0x61), 0);
	ASSERT_EQ(store(mm, A0, 4, 0x64), 0);
	lru_add_drain();
	page = page_at(mm, A0);
	ASSERT_EQ(do_madvise(mm, A0, PAGE_SIZE, MADV_FREE, NULL), 0);
	ASSERT_FALSE(PageSwapBacked(page));

	/* The write re-dirties the pte (hardware dirty bit). */
	ASSERT_EQ(store(mm, A0, 2, 0x62), 0);
	ASSERT_TRUE(pte_dirty(pte_now(mm, A0)));
	ASSERT_EQ(page_at(mm, A0), page);

	/* Young: kept; then try_to_unmap() finds the dirty pte: remapped. */
	ASSERT_EQ(shrink_all_lru(), 0);
	ASSERT_EQ(shrink_all_lru(), 0);
	ASSERT_EQ(page_at(mm, A0), page);
	ASSERT_TRUE(pte_dirty(pte_now(mm, A0)));
	ASSERT_TRUE(PageSwapBacked(page));
	ASSERT_TRUE(PageDirty(page));
	ASSERT_FALSE(PageBuddy(page));
	ASSERT_EQ(nr_swap_slots_used(), 0);
	ASSERT_EQ(page->data[0], 0x61);
	ASSERT_EQ(page->data[2], 0x62);
	ASSERT_EQ(page->data[4], 0x64);

	/* Swap-backed again: later passes swap it out with all its slots. */
	while (page_at(mm, A0) && passes < 4) {
		shrink_all_lru();
		passes++;
	}
	ASSERT_TRUE(is_swapped(mm, A0));
	ASSERT_EQ(swap_slot_data(entry_at(mm, A0))[2], 0x62);
	ASSERT_EQ(load(mm, A0, 0, &v), 0);
	ASSERT_EQ(v, 0x61);
	ASSERT_EQ(load(mm, A0, 2, &v), 0);
	ASSERT_EQ(v, 0x62);
	ASSERT_EQ(load(mm, A0, 4, &v), 0);
	ASSERT_EQ(v, 0x64);
}

/* ---- 7. migration of a swap-cache folio ---- */

TEST(migrate_folio_moves_the_swap_cache_entry)
{
	struct mm_struct *mm = boot(2);
	struct page *src, *dst;
	swp_entry_t entry;
	bool new_page;
	u64 v = 0;

	ASSERT_EQ(swapped_out(mm, NULL), 0);
	entry = entry_at(mm, A0);
	/* Readahead brings it into the swap cache, unmapped. */
	src = read_swap_cache_async(entry, &new_page);
	ASSERT_TRUE(src != NULL);
	lru_add_drain();
	/* Isolated for migration: isolation + swap cache references. */
	ASSERT_EQ(isolate_lru_page(src), 0);
	put_page(src);
	ASSERT_EQ(page_count(src), 2);
	ASSERT_TRUE(trylock_page(src));
	dst = alloc_page();
	ASSERT_TRUE(dst != NULL);
	ASSERT_TRUE(trylock_page(dst));
	ASSERT_EQ(page_mapping(src), &swapper_space);

	/* An unexpected extra reference: refused, nothing moved. */
	get_page(src);
	ASSERT_EQ(migrate_folio(&swapper_space, page_folio(dst),
				page_folio(src), MIGRATE_SYNC), -EAGAIN);
	ASSERT_EQ(cached(entry), src);
	ASSERT_FALSE(PageSwapCache(dst));
	ASSERT_EQ(page_count(src), 3);
	put_page(src);

	ASSERT_EQ(migrate_folio(&swapper_space, page_folio(dst),
				page_folio(src), MIGRATE_SYNC),
		  MIGRATEPAGE_SUCCESS);
	ASSERT_EQ(cached(entry), dst);
	ASSERT_TRUE(PageSwapCache(dst));
	ASSERT_TRUE(PageSwapBacked(dst));
	ASSERT_TRUE(PageUptodate(dst));
	ASSERT_EQ(page_private(dst), entry.val);
	ASSERT_EQ(page_mapping(dst), &swapper_space);
	ASSERT_FALSE(PageSwapCache(src));
	ASSERT_EQ(page_private(src), 0);
	ASSERT_EQ(memcmp(dst->data, src->data, sizeof(dst->data)), 0);
	ASSERT_EQ(dst->data[3], 0x33);
	/* The cache reference moved: src keeps the isolation one. */
	ASSERT_EQ(page_count(src), 1);
	ASSERT_EQ(page_count(dst), 2);
	ASSERT_EQ(swap_map_of(entry), 1 | SWAP_HAS_CACHE);

	unlock_page(src);
	put_page(src);
	ASSERT_TRUE(PageBuddy(src));
	unlock_page(dst);
	lru_cache_add(dst);
	put_page(dst);
	lru_add_drain();
	ASSERT_EQ(page_count(dst), 1);

	/* The fault finds the new folio in the swap cache. */
	ASSERT_EQ(load(mm, A0, 0, &v), 0);
	ASSERT_EQ(v, 0x11);
	ASSERT_EQ(page_at(mm, A0), dst);
	ASSERT_EQ(__swap_count(entry), 0);
}

TEST(migrate_vma_refuses_a_swap_cache_page)
{
	struct mm_struct *mm = boot(2);
	struct page *page;
	swp_entry_t entry;
	u64 v = 0;

	ASSERT_EQ(swapped_out(mm, NULL), 0);
	entry = entry_at(mm, A0);
	ASSERT_EQ(dmirror_setup(mm), 0);
	ASSERT_EQ(load(mm, A0, 0, &v), 0);
	page = page_at(mm, A0);
	ASSERT_TRUE(PageSwapCache(page));
	lru_add_drain();

	ASSERT_EQ(dmirror_migrate_to_device(&dmirror, A0, 1, 0, 0, 0, false), 0);
	/* Not migrated: mapped on the CPU as before, still cached. */
	ASSERT_TRUE(pte_present(pte_now(mm, A0)));
	ASSERT_EQ(page_at(mm, A0), page);
	ASSERT_TRUE(PageSwapCache(page));
	ASSERT_EQ(page_private(page), entry.val);
	ASSERT_EQ(cached(entry), page);
	ASSERT_FALSE(PageLocked(page));
	ASSERT_EQ(page_mapcount(page), 1);
	ASSERT_EQ(dmirror.pt[dpt_idx(A0)], 0);
	ASSERT_EQ(mdevice.nfree, DEVICE_PAGES);
	lru_add_drain();
	ASSERT_TRUE(PageLRU(page));
	ASSERT_EQ(page_count(page), 2);
	ASSERT_EQ(load(mm, A0, 3, &v), 0);
	ASSERT_EQ(v, 0x33);
}

/* ---- 8. young and dirty through a declined device migration ---- */

/*
 * A freshly written page (pte young, dirty, writable) offered to the
 * device, which declines it: the original page is restored.  Returns the
 * restored pte; *@page the page.
 */
static pte_t declined_migration(unsigned long revert, struct page **page,
				int *err)
{
	struct mm_struct *mm = boot(2);
	pte_t pte;

	*err = -1;
	if (!mm || dmirror_setup(mm) || store(mm, A0, 0, 0x81))
		return __pte(0);
	lru_add_drain();
	fixes_reverted = revert;
	*page = page_at(mm, A0);
	pte = pte_now(mm, A0);
	if (!pte_young(pte) || !pte_dirty(pte) || PageDirty(*page))
		return __pte(0);
	if (dmirror_migrate_to_device(&dmirror, A0, 1, 0, 0x1, 0, false))
		return __pte(0);
	*err = 0;
	return pte_now(mm, A0);
}

TEST(declined_migration_keeps_young_and_dirty)
{
	struct page *page = NULL;
	int err;
	pte_t pte = declined_migration(0, &page, &err);

	ASSERT_EQ(err, 0);
	ASSERT_TRUE(pte_present(pte));
	ASSERT_EQ(pfn_to_page(pte_pfn(pte)), page);
	ASSERT_TRUE(pte_write(pte));
	ASSERT_TRUE(pte_young(pte));
	ASSERT_TRUE(pte_dirty(pte));
	ASSERT_TRUE(PageDirty(page));
	ASSERT_TRUE(PageAnonExclusive(page));
	ASSERT_FALSE(PageLocked(page));
	ASSERT_EQ(mdevice.nfree, DEVICE_PAGES);
}

TEST(declined_migration_without_young_dirty_entry_is_old_and_clean)
{
	struct page *page = NULL;
	int err;
	pte_t pte = declined_migration(1UL << FIX_YOUNG_DIRTY_ENTRY, &page,
				       &err);

	ASSERT_EQ(err, 0);
	ASSERT_TRUE(pte_present(pte));
	ASSERT_EQ(pfn_to_page(pte_pfn(pte)), page);
	ASSERT_TRUE(pte_write(pte));
	ASSERT_FALSE(pte_young(pte));
	ASSERT_FALSE(pte_dirty(pte));
	/* The collect step still moved the dirty bit to the folio. */
	ASSERT_TRUE(PageDirty(page));
}

TEST(declined_migration_without_copy_dirty_bit_loses_dirty)
{
	struct page *page = NULL;
	int err;
	pte_t pte = declined_migration(1UL << FIX_COPY_DIRTY_BIT, &page, &err);

	ASSERT_EQ(err, 0);
	ASSERT_TRUE(pte_present(pte));
	ASSERT_EQ(pfn_to_page(pte_pfn(pte)), page);
	ASSERT_FALSE(PageDirty(page));
	ASSERT_TRUE(pte_young(pte));
	/* The entry was dirty but the folio is not: restored clean. */
	ASSERT_FALSE(pte_dirty(pte));
}

/* ---- 9. oracle 7 ---- */

/*
 * The scenario of "mm/migrate_device.c: copy pte dirty bit to page":
 * a clean swap-cache folio written through its pte, a device migration
 * the driver declines, then reclaim.  The folio under the A0 pte after
 * the set-up in *@page.
 */
static int dirty_swapcache_declined(struct mm_struct *mm, unsigned long revert,
				    struct page **page)
{
	u64 v;

	if (swapped_out(mm, NULL) || dmirror_setup(mm))
		return -1;
	if (load(mm, A0, 0, &v) || v != 0x11)
		return -1;
	*page = page_at(mm, A0);
	if (!PageSwapCache(*page) || PageDirty(*page))
		return -1;
	/* Exclusive: do_wp_page() reuses it; only the pte is dirty. */
	if (store(mm, A0, 1, 0x92) || !pte_dirty(pte_now(mm, A0)) ||
	    page_at(mm, A0) != *page || PageDirty(*page) ||
	    !PageSwapCache(*page))
		return -1;
	lru_add_drain();
	fixes_reverted = revert;
	if (dmirror_migrate_to_device(&dmirror, A0, 1, 0, 0x1, 0, false))
		return -1;
	return page_at(mm, A0) == *page ? 0 : -1;
}

TEST(oracle7_reports_lost_dirty_bit)
{
	struct mm_struct *mm = boot(2);
	struct page *page;
	char title[256] = "";

	ASSERT_EQ(dirty_swapcache_declined(mm, 1UL << FIX_COPY_DIRTY_BIT,
					   &page), 0);
	ASSERT_FALSE(PageDirty(page));
	ASSERT_FALSE(pte_dirty(pte_now(mm, A0)));
	ASSERT_EQ(machine_call(pageout_a0, mm, title, sizeof(title)), 1);
	ASSERT_SUBSTR(title, "data loss");
}

TEST(oracle7_quiet_and_data_survives_with_fixes)
{
	struct mm_struct *mm = boot(2);
	struct page *page;
	swp_entry_t entry;
	char title[256] = "";
	u64 v = 0;

	ASSERT_EQ(dirty_swapcache_declined(mm, 0, &page), 0);
	entry.val = page_private(page);
	ASSERT_TRUE(PageDirty(page));
	ASSERT_TRUE(pte_dirty(pte_now(mm, A0)));
	ASSERT_EQ(machine_call(pageout_a0, mm, title, sizeof(title)), 0);
	ASSERT_TRUE(PageBuddy(page));
	ASSERT_TRUE(is_swapped(mm, A0));
	ASSERT_EQ(entry_at(mm, A0).val, entry.val);
	ASSERT_EQ(swap_slot_data(entry)[1], 0x92);
	ASSERT_EQ(load(mm, A0, 1, &v), 0);
	ASSERT_EQ(v, 0x92);
	ASSERT_EQ(load(mm, A0, 0, &v), 0);
	ASSERT_EQ(v, 0x11);
}

/* ---- 10. teardown ---- */

/*
 * Parent with A0..A2 written, forked, the child with A3 of its own, all
 * swapped out; then A0 read in by both (swap cache, count 0) and A1 read
 * ahead (swap cache, unmapped, count 2).  0 or -1.
 */
static struct mm_struct *tparent, *tchild;
static struct page *tshared, *tra;
static swp_entry_t te0, te1;

static int teardown_setup(void)
{
	bool new_page;
	u64 v;

	tparent = boot(2);
	if (!tparent || store(tparent, A0, 0, 0xa0) ||
	    store(tparent, A1, 0, 0xa1) || store(tparent, A2, 0, 0xa2))
		return -1;
	lru_add_drain();
	tchild = dup_mm(tparent, 1);
	if (!tchild || store(tchild, A3, 0, 0xa3))
		return -1;
	lru_add_drain();
	for (int i = 0; i < 3; i++)
		shrink_all_lru();
	if (!is_swapped(tparent, A0) || !is_swapped(tparent, A1) ||
	    !is_swapped(tparent, A2) || !is_swapped(tchild, A3) ||
	    nr_swap_slots_used() != 4)
		return -1;
	te0 = entry_at(tparent, A0);
	if (load(tparent, A0, 0, &v) || load(tchild, A0, 0, &v))
		return -1;
	tshared = page_at(tparent, A0);
	te1 = entry_at(tparent, A1);
	tra = read_swap_cache_async(te1, &new_page);
	if (!tra)
		return -1;
	put_page(tra);
	return 0;
}

/*
 * Linux frees the swap copy of a folio whose last mapping or swap pte
 * goes (free_swap_cache() from the mmu_gather, free_swap_and_cache()):
 * exit alone leaves no slot in use.
 */
TEST(exit_frees_the_swap_cache_with_the_last_user)
{
	unsigned long nfree0;

	ASSERT_EQ(teardown_setup(), 0);
	nfree0 = nr_free_pages() + 2 /* A0 A1 */ ;
	ASSERT_EQ(swap_map_of(te0), SWAP_HAS_CACHE);
	ASSERT_EQ(swap_map_of(te1), 2 | SWAP_HAS_CACHE);
	ASSERT_EQ(page_mapcount(tshared), 2);
	ASSERT_EQ(page_mapcount(tra), 0);

	exit_mmap(tchild);
	ASSERT_EQ(swap_map_of(te0), SWAP_HAS_CACHE);
	ASSERT_EQ(swap_map_of(te1), 1 | SWAP_HAS_CACHE);
	ASSERT_EQ(nr_swap_slots_used(), 3);	/* A3 went with the child */
	exit_mmap(tparent);
	lru_add_drain_all();
	ASSERT_EQ(nr_swap_slots_used(), 0);
	for (int off = 0; off < SWAP_SLOTS; off++)
		ASSERT_EQ(swap_info.swap_map[off], 0);
	ASSERT_TRUE(PageBuddy(tshared));
	ASSERT_TRUE(PageBuddy(tra));
	ASSERT_EQ(nr_free_pages(), nfree0);
}

/*
 * Those frees only trylock the folio: with both folios locked by someone
 * else meanwhile, the swap cache keeps them and their slots after every
 * process has exited; swap_cache_drain() then frees every slot.
 */
TEST(exit_and_drain_free_every_slot)
{
	unsigned long nfree0;

	ASSERT_EQ(teardown_setup(), 0);
	nfree0 = nr_free_pages() + 2;
	ASSERT_TRUE(trylock_page(tshared));
	ASSERT_TRUE(trylock_page(tra));

	exit_mmap(tchild);
	exit_mmap(tparent);
	lru_add_drain_all();
	ASSERT_EQ(nr_swap_slots_used(), 2);
	ASSERT_EQ(swap_map_of(te0), SWAP_HAS_CACHE);
	ASSERT_EQ(swap_map_of(te1), SWAP_HAS_CACHE);
	ASSERT_TRUE(PageSwapCache(tshared) && PageSwapCache(tra));
	ASSERT_EQ(page_mapcount(tshared), 0);
	ASSERT_EQ(page_count(tshared), 1);	/* the swap cache's */
	ASSERT_EQ(page_count(tra), 1);
	unlock_page(tshared);
	unlock_page(tra);

	swap_cache_drain();
	ASSERT_EQ(nr_swap_slots_used(), 0);
	for (int off = 0; off < SWAP_SLOTS; off++)
		ASSERT_EQ(swap_info.swap_map[off], 0);
	ASSERT_EQ(cached(te0), NULL);
	ASSERT_EQ(cached(te1), NULL);
	ASSERT_TRUE(PageBuddy(tshared));
	ASSERT_TRUE(PageBuddy(tra));
	ASSERT_EQ(nr_free_pages(), nfree0);
}

TEST_MAIN()
