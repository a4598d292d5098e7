// SPDX-License-Identifier: GPL-2.0
/*
 * mm/pagewalk.c: walk_page_range() over the two-level emulated page table
 * (simplified: no p4d/pud levels, no hugetlb, no locking of its own; the
 * caller holds the mmap lock as the kernel asserts).
 */
#include <migrace/pagewalk.h>

static int walk_pmd_range(pgd_t *pgd, unsigned long addr, unsigned long end,
			  struct mm_walk *walk)
{
	const struct mm_walk_ops *ops = walk->ops;
	unsigned long next;
	int err = 0;

	for (; addr < end; addr = next) {
		pmd_t *pmd = pmd_offset(pgd, addr);

		next = pmd_addr_end(addr, end);
		/* Lockless, as the kernel's walk: a racing fault may fill it. */
		if (!pmd || !READ_ONCE(pmd->table)) {
			if (ops->pte_hole)
				err = ops->pte_hole(addr, next, 3, walk);
		} else if (ops->pmd_entry) {
			err = ops->pmd_entry(pmd, addr, next, walk);
		}
		if (err)
			break;
	}
	return err;
}

static int __walk_page_range(unsigned long start, unsigned long end,
			     struct mm_walk *walk)
{
	unsigned long addr = start, next;
	int err = 0;

	for (; addr < end; addr = next) {
		pgd_t *pgd = pgd_offset(walk->mm, addr);

		next = pgd_addr_end(addr, end);
		if (!READ_ONCE(pgd->table)) {
			if (walk->ops->pte_hole)
				err = walk->ops->pte_hole(addr, next, 0, walk);
		} else {
			err = walk_pmd_range(pgd, addr, next, walk);
		}
		if (err)
			break;
	}
	return err;
}

static int walk_page_test(unsigned long start, unsigned long end,
			  struct mm_walk *walk)
{
	if (walk->ops->test_walk)
		return walk->ops->test_walk(start, end, walk);
	/* No hugetlb or VM_PFNMAP ranges exist here to skip by default. */
	return 0;
}

int walk_page_range(struct mm_struct *mm, unsigned long start,
		    unsigned long end, const struct mm_walk_ops *ops,
		    void *private)
{
	struct mm_walk walk = {
		.ops = ops,
		.mm = mm,
		.private = private,
	};
	struct vm_area_struct *vma;
	unsigned long next;
	int err = 0;

	if (start >= end)
		return -EINVAL;
	if (!walk.mm)
		return -EINVAL;
	mmap_assert_locked(walk.mm);

	vma = find_vma(walk.mm, start);
	do {
		if (!vma) {	/* after the last vma */
			walk.vma = NULL;
			next = end;
			if (ops->pte_hole)
				err = ops->pte_hole(start, next, -1, &walk);
		} else if (start < vma->vm_start) {	/* outside vma */
			walk.vma = NULL;
			next = min(end, vma->vm_start);
			if (ops->pte_hole)
				err = ops->pte_hole(start, next, -1, &walk);
		} else {	/* inside vma */
			walk.vma = vma;
			next = min(end, vma->vm_end);
			vma = find_vma(walk.mm, vma->vm_end);

			err = walk_page_test(start, next, &walk);
			if (err > 0) {
				/* The VMA is skipped, not an error. */
				err = 0;
				continue;
			}
			if (err < 0)
				break;
			err = __walk_page_range(start, next, &walk);
		}
		if (err)
			break;
	} while (start = next, start < end);
	return err;
}
