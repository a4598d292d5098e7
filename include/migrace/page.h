/* SPDX-License-Identifier: GPL-2.0 */
/*
 * struct page / struct folio, physical memory layout and the page allocator.
 *
 * Physical memory is deliberately tiny so that ops collide and allocation
 * fails: pfn 0 is the zero page, then two NUMA nodes of system pages, then
 * the device's memory.  Page contents are real bytes, split in
 * per-CPU slots (see engine/check/oracle.c).  The device has two ranges:
 * device-private memory, then device-coherent memory that the CPU maps
 * with present ptes.
 */
#ifndef MIGRACE_PAGE_H
#define MIGRACE_PAGE_H

#include <migrace/kernel.h>
#include <migrace/sched.h>

#define PAGE_SHIFT 12
#define PAGE_SIZE (1UL << PAGE_SHIFT)
#define PAGE_MASK (~(PAGE_SIZE - 1))

/* Emulated page contents: 8 slots of 8 bytes (one per CPU, see oracle). */
#define PAGE_SLOTS 8
/* The device's slot (device_write); the CPUs' are 0..NR_CPUS-1. */
#define DEV_SLOT (PAGE_SLOTS - 1)
#define PAGE_POISON 0x6b6b6b6b6b6b6b6bULL

#define NR_NODES 2
#define NODE_PAGES 24
#define DEVICE_PAGES 16
#define ZERO_PFN 0UL
#define NODE_FIRST_PFN(n) (1UL + (unsigned long)(n) * NODE_PAGES)
#define DEVICE_FIRST_PFN (1UL + NR_NODES * NODE_PAGES)
#define COHERENT_PAGES 16
#define COHERENT_FIRST_PFN (DEVICE_FIRST_PFN + DEVICE_PAGES)
#define MAX_PFN (COHERENT_FIRST_PFN + COHERENT_PAGES)

enum pageflags {
	PG_locked,
	PG_referenced,
	PG_uptodate,
	PG_dirty,
	PG_lru,
	PG_active,
	PG_unevictable,
	PG_swapbacked,
	PG_swapcache,
	PG_anon_exclusive,
	PG_buddy,	/* free in the allocator (emulation: poisoned) */
	PG_waiters,
};

struct dev_pagemap;
struct anon_vma;

struct page {
	unsigned long flags;
	int _refcount;
	int _mapcount;		/* -1: not mapped */
	void *mapping;		/* anon_vma | PAGE_MAPPING_ANON */
	unsigned long index;	/* linear page index in the anon_vma */
	unsigned long private;	/* swap cache: the swp_entry_t value */
	struct dev_pagemap *pgmap;
	void *zone_device_data;
	struct list_head lru;
	int lru_batch_cpu;	/* in a per-CPU lru_add batch: cpu + 1 */
	int nid;
	u64 data[PAGE_SLOTS];
};

/*
 * The bytes of a page are racy memory: a user store on one CPU, a copy
 * by migration on another.  Relaxed atomics, as the hardware gives
 * (plain moves on x86); ThreadSanitizer sees them as such in stress mode.
 */
static inline u64 page_data_read(const struct page *page, int slot)
{
	return __atomic_load_n(&page->data[slot], __ATOMIC_RELAXED);
}

static inline void page_data_write(struct page *page, int slot, u64 v)
{
	__atomic_store_n(&page->data[slot], v, __ATOMIC_RELAXED);
}

/* Only order-0 folios for now: a folio is its head page. */
struct folio {
	struct page page;
};

#define PAGE_MAPPING_ANON 0x1UL

extern struct page mem_map[MAX_PFN];

static inline unsigned long page_to_pfn(const struct page *page)
{
	return (unsigned long)(page - mem_map);
}

static inline struct page *pfn_to_page(unsigned long pfn)
{
	return &mem_map[pfn];
}

static inline bool pfn_valid(unsigned long pfn)
{
	return pfn < MAX_PFN;
}

static inline struct folio *page_folio(struct page *page)
{
	return (struct folio *)page;
}

static inline struct page *folio_page(struct folio *folio, int n)
{
	(void)n;
	return &folio->page;
}

static inline bool is_zero_pfn(unsigned long pfn)
{
	return pfn == ZERO_PFN;
}

static inline bool is_zone_device_page(const struct page *page)
{
	return page_to_pfn(page) >= DEVICE_FIRST_PFN;
}

bool is_device_private_page(const struct page *page);
bool is_device_coherent_page(const struct page *page);

/*
 * ---- flags: atomic bit operations, each a preemption point ----
 * A test (the kernel's test_bit(), a READ_ONCE of page->flags) is a point
 * too; __test_page_flag() is the raw read for the harness's own checks.
 */
bool __test_page_flag(struct page *page, int bit);
bool test_page_flag(struct page *page, int bit, const char *func);
void __set_page_flag(struct page *page, int bit, const char *what,
		     const char *func);
void __clear_page_flag(struct page *page, int bit, const char *what,
		       const char *func);
bool __test_and_set_page_flag(struct page *page, int bit, const char *what,
			      const char *func);

#define PAGEFLAG(uname, lname)                                              \
	static inline bool __Page##uname(struct page *p, const char *func)  \
	{                                                                   \
		return test_page_flag(p, PG_##lname, func);                 \
	}                                                                   \
	static inline void SetPage##uname(struct page *p)                   \
	{                                                                   \
		__set_page_flag(p, PG_##lname, "SetPage" #uname, __func__); \
	}                                                                   \
	static inline void ClearPage##uname(struct page *p)                 \
	{                                                                   \
		__clear_page_flag(p, PG_##lname, "ClearPage" #uname,        \
				  __func__);                                \
	}                                                                   \
	static inline bool __folio_test_##lname(struct folio *f,           \
						const char *func)           \
	{                                                                   \
		return test_page_flag(&f->page, PG_##lname, func);          \
	}

PAGEFLAG(Referenced, referenced)
PAGEFLAG(Locked, locked)
PAGEFLAG(Uptodate, uptodate)
PAGEFLAG(Dirty, dirty)
PAGEFLAG(LRU, lru)
PAGEFLAG(Active, active)
PAGEFLAG(Unevictable, unevictable)
PAGEFLAG(SwapBacked, swapbacked)
PAGEFLAG(SwapCache, swapcache)
PAGEFLAG(AnonExclusive, anon_exclusive)
PAGEFLAG(Buddy, buddy)

/* The tests report their caller, for traces and named schedules. */
#define PageReferenced(p) __PageReferenced(p, __func__)
#define PageLocked(p) __PageLocked(p, __func__)
#define PageUptodate(p) __PageUptodate(p, __func__)
#define PageDirty(p) __PageDirty(p, __func__)
#define PageLRU(p) __PageLRU(p, __func__)
#define PageActive(p) __PageActive(p, __func__)
#define PageUnevictable(p) __PageUnevictable(p, __func__)
#define PageSwapBacked(p) __PageSwapBacked(p, __func__)
#define PageSwapCache(p) __PageSwapCache(p, __func__)
#define PageAnonExclusive(p) __PageAnonExclusive(p, __func__)
#define PageBuddy(p) __PageBuddy(p, __func__)
#define folio_test_referenced(f) __folio_test_referenced(f, __func__)
#define folio_test_locked(f) __folio_test_locked(f, __func__)
#define folio_test_uptodate(f) __folio_test_uptodate(f, __func__)
#define folio_test_dirty(f) __folio_test_dirty(f, __func__)
#define folio_test_lru(f) __folio_test_lru(f, __func__)
#define folio_test_active(f) __folio_test_active(f, __func__)
#define folio_test_unevictable(f) __folio_test_unevictable(f, __func__)
#define folio_test_swapbacked(f) __folio_test_swapbacked(f, __func__)
#define folio_test_swapcache(f) __folio_test_swapcache(f, __func__)
#define folio_test_anon_exclusive(f) __folio_test_anon_exclusive(f, __func__)
#define folio_test_buddy(f) __folio_test_buddy(f, __func__)

#define __SetPageUptodate(p) SetPageUptodate(p)

static inline bool PageAnon(const struct page *page)
{
	return ((unsigned long)READ_ONCE(page->mapping) & PAGE_MAPPING_ANON) !=
	       0;
}

static inline bool folio_test_anon(struct folio *folio)
{
	return PageAnon(&folio->page);
}

static inline bool PageCompound(const struct page *page)
{
	(void)page;
	return false;
}

#define PageTransCompound(p) PageCompound(p)

/* The swap cache's address_space (mm/swap_state.c): one swap device. */
struct address_space {
	const char *name;
};
extern struct address_space swapper_space;

static inline unsigned long page_private(struct page *page)
{
	return READ_ONCE(page->private);
}

/* page_mapping(): the swap cache for anon pages in it, else NULL. */
static inline void *page_mapping(struct page *page)
{
	if (unlikely(PageSwapCache(page)))
		return &swapper_space;
	if (PageAnon(page))
		return NULL;
	return READ_ONCE(page->mapping);
}
#define folio_mapping(f) page_mapping(&(f)->page)

static inline bool page_has_private(struct page *page)
{
	(void)page;
	return false;
}

static inline struct anon_vma *page_anon_vma(struct page *page)
{
	unsigned long m = (unsigned long)READ_ONCE(page->mapping);

	if (!(m & PAGE_MAPPING_ANON))
		return NULL;
	return (struct anon_vma *)(m - PAGE_MAPPING_ANON);
}

bool folio_mark_dirty(struct folio *folio);
static inline bool set_page_dirty(struct page *page)
{
	return folio_mark_dirty(page_folio(page));
}

/*
 * ---- reference counts ----
 * page_count() and page_mapcount() are the kernel's atomic_read()s: each a
 * preemption point, so a snapshot of both (migrate_vma_check_page()) can
 * tear.  The __ versions are the raw reads for the harness's checks.
 */
int __page_count(struct page *page);
int __page_mapcount(struct page *page);
int page_count_read(struct page *page, const char *what, const char *func);
int page_mapcount_read(struct page *page, const char *func);
#define page_count(p) page_count_read(p, "page_count", __func__)
#define page_mapcount(p) page_mapcount_read(p, __func__)
void __get_page(struct page *page, const char *func);
bool __get_page_unless_zero(struct page *page, const char *func);
void __put_page(struct page *page, const char *func);
#define get_page(p) __get_page(p, __func__)
#define get_page_unless_zero(p) __get_page_unless_zero(p, __func__)
#define put_page(p) __put_page(p, __func__)
#define folio_get(f) __get_page(&(f)->page, __func__)
#define folio_put(f) __put_page(&(f)->page, __func__)
#define folio_ref_count(f) page_count_read(&(f)->page, "folio_ref_count", \
					       __func__)
void folio_ref_add(struct folio *folio, int nr);
void folio_put_refs(struct folio *folio, int refs);
void folio_ref_sub(struct folio *folio, int nr);
/* cmpxchg the refcount from @count to 0: nobody else holds a reference */
bool folio_ref_freeze(struct folio *folio, int count);
void folio_ref_unfreeze(struct folio *folio, int count);
bool folio_test_clear_referenced(struct folio *folio);
bool folio_test_clear_dirty(struct folio *folio);

#define page_mapped(p) (page_mapcount_read(p, __func__) > 0)
#define folio_mapped(f) (page_mapcount_read(&(f)->page, __func__) > 0)
#define folio_mapcount(f) page_mapcount_read(&(f)->page, __func__)

/* ---- page lock ---- */
bool __trylock_page(struct page *page, const char *func);
void __lock_page(struct page *page, const char *func);
void __unlock_page(struct page *page, const char *func);
void __wait_on_page_locked(struct page *page, const char *func);
#define trylock_page(p) __trylock_page(p, __func__)
#define lock_page(p) __lock_page(p, __func__)
#define unlock_page(p) __unlock_page(p, __func__)
#define folio_trylock(f) __trylock_page(&(f)->page, __func__)
#define folio_lock(f) __lock_page(&(f)->page, __func__)
#define folio_unlock(f) __unlock_page(&(f)->page, __func__)
#define wait_on_page_locked(p) __wait_on_page_locked(p, __func__)

/* ---- NUMA nodes ---- */
#define NUMA_NO_NODE (-1)

/* The node of a system page; NUMA_NO_NODE for device memory. */
static inline int page_to_nid(const struct page *page)
{
	return page->nid;
}

static inline int folio_nid(const struct folio *folio)
{
	return page_to_nid(&folio->page);
}

/* The node of the running CPU: CPU c sits on node c % NR_NODES. */
int numa_node_id(void);

static inline bool node_online(int nid)
{
	return nid >= 0 && nid < NR_NODES;
}

/* ---- allocator ---- */
typedef unsigned int gfp_t;
#define __GFP_DIRECT_RECLAIM	0x1u	/* may reclaim (and so sleep) */
#define __GFP_THISNODE		0x2u	/* no other node */
#define GFP_HIGHUSER_MOVABLE	__GFP_DIRECT_RECLAIM
#define GFP_NOWAIT		0u

/*
 * An order-0 page from node @nid (NUMA_NO_NODE: the CPU's own node),
 * falling back to the other node unless __GFP_THISNODE.  Device memory
 * is never handed out here (memremap.c owns it).
 */
struct page *__alloc_pages_node(int nid, gfp_t gfp);
#define alloc_page_node(nid) \
	__alloc_pages_node(nid, GFP_HIGHUSER_MOVABLE)
#define alloc_page() alloc_page_node(NUMA_NO_NODE)
/* Free pages left on node @nid. */
unsigned long node_nr_free_pages(int nid);
void free_unref_page(struct page *page);
void page_alloc_reset(void);
unsigned long nr_free_pages(void);

/* Freed pages are poisoned: touching one is a report (oracle 2). */
void check_page_alive(struct page *page, const char *what);

void copy_highpage(struct page *to, struct page *from);
struct vm_area_struct;
void copy_user_highpage(struct page *to, struct page *from,
			unsigned long vaddr, struct vm_area_struct *vma);
void clear_highpage(struct page *page);

#endif
