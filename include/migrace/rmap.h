/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Reverse mapping for anonymous pages: anon_vma with its chain of VMAs,
 * including every fork child's, so try_to_migrate() and
 * remove_migration_ptes() find every mapping.
 */
#ifndef MIGRACE_RMAP_H
#define MIGRACE_RMAP_H

#include <migrace/mm.h>

struct anon_vma {
	struct anon_vma *root;
	struct rw_semaphore rwsem;
	int refcount;		/* VMAs and children using it */
	int degree;
	struct list_head chain;	/* of struct anon_vma_chain (rb tree in Linux) */
};

struct anon_vma_chain {
	struct vm_area_struct *vma;
	struct anon_vma *anon_vma;
	struct list_head same_vma;	/* on vma->anon_vma_chain */
	struct list_head same_anon_vma;	/* on anon_vma->chain */
};

int anon_vma_prepare(struct vm_area_struct *vma);
int anon_vma_clone(struct vm_area_struct *dst, struct vm_area_struct *src);
int anon_vma_fork(struct vm_area_struct *vma, struct vm_area_struct *pvma);
void unlink_anon_vmas(struct vm_area_struct *vma);

#define RMAP_NONE 0
#define RMAP_EXCLUSIVE 1

void page_add_new_anon_rmap(struct page *page, struct vm_area_struct *vma,
			    unsigned long address);
void page_add_anon_rmap(struct page *page, struct vm_area_struct *vma,
			unsigned long address, int flags);
void page_dup_rmap(struct page *page);
void page_remove_rmap(struct page *page, struct vm_area_struct *vma,
		      bool compound);
/* 0: shared now; -EBUSY: possibly pinned, stays exclusive */
int page_try_share_anon_rmap(struct page *page);
int page_try_dup_anon_rmap(struct page *page, bool compound,
			   struct vm_area_struct *src_vma);
void page_move_anon_rmap(struct page *page, struct vm_area_struct *vma);

struct rmap_walk_control {
	void *arg;
	bool try_lock;		/* with anon_lock: do not sleep for the lock */
	bool contended;		/* try_lock failed */
	bool (*rmap_one)(struct folio *folio, struct vm_area_struct *vma,
			 unsigned long addr, void *arg);
	int (*done)(struct folio *folio);
	struct anon_vma *(*anon_lock)(struct folio *folio,
				      struct rmap_walk_control *rwc);
};

struct anon_vma *folio_get_anon_vma(struct folio *folio);
void put_anon_vma(struct anon_vma *av);

static inline struct anon_vma *page_get_anon_vma(struct page *page)
{
	return folio_get_anon_vma(page_folio(page));
}
struct anon_vma *folio_lock_anon_vma_read(struct folio *folio,
					  struct rmap_walk_control *rwc);

void rmap_walk(struct folio *folio, struct rmap_walk_control *rwc);
void rmap_walk_locked(struct folio *folio, struct rmap_walk_control *rwc);

#define TTU_SPLIT_HUGE_PMD 0x4
#define TTU_BATCH_FLUSH 0x20
#define TTU_RMAP_LOCKED 0x80

void try_to_migrate(struct folio *folio, int flags);

/*
 * Device-exclusive access (mm/rmap.c, Linux 6.0): GUP [start, end) for
 * write, lock each page and replace its mappings by device-exclusive
 * entries.  The mmap lock is held.  Returns the pages GUP found; pages[i]
 * is NULL where exclusive access failed, else locked with a reference.
 */
int make_device_exclusive_range(struct mm_struct *mm, unsigned long start,
				unsigned long end, struct page **pages,
				void *owner);

#endif
