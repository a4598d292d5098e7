/*
 * Device memory lifetime (engine/mm/memremap.c, engine/migrate/
 * migrate_device.c, engine/driver/dmirror.c): unbind evicts mapped
 * device-private pages with migrate_device_range() and memunmap_pages()
 * poisons the device pages; a CPU fault racing unbind; the pgmap
 * reference memunmap_pages() waits for; the driver's contract checks.
 */
#include "harness.h"

#include <migrace/check.h>
#include <migrace/dmirror.h>
#include <migrace/fixes.h>
#include <migrace/migrate.h>

#include "machine.h"

#define A0 REGION_START
#define A1 (REGION_START + PAGE_SIZE)

static struct dmirror_device mdevice;
static struct dmirror dmirror;

static struct mm_struct *boot_device(void)
{
	struct mm_struct *mm = boot(2);

	if (!mm)
		return NULL;
	dmirror_device_init(&mdevice);
	if (dmirror_init(&dmirror, &mdevice, mm))
		return NULL;
	return mm;
}

static struct page *device_page_at(struct mm_struct *mm, unsigned long addr)
{
	pte_t pte = pte_now(mm, addr);

	if (!is_swap_pte(pte) ||
	    !is_device_private_entry(pte_to_swp_entry(pte)))
		return NULL;
	return pfn_swap_entry_to_page(pte_to_swp_entry(pte));
}

TEST(unbind_evicts_mapped_device_private_pages)
{
	struct mm_struct *mm = boot_device();
	struct page *d0, *d1;
	pte_t pte;
	u64 v = 0;

	ASSERT_TRUE(mm != NULL);
	ASSERT_EQ(store(mm, A0, 0, 0xa0), 0);
	ASSERT_EQ(store(mm, A1, 1, 0xa1), 0);
	lru_add_drain();
	ASSERT_EQ(dmirror_migrate_to_device(&dmirror, A0, 2, 0, 0, 0), 0);
	d0 = device_page_at(mm, A0);
	d1 = device_page_at(mm, A1);
	ASSERT_TRUE(d0 != NULL && d1 != NULL);
	ASSERT_EQ(mdevice.pagemap.ref, 3);	/* initial + two pages */

	ASSERT_EQ(dmirror_device_remove(&mdevice, 0), 0);
	/* Both addresses map system pages holding the data again. */
	pte = pte_now(mm, A0);
	ASSERT_TRUE(pte_present(pte));
	ASSERT_FALSE(is_zone_device_page(pfn_to_page(pte_pfn(pte))));
	ASSERT_EQ(load(mm, A0, 0, &v), 0);
	ASSERT_EQ(v, 0xa0);
	ASSERT_EQ(load(mm, A1, 1, &v), 0);
	ASSERT_EQ(v, 0xa1);
	ASSERT_EQ(mm->rss_anon, 2);
	/* The device mirror forgot them, the pgmap is gone. */
	ASSERT_EQ(dmirror.pt[(A0 - TASK_UNMAPPED_BASE) >> PAGE_SHIFT], 0);
	ASSERT_TRUE(mdevice.pagemap.dead);
	ASSERT_EQ(mdevice.pagemap.ref, 0);
	ASSERT_TRUE(PageBuddy(d0));
	ASSERT_EQ(page_count(d1), 0);
	/* The device is gone for good: later driver ops fail cleanly. */
	ASSERT_EQ(dmirror_migrate_to_device(&dmirror, A0, 1, 0, 0, 0), -ENODEV);
	ASSERT_EQ(dmirror_device_remove(&mdevice, 0), -ENODEV);
}

struct touch_arg {
	struct page *page;
};

static void touch_page(void *arg)
{
	struct touch_arg *t = arg;

	get_page(t->page);
}

TEST(device_struct_page_after_memunmap_pages_is_a_report)
{
	struct mm_struct *mm = boot_device();
	struct touch_arg t;
	char title[200];

	ASSERT_TRUE(mm != NULL);
	ASSERT_EQ(dmirror_device_remove(&mdevice, 0), 0);
	t.page = pfn_to_page(DEVICE_FIRST_PFN + 3);
	ASSERT_EQ(machine_call(touch_page, &t, title, sizeof(title)), 1);
	ASSERT_TRUE(strstr(title, "after memunmap_pages()") != NULL);
}

/* A spare destination for a free device page: legal, freed by the core. */
static void unbind_spare(void *arg)
{
	(void)arg;
	dmirror_device_remove(&mdevice, 0xff);
}

TEST(spare_destinations_in_eviction)
{
	struct mm_struct *mm = boot_device();
	unsigned long nfree;
	char title[200];

	ASSERT_TRUE(mm != NULL);
	ASSERT_EQ(store(mm, A0, 0, 0xb0), 0);
	lru_add_drain();
	ASSERT_EQ(dmirror_migrate_to_device(&dmirror, A0, 1, 0, 0, 0), 0);
	lru_add_drain();
	nfree = nr_free_pages();
	ASSERT_EQ(machine_call(unbind_spare, NULL, title, sizeof(title)), 0);
	/* One page came back for A0; every spare one was freed. */
	lru_add_drain();
	ASSERT_EQ(nr_free_pages(), nfree - 1);

	/* Before the fix, __migrate_device_pages() hits VM_BUG_ON(!migrate). */
	mm = boot_device();
	ASSERT_TRUE(mm != NULL);
	ASSERT_EQ(store(mm, A0, 0, 0xb0), 0);
	lru_add_drain();
	ASSERT_EQ(dmirror_migrate_to_device(&dmirror, A0, 1, 0, 0, 0), 0);
	fixes_reverted = 1UL << FIX_DEVICE_PAGES_SKIP_EMPTY;
	ASSERT_EQ(machine_call(unbind_spare, NULL, title, sizeof(title)), 1);
	ASSERT_TRUE(strstr(title, "BUG_ON(!migrate)") != NULL);
	fixes_reverted = 0;
}

/* cpages after migrate_vma_setup() counts holes the driver may fill. */
static void migrate_holes(void *arg)
{
	(void)arg;
	dmirror_migrate_to_device(&dmirror, A0, 2, 0, 0, 0);
}

TEST(cpages_counts_holes)
{
	struct mm_struct *mm = boot_device();
	char title[200];

	ASSERT_TRUE(mm != NULL);
	ASSERT_EQ(machine_call(migrate_holes, NULL, title, sizeof(title)), 0);
	ASSERT_TRUE(device_page_at(mm, A0) != NULL);

	mm = boot_device();
	ASSERT_TRUE(mm != NULL);
	fixes_reverted = 1UL << FIX_CPAGES_COUNT;
	ASSERT_EQ(machine_call(migrate_holes, NULL, title, sizeof(title)), 1);
	ASSERT_TRUE(strstr(title, "migrate_vma contract") != NULL);
	fixes_reverted = 0;
}

/*
 * A CPU fault on a device-private entry racing unbind, under PCT: with
 * the fix no schedule reports; without it, the fault path uses the page
 * or pgmap unbind freed.
 */
static const char race[] =
	"variant upstream\narch x86\nrevert none\nsetup populate\n"
	"cpu 0:\n    migrate_to_device(p0, 1)\n    read(p0)\n"
	"cpu 1:\n    write(p1)\n    unbind()\n";

static int race_reports(unsigned long revert, int runs)
{
	static struct repro rep;
	static struct run_result res;
	struct run_options ro = { 0 };
	int found = 0;

	if (parse(race, &rep))
		return -1;
	rep.settings.reverted = revert;
	for (int seed = 1; seed <= runs; seed++) {
		struct strategy st = { .kind = STRAT_PCT, .seed = seed,
				       .depth = 3, .est_steps = 400 };

		if (run_program(&rep.prog, &rep.settings, &st, &ro, &res)) {
			TH_LOG("seed %d: %s", seed, res.title);
			found++;
		}
	}
	return found;
}

TEST(cpu_fault_racing_unbind)
{
	ASSERT_EQ(race_reports(0, 2000), 0);
	ASSERT_TRUE(race_reports(1UL << FIX_DEVICE_PRIVATE_FAULT_REF, 2000) > 0);
}

TEST_MAIN()
