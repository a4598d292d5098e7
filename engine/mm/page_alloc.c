// SPDX-License-Identifier: GPL-2.0
/*
 * mem_map, page flags and reference counts, and the page allocator.
 * Free pages are poisoned (PG_buddy set, contents 0x6b...); any use of one
 * is a report.  Freed pages go to the tail of a FIFO so that a stale
 * reference finds the page still free for as long as possible.
 */
#include <migrace/cacheflush.h>
#include <migrace/check.h>
#include <migrace/cpu.h>
#include <migrace/memremap.h>
#include <migrace/migrate.h>
#include <migrace/page.h>
#include <migrace/swap.h>

struct page mem_map[MAX_PFN];

static struct {
	spinlock_t lock;
	unsigned long fifo[NODE_PAGES];
	int head, count;
} zones[NR_NODES];

void page_alloc_reset(void)
{
	memset(mem_map, 0, sizeof(mem_map));
	for (unsigned long pfn = 0; pfn < MAX_PFN; pfn++) {
		struct page *p = &mem_map[pfn];

		p->_mapcount = -1;
		INIT_LIST_HEAD(&p->lru);
		p->nid = pfn >= DEVICE_FIRST_PFN ? -1 :
			 pfn ? (int)((pfn - 1) / NODE_PAGES) : 0;
	}
	/* The zero page: reserved, always referenced, never freed. */
	mem_map[ZERO_PFN]._refcount = 1;
	mem_map[ZERO_PFN].flags = BIT(PG_uptodate);
	for (int n = 0; n < NR_NODES; n++) {
		spin_lock_init(&zones[n].lock, "zone->lock");
		zones[n].head = 0;
		zones[n].count = NODE_PAGES;
		for (int i = 0; i < NODE_PAGES; i++) {
			unsigned long pfn = NODE_FIRST_PFN(n) + i;

			zones[n].fifo[i] = pfn;
			mem_map[pfn].flags = BIT(PG_buddy);
			for (int s = 0; s < PAGE_SLOTS; s++)
				mem_map[pfn].data[s] = PAGE_POISON;
		}
	}
}

unsigned long nr_free_pages(void)
{
	unsigned long n = 0;

	for (int i = 0; i < NR_NODES; i++)
		n += zones[i].count;
	return n;
}

void check_page_alive(struct page *page, const char *what)
{
	if (unlikely(__test_page_flag(page, PG_buddy)))
		report_page(page);
	if (unlikely(__test_page_flag(page, PG_buddy)) && pgmap_unmapped(page))
		report_bug(NULL, 0,
			   "use-after-free: %s on device pfn %lu after memunmap_pages()",
			   what, page_to_pfn(page));
	if (unlikely(__test_page_flag(page, PG_buddy)))
		report_bug(NULL, 0, "use-after-free: %s on free pfn %lu", what,
			   page_to_pfn(page));
}

bool is_device_coherent_page(const struct page *page)
{
	return is_zone_device_page(page) &&
	       is_device_coherent_pgmap(page->pgmap);
}

bool is_device_private_page(const struct page *page)
{
	return is_zone_device_page(page) &&
	       is_device_private_pgmap(page->pgmap);
}

/* ---- flags ---- */

bool __test_page_flag(struct page *page, int bit)
{
	return __atomic_load_n(&page->flags, __ATOMIC_ACQUIRE) & BIT(bit);
}

bool test_page_flag(struct page *page, int bit, const char *func)
{
	sched_point(EV_ATOMIC, "test_bit", func, page, page_to_pfn(page), bit);
	return __test_page_flag(page, bit);
}

void __set_page_flag(struct page *page, int bit, const char *what,
		     const char *func)
{
	sched_point(EV_ATOMIC, what, func, page, page_to_pfn(page), bit);
	__atomic_or_fetch(&page->flags, BIT(bit), __ATOMIC_ACQ_REL);
}

void __clear_page_flag(struct page *page, int bit, const char *what,
		       const char *func)
{
	sched_point(EV_ATOMIC, what, func, page, page_to_pfn(page), bit);
	__atomic_and_fetch(&page->flags, ~BIT(bit), __ATOMIC_ACQ_REL);
}

bool __test_and_set_page_flag(struct page *page, int bit, const char *what,
			      const char *func)
{
	sched_point(EV_ATOMIC, what, func, page, page_to_pfn(page), bit);
	return __atomic_fetch_or(&page->flags, BIT(bit), __ATOMIC_ACQ_REL) &
	       BIT(bit);
}

bool folio_mark_dirty(struct folio *folio)
{
	return !__test_and_set_page_flag(&folio->page, PG_dirty,
					 "folio_mark_dirty", __func__);
}

/* ---- reference counts ---- */

int __page_count(struct page *page)
{
	return __atomic_load_n(&page->_refcount, __ATOMIC_ACQUIRE);
}

int __page_mapcount(struct page *page)
{
	return __atomic_load_n(&page->_mapcount, __ATOMIC_ACQUIRE) + 1;
}

int page_count_read(struct page *page, const char *what, const char *func)
{
	sched_point(EV_ATOMIC, what, func, page, page_to_pfn(page), 0);
	return __page_count(page);
}

int page_mapcount_read(struct page *page, const char *func)
{
	sched_point(EV_ATOMIC, "page_mapcount", func, page, page_to_pfn(page),
		    0);
	return __page_mapcount(page);
}

void __get_page(struct page *page, const char *func)
{
	int old;

	sched_point(EV_ATOMIC, "get_page", func, page, page_to_pfn(page), 0);
	check_page_alive(page, "get_page");
	old = __atomic_fetch_add(&page->_refcount, 1, __ATOMIC_ACQ_REL);
	if (old <= 0) {
		report_page(page);
		report_bug(NULL, 0,
			   "get_page() in %s() on pfn %lu with refcount %d",
			   func, page_to_pfn(page), old);
	}
}

bool __get_page_unless_zero(struct page *page, const char *func)
{
	int old;

	sched_point(EV_ATOMIC, "get_page_unless_zero", func, page,
		    page_to_pfn(page), 0);
	old = __atomic_load_n(&page->_refcount, __ATOMIC_ACQUIRE);
	do {
		if (old == 0)
			return false;
	} while (!__atomic_compare_exchange_n(&page->_refcount, &old, old + 1,
					      false, __ATOMIC_ACQ_REL,
					      __ATOMIC_ACQUIRE));
	return true;
}

static void __page_cache_release(struct page *page)
{
	if (PageLRU(page))
		lru_del_page(page);
}

static void put_page_refs(struct page *page, int refs, const char *what,
			  const char *func)
{
	int new;

	sched_point(EV_ATOMIC, what, func, page, page_to_pfn(page), 0);
	check_page_alive(page, what);
	new = __atomic_sub_fetch(&page->_refcount, refs, __ATOMIC_ACQ_REL);
	if (new < 0) {
		report_page(page);
		report_bug(NULL, 0,
			   "refcount underflow: %s() in %s() on pfn %lu", what,
			   func, page_to_pfn(page));
	}
	if (new > 0)
		return;
	if (page_to_pfn(page) == ZERO_PFN) {
		report_page(page);
		report_bug(NULL, 0, "%s() dropped the last zero page reference",
			   func);
	}
	if (is_zone_device_page(page)) {
		free_zone_device_page(page);
		return;
	}
	__page_cache_release(page);
	free_unref_page(page);
}

void __put_page(struct page *page, const char *func)
{
	put_page_refs(page, 1, "put_page", func);
}

void folio_put_refs(struct folio *folio, int refs)
{
	put_page_refs(&folio->page, refs, "folio_put_refs", __func__);
}

/* ---- allocator ---- */

static struct page *get_page_from_freelist(int nid, gfp_t gfp);

int numa_node_id(void)
{
	return smp_processor_id() % NR_NODES;
}

unsigned long node_nr_free_pages(int nid)
{
	return READ_ONCE(zones[nid].count);
}

/*
 * __alloc_pages(): the free lists (the preferred node first, then the
 * zonelist's other node unless __GFP_THISNODE), then direct reclaim once
 * if the caller allows it and may sleep (no spinlock held, interrupts on).
 */
struct page *__alloc_pages_node(int nid, gfp_t gfp)
{
	struct page *page = get_page_from_freelist(nid, gfp);
	struct cpu *c = current_cpu;

	if (page || !(gfp & __GFP_DIRECT_RECLAIM) || !c || c->spin_held ||
	    c->irqs_off)
		return page;
	if (!try_to_free_pages())
		return NULL;
	return get_page_from_freelist(nid, gfp);
}

static struct page *get_page_from_freelist(int nid, gfp_t gfp)
{
	int nr_zones = (gfp & __GFP_THISNODE) ? 1 : NR_NODES;

	if (nid == NUMA_NO_NODE)
		nid = numa_node_id();
	for (int i = 0; i < nr_zones; i++) {
		int n = (nid + i) % NR_NODES;
		struct page *page = NULL;

		spin_lock(&zones[n].lock);
		if (zones[n].count) {
			page = pfn_to_page(zones[n].fifo[zones[n].head]);
			zones[n].head = (zones[n].head + 1) % NODE_PAGES;
			zones[n].count--;
		}
		spin_unlock(&zones[n].lock);
		if (page) {
			__atomic_store_n(&page->flags, 0, __ATOMIC_RELAXED);
			__atomic_store_n(&page->_mapcount, -1, __ATOMIC_RELAXED);
			WRITE_ONCE(page->mapping, NULL);
			WRITE_ONCE(page->index, 0);
			WRITE_ONCE(page->private, 0);
			__atomic_store_n(&page->_refcount, 1, __ATOMIC_RELAXED);
			return page;
		}
	}
	return NULL;
}

void free_unref_page(struct page *page)
{
	int n = page_to_nid(page);

	if (__page_mapcount(page) != 0 || __test_page_flag(page, PG_locked) ||
	    __test_page_flag(page, PG_lru) || page->lru_batch_cpu ||
	    __test_page_flag(page, PG_swapcache))
		report_page(page);	/* one of the reports below */
	if (__page_mapcount(page) != 0)
		report_bug(NULL, 0, "page freed while still mapped: pfn %lu mapcount %d",
			   page_to_pfn(page), __page_mapcount(page));
	if (__test_page_flag(page, PG_locked))
		report_bug(NULL, 0, "page freed while locked: pfn %lu",
			   page_to_pfn(page));
	if (__test_page_flag(page, PG_lru) || page->lru_batch_cpu)
		report_bug(NULL, 0, "page freed while on the LRU: pfn %lu",
			   page_to_pfn(page));
	if (__test_page_flag(page, PG_swapcache))
		report_bug(NULL, 0, "page freed while in the swap cache: pfn %lu",
			   page_to_pfn(page));
	/* Arch vivt: dirty lines still held for the page die with it. */
	cache_phys_write(page_to_pfn(page), -1);
	/* Atomic stores: a stale walker or waiter may still look at it. */
	__atomic_store_n(&page->flags, BIT(PG_buddy), __ATOMIC_RELEASE);
	WRITE_ONCE(page->mapping, NULL);
	WRITE_ONCE(page->private, 0);
	for (int s = 0; s < PAGE_SLOTS; s++)
		page_data_write(page, s, PAGE_POISON);
	spin_lock(&zones[n].lock);
	zones[n].fifo[(zones[n].head + zones[n].count) % NODE_PAGES] =
		page_to_pfn(page);
	zones[n].count++;
	spin_unlock(&zones[n].lock);
}

/*
 * The kernel's copy goes through its own mapping: on arch vivt it sees the
 * other CPUs' dirty lines (coherence) but not this CPU's user aliases.
 */
void copy_highpage(struct page *to, struct page *from)
{
	check_page_alive(from, "copy_highpage (source)");
	check_page_alive(to, "copy_highpage (destination)");
	cache_phys_read(page_to_pfn(from), false);
	cache_phys_write(page_to_pfn(to), -1);
	for (int s = 0; s < PAGE_SLOTS; s++)
		page_data_write(to, s, page_data_read(from, s));
}

/*
 * A copy for a user address (COW, fork): VIVT arches write the user's
 * alias of the source back first, as ARM's v4wb_copy_user_highpage() does;
 * elsewhere it is copy_highpage().
 */
void copy_user_highpage(struct page *to, struct page *from,
			unsigned long vaddr, struct vm_area_struct *vma)
{
	flush_cache_page(vma, vaddr, page_to_pfn(from));
	copy_highpage(to, from);
}

void clear_highpage(struct page *page)
{
	check_page_alive(page, "clear_highpage");
	cache_phys_write(page_to_pfn(page), -1);
	for (int s = 0; s < PAGE_SLOTS; s++)
		page_data_write(page, s, 0);
}

void folio_ref_add(struct folio *folio, int nr)
{
	sched_point(EV_ATOMIC, "folio_ref_add", __func__, &folio->page,
		    page_to_pfn(&folio->page), nr);
	__atomic_add_fetch(&folio->page._refcount, nr, __ATOMIC_ACQ_REL);
}

void folio_ref_sub(struct folio *folio, int nr)
{
	int new;

	sched_point(EV_ATOMIC, "folio_ref_sub", __func__, &folio->page,
		    page_to_pfn(&folio->page), nr);
	new = __atomic_sub_fetch(&folio->page._refcount, nr, __ATOMIC_ACQ_REL);
	if (new <= 0) {
		report_page(&folio->page);
		report_bug(NULL, 0, "refcount %d after folio_ref_sub() on pfn %lu",
			   new, page_to_pfn(&folio->page));
	}
}

bool folio_ref_freeze(struct folio *folio, int count)
{
	int old = count;

	sched_point(EV_ATOMIC, "folio_ref_freeze", __func__, &folio->page,
		    page_to_pfn(&folio->page), count);
	return __atomic_compare_exchange_n(&folio->page._refcount, &old, 0,
					   false, __ATOMIC_ACQ_REL,
					   __ATOMIC_ACQUIRE);
}

void folio_ref_unfreeze(struct folio *folio, int count)
{
	sched_point(EV_ATOMIC, "folio_ref_unfreeze", __func__, &folio->page,
		    page_to_pfn(&folio->page), count);
	VM_BUG_ON_FOLIO(page_count(&folio->page) != 0, folio);
	__atomic_store_n(&folio->page._refcount, count, __ATOMIC_RELEASE);
}

static bool test_and_clear_flag(struct page *page, int bit, const char *what,
				const char *func)
{
	sched_point(EV_ATOMIC, what, func, page, page_to_pfn(page), bit);
	return __atomic_fetch_and(&page->flags, ~BIT(bit), __ATOMIC_ACQ_REL) &
	       BIT(bit);
}

bool folio_test_clear_referenced(struct folio *folio)
{
	return test_and_clear_flag(&folio->page, PG_referenced,
				   "folio_test_clear_referenced", __func__);
}

bool folio_test_clear_dirty(struct folio *folio)
{
	return test_and_clear_flag(&folio->page, PG_dirty,
				   "folio_test_clear_dirty", __func__);
}
