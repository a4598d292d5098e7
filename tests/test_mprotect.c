/*
 * mprotect (engine/mm/mprotect.c, Linux 6.0), exit (mmput/exit_mmap) and
 * munmap with the mmap lock downgraded (engine/mm/mmap.c): read-only and
 * back, the write fault after it (reuse of an exclusive page, copy of a
 * shared one), VMA split and merge, a migration entry under mprotect, a
 * pin across mprotect, exit racing a migration, pins outliving exit, and a
 * fault on another VMA running while munmap holds the lock for read.
 */
#include "harness.h"

#include <migrace/check.h>
#include <migrace/fixes.h>
#include <migrace/gup.h>
#include <migrace/migrate.h>
#include <migrace/rmap.h>

#define MACHINE_TRACE
#include "machine.h"

#define A0 REGION_START
#define A1 (REGION_START + PAGE_SIZE)
#define RW (PROT_READ | PROT_WRITE)

/* ---- 1. read-only and back, and the write fault ---- */

TEST(mprotect_ro_splits_vma_and_store_gets_accerr)
{
	struct mm_struct *mm = boot(2);
	struct page *page;
	u64 v = 0;

	ASSERT_TRUE(mm != NULL);
	ASSERT_EQ(store(mm, A0, 0, 0x10), 0);
	page = page_at(mm, A0);
	ASSERT_TRUE(pte_write(pte_now(mm, A0)));
	ASSERT_EQ(mm->nr_vmas, 1);

	ASSERT_EQ(do_mprotect(mm, A0, PAGE_SIZE, PROT_READ), 0);
	ASSERT_EQ(mm->nr_vmas, 2);
	ASSERT_FALSE(mm->vmas[0]->vm_flags & VM_WRITE);
	ASSERT_TRUE(mm->vmas[1]->vm_flags & VM_WRITE);
	ASSERT_EQ(mm->vmas[0]->vm_end, A1);
	/* Same page, no longer writable, still dirty and exclusive. */
	ASSERT_EQ(page_at(mm, A0), page);
	ASSERT_FALSE(pte_write(pte_now(mm, A0)));
	ASSERT_TRUE(pte_dirty(pte_now(mm, A0)));
	ASSERT_TRUE(PageAnonExclusive(page));
	/* The flush removed the writable translation from the TLB. */
	ASSERT_FALSE(tlb_has(0, mm, A0));

	ASSERT_EQ(store(mm, A0, 0, 0x20), VM_FAULT_SIGSEGV);
	ASSERT_EQ(current_cpu->si_code, SI_SEGV_ACCERR);
	ASSERT_EQ(load(mm, A0, 0, &v), 0);
	ASSERT_EQ(v, 0x10);
	/* The rest of the region is untouched. */
	ASSERT_EQ(store(mm, A1, 0, 0x30), 0);
}

/*
 * Back to read-write: the VMAs merge again, and a dirty pte of an
 * exclusive anonymous page becomes writable at once
 * (can_change_pte_writable()); no fault, same page.
 */
TEST(mprotect_rw_merges_and_maps_dirty_exclusive_writable)
{
	struct mm_struct *mm = boot(2);
	struct page *page;

	ASSERT_TRUE(mm != NULL);
	ASSERT_EQ(store(mm, A0, 0, 0x10), 0);
	page = page_at(mm, A0);
	ASSERT_EQ(do_mprotect(mm, A0, PAGE_SIZE, PROT_READ), 0);
	ASSERT_EQ(do_mprotect(mm, A0, PAGE_SIZE, RW), 0);
	ASSERT_EQ(mm->nr_vmas, 1);
	ASSERT_EQ(mm->vmas[0]->vm_start, REGION_START);
	ASSERT_EQ(mm->vmas[0]->vm_end, REGION_START + REGION_PAGES * PAGE_SIZE);
	ASSERT_TRUE(pte_write(pte_now(mm, A0)));
	ASSERT_EQ(store(mm, A0, 0, 0x11), 0);
	ASSERT_EQ(page_at(mm, A0), page);
	ASSERT_EQ(page->data[0], 0x11);
}

/* A clean pte stays read-only; the write fault reuses the exclusive page. */
TEST(mprotect_rw_clean_pte_write_fault_reuses)
{
	struct mm_struct *mm = boot(2);
	struct page *page;

	ASSERT_TRUE(mm != NULL);
	ASSERT_EQ(store(mm, A0, 0, 0x10), 0);
	page = page_at(mm, A0);
	ASSERT_EQ(do_mprotect(mm, A0, PAGE_SIZE, PROT_READ), 0);
	/* As if written back and cleaned (the pte is read-only: no TLB). */
	pte_set_locked(mm, A0, pte_mkclean(pte_now(mm, A0)));
	ASSERT_EQ(do_mprotect(mm, A0, PAGE_SIZE, RW), 0);
	ASSERT_FALSE(pte_write(pte_now(mm, A0)));

	ASSERT_EQ(store(mm, A0, 0, 0x11), 0);
	ASSERT_EQ(page_at(mm, A0), page);	/* do_wp_page: reuse */
	ASSERT_TRUE(pte_write(pte_now(mm, A0)));
	ASSERT_EQ(page->data[0], 0x11);
}

/* After fork the page is shared: the write after RO->RW copies it. */
TEST(mprotect_rw_after_fork_write_copies)
{
	struct mm_struct *parent, *child;
	struct page *shared;
	u64 v = 0;

	ASSERT_EQ(boot_and_fork(&parent, &child, &shared), 0);
	ASSERT_EQ(do_mprotect(parent, A0, PAGE_SIZE, PROT_READ), 0);
	ASSERT_EQ(do_mprotect(parent, A0, PAGE_SIZE, RW), 0);
	ASSERT_FALSE(pte_write(pte_now(parent, A0)));
	ASSERT_EQ(store(parent, A0, 0, 0x77), 0);
	ASSERT_NE(page_at(parent, A0), shared);
	ASSERT_EQ(load(child, A0, 0, &v), 0);
	ASSERT_EQ(v, 0x10);
}

/*
 * A write pin across RO and back: with PG_anon_exclusive the page stays
 * the process's page (the pin keeps seeing its stores).  Reverted, the
 * pinned page's extra references make the write fault copy it: the pin
 * and the process part ways - the mprotect flavour of the COW-pin bug.
 */
static void pin_across_mprotect(bool fixed)
{
	struct mm_struct *mm = boot(2);
	struct page *pinned = NULL;

	ASSERT_TRUE(mm != NULL);
	if (!fixed)
		fixes_reverted = 1UL << FIX_ANON_EXCLUSIVE;
	ASSERT_EQ(pin_user_pages_remote(mm, A0, 1, FOLL_WRITE, &pinned), 1);
	lru_add_drain();
	ASSERT_EQ(do_mprotect(mm, A0, PAGE_SIZE, PROT_READ), 0);
	pte_set_locked(mm, A0, pte_mkclean(pte_now(mm, A0)));
	ASSERT_EQ(do_mprotect(mm, A0, PAGE_SIZE, RW), 0);
	ASSERT_EQ(store(mm, A0, 0, 0x55), 0);
	if (fixed) {
		ASSERT_EQ(page_at(mm, A0), pinned);
		ASSERT_EQ(pinned->data[0], 0x55);
	} else {
		ASSERT_NE(page_at(mm, A0), pinned);
		ASSERT_NE(pinned->data[0], 0x55);
	}
	unpin_user_page(pinned);
}

TEST(write_pin_survives_mprotect_ro_rw)
{
	pin_across_mprotect(true);
}

TEST(write_pin_across_mprotect_without_fix_is_copied_away)
{
	pin_across_mprotect(false);
}

/* ---- 2. a page under migration ---- */

/*
 * migrate_vma_setup() leaves a writable migration entry; mprotect(RO)
 * turns it into a readable-exclusive one (readable before the fix).  The
 * migration completes into a read-only pte of an exclusive page, and
 * after RW the store reuses it.
 */
static void mprotect_migration_entry(bool fixed)
{
	struct mm_struct *mm = boot(2);
	unsigned long src[1], dst[1];
	struct migrate_vma args = { 0 };
	struct page *old, *new;
	swp_entry_t entry;
	pte_t pte;

	ASSERT_TRUE(mm != NULL);
	if (!fixed)
		fixes_reverted = 1UL << FIX_ANON_EXCLUSIVE;
	ASSERT_EQ(store(mm, A0, 0, 0x10), 0);
	lru_add_drain();
	old = page_at(mm, A0);

	mmap_read_lock(mm);
	args.vma = find_vma(mm, A0);
	args.src = src;
	args.dst = dst;
	args.start = A0;
	args.end = A1;
	args.flags = MIGRATE_VMA_SELECT_SYSTEM;
	ASSERT_EQ(migrate_vma_setup(&args), 0);
	mmap_read_unlock(mm);
	ASSERT_EQ(args.cpages, 1);
	pte = pte_now(mm, A0);
	ASSERT_TRUE(is_swap_pte(pte));
	ASSERT_TRUE(is_writable_migration_entry(pte_to_swp_entry(pte)));

	ASSERT_EQ(do_mprotect(mm, A0, PAGE_SIZE, PROT_READ), 0);
	entry = pte_to_swp_entry(pte_now(mm, A0));
	ASSERT_TRUE(is_migration_entry(entry));
	ASSERT_FALSE(is_writable_migration_entry(entry));
	ASSERT_EQ(is_readable_exclusive_migration_entry(entry), fixed);
	ASSERT_EQ(swp_offset_pfn(entry), page_to_pfn(old));

	new = alloc_page();
	ASSERT_TRUE(new != NULL);
	lock_page(new);
	copy_highpage(new, old);
	dst[0] = migrate_pfn(page_to_pfn(new));
	migrate_vma_pages(&args);
	migrate_vma_finalize(&args);
	lru_add_drain();

	ASSERT_EQ(page_at(mm, A0), new);
	ASSERT_FALSE(pte_write(pte_now(mm, A0)));
	ASSERT_EQ(PageAnonExclusive(new), fixed);
	ASSERT_EQ(do_mprotect(mm, A0, PAGE_SIZE, RW), 0);
	ASSERT_EQ(store(mm, A0, 0, 0x11), 0);
	/* Exclusive: reused.  Reverted: reused too (refcount 1). */
	ASSERT_EQ(page_at(mm, A0), new);
	ASSERT_EQ(new->data[0], 0x11);
}

TEST(mprotect_makes_migration_entry_readable_exclusive)
{
	mprotect_migration_entry(true);
}

TEST(mprotect_makes_migration_entry_readable_without_fix)
{
	mprotect_migration_entry(false);
}

/* ---- 3. exit ---- */

/* A pin outlives exit: its page stays until unpin, then it is freed. */
TEST(pinned_page_outlives_exit)
{
	struct mm_struct *mm = boot(2);
	struct page *page = NULL;

	ASSERT_TRUE(mm != NULL);
	ASSERT_EQ(pin_user_pages_remote(mm, A0, 1, FOLL_WRITE, &page), 1);
	lru_add_drain();
	mmput(mm);
	ASSERT_TRUE(mm->dead);
	ASSERT_EQ(mm->nr_vmas, 0);
	ASSERT_TRUE(pte_none(pte_now(mm, A0)));
	ASSERT_FALSE(__test_page_flag(page, PG_buddy));
	ASSERT_EQ(page_mapcount(page), 0);
	ASSERT_EQ(page_count(page), GUP_PIN_COUNTING_BIAS);
	page->data[0] = 0x99;	/* DMA through the pin */
	unpin_user_page(page);
	lru_add_drain_all();
	ASSERT_TRUE(__test_page_flag(page, PG_buddy));
	/* Later users of the mm find no reference to take. */
	ASSERT_FALSE(mmget_not_zero(mm));
}

/* Ops of an exited process fail cleanly; DMA through a pin still works. */
TEST(ops_after_exit_fail_cleanly)
{
	ASSERT_EQ(run_traced("cpu 0:\n"
			     "    pin(p0, write)\n"
			     "    write(p0)\n"
			     "    exit()\n"
			     "    write(p0)\n"
			     "    mprotect(p0, 1, PROT_READ)\n"
			     "    migrate_to_device(p0, 1)\n"
			     "    pin_write(p0)\n"
			     "    pin_read(p0)\n"
			     "    unpin(p0)\n"
			     "cpu 1:\n"
			     "    read(p1)\n"
			     "schedule:\n"
			     "    run 0 to end\n"
			     "    run 1 to end\n"), 0);
	/*
	 * exit_mmap() ran once the last thread in a call of the process
	 * returned: in CPU 0's exit, or at CPU 1's read if that was still
	 * running; never before the exit.
	 */
	ASSERT_TRUE(tr_find(0, 0, "op", "exit()", NULL) >= 0);
	ASSERT_TRUE(tr_find(0, -1, "lock", "mmap_write_lock", "exit_mmap") >
		    tr_find(0, 0, "op", "exit()", NULL));
	/* No fault after the exit: the later write never ran. */
	ASSERT_TRUE(tr_find(tr_find(0, 0, "ret", "return exit", NULL), 0,
			    "lock", "mmap_read_lock", "do_user_addr_fault") < 0);
}

/*
 * CPU 0 migrates p0 to the device (the driver holds mmget() and the mmap
 * read lock); CPU 1 exits the process meanwhile.  The address space stays
 * until the driver's mmput(): exit_mmap() runs there, on CPU 0, after the
 * migration finished, and tears down the device page too.
 */
TEST(exit_racing_migration_tears_down_at_drivers_mmput)
{
	int setup, ret_exit, mmput0, exit_lock;

	ASSERT_EQ(run_traced("setup populate\n"
			     "cpu 0:\n"
			     "    migrate_to_device(p0, 1)\n"
			     "cpu 1:\n"
			     "    exit()\n"
			     "schedule:\n"
			     "    run 0 until pte_unmap_unlock in migrate_vma_collect_pmd\n"
			     "    run 1 to end\n"
			     "    run 0 to end\n"), 0);
	setup = tr_find(0, 0, "unlock", "pte_unmap_unlock",
			"migrate_vma_collect_pmd");
	ASSERT_TRUE(setup >= 0);
	ret_exit = tr_find(setup, 1, "ret", "return exit", NULL);
	ASSERT_TRUE(ret_exit > setup);
	/* CPU 1's exit did not tear anything down. */
	ASSERT_TRUE(tr_find(0, 1, "lock", "mmap_read_lock", "exit_mmap") < 0);
	mmput0 = tr_find(ret_exit, 0, "atomic", "mmput", "mmput");
	ASSERT_TRUE(mmput0 > ret_exit);
	/* The migration finished first, under the driver's reference. */
	ASSERT_TRUE(tr_find(ret_exit, 0, "unlock", "mmap_read_unlock",
			    "dmirror_migrate") > ret_exit);
	exit_lock = tr_find(mmput0, 0, "lock", "mmap_write_lock", "exit_mmap");
	ASSERT_TRUE(exit_lock > mmput0);
}

/*
 * exit before the driver's mmget_not_zero(): the migration finds no
 * users left and fails (-EINVAL), nothing to report.
 */
TEST(migration_after_exit_finds_no_mm)
{
	int ret_exit;

	ASSERT_EQ(run_traced("setup populate\n"
			     "cpu 0:\n"
			     "    migrate_to_device(p0, 1)\n"
			     "cpu 1:\n"
			     "    exit()\n"
			     "schedule:\n"
			     "    run 1 to end\n"
			     "    run 0 to end\n"), 0);
	ret_exit = tr_find(0, 1, "ret", "return exit", NULL);
	ASSERT_TRUE(ret_exit >= 0);
	ASSERT_TRUE(tr_find(0, 1, "lock", "mmap_write_lock", "exit_mmap") >= 0);
	ASSERT_TRUE(tr_find(ret_exit, 0, "lock", "mmap_read_lock",
			    "dmirror_migrate") < 0);
}

/* ---- 4. munmap with the mmap lock downgraded ---- */

/*
 * CPU 0 munmaps p0: once the VMA is detached it downgrades the mmap lock
 * and zaps under the read lock.  CPU 1's fault on p3 (another VMA) takes
 * the read lock meanwhile and its fault is done before CPU 0 drops it.
 */
TEST(munmap_downgraded_lock_lets_fault_on_other_vma_run)
{
	int down, fault_lock, fault_unlock, unlock;

	ASSERT_EQ(run_traced("cpu 0:\n"
			     "    munmap(p0, 1)\n"
			     "cpu 1:\n"
			     "    write(p3)\n"
			     "schedule:\n"
			     "    run 0 until mmap_write_downgrade in __do_munmap\n"
			     "    run 1 to end\n"
			     "    run 0 to end\n"), 0);
	down = tr_find(0, 0, "unlock", "mmap_write_downgrade", "__do_munmap");
	ASSERT_TRUE(down >= 0);
	fault_lock = tr_find(down, 1, "lock", "mmap_read_lock",
			     "do_user_addr_fault");
	ASSERT_TRUE(fault_lock > down);
	fault_unlock = tr_find(fault_lock, 1, "unlock", "mmap_read_unlock",
			       "do_user_addr_fault");
	ASSERT_TRUE(fault_unlock > fault_lock);
	/* CPU 1 never blocked on the lock. */
	ASSERT_TRUE(tr_find(down, 1, "wait", "mmap_read_lock", NULL) < 0);
	unlock = tr_find(down, 0, "unlock", "mmap_read_unlock",
			 "do_munmap_syscall");
	ASSERT_TRUE(unlock > fault_unlock);
	ASSERT_TRUE(tr_find(fault_unlock, 1, "ret", "return write", NULL) > 0);
}

/* A write to the range being unmapped waits for no one: SIGSEGV. */
TEST(munmap_downgraded_fault_in_unmapped_range_segfaults)
{
	ASSERT_EQ(run_traced("cpu 0:\n"
			     "    munmap(p0, 1)\n"
			     "cpu 1:\n"
			     "    write(p0)\n"
			     "schedule:\n"
			     "    run 0 until mmap_write_downgrade in __do_munmap\n"
			     "    run 1 to end\n"
			     "    run 0 to end\n"), 0);
	ASSERT_TRUE(tr_find(0, 1, "lock", "mmap_read_lock",
			    "do_user_addr_fault") >= 0);
}

/* ---- 5. the ops in repro files ---- */

TEST(mprotect_and_exit_round_trip)
{
	static struct repro a, b;
	char buf[4096];
	FILE *f = tmpfile();
	size_t n;

	ASSERT_EQ(parse("cpu 0:\n"
			"    mprotect(p1, 2, PROT_READ)\n"
			"    mprotect(p0, 4, PROT_READ|PROT_WRITE) @1\n"
			"    exit() @1\n"
			"cpu 1:\n"
			"    exit()\n", &a), 0);
	ASSERT_EQ(a.prog.ops[0][0].kind, OP_MPROTECT);
	ASSERT_EQ(a.prog.ops[0][0].prot, PROT_READ);
	ASSERT_EQ(a.prog.ops[0][1].prot, PROT_READ | PROT_WRITE);
	ASSERT_EQ(a.prog.ops[0][2].kind, OP_EXIT);
	ASSERT_EQ(a.prog.ops[0][2].proc, 1);
	ASSERT_TRUE(f != NULL);
	repro_print(f, &a);
	rewind(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = 0;
	fclose(f);
	ASSERT_TRUE(strstr(buf, "mprotect(p0, 4, PROT_READ|PROT_WRITE) @1") != NULL);
	ASSERT_EQ(parse(buf, &b), 0);
	ASSERT_TRUE(repro_equal(&a, &b));
	b.prog.ops[0][0].prot = PROT_READ | PROT_WRITE;
	ASSERT_FALSE(repro_equal(&a, &b));
}

TEST_MAIN()
