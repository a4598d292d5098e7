/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The engine under test: include/linux/migrate.h as of Linux 6.0-6.1.
 */
#ifndef MIGRACE_MIGRATE_H
#define MIGRACE_MIGRATE_H

#include <migrace/mm.h>

#define MIGRATE_PFN_VALID (1UL << 0)
#define MIGRATE_PFN_MIGRATE (1UL << 1)
#define MIGRATE_PFN_WRITE (1UL << 3)
/*
 * Not in Linux: with the proposed device-range-anon-vma-ref fix (see
 * docs/findings.md) the core holds an anon_vma reference for this entry
 * from migrate_device_unmap() to the removal of its migration entries.
 */
#define MIGRATE_PFN_ANON_REF (1UL << 2)
/* ... and the page of this entry of a pfn range was not mapped: no rmap */
#define MIGRATE_PFN_NO_RMAP (1UL << 4)
#define MIGRATE_PFN_SHIFT 6

static inline struct page *migrate_pfn_to_page(unsigned long mpfn)
{
	if (!(mpfn & MIGRATE_PFN_VALID))
		return NULL;
	return pfn_to_page(mpfn >> MIGRATE_PFN_SHIFT);
}

static inline unsigned long migrate_pfn(unsigned long pfn)
{
	return (pfn << MIGRATE_PFN_SHIFT) | MIGRATE_PFN_VALID;
}

enum migrate_vma_direction {
	MIGRATE_VMA_SELECT_SYSTEM = 1 << 0,
	MIGRATE_VMA_SELECT_DEVICE_PRIVATE = 1 << 1,
	MIGRATE_VMA_SELECT_DEVICE_COHERENT = 1 << 2,
	/* The RFC of seed 001: fault pages in while collecting them. */
	MIGRATE_VMA_FAULT = 1 << 3,
};

struct migrate_vma {
	struct vm_area_struct *vma;
	unsigned long *dst;
	unsigned long *src;
	unsigned long cpages;
	unsigned long npages;
	unsigned long start;
	unsigned long end;
	void *pgmap_owner;
	unsigned long flags;
	struct page *fault_page;
};

int migrate_vma_setup(struct migrate_vma *args);
void migrate_vma_pages(struct migrate_vma *migrate);
void migrate_vma_finalize(struct migrate_vma *migrate);
int migrate_device_range(unsigned long *src_pfns, unsigned long start,
			 unsigned long npages);
void migrate_device_pages(unsigned long *src_pfns, unsigned long *dst_pfns,
			  unsigned long npages);
void migrate_device_finalize(unsigned long *src_pfns,
			     unsigned long *dst_pfns, unsigned long npages);
int migrate_device_coherent_page(struct page *page);
/*
 * The RFC of seed 001: after hmm_range_fault() with HMM_PFN_REQ_MIGRATE,
 * turn its output into range->migrate's src[] and unmap (variant
 * rfc-unified only).
 */
struct hmm_range;
void migrate_hmm_range_setup(struct hmm_range *range);

/* mm/migrate.c */
#define MIGRATEPAGE_SUCCESS 0
enum migrate_mode {
	MIGRATE_ASYNC,
	MIGRATE_SYNC_LIGHT,
	MIGRATE_SYNC,
	MIGRATE_SYNC_NO_COPY,
};

int migrate_folio_extra(void *mapping, struct folio *dst, struct folio *src,
			enum migrate_mode mode, int extra_count);
int migrate_folio(void *mapping, struct folio *dst, struct folio *src,
		  enum migrate_mode mode);
void remove_migration_ptes(struct folio *src, struct folio *dst, bool locked);

/* The classic path (seed 002, in its Linux 6.1 form) */
typedef struct page *new_page_t(struct page *page, unsigned long private);
typedef void free_page_t(struct page *page, unsigned long private);

struct migration_target_control {
	int nid;		/* preferred node id */
	gfp_t gfp_mask;
};

struct page *alloc_migration_target(struct page *page, unsigned long private);
int migrate_pages(struct list_head *from, new_page_t get_new_page,
		  free_page_t put_new_page, unsigned long private,
		  enum migrate_mode mode, unsigned int *nr_succeeded);
void putback_movable_pages(struct list_head *l);

/* move_pages(2): MPOL_MF_MOVE_ALL also moves pages mapped more than once */
#define MPOL_MF_MOVE		(1 << 1)
#define MPOL_MF_MOVE_ALL	(1 << 2)
int do_pages_move(struct mm_struct *mm, unsigned long nr_pages,
		  const unsigned long *pages, const int *nodes, int *status,
		  int flags);

/* mm/compaction.c: migrate the LRU pages of node @nid within it */
unsigned long compact_node(int nid);
void migration_entry_wait(struct mm_struct *mm, pmd_t *pmd,
			  unsigned long address);

/* mm/swap.c: LRU */
void lru_cache_add(struct page *page);
void lru_cache_add_inactive_or_unevictable(struct page *page,
					   struct vm_area_struct *vma);
void lru_add_drain(void);
void lru_add_drain_cpu(int cpu);
void lru_add_drain_all(void);
int folio_isolate_lru(struct folio *folio);
int isolate_lru_page(struct page *page);
void putback_lru_page(struct page *page);
/* The last reference is gone: take the page off the LRU. */
void lru_del_page(struct page *page);
void lru_reset(void);

#endif
