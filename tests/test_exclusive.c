/*
 * Device-exclusive access (engine/mm/rmap.c make_device_exclusive_range(),
 * memory.c restore on a CPU fault, fork.c, zap) and the driver's side
 * (engine/driver/dmirror.c dmirror_exclusive(), device accesses through
 * the mirror), after the kernel's hmm-tests exclusive cases.
 */
#include "harness.h"

#include <migrace/check.h>
#include <migrace/fixes.h>
#include <migrace/dmirror.h>
#include <migrace/migrate.h>
#include <migrace/rmap.h>

#define MACHINE_TRACE
#define TR_LINES 30000
#include "machine.h"

#define A0 REGION_START
#define A1 (REGION_START + PAGE_SIZE)

static struct dmirror_device mdevice;
static struct dmirror dmirror;

static unsigned long dpt_of(struct dmirror *d, unsigned long addr)
{
	return d->pt[(addr - TASK_UNMAPPED_BASE) >> PAGE_SHIFT];
}

/* A process with a device mirror; A0 and A1 hold 0xa0 / 0xa1 in slot 0. */
static struct mm_struct *boot_mirrored(void)
{
	struct mm_struct *mm = boot(2);

	if (!mm)
		return NULL;
	dmirror_device_init(&mdevice);
	if (dmirror_init(&dmirror, &mdevice, mm))
		return NULL;
	if (store(mm, A0, 0, 0xa0) || store(mm, A1, 0, 0xa1))
		return NULL;
	lru_add_drain();
	return mm;
}

static bool is_exclusive_pte(pte_t pte, struct page *page, bool writable)
{
	swp_entry_t e;

	if (!is_swap_pte(pte))
		return false;
	e = pte_to_swp_entry(pte);
	return is_device_exclusive_entry(e) &&
	       is_writable_device_exclusive_entry(e) == writable &&
	       pfn_swap_entry_to_page(e) == page;
}

TEST(exclusive_entries_installed)
{
	struct mm_struct *mm = boot_mirrored();
	struct page *p0, *p1;
	u64 v;

	ASSERT_TRUE(mm != NULL);
	p0 = page_at(mm, A0);
	p1 = page_at(mm, A1);
	ASSERT_TRUE(p0 && p1);
	ASSERT_EQ(dmirror_exclusive(&dmirror, A0, 2), 0);
	/* Both ptes are writable device-exclusive entries of the same pages. */
	ASSERT_TRUE(is_exclusive_pte(pte_now(mm, A0), p0, true));
	ASSERT_TRUE(is_exclusive_pte(pte_now(mm, A1), p1, true));
	/* The soft-dirty bit of the pte moved to the entry. */
	ASSERT_TRUE(pte_swp_soft_dirty(pte_now(mm, A0)));
	/* Unmapped from the rmap's view; the entry keeps the reference. */
	ASSERT_EQ(page_mapcount(p0), 0);
	ASSERT_EQ(page_count(p0), 1);
	ASSERT_FALSE(PageLocked(p0));
	/* The dirty bit went to the page with the pte. */
	ASSERT_TRUE(PageDirty(p0));
	ASSERT_EQ(mm->rss_anon, 2);
	/* The device maps both atomic. */
	ASSERT_EQ(dpt_of(&dmirror, A0),
		  dpt_entry(page_to_pfn(p0), DPT_WRITE | DPT_ATOMIC));
	ASSERT_EQ(dpt_of(&dmirror, A1),
		  dpt_entry(page_to_pfn(p1), DPT_WRITE | DPT_ATOMIC));
	/* The CPU cannot use the entries. */
	ASSERT_EQ(mmu_user_access(mm, A0, 0, false, &v), -EFAULT);
}

TEST(cpu_fault_restores_and_revokes_the_device)
{
	struct mm_struct *mm = boot_mirrored();
	struct page *p0;
	pte_t pte;
	u64 v = 0;

	ASSERT_TRUE(mm != NULL);
	p0 = page_at(mm, A0);
	ASSERT_EQ(dmirror_exclusive(&dmirror, A0, 1), 0);
	ASSERT_NE(dpt_of(&dmirror, A0), 0);
	/* A CPU read fault restores the original, writable pte. */
	ASSERT_EQ(do_user_addr_fault(mm, A0, false), 0);
	pte = pte_now(mm, A0);
	ASSERT_TRUE(pte_present(pte));
	ASSERT_EQ(pte_pfn(pte), page_to_pfn(p0));
	ASSERT_TRUE(pte_write(pte));
	ASSERT_TRUE(pte_dirty(pte));
	ASSERT_EQ(page_mapcount(p0), 1);
	ASSERT_EQ(page_count(p0), 1);
	ASSERT_TRUE(PageAnonExclusive(p0));
	ASSERT_FALSE(PageLocked(p0));
	/* MMU_NOTIFY_EXCLUSIVE without an owner: the device lost the page. */
	ASSERT_EQ(dpt_of(&dmirror, A0), 0);
	ASSERT_EQ(load(mm, A0, 0, &v), 0);
	ASSERT_EQ(v, 0xa0);
	/* The write needs no further fault. */
	ASSERT_EQ(mmu_user_access(mm, A0, 0, true, &v), 0);
}

TEST(mprotect_makes_the_entry_readable)
{
	struct mm_struct *mm = boot_mirrored();
	struct page *p0;
	pte_t pte;

	ASSERT_TRUE(mm != NULL);
	p0 = page_at(mm, A0);
	ASSERT_EQ(dmirror_exclusive(&dmirror, A0, 1), 0);
	ASSERT_EQ(do_mprotect(mm, A0, PAGE_SIZE, PROT_READ), 0);
	ASSERT_TRUE(is_exclusive_pte(pte_now(mm, A0), p0, false));
	ASSERT_TRUE(pte_swp_soft_dirty(pte_now(mm, A0)));
	/* The protection change invalidated the device's mapping. */
	ASSERT_EQ(dpt_of(&dmirror, A0), 0);
	ASSERT_EQ(do_user_addr_fault(mm, A0, false), 0);
	pte = pte_now(mm, A0);
	ASSERT_TRUE(pte_present(pte));
	ASSERT_FALSE(pte_write(pte));
	ASSERT_EQ(pte_pfn(pte), page_to_pfn(p0));
}

TEST(fork_restores_before_copying)
{
	struct mm_struct *mm = boot_mirrored(), *child;
	struct page *p0;
	pte_t pte;
	u64 v = 0;

	ASSERT_TRUE(mm != NULL);
	p0 = page_at(mm, A0);
	ASSERT_EQ(dmirror_exclusive(&dmirror, A0, 1), 0);
	child = dup_mm(mm, 1);
	ASSERT_TRUE(child != NULL);
	/* The parent's entry is a present pte again, shared read-only. */
	pte = pte_now(mm, A0);
	ASSERT_TRUE(pte_present(pte));
	ASSERT_EQ(pte_pfn(pte), page_to_pfn(p0));
	ASSERT_FALSE(pte_write(pte));
	ASSERT_EQ(pte_pfn(pte_now(child, A0)), page_to_pfn(p0));
	ASSERT_EQ(page_mapcount(p0), 2);
	ASSERT_FALSE(PageAnonExclusive(p0));
	ASSERT_EQ(dpt_of(&dmirror, A0), 0);
	ASSERT_EQ(load(child, A0, 0, &v), 0);
	ASSERT_EQ(v, 0xa0);
	/* hmm-tests' exclusive_cow: writes after the fork copy on write. */
	ASSERT_EQ(store(mm, A0, 0, 0xa0 + 1), 0);
	ASSERT_TRUE(page_at(mm, A0) != page_at(child, A0));
	ASSERT_EQ(load(mm, A0, 0, &v), 0);
	ASSERT_EQ(v, 0xa1);
	ASSERT_EQ(load(child, A0, 0, &v), 0);
	ASSERT_EQ(v, 0xa0);
}

TEST(fork_fails_while_the_page_is_locked)
{
	struct mm_struct *mm = boot_mirrored();
	struct page *p0;

	ASSERT_TRUE(mm != NULL);
	p0 = page_at(mm, A0);
	ASSERT_EQ(dmirror_exclusive(&dmirror, A0, 1), 0);
	/* try_restore_exclusive_pte() cannot sleep: 6.0's fork fails. */
	ASSERT_TRUE(trylock_page(p0));
	ASSERT_TRUE(dup_mm(mm, 1) == NULL);
	unlock_page(p0);
	ASSERT_TRUE(is_exclusive_pte(pte_now(mm, A0), p0, true));
}

TEST(munmap_zaps_the_entries)
{
	struct mm_struct *mm = boot_mirrored();
	struct page *p0;
	unsigned long nfree;

	ASSERT_TRUE(mm != NULL);
	p0 = page_at(mm, A0);
	ASSERT_EQ(dmirror_exclusive(&dmirror, A0, 2), 0);
	nfree = nr_free_pages();
	ASSERT_EQ(do_munmap_syscall(mm, A0, 2 * PAGE_SIZE), 0);
	lru_add_drain();
	ASSERT_TRUE(pte_none(pte_now(mm, A0)));
	ASSERT_TRUE(pte_none(pte_now(mm, A1)));
	ASSERT_TRUE(PageBuddy(p0));
	ASSERT_EQ(nr_free_pages(), nfree + 2);
	ASSERT_EQ(mm->rss_anon, 0);
	ASSERT_EQ(dpt_of(&dmirror, A0), 0);
	ASSERT_EQ(dpt_of(&dmirror, A1), 0);
}

/*
 * hmm-tests' exclusive_cow: after fork the page is shared; exclusive
 * access breaks COW first (GUP with FOLL_WRITE), so the device gets the
 * parent's own copy and the child keeps the original.
 */
TEST(exclusive_cow)
{
	struct mm_struct *mm, *child;
	struct page *shared, *p0;
	u64 v = 0;

	ASSERT_EQ(boot_and_fork(&mm, &child, &shared), 0);
	dmirror_device_init(&mdevice);
	ASSERT_EQ(dmirror_init(&dmirror, &mdevice, mm), 0);
	ASSERT_EQ(page_mapcount(shared), 2);
	ASSERT_EQ(dmirror_exclusive(&dmirror, A0, 1), 0);
	p0 = pfn_swap_entry_to_page(pte_to_swp_entry(pte_now(mm, A0)));
	ASSERT_TRUE(p0 != shared);
	ASSERT_TRUE(is_exclusive_pte(pte_now(mm, A0), p0, true));
	ASSERT_EQ(p0->data[0], 0x10);
	/* The child's mapping is untouched. */
	ASSERT_EQ(pte_pfn(pte_now(child, A0)), page_to_pfn(shared));
	ASSERT_EQ(page_mapcount(shared), 1);
	/* The parent writes after taking the page back; the child reads its own. */
	ASSERT_EQ(store(mm, A0, 0, 0x77), 0);
	ASSERT_EQ(page_at(mm, A0), p0);
	ASSERT_EQ(load(child, A0, 0, &v), 0);
	ASSERT_EQ(v, 0x10);
	ASSERT_EQ(load(mm, A0, 0, &v), 0);
	ASSERT_EQ(v, 0x77);
}

/* A read-only VMA: GUP for write fails, nothing becomes exclusive. */
TEST(exclusive_needs_a_writable_vma)
{
	struct mm_struct *mm = boot_mirrored();

	ASSERT_TRUE(mm != NULL);
	ASSERT_EQ(do_mprotect(mm, A0, PAGE_SIZE, PROT_READ), 0);
	ASSERT_NE(dmirror_exclusive(&dmirror, A0, 1), 0);
	ASSERT_TRUE(pte_present(pte_now(mm, A0)));
	ASSERT_EQ(dpt_of(&dmirror, A0), 0);
}

/*
 * A zap between make_device_exclusive_range() and the device mapping
 * (the driver holds the page lock, which a zap does not take): the
 * notifier sequence check makes the driver retry instead of mapping a
 * page the CPU no longer maps.  The run replays a schedule that stops
 * CPU 0 right after make_device_exclusive_range() checked its page.
 */
TEST(racing_invalidation_makes_the_driver_retry)
{
	const char *text =
		"setup populate\n"
		"cpu 0:\n"
		"    device_exclusive(p0, 1)\n"
		"cpu 1:\n"
		"    madvise(p0, 1, MADV_DONTNEED)\n"
		"schedule:\n"
		"    run 0 until page_mapcount in folio_make_device_exclusive\n"
		"    run 1 to end\n"
		"    run 0 to end\n";
	int retry;

	ASSERT_EQ(run_traced(text), 0);
	retry = tr_find(0, 0, "note", "exclusive retry", "dmirror_exclusive");
	ASSERT_TRUE(retry >= 0);
	/* The zap ran between the two: CPU 1's madvise, before the retry. */
	ASSERT_TRUE(tr_find(0, 1, "pte-read", "ptep_get", "zap_pte_range") >= 0);
	ASSERT_TRUE(tr_find(0, 1, "pte-read", "ptep_get", "zap_pte_range") <
		    retry);
}

/* ---- device accesses through the mirror ---- */

struct access {
	struct dmirror_access a;
	int slot;
	u64 val;
	unsigned long pfn, entry;
};

static void dev_load(struct dmirror_access *a, struct page *page,
		     unsigned long entry)
{
	struct access *x = container_of(a, struct access, a);

	check_page_alive(page, "device load");
	x->val = page->data[x->slot];
	x->pfn = page_to_pfn(page);
	x->entry = entry;
}

static void dev_store(struct dmirror_access *a, struct page *page,
		      unsigned long entry)
{
	struct access *x = container_of(a, struct access, a);

	check_page_alive(page, "device store");
	page->data[DEV_SLOT] = x->val;
	x->pfn = page_to_pfn(page);
	x->entry = entry;
}

TEST(device_read_and_write_through_the_mirror)
{
	struct mm_struct *mm = boot_mirrored();
	struct access rd = { .a = { .fn = dev_load }, .slot = 0 };
	struct access wr = { .a = { .write = true, .fn = dev_store },
			     .val = 0xdd };
	struct page *p0;
	u64 v = 0;

	ASSERT_TRUE(mm != NULL);
	p0 = page_at(mm, A0);
	/* No entry: hmm_range_fault() faults it in, read-only asked. */
	ASSERT_EQ(dmirror_device_access(&dmirror, A0, &rd.a), 0);
	ASSERT_EQ(rd.a.faults, 1);
	ASSERT_EQ(rd.val, 0xa0);
	ASSERT_EQ(rd.pfn, page_to_pfn(p0));
	/* The pte was writable: the device got a writable entry. */
	ASSERT_EQ(dpt_of(&dmirror, A0), dpt_entry(page_to_pfn(p0), DPT_WRITE));
	/* A store through it, no fault; the CPU sees it in the device slot. */
	ASSERT_EQ(dmirror_device_access(&dmirror, A0, &wr.a), 0);
	ASSERT_EQ(wr.a.faults, 0);
	ASSERT_EQ(load(mm, A0, DEV_SLOT, &v), 0);
	ASSERT_EQ(v, 0xdd);
	/* A hole: a write fault allocates the page the device writes. */
	wr.a.faults = 0;
	ASSERT_EQ(dmirror_device_access(&dmirror, A0 + 2 * PAGE_SIZE, &wr.a),
		  0);
	ASSERT_EQ(wr.a.faults, 1);
	ASSERT_EQ(load(mm, A0 + 2 * PAGE_SIZE, DEV_SLOT, &v), 0);
	ASSERT_EQ(v, 0xdd);
	/* Exclusive: the atomic entry serves both, and the CPU takes it back. */
	ASSERT_EQ(dmirror_exclusive(&dmirror, A1, 1), 0);
	rd.a.faults = 0;
	ASSERT_EQ(dmirror_device_access(&dmirror, A1, &rd.a), 0);
	ASSERT_EQ(rd.a.faults, 0);
	ASSERT_EQ(rd.val, 0xa1);
	ASSERT_TRUE(rd.entry & DPT_ATOMIC);
	ASSERT_EQ(load(mm, A1, 0, &v), 0);
	ASSERT_EQ(dpt_of(&dmirror, A1), 0);
}

/* After fork the device's write copies on write; the child keeps its page. */
TEST(device_write_after_fork_copies)
{
	struct mm_struct *mm, *child;
	struct page *shared;
	struct access wr = { .a = { .write = true, .fn = dev_store },
			     .val = 0xee };
	u64 v = 1;

	ASSERT_EQ(boot_and_fork(&mm, &child, &shared), 0);
	dmirror_device_init(&mdevice);
	ASSERT_EQ(dmirror_init(&dmirror, &mdevice, mm), 0);
	ASSERT_EQ(dmirror_device_access(&dmirror, A0, &wr.a), 0);
	ASSERT_TRUE(wr.pfn != page_to_pfn(shared));
	ASSERT_EQ(page_at(mm, A0), pfn_to_page(wr.pfn));
	ASSERT_EQ(load(child, A0, DEV_SLOT, &v), 0);
	ASSERT_EQ(v, 0);
	ASSERT_EQ(load(mm, A0, DEV_SLOT, &v), 0);
	ASSERT_EQ(v, 0xee);
	ASSERT_EQ(load(mm, A0, 0, &v), 0);
	ASSERT_EQ(v, 0x10);
}

/*
 * A device-private page of its own, read-only after fork: hmm_range_fault()
 * hands it back read-only.  Fixed, the driver migrates it back and the
 * write fault copies; test_hmm WARNs (switch dmirror-write-own-private).
 */
static struct access wr_priv;

static void write_private(void *arg)
{
	(void)arg;
	dmirror_device_access(&dmirror, A0, &wr_priv.a);
}

TEST(device_write_to_readonly_private_page)
{
	struct mm_struct *mm, *child;
	struct page *shared;
	char title[200];
	u64 v = 0;

	for (int revert = 1; revert >= 0; revert--) {
		ASSERT_EQ(boot_and_fork(&mm, &child, &shared), 0);
		dmirror_device_init(&mdevice);
		ASSERT_EQ(dmirror_init(&dmirror, &mdevice, mm), 0);
		ASSERT_EQ(dmirror_migrate_to_device(&dmirror, A0, 1, 0, 0, 0,
						    false), 0);
		ASSERT_TRUE(is_swap_pte(pte_now(mm, A0)));
		ASSERT_FALSE(is_writable_device_private_entry(
					pte_to_swp_entry(pte_now(mm, A0))));
		wr_priv = (struct access){ .a = { .write = true,
						  .fn = dev_store },
					   .val = 0xef };
		fixes_reverted = revert ? 1UL << FIX_DMIRROR_WRITE_OWN_PRIVATE :
					  0;
		ASSERT_EQ(machine_call(write_private, NULL, title,
				       sizeof(title)), revert);
		fixes_reverted = 0;
		if (revert) {
			ASSERT_SUBSTR(title, "WARNING");
			continue;
		}
		ASSERT_FALSE(is_zone_device_page(pfn_to_page(wr_priv.pfn)));
		ASSERT_EQ(load(mm, A0, DEV_SLOT, &v), 0);
		ASSERT_EQ(v, 0xef);
		ASSERT_EQ(load(child, A0, DEV_SLOT, &v), 0);
		ASSERT_EQ(v, 0);
		ASSERT_EQ(load(child, A0, 0, &v), 0);
		ASSERT_EQ(v, 0x10);
	}
}

/* A stale device entry is caught at the access, not at the end. */
static struct access rd_stale;

static void read_stale(void *arg)
{
	(void)arg;
	dmirror_device_access(&dmirror, A0, &rd_stale.a);
}

TEST(stale_device_entry_is_caught_at_the_access)
{
	struct mm_struct *mm = boot_mirrored();
	unsigned long idx = (A0 - TASK_UNMAPPED_BASE) >> PAGE_SHIFT;
	struct page *p0;
	char title[200];

	ASSERT_TRUE(mm != NULL);
	p0 = page_at(mm, A0);
	/* An entry the notifier never cleared (a driver bug), then munmap. */
	ASSERT_EQ(do_munmap_syscall(mm, A0, PAGE_SIZE), 0);
	lru_add_drain();
	ASSERT_TRUE(PageBuddy(p0));
	dmirror.pt[idx] = dpt_entry(page_to_pfn(p0), DPT_WRITE);
	rd_stale = (struct access){ .a = { .fn = dev_load }, .slot = 0 };
	ASSERT_EQ(machine_call(read_stale, NULL, title, sizeof(title)), 1);
	ASSERT_SUBSTR(title, "use-after-free: device load");
	dmirror.pt[idx] = 0;
}

/*
 * A zap between the device's hmm_range_fault() and its mapping: the
 * driver's mmu_interval_read_retry() fails, it walks again (faulting in
 * the zero page for the read) and then reads through the new entry.
 */
TEST(racing_invalidation_makes_the_device_fault_retry)
{
	const char *text =
		"setup populate\n"
		"cpu 0:\n"
		"    device_read(p0)\n"
		"cpu 1:\n"
		"    madvise(p0, 1, MADV_DONTNEED)\n"
		"schedule:\n"
		"    run 0 until mmap_read_unlock in dmirror_range_fault\n"
		"    run 1 to end\n"
		"    run 0 to end\n";
	int first, second, load;

	ASSERT_EQ(run_traced(text), 0);
	first = tr_find(0, 0, "lock", "mmap_read_lock", "dmirror_range_fault");
	ASSERT_TRUE(first >= 0);
	second = tr_find(first + 1, 0, "lock", "mmap_read_lock",
			 "dmirror_range_fault");
	ASSERT_TRUE(second > first);
	/* The zap ran in between. */
	ASSERT_TRUE(tr_find(first, 1, "pte-read", "ptep_get", "zap_pte_range") <
		    second);
	load = tr_find(second, 0, "user", "device load", "device_read");
	ASSERT_TRUE(load > second);
	/* Two walks, not more: the zero page's entry is not empty. */
	ASSERT_TRUE(tr_find(second + 1, 0, "lock", "mmap_read_lock",
			    "dmirror_range_fault") < 0);
}

/*
 * test_hmm's own order (lib/test_hmm.c dmirror_exclusive(): no owner, no
 * notifier sequence check, the pages locked while it maps them): a zap
 * that runs between make_device_exclusive_range() and
 * dmirror_atomic_map() (MADV_DONTNEED, under the mmap read lock the
 * driver also holds, takes no page lock) leaves the device mapping
 * atomic a page the CPU no longer maps, and that is freed once the
 * driver drops its reference.  docs/findings.md.
 */
TEST(test_hmm_order_maps_a_zapped_page)
{
	struct mm_struct *mm = boot_mirrored();
	struct page *pages[1], *p0;
	unsigned long idx = (A0 - TASK_UNMAPPED_BASE) >> PAGE_SHIFT;

	ASSERT_TRUE(mm != NULL);
	p0 = page_at(mm, A0);
	mmap_read_lock(mm);
	ASSERT_EQ(make_device_exclusive_range(mm, A0, A0 + PAGE_SIZE, pages,
					      NULL), 1);
	ASSERT_TRUE(pages[0] == p0);
	/* Another thread: madvise(MADV_DONTNEED) zaps the entry. */
	ASSERT_EQ(do_madvise(mm, A0, PAGE_SIZE, MADV_DONTNEED, NULL), 0);
	ASSERT_TRUE(pte_none(pte_now(mm, A0)));
	/* dmirror_atomic_map() as test_hmm has it: no sequence check. */
	dmirror.pt[idx] = dpt_entry(page_to_pfn(pages[0]),
				    DPT_WRITE | DPT_ATOMIC);
	unlock_page(pages[0]);
	put_page(pages[0]);
	mmap_read_unlock(mm);
	lru_add_drain();
	/* The device maps atomic a freed page. */
	ASSERT_EQ(dpt_pfn(dmirror.pt[idx]), page_to_pfn(p0));
	ASSERT_TRUE(PageBuddy(p0));
	dmirror.pt[idx] = 0;
}

TEST_MAIN()
