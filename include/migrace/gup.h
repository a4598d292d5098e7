/* SPDX-License-Identifier: GPL-2.0 */
/*
 * get_user_pages() and friends (mm/gup.c, Linux 6.0): the slow path under
 * the mmap lock, with FAULT_FLAG_UNSHARE for R/O pins of possibly shared
 * anonymous pages, and GUP-fast, lockless with interrupts off.
 */
#ifndef MIGRACE_GUP_H
#define MIGRACE_GUP_H

#include <migrace/mm.h>

#define FOLL_WRITE	0x01	/* check pte is writable */
#define FOLL_TOUCH	0x02	/* mark page accessed */
#define FOLL_GET	0x04	/* do get_page on page */
#define FOLL_DUMP	0x08	/* error on a hole or the zero page */
#define FOLL_LONGTERM	0x100	/* mapping lifetime is indefinite */
#define FOLL_PIN	0x40000	/* pages must be released via unpin_user_page */
#define FOLL_FAST_ONLY	0x80000	/* gup_fast: prevent fall-back to slow gup */

/*
 * A pinned page has its refcount raised by this bias, so that
 * folio_maybe_dma_pinned() can tell pins from ordinary references.
 */
#define GUP_PIN_COUNTING_BIAS 1024

static inline bool page_maybe_dma_pinned(struct page *page)
{
	return page_count(page) >= GUP_PIN_COUNTING_BIAS;
}
#define folio_maybe_dma_pinned(f) page_maybe_dma_pinned(&(f)->page)

/* This should be called only from fork(): may a pin hold this page? */
static inline bool page_needs_cow_for_dma(struct vm_area_struct *vma,
					  struct page *page)
{
	if (!is_cow_mapping(vma->vm_flags))
		return false;
	if (!READ_ONCE(vma->vm_mm->has_pinned))
		return false;
	return page_maybe_dma_pinned(page);
}

long get_user_pages_remote(struct mm_struct *mm, unsigned long start,
			   unsigned long nr_pages, unsigned int gup_flags,
			   struct page **pages);
/* The same with the mmap lock held by the caller (FOLL_GET). */
long __get_user_pages_locked(struct mm_struct *mm, unsigned long start,
			     unsigned long nr_pages, unsigned int gup_flags,
			     struct page **pages);
long pin_user_pages_remote(struct mm_struct *mm, unsigned long start,
			   unsigned long nr_pages, unsigned int gup_flags,
			   struct page **pages);
/* GUP-fast first, then the slow path for what it could not get. */
int pin_user_pages_fast(struct mm_struct *mm, unsigned long start,
			int nr_pages, unsigned int gup_flags,
			struct page **pages);
/*
 * The page mapped at @address (mmap_lock held), with a reference if
 * FOLL_GET; NULL if none; ERR_PTR(-EFAULT) for the zero page with FOLL_DUMP.
 */
struct page *follow_page(struct vm_area_struct *vma, unsigned long address,
			 unsigned int foll_flags);
void unpin_user_page(struct page *page);
void unpin_user_pages_dirty_lock(struct page **pages, unsigned long npages,
				 bool make_dirty);

#endif
