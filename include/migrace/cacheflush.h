/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Cache maintenance, where the kernel has it: asm-generic/cacheflush.h
 * (flush_cache_mm/range/page, flush_anon_page, flush_dcache_page) and
 * linux/highmem.h (copy_user_highpage, in page.h).  The arch is a run-time
 * setting:
 *
 *   x86   physically indexed caches: every hook is a no-op.
 *   vivt  per-CPU write-back lines looked up by (mm, virtual address),
 *         engine/hw/cache.c: a user store stays in the storing CPU's line
 *         until a flush, an eviction or another CPU's access to the same
 *         physical slot writes it back.  The kernel's own accesses to a
 *         page (copies, clearing) do not see the current CPU's user-alias
 *         lines, and a line whose address now maps another page is
 *         dropped: that is the store a missing flush loses.
 *
 * The flushes write back and invalidate on every CPU (the cache operations
 * of SMP VIVT/aliasing machines are broadcast, as PA-RISC's fdc is).
 */
#ifndef MIGRACE_CACHEFLUSH_H
#define MIGRACE_CACHEFLUSH_H

#include <migrace/mm.h>
#include <migrace/page.h>

struct cpu;

extern bool arch_vivt;	/* this run's arch is vivt (set by run_program) */

void __flush_cache_mm_range(const struct mm_struct *mm, unsigned long start,
			    unsigned long end, const char *what,
			    const char *func);

/* Before a whole address space changes (fork's dup_mmap, exit_mmap). */
#define flush_cache_mm(mm) __flush_cache_mm(mm, __func__)
static inline void __flush_cache_mm(struct mm_struct *mm, const char *func)
{
	if (arch_vivt)
		__flush_cache_mm_range(mm, 0, 0, "flush_cache_mm", func);
}

/* Before the translations of [s, e) change (zap, mprotect). */
#define flush_cache_range(vma, s, e) __flush_cache_range(vma, s, e, __func__)
static inline void __flush_cache_range(struct vm_area_struct *vma,
				       unsigned long s, unsigned long e,
				       const char *func)
{
	if (arch_vivt)
		__flush_cache_mm_range(vma->vm_mm, s, e, "flush_cache_range",
				       func);
}

/* Before the translation of one user page changes. */
#define flush_cache_page(vma, addr, pfn) \
	__flush_cache_page(vma, addr, pfn, __func__)
static inline void __flush_cache_page(struct vm_area_struct *vma,
				      unsigned long addr, unsigned long pfn,
				      const char *func)
{
	(void)pfn;	/* VIVT: the lines are found by virtual address */
	if (arch_vivt)
		__flush_cache_mm_range(vma->vm_mm, addr & PAGE_MASK,
				       (addr & PAGE_MASK) + PAGE_SIZE,
				       "flush_cache_page", func);
}

/*
 * GUP hands an anonymous page to a kernel user: write the user's alias of
 * it back first, as ARM's __flush_anon_page() does on VIVT.
 */
#define flush_anon_page(vma, page, vmaddr) \
	__flush_anon_page(vma, page, vmaddr, __func__)
static inline void __flush_anon_page(struct vm_area_struct *vma,
				     struct page *page, unsigned long vmaddr,
				     const char *func)
{
	if (arch_vivt && PageAnon(page))
		__flush_cache_mm_range(vma->vm_mm, vmaddr & PAGE_MASK,
				       (vmaddr & PAGE_MASK) + PAGE_SIZE,
				       "flush_anon_page", func);
}

/*
 * The kernel's own mapping of a page is not cached in this model (kernel
 * accesses go to memory), so there is nothing of it to write back.
 */
static inline void flush_dcache_page(struct page *page)
{
	(void)page;
}

/* ---- the hardware side (engine/hw/cache.c), no-ops unless arch_vivt ---- */

/* Reset every CPU's lines and set the arch for this run. */
void cache_reset(bool vivt);
/* A user load of @slot at @addr, translated to @pfn: true if a line served it. */
bool cache_user_load(struct cpu *c, const struct mm_struct *mm,
		     unsigned long addr, int slot, unsigned long pfn, u64 *val);
/* A user store: it goes into @c's line. */
void cache_user_store(struct cpu *c, const struct mm_struct *mm,
		      unsigned long addr, int slot, unsigned long pfn, u64 val);
/*
 * @pfn is about to be read from memory: by the kernel on the current CPU
 * (@dma false: other CPUs' lines are snooped, its own aliases are not) or
 * by a device (@dma true: every CPU is snooped).
 */
void cache_phys_read(unsigned long pfn, bool dma);
/*
 * @pfn (@slot, or every slot if -1) is about to be written in memory, or
 * the page is being freed: every CPU's lines for it are dropped.
 */
void cache_phys_write(unsigned long pfn, int slot);
/* Dirty lines of @pfn still held by some CPU (tests, reports). */
int cache_dirty_lines(unsigned long pfn);

#endif
