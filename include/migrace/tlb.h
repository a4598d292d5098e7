/* SPDX-License-Identifier: GPL-2.0 */
/*
 * TLB maintenance, as arch code provides it (caches: cacheflush.h).  A flush
 * invalidates the local TLB and shoots down every other CPU in
 * mm_cpumask(); the sender waits until each target has acknowledged, and a
 * target with interrupts off acknowledges only when it turns them back on.
 */
#ifndef MIGRACE_TLB_H
#define MIGRACE_TLB_H

#include <migrace/cacheflush.h>
#include <migrace/mm.h>

void __flush_tlb_range(struct vm_area_struct *vma, unsigned long start,
		       unsigned long end, const char *func);
void __flush_tlb_mm_range(struct mm_struct *mm, unsigned long start,
			  unsigned long end, const char *func);
#define flush_tlb_range(vma, start, end) \
	__flush_tlb_range(vma, start, end, __func__)
#define flush_tlb_page(vma, addr) \
	__flush_tlb_range(vma, addr, (addr) + PAGE_SIZE, __func__)
#define flush_tlb_mm(mm) __flush_tlb_mm_range(mm, 0, 0, __func__)
#define flush_tlb_mm_range(mm, s, e) __flush_tlb_mm_range(mm, s, e, __func__)

/*
 * The user side of the MMU (engine/hw/mmu.c): one load or store
 * instruction.  Returns 0, or -EFAULT when the access must fault
 * (translation missing or not permitted).
 */
int mmu_user_access(struct mm_struct *mm, unsigned long addr, int slot,
		    bool write, u64 *val);

/* Drop every TLB entry of @mm on every CPU (exit, teardown). */
void tlb_forget_mm(const struct mm_struct *mm);

#endif
