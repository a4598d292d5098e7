/*
 * Zap paths (engine/mm/memory.c, mmu_gather.c, madvise.c, mmap.c):
 * MADV_DONTNEED, the mmu_gather ordering (flush, then free), non-present
 * entries, and munmap splitting VMAs.
 */
#include "harness.h"

#include <migrace/check.h>
#include <migrace/dmirror.h>
#include <migrace/migrate.h>

#include "machine.h"

#define A0 REGION_START
#define A1 (REGION_START + 1 * PAGE_SIZE)
#define A2 (REGION_START + 2 * PAGE_SIZE)
#define A3 (REGION_START + 3 * PAGE_SIZE)
#define AEND (REGION_START + REGION_PAGES * PAGE_SIZE)

/* ---- helpers ---- */

/* Every page of the region written by CPU 0 (value: its address). */
static int populate(struct mm_struct *mm)
{
	for (unsigned long a = A0; a < AEND; a += PAGE_SIZE)
		if (store(mm, a, 0, a))
			return -1;
	lru_add_drain();
	return 0;
}

/* ---- MADV_DONTNEED ---- */

TEST(madvise_dontneed_clears_frees_and_flushes)
{
	struct mm_struct *mm = boot(2);
	struct madvise_zapped z = { 0 };
	struct page *p0, *p1, *p2;
	u64 v;

	ASSERT_TRUE(mm != NULL);
	ASSERT_EQ(populate(mm), 0);
	p0 = page_at(mm, A0);
	p1 = page_at(mm, A1);
	p2 = page_at(mm, A2);
	on_cpu(1);
	ASSERT_EQ(load(mm, A0, 0, &v), 0);
	ASSERT_EQ(load(mm, A1, 0, &v), 0);
	ASSERT_EQ(load(mm, A2, 0, &v), 0);
	ASSERT_TRUE(tlb_has(1, mm, A0) && tlb_has(1, mm, A1));
	on_cpu(0);
	ASSERT_EQ(mm->rss_anon, REGION_PAGES);

	ASSERT_EQ(do_madvise(mm, A0, 2 * PAGE_SIZE, MADV_DONTNEED, &z), 0);
	ASSERT_EQ(z.n, 1);
	ASSERT_EQ(z.start[0], A0);
	ASSERT_EQ(z.end[0], A2);
	ASSERT_TRUE(pte_none(pte_now(mm, A0)));
	ASSERT_TRUE(pte_none(pte_now(mm, A1)));
	ASSERT_TRUE(PageBuddy(p0));
	ASSERT_TRUE(PageBuddy(p1));
	ASSERT_EQ(page_count(p0), 0);
	ASSERT_EQ(mm->rss_anon, REGION_PAGES - 2);
	/* Every CPU's translation is gone, on the other CPU too. */
	for (int c = 0; c < 2; c++) {
		ASSERT_FALSE(tlb_has(c, mm, A0));
		ASSERT_FALSE(tlb_has(c, mm, A1));
	}
	/* Outside the range: mapped, cached, intact. */
	ASSERT_EQ(page_at(mm, A2), p2);
	ASSERT_FALSE(PageBuddy(p2));
	ASSERT_EQ(p2->data[0], A2);

	/* The VMA stays; the next load faults in the zero page. */
	ASSERT_TRUE(find_vma(mm, A0) != NULL);
	ASSERT_EQ(find_vma(mm, A0)->vm_start, A0);
	on_cpu(1);
	ASSERT_EQ(mmu_user_access(mm, A0, 0, false, &v), -EFAULT);
	ASSERT_EQ(load(mm, A0, 0, &v), 0);
	ASSERT_EQ(v, 0);
	ASSERT_TRUE(is_zero_pfn(pte_pfn(pte_now(mm, A0))));
}

/*
 * mmu_gather: the zap clears the ptes under the PTE lock but flushes the
 * TLBs and frees the pages only in tlb_finish_mmu(), flush first.  Until
 * then the page is still allocated, so a CPU that still has the
 * translation cached cannot reach a freed page.
 */
TEST(zap_frees_pages_only_after_the_flush)
{
	struct mm_struct *mm = boot(2);
	struct vm_area_struct *vma;
	struct mmu_gather tlb;
	struct page *page;
	u64 v;

	ASSERT_TRUE(mm != NULL);
	ASSERT_EQ(populate(mm), 0);
	page = page_at(mm, A0);
	on_cpu(1);
	ASSERT_EQ(load(mm, A0, 1, &v), 0);
	on_cpu(0);
	vma = find_vma(mm, A0);

	tlb_gather_mmu(&tlb, mm);
	ASSERT_EQ(mm->tlb_flush_pending, 1);
	unmap_page_range(&tlb, vma, A0, A1);
	ASSERT_TRUE(pte_none(pte_now(mm, A0)));
	ASSERT_EQ(page_mapcount(page), 0);
	ASSERT_FALSE(PageBuddy(page));
	ASSERT_EQ(page_count(page), 1);	/* the gather's reference */
	ASSERT_TRUE(tlb_has(1, mm, A0));	/* flush still owed */
	ASSERT_EQ(tlb.start, A0);
	ASSERT_EQ(tlb.end, A1);
	/* The stale entry reaches the old, still allocated, page. */
	on_cpu(1);
	ASSERT_EQ(mmu_user_access(mm, A0, 0, false, &v), 0);
	ASSERT_TRUE(cpus[1].last_tlb_hit);
	ASSERT_EQ(v, A0);
	on_cpu(0);

	tlb_finish_mmu(&tlb);
	ASSERT_FALSE(tlb_has(1, mm, A0));
	ASSERT_TRUE(PageBuddy(page));
	ASSERT_EQ(mm->tlb_flush_pending, 0);
	/* Only the range was flushed. */
	ASSERT_EQ(page_at(mm, A1) != NULL, true);
}

/* The zero page is special: zapping it frees nothing and leaves rss alone. */
TEST(zap_of_zero_page_pte)
{
	struct mm_struct *mm = boot(2);
	u64 v;

	ASSERT_TRUE(mm != NULL);
	ASSERT_EQ(load(mm, A0, 0, &v), 0);
	ASSERT_TRUE(is_zero_pfn(pte_pfn(pte_now(mm, A0))));
	ASSERT_EQ(do_madvise(mm, A0, PAGE_SIZE, MADV_DONTNEED, NULL), 0);
	ASSERT_TRUE(pte_none(pte_now(mm, A0)));
	ASSERT_FALSE(tlb_has(0, mm, A0));
	ASSERT_EQ(page_count(pfn_to_page(ZERO_PFN)), 1);
	ASSERT_FALSE(PageBuddy(pfn_to_page(ZERO_PFN)));
	ASSERT_EQ(mm->rss_anon, 0);
}

/*
 * A migration entry is not present, so no TLB can legitimately hold it:
 * zap clears it without queueing a flush (and without touching the page,
 * which the migration owns), but still drops it from rss.  The probe: a
 * TLB entry CPU 1 cached before the entry was installed (without a flush)
 * survives the madvise - no shootdown was sent for that range.
 */
TEST(zap_of_migration_entry_needs_no_flush)
{
	struct mm_struct *mm = boot(2);
	struct page *page;
	int count, mapcount;
	u64 v;

	ASSERT_TRUE(mm != NULL);
	ASSERT_EQ(populate(mm), 0);
	page = page_at(mm, A0);
	on_cpu(1);
	ASSERT_EQ(load(mm, A0, 0, &v), 0);
	on_cpu(0);
	ASSERT_TRUE(tlb_has(1, mm, A0));
	count = page_count(page);
	mapcount = page_mapcount(page);

	pte_set_locked(mm, A0,
		       swp_entry_to_pte(make_readable_migration_entry(page_to_pfn(page))));
	ASSERT_TRUE(is_migration_entry(pte_to_swp_entry(pte_now(mm, A0))));
	ASSERT_EQ(mm->rss_anon, REGION_PAGES);

	ASSERT_EQ(do_madvise(mm, A0, PAGE_SIZE, MADV_DONTNEED, NULL), 0);
	ASSERT_TRUE(pte_none(pte_now(mm, A0)));
	ASSERT_EQ(mm->rss_anon, REGION_PAGES - 1);
	ASSERT_EQ(page_count(page), count);
	ASSERT_EQ(page_mapcount(page), mapcount);
	ASSERT_FALSE(PageBuddy(page));
	ASSERT_TRUE(tlb_has(1, mm, A0));
	ASSERT_TRUE(tlb_has(0, mm, A0));
	ASSERT_EQ(mm->tlb_flush_pending, 0);
}

/* A device-private entry: zap drops the device page and the mirror. */
static struct dmirror_device mdevice;
static struct dmirror dmirror;

TEST(zap_of_device_private_entry_frees_device_page)
{
	struct mm_struct *mm = boot(2);
	unsigned long idx = (A0 - TASK_UNMAPPED_BASE) >> PAGE_SHIFT;
	struct page *dpage;
	pte_t pte;
	u64 v;

	ASSERT_TRUE(mm != NULL);
	dmirror_device_init(&mdevice);
	ASSERT_EQ(dmirror_init(&dmirror, &mdevice, mm), 0);
	ASSERT_EQ(populate(mm), 0);
	ASSERT_EQ(dmirror_migrate_to_device(&dmirror, A0, 1, 0, 0, 0, false), 0);
	pte = pte_now(mm, A0);
	ASSERT_TRUE(is_swap_pte(pte) &&
		    is_device_private_entry(pte_to_swp_entry(pte)));
	dpage = pfn_swap_entry_to_page(pte_to_swp_entry(pte));
	ASSERT_NE(dmirror.pt[idx], 0);
	ASSERT_EQ(mm->rss_anon, REGION_PAGES);

	ASSERT_EQ(do_madvise(mm, A0, PAGE_SIZE, MADV_DONTNEED, NULL), 0);
	ASSERT_TRUE(pte_none(pte_now(mm, A0)));
	ASSERT_EQ(mm->rss_anon, REGION_PAGES - 1);
	ASSERT_TRUE(PageBuddy(dpage));
	ASSERT_EQ(page_mapcount(dpage), 0);
	ASSERT_EQ(mdevice.nfree, DEVICE_PAGES);
	/* The MMU notifier told the device: its mapping is gone too. */
	ASSERT_EQ(dmirror.pt[idx], 0);
	ASSERT_EQ(load(mm, A0, 0, &v), 0);
	ASSERT_EQ(v, 0);
}

/* DONTNEED on a page shared with a fork child only drops one mapping. */
TEST(zap_of_shared_page_keeps_it_for_the_other_mm)
{
	struct mm_struct *mm = boot(2), *child;
	struct page *page;
	u64 v;

	ASSERT_TRUE(mm != NULL);
	ASSERT_EQ(populate(mm), 0);
	page = page_at(mm, A0);
	child = dup_mm(mm, 1);
	ASSERT_TRUE(child != NULL);
	ASSERT_EQ(page_mapcount(page), 2);

	ASSERT_EQ(do_madvise(mm, A0, PAGE_SIZE, MADV_DONTNEED, NULL), 0);
	ASSERT_TRUE(pte_none(pte_now(mm, A0)));
	ASSERT_FALSE(PageBuddy(page));
	ASSERT_EQ(page_mapcount(page), 1);
	ASSERT_EQ(page_count(page), 1);
	ASSERT_EQ(page_at(child, A0), page);
	ASSERT_EQ(load(child, A0, 0, &v), 0);
	ASSERT_EQ(v, A0);
	ASSERT_EQ(load(mm, A0, 0, &v), 0);
	ASSERT_EQ(v, 0);
}

/* A hole in the range: the mapped parts are zapped, the call says ENOMEM. */
TEST(madvise_over_a_hole)
{
	struct mm_struct *mm = boot(2);
	struct madvise_zapped z = { 0 };
	struct page *p0, *p3;

	ASSERT_TRUE(mm != NULL);
	ASSERT_EQ(populate(mm), 0);
	p0 = page_at(mm, A0);
	p3 = page_at(mm, A3);
	ASSERT_EQ(do_munmap_syscall(mm, A1, PAGE_SIZE), 0);
	ASSERT_EQ(do_madvise(mm, A0, REGION_PAGES * PAGE_SIZE, MADV_DONTNEED, &z),
		  -ENOMEM);
	ASSERT_EQ(z.n, 2);
	ASSERT_EQ(z.start[0], A0);
	ASSERT_EQ(z.end[0], A1);
	ASSERT_EQ(z.start[1], A2);
	ASSERT_EQ(z.end[1], AEND);
	ASSERT_TRUE(PageBuddy(p0));
	ASSERT_TRUE(PageBuddy(p3));
	ASSERT_EQ(mm->rss_anon, 0);
	ASSERT_EQ(do_madvise(mm, A0, PAGE_SIZE, 99, NULL), -EINVAL);
}

/* ---- munmap ---- */

TEST(munmap_of_part_of_a_vma_splits_it)
{
	struct mm_struct *mm = boot(2);
	struct vm_area_struct *lo, *hi;
	struct page *p1;
	u64 v;

	ASSERT_TRUE(mm != NULL);
	ASSERT_EQ(populate(mm), 0);
	lo = find_vma(mm, A0);
	ASSERT_EQ(mm->nr_vmas, 1);
	p1 = page_at(mm, A1);

	ASSERT_EQ(do_munmap_syscall(mm, A1, PAGE_SIZE), 0);
	ASSERT_EQ(mm->nr_vmas, 2);
	ASSERT_EQ(find_vma(mm, A0), lo);
	ASSERT_EQ(lo->vm_start, A0);
	ASSERT_EQ(lo->vm_end, A1);
	hi = find_vma(mm, A1);	/* the first VMA ending above A1 */
	ASSERT_TRUE(hi != NULL && hi != lo);
	ASSERT_EQ(hi->vm_start, A2);
	ASSERT_EQ(hi->vm_end, AEND);
	ASSERT_EQ(find_vma(mm, A2), hi);
	ASSERT_EQ(hi->vm_pgoff, lo->vm_pgoff + 2);
	ASSERT_EQ(hi->vm_flags, lo->vm_flags);
	ASSERT_EQ(hi->anon_vma, lo->anon_vma);
	ASSERT_EQ(mm->vmas[0], lo);
	ASSERT_EQ(mm->vmas[1], hi);
	/* The hole: no pte, page freed, SIGSEGV; the rest keeps its data. */
	ASSERT_TRUE(pte_none(pte_now(mm, A1)));
	ASSERT_TRUE(PageBuddy(p1));
	ASSERT_EQ(mm->rss_anon, REGION_PAGES - 1);
	ASSERT_EQ(load(mm, A1, 0, &v), VM_FAULT_SIGSEGV);
	ASSERT_EQ(store(mm, A1, 0, 1), VM_FAULT_SIGSEGV);
	for (unsigned long a = A0; a < AEND; a += PAGE_SIZE) {
		if (a == A1)
			continue;
		ASSERT_EQ(load(mm, a, 0, &v), 0);
		ASSERT_EQ(v, a);
	}

	/* The tail of the upper part, then the whole lower part. */
	ASSERT_EQ(do_munmap_syscall(mm, A3, PAGE_SIZE), 0);
	ASSERT_EQ(mm->nr_vmas, 2);
	ASSERT_EQ(hi->vm_start, A2);
	ASSERT_EQ(hi->vm_end, A3);
	ASSERT_EQ(find_vma(mm, A3), NULL);
	ASSERT_EQ(do_munmap_syscall(mm, A0, PAGE_SIZE), 0);
	ASSERT_EQ(mm->nr_vmas, 1);
	ASSERT_EQ(find_vma(mm, A0), hi);
	ASSERT_EQ(mm->rss_anon, 1);

	/* Mapping the hole again gives a fresh, zero-filled VMA. */
	ASSERT_EQ(do_mmap_fixed(mm, A1, PAGE_SIZE, VM_READ | VM_WRITE), 0);
	ASSERT_EQ(mm->nr_vmas, 2);
	ASSERT_EQ(find_vma(mm, A1)->vm_start, A1);
	ASSERT_EQ(find_vma(mm, A1)->vm_end, A2);
	ASSERT_EQ(load(mm, A1, 0, &v), 0);
	ASSERT_EQ(v, 0);
	ASSERT_EQ(load(mm, A2, 0, &v), 0);
	ASSERT_EQ(v, A2);
}

/* munmap over several VMAs and a hole removes them all. */
TEST(munmap_across_vmas)
{
	struct mm_struct *mm = boot(2);

	ASSERT_TRUE(mm != NULL);
	ASSERT_EQ(populate(mm), 0);
	ASSERT_EQ(do_munmap_syscall(mm, A1, PAGE_SIZE), 0);
	ASSERT_EQ(mm->nr_vmas, 2);
	ASSERT_EQ(do_munmap_syscall(mm, A0, REGION_PAGES * PAGE_SIZE), 0);
	ASSERT_EQ(mm->nr_vmas, 0);
	ASSERT_EQ(mm->rss_anon, 0);
	for (unsigned long a = A0; a < AEND; a += PAGE_SIZE)
		ASSERT_TRUE(pte_none(pte_now(mm, a)));
	/* Nothing there: a no-op. */
	ASSERT_EQ(do_munmap_syscall(mm, A0, PAGE_SIZE), 0);
}

TEST_MAIN()
