/* SPDX-License-Identifier: GPL-2.0 */
/*
 * include/linux/pagewalk.h, the callbacks the engine's walkers use.  The
 * emulated page table has two levels (pgd -> pmd table -> pte table), so
 * .pud_entry and .hugetlb_entry do not exist.
 */
#ifndef MIGRACE_PAGEWALK_H
#define MIGRACE_PAGEWALK_H

#include <migrace/mm.h>

struct mm_walk;

struct mm_walk_ops {
	int (*pmd_entry)(pmd_t *pmd, unsigned long addr, unsigned long next,
			 struct mm_walk *walk);
	int (*pte_hole)(unsigned long addr, unsigned long next, int depth,
			struct mm_walk *walk);
	int (*test_walk)(unsigned long addr, unsigned long next,
			 struct mm_walk *walk);
};

struct mm_walk {
	const struct mm_walk_ops *ops;
	struct mm_struct *mm;
	struct vm_area_struct *vma;
	void *private;
};

/*
 * Walk [start, end) of @mm, VMA by VMA, under the mmap lock: holes
 * between VMAs go to .pte_hole with walk->vma NULL; .test_walk may skip a
 * VMA (return 1) or stop the walk (< 0); then .pte_hole for a missing pmd
 * table, else .pmd_entry.  A callback's non-zero return ends the walk.
 */
int walk_page_range(struct mm_struct *mm, unsigned long start,
		    unsigned long end, const struct mm_walk_ops *ops,
		    void *private);

#endif
