/*
 * get_user_pages() pins (engine/mm/gup.c, Linux 6.0): R/O pins unshare a
 * possibly shared anonymous page (FAULT_FLAG_UNSHARE, PG_anon_exclusive),
 * write pins, fork copying a pinned page for the child, migration leaving
 * a pinned page alone, GUP-fast with interrupts off against a TLB
 * shootdown and against fork's write_protect_seq, and the zero page.
 */
#include "harness.h"

#include <migrace/check.h>
#include <migrace/dmirror.h>
#include <migrace/fixes.h>
#include <migrace/gup.h>
#include <migrace/migrate.h>

#define MACHINE_TRACE
#include "machine.h"

#define A0 REGION_START
#define A1 (REGION_START + PAGE_SIZE)

/* ---- 1. a R/O pin after fork: unshare, or (before the fix) not ---- */

/* Parent with A0 = { 0x10, 0x11, 0, ... }, forked; the page it shares. */
static struct mm_struct *parent, *child;
static struct page *shared;

static int fork_setup(void)
{
	return boot_and_fork(&parent, &child, &shared);
}

TEST(ro_pin_after_fork_unshares)
{
	struct page *page = NULL;
	u64 v = 0;

	ASSERT_EQ(fork_setup(), 0);
	ASSERT_FALSE(PageAnonExclusive(shared));
	ASSERT_EQ(page_mapcount(shared), 2);

	ASSERT_EQ(pin_user_pages_remote(parent, A0, 1, 0, &page), 1);
	lru_add_drain();
	/* The parent got an exclusive copy, and the pin is on that copy. */
	ASSERT_TRUE(page != NULL);
	ASSERT_EQ(page_at(parent, A0), page);
	ASSERT_NE(page, shared);
	ASSERT_TRUE(PageAnon(page));
	ASSERT_TRUE(PageAnonExclusive(page));
	ASSERT_TRUE(page_maybe_dma_pinned(page));
	ASSERT_EQ(page_count(page), 1 + GUP_PIN_COUNTING_BIAS);
	ASSERT_EQ(page->data[0], 0x10);
	ASSERT_EQ(page->data[1], 0x11);
	/* Unsharing does not make the pte writable. */
	ASSERT_FALSE(pte_write(pte_now(parent, A0)));
	/* The child keeps the old page, now mapped once. */
	ASSERT_EQ(page_at(child, A0), shared);
	ASSERT_EQ(page_mapcount(shared), 1);
	ASSERT_FALSE(page_maybe_dma_pinned(shared));

	/* The parent's store reuses the exclusive page: the pin sees it. */
	ASSERT_EQ(store(parent, A0, 0, 0x77), 0);
	ASSERT_EQ(page_at(parent, A0), page);
	ASSERT_TRUE(pte_write(pte_now(parent, A0)));
	ASSERT_EQ(page->data[0], 0x77);
	ASSERT_EQ(shared->data[0], 0x10);
	ASSERT_EQ(load(child, A0, 0, &v), 0);
	ASSERT_EQ(v, 0x10);

	unpin_user_page(page);
	ASSERT_EQ(page_count(page), 1);
}

/*
 * Before PG_anon_exclusive (FIX_ANON_EXCLUSIVE reverted): the R/O pin
 * takes the shared page as it is, and the parent's next store COWs away
 * from it - the pin no longer sees the process's memory.
 */
TEST(ro_pin_after_fork_without_fix_loses_coherency)
{
	struct page *page = NULL;
	struct page *now;

	ASSERT_EQ(fork_setup(), 0);
	fixes_reverted = 1UL << FIX_ANON_EXCLUSIVE;

	ASSERT_EQ(pin_user_pages_remote(parent, A0, 1, 0, &page), 1);
	ASSERT_EQ(page, shared);
	ASSERT_EQ(page_at(parent, A0), shared);
	ASSERT_EQ(page_at(child, A0), shared);
	ASSERT_EQ(page_count(shared), 2 + GUP_PIN_COUNTING_BIAS);

	ASSERT_EQ(store(parent, A0, 0, 0x77), 0);
	now = page_at(parent, A0);
	ASSERT_TRUE(now != NULL);
	ASSERT_NE(now, page);
	ASSERT_EQ(now->data[0], 0x77);
	/* The pinned page keeps the old value: the pre-2022 bug. */
	ASSERT_EQ(page->data[0], 0x10);

	unpin_user_page(page);
	ASSERT_EQ(page_count(shared), 1);
}

/* ---- 2. a write pin ---- */

TEST(write_pin_faults_in_writable_exclusive_page)
{
	struct mm_struct *mm = boot(2);
	struct page *page = NULL;
	pte_t pte;

	ASSERT_TRUE(mm != NULL);
	ASSERT_TRUE(pte_none(pte_now(mm, A0)));
	ASSERT_EQ(pin_user_pages_remote(mm, A0, 1, FOLL_WRITE, &page), 1);
	lru_add_drain();
	ASSERT_TRUE(mm->has_pinned);

	pte = pte_now(mm, A0);
	ASSERT_TRUE(pte_present(pte));
	ASSERT_TRUE(pte_write(pte));
	ASSERT_FALSE(is_zero_pfn(pte_pfn(pte)));
	ASSERT_EQ(page, pfn_to_page(pte_pfn(pte)));
	ASSERT_TRUE(PageAnon(page));
	ASSERT_TRUE(PageAnonExclusive(page));
	ASSERT_EQ(page_mapcount(page), 1);
	ASSERT_TRUE(page_maybe_dma_pinned(page));
	ASSERT_EQ(page_count(page), 1 + GUP_PIN_COUNTING_BIAS);
	/* The pte is dirty (the write fault), the page not yet. */
	ASSERT_FALSE(PageDirty(page));

	/* A DMA write through the pin is what the process reads. */
	page->data[2] = 0xd3a;
	{
		u64 v = 0;

		ASSERT_EQ(load(mm, A0, 2, &v), 0);
		ASSERT_EQ(v, 0xd3a);
	}

	unpin_user_pages_dirty_lock(&page, 1, true);
	ASSERT_TRUE(PageDirty(page));
	ASSERT_FALSE(PageLocked(page));
	ASSERT_EQ(page_count(page), 1);
	ASSERT_FALSE(page_maybe_dma_pinned(page));
	ASSERT_EQ(page_at(mm, A0), page);
}

/* unpin_user_pages_dirty_lock(..., false) leaves the page clean. */
TEST(unpin_without_dirty_leaves_page_clean)
{
	struct mm_struct *mm = boot(1);
	struct page *page = NULL;

	ASSERT_TRUE(mm != NULL);
	ASSERT_EQ(pin_user_pages_remote(mm, A0, 1, FOLL_WRITE, &page), 1);
	lru_add_drain();
	ASSERT_FALSE(PageDirty(page));
	unpin_user_pages_dirty_lock(&page, 1, false);
	ASSERT_FALSE(PageDirty(page));
	ASSERT_EQ(page_count(page), 1);
}

/* ---- 3. fork copies a pinned page for the child ---- */

TEST(fork_copies_pinned_page_for_child)
{
	struct mm_struct *mm = boot(2), *kid;
	struct page *page = NULL, *copy;
	unsigned long nfree;
	pte_t pte;
	u64 v = 0;

	ASSERT_TRUE(mm != NULL);
	ASSERT_EQ(store(mm, A0, 0, 0x10), 0);
	ASSERT_EQ(store(mm, A0, 5, 0x15), 0);
	ASSERT_EQ(store(mm, A1, 0, 0x20), 0);	/* not pinned: shared */
	lru_add_drain();
	ASSERT_EQ(pin_user_pages_remote(mm, A0, 1, 0, &page), 1);
	ASSERT_EQ(page, page_at(mm, A0));
	nfree = nr_free_pages();

	kid = dup_mm(mm, 1);
	ASSERT_TRUE(kid != NULL);
	lru_add_drain();

	/* The child has its own copy, same contents. */
	copy = page_at(kid, A0);
	ASSERT_TRUE(copy != NULL);
	ASSERT_NE(copy, page);
	ASSERT_NE(pte_pfn(pte_now(kid, A0)), page_to_pfn(page));
	for (int s = 0; s < PAGE_SLOTS; s++)
		ASSERT_EQ(copy->data[s], page->data[s]);
	ASSERT_EQ(copy->data[5], 0x15);
	ASSERT_TRUE(PageAnonExclusive(copy));
	ASSERT_EQ(page_mapcount(copy), 1);
	ASSERT_FALSE(page_maybe_dma_pinned(copy));
	ASSERT_TRUE(pte_write(pte_now(kid, A0)));
	ASSERT_EQ(nr_free_pages(), nfree - 1);

	/* The parent still maps the pinned page, exclusive and writable. */
	pte = pte_now(mm, A0);
	ASSERT_TRUE(pte_present(pte));
	ASSERT_EQ(pte_pfn(pte), page_to_pfn(page));
	ASSERT_TRUE(pte_write(pte));
	ASSERT_TRUE(PageAnonExclusive(page));
	ASSERT_EQ(page_mapcount(page), 1);
	ASSERT_EQ(page_count(page), 1 + GUP_PIN_COUNTING_BIAS);

	/* The unpinned neighbour is shared and write-protected as usual. */
	ASSERT_EQ(page_at(kid, A1), page_at(mm, A1));
	ASSERT_FALSE(pte_write(pte_now(mm, A1)));
	ASSERT_FALSE(PageAnonExclusive(page_at(mm, A1)));

	/* Parent and pin stay coherent; the child is independent. */
	ASSERT_EQ(store(mm, A0, 0, 0x99), 0);
	ASSERT_EQ(page_at(mm, A0), page);
	ASSERT_EQ(page->data[0], 0x99);
	ASSERT_EQ(load(kid, A0, 0, &v), 0);
	ASSERT_EQ(v, 0x10);

	unpin_user_page(page);
	ASSERT_EQ(page_count(page), 1);
}

/* ---- 4. a pinned page is not migrated ---- */

static struct dmirror_device mdevice;
static struct dmirror dmirror;

static void pinned_page_not_migrated(bool write_pin)
{
	struct mm_struct *mm = boot(2);
	unsigned long idx = (A0 - TASK_UNMAPPED_BASE) >> PAGE_SHIFT;
	struct page *page = NULL;
	unsigned long pfn;
	pte_t pte;
	long ret;
	u64 v = 0;

	ASSERT_TRUE(mm != NULL);
	dmirror_device_init(&mdevice);
	ASSERT_EQ(dmirror_init(&dmirror, &mdevice, mm), 0);
	ASSERT_EQ(store(mm, A0, 0, 0xd0), 0);
	ASSERT_EQ(store(mm, A1, 0, 0xd1), 0);
	lru_add_drain();
	pfn = pte_pfn(pte_now(mm, A0));
	ASSERT_EQ(pin_user_pages_remote(mm, A0, 1, write_pin ? FOLL_WRITE : 0,
					&page), 1);
	ASSERT_EQ(page_to_pfn(page), pfn);

	ret = dmirror_migrate_to_device(&dmirror, A0, 1, 0, 0, 0, false);
	ASSERT_TRUE(ret >= 0);
	pte = pte_now(mm, A0);
	ASSERT_TRUE(pte_present(pte));
	ASSERT_EQ(pte_pfn(pte), pfn);
	ASSERT_TRUE(pte_write(pte));
	ASSERT_EQ(dmirror.pt[idx], 0);
	ASSERT_EQ(mdevice.nfree, DEVICE_PAGES);
	ASSERT_FALSE(PageLocked(page));
	ASSERT_TRUE(PageAnonExclusive(page));
	ASSERT_EQ(page_mapcount(page), 1);
	lru_add_drain();
	ASSERT_EQ(page_count(page), 1 + GUP_PIN_COUNTING_BIAS);
	ASSERT_EQ(load(mm, A0, 0, &v), 0);
	ASSERT_EQ(v, 0xd0);
	/* The pin and the process still share the page. */
	ASSERT_EQ(store(mm, A0, 1, 0xe1), 0);
	ASSERT_EQ(page->data[1], 0xe1);

	/* Control: the unpinned neighbour does migrate. */
	ASSERT_EQ(dmirror_migrate_to_device(&dmirror, A1, 1, 0, 0, 0, false), 0);
	ASSERT_TRUE(is_swap_pte(pte_now(mm, A1)));
	ASSERT_EQ(mdevice.nfree, DEVICE_PAGES - 1);

	unpin_user_page(page);
	ASSERT_EQ(page_count(page), 1);
}

TEST(ro_pinned_page_is_not_migrated)
{
	pinned_page_not_migrated(false);
}

TEST(write_pinned_page_is_not_migrated)
{
	pinned_page_not_migrated(true);
}

/* ---- 5. GUP-fast runs with interrupts off ---- */

TEST(gup_fast_pins_and_returns_with_irqs_on)
{
	struct mm_struct *mm = boot(2);
	struct page *page = NULL;

	ASSERT_TRUE(mm != NULL);
	ASSERT_EQ(store(mm, A0, 0, 0x5), 0);
	lru_add_drain();
	ASSERT_EQ(cpus[0].irqs_off, 0);
	ASSERT_EQ(pin_user_pages_fast(mm, A0, 1, FOLL_FAST_ONLY, &page), 1);
	ASSERT_EQ(cpus[0].irqs_off, 0);
	ASSERT_EQ(cpus[0].rcu_nesting, 0);
	ASSERT_EQ(page, page_at(mm, A0));
	ASSERT_TRUE(page_maybe_dma_pinned(page));
	ASSERT_EQ(page_count(page), 1 + GUP_PIN_COUNTING_BIAS);
	ASSERT_TRUE(mm->has_pinned);
	unpin_user_page(page);
	ASSERT_EQ(page_count(page), 1);
}

/*
 * The interrupt mechanics on one thread: a flush to a CPU with
 * interrupts off is queued, and delivered when it turns them back on.
 * (The sender's wait needs the scheduler: the traced test below.)
 */
TEST(local_irq_enable_delivers_queued_flush)
{
	struct mm_struct *mm = boot(2);

	ASSERT_TRUE(mm != NULL);
	on_cpu(1);
	ASSERT_EQ(store(mm, A0, 0, 1), 0);
	ASSERT_TRUE(tlb_has(1, mm, A0));
	local_irq_disable();
	local_irq_disable();
	ASSERT_EQ(cpus[1].irqs_off, 2);
	/* What send_flush_ipi() queues for a CPU with interrupts off. */
	cpus[1].pending[cpus[1].npending++] =
		(struct tlb_flush_req){ mm, A0, A0 + PAGE_SIZE };
	local_irq_enable();	/* nested: still off */
	ASSERT_EQ(cpus[1].npending, 1);
	ASSERT_TRUE(tlb_has(1, mm, A0));
	local_irq_enable();
	ASSERT_EQ(cpus[1].irqs_off, 0);
	ASSERT_EQ(cpus[1].npending, 0);
	ASSERT_FALSE(tlb_has(1, mm, A0));
}

/*
 * CPU 1 is stopped inside GUP-fast, after its lockless pte read (so with
 * interrupts off).  CPU 0 zaps the page: its shootdown IPI to CPU 1 waits
 * until GUP-fast re-enables interrupts.  Meanwhile GUP-fast re-reads the
 * pte, sees it changed, drops the reference and falls back to the slow
 * path - the reason GUP-fast disables interrupts (mm/gup.c).
 */
TEST(shootdown_waits_for_gup_fast)
{
	int lockless, wait, put, retry, resumed, slow;

	ASSERT_EQ(run_traced("setup populate\n"
			     "cpu 0:\n"
			     "    madvise(p0, 1, MADV_DONTNEED)\n"
			     "cpu 1:\n"
			     "    read(p0)\n"
			     "    pin(p0, fast)\n"
			     "schedule:\n"
			     "    run 1 until ptep_get_lockless in gup_pte_range\n"
			     "    run 0 to end\n"
			     "    run 1 to end\n"
			     "    run 0 to end\n"), 0);
	lockless = tr_find(0, 1, "pte-read", "ptep_get_lockless",
			   "gup_pte_range");
	ASSERT_TRUE(lockless >= 0);
	/* CPU 0 sent the flush and had to wait for CPU 1's ack. */
	wait = tr_find(0, 0, "wait", "flush IPI ack", NULL);
	ASSERT_TRUE(wait > lockless);
	/* GUP-fast's second read saw the cleared pte and let go. */
	put = tr_find(wait, 1, "atomic", "folio_put_refs", NULL);
	ASSERT_TRUE(put > wait);
	/* read_seqcount_retry comes after local_irq_enable(). */
	retry = tr_find(wait, 1, "atomic", "read_seqcount_retry",
			"lockless_pages_from_mm");
	ASSERT_TRUE(retry > put);
	/* CPU 0 resumed only after CPU 1 turned interrupts back on. */
	resumed = tr_next_of_cpu(wait, 0);
	ASSERT_TRUE(resumed > retry);
	ASSERT_TRUE(tr_find(resumed, 0, "ret", "return madvise", NULL) >= 0);
	/* The pin was then taken by the slow path. */
	slow = tr_find(retry, 1, "lock", "mmap_read_lock",
		       "__gup_longterm_locked");
	ASSERT_TRUE(slow > retry);
	ASSERT_TRUE(tr_find(slow, 1, "ret", "return pin", NULL) > slow);
}

/* ---- 6. GUP-fast and fork's write_protect_seq ---- */

TEST(gup_fast_backs_off_during_fork_write_protect)
{
	struct mm_struct *mm = boot(2);
	struct page *pages[2] = { NULL, NULL };
	struct page *page;

	ASSERT_TRUE(mm != NULL);
	ASSERT_EQ(store(mm, A0, 0, 1), 0);
	lru_add_drain();
	page = page_at(mm, A0);

	/* copy_page_range() in progress: the count is odd. */
	mm->write_protect_seq = 1;
	ASSERT_EQ(pin_user_pages_fast(mm, A0, 1, FOLL_FAST_ONLY, pages), 0);
	ASSERT_EQ(pages[0], NULL);
	ASSERT_EQ(page_count(page), 1);
	ASSERT_FALSE(page_maybe_dma_pinned(page));
	ASSERT_EQ(cpus[0].irqs_off, 0);

	/* Done (even): GUP-fast pins. */
	mm->write_protect_seq = 2;
	ASSERT_EQ(pin_user_pages_fast(mm, A0, 1, FOLL_FAST_ONLY, pages), 1);
	ASSERT_EQ(pages[0], page);
	ASSERT_EQ(page_count(page), 1 + GUP_PIN_COUNTING_BIAS);
	unpin_user_page(page);
	ASSERT_EQ(page_count(page), 1);
}

/* Without FOLL_FAST_ONLY, the odd count sends the pin to the slow path. */
TEST(gup_fast_falls_back_to_slow_path_during_fork)
{
	struct mm_struct *mm = boot(2);
	struct page *page = NULL;

	ASSERT_TRUE(mm != NULL);
	ASSERT_EQ(store(mm, A0, 0, 1), 0);
	lru_add_drain();
	mm->write_protect_seq = 3;
	ASSERT_EQ(pin_user_pages_fast(mm, A0, 1, 0, &page), 1);
	ASSERT_EQ(page, page_at(mm, A0));
	ASSERT_EQ(page_count(page), 1 + GUP_PIN_COUNTING_BIAS);
	unpin_user_page(page);
}

/* dup_mm() leaves write_protect_seq even, advanced by its write section. */
TEST(fork_bumps_write_protect_seq)
{
	unsigned int seq;

	parent = boot(2);
	ASSERT_TRUE(parent != NULL);
	ASSERT_EQ(store(parent, A0, 0, 1), 0);
	seq = parent->write_protect_seq;
	ASSERT_EQ(seq & 1, 0);
	child = dup_mm(parent, 1);
	ASSERT_TRUE(child != NULL);
	ASSERT_EQ(parent->write_protect_seq & 1, 0);
	ASSERT_TRUE(parent->write_protect_seq != seq);
}

/* ---- 7. the shared zero page ---- */

TEST(ro_pin_of_zero_page)
{
	struct mm_struct *mm = boot(2);
	struct page *zero = pfn_to_page(ZERO_PFN);
	struct page *page = NULL;
	int before;
	u64 v = 1;

	ASSERT_TRUE(mm != NULL);
	ASSERT_EQ(load(mm, A0, 0, &v), 0);
	ASSERT_TRUE(is_zero_pfn(pte_pfn(pte_now(mm, A0))));
	before = page_count(zero);

	ASSERT_EQ(pin_user_pages_remote(mm, A0, 1, 0, &page), 1);
	ASSERT_EQ(page, zero);
	ASSERT_EQ(page_count(zero), before + GUP_PIN_COUNTING_BIAS);
	/* Not anonymous: no unsharing, the zero page stays mapped. */
	ASSERT_TRUE(is_zero_pfn(pte_pfn(pte_now(mm, A0))));
	ASSERT_FALSE(pte_write(pte_now(mm, A0)));
	ASSERT_EQ(mm->rss_anon, 0);

	unpin_user_page(page);
	ASSERT_EQ(page_count(zero), before);
	ASSERT_FALSE(PageBuddy(zero));
}

/* GUP-fast skips the special zero-page pte; the slow path pins it. */
TEST(fast_pin_of_zero_page_takes_slow_path)
{
	struct mm_struct *mm = boot(2);
	struct page *zero = pfn_to_page(ZERO_PFN);
	struct page *page = NULL;
	int before;
	u64 v;

	ASSERT_TRUE(mm != NULL);
	ASSERT_EQ(load(mm, A0, 0, &v), 0);
	before = page_count(zero);
	ASSERT_EQ(pin_user_pages_fast(mm, A0, 1, FOLL_FAST_ONLY, &page), 0);
	ASSERT_EQ(page_count(zero), before);
	ASSERT_EQ(pin_user_pages_fast(mm, A0, 1, 0, &page), 1);
	ASSERT_EQ(page, zero);
	ASSERT_EQ(page_count(zero), before + GUP_PIN_COUNTING_BIAS);
	unpin_user_pages_dirty_lock(&page, 1, false);
	ASSERT_EQ(page_count(zero), before);
}

/* A write pin of the zero page COWs it: the pin gets a fresh page. */
TEST(write_pin_of_zero_page_copies)
{
	struct mm_struct *mm = boot(2);
	struct page *page = NULL;
	u64 v;

	ASSERT_TRUE(mm != NULL);
	ASSERT_EQ(load(mm, A0, 0, &v), 0);
	ASSERT_EQ(pin_user_pages_remote(mm, A0, 1, FOLL_WRITE, &page), 1);
	ASSERT_FALSE(is_zero_pfn(page_to_pfn(page)));
	ASSERT_EQ(page, page_at(mm, A0));
	ASSERT_TRUE(pte_write(pte_now(mm, A0)));
	ASSERT_TRUE(PageAnonExclusive(page));
	ASSERT_EQ(page_count(pfn_to_page(ZERO_PFN)), 1);
	unpin_user_page(page);
}

TEST_MAIN()
