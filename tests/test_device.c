/*
 * Device memory lifetime (engine/mm/memremap.c, engine/migrate/
 * migrate_device.c, engine/driver/dmirror.c): unbind evicts mapped
 * device-private and device-coherent pages with migrate_device_range()
 * and memunmap_pages() poisons the device pages; a CPU fault racing
 * unbind; the pgmap reference memunmap_pages() waits for; the driver's
 * contract checks.  Device-coherent memory: migration both ways, CPU
 * access through present ptes, FOLL_LONGTERM migrating it out.
 */
#include "harness.h"

#include <migrace/check.h>
#include <migrace/dmirror.h>
#include <migrace/fixes.h>
#include <migrace/gup.h>
#include <migrace/migrate.h>
#include <migrace/swap.h>
/* sched_begin()/sched_run_cpus(): to run hand-written CPU bodies. */
#include "../engine/sched/sched_core.h"

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
	ASSERT_EQ(dmirror_migrate_to_device(&dmirror, A0, 2, 0, 0, 0, false), 0);
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
	ASSERT_EQ(dmirror_migrate_to_device(&dmirror, A0, 1, 0, 0, 0, false), -ENODEV);
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
	ASSERT_EQ(dmirror_migrate_to_device(&dmirror, A0, 1, 0, 0, 0, false), 0);
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
	ASSERT_EQ(dmirror_migrate_to_device(&dmirror, A0, 1, 0, 0, 0, false), 0);
	fixes_reverted = 1UL << FIX_DEVICE_PAGES_SKIP_EMPTY;
	ASSERT_EQ(machine_call(unbind_spare, NULL, title, sizeof(title)), 1);
	ASSERT_TRUE(strstr(title, "BUG_ON(!migrate)") != NULL);
	fixes_reverted = 0;
}

/* cpages after migrate_vma_setup() counts holes the driver may fill. */
static void migrate_holes(void *arg)
{
	(void)arg;
	dmirror_migrate_to_device(&dmirror, A0, 2, 0, 0, 0, false);
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

static int program_reports(const char *text, unsigned long revert, int runs)
{
	static struct repro rep;
	static struct run_result res;
	struct run_options ro = { 0 };
	int found = 0;

	if (parse(text, &rep))
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

static int race_reports(unsigned long revert, int runs)
{
	return program_reports(race, revert, runs);
}

TEST(cpu_fault_racing_unbind)
{
	ASSERT_EQ(race_reports(0, 2000), 0);
	ASSERT_TRUE(race_reports(1UL << FIX_DEVICE_PRIVATE_FAULT_REF, 2000) > 0);
}

/*
 * Unbind racing CPU and DMA access to mapped coherent pages, a short-term
 * pin held across ops (unbind waits for it), a longterm pin and a driver
 * migration of coherent pages: no schedule reports anything, a livelock
 * of the eviction included.
 */
static const char coherent_race[] =
	"variant upstream\narch x86\nrevert none\nsetup populate\n"
	"cpu 0:\n    migrate_to_device(p0, 2, coherent)\n    pin(p0, write)\n"
	"    pin_write(p0)\n    read(p1)\n    pin_read(p0)\n"
	"cpu 1:\n    pin(p1, longterm, fast)\n    write(p0)\n"
	"    migrate_to_system(p0, 2, coherent)\n    unbind()\n    read(p0)\n";

/* The CPU that unbinds holds a short-term pin: it releases it first. */
static const char self_pin[] =
	"variant upstream\narch x86\nrevert none\nsetup populate\n"
	"cpu 0:\n    migrate_to_device(p0, 2, coherent)\n    pin(p0)\n"
	"    unbind()\n    pin_read(p0)\n"
	"cpu 1:\n    read(p1)\n";

TEST(unbind_racing_coherent_pages_and_pins)
{
	ASSERT_EQ(program_reports(coherent_race, 0, 1000), 0);
	ASSERT_EQ(program_reports(self_pin, 0, 200), 0);
}

/* ---- device-coherent memory ---- */

#define COHERENT DMIRROR_MEM_COHERENT
#define BOTH (DMIRROR_MEM_PRIVATE | DMIRROR_MEM_COHERENT)

/* The device-coherent page a present pte at @addr maps, or NULL. */
static struct page *coherent_page_at(struct mm_struct *mm, unsigned long addr)
{
	pte_t pte = pte_now(mm, addr);
	struct page *page;

	if (!pte_present(pte))
		return NULL;
	page = pfn_to_page(pte_pfn(pte));
	return is_device_coherent_page(page) ? page : NULL;
}

static bool system_page_at(struct mm_struct *mm, unsigned long addr)
{
	pte_t pte = pte_now(mm, addr);

	return pte_present(pte) && !is_zero_pfn(pte_pfn(pte)) &&
	       !is_zone_device_page(pfn_to_page(pte_pfn(pte)));
}

TEST(coherent_migration_both_ways)
{
	struct mm_struct *mm = boot_device();
	struct page *c0, *c1;
	u64 v = 0;

	ASSERT_TRUE(mm != NULL);
	ASSERT_EQ(store(mm, A0, 0, 0xc0), 0);
	ASSERT_EQ(store(mm, A0, 1, 0xc1), 0);
	lru_add_drain();
	/* A0 is populated, A1 a hole the driver fills (migrate_vma_insert_page) */
	ASSERT_EQ(dmirror_migrate_to_device(&dmirror, A0, 2, COHERENT, 0, 0, false), 0);
	c0 = coherent_page_at(mm, A0);
	c1 = coherent_page_at(mm, A1);
	ASSERT_TRUE(c0 != NULL && c1 != NULL);
	ASSERT_TRUE(page_to_pfn(c0) >= COHERENT_FIRST_PFN);
	ASSERT_EQ(page_mapcount(c0), 1);
	ASSERT_EQ(page_count(c0), 1);	/* the mapping's */
	ASSERT_FALSE(PageLRU(c0));	/* never on the LRU: reclaim skips it */
	ASSERT_EQ(mdevice.ncfree, COHERENT_PAGES - 2);
	ASSERT_EQ(mdevice.nfree, DEVICE_PAGES);
	ASSERT_EQ(mdevice.cpagemap.ref, 3);	/* initial + two pages */
	ASSERT_EQ(mm->rss_anon, 2);
	/* The device mirror maps what the CPU maps. */
	ASSERT_EQ(dpt_pfn(dmirror.pt[(A0 - TASK_UNMAPPED_BASE) >> PAGE_SHIFT]),
		  page_to_pfn(c0));

	/* The CPU reads and writes it in place, no fault to migrate it. */
	ASSERT_EQ(load(mm, A0, 1, &v), 0);
	ASSERT_EQ(v, 0xc1);
	ASSERT_EQ(load(mm, A1, 0, &v), 0);
	ASSERT_EQ(v, 0);
	ASSERT_EQ(store(mm, A1, 0, 0xd0), 0);
	ASSERT_TRUE(coherent_page_at(mm, A1) == c1);
	ASSERT_EQ(c1->data[0], 0xd0);

	/* Reclaim does not touch it. */
	shrink_all_lru();
	ASSERT_TRUE(coherent_page_at(mm, A0) == c0);

	/* Selecting device-private memory only leaves coherent pages. */
	ASSERT_EQ(dmirror_migrate_to_system(&dmirror, A0, 2, 0, 0, 0), 0);
	ASSERT_TRUE(coherent_page_at(mm, A0) == c0);

	/* Back to system memory: the driver evicts with SELECT_DEVICE_COHERENT. */
	ASSERT_EQ(dmirror_migrate_to_system(&dmirror, A0, 2, COHERENT, 0, 0), 0);
	ASSERT_TRUE(system_page_at(mm, A0));
	ASSERT_TRUE(system_page_at(mm, A1));
	ASSERT_EQ(load(mm, A0, 0, &v), 0);
	ASSERT_EQ(v, 0xc0);
	ASSERT_EQ(load(mm, A0, 1, &v), 0);
	ASSERT_EQ(v, 0xc1);
	ASSERT_EQ(load(mm, A1, 0, &v), 0);
	ASSERT_EQ(v, 0xd0);
	ASSERT_EQ(mdevice.ncfree, COHERENT_PAGES);
	ASSERT_EQ(mdevice.cpagemap.ref, 1);
	ASSERT_TRUE(PageBuddy(c0));
	ASSERT_EQ(mm->rss_anon, 2);
}

TEST(coherent_first_then_private)
{
	struct mm_struct *mm = boot_device();

	ASSERT_TRUE(mm != NULL);
	/* Coherent memory full: a driver that may use both falls back. */
	mdevice.ncfree = 1;
	ASSERT_EQ(dmirror_migrate_to_device(&dmirror, A0, 2, BOTH, 0, 0, false), 0);
	ASSERT_TRUE(coherent_page_at(mm, A0) != NULL);
	ASSERT_TRUE(device_page_at(mm, A1) != NULL);
	/* One migration selecting both kinds brings both back. */
	ASSERT_EQ(dmirror_migrate_to_system(&dmirror, A0, 2, BOTH, 0, 0), 0);
	ASSERT_TRUE(system_page_at(mm, A0));
	ASSERT_TRUE(system_page_at(mm, A1));
	ASSERT_EQ(mdevice.nfree, DEVICE_PAGES);
	ASSERT_EQ(mdevice.cpagemap.ref, 1);
	mdevice.ncfree = COHERENT_PAGES;	/* the rest were never handed out */
}

TEST(munmap_frees_coherent_pages_to_the_driver)
{
	struct mm_struct *mm = boot_device();
	struct page *c0;

	ASSERT_TRUE(mm != NULL);
	ASSERT_EQ(store(mm, A0, 0, 0xe0), 0);
	lru_add_drain();
	ASSERT_EQ(dmirror_migrate_to_device(&dmirror, A0, 1, COHERENT, 0, 0, false), 0);
	c0 = coherent_page_at(mm, A0);
	ASSERT_TRUE(c0 != NULL);
	ASSERT_EQ(do_munmap_syscall(mm, A0, PAGE_SIZE), 0);
	ASSERT_EQ(mdevice.ncfree, COHERENT_PAGES);
	ASSERT_EQ(mdevice.cpagemap.ref, 1);
	ASSERT_TRUE(PageBuddy(c0));
}

TEST(fork_shares_a_coherent_page_and_cow_copies_it)
{
	struct mm_struct *mm = boot_device(), *child;
	struct page *c0;
	u64 v = 0;

	ASSERT_TRUE(mm != NULL);
	ASSERT_EQ(store(mm, A0, 0, 0xf0), 0);
	lru_add_drain();
	ASSERT_EQ(dmirror_migrate_to_device(&dmirror, A0, 1, COHERENT, 0, 0, false), 0);
	c0 = coherent_page_at(mm, A0);
	ASSERT_TRUE(c0 != NULL);
	child = dup_mm(mm, 1);
	ASSERT_TRUE(child != NULL);
	/* copy_present_pte(): a normal page with a refcount, mapped twice. */
	ASSERT_TRUE(coherent_page_at(child, A0) == c0);
	ASSERT_EQ(page_mapcount(c0), 2);
	ASSERT_FALSE(pte_write(pte_now(mm, A0)));
	/* The child's write copies it to system memory. */
	ASSERT_EQ(store(child, A0, 1, 0xf1), 0);
	ASSERT_TRUE(system_page_at(child, A0));
	ASSERT_EQ(load(child, A0, 0, &v), 0);
	ASSERT_EQ(v, 0xf0);
	ASSERT_EQ(page_mapcount(c0), 1);
	ASSERT_EQ(load(mm, A0, 1, &v), 0);
	ASSERT_EQ(v, 0);
	exit_mmap(child);
	exit_mmap(mm);
	ASSERT_EQ(mdevice.ncfree, COHERENT_PAGES);
}

TEST(longterm_pin_migrates_a_coherent_page_out)
{
	struct mm_struct *mm = boot_device();
	struct page *c0, *page = NULL;
	u64 v = 0;

	ASSERT_TRUE(mm != NULL);
	ASSERT_EQ(store(mm, A0, 0, 0x70), 0);
	ASSERT_EQ(store(mm, A1, 0, 0x71), 0);
	lru_add_drain();
	ASSERT_EQ(dmirror_migrate_to_device(&dmirror, A0, 2, COHERENT, 0, 0, false), 0);
	c0 = coherent_page_at(mm, A0);
	ASSERT_TRUE(c0 != NULL);

	/* A short-term pin pins the coherent page itself ... */
	ASSERT_EQ(pin_user_pages_remote(mm, A0, 1, FOLL_WRITE, &page), 1);
	ASSERT_TRUE(page == c0);
	/* ... and the driver cannot migrate it while it is pinned. */
	ASSERT_EQ(dmirror_migrate_to_system(&dmirror, A0, 1, COHERENT, 0, 0), 0);
	ASSERT_TRUE(coherent_page_at(mm, A0) == c0);
	unpin_user_page(page);

	/* FOLL_LONGTERM migrates it to system memory, then pins that. */
	ASSERT_EQ(pin_user_pages_remote(mm, A0, 1, FOLL_WRITE | FOLL_LONGTERM,
					&page), 1);
	ASSERT_FALSE(is_zone_device_page(page));
	ASSERT_TRUE(system_page_at(mm, A0));
	ASSERT_TRUE(pfn_to_page(pte_pfn(pte_now(mm, A0))) == page);
	ASSERT_TRUE(page_maybe_dma_pinned(page));
	ASSERT_EQ(load(mm, A0, 0, &v), 0);
	ASSERT_EQ(v, 0x70);
	ASSERT_TRUE(PageBuddy(c0));
	ASSERT_EQ(mdevice.ncfree, COHERENT_PAGES - 1);
	unpin_user_page(page);

	/* GUP-fast leaves it to the slow path, which migrates it too. */
	ASSERT_EQ(pin_user_pages_fast(mm, A1, 1, FOLL_LONGTERM, &page), 1);
	ASSERT_FALSE(is_zone_device_page(page));
	ASSERT_EQ(load(mm, A1, 0, &v), 0);
	ASSERT_EQ(v, 0x71);
	ASSERT_EQ(mdevice.ncfree, COHERENT_PAGES);
	unpin_user_page(page);
}

TEST(unbind_evicts_mapped_coherent_pages)
{
	struct mm_struct *mm = boot_device();
	struct page *c0;
	u64 v = 0;

	ASSERT_TRUE(mm != NULL);
	ASSERT_EQ(store(mm, A0, 0, 0x80), 0);
	ASSERT_EQ(store(mm, A1, 1, 0x81), 0);
	lru_add_drain();
	ASSERT_EQ(dmirror_migrate_to_device(&dmirror, A0, 1, COHERENT, 0, 0, false), 0);
	ASSERT_EQ(dmirror_migrate_to_device(&dmirror, A1, 1, 0, 0, 0, false), 0);
	c0 = coherent_page_at(mm, A0);
	ASSERT_TRUE(c0 != NULL && device_page_at(mm, A1) != NULL);

	ASSERT_EQ(dmirror_device_remove(&mdevice, 0), 0);
	ASSERT_TRUE(system_page_at(mm, A0));
	ASSERT_TRUE(system_page_at(mm, A1));
	ASSERT_EQ(load(mm, A0, 0, &v), 0);
	ASSERT_EQ(v, 0x80);
	ASSERT_EQ(load(mm, A1, 1, &v), 0);
	ASSERT_EQ(v, 0x81);
	ASSERT_TRUE(mdevice.pagemap.dead && mdevice.cpagemap.dead);
	ASSERT_EQ(mdevice.cpagemap.ref, 0);
	ASSERT_TRUE(pgmap_unmapped(c0));
}

/*
 * memunmap_pages() kills the reference and waits for the last one: CPU 0
 * holds a reference (get_dev_pagemap()) while CPU 1 unmaps the pgmap.
 */
static struct { bool killed, dead; } seen;

static void hold_and_unmap(int cpu)
{
	struct dev_pagemap *pgmap;

	if (cpu == 1) {
		memunmap_pages(&mdevice.cpagemap);
		return;
	}
	pgmap = get_dev_pagemap(COHERENT_FIRST_PFN, NULL);
	if (!pgmap)
		return;
	sched_yield_point("hold", "hold_and_unmap");
	seen.killed = pgmap->killed;
	seen.dead = pgmap->dead;
	put_dev_pagemap(pgmap);
}

TEST(memunmap_pages_waits_for_the_last_reference)
{
	static struct repro rep;
	struct strategy st = { .kind = STRAT_REPLAY };
	struct mm_struct *mm = boot_device();
	int ret;

	ASSERT_TRUE(mm != NULL);
	current_cpu = NULL;
	ASSERT_EQ(parse("cpu 0:\ncpu 1:\n"
			"schedule:\n"
			"    run 0 until hold in hold_and_unmap\n"
			"    run 1 to end\n"
			"    run 0 to end\n"
			"    run 1 to end\n", &rep), 0);
	st.replay = &rep.sched;
	memset(&seen, 0, sizeof(seen));
	sched_begin(2, &st, NULL, NULL);
	ret = sched_run_cpus(hold_and_unmap);
	sched_end();
	ASSERT_EQ(ret, 0);
	/* Killed while CPU 0 held its reference, but not gone yet. */
	ASSERT_TRUE(seen.killed);
	ASSERT_FALSE(seen.dead);
	ASSERT_TRUE(mdevice.cpagemap.dead);
	ASSERT_EQ(mdevice.cpagemap.ref, 0);
	/* A new reference after the kill is refused. */
	ASSERT_TRUE(get_dev_pagemap(COHERENT_FIRST_PFN, NULL) == NULL);
}

TEST_MAIN()
