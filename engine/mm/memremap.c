// SPDX-License-Identifier: GPL-2.0
/*
 * mm/memremap.c: ZONE_DEVICE pages.  A device page holds a pgmap
 * reference while allocated; memunmap_pages() waits for the last one.
 */
#include <migrace/check.h>
#include <migrace/memremap.h>

void check_pgmap_alive(struct dev_pagemap *pgmap, const char *what)
{
	if (!pgmap || pgmap->dead)
		report_bug(NULL, 0, "use-after-free: %s on an unmapped dev_pagemap",
			   what);
}

int memremap_pages(struct dev_pagemap *pgmap)
{
	for (unsigned long i = 0; i < pgmap->nr_pages; i++) {
		struct page *page = pfn_to_page(pgmap->first_pfn + i);

		page->pgmap = pgmap;
		page->_refcount = 0;
		page->_mapcount = -1;
		page->flags = BIT(PG_buddy);	/* free until the driver allocates */
		for (int s = 0; s < PAGE_SLOTS; s++)
			page->data[s] = PAGE_POISON;
	}
	pgmap->ref = 1;
	pgmap->dead = false;
	return 0;
}

void zone_device_page_init(struct page *page)
{
	check_pgmap_alive(page->pgmap, "zone_device_page_init");
	page->pgmap->ref++;
	page->flags = 0;
	page->_mapcount = -1;
	page->mapping = NULL;
	page->_refcount = 1;
	lock_page(page);
}

void free_zone_device_page(struct page *page)
{
	struct dev_pagemap *pgmap = page->pgmap;

	check_pgmap_alive(pgmap, "free_zone_device_page");
	if (page_mapcount(page) != 0)
		report_bug(NULL, 0, "device page freed while still mapped: pfn %lu",
			   page_to_pfn(page));
	if (PageAnon(page))
		ClearPageAnonExclusive(page);
	page->mapping = NULL;
	pgmap->ops->page_free(page);
	if (--pgmap->ref == 0)
		sched_wake(pgmap);
}

void memunmap_pages(struct dev_pagemap *pgmap)
{
	might_sleep_check("memunmap_pages", __func__);
	pgmap->ref--;	/* percpu_ref_kill */
	while (pgmap->ref > 0)
		sched_block(pgmap, "memunmap_pages", __func__);
	pgmap->dead = true;
}
