/*
 * Fault paths (engine/mm/memory.c, fork.c): the zero page, anonymous
 * pages, copy-on-write after fork and the do_wp_page() reuse rule, and a
 * CPU fault on a device-private entry migrating the page back (dmirror).
 */
#include "harness.h"

#include <migrace/check.h>
#include <migrace/dmirror.h>
#include <migrace/migrate.h>

#include "machine.h"

#define A0 REGION_START
#define A1 (REGION_START + PAGE_SIZE)

/* ---- the zero page and anonymous pages ---- */

TEST(read_fault_maps_the_zero_page)
{
	struct mm_struct *mm = boot(2);
	unsigned long nfree;
	pte_t pte;
	u64 v = 1;

	ASSERT_TRUE(mm != NULL);
	nfree = nr_free_pages();
	ASSERT_TRUE(pte_none(pte_now(mm, A0)));
	ASSERT_EQ(load(mm, A0, 2, &v), 0);
	ASSERT_EQ(v, 0);
	pte = pte_now(mm, A0);
	ASSERT_TRUE(pte_present(pte));
	ASSERT_TRUE(pte_special(pte));
	ASSERT_TRUE(is_zero_pfn(pte_pfn(pte)));
	ASSERT_FALSE(pte_write(pte));
	ASSERT_EQ(vm_normal_page(find_vma(mm, A0), A0, pte), NULL);
	/* No page allocated, no rss, the zero page is not refcounted per map. */
	ASSERT_EQ(nr_free_pages(), nfree);
	ASSERT_EQ(mm->rss_anon, 0);
	ASSERT_EQ(page_count(pfn_to_page(ZERO_PFN)), 1);
	ASSERT_EQ(page_mapcount(pfn_to_page(ZERO_PFN)), 0);
	/* The neighbour is untouched. */
	ASSERT_TRUE(pte_none(pte_now(mm, A1)));
}

/* A write fault on the zero page's pte: COW into a fresh zeroed page. */
TEST(write_after_read_replaces_zero_page)
{
	struct mm_struct *mm = boot(2);
	unsigned long nfree;
	struct page *page;
	pte_t pte;
	u64 v;

	ASSERT_TRUE(mm != NULL);
	ASSERT_EQ(load(mm, A0, 0, &v), 0);
	ASSERT_TRUE(is_zero_pfn(pte_pfn(pte_now(mm, A0))));
	nfree = nr_free_pages();

	ASSERT_EQ(store(mm, A0, 1, 0xfeed), 0);
	pte = pte_now(mm, A0);
	ASSERT_TRUE(pte_present(pte));
	ASSERT_FALSE(is_zero_pfn(pte_pfn(pte)));
	ASSERT_FALSE(pte_special(pte));
	ASSERT_TRUE(pte_write(pte));
	ASSERT_TRUE(pte_dirty(pte));
	ASSERT_EQ(nr_free_pages(), nfree - 1);
	page = pfn_to_page(pte_pfn(pte));
	ASSERT_FALSE(PageBuddy(page));
	ASSERT_TRUE(PageAnon(page));
	ASSERT_TRUE(PageAnonExclusive(page));
	ASSERT_EQ(page_mapcount(page), 1);
	ASSERT_EQ(page_anon_vma(page), find_vma(mm, A0)->anon_vma);
	ASSERT_EQ(mm->rss_anon, 1);
	/* Zeroed, not a copy of poison; the store landed in its slot. */
	for (int s = 0; s < PAGE_SLOTS; s++)
		ASSERT_EQ(page->data[s], s == 1 ? 0xfeed : 0);
	ASSERT_EQ(load(mm, A0, 1, &v), 0);
	ASSERT_EQ(v, 0xfeed);
	/* The zero page itself is never written. */
	for (int s = 0; s < PAGE_SLOTS; s++)
		ASSERT_EQ(pfn_to_page(ZERO_PFN)->data[s], 0);
	/* One reference for the mapping once the LRU batch is drained. */
	lru_add_drain();
	ASSERT_EQ(page_count(page), 1);
	ASSERT_TRUE(PageLRU(page));
}

TEST(write_fault_on_empty_pte_maps_new_anon_page)
{
	struct mm_struct *mm = boot(2);
	struct page *page;
	pte_t pte;

	ASSERT_TRUE(mm != NULL);
	ASSERT_EQ(store(mm, A0, 0, 42), 0);
	pte = pte_now(mm, A0);
	ASSERT_TRUE(pte_write(pte) && pte_dirty(pte) && !pte_special(pte));
	page = page_at(mm, A0);
	ASSERT_TRUE(page != NULL && !is_zero_pfn(page_to_pfn(page)));
	ASSERT_TRUE(PageAnonExclusive(page));
	ASSERT_EQ(page_mapcount(page), 1);
	ASSERT_EQ(page->data[0], 42);
	ASSERT_EQ(page->data[1], 0);
	ASSERT_EQ(mm->rss_anon, 1);
}

TEST(write_to_readonly_vma_is_sigsegv)
{
	struct mm_struct *mm = boot(2);
	u64 v;

	ASSERT_TRUE(mm != NULL);
	ASSERT_EQ(do_mmap_fixed(mm, A0, PAGE_SIZE, VM_READ), 0);
	ASSERT_EQ(store(mm, A0, 0, 1), VM_FAULT_SIGSEGV);
	ASSERT_TRUE(pte_none(pte_now(mm, A0)));
	ASSERT_EQ(load(mm, A0, 0, &v), 0);
	ASSERT_EQ(v, 0);
	/* The zero page is mapped now; still no COW for a read-only VMA. */
	ASSERT_EQ(store(mm, A0, 0, 1), VM_FAULT_SIGSEGV);
	ASSERT_TRUE(is_zero_pfn(pte_pfn(pte_now(mm, A0))));
	/* The writable neighbour VMA is unaffected. */
	ASSERT_EQ(store(mm, A1, 0, 1), 0);
}

/* ---- fork and copy-on-write ---- */

/* Parent with p0 = { 0x10, 0x11, 0, ... }, forked. */
static struct mm_struct *parent, *child;
static struct page *shared;

static int fork_setup(void)
{
	return boot_and_fork(&parent, &child, &shared);
}

TEST(fork_shares_and_write_protects)
{
	u64 v = 0;

	ASSERT_EQ(fork_setup(), 0);
	ASSERT_EQ(page_at(child, A0), shared);
	ASSERT_EQ(page_at(parent, A0), shared);
	ASSERT_FALSE(pte_write(pte_now(parent, A0)));
	ASSERT_FALSE(pte_write(pte_now(child, A0)));
	ASSERT_FALSE(PageAnonExclusive(shared));
	ASSERT_EQ(page_mapcount(shared), 2);
	ASSERT_EQ(page_count(shared), 2);
	ASSERT_EQ(parent->rss_anon, 1);
	ASSERT_EQ(child->rss_anon, 1);
	/* Untouched ptes stay empty in the child. */
	ASSERT_TRUE(pte_none(pte_now(child, A1)));
	/* Both read the same data. */
	ASSERT_EQ(load(child, A0, 1, &v), 0);
	ASSERT_EQ(v, 0x11);
	ASSERT_EQ(load(parent, A0, 1, &v), 0);
	ASSERT_EQ(v, 0x11);
	/*
	 * The parent's writable TLB entry from before the fork was flushed:
	 * a store must fault, or it would write the page the child shares.
	 */
	ASSERT_EQ(mmu_user_access(parent, A0, 0, true, &(u64){ 0xbad }), -EFAULT);
	ASSERT_EQ(shared->data[0], 0x10);
}

TEST(child_write_copies_the_page)
{
	unsigned long nfree;
	struct page *copy;
	u64 v = 0;

	ASSERT_EQ(fork_setup(), 0);
	nfree = nr_free_pages();
	current_cpu = &cpus[1];
	ASSERT_EQ(store(child, A0, 0, 0x20), 0);
	lru_add_drain();
	current_cpu = &cpus[0];

	copy = page_at(child, A0);
	ASSERT_TRUE(copy != NULL);
	ASSERT_NE(copy, shared);
	ASSERT_EQ(nr_free_pages(), nfree - 1);
	ASSERT_TRUE(pte_write(pte_now(child, A0)));
	ASSERT_EQ(copy->data[0], 0x20);
	ASSERT_EQ(copy->data[1], 0x11);	/* the old contents were copied */
	ASSERT_TRUE(PageAnonExclusive(copy));
	ASSERT_EQ(page_mapcount(copy), 1);
	/* The parent keeps its page and its value. */
	ASSERT_EQ(page_at(parent, A0), shared);
	ASSERT_EQ(load(parent, A0, 0, &v), 0);
	ASSERT_EQ(v, 0x10);
	ASSERT_EQ(shared->data[0], 0x10);
	ASSERT_EQ(page_mapcount(shared), 1);
	ASSERT_EQ(page_count(shared), 1);
	ASSERT_FALSE(pte_write(pte_now(parent, A0)));
	ASSERT_EQ(child->rss_anon, 1);
	ASSERT_EQ(parent->rss_anon, 1);
}

/*
 * After the child exits, the parent's page is mapped once and referenced
 * once: do_wp_page() reuses it (no copy) and makes it exclusive again.
 */
TEST(parent_write_after_child_exit_reuses_page)
{
	unsigned long nfree;
	u64 v;

	ASSERT_EQ(fork_setup(), 0);
	exit_mmap(child);
	ASSERT_EQ(page_mapcount(shared), 1);
	ASSERT_EQ(page_count(shared), 1);
	ASSERT_FALSE(PageAnonExclusive(shared));
	ASSERT_FALSE(pte_write(pte_now(parent, A0)));
	nfree = nr_free_pages();

	ASSERT_EQ(store(parent, A0, 0, 0x30), 0);
	ASSERT_EQ(page_at(parent, A0), shared);
	ASSERT_EQ(nr_free_pages(), nfree);
	ASSERT_TRUE(pte_write(pte_now(parent, A0)));
	ASSERT_TRUE(PageAnonExclusive(shared));
	ASSERT_EQ(page_mapcount(shared), 1);
	ASSERT_EQ(shared->data[0], 0x30);
	ASSERT_EQ(shared->data[1], 0x11);
	/* Exclusive now: the next write fault (if any) reuses without checks. */
	ASSERT_EQ(load(parent, A0, 1, &v), 0);
	ASSERT_EQ(v, 0x11);
}

/*
 * The reuse rule is about references, not mappings: with an extra
 * reference (GUP, swap cache...) the sole mapper must still copy.
 */
TEST(parent_write_with_extra_reference_copies)
{
	struct page *copy;
	unsigned long nfree;

	ASSERT_EQ(fork_setup(), 0);
	exit_mmap(child);
	get_page(shared);
	nfree = nr_free_pages();

	ASSERT_EQ(store(parent, A0, 0, 0x40), 0);
	copy = page_at(parent, A0);
	ASSERT_NE(copy, shared);
	ASSERT_EQ(nr_free_pages(), nfree - 1);
	ASSERT_EQ(copy->data[0], 0x40);
	ASSERT_EQ(copy->data[1], 0x11);
	ASSERT_EQ(shared->data[0], 0x10);
	ASSERT_EQ(page_mapcount(shared), 0);
	ASSERT_EQ(page_count(shared), 1);
	/* Dropping the extra reference frees the old page. */
	put_page(shared);
	ASSERT_TRUE(PageBuddy(shared));
}

/* The child's exit frees its own copies and nothing of the parent's. */
TEST(child_exit_frees_only_its_pages)
{
	struct page *copy;
	u64 v;

	ASSERT_EQ(fork_setup(), 0);
	ASSERT_EQ(store(child, A0, 0, 0x50), 0);
	ASSERT_EQ(store(child, A1, 0, 0x51), 0);
	copy = page_at(child, A0);
	struct page *own = page_at(child, A1);

	exit_mmap(child);
	ASSERT_TRUE(PageBuddy(copy));
	ASSERT_TRUE(PageBuddy(own));
	ASSERT_FALSE(PageBuddy(shared));
	ASSERT_EQ(child->rss_anon, 0);
	ASSERT_EQ(load(parent, A0, 0, &v), 0);
	ASSERT_EQ(v, 0x10);
}

/* ---- device-private entries ---- */

static struct dmirror_device mdevice;
static struct dmirror dmirror;

TEST(fault_on_device_private_entry_migrates_back)
{
	struct mm_struct *mm = boot(2);
	struct page *spage, *dpage, *back;
	unsigned long idx = (A0 - TASK_UNMAPPED_BASE) >> PAGE_SHIFT;
	swp_entry_t entry;
	pte_t pte;
	u64 v = 0;

	ASSERT_TRUE(mm != NULL);
	dmirror_device_init(&mdevice);
	ASSERT_EQ(dmirror_init(&dmirror, &mdevice, mm), 0);
	ASSERT_EQ(store(mm, A0, 0, 0xd0), 0);
	ASSERT_EQ(store(mm, A0, 3, 0xd3), 0);
	spage = page_at(mm, A0);
	lru_add_drain();

	ASSERT_EQ(dmirror_migrate_to_device(&dmirror, A0, 1, 0, 0, 0, false), 0);
	pte = pte_now(mm, A0);
	ASSERT_TRUE(is_swap_pte(pte));
	entry = pte_to_swp_entry(pte);
	ASSERT_TRUE(is_device_private_entry(entry));
	ASSERT_TRUE(is_writable_device_private_entry(entry));
	dpage = pfn_swap_entry_to_page(entry);
	ASSERT_TRUE(is_device_private_page(dpage));
	ASSERT_EQ(dpage->data[0], 0xd0);
	ASSERT_EQ(dpage->data[3], 0xd3);
	ASSERT_EQ(page_mapcount(dpage), 1);
	ASSERT_EQ(dmirror.pt[idx], dpt_entry(page_to_pfn(dpage), DPT_WRITE));
	/* The system page is unmapped, and freed once the LRU batch drains. */
	ASSERT_EQ(page_mapcount(spage), 0);
	lru_add_drain();
	ASSERT_TRUE(PageBuddy(spage));
	ASSERT_EQ(mm->rss_anon, 1);
	ASSERT_EQ(mdevice.nfree, DEVICE_PAGES - 1);

	/* The CPU cannot use the entry: the load faults... */
	ASSERT_EQ(mmu_user_access(mm, A0, 0, false, &v), -EFAULT);
	/* ...and the fault migrates the page back to system memory. */
	ASSERT_EQ(do_user_addr_fault(mm, A0, false), 0);
	pte = pte_now(mm, A0);
	ASSERT_TRUE(pte_present(pte));
	back = pfn_to_page(pte_pfn(pte));
	ASSERT_FALSE(is_zone_device_page(back));
	ASSERT_FALSE(is_zero_pfn(pte_pfn(pte)));
	ASSERT_EQ(mmu_user_access(mm, A0, 0, false, &v), 0);
	ASSERT_EQ(v, 0xd0);
	ASSERT_EQ(mmu_user_access(mm, A0, 3, false, &v), 0);
	ASSERT_EQ(v, 0xd3);
	ASSERT_EQ(page_mapcount(back), 1);
	ASSERT_TRUE(PageAnon(back));
	ASSERT_FALSE(PageLocked(back));
	ASSERT_EQ(mm->rss_anon, 1);
	/* The device page is free again and the device mapping gone. */
	ASSERT_TRUE(PageBuddy(dpage));
	ASSERT_EQ(page_count(dpage), 0);
	ASSERT_EQ(mdevice.nfree, DEVICE_PAGES);
	ASSERT_EQ(dmirror.pt[idx], 0);

	/* A writable entry comes back writable and exclusive: no COW. */
	ASSERT_TRUE(pte_write(pte));
	ASSERT_TRUE(PageAnonExclusive(back));
	ASSERT_EQ(mmu_user_access(mm, A0, 0, true, &(u64){ 0xd1 }), 0);
	ASSERT_EQ(page_at(mm, A0), back);
	ASSERT_EQ(back->data[0], 0xd1);
}

TEST_MAIN()
