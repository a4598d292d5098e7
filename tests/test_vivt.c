/*
 * Arch vivt: the per-CPU write-back caches of engine/hw/cache.c and the
 * kernel's flush_cache_*() hooks (include/migrace/cacheflush.h).  A store
 * stays in the storing CPU's line until a flush writes it back; other CPUs
 * see it (coherence); the kernel's copy on the same CPU, or a remap, does
 * not.  On x86 none of this exists.
 */
#include "harness.h"

#include <migrace/cacheflush.h>
#include <migrace/check.h>

#include "machine.h"

#define A0 REGION_START
#define A1 (REGION_START + PAGE_SIZE)

static struct mm_struct *boot_vivt(int ncpus)
{
	struct mm_struct *mm = boot(ncpus);

	cache_reset(true);
	return mm;
}

static unsigned long pfn_at(struct mm_struct *mm, unsigned long addr)
{
	return pte_pfn(pte_now(mm, addr));
}

/* ---- tests ---- */

TEST(store_is_written_back_by_the_flush)
{
	struct mm_struct *mm = boot_vivt(2);
	struct vm_area_struct *vma;
	unsigned long pfn;
	u64 v = 0;

	ASSERT_TRUE(mm != NULL);
	ASSERT_EQ(store(mm, A0, 0, 0xabc), 0);
	pfn = pfn_at(mm, A0);
	/* The store is in CPU 0's line, not in memory. */
	ASSERT_EQ(pfn_to_page(pfn)->data[0], 0);
	ASSERT_EQ(cache_dirty_lines(pfn), 1);
	ASSERT_EQ(load(mm, A0, 0, &v), 0);
	ASSERT_EQ(v, 0xabc);

	vma = find_vma(mm, A0);
	flush_cache_page(vma, A0, pfn);
	ASSERT_EQ(pfn_to_page(pfn)->data[0], 0xabc);
	ASSERT_EQ(cache_dirty_lines(pfn), 0);
	ASSERT_EQ(load(mm, A0, 0, &v), 0);
	ASSERT_EQ(v, 0xabc);
}

/* Another CPU reading the same address, or the same page, sees the store. */
TEST(other_cpus_are_coherent)
{
	struct mm_struct *mm = boot_vivt(2);
	struct page *copy;
	unsigned long pfn;
	u64 v = 0;

	ASSERT_TRUE(mm != NULL);
	ASSERT_EQ(store(mm, A0, 0, 0x11), 0);
	pfn = pfn_at(mm, A0);
	on_cpu(1);
	ASSERT_EQ(load(mm, A0, 0, &v), 0);
	ASSERT_EQ(v, 0x11);
	/* CPU 0 wrote its line back to answer. */
	ASSERT_EQ(cache_dirty_lines(pfn), 0);

	/* A kernel copy on CPU 1 sees CPU 0's newer store. */
	on_cpu(0);
	ASSERT_EQ(store(mm, A0, 0, 0x22), 0);
	ASSERT_EQ(cache_dirty_lines(pfn), 1);
	on_cpu(1);
	copy = alloc_page();
	ASSERT_TRUE(copy != NULL);
	copy_highpage(copy, pfn_to_page(pfn));
	ASSERT_EQ(copy->data[0], 0x22);
	put_page(copy);

	/* A store supersedes the other CPU's line for the slot. */
	ASSERT_EQ(store(mm, A0, 0, 0x33), 0);
	on_cpu(0);
	ASSERT_EQ(load(mm, A0, 0, &v), 0);
	ASSERT_EQ(v, 0x33);
}

/*
 * The loss a missing flush causes: the kernel's copy on the CPU that
 * stored through the user address misses the line; with the flush first
 * it does not.
 */
TEST(copy_without_flush_misses_the_store)
{
	struct mm_struct *mm = boot_vivt(2);
	struct vm_area_struct *vma;
	struct page *copy;
	unsigned long pfn;

	ASSERT_TRUE(mm != NULL);
	ASSERT_EQ(store(mm, A0, 0, 0x5a), 0);
	ASSERT_EQ(store(mm, A0, 0, 0x5b), 0);
	pfn = pfn_at(mm, A0);
	copy = alloc_page();
	ASSERT_TRUE(copy != NULL);
	copy_highpage(copy, pfn_to_page(pfn));
	ASSERT_NE(copy->data[0], 0x5b);
	ASSERT_EQ(copy->data[0], 0);

	vma = find_vma(mm, A0);
	flush_cache_page(vma, A0, pfn);
	copy_highpage(copy, pfn_to_page(pfn));
	ASSERT_EQ(copy->data[0], 0x5b);
	put_page(copy);

	/* copy_user_highpage() flushes the user's alias itself. */
	ASSERT_EQ(store(mm, A0, 0, 0x5c), 0);
	copy = alloc_page();
	ASSERT_TRUE(copy != NULL);
	copy_user_highpage(copy, pfn_to_page(pfn), A0, vma);
	ASSERT_EQ(copy->data[0], 0x5c);
	put_page(copy);
}

/*
 * Remapping the address to a copy made without the flush: the CPU's line
 * was for the old page and is dropped; the load sees the stale copy.
 */
TEST(remap_without_flush_loses_the_store)
{
	struct mm_struct *mm = boot_vivt(1);
	struct vm_area_struct *vma;
	struct page *old, *copy;
	u64 v = 0;

	ASSERT_TRUE(mm != NULL);
	ASSERT_EQ(store(mm, A0, 0, 0x77), 0);
	vma = find_vma(mm, A0);
	old = page_at(mm, A0);
	copy = alloc_page();
	ASSERT_TRUE(copy != NULL);
	copy_highpage(copy, old);
	pte_set_locked(mm, A0, pte_mkdirty(mk_pte(copy, vma->vm_page_prot)));
	flush_tlb_page(vma, A0);
	ASSERT_EQ(load(mm, A0, 0, &v), 0);
	ASSERT_EQ(v, 0);	/* the store of 0x77 is lost */
	ASSERT_EQ(cache_dirty_lines(page_to_pfn(old)), 0);
}

/* fork writes the parent's lines back: the child reads what was stored. */
TEST(fork_flushes_the_parent)
{
	struct mm_struct *mm = boot_vivt(2);
	struct mm_struct *child;
	u64 v = 0;

	ASSERT_TRUE(mm != NULL);
	ASSERT_EQ(store(mm, A1, 0, 0x99), 0);
	child = dup_mm(mm, 1);
	ASSERT_TRUE(child != NULL);
	ASSERT_EQ(cache_dirty_lines(pfn_at(mm, A1)), 0);
	on_cpu(0);
	ASSERT_EQ(load(child, A1, 0, &v), 0);
	ASSERT_EQ(v, 0x99);
}

/* A full cache evicts (writes back) its oldest line. */
TEST(eviction_writes_back)
{
	struct mm_struct *mm = boot_vivt(1);
	unsigned long pfn;
	int n = 0;

	ASSERT_TRUE(mm != NULL);
	ASSERT_EQ(store(mm, A0, 0, 0x1), 0);
	pfn = pfn_at(mm, A0);
	for (int pg = 1; pg < REGION_PAGES && n < CACHE_LINES; pg++)
		for (int s = 0; s < PAGE_SLOTS && n < CACHE_LINES; s++, n++)
			ASSERT_EQ(store(mm, A0 + pg * PAGE_SIZE, s, 0x100 + n),
				  0);
	ASSERT_EQ(pfn_to_page(pfn)->data[0], 0x1);
	ASSERT_EQ(cache_dirty_lines(pfn), 0);
}

/* x86: stores go to memory, the flushes and the copies see everything. */
TEST(x86_has_no_cache)
{
	struct mm_struct *mm = boot(1);
	struct page *copy;
	unsigned long pfn;

	ASSERT_TRUE(mm != NULL);
	ASSERT_FALSE(arch_vivt);
	ASSERT_EQ(store(mm, A0, 0, 0x42), 0);
	pfn = pfn_at(mm, A0);
	ASSERT_EQ(pfn_to_page(pfn)->data[0], 0x42);
	ASSERT_EQ(cache_dirty_lines(pfn), 0);
	copy = alloc_page();
	ASSERT_TRUE(copy != NULL);
	copy_highpage(copy, pfn_to_page(pfn));
	ASSERT_EQ(copy->data[0], 0x42);
	put_page(copy);
}

TEST_MAIN()
