/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Private to engine/mm (like mm/internal.h): the LRU that mm/swap.c
 * feeds and mm/vmscan.c isolates from.
 */
#ifndef MIGRACE_MM_INTERNAL_H
#define MIGRACE_MM_INTERNAL_H

#include <migrace/page.h>
#include <migrace/spinlock.h>
#include <migrace/pgtable.h>

/* One LRU list: PG_active tells the active pages from the inactive ones. */
struct lruvec {
	spinlock_t lru_lock;
	struct list_head list;
};

extern struct lruvec lruvec;

struct vm_area_struct;
/* fork: restore a device-exclusive entry if the page lock is free (memory.c) */
int try_restore_exclusive_pte(pte_t *src_pte, struct vm_area_struct *vma,
			      unsigned long addr);

#endif
