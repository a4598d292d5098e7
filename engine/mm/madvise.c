// SPDX-License-Identifier: GPL-2.0
/*
 * mm/madvise.c: MADV_DONTNEED under mmap_lock held for read.
 */
#include <migrace/mm.h>

long do_madvise(struct mm_struct *mm, unsigned long start, size_t len,
		int behavior, struct madvise_zapped *zapped)
{
	unsigned long end = start + len;
	long unmapped_error = 0;

	if (behavior != MADV_DONTNEED)
		return -EINVAL;
	mmap_read_lock(mm);
	while (start < end) {
		struct vm_area_struct *vma = find_vma(mm, start);
		unsigned long s, e;

		if (!vma || vma->vm_start >= end)
			break;
		if (vma->vm_start > start)
			unmapped_error = -ENOMEM;
		s = max(start, vma->vm_start);
		e = min(end, vma->vm_end);
		zap_page_range(vma, s, e - s);
		/* for the harness: what was zapped, under mmap_lock */
		if (zapped && zapped->n < MAX_VMAS) {
			zapped->start[zapped->n] = s;
			zapped->end[zapped->n++] = e;
		}
		start = e;
	}
	mmap_read_unlock(mm);
	return unmapped_error;
}
