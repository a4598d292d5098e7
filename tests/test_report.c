/*
 * Reports (engine/check/report.c): the objects an oracle names get a
 * detail line and their events in the diagram, for the report kinds no
 * regression reaches (a deadlock, a lock released twice, a sleeping call
 * under a spinlock, a VM_BUG_ON_FOLIO), run as hand-written CPU bodies
 * under the controlled scheduler.  A kernel assertion names its source
 * file relative to the repository.
 */
#include "harness.h"

#include <migrace/check.h>
#include <migrace/migrate.h>
#include <migrace/spinlock.h>
/* sched_begin()/sched_run_cpus(): to run hand-written CPU bodies. */
#include "../engine/sched/sched_core.h"

#include "machine.h"

static struct run_result res;
static spinlock_t lock_a, lock_b;
static struct page *page;

/* @body on two CPUs under @schedule; 1 with the report in res. */
static int run_bodies(void (*body)(int cpu), const char *schedule)
{
	static struct repro rep;
	static char text[512];
	struct strategy st = { .kind = STRAT_REPLAY };
	int ret;

	snprintf(text, sizeof(text), "cpu 0:\ncpu 1:\nschedule:\n%s", schedule);
	if (parse(text, &rep))
		return -1;
	st.replay = &rep.sched;
	current_cpu = NULL;
	memset(&res, 0, sizeof(res));
	sched_begin(2, &st, NULL, NULL);
	ret = sched_run_cpus(body);
	if (ret)
		report_finish(&res, NULL);
	sched_end();
	return ret;
}

static void setup_locks(void)
{
	spin_lock_init(&lock_a, "lock_a");
	spin_lock_init(&lock_b, "lock_b");
}

static int diagram_lines(const char *report)
{
	const char *p = strstr(report, "\n----");
	int n = 0;

	if (!p)
		return 0;
	p = strchr(p + 1, '\n');
	while (p && p[1]) {
		n++;
		p = strchr(p + 1, '\n');
	}
	return n;
}

static void abba(int cpu)
{
	spinlock_t *first = cpu ? &lock_b : &lock_a;
	spinlock_t *second = cpu ? &lock_a : &lock_b;

	spin_lock(first);
	spin_lock(second);
	spin_unlock(second);
	spin_unlock(first);
}

TEST(deadlock_names_the_locks_waited_on)
{
	ASSERT_TRUE(boot(2) != NULL);
	setup_locks();
	ASSERT_EQ(run_bodies(abba, "    run 0 until spin_lock #1\n"
				   "    run 1 until spin_lock #1\n"
				   "    run 0 to end\n"
				   "    run 1 to end\n"), 1);
	TH_LOG("%s", res.report);
	ASSERT_TRUE(strstr(res.title, "deadlock") != NULL);
	ASSERT_TRUE(strstr(res.report, "\nlock: lock_a, held by CPU 0\n") != NULL);
	ASSERT_TRUE(strstr(res.report, "\nlock: lock_b, held by CPU 1\n") != NULL);
	/* both CPUs' lock events are in the diagram, in their columns */
	ASSERT_TRUE(strstr(res.report, "\n    spin_lock(lock_a)") != NULL);
	ASSERT_TRUE(strstr(res.report, "\n                                            spin_lock(lock_a)") != NULL);
	ASSERT_TRUE(diagram_lines(res.report) >= 4);
}

static void double_unlock(int cpu)
{
	if (cpu)
		return;
	spin_lock(&lock_a);
	spin_unlock(&lock_a);
	spin_unlock(&lock_a);
}

TEST(unlock_of_a_lock_not_held_names_the_lock)
{
	ASSERT_TRUE(boot(2) != NULL);
	setup_locks();
	ASSERT_EQ(run_bodies(double_unlock, "    run 0 to end\n"), 1);
	TH_LOG("%s", res.report);
	ASSERT_TRUE(strstr(res.title, "releases lock_a it does not hold") != NULL);
	ASSERT_TRUE(strstr(res.report, "\nlock: lock_a, not held\n") != NULL);
	ASSERT_TRUE(strstr(res.report, "spin_lock(lock_a)") != NULL);
	ASSERT_TRUE(strstr(res.report, "spin_unlock(lock_a)") != NULL);
}

static void sleep_under_spinlock(int cpu)
{
	if (cpu)
		return;
	spin_lock(&lock_b);
	spin_lock(&lock_a);
	spin_unlock(&lock_a);
	lock_page(page);	/* may sleep: lock_b is still held */
}

TEST(sleeping_under_a_spinlock_names_the_lock_held)
{
	ASSERT_TRUE(boot(2) != NULL);
	setup_locks();
	page = alloc_page();
	ASSERT_TRUE(page != NULL);
	ASSERT_EQ(run_bodies(sleep_under_spinlock, "    run 0 to end\n"), 1);
	TH_LOG("%s", res.report);
	ASSERT_TRUE(strstr(res.title, "sleeping function called from invalid context") != NULL);
	/* lock_b, not lock_a (released): one held lock */
	ASSERT_TRUE(strstr(res.report, "\nlock: lock_b, held by CPU 0\n") != NULL);
	ASSERT_TRUE(strstr(res.report, "\nlock: lock_a") == NULL);
	ASSERT_TRUE(strstr(res.report, "spin_lock(lock_b)") != NULL);
}

static void isolate_unreferenced(int cpu)
{
	if (cpu)
		return;
	page->_refcount = 0;	/* a caller that holds no reference */
	folio_isolate_lru(page_folio(page));
}

TEST(vm_bug_on_folio_names_the_page_and_a_relative_path)
{
	char want[64];

	ASSERT_TRUE(boot(2) != NULL);
	page = alloc_page();
	ASSERT_TRUE(page != NULL);
	ASSERT_EQ(run_bodies(isolate_unreferenced, "    run 0 to end\n"), 1);
	TH_LOG("%s", res.report);
	ASSERT_TRUE(strncmp(res.title, "kernel BUG at engine/mm/swap.c:", 31) == 0);
	ASSERT_TRUE(strstr(res.title, "VM_BUG_ON_FOLIO(") != NULL);
	ASSERT_TRUE(strstr(res.title, " in folio_isolate_lru()") != NULL);
	snprintf(want, sizeof(want), "\npage: pfn %lu,", page_to_pfn(page));
	ASSERT_TRUE(strstr(res.report, want) != NULL);
	/* the read that failed is in the diagram */
	ASSERT_TRUE(strstr(res.report, "folio_ref_count(pfn") != NULL);
	page->_refcount = 1;
}

TEST_MAIN()
