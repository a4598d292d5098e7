/*
 * Page tables and their locks: the split PTE lock, on-demand allocation,
 * RCU-deferred freeing on munmap, lock contention under the controlled
 * scheduler, and the lock-misuse reports (AA, ABBA, sleeping in atomic).
 */
#include "harness.h"

#include <migrace/check.h>
#include <migrace/rcu.h>
/* sched_begin()/sched_run_cpus(): to run hand-written CPU bodies. */
#include "../engine/sched/sched_core.h"

#define MACHINE_TRACE
#include "machine.h"

/* p0, p1 share the PTE table of [base, base + 8 pages); p2, p3 the next. */
#define A0 REGION_START
#define A1 (REGION_START + 1 * PAGE_SIZE)
#define A2 (REGION_START + 2 * PAGE_SIZE)
#define A3 (REGION_START + 3 * PAGE_SIZE)

_Static_assert(PTRS_PER_PTE == 8, "the layout below assumes 8-entry tables");
_Static_assert((A0 & PMD_MASK) == (A1 & PMD_MASK), "p0, p1 share a table");
_Static_assert((A1 & PMD_MASK) != (A2 & PMD_MASK), "p2 starts a table");

/* ---- structure ---- */

TEST(pte_lock_is_the_tables_own_lock)
{
	struct mm_struct *mm = boot(1);
	spinlock_t *l0, *l1, *l2;
	pte_t *p0, *p1, *p2;

	ASSERT_TRUE(mm != NULL);
	for (unsigned long a = A0; a <= A3; a += PAGE_SIZE)
		ASSERT_EQ(store(mm, a, 0, a), 0);
	ASSERT_NE(table_of(mm, A0), table_of(mm, A2));
	ASSERT_EQ(table_of(mm, A0), table_of(mm, A1));

	p0 = pte_offset_map_lock(mm, pmd_of(mm, A0), A0, &l0);
	ASSERT_EQ(l0, &table_of(mm, A0)->ptl);
	ASSERT_EQ(l0, &pte_table_of(p0)->ptl);
	ASSERT_EQ(l0, pte_lockptr(mm, pmd_of(mm, A0)));
	ASSERT_EQ(p0, &table_of(mm, A0)->ptes[pte_index(A0)]);
	ASSERT_EQ(pte_addr_of(p0), A0);
	ASSERT_TRUE(spin_is_locked(l0));
	ASSERT_EQ(l0->locked, cpus[0].id + 1);
	ASSERT_EQ(cpus[0].spin_held, 1);
	pte_unmap_unlock(p0, l0);
	ASSERT_FALSE(spin_is_locked(l0));
	ASSERT_EQ(cpus[0].spin_held, 0);
	ASSERT_EQ(cpus[0].locks_held, 0);

	/* Same table, same lock: while p0's is held, p1's is taken. */
	p0 = pte_offset_map_lock(mm, pmd_of(mm, A0), A0, &l0);
	l1 = pte_lockptr(mm, pmd_of(mm, A1));
	ASSERT_EQ(l1, l0);
	ASSERT_FALSE(spin_trylock(l1));
	/* Another table, another lock: free while p0's is held. */
	l2 = pte_lockptr(mm, pmd_of(mm, A2));
	ASSERT_NE(l2, l0);
	ASSERT_FALSE(spin_is_locked(l2));
	p2 = pte_offset_map_lock(mm, pmd_of(mm, A2), A2, &l2);
	ASSERT_EQ(l2, &table_of(mm, A2)->ptl);
	ASSERT_EQ(cpus[0].spin_held, 2);
	pte_unmap_unlock(p2, l2);
	pte_unmap_unlock(p0, l0);

	p1 = pte_offset_map_lock(mm, pmd_of(mm, A1), A1, &l1);
	ASSERT_EQ(l1, l0);
	ASSERT_EQ(p1, p0 + 1);
	pte_unmap_unlock(p1, l1);
	/* The pmd level has its own lock, mm->page_table_lock. */
	ASSERT_NE(&mm->page_table_lock, l0);
	ASSERT_NE(&mm->page_table_lock, l2);
}

TEST(pmd_alloc_and_pte_alloc_are_idempotent)
{
	struct mm_struct *mm = boot(1);
	pgd_t *pgd;
	pmd_t *pmd, *pmd2;
	struct pte_table *t;

	ASSERT_TRUE(mm != NULL);
	pgd = pgd_offset(mm, A0);
	ASSERT_EQ(pgd->table, NULL);
	ASSERT_EQ(pmd_offset(pgd, A0), NULL);

	pmd = pmd_alloc(mm, pgd, A0);
	ASSERT_TRUE(pmd != NULL);
	ASSERT_TRUE(pgd->table != NULL);
	ASSERT_EQ(pmd_offset(pgd, A0), pmd);
	ASSERT_EQ(pmd_alloc(mm, pgd, A0), pmd);
	ASSERT_TRUE(pmd_none(*pmd));
	/* The next 8-page block: the next slot of the same pmd table. */
	pmd2 = pmd_alloc(mm, pgd, A2);
	ASSERT_EQ(pmd_table_of(pmd2), pmd_table_of(pmd));
	ASSERT_EQ(pmd2, pmd + 1);

	ASSERT_EQ(pte_alloc(mm, pmd), 0);
	t = pmd->table;
	ASSERT_TRUE(t != NULL);
	ASSERT_EQ(t->addr, A0 & PMD_MASK);
	for (int i = 0; i < PTRS_PER_PTE; i++)
		ASSERT_TRUE(pte_none(t->ptes[i]));
	ASSERT_FALSE(spin_is_locked(&t->ptl));
	ASSERT_EQ(pte_alloc(mm, pmd), 0);
	ASSERT_EQ(pmd->table, t);
	ASSERT_TRUE(pmd_none(*pmd2));
	ASSERT_FALSE(spin_is_locked(&mm->page_table_lock));

	/* A fault uses the table that is there, and keeps using it. */
	ASSERT_EQ(store(mm, A1, 0, 1), 0);
	ASSERT_EQ(pmd->table, t);
	ASSERT_TRUE(pte_present(t->ptes[pte_index(A1)]));
	ASSERT_EQ(pte_alloc(mm, pmd), 0);
	ASSERT_EQ(pmd->table, t);
	ASSERT_EQ(pmd_alloc(mm, pgd, A1), pmd);
}

/*
 * munmap frees the PTE tables no VMA uses, through RCU: a CPU inside a
 * read-side section (a lockless walker) keeps them alive until it leaves.
 * The translations are gone from every TLB and the walker finds no table.
 */
TEST(munmap_frees_page_tables_after_rcu)
{
	struct mm_struct *mm = boot(2);
	struct pte_table *t0, *t1;
	struct page *pg0;
	u64 v;

	ASSERT_TRUE(mm != NULL);
	for (unsigned long a = A0; a <= A3; a += PAGE_SIZE)
		ASSERT_EQ(store(mm, a, 0, a), 0);
	t0 = table_of(mm, A0);
	t1 = table_of(mm, A2);
	pg0 = pfn_to_page(pte_pfn(t0->ptes[pte_index(A0)]));
	current_cpu = &cpus[1];
	ASSERT_EQ(user_access(mm, A0, 1, false, &v), 0);
	ASSERT_EQ(v, 0);
	rcu_read_lock();	/* CPU 1: a walker in flight */
	current_cpu = &cpus[0];

	ASSERT_EQ(do_munmap_syscall(mm, REGION_START, REGION_PAGES * PAGE_SIZE),
		  0);
	ASSERT_EQ(mm->nr_vmas, 0);
	ASSERT_EQ(find_vma(mm, A0), NULL);
	ASSERT_EQ(pmd_of(mm, A0)->table, NULL);
	ASSERT_EQ(pmd_of(mm, A2)->table, NULL);
	ASSERT_TRUE(PageBuddy(pg0));
	ASSERT_EQ(mm->rss_anon, 0);
	/* Unlinked, but not freed under the reader. */
	rcu_process_callbacks(false);
	ASSERT_FALSE(kobj_freed(t0));
	ASSERT_FALSE(kobj_freed(t1));

	current_cpu = &cpus[1];
	rcu_read_unlock();
	current_cpu = &cpus[0];
	rcu_process_callbacks(false);
	ASSERT_TRUE(kobj_freed(t0));
	ASSERT_TRUE(kobj_freed(t1));

	/* No TLB kept the translation; the walk finds no table: SIGSEGV. */
	for (int c = 0; c < 2; c++) {
		current_cpu = &cpus[c];
		ASSERT_EQ(mmu_user_access(mm, A0, c, false, &v), -EFAULT);
		ASSERT_EQ(mmu_user_access(mm, A2, c, false, &v), -EFAULT);
		ASSERT_EQ(do_user_addr_fault(mm, A0, false), VM_FAULT_SIGSEGV);
		ASSERT_EQ(do_user_addr_fault(mm, A2, true), VM_FAULT_SIGSEGV);
	}
}

/* A table still used by part of a VMA survives a partial munmap. */
TEST(partial_munmap_keeps_tables_in_use)
{
	struct mm_struct *mm = boot(1);
	struct pte_table *t0, *t1;
	u64 v;

	ASSERT_TRUE(mm != NULL);
	for (unsigned long a = A0; a <= A3; a += PAGE_SIZE)
		ASSERT_EQ(store(mm, a, 0, a), 0);
	t0 = table_of(mm, A0);
	t1 = table_of(mm, A2);

	/* p1 only: p0 still uses t0. */
	ASSERT_EQ(do_munmap_syscall(mm, A1, PAGE_SIZE), 0);
	rcu_process_callbacks(false);
	ASSERT_EQ(table_of(mm, A0), t0);
	ASSERT_FALSE(kobj_freed(t0));
	ASSERT_TRUE(pte_none(t0->ptes[pte_index(A1)]));
	ASSERT_TRUE(pte_present(t0->ptes[pte_index(A0)]));

	/* p0 too: nothing uses t0 any more; t1 stays. */
	ASSERT_EQ(do_munmap_syscall(mm, A0, PAGE_SIZE), 0);
	rcu_process_callbacks(false);
	ASSERT_EQ(pmd_of(mm, A0)->table, NULL);
	ASSERT_TRUE(kobj_freed(t0));
	ASSERT_EQ(table_of(mm, A2), t1);
	ASSERT_FALSE(kobj_freed(t1));
	ASSERT_EQ(user_access(mm, A2, 0, false, &v), 0);
	ASSERT_EQ(v, A2);
	ASSERT_EQ(user_access(mm, A3, 0, false, &v), 0);
	ASSERT_EQ(v, A3);
	ASSERT_EQ(user_access(mm, A0, 0, false, &v), VM_FAULT_SIGSEGV);
}

/* ---- lock misuse reports (machine_call catches them) ---- */

static spinlock_t test_lock;
static struct mm_struct *test_mm;

static void take_twice(void *arg)
{
	(void)arg;
	spin_lock(&test_lock);
	spin_lock(&test_lock);
}

static void take_once(void *arg)
{
	(void)arg;
	spin_lock(&test_lock);
	spin_unlock(&test_lock);
}

static void unlock_unheld(void *arg)
{
	(void)arg;
	spin_unlock(&test_lock);
}

static void contend_outside_run(void *arg)
{
	(void)arg;
	current_cpu = &cpus[1];
	spin_lock(&test_lock);
	current_cpu = &cpus[0];
	spin_lock(&test_lock);
}

static void sleep_under_ptl(void *arg)
{
	spinlock_t *ptl;
	pte_t *pte;

	(void)arg;
	pte = pte_offset_map_lock(test_mm, pmd_of(test_mm, A0), A0, &ptl);
	mmap_read_lock(test_mm);
	mmap_read_unlock(test_mm);
	pte_unmap_unlock(pte, ptl);
}

TEST(aa_recursive_locking_is_reported)
{
	char title[200] = "";

	machine_reset(1);
	current_cpu = &cpus[0];
	spin_lock_init(&test_lock, "test_lock");
	ASSERT_EQ(machine_call(take_once, NULL, title, sizeof(title)), 0);
	ASSERT_FALSE(spin_is_locked(&test_lock));
	ASSERT_EQ(machine_call(take_twice, NULL, title, sizeof(title)), 1);
	ASSERT_SUBSTR(title, "recursive locking");
	ASSERT_SUBSTR(title, "test_lock");
}

TEST(unlock_of_a_lock_not_held_is_reported)
{
	char title[200] = "";

	machine_reset(1);
	current_cpu = &cpus[0];
	spin_lock_init(&test_lock, "test_lock");
	ASSERT_EQ(machine_call(unlock_unheld, NULL, title, sizeof(title)), 1);
	ASSERT_SUBSTR(title, "does not hold");
}

/* Outside a run nobody could release the lock: a report, not a hang. */
TEST(blocking_outside_a_run_is_reported)
{
	char title[200] = "";

	machine_reset(2);
	current_cpu = &cpus[0];
	spin_lock_init(&test_lock, "test_lock");
	ASSERT_EQ(machine_call(contend_outside_run, NULL, title, sizeof(title)),
		  1);
	ASSERT_SUBSTR(title, "would block");
	/* machine_call() restored the caller's CPU. */
	ASSERT_EQ(current_cpu, &cpus[0]);
}

TEST(sleeping_lock_under_pte_lock_is_reported)
{
	char title[200] = "";

	test_mm = boot(1);
	ASSERT_TRUE(test_mm != NULL);
	ASSERT_EQ(store(test_mm, A0, 0, 1), 0);
	ASSERT_EQ(machine_call(sleep_under_ptl, NULL, title, sizeof(title)), 1);
	ASSERT_SUBSTR(title, "sleeping function called from invalid context");
	ASSERT_SUBSTR(title, "mmap_read_lock");
}

/* ---- contention under the controlled scheduler ---- */

/*
 * CPU 0's zap holds the PTE lock of p0's table; CPU 1's zap of p1 (same
 * table) blocks on it, resumes once CPU 0 unlocks, and both complete.
 */
TEST(ptl_contention_blocks_and_resumes)
{
	int lock0, wait1, unlock0, resume1, lock1;

	ASSERT_EQ(run_traced("setup populate\n"
			     "cpu 0:\n"
			     "    madvise(p0, 1, MADV_DONTNEED)\n"
			     "cpu 1:\n"
			     "    madvise(p1, 1, MADV_DONTNEED)\n"
			     "schedule:\n"
			     "    run 0 until pte_offset_map_lock in zap_pte_range\n"
			     "    run 1 to end\n"
			     "    run 0 to end\n"
			     "    run 1 to end\n"), 0);
	lock0 = tr_find(0, 0, "lock", "pte_offset_map_lock", "zap_pte_range");
	ASSERT_TRUE(lock0 >= 0);
	wait1 = tr_find(lock0, 1, "wait", "pte_offset_map_lock", "zap_pte_range");
	ASSERT_TRUE(wait1 > lock0);
	unlock0 = tr_find(lock0, 0, "unlock", "pte_unmap_unlock", "zap_pte_range");
	ASSERT_TRUE(unlock0 > wait1);
	/* CPU 1 ran nothing between blocking and CPU 0's unlock. */
	resume1 = tr_next_of_cpu(wait1, 1);
	ASSERT_TRUE(resume1 > unlock0);
	/* It retries the lock and gets it (no second wait). */
	lock1 = tr_find(resume1, 1, "lock", "pte_offset_map_lock", "zap_pte_range");
	ASSERT_EQ(lock1, resume1);
	ASSERT_EQ(tr_find(lock1 + 1, 1, "wait", "pte_offset_map_lock", NULL), -1);
	ASSERT_TRUE(tr_find(lock1, 1, "ret", "return madvise", NULL) > lock1);
	ASSERT_TRUE(tr_find(unlock0, 0, "ret", "return madvise", NULL) > unlock0);
}

/* Split PTE locks: p2 is in another table, so CPU 1 does not wait. */
TEST(ptl_of_another_table_does_not_contend)
{
	int lock0, unlock0, ret1;

	ASSERT_EQ(run_traced("setup populate\n"
			     "cpu 0:\n"
			     "    madvise(p0, 1, MADV_DONTNEED)\n"
			     "cpu 1:\n"
			     "    madvise(p2, 1, MADV_DONTNEED)\n"
			     "schedule:\n"
			     "    run 0 until pte_offset_map_lock in zap_pte_range\n"
			     "    run 1 to end\n"
			     "    run 0 to end\n"), 0);
	lock0 = tr_find(0, 0, "lock", "pte_offset_map_lock", "zap_pte_range");
	ASSERT_TRUE(lock0 >= 0);
	ASSERT_EQ(tr_find(0, -1, "wait", "pte_offset_map_lock", NULL), -1);
	ret1 = tr_find(lock0, 1, "ret", "return madvise", NULL);
	ASSERT_TRUE(ret1 > lock0);
	unlock0 = tr_find(lock0, 0, "unlock", "pte_unmap_unlock", "zap_pte_range");
	ASSERT_TRUE(unlock0 > ret1);
}

/*
 * ABBA: CPU 0 locks p0's then p2's PTE table, CPU 1 the other way round.
 * Scheduled so both hold their first lock, the scheduler finds every CPU
 * blocked and reports a deadlock.  The same schedule with one lock order
 * on both CPUs completes.
 */
static bool abba_reverse;

static void lock_two_tables(int cpu)
{
	bool rev = cpu == 1 && abba_reverse;
	unsigned long first = rev ? A2 : A0, second = rev ? A0 : A2;
	spinlock_t *l1, *l2;
	pte_t *p1, *p2;

	p1 = pte_offset_map_lock(test_mm, pmd_of(test_mm, first), first, &l1);
	p2 = pte_offset_map_lock(test_mm, pmd_of(test_mm, second), second, &l2);
	pte_unmap_unlock(p2, l2);
	pte_unmap_unlock(p1, l1);
}

static int run_lock_two_tables(bool reverse, char *title, size_t len)
{
	static struct repro rep;
	static struct run_result r;
	struct strategy st = { .kind = STRAT_REPLAY };
	int ret;

	test_mm = boot(2);
	if (!test_mm)
		return -1;
	for (unsigned long a = A0; a <= A3; a += PAGE_SIZE)
		if (store(test_mm, a, 0, 1))
			return -1;
	current_cpu = NULL;
	if (parse("cpu 0:\ncpu 1:\n"
		  "schedule:\n"
		  "    run 0 until pte_offset_map_lock in lock_two_tables\n"
		  "    run 1 to end\n"
		  "    run 0 to end\n"
		  "    run 1 to end\n", &rep))
		return -1;
	abba_reverse = reverse;
	st.replay = &rep.sched;
	sched_begin(2, &st, NULL, NULL);
	ret = sched_run_cpus(lock_two_tables);
	sched_end();
	title[0] = 0;
	if (ret) {
		report_finish(&r, NULL);
		snprintf(title, len, "%s", r.title);
		TH_LOG("%s", r.title);
	}
	return ret;
}

TEST(abba_deadlock_is_reported)
{
	char title[200];

	ASSERT_EQ(run_lock_two_tables(false, title, sizeof(title)), 0);
	ASSERT_EQ(run_lock_two_tables(true, title, sizeof(title)), 1);
	ASSERT_SUBSTR(title, "deadlock");
}

TEST_MAIN()
