// SPDX-License-Identifier: GPL-2.0
/*
 * mm/memremap.c: ZONE_DEVICE pages.  The dev_pagemap reference is the
 * kernel's percpu_ref: memremap_pages() takes the initial one, each
 * allocated device page holds one (zone_device_page_init() takes it live,
 * free_zone_device_page() drops it), get_dev_pagemap() takes one while
 * the map is live.  memunmap_pages() kills the reference, waits for the
 * last one, and then the device struct pages are gone: poisoned, so any
 * later touch of the pages or of the pgmap is a memory-safety report.
 * Get and put are atomics, so each is a preemption point.
 */
#include <migrace/check.h>
#include <migrace/memremap.h>

void check_pgmap_alive(struct dev_pagemap *pgmap, const char *what)
{
	if (!pgmap || pgmap->dead) {
		report_obj(pgmap, RO_PGMAP);
		report_bug(NULL, 0, "use-after-free: %s on an unmapped dev_pagemap",
			   what);
	}
}

/* The same check, with the device page it was reached from named too. */
void check_page_pgmap_alive(struct page *page, const char *what)
{
	if (!page->pgmap || page->pgmap->dead)
		report_page(page);
	check_pgmap_alive(page->pgmap, what);
}

/* percpu_ref_tryget_live(): fails once the reference was killed. */
static bool pgmap_ref_tryget_live(struct dev_pagemap *pgmap, const char *func)
{
	int old;

	sched_point(EV_ATOMIC, "percpu_ref_tryget_live", func, pgmap, 0, 0);
	check_pgmap_alive(pgmap, "percpu_ref_tryget_live");
	old = __atomic_load_n(&pgmap->ref, __ATOMIC_ACQUIRE);
	do {
		if (pgmap->killed || old == 0)
			return false;
	} while (!__atomic_compare_exchange_n(&pgmap->ref, &old, old + 1,
					      false, __ATOMIC_ACQ_REL,
					      __ATOMIC_ACQUIRE));
	return true;
}

static void pgmap_ref_put(struct dev_pagemap *pgmap, const char *func)
{
	int new;

	sched_point(EV_ATOMIC, "percpu_ref_put", func, pgmap, 0, 0);
	check_pgmap_alive(pgmap, "percpu_ref_put");
	new = __atomic_sub_fetch(&pgmap->ref, 1, __ATOMIC_ACQ_REL);
	if (new < 0) {
		report_obj(pgmap, RO_PGMAP);
		report_bug(NULL, 0, "dev_pagemap reference underflow in %s()",
			   func);
	}
	if (new == 0)
		sched_wake(pgmap);	/* dev_pagemap_percpu_release() */
}

struct dev_pagemap *__get_dev_pagemap(unsigned long pfn,
				      struct dev_pagemap *pgmap,
				      const char *func)
{
	struct page *page = pfn_to_page(pfn);

	/* If @pgmap covers @pfn there is nothing to look up. */
	if (pgmap && pfn >= pgmap->first_pfn &&
	    pfn < pgmap->first_pfn + pgmap->nr_pages)
		return pgmap;
	if (!is_zone_device_page(page))
		return NULL;
	/* xa_load(&pgmap_array, pfn) under rcu_read_lock() */
	pgmap = page->pgmap;
	if (pgmap && !pgmap->dead && pgmap_ref_tryget_live(pgmap, func))
		return pgmap;
	return NULL;
}

void __put_dev_pagemap(struct dev_pagemap *pgmap, const char *func)
{
	if (pgmap)
		pgmap_ref_put(pgmap, func);
}

int memremap_pages(struct dev_pagemap *pgmap)
{
	switch (pgmap->type) {
	case MEMORY_DEVICE_PRIVATE:
		if (WARN_ON_ONCE(!pgmap->ops || !pgmap->ops->migrate_to_ram))
			return -EINVAL;
		fallthrough;
	case MEMORY_DEVICE_COHERENT:
		if (WARN_ON_ONCE(!pgmap->ops || !pgmap->ops->page_free))
			return -EINVAL;
		if (WARN_ON_ONCE(!pgmap->owner))
			return -EINVAL;
		break;
	default:
		WARN_ON_ONCE(1);
		return -EINVAL;
	}
	for (unsigned long i = 0; i < pgmap->nr_pages; i++) {
		struct page *page = pfn_to_page(pgmap->first_pfn + i);

		page->pgmap = pgmap;
		WRITE_ONCE(page->zone_device_data, NULL);
		__atomic_store_n(&page->_refcount, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&page->_mapcount, -1, __ATOMIC_RELAXED);
		__atomic_store_n(&page->flags, BIT(PG_buddy), __ATOMIC_RELAXED);	/* free until the driver allocates */
		for (int s = 0; s < PAGE_SLOTS; s++)
			page_data_write(page, s, PAGE_POISON);
	}
	pgmap->ref = 1;		/* percpu_ref_init(): the initial reference */
	pgmap->killed = false;
	pgmap->dead = false;
	return 0;
}

void zone_device_page_init(struct page *page)
{
	/*
	 * Drivers shouldn't be allocating pages after calling
	 * memunmap_pages().
	 */
	WARN_ON_ONCE(!pgmap_ref_tryget_live(page->pgmap, __func__));
	__atomic_store_n(&page->flags, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&page->_mapcount, -1, __ATOMIC_RELAXED);
	WRITE_ONCE(page->mapping, NULL);
	__atomic_store_n(&page->_refcount, 1, __ATOMIC_RELAXED);
	lock_page(page);
}

void free_zone_device_page(struct page *page)
{
	struct dev_pagemap *pgmap = page->pgmap;

	check_page_pgmap_alive(page, "free_zone_device_page");
	if (page_mapcount(page) != 0) {
		report_page(page);
		report_bug(NULL, 0, "device page freed while still mapped: pfn %lu",
			   page_to_pfn(page));
	}
	if (PageAnon(page))
		ClearPageAnonExclusive(page);
	WRITE_ONCE(page->mapping, NULL);
	pgmap->ops->page_free(page);
	/* The page held a reference on its pgmap since it was allocated. */
	pgmap_ref_put(pgmap, __func__);
}

void memunmap_pages(struct dev_pagemap *pgmap)
{
	might_sleep_check("memunmap_pages", __func__);
	check_pgmap_alive(pgmap, "memunmap_pages");
	/* percpu_ref_kill(): no new live references, drop the initial one */
	sched_point(EV_ATOMIC, "percpu_ref_kill", __func__, pgmap, 0, 0);
	pgmap->killed = true;
	pgmap_ref_put(pgmap, __func__);
	/* wait_for_completion(&pgmap->done) */
	while (__atomic_load_n(&pgmap->ref, __ATOMIC_ACQUIRE) > 0)
		sched_block(pgmap, "memunmap_pages", __func__);
	/* pageunmap_range(): the struct pages are gone. */
	sched_point(EV_NOTE, "pageunmap_range", __func__, pgmap, 0, 0);
	for (unsigned long i = 0; i < pgmap->nr_pages; i++) {
		struct page *page = pfn_to_page(pgmap->first_pfn + i);

		__atomic_store_n(&page->flags, BIT(PG_buddy), __ATOMIC_RELAXED);
		__atomic_store_n(&page->_refcount, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&page->_mapcount, -1, __ATOMIC_RELAXED);
		WRITE_ONCE(page->mapping, NULL);
		WRITE_ONCE(page->zone_device_data, NULL);
		for (int s = 0; s < PAGE_SLOTS; s++)
			page_data_write(page, s, PAGE_POISON);
	}
	pgmap->dead = true;
}

bool pgmap_unmapped(const struct page *page)
{
	return is_zone_device_page(page) && page->pgmap && page->pgmap->dead;
}
